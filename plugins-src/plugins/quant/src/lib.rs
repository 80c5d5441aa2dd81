//! quant (NTAP/quant) as an implementation under test: its HTTP/0.9 `server` and `client`.
//!
//! The original copied prebuilt binaries out of the Docker Hub image `ntap/quant:latest`
//! (unpinned, and not reachable without a registry); here quant is built from a pinned commit
//! with cmake. Flags follow the original (`-x 1000 -o -t 3600 -i eth0 ... -p PORT -v 5`) plus
//! what the run needs: `-c`/`-k` on the server (the original's client passed the certificate
//! as `-k`, dropped here), `-d` the www directory, `-q` qlogs and `-l` the TLS key log.

use panther_guest::*;

const NAME: &str = "quant";
const BIN: &str = "/opt/quant/Debug/bin";

const IUT: Iut = Iut {
    name: NAME,
    version: env!("CARGO_PKG_VERSION"),
    description: "NetApp quant, HTTP/0.9 server and client",
    protocol: "quic",
    roles: &[Role::Server, Role::Client],
    environments: &[EnvironmentKind::Docker],
    versions: &[VersionRow::new(
        "rfc9000",
        Some("00000001"),
        &["hq-interop"],
        &[Pin::new("quant", "https://github.com/NTAP/quant.git", "d82bc507f8e4f1790447231d22eb1c5ad026d671")],
    )],
    sources: &[SourceRow::upstream(
        "quant commit d82bc507 from GitHub (with its picotls and warpcore submodules), built with cmake in a Docker image",
    )],
};

fn plan(req: PlanRequest) -> Result<ServicePlan, PluginError> {
    let v = IUT.admit(&req)?;
    let plan = ServicePlan::new().image(image(v)).artifact(ArtifactKind::Qlog, "{{dirs.qlog}}", false);
    Ok(match req.role {
        Role::Server => plan.port("quic", 4443, Transport::Udp).ready_when_bound("quic").run(
            cmd(&[&format!("{BIN}/server"), "-c", "{{certs.cert_pem}}", "-k", "{{certs.key_pem}}"])
                .args(["-x", "1000", "-o", "-t", "3600", "-i", "eth0", "-d", "{{dirs.www}}"])
                .args(["-q", "{{dirs.qlog}}", "-l", "{{files.keylog}}", "-p", "{{ports.quic}}", "-v", "5"])
                .describe("quant server serving the www directory"),
        ),
        _ => plan.run(
            cmd(&[&format!("{BIN}/client"), "-r", "10", "-t", "3600", "-i", "eth0"])
                .args(["-q", "{{dirs.qlog}}", "-l", "{{files.keylog}}", "-s", "{{dirs.work}}/ticket.bin"])
                .args(requests_or_index(&req).iter().map(|p| target_url(p)))
                .describe("quant client fetching the test's requests"),
        ),
    })
}

fn image(v: &VersionRow) -> ImageSpec {
    IUT.image(v)
        .packages(&[
            "build-essential",
            "cmake",
            "git",
            "ca-certificates",
            "pkgconf",
            "libssl-dev",
            "libhttp-parser-dev",
            "libbsd-dev",
            "libev-dev",
        ])
        .pinned(&v.upstream[0], "/opt/quant")
        .steps_in(
            "/opt/quant",
            &[
                &["git", "submodule", "update", "--init", "--recursive"],
                &["cmake", "-S", ".", "-B", "Debug"],
                &["cmake", "--build", "Debug", "-j", "2"],
            ],
        )
        .workdir("/opt/quant")
}

export_iut!(IUT, plan);
