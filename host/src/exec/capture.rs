//! Packet capture with tshark running on the host (`tshark -i IFACE -f FILTER -w FILE -q`).
//!
//! Owns the tshark child process: start, wait until it really captures, stop with SIGINT so
//! the file is complete. A missing tshark is not a failure of the test: [`CaptureError::note`]
//! gives the sentence that goes into the outcome's `capture-note`. Does not decode captures
//! ([`crate::evidence`] does) and does not choose what to capture (the deployment plan does).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use tokio::io::AsyncBufReadExt;

/// How long tshark may take to report that it captures.
const START_TIMEOUT: Duration = Duration::from_secs(15);
/// How long tshark may take to flush and exit after SIGINT.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a capture keeps running after it is asked to stop. dumpcap reads the kernel's
/// packet ring a block at a time, when a block fills or its 250 ms read timeout passes, and a
/// SIGINT within that time of the last packets drops them: a test whose services ended within
/// 250 ms of their last packet (a quick quic-go transfer, any connection's CONNECTION_CLOSE)
/// lost them from its capture.
const FLUSH_WAIT: Duration = Duration::from_millis(300);

/// Why no capture runs.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum CaptureError {
    #[error("the environment asked for no packet capture")]
    #[diagnostic(code(panther::capture::not_requested))]
    NotRequested,
    #[error("tshark is not installed, so no packets were captured")]
    #[diagnostic(code(panther::capture::missing), help("install it with `apt-get install tshark` (or `make setup`)"))]
    Missing,
    #[error("tshark did not start capturing on `{interface}`: {detail}")]
    #[diagnostic(
        code(panther::capture::start),
        help("capturing needs root or CAP_NET_RAW; check that the interface exists (`ip link`)")
    )]
    Start { interface: String, detail: String },
    #[error("the capture file {path} is empty or missing after tshark stopped")]
    #[diagnostic(code(panther::capture::empty), help("see {}.tshark.log next to it", path.with_extension("").display()))]
    Empty { path: PathBuf },
    #[error("cannot prepare the capture file {path}: {source}")]
    #[diagnostic(code(panther::capture::io))]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl CaptureError {
    /// The sentence for the outcome's `capture-note` and the report.
    pub fn note(&self) -> String {
        self.to_string()
    }
}

/// A running tshark.
#[derive(Debug)]
pub struct Capture {
    child: tokio::process::Child,
    out: PathBuf,
    /// The capture filter (`udp port 4443 or udp port 4444`), empty for everything.
    pub filter: String,
    pub interface: String,
    started: Instant,
}

/// What a stopped capture left.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CaptureReport {
    pub path: PathBuf,
    pub bytes: u64,
    pub duration: Duration,
    /// tshark's own summary line, such as `15 packets captured`.
    pub summary: String,
}

/// The BPF filter for `ports`: `udp port A or udp port B`; empty (everything) without ports.
pub fn filter(ports: &[u16]) -> String {
    let mut ports = ports.to_vec();
    ports.sort_unstable();
    ports.dedup();
    ports.iter().map(|p| format!("udp port {p}")).collect::<Vec<_>>().join(" or ")
}

fn stderr_log(out: &Path) -> PathBuf {
    out.with_extension("tshark.log")
}

impl Capture {
    /// Starts tshark on `interface` (`lo` for localhost; several, comma-separated, for a Docker
    /// test whose relays stand in front of servers on several networks) keeping UDP traffic of
    /// `ports`, and
    /// returns once tshark reports `Capture started.`, so the first packets are not lost. tshark's
    /// stderr goes to `<out without extension>.tshark.log`.
    ///
    /// # Errors
    /// [`CaptureError::Missing`] when tshark is not installed; [`CaptureError::Start`] when it
    /// exits or stays silent instead of capturing.
    pub async fn start(interface: &str, ports: &[u16], out: &Path) -> Result<Capture, CaptureError> {
        if let Some(dir) = out.parent() {
            std::fs::create_dir_all(dir).map_err(|source| CaptureError::Io { path: dir.to_path_buf(), source })?;
        }
        let filter = filter(ports);
        let mut cmd = tokio::process::Command::new("tshark");
        for i in interface.split(',') {
            cmd.args(["-i", i]);
        }
        cmd.args(["-q", "-w"]).arg(out);
        if !filter.is_empty() {
            cmd.args(["-f", &filter]);
        }
        // Its own group: a Ctrl-C in the terminal must not cut the file short; the host stops
        // it with SIGINT itself, after the services.
        cmd.stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .process_group(0)
            .kill_on_drop(true);
        // kill_on_drop needs a host that runs its destructors; under kill -9 the kernel does it.
        super::leftovers::die_with_host(&mut cmd);
        let mut child = match cmd.spawn() {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(CaptureError::Missing),
            Err(e) => return Err(CaptureError::Start { interface: interface.into(), detail: e.to_string() }),
        };
        let stderr = child.stderr.take().expect("piped above");
        let mut lines = tokio::io::BufReader::new(stderr).lines();
        let log_path = stderr_log(out);
        let mut log = String::new();
        let ready = tokio::time::timeout(START_TIMEOUT, async {
            while let Ok(Some(line)) = lines.next_line().await {
                log.push_str(&line);
                log.push('\n');
                // "Capturing on 'x'" comes before the interface is even opened (and also for
                // interfaces that do not exist); "Capture started." comes once dumpcap captures.
                if line.contains("Capture started") {
                    return true;
                }
            }
            false
        })
        .await;
        let _ = std::fs::write(&log_path, &log);
        if ready != Ok(true) {
            let _ = child.start_kill();
            let _ = child.wait().await;
            let detail = if log.trim().is_empty() {
                "no output within the start timeout".to_string()
            } else {
                log.trim().to_string()
            };
            return Err(CaptureError::Start { interface: interface.into(), detail });
        }
        // Keep draining stderr into the log so tshark never blocks on a full pipe.
        tokio::spawn(async move {
            let mut f = std::fs::OpenOptions::new().append(true).open(&log_path).ok();
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(f) = f.as_mut() {
                    use std::io::Write;
                    let _ = writeln!(f, "{line}");
                }
            }
        });
        Ok(Capture { child, out: out.to_path_buf(), filter, interface: interface.into(), started: Instant::now() })
    }

    /// The pcap file being written.
    pub fn path(&self) -> &Path {
        &self.out
    }

    /// Stops tshark with SIGINT, [`FLUSH_WAIT`] after being asked, and waits until it has
    /// flushed the file (SIGKILL after [`STOP_TIMEOUT`]).
    ///
    /// # Errors
    /// [`CaptureError::Empty`] when no file (or only an empty one) was left.
    pub async fn stop(mut self) -> Result<CaptureReport, CaptureError> {
        tokio::time::sleep(FLUSH_WAIT).await;
        if let Some(pid) = self.child.id() {
            let _ = killpg(Pid::from_raw(pid as i32), Signal::SIGINT);
        }
        if tokio::time::timeout(STOP_TIMEOUT, self.child.wait()).await.is_err() {
            tracing::warn!("tshark did not stop within {STOP_TIMEOUT:?} of SIGINT; killing it");
            let _ = self.child.start_kill();
            let _ = self.child.wait().await;
        }
        // The drain task appends the summary line as tshark exits; give it a moment.
        tokio::time::sleep(Duration::from_millis(50)).await;
        let summary = std::fs::read_to_string(stderr_log(&self.out))
            .unwrap_or_default()
            .lines()
            .rev()
            .find(|l| l.contains("captured"))
            .unwrap_or_default()
            .trim()
            .to_string();
        let bytes = std::fs::metadata(&self.out).map(|m| m.len()).unwrap_or(0);
        if bytes == 0 {
            return Err(CaptureError::Empty { path: self.out.clone() });
        }
        Ok(CaptureReport { bytes, path: self.out.clone(), duration: self.started.elapsed(), summary })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_lists_udp_ports_once() {
        assert_eq!(filter(&[4443, 80, 4443]), "udp port 80 or udp port 4443");
        assert_eq!(filter(&[]), "");
    }

    // A real capture on loopback sees the datagrams sent to the filtered port and no others,
    // even those sent just before it is stopped. Needs tshark and the right to capture (root
    // here); says so and passes otherwise.
    #[tokio::test]
    async fn captures_udp_on_loopback() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("cap.pcap");
        let rx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let other = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let port = rx.local_addr().unwrap().port();
        let cap = match Capture::start("lo", &[port], &out).await {
            Ok(c) => c,
            Err(e @ CaptureError::Missing) => {
                eprintln!("skipping: {}", e.note());
                return;
            }
            Err(e) => panic!("{e}"),
        };
        let tx = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        for i in 0..5u8 {
            tx.send_to(&[i; 32], rx.local_addr().unwrap()).unwrap();
            tx.send_to(&[i; 32], other.local_addr().unwrap()).unwrap();
        }
        let report = cap.stop().await.unwrap();
        assert!(report.bytes > 0);
        let listing = std::process::Command::new("tshark")
            .args(["-r"])
            .arg(&report.path)
            .args(["-T", "fields", "-e", "udp.dstport"])
            .output()
            .unwrap();
        let ports: Vec<String> = String::from_utf8_lossy(&listing.stdout).lines().map(String::from).collect();
        assert_eq!(ports, vec![port.to_string(); 5], "{report:?}");
    }

    // A missing interface is a start error that names the interface, not a hang.
    #[tokio::test]
    async fn bad_interface_is_a_start_error() {
        let dir = tempfile::tempdir().unwrap();
        match Capture::start("no-such-if0", &[1], &dir.path().join("x.pcap")).await {
            Err(CaptureError::Start { interface, .. }) => assert_eq!(interface, "no-such-if0"),
            Err(CaptureError::Missing) => {}
            other => panic!("{other:?}"),
        }
    }
}
