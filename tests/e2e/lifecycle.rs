//! What happens to a run's processes when the host does not end normally: `kill -9` of the
//! host mid-test (the services die with it; what a double-forked daemon leaves is ended by
//! `panther-host clean` or by the next `run`), a panic inside a test's drive (its guard kills
//! the test's process groups), and run ids of runs started in the same second.
//!
//! The stand-in IUTs are `/bin/sleep` with a duration unique to the test (`30.<marker>`), so
//! `processes_with` finds this test's processes and nobody else's.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use panther_tests::{panther_bin, processes_with, workspace};

/// A number unique to this process and call, usable as the fraction of a sleep duration.
fn marker() -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!("{}{:03}", std::process::id(), N.fetch_add(1, Ordering::SeqCst))
}

use panther_tests::component_cache as cache;

fn host(cwd: &Path, cache: &Path, args: &[&str], envs: &[(&str, &str)]) -> Command {
    let mut c = Command::new(panther_bin());
    c.arg("--cache-dir").arg(cache).args(args).current_dir(cwd).env("NO_COLOR", "1").env_remove("PANTHER_PLUGIN_PATH");
    for (k, v) in envs {
        c.env(k, v);
    }
    c
}

fn wait_until(what: &str, within: Duration, mut f: impl FnMut() -> bool) {
    let until = Instant::now() + within;
    while !f() {
        assert!(Instant::now() < until, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn kill9(child: &mut Child) {
    child.kill().expect("SIGKILL to panther-host");
    let _ = child.wait();
}

/// `experiments/bench-overhead.toml` with this test's marker in the server's sleep, writing
/// under `dir`.
fn bench_overhead(dir: &Path, mark: &str) -> PathBuf {
    let text = std::fs::read_to_string(workspace().join("experiments/bench-overhead.toml")).unwrap();
    let text = text.replace(r#"argv = ["/bin/sleep", "30"]"#, &format!(r#"argv = ["/bin/sleep", "30.{mark}"]"#));
    assert!(text.contains(mark), "bench-overhead.toml no longer has the server argv this test rewrites");
    let text = text.replace("[experiment]\n", "[experiment]\noutput_dir = \"outputs\"\n");
    let p = dir.join("bench-overhead.toml");
    std::fs::write(&p, text).unwrap();
    p
}

/// A server that double-forks a daemon (`sleep 31.<mark>`, in the server's process group but
/// not the host's child, so the death signal does not reach it) and then becomes
/// `sleep 32.<mark>`; a client that sleeps long enough to be killed mid-test.
fn daemon_experiment(dir: &Path, mark: &str) -> PathBuf {
    let script = dir.join("daemon.sh");
    std::fs::write(&script, format!("( /bin/sleep 31.{mark} & )\nexec /bin/sleep 32.{mark}\n")).unwrap();
    let p = dir.join("daemon.toml");
    std::fs::write(
        &p,
        format!(
            r#"[experiment]
name = "daemon"
output_dir = "outputs"
timeout = "1m"

[[tests]]
name = "daemon"
network = {{ type = "localhost" }}
timeout = "50s"

[tests.services.server]
implementation = "command"
protocol = {{ name = "any", version = "any", role = "server" }}
params = {{ argv = ["/bin/bash", "{}"], port = "none", ready = "started" }}

[tests.services.client]
implementation = "command"
protocol = {{ name = "any", version = "any", role = "client", target = "server" }}
params = {{ argv = ["/bin/sleep", "33.{mark}"], port = "none" }}
"#,
            script.display()
        ),
    )
    .unwrap();
    p
}

// SIGKILL to the host in the middle of bench-overhead: its services (the server's
// `/bin/sleep 30`, its own process group) die with it, and `clean` finds nothing left.
#[test]
fn kill_9_of_the_host_leaves_no_service_running() {
    let dir = tempfile::tempdir().unwrap();
    let cache = cache();
    let mark = marker();
    let exp = bench_overhead(dir.path(), &mark);
    let needle = format!("30.{mark}");
    let mut child = host(dir.path(), cache.path(), &["run", exp.to_str().unwrap()], &[])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_until("the server to start", Duration::from_secs(60), || !processes_with(&needle).is_empty());
    kill9(&mut child);
    wait_until("the server to die with the host", Duration::from_secs(5), || processes_with(&needle).is_empty());

    let out = host(dir.path(), cache.path(), &["clean", "--no-docker"], &[]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "nothing to clean\n");
    // The killed run's record lists the server's group.
    let runs: Vec<PathBuf> =
        std::fs::read_dir(dir.path().join("outputs/bench-overhead")).unwrap().map(|e| e.unwrap().path()).collect();
    let record = std::fs::read_to_string(runs[0].join("processes.json")).unwrap();
    assert!(record.contains(&needle), "{record}");
}

// A daemon the server double-forked escapes the death signal: `clean` ends it (after checking
// that the process is the recorded group's), and so does the next `run`, with a warning.
#[test]
fn clean_and_the_next_run_end_what_a_killed_run_left() {
    let dir = tempfile::tempdir().unwrap();
    let cache = cache();
    for how in ["clean", "next run"] {
        let mark = marker();
        let exp = daemon_experiment(dir.path(), &mark);
        let (daemon, server) = (format!("31.{mark}"), format!("32.{mark}"));
        let mut child = host(dir.path(), cache.path(), &["run", exp.to_str().unwrap()], &[])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        wait_until("the server and its daemon", Duration::from_secs(60), || {
            !processes_with(&daemon).is_empty() && !processes_with(&server).is_empty()
        });
        kill9(&mut child);
        wait_until("the server to die with the host", Duration::from_secs(5), || processes_with(&server).is_empty());
        std::thread::sleep(Duration::from_millis(300));
        let left = processes_with(&daemon);
        assert_eq!(left.len(), 1, "{how}: the double-forked daemon survives the host: {left:?}");

        let out = if how == "clean" {
            host(dir.path(), cache.path(), &["clean", "--no-docker"], &[]).output().unwrap()
        } else {
            // Any run sweeps first; this one then stops at once (no test matches).
            host(dir.path(), cache.path(), &["run", exp.to_str().unwrap(), "--test", "no such test"], &[])
                .output()
                .unwrap()
        };
        let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        let said = if how == "clean" { &stdout } else { &stderr };
        assert!(
            said.contains("ended process group") && said.contains("bash`"),
            "{how} did not report the leftover:\n{stdout}\n{stderr}"
        );
        if how == "clean" {
            assert_eq!(out.status.code(), Some(0), "{stdout}\n{stderr}");
        } else {
            assert!(stderr.contains("a killed run left processes behind"), "{stderr}");
        }
        wait_until("the daemon to be ended", Duration::from_secs(5), || processes_with(&daemon).is_empty());
    }
}

// A panic inside a test's drive: the drive's guard kills the test's process groups (the
// daemon a server forked included, which the death signal alone would not reach), the test
// fails with the panic's message, and the host goes on and exits normally.
#[test]
fn a_panic_in_the_drive_still_tears_down() {
    let dir = tempfile::tempdir().unwrap();
    let cache = cache();
    let mark = marker();
    let exp = daemon_experiment(dir.path(), &mark);
    let out = host(dir.path(), cache.path(), &["run", exp.to_str().unwrap()], &[("PANTHER_INJECT_PANIC", "drive")])
        .output()
        .unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{stdout}\n{stderr}");
    assert!(stderr.contains("injected panic"), "{stderr}");
    assert!(stdout.contains("the host panicked while driving the test"), "{stdout}");
    for m in [format!("31.{mark}"), format!("32.{mark}"), format!("33.{mark}")] {
        assert!(processes_with(&m).is_empty(), "`sleep {m}` survived the panic");
    }
}

// Two runs of one experiment started in the same second get two run directories.
#[test]
fn runs_started_in_the_same_second_get_their_own_directories() {
    let dir = tempfile::tempdir().unwrap();
    let cache = cache();
    std::fs::write(
        dir.path().join("quick.toml"),
        r#"[experiment]
name = "quick"
output_dir = "outputs"

[[tests]]
name = "hello"
network = { type = "localhost" }
[tests.services.hello]
implementation = "command"
protocol = { name = "any", version = "any", role = "peer" }
params = { argv = ["/bin/echo", "hello"], port = "none" }
"#,
    )
    .unwrap();
    let start = || host(dir.path(), cache.path(), &["run", "quick.toml"], &[]).output().unwrap();
    let (a, b) = std::thread::scope(|s| {
        let a = s.spawn(start);
        let b = s.spawn(start);
        (a.join().unwrap(), b.join().unwrap())
    });
    for o in [&a, &b] {
        assert_eq!(o.status.code(), Some(0), "{o:?}");
    }
    let mut runs: Vec<String> = std::fs::read_dir(dir.path().join("outputs/quick"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    runs.sort();
    assert_eq!(runs.len(), 2, "{runs:?}");
    // Usually in the same second; then the second run's id has a suffix.
    if runs[0].len() == runs[1].len() - 2 {
        assert_eq!(runs[1], format!("{}-2", runs[0]));
    }
}
