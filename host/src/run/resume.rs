//! Resuming a run: every test's result is saved in its directory as soon as the test ends
//! (`result.json`, written to a temporary file and renamed, so a killed host leaves whole
//! files or none), and the run's identity in `run.json`. `run --resume RUN_DIR` runs only the
//! tests without a saved result; `--rerun-failed RUN_DIR` also the ones that did not pass.
//! A resume against another experiment file, other plugins or other run options is refused
//! with the difference named.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::report::model::TestResult;

use super::judge::TestStatus;

/// The file that names what a run was made of.
pub const RUN_JSON: &str = "run.json";
/// A test's saved result, in its directory.
pub const RESULT_JSON: &str = "result.json";

/// Largest `run.json` or `result.json` read back: they are a few KiB; more is not ours.
const MAX_SAVED_BYTES: u64 = 16 << 20;

/// A saved file's bytes, at most [`MAX_SAVED_BYTES`].
pub(super) fn read_saved(path: &Path) -> std::io::Result<Vec<u8>> {
    let mut out = vec![];
    std::io::Read::read_to_end(&mut std::io::Read::take(std::fs::File::open(path)?, MAX_SAVED_BYTES), &mut out)?;
    Ok(out)
}

/// Which saved results a resumed run keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// Every test that ended (`--resume`).
    Finished,
    /// Only the tests that passed or were skipped (`--rerun-failed`).
    Passed,
}

/// What a run was made of: a resume must be made of the same.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RunIdentity {
    /// sha256 of the experiment file's text.
    pub experiment_sha256: String,
    /// sha256 of every plugin the experiment names.
    pub plugins: BTreeMap<String, String>,
    pub seed: u64,
    pub repeat: Option<u32>,
    pub pass: Option<u32>,
    /// `--test` filters.
    pub only: Vec<String>,
    /// `--shard I/N`: this run holds the tests whose 0-based position `k` has `k % N == I`.
    #[serde(default)]
    pub shard: Option<(u32, u32)>,
}

impl RunIdentity {
    pub fn of(session: &super::Session, opts: &super::RunOptions) -> RunIdentity {
        let exp = &session.experiment;
        let mut plugins = BTreeMap::new();
        for t in &exp.tests {
            let names = t.services.iter().map(|s| s.implementation.as_str()).chain([t.network.kind.as_str()]);
            for n in names {
                if let Ok(p) = session.host.find(n) {
                    plugins.insert(n.to_string(), p.digest.clone());
                }
            }
        }
        RunIdentity {
            experiment_sha256: hex::encode(Sha256::digest(exp.source.as_bytes())),
            plugins,
            seed: exp.settings.seed,
            repeat: opts.repeat,
            pass: opts.pass,
            only: opts.only.clone(),
            shard: opts.shard,
        }
    }

    pub fn write(&self, run_dir: &Path) -> std::io::Result<()> {
        crate::report::write_atomic(&run_dir.join(RUN_JSON), &serde_json::to_vec_pretty(self).expect("plain data"))
    }

    /// Every way `now` differs from this (the run's) identity, in words.
    pub fn differences(&self, now: &RunIdentity) -> Vec<String> {
        let short = |s: &str| s.chars().take(12).collect::<String>();
        let mut d = vec![];
        if self.experiment_sha256 != now.experiment_sha256 {
            d.push(format!(
                "the experiment file changed (sha256 {}… in the run, {}… now)",
                short(&self.experiment_sha256),
                short(&now.experiment_sha256)
            ));
        }
        for (name, was) in &self.plugins {
            match now.plugins.get(name) {
                Some(is) if is != was => {
                    d.push(format!("plugin `{name}` changed (sha256 {}… in the run, {}… now)", short(was), short(is)))
                }
                None => d.push(format!("plugin `{name}` is no longer used or installed")),
                _ => {}
            }
        }
        for name in now.plugins.keys().filter(|n| !self.plugins.contains_key(*n)) {
            d.push(format!("plugin `{name}` was not part of the run"));
        }
        if self.seed != now.seed {
            d.push(format!("the seed was {}, it is {} now", self.seed, now.seed));
        }
        if (self.repeat, self.pass) != (now.repeat, now.pass) {
            d.push(format!(
                "the run had --repeat {:?} --pass {:?}, this one {:?} {:?}",
                self.repeat, self.pass, now.repeat, now.pass
            ));
        }
        if self.shard != now.shard {
            let show = |s: Option<(u32, u32)>| s.map_or("no shard".to_string(), |(i, n)| format!("shard {i}/{n}"));
            d.push(format!("the run was {}, this one is {}", show(self.shard), show(now.shard)));
        }
        if self.only != now.only {
            d.push(format!("the run had --test {:?}, this one {:?}", self.only, now.only));
        }
        d
    }
}

/// Why a run cannot be resumed.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ResumeError {
    #[error("{dir} is not a run directory this host can resume: {why}")]
    #[diagnostic(code(panther::run::resume), help("give the directory `panther-host run` printed after `results:`"))]
    NotARun { dir: PathBuf, why: String },
    #[error("cannot resume {dir}: {}", .differences.join("; "))]
    #[diagnostic(
        code(panther::run::resume_mismatch),
        help("resume with the experiment file, plugins and options the run was made with, or start a new run")
    )]
    Mismatch { dir: PathBuf, differences: Vec<String> },
}

/// The identity a run directory records.
pub fn identity(dir: &Path) -> Result<RunIdentity, ResumeError> {
    let not = |why: String| ResumeError::NotARun { dir: dir.to_path_buf(), why };
    let text = read_saved(&dir.join(RUN_JSON)).map_err(|e| not(format!("{RUN_JSON}: {e}")))?;
    serde_json::from_slice(&text).map_err(|e| not(format!("{RUN_JSON}: {e}")))
}

/// Checks that `dir` is a run made of `now`.
pub fn check(dir: &Path, now: &RunIdentity) -> Result<(), ResumeError> {
    let differences = identity(dir)?.differences(now);
    if differences.is_empty() {
        Ok(())
    } else {
        Err(ResumeError::Mismatch { dir: dir.to_path_buf(), differences })
    }
}

/// The saved result of the test whose directory is `test_dir`, if it is one to keep.
pub fn saved(test_dir: &Path, keep: Keep) -> Option<TestResult> {
    let text = read_saved(&test_dir.join(RESULT_JSON)).ok()?;
    let r: TestResult = serde_json::from_slice(&text).ok()?;
    let final_ = !matches!(r.status, TestStatus::Interrupted | TestStatus::Unknown);
    let kept = match keep {
        Keep::Finished => final_,
        Keep::Passed => matches!(r.status, TestStatus::Passed | TestStatus::Skipped),
    };
    kept.then_some(r)
}

/// Saves a test's result in its directory.
pub fn save(test_dir: &Path, r: &TestResult) {
    let write = std::fs::create_dir_all(test_dir).and_then(|()| {
        crate::report::write_atomic(&test_dir.join(RESULT_JSON), &serde_json::to_vec_pretty(r).expect("plain data"))
    });
    if let Err(e) = write {
        tracing::warn!(
            "cannot save the result of `{}` in {}: {e}; a resume would run it again",
            r.name,
            test_dir.display()
        );
    }
}
