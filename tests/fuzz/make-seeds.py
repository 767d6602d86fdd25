#!/usr/bin/env python3
"""Writes the seed corpora in corpus/<fuzzer>/ (committed, so that the fuzzers need neither this
script nor ../shared). Run it again when the readers learn new structure.

safetensors seeds: every small valid or bad file of tests/data/bad; the headers of the shared
real adapters as they are (real names, dtypes, metadata, with the data cut off) and the same
headers shrunk to 2-3 wide factors with their data, so that they load; the bundled example's
header shrunk the same way.
adapterconfig seeds: every config of tests/data/bad, the example and the shared adapters, and a
few hand-written ones that use rank_pattern, alpha_pattern, use_rslora and a regex
target_modules.
packed seeds: the tiny adapter of tests/data/bad, the shrunk example and one shrunk F16 adapter,
quantized with several settings and written by the real writer (make_packed_seeds, built by
scripts/run-fuzzers.sh in build-fuzz; skipped with a message when it is not built); and, as
bad-*, the crafted hostile packed files of tests/data/bad (packed-*.lqa.h5), which the same tool
writes there first (make_packed_seeds --bad).
packedrecipe seeds: recipes of fuzz_packedrecipe (packedrecipefuzzer.cpp reads them), one per
kind of edit."""

import glob
import json
import os
import struct
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
SHARED = os.path.join(os.path.dirname(ROOT), "shared", "adapters")
SIZES = {"F32": 4, "F16": 2, "BF16": 2, "F64": 8, "BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1,
         "F8_E4M3": 1, "F8_E8M0": 1, "I16": 2, "U16": 2, "I32": 4, "U32": 4, "I64": 8, "U64": 8}


def clean(folder):
    os.makedirs(folder, exist_ok=True)
    for name in os.listdir(folder):
        os.remove(os.path.join(folder, name))


def read_header(path):
    with open(path, "rb") as f:
        length = struct.unpack("<Q", f.read(8))[0]
        return json.loads(f.read(length)), length


def pack(header):
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * ((8 - len(raw) % 8) % 8)
    return struct.pack("<Q", len(raw)) + raw


def shrunk(header):
    """The same names, dtypes and metadata with every extent cut to at most 3, and finite data."""
    out = {}
    data = b""
    for name, entry in header.items():
        if name == "__metadata__":
            out[name] = entry
            continue
        shape = [min(extent, 3) for extent in entry["shape"]]
        if ".lora_A" in name and len(shape) == 2:  # keep A r x n and B m x r consistent
            shape = [min(entry["shape"][0], 2), 3]
        if ".lora_B" in name and len(shape) == 2:
            shape = [3, min(entry["shape"][1], 2)]
        count = 1
        for extent in shape:
            count *= extent
        size = count * SIZES[entry["dtype"]]
        out[name] = {"dtype": entry["dtype"], "shape": shape,
                     "data_offsets": [len(data), len(data) + size]}
        # 0x3c bytes are finite in every dtype (0.0078 in F16, 0.0114 in BF16, ...).
        data += b"\x3c" * size
    return pack(out) + data


WRITTEN = set()


def write(folder, name, content):
    if (folder, content) in WRITTEN:  # the bad cases share one config; one copy is enough
        return
    WRITTEN.add((folder, content))
    with open(os.path.join(folder, name), "wb") as f:
        f.write(content)


def main():
    tensors = os.path.join(HERE, "corpus", "safetensors")
    configs = os.path.join(HERE, "corpus", "adapterconfig")
    clean(tensors)
    clean(configs)
    bad = os.path.join(ROOT, "tests", "data", "bad")
    for path in sorted(glob.glob(os.path.join(bad, "*.safetensors"))):
        with open(path, "rb") as f:
            write(tensors, "bad-" + os.path.basename(path), f.read())
    for path in sorted(glob.glob(os.path.join(bad, "*", "adapter_model.safetensors"))):
        with open(path, "rb") as f:
            write(tensors, "bad-" + os.path.basename(os.path.dirname(path)), f.read())
    for path in sorted(glob.glob(os.path.join(bad, "*", "adapter_config.json"))):
        with open(path, "rb") as f:
            write(configs, "bad-" + os.path.basename(os.path.dirname(path)) + ".json", f.read())

    example = os.path.join(ROOT, "resources", "example-adapter")
    header, _ = read_header(os.path.join(example, "adapter_model.safetensors"))
    write(tensors, "example-shrunk", shrunk(header))
    with open(os.path.join(example, "adapter_config.json"), "rb") as f:
        write(configs, "example.json", f.read())

    if os.path.isdir(SHARED):
        for name in sorted(os.listdir(SHARED)):
            model = os.path.join(SHARED, name, "adapter_model.safetensors")
            header, length = read_header(model)
            with open(model, "rb") as f:
                write(tensors, "shared-" + name + "-header", f.read(8 + length))
            write(tensors, "shared-" + name + "-shrunk", shrunk(header))
            with open(os.path.join(SHARED, name, "adapter_config.json"), "rb") as f:
                write(configs, "shared-" + name + ".json", f.read())
    else:
        print("make-seeds: ../shared/adapters not found; seeds from tests/data only")

    hand = {
        "patterns.json": {"r": 8, "lora_alpha": 16, "use_rslora": True,
                          "rank_pattern": {"q_proj": 4, "layers\\.1\\..*v_proj": 2},
                          "alpha_pattern": {"model.layers.0.self_attn.q_proj": 8},
                          "target_modules": ["q_proj", "v_proj"], "peft_type": "LORA"},
        "regex-targets.json": {"r": 16, "lora_alpha": 32, "fan_in_fan_out": True,
                               "target_modules": ".*\\.(q|v)_proj$",
                               "base_model_name_or_path": "/models/local"},
        "string-target.json": {"r": 1, "lora_alpha": 1.5, "target_modules": "query_key_value",
                               "base_model_name_or_path": None},
    }
    for name, config in hand.items():
        write(configs, name, json.dumps(config, indent=2).encode())

    packed = os.path.join(HERE, "corpus", "packed")
    tool = os.path.join(ROOT, "build-fuzz", "tests", "fuzz", "make_packed_seeds")
    if os.path.exists(tool):
        clean(packed)
        # F32 two-module adapter, the example's seven module kinds, and F16 fused QKV.
        inputs = [os.path.join(bad, "missing-config"), os.path.join(tensors, "example-shrunk")]
        inputs += sorted(glob.glob(os.path.join(tensors, "shared-opencalm*-shrunk")))
        # Paths relative to the checkout: the files record their source's path, and the seeds
        # must not depend on where the checkout is.
        inputs = [os.path.relpath(path, ROOT) for path in inputs]
        env = dict(os.environ, OMP_NUM_THREADS="1")
        subprocess.run([tool, *inputs, "-o", packed], check=True, stdout=subprocess.DEVNULL,
                       env=env, cwd=ROOT)
        subprocess.run([tool, "--bad", inputs[0], "-o", bad], check=True,
                       stdout=subprocess.DEVNULL, env=env, cwd=ROOT)
        for path in sorted(glob.glob(os.path.join(bad, "packed-*.lqa.h5"))):
            with open(path, "rb") as f:
                write(packed, "bad-" + os.path.basename(path), f.read())
    else:
        print("make-seeds: " + tool + " is not built; packed seeds left as they are")

    # Recipes: base byte (0 F16 per-component, 1 F32 flattened), then opcode and arguments as
    # packedrecipefuzzer.cpp's apply() reads them.
    recipes = {
        "base-f16": [0],
        "base-f32": [1],
        "external-storage-codes": [0, 0, 1, 3, 0, 4, 0, 0, 0],
        "virtual-tensor": [0, 0, 4, 4, 0, 1, 0, 0, 0, 1, 4],
        "chunked-deflate-scales": [1, 0, 2, 2, 0, 7, 1, 0, 0],
        "chunked-partial-zeros": [0, 0, 3, 2, 1, 3, 3, 0, 1, 0],
        "compact-codes": [0, 0, 1, 1, 0, 0, 0, 0, 0],
        "never-written-huge-tensor": [0, 0, 4, 5, 3, 10, 0, 0, 0, 0],
        "soft-link-settings": [0, 1, 4, 0, 0, 0],
        "external-link-codes": [0, 1, 1, 2, 1, 1],
        "user-link-tensor": [0, 1, 7, 3, 0, 0],
        "retype-group-size": [0, 4, 1, 9, 0],
        "odd-source-path": [0, 5, 2, 16, 0, 5] + list(b"a\xff\x00bc"),
        "long-tensor-name": [0, 5, 3, 21, 4, 3] + list(b"abc"),
        "table-name-nul": [0, 6, 0, 0, 3] + list(b"a\x00b"),
        "extra-tensor": [0, 7, 1],
        "retype-codes": [0, 8, 1, 20, 0],
    }
    recipe_folder = os.path.join(HERE, "corpus", "packedrecipe")
    clean(recipe_folder)
    for name, recipe in recipes.items():
        write(recipe_folder, name, bytes(recipe))


if __name__ == "__main__":
    main()
