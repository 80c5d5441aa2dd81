//! The Shadow executor: a test's services as processes of a Shadow simulation, one simulated
//! host per service, on a network that does what the test's `link` says.
//!
//! Shadow runs a whole test at once, so this executor collects the services as the
//! orchestrator starts them and runs the simulation when the first service is waited for or
//! stopped; each service's exit then comes from the simulation's record of its process.
//! Compile phases, pre-run and post-run commands, artifacts and the service's directories are
//! the local executor's (the programs run on this machine, under Shadow's interposition).
//!
//! Readiness cannot be watched inside a simulation that has not run yet; it becomes start
//! times instead: a service starts [`READY_AFTER`] of simulated time after what it waits for
//! started (a process binds its ports at once in simulated time: CPU time is free there), and
//! `exited` readiness, which has no such bound, is refused. What Shadow cannot run at all
//! (statically linked programs) is `unsupported-by-environment` with the reason.
//!
//! Determinism: Shadow's clock, scheduling and randomness come from the seed, so a test run
//! twice with one seed gives identical captures and logs (`tests/e2e/shadow.rs` checks it).

pub mod build;
pub mod config;

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use crate::events::{Entity, EventSink};
use crate::exec::local::{self, LocalExecutor};
use crate::exec::{
    CommandReport, ExecError, Executor, PhaseReport, ServiceExit, ServiceInstance, TeardownReport, TeardownStep,
};
use crate::plugin::types::{ArtifactKind, ReadinessCondition, Role};
use crate::plugin::wit::latest::env::DeploymentPlan;

pub use config::{Expected, SimConfig, SimHost, SimLink};

/// Simulated time between a service's start and the start of what waits for it.
pub const READY_AFTER: Duration = Duration::from_secs(1);

/// How a test is simulated (from the experiment and the test).
#[derive(Debug, Clone)]
pub struct SimSettings {
    pub seed: u64,
    /// Simulated time at which the simulation ends.
    pub stop: Duration,
    pub link: SimLink,
    pub model_syscall_latency: bool,
}

/// What one simulation did.
#[derive(Debug)]
pub struct SimResult {
    /// Shadow's data directory: `hosts/<host>/` with each process's output and `eth0.pcap`.
    pub data: PathBuf,
    /// Shadow's own log (its stdout).
    pub log: PathBuf,
    /// Host name → how its process ended.
    pub exits: BTreeMap<String, ServiceExit>,
    /// Shadow's log lines about each host, for the services that did not end as expected.
    pub lines: BTreeMap<String, Vec<String>>,
    /// Wall-clock time of the simulation.
    pub wall: Duration,
    pub version: String,
}

/// One service as a simulated host.
#[derive(Debug, Clone)]
struct Entry {
    service: String,
    host: SimHost,
    /// Dependents start this long after it (simulated).
    ready_after: Duration,
    argv: Vec<String>,
    critical: bool,
    /// The service's logs directory.
    logs: PathBuf,
}

enum Sim {
    Idle,
    Running(tokio::task::JoinHandle<Result<SimResult, String>>, CancellationToken),
    Done(Arc<Result<SimResult, String>>),
}

/// A service handed to the simulation.
#[derive(Debug)]
pub struct RunningShadow {
    host: String,
}

pub struct ShadowExecutor {
    local: LocalExecutor,
    test_dir: PathBuf,
    cache_root: PathBuf,
    events: EventSink,
    settings: SimSettings,
    entries: Mutex<Vec<Entry>>,
    sim: tokio::sync::Mutex<Sim>,
    /// Shadow's pid while it runs, for a teardown that cannot wait.
    pid: Arc<Mutex<Option<i32>>>,
    /// The test's name in events, learnt from its first service.
    test: Mutex<String>,
    /// Found or built by the first `prepare`, so a first build (minutes) is not counted
    /// against the test's deadline.
    binary: tokio::sync::OnceCell<Result<build::ShadowBinary, String>>,
}

fn entity(svc: &ServiceInstance) -> Entity {
    Entity::service(&svc.test, &svc.name)
}

fn unsupported(svc: &ServiceInstance, reason: String) -> ExecError {
    ExecError::UnsupportedByEnvironment { service: svc.name.clone(), environment: "shadow".into(), reason }
}

/// Whether an ELF file has no program interpreter (a statically linked program). Shadow
/// enters a process through the dynamic loader (LD_PRELOAD), so it cannot run those.
pub fn is_static_elf(path: &Path) -> bool {
    let Ok(bytes) = std::fs::read(path) else { return false };
    if bytes.len() < 64 || &bytes[..4] != b"\x7fELF" || bytes[4] != 2 || bytes[5] != 1 {
        return false; // not a 64-bit little-endian ELF: a script, or not ours to judge
    }
    let u16_at = |o: usize| u16::from_le_bytes([bytes[o], bytes[o + 1]]) as usize;
    let u64_at = |o: usize| u64::from_le_bytes(bytes[o..o + 8].try_into().expect("8 bytes")) as usize;
    let (phoff, phentsize, phnum) = (u64_at(0x20), u16_at(0x36), u16_at(0x38));
    const PT_INTERP: u32 = 3;
    !(0..phnum).any(|i| {
        let o = phoff + i * phentsize;
        o + 4 <= bytes.len() && u32::from_le_bytes(bytes[o..o + 4].try_into().expect("4 bytes")) == PT_INTERP
    })
}

impl ShadowExecutor {
    pub fn new(
        local: LocalExecutor,
        test_dir: PathBuf,
        cache_root: PathBuf,
        events: EventSink,
        settings: SimSettings,
    ) -> Self {
        ShadowExecutor {
            local,
            test_dir,
            cache_root,
            events,
            settings,
            entries: Mutex::new(vec![]),
            sim: tokio::sync::Mutex::new(Sim::Idle),
            pid: Arc::new(Mutex::new(None)),
            binary: tokio::sync::OnceCell::new(),
            test: Mutex::new(String::new()),
        }
    }

    /// The `shadow` binary, found or built once (see [`build::ensure`]).
    async fn binary(&self) -> &Result<build::ShadowBinary, String> {
        self.binary
            .get_or_init(|| async {
                let (cache, events, test) = (self.cache_root.clone(), self.events.clone(), self.test_name());
                tokio::task::spawn_blocking(move || {
                    build::ensure(&cache, &|m| {
                        eprintln!("panther-host: {m}");
                        events.note(Entity::test(&test), m);
                    })
                })
                .await
                .map_err(|e| format!("the Shadow build task failed: {e}"))?
                .map_err(|e| e.to_string())
            })
            .await
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, Vec<Entry>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The simulated host of `svc`: its process, start time and expected end.
    fn entry(&self, svc: &ServiceInstance) -> Result<Entry, ExecError> {
        let run = &svc.plan.plan().phases.run;
        let [cmd] = run.as_slice() else {
            return Err(unsupported(
                svc,
                format!(
                    "its run phase has {} commands; a simulated host runs one process per service (connections one after another cannot be ordered before the simulation runs)",
                    run.len()
                ),
            ));
        };
        let ip: Ipv4Addr = svc.host.parse().map_err(|_| ExecError::Placement {
            service: svc.name.clone(),
            problem: format!("a Shadow host needs an IPv4 address, and the environment placed it at `{}`", svc.host),
        })?;
        let program = cmd
            .argv
            .first()
            .filter(|p| !p.is_empty())
            .ok_or_else(|| ExecError::Io(format!("service `{}`: its run command has an empty argv", svc.name)))?;
        let cwd = self.local.working_dir(svc, cmd)?;
        let env: BTreeMap<String, String> = local::command_env(svc, cmd)
            .into_iter()
            .map(|(k, v)| (k.to_string_lossy().into_owned(), v.to_string_lossy().into_owned()))
            .collect();
        let path_var = env.get("PATH").cloned().unwrap_or_default();
        let resolved =
            local::resolve(program, &cwd, std::ffi::OsStr::new(&path_var)).ok_or_else(|| ExecError::Spawn {
                service: svc.name.clone(),
                program: program.clone(),
                source: std::io::Error::new(std::io::ErrorKind::NotFound, "not found in PATH or not a file"),
            })?;
        if is_static_elf(&resolved) {
            return Err(unsupported(
                svc,
                format!(
                    "{} is statically linked; Shadow runs only dynamically linked programs (it enters them through the dynamic loader)",
                    resolved.display()
                ),
            ));
        }
        let ready_after = match &svc.plan.plan().readiness.condition {
            ReadinessCondition::Started => Duration::ZERO,
            ReadinessCondition::PortBound(_) | ReadinessCondition::LogLine(_) | ReadinessCondition::FileExists(_) => READY_AFTER,
            ReadinessCondition::Exited => {
                return Err(unsupported(
                    svc,
                    "its readiness is `exited`, and a simulation cannot know before it runs when a process will have exited".into(),
                ))
            }
        };
        let start = {
            let entries = self.entries();
            svc.after
                .iter()
                .filter_map(|a| entries.iter().find(|e| &e.service == a))
                .map(|e| e.host.start + e.ready_after)
                .max()
                .unwrap_or(Duration::ZERO)
        };
        if start >= self.settings.stop {
            return Err(unsupported(
                svc,
                format!(
                    "it would start at {start:?} of simulated time, at or after the simulation's end ({:?})",
                    self.settings.stop
                ),
            ));
        }
        // Shadow starts every process in the host's data directory; the shell takes it to the
        // plan's working directory and becomes the program (same process, same exit).
        let mut args = vec!["-c".to_string(), "cd -- \"$1\" && shift && exec \"$@\"".into(), "sh".into()];
        args.push(cwd.display().to_string());
        args.push(resolved.display().to_string());
        args.extend(cmd.argv[1..].iter().cloned());
        let expected = if svc.role == Role::Server && !svc.tester { Expected::Running } else { Expected::Exits };
        let host = SimHost {
            name: config::host_name(&svc.name),
            ip,
            path: PathBuf::from("/bin/sh"),
            args,
            env,
            start,
            expected,
        };
        Ok(Entry {
            service: svc.name.clone(),
            host,
            ready_after,
            argv: cmd.argv.clone(),
            critical: cmd.critical,
            logs: svc.dirs.logs.clone(),
        })
    }

    /// The simulation's result, running it first if nobody has; `kill` ends a simulation
    /// another call had started and is still waiting for (the test's deadline passed, or
    /// Ctrl-C). A simulation this call starts runs to its end: a test of servers only is
    /// first asked for when they are stopped.
    async fn simulation(&self, kill: bool) -> Arc<Result<SimResult, String>> {
        let mut sim = self.sim.lock().await;
        let kill = kill && matches!(*sim, Sim::Running(..));
        if let Sim::Idle = *sim {
            let token = CancellationToken::new();
            let shadow = match self.binary().await {
                Ok(b) => b.clone(),
                Err(e) => {
                    *sim = Sim::Done(Arc::new(Err(e.clone())));
                    return match &*sim {
                        Sim::Done(r) => r.clone(),
                        _ => unreachable!("just set"),
                    };
                }
            };
            let job = Job {
                config: SimConfig {
                    seed: self.settings.seed,
                    stop: self.settings.stop,
                    link: self.settings.link.clone(),
                    hosts: self.entries().iter().map(|e| e.host.clone()).collect(),
                    model_syscall_latency: self.settings.model_syscall_latency,
                },
                dir: self.test_dir.join("shadow"),
                shadow,
                pid: self.pid.clone(),
            };
            *sim = Sim::Running(tokio::spawn(job.run(token.clone())), token);
        }
        if let Sim::Running(task, token) = &mut *sim {
            if kill {
                token.cancel();
            }
            let r = match task.await {
                Ok(r) => r,
                Err(e) => Err(format!("the simulation task failed: {e}")),
            };
            match &r {
                Ok(r) => {
                    self.events.note(
                        Entity::test(&self.test_name()),
                        format!("{} simulated {:?} in {:.2?} of wall time", r.version, self.settings.stop, r.wall),
                    );
                    self.publish(r)
                }
                // Each service's stderr says why it has no output of its own; reports show it.
                Err(e) => {
                    for entry in self.entries().iter() {
                        let run = entry.logs.join("run");
                        let _ = std::fs::create_dir_all(&run);
                        let _ = std::fs::write(
                            run.join("cmd-0.stderr"),
                            format!("panther-host: the simulation failed: {e}\n"),
                        );
                    }
                }
            }
            *sim = Sim::Done(Arc::new(r));
        }
        match &*sim {
            Sim::Done(r) => r.clone(),
            _ => unreachable!("the simulation is done here"),
        }
    }

    /// Puts each host's output where the reports look for it: stdout and stderr as the local
    /// executor names them, the host's capture in its logs, the test's `capture.pcap`.
    fn publish(&self, r: &SimResult) {
        let entries = self.entries().clone();
        for e in &entries {
            let dir = r.data.join("hosts").join(&e.host.name);
            let logs = &e.logs;
            let run = logs.join("run");
            let _ = std::fs::create_dir_all(&run);
            for (ext, to) in [("stdout", run.join("cmd-0.stdout")), ("stderr", run.join("cmd-0.stderr"))] {
                if let Some(f) = first_with_ext(&dir, ext) {
                    let _ = std::fs::copy(f, to);
                }
            }
            let _ = std::fs::copy(dir.join("eth0.pcap"), logs.join("eth0.pcap"));
            if let Some(lines) = r.lines.get(&e.host.name) {
                let _ = std::fs::write(logs.join("shadow.log"), lines.join("\n") + "\n");
            }
        }
        // The test's capture: the host the others connect to sees the whole conversation of
        // a client-server test; it is the first one started.
        if let Some(first) = entries.first() {
            let _ = std::fs::copy(
                r.data.join("hosts").join(&first.host.name).join("eth0.pcap"),
                self.test_dir.join("capture.pcap"),
            );
        }
    }

    /// The test's name as events know it (its services carry it).
    fn test_name(&self) -> String {
        self.test.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn exit_of(&self, svc: &ServiceInstance, r: &Result<SimResult, String>, host: &str) -> ServiceExit {
        match r {
            Ok(r) => {
                // The run phase lasted as long as the simulation did, in wall time.
                let exit = r
                    .exits
                    .get(host)
                    .cloned()
                    .map(|e| ServiceExit { duration: r.wall, ..e })
                    .unwrap_or_else(ServiceExit::never_started);
                if exit.timed_out {
                    let why = r.lines.get(host).map(|l| l.join(" | ")).unwrap_or_default();
                    self.events.note(
                        entity(svc),
                        format!(
                            "still running when the simulation ended at {:?} of simulated time; Shadow says: {why}",
                            self.settings.stop
                        ),
                    );
                }
                exit
            }
            Err(e) => {
                self.events.note(entity(svc), format!("the simulation failed: {e}"));
                // Whatever ran was killed with the simulation.
                ServiceExit {
                    signal: Some(nix::sys::signal::Signal::SIGKILL as i32),
                    stopped_by_host: true,
                    ..ServiceExit::default()
                }
            }
        }
    }
}

fn first_with_ext(dir: &Path, ext: &str) -> Option<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == ext))
        .collect();
    files.sort();
    files.into_iter().next()
}

/// One run of Shadow, on its own task.
struct Job {
    config: SimConfig,
    dir: PathBuf,
    shadow: build::ShadowBinary,
    pid: Arc<Mutex<Option<i32>>>,
}

impl Job {
    async fn run(self, kill: CancellationToken) -> Result<SimResult, String> {
        let shadow = &self.shadow;
        let data = self.dir.join("shadow.data");
        let _ = std::fs::remove_dir_all(&data);
        std::fs::create_dir_all(&self.dir).map_err(|e| format!("cannot create {}: {e}", self.dir.display()))?;
        let config_path = self.dir.join("shadow.yaml");
        std::fs::write(&config_path, self.config.render())
            .map_err(|e| format!("cannot write {}: {e}", config_path.display()))?;
        let log = self.dir.join("shadow.log");
        let stderr = self.dir.join("shadow.stderr");
        let open = |p: &Path| std::fs::File::create(p).map_err(|e| format!("cannot create {}: {e}", p.display()));
        let mut c = tokio::process::Command::new(&shadow.path);
        c.arg("--data-directory")
            .arg(&data)
            .arg(&config_path)
            .current_dir(&self.dir)
            .stdin(std::process::Stdio::null())
            .stdout(open(&log)?)
            .stderr(open(&stderr)?)
            .process_group(0)
            .kill_on_drop(true);
        super::leftovers::die_with_host(&mut c);
        let started = Instant::now();
        let mut child = c.spawn().map_err(|e| format!("cannot start {}: {e}", shadow.path.display()))?;
        let pid = child.id().map(|p| p as i32);
        *self.pid.lock().unwrap_or_else(|p| p.into_inner()) = pid;
        let status = tokio::select! {
            s = child.wait() => s,
            _ = kill.cancelled() => {
                // Shadow ends its simulated processes when it is told to stop.
                if let Some(p) = pid {
                    let _ = nix::sys::signal::killpg(nix::unistd::Pid::from_raw(p), nix::sys::signal::Signal::SIGTERM);
                }
                match tokio::time::timeout(Duration::from_secs(2), child.wait()).await {
                    Ok(s) => s,
                    Err(_) => {
                        let _ = child.start_kill();
                        child.wait().await
                    }
                }
            }
        };
        *self.pid.lock().unwrap_or_else(|p| p.into_inner()) = None;
        let wall = started.elapsed();
        let status = status.map_err(|e| format!("cannot wait for Shadow: {e}"))?;
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        let lines = lines_by_host(&text, &self.config.hosts);
        if kill.is_cancelled() {
            return Err(format!("the simulation was stopped after {wall:.1?} of wall time (the test's deadline, or Ctrl-C); its log: {}", log.display()));
        }
        // Shadow exits non-zero when a process ended unexpectedly, which is a test result, not
        // a failure of the simulation; without any such line it is the simulation that failed.
        let unexpected = lines.values().flatten().any(|l| l.contains("expected end state"));
        if !status.success() && !unexpected {
            return Err(format!(
                "Shadow ended with {status}; the last lines of {}:\n{}",
                log.display(),
                crate::exec::tail(&log, 1500) + &crate::exec::tail(&stderr, 1500)
            ));
        }
        let exits = self
            .config
            .hosts
            .iter()
            .map(|h| {
                let mut exit = final_state(h, lines.get(&h.name));
                let failed = exit.exit_code.is_some_and(|c| c != 0) || (exit.signal.is_some() && !exit.stopped_by_host);
                if failed {
                    let stderr = first_with_ext(&data.join("hosts").join(&h.name), "stderr");
                    exit.unsupported_by_environment = stderr.and_then(|f| beyond_shadow(&crate::exec::tail(&f, 4096)));
                }
                (h.name.clone(), exit)
            })
            .collect();
        Ok(SimResult { data, log, exits, lines, wall, version: shadow.version.clone() })
    }
}

/// Shadow's log lines that name a host's processes (`process 'client.sh.1000' ...`) or the
/// host itself (`[client:11.0.0.2]`), warnings and errors only.
fn lines_by_host(log: &str, hosts: &[SimHost]) -> BTreeMap<String, Vec<String>> {
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in log.lines().filter(|l| l.contains("[ERROR]") || l.contains("[WARN]")) {
        for h in hosts {
            if line.contains(&format!("'{}.", h.name)) || line.contains(&format!("[{}:", h.name)) {
                let v = out.entry(h.name.clone()).or_default();
                if v.len() < 50 {
                    v.push(crate::text::terminal(line).into_owned());
                }
            }
        }
    }
    out
}

/// How a host's process ended: what Shadow's log says when it is not what was expected, the
/// expected end otherwise.
fn final_state(h: &SimHost, lines: Option<&Vec<String>>) -> ServiceExit {
    let stated = lines.into_iter().flatten().find_map(|l| {
        let rest = l.split("exited with status ").nth(1)?;
        Some(rest.split(';').next()?.trim().to_string())
    });
    let mut exit = ServiceExit::default();
    match stated.as_deref() {
        None => match h.expected {
            Expected::Exits => exit.exit_code = Some(0),
            Expected::Running => {
                exit.stopped_by_host = true;
                exit.signal = Some(nix::sys::signal::Signal::SIGKILL as i32);
            }
        },
        Some("StoppedByShadow") => {
            // Still running at the end: for a service that should have exited, its time ran
            // out. Shadow ends what still runs with SIGKILL.
            exit.stopped_by_host = true;
            exit.signal = Some(nix::sys::signal::Signal::SIGKILL as i32);
            exit.timed_out = h.expected == Expected::Exits;
        }
        Some(s) => {
            let inner = s.split_once('(').and_then(|(_, r)| r.strip_suffix(')')).unwrap_or("");
            if s.starts_with("Normal") {
                exit.exit_code = inner.parse().ok();
            } else if s.starts_with("Signaled") {
                exit.signal = signal_number(inner);
            }
        }
    }
    exit
}

/// What a failed simulated process's stderr says Shadow lacks, if anything: Shadow has no
/// IPv6, and a program that insists on an IPv6 socket (aioquic's client, a dual-stack one)
/// gets EAFNOSUPPORT.
fn beyond_shadow(stderr: &str) -> Option<String> {
    let line = stderr.lines().find(|l| l.contains("Address family not supported by protocol"))?;
    Some(format!(
        "Shadow has no IPv6, and the program failed to open an IPv6 socket: {}",
        crate::text::terminal(line.trim())
    ))
}

fn signal_number(name: &str) -> Option<i32> {
    name.parse().ok().or_else(|| name.parse::<nix::sys::signal::Signal>().ok().map(|s| s as i32))
}

impl Executor for ShadowExecutor {
    type Running = RunningShadow;

    fn capture_interface(&self, _test: &str, _deployment: &DeploymentPlan) -> Option<String> {
        None
    }

    fn simulates(&self) -> bool {
        true
    }

    async fn prepare(&self, svc: &ServiceInstance) -> Result<Vec<PhaseReport>, ExecError> {
        *self.test.lock().unwrap_or_else(|p| p.into_inner()) = svc.test.clone();
        let reports = self.local.prepare(svc).await?;
        match self.binary().await {
            Ok(b) => {
                self.events.note(entity(svc), format!("simulated by {} ({})", b.version, b.path.display()));
                Ok(reports)
            }
            Err(e) => Err(ExecError::Io(format!("service `{}`: Shadow is not available: {e}", svc.name))),
        }
    }

    async fn start(&self, svc: &ServiceInstance) -> Result<RunningShadow, ExecError> {
        self.local.pre_run(svc).await?;
        let e = self.entry(svc)?;
        self.events.note(
            entity(svc),
            format!(
                "simulated host `{}` at {}, starting at {:?} of simulated time{}",
                e.host.name,
                e.host.ip,
                e.host.start,
                if e.ready_after.is_zero() {
                    String::new()
                } else {
                    format!("; taken as ready {:?} later", e.ready_after)
                }
            ),
        );
        let host = e.host.name.clone();
        self.entries().push(e);
        Ok(RunningShadow { host })
    }

    async fn wait_ready(
        &self,
        _svc: &ServiceInstance,
        _r: &mut RunningShadow,
        _cancel: &CancellationToken,
    ) -> Result<(), ExecError> {
        Ok(())
    }

    async fn wait(&self, svc: &ServiceInstance, r: &mut RunningShadow, cancel: &CancellationToken) -> ServiceExit {
        let sim = tokio::select! {
            s = self.simulation(false) => s,
            _ = cancel.cancelled() => self.simulation(true).await,
        };
        self.exit_of(svc, &sim, &r.host)
    }

    async fn stop(&self, svc: &ServiceInstance, r: &mut RunningShadow, _grace: Duration) -> ServiceExit {
        let sim = self.simulation(true).await;
        self.exit_of(svc, &sim, &r.host)
    }

    async fn post_run(&self, svc: &ServiceInstance) -> (Vec<PhaseReport>, Vec<(ArtifactKind, PathBuf)>) {
        let sim = self.simulation(true).await;
        if let Some(e) = self.entries().iter().find(|e| e.service == svc.name) {
            let (stdout, stderr) = local::service_logs(svc);
            let exit = match sim.as_ref() {
                Ok(r) => r.exits.get(&e.host.name).cloned().unwrap_or_default(),
                Err(_) => ServiceExit::default(),
            };
            let report = PhaseReport {
                phase: "run".into(),
                commands: vec![CommandReport { argv: e.argv.clone(), exit, critical: e.critical, stdout, stderr }],
                cached: false,
            };
            self.local.record_phase(svc, report);
        }
        let (reports, mut artifacts) = self.local.post_run(svc).await;
        let pcap = svc.dirs.logs.join("eth0.pcap");
        if pcap.is_file() {
            artifacts.push((ArtifactKind::Pcap, pcap));
        }
        (reports, artifacts)
    }

    fn service_logs(&self, svc: &ServiceInstance) -> (PathBuf, PathBuf) {
        local::service_logs(svc)
    }

    async fn teardown(&self) -> TeardownReport {
        let mut report = TeardownReport::default();
        let running = matches!(*self.sim.lock().await, Sim::Running(..));
        if running {
            let r = self.simulation(true).await;
            report.steps.push(TeardownStep {
                what: "stop the Shadow simulation".into(),
                ok: true,
                detail: match r.as_ref() {
                    Ok(_) => "it had finished".into(),
                    Err(e) => e.clone(),
                },
            });
        }
        report.steps.extend(self.local.teardown().await.steps);
        report
    }

    fn emergency_teardown(&self) {
        if let Some(p) = *self.pid.lock().unwrap_or_else(|p| p.into_inner()) {
            let _ = nix::sys::signal::killpg(nix::unistd::Pid::from_raw(p), nix::sys::signal::Signal::SIGKILL);
        }
        self.local.emergency_teardown();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(expected: Expected) -> SimHost {
        SimHost {
            name: "client".into(),
            ip: Ipv4Addr::new(11, 0, 0, 2),
            path: "/bin/sh".into(),
            args: vec![],
            env: BTreeMap::new(),
            start: Duration::ZERO,
            expected,
        }
    }

    #[test]
    fn final_states_come_from_shadows_lines_or_the_expectation() {
        assert_eq!(final_state(&host(Expected::Exits), None).exit_code, Some(0));
        assert!(final_state(&host(Expected::Running), None).stopped_by_host);
        let line = |s: &str| {
            vec![format!("00:00:01 [ERROR] [client:11.0.0.2] process 'client.sh.1000' exited with status {s}; expected end state was exited: 0 but was x")]
        };
        assert_eq!(final_state(&host(Expected::Exits), Some(&line("Normal(3)"))).exit_code, Some(3));
        assert_eq!(final_state(&host(Expected::Exits), Some(&line("Signaled(SIGSEGV)"))).signal, Some(11));
        let hung = final_state(&host(Expected::Exits), Some(&line("StoppedByShadow")));
        assert!(hung.timed_out && hung.stopped_by_host);
        let server = final_state(&host(Expected::Running), Some(&line("StoppedByShadow")));
        assert!(!server.timed_out && server.stopped_by_host);
    }

    #[test]
    fn an_ipv6_socket_refused_by_shadow_is_named() {
        let why = beyond_shadow("Traceback\nOSError: [Errno 97] Address family not supported by protocol\n").unwrap();
        assert!(why.contains("no IPv6") && why.contains("Errno 97"), "{why}");
        assert!(beyond_shadow("connection refused").is_none());
    }

    #[test]
    fn lines_are_sorted_by_host() {
        let hosts = [host(Expected::Exits), SimHost { name: "server".into(), ..host(Expected::Running) }];
        let log = "a [ERROR] process 'client.sh.1000' exited\nb [WARN] [server:11.0.0.1] odd\nc [INFO] [server:11.0.0.1] fine\n";
        let by = lines_by_host(log, &hosts);
        assert_eq!(by["client"].len(), 1);
        assert_eq!(by["server"], ["b [WARN] [server:11.0.0.1] odd"]);
    }

    #[test]
    fn static_programs_are_told_apart_from_dynamic_ones() {
        assert!(!is_static_elf(Path::new("/bin/sh")), "Debian's sh is dynamically linked");
        assert!(!is_static_elf(Path::new("/etc/hostname")), "not an ELF file");
    }
}
