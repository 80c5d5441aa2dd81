//! `panther-host run` end to end on localhost: the embedded demo with real QUIC stacks, IUTs
//! that crash, hang or never become ready, and Ctrl-C in the middle of a run.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use panther_tests::{panther_bin, processes_with, run_dir, summary, workspace};

const FAKE: &str = env!("CARGO_BIN_EXE_fake-iut");

fn run(args: &[&str], out: &Path) -> (i32, String, String) {
    panther_tests::run_into_text(args, out)
}

/// `name → status` of every test in a summary.
pub(super) fn statuses(s: &serde_json::Value) -> Vec<(String, String)> {
    s["tests"]["results"]
        .as_array()
        .expect("tests.results")
        .iter()
        .map(|t| (t["name"].as_str().unwrap().to_string(), t["status"].as_str().unwrap().to_string()))
        .collect()
}

pub(super) fn fake(marker: &str, actions: &[&str]) -> String {
    let mut argv = vec![format!("{FAKE:?}"), format!("{:?}", "print"), format!("{marker:?}")];
    argv.extend(actions.iter().map(|a| format!("{a:?}")));
    format!("[{}]", argv.join(", "))
}

pub(super) fn service(name: &str, role: &str, target: Option<&str>, argv: &str, extra: &str) -> String {
    let target = target.map(|t| format!(", target = {t:?}")).unwrap_or_default();
    format!("[tests.services.{name}]\nimplementation = \"command\"\nprotocol = {{ name = \"quic\", version = \"any\", role = {role:?}{target} }}\nparams = {{ argv = {argv}{extra} }}\n")
}

/// An experiment `name` of plain tests, each a fake server and a fake client that runs
/// `client_actions` and then exits with the test's code; written into `dir`. Returns its path.
pub(super) fn fake_tests(
    dir: &Path,
    name: &str,
    mark: &str,
    client_actions: &[&str],
    tests: &[(&str, &str)],
) -> std::path::PathBuf {
    let server = fake(mark, &["bind-udp", "{{ports.main}}", "hang"]);
    let mut exp = format!("[experiment]\nname = \"{name}\"\n");
    for (test, exit) in tests {
        exp.push_str(&format!(
            "[[tests]]\nname = \"{test}\"\nnetwork = {{ type = \"localhost\" }}\ntimeout = \"20s\"\n"
        ));
        exp.push_str(&service("srv", "server", None, &server, ""));
        let actions: Vec<&str> = client_actions.iter().copied().chain(["exit", exit]).collect();
        exp.push_str(&service("cli", "client", Some("srv"), &fake(mark, &actions), ""));
    }
    let file = dir.join(format!("{name}.toml"));
    std::fs::write(&file, &exp).unwrap();
    file
}

// The embedded default passes for real: quic-go and aioquic, each way, byte-identical downloads.
#[test]
fn demo_passes_for_real() {
    let out = tempfile::tempdir().unwrap();
    let (code, stdout, stderr) = run(&["run", "experiments/demo.toml"], out.path());
    assert_eq!(code, 0, "stdout:\n{stdout}\nstderr:\n{stderr}");
    let dir = run_dir(out.path());
    let s = summary(&dir);
    assert_eq!(s["status"], "completed");
    assert_eq!(
        statuses(&s),
        [
            ("quic-go server, aioquic client".into(), "passed".into()),
            ("aioquic server, quic-go client".into(), "passed".into())
        ]
    );
    for test in ["quic-go-server-aioquic-client", "aioquic-server-quic-go-client"] {
        let www = dir.join(test).join("www");
        let client = std::fs::read_dir(dir.join(test))
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .find(|p| p.join("downloads").join("f2.bin").exists())
            .expect("a client saved f2.bin");
        for f in ["f1.bin", "f2.bin"] {
            assert_eq!(
                std::fs::read(www.join(f)).unwrap(),
                std::fs::read(client.join("downloads").join(f)).unwrap(),
                "{test}: {f} differs"
            );
        }
        assert!(dir.join(test).join("capture.pcap").exists() || !tshark_installed(), "{test}: no capture");
    }
    for f in ["EXPERIMENT_REPORT.md", "junit.xml", "events.jsonl", "certs/ca.pem"] {
        assert!(dir.join(f).exists(), "{f} missing");
    }
    assert!(stdout.contains("results: "), "the run ends by saying where the results are:\n{stdout}");
}

fn tshark_installed() -> bool {
    Command::new("tshark")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

// A client that crashes, one that hangs and a server that never becomes ready each get the
// right status, the passing test beside them still passes, and no process is left behind.
#[test]
fn crash_hang_and_not_ready_get_their_status() {
    let mark = format!("panther-e2e-{}", std::process::id());
    let server = |m: &str| fake(m, &["bind-udp", "{{ports.main}}", "hang"]);
    let exp = [
        "[experiment]\nname = \"faults\"\n".to_string(),
        "[[tests]]\nname = \"crash\"\nnetwork = { type = \"localhost\" }\ntimeout = \"20s\"\n".into(),
        service("srv", "server", None, &server(&mark), ""),
        service("cli", "client", Some("srv"), &fake(&mark, &["crash"]), ""),
        "[[tests]]\nname = \"hang\"\nnetwork = { type = \"localhost\" }\ntimeout = \"3s\"\n".into(),
        service("srv", "server", None, &server(&mark), ""),
        service("cli", "client", Some("srv"), &fake(&mark, &["hang"]), ""),
        "[[tests]]\nname = \"not-ready\"\nnetwork = { type = \"localhost\" }\ntimeout = \"20s\"\n".into(),
        service("srv", "server", None, &fake(&mark, &["hang"]), ", ready_timeout_ms = 1000"),
        service("cli", "client", Some("srv"), &fake(&mark, &["exit", "0"]), ""),
        "[[tests]]\nname = \"ok\"\nnetwork = { type = \"localhost\" }\ntimeout = \"20s\"\n".into(),
        service("srv", "server", None, &server(&mark), ""),
        service("cli", "client", Some("srv"), &fake(&mark, &["exit", "0"]), ""),
    ]
    .join("\n");
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("faults.toml");
    std::fs::write(&file, exp).unwrap();
    let out = tmp.path().join("out");
    let (code, stdout, stderr) = run(&["run", file.to_str().unwrap()], &out);
    assert_eq!(code, 1, "a failed test exits 1\nstdout:\n{stdout}\nstderr:\n{stderr}");
    let s = summary(&run_dir(&out));
    assert_eq!(
        statuses(&s),
        [
            ("crash".into(), "failed".into()),
            ("hang".into(), "timeout".into()),
            ("not-ready".into(), "failed".into()),
            ("ok".into(), "passed".into())
        ],
        "{s:#}"
    );
    let results = s["tests"]["results"].as_array().unwrap();
    let crash = results[0]["error_message"].as_str().unwrap_or_default();
    assert!(crash.contains("signal 6"), "the crash names its signal: {crash}");
    let not_ready = results[2]["error_message"].as_str().unwrap_or_default();
    assert!(not_ready.contains("ready"), "not-ready says so: {not_ready}");
    assert_eq!(processes_with(&mark), Vec::<i32>::new(), "processes left behind");
}

// Ctrl-C in the middle of a test: the test is torn down, a partial summary is on disk, the exit
// code is 130, and nothing is left running.
#[test]
fn sigint_tears_down_and_keeps_a_partial_summary() {
    let mark = format!("panther-e2e-int-{}", std::process::id());
    let exp = [
        "[experiment]\nname = \"interrupt\"\n".to_string(),
        "[[tests]]\nname = \"first\"\nnetwork = { type = \"localhost\" }\ntimeout = \"20s\"\n".into(),
        service("srv", "server", None, &fake(&mark, &["bind-udp", "{{ports.main}}", "hang"]), ""),
        service("cli", "client", Some("srv"), &fake(&mark, &["exit", "0"]), ""),
        "[[tests]]\nname = \"long\"\nnetwork = { type = \"localhost\" }\ntimeout = \"2m\"\n".into(),
        service("srv", "server", None, &fake(&mark, &["bind-udp", "{{ports.main}}", "hang"]), ""),
        service("cli", "client", Some("srv"), &fake(&format!("{mark}-long"), &["hang"]), ""),
    ]
    .join("\n");
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("interrupt.toml");
    std::fs::write(&file, exp).unwrap();
    let out = tmp.path().join("out");
    let mut child = Command::new(panther_bin())
        .args(["run", file.to_str().unwrap(), "--output-dir", out.to_str().unwrap()])
        .current_dir(workspace())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while processes_with(&format!("{mark}-long")).is_empty() {
        assert!(started.elapsed() < Duration::from_secs(60), "the long client never started");
        assert!(child.try_wait().unwrap().is_none(), "panther-host ended early");
        std::thread::sleep(Duration::from_millis(50));
    }
    nix::sys::signal::kill(nix::unistd::Pid::from_raw(child.id() as i32), nix::sys::signal::Signal::SIGINT).unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(130), "stderr:\n{}", String::from_utf8_lossy(&o.stderr));
    let s = summary(&run_dir(&out));
    assert_eq!(s["status"], "interrupted", "{s:#}");
    assert_eq!(statuses(&s), [("first".into(), "passed".into()), ("long".into(), "interrupted".into())]);
    assert_eq!(processes_with(&mark), Vec::<i32>::new(), "processes left behind");
}

// quiche from crates.io serves quic-go and aioquic clients and (behind its plugin's HTTP/3
// client front end) fetches from them, and quinn from crates.io (behind its plugin's HTTP/0.9
// front end) serves aioquic and quic-go and fetches from quic-go, all for real. The first run
// builds quiche's server example (~7 min on 2 cores) and its client front end (~2 min, BoringSSL
// both times) and quinn's front end (~30 s), cached by content hash in
// ~/.cache/panther-host/tools.
#[test]
fn quiche_and_quinn_interoperate() {
    let _quiche = panther_tests::quiche_server_lock();
    let out = tempfile::tempdir().unwrap();
    let (code, stdout, stderr) = run(&["-q", "run", "experiments/quiche.toml"], out.path());
    assert_eq!(code, 0, "stdout:\n{stdout}\nstderr:\n{stderr}");
    let s = summary(&run_dir(out.path()));
    let passed = |name: &str| (name.to_string(), "passed".to_string());
    assert_eq!(
        statuses(&s),
        [
            passed("quiche server, quic-go client"),
            passed("quiche server, aioquic client"),
            passed("quic-go server, quiche client"),
            passed("aioquic server, quiche client"),
            passed("quinn server, aioquic client"),
            passed("quinn server, quic-go client"),
            passed("quic-go server, quinn client"),
        ]
    );
}

// ngtcp2, whose plugin is written in C (plugins-src/c/ngtcp2, through `plugin build`), moves the
// test's files over HTTP/3 with quic-go and aioquic in both directions and with itself, every
// transfer checked by digest, passes the interop tester's `http3` case, and writes the TLS
// secrets the host needs to decrypt the capture.
#[test]
fn ngtcp2_interoperates_over_http3() {
    let out = tempfile::tempdir().unwrap();
    let (code, stdout, stderr) = run(&["-q", "run", "experiments/ngtcp2.toml"], out.path());
    assert_eq!(code, 0, "stdout:\n{stdout}\nstderr:\n{stderr}");
    let dir = run_dir(out.path());
    let s = summary(&dir);
    let names: Vec<(String, String)> = statuses(&s);
    assert_eq!(names.len(), 27, "{names:?}");
    for (name, status) in &names {
        // The examples speak only HTTP/3: the interop `handshake` case (HTTP/0.9) is
        // unsupported wherever ngtcp2 takes part; everything else passes.
        let want = if name.contains("handshake") && name.contains("ngtcp2") { "skipped" } else { "passed" };
        assert_eq!(status, want, "{name}: {names:?}");
    }
    for peer in ["quic-go", "aioquic"] {
        for (server, client) in [("ngtcp2", peer), (peer, "ngtcp2")] {
            let test = dir.join(format!("h3-server-{server}-client-{client}"));
            assert!(test.join("client/downloads/f2.bin").is_file(), "{}", test.display());
            let ngtcp2_side = if server == "ngtcp2" { "server" } else { "client" };
            let keys = std::fs::read_to_string(test.join(ngtcp2_side).join("logs/keys.log")).unwrap_or_default();
            assert!(keys.contains("CLIENT_TRAFFIC_SECRET_0"), "ngtcp2 logged no secrets in {}", test.display());
        }
    }
}

// Real QUIC over the link emulator (experiments/impaired.toml, a few of its tests): a lossy
// transfer, a 1.5 s round trip and a NAT rebinding pass the interop tester's checks; the test
// whose link loses every answer fails, and its reasons point at the decision log and frames.
#[test]
fn quic_over_impaired_links() {
    let out = tempfile::tempdir().unwrap();
    let only = [
        "lossy: transferloss, server quic-go",
        "slow: longrtt, server aioquic",
        "rebinding: rebind-port, server aioquic",
        "a link that loses every answer",
    ];
    let mut args = vec!["-q", "run", "experiments/impaired.toml"];
    for t in &only {
        args.extend(["--test", t]);
    }
    let (code, stdout, stderr) = run(&args, out.path());
    assert_eq!(code, 1, "one test fails on purpose\nstdout:\n{stdout}\nstderr:\n{stderr}");
    let dir = run_dir(out.path());
    let s = summary(&dir);
    assert_eq!(s["seed"], 7);
    let results = s["tests"]["results"].as_array().unwrap();
    assert_eq!(results.len(), 4, "{results:#?}");
    for t in results {
        let name = t["name"].as_str().unwrap();
        let link = &t["link"];
        let relay = &link["relays"][0];
        for f in relay["files"].as_array().unwrap() {
            assert!(dir.join(f.as_str().unwrap()).is_file(), "{name}: {f} missing");
        }
        let stats = &relay["stats"];
        if name.starts_with("a link that loses") {
            assert_eq!(t["status"], "failed", "{t:#}");
            assert_eq!(stats["to_client"]["dropped_loss"], stats["to_client"]["received"]);
            let reasons = t["reasons"].to_string();
            assert!(reasons.contains("link.jsonl#L") && reasons.contains("dropped (loss)"), "{reasons}");
            let evidence = t["evidence"].to_string();
            assert!(evidence.contains("server-side.pcap#frame="), "{evidence}");
            continue;
        }
        assert_eq!(t["status"], "passed", "{name}: {t:#}");
        assert!(link["description"].as_str().unwrap().contains("10Mbit/s queue 25"), "{link}");
        if name.contains("transferloss") {
            let dropped = stats["to_server"]["dropped_loss"].as_u64().unwrap()
                + stats["to_client"]["dropped_loss"].as_u64().unwrap();
            assert!(dropped > 0, "2 % loss over a 545 KiB transfer drops something: {stats}");
        }
        if name.contains("rebind") {
            assert!(stats["rebinds"].as_u64().unwrap() >= 1, "{stats}");
        }
    }
    let report = std::fs::read_to_string(dir.join("EXPERIMENT_REPORT.md")).unwrap();
    assert!(report.contains("## Links") && report.contains("| Seed | 7 |"), "{report}");
}

// `--jobs 2` runs the demo's two tests at once: their running times overlap, each capture
// holds only its own test's ports, and the verdicts are the serial run's. `--jobs 0` is a
// usage error (exit 2).
#[test]
fn jobs_run_tests_at_once_and_keep_their_evidence_apart() {
    let out = tempfile::tempdir().unwrap();
    let (code, stdout, stderr) = run(&["-q", "run", "experiments/demo.toml", "--jobs", "2"], out.path());
    assert_eq!(code, 0, "stdout:\n{stdout}\nstderr:\n{stderr}");
    let dir = run_dir(out.path());
    let s = summary(&dir);
    assert_eq!(
        statuses(&s),
        [
            ("quic-go server, aioquic client".into(), "passed".into()),
            ("aioquic server, quic-go client".into(), "passed".into())
        ],
        "the experiment's order, whatever order they finished in"
    );
    // When each test ran, from the event log.
    let events = std::fs::read_to_string(dir.join("events.jsonl")).unwrap();
    let mut spans: std::collections::BTreeMap<String, (String, String)> = Default::default();
    for line in events.lines() {
        let e: serde_json::Value = serde_json::from_str(line).unwrap();
        if e["entity"]["type"] != "test" {
            continue;
        }
        let name = e["entity"]["name"].as_str().unwrap().to_string();
        let t = e["time"].as_str().unwrap().to_string();
        let span = spans.entry(name).or_insert_with(|| (t.clone(), t.clone()));
        if e["to"] == "running" {
            span.0 = t.clone();
        }
        span.1 = t;
    }
    let v: Vec<&(String, String)> = spans.values().collect();
    assert_eq!(v.len(), 2);
    assert!(v[0].0 < v[1].1 && v[1].0 < v[0].1, "the two tests did not overlap: {spans:?}");
    // Each capture holds its own ports only.
    if tshark_installed() {
        let ports = |test: &str| -> std::collections::BTreeSet<u16> {
            let out = Command::new("tshark")
                .args([
                    "-r",
                    dir.join(test).join("capture.pcap").to_str().unwrap(),
                    "-T",
                    "fields",
                    "-e",
                    "udp.srcport",
                    "-e",
                    "udp.dstport",
                ])
                .output()
                .unwrap();
            String::from_utf8_lossy(&out.stdout).split_whitespace().filter_map(|p| p.parse().ok()).collect()
        };
        let (a, b) = (ports("quic-go-server-aioquic-client"), ports("aioquic-server-quic-go-client"));
        assert!(!a.is_empty() && !b.is_empty(), "{a:?} {b:?}");
        assert!(a.is_disjoint(&b), "the captures share ports: {a:?} {b:?}");
    }

    let (code, _, stderr) = run(&["run", "experiments/demo.toml", "--jobs", "0"], out.path());
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--jobs") && stderr.contains("0"), "{stderr}");
}

// `compare` of two runs: exit 1 and the regression first when a passing test stops passing,
// exit 0 when nothing regressed, exit 2 (and what to give it) for something that is not a run.
#[test]
fn compare_names_regressions_and_fixes() {
    let t = tempfile::tempdir().unwrap();
    let write = |name: &str, tests: &[(&str, &str)]| {
        let d = t.path().join(name);
        std::fs::create_dir_all(&d).unwrap();
        let results: Vec<serde_json::Value> = tests
            .iter()
            .map(|(n, s)| serde_json::json!({ "name": n, "status": s, "error_message": "it broke" }))
            .collect();
        let v = serde_json::json!({ "experiment_id": name, "tests": { "results": results } });
        std::fs::write(d.join("experiment_summary.json"), v.to_string()).unwrap();
        d.display().to_string()
    };
    let a = write("monday", &[("handshake", "passed"), ("transfer", "failed")]);
    let b = write("tuesday", &[("handshake", "failed"), ("transfer", "passed")]);
    let cache = panther_tests::component_cache();
    let (code, out, err) = panther_tests::cli(&["compare", &a, &b], cache.path());
    assert_eq!(code, 1, "{out}{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "monday → tuesday: 1 regressed, 1 fixed, 0 changed, 0 new, 0 gone, 0 the same");
    assert!(
        lines[1].contains("regressed") && lines[1].contains("handshake") && lines[1].contains("(it broke)"),
        "{out}"
    );
    let (code, out, _) = panther_tests::cli(&["compare", &b, &b, "--format", "markdown", "--all"], cache.path());
    assert_eq!(code, 0);
    assert!(out.contains("| same | handshake | failed | failed | it broke |"), "{out}");
    let (code, _, err) = panther_tests::cli(&["compare", "/nonexistent", &b], cache.path());
    assert_eq!(code, 2);
    assert!(err.contains("cannot read /nonexistent") && err.contains("give a run directory"), "{err}");
}

// `--repeat 3`: a client that passes only on its first run is flaky (1/3) in the summary and
// the report; it fails the run unless `--pass 1` says one passing run is enough. `--pass`
// above `--repeat` is a usage error.
#[test]
fn repeats_find_flaky_tests() {
    let tmp = tempfile::tempdir().unwrap();
    let marker = tmp.path().join("ran-once");
    let mark = format!("panther-e2e-flaky-{}", std::process::id());
    let exp = [
        "[experiment]\nname = \"flaky\"\n".to_string(),
        "[[tests]]\nname = \"first time lucky\"\nnetwork = { type = \"localhost\" }\ntimeout = \"20s\"\n".into(),
        service("srv", "server", None, &fake(&mark, &["bind-udp", "{{ports.main}}", "hang"]), ""),
        service("cli", "client", Some("srv"), &fake(&mark, &["once", marker.to_str().unwrap()]), ""),
    ]
    .join("\n");
    let file = tmp.path().join("flaky.toml");
    std::fs::write(&file, exp).unwrap();
    for (pass, want) in [(None, 1), (Some("1"), 0)] {
        let _ = std::fs::remove_file(&marker);
        let out = tmp.path().join(format!("out-{want}"));
        let mut args = vec!["-q", "run", file.to_str().unwrap(), "--repeat", "3"];
        if let Some(k) = pass {
            args.extend(["--pass", k]);
        }
        let (code, stdout, stderr) = run(&args, &out);
        assert_eq!(code, want, "--pass {pass:?}\nstdout:\n{stdout}\nstderr:\n{stderr}");
        let dir = run_dir(&out);
        let s = summary(&dir);
        let names: Vec<String> = statuses(&s).into_iter().map(|(n, st)| format!("{n}: {st}")).collect();
        assert_eq!(
            names,
            ["first time lucky #1: passed", "first time lucky #2: failed", "first time lucky #3: failed"]
        );
        assert_eq!(s["repeat"], 3);
        assert_eq!(s["flaky"], serde_json::json!([{ "test": "first time lucky", "passed": 1, "runs": 3 }]));
        let report = std::fs::read_to_string(dir.join("EXPERIMENT_REPORT.md")).unwrap();
        assert!(report.contains("## Flaky") && report.contains("first time lucky — 1/3 runs passed"), "{report}");
        let junit = std::fs::read_to_string(dir.join("junit.xml")).unwrap();
        assert_eq!(junit.matches("<property name=\"runs\" value=\"1/3\"/>").count(), 3, "{junit}");
    }
    let (code, _, stderr) =
        run(&["run", file.to_str().unwrap(), "--repeat", "3", "--pass", "4"], &tmp.path().join("x"));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("`--pass 4` is more than `--repeat 3`"), "{stderr}");
    assert_eq!(processes_with(&mark), Vec::<i32>::new(), "processes left behind");
}

/// `panther-host ARGS` from the workspace root, without `--output-dir` (a resume writes into
/// the run it continues).
fn run_here(args: &[&str]) -> (i32, String, String) {
    let o = Command::new(panther_bin()).args(args).current_dir(workspace()).env("NO_COLOR", "1").output().unwrap();
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// How many times each test of a run started running, from its event log.
fn starts(dir: &Path) -> std::collections::BTreeMap<String, usize> {
    let mut n = std::collections::BTreeMap::new();
    for line in std::fs::read_to_string(dir.join("events.jsonl")).unwrap().lines() {
        let e: serde_json::Value = serde_json::from_str(line).unwrap();
        if e["entity"]["type"] == "test" && e["to"] == "running" {
            *n.entry(e["entity"]["name"].as_str().unwrap().to_string()).or_insert(0) += 1;
        }
    }
    n
}

// kill -9 of the host in the middle of a run, then `--resume`: only the tests without a saved
// result run, and the summary is the one an uninterrupted run writes. `--rerun-failed` runs
// the failed one again; a changed experiment file is refused with the difference named.
#[test]
fn resume_after_kill_9_gives_the_uninterrupted_result() {
    let tmp = tempfile::tempdir().unwrap();
    let mark = format!("panther-e2e-resume-{}", std::process::id());
    let tests = [("a", "0"), ("b", "0"), ("c", "1"), ("d", "0")];
    let file = fake_tests(tmp.path(), "resumable", &mark, &["sleep", "1500"], &tests);
    let exp = std::fs::read_to_string(&file).unwrap();
    let out = tmp.path().join("out");
    let mut host = Command::new(panther_bin())
        .args(["-q", "run", file.to_str().unwrap(), "--output-dir", out.to_str().unwrap()])
        .current_dir(workspace())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    let dir = loop {
        let found = std::fs::read_dir(out.join("resumable")).ok().and_then(|mut d| d.next()).map(|e| e.unwrap().path());
        if let Some(d) = found.filter(|d| d.join("b/result.json").exists()) {
            break d;
        }
        assert!(Instant::now() < deadline, "the first two tests did not finish in a minute");
        std::thread::sleep(Duration::from_millis(50));
    };
    host.kill().unwrap(); // SIGKILL
    host.wait().unwrap();
    assert!(!dir.join("d/result.json").exists(), "killed too late to show anything");
    let a_before = std::fs::read(dir.join("a/result.json")).unwrap();

    let d = dir.to_str().unwrap();
    let (code, stdout, stderr) = run_here(&["-q", "run", "--resume", d]);
    assert_eq!(code, 1, "test c fails by design\nstdout:\n{stdout}\nstderr:\n{stderr}");
    let s = summary(&dir);
    assert_eq!(
        (s["status"].as_str(), s["in_progress"].as_bool()),
        (Some("failed"), Some(false)),
        "as an uninterrupted run with a failed test"
    );
    assert_eq!(
        statuses(&s),
        [
            ("a".into(), "passed".into()),
            ("b".into(), "passed".into()),
            ("c".into(), "failed".into()),
            ("d".into(), "passed".into())
        ]
    );
    assert_eq!(std::fs::read(dir.join("a/result.json")).unwrap(), a_before, "a was not run again");
    let n = starts(&dir);
    assert_eq!((n["a"], n["b"], n["d"]), (1, 1, 1), "{n:?}");
    assert_eq!(processes_with(&mark), Vec::<i32>::new(), "the killed run's processes were ended");

    let (code, _, _) = run_here(&["-q", "run", "--rerun-failed", d]);
    assert_eq!(code, 1);
    let n = starts(&dir);
    assert_eq!((n["a"], n["b"], n["c"], n["d"]), (1, 1, n["c"], 1), "{n:?}");
    assert!(n["c"] >= 2, "c ran again: {n:?}");

    std::fs::write(&file, format!("{exp}\n# changed\n")).unwrap();
    let (code, _, stderr) = run_here(&["run", file.to_str().unwrap(), "--resume", d]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("the experiment file changed"), "{stderr}");
    let (code, _, stderr) = run_here(&["run", "--resume", tmp.path().to_str().unwrap()]);
    assert_eq!(code, 2, "{stderr}");
}

// `--shard 0/2` and `--shard 1/2` split the tests between two runs; `merge` joins them into
// the summary one run gives. The same shard twice, or a shard that does not exist, is refused.
#[test]
fn shards_merge_into_the_single_run() {
    let tmp = tempfile::tempdir().unwrap();
    let mark = format!("panther-e2e-shard-{}", std::process::id());
    let file =
        fake_tests(tmp.path(), "sharded", &mark, &[], &[("a", "0"), ("b", "1"), ("c", "0"), ("d", "0"), ("e", "0")]);
    let f = file.to_str().unwrap();
    let (code, _, _) = run(&["-q", "run", f], &tmp.path().join("single"));
    assert_eq!(code, 1);
    let single = summary(&run_dir(&tmp.path().join("single")));
    let mut shards = vec![];
    for s in ["0/2", "1/2"] {
        let out = tmp.path().join(format!("shard{}", &s[..1]));
        let (code, stdout, stderr) = run(&["-q", "run", f, "--shard", s], &out);
        assert!(code <= 1, "{stdout}{stderr}");
        let d = run_dir(&out);
        assert_eq!(statuses(&summary(&d)).len(), if s == "0/2" { 3 } else { 2 }, "shard {s}");
        shards.push(d.display().to_string());
    }
    let merged_out = tmp.path().join("merged");
    let (code, stdout, stderr) =
        run_here(&["merge", &shards[0], &shards[1], "--output-dir", merged_out.to_str().unwrap()]);
    assert_eq!(code, 1, "b fails\n{stdout}{stderr}");
    let merged = summary(&run_dir(&merged_out));
    assert_eq!(statuses(&merged), statuses(&single));
    assert_eq!(merged["status"], single["status"]);
    // The merged run took as long as its shards did, from the first start to the last end.
    let took = merged["duration_seconds"].as_f64().unwrap();
    assert!(took > 0.5, "merged duration {took} s: {merged:#}");

    let (code, _, stderr) = run_here(&["merge", &shards[0], &shards[0]]);
    assert_eq!(code, 2);
    assert!(stderr.contains("given twice"), "{stderr}");
    let (code, _, stderr) = run(&["run", f, "--shard", "3/2"], &tmp.path().join("x"));
    assert_eq!(code, 2);
    assert!(stderr.contains("shard 3 of 2 does not exist"), "{stderr}");
    assert_eq!(processes_with(&mark), Vec::<i32>::new());
}

/// Runs a matrix of experiments/interop-matrix.toml cut by `edits`
/// ([`panther_tests::interop_matrix_cut`]), expects it to succeed, and returns its run directory
/// (and the output directory that holds it).
fn run_matrix_cut(name: &str, edits: &[(&str, &str)]) -> (std::path::PathBuf, tempfile::TempDir) {
    let (_dir, file) = panther_tests::interop_matrix_cut(name, edits);
    let out = tempfile::tempdir().unwrap();
    let (code, stdout, stderr) = run(&["-q", "run", file.to_str().unwrap()], out.path());
    assert_eq!(code, 0, "stdout:\n{stdout}\nstderr:\n{stderr}");
    (run_dir(out.path()), out)
}

/// Edits that take picoquic's parameters out of a matrix of interop-matrix.toml cut to other
/// stacks.
const WITHOUT_PICOQUIC: [(&str, &str); 2] =
    [(", \"picoquic\" = { source = \"upstream\" }", ""), ("versions = { picoquic = \"latest\" }", "")];

// The `ipv6` interop case on localhost (experiments/interop-matrix.toml's `ipv6` matrix, cut
// to quic-go and aioquic): the plans listen on ::1 and fetch from [::1], every cell passes the
// interop tester's IPv6 check, and the capture really holds IPv6 QUIC packets only. A capture
// stopped within dumpcap's 250 ms read timeout of a quick transfer used to lose it whole.
#[test]
fn ipv6_runs_over_the_ipv6_loopback() {
    let (run, _out) = run_matrix_cut(
        "ipv6",
        &[
            ("servers = [\"quic-go\", \"aioquic\", \"picoquic\"]", "servers = [\"quic-go\", \"aioquic\"]"),
            ("clients = [\"quic-go\", \"aioquic\", \"picoquic\"]", "clients = [\"quic-go\", \"aioquic\"]"),
            WITHOUT_PICOQUIC[0],
            WITHOUT_PICOQUIC[1],
        ],
    );
    let s = summary(&run);
    let names = statuses(&s);
    assert_eq!(names.len(), 4, "{names:?}");
    assert!(names.iter().all(|(_, status)| status == "passed"), "{names:?}");
    let test = run.join("ipv6-ipv6-server-quic-go-client-aioquic");
    let listing = std::process::Command::new("tshark")
        .arg("-r")
        .arg(test.join("capture.pcap"))
        .args(["-T", "fields", "-e", "ip.version", "-e", "ipv6.src"])
        .output()
        .unwrap();
    let lines: Vec<String> = String::from_utf8_lossy(&listing.stdout).lines().map(String::from).collect();
    assert!(!lines.is_empty(), "the capture is empty");
    assert!(lines.iter().all(|l| l.trim() == "6\t::1"), "not every packet is IPv6 from ::1: {lines:?}");
}

// caddy, whose plugin is written in Go (plugins-src/go/caddy, componentized by `plugin build`
// with the no-capability preview 1 adapter), serves HTTP/3 for real: the `http3-servers`
// matrix of experiments/interop-matrix.toml cut to the caddy server and the quic-go and ngtcp2
// clients. The interop tester judges each cell from the decrypted capture; caddy writes its
// own key log (`insecure_secrets_log`).
#[test]
fn caddy_a_go_plugin_serves_http3_to_other_stacks() {
    let (run, _out) = run_matrix_cut(
        "http3-servers",
        &[
            ("servers = [\"caddy\", \"ngtcp2\"]", "servers = [\"caddy\"]"),
            ("clients = [\"quic-go\", \"aioquic\", \"picoquic\", \"ngtcp2\"]", "clients = [\"quic-go\", \"ngtcp2\"]"),
            WITHOUT_PICOQUIC[0],
            WITHOUT_PICOQUIC[1],
        ],
    );
    let names = statuses(&summary(&run));
    assert_eq!(
        names,
        [
            ("http3-servers: http3, server caddy, client quic-go".to_string(), "passed".to_string()),
            ("http3-servers: http3, server caddy, client ngtcp2".to_string(), "passed".to_string()),
        ],
        "{names:?}"
    );
    // The plan's file is caddy's configuration, rendered: HTTP/3 only, every placeholder filled.
    let server = run.join("http3-servers-http3-server-caddy-client-quic-go/server");
    let config = std::fs::read_to_string(server.join("work/caddy.json")).expect("caddy.json written");
    assert!(config.contains("\"protocols\": [\"h3\"]") && !config.contains("{{"), "{config}");
    let keys = std::fs::read_to_string(server.join("logs/keys.log")).unwrap_or_default();
    assert!(keys.contains("SERVER_HANDSHAKE_TRAFFIC_SECRET"), "caddy logged no TLS secrets: {keys}");
}

// multiplexing (experiments/interop-matrix.toml's `multiplexing` matrix, cut to a quic-go
// server and an aioquic client): the runner's 2000 files of 32 bytes, made by one `files` entry
// with `count`, fetched over one connection; the server must raise its stream limit during the
// transfer, and the interop tester finds its MAX_STREAMS frames in the decrypted capture.
#[test]
fn multiplexing_fetches_two_thousand_files_over_one_connection() {
    let (run, _out) = run_matrix_cut(
        "multiplexing",
        &[
            ("servers = [\"quic-go\", \"aioquic\", \"picoquic\"]", "servers = [\"quic-go\"]"),
            ("clients = [\"quic-go\", \"aioquic\", \"picoquic\"]", "clients = [\"aioquic\"]"),
            WITHOUT_PICOQUIC[0],
            WITHOUT_PICOQUIC[1],
        ],
    );
    let s = summary(&run);
    assert_eq!(
        statuses(&s),
        [("multiplexing: multiplexing, server quic-go, client aioquic".to_string(), "passed".to_string())]
    );
    let reasons = &s["tests"]["results"][0]["reasons"];
    assert!(reasons[1].as_str().unwrap().contains("raised its stream limit"), "{reasons}");
    let downloads = run.join("multiplexing-multiplexing-server-quic-go-client-aioquic/client/downloads");
    assert_eq!(std::fs::read_dir(&downloads).unwrap().count(), 2000);
    assert_eq!(std::fs::read(downloads.join("m-2000.bin")).unwrap().len(), 32);
}

// amplificationlimit (experiments/interop-matrix.toml's `amplification` matrix, cut to a
// quic-go server and an aioquic client): the test's servers present the run's long chain (8
// intermediates, in `certs-long-chain/`; other tests keep the short one), the link drops the
// client's packets 2 to 7, and the interop tester finds over 7500 bytes of server Handshake data
// and no more than the runner's 4x before the client's first Handshake packet.
#[test]
fn amplificationlimit_runs_with_a_long_certificate_chain() {
    let (run, _out) = run_matrix_cut(
        "amplification",
        &[
            ("servers = [\"quic-go\", \"aioquic\", \"picoquic\"]", "servers = [\"quic-go\"]"),
            ("clients = [\"quic-go\", \"aioquic\", \"picoquic\"]", "clients = [\"aioquic\"]"),
            WITHOUT_PICOQUIC[0],
            WITHOUT_PICOQUIC[1],
        ],
    );
    let s = summary(&run);
    let test = "amplification: amplificationlimit, server quic-go, client aioquic";
    assert_eq!(statuses(&s), [(test.to_string(), "passed".to_string())]);
    let t = run.join("amplification-amplificationlimit-server-quic-go-client-aioquic");
    let link = std::fs::read_to_string(t.join("link.jsonl")).unwrap();
    let dropped = link.lines().filter(|l| l.contains("\"drop\":\"droplist\"")).count();
    assert_eq!(dropped, 6, "the droplist drops the client's packets 2 to 7:\n{link}");
    let served = std::fs::read_to_string(run.join("certs-long-chain/cert.pem")).unwrap();
    assert_eq!(served.matches("BEGIN CERTIFICATE").count(), 9);
    let argv = std::fs::read_to_string(t.join("server/logs/run/commands.json")).unwrap();
    assert!(argv.contains("certs-long-chain/cert.pem"), "the server presents the long chain: {argv}");
}
