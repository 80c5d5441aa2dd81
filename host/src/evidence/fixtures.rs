//! Recorded captures (`tests/fixtures/evidence/<name>/`) decoded by [`super::gather`].
//!
//! Each fixture is a real quic-go exchange on loopback (`record.sh` says how it was made):
//! `capture.pcap`, `keys.log`, `www/`, `downloads/` and `meta.json` (ports, requests, exit
//! codes). The decoded outcome is pinned in `outcome.json`, which the interop tester's own
//! unit tests read; `UPDATE_FIXTURES=1 cargo test -p panther-host evidence::fixtures`
//! rewrites them after a deliberate change of the decoder or of tshark.

use std::path::{Path, PathBuf};

use super::*;
use crate::plugin::types::{ArtifactKind, EnvironmentKind, Role, ServiceOutcome};

/// The fixture directory, from the host crate's manifest.
pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/evidence")
}

/// The [`GatherInput`] a fixture stands for; `with_keys = false` leaves the key log out.
pub fn fixture_input(dir: &Path, with_keys: bool) -> GatherInput {
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("meta.json")).expect("meta.json"))
            .expect("meta.json is JSON");
    let name = dir.file_name().unwrap().to_string_lossy().to_string();
    let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap_or_default();
    let server_alive = meta["server_alive_at_end"].as_bool().unwrap_or(false);
    let server = ServiceOutcome {
        service: "server".into(),
        role: Role::Server,
        implementation: "quic-go".into(),
        exit_code: if server_alive { None } else { meta["server_exit"].as_i64().map(|c| c as i32) },
        signal: None,
        timed_out: false,
        stopped_by_host: server_alive,
        stdout_tail: read("server.log"),
        stderr_tail: String::new(),
        artifacts: vec![(ArtifactKind::Log, "server.log".into()), (ArtifactKind::Pcap, "capture.pcap".into())],
    };
    let client = ServiceOutcome {
        service: "client".into(),
        role: Role::Client,
        implementation: "quic-go".into(),
        exit_code: meta["client_exit"].as_i64().map(|c| c as i32),
        signal: None,
        timed_out: false,
        stopped_by_host: false,
        stdout_tail: read("client.log"),
        stderr_tail: String::new(),
        artifacts: vec![(ArtifactKind::Log, "client.log".into())],
    };
    GatherInput {
        test: name.clone(),
        testcase: Some(meta["client_testcase"].as_str().unwrap_or(&name).to_string()),
        environment: EnvironmentKind::Localhost,
        services: vec![ServiceOutcomeInput { outcome: server }, ServiceOutcomeInput { outcome: client }],
        pcap: Some(dir.join("capture.pcap")),
        keylogs: if with_keys { vec![dir.join("keys.log")] } else { vec![] },
        ports: vec![meta["port"].as_u64().expect("port") as u16],
        www: dir.join("www"),
        downloads: vec![dir.join("downloads")],
        requests: meta["requests"].as_array().unwrap().iter().map(|r| r.as_str().unwrap().to_string()).collect(),
        max_packets: DEFAULT_MAX_PACKETS,
    }
}

fn fixtures() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(fixtures_dir())
        .expect("tests/fixtures/evidence exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.join("meta.json").is_file())
        .collect();
    v.sort();
    v
}

/// Where two JSON values differ; floats within 1 µs count as equal (serde_json's float parsing
/// is not exact to the last bit, and `time_ms` has nanosecond digits).
fn first_difference(a: &serde_json::Value, b: &serde_json::Value, at: String) -> Option<String> {
    use serde_json::Value::*;
    match (a, b) {
        (Number(x), Number(y)) if x.is_f64() || y.is_f64() => {
            ((x.as_f64()? - y.as_f64()?).abs() > 1e-3).then(|| format!("{at}: {x} != {y}"))
        }
        (Array(x), Array(y)) => {
            if x.len() != y.len() {
                return Some(format!("{at}: {} items != {}", x.len(), y.len()));
            }
            x.iter().zip(y).enumerate().find_map(|(i, (x, y))| first_difference(x, y, format!("{at}[{i}]")))
        }
        (Object(x), Object(y)) => {
            if x.len() != y.len() {
                return Some(format!("{at}: keys differ"));
            }
            x.iter().find_map(|(k, v)| match y.get(k) {
                Some(w) => first_difference(v, w, format!("{at}.{k}")),
                None => Some(format!("{at}.{k}: missing")),
            })
        }
        _ => (a != b).then(|| format!("{at}: {a} != {b}")),
    }
}

fn tshark_available() -> bool {
    std::process::Command::new("tshark").arg("-v").output().is_ok()
}

#[test]
fn every_fixture_decodes_to_its_pinned_outcome() {
    if !tshark_available() {
        // The decoder needs tshark; `make setup` installs it. Say so loudly rather than pass.
        panic!("tshark is not installed: run `make setup`");
    }
    let update = std::env::var_os("UPDATE_FIXTURES").is_some();
    let mut checked = 0;
    for dir in fixtures() {
        let got = serde_json::to_value(gather(&fixture_input(&dir, true))).unwrap();
        let pinned = dir.join("outcome.json");
        if update || !pinned.exists() {
            std::fs::write(&pinned, serde_json::to_string_pretty(&got).unwrap() + "\n").unwrap();
        }
        let want: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&pinned).unwrap()).unwrap();
        if let Some(at) = first_difference(&got, &want, String::new()) {
            panic!("{} decodes differently from its outcome.json at {at}", dir.display());
        }
        checked += 1;
    }
    assert!(checked >= 8, "only {checked} fixtures found");
}

#[test]
fn decoding_finds_what_the_recordings_contain() {
    let dir = fixtures_dir();
    let hs = gather(&fixture_input(&dir.join("handshake"), true));
    assert!(hs.capture_note.is_none(), "{:?}", hs.capture_note);
    assert!(hs.packets.iter().all(|p| p.decrypted), "every handshake packet decrypts with the key log");
    assert_eq!(hs.packets[0].packet_type, "initial");
    assert!(hs.packets[0].tls_handshake.contains(&"client_hello".to_string()));
    // quic-go's ServerHello datagram coalesces Initial + Handshake (+ 1-RTT): one frame, several packets.
    let f2: Vec<_> = hs.packets.iter().filter(|p| p.frame == 2).map(|p| p.packet_type.as_str()).collect();
    assert_eq!(f2, ["initial", "handshake", "1rtt"]);
    assert!(hs.transfers.iter().all(|t| t.served.is_some() && t.served == t.downloaded));

    let retry = gather(&fixture_input(&dir.join("retry"), true));
    assert!(retry.packets.iter().any(|p| p.packet_type == "retry"));

    let ku = gather(&fixture_input(&dir.join("keyupdate"), true));
    assert!(ku.packets.iter().any(|p| p.key_phase == Some(true)));

    let h3 = gather(&fixture_input(&dir.join("http3"), true));
    assert!(h3.packets.iter().any(|p| p.http3_frames.contains(&"headers".to_string())));

    let c20 = gather(&fixture_input(&dir.join("chacha20"), true));
    assert!(c20.packets.iter().any(|p| p.cipher.as_deref() == Some("TLS_CHACHA20_POLY1305_SHA256")));
}

#[test]
fn without_keys_nothing_decrypts_and_the_note_says_why() {
    let o = gather(&fixture_input(&fixtures_dir().join("handshake"), false));
    assert!(!o.packets.is_empty());
    assert!(o.packets.iter().filter(|p| p.packet_type == "1rtt").all(|p| !p.decrypted));
    assert!(o.capture_note.as_deref().unwrap_or("").contains("no TLS key log"), "{:?}", o.capture_note);
}

#[test]
fn the_packet_bound_truncates_and_says_so() {
    let mut input = fixture_input(&fixtures_dir().join("transfer"), true);
    input.max_packets = 3;
    let o = gather(&input);
    assert_eq!(o.packets.len(), 3);
    assert!(o.packets_truncated);
    assert!(o.capture_note.unwrap().contains("only the first 3"));
}

#[test]
fn a_missing_capture_is_a_note_not_a_panic() {
    let mut input = fixture_input(&fixtures_dir().join("handshake"), true);
    input.pcap = Some(fixtures_dir().join("does-not-exist.pcap"));
    let o = gather(&input);
    assert!(o.packets.is_empty());
    assert!(o.capture_note.unwrap().contains("does not exist"));
}
