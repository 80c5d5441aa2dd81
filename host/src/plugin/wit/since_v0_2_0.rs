//! Bindings for `panther:plugin@0.2.0` (`wit/since_v0.2.0`): environments learn about the
//! test's link and place its relays. The `types` interface is unchanged since 0.1.0, so its
//! Rust types are 0.1.0's (`with`), and plans, outcomes and verdicts need no adapter; only the
//! environment's own records do ([`adapt`]).

/// The oldest contract version this module serves.
pub const MIN_VERSION: super::Version = super::Version(0, 2, 0);

/// The `service-plugin` world at 0.2.0: the same calls and types as at 0.1.0, under the new
/// package version (and its own `host` import, which the linker must offer by that name).
pub mod service {
    wasmtime::component::bindgen!({
        world: "service-plugin",
        path: "../wit/since_v0.2.0",
        additional_derives: [serde::Serialize, serde::Deserialize, PartialEq],
        with: {
            "panther:plugin/types": crate::plugin::wit::since_v0_1_0::types,
        },
    });
}

/// The `environment-plugin` world at 0.2.0.
pub mod environment {
    wasmtime::component::bindgen!({
        world: "environment-plugin",
        path: "../wit/since_v0.2.0",
        additional_derives: [serde::Serialize, serde::Deserialize, PartialEq],
        with: {
            "panther:plugin/types": crate::plugin::wit::since_v0_1_0::types,
            "panther:plugin/host": super::service::panther::plugin::host,
        },
    });
}

pub use crate::plugin::wit::since_v0_1_0::types;
pub use environment::exports::panther::plugin::environment as env;
pub use service::panther::plugin::host;

/// Turns the host's (0.2.0) environment values into 0.1.0 ones and back, for environment
/// plugins built against 0.1.0: the request loses its link (such a plugin cannot place
/// relays, and the host refuses a Docker link it did not place), the plan gains no relays.
pub mod adapt {
    use super::super::since_v0_1_0::env as old;
    use super::env as new;

    pub fn request(r: &new::DeployRequest) -> old::DeployRequest {
        old::DeployRequest {
            test: r.test.clone(),
            run_id: r.run_id.clone(),
            services: r
                .services
                .iter()
                .map(|s| old::ServiceEntry {
                    name: s.name.clone(),
                    role: s.role,
                    implementation: s.implementation.clone(),
                    target: s.target.clone(),
                    plan: s.plan.clone(),
                    tester: s.tester,
                })
                .collect(),
            params: r.params.clone(),
        }
    }

    pub fn deployment(d: old::DeploymentPlan) -> new::DeploymentPlan {
        new::DeploymentPlan {
            kind: d.kind,
            networks: d.networks.into_iter().map(|n| new::Network { name: n.name, internal: n.internal }).collect(),
            placements: d
                .placements
                .into_iter()
                .map(|p| new::Placement {
                    service: p.service,
                    host: p.host,
                    aliases: p.aliases,
                    networks: p.networks,
                    after: p.after,
                    mounts: p
                        .mounts
                        .into_iter()
                        .map(|m| new::Mount { dir: m.dir, target: m.target, read_only: m.read_only })
                        .collect(),
                    env: p.env,
                })
                .collect(),
            capture: d.capture.map(|c| new::Capture { interface: c.interface, ports_only: c.ports_only }),
            relays: vec![],
        }
    }
}
