//! Turns what happened in a test into its status: the tester's verdict when the test has a
//! tester, otherwise the host's built-in rule (clients exit 0, nothing crashed, every download
//! byte-identical) together with any IUT plugin's own verdict.
//!
//! Pure functions of recorded evidence, so they are unit-tested without running anything.

use crate::plugin::types::{Outcome, Verdict, VerdictStatus};

use super::drive::DriveResult;

pub use crate::report::model::{Judgement, TestStatus};

fn status_of(v: VerdictStatus) -> TestStatus {
    match v {
        VerdictStatus::Pass => TestStatus::Passed,
        VerdictStatus::Fail | VerdictStatus::InfraError => TestStatus::Failed,
        VerdictStatus::UnsupportedByIut | VerdictStatus::UnsupportedByEnvironment => TestStatus::Skipped,
    }
}

fn verdict_word(v: VerdictStatus) -> &'static str {
    match v {
        VerdictStatus::Pass => "pass",
        VerdictStatus::Fail => "fail",
        VerdictStatus::UnsupportedByIut => "unsupported by the IUT",
        VerdictStatus::UnsupportedByEnvironment => "unsupported by the environment",
        VerdictStatus::InfraError => "infrastructure error",
    }
}

/// The host's own rule when no tester judges: what `make demo` asks of a test.
pub fn builtin_rule(drive: &DriveResult, outcome: &Outcome) -> (TestStatus, Vec<String>) {
    let mut reasons = vec![];
    let mut status = TestStatus::Passed;
    for s in &drive.services {
        let e = &s.exit;
        if e.is_unsupported() {
            return (
                TestStatus::Skipped,
                vec![format!("`{}` exited with 127: the implementation does not support this test", s.name)],
            );
        }
        if s.finite {
            if e.timed_out {
                status = TestStatus::Timeout;
                reasons.push(format!("`{}` did not finish within its timeout", s.name));
            } else if let Some(sig) = e.signal {
                status = TestStatus::Failed;
                reasons.push(format!("`{}` was killed by signal {sig}", s.name));
            } else if e.exit_code != Some(0) && !e.not_started {
                status = TestStatus::Failed;
                reasons.push(format!(
                    "`{}` exited with {}",
                    s.name,
                    e.exit_code.map_or("no status".into(), |c| c.to_string())
                ));
            }
        } else if !e.stopped_by_host && !e.not_started && (e.exit_code.is_some_and(|c| c != 0) || e.signal.is_some()) {
            status = TestStatus::Failed;
            reasons.push(format!(
                "`{}` ended on its own before the test was over ({})",
                s.name,
                e.signal.map_or_else(|| format!("exit {}", e.exit_code.unwrap_or(-1)), |s| format!("signal {s}"))
            ));
        }
    }
    for t in &outcome.transfers {
        match (&t.served, &t.downloaded) {
            (Some(a), Some(b)) if a == b => {}
            (Some(a), Some(b)) => {
                status = TestStatus::Failed;
                reasons.push(format!(
                    "`{}`: downloaded {} bytes (sha256 {}…) but the server had {} bytes (sha256 {}…)",
                    t.path,
                    b.size,
                    &b.sha256[..12.min(b.sha256.len())],
                    a.size,
                    &a.sha256[..12.min(a.sha256.len())]
                ));
            }
            (Some(_), None) => {
                status = TestStatus::Failed;
                reasons.push(format!("`{}` was not downloaded", t.path));
            }
            (None, _) => {
                status = TestStatus::Failed;
                reasons.push(format!("`{}` is not among the served files", t.path));
            }
        }
    }
    if status == TestStatus::Passed {
        let n = outcome.transfers.len();
        reasons.push(if n == 0 {
            "every client exited with 0".into()
        } else {
            format!(
                "every client exited with 0 and {n} download{} matched byte for byte",
                if n == 1 { "" } else { "s" }
            )
        });
    }
    (status, reasons)
}

/// Combines the lifecycle result, the built-in rule and the plugins' verdicts.
///
/// `tester` holds the tester's verdict when the test has a tester; `iut_verdicts` the verdicts
/// of IUT plugins that judge their own runs.
pub fn judge(
    drive: &DriveResult,
    outcome: &Outcome,
    tester: Option<(String, Verdict)>,
    iut_verdicts: Vec<(String, Verdict)>,
) -> Judgement {
    let mut verdicts = iut_verdicts;
    if drive.interrupted {
        return Judgement {
            status: TestStatus::Interrupted,
            reasons: vec!["interrupted before the test finished".into()],
            evidence: vec![],
            verdicts,
        };
    }
    // The environment could not run a service at all: refused before it started (a statically
    // linked program under Shadow), or failed for what the environment lacks (no IPv6).
    let refused = match &drive.error {
        Some(e @ super::drive::DriveError::Start(crate::exec::ExecError::UnsupportedByEnvironment { .. })) => {
            Some(e.to_string())
        }
        _ => drive.services.iter().find_map(|s| {
            let why = s.exit.unsupported_by_environment.as_ref()?;
            Some(format!("service `{}` cannot run in this environment: {why}", s.name))
        }),
    };
    if let Some(why) = refused {
        let verdict =
            Verdict { status: VerdictStatus::UnsupportedByEnvironment, reasons: vec![why.clone()], evidence: vec![] };
        verdicts.push(("environment".into(), verdict));
        return Judgement { status: TestStatus::Skipped, reasons: vec![why], evidence: vec![], verdicts };
    }
    if let Some(e) = &drive.error {
        // A server that exits 127 never becomes ready, which stops the lifecycle; in the
        // interop runner's contract that exit means "unsupported", so it is judged below
        // (by the tester, else by the built-in rule) instead of being a harness failure.
        if !drive.services.iter().any(|s| s.exit.is_unsupported()) {
            return Judgement { status: TestStatus::Failed, reasons: vec![e.to_string()], evidence: vec![], verdicts };
        }
    }
    let (mut status, mut reasons, mut evidence) = match &tester {
        Some((name, v)) => (
            status_of(v.status),
            std::iter::once(format!("tester `{name}`: {}", verdict_word(v.status)))
                .chain(v.reasons.iter().cloned())
                .collect(),
            v.evidence.clone(),
        ),
        None => {
            let (s, r) = builtin_rule(drive, outcome);
            (s, r, vec![])
        }
    };
    if drive.timed_out && status != TestStatus::Failed {
        status = TestStatus::Timeout;
        reasons.insert(0, "the test did not finish before its timeout".into());
    }
    for (name, v) in &verdicts {
        if v.status != VerdictStatus::Pass && status == TestStatus::Passed {
            status = status_of(v.status);
        }
        if v.status != VerdictStatus::Pass {
            reasons.push(format!("`{name}` judges: {}: {}", verdict_word(v.status), v.reasons.join("; ")));
            evidence.extend(v.evidence.iter().cloned());
        }
    }
    if let Some(t) = tester {
        verdicts.push(t);
    }
    Judgement { status, reasons, evidence, verdicts }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::exec::ServiceExit;
    use crate::plugin::types::{EnvironmentKind, FileDigest, Transfer};
    use crate::run::drive::ServiceRun;

    fn outcome(transfers: Vec<Transfer>) -> Outcome {
        Outcome {
            test: "t".into(),
            testcase: None,
            services: vec![],
            transfers,
            packets: vec![],
            packets_truncated: false,
            capture_note: None,
            environment: EnvironmentKind::Localhost,
        }
    }

    fn run(name: &str, finite: bool, exit: ServiceExit) -> ServiceRun {
        ServiceRun { name: name.into(), finite, exit, ..Default::default() }
    }

    fn digest(s: &str) -> Option<FileDigest> {
        Some(FileDigest { size: 10, sha256: s.repeat(16) })
    }

    fn drive(services: Vec<ServiceRun>) -> DriveResult {
        DriveResult { services, ..Default::default() }
    }

    // It passes a client that exited 0 with an identical download while its server was stopped by the host.
    #[test]
    fn passes_clean_transfer() {
        let d = drive(vec![
            run("srv", false, ServiceExit { signal: Some(15), stopped_by_host: true, ..Default::default() }),
            run("cli", true, ServiceExit { exit_code: Some(0), ..Default::default() }),
        ]);
        let j = judge(
            &d,
            &outcome(vec![Transfer { path: "/f".into(), served: digest("ab"), downloaded: digest("ab") }]),
            None,
            vec![],
        );
        assert_eq!(j.status, TestStatus::Passed, "{:?}", j.reasons);
    }

    // What the environment cannot run is unsupported by it, not failed, whether it was
    // refused before starting or failed for what the environment lacks; no tester overrides it.
    #[test]
    fn what_the_environment_cannot_run_is_unsupported_by_it() {
        let lacking = ServiceExit {
            exit_code: Some(1),
            unsupported_by_environment: Some("Shadow has no IPv6".into()),
            ..Default::default()
        };
        let d = drive(vec![run("cli", true, lacking)]);
        let tester = Verdict { status: VerdictStatus::Fail, reasons: vec![], evidence: vec![] };
        let j = judge(&d, &outcome(vec![]), Some(("interop".into(), tester)), vec![]);
        assert_eq!(j.status, TestStatus::Skipped);
        assert!(j.reasons[0].contains("`cli`") && j.reasons[0].contains("no IPv6"), "{:?}", j.reasons);
        assert_eq!(j.verdicts[0].1.status, VerdictStatus::UnsupportedByEnvironment);

        let refused = crate::exec::ExecError::UnsupportedByEnvironment {
            service: "srv".into(),
            environment: "shadow".into(),
            reason: "statically linked".into(),
        };
        let d = DriveResult { error: Some(super::super::drive::DriveError::Start(refused)), ..drive(vec![]) };
        let j = judge(&d, &outcome(vec![]), None, vec![]);
        assert_eq!(j.status, TestStatus::Skipped);
        assert!(j.reasons[0].contains("cannot run under shadow: statically linked"), "{:?}", j.reasons);
    }

    // It fails a download whose bytes differ, and says which file.
    #[test]
    fn fails_corrupt_download() {
        let d = drive(vec![run("cli", true, ServiceExit { exit_code: Some(0), ..Default::default() })]);
        let j = judge(
            &d,
            &outcome(vec![Transfer { path: "/f".into(), served: digest("ab"), downloaded: digest("cd") }]),
            None,
            vec![],
        );
        assert_eq!(j.status, TestStatus::Failed);
        assert!(j.reasons[0].contains("/f"), "{:?}", j.reasons);
    }

    // A client exiting 127 means "unsupported", as in the interop runner.
    #[test]
    fn exit_127_is_unsupported() {
        let d = drive(vec![run("cli", true, ServiceExit { exit_code: Some(127), ..Default::default() })]);
        assert_eq!(judge(&d, &outcome(vec![]), None, vec![]).status, TestStatus::Skipped);
    }

    // A server that exits 127 never becomes ready; that stops the lifecycle, but it still
    // means "unsupported", not a harness failure.
    #[test]
    fn server_exit_127_before_ready_is_unsupported() {
        let d = DriveResult {
            services: vec![
                run("srv", false, ServiceExit { exit_code: Some(127), ..Default::default() }),
                run("cli", true, ServiceExit { not_started: true, ..Default::default() }),
            ],
            error: Some(crate::run::drive::DriveError::Readiness(crate::exec::ExecError::ExitedEarly {
                service: "srv".into(),
                exit: "exit code 127".into(),
                logs: "srv/logs".into(),
            })),
            ..Default::default()
        };
        let j = judge(&d, &outcome(vec![]), None, vec![]);
        assert_eq!(j.status, TestStatus::Skipped, "{:?}", j.reasons);
        assert!(j.reasons[0].contains("`srv` exited with 127"), "{:?}", j.reasons);
        let d = DriveResult {
            services: vec![run("srv", false, ServiceExit { exit_code: Some(1), ..Default::default() })],
            error: Some(crate::run::drive::DriveError::Readiness(crate::exec::ExecError::NotReady {
                service: "srv".into(),
                timeout: std::time::Duration::from_secs(1),
                condition: "port `quic` is bound".into(),
                logs: "logs".into(),
            })),
            ..Default::default()
        };
        assert_eq!(judge(&d, &outcome(vec![]), None, vec![]).status, TestStatus::Failed);
    }

    // A server that crashes on its own fails the test even if the client exited 0.
    #[test]
    fn server_crash_fails() {
        let d = drive(vec![
            run("srv", false, ServiceExit { signal: Some(11), ..Default::default() }),
            run("cli", true, ServiceExit { exit_code: Some(0), ..Default::default() }),
        ]);
        let j = judge(&d, &outcome(vec![]), None, vec![]);
        assert_eq!(j.status, TestStatus::Failed);
        assert!(j.reasons[0].contains("signal 11"));
    }

    // The tester's verdict decides, not the exit codes.
    #[test]
    fn tester_verdict_decides() {
        let d = drive(vec![run("cli", true, ServiceExit { exit_code: Some(0), ..Default::default() })]);
        let v = Verdict {
            status: VerdictStatus::Fail,
            reasons: vec!["no retry packet".into()],
            evidence: vec!["capture.pcap#frame=1".into()],
        };
        let j = judge(&d, &outcome(vec![]), Some(("interop".into(), v)), vec![]);
        assert_eq!(j.status, TestStatus::Failed);
        assert_eq!(j.reasons[1], "no retry packet");
        assert_eq!(j.evidence, ["capture.pcap#frame=1"]);
    }

    #[test]
    fn interruption_wins() {
        let d = DriveResult { interrupted: true, ..Default::default() };
        assert_eq!(judge(&d, &outcome(vec![]), None, vec![]).status, TestStatus::Interrupted);
    }
}
