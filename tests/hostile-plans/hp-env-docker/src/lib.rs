//! A well-behaved Docker environment: one internal network, logs mounted.
#![allow(unused_imports)]
use hostile_plans_common::*;

hostile_plans_common::hostile_environment!("hp-env-docker", EnvironmentKind::Docker, |r, d| {
});
