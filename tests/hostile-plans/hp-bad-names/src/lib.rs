//! Names that would be read as something else: `X=1 Y` as a variable, an option as a port name.
#![allow(unused_imports)]
use hostile_plans_common::*;

hostile_plans_common::hostile_service!("hp-bad-names", |r, p| {
    p.phases.run[0].env = vec![("X=1 Y".into(), "v".into())];
    p.ports = vec![Port { name: "--publish=22:22".into(), number: 0, transport: Transport::Tcp }];
});
