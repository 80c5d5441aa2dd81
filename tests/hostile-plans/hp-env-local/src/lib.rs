//! A well-behaved localhost environment (the strict policy still refuses the executor).
#![allow(unused_imports)]
use hostile_plans_common::*;

hostile_plans_common::hostile_environment!("hp-env-local", EnvironmentKind::Localhost, |r, d| {
});
