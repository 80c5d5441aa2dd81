//! Plugin text cannot drive a terminal: a real plugin (`tests/hostile-plans/text-escapes`)
//! puts escape sequences that clear the screen and retitle the window, a carriage return and
//! a fake "all tests passed", and a bidi override into everything it can (describe, parameter
//! docs, command descriptions, argv, `host.log` messages, verdict reasons and evidence). Every
//! output of `plugins list/inspect`, `plan`, `audit` and `run` (stdout, stderr, the reports,
//! the result matrix, the event sentences) shows them escaped and never raw.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use panther_tests::{build_guests, panther_bin};

/// A plugin directory holding only `text-escapes.wasm`.
fn plugin_dir() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let built = build_guests("hostile-plans");
        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(built.join("text_escapes.wasm"), dir.path().join("text-escapes.wasm")).unwrap();
        dir
    })
    .path()
}

const EXPERIMENT: &str = r#"
[experiment]
name = "text-escapes"
output_dir = "outputs"
timeout = "1m"

[[tests]]
name = "pair"
network = { type = "localhost" }
timeout = "30s"
[tests.services.server]
implementation = "text-escapes"
protocol = { name = "quic", version = "rfc9000", role = "server" }
[tests.services.client]
implementation = "text-escapes"
protocol = { name = "quic", version = "rfc9000", role = "client", target = "server" }

[[matrix]]
name = "grid"
network = { type = "localhost" }
servers = ["text-escapes"]
clients = ["text-escapes"]
testcases = ["handshake"]
timeout = "30s"
"#;

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

impl std::fmt::Display for Out {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit code {}\n--- stdout\n{}\n--- stderr\n{}", self.code, self.stdout, self.stderr)
    }
}

use panther_tests::component_cache as cache;

fn panther(cwd: &Path, cache: &Path, args: &[&str]) -> Out {
    let out = Command::new(panther_bin())
        .arg("--plugin-dir")
        .arg(plugin_dir())
        .arg("--cache-dir")
        .arg(cache)
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        // Debug shows every event sentence on stderr.
        .env("RUST_LOG", "info,panther_host=debug")
        .env_remove("PANTHER_PLUGIN_PATH")
        .output()
        .expect("panther-host runs");
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into(),
        stderr: String::from_utf8_lossy(&out.stderr).into(),
    }
}

/// No character a terminal would obey: ESC, BEL, a carriage return, C1 controls, bidi overrides.
fn assert_inert(what: &str, text: &str) {
    let bad: Vec<(usize, char)> = text
        .char_indices()
        .filter(|(_, c)| matches!(c, '\x00'..='\x08' | '\x0b'..='\x1f' | '\x7f'..='\u{9f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'))
        .collect();
    assert!(bad.is_empty(), "{what} holds raw control characters {bad:?}:\n{text}");
}

/// The escaped form of the payload (`\x1b[2J\x1b]0;pwned\x07\r…`).
const SHOWN: &str = r"\x1b[2J\x1b]0;pwned\x07\r\x1b[32mall tests passed\x1b[0m\u{202e}";

// `plugins list` and `plugins inspect` show the describe() text escaped.
#[test]
fn plugins_list_and_inspect() {
    let cache = cache();
    let dir = tempfile::tempdir().unwrap();
    let out = panther(dir.path(), cache.path(), &["plugins", "inspect", "text-escapes"]);
    assert_eq!(out.code, 0, "{out}");
    assert_inert("inspect stdout", &out.stdout);
    assert_inert("inspect stderr", &out.stderr);
    for needle in [format!("describe {SHOWN}"), format!("param doc {SHOWN}"), format!("source doc {SHOWN}")] {
        assert!(out.stdout.contains(&needle), "missing {needle:?}:\n{out}");
    }
    let out = panther(dir.path(), cache.path(), &["plugins", "list"]);
    assert_eq!(out.code, 0, "{out}");
    assert_inert("list stdout", &out.stdout);
    assert_inert("list stderr", &out.stderr);
    assert!(out.stdout.contains("text-escapes"), "{out}");
}

// `plan --plugin`, `plan FILE` and `audit FILE` show command descriptions, argv and the
// plugin's log messages escaped.
#[test]
fn plan_and_audit() {
    let cache = cache();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("exp.toml"), EXPERIMENT).unwrap();
    let out = panther(dir.path(), cache.path(), &["plan", "--plugin", "text-escapes", "--role", "client"]);
    assert_eq!(out.code, 0, "{out}");
    assert_inert("plan --plugin stdout", &out.stdout);
    assert_inert("plan --plugin stderr", &out.stderr);
    assert!(out.stdout.contains(&format!("command description {SHOWN}")), "{out}");
    assert!(out.stderr.contains(&format!("log from plan {SHOWN}")), "{out}");

    let out = panther(dir.path(), cache.path(), &["plan", "exp.toml"]);
    assert_eq!(out.code, 0, "{out}");
    assert_inert("plan FILE stdout", &out.stdout);
    assert_inert("plan FILE stderr", &out.stderr);
    assert!(out.stdout.contains(&format!("command description {SHOWN}")), "{out}");

    let out = panther(dir.path(), cache.path(), &["audit", "exp.toml"]);
    assert_eq!(out.code, 0, "{out}");
    assert_inert("audit stdout", &out.stdout);
    assert_inert("audit stderr", &out.stderr);
    assert!(out.stdout.contains(r"echo argv '\x1b[2J\x1b]0;pwned\x07\r"), "{out}");
}

fn run_dir(root: &Path) -> PathBuf {
    let d = root.join("outputs/text-escapes");
    let runs: Vec<PathBuf> = std::fs::read_dir(&d).unwrap().map(|e| e.unwrap().path()).filter(|p| p.is_dir()).collect();
    assert_eq!(runs.len(), 1, "{runs:?}");
    runs[0].clone()
}

// `run`: its stdout and stderr, EXPERIMENT_REPORT.md, junit.xml, the result matrix (HTML and
// JUnit) and the sentences of events.jsonl hold the payload only escaped.
#[test]
fn run_outputs() {
    let cache = cache();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("exp.toml"), EXPERIMENT).unwrap();
    let out = panther(dir.path(), cache.path(), &["run", "exp.toml"]);
    // The plugin's verdict is `fail`.
    assert_eq!(out.code, 1, "{out}");
    assert_inert("run stdout", &out.stdout);
    assert_inert("run stderr", &out.stderr);
    assert!(out.stderr.contains(&format!("log from assess {SHOWN}")), "{out}");

    let run = run_dir(dir.path());
    let md = std::fs::read_to_string(run.join("EXPERIMENT_REPORT.md")).unwrap();
    assert_inert("EXPERIMENT_REPORT.md", &md);
    // Plain Markdown text: backslashes doubled, so a renderer shows `\x1b`.
    assert!(md.contains(r"verdict reason \\x1b\[2J\\x1b\]0;pwned\\x07\\r\\x1b\[32mall tests passed"), "{md}");
    // The echoed argv lands in the client's log tail, fenced.
    assert!(md.contains(r"argv \x1b[2J\x1b]0;pwned\x07"), "{md}");

    let junit = std::fs::read_to_string(run.join("junit.xml")).unwrap();
    assert_inert("junit.xml", &junit);
    assert!(junit.contains(r"verdict reason \x1b[2J\x1b]0;pwned\x07\r"), "{junit}");

    // result_matrix.json is data: JSON escapes control characters itself (`\u001b`).
    for f in ["result_matrix.html", "result_matrix.junit.xml"] {
        let text = std::fs::read_to_string(run.join(f)).unwrap_or_else(|e| panic!("{f}: {e}"));
        assert_inert(f, &text);
    }
    let html = std::fs::read_to_string(run.join("result_matrix.html")).unwrap();
    assert!(html.contains(r"verdict reason \x1b[2J\x1b]0;pwned\x07\r"), "{html}");

    let events = std::fs::read_to_string(run.join("events.jsonl")).unwrap();
    let mut seen = false;
    for line in events.lines() {
        let ev: panther_host::events::Event = serde_json::from_str(line).unwrap();
        let s = ev.sentence();
        assert_inert("an event sentence", &s);
        // Lists (argv) are shown as JSON (`\u001b`), strings with `\x1b`: escaped either way.
        seen |= s.contains("pwned");
    }
    assert!(seen, "no event quotes the payload:\n{events}");
}
