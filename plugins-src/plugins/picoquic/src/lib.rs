//! picoquic (private-octopus/picoquic) as an implementation under test.
//!
//! Reproduces the original PANTHER plugin's `picoquicdemo` command lines
//! (`version_configs/*.yaml` + `templates/{server,client}_command.jinja`) with its bugs fixed:
//! the server always gets `-c`/`-k` (the original's template read keys its YAML did not have and
//! dropped them) and serves `{{dirs.www}}` (without `-w` picoquic serves a built-in page and
//! then resets the stream, which Ivy flags); the client saves what it fetches (the original's
//! `-D` means "do not save"), sends a server name (`-n`), and `-l -` is gone (recent versions
//! log nothing with it; qlogs come from `-q`, keys from SSLKEYLOGFILE and `-8`). Built from the
//! pinned upstream trees the host fetches: on localhost in the compile phases, under Docker in
//! the image. The plan itself is `panther_guest::picoquic`, shared with `picoquic-shadow`.

use panther_guest::picoquic::{self, Demo, Flavour};
use panther_guest::*;

const NAME: &str = "picoquic";
const PICOQUIC: &str = "https://github.com/private-octopus/picoquic.git";
const PICOTLS: &str = "https://github.com/h2o/picotls.git";

/// A version at a picoquic and a picotls commit.
macro_rules! row {
    ($name:literal, $wire:literal, $alpn:literal, $picoquic:literal, $picotls:literal, $demo:expr) => {
        VersionRow {
            name: $name,
            wire: Some($wire),
            alpn: &[$alpn],
            upstream: &[Pin::new("picoquic", PICOQUIC, $picoquic), Pin::new("picotls", PICOTLS, $picotls)],
            extra: $demo,
        }
    };
}

const IUT: Iut<Demo> = Iut {
    name: NAME,
    version: env!("CARGO_PKG_VERSION"),
    description: "picoquic's picoquicdemo, HTTP/0.9 (hq) and HTTP/3 server and client",
    protocol: "quic",
    roles: &[Role::Server, Role::Client],
    environments: &[EnvironmentKind::Localhost, EnvironmentKind::Docker],
    // The original's pins (`version_configs/<version>.yaml`: `commit` and `dependencies`), and
    // today's trees as `latest`.
    versions: &[
        row!("rfc9000", "00000001", "hq-interop", "bb67995f2d7c0e577c2c8788313c3b580d3df9a7", "047c5fe20bb9ea91c1caded8977134f19681ec76", Demo::RFC9000_ERA),
        row!("latest", "00000001", "hq-interop", "d199d45be8690dfa8653e214733243524112e3c0", "f07f1c8c68b237f1468bc1f1fe1b68aba3ff23b4", Demo::CURRENT),
        row!("draft29", "ff00001d", "hq-29", "ad23e6c3593bd987dcd8d74fc9f528f2676fedf4", "2464adadf28c1b924416831d24ca62380936a209", Demo::RFC9000_ERA),
        row!("draft27-vuln1", "ff00001b", "hq-27", "97687415c78f5cae4ea3ac6a7373e369415480ce", "5e0f82e184f1ae79de58837819b13ea7ef89b6f1", Demo::DRAFT27_ERA),
        row!("draft27-vuln2", "ff00001b", "hq-27", "42c6200fb20217e31c07b2c3ac73dadbd0c337b8", "a1769991c69e4f9b8e3d19db5cce745aaa86b271", Demo::DRAFT27_ERA),
    ],
    sources: &[SourceRow::upstream(
        "picoquic and picotls at pinned commits (the host fetches them from PANTHER_SOURCE_MIRROR or git), built with cmake",
    )],
};

const FLAVOUR: Flavour = Flavour {
    server_flags: &["-n", "servername", "-D", "-L"],
    client_certs: false,
    target: "{{target.host}}",
    shadow_tree: None,
};

export_iut!(IUT, |req: PlanRequest| picoquic::plan(&IUT, &FLAVOUR, &req));
