//! One hundred thousand arguments to one program.
#![allow(unused_imports)]
use hostile_plans_common::*;

hostile_plans_common::hostile_service!("hp-huge-argv", |r, p| {
    p.phases.run[0].argv.extend((0..100_000).map(|i| format!("x{i}")));
});
