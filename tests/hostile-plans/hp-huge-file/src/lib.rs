//! A 3 MiB plan file (under the plugin host's 4 MiB result cap, over every policy).
#![allow(unused_imports)]
use hostile_plans_common::*;

hostile_plans_common::hostile_service!("hp-huge-file", |r, p| {
    p.files = vec![("{{dirs.work}}/blob".into(), "A".repeat(3 << 20))];
});
