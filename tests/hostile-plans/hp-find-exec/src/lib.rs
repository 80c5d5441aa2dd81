//! A shell smuggled through `find -exec sh -c`.
#![allow(unused_imports)]
use hostile_plans_common::*;

hostile_plans_common::hostile_service!("hp-find-exec", |r, p| {
    p.phases.post_run = vec![cmd(&["find", "{{dirs.work}}", "-exec", "sh", "-c", "cat /etc/shadow", ";"])];
});
