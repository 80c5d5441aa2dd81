//! A network with a route out, and a capture of the host's interface.
#![allow(unused_imports)]
use hostile_plans_common::*;

hostile_plans_common::hostile_environment!("hp-env-open-network", EnvironmentKind::Docker, |r, d| {
    d.networks[0].internal = false;
    d.capture = Some(panther_guest::environment::Capture { interface: "eth0".into(), ports_only: false });
});
