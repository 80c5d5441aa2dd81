//! The walk over an original experiment file: every key is either converted (and its line
//! noted in a comment) or becomes a [`Note`] with its reason. Plugin names, versions, roles and
//! parameters are checked against the installed plugins when they are known, so that a
//! converted file either validates or the notes say why it will not.

use std::time::Duration;

use toml_edit::{Array, InlineTable, Value as TV};

use super::emit::{Block, Doc, Entry, Service, Test};
use super::report::{ImportError, Note, Reason};
use super::tables;
use super::yaml::{Node, Value};
use crate::config::Source;
use crate::plugin::types::{PluginInfo, PluginKind, Role};

/// The host's default test limit, which a converted test keeps unless its services need more.
const DEFAULT_TEST_TIMEOUT: Duration = crate::config::DEFAULT_TEST_TIMEOUT;
/// The original's default service timeout (`ServiceConfig.timeout`), in seconds.
const ORIGINAL_SERVICE_TIMEOUT: u64 = 60;

/// Converts a parsed file. `plugins`: the installed plugins, when they could be opened.
pub fn convert(
    source: &Source,
    stem: &str,
    root: &Node,
    plugins: Option<&[PluginInfo]>,
) -> Result<(Doc, Vec<Note>), ImportError> {
    let mut cx = Cx { plugins, notes: vec![], doc: Doc::default() };
    if !matches!(root.value, Value::Map(_)) {
        return Err(super::report::refused_at(
            source,
            "not_an_experiment",
            root.span,
            "expected a mapping with `tests`",
            format!("this is not a PANTHER experiment file: its top level is {}", root.describe()),
        )
        .help("an experiment file is a mapping with a `tests` list (and optional `logging`, `paths`, ... sections)"));
    }
    let tests_node = match (root.get("tests"), root.get("test_suite").and_then(|s| s.get("tests"))) {
        (Some(t), _) => t,
        (None, Some(t)) => t,
        (None, None) => {
            let keys: Vec<String> = root.entries().iter().filter_map(|(k, _)| k.scalar_text()).collect();
            let first = root.entries().first().map(|(k, _)| k.span).unwrap_or(root.span);
            return Err(super::report::refused_at(
                source,
                "no_tests",
                first,
                "no `tests` here",
                format!(
                    "this is not a PANTHER experiment file: it has no `tests` list (its top-level keys are {})",
                    keys.iter().map(|k| format!("`{k}`")).collect::<Vec<_>>().join(", ")
                ),
            )
            .help("the original refuses such files too (\"At least one test must be defined\"); an experiment lists its tests under `tests:`"));
        }
    };
    let Value::Seq(tests) = &tests_node.value else {
        return Err(super::report::refused_at(
            source,
            "no_tests",
            tests_node.span,
            "expected a list of tests",
            format!("`tests` is {}, not a list of tests", tests_node.describe()),
        )
        .help("write each test as a list item: `tests:\\n  - name: ...`"));
    };
    if tests.is_empty() {
        return Err(super::report::refused_at(
            source,
            "no_tests",
            tests_node.span,
            "empty",
            "`tests` is an empty list",
        )
        .help("the original refuses it too (\"At least one test must be defined\"); add a test"));
    }

    cx.doc.header = vec![
        format!("Converted by `panther-host import` from {}.", source.name),
        "Comments give the YAML line each value came from; `not converted` lines list the".into(),
        "keys without an equivalent here, with the reason (see docs/MIGRATING.md).".into(),
    ];
    cx.global(root, stem);
    let test_prefix = if root.get("tests").is_some() { "tests" } else { "test_suite.tests" };
    let mut names = std::collections::HashMap::new();
    for (i, t) in tests.iter().enumerate() {
        let test = cx.test(t, &format!("{test_prefix}[{i}]"), &mut names);
        cx.doc.tests.push(test);
    }
    Ok((cx.doc, cx.notes))
}

struct Cx<'p> {
    plugins: Option<&'p [PluginInfo]>,
    notes: Vec<Note>,
    doc: Doc,
}

/// Where a key is: its display path (`tests[0].services.server.ports`) and its pattern
/// (`tests[].services.*.ports`), which the tables use.
#[derive(Clone)]
struct At {
    path: String,
    pat: String,
}

impl At {
    fn root() -> At {
        At { path: String::new(), pat: String::new() }
    }

    fn key(&self, k: &str) -> At {
        if self.path.is_empty() {
            At { path: k.to_string(), pat: k.to_string() }
        } else {
            At { path: format!("{}.{k}", self.path), pat: format!("{}.{k}", self.pat) }
        }
    }

    fn index(&self, i: usize) -> At {
        At { path: format!("{}[{i}]", self.path), pat: format!("{}[]", self.pat) }
    }

    /// A service: any name matches `*` in patterns.
    fn service(&self, name: &str) -> At {
        At { path: format!("{}.{name}", self.path), pat: format!("{}.*", self.pat) }
    }
}

impl Cx<'_> {
    fn note(&mut self, at: &At, line: usize, reason: Reason, detail: impl Into<String>) -> Note {
        let n = Note { path: at.path.clone(), line, reason, detail: detail.into() };
        self.notes.push(n.clone());
        n
    }

    /// A note for a key whose fate the tables decide (or, when they do not know it, an extra
    /// key the original's loader tolerated and nothing read).
    fn by_rule(&mut self, at: &At, key: &Node, val: &Node) -> Note {
        match tables::rule(&at.pat) {
            Some(r) if r.reason.is_some() => {
                let detail = with_children(r.why, val);
                self.note(at, key.line, r.reason.unwrap_or(Reason::DoneDifferently), detail)
            }
            _ => self.note(
                at,
                key.line,
                Reason::IgnoredByOriginal,
                with_children(
                    "not part of the original's configuration model; its loader tolerated it and nothing read it",
                    val,
                ),
            ),
        }
    }

    fn global(&mut self, root: &Node, stem: &str) {
        let r = At::root();
        let mut comments = vec![];
        let mut entries = vec![];
        let name = root.get("name").and_then(Node::scalar_text);
        match (&name, root.entries().into_iter().find(|(k, _)| k.as_str() == Some("name"))) {
            (Some(n), Some((k, _))) => {
                entries.push(Entry::new("name", n.as_str(), format!("name, line {}", k.line)));
            }
            _ => entries.push(Entry::new(
                "name",
                stem,
                "not in the original (it took `--experiment-name`): the YAML file's stem",
            )),
        }
        for (k, v) in root.entries() {
            let Some(key) = k.scalar_text() else { continue };
            let at = r.key(&key);
            match key.as_str() {
                "tests" | "name" => {}
                "test_suite" => {
                    for (k2, v2) in v.entries() {
                        let key2 = k2.scalar_text().unwrap_or_default();
                        if key2 == "tests" {
                            let n = self.note(
                                &at.key("tests"),
                                k2.line,
                                Reason::IgnoredByOriginal,
                                "the original read only a top-level `tests` list and refused this file; its tests are converted below",
                            );
                            comments.push(note_comment(&n));
                        } else {
                            let n = self.by_rule(&at.key(&key2), k2, v2);
                            comments.push(note_comment(&n));
                        }
                    }
                }
                "logging" => {
                    for (k2, v2) in v.entries() {
                        let key2 = k2.scalar_text().unwrap_or_default();
                        if key2 == "level" {
                            match v2.scalar_text().and_then(|l| log_level(&l)) {
                                Some(l) => {
                                    entries.push(Entry::new("log_level", l, format!("logging.level, line {}", k2.line)))
                                }
                                None => {
                                    let n = self.note(&at.key("level"), k2.line, Reason::IgnoredByOriginal, format!("{} is not a level the original knew (DEBUG, INFO, WARNING, ERROR, CRITICAL)", v2.describe()));
                                    comments.push(note_comment(&n));
                                }
                            }
                        } else {
                            let n = self.by_rule(&at.key(&key2), k2, v2);
                            comments.push(note_comment(&n));
                        }
                    }
                }
                "paths" => {
                    for (k2, v2) in v.entries() {
                        let key2 = k2.scalar_text().unwrap_or_default();
                        if key2 == "output_dir" && v2.as_str().is_some() {
                            entries.push(Entry::new(
                                "output_dir",
                                v2.as_str().unwrap_or("outputs"),
                                format!("paths.output_dir, line {}", k2.line),
                            ));
                        } else {
                            let n = self.by_rule(&at.key(&key2), k2, v2);
                            comments.push(note_comment(&n));
                        }
                    }
                }
                "fast_fail" => {
                    for (k2, v2) in v.entries() {
                        let key2 = k2.scalar_text().unwrap_or_default();
                        if let ("enabled", Value::Bool(b)) = (key2.as_str(), &v2.value) {
                            entries.push(Entry::new(
                                "fast_fail",
                                *b,
                                format!("fast_fail.enabled, line {}; here: stop after the first failed test", k2.line),
                            ));
                        } else {
                            let n = self.by_rule(&at.key(&key2), k2, v2);
                            comments.push(note_comment(&n));
                        }
                    }
                }
                _ => {
                    let n = self.by_rule(&at, k, v);
                    comments.push(note_comment(&n));
                }
            }
        }
        if root.get("fast_fail").and_then(|f| f.get("enabled")).is_none() {
            comments.push(
                "fast_fail: not set; the original's default (enabled) stopped only on critical infrastructure errors, which always stop a run here".into(),
            );
        }
        self.doc.experiment = Block { comments, entries };
    }

    fn test(&mut self, t: &Node, path: &str, names: &mut std::collections::HashMap<String, usize>) -> Test {
        let at = At { path: path.to_string(), pat: "tests[]".to_string() };
        let mut comments = vec![];
        let mut entries = vec![];
        let mut services = vec![];
        let index: usize = path.rsplit('[').next().and_then(|s| s.trim_end_matches(']').parse().ok()).unwrap_or(0);
        let name = t.get("name").and_then(Node::scalar_text).unwrap_or_else(|| format!("test {}", index + 1));
        let name_line =
            t.entries().iter().find(|(k, _)| k.as_str() == Some("name")).map(|(k, _)| k.line).unwrap_or(t.line);
        if let Some(first) = names.insert(name.clone(), name_line) {
            let n = self.note(&at.key("name"), name_line, Reason::IgnoredByOriginal, format!("validate refuses this: a second test named {name:?} (first on line {first}); the original refused duplicate test names too"));
            comments.push(note_comment(&n));
        }
        entries.push(Entry::new("name", name.as_str(), format!("{path}, line {}", t.line)));
        if let Some(d) = t.get("description").and_then(Node::scalar_text) {
            entries.push(Entry::new("description", d.as_str(), ""));
        }
        let mut wait: Option<u64> = None;
        let mut wait_entry: Option<Entry> = None;
        let mut test_timeout: Option<u64> = None;
        let mut network: Option<(InlineTable, String)> = None;
        let mut execution: Option<(Array, String)> = None;
        let mut iterations: Option<(i64, usize)> = None;
        let mut services_node: Option<(&Node, &Node)> = None;
        for (k, v) in t.entries() {
            let Some(key) = k.scalar_text() else { continue };
            let kat = at.key(&key);
            match key.as_str() {
                "name" | "description" => {}
                "network_environment" => network = Some(self.network(&kat, k, v, &mut comments)),
                "execution_environment" => execution = Some(self.execution(&kat, k, v, &mut comments)),
                "services" => services_node = Some((k, v)),
                "iterations" => match v.value {
                    Value::Int(i) if (1..=10_000).contains(&i) => iterations = Some((i, k.line)),
                    _ => {
                        let n = self.note(
                            &kat,
                            k.line,
                            Reason::IgnoredByOriginal,
                            format!("{} is not a number of iterations (1 to 10000); left at 1", v.describe()),
                        );
                        comments.push(note_comment(&n));
                    }
                },
                "timeout" => match seconds(v) {
                    Some(s) => test_timeout = Some(s),
                    None => {
                        let n = self.note(
                            &kat,
                            k.line,
                            Reason::IgnoredByOriginal,
                            format!("{} is not a number of seconds", v.describe()),
                        );
                        comments.push(note_comment(&n));
                    }
                },
                "steps" => {
                    for (k2, v2) in v.entries() {
                        let key2 = k2.scalar_text().unwrap_or_default();
                        match (key2.as_str(), seconds(v2)) {
                            ("wait", Some(s)) => wait = Some(s),
                            _ => {
                                let n = self.by_rule(&kat.key(&key2), k2, v2);
                                comments.push(note_comment(&n));
                            }
                        }
                    }
                    if let Some(w) = wait {
                        let line = v.get("wait").map(|n| n.line).unwrap_or(k.line);
                        wait_entry = Some(Entry::new(
                            "wait",
                            format!("{w}s"),
                            format!("steps.wait: {w} (seconds), line {line}"),
                        ));
                    }
                }
                _ => {
                    let n = self.by_rule(&kat, k, v);
                    comments.push(note_comment(&n));
                }
            }
        }
        match network {
            Some((table, comment)) => entries.push(Entry::new("network", TV::InlineTable(table), comment)),
            None => {
                let n = self.note(
                    &at,
                    t.line,
                    Reason::IgnoredByOriginal,
                    "validate refuses this: the test has no `network_environment` (the original required one too)",
                );
                comments.push(note_comment(&n));
            }
        }
        if let Some((arr, comment)) = execution {
            if !arr.is_empty() {
                entries.push(Entry::new("execution", TV::Array(arr), comment));
            }
        }
        if let Some((i, line)) = iterations {
            entries.push(Entry::new("iterations", i, format!("line {line}")));
        }
        entries.extend(wait_entry);
        // Services: converted after the test's own keys so that their timeouts can size the test's.
        let mut longest = 0u64;
        let mut testers = vec![];
        match services_node {
            Some((_, v)) if !v.entries().is_empty() => {
                let sat = at.key("services");
                let siblings: Vec<String> = v.entries().iter().filter_map(|(k, _)| k.scalar_text()).collect();
                let mut links = vec![];
                for (k, sv) in v.entries() {
                    let Some(sname) = k.scalar_text() else { continue };
                    let (svc, timeout, tester, role, target) =
                        self.service(&sat.service(&sname), &sname, k, sv, &siblings);
                    longest = longest.max(timeout);
                    if tester {
                        testers.push(sname.clone());
                    }
                    links.push((sname.clone(), role, target));
                    services.push(svc);
                }
                self.break_cycles(&sat, &links, &mut services);
            }
            Some((k, _)) => {
                let n = self.note(
                    &at.key("services"),
                    k.line,
                    Reason::IgnoredByOriginal,
                    "validate refuses this: the test has no services (the original refused it too); add them",
                );
                comments.push(note_comment(&n));
            }
            None => {
                let n = self.note(
                    &at,
                    t.line,
                    Reason::IgnoredByOriginal,
                    "validate refuses this: the test has no `services` (the original refused it too); add them",
                );
                comments.push(note_comment(&n));
            }
        }
        if testers.len() > 1 {
            let n = self.note(
                &at.key("services"),
                t.line,
                Reason::DoneDifferently,
                format!(
                    "validate refuses this: a test has at most one tester here, this one has {}",
                    testers.join(", ")
                ),
            );
            comments.push(note_comment(&n));
        }
        // The original had no limit for a whole test: services ran for their own timeouts
        // after the settle time. Keep the host's default unless that is shorter.
        match test_timeout {
            Some(s) => entries.push(Entry::new("timeout", format!("{s}s"), format!("timeout: {s} (seconds)"))),
            None => {
                let needed = longest + wait.unwrap_or(0);
                if Duration::from_secs(needed) > DEFAULT_TEST_TIMEOUT {
                    entries.push(Entry::new(
                        "timeout",
                        format!("{needed}s"),
                        "not in the original: its longest service timeout plus steps.wait (the default, 5m, is shorter)",
                    ));
                }
            }
        }
        Test { block: Block { comments, entries }, services }
    }

    /// A server (or peer) whose `target` points back at its own client: the original used it
    /// only to know the peer's address, but here a service starts after its target, so the
    /// pair would be a cycle. The server's `target` is dropped; the client's stays.
    fn break_cycles(
        &mut self,
        at: &At,
        links: &[(String, Option<Role>, Option<(String, usize)>)],
        services: &mut [Service],
    ) {
        for (name, role, target) in links {
            let Some((t, line)) = target else { continue };
            let back = links.iter().any(|(n, _, tt)| n == t && tt.as_ref().is_some_and(|(x, _)| x == name));
            if !back || !matches!(role, Some(Role::Server | Role::Peer)) {
                continue;
            }
            let n = self.note(&at.service(name).key("protocol").key("target"), *line, Reason::DoneDifferently, format!("`{t}` targets this service, and a service starts after its target here, so the two would form a cycle; a server needs no target (the plugins are told about every peer)"));
            if let Some(s) = services.iter_mut().find(|s| &s.name == name) {
                s.block.comments.push(note_comment(&n));
                for e in &mut s.block.entries {
                    if let (true, TV::InlineTable(p)) = (e.key == "protocol", &mut e.value) {
                        p.remove("target");
                    }
                }
            }
        }
    }

    fn network(&mut self, at: &At, key: &Node, v: &Node, comments: &mut Vec<String>) -> (InlineTable, String) {
        let mut table = InlineTable::new();
        let original = v.get("type").and_then(Node::scalar_text).unwrap_or_default();
        let here = match tables::NETWORKS.iter().find(|n| n.original == original) {
            Some(n) => n.here.to_string(),
            None => original.replace('_', "-"),
        };
        table.insert("type", here.as_str().into());
        let mut comment =
            format!("network_environment.type: {original}, line {}", v.get("type").map(|n| n.line).unwrap_or(key.line));
        let info = self.find(&here).cloned();
        if let Some(plugins) = self.plugins {
            match &info {
                None => {
                    let known: Vec<&str> =
                        plugins.iter().filter(|p| p.kind == PluginKind::Environment).map(|p| p.name.as_str()).collect();
                    let n = self.note(
                        &at.key("type"),
                        key.line,
                        Reason::NoPlugin,
                        format!(
                            "validate refuses this: no network environment plugin `{here}` is installed (there are {})",
                            known.join(", ")
                        ),
                    );
                    comments.push(note_comment(&n));
                }
                Some(i) if i.kind != PluginKind::Environment => {
                    let n = self.note(
                        &at.key("type"),
                        key.line,
                        Reason::NoPlugin,
                        format!("validate refuses this: `{here}` is not a network environment plugin"),
                    );
                    comments.push(note_comment(&n));
                }
                _ => {}
            }
        }
        let mut flat: Vec<(At, &Node, &Node)> = vec![];
        for (k, val) in v.entries() {
            let Some(name) = k.scalar_text() else { continue };
            match name.as_str() {
                "type" => {}
                // Shadow's groups and plugin_config are flattened: network parameters are flat.
                "general" | "network" | "experimental" | "host_option_defaults" | "plugin_config"
                    if matches!(val.value, Value::Map(_)) =>
                {
                    for (k2, v2) in val.entries() {
                        if let Some(n2) = k2.scalar_text() {
                            let sub = if name == "plugin_config" { at.key(&n2) } else { at.key(&name).key(&n2) };
                            let shown = At { path: at.key(&name).key(&n2).path, pat: sub.pat };
                            flat.push((shown, k2, v2));
                        }
                    }
                }
                _ => flat.push((at.key(&name), k, val)),
            }
        }
        // Keys the tables send to `network.link.*` (Shadow's latency and loss) go into one
        // `link` table, the host's own key.
        let mut link = InlineTable::new();
        for (kat, k, val) in flat {
            let Some(rule) = tables::rule(&kat.pat) else {
                let n = self.by_rule(&kat, k, val);
                comments.push(note_comment(&n));
                continue;
            };
            let Some(target) = rule.toml.and_then(|t| t.strip_prefix("network.")) else {
                let n = self.by_rule(&kat, k, val);
                comments.push(note_comment(&n));
                continue;
            };
            let value: Option<TV> = match (target, &val.value) {
                ("link.delay", Value::Int(ms)) => Some(format!("{ms}ms").into()),
                ("link.delay", Value::Float(ms)) => Some(format!("{}us", (ms * 1000.0).round() as i64).into()),
                ("link.loss", Value::Int(0)) => Some(TV::from(0.0)),
                ("stop_time", Value::Int(s)) => Some(format!("{s}s").into()),
                (_, Value::Str(s)) => Some(s.as_str().into()),
                (_, Value::Int(i)) => Some((*i).into()),
                (_, Value::Float(f)) => Some((*f).into()),
                (_, Value::Bool(b)) => Some((*b).into()),
                _ => None,
            };
            if let (Some(key), Some(tv)) = (target.strip_prefix("link."), &value) {
                link.insert(key, tv.clone());
                comment.push_str(&format!("; link.{key}: line {}", k.line));
                continue;
            }
            let declared = info.as_ref().map(|i| i.parameters.iter().any(|p| p.name == target)).unwrap_or(true);
            match value {
                Some(tv) if declared => {
                    table.insert(target, tv);
                    comment.push_str(&format!("; {target}: line {}", k.line));
                }
                Some(_) => {
                    let n = self.note(
                        &kat,
                        k.line,
                        Reason::NoPlugin,
                        format!("the `{here}` plugin declares no parameter `{target}`"),
                    );
                    comments.push(note_comment(&n));
                }
                None => {
                    let n = self.note(
                        &kat,
                        k.line,
                        Reason::IgnoredByOriginal,
                        format!("{} is not a value the original's `{original}` took here", val.describe()),
                    );
                    comments.push(note_comment(&n));
                }
            }
        }
        if !link.is_empty() {
            table.insert("link", TV::InlineTable(link));
        }
        (table, comment)
    }

    fn execution(&mut self, at: &At, key: &Node, v: &Node, comments: &mut Vec<String>) -> (Array, String) {
        let mut arr = Array::new();
        let items: Vec<(At, &Node)> = match &v.value {
            Value::Seq(items) => items.iter().enumerate().map(|(i, n)| (at.index(i), n)).collect(),
            Value::Map(_) => {
                let n = self.note(
                    at,
                    key.line,
                    Reason::IgnoredByOriginal,
                    "a single mapping where the original required a list (it refused the file); converted as one entry",
                );
                comments.push(note_comment(&n));
                vec![(At { path: at.path.clone(), pat: format!("{}[]", at.pat) }, v)]
            }
            Value::Null => vec![],
            _ => {
                let n = self.note(
                    at,
                    key.line,
                    Reason::IgnoredByOriginal,
                    format!("{} is not a list of execution environments", v.describe()),
                );
                comments.push(note_comment(&n));
                vec![]
            }
        };
        let mut lines = vec![];
        for (iat, item) in items {
            let kind = item.get("type").and_then(Node::scalar_text).unwrap_or_default();
            if let Some(Value::Bool(false)) = item.get("enabled").map(|n| &n.value) {
                let n = self.note(
                    &iat,
                    item.line,
                    Reason::IgnoredByOriginal,
                    format!("`{kind}` has `enabled: false`; left out"),
                );
                comments.push(note_comment(&n));
                continue;
            }
            let Some(w) = tables::WRAPPERS.iter().find(|w| w.original == kind) else {
                let why = if kind == "iterations" {
                    "use the test's `iterations` here".to_string()
                } else {
                    format!("no execution wrapper for `{kind}` here (there are {})", crate::config::WRAPPERS.join(", "))
                };
                let n = self.note(&iat.key("type"), item.line, Reason::NoPlugin, why);
                comments.push(note_comment(&n));
                continue;
            };
            let mut options: Vec<String> = w.options.iter().map(|s| s.to_string()).collect();
            let note = if w.note.is_empty() { String::new() } else { format!(" ({})", w.note) };
            let mut item_lines = vec![format!("{kind}, line {}{note}", item.line)];
            // As the original's plugins looked options up: `plugin_config` first, then the entry.
            let mut keys: Vec<(At, &Node, &Node)> = vec![];
            for (k, val) in item.entries() {
                let name = k.scalar_text().unwrap_or_default();
                if name == "plugin_config" {
                    for (k2, v2) in val.entries() {
                        let n2 = k2.scalar_text().unwrap_or_default();
                        keys.push((At { path: iat.key("plugin_config").key(&n2).path, pat: iat.key(&n2).pat }, k2, v2));
                    }
                } else if name != "type" && name != "enabled" {
                    keys.push((iat.key(&name), k, val));
                }
            }
            let get =
                |name: &str| keys.iter().find(|(a, _, _)| a.path.ends_with(&format!(".{name}"))).map(|(_, _, v)| *v);
            let trace_all = get("trace_all_syscalls").map(|v| v.value == Value::Bool(true));
            for (kat, k, val) in &keys {
                let name = kat.pat.rsplit('.').next().unwrap_or("").to_string();
                let converted: Option<Vec<String>> = match (w.original, name.as_str(), &val.value) {
                    ("strace", "excluded_syscalls", Value::Seq(s)) => {
                        let names: Vec<String> = s.iter().filter_map(Node::scalar_text).collect();
                        Some(if names.is_empty() {
                            vec![]
                        } else {
                            vec!["-e".into(), format!("trace=!{}", names.join(","))]
                        })
                    }
                    ("strace", "trace_all_syscalls", Value::Bool(_)) => Some(vec![]),
                    ("strace", "trace_network_syscalls", Value::Bool(b)) => Some(if *b && trace_all == Some(false) {
                        vec!["-e".into(), "trace=%network,read,write".into()]
                    } else {
                        vec![]
                    }),
                    ("strace", "include_kernel_stack", Value::Bool(b)) => {
                        Some(if *b { vec!["-k".into()] } else { vec![] })
                    }
                    ("memcheck", "leak_check", Value::Bool(b)) => {
                        Some(vec![format!("--leak-check={}", if *b { "full" } else { "no" })])
                    }
                    ("memcheck", "leak_check", Value::Str(s)) => Some(vec![format!("--leak-check={s}")]),
                    ("memcheck", "track_origins", Value::Bool(b)) => {
                        Some(if *b { vec!["--track-origins=yes".into()] } else { vec![] })
                    }
                    ("memcheck", "show_reachable", Value::Bool(b)) => {
                        Some(if *b { vec!["--show-reachable=yes".into()] } else { vec![] })
                    }
                    ("helgrind", "history_level", Value::Str(s)) => Some(vec![format!("--history-level={s}")]),
                    ("gperf_cpu", "sampling_frequency", Value::Int(i)) => Some(vec!["-F".into(), i.to_string()]),
                    (_, "additional_parameters", Value::Seq(s)) => {
                        Some(s.iter().filter_map(Node::scalar_text).collect())
                    }
                    _ => None,
                };
                match converted {
                    Some(opts) => {
                        item_lines.push(format!("{}: line {}", kat.path.rsplit('.').next().unwrap_or(""), k.line));
                        options.extend(opts);
                    }
                    None => {
                        let rule = tables::rule(&kat.pat);
                        let n = match rule {
                            Some(r) if r.reason.is_some() => self.by_rule(kat, k, val),
                            _ => self.note(kat, k.line, Reason::DoneDifferently, format!("no converted form for the `{kind}` option `{name}` = {}; the `{}` wrapper takes tool flags in `options = [...]`", val.describe(), w.here)),
                        };
                        comments.push(note_comment(&n));
                    }
                }
            }
            let mut t = InlineTable::new();
            t.insert("type", w.here.into());
            if !options.is_empty() {
                let mut o = Array::new();
                for s in &options {
                    o.push(s.as_str());
                }
                t.insert("options", TV::Array(o));
            }
            arr.push(TV::InlineTable(t));
            lines.push(item_lines.join(", "));
        }
        (arr, format!("execution_environment: {}", lines.join("; ")))
    }

    fn find(&self, name: &str) -> Option<&PluginInfo> {
        self.plugins.and_then(|ps| ps.iter().find(|p| p.name == name))
    }

    /// One service: its table, its timeout in seconds, and whether it is a tester.
    fn service(
        &mut self,
        at: &At,
        name: &str,
        key: &Node,
        v: &Node,
        siblings: &[String],
    ) -> (Service, u64, bool, Option<Role>, Option<(String, usize)>) {
        let mut comments = vec![];
        let mut entries = vec![];
        let valid_name = name.len() <= 63
            && name.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !valid_name {
            let n = self.note(at, key.line, Reason::DoneDifferently, "validate refuses this: a service name is a host name here (letters, digits, `-`, `_`; at most 63 characters)");
            comments.push(note_comment(&n));
        }
        let imp = v.get("implementation");
        let proto = v.get("protocol");
        let original = imp.and_then(|i| i.get("name")).and_then(Node::scalar_text).unwrap_or_default();
        let (here, imp_note) = tables::implementation(&original);
        let type_text = imp.and_then(|i| i.get("type")).and_then(Node::scalar_text).unwrap_or_else(|| "iut".into());
        let kind = match type_text.to_ascii_lowercase().as_str() {
            "iut" => Some(PluginKind::Iut),
            "testers" | "tester" => Some(PluginKind::Tester),
            _ => None,
        };
        let imp_line = imp.and_then(|i| i.get("name")).map(|n| n.line).unwrap_or(key.line);
        let plugin = match &here {
            Some(h) => {
                let mut c = format!("implementation.name: {original}, line {imp_line}");
                if !imp_note.is_empty() {
                    c.push_str(&format!(" ({imp_note})"));
                }
                entries.push(Entry::new("implementation", h.as_str(), c));
                h.clone()
            }
            None => {
                let n = self.note(
                    &at.key("implementation").key("name"),
                    imp_line,
                    Reason::NoPlugin,
                    format!("validate refuses this: no plugin plays `{original}` here: {imp_note}"),
                );
                comments.push(note_comment(&n));
                entries.push(Entry::new("implementation", original.as_str(), "no such plugin here"));
                original.clone()
            }
        };
        match kind {
            Some(k) => entries.push(Entry::new(
                "type",
                if k == PluginKind::Tester { "tester" } else { "iut" },
                format!("implementation.type: {type_text}"),
            )),
            None => {
                let n = self.note(
                    &at.key("implementation").key("type"),
                    imp_line,
                    Reason::IgnoredByOriginal,
                    format!(
                        "`{type_text}` is neither `iut` nor `testers` (the original refused it); converted as an IUT"
                    ),
                );
                comments.push(note_comment(&n));
            }
        }
        let info = self.find(&plugin).cloned();
        if self.plugins.is_some() && here.is_some() {
            match &info {
                None => {
                    let n = self.note(
                        &at.key("implementation").key("name"),
                        imp_line,
                        Reason::NoPlugin,
                        format!("validate refuses this: no plugin `{plugin}` is installed"),
                    );
                    comments.push(note_comment(&n));
                }
                Some(i) if Some(i.kind) != kind && kind.is_some() => {
                    let n = self.note(
                        &at.key("implementation").key("type"),
                        imp_line,
                        Reason::NoPlugin,
                        format!("validate refuses this: `{plugin}` is not of type `{type_text}` here"),
                    );
                    comments.push(note_comment(&n));
                }
                _ => {}
            }
        }

        // Protocol.
        let mut p = InlineTable::new();
        let mut pcomment = vec![];
        let pname = proto.and_then(|p| p.get("name")).and_then(Node::scalar_text).unwrap_or_else(|| "quic".into());
        p.insert("name", pname.as_str().into());
        let version = proto.and_then(|p| p.get("version")).and_then(Node::scalar_text);
        if let Some(ver) = &version {
            let ver_line = proto.and_then(|p| p.get("version")).map(|n| n.line).unwrap_or(key.line);
            let mapped = match &info {
                Some(i) if !i.versions.is_empty() => {
                    let norm = |s: &str| s.to_ascii_lowercase().replace(['_', '-'], "");
                    match i.versions.iter().find(|x| norm(&x.name) == norm(ver)) {
                        Some(x) => x.name.clone(),
                        None => {
                            let known: Vec<&str> = i.versions.iter().map(|x| x.name.as_str()).collect();
                            let n = self.note(
                                &at.key("protocol").key("version"),
                                ver_line,
                                Reason::NoPlugin,
                                format!(
                                    "validate refuses this: plugin `{plugin}` has no version `{ver}` (it has {})",
                                    known.join(", ")
                                ),
                            );
                            comments.push(note_comment(&n));
                            ver.clone()
                        }
                    }
                }
                _ => ver.clone(),
            };
            p.insert("version", mapped.as_str().into());
            pcomment.push(format!("version: line {ver_line}"));
        } else if let Some(first) = info.as_ref().and_then(|i| {
            let default = crate::config::DEFAULT_VERSION;
            (!i.versions.is_empty() && !i.versions.iter().any(|x| x.name == default))
                .then(|| i.versions[0].name.clone())
        }) {
            // The original fell back to the protocol's own default version; this host's default
            // (rfc9000) is not one of this plugin's.
            p.insert("version", first.as_str().into());
            pcomment.push(format!("version: not in the original; `{first}`, the plugin's first version"));
        }
        if let Some(i) = &info {
            if !i.protocols.is_empty() && !i.protocols.contains(&pname) {
                let line = proto.map(|p| p.line).unwrap_or(key.line);
                let n = self.note(
                    &at.key("protocol").key("name"),
                    line,
                    Reason::NoPlugin,
                    format!(
                        "validate refuses this: plugin `{plugin}` does not serve protocol `{pname}` (it serves {})",
                        i.protocols.join(", ")
                    ),
                );
                comments.push(note_comment(&n));
            }
        }
        let role_text =
            proto.and_then(|p| p.get("role")).and_then(Node::scalar_text).unwrap_or_default().to_ascii_lowercase();
        let role = match role_text.as_str() {
            "server" => Some(Role::Server),
            "client" => Some(Role::Client),
            "peer" => Some(Role::Peer),
            "mitm" => Some(Role::Mitm),
            _ => None,
        };
        match role {
            Some(r) => {
                p.insert("role", role_text.as_str().into());
                if let Some(i) = &info {
                    if !i.roles.is_empty() && !i.roles.contains(&r) {
                        let n = self.note(
                            &at.key("protocol").key("role"),
                            proto.map(|p| p.line).unwrap_or(key.line),
                            Reason::NoPlugin,
                            format!("validate refuses this: plugin `{plugin}` cannot play `{role_text}`"),
                        );
                        comments.push(note_comment(&n));
                    }
                }
            }
            None => {
                let n = self.note(&at.key("protocol").key("role"), proto.map(|p| p.line).unwrap_or(key.line), Reason::IgnoredByOriginal, format!("validate refuses this: the role {:?} is not `server`, `client`, `peer` or `mitm` (the original refused it too)", role_text));
                comments.push(note_comment(&n));
            }
        }
        if let Some(target) = proto.and_then(|p| p.get("target")).and_then(Node::scalar_text) {
            if !siblings.contains(&target) {
                let n = self.note(
                    &at.key("protocol").key("target"),
                    proto.and_then(|p| p.get("target")).map(|t| t.line).unwrap_or(key.line),
                    Reason::IgnoredByOriginal,
                    format!(
                        "validate refuses this: `{target}` is not a service of this test (the original refused it too)"
                    ),
                );
                comments.push(note_comment(&n));
            }
            p.insert("target", target.as_str().into());
        } else if matches!(role, Some(Role::Client | Role::Mitm)) {
            let n = self.note(
                &at.key("protocol"),
                proto.map(|p| p.line).unwrap_or(key.line),
                Reason::IgnoredByOriginal,
                "validate refuses this: a client needs a `target` (the original refused it too)",
            );
            comments.push(note_comment(&n));
        }
        if let Some(pr) = proto {
            for (k, val) in pr.entries() {
                let kn = k.scalar_text().unwrap_or_default();
                if !matches!(kn.as_str(), "name" | "version" | "role" | "target") {
                    let n = self.by_rule(&at.key("protocol").key(&kn), k, val);
                    comments.push(note_comment(&n));
                }
            }
        }
        let line = proto.map(|p| p.line).unwrap_or(key.line);
        entries.push(Entry::new(
            "protocol",
            TV::InlineTable(p),
            format!("protocol, line {line}; {}", pcomment.join("; ")).trim_end_matches("; ").to_string(),
        ));

        // Parameters: extra implementation keys and plugin_config, when the plugin declares them.
        let mut params = InlineTable::new();
        let mut pnotes = vec![];
        let mut candidates: Vec<(At, &Node, &Node)> = vec![];
        if let Some(i) = imp {
            for (k, val) in i.entries() {
                let kn = k.scalar_text().unwrap_or_default();
                match kn.as_str() {
                    "name" | "type" => {}
                    "version" if val.is_null() => {}
                    "version" => {
                        let n = self.by_rule(&at.key("implementation").key("version"), k, val);
                        comments.push(note_comment(&n));
                    }
                    _ => candidates.push((at.key("implementation").key(&kn), k, val)),
                }
            }
        }
        if let Some(pc) = v.get("plugin_config") {
            for (k, val) in pc.entries() {
                let kn = k.scalar_text().unwrap_or_default();
                let same = match kn.as_str() {
                    "name" => val.scalar_text().as_deref() == Some(original.as_str()),
                    "type" => val.scalar_text().map(|t| t.to_ascii_lowercase()) == Some(type_text.to_ascii_lowercase()),
                    _ => false,
                };
                if same {
                    pnotes.push(format!("plugin_config.{kn}: line {} (repeats implementation.{kn})", k.line));
                    continue;
                }
                candidates.push((at.key("plugin_config").key(&kn), k, val));
            }
        }
        for (kat, k, val) in candidates {
            let pname = kat.path.rsplit('.').next().unwrap_or("").to_string();
            if params.contains_key(&pname) {
                let n = self.note(
                    &kat,
                    k.line,
                    Reason::IgnoredByOriginal,
                    format!("`{pname}` is given twice; the first is kept"),
                );
                comments.push(note_comment(&n));
                continue;
            }
            let Some(tv) = toml_value(val) else {
                let n = self.note(
                    &kat,
                    k.line,
                    Reason::NoPlugin,
                    format!(
                        "{} has no parameter form here (parameters are strings, numbers, booleans or lists of strings)",
                        val.describe()
                    ),
                );
                comments.push(note_comment(&n));
                continue;
            };
            match &info {
                Some(i) => match i.parameters.iter().find(|s| s.name == pname) {
                    Some(spec) => match crate::config::params::from_toml(spec, &to_toml(&tv)) {
                        Ok(_) => {
                            params.insert(pname.as_str(), tv);
                            pnotes.push(format!("{pname}: line {}", k.line));
                        }
                        Err(crate::config::params::Mismatch::Choice { value, choices, .. }) => {
                            let hint = crate::config::similar(&value, choices.iter().map(String::as_str))
                                .first()
                                .map(|c| format!("; did you mean `{c}`?"))
                                .unwrap_or_default();
                            let default = spec
                                .default
                                .as_ref()
                                .map(|d| {
                                    format!(
                                        "its default, `{}`, applies unless you set one",
                                        crate::config::params::display_value(d)
                                    )
                                })
                                .unwrap_or_else(|| "set one".into());
                            let n = self.note(&kat, k.line, Reason::NoPlugin, format!("plugin `{plugin}` has no `{pname}` called `{value}`{hint} (`panther-host plugins inspect {plugin}` lists them); {default}"));
                            comments.push(note_comment(&n));
                        }
                        Err(m) => {
                            let n = self.note(
                                &kat,
                                k.line,
                                Reason::NoPlugin,
                                format!("plugin `{plugin}` refuses {}: {m}", val.describe()),
                            );
                            comments.push(note_comment(&n));
                        }
                    },
                    None => {
                        let declared: Vec<&str> = i.parameters.iter().map(|s| s.name.as_str()).collect();
                        let n = self.note(
                            &kat,
                            k.line,
                            Reason::NoPlugin,
                            format!(
                                "plugin `{plugin}` declares no parameter `{pname}` (it has {})",
                                if declared.is_empty() { "none".to_string() } else { declared.join(", ") }
                            ),
                        );
                        comments.push(note_comment(&n));
                    }
                },
                // Without plugin declarations the value is kept as written, for validate to judge.
                None => {
                    params.insert(pname.as_str(), tv);
                    pnotes.push(format!("{pname}: line {}", k.line));
                }
            }
        }
        if let Some(i) = &info {
            for spec in i.parameters.iter().filter(|s| s.required && s.default.is_none()) {
                if !params.contains_key(&spec.name) {
                    let n = self.note(at, key.line, Reason::NoPlugin, format!("validate refuses this: plugin `{plugin}` requires parameter `{}` ({}), which the original did not have", spec.name, spec.doc));
                    comments.push(note_comment(&n));
                }
            }
        }
        if !params.is_empty() {
            entries.push(Entry::new("params", TV::InlineTable(params), pnotes.join("; ")));
        } else if !pnotes.is_empty() {
            comments.push(pnotes.join("; "));
        }

        // Timeout, and the rest.
        let mut timeout = ORIGINAL_SERVICE_TIMEOUT;
        for (k, val) in v.entries() {
            let kn = k.scalar_text().unwrap_or_default();
            match kn.as_str() {
                "implementation" | "protocol" | "plugin_config" => {}
                "name" => {
                    if val.scalar_text().as_deref() != Some(name) {
                        let n = self.note(
                            &at.key("name"),
                            k.line,
                            Reason::IgnoredByOriginal,
                            format!(
                                "{} differs from the service's key; the original named the service by its key, as here",
                                val.describe()
                            ),
                        );
                        comments.push(note_comment(&n));
                    }
                }
                "timeout" => match seconds(val) {
                    Some(s) => {
                        timeout = s;
                        entries.push(Entry::new(
                            "timeout",
                            format!("{s}s"),
                            format!("timeout: {s} (seconds), line {}", k.line),
                        ));
                    }
                    None => {
                        let n = self.note(
                            &at.key("timeout"),
                            k.line,
                            Reason::IgnoredByOriginal,
                            format!("{} is not a number of seconds", val.describe()),
                        );
                        comments.push(note_comment(&n));
                    }
                },
                _ => {
                    let n = self.by_rule(&at.key(&kn), k, val);
                    comments.push(note_comment(&n));
                }
            }
        }
        if v.get("timeout").is_none() {
            entries.push(Entry::new(
                "timeout",
                format!("{ORIGINAL_SERVICE_TIMEOUT}s"),
                "not in the original: its default service timeout",
            ));
        }
        let tester = kind == Some(PluginKind::Tester);
        comments.insert(0, format!("{}, line {}", at.path, key.line));
        let target = proto.and_then(|p| p.get("target")).and_then(|t| Some((t.scalar_text()?, t.line)));
        (Service { name: name.to_string(), block: Block { comments, entries } }, timeout, tester, role, target)
    }
}

fn note_comment(n: &Note) -> String {
    format!("not converted: line {}: `{}`: {}: {}", n.line, n.path, n.reason.label(), n.detail)
}

/// The rule's reason, and the keys of a section when the whole section is not converted.
fn with_children(why: &str, v: &Node) -> String {
    let keys: Vec<String> = v.entries().iter().filter_map(|(k, _)| k.scalar_text()).collect();
    if keys.is_empty() {
        why.to_string()
    } else {
        format!("{why} (keys: {})", keys.join(", "))
    }
}

/// A number of seconds as the original wrote it: an integer, or text such as `"100s"`.
fn seconds(v: &Node) -> Option<u64> {
    match &v.value {
        Value::Int(i) if *i > 0 => Some(*i as u64),
        Value::Float(f) if *f > 0.0 => Some(f.ceil() as u64),
        Value::Str(s) => s.trim().trim_end_matches('s').trim().parse().ok().filter(|n| *n > 0),
        _ => None,
    }
}

fn log_level(l: &str) -> Option<&'static str> {
    match l.to_ascii_uppercase().as_str() {
        "TRACE" => Some("trace"),
        "DEBUG" => Some("debug"),
        "INFO" => Some("info"),
        "WARNING" | "WARN" => Some("warn"),
        "ERROR" | "CRITICAL" => Some("error"),
        _ => None,
    }
}

fn toml_value(v: &Node) -> Option<TV> {
    match &v.value {
        Value::Str(s) => Some(s.as_str().into()),
        Value::Int(i) => Some((*i).into()),
        Value::Float(f) => Some((*f).into()),
        Value::Bool(b) => Some((*b).into()),
        Value::Seq(items) => {
            let mut a = Array::new();
            for i in items {
                a.push(i.scalar_text()?);
            }
            Some(TV::Array(a))
        }
        _ => None,
    }
}

fn to_toml(v: &TV) -> toml::Value {
    match v {
        TV::String(s) => toml::Value::String(s.value().clone()),
        TV::Integer(i) => toml::Value::Integer(*i.value()),
        TV::Float(f) => toml::Value::Float(*f.value()),
        TV::Boolean(b) => toml::Value::Boolean(*b.value()),
        TV::Array(a) => toml::Value::Array(a.iter().map(to_toml).collect()),
        _ => toml::Value::String(v.to_string()),
    }
}
