//! Path traversal: a working directory that climbs out of the run directory.
#![allow(unused_imports)]
use hostile_plans_common::*;

hostile_plans_common::hostile_service!("hp-cwd-traversal", |r, p| {
    p.phases.run[0].cwd = Some("{{dirs.work}}/../../../../etc".into());
});
