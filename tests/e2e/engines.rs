//! `run --engine slurm` against a real one-node Slurm cluster (Debian's slurmctld, slurmd and
//! munge) that the test starts with its own slurm.conf and ports, and stops; `run --engine
//! swarm` on this machine made a one-node Docker Swarm for the test, and left again.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use panther_tests::{panther_bin, processes_with, summary, workspace};

use super::run_local::{fake_tests, statuses};

/// A one-node Slurm cluster of the test's own; stopped when dropped.
struct Cluster {
    dir: tempfile::TempDir,
    conf: PathBuf,
    started_munge: bool,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn munge_works() -> bool {
    Command::new("sh").args(["-c", "munge -n | unmunge"]).output().is_ok_and(|o| o.status.success())
}

impl Cluster {
    fn start() -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        for sub in ["state", "spool", "log"] {
            std::fs::create_dir_all(d.join(sub)).unwrap();
        }
        let host =
            String::from_utf8(Command::new("hostname").arg("-s").output().unwrap().stdout).unwrap().trim().to_string();
        let (ctld, slurmd) = (free_port(), free_port());
        let conf = d.join("slurm.conf");
        let p = |s: &str| d.join(s).display().to_string();
        std::fs::write(
            &conf,
            format!(
                "ClusterName=panthertest\nSlurmctldHost={host}\nSlurmUser=root\nSlurmdUser=root\nAuthType=auth/munge\n\
                 StateSaveLocation={}\nSlurmdSpoolDir={}\nSlurmctldPidFile={}\nSlurmdPidFile={}\n\
                 SlurmctldLogFile={}\nSlurmdLogFile={}\nSlurmctldPort={ctld}\nSlurmdPort={slurmd}\n\
                 ProctrackType=proctrack/linuxproc\nTaskPlugin=task/none\nSelectType=select/cons_tres\n\
                 SelectTypeParameters=CR_Core\nReturnToService=2\nMpiDefault=none\nJobCompType=jobcomp/none\n\
                 NodeName={host} CPUs=2 State=UNKNOWN\nPartitionName=test Nodes={host} Default=YES MaxTime=INFINITE State=UP\n",
                p("state"),
                p("spool"),
                p("slurmctld.pid"),
                p("slurmd.pid"),
                p("log/slurmctld.log"),
                p("log/slurmd.log")
            ),
        )
        .unwrap();
        let mut started_munge = false;
        if !munge_works() {
            std::fs::create_dir_all("/run/munge").unwrap();
            let st =
                Command::new("munged").arg("--force").status().expect("munged (Debian package munge) is installed");
            assert!(st.success(), "munged did not start");
            started_munge = true;
        }
        for daemon in ["slurmctld", "slurmd"] {
            let st = Command::new(daemon)
                .arg("-f")
                .arg(&conf)
                .env("SLURM_CONF", &conf)
                .status()
                .unwrap_or_else(|e| panic!("{daemon}: {e}"));
            assert!(st.success(), "{daemon} did not start");
        }
        let c = Cluster { dir, conf, started_munge };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            let o = Command::new("sinfo").args(["-h", "-o", "%t"]).env("SLURM_CONF", &c.conf).output().unwrap();
            if String::from_utf8_lossy(&o.stdout).trim() == "idle" {
                break;
            }
            assert!(Instant::now() < deadline, "the node never became idle: {}", String::from_utf8_lossy(&o.stderr));
            std::thread::sleep(Duration::from_millis(200));
        }
        c
    }
}

fn kill_pidfile(path: &Path) {
    if let Some(pid) = std::fs::read_to_string(path).ok().and_then(|s| s.trim().parse::<i32>().ok()) {
        let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGTERM);
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        kill_pidfile(&self.dir.path().join("slurmd.pid"));
        kill_pidfile(&self.dir.path().join("slurmctld.pid"));
        if self.started_munge {
            kill_pidfile(Path::new("/run/munge/munged.pid"));
        }
    }
}

// Four tests spread over a Slurm array job of two tasks (each `run --shard i/2` on the node),
// merged when the job ends: the summary is the single run's.
#[test]
fn slurm_runs_shards_as_an_array_job_and_merges_them() {
    let cluster = Cluster::start();
    let tmp = tempfile::tempdir().unwrap();
    let mark = format!("panther-e2e-slurm-{}", std::process::id());
    let file = fake_tests(tmp.path(), "on-slurm", &mark, &[], &[("a", "0"), ("b", "1"), ("c", "0"), ("d", "0")]);
    let out = tmp.path().join("out");
    let o = Command::new(panther_bin())
        .args([
            "run",
            file.to_str().unwrap(),
            "--engine",
            "slurm",
            "--shards",
            "2",
            "--output-dir",
            out.to_str().unwrap(),
        ])
        .current_dir(workspace())
        .env("SLURM_CONF", &cluster.conf)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    assert_eq!(o.status.code(), Some(1), "test b fails by design\nstdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stdout.contains("2 shards merged"), "{stdout}");
    let merged = std::fs::read_dir(out.join("on-slurm")).unwrap().flatten().map(|e| e.path()).next().unwrap();
    let s = summary(&merged);
    assert_eq!(
        statuses(&s),
        [
            ("a".into(), "passed".into()),
            ("b".into(), "failed".into()),
            ("c".into(), "passed".into()),
            ("d".into(), "passed".into())
        ]
    );
    let work = std::fs::read_dir(&out)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with("slurm-"))
        .unwrap();
    let logs = std::fs::read_dir(&work)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with(".log"))
        .count();
    assert_eq!(logs, 2, "one log per array task in {}", work.display());
    drop(cluster);
    assert_eq!(processes_with(&mark), Vec::<i32>::new());
}

fn docker_cli(args: &[&str]) -> (bool, String) {
    let o = Command::new("docker").args(args).output().expect("the docker CLI is installed");
    (o.status.success(), format!("{}{}", String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr)))
}

/// This machine as a one-node swarm for the test, unless it already is in one (then it is
/// used and kept); left when dropped, with the bridge `swarm init` made.
struct OneNodeSwarm {
    joined: bool,
    had_gwbridge: bool,
}

impl OneNodeSwarm {
    fn start() -> OneNodeSwarm {
        let (_, state) = docker_cli(&["info", "--format", "{{.Swarm.LocalNodeState}}"]);
        if state.trim() == "active" {
            return OneNodeSwarm { joined: false, had_gwbridge: true };
        }
        let had_gwbridge = docker_cli(&["network", "inspect", "docker_gwbridge"]).0;
        let (ok, out) = docker_cli(&["swarm", "init", "--advertise-addr", "127.0.0.1"]);
        assert!(ok, "docker swarm init: {out}");
        OneNodeSwarm { joined: true, had_gwbridge }
    }
}

impl Drop for OneNodeSwarm {
    fn drop(&mut self) {
        if self.joined {
            let _ = docker_cli(&["swarm", "leave", "--force"]);
            if !self.had_gwbridge {
                let _ = docker_cli(&["network", "rm", "docker_gwbridge"]);
            }
        }
    }
}

// The two Docker tests of demo-docker.toml (quic-go and aioquic in containers), each a cell: a
// replicated-job service on a one-node swarm running `panther-host run --shard k/2` in the
// runner image, merged when both end. The merged summary is a single run's, each cell's test
// has its capture and downloads, and nothing of the swarm is left.
#[test]
fn swarm_runs_each_cell_as_a_replicated_job_and_merges_them() {
    if !docker_cli(&["info"]).0 {
        let required = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
            || std::env::var("PANTHER_REQUIRE_DOCKER").is_ok_and(|v| v == "1");
        assert!(!required, "Docker is required here (CI or PANTHER_REQUIRE_DOCKER=1)");
        eprintln!("SKIPPED engines::swarm_runs_each_cell_as_a_replicated_job_and_merges_them: no Docker daemon");
        return;
    }
    let swarm = OneNodeSwarm::start();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let o = Command::new(panther_bin())
        .args(["run", "experiments/demo-docker.toml", "--engine", "swarm", "--output-dir", out.to_str().unwrap()])
        .current_dir(workspace())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    let work = std::fs::read_dir(&out)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.file_name().unwrap().to_string_lossy().starts_with("swarm-"))
        .unwrap_or_else(|| panic!("no swarm work directory\nstdout:\n{stdout}\nstderr:\n{stderr}"));
    let logs: String = (0..2)
        .map(|k| {
            format!(
                "cell-{k}.log:\n{}\n",
                std::fs::read_to_string(work.join(format!("cell-{k}.log"))).unwrap_or_default()
            )
        })
        .collect();
    assert_eq!(o.status.code(), Some(0), "stdout:\n{stdout}\nstderr:\n{stderr}\n{logs}");
    assert!(stdout.contains("swarm: 2 cells merged"), "{stdout}");
    assert!(stderr.contains("cell ended"), "the host says when each cell ends: {stderr}");

    let merged = std::fs::read_dir(out.join("demo-docker")).unwrap().flatten().map(|e| e.path()).next().unwrap();
    let s = summary(&merged);
    assert_eq!(
        statuses(&s),
        [
            ("quic-go server, aioquic client".into(), "passed".into()),
            ("aioquic server, quic-go client".into(), "passed".into())
        ]
    );
    // Cell k ran shard k/2, in a container, and its test's evidence is in the shared directory.
    for (k, (test, client)) in
        [("quic-go-server-aioquic-client", "aioquic_client"), ("aioquic-server-quic-go-client", "qgo_client")]
            .iter()
            .enumerate()
    {
        let shard = std::fs::read_dir(work.join("shards/demo-docker"))
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .find(|d| {
                let run: serde_json::Value =
                    serde_json::from_str(&std::fs::read_to_string(d.join("run.json")).unwrap()).unwrap();
                run["shard"] == serde_json::json!([k, 2])
            })
            .unwrap_or_else(|| panic!("no run of shard {k}/2 in {}", work.display()));
        let t = shard.join(test);
        let served = std::fs::read(t.join("www/f2.bin")).unwrap();
        assert!(std::fs::read(t.join(client).join("downloads/f2.bin")).unwrap() == served, "{test}: f2.bin differs");
        assert!(
            std::fs::metadata(t.join("capture.pcap")).is_ok_and(|m| m.len() > 0),
            "{test}: the cell captured nothing"
        );
        let record: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(shard.join("processes.json")).unwrap()).unwrap();
        let mine = std::fs::read_link("/proc/self/ns/pid").unwrap().display().to_string();
        let theirs = record["pid_ns"].as_str().unwrap_or_default();
        assert!(!theirs.is_empty() && theirs != mine, "cell {k} ran in a pid namespace of its own: {theirs} vs {mine}");
    }

    // Nothing of the run is left: no service, no container (the cells' or their tests').
    let (_, services) = docker_cli(&["service", "ls", "--filter", "label=panther.swarm-run", "-q"]);
    assert_eq!(services.trim(), "", "services left");
    let (_, containers) = docker_cli(&["ps", "-a", "-q", "--filter", "label=panther.swarm-run"]);
    assert_eq!(containers.trim(), "", "cell containers left");
    for shard in std::fs::read_dir(work.join("shards/demo-docker")).unwrap().flatten() {
        let key = panther_host::exec::docker::run_key(&shard.path(), &shard.file_name().to_string_lossy());
        let (_, left) = docker_cli(&[
            "ps",
            "-a",
            "-q",
            "--filter",
            &format!("label={}={key}", panther_host::exec::docker::LABEL_RUN_KEY),
        ]);
        assert_eq!(left.trim(), "", "the test containers of {} were left", shard.path().display());
    }
    let joined = swarm.joined;
    drop(swarm);
    if joined {
        let (_, state) = docker_cli(&["info", "--format", "{{.Swarm.LocalNodeState}}"]);
        assert_eq!(state.trim(), "inactive", "the test left the swarm it made");
    }
}

// What a cell cannot run is refused on the submitting host, before anything reaches a swarm;
// the Swarm options mean nothing to the other engines.
#[test]
fn swarm_refuses_what_a_cell_cannot_run() {
    let run = |args: &[&str]| {
        let o = Command::new(panther_bin()).args(args).current_dir(workspace()).env("NO_COLOR", "1").output().unwrap();
        (o.status.code(), String::from_utf8_lossy(&o.stderr).into_owned())
    };
    let (code, stderr) = run(&["run", "experiments/demo.toml", "--engine", "swarm"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("--engine swarm runs Docker tests") && stderr.contains("(localhost)"), "{stderr}");
    let (code, stderr) = run(&["run", "experiments/demo.toml", "--registry", "reg.example:5000"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("options of --engine swarm"), "{stderr}");
    let (code, stderr) = run(&["run", "experiments/demo-docker.toml", "--engine", "swarm", "--cell-cpus", "0"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("not a number of CPUs"), "{stderr}");
    let (code, stderr) = run(&["run", "--engine", "swarm"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("needs the experiment file"), "{stderr}");
}
