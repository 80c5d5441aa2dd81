//! `run --engine slurm` against a real one-node Slurm cluster (Debian's slurmctld, slurmd and
//! munge) that the test starts with its own slurm.conf and ports, and stops.

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
