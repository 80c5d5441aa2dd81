//! The evidence pipeline end to end: real quic-go recordings (`tests/fixtures/evidence/`)
//! decoded by the host's `evidence::gather` with tshark, judged by the real `interop.wasm`
//! and `ivy.wasm` components from plugins-dist through the plugin host.

use std::path::{Path, PathBuf};

use panther_host::evidence::{gather, GatherInput, ServiceOutcomeInput, DEFAULT_MAX_PACKETS};
use panther_host::plugin::{types, HostOptions, PluginHost};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_path_buf()
}

fn service(name: &str, role: types::Role, exit: Option<i32>, stopped: bool, stdout: &str) -> ServiceOutcomeInput {
    ServiceOutcomeInput {
        outcome: types::ServiceOutcome {
            service: name.into(),
            role,
            implementation: if name == "ivy" { "ivy".into() } else { "quic-go".into() },
            exit_code: exit,
            signal: None,
            timed_out: false,
            stopped_by_host: stopped,
            stdout_tail: stdout.into(),
            stderr_tail: String::new(),
            artifacts: vec![(types::ArtifactKind::Log, format!("{name}/stdout.log"))],
        },
    }
}

/// A recording as the orchestrator would hand it over, judged as `testcase`.
fn input(fixture: &str, testcase: &str) -> GatherInput {
    let dir = repo().join("tests/fixtures/evidence").join(fixture);
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("meta.json")).unwrap()).unwrap();
    let alive = meta["server_alive_at_end"].as_bool().unwrap();
    GatherInput {
        test: format!("{fixture}-as-{testcase}"),
        testcase: Some(testcase.into()),
        environment: types::EnvironmentKind::Localhost,
        services: vec![
            service(
                "server",
                types::Role::Server,
                if alive { None } else { meta["server_exit"].as_i64().map(|c| c as i32) },
                alive,
                "",
            ),
            service("client", types::Role::Client, meta["client_exit"].as_i64().map(|c| c as i32), false, ""),
        ],
        pcap: Some(dir.join("capture.pcap")),
        keylogs: vec![dir.join("keys.log")],
        ports: vec![meta["port"].as_u64().unwrap() as u16],
        www: dir.join("www"),
        downloads: vec![dir.join("downloads")],
        requests: meta["requests"].as_array().unwrap().iter().map(|r| r.as_str().unwrap().to_string()).collect(),
        max_packets: DEFAULT_MAX_PACKETS,
    }
}

fn host() -> (PluginHost, tempfile::TempDir) {
    let cache = tempfile::tempdir().unwrap();
    let host =
        PluginHost::open(HostOptions::new(vec![repo().join("plugins-dist")], cache.path())).expect("plugin host opens");
    (host, cache)
}

#[test]
fn interop_wasm_judges_real_recordings() {
    let (host, _cache) = host();
    let cases = [
        ("handshake", "handshake", types::VerdictStatus::Pass, ""),
        ("retry", "retry", types::VerdictStatus::Pass, ""),
        ("keyupdate", "keyupdate", types::VerdictStatus::Pass, ""),
        ("zerortt", "zerortt", types::VerdictStatus::Pass, ""),
        ("http3", "http3", types::VerdictStatus::Pass, ""),
        ("retry", "handshake", types::VerdictStatus::Fail, "Retry"),
        ("transfer", "chacha20", types::VerdictStatus::Fail, "TLS_CHACHA20_POLY1305_SHA256"),
        ("ecn-unsupported", "ecn", types::VerdictStatus::UnsupportedByIut, "127"),
    ];
    for (fixture, tc, want, reason) in cases {
        let outcome = gather(&input(fixture, tc));
        let v = host.assess("interop", &outcome).expect("assess runs").expect("a tester always returns a verdict");
        assert_eq!(v.status, want, "{fixture} as {tc}: {v:#?}");
        assert!(v.reasons.iter().any(|r| r.contains(reason)), "{fixture} as {tc}: {v:#?}");
    }
}

#[test]
fn interop_wasm_says_infra_error_without_keys() {
    let (host, _cache) = host();
    let mut i = input("keyupdate", "keyupdate");
    i.keylogs.clear();
    let v = host.assess("interop", &gather(&i)).unwrap().unwrap();
    assert_eq!(v.status, types::VerdictStatus::InfraError, "{v:#?}");
    assert!(v.reasons[0].contains("SSLKEYLOGFILE"), "{v:#?}");
}

#[test]
fn ivy_wasm_reads_the_testers_output() {
    let (host, _cache) = host();
    let mut i = input("handshake", "handshake");
    i.pcap = None;
    i.services = vec![service(
        "ivy",
        types::Role::Client,
        Some(1),
        false,
        "> ping\n< pong\nassumption_failed(\"ping_frame.ivy: line 97\")\n",
    )];
    let v = host.assess("ivy", &gather(&i)).unwrap().unwrap();
    assert_eq!(v.status, types::VerdictStatus::Fail, "{v:#?}");
    assert!(v.reasons[0].contains("ping_frame.ivy: line 97"));
    i.services = vec![service("ivy", types::Role::Client, Some(0), false, "> ping\n< pong\ntest_completed\n")];
    assert_eq!(host.assess("ivy", &gather(&i)).unwrap().unwrap().status, types::VerdictStatus::Pass);
}
