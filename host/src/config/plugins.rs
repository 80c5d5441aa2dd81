//! Checks an experiment against the installed plugins: every implementation and network
//! names a plugin of the right kind, and every parameter matches the plugin's declarations.
//!
//! Owns [`check_plugins`] and [`ResolvedParams`]. Sees plugins only as
//! [`PluginInfo`] values handed in by the caller; does not load or call them.

use std::collections::{BTreeMap, HashMap};

use crate::plugin::types::{ParamValue, PluginInfo, PluginKind};

use super::error::{similar, ticked, ConfigError, Problem, Source, Span};
use super::params::{self, Mismatch};
use super::{role_name, Experiment, ServiceKind, ServiceSpec, TestSpec};

/// Typed parameters of every service and network, defaults filled in, in the order the plugin
/// declares them: what plugins receive.
#[derive(Debug, Clone, Default)]
pub struct ResolvedParams {
    services: BTreeMap<(String, String), Vec<(String, ParamValue)>>,
    networks: BTreeMap<String, Vec<(String, String)>>,
}

impl ResolvedParams {
    /// Parameters of service `service` in the test with slug `test_slug`; empty when unknown.
    pub fn get(&self, test_slug: &str, service: &str) -> &[(String, ParamValue)] {
        self.services.get(&(test_slug.to_string(), service.to_string())).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Network parameters of a test as text (what `deploy` receives), defaults filled in.
    pub fn network(&self, test_slug: &str) -> &[(String, String)] {
        self.networks.get(test_slug).map(Vec::as_slice).unwrap_or(&[])
    }
}

/// "an iut", "a tester", "an environment".
fn a_kind(k: PluginKind) -> &'static str {
    match k {
        PluginKind::Iut => "an iut",
        PluginKind::Tester => "a tester",
        PluginKind::Environment => "an environment",
    }
}

fn kind_name(k: PluginKind) -> &'static str {
    match k {
        PluginKind::Iut => "iut",
        PluginKind::Tester => "tester",
        PluginKind::Environment => "environment",
    }
}

/// Checks that implementations exist and parameters match the plugins' declarations (types,
/// required, choices, unknown names with did-you-mean), and that each plugin serves the
/// service's kind, protocol, version and role. Returns typed values with defaults filled in.
///
/// `lookup` finds an installed plugin by name. It cannot list plugins, so an unknown name
/// gets no "similar plugins" hint; [`check_plugins_among`] gives one.
///
/// # Errors
/// Every problem at once, each pointing into the experiment file.
pub fn check_plugins(
    exp: &Experiment,
    lookup: &dyn Fn(&str) -> Option<PluginInfo>,
) -> Result<ResolvedParams, ConfigError> {
    Checker::new(exp, lookup, None).run()
}

/// [`check_plugins`] over a known list of installed plugins, which lets an unknown name be
/// answered with the similar installed ones.
///
/// # Errors
/// As [`check_plugins`].
pub fn check_plugins_among(exp: &Experiment, installed: &[PluginInfo]) -> Result<ResolvedParams, ConfigError> {
    let lookup = |name: &str| installed.iter().find(|p| p.name == name).cloned();
    Checker::new(exp, &lookup, Some(installed)).run()
}

struct Checker<'a> {
    exp: &'a Experiment,
    src: Source,
    lookup: &'a dyn Fn(&str) -> Option<PluginInfo>,
    installed: Option<&'a [PluginInfo]>,
    cache: HashMap<String, Option<PluginInfo>>,
    problems: Vec<Problem>,
}

impl<'a> Checker<'a> {
    fn new(
        exp: &'a Experiment,
        lookup: &'a dyn Fn(&str) -> Option<PluginInfo>,
        installed: Option<&'a [PluginInfo]>,
    ) -> Self {
        Checker { exp, src: exp.source_file(), lookup, installed, cache: HashMap::new(), problems: vec![] }
    }

    fn run(mut self) -> Result<ResolvedParams, ConfigError> {
        let mut out = ResolvedParams::default();
        for t in &self.exp.tests {
            if let Some(net) = self.network(t) {
                out.networks.insert(t.slug.clone(), net);
            }
            for s in &t.services {
                if let Some(p) = self.service(t, s) {
                    out.services.insert((t.slug.clone(), s.name.clone()), p);
                }
            }
        }
        if self.problems.is_empty() {
            Ok(out)
        } else {
            Err(ConfigError::new(self.problems))
        }
    }

    fn info(&mut self, name: &str) -> Option<PluginInfo> {
        let lookup = self.lookup;
        self.cache.entry(name.to_string()).or_insert_with(|| lookup(name)).clone()
    }

    fn at(&self, code: &'static str, span: Span, label: impl Into<String>, message: impl Into<String>) -> Problem {
        Problem::at(&self.src, code, span, label, message)
    }

    fn unknown_plugin(&mut self, name: &str, want: PluginKind, span: Span, what: &str) {
        let help = match self.installed {
            Some(all) => {
                let close = similar(name, all.iter().map(|p| p.name.as_str()));
                let of_kind: Vec<&str> = all.iter().filter(|p| p.kind == want).map(|p| p.name.as_str()).collect();
                if !close.is_empty() {
                    format!("similar installed plugins: {}", ticked(&close))
                } else if of_kind.is_empty() {
                    format!("no {} plugin is installed; build them with `make plugins` or add a directory with --plugin-dir", kind_name(want))
                } else {
                    format!("installed {} plugins: {}", kind_name(want), ticked(&of_kind))
                }
            }
            None => "`panther-host plugins list` shows the installed plugins".into(),
        };
        let p = self
            .at("unknown_plugin", span, "no installed plugin has this name", format!("unknown {what} `{name}`"))
            .help(help);
        self.problems.push(p);
    }

    fn network(&mut self, t: &TestSpec) -> Option<Vec<(String, String)>> {
        let net = &t.network;
        let Some(info) = self.info(&net.kind) else {
            self.unknown_plugin(&net.kind, PluginKind::Environment, net.span, "network environment");
            return None;
        };
        if info.kind != PluginKind::Environment {
            let p = self
                .at(
                    "plugin_kind",
                    net.span,
                    format!("{} plugin", a_kind(info.kind)),
                    format!("`{}` is {} plugin, not a network environment", info.name, a_kind(info.kind)),
                )
                .help("`network.type` names an environment plugin, such as `localhost` or `docker-compose`");
            self.problems.push(p);
            return None;
        }
        let mut ok = true;
        // The link emulator is a relay, on this machine or in a container between the test's
        // networks; a simulator models part of a link itself.
        if let Some((link, span)) = &net.link {
            use crate::plugin::types::EnvironmentKind as K;
            let problem = match info.environments.first() {
                Some(K::Localhost) => None,
                Some(K::Shadow) => {
                    let beyond = link.beyond_simulation();
                    (!beyond.is_empty()).then(|| {
                        (
                            "beyond what Shadow models",
                            format!(
                                "network environment `{}` simulates a link's delay, bandwidth and loss only; it cannot model {}",
                                info.name,
                                beyond.join(", ")
                            ),
                            "remove those keys, or run the test with `network = { type = \"localhost\", link = ... }`, where the link emulator has them all",
                        )
                    })
                }
                // The relay runs in a container the environment places (contract 0.2.0);
                // planning says so if the plugin places none.
                Some(K::Docker) => link
                    .rebind
                    .filter(|r| r.kind == crate::link::spec::RebindKind::Address)
                    .map(|_| {
                        (
                            "needs a new address per rebinding",
                            format!(
                                "network environment `{}` runs the link's relay in a container, which has one address per network, so it cannot give the client a new address",
                                info.name
                            ),
                            "rebind the port (`rebind = { kind = \"port\", ... }`), or run the test with `network = { type = \"localhost\", link = ... }`",
                        )
                    }),
                None => Some((
                    "declares no environment",
                    format!("network environment `{}` declares no environment kind, so it cannot have a `link`", info.name),
                    "run the test with `network = { type = \"localhost\", link = ... }`, or remove `link`",
                )),
            };
            if let Some((label, message, help)) = problem {
                self.problems.push(self.at("link_environment", *span, label, message).help(help));
                ok = false;
            }
        }
        for (name, (kspan, _)) in &net.param_spans {
            if !info.parameters.iter().any(|p| &p.name == name) {
                let (message, help) = params::unknown_parts(&info, name);
                let p = self.at("unknown_param", *kspan, "unknown parameter", message).help(help);
                self.problems.push(p);
                ok = false;
            }
        }
        let mut out = vec![];
        for spec in &info.parameters {
            match net.params.get(&spec.name) {
                Some(text) => match params::from_text(spec, text) {
                    Ok(_) => out.push((spec.name.clone(), text.clone())),
                    Err(m) => {
                        let span = net.param_spans.get(&spec.name).map(|s| s.1).unwrap_or(net.span);
                        self.mismatch(&info, &m, span, spec);
                        ok = false;
                    }
                },
                None => match &spec.default {
                    Some(v) => out.push((spec.name.clone(), text_of(v))),
                    None if spec.required => {
                        let p = self
                            .at(
                                "missing_param",
                                net.span,
                                format!("`{}` is required", spec.name),
                                format!("network environment `{}` requires parameter `{}`", info.name, spec.name),
                            )
                            .help(format!(
                                "add `{} = {}` to the `network` table: {}",
                                spec.name,
                                params::example(spec),
                                spec.doc
                            ));
                        self.problems.push(p);
                        ok = false;
                    }
                    None => {}
                },
            }
        }
        ok.then_some(out)
    }

    fn mismatch(&mut self, info: &PluginInfo, m: &Mismatch, span: Span, spec: &crate::plugin::types::ParamSpec) {
        let (label, help) = match m {
            Mismatch::Type { expected, .. } => (
                format!("expected {expected}"),
                format!("write, for example, `{} = {}` ({})", spec.name, params::example(spec), spec.doc),
            ),
            Mismatch::Choice { choices, .. } => (
                "not a declared choice".to_string(),
                format!("{}use one of {}", m.hint().map(|h| format!("{h} ")).unwrap_or_default(), ticked(choices)),
            ),
        };
        let p = self.at("param_value", span, label, format!("plugin `{}`: {m}", info.name)).help(help);
        self.problems.push(p);
    }

    fn service(&mut self, t: &TestSpec, s: &ServiceSpec) -> Option<Vec<(String, ParamValue)>> {
        let what = match s.kind {
            ServiceKind::Iut => "implementation",
            ServiceKind::Tester => "tester",
        };
        let want = match s.kind {
            ServiceKind::Iut => PluginKind::Iut,
            ServiceKind::Tester => PluginKind::Tester,
        };
        let Some(info) = self.info(&s.implementation) else {
            self.unknown_plugin(&s.implementation, want, s.spans.implementation, what);
            return None;
        };
        if info.kind != want {
            let fix = match info.kind {
                PluginKind::Iut => "set `type = \"iut\"` on the service, or name a tester plugin".to_string(),
                PluginKind::Tester => "set `type = \"tester\"` on the service, or name an iut plugin".to_string(),
                PluginKind::Environment => "environment plugins go in `network`, not in a service".to_string(),
            };
            let p = self
                .at(
                    "plugin_kind",
                    s.spans.implementation,
                    format!("{} plugin", a_kind(info.kind)),
                    format!(
                        "`{}` is {} plugin, but service `{}` is of type `{}`",
                        info.name,
                        a_kind(info.kind),
                        s.name,
                        s.kind.as_str()
                    ),
                )
                .also(
                    s.spans.kind,
                    if s.spans.kind == s.span {
                        "of type `iut` by default".to_string()
                    } else {
                        "type given here".to_string()
                    },
                )
                .help(fix);
            self.problems.push(p);
            return None;
        }
        let mut ok = true;
        if !info.protocols.is_empty() && !info.protocols.contains(&s.protocol) {
            let p = self
                .at(
                    "unsupported",
                    s.spans.protocol,
                    "not served by this plugin",
                    format!("plugin `{}` does not serve protocol `{}`", info.name, s.protocol),
                )
                .help(format!("it serves {}; choose another implementation or protocol", ticked(&info.protocols)));
            self.problems.push(p);
            ok = false;
        } else if !info.versions.is_empty() && !info.versions.iter().any(|v| v.name == s.version) {
            let versions: Vec<&str> = info.versions.iter().map(|v| v.name.as_str()).collect();
            let hint = similar(&s.version, versions.iter().copied())
                .first()
                .map(|v| format!("did you mean `{v}`? "))
                .unwrap_or_default();
            let p = self
                .at(
                    "unsupported",
                    s.spans.version,
                    "not supported by this plugin",
                    format!("plugin `{}` does not support {} version `{}`", info.name, s.protocol, s.version),
                )
                .help(format!("{hint}it supports {}", ticked(&versions)));
            self.problems.push(p);
            ok = false;
        }
        // A matrix tester only judges; it is given the role `peer` whatever its plugin plays.
        let judging_tester = t.cell.is_some() && s.kind == ServiceKind::Tester;
        if !judging_tester && !info.roles.is_empty() && !info.roles.contains(&s.role) {
            let roles: Vec<&str> = info.roles.iter().map(|r| role_name(*r)).collect();
            let p = self
                .at(
                    "unsupported",
                    s.spans.role,
                    "not a role of this plugin",
                    format!("plugin `{}` cannot play the role `{}`", info.name, role_name(s.role)),
                )
                .help(format!("it plays {}", ticked(&roles)));
            self.problems.push(p);
            ok = false;
        }
        let mut names: Vec<&String> = s.params.keys().collect();
        names.sort_by_key(|n| s.spans.params.get(*n).map(|sp| sp.0.start));
        for name in names {
            if !info.parameters.iter().any(|p| &p.name == name) {
                let span = s.spans.params.get(name).map(|sp| sp.0).unwrap_or(s.spans.implementation);
                let (message, help) = params::unknown_parts(&info, name);
                let p = self.at("unknown_param", span, "unknown parameter", message).help(help);
                self.problems.push(p);
                ok = false;
            }
        }
        let mut out = vec![];
        for spec in &info.parameters {
            match s.params.get(&spec.name) {
                Some(v) => match params::from_toml(spec, v) {
                    Ok(typed) => out.push((spec.name.clone(), typed)),
                    Err(m) => {
                        let span = s.spans.params.get(&spec.name).map(|sp| sp.1).unwrap_or(s.spans.implementation);
                        self.mismatch(&info, &m, span, spec);
                        ok = false;
                    }
                },
                None => match &spec.default {
                    Some(v) => out.push((spec.name.clone(), v.clone())),
                    None if spec.required => {
                        let p = self
                            .at(
                                "missing_param",
                                s.span,
                                format!("`{}` is required", spec.name),
                                format!(
                                    "service `{}` lacks parameter `{}`, which plugin `{}` requires",
                                    s.name, spec.name, info.name
                                ),
                            )
                            .help(format!(
                                "add `params = {{ {} = {} }}` to the service: {}",
                                spec.name,
                                params::example(spec),
                                spec.doc
                            ));
                        self.problems.push(p);
                        ok = false;
                    }
                    None => {}
                },
            }
        }
        ok.then_some(out)
    }
}

/// A parameter value as network parameters carry it: plain text, lists comma-separated.
fn text_of(v: &ParamValue) -> String {
    match v {
        ParamValue::String(s) => s.clone(),
        ParamValue::Integer(i) => i.to_string(),
        ParamValue::Boolean(b) => b.to_string(),
        ParamValue::Float(f) => f.to_string(),
        ParamValue::List(l) => l.join(","),
    }
}
