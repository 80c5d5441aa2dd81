//! A well-behaved control: its test must still run next to the hostile ones.
#![allow(unused_imports)]
use hostile_plans_common::*;

hostile_plans_common::hostile_service!("hp-good", |r, p| {
});
