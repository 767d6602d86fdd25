#!/usr/bin/env python3
"""Checks docs/FORMAT.md against a real file, without any code of ours and without h5py/numpy.

    python3 docs/check-format-doc.py FILE.lqa.h5 UNPACKED_DIR [LAYOUT]

Reads FILE.lqa.h5 only through `h5dump`'s text output, decodes every module's B_hat and A_hat by
following FORMAT.md ("Dequantizing a module by hand": part order, offsets, LSB-first b-bit
streams, group numbering of both layouts, (q - z) d and (2q - 1) d in float32), and compares them
value for value with the float32 adapter that `loraquant unpack FILE.lqa.h5 -o UNPACKED_DIR`
wrote. Prints the number of mismatches (0 when the description is complete and right). LAYOUT
overrides settings/group_layout, to see the check fail when the description is wrong.
Slow (pure Python); meant for small adapters such as ../shared/adapters/gptneo125m-qv-r8-f32.
"""
import json
import re
import struct
import subprocess
import sys

path, unpacked = sys.argv[1], sys.argv[2]


def h5dump(args):
    return subprocess.run(["h5dump"] + args + [path], capture_output=True, text=True,
                          check=True).stdout


def dataset_numbers(name, number_format=None):
    text = h5dump((["-m", number_format] if number_format else []) + ["-d", name])
    body = re.sub(r"\(\d+\):", "", text[text.index("DATA {"):])
    return [float(x) for x in re.findall(r"[-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?\d+)?", body)]


def attribute(name):
    return re.search(r"\(0\): (.*)", h5dump(["-a", name])).group(1).strip().strip('"')


def stream_codes(stream, start, count, bits):
    """Codes 0 .. count-1 of a b-bit stream starting at byte `start`: code k is stream bits
    [k b, (k + 1) b), stream bit t is bit t mod 8 of byte t / 8, the code's bit 0 first."""
    codes = []
    for k in range(count):
        value = 0
        for j in range(bits):
            t = k * bits + j
            value |= ((stream[start + t // 8] >> (t % 8)) & 1) << j
        codes.append(value)
    return codes


def f32(x):
    return struct.unpack("<f", struct.pack("<f", x))[0]


layout = attribute("/settings/group_layout")
group_size = int(attribute("/settings/group_size"))
if len(sys.argv) > 3:
    layout = sys.argv[3]
codes = [int(x) for x in dataset_numbers("/codes")]
zeros = [int(x) for x in dataset_numbers("/zeros")]
scales = dataset_numbers("/scales", "%.17g")  # binary16 or binary32 values, printed exactly
rows = re.findall(r'\{\s*"([^"]*)",\s*"([^"]*)",\s*"([^"]*)",' + r"\s*(\d+)," * 5 +
                  r"\s*(\w+),\s*(\w+),\s*([-0-9.e+]+),\s*([-0-9.e+]+)," +
                  r"\s*(\d+),\s*(\d+),\s*(\d+)\s*\}", h5dump(["-d", "/modules"]))

raw = open(unpacked + "/adapter_model.safetensors", "rb").read()
header_size = struct.unpack("<Q", raw[:8])[0]
header = json.loads(raw[8:8 + header_size])


def tensor(name):
    entry = header[name]
    begin, end = entry["data_offsets"]
    rows_, cols = entry["shape"]
    values = struct.unpack("<%df" % (rows_ * cols), raw[8 + header_size + begin:8 + header_size + end])
    return [values[i * cols:(i + 1) * cols] for i in range(rows_)]


mismatches = 0
for row in rows:
    name, suffix_a, suffix_b = (field.replace("\\000", "") for field in row[:3])
    m, n, r, h, b = map(int, row[3:8])
    c, sc, z = int(row[12]), int(row[13]), int(row[14])
    parts = []
    for count, length, bits, rtn in ((h, m, b, True), (h, n, b, True), (r - h, m, 1, False),
                                     (r - h, n, 1, False)):
        if count == 0:
            parts.append([])
            continue
        if layout == "per-component":
            per_vector = -(-length // group_size)
            groups = count * per_vector
            group_of = lambda v, i: v * per_vector + i // group_size
        else:
            groups = -(-(count * length) // group_size)
            group_of = lambda v, i: (v * length + i) // group_size
        q = stream_codes(codes, c, count * length, bits)
        zp = stream_codes(zeros, z, groups, bits) if rtn else None
        vectors = []
        for v in range(count):
            vector = []
            for i in range(length):
                g = group_of(v, i)
                d = scales[sc + g]
                code = q[v * length + i]
                vector.append(f32((code - zp[g]) * d) if rtn else f32((2 * code - 1) * d))
            vectors.append(vector)
        parts.append(vectors)
        c += -(-(count * length * bits) // 8)
        sc += groups
        if rtn:
            z += -(-(groups * bits) // 8)
    b_columns = parts[0] + parts[2]  # B_hat column k = component k
    a_rows = parts[1] + parts[3]  # A_hat row k = component k
    stored_b = tensor(name + suffix_b)
    stored_a = tensor(name + suffix_a)
    mismatches += sum(stored_b[i][k] != b_columns[k][i] for i in range(m) for k in range(r))
    mismatches += sum(stored_a[k][j] != a_rows[k][j] for k in range(r) for j in range(n))

print(f"{path}: {len(rows)} modules, layout {layout}, group size {group_size}: "
      f"{mismatches} mismatches")
sys.exit(1 if mismatches or not rows else 0)
