//! `panther-host run`: run an experiment and write its results.

use std::path::PathBuf;

use clap::Args;

use super::{GlobalArgs, EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK, EXIT_TEST_FAILED};

/// Run an experiment and write its results under its output directory.
#[derive(Debug, Args)]
#[command(
    after_help = "Exit codes: 0 every test passed, 1 a test failed, 2 the run could not be carried out (experiment file, plugin, policy or executor error; also when the policy refused any test's plans, even if the other tests ran), 130 interrupted."
)]
pub struct RunCmd {
    /// The experiment file (TOML) [default: the demo, experiments/demo.toml, built into the binary].
    pub experiment: Option<PathBuf>,
    /// Write results here instead of the experiment's `output_dir`.
    #[arg(long, value_name = "DIR")]
    pub output_dir: Option<PathBuf>,
    /// Only run tests whose name contains this text (repeatable).
    #[arg(long = "test", value_name = "NAME")]
    pub only: Vec<String>,
    /// Replace the experiment's `seed` (every test iteration's seed derives from it, so
    /// `--test NAME --seed S` reruns one test with the losses it had in a run with seed S).
    #[arg(long, value_name = "S")]
    pub seed: Option<u64>,
    /// Run up to N tests at once. Each has its own ports, directory and capture; tests whose
    /// plans bind the same fixed port still run one after the other.
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub jobs: u16,
    /// Run every test N times; a test (or matrix cell) whose runs both passed and failed is
    /// reported as flaky (`3/5`).
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub repeat: Option<u32>,
    /// With --repeat: a test passes when K of its runs passed [default: all of them].
    #[arg(long = "pass", value_name = "K", requires = "repeat", value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub pass: Option<u32>,
    /// Continue a run that was interrupted or killed, in its directory: run only the tests
    /// without a result there, then write the whole report. The experiment file defaults to
    /// the run's copy; a different file, plugins or options are refused.
    #[arg(long, value_name = "RUN_DIR", conflicts_with_all = ["output_dir", "rerun_failed"])]
    pub resume: Option<PathBuf>,
    /// Run a deterministic share of the tests: those whose 0-based position k has k % N == I
    /// (`--shard 0/4` … `--shard 3/4`); `panther-host merge` joins the shards' runs.
    #[arg(long, value_name = "I/N", value_parser = parse_shard)]
    pub shard: Option<(u32, u32)>,
    /// Where the tests run: `local` (this machine) or `slurm` (an array job of `--shards`
    /// tasks, each `run --shard i/N` on a node, merged when the job ends; docs/SCALE.md).
    #[arg(long, value_enum, default_value_t = Engine::Local)]
    pub engine: Engine,
    /// With --engine slurm: how many array tasks (shards).
    #[arg(long, value_name = "N", default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub shards: u32,
    /// With --engine slurm: most tasks running at once [default: all].
    #[arg(long, value_name = "J", value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub slurm_parallel: Option<u32>,
    /// With --engine slurm: an option for sbatch (`--sbatch-option=--partition=debug`), repeatable.
    #[arg(long, value_name = "OPT", allow_hyphen_values = true)]
    pub sbatch_option: Vec<String>,
    /// Like --resume, and also run again the tests that did not pass.
    #[arg(long, value_name = "RUN_DIR", conflicts_with = "output_dir")]
    pub rerun_failed: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Engine {
    Local,
    Slurm,
}

/// Runs `run`: the exit code says whether every test passed (see the crate's exit codes).
pub fn run(cmd: &RunCmd, g: &GlobalArgs) -> u8 {
    if cmd.engine == Engine::Slurm {
        return on_slurm(cmd, g);
    }
    if let (Some(k), Some(n)) = (cmd.pass, cmd.repeat) {
        if k > n {
            eprintln!("error: `--pass {k}` is more than `--repeat {n}`: a test cannot pass more often than it runs");
            return EXIT_ERROR;
        }
    }
    use crate::run::resume::Keep;
    let resume = match (&cmd.resume, &cmd.rerun_failed) {
        (Some(d), _) => Some((d.clone(), Keep::Finished)),
        (_, Some(d)) => Some((d.clone(), Keep::Passed)),
        _ => None,
    };
    let run_copy = resume.as_ref().map(|(d, _)| d.join("experiment.toml"));
    let file = cmd.experiment.as_deref().or(run_copy.as_deref());
    let mut session = match super::open_session_or_demo(file, g) {
        Ok(s) => s,
        Err(code) => return code,
    };
    if let Some(seed) = cmd.seed {
        session.experiment.settings.seed = seed;
    }
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return EXIT_ERROR;
        }
    };
    let opts = crate::run::RunOptions {
        output_dir: cmd.output_dir.clone(),
        only: cmd.only.clone(),
        jobs: usize::from(cmd.jobs),
        repeat: cmd.repeat,
        pass: cmd.pass,
        resume,
        shard: cmd.shard,
    };
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let outcome = match rt.block_on(crate::run::run_experiment(&session, &opts, shutdown)) {
        Ok(o) => o,
        Err(e) => {
            super::print_error(&e);
            return EXIT_ERROR;
        }
    };
    print!("{}", crate::report::console_summary(&outcome.summary));
    println!("results: {}", outcome.run_dir.display());
    for f in &outcome.files {
        println!("  {}", f.display());
    }
    if outcome.interrupted {
        EXIT_INTERRUPTED
    } else if outcome.refused > 0 {
        // The README's contract: a policy (or plugin) error is 2, even when other tests ran.
        eprintln!(
            "error: {} test{} could not be carried out (refused by the policy or not planned); see the reasons above",
            outcome.refused,
            if outcome.refused == 1 { "" } else { "s" }
        );
        EXIT_ERROR
    } else if outcome.all_passed() {
        EXIT_OK
    } else {
        EXIT_TEST_FAILED
    }
}

/// `I/N` with `0 <= I < N`.
fn parse_shard(s: &str) -> Result<(u32, u32), String> {
    let (i, n) = s.split_once('/').ok_or_else(|| format!("`{s}` is not I/N, such as 0/4"))?;
    let num = |x: &str| x.trim().parse::<u32>().map_err(|_| format!("`{x}` in `{s}` is not a whole number"));
    let (i, n) = (num(i)?, num(n)?);
    if n == 0 || i >= n {
        return Err(format!(
            "shard {i} of {n} does not exist: shards are numbered 0 to N-1 (`0/{}` … `{}/{}`)",
            n.max(1),
            n.max(1) - 1,
            n.max(1)
        ));
    }
    Ok((i, n))
}

/// `--engine slurm`: check the experiment here, then let Slurm run its shards and merge them.
fn on_slurm(cmd: &RunCmd, g: &GlobalArgs) -> u8 {
    let Some(file) = &cmd.experiment else {
        eprintln!("error: --engine slurm needs the experiment file: the tasks on the nodes read it");
        return EXIT_ERROR;
    };
    if cmd.resume.is_some() || cmd.rerun_failed.is_some() || cmd.shard.is_some() {
        eprintln!("error: --engine slurm makes its own shards; --resume, --rerun-failed and --shard go to `run` on one machine");
        return EXIT_ERROR;
    }
    // Refuse a broken file here rather than in every task.
    let session = match super::open_session_or_demo(Some(file), g) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let mut run_args: Vec<String> = vec!["--jobs".into(), cmd.jobs.to_string()];
    let seed = cmd.seed.unwrap_or(session.experiment.settings.seed);
    run_args.extend(["--seed".into(), seed.to_string()]);
    if let Some(n) = cmd.repeat {
        run_args.extend(["--repeat".into(), n.to_string()]);
    }
    if let Some(k) = cmd.pass {
        run_args.extend(["--pass".into(), k.to_string()]);
    }
    for t in &cmd.only {
        run_args.extend(["--test".into(), t.clone()]);
    }
    for d in &g.plugin_dirs {
        run_args.extend([
            "--plugin-dir".into(),
            std::path::absolute(d).unwrap_or_else(|_| d.clone()).display().to_string(),
        ]);
    }
    if g.locked {
        run_args.push("--locked".into());
    }
    run_args.extend(["--cache-dir".into(), g.cache_root().display().to_string()]);
    let r = crate::run::slurm::SlurmRun {
        experiment: std::path::absolute(file).unwrap_or_else(|_| file.clone()),
        output: cmd.output_dir.clone().unwrap_or_else(|| session.experiment.settings.output_dir.clone()),
        shards: cmd.shards,
        parallel: cmd.slurm_parallel.unwrap_or(cmd.shards),
        run_args,
        sbatch_args: cmd.sbatch_option.clone(),
        cache_root: g.cache_root(),
    };
    match crate::run::slurm::run(&r) {
        Ok(o) => {
            print!("{}", crate::report::console_summary(&o.merged.summary));
            println!("slurm job {}: {} shards merged", crate::text::terminal(&o.job), cmd.shards);
            println!("results: {}", o.merged.dir.display());
            for f in &o.merged.files {
                println!("  {}", f.display());
            }
            if o.merged.all_passed() {
                EXIT_OK
            } else {
                EXIT_TEST_FAILED
            }
        }
        Err(e) => {
            super::print_error(&e);
            EXIT_ERROR
        }
    }
}
