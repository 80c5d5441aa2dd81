//! @@NAME@@: @@SUMMARY@@
//!
//! Made by `panther-host plugin new --kind environment`. An environment plugin places the
//! services of a test: for each one, the host it runs on, the services it waits for, its
//! networks, mounts and environment, and what to capture. The host checks the deployment
//! against its policy and carries it out with the executor of the declared kind (here
//! `localhost`: local processes). Nothing here runs anything, reads files or sees the network.

wit_bindgen::generate!({ world: "environment-plugin", path: "wit" });

use exports::panther::plugin::environment::{Capture, DeployRequest, DeploymentPlan, Guest, Placement, ServiceEntry};
use panther::plugin::types::*;

const NAME: &str = "@@NAME@@";
const HOST: &str = "127.0.0.1";

struct Plugin;

impl Guest for Plugin {
    fn describe() -> PluginInfo {
        PluginInfo {
            name: NAME.into(),
            version: env!("CARGO_PKG_VERSION").into(),
            kind: PluginKind::Environment,
            description: "@@SUMMARY@@".into(),
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
            return Err(PluginError::InvalidParam(ParamProblem {
                name: k.clone(),
                message: format!("{NAME} takes no parameters"),
            }));
        }
        let order = start_order(&request.services).map_err(|m| PluginError::Unsupported(format!("test `{}`: {m}", request.test)))?;
        let placements = order
            .into_iter()
            .map(|s| Placement {
                service: s.name.clone(),
                host: HOST.into(),
                aliases: vec![],
                networks: vec![],
                // A service starts once the one it targets is ready.
                after: s.target.iter().cloned().collect(),
                mounts: vec![],
                env: vec![],
            })
            .collect();
        Ok(DeploymentPlan {
            kind: EnvironmentKind::Localhost,
            networks: vec![],
            placements,
            capture: Some(Capture { interface: "lo".into(), ports_only: true }),
            // On localhost the host places a link's relays itself.
            relays: vec![],
        })
    }
}

/// The services in start order: each after the one it targets; otherwise servers first, then
/// the experiment's order. A target that is missing, or a cycle, is an error naming them.
fn start_order(services: &[ServiceEntry]) -> Result<Vec<&ServiceEntry>, String> {
    let mut placed: Vec<&ServiceEntry> = Vec::new();
    while placed.len() < services.len() {
        let is_placed = |name: &str| placed.iter().any(|p| p.name == name);
        let next = services
            .iter()
            .filter(|s| !is_placed(&s.name) && s.target.as_deref().is_none_or(|t| is_placed(t)))
            .min_by_key(|s| s.role == Role::Client || s.tester);
        match next {
            Some(s) => placed.push(s),
            None => {
                let waiting: Vec<String> = services
                    .iter()
                    .filter(|s| !is_placed(&s.name))
                    .map(|s| format!("`{}` (waits for `{}`)", s.name, s.target.as_deref().unwrap_or("?")))
                    .collect();
                return Err(format!("these services can never start: {}", waiting.join(", ")));
            }
        }
    }
    Ok(placed)
}

export!(Plugin);
