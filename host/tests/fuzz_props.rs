//! Property tests over everything that reads untrusted input: experiment decoding
//! (`config::load_str`), policy files (`Policy::from_toml`), plan checking (`Policy::check`,
//! `Policy::check_deployment`), placeholder rendering (`render::render_plan`) and the audit
//! printer. None may panic on any input; each returns a value or its own error type.
//!
//! `cargo fuzz` needs a nightly toolchain, which this machine does not have; these run on
//! stable in the ordinary test suite instead. `PROPTEST_CASES=5000 cargo test -p panther-host
//! --test fuzz_props` searches longer.

use std::collections::BTreeMap;
use std::path::Path;

use panther_host::cli::audit;
use panther_host::plan::policy::{self, Policy};
use panther_host::plan::render::{self, RenderContext};
use panther_host::plugin::types::*;
use panther_host::plugin::wit::latest::env::{Capture, DeploymentPlan, Mount, Network, Placement, Relay};
use proptest::prelude::*;

/// Words that steer generated text towards the interesting cases: shells and their flags,
/// traversal, NUL, loader variables, placeholders, Docker names.
const WORDS: &[&str] = &[
    "sh",
    "-c",
    "bash",
    "-lc",
    "env",
    "-i",
    "-S",
    "python3",
    "perl",
    "-e",
    "busybox",
    "timeout",
    "5",
    "sudo",
    "docker",
    "..",
    "/",
    "/etc",
    "\0",
    "LD_PRELOAD",
    "LD_LIBRARY_PATH",
    "GLIBC_TUNABLES",
    "{{dirs.work}}",
    "{{dirs.logs}}/..",
    "{{ports.quic}}",
    "{{#each peers}}",
    "{{> x}}",
    "{{{self.name}}}",
    "}}",
    "{{",
    "host",
    "container:x",
    "logs",
    "../..",
    "SYS_ADMIN",
    "NET_RAW",
    "ALL",
    "panther-base:bookworm",
    "docker.io/x/y:1",
    "é",
    "\u{1b}[2J",
    "=",
    "x=y",
    "",
];

fn word() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(WORDS).prop_map(String::from),
        2 => "[a-zA-Z0-9_./=:{}#> -]{0,24}",
        1 => any::<String>(),
    ]
}

fn text() -> impl Strategy<Value = String> {
    prop::collection::vec(word(), 0..4).prop_map(|w| w.concat())
}

fn command() -> impl Strategy<Value = Command> {
    (
        prop::collection::vec(text(), 0..6),
        prop::collection::vec((text(), text()), 0..3),
        prop::option::of(text()),
        prop::option::of(any::<u64>()),
        any::<bool>(),
        text(),
    )
        .prop_map(|(argv, env, cwd, timeout_ms, critical, description)| Command {
            argv,
            env,
            cwd,
            timeout_ms,
            critical,
            description,
        })
}

fn commands() -> impl Strategy<Value = Vec<Command>> {
    prop::collection::vec(command(), 0..4)
}

fn image() -> impl Strategy<Value = ImageSpec> {
    (
        text(),
        text(),
        prop::collection::vec(text(), 0..3),
        prop::collection::vec((text(), text(), text(), text()), 0..2),
        prop::collection::vec((prop::collection::vec(text(), 0..3), prop::option::of(text())), 0..2),
        prop::collection::vec((text(), text()), 0..2),
        prop::option::of(text()),
    )
        .prop_map(|(name, base, packages, sources, steps, build_args, workdir)| ImageSpec {
            name,
            base,
            packages,
            sources: sources.into_iter().map(|(name, url, rev, dest)| SourceRef { name, url, rev, dest }).collect(),
            steps: steps.into_iter().map(|(argv, workdir)| BuildStep { argv, workdir, env: vec![] }).collect(),
            build_args,
            workdir,
        })
}

fn readiness() -> impl Strategy<Value = Readiness> {
    (
        prop_oneof![
            Just(ReadinessCondition::Started),
            Just(ReadinessCondition::Exited),
            text().prop_map(ReadinessCondition::PortBound),
            text().prop_map(ReadinessCondition::LogLine),
            text().prop_map(ReadinessCondition::FileExists),
        ],
        any::<u64>(),
    )
        .prop_map(|(condition, timeout_ms)| Readiness { condition, timeout_ms })
}

fn service_plan() -> impl Strategy<Value = ServicePlan> {
    (
        (commands(), commands(), commands(), commands(), commands(), commands()),
        prop::option::of(image()),
        prop::collection::vec((text(), any::<u16>(), any::<bool>()), 0..4),
        readiness(),
        prop::collection::vec((text(), any::<bool>()), 0..3),
        prop::collection::vec(text(), 0..3),
        prop::collection::vec((text(), text()), 0..3),
    )
        .prop_map(
            |(
                (pre_compile, compile, post_compile, pre_run, run, post_run),
                image,
                ports,
                readiness,
                artifacts,
                capabilities,
                files,
            )| ServicePlan {
                phases: Phases { pre_compile, compile, post_compile, pre_run, run, post_run },
                image,
                ports: ports
                    .into_iter()
                    .map(|(name, number, udp)| Port {
                        name,
                        number,
                        transport: if udp { Transport::Udp } else { Transport::Tcp },
                    })
                    .collect(),
                readiness,
                artifacts: artifacts
                    .into_iter()
                    .map(|(path, required)| Artifact { kind: ArtifactKind::Other, path, required })
                    .collect(),
                capabilities,
                files,
            },
        )
}

fn deployment() -> impl Strategy<Value = DeploymentPlan> {
    let placement = (
        text(),
        text(),
        prop::collection::vec(text(), 0..2),
        prop::collection::vec(text(), 0..2),
        prop::collection::vec((text(), prop::option::of(text()), any::<bool>()), 0..3),
        prop::collection::vec((text(), text()), 0..2),
    )
        .prop_map(|(service, host, aliases, networks, mounts, env)| Placement {
            service,
            host,
            aliases,
            networks,
            after: vec![],
            mounts: mounts.into_iter().map(|(dir, target, read_only)| Mount { dir, target, read_only }).collect(),
            env,
        });
    (
        prop_oneof![Just(EnvironmentKind::Localhost), Just(EnvironmentKind::Docker), Just(EnvironmentKind::Shadow)],
        prop::collection::vec((text(), any::<bool>()), 0..3),
        prop::collection::vec(placement, 0..3),
        prop::option::of((text(), any::<bool>())),
        prop::collection::vec((text(), text(), text()), 0..2),
    )
        .prop_map(|(kind, networks, placements, capture, relays)| DeploymentPlan {
            kind,
            networks: networks.into_iter().map(|(name, internal)| Network { name, internal }).collect(),
            placements,
            capture: capture.map(|(interface, ports_only)| Capture { interface, ports_only }),
            relays: relays
                .into_iter()
                .map(|(server, client_network, server_network)| Relay { server, client_network, server_network })
                .collect(),
        })
}

fn context() -> RenderContext {
    let mut c = RenderContext::default();
    c.this.name = "server".into();
    c.ports.insert("quic".into(), 4443);
    for d in ["run", "logs", "work", "www"] {
        c.dirs.insert(d.into(), format!("/nonexistent/panther-run/server/{d}"));
    }
    c.files.insert("keylog".into(), "/nonexistent/panther-run/server/logs/keys.log".into());
    c
}

/// Random edits of a real experiment file: the parser sees mostly-valid TOML broken in one
/// or two places, which reaches far deeper than random bytes do.
fn mutated_experiment() -> impl Strategy<Value = String> {
    let base = include_str!("../../experiments/demo.toml");
    prop::collection::vec((any::<prop::sample::Index>(), 0usize..4, word()), 1..4).prop_map(move |edits| {
        let mut s = base.to_string();
        for (at, kind, w) in edits {
            let mut i = at.index(s.len() + 1);
            while !s.is_char_boundary(i) {
                i -= 1;
            }
            match kind {
                0 => s.insert_str(i, &w),
                1 => {
                    let mut end = (i + w.len().max(1)).min(s.len());
                    while !s.is_char_boundary(end) {
                        end += 1;
                    }
                    s.replace_range(i..end, "");
                }
                2 => {
                    let mut end = (i + w.len()).min(s.len());
                    while !s.is_char_boundary(end) {
                        end += 1;
                    }
                    s.replace_range(i..end, &w);
                }
                _ => s.insert_str(i, "\n[[tests]]\n"),
            }
        }
        s
    })
}

/// Small TOML documents built from the experiment vocabulary with values of every type.
fn vocabulary_experiment() -> impl Strategy<Value = String> {
    let key = prop::sample::select(
        &[
            "name",
            "description",
            "output_dir",
            "timeout",
            "policy",
            "log_level",
            "fast_fail",
            "iterations",
            "network",
            "type",
            "implementation",
            "protocol",
            "version",
            "role",
            "target",
            "files",
            "path",
            "size",
            "wait",
            "testcase",
            "params",
            "services",
            "tests",
            "experiment",
        ][..],
    );
    let value = prop_oneof![
        text().prop_map(|s| format!("{s:?}")),
        any::<i64>().prop_map(|i| i.to_string()),
        any::<bool>().prop_map(|b| b.to_string()),
        Just("\"90s\"".to_string()),
        Just("\"1MiB\"".to_string()),
        Just("\"strict\"".to_string()),
        Just("{ type = \"localhost\" }".to_string()),
        Just("[{ path = \"/f\", size = \"1KiB\" }]".to_string()),
        Just("{ name = \"quic\", version = \"rfc9000\", role = \"client\", target = \"s\" }".to_string()),
        Just("[]".to_string()),
        Just("{}".to_string()),
    ];
    let header = prop::sample::select(
        &[
            "[experiment]",
            "[[tests]]",
            "[tests.services.s]",
            "[tests.services.c]",
            "[tests.network]",
            "[tests.services.s.params]",
            "",
        ][..],
    );
    prop::collection::vec((header, prop::collection::vec((key, value), 0..5)), 0..6).prop_map(|sections| {
        let mut s = String::new();
        for (h, kvs) in sections {
            s.push_str(h);
            s.push('\n');
            for (k, v) in kvs {
                s.push_str(&format!("{k} = {v}\n"));
            }
        }
        s
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

    // Decoding arbitrary text as an experiment returns an experiment or an error, never panics.
    #[test]
    fn experiment_decoding_never_panics(s in prop_oneof![any::<String>(), mutated_experiment(), vocabulary_experiment()]) {
        let _ = panther_host::config::load_str("fuzz.toml", &s);
    }

    // Policy files: any text gives a policy or an error with a position inside the text.
    #[test]
    fn policy_files_never_panic(s in prop_oneof![any::<String>(), prop::collection::vec((prop::sample::select(&["extends", "name", "executors", "allow_shell", "max_args", "max_timeout_ms", "allowed_capabilities", "bogus"][..]), text()), 0..4).prop_map(|kv| kv.into_iter().map(|(k, v)| format!("{k} = {v:?}\n")).collect::<String>())]) {
        if let Err(policy::PolicyError::Parse { line, .. }) = Policy::from_toml(Path::new("p.toml"), &s) {
            prop_assert!(line >= 1 && line <= s.matches('\n').count() + 1);
        }
    }

    // Judging an arbitrary plan never panics; every violation names a documented rule and the
    // plugin; judging is deterministic; whatever `strict` accepts, `default` accepts too.
    #[test]
    fn plan_checking_never_panics(plan in service_plan()) {
        let ctx = context();
        let strict = Policy::strict().check("fuzz", &plan, &ctx);
        let default = Policy::default().check("fuzz", &plan, &ctx);
        if let Err(v) = &strict {
            prop_assert!(!v.violations.is_empty());
            for x in &v.violations {
                prop_assert!(policy::rule(x.rule).is_some(), "undocumented rule {}", x.rule);
                prop_assert_eq!(&x.plugin, "fuzz");
            }
            let again = Policy::strict().check("fuzz", &plan, &ctx).unwrap_err();
            prop_assert_eq!(again.violations.len(), v.violations.len());
        }
        if strict.is_ok() {
            prop_assert!(default.is_ok(), "strict accepted what default refused: {:?}", default.err());
        }
        let has_shell = plan.phases.run.iter().any(|c| c.argv.first().is_some_and(|a| a == "sh") && c.argv.iter().skip(1).any(|a| a == "-c"));
        if has_shell {
            prop_assert!(strict.as_ref().unwrap_err().has(&policy::NO_SHELL));
        }
    }

    // Judging an arbitrary deployment never panics, and strict accepts nothing default refuses.
    #[test]
    fn deployment_checking_never_panics(d in deployment()) {
        let strict = Policy::strict().check_deployment("fuzz-env", &d);
        let default = Policy::default().check_deployment("fuzz-env", &d);
        if strict.is_ok() {
            prop_assert!(default.is_ok());
        }
        if d.placements.iter().any(|p| p.mounts.iter().any(|m| m.dir == "/")) {
            prop_assert!(default.unwrap_err().has(&policy::CONFINED_MOUNTS));
        }
    }

    // Rendering arbitrary templates returns a plan or a RenderError naming the plugin; plain
    // text without `{{` comes back unchanged.
    #[test]
    fn rendering_never_panics(plan in service_plan()) {
        match render::render_plan("fuzz", &plan, &context()) {
            Ok(r) => {
                for (a, b) in plan.phases.run.iter().zip(&r.phases.run) {
                    for (x, y) in a.argv.iter().zip(&b.argv) {
                        if !x.contains("{{") {
                            prop_assert_eq!(x, y);
                        }
                    }
                }
            }
            Err(e) => prop_assert_eq!(e.plugin, "fuzz"),
        }
    }

    // The audit printer never panics and never prints a control character from a plan.
    #[test]
    fn audit_printing_is_safe(plan in service_plan(), d in deployment()) {
        let mut out = String::new();
        audit::write_service_plan(&mut out, &plan, &BTreeMap::new());
        audit::write_deployment_plan(&mut out, &d);
        prop_assert!(!out.chars().any(|c| c.is_control() && c != '\n'), "{out:?}");
    }

    // Shell detection and path confinement take any argv and any path.
    #[test]
    fn helpers_never_panic(argv in prop::collection::vec(text(), 0..8), p in text(), base in prop::option::of(text())) {
        let _ = policy::shell_string_in(&argv);
        let c = panther_host::plan::confine::Confinement::new(["/nonexistent/panther-run"]);
        let _ = c.check(Path::new(&p), Path::new(base.as_deref().unwrap_or("/")));
        let _ = panther_host::plan::confine::resolve(Path::new(&p));
    }
}
