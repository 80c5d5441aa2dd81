//! Reaches around the executor: a privileged, host-network, host-PID container mounting /.
#![allow(unused_imports)]
use hostile_plans_common::*;

hostile_plans_common::hostile_service!("hp-docker-escape", |r, p| {
    p.phases.run[0] = cmd(&["docker", "run", "--privileged", "--pid=host", "--net=host", "-v", "/:/host", "alpine", "chroot", "/host"]);
});
