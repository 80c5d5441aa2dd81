//! `plugin new` and `plugin build`: a project in each language, made in a temporary directory
//! outside the repository, built by its own Makefile with the real toolchain (cargo,
//! componentize-py, clang or Go + wit-bindgen + `plugin build`) and passing `plugins test`
//! unchanged. `make test` installs the toolchains (setup-python, setup-apt, setup-wit-bindgen,
//! setup-go).

use std::path::{Path, PathBuf};
use std::process::Command;

use panther_tests::{cli_at, component_cache, panther_bin, workspace};

/// A toolchain program: the variable the Makefile exports, else where `make` puts it.
fn tool(var: &str, fallback: &str) -> PathBuf {
    std::env::var_os(var).map(PathBuf::from).unwrap_or_else(|| panther_host::run::default_cache_root().join(fallback))
}

/// Writes a project with `plugin new`, builds it with its own `make`, and runs `make test`
/// (the conformance suite); returns the project directory and the suite's output.
fn new_build_test(lang: &str, kind: &str) -> (tempfile::TempDir, PathBuf, String) {
    // One name per language and kind: the Rust projects share a cargo target directory, where
    // two packages of one name would overwrite each other's component.
    let (tmp, dir, cache) = new_project(lang, kind, &format!("hello-{lang}-{kind}"));
    let name = dir.file_name().unwrap().to_str().unwrap().to_string();
    make(&dir, cache.path(), &format!("{name}.wasm"));
    let report = make(&dir, cache.path(), "test");
    (tmp, dir, report)
}

/// Runs `make TARGET` in a project with the toolchains `make test` installed; fails the test,
/// with make's output, when make fails.
fn make(dir: &Path, cache: &Path, target: &str) -> String {
    let out = make_output(dir, cache, target);
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "make {target} in {} failed:\n{text}", dir.display());
    text
}

fn make_output(dir: &Path, cache: &Path, target: &str) -> std::process::Output {
    Command::new("make")
        .arg(target)
        .current_dir(dir)
        .env("PANTHER_HOST", panther_bin())
        .env("PANTHER_CACHE", cache)
        .env("NO_COLOR", "1")
        .env("COMPONENTIZE_PY", tool("COMPONENTIZE_PY", "venv/bin/componentize-py"))
        .env("WIT_BINDGEN", tool("WIT_BINDGEN", "tools/wit-bindgen-0.63.0-c-go/bin/wit-bindgen"))
        .env("WIT_BINDGEN_GO_PKG", tool("WIT_BINDGEN_GO_PKG", "tools/wit-bindgen-0.63.0-c-go/go-pkg"))
        .env("GO", tool("PANTHER_GO", "tools/go-1.27.3/go/bin/go"))
        // The Rust project builds in a target directory of its own that outlives the test,
        // so a second run does not compile wit-bindgen again.
        .env("CARGO_TARGET_DIR", workspace().join("target").join("authoring-rust"))
        .output()
        .expect("make runs")
}

/// `plugin new NAME --lang LANG --kind KIND` in a fresh temporary directory.
fn new_project(lang: &str, kind: &str, name: &str) -> (tempfile::TempDir, PathBuf, tempfile::TempDir) {
    let cache = component_cache();
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join(name);
    let bin = panther_bin();
    let (code, out, err) = cli_at(
        &bin,
        &["plugin", "new", &name, "--lang", lang, "--kind", kind, "--dir", dir.to_str().unwrap()],
        tmp.path(),
        cache.path(),
    );
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("next: cd "), "{out}");
    (tmp, dir, cache)
}

fn assert_conforms(report: &str, name: &str) {
    assert!(report.contains(&format!("conformance of `{name}`")), "{report}");
    assert!(!report.contains("does not conform"), "{report}");
    assert!(report.contains(" 1. ok   describe() is pure and stable"), "{report}");
}

// The sample experiment of a new project validates against the plugin it was made with.
fn assert_sample_validates(dir: &Path) {
    let cache = component_cache();
    let (code, out, err) =
        cli_at(&panther_bin(), &["--plugin-dir", ".", "validate", "experiment.toml"], dir, cache.path());
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("valid"), "{out}");
}

#[test]
fn a_new_rust_plugin_builds_and_conforms() {
    let (_tmp, dir, report) = new_build_test("rust", "iut");
    assert_conforms(&report, "hello-rust-iut");
    assert_sample_validates(&dir);
    // New projects are built against the newest contract.
    let cache = component_cache();
    let (code, out, err) =
        cli_at(&panther_bin(), &["--plugin-dir", ".", "plugins", "list", "--json"], &dir, cache.path());
    assert_eq!(code, 0, "{err}");
    let list: serde_json::Value = serde_json::from_str(&out).unwrap();
    let mine = list["plugins"].as_array().unwrap().iter().find(|p| p["name"] == "hello-rust-iut").expect("listed");
    assert_eq!(mine["contract"], "0.2.0", "{mine:#}");
}

#[test]
fn a_new_rust_environment_builds_conforms_and_places_a_real_test() {
    environment_places_a_real_test("rust");
}

#[test]
fn a_new_python_environment_builds_conforms_and_places_a_real_test() {
    environment_places_a_real_test("python");
}

#[test]
fn a_new_c_environment_builds_conforms_and_places_a_real_test() {
    environment_places_a_real_test("c");
}

#[test]
fn a_new_go_environment_builds_conforms_and_places_a_real_test() {
    environment_places_a_real_test("go");
}

fn environment_places_a_real_test(lang: &str) {
    let (_tmp, dir, report) = new_build_test(lang, "environment");
    assert!(report.contains(&format!("conformance of `hello-{lang}-environment` (environment plugin)")), "{report}");
    assert!(report.contains("conforms: 5 checks passed"), "{report}");
    assert!(
        report.contains("with a link places the server behind a relay, or leaves the relay to the host"),
        "{report}"
    );
    // Its sample experiment names it as the network: it places a real server and client.
    let cache = component_cache();
    let (code, out, err) =
        cli_at(&panther_bin(), &["--plugin-dir", ".", "-q", "run", "experiment.toml"], &dir, cache.path());
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("1 passed"), "{out}");
}

#[test]
fn a_new_python_tester_builds_and_conforms() {
    let (_tmp, dir, report) = new_build_test("python", "tester");
    assert_conforms(&report, "hello-python-tester");
    assert_sample_validates(&dir);
}

#[test]
fn a_new_c_plugin_builds_with_plugin_build_and_conforms() {
    let (_tmp, dir, report) = new_build_test("c", "iut");
    assert_conforms(&report, "hello-c-iut");
    assert_sample_validates(&dir);
}

// Go's runtime imports preview 1 calls the standard adapter serves only through
// `wasi:filesystem`; `plugin build` gives it the adapter that grants nothing, so the component
// imports no files and is admitted like any other.
#[test]
fn a_new_go_plugin_builds_with_plugin_build_and_conforms() {
    let (_tmp, dir, report) = new_build_test("go", "iut");
    assert_conforms(&report, "hello-go-iut");
    assert_sample_validates(&dir);
    let cache = component_cache();
    let (code, out, err) = cli_at(&panther_bin(), &["plugins", "verify", "hello-go-iut.wasm"], &dir, cache.path());
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(!out.contains("wasi:filesystem"), "{out}");
}

#[test]
fn a_new_go_tester_builds_conforms_and_judges_a_real_test() {
    let (_tmp, dir, report) = new_build_test("go", "tester");
    assert_conforms(&report, "hello-go-tester");
    // The sample runs a real transfer, and the Go tester's `assess` gives the verdict.
    let cache = component_cache();
    let (code, out, err) = cli_at(
        &panther_bin(),
        &["--plugin-dir", ".", "-q", "run", "experiment.toml", "--output-dir", "out"],
        &dir,
        cache.path(),
    );
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("1 passed"), "{out}");
    let s = panther_tests::summary(&panther_tests::run_dir(&dir.join("out")));
    let reasons = &s["tests"]["results"][0]["reasons"];
    assert_eq!(reasons[0], "tester `hello-go-tester`: pass", "{s:#}");
}

// `plugin build` explains what is wrong with a project, and never overwrites a directory.
#[test]
fn plugin_new_and_build_refuse_bad_input_clearly() {
    let cache = component_cache();
    let tmp = tempfile::tempdir().unwrap();
    let bin = panther_bin();
    let run = |args: &[&str]| cli_at(&bin, args, tmp.path(), cache.path());

    let (code, _, err) = run(&["plugin", "new", "Bad_Name", "--lang", "rust"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("`Bad_Name` is not a plugin name"), "{err}");

    std::fs::create_dir(tmp.path().join("taken")).unwrap();
    std::fs::write(tmp.path().join("taken/notes.txt"), "mine").unwrap();
    let (code, _, err) = run(&["plugin", "new", "taken", "--lang", "c"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("exists and is not empty"), "{err}");

    let (code, _, err) = run(&["plugin", "build", "taken"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("panther-plugin.toml"), "{err}");

    std::fs::write(
        tmp.path().join("taken/panther-plugin.toml"),
        "name = \"taken\"\nworld = \"service-plugin\"\ncore = \"notes.txt\"\n",
    )
    .unwrap();
    let (code, _, err) = run(&["plugin", "build", "taken"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("notes.txt is not a WebAssembly core module"), "{err}");

    // A component is not a core module: the author is told it needs no build.
    std::fs::copy(workspace().join("plugins-dist/command.wasm"), tmp.path().join("taken/notes.txt")).unwrap();
    let (code, _, err) = run(&["plugin", "build", "taken"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("is already a component"), "{err}");
}

// The conformance suite fails, naming the rule and the case, on plugins that break a rule: made
// from a fresh Rust project by changing one thing each. (Rules 1 and 3, a pure and
// deterministic `describe` and `plan`, cannot be broken from inside the sandbox: every call runs
// on a fresh instance with a fixed clock and seeded randomness.)
#[test]
fn rule_breakers_made_from_a_new_project_fail_precisely() {
    let (_tmp, dir, cache) = new_project("rust", "iut", "breaker");
    let lib = dir.join("src/lib.rs");
    let pristine = std::fs::read_to_string(&lib).unwrap();
    let cases: [(&str, &str, &str, i32, &[&str]); 3] = [
        // Rule 5: the server plans whatever `client-tool` says.
        ("        check_choices(&req)?;\n", "", "choices", 1, &[" 5. FAIL", "parameter `client-tool` = \"not-one-of-the-choices\": plan() accepted a value outside its choices"]),
        // Rule 6: assess traps.
        (
            "        // An IUT has no opinion: the host compares the transfers itself.\n        None",
            "        panic!(\"no verdict today\")",
            "assess",
            1,
            &[" 6. FAIL", "no verdict today"],
        ),
        // Rule 7: the server's plan burns a fifth of the fuel budget (a warning, not a failure).
        (
            "fn server() -> ServicePlan {\n",
            "fn server() -> ServicePlan {\n    let mut x = 0u64;\n    for i in 0..std::hint::black_box(60_000_000u64) {\n        x = x.wrapping_add(i ^ (x >> 3));\n    }\n    std::hint::black_box(x);\n",
            "fuel",
            0,
            &[" 7. warn", "less than 10× headroom"],
        ),
    ];
    for (from, to, what, code, expected) in cases {
        assert!(pristine.contains(from), "the template changed; update this test ({what})");
        std::fs::write(&lib, pristine.replacen(from, to, 1)).unwrap();
        make(&dir, cache.path(), "breaker.wasm");
        let out = make_output(&dir, cache.path(), "test");
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert_eq!(out.status.code() == Some(0), code == 0, "{what}: exit {:?}\n{text}", out.status.code());
        for e in expected {
            assert!(text.contains(e), "{what}: `{e}` missing from\n{text}");
        }
        std::fs::remove_file(dir.join("breaker.wasm")).unwrap();
    }
}
