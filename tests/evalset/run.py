#!/usr/bin/python3
"""run.py - restores every case of an evaluation split with a pixelfix
binary and scores it with `pixelfix eval`, then prints a per-kind markdown
table and writes all figures as JSON.

For each case:
  pixelfix INPUT -o OUT/<id>/out.webp --force -q [EXTRA...]
  pixelfix eval GT OUT/<id>/out.webp --json OUT/<id>/eval.json
With --output frames the restore goes to a folder of PNG frames instead
(OUT/<id>/frames/), which never merges identical consecutive frames the
way libwebp's WebPAnimEncoder does.
A restore that fails (non-zero exit, e.g. 4 = no grid found, or a
timeout) or whose eval fails counts with size_ok 0 and every accuracy 0,
and is listed; flicker is averaged over the cases that did not fail.

Usage:
  run.py [--pixelfix ./pixelfix] [--split dev|val|DIR|CASE.json ...]
         [--out DIR] [--json FILE] [--kinds a,b] [--jobs N] [--timeout S]
         [--output webp|frames] [--reuse] [-- EXTRA pixelfix args]
Exit status: 0 when every case ran (failures of pixelfix are results, not
errors), 2 on bad usage or a missing split.
"""

import argparse
import glob
import os
import shutil
import subprocess
import sys
import time

sys.dont_write_bytecode = True   # no __pycache__ in the source tree

import evcommon as ev             # noqa: E402

METRICS = ["size_ok", "acc", "acc_opaque", "alpha_iou", "psnr", "edge_f1", "flicker",
           "perfect_frames", "colors_out", "colors_gt", "palette_de"]
TABLE = ["size_ok", "acc", "acc_opaque", "alpha_iou", "edge_f1", "flicker", "perfect_frames",
         "palette_de"]
ZERO = {"size_ok": 0, "acc": 0.0, "acc_opaque": 0.0, "alpha_iou": 0.0, "psnr": 0.0,
        "edge_f1": 0.0, "perfect_frames": 0.0}


def find_cases(specs):
    """Case JSON files from split names, folders or files. A case JSON has
    at least id, kind, input and gt (paths relative to the JSON's folder)."""
    files = []
    for s in specs:
        if os.path.isfile(s) and s.endswith(".json"):
            files.append(s)
            continue
        d = s if os.path.isdir(s) else os.path.join(ev.EVALSET, s)
        if not os.path.isdir(d):
            raise FileNotFoundError("no split or folder %r (build it with tests/evalset/build.py)" % s)
        found = sorted(glob.glob(os.path.join(d, "*", "case.json")))
        if not found:   # a flat folder of <name>.json cases, like samples/
            found = sorted(f for f in glob.glob(os.path.join(d, "*.json"))
                           if "input" in ev.read_json(f) and "gt" in ev.read_json(f))
        if not found:
            raise FileNotFoundError("no cases under %s" % d)
        files += found
    cases = []
    for f in files:
        c = ev.read_json(f)
        base = os.path.dirname(os.path.abspath(f))
        cases.append({"id": c["id"], "kind": c.get("kind", "other"), "anim": c.get("anim"),
                      "input": os.path.join(base, c["input"]), "gt": os.path.join(base, c["gt"]),
                      "frames": c.get("frames")})
    return cases


def run_one(job):
    """Restores and scores one case; returns its result record."""
    case, pixelfix, out_root, extra, timeout, reuse, kind = job
    d = os.path.join(out_root, case["id"])
    os.makedirs(d, exist_ok=True)
    out = os.path.join(d, "out.webp") if kind == "webp" else os.path.join(d, "frames") + os.sep
    ej = os.path.join(d, "eval.json")
    r = {"id": case["id"], "kind": case["kind"], "anim": case["anim"], "status": "ok",
         "exit": 0, "seconds": 0.0, "eval_exit": None, "message": ""}
    cmd = [pixelfix, case["input"], "-o", out, "--force", "-q"] + extra
    if not (reuse and os.path.exists(out)):
        for p in (out, ej):
            if os.path.isdir(p):
                shutil.rmtree(p)
            elif os.path.exists(p):
                os.remove(p)
        if kind == "frames":
            os.makedirs(out)
        t0 = time.time()
        try:
            p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=timeout)
            r["exit"] = p.returncode
            err = p.stderr.decode(errors="replace")
        except subprocess.TimeoutExpired:
            r["exit"], err = 124, "timeout after %d s" % timeout
        r["seconds"] = round(time.time() - t0, 3)
        with open(os.path.join(d, "restore.log"), "w") as f:
            f.write(" ".join(cmd) + "\n" + err)
        if r["exit"] != 0 or not os.path.exists(out) or (kind == "frames" and not os.listdir(out)):
            r["status"] = "restore_failed"
            r["message"] = (err.strip().splitlines() or ["(no output file)"])[-1][:200]
    if r["status"] == "ok":
        ecmd = [pixelfix, "eval", case["gt"], out, "--json", ej]
        try:
            p = subprocess.run(ecmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               timeout=timeout)
            r["eval_exit"] = p.returncode
            eerr = p.stderr.decode(errors="replace")
        except subprocess.TimeoutExpired:
            r["eval_exit"], eerr = 124, "timeout"
        m = None
        if os.path.exists(ej):
            try:
                m = ev.read_json(ej)
            except ValueError:
                m = None
        if not isinstance(m, dict) or "acc" not in m:
            r["status"] = "eval_failed"
            r["message"] = (eerr.strip().splitlines() or ["(no eval JSON)"])[-1][:200]
        else:
            for k in METRICS + ["dx", "dy", "frames_gt", "frames_out"]:
                if k in m:
                    r[k] = m[k]
    if r["status"] != "ok":
        r.update(ZERO)
        r["flicker"] = None
    return r


def mean(vals):
    vals = [v for v in vals if v is not None]
    return sum(vals) / len(vals) if vals else None


def summarise(results):
    """kind -> {n, failures, mean of each TABLE metric, seconds}."""
    kinds = {}
    for r in results:
        kinds.setdefault(r["kind"], []).append(r)
    kinds["ALL"] = list(results)
    out = {}
    for k, rs in kinds.items():
        s = {"n": len(rs), "failures": sum(r["status"] != "ok" for r in rs)}
        for m in TABLE + ["psnr"]:
            s[m] = mean([r.get(m) for r in rs])
        s["seconds"] = mean([r["seconds"] for r in rs])
        out[k] = s
    return out


def table(summary):
    def f(v, nd=3):
        return "-" if v is None else ("%.*f" % (nd, v))
    head = "| kind | n | fail | size_ok | acc | acc_opaque | alpha_iou | edge_f1 | flicker | perfect | palette_de | s/case |"
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    for k in sorted(summary, key=lambda k: (k == "ALL", k)):
        s = summary[k]
        lines.append("| %s | %d | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            "**all**" if k == "ALL" else k, s["n"], s["failures"], f(s["size_ok"], 2),
            f(s["acc"]), f(s["acc_opaque"]), f(s["alpha_iou"]), f(s["edge_f1"]),
            f(s["flicker"], 4), f(s["perfect_frames"], 2), f(s["palette_de"], 4),
            f(s["seconds"], 1)))
    return "\n".join(lines)


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    extra = []
    if "--" in argv:
        i = argv.index("--")
        argv, extra = argv[:i], argv[i + 1:]
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pixelfix", default=os.path.join(ev.REPO, "pixelfix"))
    ap.add_argument("--split", nargs="+", default=["dev"],
                    help="split name(s) under tests/data/evalset, folders or case JSON files")
    ap.add_argument("--out", help="output folder (default out/evalset/<split>)")
    ap.add_argument("--json", help="results JSON (default <out>/results.json)")
    ap.add_argument("--kinds", help="only these kinds (comma-separated)")
    ap.add_argument("--jobs", type=int, default=1)
    ap.add_argument("--timeout", type=int, default=600, help="seconds per command")
    ap.add_argument("--reuse", action="store_true", help="score existing outputs again")
    ap.add_argument("--output", choices=["webp", "frames"], default="webp",
                    help="restore to a lossless WebP (default) or a folder of PNG frames")
    args = ap.parse_args(argv)
    pixelfix = os.path.abspath(args.pixelfix)
    if not os.access(pixelfix, os.X_OK):
        ev.log("run: %s is not an executable pixelfix (build it with make)" % pixelfix)
        return 2
    try:
        cases = find_cases(args.split)
    except FileNotFoundError as e:
        ev.log("run: %s" % e)
        return 2
    if args.kinds:
        keep = set(args.kinds.split(","))
        cases = [c for c in cases if c["kind"] in keep]
    label = "+".join(os.path.basename(os.path.normpath(s)).replace(".json", "") for s in args.split)
    out_root = os.path.abspath(args.out or os.path.join(ev.REPO, "out", "evalset", label))
    os.makedirs(out_root, exist_ok=True)
    jobs = [(c, pixelfix, out_root, extra, args.timeout, args.reuse, args.output) for c in cases]
    t0 = time.time()
    if args.jobs > 1:
        from multiprocessing.pool import ThreadPool
        with ThreadPool(args.jobs) as pool:
            results = pool.map(run_one, jobs, chunksize=1)
    else:
        results = []
        for j in jobs:
            results.append(run_one(j))
            r = results[-1]
            ev.log("run: %-18s %-14s acc %s  %.1f s" % (
                r["id"], r["status"], "-" if r.get("acc") is None else "%.3f" % r["acc"],
                r["seconds"]))
    summary = summarise(results)
    try:
        version = subprocess.run([pixelfix, "--version"], stdout=subprocess.PIPE,
                                 stderr=subprocess.STDOUT, timeout=30).stdout.decode().strip()
    except (OSError, subprocess.SubprocessError):
        version = "unknown"
    report = {"pixelfix": pixelfix, "version": version, "extra_args": extra, "output": args.output,
              "split": args.split, "wall_seconds": round(time.time() - t0, 1),
              "summary": summary, "cases": results}
    jpath = args.json or os.path.join(out_root, "results.json")
    ev.write_json(jpath, report)
    print("pixelfix evaluation: %s, %d cases, extra args: %s\n"
          % (label, len(results), " ".join(extra) or "(none)"))
    print(table(summary))
    fails = [r for r in results if r["status"] != "ok"]
    if fails:
        print("\nfailures:")
        for r in fails:
            print("- %s (%s): %s exit %s: %s" % (r["id"], r["anim"], r["status"],
                                                r["exit"] if r["status"] == "restore_failed"
                                                else r["eval_exit"], r["message"]))
    print("\nflicker and palette_de: mean over the cases that did not fail. JSON: %s" % jpath)
    return 0


if __name__ == "__main__":
    sys.exit(main())
