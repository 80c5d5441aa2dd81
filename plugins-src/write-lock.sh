#!/usr/bin/env bash
# Writes plugins-dist/plugins.lock for every committed-kind component: the Rust plugins
# (plugins-src/plugins/*), the C plugins (plugins-src/c/*) and the Go plugins (plugins-src/go/*)
# found in plugins-dist/, sorted by file name (byte order). Called by build-rust.sh, build-c.sh
# and build-go.sh. The format is the one
# `host/src/plugin/lock.rs` reads for `--locked`:
#     version = 1
#     [[component]]  file = "x.wasm"  sha256 = "<hex>"  name = "x"
# Python components are not pinned: componentize-py output differs on every build, so a
# committed pin could never hold; `--locked` therefore refuses them (see SECURITY.md).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
dist="$(dirname "$here")/plugins-dist"

. "$here/common.sh"

names=()
for dir in "$here"/plugins/*/; do
  [ -f "$dir/Cargo.toml" ] && names+=("$(package_name "${dir%/}")")
done
for dir in "$here"/c/*/ "$here"/go/*/; do
  [ -f "$dir/panther-plugin.toml" ] && names+=("$(basename "$dir")")
done

{
  echo "# plugins.lock — written by plugins-src/write-lock.sh (\`make plugins\`); review changes like code."
  echo "version = 1"
  for f in $(printf '%s.wasm\n' "${names[@]}" | LC_ALL=C sort); do
    [ -f "$dist/$f" ] || continue
    echo
    echo "[[component]]"
    echo "file = \"$f\""
    echo "sha256 = \"$(sha256sum "$dist/$f" | cut -d' ' -f1)\""
    echo "name = \"${f%.wasm}\""
  done
} > "$dist/plugins.lock.tmp"
mv "$dist/plugins.lock.tmp" "$dist/plugins.lock"
