#!/usr/bin/env bash
# darwin-check.sh — type-check gohang for both Apple targets (aarch64-apple-darwin and
# x86_64-apple-darwin) on a machine that is not a Mac.
#
# Why: the macOS backend (src/observe/macos, the cfg(target_os = "macos") parts of
# src/toolchain and src/trace) is not compiled by a Linux `cargo check`. Apple ships no
# linker or SDK for Linux, but type-checking needs neither: a nightly cargo can build the
# standard library for an Apple target from its source (`-Zbuild-std`) and stop after
# `check`. Const items are evaluated by `check`, so the layout assertions of every
# hand-declared Apple struct (`const _: () = assert!(…)`) are verified here too.
#
# What it needs, and installs with rustup when missing:
#   * a nightly toolchain (GOHANG_DARWIN_TOOLCHAIN, default `nightly`) — -Zbuild-std is
#     nightly-only;
#   * that toolchain's `rust-src` component (the library sources with their Cargo.lock);
#   * network access for cargo to fetch the standard library's own dependencies once.
# Nothing is installed by any other means, and nothing outside the repository is read.
#
# usage: scripts/darwin-check.sh [extra `cargo check` arguments, e.g. --all-targets]
# env:   GOHANG_DARWIN_TOOLCHAIN  rustup toolchain (default: nightly)
#        GOHANG_DARWIN_TARGETS    targets (default: "aarch64-apple-darwin x86_64-apple-darwin")
#        GOHANG_DARWIN_NO_INSTALL=1  never run rustup to install what is missing
#        CARGO_TARGET_DIR         default: target/darwin-check (kept apart from the host build)
# exit:  0 every target type-checks
#        1 gohang does not type-check for a target (the compiler's errors are above)
#        3 a prerequisite is missing (toolchain, rust-src, network): NOTHING was checked
set -euo pipefail
cd "$(dirname "$0")/.."

TOOLCHAIN="${GOHANG_DARWIN_TOOLCHAIN:-nightly}"
TARGETS="${GOHANG_DARWIN_TARGETS:-aarch64-apple-darwin x86_64-apple-darwin}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target/darwin-check}"

missing() {
  echo "darwin-check: cannot type-check for Apple targets: $*" >&2
  exit 3
}

if [[ $(uname -s) == Darwin ]]; then
  # On a Mac the targets' std ships with rustup; no build-std is needed.
  for t in $TARGETS; do
    rustup target list --installed 2>/dev/null | grep -qx "$t" || rustup target add "$t" >&2 \
      || missing "rustup target add $t failed"
  done
  BUILD_STD=()
  RUN=(cargo)
else
  command -v rustup >/dev/null || missing "rustup is not installed (https://rustup.rs), and -Zbuild-std needs a rustup nightly"
  if ! rustup run "$TOOLCHAIN" rustc --version >/dev/null 2>&1; then
    [[ "${GOHANG_DARWIN_NO_INSTALL:-0}" == 1 ]] && missing "toolchain $TOOLCHAIN is not installed (rustup toolchain install $TOOLCHAIN --profile minimal --component rust-src)"
    echo "darwin-check: installing toolchain $TOOLCHAIN (minimal, with rust-src)" >&2
    rustup toolchain install "$TOOLCHAIN" --profile minimal --component rust-src >&2 \
      || missing "rustup could not install toolchain $TOOLCHAIN"
  fi
  SYSROOT="$(rustup run "$TOOLCHAIN" rustc --print sysroot)"
  if [[ ! -f "$SYSROOT/lib/rustlib/src/rust/library/Cargo.lock" ]]; then
    [[ "${GOHANG_DARWIN_NO_INSTALL:-0}" == 1 ]] && missing "toolchain $TOOLCHAIN has no rust-src (rustup component add rust-src --toolchain $TOOLCHAIN)"
    echo "darwin-check: adding rust-src to $TOOLCHAIN" >&2
    rustup component add rust-src --toolchain "$TOOLCHAIN" >&2 \
      || missing "rustup could not add rust-src to $TOOLCHAIN"
    [[ -f "$SYSROOT/lib/rustlib/src/rust/library/Cargo.lock" ]] \
      || missing "rust-src of $TOOLCHAIN has no library/Cargo.lock"
  fi
  # The test harness crate is needed as soon as test targets are checked.
  std_crates="std,panic_abort"
  case " $* " in
    *" --all-targets "* | *" --tests "* | *" --test "* | *" --benches "* | *" --bench "*)
      std_crates="$std_crates,test" ;;
  esac
  BUILD_STD=("-Zbuild-std=$std_crates")
  RUN=(rustup run "$TOOLCHAIN" cargo)
fi

# Fetch first (gohang's dependencies and, off a Mac, the standard library's own), so that
# a network failure is told apart from a type error.
for t in $TARGETS; do
  "${RUN[@]}" fetch --locked --target "$t" >/dev/null 2>&1 \
    || missing "cargo could not fetch gohang's dependencies for $t (offline?)"
done
if [[ -n "${SYSROOT:-}" ]]; then
  "${RUN[@]}" fetch --locked --manifest-path "$SYSROOT/lib/rustlib/src/rust/library/Cargo.toml" \
    >/dev/null 2>&1 || missing "cargo could not fetch the standard library's dependencies (offline?)"
fi

failed=0
summary=""
log=$(mktemp)
trap 'rm -f "$log"' EXIT
for t in $TARGETS; do
  echo "== darwin-check: cargo check --target $t $*" >&2
  start=$(date +%s)
  # (the ${a[@]+…} form: bash 3.2, macOS's own, rejects an empty array under set -u)
  # A warning in gohang's own code fails too: clippy -D warnings fails on it on a Mac.
  if "${RUN[@]}" check --locked ${BUILD_STD[@]+"${BUILD_STD[@]}"} --target "$t" "$@" 2>&1 \
      | tee "$log" >&2 && ! grep -q '^warning: `gohang`' "$log"; then
    summary+="  $t: ok ($(($(date +%s) - start)) s)"$'\n'
  elif grep -q '^warning: `gohang`' "$log"; then
    failed=1
    summary+="  $t: FAILED: warnings in gohang's code ($(($(date +%s) - start)) s)"$'\n'
  else
    failed=1
    summary+="  $t: FAILED ($(($(date +%s) - start)) s)"$'\n'
  fi
done
printf 'darwin-check summary:\n%s' "$summary" >&2
exit "$failed"
