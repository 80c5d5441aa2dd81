//! Unit tests of the loader: the model it builds, matrix expansion, ordering, and the wording
//! of its errors. Rendered diagnostics are snapshot-tested in `tests/e2e/config.rs`.

use std::time::Duration;

use super::*;
use crate::plugin::types::{ParamSpec, ParamType, ParamValue, PluginInfo, PluginKind, ProtocolVersion, Role};

fn load_ok(text: &str) -> Experiment {
    load_str("t.toml", text).unwrap_or_else(|e| panic!("{e:#}"))
}

fn load_err(text: &str) -> String {
    format!("{:#}", load_str("t.toml", text).expect_err("the file is invalid"))
}

const TWO_SERVICES: &str = r#"
[[tests]]
name = "pair"
network = { type = "localhost" }
[tests.services.client]
implementation = "aioquic"
protocol = { role = "client", target = "server" }
[tests.services.server]
implementation = "quic-go"
protocol = { role = "server" }
"#;

// It fills every default and keeps what the file says.
#[test]
fn defaults_and_values() {
    let e = load_ok(TWO_SERVICES);
    assert_eq!(e.name, "t");
    assert_eq!(e.settings, Settings::default());
    let t = &e.tests[0];
    assert_eq!((t.slug.as_str(), t.iterations, t.timeout, t.wait), ("pair", 1, DEFAULT_TEST_TIMEOUT, None));
    assert_eq!(t.network.kind, "localhost");
    let s = t.service("server").unwrap();
    assert_eq!(
        (s.protocol.as_str(), s.version.as_str(), s.role, s.kind),
        ("quic", "rfc9000", Role::Server, ServiceKind::Iut)
    );
}

// Services come after the service they target, whatever the file order.
#[test]
fn topological_order() {
    let e = load_ok(TWO_SERVICES);
    let names: Vec<&str> = e.tests[0].services.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["server", "client"]);

    let chain = r#"
[[tests]]
name = "chain"
network = "localhost"
[tests.services.c]
implementation = "x"
protocol = { role = "client", target = "m" }
[tests.services.m]
implementation = "x"
protocol = { role = "mitm", target = "s" }
[tests.services.p]
implementation = "x"
protocol = { role = "peer" }
[tests.services.s]
implementation = "x"
protocol = { role = "server" }
"#;
    let e = load_ok(chain);
    let names: Vec<&str> = e.tests[0].services.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["p", "s", "m", "c"]);
}

// Every setting of [experiment] is read, with units.
#[test]
fn settings() {
    let e = load_ok(&format!(
        "[experiment]\nname = \"x\"\ndescription = \"d\"\noutput_dir = \"out/runs\"\nlog_level = \"debug\"\nfast_fail = true\ntimeout = \"2m\"\npolicy = \"strict\"\n{TWO_SERVICES}"
    ));
    assert_eq!((e.name.as_str(), e.description.as_str()), ("x", "d"));
    assert_eq!(e.settings.output_dir, std::path::PathBuf::from("out/runs"));
    assert_eq!((e.settings.log_level.as_str(), e.settings.fast_fail), ("debug", true));
    assert_eq!((e.settings.default_timeout, &e.settings.policy), (Duration::from_secs(120), &PolicyChoice::Strict));
    assert_eq!(e.tests[0].timeout, Duration::from_secs(120));
}

// `count` makes numbered files (the runner's multiplexing needs 2000); out of range, or
// colliding with a listed file, it is an error at its position.
#[test]
fn a_file_entry_with_a_count_makes_numbered_files() {
    let with = |files: &str| {
        TWO_SERVICES.replace(
            "network = { type = \"localhost\" }",
            &format!("network = {{ type = \"localhost\" }}\nfiles = {files}"),
        )
    };
    let t = load_ok(&with(
        "[{ path = \"/mux/m.bin\", size = 32, count = 3 }, { path = \"/README\", size = 1, count = 2 }]",
    ))
    .tests
    .remove(0);
    let paths: Vec<&str> = t.files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths, ["/mux/m-1.bin", "/mux/m-2.bin", "/mux/m-3.bin", "/README-1", "/README-2"]);
    assert!(t.files.iter().take(3).all(|f| f.size == 32));
    let err = load_err(&with("[{ path = \"/m.bin\", size = 32, count = 0 }]"));
    assert!(err.contains("invalid value for `count`: 0 is not between 1 and 10000") && err.contains(":"), "{err}");
    let err = load_err(&with("[{ path = \"/m-2.bin\", size = 1 }, { path = \"/m.bin\", size = 32, count = 3 }]"));
    assert!(err.contains("the file `/m-2.bin` is listed twice"), "{err}");
}

// Keys written after a service's table belong to that service, and say so.
#[test]
fn keys_after_a_service_table_are_service_keys() {
    let err = load_err(&format!("{TWO_SERVICES}iterations = 3\n"));
    assert!(err.contains("unknown key `iterations` in service `server`"), "{err}");
}

// Test fields are read.
#[test]
fn test_fields() {
    let text = TWO_SERVICES.replace(
        "network = { type = \"localhost\" }",
        "network = { type = \"docker\", internal = true, mtu = 1400 }\niterations = 3\nwait = \"1500ms\"\ntimeout = \"45s\"\ntestcase = \"transfer\"\nfiles = [{ path = \"/a/b.bin\", size = \"1KiB\" }, { path = \"/c\", size = 10 }]\nexecution = [{ type = \"strace\", args = [\"-f\"] }]",
    );
    let t = load_ok(&text).tests.remove(0);
    assert_eq!((t.iterations, t.wait, t.timeout), (3, Some(Duration::from_millis(1500)), Duration::from_secs(45)));
    assert_eq!(t.testcase.as_deref(), Some("transfer"));
    assert_eq!(t.files, vec![WwwFile { path: "/a/b.bin".into(), size: 1024 }, WwwFile { path: "/c".into(), size: 10 }]);
    assert_eq!(t.execution[0].kind, "strace");
    assert_eq!(t.execution[0].params["args"], toml::Value::Array(vec!["-f".into()]));
    assert_eq!(t.network.params.get("internal").map(String::as_str), Some("true"));
    assert_eq!(t.network.params.get("mtu").map(String::as_str), Some("1400"));
}

const MATRIX: &str = r#"
[[matrix]]
name = "interop"
network = { type = "localhost" }
servers = ["quic-go", "aioquic"]
clients = ["quic-go", "aioquic", "picoquic"]
testcases = ["handshake", "transfer"]
tester = "interop"
params = { "quic-go" = { source = "debian" } }
timeout = "60s"
"#;

// A matrix becomes one test per server × client × test case, each with server, client and
// tester services.
#[test]
fn matrix_expansion() {
    let e = load_ok(MATRIX);
    assert_eq!(e.tests.len(), 2 * 3 * 2);
    let t = &e.tests[0];
    assert_eq!(t.name, "interop: handshake, server quic-go, client quic-go");
    assert_eq!(t.slug, "interop-handshake-server-quic-go-client-quic-go");
    assert_eq!(
        t.cell,
        Some(MatrixCell {
            matrix: "interop".into(),
            server: "quic-go".into(),
            client: "quic-go".into(),
            testcase: Some("handshake".into())
        })
    );
    assert_eq!(t.tester.as_deref(), Some("tester"));
    let names: Vec<&str> = t.services.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["server", "client", "tester"]);
    assert_eq!(t.services[0].params["source"], toml::Value::String("debian".into()));
    assert_eq!(t.services[1].target.as_deref(), Some("server"));
    assert_eq!(t.timeout, Duration::from_secs(60));
    let cells: Vec<(String, String, Option<String>)> =
        e.tests.iter().map(|t| t.cell.clone().map(|c| (c.server, c.client, c.testcase)).unwrap()).collect();
    assert_eq!(cells[1], ("quic-go".into(), "quic-go".into(), Some("transfer".into())));
    assert_eq!(cells[2], ("quic-go".into(), "aioquic".into(), Some("handshake".into())));
    let mut slugs: Vec<&str> = e.tests.iter().map(|t| t.slug.as_str()).collect();
    slugs.sort();
    slugs.dedup();
    assert_eq!(slugs.len(), 12, "slugs are unique");
}

// Without test cases, a matrix has one cell per pair and no test case.
#[test]
fn matrix_without_testcases() {
    let e = load_ok("[[matrix]]\nname = \"m\"\nnetwork = \"localhost\"\nservers = [\"a\"]\nclients = [\"b\", \"c\"]\n");
    assert_eq!(e.tests.len(), 2);
    assert_eq!(e.tests[1].testcase, None);
    assert_eq!(e.tests[1].tester, None);
    assert_eq!(e.tests[1].name, "m: server a, client c");
}

// Slugs are file-system safe and stay unique when names differ only in punctuation.
#[test]
fn slugs() {
    assert_eq!(parse::slugify("quic-go server, aioquic client"), "quic-go-server-aioquic-client");
    assert_eq!(parse::slugify("  ../Weird//Name!  "), "weird-name");
    assert_eq!(parse::slugify("???"), "test");
    let text = format!("{}{}", TWO_SERVICES, TWO_SERVICES.replace("name = \"pair\"", "name = \"Pair!\""));
    let e = load_ok(&text);
    assert_eq!(e.tests[0].slug, "pair");
    assert_eq!(e.tests[1].slug, "pair-2");
}

// Problems in different places are all reported at once, in file order.
#[test]
fn all_problems_at_once() {
    let err = load_err(
        "[experiment]\ntimeout = 30\nlog_levl = \"info\"\n[[tests]]\nname = \"x\"\nnetwork = \"localhost\"\niterations = 0\n[tests.services.s]\nimplementation = \"a\"\nprotocol = { role = \"client\" }\n",
    );
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(
        lines,
        [
            "t.toml:2:11: invalid value for `timeout`: expected a duration like \"30s\" or \"2m\", found integer `30`",
            "t.toml:3:1: unknown key `log_levl` in [experiment]",
            "t.toml:7:14: invalid value for `iterations`: 0 is not between 1 and 10000",
            "t.toml:10:21: client service `s` has no target",
        ]
    );
}

// Wrong targets, cycles and self-targets are refused with the services named.
#[test]
fn target_problems() {
    let bad = TWO_SERVICES.replace("target = \"server\"", "target = \"srever\"");
    assert!(load_err(&bad).contains("service `client` targets `srever`, which is not a service of test `pair`"));
    let cycle = TWO_SERVICES
        .replace("protocol = { role = \"server\" }", "protocol = { role = \"server\", target = \"client\" }");
    assert!(
        load_err(&cycle).contains("the targets of test `pair` form a cycle: client → server → client"),
        "{}",
        load_err(&cycle)
    );
    let own = TWO_SERVICES.replace("target = \"server\"", "target = \"client\"");
    assert!(load_err(&own).contains("service `client` targets itself"));
}

fn info(name: &str, kind: PluginKind, parameters: Vec<ParamSpec>) -> PluginInfo {
    PluginInfo {
        name: name.into(),
        version: "0.1.0".into(),
        kind,
        description: String::new(),
        protocols: if kind == PluginKind::Environment { vec![] } else { vec!["quic".into()] },
        roles: if kind == PluginKind::Iut { vec![Role::Server, Role::Client] } else { vec![] },
        versions: if kind == PluginKind::Iut {
            vec![ProtocolVersion { name: "rfc9000".into(), wire: None, alpn: vec![] }]
        } else {
            vec![]
        },
        sources: vec![],
        parameters,
        environments: vec![],
    }
}

fn spec(name: &str, ty: ParamType, default: Option<ParamValue>, required: bool, choices: &[&str]) -> ParamSpec {
    ParamSpec {
        name: name.into(),
        ty,
        default,
        doc: format!("the {name}"),
        required,
        choices: choices.iter().map(|s| s.to_string()).collect(),
    }
}

fn plugins() -> Vec<PluginInfo> {
    vec![
        info(
            "quic-go",
            PluginKind::Iut,
            vec![
                spec(
                    "source",
                    ParamType::String,
                    Some(ParamValue::String("debian".into())),
                    false,
                    &["debian", "upstream"],
                ),
                spec("timeout-s", ParamType::Integer, Some(ParamValue::Integer(30)), false, &[]),
                spec("ratio", ParamType::Float, None, false, &[]),
            ],
        ),
        info("aioquic", PluginKind::Iut, vec![spec("key", ParamType::String, None, true, &[])]),
        info("interop", PluginKind::Tester, vec![]),
        info("localhost", PluginKind::Environment, vec![spec("mtu", ParamType::Integer, None, false, &[])]),
    ]
}

// Valid parameters come back typed, in declaration order, with defaults filled in.
#[test]
fn check_plugins_resolves_params() {
    let text = TWO_SERVICES
        .replace("implementation = \"aioquic\"", "implementation = \"aioquic\"\nparams = { key = \"k\" }")
        .replace(
            "implementation = \"quic-go\"",
            "implementation = \"quic-go\"\nparams = { ratio = 2, source = \"upstream\" }",
        )
        .replace("{ type = \"localhost\" }", "{ type = \"localhost\", mtu = 1200 }");
    let e = load_ok(&text);
    let r = check_plugins_among(&e, &plugins()).unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(
        r.get("pair", "server"),
        [
            ("source".to_string(), ParamValue::String("upstream".into())),
            ("timeout-s".to_string(), ParamValue::Integer(30)),
            ("ratio".to_string(), ParamValue::Float(2.0)),
        ]
    );
    assert_eq!(r.get("pair", "client"), [("key".to_string(), ParamValue::String("k".into()))]);
    assert_eq!(r.network("pair"), [("mtu".to_string(), "1200".to_string())]);
    assert!(r.get("pair", "nobody").is_empty());
}

// Unknown plugins, wrong kinds, wrong types, bad choices, unknown and missing parameters are
// all reported, each with a fix.
#[test]
fn check_plugins_problems() {
    let text = TWO_SERVICES
        .replace(
            "implementation = \"quic-go\"",
            "implementation = \"quic-go\"\nparams = { sorce = \"debian\", timeout-s = \"30\" }",
        )
        .replace("{ type = \"localhost\" }", "{ type = \"localhst\" }");
    let e = load_ok(&text);
    let err = check_plugins_among(&e, &plugins()).unwrap_err();
    let text = format!("{err:#}");
    assert!(text.contains("unknown network environment `localhst`"), "{text}");
    assert!(text.contains("service `client` lacks parameter `key`, which plugin `aioquic` requires"), "{text}");
    assert!(text.contains("plugin `quic-go` has no parameter `sorce`"), "{text}");
    assert!(
        text.contains("plugin `quic-go`: parameter `timeout-s` expects an integer, found string `\"30\"`"),
        "{text}"
    );
    let help: Vec<String> = err.problems().iter().filter_map(|p| p.help.clone()).collect();
    assert!(help.iter().any(|h| h.contains("similar installed plugins: `localhost`")), "{help:?}");
    assert!(help.iter().any(|h| h.starts_with("did you mean `source`?")), "{help:?}");

    let choice = TWO_SERVICES
        .replace("implementation = \"quic-go\"", "implementation = \"quic-go\"\nparams = { source = \"debain\" }")
        .replace("\"aioquic\"", "\"interop\"");
    let err = check_plugins_among(&load_ok(&choice), &plugins()).unwrap_err();
    let text = format!("{err:#}");
    assert!(
        text.contains("plugin `quic-go`: `debain` is not a valid `source`: choose one of `debian`, `upstream`"),
        "{text}"
    );
    assert!(text.contains("`interop` is a tester plugin, but service `client` is of type `iut`"), "{text}");
}

// The lookup-only form works without a list and says where to look instead.
#[test]
fn check_plugins_with_lookup() {
    let e = load_ok(&TWO_SERVICES.replace("\"aioquic\"", "\"picoquic\""));
    let all = plugins();
    let err = check_plugins(&e, &|n| all.iter().find(|p| p.name == n).cloned()).unwrap_err();
    assert_eq!(err.problems().len(), 1);
    assert!(err.to_string().starts_with("t.toml:6:18: unknown implementation `picoquic`"), "{err}");
    assert_eq!(err.problems()[0].help.as_deref(), Some("`panther-host plugins list` shows the installed plugins"));
}

// Command-line parameters are typed the same way.
#[test]
fn cli_params() {
    let p = &plugins()[0];
    let given = [("source".to_string(), "upstream".to_string()), ("ratio".to_string(), "0.5".to_string())]
        .into_iter()
        .collect();
    let r = params::resolve_cli(p, &given).unwrap();
    assert_eq!(r[0], ("source".to_string(), ParamValue::String("upstream".into())));
    assert_eq!(r[2], ("ratio".to_string(), ParamValue::Float(0.5)));
    let bad =
        [("timeout-s".to_string(), "x".to_string()), ("sauce".to_string(), "a".to_string())].into_iter().collect();
    let e = params::resolve_cli(p, &bad).unwrap_err();
    assert!(e.contains("plugin `quic-go` has no parameter `sauce`; did you mean `source`?"), "{e}");
    assert!(e.contains("parameter `timeout-s` expects an integer, found `x`"), "{e}");
}

// A service may set its own timeout, and loading a real file records its path.
#[test]
fn load_from_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("my-exp.toml");
    std::fs::write(
        &path,
        TWO_SERVICES.replace("[tests.services.server]", "[tests.services.server]\ntimeout = \"10s\""),
    )
    .unwrap();
    let e = load(&path).unwrap();
    assert_eq!(e.name, "my-exp");
    assert_eq!(e.path, path);
    assert_eq!(e.tests[0].service("server").unwrap().timeout, Some(Duration::from_secs(10)));
    let missing = load(&dir.path().join("nope.toml")).unwrap_err();
    assert!(missing.to_string().contains("cannot read experiment file"), "{missing}");
}

// A policy file is resolved next to the experiment and checked.
#[test]
fn policy_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("p.toml"), "allow_shell = true\n").unwrap();
    let path = dir.path().join("e.toml");
    std::fs::write(&path, format!("[experiment]\npolicy = \"p.toml\"\n{TWO_SERVICES}")).unwrap();
    assert_eq!(load(&path).unwrap().settings.policy, PolicyChoice::File(dir.path().join("p.toml")));
    std::fs::write(dir.path().join("p.toml"), "allow_shel = true\n").unwrap();
    let err = format!("{:#}", load(&path).unwrap_err());
    assert!(err.contains("invalid policy file"), "{err}");
    assert!(
        load_err(&format!("[experiment]\npolicy = \"strickt\"\n{TWO_SERVICES}")).contains("unknown policy `strickt`")
    );
}

fn with_link(link: &str) -> String {
    TWO_SERVICES
        .replace("network = { type = \"localhost\" }", &format!("network = {{ type = \"localhost\", link = {link} }}"))
}

// A link's keys become the relay's model; a scenario starts from the simulator's values; an
// interop test case brings the runner's scenario when no link is written; the seed is read.
#[test]
fn links_scenarios_and_seeds() {
    let e = load_ok(&with_link(
        r#"{ scenario = "drop-rate", loss_to_server = "5%", burst = 3, jitter = "2ms", drops_to_client = [3, 1, 3], rebind = { kind = "address", freq = "2s" } }"#,
    ));
    let l = e.tests[0].link().expect("a link");
    assert_eq!((l.delay, l.bandwidth, l.queue), (Duration::from_millis(15), Some(10_000_000), 25));
    assert_eq!((l.loss, l.burst, l.jitter), ([0.05, 0.0], 3, Duration::from_millis(2)));
    assert_eq!(l.drops[1], [1, 3]);
    let r = l.rebind.unwrap();
    assert_eq!(
        (r.kind, r.first, r.every),
        (crate::link::spec::RebindKind::Address, Duration::from_secs(1), Duration::from_secs(2))
    );
    assert!(!e.tests[0].network.params.contains_key("link"), "the environment plugin never sees the link");

    let e = load_ok(&with_link("\"blackhole\""));
    assert!(e.tests[0].link().unwrap().blackhole.is_some());

    let text = format!(
        "[experiment]\nseed = 7\n{}",
        TWO_SERVICES.replace("[tests.services.client]", "testcase = \"transferloss\"\n[tests.services.client]")
    );
    let e = load_ok(&text);
    assert_eq!(e.settings.seed, 7);
    assert_eq!(e.tests[0].link().unwrap().loss, [0.02; 2]);
    let t = &e.tests[0];
    assert_ne!(t.seed(7, 1), t.seed(7, 2), "iterations get their own seed");
    assert_eq!(t.seed(7, 1), t.seed(7, 1));
    assert!(load_ok(TWO_SERVICES).tests[0].link().is_none());
}

// Values a link cannot have are errors at their place, with what to write instead.
#[test]
fn impossible_links_are_located_errors() {
    for (link, at, says) in [
        (r#"{ loss = "150%" }"#, "t.toml:4:", "invalid value for `loss`: 150% is not a probability"),
        (r#"{ loss = 2 }"#, "t.toml:4:", "invalid value for `loss`: 2 is not a probability"),
        (r#"{ bandwidth = "0Mbps" }"#, "t.toml:4:", "a link with no bandwidth carries nothing"),
        (r#"{ bandwidth = "10" }"#, "t.toml:4:", "has no unit"),
        (r#"{ delay = "-15ms" }"#, "t.toml:4:", "a link cannot have a negative delay"),
        (r#"{ delay = "5ms", jitter = "10ms" }"#, "t.toml:4:", "it is larger than `delay`"),
        (r#"{ queue = 0 }"#, "t.toml:4:", "0 is not between 1 and 100000"),
        (r#"{ drops_to_server = [0, 2] }"#, "t.toml:4:", "the first packet is 1"),
        (r#"{ scenario = "drop_rate" }"#, "t.toml:4:", "`drop_rate` is not one of `simple-p2p`, `drop-rate`"),
        (r#"{ los = "2%" }"#, "t.toml:4:", "unknown key `los` in `link`"),
        (r#"{ blackhole = { on = "1s", direction = "up" } }"#, "t.toml:4:", "`up` is not one of"),
        (r#"{ gilbert = { p = "1%" } }"#, "t.toml:4:", "`gilbert` has no `r`"),
    ] {
        let err = load_err(&with_link(link));
        assert!(err.contains(at) && err.contains(says), "{link}: {err}");
    }
}
