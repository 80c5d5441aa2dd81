//! Inline interpreter code in the compile phase: `python3 -c`.
#![allow(unused_imports)]
use hostile_plans_common::*;

hostile_plans_common::hostile_service!("hp-python-c", |r, p| {
    p.phases.compile = vec![cmd(&["python3", "-c", "import os; os.system('id > /tmp/pwned')"])];
});
