"""evcommon.py - shared helpers of the evaluation-data scripts: dependency
checks, repository paths, stable seeds, subprocess and JSON helpers.
Not a data source or a renderer; see sources.py and degrade.py."""

import hashlib
import json
import os
import shutil
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.normpath(os.path.join(HERE, "..", ".."))
CACHE = os.path.join(REPO, "tests", "data", "cache")
EVALSET = os.path.join(REPO, "tests", "data", "evalset")

APT_PKGS = {"numpy": "python3-numpy", "PIL": "python3-pil"}


def require_python_deps():
    """Exits with status 2 and the apt-get line when numpy or Pillow is
    missing. Call before importing the modules that need them."""
    missing = []
    for mod, pkg in APT_PKGS.items():
        try:
            __import__(mod)
        except ImportError:
            missing.append(pkg)
    if missing:
        sys.stderr.write("missing Python modules; install them with:\n"
                         "  sudo apt-get install %s\n" % " ".join(missing))
        sys.exit(2)


def require_tools(*tools):
    """Exits with status 2 when a command-line tool is missing."""
    apt = {"ffmpeg": "ffmpeg", "ffprobe": "ffmpeg", "apt-get": "apt", "dpkg-deb": "dpkg",
           "dpkg": "dpkg"}
    missing = [t for t in tools if shutil.which(t) is None]
    if missing:
        sys.stderr.write("missing tools: %s; install them with:\n"
                         "  sudo apt-get install %s\n"
                         % (" ".join(missing),
                            " ".join(sorted({apt.get(t, t) for t in missing}))))
        sys.exit(2)


def stable_seed(*parts):
    """A 63-bit seed from strings/ints, stable across runs and machines
    (unlike hash())."""
    h = hashlib.sha256("/".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(h[:8], "little") >> 1


def run(cmd, cwd=None, stdin_bytes=None, quiet=True):
    """Runs cmd (a list); raises RuntimeError with stderr on failure."""
    p = subprocess.run(cmd, cwd=cwd, input=stdin_bytes,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if p.returncode != 0:
        raise RuntimeError("command failed (%d): %s\n%s" % (
            p.returncode, " ".join(cmd), p.stderr.decode(errors="replace")[-2000:]))
    if not quiet:
        sys.stderr.write(p.stderr.decode(errors="replace"))
    return p.stdout


def dumps(obj):
    """JSON with one top-level key per line, lists of objects one object
    per line, everything else compact: readable in a diff yet short."""
    one = lambda v: json.dumps(v, separators=(", ", ": "))

    def val(v):
        if isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
            return "[\n" + ",\n".join("  " + one(x) for x in v) + "\n ]"
        if isinstance(v, dict) and v and all(isinstance(x, dict) for x in v.values()):
            return "{\n" + ",\n".join("  %s: %s" % (json.dumps(k), one(x))
                                       for k, x in v.items()) + "\n }"
        return one(v)
    if isinstance(obj, dict):
        body = ",\n".join(" %s: %s" % (json.dumps(k), val(v)) for k, v in obj.items())
        return "{\n" + body + "\n}\n"
    if isinstance(obj, list):
        return "[\n" + ",\n".join(" " + one(v) for v in obj) + "\n]\n"
    return one(obj) + "\n"


def write_json(path, obj):
    """Writes obj as JSON (dumps) atomically (temp file + rename)."""
    tmp = path + ".tmp-json"
    with open(tmp, "w") as f:
        f.write(dumps(obj))
    os.replace(tmp, path)


def read_json(path):
    with open(path) as f:
        return json.load(f)


def log(msg):
    sys.stderr.write(msg + "\n")
    sys.stderr.flush()
