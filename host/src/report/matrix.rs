//! The result matrix: client × server × test, as the interop runner publishes it.
//!
//! Owns the [`Matrix`] model and three pure renderers: [`to_json`] (a superset of the
//! quic-interop-runner's result JSON: its `results` list of `{abbr, name, result}` per pair,
//! plus our five-state status, reasons and evidence links), [`to_html`] (one static page:
//! an overview with one coloured badge per test in each client × server cell, then one table
//! per test whose cells link to the logs, pcap and qlog and show the reasons on hover) and
//! [`to_junit`] (one testsuite per test, one testcase per pair). Only [`write_all`] touches the
//! disk. Does not decide verdicts (testers do) or run anything.

use std::fmt::Write as _;
use std::path::Path;

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
use serde::{Deserialize, Serialize};

/// File names, in the run directory.
pub const MATRIX_JSON: &str = "result_matrix.json";
pub const MATRIX_HTML: &str = "result_matrix.html";
pub const MATRIX_JUNIT: &str = "result_matrix.junit.xml";

/// A verdict, as testers return it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Pass,
    Fail,
    UnsupportedByIut,
    UnsupportedByEnvironment,
    InfraError,
    /// The cell was planned but has no verdict (the run stopped first).
    NotRun,
}

impl Status {
    pub fn word(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::UnsupportedByIut => "unsupported-by-iut",
            Status::UnsupportedByEnvironment => "unsupported-by-environment",
            Status::InfraError => "infra-error",
            Status::NotRun => "not-run",
        }
    }

    /// The interop runner's three-valued result.
    pub fn qir_result(self) -> &'static str {
        match self {
            Status::Pass => "succeeded",
            Status::Fail | Status::InfraError | Status::NotRun => "failed",
            Status::UnsupportedByIut | Status::UnsupportedByEnvironment => "unsupported",
        }
    }

    fn symbol(self) -> &'static str {
        match self {
            Status::Pass => "✓",
            Status::Fail => "✕",
            Status::UnsupportedByIut => "?",
            Status::UnsupportedByEnvironment => "–",
            Status::InfraError => "!",
            Status::NotRun => "·",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::UnsupportedByIut => "unsupported by the implementation",
            Status::UnsupportedByEnvironment => "unsupported by the environment",
            Status::InfraError => "harness error",
            Status::NotRun => "not run",
        }
    }

    const ALL: [Status; 6] = [
        Status::Pass,
        Status::Fail,
        Status::UnsupportedByIut,
        Status::UnsupportedByEnvironment,
        Status::InfraError,
        Status::NotRun,
    ];
}

/// One test of the matrix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestInfo {
    pub name: String,
    /// Short name for badges (`H`, `DC`); the runner's abbreviations.
    pub abbr: String,
    pub desc: String,
}

/// Run-directory relative links of one cell.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Links {
    /// (label, path), such as (`client log`, `client_quic-go/server_quic-go/handshake/client/stdout.log`).
    pub logs: Vec<(String, String)>,
    pub pcap: Option<String>,
    pub qlog: Vec<String>,
}

/// The verdict of one test for one client × server pair.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Cell {
    pub client: String,
    pub server: String,
    pub test: String,
    pub status: Status,
    pub reasons: Vec<String>,
    /// Pointers the tester gave (`capture.pcap#frame=12`).
    pub evidence: Vec<String>,
    pub links: Links,
    pub duration_ms: Option<u64>,
    /// When the cell ran more than once (`--repeat`, `iterations`): how many runs passed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runs: Option<Runs>,
}

/// How many of a cell's runs passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Runs {
    pub passed: u32,
    pub total: u32,
}

impl Runs {
    /// Both passed and did not pass.
    pub fn flaky(self) -> bool {
        self.passed > 0 && self.passed < self.total
    }

    /// `3/5`.
    pub fn fraction(self) -> String {
        format!("{}/{}", self.passed, self.total)
    }
}

/// ` 3/5` after a badge of a cell that ran several times, nothing otherwise.
fn runs_suffix(c: Option<&Cell>) -> String {
    c.and_then(|c| c.runs).map(|r| format!(" {}", r.fraction())).unwrap_or_default()
}

fn is_flaky(c: Option<&Cell>) -> bool {
    c.and_then(|c| c.runs).is_some_and(Runs::flaky)
}

/// Everything a matrix shows.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Matrix {
    pub title: String,
    pub start_time: String,
    pub end_time: String,
    pub log_dir: String,
    pub quic_version: String,
    pub clients: Vec<String>,
    pub servers: Vec<String>,
    pub tests: Vec<TestInfo>,
    pub cells: Vec<Cell>,
}

impl Matrix {
    pub fn cell(&self, client: &str, server: &str, test: &str) -> Option<&Cell> {
        self.cells.iter().find(|c| c.client == client && c.server == server && c.test == test)
    }

    fn status(&self, client: &str, server: &str, test: &str) -> Status {
        self.cell(client, server, test).map(|c| c.status).unwrap_or(Status::NotRun)
    }

    fn counts(&self) -> Vec<(Status, usize)> {
        Status::ALL
            .iter()
            .map(|s| {
                (
                    *s,
                    self.clients
                        .iter()
                        .flat_map(|c| self.servers.iter().map(move |v| (c, v)))
                        .flat_map(|(c, v)| self.tests.iter().map(move |t| (c, v, t)))
                        .filter(|(c, v, t)| self.status(c, v, &t.name) == *s)
                        .count(),
                )
            })
            .filter(|(_, n)| *n > 0)
            .collect()
    }
}

/// The runner's result JSON, extended. Readers of the runner's format find every key they
/// know (`results[pair][i].result` is `succeeded`, `failed` or `unsupported`); `status`,
/// `reasons`, `evidence`, `links` and `duration_ms` are ours.
pub fn to_json(m: &Matrix) -> serde_json::Value {
    use serde_json::json;
    let tests: serde_json::Map<String, serde_json::Value> =
        m.tests.iter().map(|t| (t.abbr.clone(), json!({"name": t.name, "desc": t.desc}))).collect();
    let mut results = Vec::new();
    for c in &m.clients {
        for s in &m.servers {
            let pair: Vec<serde_json::Value> = m
                .tests
                .iter()
                .map(|t| {
                    let cell = m.cell(c, s, &t.name);
                    let status = cell.map(|x| x.status).unwrap_or(Status::NotRun);
                    json!({
                        "abbr": t.abbr,
                        "name": t.name,
                        "result": status.qir_result(),
                        "status": status.word(),
                        "reasons": cell.map(|x| x.reasons.clone()).unwrap_or_default(),
                        "evidence": cell.map(|x| x.evidence.clone()).unwrap_or_default(),
                        "links": cell.map(|x| x.links.clone()).unwrap_or_default(),
                        "duration_ms": cell.and_then(|x| x.duration_ms),
                        "runs": cell.and_then(|x| x.runs),
                        "flaky": is_flaky(cell),
                    })
                })
                .collect();
            results.push(serde_json::Value::Array(pair));
        }
    }
    json!({
        "start_time": m.start_time,
        "end_time": m.end_time,
        "log_dir": m.log_dir,
        "servers": m.servers,
        "clients": m.clients,
        "urls": {},
        "tests": tests,
        "quic_version": m.quic_version,
        "results": results,
        "measurements": m.clients.iter().flat_map(|_| m.servers.iter().map(|_| serde_json::Value::Array(vec![]))).collect::<Vec<_>>(),
        "title": m.title,
    })
}

fn esc(s: &str) -> String {
    crate::text::html(s)
}

/// A link target from run-directory relative text; anything that looks like a scheme or an
/// absolute path is neutralised, because reasons and paths come from plugins.
fn href(path: &str) -> String {
    let p = path.trim();
    // A scheme can only be before the fragment: `javascript:x#y` is refused too.
    if p.split('#').next().unwrap_or("").contains(':') || p.starts_with('/') {
        return "#".into();
    }
    esc(&p.split('/').map(|seg| seg.replace(' ', "%20")).collect::<Vec<_>>().join("/"))
}

fn tooltip(c: Option<&Cell>, test: &str) -> String {
    match c {
        None => format!("{test}: not run"),
        Some(c) => {
            let mut t = format!("{}: {}", test, c.status.label());
            if let Some(r) = c.runs {
                t.push_str(&format!(
                    " ({} of {} runs passed{})",
                    r.passed,
                    r.total,
                    if r.flaky() { ": flaky" } else { "" }
                ));
            }
            for r in &c.reasons {
                t.push_str("\n• ");
                t.push_str(r);
            }
            t
        }
    }
}

fn slug(s: &str) -> String {
    s.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_lowercase() } else { '-' }).collect()
}

const CSS: &str = r#"
:root { --pass:#1a7f37; --fail:#cf222e; --uiut:#9a6700; --uenv:#6e7781; --infra:#8250df; --notrun:#afb8c1; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0; color: #1f2328; background: #f6f8fa; }
header { background: #24292f; color: #fff; padding: 16px 28px; }
header h1 { margin: 0 0 4px; font-size: 20px; font-weight: 600; }
header .meta { color: #c9d1d9; font-size: 13px; }
main { padding: 20px 28px 40px; }
section { background: #fff; border: 1px solid #d0d7de; border-radius: 8px; padding: 16px 20px; margin-bottom: 20px; }
h2 { font-size: 16px; margin: 0 0 12px; }
h2 small { font-weight: 400; color: #57606a; }
table { border-collapse: collapse; }
th, td { border: 1px solid #d0d7de; padding: 6px 10px; text-align: left; vertical-align: top; }
thead th { background: #f6f8fa; font-weight: 600; }
th.corner { font-weight: 400; color: #57606a; font-size: 12px; }
tbody th { background: #f6f8fa; white-space: nowrap; }
.counts > span { display: inline-block; margin: 0 18px 6px 0; white-space: nowrap; }
.counts > span.zero { color: #8c959f; }
.b.flaky { outline: 2px dashed #9a6700; outline-offset: 1px; }
.b { display: inline-block; min-width: 30px; margin: 2px; padding: 2px 6px; border-radius: 4px; color: #fff; font-weight: 600; font-size: 12px; text-align: center; text-decoration: none; }
.b:hover { outline: 2px solid #0969da; }
.pass { background: var(--pass); } .fail { background: var(--fail); } .unsupported-by-iut { background: var(--uiut); }
.unsupported-by-environment { background: var(--uenv); } .infra-error { background: var(--infra); } .not-run { background: var(--notrun); color: #24292f; }
td.v { min-width: 150px; }
td.v .word { font-weight: 600; }
td.v.pass { background: #dafbe1; } td.v.fail { background: #ffebe9; } td.v.unsupported-by-iut { background: #fff8c5; }
td.v.unsupported-by-environment { background: #eaeef2; } td.v.infra-error { background: #fbefff; } td.v.not-run { background: #f6f8fa; }
td.v .word.pass, td.v .word.fail, td.v .word.unsupported-by-iut, td.v .word.unsupported-by-environment, td.v .word.infra-error, td.v .word.not-run { background: none; }
td.v.pass .word { color: var(--pass); } td.v.fail .word { color: var(--fail); } td.v.unsupported-by-iut .word { color: var(--uiut); }
td.v.unsupported-by-environment .word { color: var(--uenv); } td.v.infra-error .word { color: var(--infra); } td.v.not-run .word { color: #57606a; }
td.v .reason { color: #57606a; font-size: 12px; max-width: 360px; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
td.v .links a { font-size: 12px; margin-right: 8px; color: #0969da; }
nav a { margin-right: 12px; color: #0969da; }
"#;

/// The static HTML page. Pure; every plugin-supplied text is escaped.
pub fn to_html(m: &Matrix) -> String {
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{t}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<header><h1>{t}</h1><div class=\"meta\">{st} → {en} · QUIC version {qv} · {nc} client(s) × {ns} server(s) × {nt} test(s)</div></header>\n<main>\n",
        t = esc(&m.title),
        st = esc(&m.start_time),
        en = esc(&m.end_time),
        qv = esc(&m.quic_version),
        nc = m.clients.len(),
        ns = m.servers.len(),
        nt = m.tests.len()
    );
    // Counts and legend.
    // One line that is both the legend and the counts.
    h.push_str("<section><h2>Summary</h2><div class=\"counts\">");
    let counts = m.counts();
    for s in Status::ALL {
        let n = counts.iter().find(|(x, _)| *x == s).map(|(_, n)| *n).unwrap_or(0);
        let _ = write!(
            h,
            "<span{z}><span class=\"b {w}\">{sym}</span> {n} {l}</span>",
            z = if n == 0 { " class=\"zero\"" } else { "" },
            w = s.word(),
            sym = s.symbol(),
            l = s.label()
        );
    }
    h.push_str("</div><nav>Tests: ");
    for t in &m.tests {
        let _ = write!(h, "<a href=\"#t-{}\">{}</a>", slug(&t.name), esc(&t.name));
    }
    h.push_str("</nav></section>\n");

    // Overview: clients are rows, servers columns, as the runner's table.
    h.push_str("<section><h2>Overview <small>rows: clients · columns: servers · hover a badge for reasons, click it for logs</small></h2>\n<table>\n<thead><tr><th class=\"corner\">client ↓ / server →</th>");
    for s in &m.servers {
        let _ = write!(h, "<th>{}</th>", esc(s));
    }
    h.push_str("</tr></thead>\n<tbody>\n");
    for c in &m.clients {
        let _ = write!(h, "<tr><th>{}</th>", esc(c));
        for s in &m.servers {
            h.push_str("<td>");
            for t in &m.tests {
                let cell = m.cell(c, s, &t.name);
                let st = cell.map(|x| x.status).unwrap_or(Status::NotRun);
                let target = cell
                    .and_then(|x| x.links.logs.first().map(|l| href(&l.1)))
                    .unwrap_or_else(|| format!("#t-{}", slug(&t.name)));
                let _ = write!(
                    h,
                    "<a class=\"b {w}{f}\" href=\"{target}\" title=\"{tip}\">{a}{r}</a>",
                    w = st.word(),
                    f = if is_flaky(cell) { " flaky" } else { "" },
                    tip = esc(&tooltip(cell, &t.name)),
                    a = esc(&t.abbr),
                    r = esc(&runs_suffix(cell))
                );
            }
            h.push_str("</td>");
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</tbody>\n</table></section>\n");

    // One table per test with the links.
    for t in &m.tests {
        let _ = write!(h, "<section id=\"t-{}\"><h2>{} <small>({}) {}</small></h2>\n<table>\n<thead><tr><th class=\"corner\">client ↓ / server →</th>", slug(&t.name), esc(&t.name), esc(&t.abbr), esc(&t.desc));
        for s in &m.servers {
            let _ = write!(h, "<th>{}</th>", esc(s));
        }
        h.push_str("</tr></thead>\n<tbody>\n");
        for c in &m.clients {
            let _ = write!(h, "<tr><th>{}</th>", esc(c));
            for s in &m.servers {
                let cell = m.cell(c, s, &t.name);
                let st = cell.map(|x| x.status).unwrap_or(Status::NotRun);
                let _ = write!(
                    h,
                    "<td class=\"v {w}\" title=\"{tip}\"><div class=\"word\">{sym} {l}{r}{f}</div>",
                    w = st.word(),
                    tip = esc(&tooltip(cell, &t.name)),
                    sym = st.symbol(),
                    l = st.label(),
                    r = esc(&runs_suffix(cell)),
                    f = if is_flaky(cell) { " · flaky" } else { "" }
                );
                if let Some(cell) = cell {
                    if let Some(r) = cell.reasons.first() {
                        let _ = write!(h, "<div class=\"reason\">{}</div>", esc(r));
                    }
                    h.push_str("<div class=\"links\">");
                    for (label, p) in &cell.links.logs {
                        let _ = write!(h, "<a href=\"{}\">{}</a>", href(p), esc(label));
                    }
                    if let Some(p) = &cell.links.pcap {
                        let _ = write!(h, "<a href=\"{}\">pcap</a>", href(p));
                    }
                    for (i, q) in cell.links.qlog.iter().enumerate() {
                        let _ = write!(
                            h,
                            "<a href=\"{}\">qlog{}</a>",
                            href(q),
                            if cell.links.qlog.len() > 1 { format!(" {}", i + 1) } else { String::new() }
                        );
                    }
                    for e in cell.evidence.iter().filter(|e| e.contains('#')) {
                        let _ = write!(
                            h,
                            "<a href=\"{}\" title=\"{}\">{}</a>",
                            href(e.split('#').next().unwrap_or("")),
                            esc(e),
                            esc(e.rsplit('#').next().unwrap_or(""))
                        );
                    }
                    if let Some(ms) = cell.duration_ms {
                        let _ = write!(h, "<span class=\"reason\">{:.1} s</span>", ms as f64 / 1000.0);
                    }
                    h.push_str("</div>");
                }
                h.push_str("</td>");
            }
            h.push_str("</tr>\n");
        }
        h.push_str("</tbody>\n</table></section>\n");
    }
    h.push_str("</main>\n</body>\n</html>\n");
    h
}

/// JUnit XML: one testsuite per test, one testcase per pair (`client=X server=Y`).
/// Unsupported cells are skipped, harness errors are errors, failures are failures.
pub fn to_junit(m: &Matrix) -> String {
    let mut report = Report::new(m.title.clone());
    for t in &m.tests {
        let mut suite = TestSuite::new(t.name.clone());
        for c in &m.clients {
            for s in &m.servers {
                let cell = m.cell(c, s, &t.name);
                let st = cell.map(|x| x.status).unwrap_or(Status::NotRun);
                let mut status = match st {
                    Status::Pass => TestCaseStatus::success(),
                    Status::UnsupportedByIut | Status::UnsupportedByEnvironment | Status::NotRun => {
                        TestCaseStatus::skipped()
                    }
                    Status::Fail => TestCaseStatus::non_success(NonSuccessKind::Failure),
                    Status::InfraError => TestCaseStatus::non_success(NonSuccessKind::Error),
                };
                if st != Status::Pass {
                    status.set_type(st.word());
                    if let Some(cell) = cell {
                        if let Some(r) = cell.reasons.first() {
                            status.set_message(crate::text::xml(r));
                        }
                        let mut d = cell.reasons.join("\n");
                        for e in &cell.evidence {
                            d.push_str("\nevidence: ");
                            d.push_str(e);
                        }
                        status.set_description(crate::text::xml(&d));
                    }
                }
                let mut case = TestCase::new(format!("client={c} server={s}"), status);
                case.set_classname(format!("{}.{}", slug(&m.title), t.name));
                if let Some(r) = cell.and_then(|x| x.runs) {
                    case.add_property(quick_junit::Property::new("runs", r.fraction()));
                    case.add_property(quick_junit::Property::new("flaky", r.flaky().to_string()));
                }
                if let Some(ms) = cell.and_then(|x| x.duration_ms) {
                    case.set_time(std::time::Duration::from_millis(ms));
                }
                suite.add_test_case(case);
            }
        }
        report.add_test_suite(suite);
    }
    report.to_string().unwrap_or_else(|e| format!("<!-- cannot serialise the JUnit report: {e} -->\n"))
}

/// Writes the three files into `dir`.
///
/// # Errors
/// The first file that could not be written.
pub fn write_all(m: &Matrix, dir: &Path) -> std::io::Result<()> {
    std::fs::write(dir.join(MATRIX_JSON), serde_json::to_string_pretty(&to_json(m)).unwrap_or_default() + "\n")?;
    std::fs::write(dir.join(MATRIX_HTML), to_html(m))?;
    std::fs::write(dir.join(MATRIX_JUNIT), to_junit(m))
}

#[cfg(test)]
pub(crate) fn sample() -> Matrix {
    let t = |name: &str, abbr: &str, desc: &str| TestInfo { name: name.into(), abbr: abbr.into(), desc: desc.into() };
    let cell = |client: &str, server: &str, test: &str, status: Status, reasons: &[&str], evidence: &[&str]| {
        let dir = format!("{client}_{server}/{test}");
        Cell {
            client: client.into(),
            server: server.into(),
            test: test.into(),
            status,
            reasons: reasons.iter().map(|s| s.to_string()).collect(),
            evidence: evidence.iter().map(|s| s.to_string()).collect(),
            links: Links {
                logs: vec![
                    ("client log".into(), format!("{dir}/client/stdout.log")),
                    ("server log".into(), format!("{dir}/server/stdout.log")),
                ],
                pcap: Some(format!("{dir}/capture.pcap")),
                qlog: vec![format!("{dir}/client/qlog/a.qlog")],
            },
            duration_ms: Some(1250),
            runs: None,
        }
    };
    Matrix {
        title: "quic interop <demo>".into(),
        start_time: "2026-11-25T14:00:00Z".into(),
        end_time: "2026-11-25T14:03:10Z".into(),
        log_dir: "outputs/demo/run-1".into(),
        quic_version: "0x1".into(),
        clients: vec!["quic-go".into(), "aioquic".into()],
        servers: vec!["quic-go".into(), "aioquic".into()],
        tests: vec![
            t("handshake", "H", "one handshake, no Retry"),
            t("retry", "S", "Retry token round trip"),
            t("ecn", "E", "ECN marks"),
        ],
        cells: vec![
            cell(
                "quic-go",
                "quic-go",
                "handshake",
                Status::Pass,
                &["handshake: one handshake, no Retry, files intact"],
                &["quic-go_quic-go/handshake/capture.pcap"],
            ),
            cell("quic-go", "quic-go", "retry", Status::Pass, &[], &[]),
            cell(
                "quic-go",
                "quic-go",
                "ecn",
                Status::UnsupportedByIut,
                &["server `server` (quic-go) exited with 127: it does not support test case `ecn`"],
                &["server.log"],
            ),
            cell(
                "quic-go",
                "aioquic",
                "handshake",
                Status::Fail,
                &["expected 1 handshake(s), saw 2 (distinct server Initial SCIDs)", "<script>alert(1)</script>"],
                &["quic-go_aioquic/handshake/capture.pcap#frame=12"],
            ),
            cell(
                "quic-go",
                "aioquic",
                "retry",
                Status::InfraError,
                &["no packets to judge: tshark is not installed"],
                &[],
            ),
            cell("aioquic", "quic-go", "handshake", Status::Pass, &[], &[]),
            cell(
                "aioquic",
                "quic-go",
                "ecn",
                Status::UnsupportedByEnvironment,
                &["the environment cannot mark ECN"],
                &[],
            ),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_a_superset_of_the_runners_result_json() {
        let j = to_json(&sample());
        insta::assert_json_snapshot!("matrix_json", j);
        // The runner's readers index results by client-major pair, then test.
        assert_eq!(j["results"].as_array().unwrap().len(), 4);
        assert_eq!(j["results"][1][0]["result"], "failed");
        assert_eq!(j["results"][0][2]["result"], "unsupported");
        assert_eq!(j["results"][3][1]["status"], "not-run");
        assert_eq!(j["tests"]["H"]["name"], "handshake");
    }

    #[test]
    fn html_page_colours_links_and_escapes() {
        let h = to_html(&sample());
        insta::assert_snapshot!("matrix_html", h);
        assert!(!h.contains("<script>alert"), "plugin text must be escaped");
        assert!(h.contains("href=\"quic-go_aioquic/handshake/capture.pcap\""));
        assert!(h.contains("class=\"b fail\""));
    }

    #[test]
    fn junit_has_a_suite_per_test_and_a_case_per_pair() {
        let x = to_junit(&sample());
        insta::assert_snapshot!("matrix_junit", x);
        assert_eq!(x.matches("<testsuite ").count(), 3);
        assert_eq!(x.matches("<testcase ").count(), 12);
    }

    #[test]
    fn href_refuses_schemes_and_absolute_paths() {
        assert_eq!(href("javascript:alert(1)"), "#");
        assert_eq!(href("/etc/passwd"), "#");
        assert_eq!(href("javascript:alert(1)#frame=1"), "#");
        assert_eq!(href("capture.pcap#frame=12"), "capture.pcap#frame=12");
        assert_eq!(href("a b/c.log"), "a%20b/c.log");
    }
}
