#!/usr/bin/python3
"""fetch.py - downloads the Debian packages of shared/DATA.md with
`apt-get download` (never installs them), unpacks them with `dpkg -x`, and
slices their animations into clean RGBA frame sequences:

  tests/data/cache/debs/<pkg>_<version>_<arch>.deb
  tests/data/cache/root/<pkg>/...                   (dpkg -x)
  tests/data/cache/clean/<pkg>/<anim>/NNNN.png      (exact RGBA, binary alpha)
  tests/data/cache/clean/<pkg>/<anim>/anim.json
  tests/data/cache/clean/manifest.json              (every animation)

Idempotent: a package is downloaded, unpacked and sliced again only when
its .deb or the slicer code changed. Alpha is made binary (>= 128 opaque)
and transparent pixels become (0, 0, 0, 0); the manifest records how many
pixels had soft alpha. Animations identical to an earlier one are listed
with "duplicate_of" and not written twice.

Usage: fetch.py [--packages a,b] [--cache DIR] [--update] [--force]
"""

import argparse
import glob
import hashlib
import os
import shutil
import sys

sys.dont_write_bytecode = True   # no __pycache__ in the source tree

import evcommon as ev

ev.require_python_deps()
import numpy as np            # noqa: E402
from PIL import Image         # noqa: E402

import sources                # noqa: E402

DEFAULT_PACKAGES = ["minetest-data", "whichwayisup", "xbill", "gnujump-data"]


def code_hash():
    """Changes when the slicing code changes, so stale caches re-slice."""
    h = hashlib.sha256()
    for name in ("sources.py", "xpm.py", "fetch.py"):
        with open(os.path.join(ev.HERE, name), "rb") as f:
            h.update(f.read())
    return h.hexdigest()[:16]


def deb_field(deb, field):
    return ev.run(["dpkg-deb", "-f", deb, field]).decode().strip()


def download(pkg, debs, update):
    """Returns the path of pkg's .deb in debs, downloading it if needed."""
    os.makedirs(debs, exist_ok=True)
    have = sorted(glob.glob(os.path.join(debs, pkg + "_*.deb")))
    if have and not update:
        return have[-1]
    ev.log("fetch: apt-get download %s" % pkg)
    ev.run(["apt-get", "download", pkg], cwd=debs)
    have = sorted(glob.glob(os.path.join(debs, pkg + "_*.deb")),
                  key=os.path.getmtime)
    if not have:
        raise RuntimeError("apt-get download %s left no .deb" % pkg)
    for old in have[:-1]:
        os.remove(old)
    return have[-1]


def extract(pkg, deb, roots):
    """dpkg -x deb into roots/pkg unless the stamp says it is already."""
    root = os.path.join(roots, pkg)
    stamp = root + ".stamp"
    tag = os.path.basename(deb)
    if os.path.isdir(root) and os.path.exists(stamp) and open(stamp).read() == tag:
        return root
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(root)
    ev.log("fetch: dpkg -x %s" % tag)
    ev.run(["dpkg", "-x", deb, root])
    with open(stamp, "w") as f:
        f.write(tag)
    return root


def canonical(rgba):
    """Binary alpha (>= 128 opaque), transparent pixels (0, 0, 0, 0).
    Returns (frame, number of soft-alpha pixels)."""
    a = rgba[..., 3]
    soft = int(((a > 0) & (a < 255)).sum())
    out = rgba.copy()
    opaque = a >= 128
    out[..., 3] = np.where(opaque, 255, 0)
    out[~opaque] = 0
    return out, soft


def anim_digest(frames, durs):
    h = hashlib.sha256()
    for f, d in zip(frames, durs):
        h.update(np.ascontiguousarray(f).tobytes())
        h.update(str(f.shape).encode())
    return h.hexdigest()


def slice_package(pkg, root, version, clean, seen, force):
    """Slices one package into clean/pkg; returns its manifest entries."""
    spec = sources.PACKAGES[pkg]
    pdir = os.path.join(clean, pkg)
    stamp = os.path.join(pdir, ".stamp")
    tag = "%s %s" % (version, code_hash())
    index = os.path.join(pdir, "index.json")
    if not force and os.path.exists(stamp) and open(stamp).read() == tag \
            and os.path.exists(index):
        entries = ev.read_json(index)
        for e in entries:
            if "duplicate_of" not in e:
                seen.setdefault(e["sha256"], e["id"])
        return entries
    shutil.rmtree(pdir, ignore_errors=True)
    os.makedirs(pdir)
    entries = []
    for anim in spec["slicer"](root):
        frames, soft = [], 0
        for f in anim.frames:
            c, s = canonical(f)
            frames.append(c)
            soft += s
        h, w = frames[0].shape[:2]
        stack = np.stack(frames)
        opaque = stack[stack[..., 3] == 255][:, :3]
        digest = anim_digest(frames, anim.durations_ms)
        aid = "%s/%s" % (pkg, anim.name)
        e = {"id": aid, "package": pkg, "anim": anim.name, "version": version,
             "licence": spec["licence"],
             "copyright_file": "usr/share/doc/%s/copyright" % pkg,
             "sources": anim.sources, "frames": len(frames),
             "width": int(w), "height": int(h),
             "durations_ms": anim.durations_ms,
             "colors": int(len(np.unique(opaque, axis=0))) if len(opaque) else 0,
             "soft_alpha_pixels": soft, "sha256": digest}
        e.update(anim.meta)
        if digest in seen:
            e["duplicate_of"] = seen[digest]
        else:
            seen[digest] = aid
            adir = os.path.join(pdir, anim.name)
            os.makedirs(adir)
            for k, f in enumerate(frames):
                Image.fromarray(f, "RGBA").save(os.path.join(adir, "%04d.png" % k))
            e["dir"] = os.path.relpath(adir, clean)
            ev.write_json(os.path.join(adir, "anim.json"), e)
        entries.append(e)
    ev.write_json(index, entries)
    with open(stamp, "w") as f:
        f.write(tag)
    return entries


def load_frames(clean, entry):
    """The clean frames of a manifest entry -> (N, H, W, 4) uint8."""
    d = os.path.join(clean, entry["dir"])
    return np.stack([np.array(Image.open(os.path.join(d, "%04d.png" % k)).convert("RGBA"))
                     for k in range(entry["frames"])])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--packages", default=",".join(DEFAULT_PACKAGES),
                    help="comma-separated package names (default: %(default)s)")
    ap.add_argument("--cache", default=ev.CACHE, help="cache folder")
    ap.add_argument("--update", action="store_true",
                    help="download again even when a .deb is cached")
    ap.add_argument("--force", action="store_true", help="re-slice everything")
    args = ap.parse_args(argv)
    ev.require_tools("apt-get", "dpkg", "dpkg-deb")
    pkgs = [p for p in args.packages.split(",") if p]
    unknown = [p for p in pkgs if p not in sources.PACKAGES]
    if unknown:
        ev.log("fetch: no slicer for %s (known: %s)"
               % (", ".join(unknown), ", ".join(sources.PACKAGES)))
        return 2
    clean = os.path.join(args.cache, "clean")
    os.makedirs(clean, exist_ok=True)
    manifest, seen = [], {}
    packages = {}
    for pkg in pkgs:
        deb = download(pkg, os.path.join(args.cache, "debs"), args.update)
        version = deb_field(deb, "Version")
        root = extract(pkg, deb, os.path.join(args.cache, "root"))
        entries = slice_package(pkg, root, version, clean, seen, args.force)
        packages[pkg] = {"version": version, "deb": os.path.basename(deb),
                         "licence": sources.PACKAGES[pkg]["licence"],
                         "animations": sum("duplicate_of" not in e for e in entries)}
        manifest.extend(entries)
        ev.log("fetch: %-14s %s: %d animations (%d duplicates)"
               % (pkg, version, packages[pkg]["animations"],
                  sum("duplicate_of" in e for e in entries)))
    ev.write_json(os.path.join(clean, "manifest.json"),
                  {"format": 1, "packages": packages, "animations": manifest})
    return 0


if __name__ == "__main__":
    sys.exit(main())
