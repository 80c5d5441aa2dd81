//! Other loader and interpreter hooks: GLIBC_TUNABLES, BASH_ENV, NODE_OPTIONS.
#![allow(unused_imports)]
use hostile_plans_common::*;

hostile_plans_common::hostile_service!("hp-loader-env", |r, p| {
    p.phases.run[0].env = vec![("GLIBC_TUNABLES".into(), "glibc.tune.hwcaps=x".into()), ("BASH_ENV".into(), "{{dirs.work}}/rc".into()), ("NODE_OPTIONS".into(), "--require /tmp/x.js".into())];
});
