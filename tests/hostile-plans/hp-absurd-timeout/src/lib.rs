//! Timeouts that never end: u64::MAX and ten years.
#![allow(unused_imports)]
use hostile_plans_common::*;

hostile_plans_common::hostile_service!("hp-absurd-timeout", |r, p| {
    p.phases.run[0].timeout_ms = Some(u64::MAX);
    p.readiness.timeout_ms = 10 * 365 * 24 * 3600 * 1000;
});
