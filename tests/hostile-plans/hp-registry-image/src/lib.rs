//! An image built on a registry reference instead of the local base.
#![allow(unused_imports)]
use hostile_plans_common::*;

hostile_plans_common::hostile_service!("hp-registry-image", |r, p| {
    p.image = Some(ImageSpec { base: "docker.io/library/alpine:latest".into(), ..base_image("hp-registry-image") });
});
