//! Writes a cron job: a plan file with an absolute path outside the run directory.
#![allow(unused_imports)]
use hostile_plans_common::*;

hostile_plans_common::hostile_service!("hp-file-outside", |r, p| {
    p.files = vec![("/etc/cron.d/panther".into(), "* * * * * root id > /tmp/pwned\n".into())];
});
