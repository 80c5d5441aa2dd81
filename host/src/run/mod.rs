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
mod links;
pub mod merge;
pub mod planning;
pub mod resume;
pub mod slurm;
pub mod subnets;
pub mod swarm;

pub use experiment::{blocks_run, run_experiment, RunError, RunOptions, RunOutcome};
pub use judge::TestStatus;
pub use planning::{plan_experiment, plan_test, PlannedTest, Session};

use std::path::PathBuf;

/// `~/.cache/panther-host` (or `$XDG_CACHE_HOME/panther-host`).
pub fn default_cache_root() -> PathBuf {
    if let Some(x) = std::env::var_os("XDG_CACHE_HOME") {
        return PathBuf::from(x).join("panther-host");
    }
    std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(std::env::temp_dir).join(".cache").join("panther-host")
}
