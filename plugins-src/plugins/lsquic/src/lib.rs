//! lsquic (litespeedtech/lsquic) as an implementation under test: its `http_server` and
//! `http_client` sample programs (HTTP/3).
//!
//! The original configuration gave the server no certificate and an empty `-s` target, so it
//! could not start; here the server always gets `-c localhost,CERT,KEY` and listens on
//! `-s 0.0.0.0:PORT`, and both sides log TLS secrets with `-G` into a directory the host
//! collects. Builds from the pinned upstream sources (lsquic v4.0.9 on BoringSSL 9fc1c33e), so
//! it plans for Docker only. The client prints response bodies to stdout.

use panther_guest::*;

const NAME: &str = "lsquic";

const IUT: Iut = Iut {
    name: NAME,
    version: env!("CARGO_PKG_VERSION"),
    description: "LiteSpeed lsquic http_server / http_client (HTTP/3)",
    protocol: "quic",
    roles: &[Role::Server, Role::Client],
    environments: &[EnvironmentKind::Docker],
    versions: &[VersionRow::new(
        "rfc9000",
        Some("00000001"),
        &["h3"],
        &[
            Pin::new("lsquic", "https://github.com/litespeedtech/lsquic.git", "v4.0.9"),
            Pin::new("boringssl", "https://boringssl.googlesource.com/boringssl", "9fc1c33e9c21439ce5f87855a6591a9324e569fd"),
        ],
    )],
    sources: &[SourceRow::upstream("lsquic v4.0.9 and BoringSSL 9fc1c33e from git, built with cmake in a Docker image")],
};

const BIN: &str = "/opt/lsquic/bin";

fn plan(req: PlanRequest) -> Result<ServicePlan, PluginError> {
    let v = IUT.admit(&req)?;
    let plan = ServicePlan::new()
        .image(image(v))
        .pre_run(cmd(&["mkdir", "-p", "{{dirs.logs}}/tls-secrets"]).describe("lsquic -G writes one key file per connection here"))
        .artifact(ArtifactKind::Keylog, "{{dirs.logs}}/tls-secrets", false);
    Ok(match req.role {
        Role::Server => plan.port("quic", 4443, Transport::Udp).ready_when_bound("quic").run(
            cmd(&[&format!("{BIN}/http_server"), "-c", "localhost,{{certs.cert_pem}},{{certs.key_pem}}"])
                .args([
                    "-L",
                    "debug",
                    "-r",
                    "{{dirs.www}}",
                    "-G",
                    "{{dirs.logs}}/tls-secrets",
                    "-s",
                    "0.0.0.0:{{ports.quic}}",
                ])
                .describe("lsquic http_server serving the www directory"),
        ),
        _ => {
            let mut c = cmd(&[&format!("{BIN}/http_client"), "-L", "debug"]);
            for path in requests_or_index(&req) {
                c = c.args(["-p", path.as_str()]);
            }
            plan.run(
                c.args([
                    "-4",
                    "-H",
                    "{{target.host}}",
                    "-G",
                    "{{dirs.logs}}/tls-secrets",
                    "-s",
                    "{{target.host}}:{{target.port}}",
                ])
                .describe("lsquic http_client fetching the test's requests"),
            )
        }
    })
}

/// The original Dockerfile as steps: BoringSSL with cmake + make, then lsquic pointed at it.
fn image(v: &VersionRow) -> ImageSpec {
    let (lq, bs) = (&v.upstream[0], &v.upstream[1]);
    IUT.image(v)
        .packages(&[
            "build-essential",
            "cmake",
            "git",
            "ca-certificates",
            "golang-go",
            "perl",
            "zlib1g-dev",
            "libevent-dev",
        ])
        .pinned(bs, "/opt/boringssl")
        .pinned(lq, "/opt/lsquic")
        .steps_in("/opt/boringssl", &[&["cmake", "."], &["make", "-j2"]])
        .steps_in("/opt/lsquic", &[&["git", "submodule", "update", "--init"], &["cmake", "-DBORINGSSL_DIR=/opt/boringssl/", "."], &["make", "-j2"]])
        .workdir("/opt/lsquic")
}

export_iut!(IUT, plan);
