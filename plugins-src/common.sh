# Shell functions the plugin build and check scripts share; sourced, not run.

# The package name of a Rust plugin member, from the first `name = "..."` of its [package]
# table: the plugin's name (`describe().name`, dashes allowed).
package_name() {
  awk '/^\[package\]/{p=1; next} /^\[/{p=0} p && $1=="name" {gsub(/"/,"",$3); print $3; exit}' "$1/Cargo.toml"
}

# committed_differs ROOT NAME BUILT SOURCE: when plugins-dist/NAME.wasm is committed (HEAD, so
# that a fresh `make plugins` overwriting the working copy does not hide a stale commit) and
# differs from the fresh build BUILT, says so, naming SOURCE, and succeeds; fails otherwise
# (equal, or not committed: new components are not checked yet).
committed_differs() {
  local root="$1" name="$2" built="$3" source="$4" rel want have
  rel="plugins-dist/$name.wasm"
  git -C "$root" ls-files --error-unmatch "$rel" >/dev/null 2>&1 || return 1
  want="$(sha256sum "$built" | cut -d' ' -f1)"
  have="$(git -C "$root" show "HEAD:$rel" | sha256sum | cut -d' ' -f1)"
  [ "$want" != "$have" ] || return 1
  echo "check-lock: component \`$name\` is stale: committed $rel has sha256 $have, but $source builds to $want" >&2
}

# deliver ROOT NAME BUILT SOURCE TOOL: the end of a committed-kind build (C, Go). With
# `check=true` (the caller's `--check`), compares BUILT with the committed
# plugins-dist/NAME.wasm and adds NAME to the caller's `stale` array when it differs;
# otherwise copies BUILT there and says so, as TOOL.
deliver() {
  local root="$1" name="$2" built="$3" source="$4" tool="$5"
  if $check; then
    if committed_differs "$root" "$name" "$built" "$source"; then
      stale+=("$name")
    fi
  else
    cp "$built" "$root/plugins-dist/$name.wasm"
    echo "$tool: $name.wasm ($(stat -c %s "$root/plugins-dist/$name.wasm") bytes)"
  fi
}

# finish HERE TARGET: fails, naming the make target that rebuilds them, when `stale` is not
# empty; otherwise rewrites plugins.lock unless only checking.
finish() {
  local here="$1" target="$2"
  if [ ${#stale[@]} -gt 0 ]; then
    echo "check-lock: rebuild with \`make $target\` and commit plugins-dist/" >&2
    exit 1
  fi
  $check || "$here/write-lock.sh"
}
