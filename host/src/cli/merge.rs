//! `panther-host merge RUN_DIR...`: one run from the runs of an experiment's shards. Parsing
//! and printing only; the merge is [`crate::run::merge`].

use std::path::PathBuf;

use clap::Args;

use super::{GlobalArgs, EXIT_ERROR};

/// Join the runs of an experiment's shards (`run --shard I/N`) into one run: one summary,
/// report, JUnit and result matrix.
#[derive(Debug, Args)]
#[command(
    after_help = "Exit codes: 0 every test passed, 1 a test failed or has no result, 2 the shards could not be merged."
)]
pub struct MergeCmd {
    /// The shards' run directories.
    #[arg(required = true, num_args = 1..)]
    pub runs: Vec<PathBuf>,
    /// Where the merged run goes [default: beside the first shard's experiment directory].
    #[arg(long, value_name = "DIR")]
    pub output_dir: Option<PathBuf>,
}

pub fn run(cmd: &MergeCmd, g: &GlobalArgs) -> u8 {
    // outputs/<experiment>/<run> → outputs
    let output = cmd.output_dir.clone().unwrap_or_else(|| {
        cmd.runs[0].parent().and_then(std::path::Path::parent).map(PathBuf::from).unwrap_or_else(|| PathBuf::from("."))
    });
    let merged = match crate::run::merge::merge(&cmd.runs, &output, &g.cache_root()) {
        Ok(m) => m,
        Err(e) => {
            super::print_error(&e);
            return EXIT_ERROR;
        }
    };
    super::run::report_merged(&merged, &format!("{} shards merged", cmd.runs.len()))
}
