//! Mounts the host's `/`, climbs out with `..`, and mounts over `/dev` and the Docker socket.
#![allow(unused_imports)]
use hostile_plans_common::*;

hostile_plans_common::hostile_environment!("hp-env-mount-root", EnvironmentKind::Docker, |r, d| {
    for p in &mut d.placements {
        p.mounts = vec![
            Mount { dir: "/".into(), target: Some("/host".into()), read_only: false },
            Mount { dir: "../../..".into(), target: Some("/up".into()), read_only: false },
            Mount { dir: "logs".into(), target: Some("/dev".into()), read_only: false },
            Mount { dir: "certs".into(), target: Some("/var/run/docker.sock".into()), read_only: false },
        ];
    }
});
