//! NUL bytes in an environment name and value.
#![allow(unused_imports)]
use hostile_plans_common::*;

hostile_plans_common::hostile_service!("hp-nul-env", |r, p| {
    p.phases.run[0].env = vec![("SAFE\u{0}LD_PRELOAD".into(), "1".into()), ("MODE".into(), "fast\u{0}evil".into())];
});
