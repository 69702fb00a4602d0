#!/usr/bin/python3
"""compare.py - puts several run.py results side by side: one markdown
table per metric, kinds as rows, systems as columns, plus an "all" row.

It is not a scorer: it reads the per-case records of run.py's JSON and
averages them with run.py's own summarise(), so the figures are exactly
run.py's (a failed case counts 0 in the accuracies and is left out of
flicker; "all" is the mean over all cases, not over the kind means).

Usage:
  compare.py LABEL=RESULTS.json [LABEL=RESULTS.json ...] [--metrics a,b]
A bare RESULTS.json is labelled with its file name. Default metrics:
acc, flicker, acc_opaque, alpha_iou. For acc, acc_opaque, alpha_iou
(higher is better) and flicker (lower is better) a "best" column names
the best system per row; ties at the printed precision list every tied
system. Exit 2 on bad usage or an unreadable JSON.
"""

import os
import sys

sys.dont_write_bytecode = True   # no __pycache__ in the source tree

import evcommon as ev             # noqa: E402
import run                        # noqa: E402

DEFAULT = ["acc", "flicker", "acc_opaque", "alpha_iou"]
HIGHER = {"acc", "acc_opaque", "alpha_iou", "edge_f1", "psnr", "perfect_frames", "size_ok"}
LOWER = {"flicker", "palette_de"}
DIGITS = {"flicker": 4, "palette_de": 4, "psnr": 2, "size_ok": 2, "perfect_frames": 2}


def load(spec):
    """'label=path' or 'path' -> (label, run.py summary by kind, case ids)."""
    label, sep, path = spec.partition("=")
    if not sep:
        label, path = os.path.splitext(os.path.basename(spec))[0], spec
    rep = ev.read_json(path)
    cases = rep["cases"]
    return label, run.summarise(cases), sorted(c["id"] for c in cases), rep


def best_of(metric, row, nd):
    """Labels of the best system(s) in one row, or '' when there is no order."""
    vals = {k: round(v, nd) for k, v in row.items() if v is not None}
    if not vals or metric not in HIGHER | LOWER:
        return ""
    b = (max if metric in HIGHER else min)(vals.values())
    return ", ".join(k for k, v in vals.items() if v == b)


def tables(systems, metrics):
    kinds = sorted({k for _, s, _, _ in systems for k in s if k != "ALL"}) + ["ALL"]
    labels = [lab for lab, _, _, _ in systems]
    out = []
    for m in metrics:
        nd = DIGITS.get(m, 3)
        order = " (higher is better)" if m in HIGHER else " (lower is better)" if m in LOWER else ""
        rank = m in HIGHER | LOWER
        out.append("### %s%s\n" % (m, order))
        head = ["kind"] + labels + (["best"] if rank else [])
        out.append("| " + " | ".join(head) + " |")
        out.append("|" + "---|" * len(head))
        for k in kinds:
            row = {lab: (s[k][m] if k in s else None) for lab, s, _, _ in systems}
            cells = ["**all**" if k == "ALL" else k]
            cells += ["-" if row[lab] is None else "%.*f" % (nd, row[lab]) for lab in labels]
            if rank:
                cells.append(best_of(m, row, nd))
            out.append("| " + " | ".join(cells) + " |")
        out.append("")
    return "\n".join(out)


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    metrics = DEFAULT
    if "--metrics" in argv:
        i = argv.index("--metrics")
        if i + 1 >= len(argv):
            ev.log("compare: --metrics needs a list")
            return 2
        metrics = argv[i + 1].split(",")
        del argv[i:i + 2]
    if not argv or any(a.startswith("-") for a in argv):
        sys.stderr.write(__doc__.split("Usage:\n")[1].split("\n\n")[0] + "\n")
        return 2
    systems = []
    for a in argv:
        try:
            systems.append(load(a))
        except (OSError, ValueError, KeyError) as e:
            ev.log("compare: cannot read %s: %s" % (a, e))
            return 2
    bad = [m for m in metrics if m not in run.TABLE + ["psnr"]]
    if bad:
        ev.log("compare: unknown metric(s) %s (run.py averages: %s)"
               % (",".join(bad), ",".join(run.TABLE + ["psnr"])))
        return 2
    print("Systems (n cases, failures, extra args, output):\n")
    for lab, s, _, rep in systems:
        print("- **%s**: %s %s; %d cases, %d failed; output %s; %s" % (
            lab, rep.get("pixelfix"), " ".join(rep.get("extra_args") or []) or "(no extra args)",
            s["ALL"]["n"], s["ALL"]["failures"], rep.get("output"), rep.get("split")))
    ids0 = systems[0][2]
    for lab, _, ids, _ in systems[1:]:
        if ids != ids0:
            print("\n**Warning:** %s was run on other cases than %s; rows compare different sets."
                  % (lab, systems[0][0]))
    print("\nMeans per kind as run.py computes them: a failed case counts 0 in the accuracies "
          "and is left out of flicker; **all** is the mean over all cases.\n")
    print(tables(systems, metrics))
    return 0


if __name__ == "__main__":
    sys.exit(main())
