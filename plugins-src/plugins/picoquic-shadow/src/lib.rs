//! picoquic built from the Shadow-compatible fork (ElNiak/picoquic), for the Shadow network
//! simulator and Docker.
//!
//! Same `picoquicdemo` command lines as the `picoquic` plugin (the original's templates differ
//! only in putting `-c`/`-k` on the client too). The original's three version files all carry
//! the rfc9000 settings (ALPN `hq-interop`, version 1) under draft names; here each version
//! announces its own ALPN and initial version, on the original's pinned fork commit and picotls
//! revisions.

use panther_guest::*;

const NAME: &str = "picoquic-shadow";
const BIN: &str = "/opt/picoquic/picoquicdemo";
const FORK: &str = "https://github.com/ElNiak/picoquic.git";
const FORK_REV: &str = "bb67995f2d7c0e577c2c8788313c3b580d3df9a7";
const PICOTLS: &str = "https://github.com/h2o/picotls.git";

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
                    url: FORK,
                    rev: FORK_REV,
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
                    url: FORK,
                    rev: FORK_REV,
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
            name: "draft27",
            wire: Some("ff00001b"),
            alpn: &["hq-27"],
            upstream: &[
                Pin {
                    name: "picoquic",
                    url: FORK,
                    rev: FORK_REV,
                },
                Pin {
                    name: "picotls",
                    url: PICOTLS,
                    rev: "5e0f82e184f1ae79de58837819b13ea7ef89b6f1",
                },
            ],
            extra: (),
        },
    ],
};

const SOURCES: &[SourceRow] = &[SourceRow {
    name: "upstream",
    doc: "the Shadow-compatible picoquic fork (ElNiak/picoquic bb67995f) and picotls, built with cmake in a Docker image",
    offline: false,
}];

const ROLES: &[Role] = &[Role::Server, Role::Client];
const ENVS: &[EnvironmentKind] = &[EnvironmentKind::Docker, EnvironmentKind::Shadow];

struct PicoquicShadow;

impl ServicePlugin for PicoquicShadow {
    fn describe() -> PluginInfo {
        PluginInfo {
            name: NAME.into(),
            version: env!("CARGO_PKG_VERSION").into(),
            kind: PluginKind::Iut,
            description: "picoquicdemo from the Shadow-compatible picoquic fork".into(),
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
        let certs = ["-c", "{{certs.cert_pem}}", "-k", "{{certs.key_pem}}"];
        Ok(match req.role {
            Role::Server => plan.port("quic", 4443, Transport::Udp).ready_when_bound("quic").run(
                cmd(&[BIN])
                    .args(certs)
                    .args(["-a", v.alpn[0], "-l", "-", "-n", "servername", "-D", "-L"])
                    .args(["-q", "{{dirs.qlog}}", "-w", "{{dirs.www}}", "-p", "{{ports.quic}}"])
                    .env("SSLKEYLOGFILE", "{{files.keylog}}")
                    .describe("picoquicdemo server"),
            ),
            _ => plan.run(
                cmd(&[BIN])
                    .args(certs)
                    .args(["-T", "{{dirs.work}}/ticket.bin", "-a", v.alpn[0], "-l", "-", "-D", "-L"])
                    .args(["-q", "{{dirs.qlog}}", "-o", "{{dirs.downloads}}", "-v", v.wire.unwrap_or("00000001")])
                    .args(["{{target.ip}}", "{{target.port}}", &scenario(&requests_or_index(&req))])
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
    requests.iter().map(|r| r.trim_start_matches('/')).collect::<Vec<_>>().join(";")
}

fn image(v: &VersionRow) -> ImageSpec {
    let (pq, pt) = (&v.upstream[0], &v.upstream[1]);
    ImageSpec::new(&format!("picoquic-shadow-{}", v.name))
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

export_service!(PicoquicShadow);
