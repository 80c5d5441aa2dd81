//! picoquic (private-octopus/picoquic) as an implementation under test.
//!
//! Reproduces the original PANTHER plugin's `picoquicdemo` command lines
//! (`version_configs/*.yaml` + `templates/{server,client}_command.jinja`) with its bugs fixed:
//! the server always gets `-c`/`-k` (the original's template read keys its YAML did not have and
//! dropped them), serves `{{dirs.www}}` and writes qlogs; the client fetches the test's requests
//! into `{{dirs.downloads}}`. Builds only from the pinned upstream sources, so it plans for
//! Docker only.

use panther_guest::*;

const NAME: &str = "picoquic";
const BIN: &str = "/opt/picoquic/picoquicdemo";

const PICOQUIC: &str = "https://github.com/private-octopus/picoquic.git";
const PICOTLS: &str = "https://github.com/h2o/picotls.git";

/// Pins from the original's `version_configs/<version>.yaml` (`commit` and `dependencies`).
const VERSIONS: VersionTable = VersionTable {
    plugin: NAME,
    rows: &[
        VersionRow {
            name: "rfc9000",
            wire: Some("00000001"),
            alpn: &["hq-interop"],
            upstream: &[
                Pin {
                    name: "picoquic",
                    url: PICOQUIC,
                    rev: "bb67995f2d7c0e577c2c8788313c3b580d3df9a7",
                },
                Pin {
                    name: "picotls",
                    url: PICOTLS,
                    rev: "047c5fe20bb9ea91c1caded8977134f19681ec76",
                },
            ],
            extra: (),
        },
        VersionRow {
            name: "draft29",
            wire: Some("ff00001d"),
            alpn: &["hq-29"],
            upstream: &[
                Pin {
                    name: "picoquic",
                    url: PICOQUIC,
                    rev: "ad23e6c3593bd987dcd8d74fc9f528f2676fedf4",
                },
                Pin {
                    name: "picotls",
                    url: PICOTLS,
                    rev: "2464adadf28c1b924416831d24ca62380936a209",
                },
            ],
            extra: (),
        },
        VersionRow {
            name: "draft27-vuln1",
            wire: Some("ff00001b"),
            alpn: &["hq-27"],
            upstream: &[
                Pin {
                    name: "picoquic",
                    url: PICOQUIC,
                    rev: "97687415c78f5cae4ea3ac6a7373e369415480ce",
                },
                Pin {
                    name: "picotls",
                    url: PICOTLS,
                    rev: "5e0f82e184f1ae79de58837819b13ea7ef89b6f1",
                },
            ],
            extra: (),
        },
        VersionRow {
            name: "draft27-vuln2",
            wire: Some("ff00001b"),
            alpn: &["hq-27"],
            upstream: &[
                Pin {
                    name: "picoquic",
                    url: PICOQUIC,
                    rev: "42c6200fb20217e31c07b2c3ac73dadbd0c337b8",
                },
                Pin {
                    name: "picotls",
                    url: PICOTLS,
                    rev: "a1769991c69e4f9b8e3d19db5cce745aaa86b271",
                },
            ],
            extra: (),
        },
    ],
};

const SOURCES: &[SourceRow] = &[SourceRow {
    name: "upstream",
    doc: "picoquic and picotls from GitHub at the original's pinned commits, built with cmake in a Docker image",
    offline: false,
}];

const ROLES: &[Role] = &[Role::Server, Role::Client];
const ENVS: &[EnvironmentKind] = &[EnvironmentKind::Docker];

struct Picoquic;

impl ServicePlugin for Picoquic {
    fn describe() -> PluginInfo {
        PluginInfo {
            name: NAME.into(),
            version: env!("CARGO_PKG_VERSION").into(),
            kind: PluginKind::Iut,
            description: "picoquic's picoquicdemo, HTTP/0.9 (hq) server and client".into(),
            protocols: vec!["quic".into()],
            roles: ROLES.to_vec(),
            versions: VERSIONS.protocol_versions(),
            sources: source_infos(SOURCES),
            parameters: vec![source_param(SOURCES)],
            environments: ENVS.to_vec(),
        }
    }

    fn plan(req: PlanRequest) -> Result<ServicePlan, PluginError> {
        require_role(NAME, &req, ROLES)?;
        require_environment(NAME, &req, ENVS)?;
        let v = VERSIONS.get(&req.protocol_version)?;
        let _source = req.param_str("source")?;
        let plan = ServicePlan::new().image(image(v)).artifact(ArtifactKind::Qlog, "{{dirs.qlog}}", false);
        Ok(match req.role {
            Role::Server => plan.port("quic", 4443, Transport::Udp).ready_when_bound("quic").run(
                cmd(&[BIN, "-c", "{{certs.cert_pem}}", "-k", "{{certs.key_pem}}", "-a", v.alpn[0]])
                    .args(["-n", "servername", "-l", "-", "-D", "-L"])
                    .args(["-q", "{{dirs.qlog}}", "-w", "{{dirs.www}}", "-p", "{{ports.quic}}"])
                    .env("SSLKEYLOGFILE", "{{files.keylog}}")
                    .describe("picoquicdemo server"),
            ),
            _ => plan.run(
                cmd(&[BIN, "-T", "{{dirs.work}}/ticket.bin", "-a", v.alpn[0], "-l", "-", "-D", "-L"])
                    .args(["-q", "{{dirs.qlog}}", "-o", "{{dirs.downloads}}"])
                    .args(["-v", v.wire.unwrap_or("00000001")])
                    .args(["{{target.host}}", "{{target.port}}", &scenario(&req.requests)])
                    .env("SSLKEYLOGFILE", "{{files.keylog}}")
                    .describe("picoquicdemo client fetching the test's requests"),
            ),
        })
    }

    fn assess(_outcome: Outcome) -> Option<Verdict> {
        None
    }
}

/// picoquicdemo's client scenario: the paths to fetch, `;`-separated, without the leading `/`.
fn scenario(requests: &[String]) -> String {
    if requests.is_empty() {
        return "index.html".into();
    }
    requests.iter().map(|r| r.trim_start_matches('/')).collect::<Vec<_>>().join(";")
}

/// The original's Dockerfile as build steps: picotls first (cmake + make), then picoquic,
/// which finds picotls in the sibling directory. The original's `make check`/`picoquic_ct`
/// test runs are left out (they may fail without failing the build, which exec form cannot
/// express) and so is its patched `picoquic_internal.h` (an image spec carries no files).
fn image(v: &VersionRow) -> ImageSpec {
    let (pq, pt) = (&v.upstream[0], &v.upstream[1]);
    ImageSpec::new(&format!("picoquic-{}", v.name))
        .packages(&["build-essential", "cmake", "git", "ca-certificates", "pkg-config", "libssl-dev"])
        .source(pt.name, pt.url, pt.rev, "/opt/picotls")
        .source(pq.name, pq.url, pq.rev, "/opt/picoquic")
        .step_in("/opt/picotls", &["git", "submodule", "update", "--init", "--recursive"])
        .step_in("/opt/picotls", &["cmake", "-DOPENSSL_INCLUDE_DIR=/usr/include/openssl", "."])
        .step_in("/opt/picotls", &["make", "-j2"])
        .step_in("/opt/picoquic", &["cmake", "."])
        .step_in("/opt/picoquic", &["make", "-j2", "picoquicdemo"])
        .workdir("/opt/picoquic")
}

export_service!(Picoquic);
