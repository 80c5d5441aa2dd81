//! Late binding of runtime values into plans.
//!
//! Plugin text is data: every template field of a plan is rendered with handlebars in strict
//! mode, with no partials, no custom helpers and no HTML escaping. An unknown placeholder is an
//! error naming the plugin, the field and the placeholder, never an empty string.

use crate::contract::Phase;
use std::collections::BTreeMap;

use handlebars::Handlebars;
use serde::Serialize;

use crate::plugin::types::{Command, Phases, ReadinessCondition, ServicePlan};

/// Runtime values for one service (the vocabulary is documented in `wit/…/types.wit`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct RenderContext {
    #[serde(rename = "self")]
    pub this: Endpoint,
    pub ports: BTreeMap<String, u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<TargetEndpoint>,
    pub peers: BTreeMap<String, Endpoint>,
    pub dirs: BTreeMap<String, String>,
    pub files: BTreeMap<String, String>,
    pub certs: BTreeMap<String, String>,
    /// Pinned upstream trees by source name: a writable copy in the tools directory (local)
    /// or the source's `dest` (inside an image).
    pub sources: BTreeMap<String, String>,
    pub test: NameOnly,
    pub run: RunInfo,
}

/// A service as seen by others.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Endpoint {
    pub name: String,
    pub host: String,
    pub ip: String,
    pub ip_decimal: String,
    /// Its IPv6 address where it has one: `::1` on localhost, the twin of `ip` on a Docker
    /// test's dual-stack networks (the `ipv6` test case). Absent otherwise, so a plan that
    /// names `{{target.ip6}}` there fails to render instead of getting an empty string.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip6: Option<String>,
    /// A name that resolves to `ip6` only, for URLs and certificate checks: `<name>6` on a
    /// Docker test's dual-stack networks (in every container's hosts file, and named by the
    /// run's certificate), as quic-interop-runner's `server6`. Absent elsewhere.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host6: Option<String>,
    pub ports: BTreeMap<String, u16>,
}

/// The service named by `protocol.target`, with its first port as `port`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TargetEndpoint {
    #[serde(flatten)]
    pub endpoint: Endpoint,
    pub port: u16,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct NameOnly {
    pub name: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct RunInfo {
    pub id: String,
}

/// Decimal form of a dotted IPv4 address, as Ivy's command lines want it
/// (a·2²⁴ + b·2¹⁶ + c·2⁸ + d). Empty for anything that is not IPv4.
pub fn ip_decimal(ip: &str) -> String {
    ip.parse::<std::net::Ipv4Addr>().map(|a| u32::from(a).to_string()).unwrap_or_default()
}

/// A placeholder the host could not fill.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("plugin `{plugin}`: cannot render `{field}`: {message}")]
#[diagnostic(
    code(panther::plan::render),
    help("placeholders a plan may use: self.*, ports.*, target.*, peers.NAME.*, dirs.*, files.keylog, certs.*, sources.NAME, test.name, run.id (see wit/since_v0.1.0/types.wit)")
)]
pub struct RenderError {
    pub plugin: String,
    /// Where in the plan, such as `phases.run[0].argv[3]`.
    pub field: String,
    pub template: String,
    pub message: String,
}

struct Renderer<'a> {
    hb: Handlebars<'a>,
    data: serde_json::Value,
    plugin: &'a str,
}

impl Renderer<'_> {
    fn text(&self, field: impl Fn() -> String, template: &str) -> Result<String, RenderError> {
        // Fast path: most plan text has no placeholder at all.
        if !template.contains("{{") {
            return Ok(template.to_string());
        }
        self.hb.render_template(template, &self.data).map_err(|e| RenderError {
            plugin: self.plugin.to_string(),
            field: field(),
            template: template.to_string(),
            message: render_message(&e),
        })
    }

    fn command(&self, at: &str, c: &Command) -> Result<Command, RenderError> {
        let argv = c
            .argv
            .iter()
            .enumerate()
            .map(|(i, a)| self.text(|| format!("{at}.argv[{i}]"), a))
            .collect::<Result<_, _>>()?;
        let env = c
            .env
            .iter()
            .map(|(k, v)| Ok((k.clone(), self.text(|| format!("{at}.env.{k}"), v)?)))
            .collect::<Result<_, RenderError>>()?;
        let cwd = match &c.cwd {
            Some(d) => Some(self.text(|| format!("{at}.cwd"), d)?),
            None => None,
        };
        Ok(Command { argv, env, cwd, ..c.clone() })
    }

    fn commands(&self, phase: &str, cs: &[Command]) -> Result<Vec<Command>, RenderError> {
        cs.iter().enumerate().map(|(i, c)| self.command(&format!("phases.{phase}[{i}]"), c)).collect()
    }
}

fn render_message(e: &handlebars::RenderError) -> String {
    use handlebars::RenderErrorReason as R;
    match e.reason() {
        R::MissingVariable(Some(path)) => format!("unknown placeholder `{{{{{path}}}}}`"),
        R::MissingVariable(None) => "unknown placeholder".to_string(),
        R::PartialNotFound(p) => format!("partials are not allowed (`{{{{> {p}}}}}`)"),
        R::HelperNotFound(h) => format!("unknown helper `{h}`"),
        R::TemplateError(t) => format!("malformed template: {}", t.reason()),
        other => other.to_string(),
    }
}

/// Renders every template field of `plan`.
///
/// # Errors
/// The first field that names an unknown placeholder or is not a well-formed template.
pub fn render_plan(plugin: &str, plan: &ServicePlan, ctx: &RenderContext) -> Result<ServicePlan, RenderError> {
    let mut hb = Handlebars::new();
    hb.set_strict_mode(true);
    hb.register_escape_fn(handlebars::no_escape);
    hb.set_prevent_indent(true);
    let r = Renderer { hb, data: serde_json::to_value(ctx).expect("render context is plain data"), plugin };

    let phase = |ph: Phase| r.commands(ph.field(), ph.of(&plan.phases));
    let phases = Phases {
        pre_compile: phase(Phase::PreCompile)?,
        compile: phase(Phase::Compile)?,
        post_compile: phase(Phase::PostCompile)?,
        pre_run: phase(Phase::PreRun)?,
        run: phase(Phase::Run)?,
        post_run: phase(Phase::PostRun)?,
    };
    let mut readiness = plan.readiness.clone();
    match &mut readiness.condition {
        ReadinessCondition::FileExists(f) => *f = r.text(|| "readiness.file-exists".into(), f)?,
        ReadinessCondition::LogLine(l) => *l = r.text(|| "readiness.log-line".into(), l)?,
        _ => {}
    }
    let artifacts = plan
        .artifacts
        .iter()
        .enumerate()
        .map(|(i, a)| {
            let mut a = a.clone();
            a.path = r.text(|| format!("artifacts[{i}].path"), &a.path)?;
            Ok(a)
        })
        .collect::<Result<_, RenderError>>()?;
    let files = plan
        .files
        .iter()
        .enumerate()
        .map(|(i, (path, content))| {
            Ok((r.text(|| format!("files[{i}].path"), path)?, r.text(|| format!("files[{i}].content"), content)?))
        })
        .collect::<Result<_, RenderError>>()?;
    Ok(ServicePlan { phases, readiness, artifacts, files, ..plan.clone() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::test_support::plan_running as plan_with_argv;

    fn ctx() -> RenderContext {
        let mut c = RenderContext::default();
        c.this.name = "srv".into();
        c.ports.insert("quic".into(), 4443);
        c.files.insert("keylog".into(), "/run/keys.log".into());
        c.target = Some(TargetEndpoint {
            endpoint: Endpoint {
                name: "s".into(),
                host: "localhost".into(),
                ip: "127.0.0.1".into(),
                ip_decimal: ip_decimal("127.0.0.1"),
                ip6: Some("::1".into()),
                host6: None,
                ports: Default::default(),
            },
            port: 4443,
        });
        c
    }

    // It fills in known placeholders and leaves plain text alone, without HTML escaping.
    #[test]
    fn renders_known_placeholders() {
        let p = render_plan(
            "t",
            &plan_with_argv(&[
                "srv",
                "-p",
                "{{ports.quic}}",
                "https://{{target.host}}:{{target.port}}/a&b",
                "{{target.ip_decimal}}",
            ]),
            &ctx(),
        )
        .unwrap();
        assert_eq!(p.phases.run[0].argv, ["srv", "-p", "4443", "https://localhost:4443/a&b", "2130706433"]);
        assert_eq!(p.phases.run[0].env[0].1, "/run/keys.log");
    }

    // An unknown placeholder is an error that names plugin, field and placeholder.
    #[test]
    fn unknown_placeholder_is_an_error() {
        let e = render_plan("quic-go", &plan_with_argv(&["x", "{{peers.nobody.ip}}"]), &ctx()).unwrap_err();
        assert_eq!(e.plugin, "quic-go");
        assert_eq!(e.field, "phases.run[0].argv[1]");
        assert!(e.message.contains("peers.nobody.ip"), "{}", e.message);
        // An endpoint without an IPv6 address has no `ip6`: naming it is an error too.
        assert_eq!(
            render_plan("t", &plan_with_argv(&["x", "[{{target.ip6}}]"]), &ctx()).unwrap().phases.run[0].argv[1],
            "[::1]"
        );
        let mut v4_only = ctx();
        v4_only.target.as_mut().unwrap().endpoint.ip6 = None;
        let e = render_plan("t", &plan_with_argv(&["x", "{{target.ip6}}"]), &v4_only).unwrap_err();
        assert!(e.message.contains("target.ip6"), "{}", e.message);
    }

    // Partials cannot be used to pull in anything.
    #[test]
    fn partials_are_refused() {
        let e = render_plan("p", &plan_with_argv(&["{{> /etc/passwd}}"]), &ctx()).unwrap_err();
        assert!(e.message.contains("partial"), "{}", e.message);
    }

    #[test]
    fn ip_decimal_matches_ivy() {
        assert_eq!(ip_decimal("10.0.0.1"), "167772161");
        assert_eq!(ip_decimal("localhost"), "");
    }
}
