#!/usr/bin/env bash
# Builds every Rust plugin (each member of plugins-src/plugins/*) for wasm32-wasip2, copies
# each component to plugins-dist/<plugin-name>.wasm and regenerates plugins-dist/plugins.lock.
#
# Conventions this script relies on:
# * a plugin's cargo package name is its plugin name (`describe().name`, dashes allowed);
#   cargo writes it as <name with dashes turned into underscores>.wasm;
# * the release profile of plugins-src/Cargo.toml makes builds bit-identical (strip, one
#   codegen unit), so a committed component can be checked against its source (check-lock.sh);
# * plugins.lock is written by write-lock.sh (Rust and C components; Python ones are never
#   pinned, see there).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
dist="$root/plugins-dist"
target="${CARGO_TARGET_DIR:-$here/target}/wasm32-wasip2/release"

. "$here/common.sh"

members=()
for dir in "$here"/plugins/*/; do
  dir="${dir%/}"
  [ -f "$dir/Cargo.toml" ] || { echo "build-rust: skipping $dir (no Cargo.toml)" >&2; continue; }
  members+=("$dir")
done

(cd "$here" && cargo build --quiet --release --target wasm32-wasip2 --workspace)

mkdir -p "$dist"
names=()
for dir in "${members[@]}"; do
  name="$(package_name "$dir")"
  names+=("$name")
  [ -n "$name" ] || { echo "build-rust: no package name in $dir/Cargo.toml" >&2; exit 1; }
  built="$target/${name//-/_}.wasm"
  [ -f "$built" ] || { echo "build-rust: $name built no component at $built (is it a cdylib?)" >&2; exit 1; }
  cp "$built" "$dist/$name.wasm"
done

"$here/write-lock.sh"
echo "build-rust: ${#members[@]} Rust plugins in plugins-dist/, plugins.lock updated"
