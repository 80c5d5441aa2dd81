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
    /// Where the tests run: `local` (this machine), `slurm` (an array job of `--shards`
    /// tasks, each `run --shard i/N` on a node, merged when the job ends) or `swarm` (each
    /// Docker test a replicated-job service on a Docker Swarm, merged when all end); docs/SCALE.md.
    #[arg(long, value_enum, default_value_t = Engine::Local)]
    pub engine: Engine,
    /// With --engine swarm: push the cells' image to this registry (`host:port`) so every
    /// node can pull it [default: each node uses its local images].
    #[arg(long, value_name = "HOST:PORT")]
    pub registry: Option<String>,
    /// With --engine swarm: CPUs reserved for (and allowed to) each cell's runner.
    #[arg(long, value_name = "CPUS", default_value_t = 1.0, value_parser = parse_cpus)]
    pub cell_cpus: f64,
    /// With --engine swarm: memory limit (and reservation) of each cell's runner (`2GiB`).
    #[arg(long, value_name = "SIZE", value_parser = crate::config::units::parse_size)]
    pub cell_memory: Option<u64>,
    /// With --engine swarm: a placement constraint for the cells (`node.labels.panther==yes`), repeatable.
    #[arg(long, value_name = "EXPR")]
    pub constraint: Vec<String>,
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
    Swarm,
}

/// Runs `run`: the exit code says whether every test passed (see the crate's exit codes).
pub fn run(cmd: &RunCmd, g: &GlobalArgs) -> u8 {
    if let (Some(k), Some(n)) = (cmd.pass, cmd.repeat) {
        if k > n {
            eprintln!("error: `--pass {k}` is more than `--repeat {n}`: a test cannot pass more often than it runs");
            return EXIT_ERROR;
        }
    }
    if cmd.engine != Engine::Swarm
        && (cmd.registry.is_some() || cmd.cell_memory.is_some() || !cmd.constraint.is_empty())
    {
        eprintln!("error: --registry, --cell-memory and --constraint are options of --engine swarm");
        return EXIT_ERROR;
    }
    match cmd.engine {
        Engine::Local => {}
        Engine::Slurm => return on_slurm(cmd, g),
        Engine::Swarm => return on_swarm(cmd, g),
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

/// What an engine that spreads shards over machines needs first: the experiment, checked here
/// rather than in every task, and the options each task's `run` gets.
fn engine_tasks(
    cmd: &RunCmd,
    g: &GlobalArgs,
    engine: &str,
    jobs: u16,
) -> Result<(PathBuf, crate::run::Session, Vec<String>), u8> {
    let Some(file) = &cmd.experiment else {
        eprintln!("error: --engine {engine} needs the experiment file: the tasks on the nodes read it");
        return Err(EXIT_ERROR);
    };
    if cmd.resume.is_some() || cmd.rerun_failed.is_some() || cmd.shard.is_some() {
        eprintln!("error: --engine {engine} makes its own shards; --resume, --rerun-failed and --shard go to `run` on one machine");
        return Err(EXIT_ERROR);
    }
    let session = super::open_session_or_demo(Some(file), g)?;
    let mut run_args: Vec<String> = vec!["--jobs".into(), jobs.to_string()];
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
        run_args.extend(["--plugin-dir".into(), absolute(d).display().to_string()]);
    }
    if g.locked {
        run_args.push("--locked".into());
    }
    let _ = std::fs::create_dir_all(g.cache_root());
    run_args.extend(["--cache-dir".into(), absolute(&g.cache_root()).display().to_string()]);
    Ok((absolute(file), session, run_args))
}

/// A path as the tasks on other nodes (and the Docker daemon, for a Swarm cell's mounts) must
/// see it: canonical when it exists (no `..`, no symlink), else absolute.
fn absolute(p: &std::path::Path) -> PathBuf {
    std::fs::canonicalize(p).unwrap_or_else(|_| std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf()))
}

/// What an engine prints when its shards are merged; the exit code follows the merged run.
pub(super) fn report_merged(merged: &crate::run::merge::Merged, what: &str) -> u8 {
    print!("{}", crate::report::console_summary(&merged.summary));
    println!("{what}");
    println!("results: {}", merged.dir.display());
    for f in &merged.files {
        println!("  {}", f.display());
    }
    if merged.all_passed() {
        EXIT_OK
    } else {
        EXIT_TEST_FAILED
    }
}

/// `--engine slurm`: check the experiment here, then let Slurm run its shards and merge them.
fn on_slurm(cmd: &RunCmd, g: &GlobalArgs) -> u8 {
    let (file, session, run_args) = match engine_tasks(cmd, g, "slurm", cmd.jobs) {
        Ok(t) => t,
        Err(code) => return code,
    };
    let r = crate::run::slurm::SlurmRun {
        experiment: file,
        output: cmd.output_dir.clone().unwrap_or_else(|| session.experiment.settings.output_dir.clone()),
        shards: cmd.shards,
        parallel: cmd.slurm_parallel.unwrap_or(cmd.shards),
        run_args,
        sbatch_args: cmd.sbatch_option.clone(),
        cache_root: g.cache_root(),
    };
    match crate::run::slurm::run(&r) {
        Ok(o) => report_merged(
            &o.merged,
            &format!("slurm job {}: {} shards merged", crate::text::terminal(&o.job), cmd.shards),
        ),
        Err(e) => {
            super::print_error(&e);
            EXIT_ERROR
        }
    }
}

/// `--engine swarm`: check the experiment here, send each of its cells to the swarm, merge.
fn on_swarm(cmd: &RunCmd, g: &GlobalArgs) -> u8 {
    // A cell is one test iteration: `--jobs` has nothing to share out inside it.
    let (file, session, run_args) = match engine_tasks(cmd, g, "swarm", 1) {
        Ok(t) => t,
        Err(code) => return code,
    };
    let tests = crate::run::planning::selected_tests(&session.experiment, &cmd.only, cmd.repeat);
    if tests.is_empty() {
        eprintln!("error: no test of the experiment matches {:?}", cmd.only);
        return EXIT_ERROR;
    }
    let not_docker: Vec<String> = tests
        .iter()
        .filter(|t| {
            !matches!(
                crate::run::planning::environment_kind(&session.host, &t.network.kind),
                Ok(crate::plugin::types::EnvironmentKind::Docker)
            )
        })
        .map(|t| format!("`{}` ({})", crate::text::terminal(&t.name), crate::text::terminal(&t.network.kind)))
        .collect();
    if !not_docker.is_empty() {
        eprintln!(
            "error: --engine swarm runs Docker tests (a cell runs its test's containers on its node); not: {}\n  \
             help: choose Docker tests with --test, or run these with --engine local or slurm",
            not_docker.join(", ")
        );
        return EXIT_ERROR;
    }
    let cells: Vec<String> = tests
        .iter()
        .flat_map(|t| (1..=t.iterations).map(move |i| crate::run::planning::iteration_name(t, i)))
        .collect();
    let mut plugin_dirs: Vec<PathBuf> = g.plugin_dirs().iter().map(|d| absolute(d)).filter(|d| d.is_dir()).collect();
    plugin_dirs.dedup();
    let r = crate::run::swarm::SwarmRun {
        experiment: file,
        output: absolute(&cmd.output_dir.clone().unwrap_or_else(|| session.experiment.settings.output_dir.clone())),
        cells,
        run_args,
        plugin_dirs,
        cache_root: absolute(&g.cache_root()),
        registry: cmd.registry.clone(),
        cpus: cmd.cell_cpus,
        memory: cmd.cell_memory,
        constraints: cmd.constraint.clone(),
        mirrors: std::env::var_os(crate::exec::sources::MIRROR_ENV)
            .map(|v| std::env::split_paths(&v).filter(|p| !p.as_os_str().is_empty()).collect::<Vec<_>>())
            .unwrap_or_default()
            .into_iter()
            .map(|m| absolute(&m))
            .collect(),
        plugin_path: std::env::var_os("PANTHER_PLUGIN_PATH").map(|p| p.to_string_lossy().into_owned()),
    };
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return EXIT_ERROR;
        }
    };
    let shutdown = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    match rt.block_on(crate::run::swarm::run(&r, shutdown)) {
        Ok(o) => {
            let code = report_merged(
                &o.merged,
                &format!("swarm: {} cells merged (their logs: {})", r.cells.len(), o.work.display()),
            );
            if o.interrupted {
                EXIT_INTERRUPTED
            } else {
                code
            }
        }
        Err(e) => {
            super::print_error(&e);
            EXIT_ERROR
        }
    }
}

/// A positive number of CPUs (`0.5`, `2`).
fn parse_cpus(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(c) if c > 0.0 && c <= 1024.0 => Ok(c),
        _ => Err(format!("`{s}` is not a number of CPUs between 0 and 1024, such as 0.5 or 2")),
    }
}
