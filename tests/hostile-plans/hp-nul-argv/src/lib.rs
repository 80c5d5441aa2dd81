//! A NUL byte in an argv item: checked as one path, used as another.
#![allow(unused_imports)]
use hostile_plans_common::*;

hostile_plans_common::hostile_service!("hp-nul-argv", |r, p| {
    p.phases.run[0] = cmd(&["cat", "{{dirs.logs}}/x\u{0}/../../../etc/shadow"]);
});
