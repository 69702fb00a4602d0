#!/bin/sh
# install-deps.sh - installs what pixelfix needs to build and test, from
# Debian 12 packages. Idempotent; run as root.
set -e
PKGS="gcc make pkg-config ca-certificates
libavformat-dev libavcodec-dev libavutil-dev libswscale-dev
libwebp-dev libgif-dev libopenblas-dev libpng-dev libjansson-dev libcmocka-dev
ffmpeg gnuplot-nox
libx264-dev nasm dpkg-dev
valgrind parallel"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -z "$missing" ]; then
    echo "install-deps: all dependencies are installed"
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    echo "install-deps: missing:$missing" >&2
    echo "install-deps: run as root, or: sudo apt-get install -y --no-install-recommends$missing" >&2
    exit 1
fi
echo "install-deps: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends $missing
