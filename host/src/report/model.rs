//! The result model every report is rendered from: [`RunSummary`] → [`TestResult`] →
//! [`ServiceResult`]. Built by the orchestrator as tests finish; saved whole as
//! `run-summary.json`, the whole record of a finished run for tools that read it.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::exec::{PhaseReport, ServiceExit, TeardownReport};
use crate::plugin::types::{ArtifactKind, Verdict, VerdictStatus};

/// The judgement of one test (made by `run::judge`).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Judgement {
    pub status: TestStatus,
    /// Most important first.
    pub reasons: Vec<String>,
    pub evidence: Vec<String>,
    /// Every plugin verdict that went into it, with the plugin's name.
    pub verdicts: Vec<(String, Verdict)>,
}

/// The status of a test, as the reports name it (the seed's words). The orchestrator's
/// judge produces it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TestStatus {
    Passed,
    Failed,
    Skipped,
    Timeout,
    Interrupted,
    Unknown,
}

/// Version of the `experiment_summary.json` layout (the seed's is "1.0").
pub const REPORT_FORMAT_VERSION: &str = "1.0";
/// Longest `error_message`, as in the seed.
pub const MAX_ERROR_CHARS: usize = 200;
/// Bytes of stdout/stderr kept per service for reports.
pub const TAIL_BYTES: usize = 2048;

/// The status of a whole run (the seed's words).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ExperimentStatus {
    Completed,
    Failed,
    Interrupted,
    Timeout,
    /// Still running (a partial summary) or nothing ran.
    Unknown,
}

impl ExperimentStatus {
    pub fn word(self) -> &'static str {
        match self {
            ExperimentStatus::Completed => "completed",
            ExperimentStatus::Failed => "failed",
            ExperimentStatus::Interrupted => "interrupted",
            ExperimentStatus::Timeout => "timeout",
            ExperimentStatus::Unknown => "unknown",
        }
    }

    /// The seed's precedence: fast-fail → failed; any interrupted → interrupted; any timeout
    /// → timeout; any failed or unknown → failed; otherwise (passed or skipped) completed.
    pub fn derive(tests: &[TestResult], fast_fail: bool, interrupted: bool) -> Self {
        let any = |s: TestStatus| tests.iter().any(|t| t.status == s);
        if fast_fail {
            ExperimentStatus::Failed
        } else if interrupted || any(TestStatus::Interrupted) {
            ExperimentStatus::Interrupted
        } else if any(TestStatus::Timeout) {
            ExperimentStatus::Timeout
        } else if any(TestStatus::Failed) || any(TestStatus::Unknown) {
            ExperimentStatus::Failed
        } else if tests.is_empty() {
            ExperimentStatus::Unknown
        } else {
            ExperimentStatus::Completed
        }
    }
}

/// The word of a test status.
pub fn test_status_word(s: TestStatus) -> &'static str {
    match s {
        TestStatus::Passed => "passed",
        TestStatus::Failed => "failed",
        TestStatus::Skipped => "skipped",
        TestStatus::Timeout => "timeout",
        TestStatus::Interrupted => "interrupted",
        TestStatus::Unknown => "unknown",
    }
}

#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct FastFail {
    pub enabled: bool,
    /// Always at test level here: a failing test stops the tests after it.
    pub test_level: bool,
    pub triggered: bool,
    pub reason: Option<String>,
    pub error_category: Option<String>,
    pub termination_time: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Resources {
    pub peak_memory_mb: Option<f64>,
    pub disk_usage_mb: Option<f64>,
    pub docker_images_created: Option<u64>,
    pub total_log_size_mb: Option<f64>,
}

/// A whole run.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct RunSummary {
    pub experiment: String,
    /// The run directory's name.
    pub run_id: String,
    pub status: ExperimentStatus,
    /// True while tests are still running: this is a partial summary.
    pub in_progress: bool,
    pub start_time: String,
    pub end_time: Option<String>,
    pub duration_seconds: f64,
    pub configuration_file: String,
    /// The experiment's seed (`[experiment] seed`); each test's is derived from it.
    #[serde(default)]
    pub seed: u64,
    /// `--repeat N`: every test ran N times.
    #[serde(default)]
    pub repeat: Option<u32>,
    /// `--pass K`: a test (or matrix cell) that ran several times passes when K runs passed;
    /// all of them when unset.
    #[serde(default)]
    pub pass: Option<u32>,
    pub tests: Vec<TestResult>,
    pub fast_fail: FastFail,
    pub resources: Resources,
    pub panther_version: String,
    /// Set by [`super::write_all`] when the files are written.
    pub generated_at: String,
    #[serde(skip)]
    clock: Option<Instant>,
}

impl PartialEq for RunSummary {
    fn eq(&self, o: &Self) -> bool {
        serde_json::to_value(self).ok() == serde_json::to_value(o).ok()
    }
}

/// How the runs of one test ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestRuns {
    pub name: String,
    pub passed: u32,
    pub skipped: u32,
    pub total: u32,
}

/// A test's name without the ` #N` each iteration of a repeated test carries.
pub fn base_name(name: &str) -> &str {
    match name.rsplit_once(" #") {
        Some((base, n)) if n.parse::<u32>().is_ok() => base,
        _ => name,
    }
}

/// Cuts to at most `n` characters, marking the cut with `…`.
pub fn truncate_chars(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(n.saturating_sub(1)).collect();
        out.push('…');
        out
    }
}

impl RunSummary {
    /// A run that starts now.
    pub fn start(experiment: &str, run_id: &str, configuration_file: impl AsRef<Path>, fast_fail: bool) -> Self {
        RunSummary {
            experiment: experiment.into(),
            run_id: run_id.into(),
            status: ExperimentStatus::Unknown,
            in_progress: true,
            start_time: crate::events::now_rfc3339(),
            end_time: None,
            duration_seconds: 0.0,
            configuration_file: configuration_file.as_ref().display().to_string(),
            seed: 0,
            repeat: None,
            pass: None,
            tests: vec![],
            fast_fail: FastFail { enabled: fast_fail, test_level: true, ..FastFail::default() },
            resources: Resources::default(),
            panther_version: env!("CARGO_PKG_VERSION").into(),
            generated_at: String::new(),
            clock: Some(Instant::now()),
        }
    }

    fn tick(&mut self) {
        if let Some(c) = self.clock {
            self.duration_seconds = c.elapsed().as_secs_f64();
        }
    }

    /// Adds a finished test (or replaces the one of the same name).
    pub fn push(&mut self, t: TestResult) {
        match self.tests.iter_mut().find(|x| x.name == t.name) {
            Some(x) => *x = t,
            None => self.tests.push(t),
        }
        self.tick();
    }

    /// Every test's runs counted together (the iterations `name #1`, `name #2`, … of one test),
    /// in the order of their first run.
    pub fn runs(&self) -> Vec<TestRuns> {
        let mut runs: Vec<TestRuns> = vec![];
        for t in &self.tests {
            let name = base_name(&t.name);
            let i = match runs.iter().position(|r| r.name == name) {
                Some(i) => i,
                None => {
                    runs.push(TestRuns { name: name.to_string(), passed: 0, skipped: 0, total: 0 });
                    runs.len() - 1
                }
            };
            let r = &mut runs[i];
            r.passed += u32::from(t.status == TestStatus::Passed);
            r.skipped += u32::from(t.status == TestStatus::Skipped);
            r.total += 1;
        }
        runs
    }

    /// Tests whose runs both passed and did not (skipped runs aside): `(name, passed, runs)`.
    pub fn flaky(&self) -> Vec<(String, u32, u32)> {
        self.runs()
            .into_iter()
            .map(|r| (r.passed, r.total - r.skipped, r.name))
            .filter(|(passed, ran, _)| *passed > 0 && passed < ran)
            .map(|(passed, ran, name)| (name, passed, ran))
            .collect()
    }

    /// Adds a finished test at `index` (tests finishing out of order keep the experiment's).
    pub fn insert(&mut self, index: usize, t: TestResult) {
        self.tests.insert(index, t);
        self.tick();
    }

    /// Records that `test` failing stopped the run.
    pub fn fast_fail_triggered(&mut self, test: &str) {
        self.fast_fail.triggered = true;
        self.fast_fail.reason = Some(format!("test `{test}` failed"));
        self.fast_fail.error_category = Some("test_execution".into());
        self.fast_fail.termination_time = Some(crate::events::now_rfc3339());
        if let Some(t) = self.tests.iter_mut().find(|t| t.name == test) {
            t.fast_fail_triggered = true;
        }
    }

    /// The run is over.
    pub fn finish(&mut self, interrupted: bool) {
        self.tick();
        self.in_progress = false;
        self.end_time = Some(crate::events::now_rfc3339());
        self.status = ExperimentStatus::derive(&self.tests, self.fast_fail.triggered, interrupted);
    }

    pub fn status_word(&self) -> &'static str {
        self.status.word()
    }

    /// Number of tests with status `s`.
    pub fn count(&self, s: TestStatus) -> usize {
        self.tests.iter().filter(|t| t.status == s).count()
    }

    /// Passed tests over tests that ran (skipped ones excluded), in percent; 0 when none ran.
    pub fn success_rate(&self) -> f64 {
        let ran = self.tests.len() - self.count(TestStatus::Skipped);
        if ran == 0 {
            0.0
        } else {
            (self.count(TestStatus::Passed) as f64 * 1000.0 / ran as f64).round() / 10.0
        }
    }
}

/// One test (one iteration of one test).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TestResult {
    pub name: String,
    pub status: TestStatus,
    pub start_time: Option<String>,
    pub end_time: Option<String>,
    pub duration_seconds: f64,
    /// The first reason it did not pass, at most [`MAX_ERROR_CHARS`] characters.
    pub error_message: Option<String>,
    /// Every reason, most important first.
    pub reasons: Vec<String>,
    pub evidence: Vec<String>,
    /// The test's directory.
    pub logs_path: String,
    pub fast_fail_triggered: bool,
    pub services: Vec<ServiceResult>,
    pub verdicts: Vec<VerdictResult>,
    pub teardown: TeardownReport,
    /// The emulated link the test ran over, when it had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<LinkResult>,
}

/// What the link emulator did in one test.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LinkResult {
    /// The test iteration's seed (derived from the experiment's).
    pub seed: u64,
    /// `drop-rate, delay 15ms, 10Mbit/s queue 25, loss 2%`.
    pub description: String,
    pub relays: Vec<RelayResult>,
}

/// One relay of a link.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct RelayResult {
    pub server: String,
    pub port: String,
    /// Where clients sent.
    pub listen: String,
    pub server_address: String,
    /// `link.jsonl`, `client-side.pcap`, `server-side.pcap`, relative to the run directory.
    pub files: Vec<String>,
    /// `None` when the relay failed; `error` says why.
    pub stats: Option<crate::link::LinkStats>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl TestResult {
    fn base(name: &str, status: TestStatus, dir: &Path, duration: Duration, reason: Option<&str>) -> Self {
        let now = crate::events::now_rfc3339();
        TestResult {
            name: name.into(),
            status,
            start_time: Some(now.clone()),
            end_time: Some(now),
            duration_seconds: duration.as_secs_f64(),
            error_message: reason.map(|r| truncate_chars(r, MAX_ERROR_CHARS)),
            reasons: reason.map(|r| vec![r.to_string()]).unwrap_or_default(),
            evidence: vec![],
            logs_path: dir.display().to_string(),
            fast_fail_triggered: false,
            services: vec![],
            verdicts: vec![],
            teardown: TeardownReport::default(),
            link: None,
        }
    }

    /// Not run: `reason` says why (fast-fail, interruption).
    pub fn skipped(name: &str, reason: &str) -> Self {
        Self::base(name, TestStatus::Skipped, Path::new(""), Duration::ZERO, Some(reason))
    }

    /// Not run because a plan could not be made or the policy refused it.
    pub fn refused(name: &str, message: &str, dir: &Path) -> Self {
        Self::base(name, TestStatus::Failed, dir, Duration::ZERO, Some(message))
    }

    /// The host could not carry the test out.
    pub fn error(name: &str, message: &str, dir: &Path, duration: Duration) -> Self {
        Self::base(name, TestStatus::Failed, dir, duration, Some(message))
    }

    /// A test that ran: its services as driven, their teardown and its judgement.
    pub fn ran(
        name: &str,
        dir: &Path,
        services: Vec<ServiceResult>,
        teardown: TeardownReport,
        judgement: Judgement,
        duration: Duration,
    ) -> Self {
        let end = crate::events::now_rfc3339();
        let passed = judgement.status == TestStatus::Passed;
        let error = if passed { None } else { judgement.reasons.first().map(|r| truncate_chars(r, MAX_ERROR_CHARS)) };
        TestResult {
            name: name.into(),
            status: judgement.status,
            start_time: None,
            end_time: Some(end),
            duration_seconds: duration.as_secs_f64(),
            error_message: error,
            reasons: judgement.reasons,
            evidence: judgement.evidence,
            logs_path: dir.display().to_string(),
            fast_fail_triggered: false,
            services,
            verdicts: judgement.verdicts.iter().map(|(p, v)| VerdictResult::new(p, v)).collect(),
            teardown,
            link: None,
        }
    }
}

/// How a service fared, in the seed's words.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ServiceHealth {
    Healthy,
    Degraded,
    Failed,
    Unknown,
}

/// One phase of a service, summarised.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct PhaseResult {
    pub phase: String,
    pub cached: bool,
    pub commands: usize,
    pub failed: usize,
    pub duration_seconds: f64,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ArtifactRef {
    pub kind: String,
    pub path: String,
}

/// One service of a test.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ServiceResult {
    pub name: String,
    pub implementation: String,
    pub role: String,
    pub tester: bool,
    pub health: ServiceHealth,
    pub exit: ServiceExit,
    /// [`ServiceExit::describe`] of `exit`.
    pub outcome: String,
    pub error: Option<String>,
    pub became_ready: bool,
    pub compilation_succeeded: Option<bool>,
    pub phases: Vec<PhaseResult>,
    pub artifacts: Vec<ArtifactRef>,
    /// The service process's stdout and stderr files and their last [`TAIL_BYTES`] bytes.
    pub stdout: Option<String>,
    pub stderr: Option<String>,
    pub stdout_tail: String,
    pub stderr_tail: String,
}

fn failed_cmd(e: &ServiceExit) -> bool {
    e.timed_out || e.signal.is_some() || e.exit_code != Some(0)
}

/// Artifact kind as a word (`pcap`, `keylog`).
pub fn artifact_word(k: ArtifactKind) -> &'static str {
    match k {
        ArtifactKind::Log => "log",
        ArtifactKind::Pcap => "pcap",
        ArtifactKind::Keylog => "keylog",
        ArtifactKind::Qlog => "qlog",
        ArtifactKind::Binary => "binary",
        ArtifactKind::Report => "report",
        ArtifactKind::Other => "other",
    }
}

impl ServiceResult {
    /// Summarises a service from its phase reports and exit; reads the tails of the service
    /// process's logs (the last run command's files).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        name: &str,
        implementation: &str,
        role: &str,
        tester: bool,
        phases_in: &[PhaseReport],
        exit: &ServiceExit,
        error: Option<String>,
        became_ready: bool,
        artifacts: &[(ArtifactKind, PathBuf)],
    ) -> Self {
        struct R<'a> {
            phases: &'a [PhaseReport],
            exit: &'a ServiceExit,
            error: Option<String>,
        }
        let r = R { phases: phases_in, exit, error };
        let phases: Vec<PhaseResult> = r.phases.iter().map(|p| phase_result(p, exit.stopped_by_host)).collect();
        let compile: Vec<&PhaseReport> =
            r.phases.iter().filter(|p| p.phase.contains("compile") || p.phase == "image").collect();
        let compilation_succeeded = (!compile.is_empty()).then(|| {
            compile.iter().all(|p| p.cached || p.commands.iter().all(|c| !c.critical || !failed_cmd(&c.exit)))
        });
        let service_cmd = r.phases.iter().find(|p| p.phase == "run").and_then(|p| p.commands.last());
        let (stdout, stderr) = match service_cmd {
            Some(c) => (Some(c.stdout.clone()), Some(c.stderr.clone())),
            None => (None, None),
        };
        let tail = |p: &Option<PathBuf>| p.as_deref().map(|p| crate::exec::tail(p, TAIL_BYTES)).unwrap_or_default();
        let e = &r.exit;
        let noncritical_failures =
            r.phases.iter().flat_map(|p| &p.commands).any(|c| !c.critical && failed_cmd(&c.exit));
        let health = if r.error.is_some()
            || e.timed_out
            || (!e.stopped_by_host && (e.signal.is_some() || e.exit_code.is_some_and(|c| c != 0)))
        {
            ServiceHealth::Failed
        } else if e.not_started && r.error.is_none() {
            ServiceHealth::Unknown
        } else if noncritical_failures {
            ServiceHealth::Degraded
        } else {
            ServiceHealth::Healthy
        };
        ServiceResult {
            name: name.into(),
            implementation: implementation.into(),
            role: role.into(),
            tester,
            health,
            exit: (*e).clone(),
            outcome: e.describe(),
            error: r.error.clone(),
            became_ready,
            compilation_succeeded,
            phases,
            artifacts: artifacts
                .iter()
                .map(|(k, p)| ArtifactRef { kind: artifact_word(*k).into(), path: p.display().to_string() })
                .collect(),
            stdout_tail: tail(&stdout),
            stderr_tail: tail(&stderr),
            stdout: stdout.map(|p| p.display().to_string()),
            stderr: stderr.map(|p| p.display().to_string()),
        }
    }
}

/// `stopped`: the host stopped the service, so its last run command ending by a signal is
/// what was asked, not a failure.
fn phase_result(p: &PhaseReport, stopped: bool) -> PhaseResult {
    let n = p.commands.len();
    let failed = p
        .commands
        .iter()
        .enumerate()
        .filter(|(i, c)| failed_cmd(&c.exit) && !(stopped && p.phase == "run" && i + 1 == n && !c.exit.timed_out))
        .count();
    PhaseResult {
        phase: p.phase.clone(),
        cached: p.cached,
        commands: n,
        failed,
        duration_seconds: p.commands.iter().map(|c| c.exit.duration.as_secs_f64()).sum(),
    }
}

/// A plugin's verdict.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct VerdictResult {
    pub plugin: String,
    pub status: VerdictWord,
    pub reasons: Vec<String>,
    pub evidence: Vec<String>,
}

/// A verdict's status as the reports spell it (the contract's `verdict-status`, which the
/// generated bindings cannot serialise), so a saved summary reads back to the same value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum VerdictWord {
    Pass,
    Fail,
    UnsupportedByIut,
    UnsupportedByEnvironment,
    InfraError,
}

impl VerdictWord {
    pub fn word(self) -> &'static str {
        match self {
            VerdictWord::Pass => "pass",
            VerdictWord::Fail => "fail",
            VerdictWord::UnsupportedByIut => "unsupported-by-iut",
            VerdictWord::UnsupportedByEnvironment => "unsupported-by-environment",
            VerdictWord::InfraError => "infra-error",
        }
    }
}

impl std::fmt::Display for VerdictWord {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.word())
    }
}

impl From<VerdictStatus> for VerdictWord {
    fn from(s: VerdictStatus) -> Self {
        match s {
            VerdictStatus::Pass => VerdictWord::Pass,
            VerdictStatus::Fail => VerdictWord::Fail,
            VerdictStatus::UnsupportedByIut => VerdictWord::UnsupportedByIut,
            VerdictStatus::UnsupportedByEnvironment => VerdictWord::UnsupportedByEnvironment,
            VerdictStatus::InfraError => VerdictWord::InfraError,
        }
    }
}

impl VerdictResult {
    pub fn new(plugin: &str, v: &Verdict) -> Self {
        VerdictResult {
            plugin: plugin.into(),
            status: v.status.into(),
            reasons: v.reasons.clone(),
            evidence: v.evidence.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(name: &str, s: TestStatus) -> TestResult {
        let mut r = TestResult::skipped(name, "x");
        r.status = s;
        r
    }

    // Every verdict status is written with the report's word and read back to itself.
    #[test]
    fn verdict_words_round_trip() {
        for w in [
            VerdictWord::Pass,
            VerdictWord::Fail,
            VerdictWord::UnsupportedByIut,
            VerdictWord::UnsupportedByEnvironment,
            VerdictWord::InfraError,
        ] {
            let json = serde_json::to_string(&w).unwrap();
            assert_eq!(json, format!("\"{}\"", w.word()));
            assert_eq!(serde_json::from_str::<VerdictWord>(&json).unwrap(), w);
        }
    }

    // The seed's precedence decides the experiment status.
    #[test]
    fn experiment_status_precedence() {
        use TestStatus::*;
        let d = |ts: &[TestStatus], ff, int| {
            ExperimentStatus::derive(&ts.iter().map(|s| t("a", *s)).collect::<Vec<_>>(), ff, int)
        };
        assert_eq!(d(&[Passed, Skipped], false, false), ExperimentStatus::Completed);
        assert_eq!(d(&[Passed, Failed], false, false), ExperimentStatus::Failed);
        assert_eq!(d(&[Failed, Timeout], false, false), ExperimentStatus::Timeout);
        assert_eq!(d(&[Timeout, Interrupted], false, false), ExperimentStatus::Interrupted);
        assert_eq!(d(&[Passed], false, true), ExperimentStatus::Interrupted);
        assert_eq!(d(&[Interrupted], true, false), ExperimentStatus::Failed);
        assert_eq!(d(&[], false, false), ExperimentStatus::Unknown);
    }

    #[test]
    fn error_messages_are_bounded() {
        let long = "é".repeat(500);
        let r = TestResult::error("a", &long, Path::new("/r/a"), Duration::from_secs(1));
        let m = r.error_message.unwrap();
        assert_eq!(m.chars().count(), MAX_ERROR_CHARS);
        assert!(m.ends_with('…'));
        assert_eq!(r.reasons[0], long, "the full reason is kept elsewhere");
    }

    #[test]
    fn summary_lifecycle() {
        let mut s = RunSummary::start("e", "r", "/x/e.toml", true);
        assert!(s.in_progress);
        s.push(t("a", TestStatus::Passed));
        s.push(t("b", TestStatus::Failed));
        s.push(t("b", TestStatus::Failed));
        assert_eq!(s.tests.len(), 2, "same name replaces");
        s.fast_fail_triggered("b");
        s.push(TestResult::skipped("c", "fast-fail"));
        s.finish(false);
        assert_eq!(s.status_word(), "failed");
        assert!(s.tests[1].fast_fail_triggered);
        assert_eq!(s.success_rate(), 50.0);
        let back: RunSummary = serde_json::from_str(&serde_json::to_string(&s).unwrap()).unwrap();
        assert_eq!(back, s);
    }
}
