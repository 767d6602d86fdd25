#!/usr/bin/env python3
"""Arranges `loraquant sweep --csv` files into docs/COMPARISON.md (markdown on stdout).

Used by scripts/make-comparison.sh; every number printed comes from the CSV files given. One
table per adapter: the error of each method at the true bit counts of the paper-exact LoRAQuant
settings (b_h, rho), and one sentence each on `best` vs the paper's refinement and on the budget
allocation vs one rho for all modules.
"""

import argparse
import csv
import math
import os
import sys

SPLIT_METHODS = ["random-split", "norm-split", "svd-split", "paper-refine", "best-refine"]
# LoRAQuant proper (not the paper's ablations of the split).
LORAQUANT_METHODS = ["svd-split", "paper-refine", "best-refine", "budget"]
# The methods people use today (issue 29, METHOD.md section 10).
FIELD_METHODS = ["truncate", "nf4", "nf4-svd", "q8_0", "deltacome", "compeft"]
METHOD_NAMES = {
    "rtn": "RTN", "binary": "binary", "random-split": "random split", "norm-split": "norm split",
    "svd-split": "LoRAQuant", "paper-refine": "LoRAQuant + paper refine",
    "best-refine": "LoRAQuant + best refine", "budget": "LoRAQuant budget",
    "truncate": "rank truncation", "nf4": "NF4", "nf4-svd": "NF4 on SVD factors", "q8_0": "q8_0",
    "deltacome": "Delta-CoMe tiers", "compeft": "ComPEFT"}
# Bit widths (true count) at which the winners are compared.
WIDTHS = [1.25, 1.5, 2, 3, 4, 5, 6, 8, 9]


def read_rows(path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    for row in rows:
        for key in ("bits", ):
            row[key] = int(row[key])
        for key in ("rho", "budget", "avg_bits_paper", "avg_bits_true", "rel_err_total",
                    "rel_err_mean", "seconds"):
            row[key] = float(row[key])
    return rows


def baseline_curve(rows):
    """Whole-adapter baselines as (true bits, error) points, best error first at equal bits."""
    points = [(r["avg_bits_true"], r["rel_err_total"], "binary" if r["method"] == "binary"
               else "RTN %d" % r["bits"]) for r in rows if r["method"] in ("rtn", "binary")]
    points.sort()
    # Keep the lower envelope: a point is useless when a cheaper one has no more error.
    envelope = []
    for bits, err, label in points:
        if envelope and err >= envelope[-1][1]:
            continue
        envelope.append((bits, err, label))
    return envelope


def interpolate(curve, bits):
    """log-linear interpolation of the error at `bits` between the bracketing points."""
    for (b0, e0, l0), (b1, e1, l1) in zip(curve, curve[1:]):
        if b0 <= bits <= b1:
            t = (bits - b0) / (b1 - b0) if b1 > b0 else 0.0
            return math.exp((1 - t) * math.log(e0) + t * math.log(e1)), "%s..%s" % (l0, l1)
    return None, None


def percent_below(new, old):
    return 100.0 * (1.0 - new / old)


def span(values):
    lo, hi = min(values), max(values)
    return "%.1f%%" % lo if abs(hi - lo) < 0.05 else "%.1f to %.1f%%" % (lo, hi)


def best_within(rows, method, width):
    """The row of `method` with the lowest error among those with at most `width` true bits."""
    within = [r for r in rows if r["method"] == method and r["avg_bits_true"] <= width]
    return min(within, key=lambda r: r["rel_err_total"]) if within else None


def describe_row(r):
    return "%s `%s` (%.3f bits): %.4f" % (METHOD_NAMES.get(r["method"], r["method"]),
                                          r["setting"], r["avg_bits_true"], r["rel_err_total"])


def winners_section(rows):
    """At each width: the method with the lowest error within it, the runner-up, and LoRAQuant's
    best; no interpolation, every figure is a row of the sweep."""
    methods = []
    for r in rows:
        if r["method"] not in methods:
            methods.append(r["method"])
    out = ["At each bit width, the lowest error any setting of each method reaches with at most "
           "that many true bits (no interpolation: every figure is a row of the CSV file):", "",
           "| true bits <= | lowest error | next method | lowest by | best LoRAQuant | "
           "LoRAQuant vs lowest |",
           "|---|---|---|---|---|---|"]
    lost = []
    for width in WIDTHS:
        best = [b for b in (best_within(rows, m, width) for m in methods) if b]
        if not best:
            continue
        best.sort(key=lambda r: r["rel_err_total"])
        first = best[0]
        second = next((b for b in best[1:] if b["method"] != first["method"]), None)
        lq = [b for b in best if b["method"] in LORAQUANT_METHODS]
        lq_best = lq[0] if lq else None
        by = "%.1f%% lower" % percent_below(first["rel_err_total"], second["rel_err_total"]) \
            if second and second["rel_err_total"] > 0 else ""
        if lq_best is None:
            versus = "n/a"
        elif lq_best is first:
            versus = "lowest"
        else:
            versus = "%.2fx the error" % (lq_best["rel_err_total"] / first["rel_err_total"]) \
                if first["rel_err_total"] > 0 else "higher"
            lost.append((width, first, lq_best))
        out.append("| %g | %s | %s | %s | %s | %s |" % (
            width, describe_row(first), describe_row(second) if second else "",
            by, describe_row(lq_best) if lq_best else "", versus))
    out.append("")
    if lost:
        widths = ", ".join("%g" % w for w, _, _ in lost)
        winners = []
        for _, first, _ in lost:
            name = METHOD_NAMES.get(first["method"], first["method"])
            if name not in winners:
                winners.append(name)
        top = max((r["avg_bits_true"] for r in rows if r["method"] in LORAQUANT_METHODS),
                  default=0)
        out.append("- **Where LoRAQuant does not win**: at %s true bits a method that is not "
                   "LoRAQuant (%s) has a lower update error than every LoRAQuant setting within "
                   "the same bits. The sweep's LoRAQuant rows (b_h 2 and 3) reach at most %.3f "
                   "true bits, so above that the LoRAQuant column is its widest row, not a "
                   "setting made for that width; the comparison that matters for LoRAQuant is "
                   "at or below %.3f bits." % (widths, ", ".join(winners), top, top))
    else:
        out.append("- LoRAQuant has the lowest error at every width above.")
    out.append("")
    return out


def adapter_section(name, rows):
    out = []
    by = {}
    for r in rows:
        if r["method"] in SPLIT_METHODS:
            by[(r["method"], r["bits"], r["rho"])] = r
    budgets = {r["setting"].split("(", 1)[1].rstrip(")"): r
               for r in rows if r["method"] == "budget"}
    curve = baseline_curve(rows)

    # Targets: the svd-split settings, merged where several rho give the same split (same bits).
    targets = []
    for r in rows:
        if r["method"] != "svd-split":
            continue
        if targets and targets[-1]["bits"] == r["bits"] and \
                targets[-1]["avg_bits_true"] == r["avg_bits_true"]:
            targets[-1]["rhos"].append(r["rho"])
            continue
        targets.append({"bits": r["bits"], "avg_bits_true": r["avg_bits_true"],
                        "avg_bits_paper": r["avg_bits_paper"], "rhos": [r["rho"]],
                        "setting": r["setting"]})

    out.append("### %s\n" % name)
    header = ["b_h", "rho", "bits true", "bits paper", "RTN / binary (interp.)"] + \
        SPLIT_METHODS + ["budget"]
    out.append("| " + " | ".join(header) + " |")
    out.append("|" + "|".join(["---"] * len(header)) + "|")
    best_gain, budget_gain, best_gain_at = [], [], {}
    for t in targets:
        rho_text = ("%g" % t["rhos"][0]) if len(t["rhos"]) == 1 else \
            "%g-%g" % (t["rhos"][0], t["rhos"][-1])
        rho = t["rhos"][0]
        cells = [str(t["bits"]), rho_text, "%.4f" % t["avg_bits_true"],
                 "%.4f" % t["avg_bits_paper"]]
        err, label = interpolate(curve, t["avg_bits_true"])
        cells.append("~%.4f (%s)" % (err, label) if err is not None else "n/a")
        for method in SPLIT_METHODS:
            r = by.get((method, t["bits"], rho))
            cells.append("%.4f" % r["rel_err_total"] if r else "")
        b = budgets.get(t["setting"])
        cells.append("%.4f (%.4f bits)" % (b["rel_err_total"], b["avg_bits_true"]) if b else "")
        out.append("| " + " | ".join(cells) + " |")
        paper = by.get(("paper-refine", t["bits"], rho))
        best = by.get(("best-refine", t["bits"], rho))
        svd = by.get(("svd-split", t["bits"], rho))
        if paper and best:
            best_gain.append(percent_below(best["rel_err_total"], paper["rel_err_total"]))
            for each in t["rhos"]:
                best_gain_at[(t["bits"], each)] = best_gain[-1]
        if b and svd:
            budget_gain.append(percent_below(b["rel_err_total"], svd["rel_err_total"]))
    out.append("")
    if best_gain:
        at = ""
        for key in ((2, 0.8), (3, 0.8)):
            if key in best_gain_at:
                at += "%s%.1f%% at b_h = %d, rho = %g" % (", " if at else "", best_gain_at[key],
                                                         key[0], key[1])
        out.append("- **best vs paper refinement**: `best-refine` has %s lower total error than "
                   "`paper-refine` at identical bits%s." % (span(best_gain),
                                                           " (%s)" % at if at else ""))
    if budget_gain:
        out.append("- **budget vs uniform rho**: the budget allocation (no refinement) has %s "
                   "lower total error than `svd-split` with one rho for all modules, at the "
                   "same or fewer true bits." % span(budget_gain))
    out.append("")
    if any(r["method"] in FIELD_METHODS for r in rows):
        out.extend(winners_section(rows))
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--command", required=True)
    parser.add_argument("--cli-version", default="")
    parser.add_argument("csv", nargs="+")
    args = parser.parse_args()

    out = ["# Comparison: error at equal bits", "",
           "Generated by `%s` (%s) from `loraquant sweep ADAPTER --csv "
           "docs/comparison/NAME.csv` on each adapter; the CSV files beside this document hold "
           "every row. Do not edit by hand." % (args.command, args.cli_version.strip()), "",
           "## How to read the tables", "",
           "- Error: the energy-weighted total relative error of the update, "
           "sqrt(sum ||B A - B_hat A_hat||_F^2 / sum ||B A||_F^2) (METHOD.md section 6). "
           "Lower is better.",
           "- Bits: average bits per LoRA parameter. *true* counts every stored bit (codes, "
           "per-group scales and zero points, per-module headers); *paper* counts codes only, "
           "as the paper does. Every row uses the reference's storage (`--storage exact`: "
           "groups of 128 running on across components, float32 scales).",
           "- One row per paper-exact LoRAQuant setting (b_h, rho); rho values that give the "
           "same split in every module (so the same bits) share a row. The LoRAQuant columns "
           "(random-split, norm-split, svd-split, paper-refine, best-refine) store exactly the "
           "same codes, scales and zero points at a setting, so their bits are equal, not "
           "approximately equal: the comparison among them is exact.",
           "- *random-split* / *norm-split* are the paper's ablations: the original components "
           "of B A (column i of B with row i of A) in a seeded random order or ranked by "
           "||b_i a_i^T||_F instead of the SVD components, with h as the SVD split's.",
           "- *budget* is the bit-budget allocation (h and b_h in {2, 3, 4} per module, no "
           "refinement) given the row's true bits as its budget; it never exceeds the budget, "
           "and its own true bits are shown beside its error.",
           "- *RTN / binary* quantize the original B and A as a whole (no SVD) and exist only "
           "at 1, 2, 3 and 4 bits (plus binary at 1 bit); their error at a row's true bits is "
           "interpolated log-linearly between the two nearest of those points on the lower "
           "envelope (named in brackets), and is n/a outside them. It is an estimate, marked ~.",
           "- *Lowest error at each width* (after each adapter's LoRAQuant table) adds the "
           "methods people use today (METHOD.md section 10): rank truncation in fp16, NF4 "
           "(QLoRA; with and without double quantization, on B and A or on the SVD factors), "
           "q8_0 (llama.cpp), Delta-CoMe's 8/3/2-bit tiers over the SVD components (data-free: "
           "RTN in place of the paper's GPTQ) and ComPEFT (top-density signs, positions as a "
           "bitmap). Each keeps its own storage format, so `--storage` does not apply to them; "
           "their true bits count every stored bit of that format. LoRAQuant there means the "
           "best of svd-split, paper-refine, best-refine and budget.",
           "- Timings are in the CSV files (`seconds`: wall clock on the machine that ran the "
           "script, noisy when it was busy). The rows of one method reuse the modules an "
           "earlier row already quantized with the same h and b_h, so a row's time counts only "
           "the modules it computed.", ""]
    out.append("## Adapters")
    out.append("")
    compeft_errors = []
    for path in args.csv:
        name = os.path.splitext(os.path.basename(path))[0]
        rows = read_rows(path)
        compeft_errors += [r["rel_err_total"] for r in rows if r["method"] == "compeft"]
        out.extend(adapter_section(name, rows))
    out.extend([
        "## Notes", "",
        "- On an adapter whose modules all have rank 1 (opencalm1b-qkv-r1-f16), h = r = 1 and "
        "the quantized update is x_hat y_hat^T: its relative error is "
        "sqrt(1 - cos^2(x, x_hat) cos^2(y, y_hat)), and x and y are quantized independently, "
        "group by group. The best a method can do with this storage is the best (scale, zero "
        "point, codes) of each group, and the paper's refinement (which learns each group's "
        "range) already comes close to it, so no refinement can be much better there. "
        "tests/engine/bestrefinementtest.cpp states the figures.",
        "- At rank 4 with h = 1 (qwen2.5-3b-qv-r4-f32) and b_h 3, best-refine gains less over "
        "paper-refine than elsewhere: the rounding error of the one 3-bit component, "
        "quantized alone, is over 40% of the squared error the paper refinement leaves, and "
        "the three 1-bit components, which must also fit the rest of the update, can cancel "
        "only a small part of it. Restarts, more alternation rounds and other starting points "
        "of best-refine all end within 1% of the same error.",
        "- The budget allocation picks h and b_h from error curves measured without "
        "refinement; `loraquant quantize --budget BITS --refine best` combines both.",
        "- Why Delta-CoMe's tiers beat LoRAQuant at LoRAQuant's own bits on these adapters: "
        "LoRAQuant spends at least one bit on every value of every component, also on the "
        "low ones that carry little of the update's energy, while the tiers drop those and "
        "spend the bits on 2-, 3- and 8-bit codes for the leading components. With the energy "
        "of these adapters concentrated in the first few components, an allocation that may "
        "drop components (and rank truncation, at its 16 bits per kept value) gets less "
        "error per bit. LoRAQuant's budget allocation can give a module h = 0 but never drops "
        "a component. All of this is update error, not task accuracy, which the paper "
        "measures and this project does not (METHOD.md section 6.3).",
        "- ComPEFT's positions are counted as a bitmap (1 bit per value); an entropy coder "
        "would need about H(density) bits per value instead (0.29 at density 0.05, 0.47 at "
        "0.1), which moves its points left by under a bit; its errors here are %.2f at the "
        "lowest (every adapter, every density)." % (min(compeft_errors) if compeft_errors
                                                    else float("nan")), ""])
    sys.stdout.write("\n".join(out))


if __name__ == "__main__":
    main()
