//! From TOML text to an [`Experiment`]: syntax, structure, references and matrix expansion.
//!
//! Walks the spanned document that `toml` parses (`DeTable`), so that every key and value has
//! a span, and records every problem it meets instead of stopping at the first. Unknown keys
//! are errors everywhere, with a "did you mean". The key lists below are the format's
//! vocabulary; a test in `schema` keeps the JSON Schema in step with them.
//!
//! Does not look at plugins: that is `plugins::check_plugins`.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use toml::de::{DeString, DeTable, DeValue};
use toml::Spanned;

use super::error::{similar, ticked, ConfigError, Problem, Source, Span};
use super::units::{parse_duration, parse_size};
use super::*;

mod link;

#[cfg(test)]
pub(crate) use link::LINK_KEYS;

type Val<'i> = Spanned<DeValue<'i>>;
type Key<'i> = Spanned<DeString<'i>>;
/// Parameters as written, and the key and value span of each.
type Params = (BTreeMap<String, toml::Value>, BTreeMap<String, (Span, Span)>);

pub(crate) const ROOT_KEYS: &[&str] = &["experiment", "tests", "matrix"];
pub(crate) const EXPERIMENT_KEYS: &[&str] =
    &["name", "description", "output_dir", "log_level", "fast_fail", "timeout", "policy", "seed"];
pub(crate) const TEST_KEYS: &[&str] =
    &["name", "description", "network", "execution", "services", "iterations", "timeout", "wait", "testcase", "files"];
pub(crate) const SERVICE_KEYS: &[&str] = &["implementation", "type", "protocol", "params", "timeout"];
pub(crate) const PROTOCOL_KEYS: &[&str] = &["name", "version", "role", "target"];
pub(crate) const FILE_KEYS: &[&str] = &["path", "size", "count"];
/// Most files one `files` entry may make (the interop runner's `multiplexing` uses 2000).
pub const MAX_FILE_COUNT: u64 = 10_000;
pub(crate) const MATRIX_KEYS: &[&str] = &[
    "name",
    "description",
    "network",
    "servers",
    "clients",
    "testcases",
    "tester",
    "params",
    "protocol",
    "version",
    "versions",
    "files",
    "timeout",
    "iterations",
    "wait",
    "execution",
];
/// Keys of the original's YAML format and where their meaning lives here, for the help line of
/// an unknown key.
const MOVED: &[(&str, &str)] = &[
    ("logging", "the log level is `log_level` in [experiment]"),
    ("paths", "the output directory is `output_dir` in [experiment]"),
    ("docker", "images are built from the plugins' image specs; no Docker settings are needed"),
    ("fast_fail", "fast-fail is `fast_fail = true` in [experiment]"),
    ("network_environment", "the network environment is `network = { type = \"...\" }`"),
    ("execution_environment", "execution wrappers are `execution = [{ type = \"strace\" }]`"),
    ("steps", "the settle time is `wait = \"30s\"`"),
    ("ports", "plugins declare their ports; the host assigns them"),
    ("generate_new_certificates", "the host makes one CA and leaf certificate per run for every service"),
];
const ROLES: &[&str] = &["server", "client", "peer", "mitm"];
const KINDS: &[&str] = &["iut", "tester"];
/// Most iterations a test may ask for; more is a typo that would keep a machine busy for days.
const MAX_ITERATIONS: i64 = 10_000;
/// Longest service name: it becomes a host name, whose labels DNS limits to 63 bytes.
const MAX_SERVICE_NAME: usize = 63;

pub(super) fn parse(name: &str, text: Arc<str>, base: &Path, stem: &str) -> Result<Experiment, ConfigError> {
    let source = Source { name: name.into(), text: text.clone() };
    let (root, errors) = DeTable::parse_recoverable(&text);
    if !errors.is_empty() {
        let problems = errors.iter().map(|e| syntax_problem(&source, e)).collect();
        return Err(ConfigError::new(problems));
    }
    let mut cx = Cx { src: &source, problems: vec![] };
    let root_span = Span::new(0, 0);
    let root_val = Spanned::new(0..text.len(), DeValue::Table(root.into_inner()));
    let root = cx.obj(&root_val, root_span, "the top level", ROOT_KEYS).expect("the root is a table");

    let mut exp_name = stem.to_string();
    let mut description = String::new();
    let mut settings = Settings::default();
    if let Some(v) = root.get("experiment") {
        if let Some(o) = cx.obj(v, root.key_span("experiment"), "[experiment]", EXPERIMENT_KEYS) {
            if let Some((n, span)) = cx.string(&o, "name") {
                if n.trim().is_empty() {
                    cx.push(
                        cx.at("empty_name", span, "empty name", "the experiment's `name` is empty")
                            .help("give it a name, or remove `name` to use the file's stem"),
                    );
                } else {
                    exp_name = n;
                }
            }
            description = cx.string(&o, "description").map(|s| s.0).unwrap_or_default();
            if let Some((d, _)) = cx.string(&o, "output_dir") {
                settings.output_dir = d.into();
            }
            if let Some((level, span)) = cx.string(&o, "log_level") {
                if LOG_LEVELS.contains(&level.as_str()) {
                    settings.log_level = level;
                } else {
                    cx.push(cx.one_of(span, "log_level", &level, LOG_LEVELS));
                }
            }
            if let Some(b) = cx.boolean(&o, "fast_fail") {
                settings.fast_fail = b;
            }
            if let Some(d) = cx.duration(&o, "timeout", false) {
                settings.default_timeout = d;
            }
            if let Some((p, span)) = cx.string(&o, "policy") {
                settings.policy = cx.policy(&p, span, base);
            }
            if let Some(v) = o.get("seed") {
                match v.get_ref() {
                    DeValue::Integer(i) => match u64::from_str_radix(&i.as_str().replace('_', ""), i.radix()) {
                        Ok(n) if !i.as_str().starts_with('-') => settings.seed = n,
                        _ => cx.push(
                            cx.at(
                                "invalid_value",
                                v.span().into(),
                                "not 0 to 2^64-1",
                                "invalid value for `seed`: it must be a whole number from 0 to 18446744073709551615",
                            )
                            .help("write, for example, `seed = 7`"),
                        ),
                    },
                    _ => cx.type_error(v, "seed", "a whole number", "7"),
                }
            }
        }
    }

    let mut tests: Vec<TestSpec> = vec![];
    let mut any = false;
    if let Some(v) = root.get("tests") {
        any = true;
        for (i, item) in cx.tables(v, root.key_span("tests"), "tests").into_iter().enumerate() {
            if let Some(t) = cx.test(item, i, &settings) {
                tests.push(t);
            }
        }
    }
    if let Some(v) = root.get("matrix") {
        any = true;
        for item in cx.tables(v, root.key_span("matrix"), "matrix") {
            tests.extend(cx.matrix(item, &settings));
        }
    }
    if !any {
        let p = if text.trim().is_empty() {
            Problem::file(name, "no_tests", format!("experiment file `{name}` is empty"))
        } else {
            cx.at("no_tests", Span::new(0, 0), "no [[tests]] or [[matrix]] in this file", "the experiment has no tests")
        };
        cx.push(p.help(
            "add a `[[tests]]` entry with a network and services, or a `[[matrix]]`; docs/EXPERIMENTS.md has examples",
        ));
    }

    let mut first_of: HashMap<String, Span> = HashMap::new();
    for t in &tests {
        if let Some(first) = first_of.get(&t.name) {
            if *first != t.span {
                cx.push(
                    cx.at(
                        "duplicate_test",
                        t.span,
                        format!("second test named `{}`", t.name),
                        format!("two tests are named `{}`", t.name),
                    )
                    .also(*first, "first defined here")
                    .help("test names must be unique: they name the result directories; rename one of them"),
                );
            }
        } else {
            first_of.insert(t.name.clone(), t.span);
        }
    }
    assign_slugs(&mut tests);

    if !cx.problems.is_empty() {
        return Err(ConfigError::new(cx.problems));
    }
    Ok(Experiment { path: name.into(), source: text, name: exp_name, description, settings, tests })
}

/// The `name` of a table when it is a non-empty string, to name the table in messages.
fn peek_name(v: &Val) -> Option<String> {
    match v.get_ref().as_table()?.get("name")?.get_ref() {
        DeValue::String(s) if !s.trim().is_empty() => Some(s.to_string()),
        _ => None,
    }
}

fn syntax_problem(source: &Source, e: &toml::de::Error) -> Problem {
    let span = e.span().map(Span::from).unwrap_or_default();
    let message = e.message().trim().replace('\n', "; ");
    if message == "duplicate key" {
        let key = source.text.get(span.start..span.end).unwrap_or("").trim();
        return Problem::at(
            source,
            "syntax",
            span,
            "written again here",
            format!("invalid TOML: duplicate key `{key}`"),
        )
        .help("a key may appear once in a table; remove one of them");
    }
    Problem::at(source, "syntax", span, "here", format!("invalid TOML: {message}")).help(
        "fix the TOML syntax here (strings need quotes, tables [brackets]); docs/EXPERIMENTS.md has a complete example",
    )
}

/// Turns test names into directory names: lower-case ASCII letters, digits and `-`, unique.
fn assign_slugs(tests: &mut [TestSpec]) {
    let mut used: HashMap<String, u32> = HashMap::new();
    for t in tests.iter_mut() {
        let base = slugify(&t.name);
        let n = used.entry(base.clone()).or_insert(0);
        *n += 1;
        t.slug = if *n == 1 { base } else { format!("{base}-{n}") };
    }
}

/// Lower-case ASCII letters and digits of `name`, other runs replaced by one `-`, at most 80
/// bytes; `test` when nothing is left.
pub(crate) fn slugify(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    let mut s = out.trim_matches('-').to_string();
    s.truncate(80);
    let s = s.trim_end_matches('-').to_string();
    if s.is_empty() {
        "test".into()
    } else {
        s
    }
}

/// A table being read, with the keys it allows already checked.
struct Obj<'a, 'i> {
    t: &'a DeTable<'i>,
    /// Where to point when a required key is missing: the table's own key or header.
    at: Span,
    /// How messages name the table: "[experiment]", "service `x`".
    what: String,
}

impl<'a, 'i> Obj<'a, 'i> {
    fn get(&self, key: &str) -> Option<&'a Val<'i>> {
        self.t.get(key)
    }

    fn key_span(&self, key: &str) -> Span {
        self.t.get_key_value(key).map(|(k, _)| Span::from(k.span())).unwrap_or(self.at)
    }

    /// Entries in file order (the map itself is sorted by key).
    fn entries(&self) -> Vec<(&'a Key<'i>, &'a Val<'i>)> {
        let mut v: Vec<_> = self.t.iter().collect();
        v.sort_by_key(|(k, _)| k.span().start);
        v
    }
}

struct Cx<'s> {
    src: &'s Source,
    problems: Vec<Problem>,
}

impl<'s> Cx<'s> {
    fn at(&self, code: &'static str, span: Span, label: impl Into<String>, message: impl Into<String>) -> Problem {
        Problem::at(self.src, code, span, label, message)
    }

    fn push(&mut self, p: Problem) {
        self.problems.push(p);
    }

    /// How a value reads in "found ...": `integer `30``, `a table`.
    fn found(&self, v: &Val) -> String {
        let kind = match v.get_ref() {
            DeValue::String(_) => "string",
            DeValue::Integer(_) => "integer",
            DeValue::Float(_) => "float",
            DeValue::Boolean(_) => "boolean",
            DeValue::Datetime(_) => "datetime",
            DeValue::Array(_) => return "an array".into(),
            DeValue::Table(_) => return "a table".into(),
        };
        let span = v.span();
        let text = self.src.text.get(span.clone()).unwrap_or("").trim();
        let mut shown: String = text.chars().take(40).collect();
        if shown.len() < text.len() {
            shown.push('…');
        }
        format!("{kind} `{shown}`")
    }

    fn type_error(&mut self, v: &Val, key: &str, expected: &str, example: &str) {
        let p = self
            .at(
                "type",
                v.span().into(),
                format!("expected {expected}"),
                format!("invalid value for `{key}`: expected {expected}, found {}", self.found(v)),
            )
            .help(format!("write it as, for example, `{key} = {example}`"));
        self.push(p);
    }

    fn missing(&mut self, o: &Obj, key: &str, example: &str) {
        let p = self
            .at("missing_key", o.at, format!("`{key}` is missing"), format!("{} has no `{key}`", o.what))
            .help(format!("add `{key} = {example}`"));
        self.push(p);
    }

    fn one_of(&self, span: Span, key: &str, value: &str, allowed: &[&str]) -> Problem {
        let hint = match similar(value, allowed.iter().copied()).first() {
            Some(s) => format!("did you mean `{s}`? "),
            None => String::new(),
        };
        self.at(
            "invalid_value",
            span,
            format!("not one of {}", allowed.join(", ")),
            format!("invalid value for `{key}`: `{value}` is not one of {}", ticked(allowed)),
        )
        .help(format!("{hint}use one of {}", ticked(allowed)))
    }

    /// Opens a table and reports every key that `allowed` does not list.
    fn obj<'a, 'i>(&mut self, v: &'a Val<'i>, at: Span, what: &str, allowed: &[&str]) -> Option<Obj<'a, 'i>> {
        let DeValue::Table(t) = v.get_ref() else {
            let p = self
                .at(
                    "type",
                    v.span().into(),
                    "expected a table",
                    format!("invalid value for {what}: expected a table, found {}", self.found(v)),
                )
                .help("write a table: `{ key = value, ... }` or a `[section]`");
            self.push(p);
            return None;
        };
        let mut unknown: Vec<&Key> = t.keys().filter(|k| !allowed.contains(&k.get_ref().as_ref())).collect();
        unknown.sort_by_key(|k| k.span().start);
        for k in unknown {
            let name = k.get_ref().as_ref();
            let help = match (similar(name, allowed.iter().copied()).first(), MOVED.iter().find(|(k, _)| *k == name)) {
                (Some(s), _) => format!("did you mean `{s}`? {what} takes {}", ticked(allowed)),
                (None, Some((_, moved))) => format!("{moved}; {what} takes {}", ticked(allowed)),
                (None, None) => format!("remove it; {what} takes {}", ticked(allowed)),
            };
            let p = self
                .at("unknown_key", k.span().into(), "unknown key", format!("unknown key `{name}` in {what}"))
                .help(help);
            self.push(p);
        }
        Some(Obj { t, at, what: what.to_string() })
    }

    /// The items of an optional inline array (`execution = [{ … }]`): none when the key is
    /// absent; a value that is not an array is reported with `example` and gives none.
    fn inline_tables<'a, 'i>(&mut self, o: &Obj<'a, 'i>, key: &str, example: &str) -> Vec<&'a Val<'i>> {
        let Some(v) = o.get(key) else {
            return vec![];
        };
        let DeValue::Array(items) = v.get_ref() else {
            self.type_error(v, key, "an array of tables", example);
            return vec![];
        };
        items.iter().collect()
    }

    /// The items of an array of tables (`[[tests]]`).
    fn tables<'a, 'i>(&mut self, v: &'a Val<'i>, at: Span, key: &str) -> Vec<&'a Val<'i>> {
        match v.get_ref() {
            DeValue::Array(items) => items
                .iter()
                .filter(|item| {
                    let ok = item.get_ref().is_table();
                    if !ok {
                        self.type_error(item, key, "a table", "{ ... }");
                    }
                    ok
                })
                .collect(),
            _ => {
                let p = self
                    .at(
                        "type",
                        at,
                        format!("`{key}` must be an array of tables"),
                        format!("invalid value for `{key}`: expected an array of tables, found {}", self.found(v)),
                    )
                    .help(format!("write `[[{key}]]` (two brackets) before each entry"));
                self.push(p);
                vec![]
            }
        }
    }

    fn string(&mut self, o: &Obj, key: &str) -> Option<(String, Span)> {
        let v = o.get(key)?;
        match v.get_ref() {
            DeValue::String(s) => Some((s.to_string(), v.span().into())),
            _ => {
                self.type_error(v, key, "a string", "\"...\"");
                None
            }
        }
    }

    fn required_string(&mut self, o: &Obj, key: &str, example: &str) -> Option<(String, Span)> {
        if o.get(key).is_none() {
            self.missing(o, key, example);
            return None;
        }
        let (s, span) = self.string(o, key)?;
        if s.trim().is_empty() {
            let p = self
                .at("empty_value", span, "empty", format!("`{key}` of {} is empty", o.what))
                .help(format!("write, for example, `{key} = {example}`"));
            self.push(p);
            return None;
        }
        Some((s, span))
    }

    fn boolean(&mut self, o: &Obj, key: &str) -> Option<bool> {
        let v = o.get(key)?;
        match v.get_ref() {
            DeValue::Boolean(b) => Some(*b),
            _ => {
                self.type_error(v, key, "a boolean", "true");
                None
            }
        }
    }

    fn duration(&mut self, o: &Obj, key: &str, zero_ok: bool) -> Option<Duration> {
        let v = o.get(key)?;
        let DeValue::String(s) = v.get_ref() else {
            let p = self
                .at(
                    "type",
                    v.span().into(),
                    "expected a duration",
                    format!(
                        "invalid value for `{key}`: expected a duration like \"30s\" or \"2m\", found {}",
                        self.found(v)
                    ),
                )
                .help(format!("write the unit: `{key} = \"30s\"` (units: ms, s, m, h, d)"));
            self.push(p);
            return None;
        };
        match parse_duration(s) {
            Ok(d) if d.is_zero() && !zero_ok => {
                let p = self
                    .at(
                        "invalid_value",
                        v.span().into(),
                        "zero",
                        format!("invalid value for `{key}`: the duration must be more than zero"),
                    )
                    .help(format!("write, for example, `{key} = \"30s\"`"));
                self.push(p);
                None
            }
            Ok(d) => Some(d),
            Err(e) => {
                let p = self
                    .at(
                        "invalid_value",
                        v.span().into(),
                        "not a duration",
                        format!("invalid duration for `{key}`: {e}"),
                    )
                    .help(format!("write, for example, `{key} = \"30s\"` or `\"1m30s\"` (units: ms, s, m, h, d)"));
                self.push(p);
                None
            }
        }
    }

    fn iterations(&mut self, o: &Obj) -> Option<u32> {
        let help = "`iterations` counts runs of the test; use 1 to run it once, or remove the key";
        self.whole(o, "iterations", 1, MAX_ITERATIONS as u64, Some(help)).map(|n| n as u32)
    }

    /// A whole number in `lo..=hi`; out of range, the error says the range and `help` (or how
    /// to write one).
    fn whole(&mut self, o: &Obj, key: &str, lo: u64, hi: u64, help: Option<&str>) -> Option<u64> {
        let v = o.get(key)?;
        let DeValue::Integer(i) = v.get_ref() else {
            self.type_error(v, key, "a whole number", &lo.max(1).to_string());
            return None;
        };
        let n = i64::from_str_radix(&i.as_str().replace('_', ""), i.radix()).unwrap_or(i64::MAX);
        if n < 0 || (n as u64) < lo || n as u64 > hi {
            let p = self
                .at(
                    "invalid_value",
                    v.span().into(),
                    format!("must be {lo} to {hi}"),
                    format!("invalid value for `{key}`: {n} is not between {lo} and {hi}"),
                )
                .help(help.map_or_else(|| format!("write a whole number from {lo} to {hi}"), String::from));
            self.push(p);
            return None;
        }
        Some(n as u64)
    }

    fn string_list(&mut self, o: &Obj, key: &str, example: &str) -> Option<Vec<(String, Span)>> {
        let v = o.get(key)?;
        let DeValue::Array(items) = v.get_ref() else {
            self.type_error(v, key, "an array of strings", example);
            return None;
        };
        let mut out = vec![];
        for item in items.iter() {
            match item.get_ref() {
                DeValue::String(s) => out.push((s.to_string(), item.span().into())),
                _ => self.type_error(item, key, "a string", example),
            }
        }
        Some(out)
    }

    fn policy(&mut self, p: &str, span: Span, base: &Path) -> PolicyChoice {
        match p {
            "default" => return PolicyChoice::Default,
            "strict" => return PolicyChoice::Strict,
            _ => {}
        }
        if !p.contains('/') && !p.ends_with(".toml") {
            let hint = match similar(p, ["default", "strict"]).first() {
                Some(s) => format!("did you mean `{s}`? "),
                None => String::new(),
            };
            let problem = self
                .at("invalid_value", span, "not a policy", format!("unknown policy `{p}`"))
                .help(format!("{hint}use `default`, `strict`, or the path of a policy file ending in .toml"));
            self.push(problem);
            return PolicyChoice::Default;
        }
        let path = base.join(p);
        match std::fs::read_to_string(&path) {
            Err(e) => {
                let problem = self
                    .at(
                        "policy_file",
                        span,
                        "cannot read this file",
                        format!("cannot read policy file `{}`: {e}", path.display()),
                    )
                    .help("a relative policy path is resolved against the experiment file's directory");
                self.push(problem);
            }
            Ok(text) => {
                if let Err(e) = toml::from_str::<crate::plan::Policy>(&text) {
                    let src = Source { name: path.display().to_string().into(), text: text.into() };
                    let at = e.span().map(Span::from).unwrap_or_default();
                    let problem = Problem::at(&src, "policy_file", at, "here", format!("invalid policy file: {}", e.message().trim().replace('\n', "; ")))
                        .help("a policy file sets fields of the policy (allow_shell, max_timeout_ms, allowed_capabilities, ...); see docs/EXPERIMENTS.md");
                    self.push(problem);
                    let p2 = self
                        .at(
                            "policy_file",
                            span,
                            "named here",
                            format!("the policy file `{}` is invalid", path.display()),
                        )
                        .help("fix the policy file; the problem is shown separately");
                    self.push(p2);
                }
            }
        }
        PolicyChoice::File(path)
    }

    fn network(&mut self, o: &Obj) -> Option<NetworkSpec> {
        let Some(v) = o.get("network") else {
            self.missing(o, "network", "{ type = \"localhost\" }");
            return None;
        };
        if let DeValue::String(kind) = v.get_ref() {
            return Some(NetworkSpec {
                kind: kind.to_string(),
                params: BTreeMap::new(),
                span: v.span().into(),
                param_spans: BTreeMap::new(),
                link: None,
            });
        }
        let DeValue::Table(t) = v.get_ref() else {
            self.type_error(v, "network", "a table", "{ type = \"localhost\" }");
            return None;
        };
        let at = o.key_span("network");
        let mut params = BTreeMap::new();
        let mut param_spans = BTreeMap::new();
        let mut link = None;
        let mut entries: Vec<_> = t.iter().collect();
        entries.sort_by_key(|(k, _)| k.span().start);
        for (k, pv) in entries {
            let name = k.get_ref().to_string();
            if name == "type" {
                continue;
            }
            // The link is the host's (its relay sits between the services); environment
            // plugins of contract 0.1 never see it.
            if name == "link" {
                link = self.link(pv, k.span().into()).map(|l| (l, Span::from(k.span())));
                continue;
            }
            let text = match pv.get_ref() {
                DeValue::String(s) => s.to_string(),
                DeValue::Integer(_) | DeValue::Float(_) | DeValue::Boolean(_) => {
                    self.src.text[pv.span()].trim().to_string()
                }
                _ => {
                    self.type_error(pv, &name, "a string, number or boolean", "\"value\"");
                    continue;
                }
            };
            param_spans.insert(name.clone(), (Span::from(k.span()), Span::from(pv.span())));
            params.insert(name, text);
        }
        let net = Obj { t, at, what: "`network`".into() };
        let (kind, span) = self.required_string(&net, "type", "\"localhost\"")?;
        Some(NetworkSpec { kind, params, span, param_spans, link })
    }

    fn execution(&mut self, o: &Obj) -> Vec<WrapperSpec> {
        let mut out = vec![];
        for item in self.inline_tables(o, "execution", "[{ type = \"strace\" }]") {
            let DeValue::Table(t) = item.get_ref() else {
                self.type_error(item, "execution", "a table", "{ type = \"strace\" }");
                continue;
            };
            let w = Obj { t, at: item.span().into(), what: "an `execution` entry".into() };
            let Some((kind, span)) = self.required_string(&w, "type", "\"strace\"") else {
                continue;
            };
            if !WRAPPERS.contains(&kind.as_str()) {
                let p = self.one_of(span, "type", &kind, WRAPPERS);
                self.push(p.with_code("unknown_wrapper"));
                continue;
            }
            let mut params = BTreeMap::new();
            for (k, pv) in w.entries() {
                if k.get_ref().as_ref() != "type" {
                    if let Some(val) = self.value(pv) {
                        params.insert(k.get_ref().to_string(), val);
                    }
                }
            }
            out.push(WrapperSpec { kind, params, span });
        }
        out
    }

    fn files(&mut self, o: &Obj) -> Vec<WwwFile> {
        let items = self.inline_tables(o, "files", "[{ path = \"/f1.bin\", size = \"256KiB\" }]");
        let mut out: Vec<WwwFile> = vec![];
        let mut seen: HashMap<String, Span> = HashMap::new();
        for item in items {
            let Some(f) = self.obj(item, item.span().into(), "a `files` entry", FILE_KEYS) else {
                continue;
            };
            let path = self.required_string(&f, "path", "\"/f1.bin\"");
            let count = self.whole(&f, "count", 1, MAX_FILE_COUNT, Some("`count` makes that many files of `size`: `/m.bin` with `count = 3` is /m-1.bin, /m-2.bin and /m-3.bin"));
            let size = match f.get("size") {
                None => {
                    self.missing(&f, "size", "\"256KiB\"");
                    None
                }
                Some(sv) => match sv.get_ref() {
                    DeValue::Integer(i) => match i.as_str().replace('_', "").parse::<u64>() {
                        Ok(n) if n <= units::MAX_FILE_SIZE => Some(n),
                        _ => {
                            let p = self
                                .at(
                                    "invalid_value",
                                    sv.span().into(),
                                    "out of range",
                                    "invalid value for `size`: must be between 0 and 4GiB",
                                )
                                .help("write, for example, `size = \"256KiB\"`");
                            self.push(p);
                            None
                        }
                    },
                    DeValue::String(s) => match parse_size(s) {
                        Ok(n) => Some(n),
                        Err(e) => {
                            let p = self
                                .at(
                                    "invalid_value",
                                    sv.span().into(),
                                    "not a size",
                                    format!("invalid size for `size`: {e}"),
                                )
                                .help("write, for example, `size = \"256KiB\"` or `size = \"10MB\"`");
                            self.push(p);
                            None
                        }
                    },
                    _ => {
                        let p = self
                            .at("type", sv.span().into(), "expected a size", format!("invalid value for `size`: expected a size like \"256KiB\" or a number of bytes, found {}", self.found(sv)))
                            .help("write, for example, `size = \"256KiB\"`");
                        self.push(p);
                        None
                    }
                },
            };
            let Some((path, span)) = path else { continue };
            let bad = !path.starts_with('/')
                || path.len() == 1
                || path[1..].split('/').any(|c| c.is_empty() || c == "." || c == "..")
                || path.contains(['\\', '\0']);
            if bad {
                let p = self
                    .at("invalid_value", span, "not a clean absolute path", format!("invalid value for `path`: `{path}` must start with `/` and name a file without empty, `.` or `..` parts"))
                    .help("write the path clients request, such as `/f1.bin`");
                self.push(p);
                continue;
            }
            let paths = match count {
                Some(n) => numbered(&path, n),
                None => vec![path],
            };
            for path in paths {
                if let Some(first) = seen.get(&path) {
                    let p = self
                        .at("duplicate_file", span, "second entry", format!("the file `{path}` is listed twice"))
                        .also(*first, "first listed here")
                        .help("remove one of the entries");
                    self.push(p);
                    break;
                }
                seen.insert(path.clone(), span);
                if let Some(size) = size {
                    out.push(WwwFile { path, size });
                }
            }
        }
        out
    }

    /// A TOML value as written, for parameters that are typed later.
    fn value(&mut self, v: &Val) -> Option<toml::Value> {
        Some(match v.get_ref() {
            DeValue::String(s) => toml::Value::String(s.to_string()),
            DeValue::Integer(i) => match i64::from_str_radix(&i.as_str().replace('_', ""), i.radix()) {
                Ok(n) => toml::Value::Integer(n),
                Err(_) => {
                    let p = self
                        .at("invalid_value", v.span().into(), "out of range", "integer does not fit in 64 bits")
                        .help("use a smaller number, or a string");
                    self.push(p);
                    return None;
                }
            },
            DeValue::Float(f) => toml::Value::Float(f.as_str().replace('_', "").parse().unwrap_or(f64::NAN)),
            DeValue::Boolean(b) => toml::Value::Boolean(*b),
            DeValue::Datetime(d) => toml::Value::Datetime(*d),
            DeValue::Array(items) => toml::Value::Array(items.iter().filter_map(|i| self.value(i)).collect()),
            DeValue::Table(t) => {
                let mut out = toml::Table::new();
                for (k, item) in t.iter() {
                    if let Some(val) = self.value(item) {
                        out.insert(k.get_ref().to_string(), val);
                    }
                }
                toml::Value::Table(out)
            }
        })
    }

    fn params(&mut self, v: &Val, what: &str) -> Option<Params> {
        let DeValue::Table(t) = v.get_ref() else {
            self.type_error(v, what, "a table", "{ source = \"debian\" }");
            return None;
        };
        let mut params = BTreeMap::new();
        let mut spans = BTreeMap::new();
        for (k, pv) in t.iter() {
            if let Some(val) = self.value(pv) {
                params.insert(k.get_ref().to_string(), val);
                spans.insert(k.get_ref().to_string(), (Span::from(k.span()), Span::from(pv.span())));
            }
        }
        Some((params, spans))
    }

    fn test(&mut self, v: &Val, index: usize, settings: &Settings) -> Option<TestSpec> {
        let label = match peek_name(v) {
            Some(n) => format!("test `{n}`"),
            None => format!("[[tests]] entry #{}", index + 1),
        };
        let o = self.obj(v, v.span().into(), &label, TEST_KEYS)?;
        let name = self.required_string(&o, "name", "\"quic-go server, aioquic client\"");
        let description = self.string(&o, "description").map(|s| s.0).unwrap_or_default();
        let network = self.network(&o);
        let execution = self.execution(&o);
        let iterations = self.iterations(&o).unwrap_or(1);
        let timeout = self.duration(&o, "timeout", false).unwrap_or(settings.default_timeout);
        let wait = self.duration(&o, "wait", true);
        let testcase = self.string(&o, "testcase").map(|s| s.0);
        let files = self.files(&o);

        let mut services = vec![];
        let mut services_ok = true;
        match o.get("services") {
            None => {
                let p = self
                    .at("no_services", o.at, "no services", format!("{label} has no services"))
                    .help("add a `[tests.services.NAME]` table for each service, with `implementation` and `protocol`");
                self.push(p);
                services_ok = false;
            }
            Some(sv) => {
                let DeValue::Table(t) = sv.get_ref() else {
                    self.type_error(
                        sv,
                        "services",
                        "a table of services",
                        "{ server = { implementation = \"quic-go\", protocol = { role = \"server\" } } }",
                    );
                    return None;
                };
                if t.is_empty() {
                    let p = self
                        .at("no_services", o.key_span("services"), "empty", format!("{label} has no services"))
                        .help("add a `[tests.services.NAME]` table for each service, with `implementation` and `protocol`");
                    self.push(p);
                    services_ok = false;
                }
                let table = Obj { t, at: o.key_span("services"), what: "services".into() };
                for (k, sv) in table.entries() {
                    match self.service(k, sv, &label) {
                        Some(s) => services.push(s),
                        None => services_ok = false,
                    }
                }
            }
        }
        let (name, span) = name?;
        let network = network?;
        if !services_ok {
            return None;
        }
        let services = self.order_services(services, &label)?;
        let tester = self.tester(&services, &label)?;
        Some(TestSpec {
            name,
            slug: String::new(),
            description,
            network,
            execution,
            services,
            iterations,
            timeout,
            wait,
            testcase,
            files,
            tester,
            span,
            cell: None,
        })
    }

    fn tester(&mut self, services: &[ServiceSpec], label: &str) -> Option<Option<String>> {
        let testers: Vec<&ServiceSpec> = services.iter().filter(|s| s.kind == ServiceKind::Tester).collect();
        if testers.len() > 1 {
            let p = self
                .at(
                    "two_testers",
                    testers[1].spans.kind,
                    "second tester",
                    format!("{label} has more than one tester: {}", ticked(testers.iter().map(|s| &s.name))),
                )
                .also(testers[0].spans.kind, "first tester")
                .help("a test has at most one tester, which judges it; split the test in two");
            self.push(p);
            return None;
        }
        Some(testers.first().map(|s| s.name.clone()))
    }

    fn service(&mut self, key: &Key, v: &Val, label: &str) -> Option<ServiceSpec> {
        let name = key.get_ref().to_string();
        let key_span = Span::from(key.span());
        let valid_name = !name.is_empty()
            && name.len() <= MAX_SERVICE_NAME
            && name.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !valid_name {
            let p = self
                .at("service_name", key_span, "not a valid host name", format!("invalid service name `{name}` in {label}"))
                .help(format!("a service name becomes a host name: use letters, digits, `-` and `_`, start with a letter or digit, at most {MAX_SERVICE_NAME} characters"));
            self.push(p);
        }
        let o = self.obj(v, key_span, &format!("service `{name}`"), SERVICE_KEYS)?;
        let implementation = self.required_string(&o, "implementation", "\"quic-go\"");
        let mut spans = ServiceSpans { kind: key_span, ..Default::default() };
        let kind = match self.string(&o, "type") {
            None => Some(ServiceKind::Iut),
            Some((k, span)) => {
                spans.kind = span;
                match k.as_str() {
                    "iut" => Some(ServiceKind::Iut),
                    "tester" => Some(ServiceKind::Tester),
                    _ => {
                        let p = self.one_of(span, "type", &k, KINDS);
                        self.push(p);
                        None
                    }
                }
            }
        };
        let mut protocol = DEFAULT_PROTOCOL.to_string();
        let mut version = DEFAULT_VERSION.to_string();
        let mut role = None;
        let mut target = None;
        match o.get("protocol") {
            None => self.missing(&o, "protocol", "{ role = \"server\" }"),
            Some(pv) => {
                let at = o.key_span("protocol");
                spans.protocol = at;
                spans.version = at;
                spans.role = at;
                if let Some(p) = self.obj(pv, at, &format!("`protocol` of service `{name}`"), PROTOCOL_KEYS) {
                    if p.get("name").is_some() {
                        if let Some((n, span)) = self.required_string(&p, "name", "\"quic\"") {
                            protocol = n;
                            spans.protocol = span;
                        }
                    }
                    if p.get("version").is_some() {
                        if let Some((v, span)) = self.required_string(&p, "version", "\"rfc9000\"") {
                            version = v;
                            spans.version = span;
                        }
                    }
                    if let Some((r, span)) = self.required_string(&p, "role", "\"server\"") {
                        spans.role = span;
                        role = match r.as_str() {
                            "server" => Some(Role::Server),
                            "client" => Some(Role::Client),
                            "peer" => Some(Role::Peer),
                            "mitm" => Some(Role::Mitm),
                            _ => {
                                let problem = self.one_of(span, "role", &r, ROLES);
                                self.push(problem);
                                None
                            }
                        };
                    }
                    if let Some((t, span)) = self.string(&p, "target") {
                        spans.target = span;
                        target = Some(t);
                    }
                }
            }
        }
        let mut params = BTreeMap::new();
        if let Some(pv) = o.get("params") {
            if let Some((p, s)) = self.params(pv, "params") {
                params = p;
                spans.params = s;
            }
        }
        let timeout = self.duration(&o, "timeout", false);
        let (implementation, impl_span) = implementation?;
        spans.implementation = impl_span;
        if !valid_name {
            return None;
        }
        Some(ServiceSpec {
            name,
            implementation,
            kind: kind?,
            protocol,
            version,
            role: role?,
            target,
            params,
            timeout,
            span: key_span,
            spans,
        })
    }

    /// Checks targets (they exist, clients have one, no cycles) and orders the services so
    /// that each comes after its target, keeping file order otherwise.
    fn order_services(&mut self, services: Vec<ServiceSpec>, label: &str) -> Option<Vec<ServiceSpec>> {
        let names: Vec<&str> = services.iter().map(|s| s.name.as_str()).collect();
        let index: HashMap<&str, usize> = names.iter().enumerate().map(|(i, n)| (*n, i)).collect();
        let mut ok = true;
        for s in &services {
            match &s.target {
                Some(t) if !index.contains_key(t.as_str()) => {
                    let others: Vec<&str> = names.iter().copied().filter(|n| *n != s.name).collect();
                    let hint = match similar(t, others.iter().copied()).first() {
                        Some(m) => format!("did you mean `{m}`? "),
                        None => String::new(),
                    };
                    let list = if others.is_empty() {
                        "it has no other service".to_string()
                    } else {
                        format!("its services are {}", ticked(&others))
                    };
                    let p = self
                        .at(
                            "unknown_target",
                            s.spans.target,
                            "no such service in this test",
                            format!("service `{}` targets `{t}`, which is not a service of {label}", s.name),
                        )
                        .help(format!("{hint}`target` names another service of the same test; {list}"));
                    self.push(p);
                    ok = false;
                }
                None if matches!(s.role, Role::Client | Role::Mitm) => {
                    let role = role_name(s.role);
                    let candidates: Vec<&str> = services
                        .iter()
                        .filter(|o| o.name != s.name && o.role == Role::Server)
                        .map(|o| o.name.as_str())
                        .collect();
                    let example = candidates.first().copied().unwrap_or("SERVER");
                    let p = self
                        .at(
                            "missing_target",
                            s.spans.role,
                            format!("a {role} needs a target"),
                            format!("{role} service `{}` has no target", s.name),
                        )
                        .help(format!(
                            "add `target = \"{example}\"` to its `protocol` table: the service it connects to"
                        ));
                    self.push(p);
                    ok = false;
                }
                _ => {}
            }
        }
        if !ok {
            return None;
        }
        // Each service has at most one target, so following targets from any service either
        // ends or loops; a loop is a cycle. Report each cycle once, at its first member.
        let mut reported = vec![false; services.len()];
        for start in 0..services.len() {
            let mut path = vec![start];
            let mut cur = start;
            while let Some(t) = services[cur].target.as_deref() {
                cur = index[t];
                if let Some(pos) = path.iter().position(|&p| p == cur) {
                    let cycle = &path[pos..];
                    if !cycle.iter().any(|&i| reported[i]) {
                        let first = *cycle.iter().min().expect("a cycle has members");
                        let rot = cycle.iter().position(|&i| i == first).expect("first is in the cycle");
                        let order: Vec<usize> = cycle[rot..].iter().chain(&cycle[..rot]).copied().collect();
                        let mut shown: Vec<&str> = order.iter().map(|&i| names[i]).collect();
                        shown.push(names[first]);
                        let s = &services[first];
                        let message = if order.len() == 1 {
                            format!("service `{}` targets itself", s.name)
                        } else {
                            format!("the targets of {label} form a cycle: {}", shown.join(" → "))
                        };
                        let mut p = self.at("target_cycle", s.spans.target, "this target starts a cycle", message);
                        for &i in &order[1..] {
                            p = p.also(services[i].spans.target, "part of the cycle");
                        }
                        self.push(p.help("a service starts after its target, so targets cannot loop; remove `target` from a server or peer in the cycle"));
                        for &i in cycle {
                            reported[i] = true;
                        }
                    }
                    ok = false;
                    break;
                }
                path.push(cur);
            }
        }
        if !ok {
            return None;
        }
        let mut placed = vec![false; services.len()];
        let mut order = Vec::with_capacity(services.len());
        while order.len() < services.len() {
            let next = (0..services.len())
                .find(|&i| !placed[i] && services[i].target.as_deref().is_none_or(|t| placed[index[t]]))
                .expect("targets are acyclic, so some service is ready");
            placed[next] = true;
            order.push(next);
        }
        let mut slots: Vec<Option<ServiceSpec>> = services.into_iter().map(Some).collect();
        Some(order.into_iter().map(|i| slots[i].take().expect("each service is placed once")).collect())
    }

    fn matrix(&mut self, v: &Val, settings: &Settings) -> Vec<TestSpec> {
        let label = match peek_name(v) {
            Some(n) => format!("matrix `{n}`"),
            None => "a [[matrix]] entry".to_string(),
        };
        let Some(o) = self.obj(v, v.span().into(), &label, MATRIX_KEYS) else {
            return vec![];
        };
        let name = self.required_string(&o, "name", "\"interop\"");
        let description = self.string(&o, "description").map(|s| s.0).unwrap_or_default();
        let network = self.network(&o);
        let execution = self.execution(&o);
        let iterations = self.iterations(&o).unwrap_or(1);
        let timeout = self.duration(&o, "timeout", false).unwrap_or(settings.default_timeout);
        let wait = self.duration(&o, "wait", true);
        let files = self.files(&o);
        let protocol = self.string(&o, "protocol").unwrap_or((DEFAULT_PROTOCOL.into(), o.at));
        let version = self.string(&o, "version").unwrap_or((DEFAULT_VERSION.into(), o.at));
        let tester = self.string(&o, "tester");
        let mut lists = vec![];
        for key in ["servers", "clients"] {
            let list = match self.string_list(&o, key, "[\"quic-go\", \"aioquic\"]") {
                None if o.get(key).is_none() => {
                    self.missing(&o, key, "[\"quic-go\", \"aioquic\"]");
                    None
                }
                Some(l) if l.is_empty() => {
                    let p = self
                        .at("empty_value", o.key_span(key), "empty", format!("`{key}` of {label} is empty"))
                        .help(format!("list at least one implementation, for example `{key} = [\"quic-go\"]`"));
                    self.push(p);
                    None
                }
                other => other,
            };
            if let Some(l) = &list {
                let mut seen: HashMap<&str, Span> = HashMap::new();
                for (n, span) in l {
                    if let Some(first) = seen.get(n.as_str()) {
                        let p = self
                            .at("duplicate_value", *span, "listed again", format!("`{n}` is listed twice in `{key}`"))
                            .also(*first, "first listed here")
                            .help("remove one of them");
                        self.push(p);
                    }
                    seen.insert(n, *span);
                }
            }
            lists.push(list);
        }
        let testcases = self.string_list(&o, "testcases", "[\"handshake\", \"transfer\"]");
        let mut per_impl: BTreeMap<String, Params> = BTreeMap::new();
        if let Some(pv) = o.get("params") {
            if let Some(p) = self.obj(pv, o.key_span("params"), "`params`", &[]).map(|p| p.entries()) {
                // `obj` with no allowed keys reported every key; take those back and judge them here.
                self.problems.retain(|pr| !(pr.code == "unknown_key" && pr.message.ends_with("in `params`")));
                let known: Vec<&str> = lists
                    .iter()
                    .flatten()
                    .flatten()
                    .map(|(n, _)| n.as_str())
                    .chain(tester.iter().map(|t| t.0.as_str()))
                    .collect();
                for (k, iv) in p {
                    let imp = k.get_ref().to_string();
                    if !known.contains(&imp.as_str()) {
                        let hint = match similar(&imp, known.iter().copied()).first() {
                            Some(s) => format!("did you mean `{s}`? "),
                            None => String::new(),
                        };
                        let problem = self
                            .at("unknown_key", k.span().into(), "not in this matrix", format!("`params` of {label} names `{imp}`, which is not one of its servers, clients or tester"))
                            .help(format!("{hint}`params` is keyed by implementation: {}", ticked(&known)));
                        self.push(problem);
                        continue;
                    }
                    if let Some(x) = self.params(iv, &format!("params.{imp}")) {
                        per_impl.insert(imp, x);
                    }
                }
            }
        }
        // `versions` overrides `version` per implementation: one stack's `latest` build beside
        // the others' `rfc9000`.
        let mut per_impl_version: BTreeMap<String, (String, Span)> = BTreeMap::new();
        if let Some(vv) = o.get("versions") {
            if let Some(entries) = self.obj(vv, o.key_span("versions"), "`versions`", &[]).map(|p| p.entries()) {
                self.problems.retain(|pr| !(pr.code == "unknown_key" && pr.message.ends_with("in `versions`")));
                let known: Vec<&str> = lists.iter().flatten().flatten().map(|(n, _)| n.as_str()).collect();
                for (k, iv) in entries {
                    let imp = k.get_ref().to_string();
                    if !known.contains(&imp.as_str()) {
                        let problem = self
                            .at(
                                "unknown_key",
                                k.span().into(),
                                "not in this matrix",
                                format!(
                                    "`versions` of {label} names `{imp}`, which is not one of its servers or clients"
                                ),
                            )
                            .help(format!("`versions` is keyed by implementation: {}", ticked(&known)));
                        self.push(problem);
                        continue;
                    }
                    match iv.get_ref() {
                        DeValue::String(v) => {
                            per_impl_version.insert(imp, (v.to_string(), iv.span().into()));
                        }
                        _ => self.type_error(iv, &format!("versions.{imp}"), "a string", "\"latest\""),
                    }
                }
            }
        }
        let (Some((mname, mspan)), Some(network), [Some(servers), Some(clients)]) = (name, network, &lists[..]) else {
            return vec![];
        };
        let cases: Vec<Option<String>> = match testcases {
            Some(t) if !t.is_empty() => t.into_iter().map(|(c, _)| Some(c)).collect(),
            _ => vec![None],
        };
        let service =
            |name: &str, (imp, span): &(String, Span), kind: ServiceKind, role: Role, target: Option<&str>| {
                let (params, param_spans) = per_impl.get(imp).cloned().unwrap_or_default();
                let version = per_impl_version.get(imp).unwrap_or(&version);
                ServiceSpec {
                    name: name.into(),
                    implementation: imp.clone(),
                    kind,
                    protocol: protocol.0.clone(),
                    version: version.0.clone(),
                    role,
                    target: target.map(Into::into),
                    params,
                    timeout: None,
                    span: *span,
                    spans: ServiceSpans {
                        implementation: *span,
                        protocol: protocol.1,
                        role: *span,
                        version: version.1,
                        target: *span,
                        kind: *span,
                        params: param_spans,
                    },
                }
            };
        let mut out = vec![];
        for server in servers {
            for client in clients {
                for case in &cases {
                    let mut services = vec![
                        service("server", server, ServiceKind::Iut, Role::Server, None),
                        service("client", client, ServiceKind::Iut, Role::Client, Some("server")),
                    ];
                    if let Some(t) = &tester {
                        services.push(service("tester", t, ServiceKind::Tester, Role::Peer, None));
                    }
                    let test_name = match case {
                        Some(c) => {
                            format!("{mname}: {c}, server {}, client {}", server.0, client.0)
                        }
                        None => format!("{mname}: server {}, client {}", server.0, client.0),
                    };
                    out.push(TestSpec {
                        name: test_name,
                        slug: String::new(),
                        description: description.clone(),
                        network: network.clone(),
                        execution: execution.clone(),
                        services,
                        iterations,
                        timeout,
                        wait,
                        testcase: case.clone(),
                        files: files.clone(),
                        tester: tester.as_ref().map(|_| "tester".to_string()),
                        span: mspan,
                        cell: Some(MatrixCell {
                            matrix: mname.clone(),
                            server: server.0.clone(),
                            client: client.0.clone(),
                            testcase: case.clone(),
                        }),
                    });
                }
            }
        }
        out
    }
}

impl Problem {
    fn with_code(mut self, code: &'static str) -> Problem {
        self.code = code;
        self
    }
}

/// `count` files named after `path`: `/dir/m.bin` gives `/dir/m-1.bin` … `/dir/m-N.bin` (the
/// number before the last extension of the file name, or at its end when it has none).
fn numbered(path: &str, count: u64) -> Vec<String> {
    let (dir, file) = path.rsplit_once('/').unwrap_or(("", path));
    let (stem, ext) = match file.rsplit_once('.') {
        Some((stem, ext)) if !stem.is_empty() => (stem, format!(".{ext}")),
        _ => (file, String::new()),
    };
    (1..=count).map(|k| format!("{dir}/{stem}-{k}{ext}")).collect()
}
