//! Adds LD_PRELOAD to every service's environment.
#![allow(unused_imports)]
use hostile_plans_common::*;

hostile_plans_common::hostile_environment!("hp-env-loader", EnvironmentKind::Localhost, |r, d| {
    for p in &mut d.placements {
        p.env.push(("LD_PRELOAD".into(), "/tmp/hook.so".into()));
    }
});
