//! A real formal tester in the loop: PANTHER's Ivy MiniP tester (`ping_server_test`, built
//! with `ivyc` from panther-ms-ivy and the panther-net specs) against the MiniP C server
//! (built with gcc from the same wheel), through `panther-host run experiments/ivy-minip.toml`.
//! The verdicts come from the tester's own output via ivy.wasm's `assess`.
//!
//! The first run installs from PyPI and compiles (about a minute); the host caches both in
//! its tools cache, after which a run takes about 20 s, most of it the IUT's deliberate delays.

use panther_tests::{run_dir, run_into, summary};

// The functional server passes with `test_completed`; the `fail` server, which answers a ping
// after at least 4 s, violates ping_frame.ivy's 3 s bound and the tester catches it. With the
// roles inverted, the functional client passes too.
#[test]
fn ivy_tester_passes_functional_minip_and_catches_the_fail_variant() {
    let out = tempfile::tempdir().unwrap();
    let o = run_into(&["run", "experiments/ivy-minip.toml"], out.path());
    let (stdout, stderr) = (String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    assert_eq!(o.status.code(), Some(1), "one test must fail, none may error\nstdout:\n{stdout}\nstderr:\n{stderr}");
    let dir = run_dir(out.path());
    let s = summary(&dir);
    let results = s["tests"]["results"].as_array().expect("tests.results");
    let get =
        |name: &str| results.iter().find(|t| t["name"] == name).unwrap_or_else(|| panic!("no test `{name}` in {s}"));
    let reasons = |t: &serde_json::Value| {
        t["reasons"].as_array().unwrap().iter().map(|r| r.as_str().unwrap().to_string()).collect::<Vec<_>>()
    };

    let good = get("ivy vs minip functional");
    assert_eq!(good["status"], "passed", "{good}");
    let r = reasons(good);
    assert!(
        r.iter().any(|l| l.starts_with("test_completed: no violation in")),
        "the pass must come from the tester's test_completed: {r:?}"
    );

    let bad = get("ivy vs minip fail");
    assert_eq!(bad["status"], "failed", "{bad}");
    let r = reasons(bad);
    assert!(
        r.iter().any(|l| l.contains("violated the specification at ping_frame.ivy: line 97")),
        "the fail must be the spec's timing requirement: {r:?}"
    );

    // Roles inverted: Ivy is the server, the functional MiniP client pings it.
    let inv = get("minip functional client vs ivy");
    assert_eq!(inv["status"], "passed", "{inv}");
    let r = reasons(inv);
    assert!(r.iter().any(|l| l.starts_with("test_completed: no violation in")), "{r:?}");
    let trace = std::fs::read_to_string(dir.join("minip-functional-client-vs-ivy/ivy/logs/run/cmd-0.stdout")).unwrap();
    assert!(
        trace.contains("< recv_ping(server,") && trace.contains("{frame.ping:{data:[0x70,0x69,0x6e,0x67]}}"),
        "no ping received from the IUT client:\n{trace}"
    );

    // The verdicts rest on real traffic: the tester's own trace shows pings sent and pongs received.
    for (test, last) in [
        ("ivy-vs-minip-functional", "test_completed"),
        ("ivy-vs-minip-fail", "assumption_failed(\"ping_frame.ivy: line 97\")"),
    ] {
        let trace = std::fs::read_to_string(dir.join(test).join("ivy/logs/run/cmd-0.stdout"))
            .expect("the tester's stdout is kept");
        assert!(
            trace.contains("> ping_packet_event(") && trace.contains("{frame.ping:{data:[0x70,0x69,0x6e,0x67]}}"),
            "{test}: no ping sent:\n{trace}"
        );
        assert!(
            trace.contains("< recv_pong(") && trace.contains("{frame.pong:{data:[0x70,0x6f,0x6e,0x67]}}"),
            "{test}: no pong received from the IUT:\n{trace}"
        );
        assert!(trace.contains(last), "{test}: expected `{last}` in:\n{trace}");
    }
}

// The Ivy QUIC testers for real (experiments/ivy-quic.toml, two of its tests): Ivy as the
// client (`quic_server_test_stream`, seed 1) against picoquic's server, and Ivy as the server
// (`quic_client_test_max`, seed 0) with picoquic's client connecting. Both testers are built
// by the compile phase from the panther-net specs and picotls at the original's pin (fetched
// by the host from PANTHER_SOURCE_MIRROR, as CI sets it): about 75 s of ivyc and 1 GB each on
// the first run, cached afterwards. Each verdict comes from the tester's own output; a failure
// must name the spec file and line it violated, and every reason names the seed.
#[test]
fn ivy_quic_testers_judge_picoquic_both_ways() {
    let out = tempfile::tempdir().unwrap();
    let server_test = "ivy quic_server_test_stream vs picoquic seed 1";
    let client_test = "picoquic client vs ivy quic_client_test_max seed 0";
    let o = run_into(&["run", "experiments/ivy-quic.toml", "--test", server_test, "--test", client_test], out.path());
    let (stdout, stderr) = (String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    assert_ne!(o.status.code(), Some(2), "the run must be carried out\nstdout:\n{stdout}\nstderr:\n{stderr}");
    let dir = run_dir(out.path());
    let s = summary(&dir);
    let results = s["tests"]["results"].as_array().expect("tests.results");
    assert_eq!(results.len(), 2, "{s}");
    let get =
        |name: &str| results.iter().find(|t| t["name"] == name).unwrap_or_else(|| panic!("no test `{name}` in {s}"));
    let reasons = |t: &serde_json::Value| {
        t["reasons"].as_array().unwrap().iter().map(|r| r.as_str().unwrap().to_string()).collect::<Vec<_>>()
    };

    for (name, seed) in [(server_test, 1), (client_test, 0)] {
        let t = get(name);
        // The first reason says which tester judged; the tester's own reasons follow.
        let r: Vec<String> = reasons(t).into_iter().filter(|l| !l.starts_with("tester `ivy`")).collect();
        assert!(
            r.first().is_some_and(|l| l.ends_with(&format!("(seed {seed})"))),
            "{name}: the seed must be in the verdict: {r:?}"
        );
        match t["status"].as_str().unwrap() {
            "passed" => assert!(r[0].starts_with("test_completed: no violation in"), "{name}: {r:?}"),
            "failed" => assert!(
                r[0].starts_with("non-compliant: the IUT violated the specification at ") && names_spec_line(&r[0]),
                "{name}: a failure names the spec file and line: {r:?}"
            ),
            other => panic!("{name}: {other} is no verdict on the IUT\n{t}\nstdout:\n{stdout}\nstderr:\n{stderr}"),
        }
    }
    // Real traffic: the tester's trace shows QUIC frames both ways.
    for (test, dir_name) in [
        (server_test, "ivy-quic-server-test-stream-vs-picoquic-seed-1"),
        (client_test, "picoquic-client-vs-ivy-quic-client-test-max-seed-0"),
    ] {
        let trace = std::fs::read_to_string(dir.join(dir_name).join("ivy/logs/run/cmd-0.stdout"))
            .unwrap_or_else(|e| panic!("{test}: the tester's stdout is kept: {e}"));
        assert!(trace.contains("> frame.") || trace.contains("> packet_event("), "{test}: no frame sent:\n{trace}");
        assert!(trace.contains("< show_") || trace.contains("< frame."), "{test}: nothing received:\n{trace}");
    }
}

/// `… at quic_packet.ivy: line 597 (seed 1)`: a spec file and a line number.
fn names_spec_line(reason: &str) -> bool {
    reason.split(".ivy: line ").nth(1).is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
}
