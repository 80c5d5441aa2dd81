//! Shared plumbing for panther plugins written in Rust.
//!
//! A plugin crate depends on this one, implements [`ServicePlugin`]'s `Guest` trait and calls
//! [`export_service!`]. The bindings for both worlds are generated here once, so plugin crates
//! hold only their plan logic and their table of versions.

pub mod bindings {
    wit_bindgen::generate!({
        world: "service-plugin",
        path: "../../wit/since_v0.1.0",
        pub_export_macro: true,
        export_macro_name: "export_service",
        default_bindings_module: "panther_guest::bindings",
    });
}

pub mod env_bindings {
    wit_bindgen::generate!({
        world: "environment-plugin",
        path: "../../wit/since_v0.1.0",
        pub_export_macro: true,
        export_macro_name: "export_environment",
        default_bindings_module: "panther_guest::env_bindings",
        with: {
            "panther:plugin/types@0.1.0": crate::bindings::panther::plugin::types,
            "panther:plugin/host@0.1.0": crate::bindings::panther::plugin::host,
        },
    });
}

pub use bindings::exports::panther::plugin::service::Guest as ServicePlugin;
pub use bindings::panther::plugin::types::*;
pub use env_bindings::exports::panther::plugin::environment as environment;
pub use bindings::export_service;
pub use env_bindings::export_environment;
