//! Asks for a privileged container through capabilities.
#![allow(unused_imports)]
use hostile_plans_common::*;

hostile_plans_common::hostile_service!("hp-privileged", |r, p| {
    p.capabilities = vec!["SYS_ADMIN".into(), "ALL".into()];
});
