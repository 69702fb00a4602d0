#!/bin/sh
# Source coverage the fuzz corpora reach: builds the replay harnesses with
# clang's source-based coverage (build/fuzzcov/, no sanitizers), replays
# build/fuzz/corpus/NAME through fuzz_NAME, and prints line and branch
# coverage of the files each harness is for (llvm-cov report).
# Usage: coverage.sh (from the repository root, after make fuzz).
set -eu
B=build/fuzzcov
FLAGS="-O1 -g -fprofile-instr-generate -fcoverage-mapping"
make -s BUILD=$B CC=clang OPTFLAGS="$FLAGS" SAN_LDFLAGS="-fprofile-instr-generate" \
    $(for s in tests/fuzz/fuzz_*.c; do n=${s##*/}; echo "$B/replay/${n%.c}"; done) > /dev/null
export OPENBLAS_NUM_THREADS=1
for s in tests/fuzz/fuzz_*.c; do
    name=${s##*/fuzz_}; name=${name%.c}
    corpus=build/fuzz/corpus/$name
    [ -d "$corpus" ] || { echo "fuzz_$name: no corpus (run make fuzz first)"; continue; }
    case $name in
        gif)         files="src/io/reader_gif.c src/io/reader.c" ;;
        webp)        files="src/io/reader_webp.c" ;;
        av)          files="src/io/reader_av.c" ;;
        safetensors) files="src/nn/weights.c src/nn/model.c src/nn/unet.c" ;;
        palette)     files="src/palette/palette_file.c src/io/png.c" ;;
        sheet)       files="src/io/sheet.c" ;;
        *)           files="src/cli/main.c src/core/restore.c src/core/stream.c src/grid/detect.c src/grid/background.c src/palette/frames.c src/io/writer_gif.c src/io/writer_webp.c src/io/sheet.c" ;;
    esac
    rm -f $B/$name-*.profraw
    LLVM_PROFILE_FILE="$B/$name-%p.profraw" "$B/replay/fuzz_$name" "$corpus" > /dev/null 2>&1 || true
    llvm-profdata merge -sparse $B/$name-*.profraw -o $B/$name.profdata
    echo "== fuzz_$name ($(ls "$corpus" | wc -l) corpus files)"
    llvm-cov report "$B/replay/fuzz_$name" -instr-profile=$B/$name.profdata $files |
        awk '$1 ~ /\.c$/ || $1 == "TOTAL" { f = $1; sub(/.*\/src\//, "src/", f)
                              printf "  %-28s lines %7s  branches %7s  functions %7s\n", f, $10, $13, $7 }'
done
