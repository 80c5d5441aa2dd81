//! Checks rendered plans against the experiment's policy.
//!
//! Owns [`Policy`] (the presets `default` and `strict`, and policy files), its rules
//! ([`RULES`]) and [`Violations`]. Every refusal names the plugin, the field and the rule, and
//! all violations of a plan are reported at once. Does not call plugins, render templates or
//! run anything.
//!
//! Two entry points judge what plugins return: [`Policy::check`] for a service plan and
//! [`Policy::check_deployment`] for an environment's deployment plan. A third,
//! [`Policy::check_image_bases`], judges the image bases of all plans of an experiment together,
//! because "another plan's image" is only known once every plan is in.
//!
//! Each concern's file holds the rules it enforces beside the code that enforces them, so a
//! rule's documentation (what `validate --explain` prints) cannot drift from its check.

mod argv;
mod checker;
mod deployment;
mod file;
mod image;
mod paths;
mod rules;
mod service;

use crate::plugin::types::ServicePlan;
use crate::plugin::wit::latest::env::DeploymentPlan;

use super::RenderContext;

pub use argv::{shell_string_in, BOUNDED_TIMEOUTS, NO_DANGEROUS_ENV, NO_EMPTY_ARGV, NO_ESCALATION, NO_SHELL};
pub use checker::{BOUNDED_SIZES, NO_NUL, VALID_NAMES};
pub use deployment::{ALLOWED_EXECUTORS, CONFINED_MOUNTS, NO_HOST_NAMESPACES};
pub use file::PolicyError;
pub use image::LOCAL_IMAGES;
pub use paths::CONFINED_PATHS;
pub use rules::{rule, Rule, RULES};
pub use service::{plan_bytes, ALLOWED_CAPS};

/// Names of the built-in presets.
pub const PRESETS: &[&str] = &["default", "strict"];

/// What plans may ask for. A policy file sets any of these keys; `extends` names the preset
/// the others override (default `default`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Policy {
    pub name: String,
    /// The preset a policy file starts from; only meaningful in files.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extends: Option<String>,
    /// Executors tests may use: `localhost`, `docker`, `shadow`.
    pub executors: Vec<String>,
    pub allow_shell: bool,
    /// Image bases must be `panther-base:*` or another plan's image.
    pub local_images_only: bool,
    /// Every deployment network must be `internal`.
    pub internal_networks_only: bool,
    /// Every upstream source is pinned to a full commit id (no tags: a tag can be moved).
    pub pinned_sources: bool,
    pub max_arg_bytes: usize,
    pub max_args: usize,
    pub max_env_bytes: usize,
    pub max_env_vars: usize,
    pub max_commands: usize,
    pub max_file_bytes: usize,
    pub max_files: usize,
    pub max_ports: usize,
    pub max_artifacts: usize,
    /// Sum of every string of one plan.
    pub max_plan_bytes: usize,
    /// Placements of one deployment.
    pub max_services: usize,
    pub max_timeout_ms: u64,
    pub allowed_capabilities: Vec<String>,
    /// Extra path prefixes plans may use (besides the service's `dirs.*`).
    pub extra_paths: Vec<String>,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            name: "default".into(),
            extends: None,
            executors: ["localhost", "docker", "shadow"].map(String::from).to_vec(),
            allow_shell: false,
            local_images_only: false,
            internal_networks_only: false,
            pinned_sources: false,
            max_arg_bytes: 64 * 1024,
            max_args: 4096,
            max_env_bytes: 64 * 1024,
            max_env_vars: 256,
            max_commands: 256,
            max_file_bytes: 1024 * 1024,
            max_files: 256,
            max_ports: 64,
            max_artifacts: 256,
            max_plan_bytes: 8 * 1024 * 1024,
            max_services: 64,
            max_timeout_ms: 2 * 3600 * 1000,
            allowed_capabilities: ["NET_ADMIN", "NET_RAW", "SYS_PTRACE"].map(String::from).to_vec(),
            extra_paths: vec![],
        }
    }
}

impl Policy {
    /// The `strict` preset: what a hardened CI uses (see SECURITY.md).
    pub fn strict() -> Self {
        Policy {
            name: "strict".into(),
            executors: vec!["docker".into()],
            local_images_only: true,
            internal_networks_only: true,
            pinned_sources: true,
            max_arg_bytes: 16 * 1024,
            max_args: 1024,
            max_env_bytes: 16 * 1024,
            max_env_vars: 128,
            max_commands: 128,
            max_file_bytes: 256 * 1024,
            max_files: 64,
            max_ports: 16,
            max_artifacts: 64,
            max_plan_bytes: 2 * 1024 * 1024,
            max_services: 32,
            max_timeout_ms: 30 * 60 * 1000,
            allowed_capabilities: vec!["NET_ADMIN".into(), "NET_RAW".into()],
            ..Policy::default()
        }
    }

    /// A built-in preset by name.
    ///
    /// # Errors
    /// [`PolicyError::UnknownPreset`] for a name that is not in [`PRESETS`].
    pub fn preset(name: &str) -> Result<Policy, PolicyError> {
        match name {
            "default" => Ok(Policy::default()),
            "strict" => Ok(Policy::strict()),
            other => Err(PolicyError::UnknownPreset { name: other.to_string() }),
        }
    }

    /// Judges a rendered plan. `ctx` gives the directories paths may use.
    ///
    /// # Errors
    /// Every violation at once.
    pub fn check(&self, plugin: &str, plan: &ServicePlan, ctx: &RenderContext) -> Result<(), Violations> {
        service::check_plan(self, plugin, plan, ctx)
    }

    /// Judges the image bases of every plan of an experiment together: with
    /// `local_images_only`, a base is `panther-base:TAG` or the name of an image that one of
    /// `plans` builds (not its own).
    ///
    /// # Errors
    /// One [`Violations`] per plugin whose base is refused.
    pub fn check_image_bases(&self, plans: &[(&str, &ServicePlan)]) -> Result<(), Vec<Violations>> {
        image::check_image_bases(self, plans)
    }

    /// Judges an environment plugin's deployment plan. Mounts name the host's directories;
    /// the Docker executor confines the paths behind those names when it binds them.
    ///
    /// # Errors
    /// Every violation at once.
    pub fn check_deployment(&self, plugin: &str, plan: &DeploymentPlan) -> Result<(), Violations> {
        deployment::check_deployment(self, plugin, plan)
    }
}

/// One broken rule.
#[derive(Debug, Clone, thiserror::Error, miette::Diagnostic, serde::Serialize)]
#[error("plugin `{plugin}`: {field}: {message} (rule `{rule}`)")]
#[diagnostic(code(panther::policy))]
pub struct PolicyViolation {
    pub plugin: String,
    pub field: String,
    pub rule: &'static str,
    pub message: String,
}

/// All violations of one plan.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("the {policy} policy refuses the plan of plugin `{plugin}`: {}", summary(.violations))]
#[diagnostic(code(panther::policy::refused), help("`panther-host validate --explain RULE` explains a rule"))]
pub struct Violations {
    pub plugin: String,
    pub policy: String,
    #[related]
    pub violations: Vec<PolicyViolation>,
}

/// `field (rule `r`)` for each violation: enough to act on in one line (a summary table, a
/// JUnit message); the full messages are the `#[related]` diagnostics.
fn summary(vs: &[PolicyViolation]) -> String {
    const SHOWN: usize = 8;
    let mut parts: Vec<String> = vs.iter().take(SHOWN).map(|v| format!("{} (rule `{}`)", v.field, v.rule)).collect();
    if vs.len() > SHOWN {
        parts.push(format!("and {} more", vs.len() - SHOWN));
    }
    parts.join("; ")
}

impl Violations {
    /// Whether some violation is of `rule`.
    pub fn has(&self, rule: &Rule) -> bool {
        self.violations.iter().any(|v| v.rule == rule.name)
    }
}

/// Plans, contexts and deployments the tests of every concern share.
#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::plugin::types::*;
    use crate::plugin::wit::latest::env::{Capture, Mount, Network, Placement};

    pub(super) fn cmd(argv: &[&str]) -> Command {
        Command {
            argv: argv.iter().map(|s| s.to_string()).collect(),
            env: vec![],
            cwd: None,
            timeout_ms: None,
            critical: true,
            description: String::new(),
        }
    }

    pub(super) fn plan(run: Vec<Command>) -> ServicePlan {
        ServicePlan {
            ports: vec![Port { name: "quic".into(), number: 0, transport: Transport::Udp }],
            readiness: Readiness { condition: ReadinessCondition::PortBound("quic".into()), timeout_ms: 10_000 },
            ..crate::plan::test_support::plan_with_run(run)
        }
    }

    pub(super) fn ctx_at(root: &str) -> RenderContext {
        let mut c = RenderContext::default();
        for d in ["run", "logs", "work", "www"] {
            c.dirs.insert(d.into(), if d == "run" { root.to_string() } else { format!("{root}/{d}") });
        }
        c
    }

    pub(super) fn ctx() -> RenderContext {
        ctx_at("/srv/run/1/server")
    }

    pub(super) fn rules_of(r: Result<(), Violations>) -> Vec<&'static str> {
        r.err().map(|v| v.violations.iter().map(|v| v.rule).collect()).unwrap_or_default()
    }

    pub(super) fn check(p: &Policy, plan: &ServicePlan) -> Vec<&'static str> {
        rules_of(p.check("t", plan, &ctx()))
    }

    pub(super) fn argv_rules(argv: &[&str]) -> Vec<&'static str> {
        check(&Policy::strict(), &plan(vec![cmd(argv)]))
    }

    pub(super) fn image(base: &str) -> ImageSpec {
        ImageSpec {
            name: "quic-go".into(),
            base: base.into(),
            packages: vec!["golang-go".into()],
            sources: vec![],
            steps: vec![],
            build_args: vec![],
            workdir: Some("/app".into()),
        }
    }

    /// A Docker deployment that passes the strict policy; `cli::audit` prints it too.
    pub(crate) fn deployment() -> DeploymentPlan {
        DeploymentPlan {
            kind: EnvironmentKind::Docker,
            networks: vec![Network { name: "t-net".into(), internal: true }],
            placements: vec![Placement {
                service: "server".into(),
                host: "server".into(),
                aliases: vec!["srv".into()],
                networks: vec!["t-net".into()],
                after: vec![],
                mounts: vec![Mount { dir: "logs".into(), target: Some("/logs".into()), read_only: false }],
                env: vec![("ROLE".into(), "server".into())],
            }],
            capture: Some(Capture { interface: "test-network".into(), ports_only: true }),
            relays: vec![],
        }
    }

    pub(super) fn deploy_rules(p: &Policy, d: &DeploymentPlan) -> Vec<&'static str> {
        rules_of(p.check_deployment("env", d))
    }

    // It accepts an ordinary plan under both presets.
    #[test]
    fn ordinary_plan_passes() {
        let mut p = plan(vec![cmd(&["picoquicdemo", "-p", "4443"])]);
        p.image = Some(image("panther-base:bookworm"));
        p.capabilities = vec!["NET_ADMIN".into()];
        p.artifacts =
            vec![Artifact { kind: ArtifactKind::Log, path: "/srv/run/1/server/logs/a.log".into(), required: true }];
        assert_eq!(check(&Policy::default(), &p), Vec::<&str>::new());
        assert_eq!(check(&Policy::strict(), &p), Vec::<&str>::new());
    }

    // It reports every violation of a plan at once, each naming plugin, field and rule.
    #[test]
    fn all_violations_at_once() {
        let mut p = plan(vec![cmd(&["sh", "-c", "x"]), cmd(&[])]);
        p.capabilities = vec!["SYS_ADMIN".into()];
        let v = Policy::strict().check("evil", &p, &ctx()).unwrap_err();
        assert_eq!(v.violations.len(), 3, "{v:?}");
        assert!(v.violations.iter().all(|v| v.plugin == "evil"));
        assert_eq!(v.violations[0].field, "phases.run[0].argv[0]");
        assert_eq!(v.violations[1].field, "phases.run[1].argv");
        assert_eq!(v.violations[2].field, "capabilities[0]");
        assert_eq!(
            v.to_string(),
            "the strict policy refuses the plan of plugin `evil`: phases.run[0].argv[0] (rule `no-shell`); phases.run[1].argv (rule `argv-not-empty`); capabilities[0] (rule `allowed-capabilities`)"
        );
    }
}
