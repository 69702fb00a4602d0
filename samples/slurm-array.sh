#!/bin/bash
# slurm-array.sh - restores a list of clips on a Slurm cluster, one clip per
# array task, with the same command line as one machine uses:
#
#   ls clips/*.mp4 > clips.txt
#   sbatch --array=0-$(( $(wc -l < clips.txt) - 1 ))%64 samples/slurm-array.sh clips.txt sheets
#
# Task i restores line i + 1 of the list into OUTDIR/{name}.png (spritesheet
# + JSON); PIXELFIX picks the binary (default: pixelfix on the PATH), and
# PIXELFIX_ARGS adds options (--colors 16, --no-model, ...). A task's exit
# status is pixelfix's (see man pixelfix, EXIT STATUS), so `sacct` shows
# which clips failed and why. tests/batch.sh runs it with SLURM_ARRAY_TASK_ID
# set by hand.
#SBATCH --job-name=pixelfix
#SBATCH --cpus-per-task=1
#SBATCH --mem=2G
#SBATCH --time=00:30:00
#SBATCH --output=pixelfix-%A_%a.log
set -euo pipefail
if [ $# -ne 2 ] || [ -z "${SLURM_ARRAY_TASK_ID:-}" ]; then
    echo "usage: sbatch --array=0-N slurm-array.sh LIST OUTDIR (LIST: one clip per line)" >&2
    exit 2
fi
clip=$(sed -n "$((SLURM_ARRAY_TASK_ID + 1))p" "$1")
if [ -z "$clip" ]; then
    echo "slurm-array.sh: $1 has no line $((SLURM_ARRAY_TASK_ID + 1))" >&2
    exit 2
fi
mkdir -p "$2"
# word splitting of PIXELFIX_ARGS is wanted: it holds several options
# shellcheck disable=SC2086
exec "${PIXELFIX:-pixelfix}" "$clip" -o "$2/{name}.png" --threads "${SLURM_CPUS_PER_TASK:-1}" -q ${PIXELFIX_ARGS:-}
