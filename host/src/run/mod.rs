//! The orchestrator: experiment → tests → services.
//!
//! Owns the order of things in a run: open the plugins, check the experiment against them,
//! plan every test before anything runs (so policy refusals come first), then for each test
//! and iteration: plan with fresh ports, serve its files, start the capture, drive the
//! services through an executor ([`drive`]), gather evidence, ask the plugins to judge
//! ([`judge`]) and write the results after every test, so an interrupted run leaves a
//! partial summary. Does not format reports ([`crate::report`]) or run commands
//! ([`crate::exec`]).

pub mod drive;
mod experiment;
pub mod judge;
pub mod layout;
pub mod planning;
pub mod subnets;

pub use experiment::{blocks_run, run_experiment, RunError, RunOptions, RunOutcome};
pub use judge::TestStatus;
pub use planning::{plan_experiment, plan_test, PlannedTest, Session};

use std::path::{Path, PathBuf};

/// `~/.cache/panther-host` (or `$XDG_CACHE_HOME/panther-host`).
pub fn default_cache_root() -> PathBuf {
    if let Some(x) = std::env::var_os("XDG_CACHE_HOME") {
        return PathBuf::from(x).join("panther-host");
    }
    std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(std::env::temp_dir).join(".cache").join("panther-host")
}

/// The `plugins-dist/` that ships with this build: next to the workspace the binary was built
/// in, or in the current directory. Does not depend on the working directory when the binary
/// lives in the workspace's `target/`.
pub fn bundled_plugin_dir() -> Option<PathBuf> {
    let from_exe = std::env::current_exe().ok().and_then(|exe| {
        exe.ancestors()
            .find(|a| a.join("plugins-dist").is_dir() && a.join("wit").is_dir())
            .map(|a| a.join("plugins-dist"))
    });
    let from_build =
        Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(|p| p.join("plugins-dist")).filter(|p| p.is_dir());
    let from_cwd = Some(PathBuf::from("plugins-dist")).filter(|p| p.is_dir());
    from_exe.or(from_build).or(from_cwd)
}
