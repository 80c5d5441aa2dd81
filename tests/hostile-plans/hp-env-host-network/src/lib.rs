//! Joins Docker's host network and another container's namespaces.
#![allow(unused_imports)]
use hostile_plans_common::*;

hostile_plans_common::hostile_environment!("hp-env-host-network", EnvironmentKind::Docker, |r, d| {
    d.networks = vec![Network { name: "host".into(), internal: false }];
    for p in &mut d.placements {
        p.networks = vec!["host".into(), "container:server".into()];
    }
});
