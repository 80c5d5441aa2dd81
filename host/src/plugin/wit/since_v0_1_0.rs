//! Bindings for `panther:plugin@0.1.0` (`wit/since_v0.1.0`), the first released contract.

/// The oldest contract version this module serves.
pub const MIN_VERSION: super::Version = super::Version(0, 1, 0);

/// The `service-plugin` world: IUTs and testers.
pub mod service {
    wasmtime::component::bindgen!({
        world: "service-plugin",
        path: "../wit/since_v0.1.0",
        additional_derives: [serde::Serialize, serde::Deserialize, PartialEq],
    });
}

/// The `environment-plugin` world; shares `types` and `host` with [`service`].
pub mod environment {
    wasmtime::component::bindgen!({
        world: "environment-plugin",
        path: "../wit/since_v0.1.0",
        additional_derives: [serde::Serialize, serde::Deserialize, PartialEq],
        with: {
            "panther:plugin/types": super::service::panther::plugin::types,
            "panther:plugin/host": super::service::panther::plugin::host,
        },
    });
}

pub use environment::exports::panther::plugin::environment as env;
pub use service::panther::plugin::host;
pub use service::panther::plugin::types;
