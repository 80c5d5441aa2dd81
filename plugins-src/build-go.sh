#!/usr/bin/env bash
# Builds the Go plugins (plugins-src/go/<name>/plugin.go) into plugins-dist/<name>.wasm:
# wit-bindgen's Go generator writes the contract's bindings, plugin.go and the shared helpers
# (go/panther) go next to them, Go compiles a wasip1 reactor core module, and
# `panther-host plugin build` makes that a component with its no-capability preview 1 adapter
# (the same path `plugin new --lang go` gives third parties).
#
# Environment: WIT_BINDGEN (wit-bindgen 0.63 with its Go generator) and WIT_BINDGEN_GO_PKG (the
# Go source of go.bytecodealliance.org/pkg), both from `make setup-wit-bindgen`; PANTHER_GO
# (Go 1.27, `make setup-go`); PANTHER_HOST (a built panther-host). Go builds with -trimpath
# are bit-identical for the same sources and toolchain, so the component is committed and
# pinned in plugins.lock like the Rust and C ones; with `--check`, nothing in plugins-dist/ is
# written: each fresh build is compared with the committed component instead.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
wit="$root/wit/since_v0.2.0"
wit_bindgen="${WIT_BINDGEN:?WIT_BINDGEN must name wit-bindgen 0.63 (make setup-wit-bindgen builds it)}"
go_pkg="${WIT_BINDGEN_GO_PKG:?WIT_BINDGEN_GO_PKG must name the Go source of go.bytecodealliance.org/pkg (make setup-wit-bindgen copies it)}"
go="${PANTHER_GO:?PANTHER_GO must name Go 1.27 (make setup-go installs it)}"
panther_host="${PANTHER_HOST:?PANTHER_HOST must name a built panther-host}"
. "$here/common.sh"
check=false
[ "${1:-}" = "--check" ] && check=true

stale=()
for src in "$here"/go/*/; do
  src="${src%/}"
  [ -f "$src/panther-plugin.toml" ] || continue
  name="$(basename "$src")"
  gen="$src/build/gen"
  rm -rf "$src/build"
  mkdir -p "$gen"
  "$wit_bindgen" go "$wit" --world service-plugin --out-dir "$gen" >/dev/null 2>&1
  mkdir -p "$gen/export_panther_plugin_service" "$gen/panther"
  cp "$src/plugin.go" "$gen/export_panther_plugin_service/plugin.go"
  cp "$here/go/panther/panther.go" "$gen/panther/panther.go"
  # A copy at a fixed relative path: Go records a replacement's directory in the binary.
  cp -r "$go_pkg" "$gen/go-pkg"
  (cd "$gen" && "$go" mod edit -replace "go.bytecodealliance.org/pkg=./go-pkg" \
    && GOOS=wasip1 GOARCH=wasm GOTOOLCHAIN=local GOPROXY=off GOFLAGS=-mod=mod \
      "$go" build -buildmode=c-shared -trimpath -buildvcs=false -ldflags="-s -checklinkname=0" -o "../$name.core.wasm" .)
  "$panther_host" -q plugin build "$src" >/dev/null
  deliver "$root" "$name" "$src/$name.wasm" "plugins-src/go/$name" build-go
done
finish "$here" plugins-go
