//! A thousand ports to allocate.
#![allow(unused_imports)]
use hostile_plans_common::*;

hostile_plans_common::hostile_service!("hp-many-ports", |r, p| {
    p.ports = (0..1000).map(|i| Port { name: format!("p{i}"), number: 0, transport: Transport::Udp }).collect();
});
