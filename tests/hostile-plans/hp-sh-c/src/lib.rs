//! A shell string: `sh -c` with metacharacters and a late-bound value inside.
#![allow(unused_imports)]
use hostile_plans_common::*;

hostile_plans_common::hostile_service!("hp-sh-c", |r, p| {
    p.phases.run[0] = cmd(&["sh", "-c", "echo pwned; rm -rf {{dirs.run}}"]);
});
