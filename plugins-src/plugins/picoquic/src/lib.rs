//! picoquic (private-octopus/picoquic) as an implementation under test.
//!
//! Reproduces the original PANTHER plugin's `picoquicdemo` command lines
//! (`version_configs/*.yaml` + `templates/{server,client}_command.jinja`) with its bugs fixed:
//! the server always gets `-c`/`-k` (the original's template read keys its YAML did not have and
//! dropped them), serves `{{dirs.www}}` and writes qlogs; the client fetches the test's requests
//! into `{{dirs.downloads}}`. Builds only from the pinned upstream sources, so it plans for
//! Docker only. The plan itself is `panther_guest::picoquic`, shared with `picoquic-shadow`.

use panther_guest::picoquic::{self, Flavour};
use panther_guest::*;

const NAME: &str = "picoquic";
const PICOQUIC: &str = "https://github.com/private-octopus/picoquic.git";
const PICOTLS: &str = "https://github.com/h2o/picotls.git";

/// A version at a picoquic and a picotls commit (a macro: a `const fn` cannot return a slice
/// built from its arguments).
macro_rules! row {
    ($name:literal, $wire:literal, $alpn:literal, $picoquic:literal, $picotls:literal) => {
        VersionRow::new($name, Some($wire), &[$alpn], &[Pin::new("picoquic", PICOQUIC, $picoquic), Pin::new("picotls", PICOTLS, $picotls)])
    };
}

const IUT: Iut = Iut {
    name: NAME,
    version: env!("CARGO_PKG_VERSION"),
    description: "picoquic's picoquicdemo, HTTP/0.9 (hq) server and client",
    protocol: "quic",
    roles: &[Role::Server, Role::Client],
    environments: &[EnvironmentKind::Docker],
    // Pins from the original's `version_configs/<version>.yaml` (`commit` and `dependencies`).
    versions: &[
        row!("rfc9000", "00000001", "hq-interop", "bb67995f2d7c0e577c2c8788313c3b580d3df9a7", "047c5fe20bb9ea91c1caded8977134f19681ec76"),
        row!("draft29", "ff00001d", "hq-29", "ad23e6c3593bd987dcd8d74fc9f528f2676fedf4", "2464adadf28c1b924416831d24ca62380936a209"),
        row!("draft27-vuln1", "ff00001b", "hq-27", "97687415c78f5cae4ea3ac6a7373e369415480ce", "5e0f82e184f1ae79de58837819b13ea7ef89b6f1"),
        row!("draft27-vuln2", "ff00001b", "hq-27", "42c6200fb20217e31c07b2c3ac73dadbd0c337b8", "a1769991c69e4f9b8e3d19db5cce745aaa86b271"),
    ],
    sources: &[SourceRow::upstream(
        "picoquic and picotls from GitHub at the original's pinned commits, built with cmake in a Docker image",
    )],
};

const FLAVOUR: Flavour = Flavour {
    server_flags: &["-n", "servername", "-l", "-", "-D", "-L"],
    client_certs: false,
    target: "{{target.host}}",
};

export_iut!(IUT, |req: PlanRequest| picoquic::plan(&IUT, &FLAVOUR, &req));
