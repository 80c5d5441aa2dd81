//! Path confinement: whether a path stays inside a set of directories once `..` and symlinks
//! are resolved. One implementation for the three places that ask: the policy (paths in a
//! plan, judged before anything runs), the local executor (files it writes and working
//! directories, judged again when they exist) and the Docker executor (host directories it
//! bind-mounts). They must agree, or a path one accepts could escape through another.

use std::path::{Component, Path, PathBuf};

/// Directories paths must stay inside.
#[derive(Debug, Clone)]
pub struct Confinement {
    /// Resolved, so a root reached through a symlink (`/tmp` → `/private/tmp`) still matches.
    roots: Vec<PathBuf>,
}

/// Why a path is not confined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Escape {
    /// It names `..`: no plan needs it (every directory has a placeholder), and refusing it
    /// outright keeps the answer independent of what exists on disk.
    ParentDir,
    /// It resolves (symlinks followed) to a place under none of the roots.
    Outside { resolved: PathBuf },
}

impl std::fmt::Display for Escape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Escape::ParentDir => write!(f, "contains `..`"),
            Escape::Outside { resolved } => write!(f, "resolves to {}", resolved.display()),
        }
    }
}

impl Confinement {
    /// Confinement to `roots`; empty roots are ignored.
    pub fn new<P: AsRef<Path>>(roots: impl IntoIterator<Item = P>) -> Self {
        let roots =
            roots.into_iter().filter(|r| !r.as_ref().as_os_str().is_empty()).map(|r| resolve(r.as_ref())).collect();
        Confinement { roots }
    }

    /// The roots, resolved, for messages.
    pub fn roots(&self) -> &[PathBuf] {
        &self.roots
    }

    /// The roots as one readable list.
    pub fn describe(&self) -> String {
        self.roots.iter().map(|r| r.display().to_string()).collect::<Vec<_>>().join(", ")
    }

    /// Checks `path` (absolute, or relative to `base`) and returns it made absolute (not
    /// resolved: the caller uses the path it was given, which is checked to lead inside).
    ///
    /// # Errors
    /// [`Escape`] saying why it leads outside.
    pub fn check(&self, path: &Path, base: &Path) -> Result<PathBuf, Escape> {
        if path.components().any(|c| matches!(c, Component::ParentDir)) {
            return Err(Escape::ParentDir);
        }
        let abs = if path.is_absolute() { path.to_path_buf() } else { base.join(path) };
        let resolved = resolve(&abs);
        if self.roots.iter().any(|r| resolved.starts_with(r)) {
            Ok(abs)
        } else {
            Err(Escape::Outside { resolved })
        }
    }
}

/// Lexically normalises an absolute or relative path: drops `.`, resolves `..` against what
/// precedes it. Returns `None` when `..` climbs above the start of the path.
pub fn lexical(p: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
                if out.as_os_str().is_empty() && p.is_absolute() {
                    return None;
                }
            }
            Component::CurDir => {}
            other => out.push(other.as_os_str()),
        }
    }
    Some(out)
}

/// Resolves symlinks as far as the path exists: the longest existing ancestor is
/// canonicalised and the rest appended. Paths that do not exist on the host (a container
/// path) come back lexically normalised.
pub fn resolve(p: &Path) -> PathBuf {
    let Some(norm) = lexical(p) else { return p.to_path_buf() };
    let mut existing = norm.clone();
    let mut rest = vec![];
    loop {
        if let Ok(c) = std::fs::canonicalize(&existing) {
            let mut out = c;
            for r in rest.iter().rev() {
                out.push(r);
            }
            return out;
        }
        match (existing.file_name().map(|f| f.to_os_string()), existing.parent()) {
            (Some(f), Some(parent)) => {
                rest.push(f);
                existing = parent.to_path_buf();
            }
            _ => return norm,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Symlinks are followed, `..` is refused wherever it points, relative paths are taken
    // from the base, paths that do not exist yet are judged by their existing ancestor.
    #[test]
    fn symlinks_parent_dirs_and_missing_paths() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("run");
        std::fs::create_dir_all(root.join("t/server/work")).unwrap();
        std::os::unix::fs::symlink("/", root.join("t/server/logs")).unwrap();
        std::os::unix::fs::symlink(root.join("t/server/work"), root.join("t/alias")).unwrap();
        let c = Confinement::new([&root]);
        let work = root.join("t/server/work");

        assert_eq!(c.check(&work, &work), Ok(work.clone()));
        assert_eq!(c.check(Path::new("out/new.txt"), &work), Ok(work.join("out/new.txt")));
        assert!(c.check(&root.join("t/alias/x"), &work).is_ok(), "a symlink that stays inside");
        assert_eq!(
            c.check(&root.join("t/server/logs/etc"), &work),
            Err(Escape::Outside { resolved: PathBuf::from("/etc") })
        );
        assert_eq!(c.check(Path::new("../work/x"), &work), Err(Escape::ParentDir));
        assert_eq!(c.check(&root.join("t/../t/server/work"), &work), Err(Escape::ParentDir));
        assert!(matches!(c.check(Path::new("/etc/passwd"), &work), Err(Escape::Outside { .. })));
    }

    #[test]
    fn roots_are_resolved_and_empty_ones_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real");
        std::fs::create_dir_all(&real).unwrap();
        std::os::unix::fs::symlink(&real, dir.path().join("link")).unwrap();
        let c = Confinement::new([dir.path().join("link"), PathBuf::new()]);
        assert_eq!(c.roots().len(), 1);
        assert!(c.check(&real.join("f"), &real).is_ok(), "the root's target is inside");
        assert!(c.check(&dir.path().join("link/f"), &real).is_ok());
        assert!(c.check(&dir.path().join("other"), &real).is_err());
    }
}
