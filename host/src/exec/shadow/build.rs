//! Shadow itself: found where the user put it, or built once from its pinned sources into the
//! tools cache.
//!
//! Shadow is the host's tool, not a plugin's: no plan names it, so its pin lives here. Its
//! sources come through [`Sources`] like any upstream tree (`PANTHER_SOURCE_MIRROR` first, then
//! git). Its Cargo.lock names two git dependencies (`shadow/bytes`, `shadow/vsprintf`); cargo
//! is sent to clones of their mirror bundles with git's `url.<clone>.insteadOf`, through the
//! environment only, so Shadow's own files stay as pinned. The build takes about ten minutes
//! on two cores and under 1 GB per process; the install (22 MB) is kept under
//! `<cache>/tools/shadow-<key>/`, where `key` hashes the pins and this recipe, so a new pin or
//! recipe builds anew and an old install is never used by mistake.

use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use crate::exec::sources::{self, copy_tree, SourceError, Sources};
use crate::plugin::types::SourceRef;

/// Points at a `shadow` binary to use instead of building one (a user's own install).
pub const SHADOW_ENV: &str = "PANTHER_SHADOW";

/// Shadow 3.3.0-199 (Aug 2026): its toolchain pin is this machine's Rust 1.95.
const SHADOW: Pin =
    Pin { name: "shadow", url: "https://github.com/shadow/shadow", rev: "f1b2cacf2bb01e33d554a764dec02ccf2dcc5fdd" };
/// The git dependencies of Shadow's Cargo.lock at that commit.
const GIT_DEPS: [Pin; 2] = [
    Pin { name: "bytes", url: "https://github.com/shadow/bytes", rev: "c48bd4439e7e043300521925524ecdcce7ff6bcc" },
    Pin {
        name: "vsprintf",
        url: "https://github.com/shadow/vsprintf",
        rev: "fa9a307e3043a972501b3157323ed8a9973ad45a",
    },
];
/// Bumped when the commands below change, so an install made by other commands is not reused.
const RECIPE: &str = "setup build --clean -j2; cmake --install build (1)";

/// Marker of a complete install.
const COMPLETE: &str = ".panther-complete";

struct Pin {
    name: &'static str,
    url: &'static str,
    rev: &'static str,
}

impl Pin {
    fn source(&self) -> SourceRef {
        SourceRef { name: self.name.into(), url: self.url.into(), rev: self.rev.into(), dest: String::new() }
    }
}

/// Why Shadow cannot be had.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum BuildError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Source(#[from] SourceError),
    #[error("{SHADOW_ENV}={path}: {problem}")]
    #[diagnostic(
        code(panther::shadow::binary),
        help("point {SHADOW_ENV} at an executable `shadow` (3.x), or unset it to build Shadow here")
    )]
    Binary { path: String, problem: String },
    #[error("building Shadow failed at `{step}`: {problem}; the last lines of {log}:\n{tail}")]
    #[diagnostic(
        code(panther::shadow::build),
        help("Shadow needs cmake, libglib2.0-dev, libclang-dev, pkg-config and python3 (`make setup` installs them)")
    )]
    Failed { step: String, problem: String, log: String, tail: String },
    #[error("the Shadow build directory {path}: {source}")]
    #[diagnostic(code(panther::shadow::io))]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// A `shadow` binary ready to run.
#[derive(Debug, Clone)]
pub struct ShadowBinary {
    pub path: PathBuf,
    /// `shadow --version`'s first line.
    pub version: String,
}

/// Where Shadow is installed for these pins and this recipe.
pub fn install_dir(cache_root: &Path) -> PathBuf {
    let mut h = Sha256::new();
    for p in std::iter::once(&SHADOW).chain(&GIT_DEPS) {
        h.update(format!("{}@{}\n", p.url, p.rev));
    }
    h.update(RECIPE);
    let key = hex::encode(h.finalize());
    cache_root.join("tools").join(format!("shadow-{}-{}", &SHADOW.rev[..8], &key[..12]))
}

/// The `shadow` to run: `PANTHER_SHADOW`, else the cached install, built first if missing.
/// `say` hears what takes time before it starts (the build takes minutes). Blocking: call it
/// off the async runtime.
///
/// # Errors
/// A bad `PANTHER_SHADOW`, missing sources, a failed build.
pub fn ensure(cache_root: &Path, say: &dyn Fn(String)) -> Result<ShadowBinary, BuildError> {
    if let Some(p) = std::env::var_os(SHADOW_ENV) {
        let path = PathBuf::from(p);
        return version_of(&path)
            .map(|version| ShadowBinary { path: path.clone(), version })
            .map_err(|problem| BuildError::Binary { path: path.display().to_string(), problem });
    }
    let dir = install_dir(cache_root);
    let bin = dir.join("bin").join("shadow");
    let installed = || -> Option<ShadowBinary> {
        dir.join(COMPLETE)
            .exists()
            .then(|| version_of(&bin).ok())
            .flatten()
            .map(|version| ShadowBinary { path: bin.clone(), version })
    };
    if let Some(b) = installed() {
        return Ok(b);
    }
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| BuildError::Io { path: path.clone(), source }
    };
    std::fs::create_dir_all(dir.parent().expect("under tools")).map_err(io(&dir))?;
    // Two runs (or two tests of one run) wanting Shadow: one builds, the other waits here.
    let lock_path = PathBuf::from(format!("{}.lock", dir.display()));
    let _lock = sources::lock_file(&lock_path).map_err(io(&lock_path))?;
    if let Some(b) = installed() {
        return Ok(b);
    }
    let work = PathBuf::from(format!("{}.build", dir.display()));
    let log_path = PathBuf::from(format!("{}.log", dir.display()));
    say(format!(
        "building Shadow {} from its sources into {}, once (about 10 minutes on 2 cores); log: {}",
        &SHADOW.rev[..8],
        dir.display(),
        log_path.display()
    ));
    let fetcher = Sources::from_env(cache_root);
    let tree = fetcher.fetch(&SHADOW.source())?;
    let _ = std::fs::remove_dir_all(&work);
    let _ = std::fs::remove_dir_all(&dir);
    let src = work.join("shadow");
    copy_tree(&tree, &src).map_err(io(&src))?;
    let log = std::fs::File::create(&log_path).map_err(io(&log_path))?;
    let mut env: Vec<(String, String)> = vec![];
    let redirects: Vec<(String, PathBuf)> = GIT_DEPS
        .iter()
        .filter_map(|d| {
            let clone = fetcher.git_clone_from_mirror(&d.source(), &work.join(format!("{}.git", d.name)))?;
            Some(clone.map(|c| (d.url.to_string(), c)))
        })
        .collect::<Result<_, _>>()?;
    if !redirects.is_empty() {
        env.push(("CARGO_NET_GIT_FETCH_WITH_CLI".into(), "true".into()));
        env.push(("GIT_CONFIG_COUNT".into(), redirects.len().to_string()));
        for (i, (url, clone)) in redirects.iter().enumerate() {
            env.push((format!("GIT_CONFIG_KEY_{i}"), format!("url.{}.insteadOf", clone.display())));
            env.push((format!("GIT_CONFIG_VALUE_{i}"), url.clone()));
        }
    }
    let prefix = dir.display().to_string();
    let steps: [(&str, Vec<&str>); 2] = [
        ("./setup build", vec!["./setup", "build", "--clean", "-j", "2", "--prefix", &prefix]),
        ("cmake --install", vec!["cmake", "--install", "build", "--prefix", &prefix]),
    ];
    for (step, argv) in steps {
        let out = log.try_clone().map_err(io(&log_path))?;
        let err = log.try_clone().map_err(io(&log_path))?;
        let status = Command::new(argv[0])
            .args(&argv[1..])
            .current_dir(&src)
            .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .stdout(out)
            .stderr(err)
            .status();
        let problem = match status {
            Ok(s) if s.success() => continue,
            Ok(s) => format!("it ended with {s}"),
            Err(e) => format!("it could not start: {e}"),
        };
        return Err(BuildError::Failed {
            step: step.into(),
            problem,
            log: log_path.display().to_string(),
            tail: crate::exec::tail(&log_path, 2000),
        });
    }
    let version = version_of(&bin).map_err(|problem| BuildError::Failed {
        step: "shadow --version".into(),
        problem,
        log: log_path.display().to_string(),
        tail: String::new(),
    })?;
    std::fs::write(dir.join(COMPLETE), format!("{version}\n")).map_err(io(&dir))?;
    // The build directory is 3.8 GB; the install is all that is needed.
    let _ = std::fs::remove_dir_all(&work);
    say(format!("built {version} in {}", dir.display()));
    Ok(ShadowBinary { path: bin, version })
}

/// `shadow --version`'s first line, or why it could not be had.
fn version_of(bin: &Path) -> Result<String, String> {
    let out = Command::new(bin).arg("--version").output().map_err(|e| format!("cannot run it: {e}"))?;
    if !out.status.success() {
        return Err(format!("`--version` ended with {}", out.status));
    }
    let text = String::from_utf8_lossy(&out.stdout);
    Ok(text.lines().next().unwrap_or("shadow").trim().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_install_dir_names_the_pin_and_changes_with_the_recipe() {
        let d = install_dir(Path::new("/c"));
        let name = d.file_name().unwrap().to_str().unwrap();
        assert!(name.starts_with("shadow-f1b2cacf-") && name.len() == "shadow-f1b2cacf-".len() + 12, "{name}");
        assert_eq!(d.parent().unwrap(), Path::new("/c/tools"));
        assert_eq!(install_dir(Path::new("/c")), d, "stable");
    }
}
