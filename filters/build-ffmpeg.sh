#!/bin/sh
# build-ffmpeg.sh - builds build/ffmpeg/ffmpeg: an FFmpeg 5.1 with the pixelfix
# filter (filters/vf_pixelfix.c) linked against build/libpixelfix.a.
#
# It is not a general FFmpeg build: a lean, static libav* (--disable-everything
# plus what pixel-art pipelines use), patched to register the filter,
# configured out of tree. It builds FFmpeg's NASM code, as Debian does: the
# filter converts YUV to RGBA with this build's swscale, and only the same
# SIMD code gives the same pixels as the pixelfix CLI, which uses Debian's
# libswscale (measured: the C fallback of the fast YUV->RGB path is up to 33
# levels off on 224-pixel-wide H.264). FFmpeg 5.1 has no plugin API and does not install
# libavfilter's internal headers, hence a source tree (docs/architecture.md section 6).
#
# Usage: filters/build-ffmpeg.sh [--with-ffmpeg-src=DIR] [--jobs=N] [--disable-asm]
#   --with-ffmpeg-src=DIR  an unconfigured FFmpeg 5.1.x tree (also $FFMPEG_SRC);
#                          it is copied, never modified. Default: fetched with
#                          `apt-get source --download-only ffmpeg`, after adding
#                          a deb-src entry for Debian 12 when apt has none (root).
#   --jobs=N               make -jN (default 2)
#   --disable-asm          no NASM code (no nasm needed; slower, and YUV video then
#                          restores slightly differently from the CLI)
# Environment: NICE (default "nice -n 19"), PKG_CONFIG, MAKE.
#
# Idempotent: a second run only rebuilds what changed, relinks when
# build/libpixelfix.a is newer than the binary (FFmpeg's make does not track
# it), and re-runs configure only when its arguments or the patch changed.
# Ends by checking that `ffmpeg -filters` lists pixelfix (configure drops a
# filter whose dependency is disabled without a word).
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD="$ROOT/build/ffmpeg"
SRCROOT="$ROOT/build/ffmpeg-src"
TREE="$SRCROOT/ffmpeg"            # our patched copy of the source
LIB="$ROOT/build/libpixelfix.a"
JOBS=2
ASM=1
GIVEN=${FFMPEG_SRC:-}
NICE=${NICE-nice -n 19}
MAKE=${MAKE:-make}
PKG_CONFIG=${PKG_CONFIG:-pkg-config}

say() { echo "build-ffmpeg: $*"; }
die() { echo "build-ffmpeg: error: $*" >&2; exit 1; }

for a in "$@"; do
    case "$a" in
    --with-ffmpeg-src=*) GIVEN=${a#*=} ;;
    --jobs=*|-j*) JOBS=${a#--jobs=}; JOBS=${JOBS#-j} ;;
    --disable-asm) ASM=0 ;;
    -h|--help) sed -n '2,/^set -eu/p' "$0" | sed -n 's/^# \{0,1\}//p'; exit 0 ;;
    *) die "unknown argument '$a' (see --help)" ;;
    esac
done

[ -f "$LIB" ] || die "$LIB is missing: run make first"

# ---- dependencies --------------------------------------------------------------
need_pc() {
    "$PKG_CONFIG" --exists "$1" || die "pkg-config cannot find $1: apt-get install $2"
}
command -v "$PKG_CONFIG" >/dev/null || die "pkg-config is missing: apt-get install pkg-config"
need_pc x264 libx264-dev
need_pc libwebpmux libwebp-dev
need_pc zlib zlib1g-dev
if [ "$ASM" = 1 ]; then
    command -v nasm >/dev/null || die "nasm is missing: apt-get install nasm (or --disable-asm, see --help)"
fi

# ---- the source ------------------------------------------------------------------
# check_tree DIR: an FFmpeg 5.1 tree (libavfilter major 8) that was never configured.
check_tree() {
    [ -f "$1/libavfilter/version_major.h" ] && [ -x "$1/configure" ] ||
        die "'$1' is not an FFmpeg source tree (no libavfilter/version_major.h)"
    grep -q 'LIBAVFILTER_VERSION_MAJOR *8$' "$1/libavfilter/version_major.h" ||
        die "'$1' is not FFmpeg 5.1 (libavfilter major is not 8); the filter is written for 5.1"
    [ ! -f "$1/config.h" ] ||
        die "'$1' has been configured in place (config.h); give a clean tree (make distclean)"
}

fetch_source() {
    command -v apt-get >/dev/null || die "no apt-get: give an FFmpeg 5.1 tree with --with-ffmpeg-src=DIR"
    if ! apt-cache showsrc ffmpeg 2>/dev/null | grep -q '^Version: .*5\.1\.'; then
        [ "$(id -u)" = 0 ] || die "apt has no deb-src entry for ffmpeg: as root, add one (Types: deb-src) \
for bookworm main, run apt-get update, and retry; or give --with-ffmpeg-src=DIR"
        say "adding a deb-src entry for Debian 12 (/etc/apt/sources.list.d/pixelfix-deb-src.sources)"
        cat > /etc/apt/sources.list.d/pixelfix-deb-src.sources <<'EOF'
# Added by pixelfix's filters/build-ffmpeg.sh: source packages, for apt-get source ffmpeg.
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb-src
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
        # refresh only that list, keeping the others as they are
        apt-get update -qq -o Dir::Etc::sourcelist=/etc/apt/sources.list.d/pixelfix-deb-src.sources \
            -o Dir::Etc::sourceparts=- -o APT::Get::List-Cleanup=0 ||
            die "apt-get update failed"
    fi
    rm -rf "$SRCROOT/dl"
    mkdir -p "$SRCROOT/dl"
    say "fetching the source: apt-get source --download-only ffmpeg"
    (cd "$SRCROOT/dl" && apt-get source -qq --download-only ffmpeg) || die "apt-get source failed"
    dsc=$(ls "$SRCROOT"/dl/ffmpeg_*.dsc | head -n 1)
    if command -v dpkg-source >/dev/null; then   # Debian's patches too, as the distro builds it
        (cd "$SRCROOT/dl" && dpkg-source -q --no-check -x "$dsc" unpacked >/dev/null) || die "dpkg-source -x failed"
    else
        mkdir "$SRCROOT/dl/unpacked"
        tar -xf "$SRCROOT"/dl/ffmpeg_*.orig.tar.* -C "$SRCROOT/dl/unpacked" --strip-components=1
    fi
    check_tree "$SRCROOT/dl/unpacked"
    rm -rf "$TREE" "$BUILD"
    mv "$SRCROOT/dl/unpacked" "$TREE"
    echo "apt-get source ffmpeg ($(basename "$dsc" .dsc))" > "$TREE/.pixelfix-origin"
}

mkdir -p "$SRCROOT"
if [ -n "$GIVEN" ]; then
    [ -d "$GIVEN" ] || die "no such directory: $GIVEN"
    GIVEN=$(cd "$GIVEN" && pwd)
    if [ ! -f "$TREE/.pixelfix-origin" ] || [ "$(cat "$TREE/.pixelfix-origin")" != "$GIVEN" ]; then
        check_tree "$GIVEN"
        say "copying $GIVEN"
        rm -rf "$TREE" "$BUILD"      # another tree: start the build afresh
        cp -a "$GIVEN" "$TREE"
        rm -rf "$TREE/.git"
        echo "$GIVEN" > "$TREE/.pixelfix-origin"
    fi
elif [ ! -f "$TREE/.pixelfix-origin" ]; then
    fetch_source
fi
say "source: $(cat "$TREE/.pixelfix-origin"), $(cat "$TREE/RELEASE" 2>/dev/null || echo '?')"

# ---- registration patch (idempotent) -----------------------------------------------
# Each patched file is rebuilt from a pristine copy kept beside it
# (FILE.pixelfix-orig), so the patch is applied exactly once whatever ran
# before, and FILE keeps its mtime when the result is unchanged.
# add_after FILE PREFIX LINE: inserts LINE after the first line of FILE.new
# that starts with PREFIX (a fixed string).
add_after() {
    awk -v pre="$2" -v line="$3" '{ print } !done && index($0, pre) == 1 { print line; done = 1 }
        END { exit !done }' "$1.new" > "$1.tmp" || die "cannot patch $1: no line starts with '$2'"
    mv "$1.tmp" "$1.new"
}
begin_patch() { [ -f "$1.pixelfix-orig" ] || cp -p "$1" "$1.pixelfix-orig"; cp "$1.pixelfix-orig" "$1.new"; }
end_patch() { if cmp -s "$1.new" "$1"; then rm -f "$1.new"; else cat "$1.new" > "$1"; rm -f "$1.new"; fi; }

F="$TREE/libavfilter/allfilters.c"
begin_patch "$F"
add_after "$F" 'extern const AVFilter ff_vf_pixdesctest;' 'extern const AVFilter ff_vf_pixelfix;'
end_patch "$F"
F="$TREE/libavfilter/Makefile"
begin_patch "$F"
add_after "$F" 'OBJS-$(CONFIG_PIXDESCTEST_FILTER)' 'OBJS-$(CONFIG_PIXELFIX_FILTER)               += vf_pixelfix.o'
end_patch "$F"
F="$TREE/configure"
begin_patch "$F"
add_after "$F" 'EXTERNAL_LIBRARY_LIST="' '    libpixelfix'
add_after "$F" 'zmq_filter_deps="libzmq"' 'pixelfix_filter_deps="libpixelfix swscale"'
add_after "$F" 'enabled libzmq ' \
    'enabled libpixelfix       && require_pkg_config libpixelfix pixelfix pixelfix.h pf_stream_open'
end_patch "$F"
chmod +x "$TREE/configure"
# copy_if_changed SRC DST: keeps DST's mtime when nothing changed, so make stays quiet.
copy_if_changed() { cmp -s "$1" "$2" || cp "$1" "$2"; }
copy_if_changed "$ROOT/filters/vf_pixelfix.c" "$TREE/libavfilter/vf_pixelfix.c"

# ---- libpixelfix for configure: a header folder and a pkg-config file ------------------
mkdir -p "$BUILD/pixelfix/include"
copy_if_changed "$ROOT/src/pixelfix.h" "$BUILD/pixelfix/include/pixelfix.h"
# Libs.private as the library was configured (config.mk); -lav* there resolve
# to this build's static libraries, which FFmpeg's link puts first on -L.
DEP_LIBS=$(sed -n 's/^DEP_LIBS = //p' "$ROOT/config.mk")
VERSION=$(sed -n 's/^#define PF_VERSION_STRING "\(.*\)"/\1/p' "$ROOT/src/pixelfix.h")
cat > "$BUILD/pixelfix/pixelfix.pc.new" <<EOF
# Written by filters/build-ffmpeg.sh: the uninstalled libpixelfix in $ROOT/build.
libdir=$ROOT/build
includedir=$BUILD/pixelfix/include

Name: pixelfix
Description: restores pixel-art animation (uninstalled, for the FFmpeg build)
Version: $VERSION
Libs: -L\${libdir} -lpixelfix
Libs.private: $DEP_LIBS -lswscale -lavutil
Cflags: -I\${includedir}
EOF
copy_if_changed "$BUILD/pixelfix/pixelfix.pc.new" "$BUILD/pixelfix/pixelfix.pc"
rm -f "$BUILD/pixelfix/pixelfix.pc.new"

# ---- configure -----------------------------------------------------------------------
ASM_FLAG=--disable-x86asm
[ "$ASM" = 1 ] && ASM_FLAG=--enable-x86asm
CONFIG_ARGS="--prefix=$BUILD/install --pkg-config=$PKG_CONFIG --pkg-config-flags=--static
 --enable-gpl --disable-autodetect --disable-everything --disable-doc
 --disable-ffplay --disable-ffprobe --disable-shared --enable-static $ASM_FLAG
 --enable-zlib --enable-libx264 --enable-libwebp --enable-libpixelfix
 --enable-protocol=file,pipe
 --enable-indev=lavfi
 --enable-demuxer=gif,mov,matroska,image2,image2pipe,apng,webp_pipe,png_pipe,nut,yuv4mpegpipe,rawvideo,lavfi
 --enable-decoder=gif,h264,hevc,vp8,vp9,png,apng,webp,mjpeg,rawvideo,aac,mp3float,opus,vorbis,flac,pcm_s16le,ffv1
 --enable-parser=h264,hevc,vp8,vp9,png,gif,mjpeg,webp,aac,mpegaudio,opus,vorbis,flac
 --enable-encoder=png,apng,gif,libx264,libwebp,libwebp_anim,wrapped_avframe,aac,rawvideo,ffv1
 --enable-muxer=mp4,mov,matroska,webm,gif,apng,webp,image2,image2pipe,nut,yuv4mpegpipe,null,framemd5,framecrc,rawvideo
 --enable-filter=pixelfix,scale,format,overlay,hstack,vstack,concat,loop,reverse,colorkey,alphaextract,alphamerge,palettegen,paletteuse,split,fps,tile,pad,crop,trim,setpts,select,copy,null,showinfo,testsrc,color,sine,anullsrc,aresample,aformat,anull,atrim,asetpts"
mkdir -p "$BUILD"
STAMP="$BUILD/.pixelfix-configure"
WANT=$(printf '%s\n%s\n' "$CONFIG_ARGS" "$(cksum < "$TREE/configure")")
if [ ! -f "$BUILD/config.h" ] || [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$WANT" ]; then
    say "configuring in $BUILD"
    rm -f "$STAMP"
    # shellcheck disable=SC2086
    (cd "$BUILD" && PKG_CONFIG_PATH="$BUILD/pixelfix${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH}" \
        $NICE "$TREE/configure" $CONFIG_ARGS > configure.out 2>&1) || {
        tail -n 20 "$BUILD/configure.out" >&2
        die "configure failed; see $BUILD/configure.out and $BUILD/ffbuild/config.log"
    }
    printf '%s\n' "$WANT" > "$STAMP"
fi
cat "$BUILD/config.h" "$BUILD/config_components.h" 2>/dev/null | grep -q "^#define CONFIG_PIXELFIX_FILTER 1" ||
    die "configure dropped the pixelfix filter (check --enable-libpixelfix in $BUILD/configure.out)"

# ---- make ------------------------------------------------------------------------------
# FFmpeg's make does not know about libpixelfix.a: relink when it is newer.
if [ -f "$BUILD/ffmpeg_g" ] && [ "$LIB" -nt "$BUILD/ffmpeg_g" ]; then
    say "libpixelfix.a changed: relinking"
    rm -f "$BUILD/ffmpeg_g" "$BUILD/ffmpeg"
fi
say "make -j$JOBS ffmpeg"
(cd "$BUILD" && $NICE "$MAKE" -j"$JOBS" ffmpeg > make.out 2>&1) || {
    tail -n 30 "$BUILD/make.out" >&2
    die "make failed; see $BUILD/make.out"
}

# ---- the check -------------------------------------------------------------------------
"$BUILD/ffmpeg" -hide_banner -filters 2>/dev/null | grep -q ' pixelfix ' ||
    die "$BUILD/ffmpeg does not list the pixelfix filter"
say "$BUILD/ffmpeg is ready ($(du -h "$BUILD/ffmpeg" | cut -f1)): ffmpeg -i IN -vf pixelfix OUT"
