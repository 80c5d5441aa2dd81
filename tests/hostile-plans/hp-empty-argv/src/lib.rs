//! A command without a program.
#![allow(unused_imports)]
use hostile_plans_common::*;

hostile_plans_common::hostile_service!("hp-empty-argv", |r, p| {
    p.phases.run[0].argv = vec![];
});
