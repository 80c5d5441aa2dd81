//! `run --engine slurm`: an experiment's tests spread over a Slurm cluster as an array job
//! whose task `i` runs `panther-host run --shard i/N` into a shared directory; when the job
//! ends, the shards are merged ([`super::merge`]) into one run.
//!
//! The host only writes a batch script, submits it with `sbatch` and watches the job with
//! `squeue` until its tasks are gone; Slurm places the tasks. (`sbatch --wait` would do, but it
//! polls at growing intervals and added about 3 s to a 7 s run here.)
//! Every node needs the same `panther-host`, plugins and tools cache path, and the output
//! directory must be shared (docs/SCALE.md).

use std::path::{Path, PathBuf};
use std::process::Command;

use super::merge::{self, Merged};

/// How to spread the run.
#[derive(Debug, Clone)]
pub struct SlurmRun {
    /// The experiment file (made absolute: tasks run elsewhere).
    pub experiment: PathBuf,
    /// The shared output directory.
    pub output: PathBuf,
    /// Array tasks (shards).
    pub shards: u32,
    /// Most tasks running at once (`%J`).
    pub parallel: u32,
    /// Options every task's `panther-host run` gets (`--seed`, `--jobs`, ...).
    pub run_args: Vec<String>,
    /// Extra `sbatch` options (`--partition=x`).
    pub sbatch_args: Vec<String>,
    pub cache_root: PathBuf,
}

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum SlurmError {
    #[error("cannot run Slurm's `sbatch` or `squeue`: {0}")]
    #[diagnostic(code(panther::slurm::sbatch), help("install Slurm's client (Debian: slurm-client) and point SLURM_CONF at the cluster's slurm.conf, or run without --engine slurm"))]
    Sbatch(std::io::Error),
    #[error("sbatch refused the job: {0}")]
    #[diagnostic(
        code(panther::slurm::refused),
        help("`sinfo` shows whether the cluster has a partition and an idle node")
    )]
    Refused(String),
    #[error("cannot prepare {path}: {source}")]
    #[diagnostic(code(panther::slurm::output))]
    Output {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("the Slurm job {job} left no shard results in {dir}; its task logs are slurm-{job}_*.log there")]
    #[diagnostic(code(panther::slurm::empty))]
    NoShards { job: String, dir: PathBuf },
    #[error(transparent)]
    #[diagnostic(transparent)]
    Merge(#[from] merge::MergeError),
}

/// What the Slurm run made.
pub struct SlurmOutcome {
    pub job: String,
    pub merged: Merged,
}

/// A word for a POSIX shell, single-quoted.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// The batch script of the array job.
pub fn script(r: &SlurmRun, host: &Path, shards_dir: &Path, logs: &Path) -> String {
    let args: Vec<String> = r.run_args.iter().map(|a| quote(a)).collect();
    format!(
        "#!/bin/sh\n\
         # Written by panther-host run --engine slurm: task i runs shard i of {n}.\n\
         #SBATCH --job-name=panther\n\
         #SBATCH --array=0-{last}%{par}\n\
         #SBATCH --output={logs}/slurm-%A_%a.log\n\
         exec {host} -q run {exp} --shard \"$SLURM_ARRAY_TASK_ID/{n}\" --output-dir {out} {args}\n",
        n = r.shards,
        last = r.shards - 1,
        par = r.parallel.max(1),
        logs = logs.display(),
        host = quote(&host.display().to_string()),
        exp = quote(&r.experiment.display().to_string()),
        out = quote(&shards_dir.display().to_string()),
        args = args.join(" "),
    )
}

/// How often the job's state is asked for.
const POLL: std::time::Duration = std::time::Duration::from_millis(250);

/// Returns once Slurm lists no task of `job` any more (finished, failed or cancelled). A
/// controller that does not answer for a minute is an error, not the end of the job.
fn wait_for(job: &str) -> Result<(), SlurmError> {
    let mut unanswered = 0;
    loop {
        let o = Command::new("squeue").args(["-h", "-j", job, "-o", "%T"]).output().map_err(SlurmError::Sbatch)?;
        let stderr = String::from_utf8_lossy(&o.stderr);
        if o.status.success() || stderr.contains("Invalid job id") {
            // A job that has left the controller's memory is "invalid": it is over.
            if String::from_utf8_lossy(&o.stdout).trim().is_empty() {
                return Ok(());
            }
            unanswered = 0;
        } else {
            unanswered += 1;
            if unanswered * POLL > std::time::Duration::from_secs(60) {
                return Err(SlurmError::Refused(format!(
                    "squeue stopped answering about job {job}: {}",
                    crate::text::terminal(stderr.trim())
                )));
            }
        }
        std::thread::sleep(POLL);
    }
}

/// Submits the array job, waits for it, and merges what its tasks wrote.
pub fn run(r: &SlurmRun) -> Result<SlurmOutcome, SlurmError> {
    let out = |path: &Path, source| SlurmError::Output { path: path.to_path_buf(), source };
    let host = std::env::current_exe().map_err(|e| out(Path::new("panther-host"), e))?;
    let base = std::path::absolute(&r.output).map_err(|e| out(&r.output, e))?;
    let stamp = super::layout::run_id_now();
    let work = base.join(format!("slurm-{stamp}-{}", std::process::id()));
    let shards_dir = work.join("shards");
    std::fs::create_dir_all(&shards_dir).map_err(|e| out(&shards_dir, e))?;
    let script_path = work.join("job.sh");
    std::fs::write(&script_path, script(r, &host, &shards_dir, &work)).map_err(|e| out(&script_path, e))?;
    tracing::info!(shards = r.shards, dir = %work.display(), "submitting the array job to Slurm and waiting for it");
    let o = Command::new("sbatch")
        .arg("--parsable")
        .args(&r.sbatch_args)
        .arg(&script_path)
        .current_dir(&work)
        .output()
        .map_err(SlurmError::Sbatch)?;
    let job = String::from_utf8_lossy(&o.stdout).trim().split(';').next().unwrap_or("").to_string();
    if job.is_empty() {
        return Err(SlurmError::Refused(crate::text::terminal(String::from_utf8_lossy(&o.stderr).trim()).into_owned()));
    }
    wait_for(&job)?;
    // A task that exits non-zero (a failed test exits 1) is not an error here: the merge says why.
    let shards = merge::shard_runs(&shards_dir);
    if shards.is_empty() {
        return Err(SlurmError::NoShards { job, dir: work });
    }
    let merged = merge::merge(&shards, &base, &r.cache_root)?;
    Ok(SlurmOutcome { job, merged })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_runs_one_shard_per_task_with_quoted_words() {
        let r = SlurmRun {
            experiment: "/e/it's.toml".into(),
            output: "/shared".into(),
            shards: 4,
            parallel: 2,
            run_args: vec!["--seed".into(), "7".into()],
            sbatch_args: vec![],
            cache_root: "/c".into(),
        };
        let s = script(&r, Path::new("/bin/panther-host"), Path::new("/shared/w/shards"), Path::new("/shared/w"));
        assert!(s.contains("#SBATCH --array=0-3%2\n"), "{s}");
        assert!(s.contains("exec '/bin/panther-host' -q run '/e/it'\\''s.toml' --shard \"$SLURM_ARRAY_TASK_ID/4\" --output-dir '/shared/w/shards' '--seed' '7'\n"), "{s}");
    }
}
