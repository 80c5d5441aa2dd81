//! picoquic built from the Shadow-compatible fork (ElNiak/picoquic), for the Shadow network
//! simulator and Docker.
//!
//! Same `picoquicdemo` command lines as the `picoquic` plugin (the plan is
//! `panther_guest::picoquic`; the original's templates differ only in putting `-c`/`-k` on the
//! client too). The original's three version files all carry the rfc9000 settings (ALPN
//! `hq-interop`, version 1) under draft names; here each version announces its own ALPN and
//! initial version, on the original's pinned fork commit and picotls revisions.

use panther_guest::picoquic::{self, Demo, Flavour};
use panther_guest::*;

const NAME: &str = "picoquic-shadow";
const FORK: Pin = Pin::new("picoquic", "https://github.com/ElNiak/picoquic.git", "bb67995f2d7c0e577c2c8788313c3b580d3df9a7");
/// The fork's master (Aug 2024), "fix for shadow": the server opens an IPv4 socket only
/// (Shadow has no IPv6) and its send loop no longer spins. Built for the Shadow simulator, with
/// the socket options Shadow lacks made non-fatal and `-0` (no UDP GSO) on both ends.
const SHADOW_TREE: Pin = Pin::new("picoquic", "https://github.com/ElNiak/picoquic.git", "3b15977a76d4a93ad7f4a4d96a049f12b203db93");
const PICOTLS: &str = "https://github.com/h2o/picotls.git";

/// A version on the fork's commit and a picotls commit (a macro: a `const fn` cannot return a
/// slice built from its arguments).
macro_rules! row {
    ($name:literal, $wire:literal, $alpn:literal, $picotls:literal) => {
        VersionRow {
            name: $name,
            wire: Some($wire),
            alpn: &[$alpn],
            upstream: &[FORK, Pin::new("picotls", PICOTLS, $picotls)],
            // The fork is the rfc9000-era tree whatever the version is called.
            extra: Demo::RFC9000_ERA,
        }
    };
}

const IUT: Iut<Demo> = Iut {
    name: NAME,
    version: env!("CARGO_PKG_VERSION"),
    description: "picoquicdemo from the Shadow-compatible picoquic fork",
    protocol: "quic",
    roles: &[Role::Server, Role::Client],
    environments: &[EnvironmentKind::Docker, EnvironmentKind::Shadow],
    versions: &[
        row!("rfc9000", "00000001", "hq-interop", "047c5fe20bb9ea91c1caded8977134f19681ec76"),
        row!("draft29", "ff00001d", "hq-29", "2464adadf28c1b924416831d24ca62380936a209"),
        row!("draft27", "ff00001b", "hq-27", "5e0f82e184f1ae79de58837819b13ea7ef89b6f1"),
    ],
    sources: &[SourceRow::upstream(
        "the Shadow-compatible picoquic fork (ElNiak/picoquic bb67995f; 3b15977a under Shadow) and picotls, built with cmake (a Docker image, or the tools cache under Shadow)",
    )],
};

const FLAVOUR: Flavour = Flavour {
    server_flags: &["-n", "servername", "-D", "-L"],
    client_certs: true,
    target: "{{target.ip}}",
    shadow_tree: Some(SHADOW_TREE),
};

export_iut!(IUT, |req: PlanRequest| picoquic::plan(&IUT, &FLAVOUR, &req));
