//! Collects a private key: an artifact path that climbs out with `..`.
#![allow(unused_imports)]
use hostile_plans_common::*;

hostile_plans_common::hostile_service!("hp-artifact-escape", |r, p| {
    p.artifacts = vec![Artifact { kind: ArtifactKind::Log, path: "{{dirs.logs}}/../../../../../root/.ssh/id_ed25519".into(), required: true }];
});
