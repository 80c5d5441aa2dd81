//! `panther-host clean`: ends what a crashed or killed run left. Local process groups recorded
//! in the run's `processes.json` whose host is gone ([`crate::exec::leftovers::sweep`]), then
//! in Docker the containers and networks labelled `panther.run` (optionally only one run's),
//! and with `--images` the images panther-host built. Parsing and printing only.

use clap::Args;

use super::{GlobalArgs, EXIT_ERROR, EXIT_OK};
use crate::exec::docker;
use crate::exec::leftovers::{self, Swept};

/// End processes and remove Docker containers and networks left by killed panther-host runs.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Exit codes: 0 everything left was ended or removed (or nothing was left), 2 something could not be ended or removed, or the Docker daemon is unreachable."
)]
pub struct CleanCmd {
    /// Only what this run id left (default: every killed run's).
    #[arg(long, value_name = "RUN_ID")]
    pub run: Option<String>,
    /// Also remove the images panther-host built (IUT images and panther-base:bookworm);
    /// the next Docker run rebuilds them.
    #[arg(long)]
    pub images: bool,
    /// Only local processes: do not contact Docker.
    #[arg(long, conflicts_with = "images")]
    pub no_docker: bool,
}

/// Ends and removes, prints one line per object, and returns the exit code: 2 when the daemon
/// is unreachable or something could not be ended or removed.
pub fn run(cmd: &CleanCmd, g: &GlobalArgs) -> u8 {
    let mut failed = false;
    let mut nothing = true;
    for s in leftovers::sweep(&g.cache_root(), cmd.run.as_deref()) {
        match &s {
            Swept::Ended { .. } => {
                nothing = false;
                println!("{s}");
            }
            Swept::Stuck { .. } => {
                nothing = false;
                failed = true;
                println!("FAILED: {s}");
            }
            Swept::StillRunning { .. } => println!("{s}"),
        }
    }
    if cmd.no_docker {
        if nothing {
            println!("nothing to clean");
        }
        return if failed { EXIT_ERROR } else { EXIT_OK };
    }
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
        if steps.is_empty() && nothing {
            println!("nothing to clean");
        }
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
