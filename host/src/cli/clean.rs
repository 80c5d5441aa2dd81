//! `panther-host clean`: removes what a crashed or killed run left in Docker — containers and
//! networks labelled `panther.run` (optionally only one run's), and with `--images` the
//! images panther-host built. Parsing and printing only; the removal is
//! [`crate::exec::docker::remove_labelled`].

use clap::Args;

use super::{EXIT_ERROR, EXIT_OK};
use crate::exec::docker;

/// Remove Docker containers and networks left by panther-host runs.
#[derive(Debug, Clone, Args)]
pub struct CleanCmd {
    /// Only what this run id left (default: every run's).
    #[arg(long, value_name = "RUN_ID")]
    pub run: Option<String>,
    /// Also remove the images panther-host built (IUT images and panther-base:bookworm);
    /// the next Docker run rebuilds them.
    #[arg(long)]
    pub images: bool,
}

/// Removes, prints one line per object, and returns the exit code: 2 when the daemon is
/// unreachable or a removal failed.
pub fn run(cmd: &CleanCmd) -> u8 {
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return EXIT_ERROR;
        }
    };
    rt.block_on(async {
        let client = match docker::connect_daemon().await {
            Ok(c) => c,
            Err(e) => {
                super::print_error(&e);
                return EXIT_ERROR;
            }
        };
        let steps =
            docker::remove_labelled(&client, docker::LABEL_RUN, cmd.run.as_deref().unwrap_or(""), cmd.images).await;
        if steps.is_empty() {
            println!("nothing to clean");
        }
        let mut failed = false;
        for s in &steps {
            if s.ok {
                println!("removed: {}", s.what.trim_start_matches("remove "));
            } else {
                failed = true;
                println!("FAILED: {} ({})", s.what, s.detail);
            }
        }
        if failed {
            EXIT_ERROR
        } else {
            EXIT_OK
        }
    })
}
