//! mvfst (facebook/mvfst) as an implementation under test: its `echo` sample.
//!
//! The original plugin's configurations were copies of picoquic's (picoquicdemo flags and
//! picoquic commits), so it never ran mvfst. This plugin runs mvfst's own sample
//! (`quic/samples/echo`, `-mode=server|client`, as in the pre-PANTHER QUIC-Ivy command table)
//! built by `build_helper.sh` from a pinned release tag. mvfst ships no HTTP sample (its `hq`
//! server lives in proxygen), so requests are not fetched: the echo client completes a
//! handshake, echoes what it reads on stdin (nothing) and closes, which suits handshake tests.

use panther_guest::*;

const NAME: &str = "mvfst";
const BIN: &str = "/opt/mvfst/_build/build/quic/samples/echo";

const IUT: Iut = Iut {
    name: NAME,
    version: env!("CARGO_PKG_VERSION"),
    description: "Meta's mvfst, echo sample server and client",
    protocol: "quic",
    roles: &[Role::Server, Role::Client],
    environments: &[EnvironmentKind::Docker],
    versions: &[VersionRow::new(
        "rfc9000",
        Some("00000001"),
        &["echo"],
        &[Pin::new("mvfst", "https://github.com/facebook/mvfst.git", "v2024.08.26.00")],
    )],
    sources: &[SourceRow::upstream(
        "mvfst v2024.08.26.00 from GitHub, built with its build_helper.sh (fetches folly and fizz) in a Docker image",
    )],
};

fn plan(req: PlanRequest) -> Result<ServicePlan, PluginError> {
    let v = IUT.admit(&req)?;
    let plan = ServicePlan::new().image(image(v));
    Ok(match req.role {
        Role::Server => plan
            .port("quic", 4443, Transport::Udp)
            .ready_when_bound("quic")
            .run(cmd(&[BIN, "-mode=server", "-host=0.0.0.0", "-port={{ports.quic}}", "-pr=false", "-v=10"]).describe("mvfst echo server")),
        _ => plan.run(
            cmd(&[BIN, "-mode=client", "-host={{target.ip}}", "-port={{target.port}}", "-pr=false", "-v=10"])
                .args(["-stop_logging_if_full_disk"])
                .describe("mvfst echo client (handshake, then close)"),
        ),
    })
}

fn image(v: &VersionRow) -> ImageSpec {
    IUT.image(v)
        .packages(&["build-essential", "cmake", "git", "ca-certificates", "python3", "sudo", "libssl-dev"])
        .pinned(&v.upstream[0], "/opt/mvfst")
        .step_in("/opt/mvfst", &["./build_helper.sh"])
        .workdir("/opt/mvfst")
}

export_iut!(IUT, plan);
