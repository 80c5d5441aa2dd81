//! Five thousand placements for a handful of services.
#![allow(unused_imports)]
use hostile_plans_common::*;

hostile_plans_common::hostile_environment!("hp-env-crowd", EnvironmentKind::Localhost, |r, d| {
    let first = d.placements[0].clone();
    d.placements = (0..5000).map(|i| Placement { service: format!("ghost-{i}"), host: format!("ghost-{i}"), ..first.clone() }).collect();
});
