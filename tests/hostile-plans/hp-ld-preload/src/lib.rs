//! Injects a library into every program of the service.
#![allow(unused_imports)]
use hostile_plans_common::*;

hostile_plans_common::hostile_service!("hp-ld-preload", |r, p| {
    p.phases.run[0].env = vec![("LD_PRELOAD".into(), "{{dirs.work}}/hook.so".into())];
});
