//! The mapping from the original's YAML vocabulary to this host's: plugin names, network and
//! execution environments, and every key with what becomes of it.
//!
//! One table serves the converter (what to do with a key, and the reason it gives when there is
//! no equivalent) and `docs/MIGRATING.md` (a test checks that the document holds
//! [`migrating_markdown`]'s output), so the two cannot drift apart.

use super::report::Reason;

/// An implementation (service plugin) of the original and its counterpart here.
pub struct Implementation {
    pub original: &'static str,
    /// `None`: nothing here plays that part.
    pub here: Option<&'static str>,
    pub note: &'static str,
}

pub const IMPLEMENTATIONS: &[Implementation] = &[
    Implementation { original: "panther_ivy", here: Some("ivy"), note: "the Ivy tester" },
    Implementation {
        original: "ivy",
        here: Some("ivy"),
        note: "not a plugin name of the original (its tester is `panther_ivy`); read as the Ivy tester",
    },
    Implementation { original: "picoquic", here: Some("picoquic"), note: "" },
    Implementation {
        original: "picoquic_shadow",
        here: Some("picoquic-shadow"),
        note: "picoquic from the Shadow-compatible fork",
    },
    Implementation { original: "quic_go", here: Some("quic-go"), note: "" },
    Implementation { original: "quiche", here: Some("quiche"), note: "" },
    Implementation { original: "quinn", here: Some("quinn"), note: "" },
    Implementation { original: "lsquic", here: Some("lsquic"), note: "" },
    Implementation { original: "mvfst", here: Some("mvfst"), note: "" },
    Implementation { original: "quant", here: Some("quant"), note: "" },
    Implementation {
        original: "aioquic",
        here: Some("aioquic"),
        note: "the Python plugin, built by `make` (the original's aioquic ran picoquic's binaries)",
    },
    Implementation { original: "ping_pong", here: Some("minip"), note: "MiniP ping-pong; its variants are versions" },
    Implementation { original: "frr_bgp", here: Some("frr-bgp"), note: "" },
    Implementation { original: "libcoap", here: Some("libcoap"), note: "" },
    Implementation {
        original: "panther_fuzz_in_the_middle",
        here: None,
        note: "the original shipped no such plugin either; there is no fuzzing proxy here",
    },
];

/// The plugin for an original implementation name: the table's entry, else the name with `_`
/// written `-` (this host's plugin names use dashes).
pub fn implementation(original: &str) -> (Option<String>, &'static str) {
    match IMPLEMENTATIONS.iter().find(|i| i.original == original) {
        Some(i) => (i.here.map(String::from), i.note),
        None => (Some(original.replace('_', "-")), ""),
    }
}

/// A network environment of the original and its environment plugin here.
pub struct Network {
    pub original: &'static str,
    pub here: &'static str,
    pub note: &'static str,
}

pub const NETWORKS: &[Network] = &[
    Network {
        original: "docker_compose",
        here: "docker-compose",
        note: "one container per service on one bridge network",
    },
    Network {
        original: "localhost_single_container",
        here: "localhost",
        note: "the original merged every service into one container; here they are local processes",
    },
    Network {
        original: "shadow_ns",
        here: "shadow",
        note: "Shadow's network simulation; latency and packet loss become the test's `link`, `stop_time` and `model_unblocked_syscall_latency` stay the environment's",
    },
];

/// An execution environment of the original and the wrapper that does its job here.
pub struct Wrapper {
    pub original: &'static str,
    pub here: &'static str,
    /// Options the wrapper always gets (before those converted from the entry's keys).
    pub options: &'static [&'static str],
    pub note: &'static str,
}

pub const WRAPPERS: &[Wrapper] = &[
    Wrapper { original: "strace", here: "strace", options: &[], note: "" },
    Wrapper { original: "gdb", here: "gdb", options: &[], note: "batch mode, backtrace on a signal" },
    Wrapper { original: "memcheck", here: "valgrind", options: &[], note: "valgrind's default tool is memcheck" },
    Wrapper { original: "helgrind", here: "valgrind", options: &["--tool=helgrind"], note: "" },
    Wrapper {
        original: "gperf_cpu",
        here: "perf",
        options: &[],
        note: "gperftools' CPU profiler is not wrapped here; `perf record -g` samples the same process",
    },
    Wrapper {
        original: "gperf_heap",
        here: "valgrind",
        options: &["--tool=massif", "--massif-out-file={{dirs.logs}}/massif.out"],
        note: "gperftools' heap profiler is not wrapped here; valgrind's massif profiles the heap",
    },
];

/// What becomes of one YAML key. `yaml` is a pattern: `[]` stands for any list index and `*`
/// for any service name.
pub struct KeyRule {
    pub yaml: &'static str,
    /// Where it goes in the TOML; `None` when it is not converted.
    pub toml: Option<&'static str>,
    /// Why it is not converted (`None` when it is).
    pub reason: Option<Reason>,
    pub why: &'static str,
}

const fn to(yaml: &'static str, toml: &'static str, why: &'static str) -> KeyRule {
    KeyRule { yaml, toml: Some(toml), reason: None, why }
}

const fn ignored(yaml: &'static str, why: &'static str) -> KeyRule {
    KeyRule { yaml, toml: None, reason: Some(Reason::IgnoredByOriginal), why }
}

const fn differs(yaml: &'static str, why: &'static str) -> KeyRule {
    KeyRule { yaml, toml: None, reason: Some(Reason::DoneDifferently), why }
}

pub const KEYS: &[KeyRule] = &[
    // Global settings.
    to("name", "[experiment] name", "the original took the name from `--experiment-name` and ignored this key"),
    to("logging.level", "[experiment] log_level", "lower-cased; `WARNING` → `warn`, `CRITICAL` → `error`"),
    differs("logging.format", "the log format is fixed; `-v`/`-vv` and `RUST_LOG` choose what is logged"),
    differs("logging.enable_colors", "colours follow the terminal; `NO_COLOR` turns them off"),
    differs("logging.debug_file_logging", "every run writes `events.jsonl` and every command's stdout and stderr"),
    differs("logging.feature_levels", "per-module levels are `RUST_LOG` filters, such as `RUST_LOG=panther_host::exec=debug`"),
    differs("logging.statistics", "the run's figures are in `experiment_summary.json` and `EXPERIMENT_REPORT.md`"),
    to("paths.output_dir", "[experiment] output_dir", "relative to the current directory, as in the original"),
    differs("paths.log_dir", "logs are written inside each run's directory, per test and service"),
    ignored("paths.config_dir", "not a field of the original's `PathsConfig`"),
    differs("paths.plugin_dir", "more plugin directories are given with `--plugin-dir DIR` or `PANTHER_PLUGIN_PATH`"),
    differs("paths.cert_dir", "the host makes one CA and leaf certificate per run under `certs/`"),
    differs("paths.temp_dir", "each test has its own work directories in the run directory"),
    differs("docker", "images are built from the plugins' image specs and cached by content; no registry, buildx or user mapping"),
    differs("progress", "progress is shown on a terminal; `-q` keeps only errors"),
    differs("observers", "every event is written to the run's `events.jsonl`; there are no observer plugins"),
    differs("metrics", "timings are in `experiment_summary.json`; no metrics publisher"),
    to("fast_fail.enabled", "[experiment] fast_fail", "the original stopped on critical infrastructure errors; here `fast_fail` stops after the first failed test, and infrastructure errors always stop the run"),
    differs("fast_fail.*", "error categories, cascades and thresholds: any build, plugin, policy or executor error stops the run here"),
    ignored("global", "not a section of the original's `GlobalConfig`: files with `global:`/`test_suite:` were not read by it"),
    ignored("features", "not a section of the original's `GlobalConfig`"),
    ignored("version", "the configuration format version; there is one format here"),
    to("test_suite.tests", "[[tests]]", "the original read only a top-level `tests` list and refused such files; their tests are converted"),
    ignored("test_suite.*", "the original did not read `test_suite`"),
    // Tests.
    to("tests[].name", "[[tests]] name", ""),
    to("tests[].description", "[[tests]] description", ""),
    to("tests[].network_environment.type", "network.type", "`docker_compose` → `docker-compose`, `localhost_single_container` → `localhost`, `shadow_ns` → `shadow`"),
    to("tests[].network_environment.general.stop_time", "network.stop_time", "shadow_ns: a duration"),
    to("tests[].network_environment.network.latency", "network.link.delay", "shadow_ns: milliseconds → duration; the simulated link's one-way latency"),
    differs("tests[].network_environment.network.jitter", "Shadow's jitter does not work (its own documentation says so); a simulated link here has none"),
    to("tests[].network_environment.network.packet_loss", "network.link.loss", "shadow_ns: a fraction, both directions"),
    differs("tests[].network_environment.host_option_defaults.pcap_enabled", "every simulated host is captured here"),
    to("tests[].network_environment.general.model_unblocked_syscall_latency", "network.model_unblocked_syscall_latency", "shadow_ns"),
    differs("tests[].network_environment.experimental.strace_logging_mode", "Shadow's syscall logging is not offered; each process's output and capture are kept"),
    differs("tests[].network_environment.version", "the host writes the compose file itself"),
    differs("tests[].network_environment.deploy_timeout", "images are built before the test starts; the test's `timeout` bounds the run"),
    differs("tests[].network_environment.enable_background_monitoring", "the host watches every service for the whole test"),
    differs("tests[].network_environment.monitoring_interval_seconds", "the host watches every service for the whole test"),
    differs("tests[].network_environment.failure_threshold_count", "a critical command that fails ends the test"),
    differs("tests[].network_environment.allow_partial_deployment", "a test runs with all its services or not at all"),
    differs("tests[].network_environment.critical_services", "plugins mark their commands critical"),
    to("tests[].network_environment.plugin_config", "network.*", "each key as if written in `network_environment`"),
    to("tests[].execution_environment[].type", "[[tests]] execution = [{ type }]", "`strace`, `gdb`; `memcheck`, `helgrind`, `gperf_heap` → `valgrind` (tools memcheck, helgrind, massif); `gperf_cpu` → `perf`"),
    to("tests[].execution_environment[].excluded_syscalls", "execution options `-e trace=!…`", "strace"),
    to("tests[].execution_environment[].trace_all_syscalls", "execution options", "strace: `true` is strace's default (all calls); `false` with `trace_network_syscalls` traces network calls"),
    to("tests[].execution_environment[].trace_network_syscalls", "execution options `-e trace=%network,read,write`", "strace, when `trace_all_syscalls` is false (the original also named `send` and `recv`, which x86-64 does not have)"),
    to("tests[].execution_environment[].include_kernel_stack", "execution options `-k`", "strace"),
    to("tests[].execution_environment[].additional_parameters", "execution options", "appended as written"),
    to("tests[].execution_environment[].leak_check", "execution options `--leak-check=`", "memcheck; `true` → `full`"),
    to("tests[].execution_environment[].track_origins", "execution options `--track-origins=yes`", "memcheck"),
    to("tests[].execution_environment[].show_reachable", "execution options `--show-reachable=yes`", "memcheck"),
    to("tests[].execution_environment[].history_level", "execution options `--history-level=`", "helgrind"),
    to("tests[].execution_environment[].sampling_frequency", "execution options `-F`", "gperf_cpu → perf"),
    to("tests[].execution_environment[].plugin_config", "execution options", "each key as if written on the entry"),
    differs("tests[].execution_environment[].enabled", "an entry that is present is applied; `enabled: false` entries are left out"),
    differs("tests[].execution_environment[].strace_binary", "the wrapper runs the tool found on `PATH` (judged by the policy)"),
    differs("tests[].execution_environment[].gdb_binary", "the wrapper runs the tool found on `PATH` (judged by the policy)"),
    differs("tests[].execution_environment[].auto_backtrace", "the gdb wrapper always prints a backtrace when the program stops"),
    differs("tests[].execution_environment[].enable_core_dumps", "no core dumps are collected; the gdb wrapper prints the backtrace instead"),
    differs("tests[].execution_environment[].output_format", "the wrapper's output file and format are fixed (`{{dirs.logs}}/<tool>.log`)"),
    differs("tests[].execution_environment[].output_file", "the wrapper's output file and format are fixed (`{{dirs.logs}}/<tool>.log`)"),
    ignored("tests[].execution_environment[].timeout", "the original's wrappers did not apply it (disabled in its strace and memcheck code); the service's `timeout` applies"),
    ignored("tests[].execution_environment[].generate_detailed_analysis", "not read by the original's strace plugin"),
    ignored("tests[].execution_environment[].timestamps", "not read by the original's strace plugin (the wrapper here always uses `-tt`)"),
    ignored("tests[].execution_environment[].string_limit", "declared but not read by the original's strace plugin"),
    ignored("tests[].debug_environment", "not a field of the original's test model"),
    ignored("tests[].execution_environments", "not a field of the original's test model (it reads `execution_environment`)"),
    to("tests[].services", "[tests.services.NAME]", "the key is the service's name and host name"),
    to("tests[].steps.wait", "[[tests]] wait", "seconds → duration; the settle time once every service is ready"),
    differs("tests[].steps.pre_commands", "the host runs only what plugins plan and the policy allows"),
    differs("tests[].steps.post_commands", "the host runs only what plugins plan and the policy allows"),
    to("tests[].iterations", "[[tests]] iterations", ""),
    to("tests[].timeout", "[[tests]] timeout", "seconds → duration"),
    differs("tests[].fast_fail_enabled", "fast-fail is one experiment-wide switch, `[experiment] fast_fail`"),
    differs("tests[].continue_on_failure", "every test runs to its end unless `fast_fail` is set"),
    differs("tests[].collect_artifacts", "artifacts are always collected"),
    differs("tests[].assertions", "readiness and verdicts come from the plugins and the captured traffic; services have no HTTP health endpoint"),
    ignored("tests[].should_be_ignore", "an extra key the original tolerated and never read"),
    ignored("tests[].generate_new_certificates", "a service key, not read at test level"),
    ignored("tests[].type", "not a field of the original's test model"),
    ignored("tests[].testname", "not a field of the original's test model"),
    // Services.
    to("tests[].services.*.name", "the service's key", "the original named services by their key too"),
    to("tests[].services.*.implementation.name", "implementation", "plugin names: see the table of implementations"),
    to("tests[].services.*.implementation.type", "type", "`iut` → `iut`, `testers` → `tester` (any case)"),
    to("tests[].services.*.implementation.test", "params.test", "the Ivy test"),
    to("tests[].services.*.implementation.*", "params.*", "when the plugin declares a parameter of that name and type"),
    differs("tests[].services.*.implementation.version", "`protocol.version` selects the plugin's version"),
    to("tests[].services.*.protocol.name", "protocol.name", ""),
    to("tests[].services.*.protocol.version", "protocol.version", "as the plugin names its versions"),
    to("tests[].services.*.protocol.role", "protocol.role", "for a tester, the role the tester plays"),
    to("tests[].services.*.protocol.target", "protocol.target", ""),
    to("tests[].services.*.timeout", "timeout", "seconds → duration"),
    to("tests[].services.*.plugin_config", "params.*", "when the plugin declares a parameter of that name and type"),
    differs("tests[].services.*.ports", "plugins declare their ports and the host assigns them; nothing is published on the host"),
    differs("tests[].services.*.generate_new_certificates", "the host makes one CA and leaf certificate per run for every service"),
    differs("tests[].services.*.docker", "images are built from the plugins' image specs and cached by content"),
    differs("tests[].services.*.environment", "plugins set their commands' environment; the host passes a reduced one"),
    differs("tests[].services.*.volumes", "each service gets its own directories in the run; nothing else is mounted"),
    differs("tests[].services.*.network", "plugins declare their ports and addresses"),
    differs("tests[].services.*.command_override", "commands come from the plugin; `implementation = \"command\"` runs a given program"),
    ignored("tests[].services.*.should_be_ignore", "an extra key the original tolerated and never read"),
];

/// The rule for a key's pattern (`tests[].services.*.ports`): the exact one, else the
/// nearest enclosing `prefix.*` rule.
pub fn rule(pattern: &str) -> Option<&'static KeyRule> {
    if let Some(r) = KEYS.iter().find(|r| r.yaml == pattern) {
        return Some(r);
    }
    let mut p = pattern;
    while let Some((parent, _)) = p.rsplit_once('.') {
        let wild = format!("{parent}.*");
        if let Some(r) = KEYS.iter().find(|r| r.yaml == wild) {
            return Some(r);
        }
        p = parent;
    }
    None
}

/// The mapping tables as Markdown, for `docs/MIGRATING.md`.
pub fn migrating_markdown() -> String {
    let mut out = String::new();
    out.push_str("### Keys\n\n| original (YAML) | here (TOML) | notes |\n|---|---|---|\n");
    for r in KEYS {
        let here = match (r.toml, r.reason) {
            (Some(t), _) => format!("`{t}`"),
            (None, Some(reason)) => format!("— ({})", reason.label()),
            (None, None) => "—".into(),
        };
        out.push_str(&format!("| `{}` | {here} | {} |\n", r.yaml, cell(r.why)));
    }
    out.push_str("\n### Implementations\n\n| original | plugin here | notes |\n|---|---|---|\n");
    for i in IMPLEMENTATIONS {
        let here = i.here.map(|h| format!("`{h}`")).unwrap_or_else(|| "—".into());
        out.push_str(&format!("| `{}` | {here} | {} |\n", i.original, cell(i.note)));
    }
    out.push_str("| any other `a_b` | `a-b` | this host's plugin names use dashes |\n");
    out.push_str("\n### Network environments\n\n| original | plugin here | notes |\n|---|---|---|\n");
    for n in NETWORKS {
        out.push_str(&format!("| `{}` | `{}` | {} |\n", n.original, n.here, cell(n.note)));
    }
    out.push_str("\n### Execution environments\n\n| original | wrapper here | notes |\n|---|---|---|\n");
    for w in WRAPPERS {
        let opts = if w.options.is_empty() { String::new() } else { format!(" with `{}`", w.options.join(" ")) };
        out.push_str(&format!("| `{}` | `{}`{opts} | {} |\n", w.original, w.here, cell(w.note)));
    }
    out
}

fn cell(s: &str) -> String {
    s.replace('|', "\\|")
}

#[cfg(test)]
mod tests {
    use super::*;

    // docs/MIGRATING.md holds the tables exactly as the importer uses them.
    #[test]
    fn migrating_doc_is_generated_from_the_tables() {
        let doc = include_str!("../../../docs/MIGRATING.md");
        let table = migrating_markdown();
        assert!(
            doc.contains(&table),
            "docs/MIGRATING.md is out of date; regenerate its tables with `panther-host import --mapping`:\n{table}"
        );
    }

    // Patterns are unique, and prefix rules catch the keys under them.
    #[test]
    fn rules() {
        let mut seen = std::collections::HashSet::new();
        for r in KEYS {
            assert!(seen.insert(r.yaml), "{} twice", r.yaml);
            assert_eq!(r.toml.is_some(), r.reason.is_none(), "{}", r.yaml);
        }
        assert_eq!(rule("fast_fail.max_errors_before_fail").unwrap().yaml, "fast_fail.*");
        assert_eq!(rule("fast_fail.enabled").unwrap().yaml, "fast_fail.enabled");
        assert_eq!(
            rule("tests[].services.*.implementation.z3_source").unwrap().yaml,
            "tests[].services.*.implementation.*"
        );
        assert!(rule("nothing.here").is_none());
    }
}
