//! Which sockets are bound to a port, read from the kernel's `net/{tcp,tcp6,udp,udp6}` tables.
//! One reader for both executors: the local one reads the host's namespace (`/proc/net`) and
//! attributes the sockets to a process group by inode; the Docker one reads the container's
//! namespace through its init process (`/proc/<pid>/net`), with no exec into the container.

use std::path::{Path, PathBuf};

use crate::plugin::types::Transport;

/// Where the Docker daemon's pids can be looked up: `/proc`, or the host's `/proc` mounted
/// elsewhere (`PANTHER_HOST_PROC`) when this host itself runs in a container of its own pid
/// namespace, as a Swarm cell does. A container's init pid from `inspect` is a host pid.
pub fn daemon_proc(pid: i64) -> PathBuf {
    static ROOT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    ROOT.get_or_init(|| std::env::var_os("PANTHER_HOST_PROC").map_or_else(|| PathBuf::from("/proc"), PathBuf::from))
        .join(pid.to_string())
}

/// Inodes of the sockets bound to `port` under `net_dir` (`/proc/net` or `/proc/<pid>/net`)
/// in the state readiness wants: a listening TCP socket, or any UDP socket.
pub fn bound_sockets(net_dir: &Path, port: u16, transport: Transport) -> Vec<u64> {
    let (files, want_listen) = match transport {
        Transport::Tcp => (["tcp", "tcp6"], true),
        Transport::Udp => (["udp", "udp6"], false),
    };
    let mut out = Vec::new();
    for f in files {
        let Ok(text) = std::fs::read_to_string(net_dir.join(f)) else {
            continue;
        };
        for line in text.lines().skip(1) {
            // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode …
            let cols: Vec<&str> = line.split_whitespace().collect();
            if cols.len() < 10 {
                continue;
            }
            let Some(p) = cols[1].rsplit(':').next().and_then(|h| u16::from_str_radix(h, 16).ok()) else {
                continue;
            };
            // 0A is TCP_LISTEN.
            if p != port || (want_listen && cols[3] != "0A") {
                continue;
            }
            if let Ok(inode) = cols[9].parse() {
                out.push(inode);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    // A bound UDP socket and a listening TCP socket are found by their own transport only, in
    // the host's table and in this process's own view.
    #[test]
    fn finds_udp_and_listening_tcp_sockets() {
        let me = format!("/proc/{}/net", std::process::id());
        for dir in [Path::new("/proc/net"), Path::new(&me)] {
            let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
            let port = sock.local_addr().unwrap().port();
            assert!(!bound_sockets(dir, port, Transport::Udp).is_empty());
            assert!(bound_sockets(dir, port, Transport::Tcp).is_empty());
            let tcp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let port = tcp.local_addr().unwrap().port();
            assert!(!bound_sockets(dir, port, Transport::Tcp).is_empty());
            assert!(bound_sockets(dir, port, Transport::Udp).is_empty());
            // (Not checked: that a closed socket is gone. Tests run in parallel, and another
            // may bind the freed port at once.)
            drop(tcp);
        }
    }
}
