//! Local executor: services as local processes (tokio), one process group each.
//!
//! Owns [`LocalExecutor`] and [`RunningLocal`]: spawning commands, their log files, timeouts,
//! readiness polling, stopping and teardown. Does not decide what to run (plans are checked
//! and rendered before they get here) and never uses a shell: `argv[0]` is executed directly.
//!
//! Choices worth knowing:
//!
//! * **Process groups.** Every command is the leader of its own process group
//!   (`process_group(0)`); timeouts, stops and teardown signal the whole group with `killpg`,
//!   so children a service forks go with it. The host also makes itself a *child subreaper*
//!   (`PR_SET_CHILD_SUBREAPER`): a daemonised grandchild re-parents to the host instead of
//!   PID 1, and the host reaps it when its group dies. Without this, zombies under a PID 1 that
//!   never reaps (as in some containers) keep a dead group visible to `killpg(pgid, 0)`.
//!   A process that leaves its group on purpose (`setsid`) is out of reach; plans are not
//!   supposed to daemonise.
//! * **A host that dies.** Every command is spawned with `PR_SET_PDEATHSIG = SIGKILL`, so the
//!   leader dies with the host even under `kill -9`; the rest of its group (which the death
//!   signal does not reach) is in `<run>/processes.json`, which `panther-host clean` and the
//!   next `run` use to end it (`exec::leftovers`).
//! * **Environment.** Cleared (`env_clear`), then `PATH` (the host's), `HOME` set to the
//!   service's work directory (so tools that write `~/.something` stay inside the run
//!   directory and runs do not leak into each other or into the user's home), `RUSTUP_HOME`
//!   and `CARGO_HOME` pointing at the real toolchain (see `toolchain_env`), then the
//!   environment plugin's variables, then the command's own (which win).
//! * **Confinement.** Working directories, written files and artifacts must resolve (after
//!   following symlinks) inside the run directory, the tools directory or the cache directory;
//!   anything else is refused before anything runs.
//! * **Logs.** `<logs>/<phase>/cmd-<n>.stdout|.stderr` per command, and
//!   `<logs>/<phase>/commands.json` (argv, exit, duration) rewritten after every command so
//!   an interrupted run keeps what happened.
//! * **States.** The executor records commands, phases and readiness as events but leaves the
//!   service state machine to the orchestrator, which knows the whole test.
//! * **Compile cache.** The compile phases are skipped when `<tools>/.panther-complete` exists.
//!   A build holds an exclusive lock on `<tools>.lock`, marks the directory with
//!   `.panther-building` first and writes `.panther-complete` last; a directory still marked
//!   as building (an earlier build failed or was killed) is wiped and rebuilt.

use std::collections::HashMap;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::contract::Phase;
use crate::events::{Entity, EventKind, EventSink};
use crate::exec::procnet::bound_sockets;
use crate::exec::sources::{copy_tree, Sources};
use crate::plan::confine::{Confinement, Escape};
use crate::plugin::types::{ArtifactKind, Command, Transport};

use super::{
    command_finished, phase_finished, readiness, CommandReport, ExecError, Executor, PhaseReport, ServiceExit,
    ServiceInstance, TeardownReport, TeardownStep,
};

/// Marker written into a tools directory once its compile phases all succeeded.
pub const COMPLETE_MARKER: &str = ".panther-complete";
/// Marker written into a tools directory before its compile phases run.
pub const BUILDING_MARKER: &str = ".panther-building";
/// How often readiness and group liveness are polled.
const POLL: Duration = Duration::from_millis(25);
/// How long a group gets after SIGKILL to disappear before teardown reports it as stuck.
const KILL_WAIT: Duration = Duration::from_secs(5);
/// Grace between SIGTERM and SIGKILL when the host kills on its own initiative (timeouts,
/// failed readiness, teardown).
const KILL_GRACE: Duration = Duration::from_secs(1);
/// Used when the host itself has no PATH.
/// Where rustup and cargo keep toolchains and the registry. HOME is moved into the run
/// directory, so toolchains on PATH that find their data through HOME (rustup's proxies,
/// cargo's registry) get their real locations explicitly; nothing else of the host's
/// environment passes.
fn toolchain_env() -> Vec<(&'static str, std::ffi::OsString)> {
    let home = std::env::var_os("HOME").map(PathBuf::from).unwrap_or_else(|| PathBuf::from("/root"));
    let rustup = std::env::var_os("RUSTUP_HOME").unwrap_or_else(|| home.join(".rustup").into_os_string());
    let cargo = std::env::var_os("CARGO_HOME").unwrap_or_else(|| home.join(".cargo").into_os_string());
    let mut out = vec![];
    if Path::new(&rustup).is_dir() {
        out.push(("RUSTUP_HOME", rustup));
    }
    if Path::new(&cargo).is_dir() {
        out.push(("CARGO_HOME", cargo));
    }
    out
}

const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// The whole environment of a command of `svc`, later entries winning: the host's PATH, HOME
/// in the work directory, the toolchains' homes, the environment plugin's additions, the
/// command's own. A simulated process gets the same.
pub(crate) fn command_env(svc: &ServiceInstance, cmd: &Command) -> Vec<(std::ffi::OsString, std::ffi::OsString)> {
    let mut env: Vec<(std::ffi::OsString, std::ffi::OsString)> = vec![
        ("PATH".into(), std::env::var_os("PATH").unwrap_or_else(|| DEFAULT_PATH.into())),
        ("HOME".into(), svc.dirs.work.clone().into_os_string()),
    ];
    env.extend(toolchain_env().into_iter().map(|(k, v)| (k.into(), v)));
    env.extend(svc.extra_env.iter().map(|(k, v)| (k.into(), v.into())));
    env.extend(cmd.env.iter().map(|(k, v)| (k.into(), v.into())));
    env
}

/// A process group the executor started.
#[derive(Debug, Clone)]
struct Group {
    label: String,
    pgid: i32,
    gone: bool,
}

struct Inner {
    run_dir: PathBuf,
    events: EventSink,
    groups: Mutex<Vec<Group>>,
    /// The run's `processes.json`, for `clean` after a host that died (see `exec::leftovers`).
    recorder: Option<Arc<super::leftovers::Recorder>>,
    /// pre-run and run phase reports per (test, service), handed back by `post_run`.
    phases: Mutex<HashMap<(String, String), Vec<PhaseReport>>>,
}

/// Runs services as local processes.
#[derive(Clone)]
pub struct LocalExecutor {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for LocalExecutor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalExecutor").field("run_dir", &self.inner.run_dir).finish_non_exhaustive()
    }
}

/// What the run phase's background task and the executor share.
#[derive(Debug, Default)]
struct RunShared {
    /// Group of the run command currently alive.
    pgid: Option<i32>,
    /// The last run command (the service itself) has been spawned.
    last_started: bool,
    /// The first run command has been spawned.
    first_started: bool,
    /// The host asked the service to stop: start no further command.
    stopping: bool,
    /// stdout and stderr of the last run command.
    service_logs: Option<(PathBuf, PathBuf)>,
}

/// A service whose run phase is going on (or over).
#[derive(Debug)]
pub struct RunningLocal {
    test: String,
    service: String,
    shared: Arc<Mutex<RunShared>>,
    done: watch::Receiver<Option<ServiceExit>>,
    started: Instant,
    /// The exit once someone saw it, with what the host added (timed_out, stopped_by_host).
    exit: Option<ServiceExit>,
}

impl RunningLocal {
    /// The process group of the run command alive now, if any.
    pub fn pgid(&self) -> Option<i32> {
        lock(&self.shared).pgid
    }

    /// The test and service names.
    pub fn names(&self) -> (&str, &str) {
        (&self.test, &self.service)
    }

    /// stdout and stderr files of the service process (the last run command), once started.
    pub fn service_logs(&self) -> Option<(PathBuf, PathBuf)> {
        lock(&self.shared).service_logs.clone()
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn io_err(what: impl std::fmt::Display, e: impl std::fmt::Display) -> ExecError {
    ExecError::Io(format!("{what}: {e}"))
}

/// The last `bytes` bytes of a file as text (invalid UTF-8 replaced), prefixed with `…` when
/// cut. A missing file gives an empty string: tails are for reports, not for deciding.
pub fn tail(path: &Path, bytes: usize) -> String {
    let bytes = bytes as u64;
    let Ok(mut f) = std::fs::File::open(path) else {
        return String::new();
    };
    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
    let start = len.saturating_sub(bytes);
    if f.seek(SeekFrom::Start(start)).is_err() {
        return String::new();
    }
    let mut buf = Vec::new();
    let _ = f.take(bytes).read_to_end(&mut buf);
    let mut text = String::from_utf8_lossy(&buf).into_owned();
    if start > 0 {
        // A cut multi-byte character decodes as U+FFFD; drop it rather than show garbage.
        let trimmed = text.trim_start_matches('\u{FFFD}');
        text = format!("…{trimmed}");
    }
    text
}

/// stdout and stderr files of a service's own process: the last command of its run phase.
pub fn service_logs(svc: &ServiceInstance) -> (PathBuf, PathBuf) {
    let n = svc.plan.plan().phases.run.len().saturating_sub(1);
    let dir = svc.dirs.logs.join("run");
    (dir.join(format!("cmd-{n}.stdout")), dir.join(format!("cmd-{n}.stderr")))
}

/// Maps an OS exit status. 127 stays 127: the interop convention for "unsupported", and also
/// what "program not found" becomes; [`ServiceExit::describe`] names both.
fn exit_of(status: std::process::ExitStatus, duration: Duration) -> ServiceExit {
    ServiceExit { exit_code: status.code(), signal: status.signal(), duration, ..ServiceExit::default() }
}

fn failed(exit: &ServiceExit) -> bool {
    exit.timed_out || exit.signal.is_some() || exit.exit_code != Some(0)
}

// ----- process groups -----

/// One line of `/proc/<pid>/stat`: (state, ppid, pgrp).
fn proc_stat(pid: i32) -> Option<(char, i32, i32)> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may contain spaces and parentheses; fields follow the last `)`.
    let rest = &s[s.rfind(')')? + 2..];
    let mut it = rest.split_whitespace();
    let state = it.next()?.chars().next()?;
    let ppid = it.next()?.parse().ok()?;
    let pgrp = it.next()?.parse().ok()?;
    Some((state, ppid, pgrp))
}

fn all_pids() -> Vec<i32> {
    std::fs::read_dir("/proc")
        .map(|d| d.filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok()).collect())
        .unwrap_or_default()
}

/// Live (non-zombie) members of a process group. Zombies the host may reap (children that
/// re-parented to it, not the leader, which tokio reaps) are reaped on the way.
fn group_members(pgid: i32) -> Vec<i32> {
    let me = std::process::id() as i32;
    let mut live = Vec::new();
    for pid in all_pids() {
        let Some((state, ppid, pgrp)) = proc_stat(pid) else {
            continue;
        };
        if pgrp != pgid {
            continue;
        }
        if state == 'Z' || state == 'X' {
            if ppid == me && pid != pgid {
                let _ = nix::sys::wait::waitpid(Pid::from_raw(pid), Some(nix::sys::wait::WaitPidFlag::WNOHANG));
            }
            continue;
        }
        live.push(pid);
    }
    live
}

fn group_alive(pgid: i32) -> bool {
    match killpg(Pid::from_raw(pgid), None) {
        Err(Errno::ESRCH) => false,
        _ => !group_members(pgid).is_empty(),
    }
}

async fn wait_gone(pgid: i32, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    loop {
        if !group_alive(pgid) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Waits until `killpg(pgid, 0)` answers ESRCH: the members are dead *and* reaped (the leader
/// is reaped by the task waiting for it, which needs a moment to run).
async fn wait_reaped(pgid: i32, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    loop {
        // Reaps re-parented zombies on the way.
        let _ = group_members(pgid);
        if killpg(Pid::from_raw(pgid), None) == Err(Errno::ESRCH) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(POLL).await;
    }
}

/// How a group was ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ending {
    AlreadyGone,
    Terminated,
    Killed,
    Stuck,
}

/// SIGTERM to the group, `grace`, then SIGKILL; waits until no member is left.
async fn kill_group(pgid: i32, grace: Duration) -> Ending {
    if !group_alive(pgid) {
        return Ending::AlreadyGone;
    }
    let _ = killpg(Pid::from_raw(pgid), Signal::SIGTERM);
    if !grace.is_zero() && wait_gone(pgid, grace).await {
        return Ending::Terminated;
    }
    let _ = killpg(Pid::from_raw(pgid), Signal::SIGKILL);
    // A stopped process only dies of SIGKILL once continued.
    let _ = killpg(Pid::from_raw(pgid), Signal::SIGCONT);
    if wait_gone(pgid, KILL_WAIT).await {
        Ending::Killed
    } else {
        Ending::Stuck
    }
}

// ----- paths -----

impl Inner {
    /// Writes the plan's files (paths confined to the service's directories).
    fn write_files(&self, svc: &ServiceInstance) -> Result<(), ExecError> {
        for (path, content) in &svc.plan.plan().files {
            let p = self.confine(svc, "file", Path::new(path))?;
            if let Some(d) = p.parent() {
                std::fs::create_dir_all(d).map_err(|e| io_err(format!("cannot create {}", d.display()), e))?;
            }
            std::fs::write(&p, content)
                .map_err(|e| io_err(format!("service `{}`: cannot write {}", svc.name, p.display()), e))?;
        }
        Ok(())
    }

    /// Resolves `p` (relative to the work dir) and checks it stays in the run, tools or cache dir.
    fn confine(&self, svc: &ServiceInstance, what: &str, p: &Path) -> Result<PathBuf, ExecError> {
        let roots = Confinement::new([&self.run_dir, &svc.dirs.tools, &svc.dirs.cache]);
        roots.check(p, &svc.dirs.work).map_err(|why| match why {
            Escape::ParentDir => ExecError::Io(format!(
                "service `{}`: {what} `{}` contains `..`; paths must stay inside the run directory",
                svc.name,
                p.display()
            )),
            Escape::Outside { resolved } => ExecError::Io(format!(
                "service `{}`: {what} `{}` resolves to {}, outside the run directory {} and the tools/cache directories; refusing to use it",
                svc.name,
                p.display(),
                resolved.display(),
                self.run_dir.display()
            )),
        })
    }

    fn entity(svc: &ServiceInstance) -> Entity {
        Entity::service(&svc.test, &svc.name)
    }

    fn fail(&self, svc: &ServiceInstance, e: &ExecError) {
        self.events.emit(Self::entity(svc), EventKind::Failed { error: e.to_string() });
    }

    fn register(&self, label: String, pgid: i32) {
        if let Some(r) = &self.recorder {
            r.started(pgid, &label);
        }
        lock(&self.groups).push(Group { label, pgid, gone: false });
    }

    fn mark_gone(&self, pgid: i32) {
        for g in lock(&self.groups).iter_mut().filter(|g| g.pgid == pgid) {
            g.gone = true;
        }
        if let Some(r) = &self.recorder {
            r.ended(pgid);
        }
    }

    /// Spawns one command as the leader of a new process group, its output into files.
    fn spawn(&self, svc: &ServiceInstance, phase: &str, index: usize, cmd: &Command) -> Result<Spawned, ExecError> {
        let program = cmd.argv.first().filter(|p| !p.is_empty()).ok_or_else(|| {
            ExecError::Io(format!("service `{}`: phase {phase} command {index} has an empty argv", svc.name))
        })?;
        let cwd = match &cmd.cwd {
            Some(d) => self.confine(svc, "working directory", Path::new(d))?,
            None => svc.dirs.work.clone(),
        };
        std::fs::create_dir_all(&cwd)
            .map_err(|e| io_err(format!("service `{}`: cannot create {}", svc.name, cwd.display()), e))?;
        let dir = svc.dirs.logs.join(phase);
        std::fs::create_dir_all(&dir).map_err(|e| io_err(format!("cannot create {}", dir.display()), e))?;
        let stdout = dir.join(format!("cmd-{index}.stdout"));
        let stderr = dir.join(format!("cmd-{index}.stderr"));
        let out =
            std::fs::File::create(&stdout).map_err(|e| io_err(format!("cannot create {}", stdout.display()), e))?;
        let err =
            std::fs::File::create(&stderr).map_err(|e| io_err(format!("cannot create {}", stderr.display()), e))?;

        let mut c = tokio::process::Command::new(program);
        c.args(&cmd.argv[1..])
            .env_clear()
            .envs(command_env(svc, cmd))
            .current_dir(&cwd)
            .stdin(std::process::Stdio::null())
            .stdout(out)
            .stderr(err)
            .process_group(0);
        // A host killed with SIGKILL cannot tear down; the leader at least dies with it.
        super::leftovers::die_with_host(&mut c);
        let child = c.spawn().map_err(|source| {
            let _ = std::fs::write(&stderr, format!("panther-host: cannot start `{program}`: {source}\n"));
            ExecError::Spawn { service: svc.name.clone(), program: program.clone(), source }
        })?;
        let pgid = child.id().map(|p| p as i32).unwrap_or(0);
        self.register(format!("{}/{} {phase} cmd-{index} `{program}`", svc.test, svc.name), pgid);
        self.events.emit(
            Self::entity(svc),
            EventKind::CommandStarted { phase: phase.into(), index, argv: cmd.argv.clone(), pid: child.id() },
        );
        Ok(Spawned { child, pgid, stdout, stderr, cwd, started: Instant::now() })
    }

    /// Waits for a spawned command, killing its group when `timeout` passes; then kills what
    /// the leader left behind in its group.
    async fn finish(&self, mut s: Spawned, timeout: Option<Duration>) -> ServiceExit {
        let mut timed_out = false;
        let status = match timeout {
            Some(t) => match tokio::time::timeout(t, s.child.wait()).await {
                Ok(st) => st,
                Err(_) => {
                    timed_out = true;
                    kill_group(s.pgid, KILL_GRACE).await;
                    s.child.wait().await
                }
            },
            None => s.child.wait().await,
        };
        let mut exit = match status {
            Ok(st) => exit_of(st, s.started.elapsed()),
            Err(e) => {
                tracing::error!("cannot wait for process group {}: {e}", s.pgid);
                ServiceExit { duration: s.started.elapsed(), ..ServiceExit::default() }
            }
        };
        exit.timed_out = timed_out;
        if group_alive(s.pgid) {
            tracing::debug!("process group {} outlived its leader; killing it", s.pgid);
            kill_group(s.pgid, Duration::ZERO).await;
        }
        self.mark_gone(s.pgid);
        exit
    }

    #[allow(clippy::too_many_arguments)]
    fn record(
        &self,
        svc: &ServiceInstance,
        phase: &str,
        index: usize,
        cmd: &Command,
        exit: &ServiceExit,
        log: &mut Vec<serde_json::Value>,
        cwd: &Path,
    ) {
        self.events.emit(Self::entity(svc), command_finished(phase, index, &exit));
        let entry = serde_json::json!({
            "index": index,
            "argv": cmd.argv,
            "description": cmd.description,
            "critical": cmd.critical,
            "cwd": cwd,
            "exit_code": exit.exit_code,
            "signal": exit.signal,
            "timed_out": exit.timed_out,
            "duration_ms": exit.duration.as_millis() as u64,
            "outcome": exit.describe(),
            "stdout": format!("cmd-{index}.stdout"),
            "stderr": format!("cmd-{index}.stderr"),
        });
        match log.iter_mut().find(|e| e["index"] == index) {
            Some(e) => *e = entry,
            None => log.push(entry),
        }
        write_commands_json(&svc.dirs.logs.join(phase), log);
    }

    /// Runs a phase's commands one after the other.
    async fn run_phase(&self, svc: &ServiceInstance, phase: &str, cmds: &[Command]) -> Result<PhaseReport, ExecError> {
        let mut report = PhaseReport::empty(phase);
        if cmds.is_empty() {
            return Ok(report);
        }
        let t0 = Instant::now();
        self.events.emit(Self::entity(svc), EventKind::PhaseStarted { phase: phase.into(), commands: cmds.len() });
        let mut log = Vec::new();
        let mut outcome = Ok(());
        for (i, cmd) in cmds.iter().enumerate() {
            let spawned = match self.spawn(svc, phase, i, cmd) {
                Ok(s) => s,
                Err(e) => {
                    let exit = ServiceExit { exit_code: Some(127), not_started: true, ..ServiceExit::default() };
                    self.record(svc, phase, i, cmd, &exit, &mut log, &svc.dirs.work);
                    let dir = svc.dirs.logs.join(phase);
                    report.commands.push(CommandReport {
                        argv: cmd.argv.clone(),
                        exit,
                        critical: cmd.critical,
                        stdout: dir.join(format!("cmd-{i}.stdout")),
                        stderr: dir.join(format!("cmd-{i}.stderr")),
                    });
                    if cmd.critical {
                        outcome = Err(e);
                        break;
                    }
                    tracing::warn!("{e} (not critical; going on)");
                    continue;
                }
            };
            let (stdout, stderr, cwd) = (spawned.stdout.clone(), spawned.stderr.clone(), spawned.cwd.clone());
            let exit = self.finish(spawned, cmd.timeout_ms.map(Duration::from_millis)).await;
            self.record(svc, phase, i, cmd, &exit, &mut log, &cwd);
            let bad = failed(&exit);
            report.commands.push(CommandReport {
                argv: cmd.argv.clone(),
                exit: exit.clone(),
                critical: cmd.critical,
                stdout,
                stderr: stderr.clone(),
            });
            if bad && cmd.critical {
                outcome = Err(ExecError::CommandFailed {
                    service: svc.name.clone(),
                    phase: phase.into(),
                    argv: cmd.argv.join(" "),
                    reason: exit.describe(),
                    log: stderr.display().to_string(),
                });
                break;
            }
        }
        self.events.emit(Self::entity(svc), phase_finished(phase, outcome.is_ok(), false, t0.elapsed()));
        outcome.map(|()| report)
    }

    fn stash(&self, svc: &ServiceInstance, report: PhaseReport) {
        let mut m = lock(&self.phases);
        let v = m.entry((svc.test.clone(), svc.name.clone())).or_default();
        v.retain(|r| r.phase != report.phase);
        v.push(report);
    }
}

fn write_commands_json(dir: &Path, log: &[serde_json::Value]) {
    let text = serde_json::to_string_pretty(log).expect("plain data");
    if let Err(e) = std::fs::write(dir.join("commands.json"), text) {
        tracing::warn!("cannot write {}/commands.json: {e}", dir.display());
    }
}

struct Spawned {
    child: tokio::process::Child,
    pgid: i32,
    stdout: PathBuf,
    stderr: PathBuf,
    cwd: PathBuf,
    started: Instant,
}

/// Whether `program` can be found the way the child will look for it.
/// Where `program` is, as `execvp` would find it from `cwd` with `path_var`.
pub(crate) fn resolve(program: &str, cwd: &Path, path_var: &std::ffi::OsStr) -> Option<PathBuf> {
    if program.contains('/') {
        let p = Path::new(program);
        let p = if p.is_absolute() { p.to_path_buf() } else { cwd.join(p) };
        return p.is_file().then_some(p);
    }
    std::env::split_paths(path_var).map(|d| d.join(program)).find(|p| p.is_file())
}

/// Whether a process of group `pgid` holds one of `inodes`.
fn group_owns(pgid: i32, inodes: &[u64]) -> bool {
    for pid in group_members(pgid) {
        let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
            continue;
        };
        for fd in fds.flatten() {
            let Ok(target) = std::fs::read_link(fd.path()) else {
                continue;
            };
            let t = target.to_string_lossy();
            if let Some(n) =
                t.strip_prefix("socket:[").and_then(|s| s.strip_suffix(']')).and_then(|s| s.parse::<u64>().ok())
            {
                if inodes.contains(&n) {
                    return true;
                }
            }
        }
    }
    false
}

/// What readiness polling sees of a local service: the run task's shared state, its sockets
/// (in the host's network namespace, held by its process group) and its work directory.
struct LocalProbe<'a> {
    r: &'a mut RunningLocal,
    svc: &'a ServiceInstance,
}

impl readiness::Probe for LocalProbe<'_> {
    async fn look(&mut self) -> Result<readiness::Look, ExecError> {
        let (started, running) = {
            let s = lock(&self.r.shared);
            (s.last_started, s.first_started)
        };
        Ok(readiness::Look { started, running, exited: self.r.done.borrow().clone() })
    }

    fn port_bound(&self, port: u16, transports: &[Transport]) -> bool {
        let Some(pgid) = lock(&self.r.shared).pgid else { return false };
        transports.iter().any(|t| {
            let inodes = bound_sockets(Path::new("/proc/net"), port, *t);
            !inodes.is_empty() && group_owns(pgid, &inodes)
        })
    }

    fn file_exists(&self, f: &str) -> bool {
        let p = Path::new(f);
        if p.is_absolute() {
            p.exists()
        } else {
            self.svc.dirs.work.join(p).exists()
        }
    }

    fn logs(&self) -> Option<(PathBuf, PathBuf)> {
        lock(&self.r.shared).service_logs.clone()
    }

    async fn pause(&mut self, poll: Duration) {
        tokio::select! {
            _ = tokio::time::sleep(poll) => {}
            _ = self.r.done.changed() => {}
        }
    }
}

impl LocalExecutor {
    /// An executor whose services live under `run_dir`. Makes the host a child subreaper
    /// (see the module docs).
    pub fn new(run_dir: PathBuf, events: EventSink) -> Self {
        if let Err(e) = nix::sys::prctl::set_child_subreaper(true) {
            tracing::warn!("cannot become a child subreaper ({e}); daemonised service processes may escape teardown");
        }
        LocalExecutor {
            inner: Arc::new(Inner {
                run_dir,
                events,
                groups: Mutex::new(Vec::new()),
                recorder: None,
                phases: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// Records every process group in the run's `processes.json` (see `exec::leftovers`).
    pub fn recording(self, recorder: Arc<super::leftovers::Recorder>) -> Self {
        let inner = Arc::try_unwrap(self.inner).unwrap_or_else(|_| panic!("recording() is called on a new executor"));
        LocalExecutor { inner: Arc::new(Inner { recorder: Some(recorder), ..inner }) }
    }

    async fn prepare_inner(&self, svc: &ServiceInstance) -> Result<Vec<PhaseReport>, ExecError> {
        let inner = &self.inner;
        let p = &svc.plan.plan().phases;
        let phases = Phase::COMPILE.map(|ph| (ph.name(), ph.of(p)));
        if phases.iter().all(|(_, c)| c.is_empty()) {
            return Ok(vec![]);
        }
        let tools = svc.dirs.tools.clone();
        let cached = || {
            phases
                .iter()
                .map(|(n, _)| PhaseReport { phase: n.to_string(), commands: vec![], cached: true })
                .collect::<Vec<_>>()
        };
        if tools.join(COMPLETE_MARKER).exists() {
            self.note_cached(svc, &tools);
            return Ok(cached());
        }
        let parent = tools.parent().unwrap_or(Path::new("/")).to_path_buf();
        std::fs::create_dir_all(&parent)
            .map_err(|e| io_err(format!("cannot create the tools cache {}", parent.display()), e))?;
        let lock_path = PathBuf::from(format!("{}.lock", tools.display()));
        let lock_file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| io_err(format!("cannot open {}", lock_path.display()), e))?;
        // Another run building the same tools holds the lock; wait for it off the runtime.
        let lock_file = tokio::task::spawn_blocking(move || lock_file.lock().map(|()| lock_file))
            .await
            .map_err(|e| io_err("lock task", e))?
            .map_err(|e| io_err(format!("cannot lock {}", lock_path.display()), e))?;
        if tools.join(COMPLETE_MARKER).exists() {
            self.note_cached(svc, &tools);
            return Ok(cached());
        }
        if tools.join(BUILDING_MARKER).exists() {
            inner.events.note(Inner::entity(svc), format!("removing the unfinished build in {}", tools.display()));
            std::fs::remove_dir_all(&tools)
                .map_err(|e| io_err(format!("cannot remove the unfinished build {}", tools.display()), e))?;
        }
        std::fs::create_dir_all(&tools).map_err(|e| io_err(format!("cannot create {}", tools.display()), e))?;
        std::fs::write(tools.join(BUILDING_MARKER), b"")
            .map_err(|e| io_err(format!("cannot write to {}", tools.display()), e))?;
        // Compile phases build the plan's files (sources shipped in the plan), so they must
        // exist before the first compile command; `start` writes them again for the run.
        inner.write_files(svc)?;
        self.place_sources(svc).await?;
        let mut reports = Vec::new();
        for (name, cmds) in phases {
            reports.push(inner.run_phase(svc, name, cmds).await?);
        }
        let marker = serde_json::json!({ "implementation": svc.implementation, "service": svc.name, "test": svc.test, "completed": crate::events::now_rfc3339() });
        std::fs::write(tools.join(COMPLETE_MARKER), marker.to_string())
            .map_err(|e| io_err(format!("cannot write to {}", tools.display()), e))?;
        let _ = std::fs::remove_file(tools.join(BUILDING_MARKER));
        drop(lock_file);
        Ok(reports)
    }

    /// Puts a writable copy of each pinned upstream source at `<tools>/src/<name>` (what
    /// `{{sources.NAME}}` names), fetched and verified by [`Sources`].
    async fn place_sources(&self, svc: &ServiceInstance) -> Result<(), ExecError> {
        let Some(img) = &svc.plan.plan().image else { return Ok(()) };
        if img.sources.is_empty() {
            return Ok(());
        }
        let sources = img.sources.clone();
        let tools = svc.dirs.tools.clone();
        let (events, entity, service) = (self.inner.events.clone(), Inner::entity(svc), svc.name.clone());
        tokio::task::spawn_blocking(move || {
            let fetcher = Sources::for_tools_dir(&tools);
            for s in &sources {
                events.note(entity.clone(), format!("fetching source `{}` ({} at {})", s.name, s.url, s.rev));
                let tree = fetcher
                    .fetch(s)
                    .map_err(|e| ExecError::Source { service: service.clone(), source: Box::new(e) })?;
                let dest = tools.join("src").join(&s.name);
                copy_tree(&tree, &dest)
                    .map_err(|e| io_err(format!("cannot copy source `{}` to {}", s.name, dest.display()), e))?;
            }
            Ok(())
        })
        .await
        .map_err(|e| io_err("source task", e))?
    }

    fn note_cached(&self, svc: &ServiceInstance, tools: &Path) {
        for phase in Phase::COMPILE {
            self.inner.events.emit(Inner::entity(svc), phase_finished(phase.name(), true, true, Duration::ZERO));
        }
        tracing::info!("service `{}`: compile phases cached in {}", svc.name, tools.display());
    }

    /// What comes before a service's run phase wherever it runs: its directories, the plan's
    /// files, the pre-run commands (reported by `post_run`).
    pub(crate) async fn pre_run(&self, svc: &ServiceInstance) -> Result<(), ExecError> {
        let inner = &self.inner;
        for dir in [&svc.dirs.work, &svc.dirs.logs] {
            std::fs::create_dir_all(dir).map_err(|e| io_err(format!("cannot create {}", dir.display()), e))?;
        }
        inner.write_files(svc)?;
        let r = inner.run_phase(svc, "pre-run", &svc.plan.plan().phases.pre_run).await?;
        inner.stash(svc, r);
        Ok(())
    }

    /// Keeps a phase report that ran elsewhere (a simulation) for `post_run` to hand back.
    pub(crate) fn record_phase(&self, svc: &ServiceInstance, report: PhaseReport) {
        self.inner.stash(svc, report);
    }

    /// The working directory of a command, confined to the service's directories.
    pub(crate) fn working_dir(&self, svc: &ServiceInstance, cmd: &Command) -> Result<PathBuf, ExecError> {
        match &cmd.cwd {
            Some(d) => self.inner.confine(svc, "working directory", Path::new(d)),
            None => Ok(svc.dirs.work.clone()),
        }
    }

    async fn start_inner(&self, svc: &ServiceInstance) -> Result<RunningLocal, ExecError> {
        let inner = self.inner.clone();
        let plan = svc.plan.plan();
        self.pre_run(svc).await?;

        let path_var = std::env::var_os("PATH").unwrap_or_else(|| DEFAULT_PATH.into());
        for cmd in &plan.phases.run {
            let Some(program) = cmd.argv.first() else {
                continue;
            };
            let cwd = self.working_dir(svc, cmd)?;
            let path = cmd
                .env
                .iter()
                .rev()
                .find(|(k, _)| k == "PATH")
                .map(|(_, v)| std::ffi::OsString::from(v))
                .unwrap_or_else(|| path_var.clone());
            if resolve(program, &cwd, &path).is_none() {
                return Err(ExecError::Spawn {
                    service: svc.name.clone(),
                    program: program.clone(),
                    source: std::io::Error::new(std::io::ErrorKind::NotFound, "not found in PATH or not a file"),
                });
            }
        }

        let shared = Arc::new(Mutex::new(RunShared::default()));
        let (tx, rx) = watch::channel(None);
        let started = Instant::now();
        let task_shared = shared.clone();
        let task_svc = svc.clone();
        tokio::spawn(async move {
            let exit = run_background(&inner, &task_svc, &task_shared, started).await;
            let _ = tx.send(Some(exit));
        });
        Ok(RunningLocal { test: svc.test.clone(), service: svc.name.clone(), shared, done: rx, started, exit: None })
    }

    /// Marks the run phase as stopping, kills the current group and waits for the task.
    async fn kill_running(&self, r: &mut RunningLocal, grace: Duration) -> ServiceExit {
        let pgid = {
            let mut s = lock(&r.shared);
            s.stopping = true;
            s.pgid
        };
        if let Some(g) = pgid {
            kill_group(g, grace).await;
        }
        loop {
            if let Some(e) = r.done.borrow().clone() {
                return e;
            }
            if r.done.changed().await.is_err() {
                return r.done.borrow().clone().unwrap_or_default();
            }
        }
    }

    fn finished(&self, _svc: &ServiceInstance, r: &mut RunningLocal, exit: ServiceExit) -> ServiceExit {
        if r.exit.is_none() {
            r.exit = Some(exit);
        }
        r.exit.clone().unwrap_or_default()
    }
}

impl Executor for LocalExecutor {
    type Running = RunningLocal;

    /// SIGKILL to every group still alive, at once (see `AnyExecutor::emergency_teardown`).
    fn emergency_teardown(&self) {
        let groups: Vec<Group> = lock(&self.inner.groups).iter().filter(|g| !g.gone).cloned().collect();
        for g in groups {
            let _ = killpg(Pid::from_raw(g.pgid), Signal::SIGKILL);
            tracing::warn!("emergency teardown: killed process group {} ({})", g.pgid, g.label);
            self.inner.mark_gone(g.pgid);
        }
    }

    /// Runs the pre-compile, compile and post-compile phases, or skips all three when the
    /// tools directory holds a complete build (see the module docs).
    ///
    /// # Errors
    /// A critical command failed or could not start, or the tools directory cannot be used.
    async fn prepare(&self, svc: &ServiceInstance) -> Result<Vec<PhaseReport>, ExecError> {
        let inner = &self.inner;
        let r = self.prepare_inner(svc).await;
        if let Err(e) = &r {
            inner.fail(svc, e);
        }
        r
    }

    /// Writes the plan's files, runs the pre-run commands, then starts the run phase in the
    /// background: its commands in order, the last one being the service itself.
    ///
    /// # Errors
    /// A file outside the allowed directories, a failed critical pre-run command, a run
    /// program that cannot be found.
    async fn start(&self, svc: &ServiceInstance) -> Result<RunningLocal, ExecError> {
        let r = self.start_inner(svc).await;
        if let Err(e) = &r {
            self.inner.fail(svc, e);
        }
        r
    }

    /// Polls the plan's readiness condition until its timeout. On failure the service's group
    /// is killed, so a service that never became ready leaves nothing behind.
    ///
    /// # Errors
    /// [`ExecError::NotReady`] at the timeout, [`ExecError::ExitedEarly`] when the run phase
    /// ended first, [`ExecError::Interrupted`] when `cancel` fires.
    async fn wait_ready(
        &self,
        svc: &ServiceInstance,
        r: &mut RunningLocal,
        cancel: &CancellationToken,
    ) -> Result<(), ExecError> {
        let outcome = readiness::wait_ready(svc, &mut LocalProbe { r, svc }, POLL, cancel, &self.inner.events).await;
        if let Err(e) = &outcome {
            self.inner.fail(svc, e);
            if r.done.borrow().is_none() {
                let mut exit = self.kill_running(r, KILL_GRACE).await;
                exit.stopped_by_host = true;
                r.exit = Some(exit);
            }
        }
        outcome
    }

    fn service_logs(&self, svc: &ServiceInstance) -> (PathBuf, PathBuf) {
        service_logs(svc)
    }

    /// Waits for the run phase to end, at most `svc.timeout` from its start; then kills the
    /// whole group and reports `timed_out`. `cancel` stops it like [`LocalExecutor::stop`].
    async fn wait(&self, svc: &ServiceInstance, r: &mut RunningLocal, cancel: &CancellationToken) -> ServiceExit {
        if let Some(e) = &r.exit {
            let e = e.clone();
            return self.finished(svc, r, e);
        }
        let deadline = tokio::time::Instant::from_std(r.started + svc.timeout);
        let outcome = loop {
            if let Some(e) = r.done.borrow().clone() {
                break Some(e);
            }
            tokio::select! {
                changed = r.done.changed() => if changed.is_err() { break Some(r.done.borrow().clone().unwrap_or_default()) },
                _ = tokio::time::sleep_until(deadline) => break None,
                _ = cancel.cancelled() => {
                    let mut e = self.kill_running(r, KILL_GRACE).await;
                    e.stopped_by_host = true;
                    break Some(e);
                }
            }
        };
        let exit = match outcome {
            Some(e) => e,
            None => {
                self.inner.events.note(
                    Inner::entity(svc),
                    format!("run phase timed out after {:?}; killing its process group", svc.timeout),
                );
                let mut e = self.kill_running(r, KILL_GRACE).await;
                e.timed_out = true;
                e
            }
        };
        self.finished(svc, r, exit)
    }

    /// SIGTERM to the service's process group, `grace`, then SIGKILL. A service that had
    /// already ended keeps its own exit; otherwise `stopped_by_host` is set.
    async fn stop(&self, svc: &ServiceInstance, r: &mut RunningLocal, grace: Duration) -> ServiceExit {
        if let Some(e) = r.exit.clone().or_else(|| r.done.borrow().clone()) {
            return self.finished(svc, r, e);
        }
        let mut e = self.kill_running(r, grace).await;
        e.stopped_by_host = true;
        r.exit = Some(e.clone());
        e
    }

    /// Runs the post-run commands and collects the plan's artifacts that exist. Returns the
    /// pre-run, run and post-run phase reports (the first two were recorded by `start`).
    async fn post_run(&self, svc: &ServiceInstance) -> (Vec<PhaseReport>, Vec<(ArtifactKind, PathBuf)>) {
        let inner = &self.inner;
        let plan = svc.plan.plan();
        let mut reports = lock(&inner.phases).remove(&(svc.test.clone(), svc.name.clone())).unwrap_or_default();
        match inner.run_phase(svc, "post-run", &plan.phases.post_run).await {
            Ok(r) => reports.push(r),
            Err(e) => {
                // The run is over; a failed post-run command is reported, not fatal.
                inner.events.emit(Inner::entity(svc), EventKind::Failed { error: e.to_string() });
                let commands = read_phase_reports(&svc.dirs.logs.join("post-run"));
                reports.push(PhaseReport { phase: "post-run".into(), commands, cached: false });
            }
        }
        let mut artifacts = Vec::new();
        for a in &plan.artifacts {
            match inner.confine(svc, "artifact", Path::new(&a.path)) {
                Ok(p) if p.exists() => artifacts.push((a.kind, p)),
                Ok(p) => {
                    let what = if a.required { "required artifact" } else { "artifact" };
                    inner.events.note(Inner::entity(svc), format!("{what} {} was not produced", p.display()));
                }
                Err(e) => inner.events.note(Inner::entity(svc), e.to_string()),
            }
        }
        (reports, artifacts)
    }

    /// Kills every process group this executor started that is still alive: SIGTERM, a short
    /// grace, SIGKILL, and a check that no member is left. Idempotent; every group is a step.
    async fn teardown(&self) -> TeardownReport {
        let inner = &self.inner;
        let groups: Vec<Group> = lock(&inner.groups).iter().filter(|g| !g.gone).cloned().collect();
        let mut report = TeardownReport::default();
        for g in &groups {
            let mut how = kill_group(g.pgid, KILL_GRACE).await;
            if how != Ending::Stuck && !wait_reaped(g.pgid, KILL_WAIT).await {
                // Dead but unreaped members: not running, but not gone either; say so.
                how = Ending::Stuck;
            }
            let (ok, detail) = match how {
                Ending::AlreadyGone => (true, "already gone".to_string()),
                Ending::Terminated => (true, "terminated by SIGTERM".to_string()),
                Ending::Killed => (true, "killed by SIGKILL after the grace period".to_string()),
                Ending::Stuck => {
                    (false, format!("members still alive or unreaped after SIGKILL: {:?}", group_members(g.pgid)))
                }
            };
            if ok {
                inner.mark_gone(g.pgid);
            }
            let step = TeardownStep { what: format!("process group {} ({})", g.pgid, g.label), ok, detail };
            inner.events.emit(Entity::Host, step.event());
            report.steps.push(step);
        }
        if groups.is_empty() {
            report.steps.push(TeardownStep {
                what: "local process groups".into(),
                ok: true,
                detail: "none left alive".into(),
            });
        }
        report
    }
}

/// Reads back a phase's `commands.json` as command reports (for a phase that failed).
fn read_phase_reports(dir: &Path) -> Vec<CommandReport> {
    let Ok(text) = std::fs::read_to_string(dir.join("commands.json")) else {
        return vec![];
    };
    let Ok(entries) = serde_json::from_str::<Vec<serde_json::Value>>(&text) else {
        return vec![];
    };
    entries
        .iter()
        .map(|e| CommandReport {
            argv: e["argv"]
                .as_array()
                .map(|a| a.iter().filter_map(|s| s.as_str().map(String::from)).collect())
                .unwrap_or_default(),
            exit: ServiceExit {
                exit_code: e["exit_code"].as_i64().map(|c| c as i32),
                signal: e["signal"].as_i64().map(|c| c as i32),
                timed_out: e["timed_out"].as_bool().unwrap_or(false),
                duration: Duration::from_millis(e["duration_ms"].as_u64().unwrap_or(0)),
                ..ServiceExit::default()
            },
            critical: e["critical"].as_bool().unwrap_or(true),
            stdout: dir.join(e["stdout"].as_str().unwrap_or_default()),
            stderr: dir.join(e["stderr"].as_str().unwrap_or_default()),
        })
        .collect()
}

/// The run phase: each command after the previous one exits; the last one is the service.
async fn run_background(
    inner: &Inner,
    svc: &ServiceInstance,
    shared: &Mutex<RunShared>,
    started: Instant,
) -> ServiceExit {
    let cmds = &svc.plan.plan().phases.run;
    let mut report = PhaseReport::empty("run");
    let mut log = Vec::new();
    let mut exit = ServiceExit::default();
    inner.events.emit(Inner::entity(svc), EventKind::PhaseStarted { phase: "run".into(), commands: cmds.len() });
    for (i, cmd) in cmds.iter().enumerate() {
        let last = i + 1 == cmds.len();
        let spawned = {
            // Holding the lock across the spawn means a concurrent stop either sees this
            // group or prevents it from starting.
            let mut s = lock(shared);
            if s.stopping {
                exit = ServiceExit { not_started: true, stopped_by_host: true, ..ServiceExit::default() };
                break;
            }
            match inner.spawn(svc, "run", i, cmd) {
                Ok(sp) => {
                    s.pgid = Some(sp.pgid);
                    s.first_started = true;
                    if last {
                        s.last_started = true;
                        s.service_logs = Some((sp.stdout.clone(), sp.stderr.clone()));
                    }
                    sp
                }
                Err(e) => {
                    tracing::warn!("{e}");
                    exit = ServiceExit { exit_code: Some(127), not_started: true, ..ServiceExit::default() };
                    inner.record(svc, "run", i, cmd, &exit, &mut log, &svc.dirs.work);
                    if cmd.critical || last {
                        break;
                    }
                    continue;
                }
            }
        };
        let (stdout, stderr, cwd) = (spawned.stdout.clone(), spawned.stderr.clone(), spawned.cwd.clone());
        // The last command's limit is the service timeout, enforced by `wait`.
        let limit = cmd.timeout_ms.map(Duration::from_millis);
        let e = inner.finish(spawned, limit).await;
        lock(shared).pgid = None;
        inner.record(svc, "run", i, cmd, &e, &mut log, &cwd);
        report.commands.push(CommandReport {
            argv: cmd.argv.clone(),
            exit: e.clone(),
            critical: cmd.critical,
            stdout,
            stderr,
        });
        let bad = failed(&e);
        exit = e;
        if bad && cmd.critical && !last {
            break;
        }
    }
    exit.duration = started.elapsed();
    // A service the host stopped ended as asked.
    let ok = !failed(&exit) || lock(shared).stopping;
    inner.events.emit(Inner::entity(svc), phase_finished("run", ok, false, exit.duration));
    inner.stash(svc, report);
    exit
}

#[cfg(test)]
mod tests {
    use super::*;

    // Tails are bounded, marked when cut, and empty for a missing file.
    #[test]
    fn tail_is_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, "hello world").unwrap();
        assert_eq!(tail(&p, 100), "hello world");
        assert_eq!(tail(&p, 5), "…world");
        assert_eq!(tail(&dir.path().join("nope"), 5), "");
        std::fs::write(&p, "aé").unwrap();
        assert_eq!(tail(&p, 1), "…", "half a character is dropped");
    }

    // /proc/<pid>/stat parsing survives names with spaces and parentheses.
    #[test]
    fn proc_stat_of_self() {
        let me = std::process::id() as i32;
        let (state, _ppid, pgrp) = proc_stat(me).unwrap();
        assert!(state == 'R' || state == 'S', "{state}");
        assert_eq!(pgrp, nix::unistd::getpgrp().as_raw());
    }

    // A bound UDP socket is attributed to our process group.
    #[test]
    fn udp_port_detection() {
        let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = sock.local_addr().unwrap().port();
        let inodes = bound_sockets(Path::new("/proc/net"), port, Transport::Udp);
        assert!(group_owns(nix::unistd::getpgrp().as_raw(), &inodes));
        assert!(!group_owns(nix::unistd::getpgrp().as_raw(), &[u64::MAX]));
    }
}
