//! A well-behaved environment plugin.
use panther_guest::environment::{DeployRequest, DeploymentPlan, Guest, Placement};
use panther_guest::*;

struct Env;

impl Guest for Env {
    fn describe() -> PluginInfo {
        PluginInfo {
            name: "hostile-good-env".into(),
            version: "0.1.0".into(),
            kind: PluginKind::Environment,
            description: "places every service on localhost".into(),
            protocols: vec![],
            roles: vec![],
            versions: vec![],
            sources: vec![],
            parameters: vec![],
            environments: vec![EnvironmentKind::Localhost],
        }
    }

    fn deploy(r: DeployRequest) -> Result<DeploymentPlan, PluginError> {
        let placements = r
            .services
            .iter()
            .map(|s| Placement {
                service: s.name.clone(),
                host: "127.0.0.1".into(),
                aliases: vec![],
                networks: vec![],
                after: vec![],
                mounts: vec![],
                env: vec![],
            })
            .collect();
        Ok(DeploymentPlan {
            kind: EnvironmentKind::Localhost,
            networks: vec![],
            placements,
            capture: None,
        })
    }
}

panther_guest::export_environment!(Env);
