//! Experiment files: every malformed fixture in `tests/fixtures/config/` renders exactly the
//! diagnostic in the `.stderr` file next to it, and `panther-host validate` reports valid and
//! invalid files with the right exit code.
//!
//! Fixtures go through the library (`config::load`, then `config::check_plugins_among` with
//! hand-made plugin descriptions) and one pinned miette handler, so the snapshots depend
//! neither on the binary nor on the terminal. After an intended change of wording, rewrite
//! them with `PANTHER_BLESS=1 cargo test -p panther-tests --test e2e config` and review the diff.

use std::path::{Path, PathBuf};

use panther_host::config;
use panther_host::plugin::types::*;

use panther_tests::{cli, workspace};

fn spec(
    name: &str,
    ty: ParamType,
    default: Option<ParamValue>,
    required: bool,
    choices: &[&str],
    doc: &str,
) -> ParamSpec {
    ParamSpec {
        name: name.into(),
        ty,
        default,
        doc: doc.into(),
        required,
        choices: choices.iter().map(|s| s.to_string()).collect(),
    }
}

fn plugin(name: &str, kind: PluginKind, roles: &[Role], versions: &[&str], parameters: Vec<ParamSpec>) -> PluginInfo {
    PluginInfo {
        name: name.into(),
        version: "0.1.0".into(),
        kind,
        description: String::new(),
        protocols: if kind == PluginKind::Environment { vec![] } else { vec!["quic".into()] },
        roles: roles.to_vec(),
        versions: versions.iter().map(|v| ProtocolVersion { name: v.to_string(), wire: None, alpn: vec![] }).collect(),
        sources: vec![],
        parameters,
        environments: vec![],
    }
}

/// The plugins the fixtures are checked against: shaped like the real ones, fixed here so
/// the snapshots do not change when a real plugin gains a parameter.
fn installed() -> Vec<PluginInfo> {
    let s = |v: &str| Some(ParamValue::String(v.into()));
    vec![
        plugin(
            "quic-go",
            PluginKind::Iut,
            &[Role::Server, Role::Client],
            &["rfc9000", "draft29"],
            vec![
                spec(
                    "source",
                    ParamType::String,
                    s("debian"),
                    false,
                    &["debian", "upstream"],
                    "where the programs come from",
                ),
                spec("alpn", ParamType::String, s("h3"), false, &["h3", "hq-interop"], "application protocol"),
                spec(
                    "timeout-s",
                    ParamType::Integer,
                    Some(ParamValue::Integer(30)),
                    false,
                    &[],
                    "client: give up after this many seconds",
                ),
            ],
        ),
        plugin("aioquic", PluginKind::Iut, &[Role::Server, Role::Client], &["rfc9000"], vec![]),
        plugin("interop", PluginKind::Tester, &[], &[], vec![]),
        PluginInfo {
            environments: vec![EnvironmentKind::Localhost],
            ..plugin("localhost", PluginKind::Environment, &[], &[], vec![])
        },
        PluginInfo {
            environments: vec![EnvironmentKind::Shadow],
            ..plugin("shadow", PluginKind::Environment, &[], &[], vec![])
        },
        PluginInfo {
            environments: vec![EnvironmentKind::Docker],
            ..plugin(
                "docker-compose",
                PluginKind::Environment,
                &[],
                &[],
                vec![spec("capture", ParamType::String, s("true"), false, &[], "capture traffic")],
            )
        },
    ]
}

fn fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/config");
    let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    v.sort();
    v
}

/// The diagnostic a fixture produces, as the pinned handler renders it.
fn render(fixture: &Path) -> String {
    // A path relative to the tests crate (cargo's working directory for tests), so snapshots
    // hold no machine paths.
    let rel = Path::new("fixtures/config").join(fixture.file_name().unwrap());
    let err = match config::load(&rel) {
        Err(e) => e,
        Ok(exp) => match config::check_plugins_among(&exp, &installed()) {
            Err(e) => e,
            Ok(_) => panic!("{} is a fixture of a malformed experiment, but it is valid", rel.display()),
        },
    };
    let rendered = config::render_plain(&err);
    // Display must name the place too, for plain logs.
    let first = err.problems()[0].location.clone();
    assert!(err.to_string().starts_with(&format!("{first}: ")), "{err}");
    rendered
}

// Each malformed fixture renders exactly its snapshot, and there are enough of them.
#[test]
fn fixtures_match_snapshots() {
    let all = fixtures();
    assert!(all.len() >= 12, "at least 12 malformed fixtures, found {}", all.len());
    let bless = std::env::var_os("PANTHER_BLESS").is_some();
    let mut failures = vec![];
    for f in &all {
        let got = render(f);
        let snap = f.with_extension("stderr");
        if bless {
            std::fs::write(&snap, &got).unwrap();
            continue;
        }
        let want = std::fs::read_to_string(&snap)
            .unwrap_or_else(|_| panic!("{} has no snapshot; write it with PANTHER_BLESS=1", f.display()));
        if got != want {
            failures.push(format!("{}\n~~~ expected\n{want}~~~ got\n{got}~~~", f.display()));
        }
    }
    assert!(failures.is_empty(), "{} fixture(s) differ from their snapshots:\n{}", failures.len(), failures.join("\n"));
}

// Every snapshot belongs to a fixture, so a renamed fixture does not leave a stale one.
#[test]
fn no_orphan_snapshots() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/config");
    for e in std::fs::read_dir(&dir).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "stderr") {
            assert!(p.with_extension("toml").exists(), "{} has no fixture", p.display());
        }
    }
}

// Every shipped experiment loads and checks against the plugins that ship in plugins-dist/
// (the real components, through the real plugin host).
#[test]
fn shipped_experiments_load() {
    let host = panther_host::plugin::PluginHost::open(panther_host::plugin::HostOptions {
        plugin_dirs: vec![workspace().join("plugins-dist")],
        cache_dir: workspace().join("target").join("e2e-plugin-cache"),
        limits: panther_host::plugin::Limits::default(),
        locked: None,
    })
    .expect("the bundled plugins load");
    let installed: Vec<PluginInfo> = host.plugins().iter().map(|p| p.info.clone()).collect();
    for e in std::fs::read_dir(workspace().join("experiments")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "toml") {
            let exp = config::load(&p).unwrap_or_else(|e| panic!("{}", config::render_plain(&e)));
            assert!(!exp.tests.is_empty());
            config::check_plugins_among(&exp, &installed)
                .unwrap_or_else(|e| panic!("{}: {}", p.display(), config::render_plain(&e)));
        }
    }
}

// `validate` refuses a malformed file with exit code 2, every problem on stderr with its
// location, and nothing on stdout.
#[test]
fn validate_refuses_malformed_file() {
    let cache = tempfile::tempdir().unwrap();
    let (code, out, err) = cli(&["validate", "tests/fixtures/config/many_problems.toml"], cache.path());
    assert_eq!(code, 2, "{err}");
    assert_eq!(out, "");
    for needle in [
        "tests/fixtures/config/many_problems.toml:4:13: invalid value for `fast_fail`",
        "tests/fixtures/config/many_problems.toml:9:8: invalid duration for `wait`",
        "service `client` targets `sever`",
        "did you mean `server`?",
    ] {
        assert!(err.contains(needle), "stderr lacks {needle:?}:\n{err}");
    }
}

// `validate` accepts a file whose plugins are installed, with one line on stdout, and
// `--explain` prints a policy rule.
#[test]
fn validate_accepts_valid_file() {
    let cache = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("ok.toml");
    std::fs::write(
        &file,
        "[[tests]]\nname = \"pair\"\nnetwork = { type = \"localhost\" }\n[tests.services.s]\nimplementation = \"picoquic\"\nprotocol = { role = \"server\" }\n[tests.services.c]\nimplementation = \"quiche\"\nprotocol = { role = \"client\", target = \"s\" }\n",
    )
    .unwrap();
    let (code, out, err) = cli(&["validate", file.to_str().unwrap()], cache.path());
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, format!("{}: valid (1 test, 2 services; plugins localhost, picoquic, quiche)\n", file.display()));

    let (code, out, _) = cli(&["validate", "--explain", "no-shell"], cache.path());
    assert_eq!(code, 0);
    assert!(out.starts_with("no-shell\n\n"), "{out}");
}
