//! The Shadow environment for real: Shadow built from its pinned sources (the first test to
//! need it builds it into the tools cache, about ten minutes on two cores), picoquic built
//! with Shadow's changes, QUIC transfers inside the simulation judged from Shadow's captures,
//! the Ivy MiniP tester inside the simulation,
//! determinism (one seed, the same bytes; another seed, other bytes), a statically linked
//! program refused as `unsupported-by-environment`, and a process that never ends surfacing as
//! a timeout with Shadow's own lines.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use panther_tests::{run_dir, run_into_text, summary};

const FAKE: &str = env!("CARGO_BIN_EXE_fake-iut");

/// One Shadow build and one picoquicdemo build serve every test here; running these tests one
/// at a time keeps two cores from building the same thing twice over.
fn lock() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|p| p.into_inner())
}

/// Every file Shadow wrote for a test's hosts (outputs and captures), by path under `hosts/`,
/// with the run directory's own path (which differs between runs) replaced.
fn host_files(test_dir: &Path, run: &Path) -> BTreeMap<String, Vec<u8>> {
    let hosts = test_dir.join("shadow").join("shadow.data").join("hosts");
    let mut out = BTreeMap::new();
    let mut stack = vec![hosts.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())).flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            let mut bytes = std::fs::read(&p).unwrap();
            if p.extension().is_none_or(|x| x != "pcap") {
                let text = String::from_utf8_lossy(&bytes).replace(&run.display().to_string(), "<run>");
                bytes = text.into_bytes();
            }
            out.insert(p.strip_prefix(&hosts).unwrap().display().to_string(), bytes);
        }
    }
    out
}

fn test_named<'a>(s: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    let names: Vec<&serde_json::Value> = s["tests"]["results"].as_array().unwrap().iter().map(|t| &t["name"]).collect();
    s["tests"]["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == name)
        .unwrap_or_else(|| panic!("no test {name} among {names:?}"))
}

fn run(args: &[&str]) -> (tempfile::TempDir, PathBuf, serde_json::Value, String) {
    let out = tempfile::tempdir().unwrap();
    let (code, stdout, stderr) = run_into_text(args, out.path());
    let dir = run_dir(out.path());
    let s = summary(&dir);
    let log = format!("exit {code}\nstdout:\n{stdout}\nstderr:\n{stderr}");
    (out, dir, s, log)
}

// The experiment: the picoquic pair passes (the interop tester judged it from the server
// host's capture), the lossy pair passes, quic-go is unsupported by the environment with
// Shadow's reason, the Ivy MiniP tester passes the functional server and catches the faulty one,
// aioquic serves in Shadow and its client, which needs IPv6, is unsupported by the environment. Then the lossy test again with the same seed: every capture and output is
// the same; with another seed the captures differ.
#[test]
fn quic_in_shadow_passes_and_one_seed_gives_the_same_bytes() {
    let _one = lock();
    let (_o1, dir, s, log) = run(&["run", "experiments/shadow.toml"]);
    let clean = test_named(&s, "interop: transfer, server picoquic-shadow, client picoquic-shadow");
    assert_eq!(clean["status"], "passed", "{clean}\n{log}");
    assert!(clean["verdicts"].to_string().contains("interop"), "the interop tester judged it: {clean}");
    let lossy = test_named(&s, "picoquic pair in Shadow, 2% loss");
    assert_eq!(lossy["status"], "passed", "{lossy}\n{log}");
    let quic_go = test_named(&s, "quic-go server in Shadow");
    assert_eq!(quic_go["status"], "skipped", "{quic_go}");
    let text = quic_go.to_string();
    assert!(text.contains("unsupported-by-environment") && text.contains("statically linked"), "{quic_go}");
    assert_eq!(s["seed"], 7, "{}", s["seed"]);
    let aioquic = test_named(&s, "aioquic server, picoquic client in Shadow");
    assert_eq!(aioquic["status"], "passed", "{aioquic}\n{log}");
    let no_ipv6 = test_named(&s, "aioquic client in Shadow");
    assert_eq!(no_ipv6["status"], "skipped", "{no_ipv6}");
    let text = no_ipv6.to_string();
    assert!(text.contains("unsupported-by-environment") && text.contains("no IPv6"), "{no_ipv6}");
    let ivy = test_named(&s, "ivy vs minip functional in Shadow");
    assert_eq!(ivy["status"], "passed", "{ivy}\n{log}");
    let caught = test_named(&s, "ivy vs minip fail in Shadow");
    assert_eq!(caught["status"], "failed", "{caught}");
    assert!(caught.to_string().contains("violated the specification"), "Ivy catches the faulty server: {caught}");

    let lossy_dir = dir.join("picoquic-pair-in-shadow-2-loss");
    let first = host_files(&lossy_dir, &dir);
    for want in ["server/eth0.pcap", "client/eth0.pcap"] {
        assert!(first.get(want).is_some_and(|b| b.len() > 1000), "{want} in {:?}", first.keys().collect::<Vec<_>>());
    }
    assert!(lossy_dir.join("capture.pcap").is_file() && lossy_dir.join("server/logs/eth0.pcap").is_file());

    let only = ["--test", "picoquic pair in Shadow, 2% loss"];
    let (_o2, dir2, s2, log2) = run(&["run", "experiments/shadow.toml", only[0], only[1]]);
    assert_eq!(test_named(&s2, only[1])["status"], "passed", "{log2}");
    let again = host_files(&dir2.join("picoquic-pair-in-shadow-2-loss"), &dir2);
    assert_eq!(first.keys().collect::<Vec<_>>(), again.keys().collect::<Vec<_>>());
    for (k, v) in &first {
        assert!(again[k] == *v, "{k} differs between two runs with seed 7");
    }

    let (_o3, dir3, s3, log3) = run(&["run", "experiments/shadow.toml", only[0], only[1], "--seed", "8"]);
    assert_eq!(test_named(&s3, only[1])["status"], "passed", "{log3}");
    let other = host_files(&dir3.join("picoquic-pair-in-shadow-2-loss"), &dir3);
    assert_ne!(first["server/eth0.pcap"], other["server/eth0.pcap"], "seed 8 loses other packets than seed 7");
}

// A client that never ends: Shadow stops it at the simulation's end, and the test is a
// timeout whose events quote Shadow's line about the process.
#[test]
fn a_simulated_process_that_never_ends_is_a_timeout_with_shadows_words() {
    let _one = lock();
    let work = tempfile::tempdir().unwrap();
    let exp = work.path().join("hang.toml");
    std::fs::write(
        &exp,
        format!(
            r#"[experiment]
name = "shadow-hang"
[[tests]]
name = "hanging client"
network = {{ type = "shadow", stop_time = "20s" }}
timeout = "60s"
[tests.services.srv]
implementation = "command"
protocol = {{ name = "quic", version = "any", role = "server" }}
params = {{ argv = [{FAKE:?}, "bind-udp", "{{{{ports.main}}}}", "hang"] }}
[tests.services.cli]
implementation = "command"
protocol = {{ name = "quic", version = "any", role = "client", target = "srv" }}
params = {{ argv = [{FAKE:?}, "print", "hello from the simulation", "hang"] }}
"#
        ),
    )
    .unwrap();
    let (_o, dir, s, log) = run(&["run", exp.to_str().unwrap()]);
    let t = test_named(&s, "hanging client");
    assert_eq!(t["status"], "timeout", "{t}\n{log}");
    let events = std::fs::read_to_string(dir.join("events.jsonl")).unwrap();
    assert!(
        events.contains("still running when the simulation ended") && events.contains("StoppedByShadow"),
        "{events}"
    );
    let stdout = std::fs::read_to_string(dir.join("hanging-client/cli/logs/run/cmd-0.stdout")).unwrap();
    assert_eq!(stdout.trim(), "hello from the simulation");
}
