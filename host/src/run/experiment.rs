//! The experiment loop: every test and iteration of a session, with results written after each.

use std::future::Future;
use std::path::{Path, PathBuf};

use std::sync::Arc;
use std::time::Instant;

use tokio_util::sync::CancellationToken;

use crate::config::ServiceKind;
use crate::events::EventSink;
use crate::evidence::{self, GatherInput, ServiceOutcomeInput};
use crate::exec::leftovers::{Recorder, Swept};
use crate::exec::{Executor, ServiceInstance};
use crate::plugin::types::{EnvironmentKind, Outcome, Role, ServiceOutcome};
use crate::report::matrices::{matrix_files, write_matrices, CellResult};
use crate::report::matrix;
use crate::report::model::{RunSummary, TestResult};

use super::drive::{self, DriveResult};
use super::judge::{self, TestStatus};
use super::layout::{self, RunLayout};
use super::links;
use super::planning::{plan_test, PlannedTest, Session};

/// How a run ended, for the CLI's exit code and final message.
#[derive(Debug)]
pub struct RunOutcome {
    pub run_dir: PathBuf,
    pub summary: RunSummary,
    pub files: Vec<PathBuf>,
    pub interrupted: bool,
    /// Tests that could not be carried out at all: refused by the policy, unrenderable, or a
    /// plugin that failed to plan (an IUT declaring a test case unsupported is a skip, not
    /// this). The CLI exits 2 for them, as for any policy or plugin error.
    pub refused: usize,
}

impl RunOutcome {
    /// Whether every test passed (skipped tests do not count against it). With `--pass K`, a
    /// test that ran several times passed when K of its runs did.
    pub fn all_passed(&self) -> bool {
        let ok = |t: &TestResult| matches!(t.status, TestStatus::Passed | TestStatus::Skipped);
        let Some(k) = self.summary.pass else { return self.summary.tests.iter().all(ok) };
        self.summary.runs().iter().all(|r| r.passed + r.skipped >= k.min(r.total))
    }
}

/// Options of one run beyond the experiment file.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    /// Overrides `[experiment] output_dir`.
    pub output_dir: Option<PathBuf>,
    /// Only tests whose name or slug contains one of these.
    pub only: Vec<String>,
    /// Tests run at once (at least 1).
    pub jobs: usize,
    /// Run every test this many times (replacing its `iterations`).
    pub repeat: Option<u32>,
    /// With `repeat`: how many runs must pass (all when unset).
    pub pass: Option<u32>,
    /// Continue this run directory: run only the tests without a saved result to keep.
    pub resume: Option<(PathBuf, super::resume::Keep)>,
    /// `(I, N)`: run only the tests whose 0-based position `k` has `k % N == I`.
    pub shard: Option<(u32, u32)>,
}

/// Why a run could not start at all.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum RunError {
    #[error("cannot create the run directory {path}: {source}")]
    #[diagnostic(
        code(panther::run::output),
        help("check that the output directory is writable, or pass --output-dir")
    )]
    Output {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    #[diagnostic(transparent)]
    Certs(#[from] crate::certs::CertError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Resume(#[from] super::resume::ResumeError),
    #[error("no test matches {0:?}")]
    #[diagnostic(code(panther::run::no_tests), help("`panther-host validate FILE` lists the tests of an experiment"))]
    NoTests(Vec<String>),
}

/// Runs every test of the session's experiment. `shutdown` resolving (Ctrl-C in `main`, a
/// oneshot in tests) stops the current test, tears it down and marks the run interrupted.
pub async fn run_experiment(
    session: &Session,
    opts: &RunOptions,
    shutdown: impl Future<Output = ()>,
) -> Result<RunOutcome, RunError> {
    let exp = &session.experiment;
    let output = opts.output_dir.clone().unwrap_or_else(|| exp.settings.output_dir.clone());
    // A run killed earlier (kill -9, a crash) may have left processes holding ports.
    for s in crate::exec::leftovers::sweep(&session.cache_root, None) {
        if !matches!(s, Swept::StillRunning { .. }) {
            tracing::warn!("a killed run left processes behind: {s}");
        }
    }
    let tests = super::planning::selected_tests(exp, &opts.only, opts.repeat);
    let tests: Vec<&crate::config::TestSpec> = tests.iter().collect();
    if tests.is_empty() {
        return Err(RunError::NoTests(opts.only.clone()));
    }
    let identity = super::resume::RunIdentity::of(session, opts);
    let layout = match &opts.resume {
        Some((dir, _)) => {
            super::resume::check(dir, &identity)?;
            RunLayout::open(dir, &session.cache_root)
        }
        None => RunLayout::create(&output, &exp.name, &session.cache_root)
            .map_err(|(path, source)| RunError::Output { path, source })?,
    };
    if let Err(e) = identity.write(&layout.root) {
        tracing::warn!("cannot write {}: {e}; this run cannot be resumed", super::resume::RUN_JSON);
    }
    let recorder = match Recorder::create(&layout.root, &session.cache_root) {
        Ok(r) => Some(Arc::new(r)),
        Err(e) => {
            tracing::warn!(
                "cannot record this run's processes ({e}); `panther-host clean` cannot end them if the host is killed"
            );
            None
        }
    };
    let _ = std::fs::write(layout.root.join("experiment.toml"), exp.source.as_bytes());

    let events = EventSink::create(&layout.root.join("events.jsonl"))
        .map_err(|source| RunError::Output { path: layout.root.join("events.jsonl"), source })?;
    // Every service of the experiment, not only of the tests chosen to run: a test gets the
    // same certificate whichever others run with it (`--test`, shards).
    // The `ipv6` test case adds `<name>6` (`{{target.host6}}` under Docker).
    let names: Vec<String> = exp
        .tests
        .iter()
        .flat_map(|t| {
            let ipv6 = t.testcase.as_deref() == Some("ipv6");
            t.services
                .iter()
                .flat_map(move |s| std::iter::once(s.name.clone()).chain(ipv6.then(|| format!("{}6", s.name))))
        })
        .collect::<std::collections::BTreeSet<_>>()
        .into_iter()
        .collect();
    // A simulation must send the same bytes from run to run, its certificates included, and
    // its clock starts in the year 2000: such runs get certificates kept per seed and names.
    let simulated = tests.iter().any(|t| {
        matches!(super::planning::environment_kind(&session.host, &t.network.kind), Ok(EnvironmentKind::Shadow))
    });
    // `amplificationlimit` needs a certificate chain large enough for the server to be bound
    // by the 3x limit: its tests get the same names under a long chain, in a directory of
    // their own; every other test keeps the short chain.
    let mut sets = vec![(layout.certs(), 0)];
    if exp.tests.iter().any(super::planning::needs_long_chain) {
        sets.push((layout.long_chain_certs(), crate::certs::LONG_CHAIN_INTERMEDIATES));
    }
    for (dir, intermediates) in sets {
        let certs = if simulated {
            let mut key = format!("{}:{}", exp.settings.seed, names.join(","));
            if intermediates > 0 {
                key.push_str(&format!(":{intermediates}"));
            }
            crate::certs::generate_kept(&dir, &names, intermediates, &layout.cache_root.join("certs"), &key)?
        } else {
            crate::certs::generate(&dir, &names, intermediates)?
        };
        tracing::debug!(dir = %certs.dir.display(), "made the run's certificates");
    }

    let cancel = CancellationToken::new();
    let stop = cancel.clone();
    let watcher = async move {
        shutdown.await;
        tracing::warn!("interrupted: stopping the current test and tearing it down");
        stop.cancel();
    };
    let work = run_tests(session, &layout, &tests, &events, &cancel, recorder.as_ref(), opts);
    let (summary, files, refused) = tokio::select! {
        r = work => r,
        _ = async { watcher.await; std::future::pending::<()>().await } => unreachable!("the watcher never finishes"),
    };
    let interrupted = cancel.is_cancelled();
    if let Some(r) = &recorder {
        r.finish();
    }
    Ok(RunOutcome { run_dir: layout.root.clone(), summary, files, interrupted, refused })
}

#[allow(clippy::too_many_arguments)] // the run's context, passed down as `run_experiment` holds it
async fn run_tests(
    session: &Session,
    layout: &RunLayout,
    tests: &[&crate::config::TestSpec],
    events: &EventSink,
    cancel: &CancellationToken,
    recorder: Option<&Arc<Recorder>>,
    opts: &RunOptions,
) -> (RunSummary, Vec<PathBuf>, usize) {
    let exp = &session.experiment;
    let jobs = opts.jobs.max(1);
    let mut summary = RunSummary::start(&exp.name, &layout.id, &exp.path, exp.settings.fast_fail);
    summary.seed = exp.settings.seed;
    (summary.repeat, summary.pass) = (opts.repeat, opts.pass);
    events.experiment_started(&exp.name, &layout.id);

    // Plan everything first: a plan the policy refuses is reported before anything runs,
    // and the other tests still run.
    let checked: Vec<PlannedTest> = tests.iter().map(|t| plan_test(session, layout, t, 1, false)).collect();
    for t in &checked {
        for p in &t.problems {
            tracing::error!(test = %t.spec.name, "{p}");
        }
    }

    let progress = events.progress(tests.iter().map(|t| t.iterations as u64).sum(), "tests");
    let mut board = Board {
        summary,
        progress,
        orders: vec![],
        cells: vec![],
        stop_reason: None,
        refused: 0,
        files: vec![],
        running: vec![],
    };
    // Up to `jobs` tests at once. Each has its own ports (the run's port registry), run
    // directory and capture filtered to its ports; tests that ask for the same fixed port
    // never run at the same time.
    let mut running = futures_util::stream::FuturesUnordered::new();
    let mut order = 0;
    for (spec, pre) in tests.iter().zip(&checked) {
        let fixed = fixed_ports(pre);
        for iteration in 1..=spec.iterations {
            order += 1;
            // A shard holds every N-th test, so each shard gets its share of every matrix.
            if let Some((i, n)) = opts.shard {
                if (order - 1) % n as usize != i as usize {
                    continue;
                }
            }
            let name = super::planning::iteration_name(spec, iteration);
            while !running.is_empty() && (running.len() >= jobs || board.holds_any(&fixed)) {
                let done = futures_util::StreamExt::next(&mut running).await.expect("not empty");
                board.done(done, layout, exp, cancel);
            }
            // With a free slot a new test could start after Ctrl-C; it must not.
            if cancel.is_cancelled() && board.stop_reason.is_none() {
                board.stop_reason = Some("the run was interrupted".into());
            }
            if let Some(reason) = &board.stop_reason {
                let r = TestResult::skipped(&name, reason);
                board.record(order, r, None);
                continue;
            }
            if !pre.problems.is_empty() {
                let msg = pre.problems.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("; ");
                if pre.problems.iter().any(|p| blocks_run(p.as_ref())) {
                    board.refused += 1;
                }
                let mut result =
                    TestResult::refused(&name, &msg, &layout.test_dir(&spec.slug, iteration, spec.iterations));
                // An IUT plugin that refuses a test case as `unsupported` says what a runner
                // endpoint says with exit 127; any other refusal is the harness's problem.
                let unsupported = pre.problems.iter().all(|p| !blocks_run(p.as_ref()));
                if unsupported && spec.cell.is_some() {
                    result.status = TestStatus::Skipped;
                }
                let status = if unsupported { matrix::Status::UnsupportedByIut } else { matrix::Status::InfraError };
                super::resume::save(&layout.test_dir(&spec.slug, iteration, spec.iterations), &result);
                board.record(order, result, spec.cell.clone().map(|c| (c, Some(status))));
                board.write(layout, exp);
                continue;
            }
            if let Some((_, keep)) = &opts.resume {
                let dir = layout.test_dir(&spec.slug, iteration, spec.iterations);
                if let Some(result) = super::resume::saved(&dir, *keep) {
                    let done = Done { order, name: name.clone(), cell: spec.cell.clone(), result, refused: false };
                    board.done(done, layout, exp, cancel);
                    continue;
                }
            }
            board.start(order, &name, fixed.clone());
            let name2 = name.clone();
            running.push(async move {
                if pre.environment == EnvironmentKind::Docker {
                    refresh_subnets(layout).await;
                }
                let r = run_one(session, layout, spec, iteration, &name2, events, cancel, recorder).await;
                let dir = layout.test_dir(&spec.slug, iteration, spec.iterations);
                // Saved at once: a run killed from now on resumes after this test.
                super::resume::save(&dir, &r.0);
                // Its networks are gone by now (teardown), so its subnets and ports are free again.
                let key = dir.display().to_string();
                layout.subnets.release(&key);
                layout.ports.release(&key);
                Done { order, name: name2, cell: spec.cell.clone(), result: r.0, refused: r.1 }
            });
        }
    }
    while let Some(done) = futures_util::StreamExt::next(&mut running).await {
        board.done(done, layout, exp, cancel);
    }
    let cells = board.cells();
    let Board { mut summary, progress, refused, mut files, .. } = board;
    progress.finish();
    summary.finish(cancel.is_cancelled());
    events.experiment_finished(&exp.name, summary.status_word());
    match crate::report::write_all(&layout.root, &summary) {
        Ok(f) => files = f,
        Err(e) => tracing::error!("cannot write the reports: {e}"),
    }
    // The result matrices are results too: list them with the reports.
    files.extend(matrix_files(&layout.root, &cells));
    (summary, files, refused)
}

/// A test that finished running.
struct Done {
    order: usize,
    name: String,
    cell: Option<crate::config::MatrixCell>,
    result: TestResult,
    refused: bool,
}

/// The run's results so far, in the experiment's order whatever order its tests finish in
/// (with `--jobs`), and the tests running now.
struct Board {
    summary: RunSummary,
    progress: crate::events::Progress,
    /// The experiment order of each test in `summary.tests`, ascending.
    orders: Vec<usize>,
    /// Matrix cells: the order of their test, the cell, and a status that overrides the
    /// test's own (for plans refused before anything ran).
    cells: Vec<(usize, crate::config::MatrixCell, Option<matrix::Status>)>,
    stop_reason: Option<String>,
    refused: usize,
    files: Vec<PathBuf>,
    /// Running: order, name, the fixed ports its plans bind.
    running: Vec<(usize, String, Vec<u16>)>,
}

impl Board {
    /// Adds a finished (or skipped, or refused) test at its place.
    fn record(
        &mut self,
        order: usize,
        result: TestResult,
        cell: Option<(crate::config::MatrixCell, Option<matrix::Status>)>,
    ) {
        let at = self.orders.partition_point(|o| *o < order);
        self.orders.insert(at, order);
        self.summary.insert(at, result);
        if let Some((c, status)) = cell {
            self.cells.push((order, c, status));
        }
        self.progress.inc(1);
    }

    fn cells(&self) -> Vec<CellResult> {
        let mut cells: Vec<CellResult> = self
            .cells
            .iter()
            .map(|(order, cell, status)| CellResult {
                cell: cell.clone(),
                test: self.orders.partition_point(|o| o < order),
                status: *status,
            })
            .collect();
        cells.sort_by_key(|c| c.test);
        cells
    }

    /// Writes the results so far: a run killed now leaves them.
    fn write(&mut self, layout: &RunLayout, exp: &crate::config::Experiment) {
        write_matrices(&layout.root, &exp.name, &self.cells(), &self.summary);
        self.files = crate::report::write_all(&layout.root, &self.summary).unwrap_or_else(|e| {
            tracing::error!("cannot write the reports: {e}");
            vec![]
        });
    }

    fn start(&mut self, order: usize, name: &str, fixed: Vec<u16>) {
        self.running.push((order, name.to_string(), fixed));
        self.show_running();
    }

    fn show_running(&self) {
        let names: Vec<&str> = self.running.iter().map(|(_, n, _)| n.as_str()).collect();
        self.progress.set_message(&names.join(" | "));
    }

    /// Whether a running test holds one of these fixed ports.
    fn holds_any(&self, fixed: &[u16]) -> bool {
        self.running.iter().any(|(_, _, p)| p.iter().any(|x| fixed.contains(x)))
    }

    fn done(&mut self, d: Done, layout: &RunLayout, exp: &crate::config::Experiment, cancel: &CancellationToken) {
        self.running.retain(|(o, _, _)| *o != d.order);
        self.show_running();
        self.refused += usize::from(d.refused);
        let failed = !matches!(d.result.status, TestStatus::Passed | TestStatus::Skipped);
        self.record(d.order, d.result, d.cell.map(|c| (c, None)));
        if cancel.is_cancelled() {
            self.stop_reason = Some("the run was interrupted".into());
        } else if failed && exp.settings.fast_fail && self.stop_reason.is_none() {
            self.stop_reason = Some(format!("fast-fail: `{}` failed", d.name));
            self.summary.fast_fail_triggered(&d.name);
        }
        self.write(layout, exp);
    }
}

/// The fixed ports a local test's plans bind (a port number the plugin chose, not `0`): two
/// tests that bind the same one cannot run at once. Containers have addresses of their own.
fn fixed_ports(t: &PlannedTest) -> Vec<u16> {
    if t.environment != EnvironmentKind::Localhost {
        return vec![];
    }
    t.services
        .iter()
        .filter_map(|s| s.raw.as_ref())
        .flat_map(|p| p.ports.iter().map(|p| p.number))
        .filter(|n| *n != 0)
        .collect()
}

/// Runs one iteration of one test and judges it; `true` when its plans were refused.
#[allow(clippy::too_many_arguments)] // the run's context, passed down as the loop holds it
async fn run_one(
    session: &Session,
    layout: &RunLayout,
    spec: &crate::config::TestSpec,
    iteration: u32,
    name: &str,
    events: &EventSink,
    cancel: &CancellationToken,
    recorder: Option<&Arc<Recorder>>,
) -> (TestResult, bool) {
    let started = Instant::now();
    let planned = plan_test(session, layout, spec, iteration, true);
    let dir = planned.dir.clone();
    let attempt = Attempt { session, layout, spec, iteration, name, events, cancel, dir, started };
    let Some(instances) = planned.instances() else { return attempt.refused(&planned) };
    events.test_started(name);
    let files: Vec<(String, u64)> = spec.files.iter().map(|f| (f.path.clone(), f.size)).collect();
    if let Err(e) = layout::write_www(&attempt.dir.join("www"), &files) {
        return (attempt.error(&format!("cannot write the served files: {e}")), false);
    }

    match planned.environment {
        EnvironmentKind::Localhost => {
            let e = crate::exec::local::LocalExecutor::new(layout.root.clone(), events.clone());
            let e = match recorder {
                Some(r) => e.recording(r.clone()),
                None => e,
            };
            attempt.carry_out(&e, planned, instances).await
        }
        EnvironmentKind::Docker => {
            match crate::exec::docker::DockerExecutor::connect(layout.root.clone(), &layout.id, events.clone()).await {
                Ok(e) => attempt.carry_out(&e, planned, instances).await,
                Err(e) => (attempt.error(&e.to_string()), false),
            }
        }
        EnvironmentKind::Shadow => {
            let local = crate::exec::local::LocalExecutor::new(layout.root.clone(), events.clone());
            let local = match recorder {
                Some(r) => local.recording(r.clone()),
                None => local,
            };
            let settings = shadow_settings(session, spec, iteration);
            let e = crate::exec::shadow::ShadowExecutor::new(
                local,
                attempt.dir.clone(),
                layout.cache_root.clone(),
                events.clone(),
                settings,
            );
            attempt.carry_out(&e, planned, instances).await
        }
    }
}

/// How a test is simulated under Shadow: the iteration's seed, the test's link (planning
/// refused what Shadow cannot model), `stop_time` (default: the test's timeout) and
/// `model_unblocked_syscall_latency` from the network table.
fn shadow_settings(
    session: &Session,
    spec: &crate::config::TestSpec,
    iteration: u32,
) -> crate::exec::shadow::SimSettings {
    use crate::exec::shadow::SimLink;
    let params = &spec.network.params;
    let stop =
        params.get("stop_time").and_then(|v| crate::config::units::parse_duration(v).ok()).unwrap_or(spec.timeout);
    crate::exec::shadow::SimSettings {
        seed: spec.seed(session.experiment.settings.seed, iteration),
        stop,
        link: spec.network.link.as_ref().map(|(l, _)| SimLink::of(l)).unwrap_or(SimLink::DEFAULT),
        model_syscall_latency: params.get("model_unblocked_syscall_latency").is_some_and(|v| v == "true"),
    }
}

/// One iteration of one test, planned, on its way through an executor.
struct Attempt<'a> {
    session: &'a Session,
    layout: &'a RunLayout,
    spec: &'a crate::config::TestSpec,
    iteration: u32,
    name: &'a str,
    events: &'a EventSink,
    cancel: &'a CancellationToken,
    dir: PathBuf,
    started: Instant,
}

impl Attempt<'_> {
    fn error(&self, msg: &str) -> TestResult {
        TestResult::error(self.name, msg, &self.dir, self.started.elapsed())
    }

    fn refused(&self, planned: &PlannedTest) -> (TestResult, bool) {
        let msg = planned.problems.iter().map(|p| p.to_string()).collect::<Vec<_>>().join("; ");
        let blocks = planned.problems.iter().any(|p| blocks_run(p.as_ref()));
        (TestResult::refused(self.name, &msg, &self.dir), blocks)
    }

    /// Networks, capture, drive, evidence, verdicts: the test from its executor's side.
    async fn carry_out<E: Executor>(
        &self,
        exec: &E,
        mut planned: PlannedTest,
        mut instances: Vec<ServiceInstance>,
    ) -> (TestResult, bool) {
        let (name, spec, dir, events) = (self.name, self.spec, &self.dir, self.events);
        // Another program (a parallel run, another test suite) may create a network on the
        // subnet chosen for this test after it was chosen; the plans hold its addresses, so the
        // test is planned again on another subnet, a few times at most.
        let mut attempts = 0;
        loop {
            let deployment = planned.deployment.as_ref().expect("a planned test without problems has a deployment");
            match exec.setup_networks(name, deployment, &planned.subnets, planned.dual_stack).await {
                Ok(()) => break,
                Err(crate::exec::ExecError::SubnetTaken { subnet, .. }) if attempts < 3 => {
                    attempts += 1;
                    tracing::info!(test = %name, %subnet, "subnet taken meanwhile; planning the test again on another one");
                    let _ = exec.teardown().await;
                    let key = dir.display().to_string();
                    self.layout.subnets.mark_in_use(subnet);
                    self.layout.subnets.release(&key);
                    planned = plan_test(self.session, self.layout, spec, self.iteration, true);
                    match planned.instances() {
                        Some(i) => instances = i,
                        None => return self.refused(&planned),
                    }
                }
                Err(e) => {
                    let teardown = exec.teardown().await;
                    tracing::debug!(?teardown, "torn down after a network error");
                    return (self.error(&e.to_string()), false);
                }
            }
        }
        let ports: Vec<u16> = instances.iter().flat_map(|s| s.ports.values().copied()).collect();
        let deployment = planned.deployment.as_ref().expect("a planned test without problems has a deployment");
        // Without ports there is nothing to filter on, and capturing all of loopback would
        // record other tests' traffic; tshark also costs ~0.5 s to start, so such tests go
        // without.
        let capture = match exec.capture_interface(name, deployment).filter(|_| !ports.is_empty()) {
            Some(iface) => crate::exec::capture::Capture::start(&iface, &ports, &dir.join("capture.pcap"))
                .await
                .map_err(|e| e.note()),
            None if exec.simulates() => Err(String::new()),
            None if ports.is_empty() => Err("no capture: the services declare no ports".to_string()),
            None => Err("the environment asked for no packet capture".to_string()),
        };
        // The link's relays run before any service starts and stop after every one ended, so
        // their captures hold the whole conversation.
        let started = match links::start(&planned, dir) {
            Ok(r) => exec.start_relays(name, &planned.relay_containers).await.map(|()| r).map_err(|e| e.to_string()),
            Err(e) => Err(e),
        };
        let relays = match started {
            Ok(r) => r,
            Err(e) => {
                if let Ok(c) = capture {
                    let _ = c.stop().await;
                }
                let teardown = exec.teardown().await;
                tracing::debug!(?teardown, "torn down after the link failed to start");
                return (self.error(&e), false);
            }
        };
        let settle = spec.wait.filter(|_| !exec.simulates());
        let driving = drive::drive_test(exec, &instances, settle, spec.timeout, events, self.cancel);
        // The drive's guard has killed what the test started by the time the panic lands
        // here; the run goes on with the next test.
        let drive = match futures_util::FutureExt::catch_unwind(std::panic::AssertUnwindSafe(driving)).await {
            Ok(d) => d,
            Err(panic) => {
                let what = panic
                    .downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| panic.downcast_ref::<&str>().copied())
                    .unwrap_or("no message");
                if let Ok(c) = capture {
                    let _ = c.stop().await;
                }
                events.test_finished(name, "failed");
                let msg =
                    format!("the host panicked while driving the test ({what}); everything it started was killed");
                return (self.error(&msg), false);
            }
        };
        let link = links::stop(relays, &planned, &self.layout.root);
        let capture_note = match capture {
            Ok(c) => c.stop().await.err().map(|e| e.note()),
            Err(note) => Some(note).filter(|n| !n.is_empty()),
        };

        let outcome = gather(exec, &planned, &instances, &drive, spec, dir, capture_note);
        let (tester, iut_verdicts) = assess(self.session, &planned, &outcome);
        let judgement = judge::judge(&drive, &outcome, tester, iut_verdicts);
        events.test_finished(name, crate::report::model::test_status_word(judgement.status));
        let services = drive.services.iter().map(drive::ServiceRun::result).collect();
        let mut result = TestResult::ran(name, dir, services, drive.teardown, judgement, self.started.elapsed());
        // A test that did not pass over an impaired link says what the link did to it.
        if let Some(l) = &link {
            if !matches!(result.status, TestStatus::Passed | TestStatus::Skipped) {
                let (reasons, evidence) = links::explain(l, dir, &self.layout.root);
                result.reasons.extend(reasons);
                result.evidence.extend(evidence);
            }
        }
        result.link = link;
        (result, false)
    }
}

/// Tells the run's subnet pool which subnets the daemon's networks use right now, just before
/// a Docker test is planned to run. Without a daemon nothing changes: the executor then says
/// clearly that Docker is missing.
async fn refresh_subnets(layout: &RunLayout) {
    let used = match crate::exec::docker::connect_daemon().await {
        Ok(d) => crate::exec::docker::subnets_in_use(&d).await,
        Err(e) => Err(e),
    };
    match used {
        Ok(u) => layout.subnets.set_in_use(u),
        Err(e) => tracing::debug!("subnets in use unknown: {e}"),
    }
}

fn service_outcome(
    exec: &impl Executor,
    svc: &ServiceInstance,
    r: &drive::ServiceRun,
    run_root: &Path,
) -> ServiceOutcome {
    let rel = |p: &Path| p.strip_prefix(run_root).unwrap_or(p).display().to_string();
    let (stdout, stderr) = exec.service_logs(svc);
    ServiceOutcome {
        service: svc.name.clone(),
        role: svc.role,
        implementation: svc.implementation.clone(),
        exit_code: r.exit.exit_code,
        signal: r.exit.signal,
        timed_out: r.exit.timed_out,
        stopped_by_host: r.exit.stopped_by_host,
        stdout_tail: crate::exec::local::tail(&stdout, evidence::MAX_LOG_TAIL_BYTES),
        stderr_tail: crate::exec::local::tail(&stderr, evidence::MAX_LOG_TAIL_BYTES),
        artifacts: r.artifacts.iter().map(|(k, p)| (*k, rel(p))).collect(),
    }
}

fn gather(
    exec: &impl Executor,
    planned: &PlannedTest,
    instances: &[ServiceInstance],
    drive: &DriveResult,
    spec: &crate::config::TestSpec,
    dir: &Path,
    capture_note: Option<String>,
) -> Outcome {
    let services = instances
        .iter()
        .zip(&drive.services)
        // A service with nothing to run (a judging tester) has no exit to report.
        .filter(|(svc, _)| !svc.plan.plan().phases.run.is_empty())
        .map(|(svc, r)| ServiceOutcomeInput { outcome: service_outcome(exec, svc, r, dir) })
        .collect();
    let pcap = dir.join("capture.pcap");
    let mut out = evidence::gather(&GatherInput {
        test: spec.name.clone(),
        testcase: spec.testcase.clone(),
        environment: planned.environment,
        services,
        pcap: pcap.exists().then_some(pcap),
        keylogs: instances.iter().map(|s| s.dirs.keylog()).filter(|p| p.exists()).collect(),
        ports: instances.iter().flat_map(|s| s.ports.values().copied()).collect(),
        www: dir.join("www"),
        downloads: instances
            .iter()
            // A tester that fetches as the client counts too (it was given the requests).
            .filter(|s| s.role == Role::Client)
            .map(|s| s.dirs.downloads.clone())
            .collect(),
        requests: spec.files.iter().map(|f| f.path.clone()).collect(),
        max_packets: evidence::DEFAULT_MAX_PACKETS,
    });
    if out.capture_note.is_none() {
        out.capture_note = capture_note;
    }
    out
}

/// Asks the tester (if any) and every IUT plugin to judge the outcome.
fn assess(
    session: &Session,
    planned: &PlannedTest,
    outcome: &Outcome,
) -> (Option<(String, crate::plugin::types::Verdict)>, Vec<(String, crate::plugin::types::Verdict)>) {
    let mut tester = None;
    let mut iuts = vec![];
    let mut asked = std::collections::BTreeSet::new();
    for s in &planned.services {
        let plugin = &s.spec.implementation;
        if !asked.insert(plugin.clone()) {
            continue;
        }
        match session.host.assess(plugin, outcome) {
            Ok(Some(v)) if s.spec.kind == ServiceKind::Tester => tester = Some((plugin.clone(), v)),
            Ok(Some(v)) => iuts.push((plugin.clone(), v)),
            Ok(None) => {}
            Err(e) => {
                tracing::error!("{e}");
                let v = crate::plugin::types::Verdict {
                    status: crate::plugin::types::VerdictStatus::InfraError,
                    reasons: vec![format!("assess() failed: {e}")],
                    evidence: vec![],
                };
                if s.spec.kind == ServiceKind::Tester {
                    tester = Some((plugin.clone(), v));
                } else {
                    iuts.push((plugin.clone(), v));
                }
            }
        }
    }
    (tester, iuts)
}

/// Whether a planning problem is a plugin's `unsupported` answer.
/// Whether a planning problem keeps a test from being carried out. Everything does except an
/// IUT plugin refusing a test case as `unsupported`, which is what a runner endpoint says
/// with exit 127: that test is skipped, the run is not in error.
pub fn blocks_run(p: &(dyn miette::Diagnostic + Send + Sync + 'static)) -> bool {
    let e: &(dyn std::error::Error + 'static) = p;
    !matches!(
        e.downcast_ref::<crate::plugin::CallError>(),
        Some(crate::plugin::CallError::Plugin { error: crate::plugin::types::PluginError::Unsupported(_), .. })
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugin::types::{ParamProblem, PluginError};
    use crate::plugin::CallError;

    // Only a plugin's `unsupported` answer makes a refused cell unsupported-by-iut.
    #[test]
    fn only_an_unsupported_answer_counts_as_unsupported() {
        let said = |error| -> super::super::planning::Problem {
            Box::new(CallError::Plugin { plugin: "p".into(), call: "plan", error })
        };
        assert!(!blocks_run(said(PluginError::Unsupported("ecn".into())).as_ref()));
        let bad = said(PluginError::InvalidParam(ParamProblem { name: "alpn".into(), message: "no".into() }));
        assert!(blocks_run(bad.as_ref()));
        let other: super::super::planning::Problem = Box::new(super::super::planning::PlanProblem("x".into()));
        assert!(blocks_run(other.as_ref()));
    }
}
