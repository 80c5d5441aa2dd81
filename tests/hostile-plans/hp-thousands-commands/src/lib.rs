//! Five thousand commands in one phase.
#![allow(unused_imports)]
use hostile_plans_common::*;

hostile_plans_common::hostile_service!("hp-thousands-commands", |r, p| {
    p.phases.pre_run = (0..5000).map(|_| cmd(&["true"])).collect();
});
