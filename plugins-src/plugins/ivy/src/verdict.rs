//! Verdict rules over an Ivy tester's output (PANTHER's `_shared.determine_verdict`, with the
//! fixes the feasibility study found necessary).
//!
//! In order: a violated requirement (`assumption_failed(...)` or `assertion_failed(...)`) is
//! non-compliant → `fail`; `test_completed` → `pass`; a crash of the tester itself
//! (segmentation fault, abort, `std::bad_alloc`, signals 6/11) → `infra-error`; signs that the
//! IUT went away (connection refused/reset, broken pipe) → `fail`; a wall-clock timeout
//! without a violation is inconclusive → `infra-error` (PANTHER counted protocol activity
//! as a pass; a timed-out run proves nothing); protocol activity with exit 0 → `pass`;
//! nothing at all → `infra-error`.

/// What the rules return.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    Pass,
    Fail,
    InfraError,
}

/// The tester's ending, as the host recorded it.
#[derive(Debug, Clone, Default)]
pub struct Run<'a> {
    pub stdout: &'a str,
    pub stderr: &'a str,
    pub exit_code: Option<i32>,
    pub signal: Option<i32>,
    pub timed_out: bool,
}

/// The verdict and its reasons, most important first.
pub fn determine(r: &Run) -> (Kind, Vec<String>) {
    // The PANTHER fork prints `DEBUG:` noise on stdout; it is never a verdict.
    let lines: Vec<&str> = r
        .stdout
        .lines()
        .map(str::trim)
        .filter(|l| !l.starts_with("DEBUG"))
        .collect();
    let violation = lines
        .iter()
        .find(|l| l.contains("assumption_failed(") || l.contains("assertion_failed("));
    if let Some(v) = violation {
        // A second line names a source file the tester could not open; skip it when possible.
        let at = lines
            .iter()
            .filter(|l| l.contains("_failed("))
            .find(|l| !l.contains("Could not open file"))
            .unwrap_or(v);
        let events = lines
            .iter()
            .filter(|l| l.starts_with("< ") || l.starts_with("> "))
            .count();
        // The QUIC specs log many `< show_…`/`< is_…` monitor lines; the last event that is
        // traffic or a protocol action says more, when the tail still has one.
        let is_event = |l: &&&str| l.starts_with("< ") || l.starts_with("> ");
        let is_monitor = |l: &&&str| l.starts_with("< show_") || l.starts_with("< is_");
        let last = lines
            .iter()
            .rev()
            .filter(is_event)
            .find(|l| !is_monitor(l))
            .or_else(|| lines.iter().rev().find(is_event));
        let mut reasons = vec![format!(
            "non-compliant: the IUT violated the specification at {}",
            location(at)
        )];
        // The tester prints the violated line of the spec as a second `..._failed(...)` line
        // (or why it could not read it).
        if let Some(src) = lines
            .iter()
            .filter(|l| l.contains("_failed("))
            .map(|l| location(l))
            .find(|t| *t != location(at) && !t.starts_with("Error:"))
        {
            reasons.push(format!("violated requirement: {src}"));
        }
        if let Some(l) = last {
            reasons.push(format!(
                "last event before the violation ({events} events): {}",
                cut(l, 300)
            ));
        }
        return (Kind::Fail, reasons);
    }
    if lines.iter().any(|l| l.contains("test_completed")) {
        let events = lines
            .iter()
            .filter(|l| l.starts_with("< ") || l.starts_with("> "))
            .count();
        return (
            Kind::Pass,
            vec![format!("test_completed: no violation in {events} events")],
        );
    }
    let all = format!("{}\n{}", r.stdout, r.stderr).to_lowercase();
    let crash = [
        "segmentation fault",
        "sigsegv",
        "sigabrt",
        "core dumped",
        "aborted",
        "std::bad_alloc",
    ]
    .iter()
    .find(|p| all.contains(*p))
    .map(|p| p.to_string())
    .or_else(|| match r.signal {
        Some(6) => Some("signal 6 (SIGABRT)".into()),
        Some(11) => Some("signal 11 (SIGSEGV)".into()),
        _ => None,
    })
    .or_else(|| match r.exit_code {
        Some(139) => Some("exit 139 (SIGSEGV)".into()),
        Some(134) => Some("exit 134 (SIGABRT)".into()),
        _ => None,
    });
    if let Some(c) = crash {
        return (
            Kind::InfraError,
            vec![format!(
                "the Ivy tester crashed ({c}); this says nothing about the IUT"
            )],
        );
    }
    if let Some(p) = ["connection refused", "connection reset", "broken pipe"]
        .iter()
        .find(|p| all.contains(*p))
    {
        return (
            Kind::Fail,
            vec![format!("the IUT went away during the test ({p})")],
        );
    }
    let activity = lines
        .iter()
        .filter(|l| l.starts_with("< ") || l.starts_with("> "))
        .count();
    if r.timed_out || r.exit_code == Some(124) {
        return (
            Kind::InfraError,
            vec![format!("inconclusive: the tester hit its time limit after {activity} events without a violation or test_completed")],
        );
    }
    if activity > 0 && r.exit_code == Some(0) {
        return (
            Kind::Pass,
            vec![format!(
                "no violation in {activity} events (exit 0 without test_completed)"
            )],
        );
    }
    if r.stdout.trim().is_empty() && r.stderr.trim().is_empty() {
        let why = match (r.exit_code, r.signal) {
            (None, None) => {
                "the tester never ran (did its compilation fail? see compile/ivy_compile.log)"
                    .to_string()
            }
            (c, s) => format!("the tester printed nothing (exit {c:?}, signal {s:?})"),
        };
        return (Kind::InfraError, vec![why]);
    }
    (
        Kind::InfraError,
        vec![format!(
            "no verdict in the tester's output (exit {:?}): neither a violation nor test_completed",
            r.exit_code
        )],
    )
}

/// The name of the plan file that records a run's test and seed; `assess` reads the seed
/// back from the artifact's name (it sees only the outcome, not the parameters).
pub fn run_file_name(seed: i64) -> String {
    format!("ivy-run-seed{seed}.txt")
}

/// The seed recorded in an artifact path made from [`run_file_name`].
pub fn seed_of_artifact(path: &str) -> Option<i64> {
    let name = path.rsplit('/').next()?;
    name.strip_prefix("ivy-run-seed")?
        .strip_suffix(".txt")?
        .parse()
        .ok()
}

/// Makes the seed part of the verdict: the first reason says which seed it was, because the
/// tester's choices (and so its verdict) depend on it.
pub fn with_seed(mut reasons: Vec<String>, seed: Option<i64>) -> Vec<String> {
    if let (Some(seed), Some(first)) = (seed, reasons.first_mut()) {
        first.push_str(&format!(" (seed {seed})"));
    }
    reasons
}

/// The tester's own log lines that carry the verdict, for the evidence: each violation line
/// and the last few events before it, or the `test_completed` line and the last events.
pub fn log_lines(stdout: &str, max_events: usize) -> Vec<String> {
    let lines: Vec<&str> = stdout
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("DEBUG"))
        .collect();
    let end = lines
        .iter()
        .position(|l| l.contains("assumption_failed(") || l.contains("assertion_failed("))
        .or_else(|| lines.iter().position(|l| l.contains("test_completed")));
    let Some(end) = end else {
        return vec![];
    };
    let mut out: Vec<String> = lines[..end]
        .iter()
        .filter(|l| l.starts_with("< ") || l.starts_with("> "))
        .rev()
        .take(max_events)
        .map(|l| cut(l, 300))
        .collect();
    out.reverse();
    out.extend(
        lines[end..]
            .iter()
            .filter(|l| l.contains("_failed(") || l.contains("test_completed"))
            .take(2)
            .map(|l| cut(l, 300)),
    );
    out
}

fn cut(line: &str, max: usize) -> String {
    if line.len() <= max {
        return line.to_string();
    }
    let mut i = max;
    while !line.is_char_boundary(i) {
        i -= 1;
    }
    format!("{}…", &line[..i])
}

fn location(line: &str) -> String {
    match (line.find('('), line.rfind(')')) {
        (Some(a), Some(b)) if b > a => line[a + 1..b].trim_matches('"').to_string(),
        _ => line.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Output shapes recorded in the feasibility runs (MiniP and the UDP toy), trimmed.
    const PASS: &str = "> ping_client_send_event(0,{ping_frame:...})\n< ping_server_recv(...)\nDEBUG: call_generating = 1\ntest_completed\n";
    const FAIL: &str = "> ping_client_send_event(0,{...})\n< pong_recv(1,{...})\nassumption_failed(\"ping_frame.ivy: line 97\")\nassumption_failed(\"Error: Could not open file /ivy/include/1.7/ping_frame.ivy\")\n";
    const ASSERT: &str = "> net.send(1,{kind:req,seq:238})\n< net.recv(0,{kind:resp,seq:239})\nassertion_failed(\"rr_udp.ivy: line 48\")\n";

    // Real QUIC runs (the last 8 KiB of stdout, what the host hands to `assess`):
    // quic_server_test_stream, seed 0, against picoquicdemo (d199d45b) with `-w`, and
    // against the same server without `-w`, which sends an ACK-only packet without ack credit.
    const QUIC_PASS: &str = include_str!("fixtures/quic_server_test_stream_picoquic_pass.stdout");
    const QUIC_FAIL: &str =
        include_str!("fixtures/quic_server_test_stream_picoquic_no_www_fail.stdout");

    #[test]
    fn a_real_quic_pass_is_test_completed() {
        let (k, r) = determine(&Run {
            stdout: QUIC_PASS,
            exit_code: Some(0),
            ..Default::default()
        });
        assert_eq!(k, Kind::Pass);
        assert!(
            r[0].starts_with("test_completed: no violation in "),
            "{r:?}"
        );
        let r = with_seed(r, Some(0));
        assert!(r[0].ends_with(" events (seed 0)"), "{r:?}");
        let ev = log_lines(QUIC_PASS, 3);
        assert_eq!(ev.len(), 4, "{ev:?}");
        assert!(ev[2].starts_with("> frame.stream.handle("), "{ev:?}");
        assert_eq!(ev[3], "test_completed");
    }

    #[test]
    fn a_real_quic_violation_names_file_line_requirement_and_seed() {
        let (k, r) = determine(&Run {
            stdout: QUIC_FAIL,
            exit_code: Some(1),
            ..Default::default()
        });
        assert_eq!(k, Kind::Fail);
        let r = with_seed(r, Some(0));
        assert_eq!(
            r[0],
            "non-compliant: the IUT violated the specification at quic_packet.ivy: line 597 (seed 0)"
        );
        assert_eq!(
            r[1],
            "violated requirement: require ~_generating & ~queued_non_ack(scid) -> ack_credit(scid) > 0;  # [5]"
        );
        // The last event that is not a monitor line: the IUT's ACK frame.
        assert_eq!(
            r[2],
            "last event before the violation (126 events): \
             < infer_frame(5361205718706577820,1,{frame.ack:{largest_acked:0x5,ack_delay:0xa,ack_ranges:[{gap:0,ranges:0x4}]}})"
        );
        let ev = log_lines(QUIC_FAIL, 5);
        assert!(
            ev[1].starts_with("< show_queued_frames(") && ev[1].contains("frame.ack"),
            "{ev:?}"
        );
        assert_eq!(ev[5], "assumption_failed(\"quic_packet.ivy: line 597\")");
        assert!(
            ev[6].starts_with("assumption_failed(\"require ~_generating"),
            "{ev:?}"
        );
    }

    #[test]
    fn the_seed_travels_in_the_run_files_name() {
        assert_eq!(run_file_name(7), "ivy-run-seed7.txt");
        assert_eq!(seed_of_artifact("ivy/work/ivy-run-seed7.txt"), Some(7));
        assert_eq!(seed_of_artifact("ivy-run-seed-3.txt"), Some(-3));
        assert_eq!(seed_of_artifact("ivy/work/compilation_status.txt"), None);
        assert_eq!(with_seed(vec![], Some(1)), Vec::<String>::new());
        assert_eq!(with_seed(vec!["x".into()], None), vec!["x".to_string()]);
    }

    #[test]
    fn a_missing_source_line_is_not_a_requirement() {
        let (_, r) = determine(&Run {
            stdout: FAIL,
            exit_code: Some(1),
            ..Default::default()
        });
        assert!(
            !r.iter().any(|l| l.starts_with("violated requirement")),
            "{r:?}"
        );
    }

    #[test]
    fn test_completed_passes() {
        let (k, r) = determine(&Run {
            stdout: PASS,
            exit_code: Some(0),
            ..Default::default()
        });
        assert_eq!(k, Kind::Pass);
        assert_eq!(r[0], "test_completed: no violation in 2 events");
    }

    #[test]
    fn a_violation_fails_and_names_the_spec_line() {
        let (k, r) = determine(&Run {
            stdout: FAIL,
            exit_code: Some(1),
            ..Default::default()
        });
        assert_eq!(k, Kind::Fail);
        assert!(r[0].ends_with("ping_frame.ivy: line 97"), "{r:?}");
        assert!(r[1].contains("< pong_recv"), "{r:?}");
        let (k, r) = determine(&Run {
            stdout: ASSERT,
            exit_code: Some(1),
            ..Default::default()
        });
        assert_eq!(k, Kind::Fail);
        assert!(r[0].ends_with("rr_udp.ivy: line 48"));
    }

    #[test]
    fn a_violation_wins_over_test_completed() {
        let out = format!("{FAIL}test_completed\n");
        assert_eq!(
            determine(&Run {
                stdout: &out,
                ..Default::default()
            })
            .0,
            Kind::Fail
        );
    }

    #[test]
    fn crashes_of_the_tester_are_infra_errors() {
        let (k, r) = determine(&Run {
            stdout: "> a\n",
            stderr: "Segmentation fault (core dumped)",
            exit_code: Some(139),
            ..Default::default()
        });
        assert_eq!(k, Kind::InfraError);
        assert!(r[0].contains("segmentation fault"));
        assert_eq!(
            determine(&Run {
                signal: Some(6),
                ..Default::default()
            })
            .0,
            Kind::InfraError
        );
    }

    #[test]
    fn a_vanished_iut_fails() {
        let (k, r) = determine(&Run {
            stdout: "> a\n",
            stderr: "recv: Connection refused",
            exit_code: Some(1),
            ..Default::default()
        });
        assert_eq!(k, Kind::Fail);
        assert!(r[0].contains("connection refused"));
    }

    #[test]
    fn a_timeout_without_verdict_is_inconclusive_not_a_pass() {
        let (k, r) = determine(&Run {
            stdout: "> ping\n> ping\n",
            timed_out: true,
            ..Default::default()
        });
        assert_eq!(k, Kind::InfraError);
        assert!(r[0].contains("after 2 events"));
    }

    #[test]
    fn silence_is_an_infra_error() {
        let (k, r) = determine(&Run::default());
        assert_eq!(k, Kind::InfraError);
        assert!(r[0].contains("never ran"));
    }
}
