//! Plans: late binding of runtime values ([`render`]) and the policy that judges them
//! ([`policy`]). Does not call plugins or run anything.
//!
//! A plugin's [`ServicePlan`] becomes a [`CheckedPlan`] only through [`check`], so nothing
//! unrendered or unjudged can reach an executor.

pub mod confine;
pub mod display;
pub mod policy;
pub mod render;
pub mod wrap;

use crate::plugin::types::{Command, Phases, Readiness, ReadinessCondition, ServicePlan};

pub use policy::{Policy, PolicyViolation, Violations};
pub use render::{RenderContext, RenderError};

/// A plan whose templates are all rendered and which the policy accepted.
#[derive(Debug, Clone, serde::Serialize)]
pub struct CheckedPlan {
    plan: ServicePlan,
}

impl CheckedPlan {
    /// The rendered plan. Every string in it is final: no placeholders remain.
    pub fn plan(&self) -> &ServicePlan {
        &self.plan
    }

    /// Only for tests of executors, which need plans without a plugin.
    #[doc(hidden)]
    pub fn assume_checked_for_tests(plan: ServicePlan) -> Self {
        CheckedPlan { plan }
    }
}

/// Why a plan could not be checked.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum CheckError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Render(#[from] RenderError),
    #[error(transparent)]
    #[diagnostic(transparent)]
    Policy(#[from] Violations),
}

/// Renders a plugin's plan with the runtime values in `ctx` and judges the result with `policy`.
///
/// # Errors
/// A [`RenderError`] names the plugin, the field and the unknown placeholder; [`Violations`]
/// lists every policy rule the rendered plan breaks, each with plugin, field and rule.
pub fn check(
    plugin: &str,
    plan: &ServicePlan,
    ctx: &RenderContext,
    policy: &Policy,
) -> Result<CheckedPlan, CheckError> {
    let rendered = render::render_plan(plugin, plan, ctx)?;
    policy.check(plugin, &rendered, ctx)?;
    Ok(CheckedPlan { plan: rendered })
}

/// A plan with only these run commands: no image, ports, artifacts or files, ready when
/// started (sample plans, tests).
pub fn running(run: Vec<Command>) -> ServicePlan {
    ServicePlan {
        phases: Phases {
            pre_compile: vec![],
            compile: vec![],
            post_compile: vec![],
            pre_run: vec![],
            run,
            post_run: vec![],
        },
        image: None,
        ports: vec![],
        readiness: Readiness { condition: ReadinessCondition::Started, timeout_ms: 1000 },
        artifacts: vec![],
        capabilities: vec![],
        files: vec![],
    }
}

/// Plans for the unit tests of this module's parts.
#[cfg(test)]
pub(crate) mod test_support {
    use crate::plugin::types::*;

    /// See [`super::running`]; tests override what they need with `..plan_with_run(run)`.
    pub fn plan_with_run(run: Vec<Command>) -> ServicePlan {
        super::running(run)
    }

    /// A plan whose only phase is one run command with `argv` and a key-log variable.
    pub fn plan_running(argv: &[&str]) -> ServicePlan {
        plan_with_run(vec![Command {
            argv: argv.iter().map(|s| s.to_string()).collect(),
            env: vec![("SSLKEYLOGFILE".into(), "{{files.keylog}}".into())],
            cwd: None,
            timeout_ms: None,
            critical: true,
            description: String::new(),
        }])
    }

    /// A localhost service of test `t` running `plan`, with every directory under `root`.
    pub fn instance(name: &str, root: &std::path::Path, plan: ServicePlan) -> crate::exec::ServiceInstance {
        let d = |n: &str| root.join(n);
        crate::exec::ServiceInstance {
            test: "t".into(),
            name: name.into(),
            role: Role::Server,
            implementation: name.into(),
            tester: false,
            plan: super::CheckedPlan { plan },
            dirs: crate::exec::ServiceDirs {
                root: root.to_path_buf(),
                logs: d("logs"),
                work: d("work"),
                www: d("www"),
                downloads: d("downloads"),
                certs: d("certs"),
                qlog: d("qlog"),
                cache: d("cache"),
                tools: d("tools"),
            },
            host: "127.0.0.1".into(),
            ips: Default::default(),
            hosts: vec![],
            ports: Default::default(),
            after: vec![],
            extra_env: vec![],
            placement: None,
            timeout: std::time::Duration::from_secs(60),
        }
    }
}
