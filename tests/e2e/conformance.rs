//! `panther-host plugins test`: every bundled plugin passes the conformance suite, and plugins
//! that break a rule fail it with a message naming the rule, the case and what was wrong.

use panther_tests::{cli, component_cache, workspace};

use crate::hardened::corpus_dir;

// Every component in plugins-dist/ conforms (aioquic too when make built it); the JUnit file
// has one suite per plugin and no failure.
#[test]
fn every_bundled_plugin_conforms() {
    let cache = component_cache();
    let junit = cache.path().join("conformance.xml");
    let (code, out, err) = cli(&["plugins", "test", "--all", "--junit", junit.to_str().unwrap()], cache.path());
    assert_eq!(code, 0, "{out}\n{err}");
    let bundled: Vec<String> = std::fs::read_dir(workspace().join("plugins-dist"))
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok()?.strip_suffix(".wasm").map(String::from))
        .collect();
    assert!(bundled.len() >= 16, "{bundled:?}");
    let xml = std::fs::read_to_string(&junit).unwrap();
    for name in &bundled {
        assert!(out.contains(&format!("conformance of `{name}`")), "{name} not tested:\n{out}");
        assert!(xml.contains(&format!("<testsuite name=\"{name}\"")), "{name} not in the JUnit file");
    }
    assert_eq!(out.matches("does not conform").count(), 0, "{out}");
    assert!(!xml.contains("<failure"), "{xml}");
    // Every rule is numbered and the resource line says what a call used.
    assert!(out.contains(" 1. ok   describe() is pure and stable"), "{out}");
    assert!(out.contains("most used in one call:"), "{out}");
}

// A plan the default policy refuses fails rule 2 naming the case, the field and the rule; a
// plugin that plans a role it does not declare fails rule 4; the exit code is 1.
#[test]
fn breaking_a_rule_fails_precisely() {
    let cache = component_cache();
    let sudo = corpus_dir().join("hp-sudo.wasm");
    let (code, out, err) = cli(&["plugins", "test", sudo.to_str().unwrap()], cache.path());
    assert_eq!(code, 1, "{out}\n{err}");
    let refused = out
        .lines()
        .find(|l| l.contains("server · rfc9000 · localhost:") && l.contains("phases.pre_run[0]"))
        .unwrap_or_else(|| panic!("no refusal of the sudo command named:\n{out}"));
    assert!(refused.contains("(rule `"), "{refused}");
    assert!(out.contains(" 2. FAIL every declared role"), "{out}");
    assert!(out.contains(" 4. FAIL a role the plugin does not declare gets `unsupported`"), "{out}");
    assert!(out.contains("role mitm: plan() returned a plan for a role it does not declare"), "{out}");
    assert!(out.contains("does not conform: 2 of 7 checks failed"), "{out}");

    // JSON for tools: the same checks, with their status.
    let (code, json, _) = cli(&["plugins", "test", "--json", sudo.to_str().unwrap()], cache.path());
    assert_eq!(code, 1);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let statuses: Vec<&str> =
        v[0]["checks"].as_array().unwrap().iter().map(|c| c["status"].as_str().unwrap()).collect();
    assert_eq!(statuses, ["pass", "fail", "pass", "fail", "skip", "pass", "pass"], "{json}");
}

// A file that is not a component is refused before any rule runs, with the admission message.
#[test]
fn a_file_that_is_not_a_component_is_refused() {
    let cache = component_cache();
    let bogus = cache.path().join("bogus.wasm");
    std::fs::write(&bogus, b"not wasm at all").unwrap();
    let (code, out, err) = cli(&["plugins", "test", bogus.to_str().unwrap()], cache.path());
    assert_eq!(code, 2, "{out}\n{err}");
    assert!(err.contains("bogus.wasm"), "{err}");
}
