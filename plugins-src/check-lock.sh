#!/usr/bin/env bash
# Fails when a committed Rust component in plugins-dist/ is not what its source builds to, or
# when the committed plugins.lock does not pin the committed components.
#
# Rebuilds the workspace (bit-identical release profile), then compares, for every member of
# plugins-src/plugins/* whose plugins-dist/<name>.wasm is tracked by git, the committed blob
# (HEAD, so that `make plugins` having just overwritten the working copy does not hide a stale
# commit) with the fresh build. Untracked components are new and not checked yet.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
target="${CARGO_TARGET_DIR:-$here/target}/wasm32-wasip2/release"

. "$here/common.sh"

if ! git -C "$root" rev-parse --verify -q HEAD >/dev/null; then
  echo "check-lock: $root is not a git checkout with a commit; nothing committed to check" >&2
  exit 0
fi

(cd "$here" && cargo build --quiet --release --target wasm32-wasip2 --workspace)

stale=()
checked=0
for dir in "$here"/plugins/*/; do
  dir="${dir%/}"
  [ -f "$dir/Cargo.toml" ] || continue
  name="$(package_name "$dir")"
  git -C "$root" ls-files --error-unmatch "plugins-dist/$name.wasm" >/dev/null 2>&1 || continue
  checked=$((checked + 1))
  if committed_differs "$root" "$name" "$target/${name//-/_}.wasm" "plugins-src/plugins/$(basename "$dir")"; then
    stale+=("$name")
  fi
done

# The committed lock must pin exactly the committed components' digests.
if git -C "$root" ls-files --error-unmatch plugins-dist/plugins.lock >/dev/null 2>&1; then
  lock="$(git -C "$root" show HEAD:plugins-dist/plugins.lock)"
  while read -r rel; do
    f="$(basename "$rel")"
    sum="$(git -C "$root" show "HEAD:$rel" | sha256sum | cut -d' ' -f1)"
    if ! grep -A1 -F "file = \"$f\"" <<<"$lock" | grep -q -F "sha256 = \"$sum\""; then
      stale+=("${f%.wasm}")
      echo "check-lock: component \`${f%.wasm}\`: the committed plugins.lock does not pin the committed $rel (sha256 $sum)" >&2
    fi
  done < <(git -C "$root" ls-files 'plugins-dist/*.wasm')
fi

if [ ${#stale[@]} -gt 0 ]; then
  echo "check-lock: ${#stale[@]} problem(s) (${stale[*]}). Fix: run \`make plugins\` and commit plugins-dist/ (the .wasm files and plugins.lock) together with the plugin sources." >&2
  exit 1
fi
echo "check-lock: $checked committed Rust component(s) match their sources"
