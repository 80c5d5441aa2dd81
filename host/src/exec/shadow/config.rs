//! A test as a Shadow configuration: `general` (stop time, seed), a one-node network graph
//! carrying the test's link (delay, bandwidth, loss), one host per service with its one
//! process, and packet capture on every host.
//!
//! The file is written as JSON, which is YAML too: Shadow reads it, and no YAML emitter is
//! needed to get the quoting of arbitrary argv right.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::{json, Value};

/// What the simulated network does to every packet between two hosts.
#[derive(Debug, Clone, PartialEq)]
pub struct SimLink {
    /// One-way latency of the path.
    pub latency: Duration,
    /// Each host's up and down bandwidth, bits per second.
    pub bandwidth: u64,
    /// Probability a packet on the path is dropped.
    pub loss: f64,
}

impl SimLink {
    /// Without a `link`: a 1 ms path at 1 Gbit/s, no loss (close to a switch).
    pub const DEFAULT: SimLink = SimLink { latency: Duration::from_millis(1), bandwidth: 1_000_000_000, loss: 0.0 };

    /// The part of a link Shadow models; planning refused links with more
    /// ([`crate::link::LinkSpec::beyond_simulation`]).
    pub fn of(link: &crate::link::LinkSpec) -> SimLink {
        SimLink {
            latency: if link.delay.is_zero() { Self::DEFAULT.latency } else { link.delay },
            bandwidth: link.bandwidth.unwrap_or(Self::DEFAULT.bandwidth),
            loss: link.loss[0],
        }
    }
}

/// How a process is expected to end; anything else is an error in Shadow's log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expected {
    /// Exits 0 (clients, testers).
    Exits,
    /// Still running at the stop time (servers), then killed by Shadow.
    Running,
}

/// One simulated host: one service, one process.
#[derive(Debug, Clone)]
pub struct SimHost {
    /// Shadow's host name (a DNS label made from the service name).
    pub name: String,
    pub ip: Ipv4Addr,
    /// Absolute path of the program.
    pub path: PathBuf,
    pub args: Vec<String>,
    pub env: BTreeMap<String, String>,
    /// Simulated time the process starts.
    pub start: Duration,
    pub expected: Expected,
}

/// Everything Shadow needs for one test.
#[derive(Debug, Clone)]
pub struct SimConfig {
    pub seed: u64,
    /// The simulation ends here (simulated time).
    pub stop: Duration,
    pub link: SimLink,
    pub hosts: Vec<SimHost>,
    /// Model the time of non-blocking syscalls, for programs that busy-wait.
    pub model_syscall_latency: bool,
}

/// Shadow's seed is 32 bits; the test's 64-bit seed is folded into it.
pub fn shadow_seed(seed: u64) -> u32 {
    (seed ^ (seed >> 32)) as u32
}

/// Shadow's time format: whole milliseconds are exact for every duration a test has.
fn time(d: Duration) -> String {
    format!("{} ms", d.as_millis())
}

impl SimConfig {
    /// The network graph in GML: one node whose self-loop is every host-to-host path.
    fn graph(&self) -> String {
        let l = &self.link;
        format!(
            "graph [\n  directed 0\n  node [\n    id 0\n    host_bandwidth_down \"{bw} bit\"\n    host_bandwidth_up \"{bw} bit\"\n  ]\n  edge [\n    source 0\n    target 0\n    latency \"{lat} us\"\n    packet_loss {loss:?}\n  ]\n]\n",
            bw = l.bandwidth,
            lat = l.latency.as_micros(),
            loss = l.loss
        )
    }

    /// The configuration file's text.
    pub fn render(&self) -> String {
        let hosts: serde_json::Map<String, Value> = self
            .hosts
            .iter()
            .map(|h| {
                let expected = match h.expected {
                    Expected::Exits => json!({ "exited": 0 }),
                    Expected::Running => json!("running"),
                };
                let process = json!({
                    "path": h.path,
                    "args": h.args,
                    "environment": h.env,
                    "start_time": time(h.start),
                    "expected_final_state": expected,
                });
                (h.name.clone(), json!({ "network_node_id": 0, "ip_addr": h.ip.to_string(), "processes": [process] }))
            })
            .collect();
        let config = json!({
            "general": {
                "stop_time": time(self.stop),
                "seed": shadow_seed(self.seed),
                "model_unblocked_syscall_latency": self.model_syscall_latency,
                // One thread: the simulation is deterministic either way, and two cores are
                // shared with the rest of the run.
                "parallelism": 1,
                "heartbeat_interval": null,
                "progress": false,
            },
            "network": { "graph": { "type": "gml", "inline": self.graph() } },
            "host_option_defaults": { "pcap_enabled": true },
            "hosts": hosts,
        });
        let mut text = serde_json::to_string_pretty(&config).expect("a JSON value");
        text.insert_str(0, "# Written by panther-host for one test; Shadow reads JSON as YAML.\n");
        text.push('\n');
        text
    }
}

/// A Shadow host name for a service: lower-case letters, digits and `-`, starting with a
/// letter, at most 63 characters (a DNS label; Shadow resolves host names).
pub fn host_name(service: &str) -> String {
    let mut s: String =
        service.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' }).collect();
    if !s.starts_with(|c: char| c.is_ascii_lowercase()) {
        s.insert_str(0, "h-");
    }
    s.truncate(63);
    s.trim_end_matches('-').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> SimConfig {
        SimConfig {
            seed: 7,
            stop: Duration::from_secs(30),
            link: SimLink { latency: Duration::from_millis(15), bandwidth: 10_000_000, loss: 0.01 },
            hosts: vec![
                SimHost {
                    name: "server".into(),
                    ip: Ipv4Addr::new(11, 0, 0, 1),
                    path: "/opt/picoquicdemo".into(),
                    args: vec!["-p".into(), "4443".into(), "a \"quoted\" arg".into()],
                    env: [("SSLKEYLOGFILE".to_string(), "/run/keys.log".to_string())].into(),
                    start: Duration::ZERO,
                    expected: Expected::Running,
                },
                SimHost {
                    name: "client".into(),
                    ip: Ipv4Addr::new(11, 0, 0, 2),
                    path: "/opt/picoquicdemo".into(),
                    args: vec!["11.0.0.1".into(), "4443".into()],
                    env: BTreeMap::new(),
                    start: Duration::from_millis(1500),
                    expected: Expected::Exits,
                },
            ],
            model_syscall_latency: false,
        }
    }

    #[test]
    fn the_configuration_is_snapshotted() {
        insta::assert_snapshot!(config().render());
    }

    #[test]
    fn host_names_are_dns_labels() {
        assert_eq!(host_name("server"), "server");
        assert_eq!(host_name("Ivy_Tester 2"), "ivy-tester-2");
        assert_eq!(host_name("2nd"), "h-2nd");
        assert!(host_name(&"x".repeat(100)).len() <= 63);
    }
}
