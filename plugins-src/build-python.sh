#!/usr/bin/env bash
# Builds the Python plugins (plugins-src/<name>-py/app.py) with componentize-py into
# plugins-dist/<name>.wasm. Called by `make plugins-python` with VENV=<venv holding
# componentize-py>.
#
# * `--stub-wasi`: the component imports no WASI at all (the host refuses wasi:filesystem and
#   wasi:sockets imports), only panther:plugin/host.
# * componentize-py output is not reproducible (three builds, three digests), so these files
#   are gitignored and rebuilt here; a stamp holding the sha256 of every input (sources, WIT,
#   componentize-py version) makes a rebuild with unchanged inputs a no-op.
# * plugins.lock is rewritten by `plugins-src/build-rust.sh` / `panther-host plugins lock`,
#   not here: a non-reproducible file cannot be pinned in a committed lock.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
dist="$root/plugins-dist"
wit="$root/wit/since_v0.1.0"
venv="${VENV:?VENV must name the venv that holds componentize-py (make plugins-python sets it)}"
cpy="$venv/bin/componentize-py"
stamps="${PANTHER_CACHE:-$HOME/.cache/panther-host}/stamps"

if [ ! -x "$cpy" ]; then
  echo "error: $cpy not found; run \`make setup-python\` first" >&2
  exit 2
fi
mkdir -p "$dist" "$stamps"
cpy_version="$("$cpy" --version)"

for src in "$here"/*-py; do
  [ -f "$src/app.py" ] || continue
  name="$(basename "$src")"
  name="${name%-py}"
  out="$dist/$name.wasm"
  stamp="$stamps/python-plugin-$name"
  inputs="$( { echo "$cpy_version"; cd "$src" && find . -name '*.py' -not -path './__pycache__/*' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum; cd "$wit" && LC_ALL=C ls *.wit | xargs sha256sum; } | sha256sum | cut -d' ' -f1)"
  if [ -f "$out" ] && [ "$(cat "$stamp" 2>/dev/null)" = "$inputs $(sha256sum "$out" | cut -d' ' -f1)" ]; then
    echo "    $name.wasm is up to date (inputs ${inputs:0:12})"
    continue
  fi
  echo "    componentize-py: $src/app.py -> plugins-dist/$name.wasm"
  start=$(date +%s%N)
  tmp="$(mktemp -d)"
  trap 'rm -rf "$tmp"' EXIT
  "$cpy" -d "$wit" -w service-plugin componentize --stub-wasi -p "$src" app -o "$tmp/$name.wasm"
  mv "$tmp/$name.wasm" "$out"
  echo "$inputs $(sha256sum "$out" | cut -d' ' -f1)" > "$stamp"
  ms=$(( ($(date +%s%N) - start) / 1000000 ))
  echo "    built $name.wasm ($(stat -c %s "$out") bytes) in $((ms / 1000)).$(printf '%03d' $((ms % 1000))) s"
done
