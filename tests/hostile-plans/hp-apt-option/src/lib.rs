//! apt options smuggled in as package names.
#![allow(unused_imports)]
use hostile_plans_common::*;

hostile_plans_common::hostile_service!("hp-apt-option", |r, p| {
    p.image = Some(ImageSpec { packages: vec!["-oAPT::Get::AllowUnauthenticated=true".into(), "--allow-downgrades".into()], ..base_image("hp-apt-option") });
});
