#!/usr/bin/env bash
# Builds every Rust plugin (each member of plugins-src/plugins/*) for wasm32-wasip2, copies
# each component to plugins-dist/<plugin-name>.wasm and regenerates plugins-dist/plugins.lock.
#
# Conventions this script relies on:
# * a plugin's cargo package name is its plugin name (`describe().name`, dashes allowed);
#   cargo writes it as <name with dashes turned into underscores>.wasm;
# * the release profile of plugins-src/Cargo.toml makes builds bit-identical (strip, one
#   codegen unit), so a committed component can be checked against its source (check-lock.sh);
# * plugins.lock has the format `host/src/plugin/lock.rs` reads for `--locked`:
#     version = 1
#     [[component]]  file = "x.wasm"  sha256 = "<hex>"  name = "x"
#   one entry per Rust component, sorted by file. Python components are not pinned here:
#   componentize-py output differs on every build, so a committed pin could never hold; a
#   hardened CI running with --locked therefore refuses them (see SECURITY.md).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
dist="$root/plugins-dist"
target="${CARGO_TARGET_DIR:-$here/target}/wasm32-wasip2/release"

# The package name of a member, from the first `name = "..."` of its [package] table.
package_name() {
  awk '/^\[package\]/{p=1; next} /^\[/{p=0} p && $1=="name" {gsub(/"/,"",$3); print $3; exit}' "$1/Cargo.toml"
}

# plugins.lock for the components named by $2.. in $1, sorted by file name (byte order).
write_lock() {
  local dir="$1" f
  shift
  {
    echo "# plugins.lock — written by \`panther-host plugins lock\`; review changes like code."
    echo "version = 1"
    for f in $(printf '%s.wasm\n' "$@" | LC_ALL=C sort); do
      echo
      echo "[[component]]"
      echo "file = \"$f\""
      echo "sha256 = \"$(sha256sum "$dir/$f" | cut -d' ' -f1)\""
      echo "name = \"${f%.wasm}\""
    done
  } > "$dir/plugins.lock.tmp"
  mv "$dir/plugins.lock.tmp" "$dir/plugins.lock"
}

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

write_lock "$dist" "${names[@]}"
echo "build-rust: ${#members[@]} Rust plugins in plugins-dist/, plugins.lock updated"
