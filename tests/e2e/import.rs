//! `panther-host import` on every experiment file the original PANTHER ships (the 39 YAML
//! files of the `panther-net==1.2.0` wheel from PyPI): each converts, and `validate` of each
//! converted file passes or fails only where the import report said it would.
//!
//! The wheel is fetched once with pip and kept in the tools cache, as the Ivy tests do.

use std::path::{Path, PathBuf};
use std::process::Command;

use panther_tests::cli;

const WHEEL: &str = "panther-net==1.2.0";
/// Written by `import` above a table when `validate` will refuse something in it.
const REFUSES: &str = "validate refuses this";

/// The host's own cache: plugins are compiled once there, not once per test (each `import` and
/// `validate` opens every installed plugin).
fn component_cache() -> PathBuf {
    panther_host::run::default_cache_root()
}

/// The wheel's `experiment-config/` directory, downloaded and unpacked on first use.
fn experiment_config() -> PathBuf {
    let dir = panther_host::run::default_cache_root().join("tools").join("panther-net-1.2.0-experiment-config");
    let configs = dir.join("experiment-config");
    if configs.is_dir() {
        return configs;
    }
    let tmp = tempfile::tempdir_in(
        dir.parent()
            .map(|p| {
                std::fs::create_dir_all(p).unwrap();
                p
            })
            .unwrap(),
    )
    .unwrap();
    let st = Command::new("python3")
        .args(["-m", "pip", "download", "-q", "--disable-pip-version-check", "--no-deps", WHEEL, "-d"])
        .arg(tmp.path())
        .status()
        .expect("python3 runs");
    assert!(st.success(), "pip could not download {WHEEL}");
    let wheel = std::fs::read_dir(tmp.path())
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.extension().is_some_and(|e| e == "whl"))
        .expect("a wheel");
    let unpacked = tmp.path().join("x");
    let st = Command::new("python3")
        .args(["-c", "import sys, zipfile; z = zipfile.ZipFile(sys.argv[1]); [z.extract(n, sys.argv[2]) for n in z.namelist() if n.startswith('experiment-config/')]"])
        .arg(&wheel)
        .arg(&unpacked)
        .status()
        .expect("python3 runs");
    assert!(st.success(), "could not unpack {}", wheel.display());
    // Renamed into place whole, so a concurrent or interrupted first run never leaves half a tree.
    let _ = std::fs::rename(&unpacked, &dir);
    assert!(configs.is_dir(), "no experiment-config/ in {}", wheel.display());
    configs
}

fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![];
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "yaml" || x == "yml") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The comment lines right above the table header that encloses line `line` (1-based).
fn notes_above_enclosing_table(toml: &str, line: usize) -> String {
    let lines: Vec<&str> = toml.lines().collect();
    let mut i = line.min(lines.len()).saturating_sub(1);
    while i > 0 && !lines[i].starts_with('[') {
        i -= 1;
    }
    if !lines.get(i).is_some_and(|l| l.starts_with('[')) {
        return toml.to_string();
    }
    let mut j = i;
    while j > 0 && (lines[j - 1].starts_with('#') || lines[j - 1].trim().is_empty()) {
        j -= 1;
    }
    lines[j..=i].join("\n")
}

/// `(line, col)` of every `FILE:line:col` that `validate` printed for `name`.
fn locations(stderr: &str, name: &str) -> Vec<usize> {
    let mut out = vec![];
    for (at, _) in stderr.match_indices(name) {
        let rest = &stderr[at + name.len()..];
        let Some(rest) = rest.strip_prefix(':') else { continue };
        let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
        if let Ok(l) = digits.parse() {
            out.push(l);
        }
    }
    out.sort();
    out.dedup();
    out
}

// Every shipped file but invalid.yaml converts; validate passes each converted file or refuses
// it only inside tables whose import notes said `validate refuses this`.
#[test]
fn imports_every_shipped_experiment() {
    let configs = experiment_config();
    let files = yaml_files(&configs);
    assert_eq!(files.len(), 39, "the wheel ships 39 experiment files: {files:?}");
    let out = tempfile::tempdir().unwrap();
    let cache = component_cache();
    let (mut converted, mut valid) = (0, 0);
    let mut summary = vec![];
    for f in &files {
        let rel = f.strip_prefix(&configs).unwrap().display().to_string();
        if rel == "examples/invalid.yaml" {
            continue;
        }
        let name = rel.replace('/', "__").replace(".yaml", ".toml");
        let toml_path = out.path().join(&name);
        let (code, _, report) = cli(&["import", f.to_str().unwrap(), "-o", toml_path.to_str().unwrap()], &cache);
        assert_eq!(code, 0, "{rel} was not converted:\n{report}");
        converted += 1;
        let toml = std::fs::read_to_string(&toml_path).unwrap();
        let (vcode, _, verr) = cli(&["validate", toml_path.to_str().unwrap()], &cache);
        if vcode == 0 {
            valid += 1;
            assert!(!report.contains(REFUSES), "{rel}: validate passed, but the report said it would not:\n{report}");
            summary.push(format!("{rel}: valid"));
            continue;
        }
        assert_eq!(vcode, 2, "{rel}: validate:\n{verr}");
        assert!(report.contains(REFUSES), "{rel}: validate refused it, the report did not say so:\n{report}\n{verr}");
        let at = locations(&verr, &name);
        assert!(!at.is_empty(), "{rel}: validate named no position:\n{verr}");
        for line in at {
            let notes = notes_above_enclosing_table(&toml, line);
            assert!(
                notes.contains(REFUSES),
                "{rel}: validate refused line {line}, which no import note covers:\n{verr}\n--- notes above its table:\n{notes}\n--- report:\n{report}"
            );
        }
        summary.push(format!("{rel}: refused where reported"));
    }
    eprintln!("{}\n{converted} converted, {valid} valid", summary.join("\n"));
    assert_eq!(converted, 38);
}

// `invalid: yaml` is not an experiment: refused, exit 2, pointing at its only key. Broken YAML
// is refused at the scanner's line and column.
#[test]
fn refuses_invalid_files_with_position() {
    let configs = experiment_config();
    let cache = component_cache();
    let invalid = configs.join("examples/invalid.yaml");
    let (code, stdout, stderr) = cli(&["import", invalid.to_str().unwrap()], &cache);
    assert_eq!(code, 2, "{stderr}");
    assert!(stdout.is_empty(), "nothing may be converted: {stdout}");
    assert!(stderr.contains("invalid.yaml:1:1: this is not a PANTHER experiment file"), "{stderr}");
    assert!(stderr.contains("panther::import::no_tests"), "{stderr}");

    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.yaml");
    std::fs::write(&broken, "tests:\n  - name: a\n    services: {x: 1\n").unwrap();
    let (code, _, stderr) = cli(&["import", broken.to_str().unwrap()], &cache);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("broken.yaml:4:"), "{stderr}");
    assert!(stderr.contains("this is not valid YAML"), "{stderr}");
}

// quic_demo.yaml: picoquic server ↔ picoquic client over docker-compose; then Ivy's
// quic_client_test_max as server against a picoquic client under strace.
#[test]
fn quic_demo_converts_as_expected() {
    let configs = experiment_config();
    let cache = component_cache();
    let out = tempfile::tempdir().unwrap();
    let toml_path = out.path().join("quic_demo.toml");
    let yaml = configs.join("protocols/quic/quic_demo.yaml");
    let (code, _, report) = cli(&["import", yaml.to_str().unwrap(), "-o", toml_path.to_str().unwrap()], &cache);
    assert_eq!(code, 0, "{report}");
    let text = std::fs::read_to_string(&toml_path).unwrap();
    let exp = panther_host::config::load(&toml_path).unwrap_or_else(|e| panic!("{e:#}\n{text}"));
    assert_eq!(exp.name, "quic_demo");
    assert_eq!(exp.settings.log_level, "info");
    assert_eq!(exp.tests.len(), 2);

    let t = &exp.tests[0];
    assert_eq!(t.name, "QUIC Connection (PicoQUIC)");
    assert_eq!(t.network.kind, "docker-compose");
    assert_eq!(t.wait, Some(std::time::Duration::from_secs(15)));
    assert!(t.execution.is_empty());
    let server = t.service("server").unwrap();
    let client = t.service("client").unwrap();
    assert_eq!((server.implementation.as_str(), client.implementation.as_str()), ("picoquic", "picoquic"));
    assert_eq!((server.version.as_str(), server.role), ("rfc9000", panther_host::plugin::types::Role::Server));
    assert_eq!(client.target.as_deref(), Some("server"));

    let t = &exp.tests[1];
    assert_eq!(t.execution.iter().map(|w| w.kind.as_str()).collect::<Vec<_>>(), vec!["strace"]);
    assert_eq!(t.wait, Some(std::time::Duration::from_secs(100)));
    let ivy = t.service("server").unwrap();
    assert_eq!(ivy.implementation, "ivy");
    assert_eq!(ivy.kind, panther_host::config::ServiceKind::Tester);
    assert_eq!(ivy.params["test"].as_str(), Some("quic_client_test_max"));
    assert_eq!(ivy.timeout, Some(std::time::Duration::from_secs(100)));
    let client = t.service("client").unwrap();
    assert_eq!((client.implementation.as_str(), client.target.as_deref()), ("picoquic", Some("server")));

    // What has no equivalent is reported with its line, and kept in the file.
    for (line, path) in [(7, "docker"), (55, "tests[1].services.server.ports")] {
        let needle = format!("quic_demo.yaml:{line}: `{path}`");
        assert!(report.contains(&needle), "{needle} not in the report:\n{report}");
        assert!(text.contains(&format!("# not converted: line {line}: `{path}`")), "{path} not kept:\n{text}");
    }
    assert!(text.contains("implementation = \"ivy\"  # implementation.name: panther_ivy, line 48"), "{text}");

    // Kept on Docker, the Ivy tester's own address is known when its plan is rendered (Ivy
    // takes it on the command line, as a decimal integer): a fixed address the host chose in
    // the test network's subnet, `.2` because the tester starts first.
    let (code, plan, err) = cli(&["plan", toml_path.to_str().unwrap()], &cache);
    assert_eq!(code, 0, "{err}");
    let decimal: u32 = plan
        .split("server_addr=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no server_addr in the Ivy plan:\n{plan}"));
    let ip = std::net::Ipv4Addr::from(decimal).octets();
    assert_eq!((ip[0], ip[1], ip[3]), (10, 213, 2), "{plan}");
}
