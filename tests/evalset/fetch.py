#!/usr/bin/python3
"""fetch.py - downloads the Debian packages of docs/data.md with
`apt-get download` (never installs them), unpacks them with `dpkg -x`, and
slices their animations into clean RGBA frame sequences and their static
images into tiles: the evaluation set's packages and the training set's.

  tests/data/cache/debs/<pkg>_<version>_<arch>.deb
  tests/data/cache/root/<pkg>/...                   (dpkg -x)
  tests/data/cache/clean/<pkg>/<anim>/NNNN.png      (exact RGBA, binary alpha)
  tests/data/cache/clean/<pkg>/<anim>/anim.json
  tests/data/cache/clean/<pkg>/tiles/NNNN.png       (static tiles)
  tests/data/cache/clean/<pkg>/tiles/tiles.json
  tests/data/cache/clean/<pkg>/skipped.json         (what a slicer left out, why)
  tests/data/cache/clean/manifest.json              (packages with their role,
                                                     every animation and tile)

Idempotent: a package is downloaded, unpacked and sliced again only when
its .deb or the slicer code changed. Alpha is made binary (>= 128 opaque)
and transparent pixels become (0, 0, 0, 0); the manifest records how many
pixels had soft alpha. Animations (tiles) identical to an earlier one are
listed with "duplicate_of" and not written twice. The manifest lists the
packages of this run only.

Usage: fetch.py [--split all|eval|train | --packages a,b] [--cache DIR]
                [--update] [--force]
"""

import argparse
import glob
import hashlib
import os
import shutil
import sys
import time

sys.dont_write_bytecode = True   # no __pycache__ in the source tree

import evcommon as ev

ev.require_python_deps()
import numpy as np            # noqa: E402
from PIL import Image         # noqa: E402

import sources                # noqa: E402

# The evaluation set's packages first: duplicates are marked in this order,
# so a training item equal to a validation one is the duplicate.
EVAL_PACKAGES = ["minetest-data", "whichwayisup", "xbill", "gnujump-data", "tecnoballz-data"]
TRAIN_ONLY_PACKAGES = ["pekka-kana-2-data", "xpenguins", "davegnukem-data",
                       "crawl-tiles-data"]
SPLITS = {
    "eval": EVAL_PACKAGES,
    "train": [p for p in EVAL_PACKAGES + TRAIN_ONLY_PACKAGES
              if "train" in sources.PACKAGES[p]["role"]],
    "all": EVAL_PACKAGES + TRAIN_ONLY_PACKAGES,
}


def code_hash():
    """Changes when the slicing code changes, so stale caches re-slice."""
    h = hashlib.sha256()
    for name in ("sources.py", "xpm.py", "spr.py", "fetch.py"):
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


def _provenance(pkg, spec, version, e_id, name_key, name, sources_):
    return {"id": e_id, "package": pkg, name_key: name, "version": version,
            "licence": spec["licence"],
            "copyright_file": "usr/share/doc/%s/copyright" % pkg,
            "sources": sources_}


def write_tiles(pkg, spec, version, tiles, pdir, clean, seen_tiles):
    """Writes the Tile objects to pdir/tiles/NNNN.png (duplicates of an
    earlier tile are listed, not written); returns their entries."""
    entries, k = [], 0
    tdir = os.path.join(pdir, "tiles")
    names = set()
    for t in tiles:
        if t.name in names:
            raise RuntimeError("%s: two tiles named %s" % (pkg, t.name))
        names.add(t.name)
        c, soft = canonical(t.image)
        h, w = c.shape[:2]
        opaque = c[c[..., 3] == 255][:, :3]
        digest = anim_digest([c], [0])
        e = _provenance(pkg, spec, version, "%s/tiles/%s" % (pkg, t.name), "tile",
                        t.name, t.sources)
        e.update({"width": int(w), "height": int(h),
                  "colors": int(len(np.unique(opaque, axis=0))) if len(opaque) else 0,
                  "soft_alpha_pixels": soft, "sha256": digest})
        e.update(t.meta)
        if digest in seen_tiles:
            e["duplicate_of"] = seen_tiles[digest]
        else:
            seen_tiles[digest] = e["id"]
            os.makedirs(tdir, exist_ok=True)
            rel = os.path.join(pkg, "tiles", "%04d.png" % k)
            Image.fromarray(c, "RGBA").save(os.path.join(clean, rel))
            e["path"] = rel
            k += 1
        entries.append(e)
    if entries:
        os.makedirs(tdir, exist_ok=True)
        ev.write_json(os.path.join(tdir, "tiles.json"), entries)
    return entries


def slice_package(pkg, root, version, clean, seen, force, seen_tiles=None):
    """Slices one package into clean/pkg; returns (animation entries, tile
    entries, skipped {name, sources, reason} records)."""
    seen_tiles = {} if seen_tiles is None else seen_tiles
    spec = sources.PACKAGES[pkg]
    pdir = os.path.join(clean, pkg)
    stamp = os.path.join(pdir, ".stamp")
    tag = "%s %s" % (version, code_hash())
    index = os.path.join(pdir, "index.json")
    tindex = os.path.join(pdir, "tiles", "tiles.json")
    sindex = os.path.join(pdir, "skipped.json")
    if not force and os.path.exists(stamp) and open(stamp).read() == tag \
            and os.path.exists(index):
        entries = ev.read_json(index)
        tiles = ev.read_json(tindex) if os.path.exists(tindex) else []
        skipped = ev.read_json(sindex) if os.path.exists(sindex) else []
        for e in entries:
            if "duplicate_of" not in e:
                seen.setdefault(e["sha256"], e["id"])
        for e in tiles:
            if "duplicate_of" not in e:
                seen_tiles.setdefault(e["sha256"], e["id"])
        return entries, tiles, skipped
    shutil.rmtree(pdir, ignore_errors=True)
    os.makedirs(pdir)
    entries, tiles, skipped = [], [], []
    items = list(spec["slicer"](root))
    if "tiler" in spec:
        items += list(spec["tiler"](root))
    anim_names = set()
    for anim in items:
        if isinstance(anim, sources.Tile):
            tiles.append(anim)
            continue
        if isinstance(anim, sources.Skip):
            skipped.append({"name": anim.name, "sources": anim.sources,
                            "reason": anim.reason})
            continue
        if anim.name in anim_names or anim.name == "tiles":
            raise RuntimeError("%s: animation name %s used twice or reserved"
                               % (pkg, anim.name))
        anim_names.add(anim.name)
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
    tiles = write_tiles(pkg, spec, version, tiles, pdir, clean, seen_tiles)
    if skipped:
        ev.write_json(sindex, skipped)
    with open(stamp, "w") as f:
        f.write(tag)
    return entries, tiles, skipped


def load_frames(clean, entry):
    """The clean frames of a manifest entry -> (N, H, W, 4) uint8."""
    d = os.path.join(clean, entry["dir"])
    return np.stack([np.array(Image.open(os.path.join(d, "%04d.png" % k)).convert("RGBA"))
                     for k in range(entry["frames"])])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--split", choices=sorted(SPLITS), default="all",
                    help="eval: the evaluation set's packages (%s); train: the packages "
                         "training may use; all (default): both"
                         % ",".join(EVAL_PACKAGES))
    ap.add_argument("--packages", default=None,
                    help="comma-separated package names instead of --split "
                         "(known: %s)" % ",".join(sources.PACKAGES))
    ap.add_argument("--cache", default=ev.CACHE, help="cache folder")
    ap.add_argument("--update", action="store_true",
                    help="download again even when a .deb is cached")
    ap.add_argument("--force", action="store_true", help="re-slice everything")
    args = ap.parse_args(argv)
    ev.require_tools("apt-get", "dpkg", "dpkg-deb")
    pkgs = ([p for p in args.packages.split(",") if p] if args.packages is not None
            else SPLITS[args.split])
    unknown = [p for p in pkgs if p not in sources.PACKAGES]
    # a fixed order whatever the command line says: validation packages
    # before training ones, so duplicates land on the training side
    order = SPLITS["all"] + sorted(sources.PACKAGES)
    pkgs = sorted(set(pkgs), key=lambda p: order.index(p) if p in order else len(order))
    if unknown:
        ev.log("fetch: no slicer for %s (known: %s)"
               % (", ".join(unknown), ", ".join(sources.PACKAGES)))
        return 2
    clean = os.path.join(args.cache, "clean")
    os.makedirs(clean, exist_ok=True)
    manifest, tiles, seen, seen_tiles = [], [], {}, {}
    packages = {}
    for pkg in pkgs:
        t0 = time.time()
        deb = download(pkg, os.path.join(args.cache, "debs"), args.update)
        version = deb_field(deb, "Version")
        root = extract(pkg, deb, os.path.join(args.cache, "root"))
        entries, tents, skipped = slice_package(pkg, root, version, clean, seen,
                                                args.force, seen_tiles)
        spec = sources.PACKAGES[pkg]
        live = [e for e in entries if "duplicate_of" not in e]
        reasons = {}
        for s in skipped:
            reasons[s["reason"]] = reasons.get(s["reason"], 0) + 1
        packages[pkg] = {"version": version, "deb": os.path.basename(deb),
                         "licence": spec["licence"], "role": spec["role"],
                         "animations": len(live),
                         "frames": sum(e["frames"] for e in live),
                         "tiles": sum("duplicate_of" not in e for e in tents),
                         "duplicates": len(entries) - len(live) +
                         sum("duplicate_of" in e for e in tents),
                         "skipped": dict(sorted(reasons.items()))}
        manifest.extend(entries)
        tiles.extend(tents)
        p = packages[pkg]
        ev.log("fetch: %-17s %s [%s]: %d animations, %d frames, %d tiles, %d duplicates, "
               "%d skipped (%.1f s)" % (pkg, version, p["role"], p["animations"], p["frames"],
                                        p["tiles"], p["duplicates"], len(skipped),
                                        time.time() - t0))
    ev.write_json(os.path.join(clean, "manifest.json"),
                  {"format": 2, "packages": packages, "animations": manifest,
                   "tiles": tiles})
    return 0


if __name__ == "__main__":
    sys.exit(main())
