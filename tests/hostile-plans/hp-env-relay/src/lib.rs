//! Link relays (contract 0.2.0) that stand where they must not: on Docker's `host` network,
//! in front of a service the test does not have, twice in front of one, and between a
//! network and itself.
#![allow(unused_imports)]
use hostile_plans_common::*;
use panther_guest::environment::Relay;

hostile_plans_common::hostile_environment!("hp-env-relay", EnvironmentKind::Docker, |r, d| {
    let relay = |server: &str, client: &str, srv: &str| Relay {
        server: server.into(),
        client_network: client.into(),
        server_network: srv.into(),
    };
    d.relays = vec![
        relay(&r.services[0].name, "host", "hp-net"),
        relay("ghost", "hp-net", "elsewhere"),
        relay(&r.services[1].name, "hp-net", "hp-net"),
        relay(&r.services[1].name, "hp-net", "hp-net"),
    ];
});
