#!/usr/bin/env bash
# Before a GPU lease, on this CPU machine: what benchmarks/gpu/run.sh needs there and cannot download.
#   1. the wheels of the project's dependencies that the GPU machine lacks (kornia, albumentations and
#      their dependencies, jsonargparse[signatures]), for ITS Python and platform (CPython 3.12,
#      manylinux x86_64), pinned in benchmarks/gpu/requirements.txt, into WHEELS_DIR (default
#      benchmarks/gpu/wheels). Not torch (the machine has 2.11 with CUDA) and not wandb (every run logs to
#      CSV or nothing; WANDB_MODE=disabled).
#   2. T91, Set5 and Set14 from ../shared/data (which does not travel: only the checkout does) with their
#      sha256 lists, as one archive: benchmarks/gpu/data/shared-data.tar.gz.
# Both folders are git-ignored; the device tool carries them when named in `carry` (64 MiB in all, the
# working tree included: this prints the total).
# Usage: bash benchmarks/gpu/prepare.sh [WHEELS_DIR]   (data from SR_ZOO_SHARED_DATA, default ../shared/data)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
wheels="$(realpath -m "${1:-$here/wheels}")"
shared="${SR_ZOO_SHARED_DATA:-$repo/../shared/data}"
data="$here/data"
mkdir -p "$wheels" "$data"

platforms=()
for p in manylinux_2_28_x86_64 manylinux_2_27_x86_64 manylinux_2_17_x86_64 manylinux2014_x86_64 manylinux1_x86_64; do
    platforms+=(--platform "$p")
done
grep -vE '^\s*(#|$)' "$here/requirements.txt" >"$wheels/.requirements"
python3 -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --abi cp312 --abi abi3 --abi none "${platforms[@]}" -d "$wheels" -r "$wheels/.requirements"
# One version of each: a wheel left from an older pin would make the install there fail.
while read -r pin; do
    name=$(echo "${pin%%==*}" | tr 'A-Z-' 'a-z_')
    keep=$(echo "${pin##*==}")
    for f in "$wheels"/*.whl; do
        base=$(basename "$f" | tr 'A-Z-' 'a-z_')
        if [[ "$base" == "${name}-"* ]] && [[ "$base" != "${name}-${keep}-"* ]]; then
            rm -v "$f"
        fi
    done
done <"$wheels/.requirements"
rm -f "$wheels/.requirements"
git -C "$repo" rev-parse HEAD >"$wheels/PREPARED" 2>/dev/null || echo unknown >"$wheels/PREPARED"
date -u +%Y-%m-%dT%H:%M:%SZ >>"$wheels/PREPARED"

if [ -d "$shared/T91" ]; then
    (cd "$shared" && sha256sum --quiet -c T91.sha256 Set5.sha256 Set14.sha256)
    tar -czf "$data/shared-data.tar.gz" -C "$shared" T91 Set5 Set14 T91.sha256 Set5.sha256 Set14.sha256 PROVENANCE.md
else
    echo "prepare.sh: $shared/T91 not found: no data archive (run.sh then looks for shared/data in the checkout)" >&2
fi

echo "wheels: $(ls "$wheels"/*.whl | wc -l) files, $(du -sh "$wheels" | cut -f1); data: $(du -sh "$data" | cut -f1)"
tree_kb=$(cd "$repo" && { git ls-files -z; git ls-files -z --others --exclude-standard; } \
    | xargs -0 du -ck 2>/dev/null | tail -1 | cut -f1)
carried_kb=$(du -sk "$wheels" "$data" | awk '{s += $1} END {print s}')
echo "travels: working tree $((tree_kb / 1024)) MiB + carried $((carried_kb / 1024)) MiB" \
    "= $(((tree_kb + carried_kb) / 1024)) MiB of 64"
(( tree_kb + carried_kb < 60 * 1024 )) || { echo "prepare.sh: over the device tool's limit" >&2; exit 1; }
