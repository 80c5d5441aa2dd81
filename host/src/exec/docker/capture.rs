//! Packet capture on a test network's Linux bridge with tshark running on the host.
//!
//! Owns the tshark child process of one test. Does not decode captures (that is
//! [`crate::evidence`]) and does not choose what to capture (the deployment plan does).

use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::io::AsyncBufReadExt;

use crate::exec::ExecError;

/// How long tshark may take to say it is capturing before the test goes on without it.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// A running tshark.
#[derive(Debug)]
pub struct Capture {
    child: tokio::process::Child,
    path: PathBuf,
    /// The capture filter, for the event log.
    pub filter: String,
}

/// `udp port A or tcp port A or …`; empty (everything) without ports.
pub fn filter(ports: &[u16]) -> String {
    let mut ports = ports.to_vec();
    ports.sort_unstable();
    ports.dedup();
    ports
        .iter()
        .map(|p| format!("udp port {p} or tcp port {p}"))
        .collect::<Vec<_>>()
        .join(" or ")
}

impl Capture {
    /// Starts tshark on `iface` and returns once it reports that it is capturing, so the
    /// first packets of the test are not lost.
    ///
    /// # Errors
    /// tshark is not installed, or exits before it starts capturing.
    pub async fn start(iface: &str, ports: &[u16], out: &Path) -> Result<Capture, ExecError> {
        let filter = filter(ports);
        if let Some(d) = out.parent() {
            std::fs::create_dir_all(d)
                .map_err(|e| ExecError::Io(format!("cannot create {}: {e}", d.display())))?;
        }
        let mut cmd = tokio::process::Command::new("tshark");
        cmd.args(["-i", iface, "-q", "-w"]).arg(out);
        if !filter.is_empty() {
            cmd.args(["-f", &filter]);
        }
        let mut child = cmd
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| {
                ExecError::Docker(format!(
                    "cannot run tshark to capture on {iface}: {e}; install it with `make setup` (apt-get install tshark)"
                ))
            })?;
        let stderr = child.stderr.take().expect("piped");
        let mut lines = tokio::io::BufReader::new(stderr).lines();
        let mut seen = Vec::new();
        let started = tokio::time::timeout(START_TIMEOUT, async {
            while let Ok(Some(line)) = lines.next_line().await {
                if line.contains("Capturing on") {
                    return true;
                }
                seen.push(line);
            }
            false
        })
        .await
        .unwrap_or(false);
        if !started {
            let _ = child.start_kill();
            return Err(ExecError::Docker(format!(
                "tshark did not start capturing on {iface}: {}",
                seen.join(" / ")
            )));
        }
        // Keep draining stderr so tshark never blocks on a full pipe.
        tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
        Ok(Capture {
            child,
            path: out.to_path_buf(),
            filter,
        })
    }

    /// SIGINT (tshark flushes and closes the file), then SIGKILL after 5 s.
    pub async fn stop(mut self) -> PathBuf {
        if let Some(pid) = self.child.id() {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid as i32),
                nix::sys::signal::Signal::SIGINT,
            );
        }
        if tokio::time::timeout(Duration::from_secs(5), self.child.wait())
            .await
            .is_err()
        {
            let _ = self.child.kill().await;
        }
        self.path
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn filter_lists_each_port_once() {
        assert_eq!(
            super::filter(&[443, 443, 80]),
            "udp port 80 or tcp port 80 or udp port 443 or tcp port 443"
        );
        assert_eq!(super::filter(&[]), "");
    }
}
