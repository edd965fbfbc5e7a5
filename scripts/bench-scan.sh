#!/usr/bin/env bash
# bench-scan.sh — `gohang scan GOROOT` against `file` over the same bin/ + pkg/tool/*/ files.
#
#   scripts/bench-scan.sh [GOROOT] [RUNS]
#
# Runs the two commands alternately, RUNS times each (default 50), after one warm-up run
# of each (page cache), timing every run with bash's $EPOCHREALTIME (no extra process per
# measurement), and prints the median, the 10th and 90th percentiles, and the ratio of the
# medians. In the same rounds it times `gohang --version`: starting gohang without any
# work, the floor under every gohang command. It prints the load average before and after
# (the machine may be shared). Uses target/release/gohang, built if missing. Results go in
# docs/PERFORMANCE.md.
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

# The P-th percentile (nearest rank) of the numbers on stdin.
pct() { sort -n | awk -v p="$1" '{ v[NR] = $1 } END { r = int(p / 100 * NR + 0.999999); if (r < 1) r = 1; print v[r] }'; }

ms() { awk -v u="$1" 'BEGIN { printf "%.2f", u / 1000 }'; }

# One line: median and p10–p90 of the microsecond timings given as arguments.
summary() {
  local m lo hi
  m=$(printf '%s\n' "$@" | median)
  lo=$(printf '%s\n' "$@" | pct 10)
  hi=$(printf '%s\n' "$@" | pct 90)
  echo "median $(ms "$m") ms (p10 $(ms "$lo"), p90 $(ms "$hi"))"
}

echo "load average:    $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || uptime) (before)"
"$gohang" scan "$goroot" >/dev/null || true
file "${files[@]}" >/dev/null
"$gohang" --version >/dev/null
g=() f=() s=()
for ((i = 0; i < runs; i++)); do
  t0=$(now_us); "$gohang" scan "$goroot" >/dev/null || true; t1=$(now_us)
  file "${files[@]}" >/dev/null; t2=$(now_us)
  "$gohang" --version >/dev/null; t3=$(now_us)
  g+=($((t1 - t0))) f+=($((t2 - t1))) s+=($((t3 - t2)))
done
gm=$(printf '%s\n' "${g[@]}" | median)
fm=$(printf '%s\n' "${f[@]}" | median)
echo "load average:    $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || uptime) (after)"
echo "files:           ${#files[@]} (bin/ and pkg/tool/*/ of $goroot)"
echo "runs:            $runs each, alternating"
echo "gohang scan:     $(summary "${g[@]}")"
echo "file:            $(summary "${f[@]}")"
echo "gohang --version $(summary "${s[@]}")"
echo "ratio:           $(awk -v a="$fm" -v b="$gm" 'BEGIN { printf "%.1f", a / b }')x faster than file (medians)"
