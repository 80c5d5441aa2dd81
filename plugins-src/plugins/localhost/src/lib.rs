//! The `localhost` environment: every service of a test runs as a local process on
//! 127.0.0.1, with no networks, no mounts and a capture of the loopback interface.
//!
//! A service starts after the service it targets ([`panther_guest::order`]). Does not decide
//! what runs: the service plugins did that.

use panther_guest::environment::{Capture, DeployRequest, DeploymentPlan, Guest, Placement};
use panther_guest::order::{deps, start_order};
use panther_guest::*;

const NAME: &str = "localhost";
const HOST: &str = "127.0.0.1";

struct Localhost;

impl Guest for Localhost {
    fn describe() -> PluginInfo {
        PluginInfo {
            name: NAME.into(),
            version: env!("CARGO_PKG_VERSION").into(),
            kind: PluginKind::Environment,
            description: "runs every service as a local process on 127.0.0.1; captures the loopback interface".into(),
            protocols: vec![],
            roles: vec![],
            versions: vec![],
            sources: vec![],
            parameters: vec![],
            environments: vec![EnvironmentKind::Localhost],
        }
    }

    fn deploy(request: DeployRequest) -> Result<DeploymentPlan, PluginError> {
        if let Some((k, _)) = request.params.first() {
            return Err(invalid_param(
                k,
                format!("the localhost environment takes no parameters (test `{}`)", request.test),
            ));
        }
        let order = start_order(&request.services).map_err(|m| unsupported(format!("test `{}`: {m}", request.test)))?;
        let placements = order
            .into_iter()
            .map(|i| {
                let s = &request.services[i];
                Placement {
                    service: s.name.clone(),
                    host: HOST.into(),
                    aliases: vec![],
                    networks: vec![],
                    after: deps(s, &request.services),
                    mounts: vec![],
                    env: vec![],
                }
            })
            .collect();
        Ok(DeploymentPlan {
            kind: EnvironmentKind::Localhost,
            networks: vec![],
            placements,
            capture: Some(Capture {
                interface: "lo".into(),
                ports_only: true,
            }),
            // On loopback the host places a link's relays itself.
            relays: vec![],
        })
    }
}

export_environment!(Localhost);
