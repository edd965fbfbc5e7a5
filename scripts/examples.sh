#!/usr/bin/env bash
# examples.sh — regenerate examples/: real gohang reports (human text and JSON) of real
# stuck processes on this Linux machine, so the examples in the docs stay current.
#
#   scripts/examples.sh            # needs go (scripts/setup.sh), python3, flock; root for some
#
# Every scenario is started here, on 127.0.0.1 only, and cleaned up (gohang kills what it
# probes; helpers started here are killed by pid). Pids, the kernel and system paths in the
# output are what they were on the machine that ran it; the scenarios' scratch directory
# becomes `<work>` and the home directory `~`, so the examples name no machine's layout.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
GOHANG="$PWD/target/release/gohang"
OUT="$PWD/examples"
WORK=$(mktemp -d)
HELPERS=()
cleanup() {
  for p in "${HELPERS[@]}"; do kill "$p" 2>/dev/null || true; done
  chmod -R u+w "$WORK" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
mkdir -p "$OUT"

# Run one scenario: NAME, then the probe arguments. Writes NAME.txt and NAME.json.
example() {
  local name=$1; shift
  echo "examples: $name" >&2
  "$GOHANG" --color never probe --no-goroutines "$@" > "$OUT/$name.txt" 2>/dev/null || true
  "$GOHANG" probe --json "$@" > "$OUT/$name.json" 2>/dev/null || true
}

# A TCP server on 127.0.0.1 that accepts and never answers; it stops by itself.
silent_server() {
  python3 - "$1" <<'PY' &
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(16); s.settimeout(0.5)
held, end = [], time.time() + 300
while time.time() < end:
    try: held.append(s.accept()[0])
    except socket.timeout: pass
PY
  HELPERS+=($!)
  # Wait until it listens: a probe started before that sees "connection refused", and a
  # go that fails at once is healthy, not a network wait.
  for _ in $(seq 100); do
    python3 -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1])), 1).close()' "$1" 2>/dev/null && return
    sleep 0.1
  done
  echo "examples: the silent server on port $1 did not start" >&2; exit 1
}

# gohang check of this machine's toolchain, before this script changes the environment.
"$GOHANG" --color never check > "$OUT/check.txt" 2>/dev/null || true
"$GOHANG" check --json > "$OUT/check.json" 2>/dev/null || true

export GOTOOLCHAIN=local GOFLAGS=-mod=mod GOSUMDB=off
mkmod() { # DIR GO-LINE [REQUIRE]
  mkdir -p "$1"
  printf 'module example.com/app\n\ngo %s\n' "$2" > "$1/go.mod"
  [[ -n ${3:-} ]] && printf '\nrequire %s\n' "$3" >> "$1/go.mod"
  printf 'package main\n\nfunc main() {}\n' > "$1/main.go"
}

# Healthy.
example healthy-go-version --timeout 30s -- go version

# SIGSTOPped go: a go run whose go is stopped once it runs the program. OUTPUT FILE, then
# gohang's arguments up to the probe's own.
stopped_go() {
  local out=$1; shift
  echo "examples: ${out##*/}" >&2
  ( cd "$WORK/stop" && exec "$GOHANG" "$@" --timeout 8s -- go run main.go > "$out" 2>/dev/null ) &
  local gohang_pid=$! go_pid=
  # The subshell execs gohang; go is gohang's child, the program go's.
  for _ in $(seq 100); do
    sleep 0.1
    go_pid=$(pgrep -P "$gohang_pid" -x go || true)
    [[ -n $go_pid ]] && pgrep -P "$go_pid" >/dev/null && break
  done
  [[ -n $go_pid ]] && kill -STOP "$go_pid"
  wait "$gohang_pid" || true
}
mkdir -p "$WORK/stop" && printf 'package main\nimport "time"\nfunc main() { time.Sleep(time.Hour) }\n' > "$WORK/stop/main.go"
stopped_go "$OUT/stopped-go.txt" --color never probe --no-goroutines
stopped_go "$OUT/stopped-go.json" probe --json

# A module proxy that never answers.
PORT=$((40000 + RANDOM % 20000))
silent_server "$PORT"
mkmod "$WORK/net" 1.21 "example.com/dep v1.0.0"
( cd "$WORK/net" && GOMODCACHE="$WORK/net/mc" GOPROXY="http://127.0.0.1:$PORT" example network-wait-goproxy --timeout 3s -- go mod download )

# A go.mod asking for a newer Go, GOTOOLCHAIN=auto, the same proxy.
mkmod "$WORK/tc" 1.99
( cd "$WORK/tc" && GOMODCACHE="$WORK/tc/mc" GOPROXY="http://127.0.0.1:$PORT" GOTOOLCHAIN=auto example toolchain-download --timeout 3s -- go build )

# The module cache lock held by another process.
mkmod "$WORK/lock" 1.21 "example.com/dep v1.0.0"
v="$WORK/lock/mc/cache/download/example.com/dep/@v"; mkdir -p "$v"
printf 'module example.com/dep\n' > "$v/v1.0.0.mod"; printf '{"Version":"v1.0.0"}' > "$v/v1.0.0.info"
flock "$v/v1.0.0.lock" sleep 120 & HELPERS+=($!); sleep 0.3
( cd "$WORK/lock" && GOMODCACHE="$WORK/lock/mc" GOPROXY=off example lock-wait-module-cache --timeout 3s -- go mod download )

# A cgo build whose C compiler never returns.
mkmod "$WORK/cc" 1.21
printf 'package main\n\n// int add(int a, int b) { return a + b; }\nimport "C"\n\nfunc main() { println(C.add(1, 2)) }\n' > "$WORK/cc/main.go"
printf '#!/bin/sh\nsleep 3600\n' > "$WORK/cc/slowcc"; chmod +x "$WORK/cc/slowcc"
( cd "$WORK/cc" && go build -o /dev/null . && CGO_ENABLED=1 CC="$WORK/cc/slowcc" example child-wait-cc --timeout 5s -- go build -o /dev/null . )

# An aarch64 Go program under qemu-user (when binfmt_misc has qemu-aarch64).
if [[ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]]; then
  ( cd "$WORK/stop" && GOARCH=arm64 go build -o sleeper-arm64 main.go )
  example translated-qemu-aarch64 --timeout 3s -- "$WORK/stop/sleeper-arm64"
fi

# A spinning Go program.
mkdir -p "$WORK/spin" && printf 'package main\nvar x uint64\nfunc main() { for { x++ } }\n' > "$WORK/spin/main.go"
( cd "$WORK/spin" && go build -o spin main.go )
example spinning-go-program --timeout 1s -- "$WORK/spin/spin"

# go's output into a pipe whose reader never reads (a log shipper that hung).
example output-blocked-go-list --timeout 5s -- sh -c 'go list -json std | sleep 300'

# This run's scratch directory and home directory become placeholders (see the top).
for f in "$OUT"/*.txt "$OUT"/*.json; do
  sed -i -e "s#$WORK#<work>#g" "$f"
  if [[ ${HOME:-/} != / ]]; then sed -i -e "s#$HOME#~#g" "$f"; fi
done
echo "examples: written to examples/" >&2
