//! The result matrices of a run (client × server × test case, quic-interop-runner style),
//! built from the run's summary and the matrix cells its tests stand for, and written with
//! [`super::matrix`] after every test. Also owns the runner's test-case table (badges and
//! headings), the one place the host names them.

use std::path::{Path, PathBuf};

use super::matrix;
use super::model::TestStatus;
use super::model::{RunSummary, TestResult, VerdictWord};
use crate::text::slug;

/// One matrix cell of a run: which cell, the index of its test in the summary, and a status
/// that overrides the test's own (for plans refused before anything ran).
#[derive(Debug, Clone)]
pub struct CellResult {
    pub cell: crate::config::MatrixCell,
    pub test: usize,
    pub status: Option<matrix::Status>,
}

/// The result-matrix files [`write_matrices`] writes for these cells.
pub fn matrix_files(root: &Path, cells: &[CellResult]) -> Vec<PathBuf> {
    let names: std::collections::BTreeSet<&str> = cells.iter().map(|c| c.cell.matrix.as_str()).collect();
    names
        .iter()
        .map(|n| if names.len() == 1 { root.to_path_buf() } else { root.join(format!("matrix-{}", slug(n))) })
        .flat_map(|d| [matrix::MATRIX_HTML, matrix::MATRIX_JSON, matrix::MATRIX_JUNIT].map(|f| d.join(f)))
        .filter(|p| p.exists())
        .collect()
}

/// The quic-interop-runner's test cases: name, its badge abbreviation, and what it checks
/// (for the matrix's headings).
const RUNNER_TESTCASES: &[(&str, &str, &str)] = &[
    ("handshake", "H", "a handshake completes, without Retry"),
    ("transfer", "DC", "files are transferred over one connection"),
    ("chacha20", "C20", "the handshake uses only ChaCha20-Poly1305"),
    ("multiplexing", "M", "many files on one connection; the server raises its stream limit"),
    ("retry", "S", "the server sends a Retry and the client follows it"),
    ("resumption", "R", "a second connection resumes the TLS session"),
    ("zerortt", "Z", "a resumed connection sends its requests in 0-RTT"),
    ("http3", "3", "files are transferred over HTTP/3"),
    ("keyupdate", "U", "the client updates its keys and the server follows"),
    ("v2", "V2", "compatible version negotiation from v1 to QUIC v2"),
    ("ecn", "E", "both sides mark packets with ECN and report it"),
    ("amplificationlimit", "A", "the server respects the 3x amplification limit"),
    ("longrtt", "LR", "handshake over a long-delay link"),
    ("handshakeloss", "L1", "handshakes under packet loss"),
    ("blackhole", "B", "transfer across a link outage"),
    ("transferloss", "L2", "transfer under packet loss"),
    ("handshakecorruption", "C1", "handshakes under packet corruption"),
    ("transfercorruption", "C2", "transfer under packet corruption"),
    ("ipv6", "6", "transfer over IPv6"),
    ("rebind-port", "BP", "transfer across a NAT port rebinding"),
    ("rebind-addr", "BA", "transfer across a NAT address rebinding"),
    ("connectionmigration", "CM", "the client migrates to the server's preferred address"),
    ("goodput", "G", "goodput on a shaped link"),
    ("crosstraffic", "C", "goodput with competing TCP traffic"),
];

/// What a test case checks, for the matrix's headings; its name when it is not the runner's.
fn description(test: &str) -> String {
    RUNNER_TESTCASES.iter().find(|(n, _, _)| *n == test).map_or_else(|| test.to_string(), |(_, _, d)| (*d).to_string())
}

/// A cell's reasons without the judge's summary line ("tester `interop`: pass"), which the
/// cell's status already says, so that the first reason shown is the tester's own.
fn cell_reasons(t: &TestResult) -> Vec<String> {
    match t.reasons.split_first() {
        Some((first, rest)) if !rest.is_empty() && first.starts_with("tester `") => rest.to_vec(),
        _ => t.reasons.clone(),
    }
}

/// A badge abbreviation for `test` not yet used in `taken`: the runner's, else the first
/// letters, made unique with a number (badges must tell tests apart).
fn abbreviation(test: &str, taken: &[matrix::TestInfo]) -> String {
    let free = |a: &str| !taken.iter().any(|t| t.abbr == a);
    if let Some((_, a, _)) = RUNNER_TESTCASES.iter().find(|(n, _, _)| *n == test) {
        if free(a) {
            return (*a).to_string();
        }
    }
    let base: String = test.chars().filter(|c| c.is_alphanumeric()).take(2).collect::<String>().to_uppercase();
    let base = if base.is_empty() { "T".to_string() } else { base };
    (1..)
        .map(|n| if n == 1 { base.clone() } else { format!("{base}{n}") })
        .find(|a| free(a))
        .expect("an unused abbreviation exists")
}

/// The matrix status of a test: its tester's verdict when there is one, else its status.
fn cell_status(t: &TestResult) -> matrix::Status {
    use matrix::Status as S;
    if let Some(v) = t.verdicts.last() {
        return match v.status {
            VerdictWord::Pass => S::Pass,
            VerdictWord::Fail => S::Fail,
            VerdictWord::UnsupportedByIut => S::UnsupportedByIut,
            VerdictWord::UnsupportedByEnvironment => S::UnsupportedByEnvironment,
            VerdictWord::InfraError => S::InfraError,
        };
    }
    match t.status {
        TestStatus::Passed => S::Pass,
        TestStatus::Failed | TestStatus::Timeout => S::Fail,
        TestStatus::Skipped => S::UnsupportedByIut,
        TestStatus::Interrupted | TestStatus::Unknown => S::NotRun,
    }
}

/// Run-directory relative links to a test's logs, capture and qlogs.
fn cell_links(root: &Path, t: &TestResult) -> matrix::Links {
    let rel = |p: &Path| p.strip_prefix(root).unwrap_or(p).display().to_string();
    let dir = Path::new(&t.logs_path);
    let pcap = dir.join("capture.pcap");
    matrix::Links {
        // A service that ran nothing (a judging tester) has no logs to link to.
        logs: t
            .services
            .iter()
            .map(|s| (format!("{} logs", s.role), dir.join(slug(&s.name)).join("logs")))
            .filter(|(_, p)| p.read_dir().is_ok_and(|mut d| d.next().is_some()))
            .map(|(l, p)| (l, rel(&p)))
            .collect(),
        pcap: pcap.exists().then(|| rel(&pcap)),
        qlog: t
            .services
            .iter()
            .map(|s| dir.join(slug(&s.name)).join("qlog"))
            .filter(|q| q.read_dir().is_ok_and(|mut d| d.next().is_some()))
            .map(|q| rel(&q))
            .collect(),
    }
}

/// Writes one result matrix per `[[matrix]]` of the experiment (in the run directory, or in
/// `matrix-<name>/` when there are several), from the tests run so far.
/// One verdict from a cell's runs: their common status, or with mixed results a pass when at
/// least `pass` of them passed (all of them by default) and otherwise a failure (or the
/// harness's error when no run failed). Several runs are counted.
fn verdict_of_runs(
    runs: &[(&TestResult, matrix::Status)],
    pass: Option<u32>,
) -> (matrix::Status, Option<matrix::Runs>) {
    use matrix::Status as S;
    let total = runs.len() as u32;
    let passed = runs.iter().filter(|(_, s)| *s == S::Pass).count() as u32;
    let counted = (total > 1).then_some(matrix::Runs { passed, total });
    let first = runs[0].1;
    if runs.iter().all(|(_, s)| *s == first) {
        return (first, counted);
    }
    let status = if passed >= pass.unwrap_or(total).min(total) && passed > 0 {
        S::Pass
    } else if runs.iter().any(|(_, s)| *s == S::Fail) {
        S::Fail
    } else {
        runs.iter().map(|(_, s)| *s).find(|s| *s != S::Pass).unwrap_or(S::Fail)
    };
    (status, counted)
}

pub fn write_matrices(root: &Path, experiment: &str, cells: &[CellResult], summary: &RunSummary) {
    let names: std::collections::BTreeSet<&str> = cells.iter().map(|c| c.cell.matrix.as_str()).collect();
    for name in &names {
        let mine: Vec<_> = cells.iter().filter(|c| c.cell.matrix == *name).collect();
        let mut clients: Vec<String> = vec![];
        let mut servers: Vec<String> = vec![];
        let mut tests: Vec<matrix::TestInfo> = vec![];
        let mut out = vec![];
        // A cell run several times (`--repeat`, `iterations`) is one cell: its runs are
        // counted and it passes when at least `--pass` of them did (all, by default).
        let mut groups: Vec<(&crate::config::MatrixCell, Vec<(&TestResult, matrix::Status)>)> = vec![];
        for CellResult { cell: c, test: i, status } in mine {
            let t = &summary.tests[*i];
            let st = status.unwrap_or_else(|| cell_status(t));
            match groups
                .iter_mut()
                .find(|(g, _)| g.client == c.client && g.server == c.server && g.testcase == c.testcase)
            {
                Some((_, runs)) => runs.push((t, st)),
                None => groups.push((c, vec![(t, st)])),
            }
        }
        for (c, runs) in groups {
            let test = c.testcase.clone().unwrap_or_else(|| "transfer".into());
            if !clients.contains(&c.client) {
                clients.push(c.client.clone());
            }
            if !servers.contains(&c.server) {
                servers.push(c.server.clone());
            }
            if !tests.iter().any(|x| x.name == test) {
                tests.push(matrix::TestInfo {
                    abbr: abbreviation(&test, &tests),
                    desc: description(&test),
                    name: test.clone(),
                });
            }
            let (status, counted) = verdict_of_runs(&runs, summary.pass);
            // The run that stands for the cell: the first that agrees with its verdict.
            let t =
                runs.iter().find(|(_, s)| *s == status).or(runs.first()).map(|(t, _)| *t).expect("a group has runs");
            out.push(matrix::Cell {
                client: c.client.clone(),
                server: c.server.clone(),
                test,
                status,
                reasons: cell_reasons(t),
                evidence: t.evidence.clone(),
                links: cell_links(root, t),
                duration_ms: Some((t.duration_seconds * 1000.0) as u64),
                runs: counted,
            });
        }
        let m = matrix::Matrix {
            title: format!("{experiment}: {name}"),
            start_time: summary.start_time.clone(),
            end_time: crate::events::now_rfc3339(),
            log_dir: root.display().to_string(),
            quic_version: "1".into(),
            clients,
            servers,
            tests,
            cells: out,
        };
        let dir = if names.len() == 1 { root.to_path_buf() } else { root.join(format!("matrix-{}", slug(name))) };
        if let Err(e) = std::fs::create_dir_all(&dir).and_then(|()| matrix::write_all(&m, &dir)) {
            tracing::error!("cannot write the result matrix to {}: {e}", dir.display());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // A cell's runs: one status when they agree; mixed, a pass needs `--pass` passing runs
    // (all by default), and the runs are counted either way.
    #[test]
    fn repeated_cells_are_counted_and_decided() {
        use matrix::Status::{Fail, InfraError, Pass};
        let t = TestResult::skipped("x", "");
        let runs = |s: &[matrix::Status]| s.iter().map(|s| (&t, *s)).collect::<Vec<_>>();
        let r = |passed, total| Some(matrix::Runs { passed, total });
        assert_eq!(verdict_of_runs(&runs(&[Pass]), None), (Pass, None));
        assert_eq!(verdict_of_runs(&runs(&[Pass, Pass, Pass]), None), (Pass, r(3, 3)));
        assert_eq!(verdict_of_runs(&runs(&[Pass, Fail, Pass]), None), (Fail, r(2, 3)));
        assert_eq!(verdict_of_runs(&runs(&[Pass, Fail, Pass]), Some(2)), (Pass, r(2, 3)));
        assert_eq!(verdict_of_runs(&runs(&[Pass, InfraError]), None), (InfraError, r(1, 2)));
        assert!(r(2, 3).unwrap().flaky() && !r(3, 3).unwrap().flaky() && !r(0, 3).unwrap().flaky());
        let mut m = matrix::sample();
        m.cells[0].runs = r(3, 5);
        let html = matrix::to_html(&m);
        assert!(html.contains(" flaky\"") && html.contains(" 3/5</a>"), "{html}");
        let json = matrix::to_json(&m).to_string();
        assert!(json.contains("\"flaky\":true") && json.contains("\"runs\":{\"passed\":3,\"total\":5}"), "{json}");
        assert!(matrix::to_junit(&m).contains("name=\"runs\" value=\"3/5\""));
    }

    fn info(abbr: &str) -> matrix::TestInfo {
        matrix::TestInfo { name: String::new(), abbr: abbr.into(), desc: String::new() }
    }

    // Badges use the runner's abbreviations and never repeat, even for unknown test cases
    // that share their first letters (retry and resumption both start with "re").
    #[test]
    fn abbreviations_are_the_runners_and_unique() {
        assert_eq!(abbreviation("retry", &[]), "S");
        assert_eq!(abbreviation("resumption", &[info("S")]), "R");
        assert_eq!(abbreviation("http3", &[]), "3");
        assert_eq!(abbreviation("foo-bar", &[]), "FO");
        assert_eq!(abbreviation("foam", &[info("FO")]), "FO2");
        assert_eq!(abbreviation("handshake", &[info("H")]), "HA");
    }
}
