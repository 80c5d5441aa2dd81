//! Hardened CI mode: real plugins whose plans are hostile (built by this test suite from
//! `tests/hostile-plans/` for wasm32-wasip2), judged by the `default` and `strict` policies.
//! Every hostile plan is refused with its precise field and rule, before anything runs, and a
//! good plugin keeps planning in the same host afterwards. The CLI tests drive `audit`, `plan`
//! and `run` over the experiments in `tests/fixtures/hostile/`.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use panther_host::plan::{self, policy, CheckError, Policy, RenderContext};
use panther_host::plugin::types::{self, EnvironmentKind, Role};
use panther_host::plugin::wit::latest::env::{DeployRequest, ServiceEntry};
use panther_host::plugin::{HostOptions, Limits, PluginHost};

use panther_tests::{build_guests, workspace};

/// Builds `tests/hostile-plans` once per test process; returns the directory of the `.wasm`s.
fn corpus_build() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| build_guests("hostile-plans"))
}

/// Every plugin of the corpus: the workspace members named `hp-*`.
fn corpus_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(workspace().join("tests/hostile-plans"))
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with("hp-"))
        .collect();
    names.sort();
    names
}

/// A plugin directory holding the whole corpus, as `<plugin name>.wasm`.
pub fn corpus_dir() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let built = corpus_build();
        let dir = tempfile::tempdir().unwrap();
        for n in corpus_names() {
            std::fs::copy(built.join(format!("{}.wasm", n.replace('-', "_"))), dir.path().join(format!("{n}.wasm")))
                .unwrap();
        }
        dir
    })
    .path()
}

fn open_host() -> (PluginHost, tempfile::TempDir) {
    let cache = tempfile::tempdir().unwrap();
    let host = PluginHost::open(HostOptions {
        plugin_dirs: vec![corpus_dir().to_path_buf()],
        cache_dir: cache.path().to_path_buf(),
        limits: Limits::default(),
        locked: None,
    })
    .expect("the host opens");
    assert!(host.refused().is_empty(), "{:#?}", host.refused());
    (host, cache)
}

fn request(service: &str, env: EnvironmentKind) -> types::PlanRequest {
    types::PlanRequest {
        service: service.into(),
        role: Role::Server,
        protocol: "quic".into(),
        protocol_version: "rfc9000".into(),
        params: vec![],
        target: None,
        peers: vec![],
        environment: env,
        requests: vec![],
        testcase: None,
    }
}

/// Directories as the orchestrator gives them: real, under a run directory.
fn context(run: &Path) -> RenderContext {
    let mut c = RenderContext::default();
    c.this.name = "server".into();
    c.this.host = "127.0.0.1".into();
    c.test.name = "hardened".into();
    c.run.id = "r1".into();
    c.dirs.insert("run".into(), run.display().to_string());
    for d in ["logs", "work", "www", "downloads", "qlog", "certs"] {
        let p = run.join("server").join(d);
        std::fs::create_dir_all(&p).unwrap();
        c.dirs.insert(d.into(), p.display().to_string());
    }
    c.files.insert("keylog".into(), run.join("server/logs/keys.log").display().to_string());
    c
}

type Expected = &'static [(&'static str, &'static str)];

/// Asks `plugin` for a plan and judges it; returns the (field, rule) of every violation.
fn judged(host: &PluginHost, plugin: &str, policy: &Policy, ctx: &RenderContext) -> Vec<(String, String)> {
    let raw =
        host.plan(plugin, &request("server", EnvironmentKind::Docker)).unwrap_or_else(|e| panic!("{plugin}: {e}"));
    match plan::check(plugin, &raw, ctx, policy) {
        Ok(_) => vec![],
        Err(CheckError::Policy(v)) => {
            assert_eq!(v.plugin, plugin);
            assert_eq!(v.policy, policy.name);
            for x in &v.violations {
                assert_eq!(x.plugin, plugin);
                assert!(policy::rule(x.rule).is_some(), "{x}: the rule is documented");
                let text = x.to_string();
                assert!(
                    text.starts_with(&format!("plugin `{plugin}`: {}: ", x.field))
                        && text.ends_with(&format!("(rule `{}`)", x.rule)),
                    "{text}"
                );
            }
            v.violations.iter().map(|x| (x.field.clone(), x.rule.to_string())).collect()
        }
        Err(CheckError::Render(e)) => panic!("{plugin}: render error instead of a policy verdict: {e}"),
    }
}

/// Hostile service plans: (plugin, violations under strict, violations under default when
/// they differ).
const SERVICE_CASES: &[(&str, Expected, Option<Expected>)] = &[
    ("hp-good", &[], None),
    ("hp-cwd-traversal", &[("phases.run[0].cwd", "confined-paths")], None),
    ("hp-file-outside", &[("files[0].path", "confined-paths")], None),
    ("hp-artifact-escape", &[("artifacts[0].path", "confined-paths")], None),
    ("hp-sh-c", &[("phases.run[0].argv[0]", "no-shell")], None),
    ("hp-bash-lc", &[("phases.run[0].argv[2]", "no-shell")], None),
    ("hp-python-c", &[("phases.compile[0].argv[0]", "no-shell")], None),
    ("hp-find-exec", &[("phases.post_run[0].argv[3]", "no-shell")], None),
    ("hp-nul-argv", &[("phases.run[0].argv[1]", "no-nul-bytes")], None),
    (
        "hp-nul-env",
        &[("phases.run[0].env.SAFE␀LD_PRELOAD", "no-nul-bytes"), ("phases.run[0].env.MODE", "no-nul-bytes")],
        None,
    ),
    (
        "hp-privileged",
        &[("capabilities[0]", "allowed-capabilities"), ("capabilities[1]", "allowed-capabilities")],
        None,
    ),
    ("hp-ld-preload", &[("phases.run[0].env.LD_PRELOAD", "no-loader-env")], None),
    (
        "hp-loader-env",
        &[
            ("phases.run[0].env.GLIBC_TUNABLES", "no-loader-env"),
            ("phases.run[0].env.BASH_ENV", "no-loader-env"),
            ("phases.run[0].env.NODE_OPTIONS", "no-loader-env"),
        ],
        None,
    ),
    (
        "hp-absurd-timeout",
        &[("phases.run[0].timeout-ms", "bounded-timeouts"), ("readiness.timeout-ms", "bounded-timeouts")],
        None,
    ),
    ("hp-thousands-commands", &[("phases", "bounded-sizes")], None),
    ("hp-huge-argv", &[("phases.run[0].argv", "bounded-sizes")], None),
    (
        "hp-huge-file",
        &[("plan", "bounded-sizes"), ("files[0].content", "bounded-sizes")],
        Some(&[("files[0].content", "bounded-sizes")]),
    ),
    ("hp-many-ports", &[("ports", "bounded-sizes")], None),
    ("hp-registry-image", &[("image.base", "local-images")], None),
    ("hp-apt-option", &[("image.packages[0]", "local-images"), ("image.packages[1]", "local-images")], None),
    ("hp-sudo", &[("phases.pre_run[0].argv", "no-escalation")], None),
    ("hp-docker-escape", &[("phases.run[0].argv", "no-escalation")], None),
    ("hp-empty-argv", &[("phases.run[0].argv", "argv-not-empty")], None),
    ("hp-bad-names", &[("phases.run[0].env.X=1 Y", "valid-names"), ("ports[0].name", "valid-names")], None),
];

fn pairs(e: Expected) -> Vec<(String, String)> {
    e.iter().map(|(f, r)| (f.to_string(), r.to_string())).collect()
}

// Every hostile service plan is refused by both presets with exactly the expected field and
// rule, and the good plugin still plans after each of them, in the same host.
#[test]
fn hostile_service_plans_are_refused_with_their_reasons() {
    let (host, _cache) = open_host();
    let run = tempfile::tempdir().unwrap();
    let ctx = context(run.path());
    for (plugin, strict, default) in SERVICE_CASES {
        assert_eq!(judged(&host, plugin, &Policy::strict(), &ctx), pairs(strict), "{plugin} under strict");
        assert_eq!(
            judged(&host, plugin, &Policy::default(), &ctx),
            pairs(default.unwrap_or(strict)),
            "{plugin} under default"
        );
        assert_eq!(judged(&host, "hp-good", &Policy::strict(), &ctx), vec![], "the good plugin after {plugin}");
    }
}

fn deploy_request(services: &[&str]) -> DeployRequest {
    let base = |name: &str| {
        let mut plan = types::ServicePlan {
            phases: types::Phases {
                pre_compile: vec![],
                compile: vec![],
                post_compile: vec![],
                pre_run: vec![],
                run: vec![],
                post_run: vec![],
            },
            image: None,
            ports: vec![],
            readiness: types::Readiness { condition: types::ReadinessCondition::Started, timeout_ms: 1000 },
            artifacts: vec![],
            capabilities: vec![],
            files: vec![],
        };
        plan.phases.run.push(types::Command {
            argv: vec!["true".into()],
            env: vec![],
            cwd: None,
            timeout_ms: None,
            critical: true,
            description: name.into(),
        });
        plan
    };
    DeployRequest {
        test: "hardened".into(),
        run_id: "r1".into(),
        services: services
            .iter()
            .map(|s| ServiceEntry {
                name: s.to_string(),
                role: Role::Server,
                implementation: "hp-good".into(),
                target: None,
                plan: base(s),
                tester: false,
            })
            .collect(),
        params: vec![],
        link: None,
    }
}

/// Relays on `host`, in front of a service the test lacks, between a network and itself, and
/// twice in front of one: every policy refuses them alike.
const RELAY_VIOLATIONS: Expected = &[
    ("relays[0].client-network", "no-host-namespaces"),
    ("relays[1].server", "valid-names"),
    ("relays[1].server-network", "no-host-namespaces"),
    ("relays[2].client-network", "no-host-namespaces"),
    ("relays[3].server", "valid-names"),
    ("relays[3].client-network", "no-host-namespaces"),
];

/// Hostile deployments for services `a` and `b`: (plugin, strict, default).
const DEPLOY_CASES: &[(&str, Expected, Expected)] = &[
    ("hp-env-docker", &[], &[]),
    ("hp-env-local", &[("kind", "allowed-executors")], &[]),
    (
        "hp-env-host-network",
        &[
            ("networks[0].name", "no-host-namespaces"),
            ("networks[0].internal", "no-host-namespaces"),
            ("placements[0].networks[0]", "no-host-namespaces"),
            ("placements[0].networks[1]", "no-host-namespaces"),
            ("placements[1].networks[0]", "no-host-namespaces"),
            ("placements[1].networks[1]", "no-host-namespaces"),
        ],
        &[
            ("networks[0].name", "no-host-namespaces"),
            ("placements[0].networks[0]", "no-host-namespaces"),
            ("placements[0].networks[1]", "no-host-namespaces"),
            ("placements[1].networks[0]", "no-host-namespaces"),
            ("placements[1].networks[1]", "no-host-namespaces"),
        ],
    ),
    (
        "hp-env-mount-root",
        &[
            ("placements[0].mounts[0].dir", "confined-mounts"),
            ("placements[0].mounts[1].dir", "confined-mounts"),
            ("placements[0].mounts[2].target", "confined-mounts"),
            ("placements[0].mounts[3].target", "confined-mounts"),
            ("placements[1].mounts[0].dir", "confined-mounts"),
            ("placements[1].mounts[1].dir", "confined-mounts"),
            ("placements[1].mounts[2].target", "confined-mounts"),
            ("placements[1].mounts[3].target", "confined-mounts"),
        ],
        &[
            ("placements[0].mounts[0].dir", "confined-mounts"),
            ("placements[0].mounts[1].dir", "confined-mounts"),
            ("placements[0].mounts[2].target", "confined-mounts"),
            ("placements[0].mounts[3].target", "confined-mounts"),
            ("placements[1].mounts[0].dir", "confined-mounts"),
            ("placements[1].mounts[1].dir", "confined-mounts"),
            ("placements[1].mounts[2].target", "confined-mounts"),
            ("placements[1].mounts[3].target", "confined-mounts"),
        ],
    ),
    (
        "hp-env-open-network",
        &[("networks[0].internal", "no-host-namespaces"), ("capture.interface", "no-host-namespaces")],
        &[("capture.interface", "no-host-namespaces")],
    ),
    ("hp-env-relay", RELAY_VIOLATIONS, RELAY_VIOLATIONS),
    (
        "hp-env-crowd",
        &[("kind", "allowed-executors"), ("placements", "bounded-sizes")],
        &[("placements", "bounded-sizes")],
    ),
    (
        "hp-env-loader",
        &[
            ("kind", "allowed-executors"),
            ("placements[0].env.LD_PRELOAD", "no-loader-env"),
            ("placements[1].env.LD_PRELOAD", "no-loader-env"),
        ],
        &[("placements[0].env.LD_PRELOAD", "no-loader-env"), ("placements[1].env.LD_PRELOAD", "no-loader-env")],
    ),
];

// Every hostile deployment is refused by `check_deployment` with the expected fields and rules.
#[test]
fn hostile_deployments_are_refused_with_their_reasons() {
    let (host, _cache) = open_host();
    let req = deploy_request(&["a", "b"]);
    for (plugin, strict, default) in DEPLOY_CASES {
        let d = host.deploy(plugin, &req).unwrap_or_else(|e| panic!("{plugin}: {e}"));
        for (policy, expected) in [(Policy::strict(), strict), (Policy::default(), default)] {
            let got: Vec<(String, String)> = match policy.check_deployment(plugin, &d) {
                Ok(()) => vec![],
                Err(v) => v.violations.iter().map(|x| (x.field.clone(), x.rule.to_string())).collect(),
            };
            assert_eq!(got, pairs(expected), "{plugin} under {}", policy.name);
        }
    }
}

// The corpus is as large as SECURITY.md says, and every plugin in it is covered by a case.
#[test]
fn the_corpus_is_complete() {
    let names = corpus_names();
    assert!(names.len() >= 30, "{names:?}");
    for n in &names {
        let covered = SERVICE_CASES.iter().any(|c| c.0 == n) || DEPLOY_CASES.iter().any(|c| c.0 == n);
        assert!(covered, "`{n}` has no expected verdict");
    }
}

// ----- the CLI: run, plan and audit over tests/fixtures/hostile/

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

/// A scratch directory holding the hostile fixtures (outputs land in it), and a shared cache.
fn scratch() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let fixtures = workspace().join("tests/fixtures/hostile");
    for e in std::fs::read_dir(&fixtures).unwrap() {
        let e = e.unwrap();
        if e.path().extension().is_some_and(|x| x == "toml") {
            std::fs::copy(e.path(), dir.path().join(e.file_name())).unwrap();
        }
    }
    std::fs::create_dir(dir.path().join("policies")).unwrap();
    for e in std::fs::read_dir(fixtures.join("policies")).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), dir.path().join("policies").join(e.file_name())).unwrap();
    }
    dir
}

fn panther(cwd: &Path, args: &[&str]) -> Out {
    static CACHE: OnceLock<tempfile::TempDir> = OnceLock::new();
    let cache = CACHE.get_or_init(|| tempfile::tempdir().unwrap());
    let out = Command::new(panther_tests::panther_bin())
        .arg("--plugin-dir")
        .arg(corpus_dir())
        .arg("--cache-dir")
        .arg(cache.path())
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .env_remove("RUST_LOG")
        .output()
        .expect("panther-host runs");
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into(),
        stderr: String::from_utf8_lossy(&out.stderr).into(),
    }
}

impl std::fmt::Display for Out {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "exit code {}\n--- stdout\n{}\n--- stderr\n{}", self.code, self.stdout, self.stderr)
    }
}

/// The one run directory under `outputs/<experiment>/`.
fn run_dir(root: &Path, experiment: &str) -> PathBuf {
    let runs: Vec<PathBuf> = std::fs::read_dir(root.join("outputs").join(experiment))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    assert_eq!(runs.len(), 1, "{runs:?}");
    runs[0].clone()
}

// One experiment mixing a good test with hostile ones: the good test runs for real and
// passes; every hostile test is refused before anything of it runs, and its result names the
// plugin, the field and the rule; the host exits 2 (the README's code for policy errors,
// even though the good test ran), not with a crash.
#[test]
fn run_keeps_good_tests_running_beside_refused_hostile_ones() {
    let dir = scratch();
    let out = panther(dir.path(), &["run", "mixed-local.toml"]);
    assert_eq!(out.code, 2, "{out}");
    assert!(out.stderr.contains("error: 7 tests could not be carried out (refused by the policy"), "{out}");
    let run = run_dir(dir.path(), "hostile-mixed");
    let summary: serde_json::Value =
        serde_json::from_slice(&std::fs::read(run.join("experiment_summary.json")).unwrap()).unwrap();
    let results = summary["tests"]["results"].as_array().unwrap();
    let by_name =
        |n: &str| results.iter().find(|r| r["name"] == n).unwrap_or_else(|| panic!("no result for `{n}`: {summary:#}"));

    let good = by_name("good alone");
    assert_eq!(good["status"], "passed", "{good:#}");
    let stdout = good["services"][0]["stdout"].as_str().unwrap();
    assert_eq!(std::fs::read_to_string(stdout).unwrap(), "hello from hello\n", "the good service really ran");

    let refused: &[(&str, &[&str])] = &[
        ("good beside a shell string", &["plugin `hp-sh-c`", "phases.run[0].argv[0] (rule `no-shell`)"]),
        ("path traversal", &["plugin `hp-cwd-traversal`", "phases.run[0].cwd (rule `confined-paths`)"]),
        ("loader injection", &["plugin `hp-ld-preload`", "phases.run[0].env.LD_PRELOAD (rule `no-loader-env`)"]),
        (
            "privileged capabilities",
            &[
                "plugin `hp-privileged`",
                "capabilities[0] (rule `allowed-capabilities`); capabilities[1] (rule `allowed-capabilities`)",
            ],
        ),
        ("thousands of commands", &["plugin `hp-thousands-commands`", "phases (rule `bounded-sizes`)"]),
        ("a huge plan", &["plugin `hp-huge-file`", "files[0].content (rule `bounded-sizes`)"]),
        (
            "loader env from the environment plugin",
            &["plugin `hp-env-loader`", "placements[0].env.LD_PRELOAD (rule `no-loader-env`)"],
        ),
    ];
    for (test, needles) in refused {
        let r = by_name(test);
        assert_eq!(r["status"], "failed", "{r:#}");
        let msg = r["error_message"].as_str().unwrap_or_else(|| panic!("`{test}` has no error message: {r:#}"));
        assert!(msg.starts_with("the default policy refuses the plan of plugin"), "{test}: {msg}");
        for n in *needles {
            assert!(msg.contains(n), "`{test}`: `{n}` missing from: {msg}");
        }
        // Nothing of a refused test ran: its services have no command output.
        let ran = walk(&run).into_iter().any(|p| {
            p.to_string_lossy().contains(&format!("/{}/", panther_host::run::layout::slug(test)))
                && p.ends_with("cmd-0.stdout")
        });
        assert!(!ran, "`{test}` ran something");
    }
    assert_eq!(results.len(), 1 + refused.len());
}

fn walk(d: &Path) -> Vec<PathBuf> {
    let mut out = vec![];
    if let Ok(rd) = std::fs::read_dir(d) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() && !p.is_symlink() {
                out.extend(walk(&p));
            }
            out.push(p);
        }
    }
    out
}

// `validate` plans every test as `run` does and refuses, with exit 2, a file whose plans the
// policy refuses, naming each refused test and the rule; the good test alone is valid.
#[test]
fn validate_refuses_what_run_would_refuse() {
    let dir = scratch();
    let out = panther(dir.path(), &["validate", "mixed-local.toml"]);
    assert_eq!(out.code, 2, "{out}");
    assert_eq!(out.stdout, "", "{out}");
    assert!(
        out.stderr.contains(
            "error: mixed-local.toml: 7 of 8 tests cannot run: `good beside a shell string`, `path traversal`"
        ),
        "{out}"
    );
    assert!(out.stderr.contains("the default policy refuses the plan of plugin `hp-sh-c`"), "{out}");
    assert!(out.stderr.contains("(rule `no-shell`)"), "{out}");

    let out = panther(dir.path(), &["validate", "strict-local.toml"]);
    assert_eq!(out.code, 2, "{out}");
    assert!(out.stderr.contains("(rule `allowed-executors`)"), "{out}");

    let good = std::fs::read_to_string(dir.path().join("mixed-local.toml")).unwrap();
    let first = good.split("\n[[tests]]").take(2).collect::<Vec<_>>().join("\n[[tests]]");
    std::fs::write(dir.path().join("good.toml"), first).unwrap();
    let out = panther(dir.path(), &["validate", "good.toml"]);
    assert_eq!(out.code, 0, "{out}");
    assert!(out.stdout.starts_with("good.toml: valid (1 test, 1 service; plugins hp-env-local, hp-good)"), "{out}");
}

// `audit` lists, per plugin, every command, image, package, mount and network a strict
// Docker experiment asks for, refuses the hostile ones with field and rule, exits 2, and
// makes no directory.
#[test]
fn audit_lists_everything_and_refuses_hostile_plans() {
    let dir = scratch();
    let out = panther(dir.path(), &["audit", "strict-docker.toml"]);
    assert_eq!(out.code, 2, "{out}");
    let s = &out.stdout;
    assert!(s.starts_with("audit of strict-docker.toml under the strict policy — nothing was run\n"), "{out}");
    for needle in [
        "plugin hp-apt-option\n  test `images`: service `apt` (client)\n    commands:\n      run[0]: echo 'hello from apt'\n",
        "    image: hp-apt-option from panther-base:bookworm\n      packages: -oAPT::Get::AllowUnauthenticated=true --allow-downgrades\n",
        "      - image.packages[0]: `-oAPT::Get::AllowUnauthenticated=true` is not a Debian package name",
        "plugin hp-env-docker\n  test `images`: environment\n    executor: docker\n    networks:\n      hp-net (internal)\n",
        "      mount logs → /logs (read-write)\n",
        "      - networks[0].name: `host` is a Docker built-in network",
        "      - placements[0].networks[1]: `container:server` is a Docker built-in network or another namespace (rule `no-host-namespaces`)",
        "      mount / → /host (read-write)\n",
        "      - placements[0].mounts[0].dir: `/` is not one of the host's directories",
        "      - placements[0].mounts[3].target: `/var/run/docker.sock` is not allowed as a mount target",
        "      - image.base: `docker.io/library/alpine:latest` names a registry or repository path",
        "\n5 service plans, 3 deployments: 4 refused or failed\n",
    ] {
        assert!(s.contains(needle), "missing {needle:?} in\n{out}");
    }
    assert!(!dir.path().join("outputs").exists(), "audit made directories");

    // JSON carries the same verdicts.
    let out = panther(dir.path(), &["audit", "--format", "json", "strict-docker.toml"]);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("{e}: {out}"));
    assert_eq!(v["policy"], "strict");
    let refused: Vec<&str> = v["services"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|s| !s["refusals"].as_array().unwrap().is_empty())
        .map(|s| s["plugin"].as_str().unwrap())
        .collect();
    assert_eq!(refused, ["hp-registry-image", "hp-apt-option"]);
}

// `audit --policy strict` judges a localhost experiment with the strict preset: every test is
// refused for its executor, and the hostile plans keep their own reasons too.
#[test]
fn audit_under_another_policy() {
    let dir = scratch();
    let out = panther(dir.path(), &["audit", "--policy", "strict", "mixed-local.toml"]);
    assert_eq!(out.code, 2, "{out}");
    assert_eq!(
        out.stdout
            .matches("      - kind: the localhost executor is not allowed (allowed: docker) (rule `allowed-executors`)")
            .count(),
        8,
        "{out}"
    );
    assert!(out.stdout.contains("      - phases: 5001 commands, more than 128 (rule `bounded-sizes`)"), "{out}");
    let out = panther(dir.path(), &["audit", "--policy", "policies/ci.toml", "strict-local.toml"]);
    assert!(out.stdout.starts_with("audit of strict-local.toml under the ci policy"), "{out}");
}

// The strict policy refuses the localhost executor in `plan`, before anything runs.
#[test]
fn strict_refuses_localhost() {
    let dir = scratch();
    let out = panther(dir.path(), &["plan", "strict-local.toml"]);
    assert_eq!(out.code, 2, "{out}");
    assert!(
        out.stderr
            .contains("the strict policy refuses the plan of plugin `hp-env-local`: kind (rule `allowed-executors`)"),
        "{out}"
    );
    assert!(
        out.stderr.contains("plugin `hp-env-local`: kind: the localhost executor is not allowed (allowed: docker)"),
        "{out}"
    );
}

// A policy file with a misspelt key is refused with its file, line and column.
#[test]
fn policy_file_typo_has_a_position() {
    let dir = scratch();
    let out = panther(dir.path(), &["plan", "typo-policy.toml"]);
    assert_eq!(out.code, 2, "{out}");
    assert!(out.stderr.contains("policies/typo.toml:4:1: invalid policy file: unknown field `allow_shel`"), "{out}");
}

// A thousand services in one test: the test is refused for its size before any plugin is
// asked for a plan, and the other test of the experiment is still planned.
#[test]
fn a_thousand_services_are_refused_and_the_rest_is_planned() {
    let dir = scratch();
    let mut s = String::from("[experiment]\nname = \"crowd\"\noutput_dir = \"outputs\"\n\n[[tests]]\nname = \"crowd\"\nnetwork = { type = \"hp-env-local\" }\n\n");
    for i in 0..1000 {
        s.push_str(&format!("[tests.services.s{i}]\nimplementation = \"hp-good\"\nprotocol = {{ name = \"quic\", version = \"rfc9000\", role = \"peer\" }}\n"));
    }
    s.push_str("\n[[tests]]\nname = \"good alone\"\nnetwork = { type = \"hp-env-local\" }\n\n[tests.services.hello]\nimplementation = \"hp-good\"\nprotocol = { name = \"quic\", version = \"rfc9000\", role = \"peer\" }\n");
    std::fs::write(dir.path().join("crowd.toml"), s).unwrap();
    let out = panther(dir.path(), &["plan", "crowd.toml"]);
    assert_eq!(out.code, 2, "{out}");
    assert!(
        out.stderr
            .contains("test `crowd` has 1000 services, more than the default policy allows (64; rule `bounded-sizes`)"),
        "{}",
        &out.stderr[..out.stderr.len().min(4000)]
    );
    assert!(
        out.stderr.contains("error: 1 of 2 tests cannot run as planned"),
        "{}",
        &out.stderr[..out.stderr.len().min(4000)]
    );
    assert!(out.stdout.contains("test `good alone`\n"), "{}", &out.stdout[..out.stdout.len().min(4000)]);
}
