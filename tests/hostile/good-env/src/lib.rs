//! A well-behaved environment plugin built against contract 0.1.0, as a third party's plugin
//! from before 0.2.0 is: its own bindings of `wit/since_v0.1.0`, no helper crate. The host
//! must keep loading it and adapt its calls (tests/e2e/plugins.rs).
wit_bindgen::generate!({
    world: "environment-plugin",
    path: "../../../wit/since_v0.1.0",
    generate_all,
});

use exports::panther::plugin::environment::{DeployRequest, DeploymentPlan, Guest, Placement};
use panther::plugin::types::{EnvironmentKind, PluginError, PluginInfo, PluginKind};

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
        Ok(DeploymentPlan { kind: EnvironmentKind::Localhost, networks: vec![], placements, capture: None })
    }
}

export!(Env);
