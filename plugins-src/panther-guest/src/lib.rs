//! Shared plumbing for panther plugins written in Rust.
//!
//! A plugin crate depends on this one, implements [`ServicePlugin`] (the generated `Guest`
//! trait of the `service` interface) and calls [`export_service!`]; an IUT plugin instead
//! describes itself in an [`Iut`] and calls [`export_iut!`] with its plan function. The bindings
//! for both worlds are generated here once, so plugin crates hold only their plan logic and
//! their table of versions.
//!
//! # Layout
//! * [`plan`]: builders for [`Command`], [`ServicePlan`] and [`ImageSpec`].
//! * [`params`]: [`ParamSpec`] constructors and typed access to [`PlanRequest::params`].
//! * [`versions`]: the [`VersionRow`] table every IUT plugin keeps.
//! * [`iut`]: [`Iut`], an IUT plugin's description, from which `describe` and the first checks
//!   of `plan` are made, and [`export_iut!`], the `service` glue every IUT plugin shares.
//! * [`picoquic`]: the `picoquicdemo` plan the two picoquic plugins share.
//! * [`error`]: short constructors for [`PluginError`].
//! * [`log`]: the one host import, as `log::info(..)` and friends.

//!
//! Apart from [`picoquic`] (one plan two plugins must agree on), this crate never decides what a
//! plan contains; it only makes plans shorter to write.

pub mod bindings {
    wit_bindgen::generate!({
        world: "service-plugin",
        path: "../../wit/since_v0.1.0",
        pub_export_macro: true,
        export_macro_name: "export_service",
        default_bindings_module: "panther_guest::bindings",
    });
}

/// Environment plugins are built against the newest contract, 0.2.0 (the test's link and the
/// relays the plugin places); its `types` are 0.1.0's, unchanged, so one set of Rust types
/// serves both worlds.
pub mod env_bindings {
    wit_bindgen::generate!({
        world: "environment-plugin",
        path: "../../wit/since_v0.2.0",
        pub_export_macro: true,
        export_macro_name: "export_environment",
        default_bindings_module: "panther_guest::env_bindings",
        with: {
            "panther:plugin/types@0.2.0": crate::bindings::panther::plugin::types,
            "panther:plugin/host@0.2.0": generate,
        },
    });
}

pub mod error;
pub mod front_end;
pub mod iut;
pub mod log;
pub mod order;
pub mod params;
pub mod picoquic;
pub mod plan;
pub mod versions;

pub use bindings::export_service;
pub use bindings::exports::panther::plugin::service::Guest as ServicePlugin;
pub use bindings::panther::plugin::types::*;
pub use env_bindings::export_environment;
pub use env_bindings::exports::panther::plugin::environment;

pub use error::{internal, invalid_param, unsupported};
pub use iut::Iut;
pub use params::{check_choices, Params};
pub use plan::cmd;
pub use versions::{require_environment, require_role, source_infos, source_param, Pin, SourceRow, VersionRow, VersionTable};

/// The base image every upstream build starts from; the host builds it with debootstrap.
pub const BASE_IMAGE: &str = "panther-base:bookworm";

/// The name a role has in experiments and messages (`server`, `client`, ...).
pub fn role_name(role: Role) -> &'static str {
    match role {
        Role::Server => "server",
        Role::Client => "client",
        Role::Peer => "peer",
        Role::Mitm => "mitm",
    }
}

/// The paths a client fetches: the test's requests, or `/index.html` (what the original
/// clients fetched) when the test names none.
pub fn requests_or_index(req: &PlanRequest) -> Vec<String> {
    if req.requests.is_empty() {
        vec!["/index.html".to_string()]
    } else {
        req.requests.clone()
    }
}

/// The `https://` URL of `path` on the target, as the QUIC clients take their requests.
pub fn target_url(path: &str) -> String {
    format!("https://{{{{target.host}}}}:{{{{target.port}}}}{path}")
}

/// The port number a server declares: the implementation's usual one (`4443` for the QUIC
/// IUTs) inside containers, where every service has its own address, and `0` (the host picks
/// a free one) on localhost, where services share one.
pub fn listen_port(req: &PlanRequest, usual: u16) -> u16 {
    match req.environment {
        EnvironmentKind::Localhost => 0,
        EnvironmentKind::Docker | EnvironmentKind::Shadow => usual,
    }
}

/// The address a server binds: its own loopback address on localhost (test traffic stays on
/// loopback), every address of its container otherwise; in the `ipv6` test case `::1` on
/// localhost and every address of both families (`::`) in a container.
pub fn listen_host(req: &PlanRequest) -> &'static str {
    match (on_ipv6(req), req.environment) {
        (true, EnvironmentKind::Localhost) => "::1",
        (true, _) => "::",
        (false, EnvironmentKind::Localhost) => "{{self.ip}}",
        (false, EnvironmentKind::Docker | EnvironmentKind::Shadow) => "0.0.0.0",
    }
}

/// Whether the service takes part in the interop runner's `ipv6` test case where it can run:
/// on localhost over `::1`, and under Docker over the test's dual-stack networks, where the
/// host gives every service `<name>6`, a name that resolves to its IPv6 address only (and that
/// the run's certificate names), as the runner's `server6`. Shadow here is IPv4 only, and the
/// `interop` tester judges the case `unsupported-by-environment` there.
pub fn on_ipv6(req: &PlanRequest) -> bool {
    req.testcase.as_deref() == Some("ipv6")
        && matches!(req.environment, EnvironmentKind::Localhost | EnvironmentKind::Docker)
}

/// How a client names its target over IPv6 in the `ipv6` test case: `::1` on localhost,
/// `{{target.host6}}` under Docker.
pub fn ipv6_target(req: &PlanRequest) -> &'static str {
    match req.environment {
        EnvironmentKind::Localhost => "::1",
        _ => "{{target.host6}}",
    }
}

/// [`listen_host`] with a port, as `host:port` (IPv6 in brackets).
pub fn listen_addr(req: &PlanRequest, port: &str) -> String {
    if on_ipv6(req) {
        format!("[{}]:{port}", listen_host(req))
    } else {
        format!("{}:{port}", listen_host(req))
    }
}

/// [`target_url`] for this request: the server over IPv6 in the `ipv6` test case.
pub fn target_url_for(req: &PlanRequest, path: &str) -> String {
    match (on_ipv6(req), req.environment) {
        (true, EnvironmentKind::Localhost) => format!("https://[::1]:{{{{target.port}}}}{path}"),
        (true, _) => format!("https://{}:{{{{target.port}}}}{path}", ipv6_target(req)),
        (false, _) => target_url(path),
    }
}
