//! What a run leaves behind when the host dies without tearing down (`kill -9`, a crash, a
//! power cut of the terminal): the record of its process groups, and the sweep that ends them.
//!
//! Local services die with the host on their own: each command is spawned with
//! `PR_SET_PDEATHSIG = SIGKILL` ([`die_with_host`]). That reaches the group leader only; a
//! process the service forked keeps running when the leader dies (the death signal is not
//! inherited across `fork`). So every run also keeps `<run>/processes.json` ([`Recorder`]):
//! the host's pid and start time, and for every process group it started, the leader's pid,
//! start time, session and command line, and whether the group has ended. An index entry in
//! `<cache>/runs/` points at the file while the run is going on; a run that ends normally
//! removes it.
//!
//! [`sweep`] (called by `panther-host clean` and at the start of every `run`) reads the index,
//! skips runs whose host is still alive, and for the others kills what is left of each
//! recorded group. A pid can be reused, so a process is killed only if it is provably of that
//! group: it is in the recorded process group *and* session, and it started no earlier than
//! the recorded leader; a live leader must have exactly the recorded start time (pid and start
//! time name one process; the command line is kept for people, since exec changes it). After a reboot (another boot id) nothing recorded can be alive, and the entry is
//! dropped.

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

/// The record's file name in the run directory.
pub const PROCESSES_FILE: &str = "processes.json";
/// The index of runs that may have left something, under the cache root.
pub const INDEX_DIR: &str = "runs";

/// One process group the host started.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct GroupRecord {
    pub pgid: i32,
    /// `test/service phase cmd-N `program``, as teardown reports name it.
    pub label: String,
    /// The leader's start time, in clock ticks after boot (`/proc/<pid>/stat` field 22).
    pub start_ticks: u64,
    /// The session the group lives in (the host's).
    pub sid: i32,
    /// The leader's command line, NUL-separated arguments joined with spaces.
    pub cmdline: String,
    /// The host saw the group end (or killed it).
    pub ended: bool,
}

/// `<run>/processes.json`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RunRecord {
    pub run_dir: PathBuf,
    pub host_pid: i32,
    pub host_start_ticks: u64,
    /// `/proc/sys/kernel/random/boot_id` when the run started.
    pub boot_id: String,
    /// The pid namespace the pids are numbers in (`/proc/self/ns/pid`). A host running in a
    /// container (a Swarm cell) shares the cache with hosts outside it; neither may judge the
    /// other's pids, which mean other processes there.
    #[serde(default)]
    pub pid_ns: String,
    pub groups: Vec<GroupRecord>,
}

/// What `/proc/<pid>/stat` says about a process.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProcStat {
    pub state: char,
    pub pgid: i32,
    pub sid: i32,
    pub start_ticks: u64,
}

/// Reads `/proc/<pid>/stat`; `None` when the process does not exist.
pub fn proc_stat(pid: i32) -> Option<ProcStat> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name is in parentheses and may hold spaces or ')': fields follow the last ')'.
    let rest = &s[s.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    Some(ProcStat {
        state: f.first()?.chars().next()?,
        pgid: f.get(2)?.parse().ok()?,
        sid: f.get(3)?.parse().ok()?,
        start_ticks: f.get(19)?.parse().ok()?,
    })
}

/// A process's command line, arguments joined with spaces; empty for a zombie.
pub fn cmdline(pid: i32) -> String {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|b| String::from_utf8_lossy(&b).split('\0').filter(|a| !a.is_empty()).collect::<Vec<_>>().join(" "))
        .unwrap_or_default()
}

fn boot_id() -> String {
    std::fs::read_to_string("/proc/sys/kernel/random/boot_id").map(|s| s.trim().to_string()).unwrap_or_default()
}

fn pid_namespace() -> String {
    std::fs::read_link("/proc/self/ns/pid").map(|l| l.display().to_string()).unwrap_or_default()
}

fn all_pids() -> Vec<i32> {
    std::fs::read_dir("/proc")
        .map(|rd| rd.flatten().filter_map(|e| e.file_name().to_str()?.parse().ok()).collect())
        .unwrap_or_default()
}

/// Makes a command die when the host does: the child asks the kernel for SIGKILL when its
/// parent goes away, and exits at once if the host died before it could ask.
///
/// The death signal follows the *thread* that forked the child. Commands are spawned from
/// the async runtime's worker threads, which live as long as the run; a command spawned from
/// a short-lived thread (`spawn_blocking`) would be killed when that thread retires.
pub fn die_with_host(cmd: &mut tokio::process::Command) {
    let host = nix::unistd::getpid();
    // SAFETY: the closure runs between fork and exec and calls only prctl, getppid and _exit,
    // which are async-signal-safe; it allocates nothing.
    unsafe {
        cmd.pre_exec(move || {
            nix::sys::prctl::set_pdeathsig(nix::sys::signal::Signal::SIGKILL)?;
            if nix::unistd::getppid() != host {
                nix::libc::_exit(137);
            }
            Ok(())
        });
    }
}

/// Keeps `<run>/processes.json` and the run's index entry up to date. Shared by every
/// executor of a run; writes are atomic (a temporary file renamed over the record), so a host
/// killed in the middle of one leaves the previous record.
#[derive(Debug)]
pub struct Recorder {
    path: PathBuf,
    index: PathBuf,
    record: Mutex<RunRecord>,
}

impl Recorder {
    /// Starts the record of the run in `run_dir` and its index entry under `cache_root`.
    ///
    /// # Errors
    /// The record or the index entry cannot be written.
    pub fn create(run_dir: &Path, cache_root: &Path) -> std::io::Result<Recorder> {
        let me = std::process::id() as i32;
        let record = RunRecord {
            run_dir: run_dir.to_path_buf(),
            host_pid: me,
            host_start_ticks: proc_stat(me).map(|s| s.start_ticks).unwrap_or(0),
            boot_id: boot_id(),
            pid_ns: pid_namespace(),
            groups: vec![],
        };
        let index_dir = cache_root.join(INDEX_DIR);
        std::fs::create_dir_all(&index_dir)?;
        let key = crate::run::layout::slug(&run_dir.display().to_string());
        let index = index_dir.join(format!("{key}.path"));
        let r = Recorder { path: run_dir.join(PROCESSES_FILE), index, record: Mutex::new(record) };
        r.write()?;
        write_atomic(&r.index, run_dir.as_os_str().as_encoded_bytes())?;
        Ok(r)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, RunRecord> {
        self.record.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::io::Result<()> {
        let text = serde_json::to_vec_pretty(&*self.lock()).expect("a record is plain data");
        write_atomic(&self.path, &text)
    }

    fn save(&self) {
        if let Err(e) = self.write() {
            tracing::warn!(
                "cannot update {}: {e}; `panther-host clean` may miss this run's processes",
                self.path.display()
            );
        }
    }

    /// A group the host just started (its leader is `pgid`).
    pub fn started(&self, pgid: i32, label: &str) {
        let stat = proc_stat(pgid);
        self.lock().groups.push(GroupRecord {
            pgid,
            label: label.to_string(),
            start_ticks: stat.map(|s| s.start_ticks).unwrap_or(0),
            sid: stat.map(|s| s.sid).unwrap_or(0),
            cmdline: cmdline(pgid),
            ended: false,
        });
        self.save();
    }

    /// A group the host saw end (or ended).
    pub fn ended(&self, pgid: i32) {
        let mut changed = false;
        for g in self.lock().groups.iter_mut().filter(|g| g.pgid == pgid && !g.ended) {
            g.ended = true;
            changed = true;
        }
        if changed {
            self.save();
        }
    }

    /// The run ended and tore down: nothing is left for `clean`.
    pub fn finish(&self) {
        let _ = std::fs::remove_file(&self.index);
    }
}

fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension(format!("tmp-{}", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

/// What [`sweep`] did about one run or group, one line each.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Swept {
    /// Processes of a killed run's group were killed.
    Ended { run_dir: PathBuf, label: String, pids: Vec<i32> },
    /// Processes that would not die within the wait (stuck in the kernel, another user's).
    Stuck { run_dir: PathBuf, label: String, pids: Vec<i32> },
    /// The run's host is still alive: nothing touched.
    StillRunning { run_dir: PathBuf, host_pid: i32 },
}

impl std::fmt::Display for Swept {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Swept::Ended { run_dir, label, pids } => {
                write!(f, "ended process group {label} of run {} (pids {pids:?})", run_dir.display())
            }
            Swept::Stuck { run_dir, label, pids } => {
                write!(
                    f,
                    "could not end process group {label} of run {} (pids {pids:?} still alive)",
                    run_dir.display()
                )
            }
            Swept::StillRunning { run_dir, host_pid } => {
                write!(f, "run {} is still going on (panther-host pid {host_pid}); left alone", run_dir.display())
            }
        }
    }
}

/// The live processes that provably belong to a recorded group (see the module docs).
fn members_of(g: &GroupRecord) -> Vec<i32> {
    if g.start_ticks == 0 {
        return vec![];
    }
    all_pids()
        .into_iter()
        .filter(|&pid| {
            let Some(st) = proc_stat(pid) else { return false };
            if st.pgid != g.pgid || st.sid != g.sid || st.state == 'Z' || st.start_ticks < g.start_ticks {
                return false;
            }
            // A leader with the group's pid must be the recorded one, not a reuse of the pid:
            // pid and start time together name one process (its command line may have changed
            // since, by exec).
            pid != g.pgid || st.start_ticks == g.start_ticks
        })
        .collect()
}

/// Ends what killed runs recorded under `cache_root` left (only run `only`'s, given a run
/// id), and drops their index entries. Runs whose host is alive are left alone.
pub fn sweep(cache_root: &Path, only: Option<&str>) -> Vec<Swept> {
    let mut out = vec![];
    let Ok(rd) = std::fs::read_dir(cache_root.join(INDEX_DIR)) else { return out };
    let boot = boot_id();
    let pid_ns = pid_namespace();
    for e in rd.flatten() {
        let index = e.path();
        if index.extension().is_none_or(|x| x != "path") {
            continue;
        }
        let Ok(dir) = std::fs::read(&index) else { continue };
        let run_dir = PathBuf::from(String::from_utf8_lossy(&dir).into_owned());
        if only.is_some_and(|id| run_dir.file_name().is_none_or(|n| n != id)) {
            continue;
        }
        let file = run_dir.join(PROCESSES_FILE);
        let record: Option<RunRecord> = std::fs::read(&file).ok().and_then(|b| serde_json::from_slice(&b).ok());
        let Some(mut record) = record else {
            let _ = std::fs::remove_file(&index);
            continue;
        };
        if record.boot_id != boot {
            let _ = std::fs::remove_file(&index);
            continue;
        }
        if !record.pid_ns.is_empty() && record.pid_ns != pid_ns {
            continue;
        }
        let host_alive = record.host_start_ticks != 0
            && proc_stat(record.host_pid).is_some_and(|s| s.start_ticks == record.host_start_ticks && s.state != 'Z');
        if host_alive {
            out.push(Swept::StillRunning { run_dir: run_dir.clone(), host_pid: record.host_pid });
            continue;
        }
        let mut stuck = false;
        for g in record.groups.iter_mut().filter(|g| !g.ended) {
            let pids = members_of(g);
            if pids.is_empty() {
                g.ended = true;
                continue;
            }
            for &pid in &pids {
                let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), nix::sys::signal::Signal::SIGKILL);
            }
            let until = Instant::now() + Duration::from_secs(3);
            let mut left = members_of(g);
            while !left.is_empty() && Instant::now() < until {
                std::thread::sleep(Duration::from_millis(20));
                left = members_of(g);
            }
            if left.is_empty() {
                g.ended = true;
                out.push(Swept::Ended { run_dir: run_dir.clone(), label: g.label.clone(), pids });
            } else {
                stuck = true;
                out.push(Swept::Stuck { run_dir: run_dir.clone(), label: g.label.clone(), pids: left });
            }
        }
        if let Ok(text) = serde_json::to_vec_pretty(&record) {
            let _ = write_atomic(&file, &text);
        }
        if !stuck {
            let _ = std::fs::remove_file(&index);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_its_own_stat() {
        let me = std::process::id() as i32;
        let st = proc_stat(me).unwrap();
        assert!(st.start_ticks > 0);
        assert_eq!(st.pgid, nix::unistd::getpgrp().as_raw());
        assert!(cmdline(me).contains("panther_host"), "{}", cmdline(me));
        assert!(proc_stat(i32::MAX).is_none());
    }

    // A killed run's leftover group member is ended; a reused pid (another start time) and a
    // live run are left alone; the record says what happened.
    #[tokio::test]
    async fn sweep_ends_only_what_a_dead_run_left() {
        let cache = tempfile::tempdir().unwrap();
        let run = tempfile::tempdir().unwrap();
        let mut cmd = tokio::process::Command::new("/bin/sleep");
        cmd.arg("30.0817").process_group(0);
        let mut child = cmd.spawn().unwrap();
        let pgid = child.id().unwrap() as i32;
        let rec = Recorder::create(run.path(), cache.path()).unwrap();
        rec.started(pgid, "t/s run cmd-0 `sleep`");
        // This process is alive: its run is left alone.
        assert!(matches!(sweep(cache.path(), None)[..], [Swept::StillRunning { .. }]));
        assert!(proc_stat(pgid).is_some());

        // Pretend the host died: another host pid start time.
        let mut r: RunRecord =
            serde_json::from_slice(&std::fs::read(run.path().join(PROCESSES_FILE)).unwrap()).unwrap();
        r.host_start_ticks += 1;
        let mut reused = r.clone();
        std::fs::write(run.path().join(PROCESSES_FILE), serde_json::to_vec(&r).unwrap()).unwrap();
        let swept = sweep(cache.path(), None);
        assert!(matches!(&swept[..], [Swept::Ended { pids, .. }] if pids == &vec![pgid]), "{swept:?}");
        let _ = child.wait().await;
        let after: RunRecord =
            serde_json::from_slice(&std::fs::read(run.path().join(PROCESSES_FILE)).unwrap()).unwrap();
        assert!(after.groups[0].ended);
        assert!(sweep(cache.path(), None).is_empty(), "the index entry is gone");

        // A process whose pid matches but whose start time does not is not touched.
        let mut other = tokio::process::Command::new("/bin/sleep").arg("30.0818").process_group(0).spawn().unwrap();
        let opgid = other.id().unwrap() as i32;
        reused.groups = vec![GroupRecord {
            pgid: opgid,
            label: "x".into(),
            start_ticks: proc_stat(opgid).unwrap().start_ticks + 1,
            sid: proc_stat(opgid).unwrap().sid,
            cmdline: cmdline(opgid),
            ended: false,
        }];
        std::fs::write(run.path().join(PROCESSES_FILE), serde_json::to_vec(&reused).unwrap()).unwrap();
        write_atomic(&cache.path().join(INDEX_DIR).join("x.path"), run.path().as_os_str().as_encoded_bytes()).unwrap();
        assert!(sweep(cache.path(), None).is_empty());
        assert!(proc_stat(opgid).is_some_and(|s| s.state != 'Z'), "a reused pid was killed");
        other.kill().await.unwrap();
    }
}
