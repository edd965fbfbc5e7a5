#!/usr/bin/env bash
# bench-scan.sh — `gohang scan GOROOT` against `file` over the same bin/ + pkg/tool/*/ files.
#
#   scripts/bench-scan.sh [GOROOT] [RUNS]
#
# Runs the two commands alternately, RUNS times each (default 50), after one warm-up run
# of each (page cache), timing every run with bash's $EPOCHREALTIME (no extra process per
# measurement), and prints the median and the ratio. Uses target/release/gohang, built if
# missing. Results go in docs/PERFORMANCE.md.
set -euo pipefail
cd "$(dirname "$0")/.."

goroot=${1:-$(go env GOROOT)}
runs=${2:-50}
[[ -x target/release/gohang ]] || cargo build --release --quiet
gohang=target/release/gohang
command -v file >/dev/null || { echo "bench-scan: needs file(1)" >&2; exit 1; }

shopt -s nullglob
files=("$goroot"/bin/* "$goroot"/pkg/tool/*/*)
(( ${#files[@]} > 0 )) || { echo "bench-scan: no binaries under $goroot" >&2; exit 1; }

# Microseconds since the epoch, from bash itself.
now_us() { local t=${EPOCHREALTIME/[.,]/}; echo "$t"; }

median() { sort -n | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

"$gohang" scan "$goroot" >/dev/null || true
file "${files[@]}" >/dev/null
g=() f=()
for ((i = 0; i < runs; i++)); do
  t0=$(now_us); "$gohang" scan "$goroot" >/dev/null || true; t1=$(now_us)
  file "${files[@]}" >/dev/null; t2=$(now_us)
  g+=($((t1 - t0))) f+=($((t2 - t1)))
done
gm=$(printf '%s\n' "${g[@]}" | median)
fm=$(printf '%s\n' "${f[@]}" | median)
echo "files:           ${#files[@]} (bin/ and pkg/tool/*/ of $goroot)"
echo "runs:            $runs each, alternating"
echo "gohang scan:     median $(awk -v u="$gm" 'BEGIN { printf "%.2f", u / 1000 }') ms"
echo "file:            median $(awk -v u="$fm" 'BEGIN { printf "%.2f", u / 1000 }') ms"
echo "ratio:           $(awk -v a="$fm" -v b="$gm" 'BEGIN { printf "%.1f", a / b }')x faster than file"
