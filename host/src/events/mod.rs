//! Typed events, the lifecycle state machines ([`state`]) and the sink that records them.
//!
//! Owns [`Event`], [`EventKind`], [`Entity`], [`EventSink`] and [`Progress`]. The sink appends
//! one JSON object per line to `events.jsonl` (flushed per event, so an interrupted run keeps
//! everything up to the interruption), emits each event through `tracing`, and tracks the state
//! machine of every service, test and experiment: a transition the machine forbids is refused
//! and logged as a bug. Does not decide anything: executors and the orchestrator report what
//! they did.
//!
//! Who drives which machine: the orchestrator (`run`) moves services, tests and the
//! experiment, because it knows the whole test; executors only report commands, phases,
//! readiness and teardown steps.

pub mod state;

use std::collections::HashMap;
use std::fs::File;
use std::io::{IsTerminal, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

pub use state::{ExperimentState, InvalidTransition, Machine, ServiceState, State, TestState};

/// What an event is about.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Entity {
    Experiment {
        name: String,
    },
    Test {
        name: String,
    },
    Service {
        test: String,
        name: String,
    },
    /// The host itself (captures, plugin loading, teardown of leftovers).
    Host,
}

impl Entity {
    pub fn service(test: &str, name: &str) -> Self {
        Entity::Service { test: test.to_string(), name: name.to_string() }
    }

    pub fn test(name: &str) -> Self {
        Entity::Test { name: name.to_string() }
    }

    pub fn experiment(name: &str) -> Self {
        Entity::Experiment { name: name.to_string() }
    }
}

impl std::fmt::Display for Entity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Entity::Experiment { name } => write!(f, "experiment {name}"),
            Entity::Test { name } => write!(f, "test {name}"),
            Entity::Service { test, name } => write!(f, "service {test}/{name}"),
            Entity::Host => f.write_str("host"),
        }
    }
}

/// What happened.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum EventKind {
    /// A lifecycle state change (`created`, `preparing`, …, `ready`, `stopped`, `destroyed`).
    State {
        from: String,
        to: String,
    },
    /// Something failed; the entity usually moves to its error state next.
    Failed {
        error: String,
    },
    PhaseStarted {
        phase: String,
        commands: usize,
    },
    PhaseFinished {
        phase: String,
        ok: bool,
        cached: bool,
        duration_ms: u64,
    },
    CommandStarted {
        phase: String,
        index: usize,
        argv: Vec<String>,
        pid: Option<u32>,
    },
    CommandFinished {
        phase: String,
        index: usize,
        exit_code: Option<i32>,
        signal: Option<i32>,
        timed_out: bool,
        duration_ms: u64,
    },
    Readiness {
        condition: String,
        ready: bool,
        waited_ms: u64,
    },
    PluginCall {
        plugin: String,
        function: String,
        ok: bool,
        duration_ms: u64,
        error: Option<String>,
    },
    PolicyRefusal {
        plugin: String,
        violations: Vec<String>,
    },
    CaptureStarted {
        interface: String,
        filter: String,
        path: String,
    },
    CaptureStopped {
        path: String,
        bytes: u64,
    },
    TeardownStep {
        what: String,
        ok: bool,
        detail: String,
    },
    /// A run or a test ended with this status (`completed`, `passed`, `timeout`, …).
    Finished {
        status: String,
    },
    /// Free text worth keeping in the record (a missing tool, a skipped step).
    Note {
        message: String,
    },
}

impl EventKind {
    fn is_problem(&self) -> bool {
        match self {
            EventKind::Failed { .. } | EventKind::PolicyRefusal { .. } => true,
            EventKind::TeardownStep { ok, .. }
            | EventKind::PhaseFinished { ok, .. }
            | EventKind::PluginCall { ok, .. } => !ok,
            _ => false,
        }
    }
}

/// One line of `events.jsonl`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Event {
    /// Order of emission within the run, from 0.
    pub seq: u64,
    /// RFC 3339, UTC.
    pub time: String,
    pub entity: Entity,
    #[serde(flatten)]
    pub kind: EventKind,
}

impl Event {
    /// The event as one line for a log or a terminal: `service t/s: command started (…)`.
    /// Events carry plugin text (argv, errors, verdict reasons), so control characters are
    /// shown escaped ([`crate::text::terminal`]).
    pub fn sentence(&self) -> String {
        crate::text::terminal(&format!("{}: {}", self.entity, human(&self.kind))).into_owned()
    }
}

/// Current time as RFC 3339 UTC, the format of every timestamp the host writes.
pub fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc().format(&time::format_description::well_known::Rfc3339).unwrap_or_default()
}

#[derive(Default)]
struct Machines {
    services: HashMap<(String, String), Machine<ServiceState>>,
    tests: HashMap<String, Machine<TestState>>,
    experiments: HashMap<String, Machine<ExperimentState>>,
}

struct Inner {
    file: Mutex<Option<File>>,
    memory: Option<Mutex<Vec<Event>>>,
    seq: AtomicU64,
    machines: Mutex<Machines>,
}

/// One event as a short sentence for the log: its name, then its error or its fields.
fn human(kind: &EventKind) -> String {
    let v = serde_json::to_value(kind).unwrap_or_default();
    let Some(obj) = v.as_object() else { return v.to_string() };
    let name = obj.get("event").and_then(|e| e.as_str()).unwrap_or("event").replace('_', " ");
    if let Some(err) = obj.get("error").and_then(|e| e.as_str()) {
        return format!("{name}: {err}");
    }
    let fields: Vec<String> = obj
        .iter()
        .filter(|(k, _)| k.as_str() != "event")
        .map(|(k, v)| match v {
            serde_json::Value::String(s) => format!("{k}={s}"),
            other => format!("{k}={other}"),
        })
        .collect();
    if fields.is_empty() {
        name
    } else {
        format!("{name} ({})", fields.join(", "))
    }
}

/// Where events go. Cheap to clone; all clones share the file, the sequence and the machines.
#[derive(Clone)]
pub struct EventSink {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for EventSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventSink").field("seq", &self.inner.seq.load(Ordering::Relaxed)).finish_non_exhaustive()
    }
}

impl EventSink {
    fn with(file: Option<File>, memory: bool) -> Self {
        EventSink {
            inner: Arc::new(Inner {
                file: Mutex::new(file),
                memory: memory.then(|| Mutex::new(Vec::new())),
                seq: AtomicU64::new(0),
                machines: Mutex::new(Machines::default()),
            }),
        }
    }

    /// Appends to `path` (usually `<run>/events.jsonl`), creating it.
    ///
    /// # Errors
    /// The file cannot be opened for appending.
    pub fn create(path: &Path) -> std::io::Result<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let f = std::fs::OpenOptions::new().create(true).append(true).open(path)?;
        Ok(Self::with(Some(f), false))
    }

    /// Events only go to `tracing`.
    pub fn null() -> Self {
        Self::with(None, false)
    }

    /// Also keeps every event in memory, for [`EventSink::recorded`] (tests).
    pub fn memory() -> Self {
        Self::with(None, true)
    }

    /// Every event so far, when made with [`EventSink::memory`]; empty otherwise.
    pub fn recorded(&self) -> Vec<Event> {
        self.inner.memory.as_ref().map(|m| m.lock().unwrap_or_else(|e| e.into_inner()).clone()).unwrap_or_default()
    }

    /// Records one event.
    pub fn emit(&self, entity: Entity, kind: EventKind) {
        let ev = Event { seq: self.inner.seq.fetch_add(1, Ordering::SeqCst), time: now_rfc3339(), entity, kind };
        let line = serde_json::to_string(&ev).expect("events are plain data");
        // The log shows a sentence; the JSON line is for events.jsonl and tools.
        if ev.kind.is_problem() {
            tracing::warn!(target: "panther::events", "{}", ev.sentence());
        } else {
            tracing::debug!(target: "panther::events", "{}", ev.sentence());
        }
        if let Some(f) = self.inner.file.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
            // One write per line keeps lines whole even if several sinks append to one file.
            if let Err(e) = f.write_all(format!("{line}\n").as_bytes()) {
                tracing::error!("cannot append to events.jsonl: {e}");
            }
        }
        if let Some(m) = &self.inner.memory {
            m.lock().unwrap_or_else(|e| e.into_inner()).push(ev);
        }
    }

    /// Free text about an entity.
    pub fn note(&self, entity: Entity, message: impl Into<String>) {
        self.emit(entity, EventKind::Note { message: message.into() });
    }

    fn transition<S: State>(
        &self,
        machine: &'static str,
        m: &mut Machine<S>,
        entity: Entity,
        to: S,
    ) -> Result<(), InvalidTransition> {
        match m.go(machine, &entity.to_string(), to) {
            Ok(from) => {
                self.emit(entity, EventKind::State { from: from.name().into(), to: to.name().into() });
                Ok(())
            }
            Err(e) => {
                tracing::error!(target: "panther::events", "{e}");
                Err(e)
            }
        }
    }

    /// Moves a service's machine to `to` and records the change. An unknown service starts in
    /// CREATED (and a `created` event is recorded first).
    ///
    /// # Errors
    /// The machine forbids the transition; nothing is recorded but an error log.
    pub fn service_state(&self, test: &str, service: &str, to: ServiceState) -> Result<(), InvalidTransition> {
        self.advance(
            "service",
            |ms| &mut ms.services,
            (test.to_string(), service.to_string()),
            Entity::service(test, service),
            to,
        )
    }

    /// The current state of a service, if the sink has seen it.
    pub fn service_state_of(&self, test: &str, service: &str) -> Option<ServiceState> {
        self.machines().services.get(&(test.to_string(), service.to_string())).map(|m| m.state())
    }

    /// Moves a test's machine to `to`; see [`EventSink::service_state`].
    ///
    /// # Errors
    /// The machine forbids the transition.
    pub fn test_state(&self, test: &str, to: TestState) -> Result<(), InvalidTransition> {
        self.advance("test", |ms| &mut ms.tests, test.to_string(), Entity::test(test), to)
    }

    /// Moves the experiment's machine to `to`; see [`EventSink::service_state`].
    ///
    /// # Errors
    /// The machine forbids the transition.
    pub fn experiment_state(&self, name: &str, to: ExperimentState) -> Result<(), InvalidTransition> {
        self.advance("experiment", |ms| &mut ms.experiments, name.to_string(), Entity::experiment(name), to)
    }

    fn machines(&self) -> std::sync::MutexGuard<'_, Machines> {
        // A panic elsewhere must not stop the record of states; the maps stay consistent.
        self.inner.machines.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The one path of all three machines: an entity seen for the first time is created (and
    /// that is recorded) before it moves, so every entity's history starts at `created`.
    fn advance<K: std::hash::Hash + Eq, S: State>(
        &self,
        machine: &'static str,
        map: impl FnOnce(&mut Machines) -> &mut HashMap<K, Machine<S>>,
        key: K,
        entity: Entity,
        to: S,
    ) -> Result<(), InvalidTransition> {
        let mut ms = self.machines();
        let m = map(&mut ms).entry(key).or_insert_with(|| {
            self.emit(entity.clone(), EventKind::State { from: String::new(), to: S::INITIAL.name().into() });
            Machine::default()
        });
        self.transition(machine, m, entity, to)
    }
}

impl EventSink {
    /// The experiment starts running its tests: plugins are loaded and tests planned by now,
    /// so its machine walks INITIALIZING … RUNNING.
    pub fn experiment_started(&self, name: &str, run_id: &str) {
        use ExperimentState::*;
        for s in [Initializing, LoadingPlugins, PluginsLoaded, InitializingTests, TestsInitialized, Running] {
            let _ = self.experiment_state(name, s);
        }
        self.note(Entity::experiment(name), format!("run {run_id}"));
    }

    /// The experiment is over with `status` (`completed`, `failed`, `interrupted`, …).
    pub fn experiment_finished(&self, name: &str, status: &str) {
        if status == "interrupted" {
            let _ = self.experiment_state(name, ExperimentState::FinishedEarly);
        } else {
            let _ = self.experiment_state(name, ExperimentState::CollectingResults);
            let _ = self.experiment_state(name, ExperimentState::Completed);
        }
        self.emit(Entity::experiment(name), EventKind::Finished { status: status.into() });
    }

    /// A test starts (PREPARING, then RUNNING once its services are being started).
    pub fn test_started(&self, test: &str) {
        let _ = self.test_state(test, TestState::Preparing);
        let _ = self.test_state(test, TestState::Running);
    }

    /// A test is over with `status` (`passed`, `failed`, `skipped`, `timeout`, `interrupted`).
    pub fn test_finished(&self, test: &str, status: &str) {
        let current = self.machines().tests.get(test).map(|m| m.state()).unwrap_or(TestState::Created);
        match (status, current) {
            ("interrupted", _) => {
                let _ = self.test_state(test, TestState::Interrupted);
            }
            ("skipped", TestState::Created) => {
                let _ = self.test_state(test, TestState::Skipped);
            }
            (_, TestState::Running) => {
                let _ = self.test_state(test, TestState::Assessing);
                let _ = self.test_state(test, TestState::Finished);
            }
            (_, TestState::Assessing) => {
                let _ = self.test_state(test, TestState::Finished);
            }
            _ => {
                let _ = self.test_state(test, TestState::Failed);
            }
        }
        self.emit(Entity::test(test), EventKind::Finished { status: status.into() });
    }

    /// A progress bar of `len` steps, hidden without a terminal.
    pub fn progress(&self, len: u64, message: impl Into<String>) -> Progress {
        Progress::bar(len, message)
    }
}

/// A progress display for long work (builds, tests). Hidden when stderr is not a terminal, so
/// CI logs and tests see nothing of it.
#[derive(Debug, Clone)]
pub struct Progress {
    bar: indicatif::ProgressBar,
}

impl Progress {
    fn styled(bar: indicatif::ProgressBar, template: &str) -> Self {
        if let Ok(style) = indicatif::ProgressStyle::with_template(template) {
            bar.set_style(style);
        }
        if !std::io::stderr().is_terminal() {
            bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
        } else {
            bar.enable_steady_tick(Duration::from_millis(120));
        }
        Progress { bar }
    }

    /// A bar of `len` steps (tests of an experiment).
    pub fn bar(len: u64, message: impl Into<String>) -> Self {
        let p =
            Self::styled(indicatif::ProgressBar::new(len), "{spinner} [{elapsed_precise}] {bar:30} {pos}/{len} {msg}");
        p.bar.set_message(message.into());
        p
    }

    /// A spinner for work of unknown length (a compile phase, an image build).
    pub fn spinner(message: impl Into<String>) -> Self {
        let p = Self::styled(indicatif::ProgressBar::new_spinner(), "{spinner} [{elapsed_precise}] {msg}");
        p.bar.set_message(message.into());
        p
    }

    pub fn is_hidden(&self) -> bool {
        self.bar.is_hidden()
    }

    pub fn inc(&self, n: u64) {
        self.bar.inc(n);
    }

    pub fn set_message(&self, message: impl Into<String>) {
        self.bar.set_message(message.into());
    }

    /// Runs `f` with the bar cleared, so log lines printed meanwhile are not mangled.
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        self.bar.suspend(f)
    }

    pub fn finish(&self) {
        self.bar.finish();
    }

    pub fn finish_with(&self, message: impl Into<String>) {
        self.bar.finish_with_message(message.into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Events land in the file one JSON object per line, in order, and parse back.
    #[test]
    fn jsonl_roundtrip_and_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("events.jsonl");
        let sink = EventSink::create(&path).unwrap();
        let clone = sink.clone();
        sink.service_state("t", "srv", ServiceState::Preparing).unwrap();
        clone.emit(
            Entity::service("t", "srv"),
            EventKind::CommandStarted { phase: "compile".into(), index: 0, argv: vec!["make".into()], pid: Some(7) },
        );
        sink.note(Entity::Host, "tshark is not installed");
        let lines: Vec<Event> =
            std::fs::read_to_string(&path).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        assert_eq!(lines.len(), 4);
        assert_eq!(lines.iter().map(|e| e.seq).collect::<Vec<_>>(), [0, 1, 2, 3]);
        assert_eq!(lines[0].kind, EventKind::State { from: String::new(), to: "created".into() });
        assert_eq!(lines[1].kind, EventKind::State { from: "created".into(), to: "preparing".into() });
        assert!(matches!(&lines[2].kind, EventKind::CommandStarted { pid: Some(7), .. }));
        let raw: serde_json::Value =
            serde_json::from_str(std::fs::read_to_string(&path).unwrap().lines().nth(2).unwrap()).unwrap();
        assert_eq!(raw["event"], "command_started");
        assert_eq!(raw["entity"], serde_json::json!({"type": "service", "test": "t", "name": "srv"}));
    }

    // A sentence never carries a control character raw: events quote plugin text.
    #[test]
    fn sentences_are_inert() {
        let sink = EventSink::memory();
        sink.note(Entity::service("t", "s"), "plugin says \x1b]0;pwned\x07\rall tests passed\u{202e}");
        let s = sink.recorded()[0].sentence();
        assert_eq!(s, "service t/s: note (message=plugin says \\x1b]0;pwned\\x07\\rall tests passed\\u{202e})");
    }

    // The sink refuses a transition its machine forbids and records nothing for it.
    #[test]
    fn sink_refuses_invalid_transitions() {
        let sink = EventSink::memory();
        sink.service_state("t", "s", ServiceState::Preparing).unwrap();
        let e = sink.service_state("t", "s", ServiceState::Ready).unwrap_err();
        assert_eq!(e.from, "preparing");
        assert_eq!(sink.service_state_of("t", "s"), Some(ServiceState::Preparing));
        assert_eq!(sink.recorded().len(), 2);
        sink.test_state("t", TestState::Preparing).unwrap();
        assert!(sink.test_state("t", TestState::Finished).is_err());
        sink.experiment_state("e", ExperimentState::Initializing).unwrap();
        assert!(sink.experiment_state("e", ExperimentState::Completed).is_err());
        // Machines are per entity.
        sink.service_state("t", "other", ServiceState::Preparing).unwrap();
    }

    // The orchestrator's helpers walk the machines along valid paths only.
    #[test]
    fn lifecycle_helpers() {
        let sink = EventSink::memory();
        sink.experiment_started("e", "r1");
        sink.test_started("a");
        sink.test_finished("a", "passed");
        sink.test_finished("b", "skipped");
        sink.test_started("c");
        sink.test_finished("c", "interrupted");
        sink.experiment_finished("e", "interrupted");
        let states: Vec<String> = sink
            .recorded()
            .iter()
            .filter_map(|e| match &e.kind {
                EventKind::State { to, .. } => Some(format!("{}:{to}", e.entity)),
                _ => None,
            })
            .collect();
        assert!(states.contains(&"test a:finished".to_string()), "{states:?}");
        assert!(states.contains(&"test b:skipped".to_string()), "{states:?}");
        assert!(states.contains(&"test c:interrupted".to_string()), "{states:?}");
        assert_eq!(states.last().unwrap(), "experiment e:finished_early");
    }

    // Progress never draws when stderr is not a terminal (as under `cargo test`).
    #[test]
    fn progress_is_hidden_without_a_terminal() {
        if std::io::stderr().is_terminal() {
            return;
        }
        let p = Progress::bar(3, "tests");
        p.inc(1);
        assert!(p.is_hidden());
        p.finish_with("done");
    }
}
