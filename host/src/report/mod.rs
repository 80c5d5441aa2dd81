//! Reports of a run: `experiment_summary.json` ([`json`]), `EXPERIMENT_REPORT.md`
//! ([`markdown`]), `junit.xml` ([`junit`]) and the full model `run-summary.json`
//! ([`model`]), the whole record a tool can reload.
//!
//! Every renderer is a pure function of the [`model::RunSummary`]; only [`write_all`] touches
//! the disk (and measures the run directory for the resources section). Files are written to
//! a temporary name and renamed, so a run interrupted while writing still leaves the previous
//! complete version. Does not run anything and does not decide statuses (the orchestrator
//! does).

pub mod compare;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod matrices;
pub mod matrix;
pub mod model;

use std::io;
use std::path::{Path, PathBuf};

use model::{test_status_word, RunSummary};

/// File names, in the run directory.
pub const SUMMARY_JSON: &str = "experiment_summary.json";
pub const REPORT_MD: &str = "EXPERIMENT_REPORT.md";
pub const JUNIT_XML: &str = "junit.xml";
pub const MODEL_JSON: &str = "run-summary.json";

/// A temporary file beside `path`, then a rename: readers (and a host killed meanwhile) see the
/// old file or the new one, never half of one.
pub(crate) fn write_atomic(path: &Path, content: &[u8]) -> io::Result<()> {
    let tmp = path.with_extension(format!("{}.tmp", path.extension().and_then(|e| e.to_str()).unwrap_or("")));
    std::fs::write(&tmp, content)?;
    std::fs::rename(&tmp, path)
}

fn dir_size(dir: &Path, only_logs: bool) -> u64 {
    let Ok(rd) = std::fs::read_dir(dir) else { return 0 };
    rd.flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_size(&e.path(), only_logs),
            Ok(t) if t.is_file() => {
                let name = e.file_name().to_string_lossy().into_owned();
                let is_log = name.ends_with(".log")
                    || name.ends_with(".stdout")
                    || name.ends_with(".stderr")
                    || name == "events.jsonl";
                if !only_logs || is_log {
                    e.metadata().map(|m| m.len()).unwrap_or(0)
                } else {
                    0
                }
            }
            _ => 0,
        })
        .sum()
}

/// Peak resident memory of the host process, in MiB (`VmHWM`).
fn host_peak_memory_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb: f64 = status.lines().find(|l| l.starts_with("VmHWM:"))?.split_whitespace().nth(1)?.parse().ok()?;
    Some((kb / 1024.0 * 10.0).round() / 10.0)
}

/// Writes every report of `summary` into `dir`; returns the files written. Call it after each
/// test: a partial summary (`in_progress: true`) is on disk if the run is interrupted.
///
/// # Errors
/// The first file that cannot be written.
pub fn write_all(dir: &Path, summary: &RunSummary) -> io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(dir)?;
    let mut s = summary.clone();
    s.generated_at = crate::events::now_rfc3339();
    let mb = |b: u64| (b as f64 / (1024.0 * 1024.0) * 100.0).round() / 100.0;
    s.resources.disk_usage_mb = Some(mb(dir_size(dir, false)));
    s.resources.total_log_size_mb = Some(mb(dir_size(dir, true)));
    if s.resources.peak_memory_mb.is_none() {
        s.resources.peak_memory_mb = host_peak_memory_mb();
    }
    let files = [
        (SUMMARY_JSON, serde_json::to_string_pretty(&json::summary_json(&s)).expect("plain data")),
        (REPORT_MD, markdown::markdown(&s, dir)),
        (JUNIT_XML, junit::junit_xml(&s)),
        (MODEL_JSON, serde_json::to_string_pretty(&s).expect("plain data")),
    ];
    let mut out = Vec::new();
    for (name, text) in files {
        let p = dir.join(name);
        write_atomic(&p, text.as_bytes())?;
        out.push(p);
    }
    Ok(out)
}

/// Reloads the model a run wrote, for re-rendering.
///
/// # Errors
/// The file is missing or not a summary of this host's format.
pub fn load(dir: &Path) -> io::Result<RunSummary> {
    let p = dir.join(MODEL_JSON);
    let text = std::fs::read_to_string(&p)?;
    serde_json::from_str(&text).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("{}: {e}", p.display())))
}

/// A few lines for the terminal at the end of a run.
pub fn console_summary(s: &RunSummary) -> String {
    let mut o = String::new();
    let width = s.tests.iter().map(|t| t.name.chars().count()).max().unwrap_or(0).max(4);
    for t in &s.tests {
        // The reason may quote a plugin or a program's output.
        let reason = t.error_message.as_deref().map(|m| format!("  {}", crate::text::terminal(m))).unwrap_or_default();
        o.push_str(&format!(
            "  {:<width$}  {:<11} {:>7.1}s{reason}\n",
            crate::text::terminal(&t.name),
            test_status_word(t.status),
            t.duration_seconds
        ));
    }
    o.push_str(&format!(
        "{}: {} — {} passed, {} failed, {} skipped, {} timeout, {} interrupted of {} tests in {:.1}s\n",
        s.experiment,
        s.status_word(),
        s.count(model::TestStatus::Passed),
        s.count(model::TestStatus::Failed),
        s.count(model::TestStatus::Skipped),
        s.count(model::TestStatus::Timeout),
        s.count(model::TestStatus::Interrupted),
        s.tests.len(),
        s.duration_seconds
    ));
    o
}

#[cfg(test)]
pub(crate) mod fixture {
    //! A fixed run used by the snapshot tests: every status, a crash with log tails, a cached
    //! compile, a verdict with evidence, fast-fail and teardown steps.
    use std::time::Duration;

    use super::model::*;
    use crate::exec::{ServiceExit, TeardownReport, TeardownStep};

    pub const ROOT: &str = "/runs/quic/2024-01-02_03-04-05";

    fn svc(
        name: &str,
        imp: &str,
        role: &str,
        exit: ServiceExit,
        health: ServiceHealth,
        tails: (&str, &str),
    ) -> ServiceResult {
        let dir = format!("{ROOT}/handshake/{name}/logs/run");
        ServiceResult {
            name: name.into(),
            implementation: imp.into(),
            role: role.into(),
            tester: false,
            health,
            outcome: exit.describe(),
            exit,
            error: None,
            became_ready: true,
            compilation_succeeded: Some(true),
            phases: vec![
                PhaseResult { phase: "compile".into(), cached: true, commands: 0, failed: 0, duration_seconds: 0.0 },
                PhaseResult { phase: "run".into(), cached: false, commands: 1, failed: 0, duration_seconds: 1.5 },
            ],
            artifacts: vec![ArtifactRef {
                kind: "keylog".into(),
                path: format!("{ROOT}/handshake/{name}/logs/keys.log"),
            }],
            stdout: Some(format!("{dir}/cmd-0.stdout")),
            stderr: Some(format!("{dir}/cmd-0.stderr")),
            stdout_tail: tails.0.into(),
            stderr_tail: tails.1.into(),
        }
    }

    pub fn summary() -> RunSummary {
        let mut s = RunSummary::start("quic", "2024-01-02_03-04-05", "experiments/quic.toml", true);
        s.start_time = "2024-01-02T03:04:05Z".into();
        s.generated_at = "2024-01-02T03:05:00Z".into();
        s.panther_version = "0.1.0".into();
        let mut pass = TestResult::error(
            "handshake",
            "x",
            std::path::Path::new(&format!("{ROOT}/handshake")),
            Duration::from_millis(2500),
        );
        pass.status = TestStatus::Passed;
        pass.error_message = None;
        pass.reasons = vec!["every client exited with 0 and 1 download matched byte for byte".into()];
        pass.start_time = Some("2024-01-02T03:04:05Z".into());
        pass.end_time = Some("2024-01-02T03:04:08Z".into());
        pass.services = vec![
            svc(
                "server",
                "picoquic",
                "server",
                ServiceExit { exit_code: None, signal: Some(15), stopped_by_host: true, ..Default::default() },
                ServiceHealth::Healthy,
                ("", ""),
            ),
            svc(
                "client",
                "picoquic",
                "client",
                ServiceExit { exit_code: Some(0), ..Default::default() },
                ServiceHealth::Healthy,
                ("got /f1.bin\n", ""),
            ),
        ];
        pass.teardown = TeardownReport {
            steps: vec![TeardownStep {
                what: "process group 4242 (handshake/server run cmd-0 `picoquicdemo`)".into(),
                ok: true,
                detail: "already gone".into(),
            }],
        };
        s.push(pass);

        let mut crash = TestResult::error(
            "transfer | big",
            "`client` was killed by signal 11",
            std::path::Path::new(&format!("{ROOT}/transfer")),
            Duration::from_secs(3),
        );
        crash.start_time = Some("2024-01-02T03:04:08Z".into());
        crash.end_time = Some("2024-01-02T03:04:11Z".into());
        crash.evidence = vec!["client/logs/run/cmd-0.stderr".into(), "capture.pcap#frame=12".into()];
        crash.verdicts = vec![VerdictResult {
            plugin: "interop".into(),
            status: VerdictWord::Fail,
            reasons: vec!["no 1-RTT packet from the server".into()],
            evidence: vec![],
        }];
        let mut c = svc(
            "client",
            "quic-go",
            "client",
            ServiceExit { signal: Some(11), ..Default::default() },
            ServiceHealth::Failed,
            ("connecting\n", "panic: ``` boom\nsegfault\n"),
        );
        c.error = Some("crashed".into());
        crash.services = vec![c];
        crash.teardown = TeardownReport {
            steps: vec![TeardownStep {
                what: "process group 4243".into(),
                ok: false,
                detail: "members still alive after SIGKILL: [4244]".into(),
            }],
        };
        s.push(crash);
        s.fast_fail_triggered("transfer | big");

        let mut to = TestResult::skipped("slow", "fast-fail: `transfer | big` failed");
        to.start_time = None;
        to.end_time = None;
        s.push(to);
        let mut t = TestResult::error(
            "timeouts",
            "`client` did not finish within its timeout",
            std::path::Path::new(&format!("{ROOT}/timeouts")),
            Duration::from_secs(60),
        );
        t.status = TestStatus::Timeout;
        t.start_time = Some("2024-01-02T03:04:11Z".into());
        t.end_time = Some("2024-01-02T03:05:11Z".into());
        s.push(t);
        s.finish(false);
        s.end_time = Some("2024-01-02T03:05:11Z".into());
        s.duration_seconds = 66.0;
        s.fast_fail.termination_time = Some("2024-01-02T03:04:11Z".into());
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Times are fixed in the fixture; anything the clock still put in is masked.
    fn redact(s: &str) -> String {
        let mut out = String::new();
        for line in s.lines() {
            let masked = if line.contains("duration_seconds\": ") && !line.contains("66.0") {
                "[DURATION]".to_string()
            } else {
                line.to_string()
            };
            out.push_str(&masked);
            out.push('\n');
        }
        out
    }

    #[test]
    fn summary_json_snapshot() {
        let s = fixture::summary();
        let v = json::summary_json(&s);
        assert_eq!(v["tests"]["total"], 4);
        assert_eq!(v["tests"]["success_rate"], 33.3);
        assert_eq!(v["status"], "failed");
        assert_eq!(v["services"][2]["crashed"], true);
        insta::assert_snapshot!("experiment_summary", redact(&serde_json::to_string_pretty(&v).unwrap()));
    }

    #[test]
    fn markdown_snapshot() {
        let s = fixture::summary();
        let md = markdown::markdown(&s, Path::new(fixture::ROOT));
        assert!(md.contains("[logs](handshake)"), "links are relative to the run directory");
        assert!(md.contains("transfer \\| big"), "pipes in names do not break tables");
        assert!(md.contains("````text\npanic: ``` boom"), "the fence outgrows backticks in logs");
        insta::assert_snapshot!("experiment_report", md);
    }

    #[test]
    fn junit_snapshot() {
        let s = fixture::summary();
        let xml = junit::junit_xml(&s);
        assert!(xml.contains("tests=\"4\""), "{xml}");
        assert!(xml.contains("failures=\"2\""), "{xml}");
        assert!(xml.contains("disabled=\"1\""), "skipped tests count as disabled: {xml}");
        insta::assert_snapshot!("junit", xml);
    }

    // write_all leaves every file, a reloadable model, and no temporary files.
    #[test]
    fn write_all_and_reload() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = fixture::summary();
        s.in_progress = true;
        let files = write_all(dir.path(), &s).unwrap();
        assert_eq!(files.len(), 4);
        let names: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(!names.iter().any(|n| n.ends_with(".tmp")), "{names:?}");
        let back = load(dir.path()).unwrap();
        assert_eq!(back.tests, s.tests);
        assert!(back.in_progress);
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.path().join(SUMMARY_JSON)).unwrap()).unwrap();
        assert_eq!(v["report_metadata"]["report_format_version"], "1.0");
        assert!(v["resources"]["disk_usage_mb"].is_number());
        assert!(std::fs::read_to_string(dir.path().join(REPORT_MD)).unwrap().contains("Partial report"));
        assert!(console_summary(&back).contains("quic: failed"));
    }
}
