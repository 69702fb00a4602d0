#!/usr/bin/env python3
"""report.py - the benchmark report of `make bench` (issue 7): turns the
bench binaries' lines ("name value unit", "info key text"; bench/bench.h)
into bench/report.json and bench/report.md, headed by the machine, the
date and the build. It measures nothing itself. Python 3 standard library.

Usage:
  report.py RAW.txt REPORT.json REPORT.md   write the report (bench/run.sh)
  report.py --readme [REPORT.json]          print README's "## Performance"
  report.py --update-readme README.md [REPORT.json]
                                            replace that section in place
REPORT.json defaults to bench/report.json.
"""
import datetime
import json
import os
import re
import subprocess
import sys
import textwrap

STAGES = ["decode", "grid", "resample", "network", "palette", "encode"]
STAGE_WHAT = {
    "decode": "decode",
    "grid": "grid detection (once, on the 8-frame lookahead)",
    "resample": "resample: drift, canonical samples, cell colour, key (alone: + background estimate)",
    "network": "network (nn_model_run)",
    "palette": "palette: build + map with hysteresis",
    "encode": "encode",
    "other": "other: model load, background estimate, files",
    "total": "total (the --json report's total_ms)",
}
INPUTS = [("clip720", "MP4"), ("gif64", "spritesheet PNG"), ("clip1080", "MP4"), ("gif16", "spritesheet PNG"),
          ("long64", "spritesheet PNG"), ("wild640", "spritesheet PNG")]


# ---- reading ---------------------------------------------------------------

def read_raw(path):
    """The figures {name: (value, unit)} in order, and the info lines {key: text}."""
    figs, info = {}, {}
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) >= 2 and parts[0] == "info":
                text = line.split(None, 2)[2].strip() if len(parts) > 2 else ""
                if parts[1] == "bench_failed":   # one line per failed binary
                    info.setdefault("bench_failed", []).append(text)
                else:
                    info[parts[1]] = text
                continue
            if len(parts) < 3:
                continue
            try:
                figs[parts[0]] = (float(parts[1]), " ".join(parts[2:]))
            except ValueError:
                pass
    return figs, info


def cmd_out(argv):
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def machine(info, figs):
    """The header: when, on what, which build."""
    cpu = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    mem_kib = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem_kib = int(line.split()[1])
    commit = cmd_out(["git", "rev-parse", "--short", "HEAD"])
    if commit and cmd_out(["git", "status", "--porcelain", "--untracked-files=no"]):
        commit += " (with uncommitted changes)"
    version = cmd_out(["./pixelfix", "--version"])
    return {
        "date_utc": info.get("bench_date_utc") or
        datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "cpu": cpu,
        "cores_online": os.sysconf("SC_NPROCESSORS_ONLN"),
        "memory_gib": round(mem_kib / 1048576, 1),
        "openblas": info.get("openblas_config", ""),
        "pixelfix": version,
        "git_commit": commit or None,
        "loadavg_at_start": info.get("bench_loadavg_start", ""),
        "bench_seconds": figs.get("bench_seconds", (None,))[0],
    }


def times(text):
    """1280x720 -> 1280×720."""
    return re.sub(r"(\d)x(\d)", "\\1×\\2", text)


def val(figs, name):
    return figs[name][0] if name in figs else None


def build(figs, info):
    """The report as a dict (report.json)."""
    rep = {"machine": machine(info, figs), "quick": "bench_quick" in info,
           "failed": info.get("bench_failed", [])}
    e2e = []
    for tag, out in INPUTS:
        if f"e2e_{tag}_frames" not in figs:
            continue
        item = {"input": tag, "what": times(info.get(f"e2e_{tag}_input", tag)),
                "file": info.get(f"e2e_{tag}_file"), "output": out,
                "frames": int(val(figs, f"e2e_{tag}_frames")),
                "native": [int(val(figs, f"e2e_{tag}_native_w")), int(val(figs, f"e2e_{tag}_native_h"))],
                "cell_px": val(figs, f"e2e_{tag}_cell"), "runs": {}}
        for mode, key in (("model", "model"), ("nomodel", "no_model")):
            p = f"e2e_{tag}_{mode}_"
            if p + "ms_per_frame" not in figs:
                continue
            item["runs"][key] = {
                "command": info.get(p + "cmd", ""),
                "ms_per_frame": val(figs, p + "ms_per_frame"),
                "fps": val(figs, p + "fps"),
                "peak_rss_mib": val(figs, p + "rss"),
                # without the model the network does not run: None, not 0
                "stages_ms_per_frame": {s: None if mode == "nomodel" and s == "network"
                                        else val(figs, p + s + "_ms_per_frame")
                                        for s in STAGES + ["other", "total"]},
            }
        e2e.append(item)
    rep["end_to_end"] = e2e
    thr = []
    for name, (v, _) in figs.items():
        m = re.fullmatch(r"e2e_clip720_threads_(\d+)_ms_per_frame", name)
        if m:
            thr.append({"threads": int(m[1]), "ms_per_frame": v})
    rep["threads_720p"] = sorted(thr, key=lambda t: t["threads"])

    cli = {m: r["stages_ms_per_frame"] for item in e2e if item["input"] == "clip720"
           for m, r in item["runs"].items()}
    rows = []
    for s in STAGES:
        if f"stage_{s}_ms_per_frame" not in figs:
            continue
        rows.append({"stage": s, "what": STAGE_WHAT[s],
                     "cli_model_ms_per_frame": cli.get("model", {}).get(s),
                     "cli_no_model_ms_per_frame": cli.get("no_model", {}).get(s),
                     "alone_ms_per_frame": val(figs, f"stage_{s}_ms_per_frame"),
                     "rss_start_mib": val(figs, f"stage_{s}_rss_start"),
                     "rss_peak_mib": val(figs, f"stage_{s}_rss_peak")})
    rep["stages"] = {"input": info.get("stage_input"), "model": info.get("stage_model"),
                     "frames": val(figs, "stage_frames"),
                     "native": [val(figs, "stage_native_w"), val(figs, "stage_native_h")],
                     "rss_method": info.get("stage_rss_method"), "rows": rows}

    sizes = []
    for name in figs:
        m = re.fullmatch(r"net_shipped_(\d+)x(\d+)_gflops", name)
        if m:
            p = f"net_shipped_{m[1]}x{m[2]}_"
            sizes.append({"size": f"{m[1]}x{m[2]}", "ms_per_frame": val(figs, p + "ms_per_frame"),
                          "gflop_per_frame": val(figs, p + "gflop_per_frame"),
                          "gflops": val(figs, p + "gflops"),
                          "percent_of_sgemm_peak": val(figs, p + "vs_sgemm")})
    rep["network"] = {"model": info.get("net_model"), "threads": 1, "window": 8,
                      "sgemm_peak_gflops": val(figs, "sgemm_peak_gflops"), "sizes": sizes}

    per_size = {}
    for name, (v, _) in figs.items():
        m = re.fullmatch(r"net_ms_per_frame_(\d+)_(\w+)", name)
        if m:
            per_size.setdefault(int(m[1]), {})[m[2]] = v
    rep["network_per_size_ms_per_frame"] = [dict(size=k, **v) for k, v in sorted(per_size.items())]

    mem = []
    short = next((i for i in e2e if i["input"] == "clip720" and "model" in i["runs"]), None)
    if short:
        mem.append({"frames": short["frames"], "palette": "default (64-frame lookahead)",
                    "peak_rss_mib": short["runs"]["model"]["peak_rss_mib"]})
    for name, (v, _) in figs.items():
        m = re.fullmatch(r"rss_720p_(\d+)f(_palette_whole)?", name)
        if m:
            mem.append({"frames": int(m[1]), "palette": "--palette-frames 0 (whole clip)" if m[2]
                        else "default (64-frame lookahead)", "peak_rss_mib": v})
    rep["memory_over_length"] = mem
    conv = [v for n, (v, _) in figs.items() if re.fullmatch(r"conv3x3_fwd_vs_sgemm_c\d+_\d+x\d+", n)]
    rep["conv3x3_fwd_vs_sgemm_percent"] = [min(conv), max(conv)] if conv else None
    paths = {}
    for n, (v, _) in figs.items():
        m = re.fullmatch(r"conv3x3_fwd_gflops_c32_64x64_(im2col|avx2|avx512)", n)
        if m:
            paths[m.group(1)] = v
    rep["conv3x3_fwd_gflops_c32_by_path"] = paths or None
    rep["raw"] = [{"name": n, "value": v, "unit": u} for n, (v, u) in figs.items()]
    rep["info"] = info
    return rep


# ---- writing ---------------------------------------------------------------

def f(v, unit=""):
    """A figure with sensible digits, or a dash."""
    if v is None:
        return "–"
    a = abs(v)
    s = f"{v:.0f}" if a >= 100 else f"{v:.1f}" if a >= 10 else f"{v:.2f}"
    return s + unit


def table(head, rows):
    out = ["| " + " | ".join(head) + " |", "|" + "|".join(" --- " for _ in head) + "|"]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def machine_line(rep):
    m = rep["machine"]
    commit = f", commit {m['git_commit']}" if m.get("git_commit") else ""
    return (f"{m['cpu']}, {m['cores_online']} cores online, {m['memory_gib']} GiB; "
            f"{m['openblas']}; {m['pixelfix']}{commit}; {m['date_utc']}, load average "
            f"{m['loadavg_at_start'].split(' ')[0]} at the start")


def markdown(rep):
    m, st, net = rep["machine"], rep["stages"], rep["network"]
    L = ["# pixelfix benchmark report", ""]
    if rep["quick"]:
        L += ["**QUICK RUN (BENCH_QUICK=1): fewer frames and repetitions; not for the README.**", ""]
    if rep["failed"]:
        L += [f"**Failed: {', '.join(rep['failed'])}; their figures are missing.**", ""]
    secs = m.get("bench_seconds")
    L += ["Written by `make bench` (bench/run.sh, bench/report.py; raw lines in build/bench/raw.txt).", "",
          table(["", ""], [["date (UTC, start)", m["date_utc"]], ["CPU", m["cpu"]],
                           ["cores online", m["cores_online"]], ["memory", f"{m['memory_gib']} GiB"],
                           ["OpenBLAS", m["openblas"]], ["pixelfix", m["pixelfix"]],
                           ["git commit", m.get("git_commit") or "–"],
                           ["load average at start", m["loadavg_at_start"]],
                           ["bench time", f"{secs:.0f} s" if secs is not None else "–"]]), ""]

    L += ["## End to end", "",
          "`./pixelfix INPUT -o OUTPUT` with the shipped model (`-m models/pixelfix-v6.safetensors`) "
          "and with `--no-model`, default settings otherwise (the network on one thread, the "
          "codecs' automatic threads), each run alone (bench/bench_e2e.c). ms per frame: wall "
          "time from fork to exit over the frames decoded (process start and model load "
          "included), the median of 3 runs with and without the model alternating for the inputs of "
          "at most 200 frames (this machine's speed drifts by 10-15% between runs); peak RSS: the "
          "child's ru_maxrss from wait4(), the largest of the runs.", ""]
    rows = []
    for it in rep["end_to_end"]:
        runs = it["runs"]
        ratio = (runs["model"]["ms_per_frame"] / runs["no_model"]["ms_per_frame"]
                 if "model" in runs and "no_model" in runs and runs["no_model"]["ms_per_frame"] else None)
        for key, label in (("model", "pixelfix-v6"), ("no_model", "none")):
            r = runs.get(key)
            if r:
                rows.append([f"{it['what']}, {it['frames']} frames" if key == "model" else "",
                             it["output"] if key == "model" else "",
                             f"{it['native'][0]}×{it['native'][1]}" if key == "model" else "", label,
                             f(r["ms_per_frame"]), f(r["fps"]), f(r["peak_rss_mib"], " MiB"),
                             f(ratio, "×") if key == "model" else ""])
    L += [table(["input", "output", "native", "model", "ms per frame", "frames/s", "peak RSS",
                 "model / none"], rows), "",
          "make-clip.py scales the sprite sheet to the frame height, so the 1080p clip has the "
          "720p clip's native grid: it costs more to decode, detect and resample, the same in "
          "the network.", "",
          ]
    thr = rep.get("threads_720p", [])
    if thr:
        L += ["The 720p clip with the model by `--threads N` (the stream's own pool splits every "
              "sgemm over fixed column chunks and every direct convolution over fixed tiles, so "
              "the output is the same for every N): "
              + ", ".join(f"{t['threads']}: {f(t['ms_per_frame'])} ms per frame" for t in thr)
              + ".", ""]
    L += ["Commands (the inputs are made by bench/make-clip.py and bench/make-gif.py):", ""]
    L += [f"- `{r['command']}`" for it in rep["end_to_end"] for r in it["runs"].values()]
    L += [""]

    L += ["Per stage, ms per frame, from each run's `--json` report (timing.*_ms / frames; "
          "resample = restore_ms − model_ms, other = total_ms − the rest):", ""]
    head, cols = ["stage"], []
    for it in rep["end_to_end"]:
        for key, label in (("model", "model"), ("no_model", "no model")):
            if key in it["runs"]:
                head.append(f"{it['input']}, {label}")
                cols.append(it["runs"][key]["stages_ms_per_frame"])
    L += [table(head, [[s] + [f(c.get(s)) for c in cols] for s in STAGES + ["other", "total"]]), ""]

    L += ["## Per stage", "",
          f"The 720p clip ({st['input']}: {int(st['frames'] or 0)} frames, "
          f"{int(st['native'][0] or 0)}×{int(st['native'][1] or 0)} native). "
          "CLI: ms per frame from the end-to-end runs above. Alone: each stage run by itself "
          "over the whole clip in one process through the library's internal APIs "
          "(bench/bench_stages.c; network = the shipped model in T = 8 windows overlapping "
          "by 4, as the CLI runs it); its RSS high-water mark is reset just before it "
          f"({st['rss_method']}) and read (VmHWM) after. RSS at start holds the library, the "
          "stage's inputs as the engine holds them and an open reader where one feeds the "
          "stage; peak − start is what the stage itself adds. The CLI streams, so in it the "
          "stages overlap and its peak is the end-to-end figure.", ""]
    rows = []
    for r in st["rows"]:
        own = (r["rss_peak_mib"] - r["rss_start_mib"]
               if r["rss_peak_mib"] is not None and r["rss_start_mib"] is not None else None)
        rows.append([r["what"], f(r["cli_model_ms_per_frame"]), f(r["cli_no_model_ms_per_frame"]),
                     f(r["alone_ms_per_frame"]), f(r["rss_start_mib"]), f(r["rss_peak_mib"]),
                     f(own)])
    L += [table(["stage", "CLI, model (ms/frame)", "CLI, no model", "alone (ms/frame)",
                 "RSS at start (MiB)", "peak RSS (MiB)", "stage's own (MiB)"], rows), "",
          "Decode runs on libavcodec's own threads, so its time on the caller's thread can be less "
          "than the CPU it takes. Grid detection runs once per clip; its figure is spread over the "
          "clip's frames.", ""]

    L += ["## Network", "",
          f"The shipped model ({net['model']}), one T = 8 window through nn_model_run on one "
          "thread, random inputs (bench/bench_model.c); FLOPs counted over the U-Net's layers at "
          "the padded size it runs at, against the best sgemm of conv-shaped products measured in "
          "the same run, with the up convs counted as inference runs them (phase kernels). The "
          "3×3 stride-1 convolutions and the decoder's 2×2 phase convolutions run on the direct "
          "kernel (src/nn/conv_direct.c, the widest "
          "of AVX-512 and AVX2+FMA the CPU has), the rest on sgemm; where OpenBLAS's own kernels "
          "are narrower than the CPU's vectors, the network can pass its peak. The "
          "CLI's windows overlap by 2 of 8 frames: each frame goes through the encoder once (the "
          "overlap's features are reused) and through the temporal mixing and decoder 4/3 times.", ""]
    rows = [[s["size"].replace("x", "×"), f(s["ms_per_frame"]), f(s["gflop_per_frame"]), f(s["gflops"]),
             f(net["sgemm_peak_gflops"]), f(s["percent_of_sgemm_peak"], "%")] for s in net["sizes"]]
    L += [table(["native size", "ms per frame", "GFLOP per frame", "GFLOP/s", "sgemm peak (GFLOP/s)",
                 "of peak"], rows), ""]
    if rep["network_per_size_ms_per_frame"]:
        mixers = sorted({k for r in rep["network_per_size_ms_per_frame"] for k in r if k != "size"})
        L += ["Per size: ms per frame of one T = 8 window, the default 32/64/96 U-Net with random "
              "weights, per bottleneck mixer (one thread; `_t2`: two).", "",
              table(["native size"] + mixers,
                    [[f"{r['size']}²"] + [f(r.get(x)) for x in mixers]
                     for r in rep["network_per_size_ms_per_frame"]]), ""]

    if rep["memory_over_length"]:
        L += ["## Memory over clip length", "",
              "The 720p clip with the model, MP4 out: peak RSS (ru_maxrss). The two long runs "
              "share the cores.", "",
              table(["frames", "palette", "peak RSS"],
                    [[x["frames"], x["palette"], f(x["peak_rss_mib"], " MiB")]
                     for x in rep["memory_over_length"]]), ""]

    L += ["## Raw figures", "", "Every line the bench binaries printed (bench_nn: the engine's "
          "conv3x3 and ConvGRU against raw sgemm).", "",
          table(["name", "value", "unit"], [[r["name"], f"{r['value']:g}", r["unit"]] for r in rep["raw"]]),
          ""]
    return "\n".join(L)


def readme(rep):
    """README's "## Performance" section from a report."""
    m, st, net = rep["machine"], rep["stages"], rep["network"]
    L = ["## Performance", "",
         "Regenerated by `make bench`, which writes bench/report.md and bench/report.json (the "
         "full report: every stage of every input, the network per size, the engine's "
         "convolutions); `python3 bench/report.py --update-readme README.md` copies its figures "
         "here. Measured on " + machine_line(rep) + ". Default settings: the network on one "
         "thread, the codecs' automatic threads.", ""]
    if rep["quick"]:
        L += ["**These figures come from a quick run (BENCH_QUICK=1).**", ""]
    L += ["End to end, `pixelfix INPUT -o OUTPUT` with the shipped model and with `--no-model` "
          "(wall time over the frames, process start included; peak RSS of the process):", ""]
    rows = []
    for it in rep["end_to_end"]:
        cells = []
        for key in ("model", "no_model"):
            r = it["runs"].get(key)
            cells.append(f"{f(r['ms_per_frame'])} ms/frame ({f(r['fps'])} fps), {f(r['peak_rss_mib'], ' MiB')}"
                         if r else "–")
        rows.append([f"{it['what']}, {it['frames']} frames "
                     f"({it['native'][0]}×{it['native'][1]} native)", it["output"]] + cells)
    L += [table(["input", "output", "with the model", "without"], rows), ""]
    L += [f"Per stage on the 720p clip: ms per frame from the CLI's `--json` timings, and the peak "
          "RSS of the stage run alone over the clip (bench/bench_stages.c; in brackets what the "
          "stage adds to what it starts with; the CLI streams, so its stages overlap):", ""]
    rows = []
    for r in st["rows"]:
        own = r["rss_peak_mib"] - r["rss_start_mib"]
        rows.append([r["stage"], f(r["cli_model_ms_per_frame"]), f(r["cli_no_model_ms_per_frame"]),
                     f"{f(r['rss_peak_mib'])} MiB (+{f(own)})"])
    L += [table(["stage", "with the model (ms/frame)", "without", "peak RSS alone"], rows), ""]
    s = {x["size"]: x for x in net["sizes"]}
    parts = [f"{f(x['ms_per_frame'])} ms per frame at {k.replace('x', '×')} = {f(x['gflops'])} GFLOP/s, "
             f"{f(x['percent_of_sgemm_peak'], '%')} of the sgemm peak" for k, x in s.items()]
    L += [f"Network (shipped model, one thread, one T = 8 window): {'; '.join(parts)} "
          f"({f(net['sgemm_peak_gflops'])} GFLOP/s, measured in the same run). The CLI's windows "
          "overlap by 2 of 8 frames: the encoder runs once per frame, the decoder 4/3 times.", ""]
    mem = rep["memory_over_length"]
    if len(mem) >= 3:
        short = mem[0]
        long_ = next(x for x in mem[1:] if x["palette"].startswith("default"))
        whole = next(x for x in mem[1:] if x["palette"].startswith("--palette"))
        L += [f"Peak RSS with the model, MP4 out: {f(short['peak_rss_mib'], ' MiB')} at "
              f"{short['frames']} frames and {f(long_['peak_rss_mib'], ' MiB')} at {long_['frames']} "
              "frames of the 720p clip, since video and PNG-frame outputs build the palette from "
              "the first 64 frames by default; `--palette-frames 0` (the whole clip, which holds "
              f"every native frame) takes {f(whole['peak_rss_mib'], ' MiB')} at {whole['frames']} "
              "frames.", ""]
    if rep.get("conv3x3_fwd_vs_sgemm_percent"):
        lo, hi = rep["conv3x3_fwd_vs_sgemm_percent"]
        names = {"im2col": "im2col + sgemm", "avx2": "direct AVX2", "avx512": "direct AVX-512"}
        paths = rep.get("conv3x3_fwd_gflops_c32_by_path") or {}
        by = "; ".join(f"{names[k]} {f(paths[k])}" for k in ("im2col", "avx2", "avx512") if k in paths)
        L += [f"The network engine (bench/bench_nn.c): 3×3 convolution forward runs at "
              f"{lo:.0f}–{hi:.0f}% of the matching raw `cblas_sgemm` on this machine"
              + (f" (C = 32 at 64×64, GFLOP/s by path: {by})" if by else "") + ".", ""]
    return "\n".join(wrap(x) for x in L)


def wrap(block):
    """A paragraph wrapped at 100 columns as README's are; tables and
    headings as they are."""
    if block.startswith(("|", "#", "**")):
        return block
    # no breaks inside `code`: its spaces become NULs while wrapping
    kept = re.sub(r"`[^`]*`", lambda m: m[0].replace(" ", "\0"), block)
    return textwrap.fill(kept, 100, break_long_words=False, break_on_hyphens=False).replace("\0", " ")


def update_readme(path, rep):
    text = open(path).read()
    m = re.search(r"^## Performance\n.*?(?=^## )", text, re.S | re.M)
    if not m:
        sys.exit(f"report.py: no '## Performance' section followed by another in {path}")
    with open(path, "w") as out:
        out.write(text[:m.start()] + readme(rep) + "\n" + text[m.end():])


def main(argv):
    if len(argv) >= 1 and argv[0] == "--readme":
        print(readme(json.load(open(argv[1] if len(argv) > 1 else "bench/report.json"))), end="")
        return 0
    if len(argv) >= 2 and argv[0] == "--update-readme":
        update_readme(argv[1], json.load(open(argv[2] if len(argv) > 2 else "bench/report.json")))
        return 0
    if len(argv) != 3:
        sys.stderr.write(__doc__)
        return 2
    figs, info = read_raw(argv[0])
    rep = build(figs, info)
    with open(argv[1], "w") as out:
        json.dump(rep, out, indent=2)
        out.write("\n")
    with open(argv[2], "w") as out:
        out.write(markdown(rep))
    sys.stderr.write(f"wrote {argv[1]} and {argv[2]}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
