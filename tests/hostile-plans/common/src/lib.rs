//! Shared by the hostile-plan plugins: each plugin starts from a well-formed plan
//! ([`base_plan`]) or deployment ([`base_deployment`]) and breaks exactly one thing, so the
//! refusal the test suite expects is the only one the policy can give.
//!
//! These plugins behave inside the sandbox (no loops, no huge memory): their *plans* are the
//! attack. Sandbox attacks live in `tests/hostile/`.

pub use panther_guest::environment::{DeployRequest, DeploymentPlan, Mount, Network, Placement};
pub use panther_guest::*;

/// `describe()` of a hostile service plugin: an IUT for QUIC on both executors.
pub fn info(name: &str) -> PluginInfo {
    PluginInfo {
        name: name.into(),
        version: "0.1.0".into(),
        kind: PluginKind::Iut,
        description: "a plugin whose plan is hostile (tests/hostile-plans)".into(),
        protocols: vec!["quic".into()],
        roles: vec![Role::Server, Role::Client, Role::Peer],
        versions: vec![ProtocolVersion { name: "rfc9000".into(), wire: Some("00000001".into()), alpn: vec!["hq-interop".into()] }],
        sources: vec![],
        parameters: vec![],
        environments: vec![EnvironmentKind::Localhost, EnvironmentKind::Docker],
    }
}

/// `describe()` of a hostile environment plugin.
pub fn env_info(name: &str, kind: EnvironmentKind) -> PluginInfo {
    PluginInfo {
        name: name.into(),
        version: "0.1.0".into(),
        kind: PluginKind::Environment,
        description: "an environment whose deployment is hostile (tests/hostile-plans)".into(),
        protocols: vec![],
        roles: vec![],
        versions: vec![],
        sources: vec![],
        parameters: vec![],
        environments: vec![kind],
    }
}

pub fn cmd(argv: &[&str]) -> Command {
    Command { argv: argv.iter().map(|s| s.to_string()).collect(), env: vec![], cwd: None, timeout_ms: Some(10_000), critical: true, description: String::new() }
}

/// A plan every policy accepts: print a line into the service's log and exit 0.
pub fn base_plan(r: &PlanRequest) -> ServicePlan {
    let mut run = cmd(&["echo", "hello from {{self.name}}"]);
    run.description = format!("{} says hello", r.service);
    ServicePlan {
        phases: Phases { pre_compile: vec![], compile: vec![], post_compile: vec![], pre_run: vec![], run: vec![run], post_run: vec![] },
        image: None,
        ports: vec![],
        readiness: Readiness { condition: ReadinessCondition::Started, timeout_ms: 5_000 },
        artifacts: vec![],
        capabilities: vec![],
        files: vec![],
    }
}

/// An image spec the strict policy accepts.
pub fn base_image(name: &str) -> ImageSpec {
    ImageSpec { name: name.into(), base: "panther-base:bookworm".into(), packages: vec!["ca-certificates".into()], sources: vec![], steps: vec![], build_args: vec![], workdir: Some("/app".into()) }
}

/// A deployment every policy accepts for `kind`: each service on its own placement; Docker
/// services on one internal network with their logs mounted.
pub fn base_deployment(r: &DeployRequest, kind: EnvironmentKind) -> DeploymentPlan {
    let docker = kind == EnvironmentKind::Docker;
    let networks = if docker { vec![Network { name: "hp-net".into(), internal: true }] } else { vec![] };
    let placements = r
        .services
        .iter()
        .map(|s| Placement {
            service: s.name.clone(),
            host: if docker { s.name.clone() } else { "127.0.0.1".into() },
            aliases: vec![],
            networks: if docker { vec!["hp-net".into()] } else { vec![] },
            after: vec![],
            mounts: if docker { vec![Mount { dir: "logs".into(), target: Some("/logs".into()), read_only: false }] } else { vec![] },
            env: vec![],
        })
        .collect();
    DeploymentPlan { kind, networks, placements, capture: None, relays: vec![] }
}

/// A service plugin named `$name` whose plan is `base_plan` changed by `$body`
/// (`|request, plan| { ... }`).
#[macro_export]
macro_rules! hostile_service {
    ($name:literal, |$r:ident, $p:ident| $body:block) => {
        struct Hostile;
        impl $crate::ServicePlugin for Hostile {
            fn describe() -> $crate::PluginInfo {
                $crate::info($name)
            }
            #[allow(unused_mut, unused_variables)]
            fn plan($r: $crate::PlanRequest) -> Result<$crate::ServicePlan, $crate::PluginError> {
                let mut $p = $crate::base_plan(&$r);
                $body
                Ok($p)
            }
            fn assess(o: $crate::Outcome) -> Option<$crate::Verdict> {
                let ok = o.services.iter().all(|s| s.exit_code == Some(0) || s.stopped_by_host);
                Some($crate::Verdict {
                    status: if ok { $crate::VerdictStatus::Pass } else { $crate::VerdictStatus::Fail },
                    reasons: vec![format!("{} service(s), all exited with 0: {ok}", o.services.len())],
                    evidence: vec![],
                })
            }
        }
        panther_guest::export_service!(Hostile);
    };
}

/// An environment plugin named `$name` whose deployment is `base_deployment` for `$kind`
/// changed by `$body` (`|request, deployment| { ... }`).
#[macro_export]
macro_rules! hostile_environment {
    ($name:literal, $kind:expr, |$r:ident, $d:ident| $body:block) => {
        struct Hostile;
        impl $crate::environment::Guest for Hostile {
            fn describe() -> $crate::PluginInfo {
                $crate::env_info($name, $kind)
            }
            #[allow(unused_mut, unused_variables)]
            fn deploy($r: $crate::DeployRequest) -> Result<$crate::DeploymentPlan, $crate::PluginError> {
                let mut $d = $crate::base_deployment(&$r, $kind);
                $body
                Ok($d)
            }
        }
        panther_guest::export_environment!(Hostile);
    };
}
