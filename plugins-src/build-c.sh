#!/usr/bin/env bash
# Builds the C plugins (plugins-src/c/<name>/plugin.c) into plugins-dist/<name>.wasm:
# wit-bindgen's C generator writes the contract's bindings, clang compiles them with the plugin
# into a WASI reactor core module, and `panther-host plugin build` makes that a component (the
# same path `plugin new --lang c` gives third parties).
#
# Environment: WIT_BINDGEN (wit-bindgen 0.63, `make setup-wit-bindgen`), PANTHER_HOST (a built
# panther-host). The output is bit-identical for the same sources and toolchain, so the
# component is committed and pinned in plugins.lock like the Rust ones; check-lock.sh rebuilds
# it and compares. With `--check`, nothing in plugins-dist/ is written: each fresh build is
# compared with the committed component instead.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
wit="$root/wit/since_v0.1.0"
wit_bindgen="${WIT_BINDGEN:?WIT_BINDGEN must name wit-bindgen 0.63 (make setup-wit-bindgen builds it)}"
panther_host="${PANTHER_HOST:?PANTHER_HOST must name a built panther-host}"
. "$here/common.sh"
check=false
[ "${1:-}" = "--check" ] && check=true

stale=()
for src in "$here"/c/*/; do
  src="${src%/}"
  [ -f "$src/panther-plugin.toml" ] || continue
  name="$(basename "$src")"
  rm -rf "$src/build"
  mkdir -p "$src/build/gen"
  "$wit_bindgen" c "$wit" --world service-plugin --out-dir "$src/build/gen" >/dev/null 2>&1
  (cd "$src" && clang --target=wasm32-wasi -mexec-model=reactor -O2 -Wall -Werror -Wno-unused-function -I"$here/c" -Ibuild/gen -Wl,--strip-all \
    -o "build/$name.core.wasm" plugin.c build/gen/service_plugin.c build/gen/service_plugin_component_type.o)
  "$panther_host" -q plugin build "$src" >/dev/null
  deliver "$root" "$name" "$src/$name.wasm" "plugins-src/c/$name" build-c
done
finish "$here" plugins-c
