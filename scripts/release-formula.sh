#!/usr/bin/env bash
# release-formula.sh — fill packaging/gohang.rb.in from the archives of a release.
#
#   scripts/release-formula.sh VERSION URL_BASE HOMEPAGE DIR > gohang.rb
#
# DIR holds the four archives the release workflow builds
# (gohang-VERSION-{darwin-arm64,darwin-x86_64,linux-x86_64,linux-aarch64}.tar.gz).
set -euo pipefail
[[ $# -eq 4 ]] || { echo "usage: $0 VERSION URL_BASE HOMEPAGE DIR" >&2; exit 64; }
version=$1 base=$2 home=$3 dir=$4
sum() { sha256sum "$dir/gohang-$version-$1.tar.gz" | cut -d' ' -f1; }
sed -e "s|@VERSION@|$version|g" -e "s|@URL_BASE@|$base|g" -e "s|@HOMEPAGE@|$home|g" \
    -e "s|@SHA256_DARWIN_ARM64@|$(sum darwin-arm64)|" -e "s|@SHA256_DARWIN_X86_64@|$(sum darwin-x86_64)|" \
    -e "s|@SHA256_LINUX_X86_64@|$(sum linux-x86_64)|" -e "s|@SHA256_LINUX_AARCH64@|$(sum linux-aarch64)|" \
    "$(dirname "$0")/../packaging/gohang.rb.in"
