//! Executors: run checked, rendered plans as local processes ([`local`]), Docker containers
//! ([`docker`]) or processes of a Shadow simulation ([`shadow`]), all behind the [`Executor`]
//! trait. They decide *how* to run a plan, never *what* to run.
//!
//! The orchestrator ([`crate::run`]) drives one test through these steps, for each service in
//! the deployment's start order:
//!
//! 0. [`Executor::setup_networks`] — what the deployment needs first (Docker networks).
//! 1. [`Executor::prepare`] — pre-compile, compile, post-compile phases (cached by content
//!    hash), or the image build; nothing is started yet.
//! 2. [`Executor::start`] — pre-run commands, then the run phase in the background.
//! 3. [`Executor::wait_ready`] — polls the plan's readiness condition ([`readiness`]).
//! 4. [`Executor::wait`] / [`Executor::stop`] — clients are waited for; servers are
//!    stopped once every client is done (SIGTERM to the group, grace, SIGKILL).
//! 5. [`Executor::post_run`] — post-run commands, artifact collection.
//! 6. [`Executor::teardown`] — always, also after errors and Ctrl-C; idempotent.

pub mod capture;
pub mod docker;
pub mod leftovers;
pub mod local;
pub mod procnet;
pub mod readiness;
pub mod shadow;
pub mod sources;

pub use local::tail;

use std::collections::BTreeMap;
use std::future::Future;
use std::path::PathBuf;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::events::EventKind;
use crate::plan::CheckedPlan;
use crate::plugin::types::{ArtifactKind, Role};
use crate::plugin::wit::latest::env::DeploymentPlan;

/// The directories the host makes for one service, all under the run directory.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ServiceDirs {
    /// `<run>/<test>/<service>/`: everything of this service.
    pub root: PathBuf,
    /// Per-phase stdout/stderr files and anything the plan writes as logs.
    pub logs: PathBuf,
    /// The working directory of its commands.
    pub work: PathBuf,
    /// Files it serves (servers) — shared by the test: `<run>/<test>/www`.
    pub www: PathBuf,
    /// Where a client saves what it fetched.
    pub downloads: PathBuf,
    /// The run's CA and leaf certificate (read-only to the service).
    pub certs: PathBuf,
    /// qlog output directory.
    pub qlog: PathBuf,
    /// Persistent cache shared by runs, outside the repository, per plugin
    /// (`~/.cache/panther-host/<plugin>/`).
    pub cache: PathBuf,
    /// Build outputs of the compile phase, cached by content hash
    /// (`~/.cache/panther-host/tools/<hash>/`).
    pub tools: PathBuf,
}

impl ServiceDirs {
    /// The host path of a named directory.
    pub fn get(&self, name: crate::contract::DirName) -> &std::path::Path {
        use crate::contract::DirName;
        match name {
            DirName::Logs => &self.logs,
            DirName::Www => &self.www,
            DirName::Downloads => &self.downloads,
            DirName::Certs => &self.certs,
            DirName::Qlog => &self.qlog,
            DirName::Work => &self.work,
            DirName::Cache => &self.cache,
            DirName::Tools => &self.tools,
        }
    }

    /// The TLS key log file the service is asked to write (SSLKEYLOGFILE).
    pub fn keylog(&self) -> PathBuf {
        self.logs.join("keys.log")
    }
}

/// One service of a test, ready to be run: its checked plan plus where it runs.
#[derive(Debug, Clone)]
pub struct ServiceInstance {
    pub test: String,
    pub name: String,
    pub role: Role,
    pub implementation: String,
    pub tester: bool,
    pub plan: CheckedPlan,
    pub dirs: ServiceDirs,
    /// Host name or address peers use to reach it.
    pub host: String,
    /// Docker only: its fixed IPv4 address on each network it joins (the host chose them, so
    /// plans could be rendered with them).
    pub ips: BTreeMap<String, String>,
    /// Docker only: host-file entries (name, address) of the test's services, for names that
    /// resolve to one family only (`<service>6` on dual-stack networks).
    pub hosts: Vec<(String, String)>,
    /// Port name → number, after the host allocated the `0` ones.
    pub ports: BTreeMap<String, u16>,
    /// Services that must be ready before this one starts.
    pub after: Vec<String>,
    /// Environment the environment plugin added (already rendered).
    pub extra_env: Vec<(String, String)>,
    /// Docker only: networks, aliases and mounts from the deployment plan.
    pub placement: Option<crate::plugin::wit::latest::env::Placement>,
    /// Upper bound for the whole run phase.
    pub timeout: Duration,
}

/// How a service's run phase ended.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct ServiceExit {
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
    pub timed_out: bool,
    /// The host stopped it on purpose (a server at the end of a test).
    pub stopped_by_host: bool,
    /// It never started (an earlier phase failed).
    pub not_started: bool,
    pub duration: Duration,
    /// It failed because the environment lacks something it needs (a simulator without
    /// IPv6), and why: the test is `unsupported-by-environment`, not failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unsupported_by_environment: Option<String>,
}

impl ServiceExit {
    /// One phrase for reports and errors: `exit code 0`, `killed by signal 9 (SIGKILL)`,
    /// `timed out`, `exit code 127 (unsupported by the implementation, or program not found)`.
    pub fn describe(&self) -> String {
        let mut s = if self.not_started {
            match self.exit_code {
                Some(127) => "could not start (program not found)".to_string(),
                _ => "not started".to_string(),
            }
        } else if let Some(sig) = self.signal {
            let name = nix::sys::signal::Signal::try_from(sig).map(|s| s.as_str()).unwrap_or("unknown");
            format!("killed by signal {sig} ({name})")
        } else {
            match self.exit_code {
                Some(127) => "exit code 127 (unsupported by the implementation, or program not found)".to_string(),
                Some(126) => "exit code 126 (program not executable)".to_string(),
                Some(c) if c > 128 && c < 160 => {
                    let name = nix::sys::signal::Signal::try_from(c - 128).map(|s| s.as_str()).unwrap_or("unknown");
                    format!("exit code {c} (a shell's way of saying signal {} / {name})", c - 128)
                }
                Some(c) => format!("exit code {c}"),
                None => "unknown exit".to_string(),
            }
        };
        if self.timed_out {
            s = format!("timed out, {s}");
        } else if self.stopped_by_host {
            s = format!("stopped by the host, {s}");
        }
        s
    }

    /// The exit says the implementation does not support the test (interop convention).
    pub fn is_unsupported(&self) -> bool {
        self.exit_code == Some(127) && !self.not_started
    }

    /// A service that never started (nothing ran yet, or an earlier phase failed).
    pub(crate) fn never_started() -> Self {
        ServiceExit { not_started: true, ..ServiceExit::default() }
    }
}

/// The events both executors emit when a phase or a command ends, built in one place so a
/// container's run and a process's read the same in events.jsonl.
pub(crate) fn phase_finished(phase: &str, ok: bool, cached: bool, took: Duration) -> EventKind {
    EventKind::PhaseFinished { phase: phase.into(), ok, cached, duration_ms: took.as_millis() as u64 }
}

/// See [`phase_finished`].
pub(crate) fn command_finished(phase: &str, index: usize, exit: &ServiceExit) -> EventKind {
    EventKind::CommandFinished {
        phase: phase.into(),
        index,
        exit_code: exit.exit_code,
        signal: exit.signal,
        timed_out: exit.timed_out,
        duration_ms: exit.duration.as_millis() as u64,
    }
}

/// Result of one phase's commands.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PhaseReport {
    pub phase: String,
    pub commands: Vec<CommandReport>,
    /// The phase was skipped because its content-hash cache entry was present.
    pub cached: bool,
}

impl PhaseReport {
    /// A phase before any of its commands ran.
    pub(crate) fn empty(phase: &str) -> Self {
        PhaseReport { phase: phase.into(), commands: vec![], cached: false }
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct CommandReport {
    pub argv: Vec<String>,
    pub exit: ServiceExit,
    pub critical: bool,
    pub stdout: PathBuf,
    pub stderr: PathBuf,
}

/// What teardown did, step by step; it goes into the experiment summary.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct TeardownReport {
    pub steps: Vec<TeardownStep>,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct TeardownStep {
    pub what: String,
    pub ok: bool,
    pub detail: String,
}

impl TeardownStep {
    /// The event that records this step as it happens (the report keeps them all).
    pub(crate) fn event(&self) -> EventKind {
        EventKind::TeardownStep { what: self.what.clone(), ok: self.ok, detail: self.detail.clone() }
    }
}

/// Errors of executors. Each names the service and what failed.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ExecError {
    #[error("service `{service}`: critical command failed in phase {phase}: `{argv}` ({reason}); see {log}")]
    #[diagnostic(code(panther::exec::command_failed))]
    CommandFailed { service: String, phase: String, argv: String, reason: String, log: String },
    #[error("service `{service}` did not become ready within {timeout:?}: {condition}")]
    #[diagnostic(
        code(panther::exec::not_ready),
        help("look at its logs in {logs}; raise readiness timeout in the plugin parameters if it is just slow")
    )]
    NotReady { service: String, timeout: Duration, condition: String, logs: String },
    #[error("service `{service}` exited before it became ready ({exit}); see {logs}")]
    #[diagnostic(code(panther::exec::exited_early))]
    ExitedEarly { service: String, exit: String, logs: String },
    #[error("service `{service}`: cannot start `{program}`: {source}")]
    #[diagnostic(
        code(panther::exec::spawn),
        help("is the program installed? `make setup` installs the IUT toolchains")
    )]
    Spawn {
        service: String,
        program: String,
        #[source]
        source: std::io::Error,
    },
    /// The Docker daemon refused or failed a request.
    #[error("docker: {what}: {source}")]
    #[diagnostic(code(panther::exec::docker))]
    Daemon {
        what: String,
        #[source]
        source: bollard::errors::Error,
    },
    #[error("no Docker daemon reachable at {at}: {detail}")]
    #[diagnostic(
        code(panther::exec::no_docker),
        help(
            "start the Docker engine (`systemctl start docker` or `dockerd &`) or set DOCKER_HOST; \
             use `[tests.network] type = \"localhost\"` to run without Docker"
        )
    )]
    NoDaemon { at: String, detail: String },
    /// A service's plan or placement asks for what the Docker executor cannot do.
    #[error("docker: service `{service}`: {problem}")]
    #[diagnostic(code(panther::exec::placement))]
    Placement { service: String, problem: String },
    /// The base image could not be made, or an image spec could not be built.
    #[error("docker: image {image}: {problem}")]
    #[diagnostic(code(panther::exec::image))]
    Image { image: String, problem: String },
    /// The orchestrator called an executor's steps out of order: a bug of the host.
    #[error("service `{service}`: {step} before it was prepared (a bug of panther-host; please report it)")]
    #[diagnostic(code(panther::exec::out_of_order))]
    OutOfOrder { service: String, step: &'static str },
    /// The subnet chosen for a test's network was taken by another network between the
    /// choice and the creation; the orchestrator plans the test again on another subnet.
    #[error("docker: test `{test}`: subnet {subnet} is taken by another network: {message}")]
    #[diagnostic(code(panther::exec::subnet_taken))]
    SubnetTaken { test: String, subnet: crate::run::subnets::Subnet, message: String },
    /// The environment cannot run this service at all; the test is judged
    /// `unsupported-by-environment` with the reason, not failed.
    #[error("service `{service}` cannot run under {environment}: {reason}")]
    #[diagnostic(code(panther::exec::unsupported_by_environment))]
    UnsupportedByEnvironment { service: String, environment: String, reason: String },
    #[error("interrupted")]
    #[diagnostic(code(panther::exec::interrupted))]
    Interrupted,
    #[error("{0}")]
    #[diagnostic(code(panther::exec::io))]
    Io(String),
    #[error("service `{service}`: {source}")]
    #[diagnostic(code(panther::exec::source))]
    Source {
        service: String,
        #[source]
        source: Box<sources::SourceError>,
    },
}

/// A link relay the environment placed between two networks of a Docker test (contract
/// 0.2.0 `relay`), with the addresses the host chose for it.
#[derive(Debug, Clone, PartialEq)]
pub struct RelayContainer {
    /// The service it stands in front of.
    pub server: String,
    pub client_network: String,
    /// Its address on the clients' network, where it answers to `aliases`.
    pub client_ip: std::net::Ipv4Addr,
    pub server_network: String,
    /// Its address on the server's network: the one the server sees its clients at.
    pub server_ip: std::net::Ipv4Addr,
    /// The server's names, which resolve to the relay on the clients' network.
    pub aliases: Vec<String>,
    /// The relay program's configuration ([`crate::link::serve::ServeConfig`]), in the test's
    /// directory.
    pub config: std::path::PathBuf,
}

impl RelayContainer {
    /// Made by the relay once it listens ([`crate::link::serve::ServeConfig::ready`]).
    pub fn ready_file(&self) -> PathBuf {
        self.config.with_extension("ready")
    }

    /// The relay program's output.
    pub fn log_file(&self) -> PathBuf {
        self.config.with_extension("log")
    }
}

/// How a test's services run: as local processes ([`local::LocalExecutor`]), as containers
/// ([`docker::DockerExecutor`]), inside a simulation ([`shadow::ShadowExecutor`]), and
/// whatever comes next. The
/// orchestrator ([`crate::run::drive`]) calls these in the order the module docs give and
/// never looks inside; an executor decides *how* a checked plan runs, never *what* runs.
///
/// Futures are `Send` so a test can be driven on any runtime thread. Readiness polling is
/// shared ([`readiness::wait_ready`]); an executor only says how to observe its services.
pub trait Executor: Sync {
    /// A started service: what the executor needs to wait for it or stop it.
    type Running: Send;

    /// Makes what a deployment needs before any service is prepared (networks, dual-stack
    /// with `dual_stack`); nothing by default.
    ///
    /// # Errors
    /// The environment refused (e.g. [`ExecError::SubnetTaken`]).
    fn setup_networks(
        &self,
        _test: &str,
        _deployment: &DeploymentPlan,
        _subnets: &crate::run::subnets::TestSubnets,
        _dual_stack: bool,
    ) -> impl Future<Output = Result<(), ExecError>> + Send {
        async { Ok(()) }
    }

    /// Starts the link relays the environment placed between the test's networks (Docker),
    /// after the networks and before any service, and returns once they listen. Each runs
    /// `panther-host link-relay` on the configuration the host wrote ([`RelayContainer::config`]).
    /// Other executors have none: localhost links are relays in this process and Shadow
    /// simulates its own.
    ///
    /// # Errors
    /// A relay could not be started, or this executor cannot run relays.
    fn start_relays(
        &self,
        _test: &str,
        relays: &[RelayContainer],
    ) -> impl Future<Output = Result<(), ExecError>> + Send {
        let first = relays.first().map(|r| r.server.clone());
        async move {
            match first {
                None => Ok(()),
                Some(server) => Err(ExecError::Placement {
                    service: server,
                    problem: "this executor cannot run a link relay between networks".into(),
                }),
            }
        }
    }

    /// The interface to capture a test's traffic on; by default what the deployment asked for.
    fn capture_interface(&self, _test: &str, deployment: &DeploymentPlan) -> Option<String> {
        deployment.capture.as_ref().map(|c| c.interface.clone())
    }

    /// Whether the executor runs the test inside a simulation with a clock of its own: it
    /// writes `capture.pcap` itself (the host starts no capture and notes none missing), and a
    /// test's `wait` in wall-clock time means nothing to it.
    fn simulates(&self) -> bool {
        false
    }

    /// Pre-compile, compile and post-compile phases (cached by content hash), or the image
    /// build; nothing is started yet.
    ///
    /// # Errors
    /// A critical command or the image build failed.
    fn prepare(&self, svc: &ServiceInstance) -> impl Future<Output = Result<Vec<PhaseReport>, ExecError>> + Send;

    /// Pre-run commands, then the run phase in the background.
    ///
    /// # Errors
    /// Writing files, a pre-run command or starting the service failed.
    fn start(&self, svc: &ServiceInstance) -> impl Future<Output = Result<Self::Running, ExecError>> + Send;

    /// Waits until the plan's readiness condition holds ([`readiness::wait_ready`]). A service
    /// that does not become ready stays in `running` for [`Executor::stop`].
    ///
    /// # Errors
    /// Not ready in time, exited first, or interrupted.
    fn wait_ready(
        &self,
        svc: &ServiceInstance,
        running: &mut Self::Running,
        cancel: &CancellationToken,
    ) -> impl Future<Output = Result<(), ExecError>> + Send;

    /// Waits for the service to end on its own, within its timeout; `cancel` stops it.
    fn wait(
        &self,
        svc: &ServiceInstance,
        running: &mut Self::Running,
        cancel: &CancellationToken,
    ) -> impl Future<Output = ServiceExit> + Send;

    /// SIGTERM, `grace`, SIGKILL. A service that already ended keeps its own exit.
    fn stop(
        &self,
        svc: &ServiceInstance,
        running: &mut Self::Running,
        grace: Duration,
    ) -> impl Future<Output = ServiceExit> + Send;

    /// Post-run commands, then the artifacts that exist. Returns every phase report of the
    /// service not returned by `prepare`.
    fn post_run(
        &self,
        svc: &ServiceInstance,
    ) -> impl Future<Output = (Vec<PhaseReport>, Vec<(ArtifactKind, PathBuf)>)> + Send;

    /// Where the stdout and stderr of the service's own process (the last run command) are;
    /// the outcome's log tails come from them.
    fn service_logs(&self, svc: &ServiceInstance) -> (PathBuf, PathBuf);

    /// Ends everything this executor started; always called, also after errors and Ctrl-C;
    /// idempotent, every step reported.
    fn teardown(&self) -> impl Future<Output = TeardownReport> + Send;

    /// The same, synchronously and without grace, for a drive unwinding from a panic, where
    /// nothing async can run ([`crate::run::drive`]'s guard).
    fn emergency_teardown(&self);
}
