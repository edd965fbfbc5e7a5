#!/usr/bin/env bash
# test.sh — install what the tests need (scripts/setup.sh) and run every test.
# CI runs this on a fresh Debian 12 machine as root. Live tests that need root, qemu or
# binfmt_misc refuse to skip when GOHANG_REQUIRE_ALL=1 (set here): a missing piece fails
# the run instead of hiding.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ $(id -u) -eq 0 ]]; then
  scripts/setup.sh
else
  echo "test.sh: not root: skipping scripts/setup.sh (the live tests need its packages)" >&2
fi

export GOHANG_REQUIRE_ALL="${GOHANG_REQUIRE_ALL:-$([[ $(id -u) -eq 0 ]] && echo 1 || echo 0)}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
# tests/rebuild.rs: the tests that run a real make.bash (minutes) run here too.
export GOHANG_SLOW_TESTS="${GOHANG_SLOW_TESTS:-1}"

echo "== cargo fmt --check" >&2
cargo fmt --all -- --check
echo "== cargo clippy" >&2
cargo clippy --all-targets --locked -- -D warnings
# The macOS backend is type-checked for both Apple targets by scripts/darwin-check.sh
# (nightly -Zbuild-std; it installs the nightly toolchain and its rust-src with rustup when
# they are missing). Its exit 3 means a prerequisite is missing and nothing was checked:
# a failure under GOHANG_REQUIRE_ALL=1, a loud warning otherwise.
if [[ $(uname -s) == Darwin ]]; then
  echo "test.sh: on macOS the backend is built and tested natively; darwin-check not needed" >&2
else
  echo "== darwin type-check (aarch64-apple-darwin, x86_64-apple-darwin)" >&2
  rc=0
  scripts/darwin-check.sh --all-targets || rc=$?
  case $rc in
    0) ;;
    3)
      if [[ "$GOHANG_REQUIRE_ALL" == 1 ]]; then
        echo "test.sh: GOHANG_REQUIRE_ALL=1 and darwin-check could not run (see above): the macOS backend was NOT type-checked" >&2
        exit 1
      fi
      echo "!!!!! test.sh: darwin-check could not run here: the macOS backend was NOT type-checked !!!!!" >&2 ;;
    *) echo "test.sh: the macOS backend does not type-check for an Apple target (darwin-check exit $rc)" >&2; exit 1 ;;
  esac
fi
echo "== cargo test" >&2
cargo test --all-targets --locked -- --test-threads="${GOHANG_TEST_THREADS:-4}"
echo "test.sh: all tests passed" >&2
