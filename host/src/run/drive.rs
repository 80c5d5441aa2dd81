//! Drives one planned test through an executor: prepare, start in order with readiness,
//! wait for the services that finish on their own, stop the rest, post-run, teardown.
//!
//! Owns the lifecycle order and the service state machine transitions; never decides what a
//! command is (plans) or how it runs (executors). Teardown runs on every path out, a panic
//! included: a [`TeardownGuard`] whose `Drop` ends everything the executor started unless the
//! normal teardown ran. Setting [`INJECT_PANIC_ENV`] to `drive` makes the drive panic once its
//! services are up, which is how the test suite proves that guard; it has no other use.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use futures_util::future::join_all;
use tokio_util::sync::CancellationToken;

use crate::events::{EventSink, ServiceState};
use crate::exec::{ExecError, Executor, PhaseReport, ServiceExit, ServiceInstance, TeardownReport};
use crate::plugin::types::{ArtifactKind, Role};

/// `PANTHER_INJECT_PANIC=drive`: panic inside the drive once every service is ready (tests).
pub const INJECT_PANIC_ENV: &str = "PANTHER_INJECT_PANIC";

/// Ends what an executor started when dropped armed: the drive unwound (a panic) before its
/// teardown. The normal path disarms it after `teardown()`.
pub struct TeardownGuard<'a, E: Executor> {
    exec: &'a E,
    armed: bool,
}

impl<'a, E: Executor> TeardownGuard<'a, E> {
    pub fn new(exec: &'a E) -> Self {
        TeardownGuard { exec, armed: true }
    }

    /// The executor tore down normally.
    pub fn disarm(mut self) {
        self.armed = false;
    }
}

impl<E: Executor> Drop for TeardownGuard<'_, E> {
    fn drop(&mut self) {
        if self.armed {
            tracing::error!("a test's drive ended without its teardown (panic); killing what it started");
            self.exec.emergency_teardown();
        }
    }
}

/// How long a server gets between SIGTERM and SIGKILL at the end of a test.
pub const STOP_GRACE: Duration = Duration::from_secs(2);

/// What happened to one service.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ServiceRun {
    pub name: String,
    pub implementation: String,
    pub role: String,
    pub tester: bool,
    pub phases: Vec<PhaseReport>,
    pub exit: ServiceExit,
    /// The first thing that went wrong with it, if anything did.
    pub error: Option<String>,
    pub artifacts: Vec<(ArtifactKind, PathBuf)>,
    pub became_ready: bool,
    /// Whether the test waited for it to finish on its own (clients, testers).
    pub finite: bool,
}

impl ServiceRun {
    /// As the reports show it.
    pub fn result(&self) -> crate::report::model::ServiceResult {
        crate::report::model::ServiceResult::new(
            &self.name,
            &self.implementation,
            &self.role,
            self.tester,
            &self.phases,
            &self.exit,
            self.error.clone(),
            self.became_ready,
            &self.artifacts,
        )
    }
}

/// The raw result of driving a test, before evidence and verdicts.
#[derive(Debug, Default)]
pub struct DriveResult {
    pub services: Vec<ServiceRun>,
    pub teardown: TeardownReport,
    /// What stopped the lifecycle, if something did.
    pub error: Option<DriveError>,
    pub interrupted: bool,
    pub timed_out: bool,
    pub duration: Duration,
    /// Time spent inside the IUTs' own run phases (for the orchestration-overhead benchmark).
    pub run_phase_time: Duration,
}

/// Why a test's lifecycle stopped before its services ran to their end.
#[derive(Debug, thiserror::Error)]
pub enum DriveError {
    #[error("service `{service}` could not be prepared: {source}")]
    Prepare {
        service: String,
        #[source]
        source: ExecError,
    },
    /// The deployment's order names a service that is not ready (it failed, or comes later).
    #[error("service `{service}` must start after `{missing}`, which is not ready")]
    StartOrder { service: String, missing: String },
    #[error(transparent)]
    Start(ExecError),
    #[error(transparent)]
    Readiness(ExecError),
}

/// Which services the test waits for: testers that run something, else every service that
/// no other service targets (clients). The rest (servers) are stopped when those are done.
pub fn finite_services(instances: &[ServiceInstance]) -> BTreeSet<String> {
    let testers: BTreeSet<String> =
        instances.iter().filter(|s| s.tester && !s.plan.plan().phases.run.is_empty()).map(|s| s.name.clone()).collect();
    if !testers.is_empty() {
        return testers;
    }
    let targeted: BTreeSet<&str> = instances.iter().flat_map(|s| s.after.iter().map(String::as_str)).collect();
    instances
        .iter()
        .filter(|s| {
            !targeted.contains(s.name.as_str()) && s.role != Role::Server && !s.plan.plan().phases.run.is_empty()
        })
        .map(|s| s.name.clone())
        .collect()
}

/// Moves a service's state machine. An invalid transition is a bug in this module: the sink
/// logs it, and debug builds stop here.
fn state(events: &EventSink, svc: &ServiceInstance, to: ServiceState) {
    let r = events.service_state(&svc.test, &svc.name, to);
    debug_assert!(r.is_ok(), "{r:?}");
}

/// Runs the lifecycle of one test. `deadline` bounds everything after preparation.
pub async fn drive_test<E: Executor>(
    exec: &E,
    instances: &[ServiceInstance],
    settle: Option<Duration>,
    deadline: Duration,
    events: &EventSink,
    cancel: &CancellationToken,
) -> DriveResult {
    let started = Instant::now();
    let finite = finite_services(instances);
    let mut out = DriveResult::default();
    let mut runs: Vec<ServiceRun> = instances
        .iter()
        .map(|s| ServiceRun {
            name: s.name.clone(),
            implementation: s.implementation.clone(),
            role: crate::contract::wit_name(&s.role),
            tester: s.tester,
            finite: finite.contains(&s.name),
            exit: ServiceExit::never_started(),
            ..Default::default()
        })
        .collect();
    let mut running: Vec<Option<E::Running>> = instances.iter().map(|_| None).collect();
    let guard = TeardownGuard::new(exec);

    // Prepare everything first: builds are slow, and nothing should be half-started when one fails.
    for (i, svc) in instances.iter().enumerate() {
        state(events, svc, ServiceState::Preparing);
        match exec.prepare(svc).await {
            Ok(reports) => {
                runs[i].phases.extend(reports);
                state(events, svc, ServiceState::Prepared);
            }
            Err(e) => {
                state(events, svc, ServiceState::Error);
                runs[i].error = Some(e.to_string());
                out.error = Some(DriveError::Prepare { service: svc.name.clone(), source: e });
                break;
            }
        }
        if cancel.is_cancelled() {
            out.interrupted = true;
            break;
        }
    }

    // The deadline starts after preparation: a first image build or compile takes minutes
    // and says nothing about the services under test.
    let prepared_at = Instant::now();

    // Start in the deployment's order; each waits for what it comes after to be ready.
    let mut ready: BTreeSet<String> = BTreeSet::new();
    if out.error.is_none() && !out.interrupted {
        for (i, svc) in instances.iter().enumerate() {
            if let Some(missing) = svc.after.iter().find(|a| !ready.contains(*a)) {
                out.error = Some(DriveError::StartOrder { service: svc.name.clone(), missing: missing.clone() });
                break;
            }
            if svc.plan.plan().phases.run.is_empty() {
                // Nothing to run (a tester that only judges, like `interop`): it is ready at
                // once and stays `not_started`, so no exit of it is ever judged.
                ready.insert(svc.name.clone());
                continue;
            }
            state(events, svc, ServiceState::Starting);
            let mut r = match exec.start(svc).await {
                Ok(r) => r,
                Err(e) => {
                    state(events, svc, ServiceState::Error);
                    runs[i].error = Some(e.to_string());
                    out.error = Some(DriveError::Start(e));
                    break;
                }
            };
            runs[i].exit.not_started = false;
            state(events, svc, ServiceState::Running);
            let readiness = exec.wait_ready(svc, &mut r, cancel).await;
            running[i] = Some(r);
            match readiness {
                Ok(()) => {
                    runs[i].became_ready = true;
                    ready.insert(svc.name.clone());
                    state(events, svc, ServiceState::Ready);
                }
                Err(e) => {
                    if cancel.is_cancelled() {
                        out.interrupted = true;
                    } else {
                        state(events, svc, ServiceState::Error);
                        runs[i].error = Some(e.to_string());
                        out.error = Some(DriveError::Readiness(e));
                    }
                    break;
                }
            }
        }
    }

    if out.error.is_none() && std::env::var_os(INJECT_PANIC_ENV).is_some_and(|v| v == "drive") {
        panic!("injected panic ({INJECT_PANIC_ENV}=drive) with {} service(s) running", ready.len());
    }

    // Wait for the finite services, bounded by the test deadline and Ctrl-C.
    let run_started = Instant::now();
    if out.error.is_none() && !out.interrupted {
        if let Some(s) = settle {
            tokio::select! {
                _ = tokio::time::sleep(s) => {}
                _ = cancel.cancelled() => {}
            }
        }
        let waiters = instances
            .iter()
            .zip(running.iter_mut())
            .enumerate()
            .filter(|(_, (svc, r))| finite.contains(&svc.name) && r.is_some())
            .map(|(i, (svc, r))| {
                let r = r.as_mut().expect("filtered on is_some");
                async move { (i, exec.wait(svc, r, cancel).await) }
            });
        let all = join_all(waiters);
        let remaining = deadline.saturating_sub(prepared_at.elapsed());
        if finite.is_empty() {
            // Nothing ends on its own: the test is the settle time (or the deadline).
            if settle.is_none() {
                tokio::select! {
                    _ = tokio::time::sleep(remaining) => { out.timed_out = true; }
                    _ = cancel.cancelled() => {}
                }
            }
        } else {
            match tokio::time::timeout(remaining, all).await {
                Ok(exits) => {
                    for (i, exit) in exits {
                        runs[i].exit = exit;
                        state(events, &instances[i], ServiceState::Stopped);
                    }
                }
                Err(_) => out.timed_out = true,
            }
        }
        if cancel.is_cancelled() {
            out.interrupted = true;
        }
    }
    out.run_phase_time = run_started.elapsed();

    // Stop what still runs, newest first, so clients go before the servers they talk to.
    for i in (0..instances.len()).rev() {
        let svc = &instances[i];
        if let Some(r) = running[i].as_mut() {
            if runs[i].finite
                && !runs[i].exit.not_started
                && (runs[i].exit.exit_code.is_some() || runs[i].exit.signal.is_some())
            {
                continue;
            }
            state(events, svc, ServiceState::Stopping);
            let exit = exec.stop(svc, r, STOP_GRACE).await;
            if runs[i].finite && out.timed_out {
                runs[i].exit = ServiceExit { timed_out: true, ..exit };
            } else {
                runs[i].exit = exit;
            }
            state(events, svc, ServiceState::Stopped);
        }
    }

    for (i, svc) in instances.iter().enumerate() {
        if running[i].is_some() {
            let (reports, artifacts) = exec.post_run(svc).await;
            runs[i].phases.extend(reports);
            runs[i].artifacts = artifacts;
        }
    }
    out.teardown = exec.teardown().await;
    guard.disarm();
    for svc in instances {
        state(events, svc, ServiceState::Destroyed);
    }
    out.services = runs;
    out.duration = started.elapsed();
    out
}
