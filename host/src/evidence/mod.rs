//! Evidence: what the host gathers after a test, for testers to judge.
//!
//! Owns [`gather`], which turns a finished test's capture, key logs, served and downloaded
//! files and service outcomes into one bounded [`types::Outcome`]. The capture is decoded by
//! [`tshark`] (the only place that runs it), files are compared by sha256 in [`transfers`].
//!
//! Does not judge: a missing file, an unreadable capture or a missing tshark becomes data
//! (`capture-note`, `transfer.downloaded = none`) for the tester plugin to weigh. Does not run
//! services or decide what is captured.

pub mod transfers;
pub mod tshark;

use std::path::PathBuf;

use crate::plugin::types;

/// Default bound on the packets handed to a tester: enough for the interop test cases'
/// handshakes and the start of their transfers, small enough for a plugin's memory limit.
pub const DEFAULT_MAX_PACKETS: usize = 20_000;

/// The most of each service's stdout and stderr that goes into an outcome. Log tails are
/// guest input for testers; the full logs stay in the run directory.
pub const MAX_LOG_TAIL_BYTES: usize = 8 * 1024;

/// One service's ending, as the orchestrator recorded it.
#[derive(Debug, Clone)]
pub struct ServiceOutcomeInput {
    pub outcome: types::ServiceOutcome,
}

/// Everything [`gather`] needs; paths are absolute or relative to the current directory.
#[derive(Debug, Clone)]
pub struct GatherInput {
    pub test: String,
    pub testcase: Option<String>,
    pub environment: types::EnvironmentKind,
    pub services: Vec<ServiceOutcomeInput>,
    /// The test's capture; `None` when the environment captured nothing.
    pub pcap: Option<PathBuf>,
    /// NSS key logs written by the services (SSLKEYLOGFILE); merged before decoding.
    pub keylogs: Vec<PathBuf>,
    /// UDP ports to decode as QUIC whatever tshark's heuristics say.
    pub ports: Vec<u16>,
    /// The directory the server served `requests` from.
    pub www: PathBuf,
    /// Directories clients saved `requests` into; the first that has a file wins.
    pub downloads: Vec<PathBuf>,
    /// Paths such as `/f1.bin`.
    pub requests: Vec<String>,
    /// Bound on decoded packets; [`DEFAULT_MAX_PACKETS`] is a good default.
    pub max_packets: usize,
}

/// Builds the outcome of one test. Never fails: whatever could not be gathered is described
/// in the outcome itself (`capture-note`, missing digests), because a tester must still be
/// able to say `infra-error` with a reason.
pub fn gather(input: &GatherInput) -> types::Outcome {
    let services = input
        .services
        .iter()
        .map(|s| {
            let mut o = s.outcome.clone();
            o.stdout_tail = tail(&o.stdout_tail, MAX_LOG_TAIL_BYTES);
            o.stderr_tail = tail(&o.stderr_tail, MAX_LOG_TAIL_BYTES);
            o
        })
        .collect();
    let transfers = transfers::compare(&input.www, &input.downloads, &input.requests);
    let (packets, packets_truncated, capture_note) = match &input.pcap {
        None => (Vec::new(), false, Some("no capture was made for this test".to_string())),
        Some(pcap) => {
            let req = tshark::DecodeRequest {
                pcap: pcap.clone(),
                keylogs: input.keylogs.clone(),
                ports: input.ports.clone(),
                max_packets: input.max_packets,
            };
            match tshark::decode(&req) {
                Ok(d) => (d.packets, d.truncated, d.note),
                Err(e) => (Vec::new(), false, Some(e.to_string())),
            }
        }
    };
    types::Outcome {
        test: input.test.clone(),
        testcase: input.testcase.clone(),
        services,
        transfers,
        packets,
        packets_truncated,
        capture_note,
        environment: input.environment,
    }
}

/// The last `max` bytes of `s`, cut at a character boundary, marked when cut.
fn tail(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut start = s.len() - max;
    while !s.is_char_boundary(start) {
        start += 1;
    }
    format!("[… {start} bytes cut …]\n{}", &s[start..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tail_keeps_short_text_and_cuts_long_text_at_a_char_boundary() {
        assert_eq!(tail("abc", 10), "abc");
        let t = tail("ééééé", 3);
        assert!(t.ends_with("é"), "{t}");
        assert!(t.starts_with("[… 8 bytes cut …]"), "{t}");
    }

    #[test]
    fn gather_without_a_capture_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let o = gather(&GatherInput {
            test: "t".into(),
            testcase: Some("handshake".into()),
            environment: types::EnvironmentKind::Localhost,
            services: vec![],
            pcap: None,
            keylogs: vec![],
            ports: vec![],
            www: dir.path().into(),
            downloads: vec![],
            requests: vec!["/missing.bin".into()],
            max_packets: 10,
        });
        assert!(o.packets.is_empty());
        assert_eq!(o.capture_note.as_deref(), Some("no capture was made for this test"));
        assert_eq!(o.transfers.len(), 1);
        assert!(o.transfers[0].served.is_none() && o.transfers[0].downloaded.is_none());
    }
}

#[cfg(test)]
mod fixtures;
