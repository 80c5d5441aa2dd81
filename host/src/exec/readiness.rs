//! Readiness polling, shared by every executor: the plan's condition, its timeout, Ctrl-C, the
//! event that records the wait and the errors that end it are decided here once, so a
//! service reads the same in events.jsonl and in error messages whether it ran as a process
//! or as a container. What differs — how to see a service's state, its sockets and its files
//! — an executor says through [`Probe`].

use std::future::Future;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;

use crate::events::{Entity, EventKind, EventSink};
use crate::plugin::types::{ReadinessCondition, Transport};

use super::{ExecError, ServiceExit, ServiceInstance};

/// What an executor sees of a started service at one poll.
#[derive(Debug, Clone, Default)]
pub struct Look {
    /// The service's own process (the last run command) has started.
    pub started: bool,
    /// Its run phase has started (its first command). A client that runs one command per
    /// connection is running from then on, though its last command starts much later.
    pub running: bool,
    /// It has ended, like this.
    pub exited: Option<ServiceExit>,
}

/// How an executor observes one started service for [`wait_ready`].
pub trait Probe: Send {
    /// The service's state now.
    fn look(&mut self) -> impl Future<Output = Result<Look, ExecError>> + Send;
    /// Whether the service holds a socket bound to `port` over one of `transports`.
    fn port_bound(&self, port: u16, transports: &[Transport]) -> bool;
    /// Whether `path`, as the service names it, exists.
    fn file_exists(&self, path: &str) -> bool;
    /// The service's stdout and stderr files, once it has them.
    fn logs(&self) -> Option<(PathBuf, PathBuf)>;
    /// Returns after `poll`, or sooner when the executor knows something changed.
    fn pause(&mut self, poll: Duration) -> impl Future<Output = ()> + Send;
}

/// The condition in words, for events and errors.
pub fn describe(c: &ReadinessCondition) -> String {
    match c {
        ReadinessCondition::Started => "its run phase has started".into(),
        ReadinessCondition::PortBound(p) => format!("port `{p}` is bound"),
        ReadinessCondition::LogLine(l) => format!("its output contains `{l}`"),
        ReadinessCondition::FileExists(f) => format!("file {f} exists"),
        ReadinessCondition::Exited => "the run phase has exited with status 0".into(),
    }
}

/// Polls the plan's readiness condition every `poll` until it holds, the service ends, the
/// plan's timeout passes or `cancel` fires; records the wait as a `readiness` event.
///
/// # Errors
/// [`ExecError::NotReady`] at the timeout, [`ExecError::ExitedEarly`] when the service ended
/// first (or, for `exited`, ended with a failure), [`ExecError::Interrupted`] on `cancel`, and
/// [`ExecError::Io`] for a condition on a port the plan does not declare.
pub async fn wait_ready(
    svc: &ServiceInstance,
    probe: &mut impl Probe,
    poll: Duration,
    cancel: &CancellationToken,
    events: &EventSink,
) -> Result<(), ExecError> {
    let readiness = &svc.plan.plan().readiness;
    let condition = describe(&readiness.condition);
    let timeout = Duration::from_millis(readiness.timeout_ms.max(1));
    let t0 = Instant::now();
    let port = match &readiness.condition {
        ReadinessCondition::PortBound(name) => Some(port_of(svc, name)?),
        _ => None,
    };
    let mut scans: Vec<LogScan> = Vec::new();
    let outcome = loop {
        if cancel.is_cancelled() {
            break Err(ExecError::Interrupted);
        }
        let look = probe.look().await?;
        let met = match &readiness.condition {
            ReadinessCondition::Started => look.running,
            ReadinessCondition::Exited => look.exited.as_ref().is_some_and(|e| e.exit_code == Some(0)),
            ReadinessCondition::PortBound(_) => {
                let (number, transports) = port.as_ref().expect("resolved above");
                look.started && look.exited.is_none() && probe.port_bound(*number, transports)
            }
            ReadinessCondition::LogLine(text) => {
                if scans.is_empty() {
                    if let Some((out, err)) = probe.logs() {
                        scans = vec![LogScan::new(out), LogScan::new(err)];
                    }
                }
                // Every file is read on every poll, so none is left behind.
                let mut hit = false;
                for s in &mut scans {
                    hit |= s.find(text.as_bytes());
                }
                hit
            }
            ReadinessCondition::FileExists(f) => look.started && probe.file_exists(f),
        };
        if met {
            break Ok(());
        }
        if let Some(exit) = look.exited {
            let logs = probe.logs().map(|(_, err)| err).unwrap_or_else(|| svc.dirs.logs.clone());
            break Err(ExecError::ExitedEarly {
                service: svc.name.clone(),
                exit: exit.describe(),
                logs: logs.display().to_string(),
            });
        }
        if t0.elapsed() >= timeout {
            break Err(ExecError::NotReady {
                service: svc.name.clone(),
                timeout,
                condition: condition.clone(),
                logs: svc.dirs.logs.display().to_string(),
            });
        }
        tokio::select! {
            _ = cancel.cancelled() => break Err(ExecError::Interrupted),
            _ = probe.pause(poll) => {}
        }
    };
    if !matches!(outcome, Err(ExecError::Interrupted)) {
        events.emit(
            Entity::service(&svc.test, &svc.name),
            EventKind::Readiness { condition, ready: outcome.is_ok(), waited_ms: t0.elapsed().as_millis() as u64 },
        );
    }
    outcome
}

/// The number and transports of the port a `port-bound` condition names: a port the plan
/// declares (its transport), or a literal number (UDP or TCP).
fn port_of(svc: &ServiceInstance, name: &str) -> Result<(u16, Vec<Transport>), ExecError> {
    if let Some(&number) = svc.ports.get(name) {
        let transport = svc.plan.plan().ports.iter().find(|p| p.name == name).map(|p| p.transport);
        return Ok((number, transport.map_or(vec![Transport::Udp, Transport::Tcp], |t| vec![t])));
    }
    match name.parse::<u16>() {
        Ok(n) if n > 0 => Ok((n, vec![Transport::Udp, Transport::Tcp])),
        _ => Err(ExecError::Io(format!(
            "service `{}`: readiness waits for port `{name}`, which the plan does not declare (ports: {})",
            svc.name,
            svc.ports.keys().cloned().collect::<Vec<_>>().join(", ")
        ))),
    }
}

/// Searches a growing log file for a needle, reading only what is new since the last poll.
struct LogScan {
    file: PathBuf,
    offset: u64,
    /// The end of what was read, long enough to find a needle split across two reads.
    carry: Vec<u8>,
}

impl LogScan {
    fn new(file: PathBuf) -> Self {
        LogScan { file, offset: 0, carry: Vec::new() }
    }

    fn find(&mut self, needle: &[u8]) -> bool {
        let Some(fresh) = read_from(&self.file, self.offset) else {
            return false;
        };
        self.offset += fresh.len() as u64;
        self.carry.extend_from_slice(&fresh);
        if needle.is_empty() || self.carry.windows(needle.len()).any(|w| w == needle) {
            return true;
        }
        let keep = needle.len().saturating_sub(1);
        if self.carry.len() > keep {
            self.carry.drain(..self.carry.len() - keep);
        }
        false
    }
}

fn read_from(file: &Path, offset: u64) -> Option<Vec<u8>> {
    let mut f = std::fs::File::open(file).ok()?;
    f.seek(SeekFrom::Start(offset)).ok()?;
    let mut fresh = Vec::new();
    f.read_to_end(&mut fresh).ok()?;
    Some(fresh)
}

#[cfg(test)]
mod tests {
    use super::*;

    // A needle split across two reads is still found, and a missing file is not an error.
    #[test]
    fn log_scan_spans_reads() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out");
        let mut scan = LogScan::new(p.clone());
        assert!(!scan.find(b"ready!"), "no file yet");
        std::fs::write(&p, "xxxx rea").unwrap();
        assert!(!scan.find(b"ready!"));
        std::fs::write(&p, "xxxx ready!").unwrap();
        assert!(scan.find(b"ready!"));
    }

    // A probe whose service writes a line on its third look: the shared loop finds it, and a
    // probe whose service exits with 3 ends the wait with that exit named.
    struct Scripted {
        looks: usize,
        exit_at: Option<usize>,
        log: PathBuf,
    }

    impl Probe for Scripted {
        async fn look(&mut self) -> Result<Look, ExecError> {
            self.looks += 1;
            if self.looks == 3 {
                std::fs::write(&self.log, "listening on 4433\n").unwrap();
            }
            let exited = self
                .exit_at
                .filter(|n| self.looks >= *n)
                .map(|_| ServiceExit { exit_code: Some(3), ..ServiceExit::default() });
            Ok(Look { started: true, running: true, exited })
        }
        fn port_bound(&self, _: u16, _: &[Transport]) -> bool {
            false
        }
        fn file_exists(&self, _: &str) -> bool {
            false
        }
        fn logs(&self) -> Option<(PathBuf, PathBuf)> {
            Some((self.log.clone(), self.log.with_extension("err")))
        }
        async fn pause(&mut self, _: Duration) {}
    }

    #[tokio::test]
    async fn shared_loop_meets_and_fails() {
        let dir = tempfile::tempdir().unwrap();
        let mut plan = crate::plan::test_support::plan_running(&["srv"]);
        plan.readiness.condition = ReadinessCondition::LogLine("listening".into());
        plan.readiness.timeout_ms = 60_000;
        let svc = crate::plan::test_support::instance("srv", dir.path(), plan);
        let events = EventSink::null();
        let cancel = CancellationToken::new();
        let log = dir.path().join("out.log");

        let mut ok = Scripted { looks: 0, exit_at: None, log: log.clone() };
        wait_ready(&svc, &mut ok, Duration::ZERO, &cancel, &events).await.unwrap();
        assert_eq!(ok.looks, 3);

        std::fs::remove_file(&log).unwrap();
        let mut dies = Scripted { looks: 0, exit_at: Some(2), log };
        let err = wait_ready(&svc, &mut dies, Duration::ZERO, &cancel, &events).await.unwrap_err();
        assert!(matches!(&err, ExecError::ExitedEarly { exit, .. } if exit == "exit code 3"), "{err}");

        cancel.cancel();
        let mut never = Scripted { looks: 0, exit_at: None, log: dir.path().join("none") };
        let err = wait_ready(&svc, &mut never, Duration::ZERO, &cancel, &events).await.unwrap_err();
        assert!(matches!(err, ExecError::Interrupted));
    }
}
