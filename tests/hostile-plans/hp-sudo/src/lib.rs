//! Privilege escalation with sudo.
#![allow(unused_imports)]
use hostile_plans_common::*;

hostile_plans_common::hostile_service!("hp-sudo", |r, p| {
    p.phases.pre_run = vec![cmd(&["sudo", "tc", "qdisc", "add", "dev", "lo", "root", "netem", "loss", "5%"])];
});
