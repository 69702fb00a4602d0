#!/usr/bin/python3
"""cellsize.py - the fast loop for grid-detection work: runs `pixelfix
probe --json` (grid detection only, no restore, no model) on every case of
the evaluation splits and reports, per split and per kind, the share of
cases whose detected cell is within --tol (default 4 %) of the true scale
on both axes, the refusals ("no pixel grid found", exit 4), and each miss.
About 1 minute for the 240 cases of dev + val on 2 cores.

Usage:
  cellsize.py [--pixelfix ./pixelfix] [--split dev val] [--kinds a,b]
              [--jobs 2] [--tol 0.04] [--json FILE] [-- EXTRA probe args]
Exit status: 0, or 2 on bad usage or a missing split.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

sys.dont_write_bytecode = True   # no __pycache__ in the source tree

import evcommon as ev             # noqa: E402


def probe(binary, case_dir, extra, tol, tmp):
    """One case -> dict: truth, detected cell, exit status, ok."""
    c = ev.read_json(os.path.join(case_dir, "case.json"))
    inp = [f for f in sorted(os.listdir(case_dir)) if f.startswith("input.")][0]
    rep = os.path.join(tmp, c["id"] + ".json")
    r = subprocess.run([binary, "probe", os.path.join(case_dir, inp), "--json", rep] + extra,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=600)
    g = {}
    if os.path.exists(rep):
        p = ev.read_json(rep)
        g = p.get("grid", p)
    cw, ch, s = g.get("cell_w") or 0.0, g.get("cell_h") or 0.0, c["scale"]
    ok = r.returncode == 0 and abs(cw / s - 1) < tol and abs(ch / s - 1) < tol
    return {"id": c["id"], "split": c["split"], "kind": c["kind"], "scale": s, "cell_w": cw,
            "cell_h": ch, "grid": g.get("kind"), "exit": r.returncode, "ok": bool(ok)}


def main(argv):
    extra = []
    if "--" in argv:
        extra = argv[argv.index("--") + 1:]
        argv = argv[:argv.index("--")]
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pixelfix", default=os.path.join(ev.REPO, "pixelfix"))
    ap.add_argument("--split", nargs="+", default=["dev", "val"])
    ap.add_argument("--kinds", default="")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--tol", type=float, default=0.04)
    ap.add_argument("--json", default="")
    a = ap.parse_args(argv)
    kinds = set(filter(None, a.kinds.split(",")))
    cases = []
    for sp in a.split:
        d = os.path.join(ev.EVALSET, sp)
        if not os.path.isdir(d):
            print("cellsize.py: no split %s (build it: tests/evalset/build.py)" % d, file=sys.stderr)
            return 2
        for name in sorted(os.listdir(d)):
            cd = os.path.join(d, name)
            if os.path.isfile(os.path.join(cd, "case.json")) and (not kinds or name.rsplit("_", 1)[0] in kinds):
                cases.append(cd)
    with tempfile.TemporaryDirectory() as tmp, ThreadPoolExecutor(a.jobs) as ex:
        res = list(ex.map(lambda cd: probe(a.pixelfix, cd, extra, a.tol, tmp), cases))
    by = defaultdict(list)
    for r in res:
        by[r["split"]].append(r)
        by[r["split"] + "/" + r["kind"]].append(r)
    print("| group | cell right | refused |\n| --- | --- | --- |")
    for k in sorted(by):
        v = by[k]
        print("| %s | %.3f (%d/%d) | %d |" % (k, sum(r["ok"] for r in v) / len(v), sum(r["ok"] for r in v),
                                            len(v), sum(r["exit"] == 4 for r in v)))
    for r in res:
        if not r["ok"]:
            print("miss %s/%s: true %.3f px, found %.3f x %.3f (%s), exit %d"
                  % (r["split"], r["id"], r["scale"], r["cell_w"], r["cell_h"], r["grid"], r["exit"]))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(res, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
