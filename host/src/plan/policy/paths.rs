//! Paths a plan names on the host (working directories, artifacts, readiness files, files to
//! write) stay inside the service's directories; paths inside an image being built stay
//! absolute and without `..`. Host paths are judged by the same [`Confinement`] the
//! executors apply, so what the policy accepts is what they will allow.
//!
//! [`Confinement`]: crate::plan::confine::Confinement

use std::path::{Component, Path};

use super::checker::{shorten, Checker, MAX_PATH_BYTES};
use super::rules::Rule;

pub const CONFINED_PATHS: Rule = Rule {
    name: "confined-paths",
    docs: "### What it checks\nWorking directories, artifact paths, readiness files and written files stay inside the service's directories (`dirs.*`) or the policy's `extra_paths`: relative paths may not contain `..`, absolute paths must start with one of those roots, and where the path exists on the host it is canonicalised first, so a symlink that points outside is refused too.\n\n### Why\nThe host itself writes plan files and collects artifacts. `files = [(\"/home/me/.bashrc\", ...)]` or an artifact `{{dirs.logs}}/../../.ssh` would make the host read or write outside the run.\n\n### Example\n`cwd = \"{{dirs.work}}/../../etc\"` and `files[0].path = \"/etc/cron.d/x\"` are refused.",
};

impl Checker<'_> {
    pub(super) fn path(&mut self, field: &str, p: &str) {
        self.text(field, p, MAX_PATH_BYTES);
        if p.contains('\0') {
            return;
        }
        let path = Path::new(p);
        // A relative path with no working directory to anchor it is taken from wherever the
        // executor runs the command: its own directories.
        let Some(base) = self.work.as_deref().map(Path::new).or(path.is_absolute().then_some(Path::new("/"))) else {
            return;
        };
        if let Err(why) = self.confinement.check(path, base) {
            self.violate(
                field,
                &CONFINED_PATHS,
                format!("`{}` is outside the service's directories ({}): it {why}", shorten(p), self.roots.join(", ")),
            );
        }
    }

    /// A path inside an image being built: absolute, without `..`.
    pub(super) fn image_path(&mut self, field: &str, p: &str) {
        self.text(field, p, MAX_PATH_BYTES);
        if !p.starts_with('/') || Path::new(p).components().any(|c| matches!(c, Component::ParentDir)) {
            self.violate(
                field,
                &CONFINED_PATHS,
                format!("`{}` must be an absolute path without `..` inside the image", shorten(p)),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::plan::policy::tests::{check, cmd, ctx, ctx_at, plan, rules_of};
    use crate::plan::policy::Policy;
    use crate::plugin::types::{Artifact, ArtifactKind};

    // It rejects `..` in a cwd even when it would end up inside the run directory.
    #[test]
    fn dotdot_is_refused() {
        let mut c = cmd(&["x"]);
        c.cwd = Some("/srv/run/1/server/work/../../../../etc".into());
        assert_eq!(check(&Policy::strict(), &plan(vec![c])), ["confined-paths"]);
        let mut c = cmd(&["x"]);
        c.cwd = Some("/srv/run/1/server/work/../logs".into());
        assert_eq!(check(&Policy::strict(), &plan(vec![c])), ["confined-paths"]);
    }

    // It rejects absolute paths elsewhere and accepts relative ones inside the work dir.
    #[test]
    fn absolute_elsewhere() {
        let mut p = plan(vec![cmd(&["x"])]);
        p.files = vec![("/etc/cron.d/evil".into(), "* * * * * root id".into()), ("conf/a.toml".into(), "".into())];
        p.artifacts =
            vec![Artifact { kind: ArtifactKind::Other, path: "/srv/run/1/server-other/x".into(), required: false }];
        let v = Policy::strict().check("t", &p, &ctx()).unwrap_err();
        let fields: Vec<_> = v.violations.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["artifacts[0].path", "files[0].path"]);
    }

    // It rejects a path through a symlink in the run directory that points outside.
    #[test]
    fn symlink_outside() {
        let run = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let root = run.path().to_str().unwrap();
        std::fs::create_dir_all(run.path().join("logs")).unwrap();
        std::os::unix::fs::symlink(outside.path(), run.path().join("logs/escape")).unwrap();
        let mut p = plan(vec![cmd(&["x"])]);
        p.artifacts = vec![
            Artifact { kind: ArtifactKind::Log, path: format!("{root}/logs/escape/secret"), required: false },
            Artifact { kind: ArtifactKind::Log, path: format!("{root}/logs/fine.log"), required: false },
        ];
        let v = Policy::strict().check("t", &p, &ctx_at(root)).unwrap_err();
        assert_eq!(v.violations.len(), 1, "{v:?}");
        assert_eq!(v.violations[0].field, "artifacts[0].path");
        assert_eq!(v.violations[0].rule, "confined-paths");
    }

    // It rejects a relative path that goes through a symlink in the work directory.
    #[test]
    fn relative_symlink_outside() {
        let run = tempfile::tempdir().unwrap();
        let root = run.path().to_str().unwrap();
        std::fs::create_dir_all(run.path().join("work")).unwrap();
        std::os::unix::fs::symlink("/etc", run.path().join("work/etc")).unwrap();
        let mut p = plan(vec![cmd(&["x"])]);
        p.files = vec![("etc/passwd".into(), "x".into())];
        assert_eq!(rules_of(Policy::strict().check("t", &p, &ctx_at(root))), ["confined-paths"]);
    }
}
