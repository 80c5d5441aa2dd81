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
