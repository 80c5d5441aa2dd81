//! The `picoquicdemo` plan shared by the `picoquic` (upstream) and `picoquic-shadow` (the
//! Shadow-compatible fork) plugins.
//!
//! The original's two plugins ran the same program, built the same way, from templates that
//! differ in a few flags; [`Flavour`] names those differences so each plugin is its version
//! table plus a `Flavour`. This is the one place in this crate that decides what a plan
//! contains, because two plugins must make the same one.

use crate::{cmd, requests_or_index, ArtifactKind, ImageSpec, Iut, PlanRequest, PluginError, Role, ServicePlan, Transport, VersionRow};

const BIN: &str = "/opt/picoquic/picoquicdemo";
const CERTS: [&str; 4] = ["-c", "{{certs.cert_pem}}", "-k", "{{certs.key_pem}}"];

/// Where the two original templates differ.
#[derive(Debug, Clone, Copy)]
pub struct Flavour {
    /// The server's flags after `-a ALPN`; the templates order them differently and the plans
    /// keep each template's order.
    pub server_flags: &'static [&'static str],
    /// The fork's client template also passes `-c`/`-k`.
    pub client_certs: bool,
    /// The address the client connects to (`{{target.host}}` or `{{target.ip}}`).
    pub target: &'static str,
}

/// The plan for `req`: a server serving `{{dirs.www}}` or a client fetching the test's requests
/// into `{{dirs.downloads}}`, both writing qlogs and a TLS key log.
pub fn plan(iut: &Iut, flavour: &Flavour, req: &PlanRequest) -> Result<ServicePlan, PluginError> {
    let v = iut.admit(req)?;
    let plan = ServicePlan::new().image(image(iut, v)).artifact(ArtifactKind::Qlog, "{{dirs.qlog}}", false);
    Ok(match req.role {
        Role::Server => plan.port("quic", 4443, Transport::Udp).ready_when_bound("quic").run(
            cmd(&[BIN])
                .args(CERTS)
                .args(["-a", v.alpn[0]])
                .args(flavour.server_flags)
                .args(["-q", "{{dirs.qlog}}", "-w", "{{dirs.www}}", "-p", "{{ports.quic}}"])
                .env("SSLKEYLOGFILE", "{{files.keylog}}")
                .describe("picoquicdemo server"),
        ),
        _ => plan.run(
            cmd(&[BIN])
                .args(if flavour.client_certs { &CERTS[..] } else { &[] })
                .args(["-T", "{{dirs.work}}/ticket.bin", "-a", v.alpn[0], "-l", "-", "-D", "-L"])
                .args(["-q", "{{dirs.qlog}}", "-o", "{{dirs.downloads}}", "-v", v.wire.unwrap_or("00000001")])
                .args([flavour.target, "{{target.port}}", &scenario(&requests_or_index(req))])
                .env("SSLKEYLOGFILE", "{{files.keylog}}")
                .describe("picoquicdemo client fetching the test's requests"),
        ),
    })
}

/// picoquicdemo's client scenario: the paths to fetch, `;`-separated, without the leading `/`.
fn scenario(requests: &[String]) -> String {
    requests.iter().map(|r| r.trim_start_matches('/')).collect::<Vec<_>>().join(";")
}

/// The original's Dockerfile as build steps: picotls first (cmake + make), then picoquic,
/// which finds picotls in the sibling directory. The original's `make check`/`picoquic_ct`
/// test runs are left out (they may fail without failing the build, which exec form cannot
/// express) and so is its patched `picoquic_internal.h` (an image spec carries no files).
/// Version rows list the picoquic tree first, then picotls.
fn image(iut: &Iut, v: &VersionRow) -> ImageSpec {
    let (pq, pt) = (&v.upstream[0], &v.upstream[1]);
    iut.image(v)
        .packages(&["build-essential", "cmake", "git", "ca-certificates", "pkg-config", "libssl-dev"])
        .pinned(pt, "/opt/picotls")
        .pinned(pq, "/opt/picoquic")
        .steps_in(
            "/opt/picotls",
            &[
                &["git", "submodule", "update", "--init", "--recursive"],
                &["cmake", "-DOPENSSL_INCLUDE_DIR=/usr/include/openssl", "."],
                &["make", "-j2"],
            ],
        )
        .steps_in("/opt/picoquic", &[&["cmake", "."], &["make", "-j2", "picoquicdemo"]])
        .workdir("/opt/picoquic")
}
