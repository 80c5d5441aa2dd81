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

const VERSIONS: VersionTable = VersionTable {
    plugin: NAME,
    rows: &[VersionRow {
        name: "rfc9000",
        wire: Some("00000001"),
        alpn: &["echo"],
        upstream: &[Pin {
            name: "mvfst",
            url: "https://github.com/facebook/mvfst.git",
            rev: "v2024.08.26.00",
        }],
        extra: (),
    }],
};

const SOURCES: &[SourceRow] = &[SourceRow {
    name: "upstream",
    doc: "mvfst v2024.08.26.00 from GitHub, built with its build_helper.sh (fetches folly and fizz) in a Docker image",
    offline: false,
}];

const ROLES: &[Role] = &[Role::Server, Role::Client];
const ENVS: &[EnvironmentKind] = &[EnvironmentKind::Docker];

struct Mvfst;

impl ServicePlugin for Mvfst {
    fn describe() -> PluginInfo {
        PluginInfo {
            name: NAME.into(),
            version: env!("CARGO_PKG_VERSION").into(),
            kind: PluginKind::Iut,
            description: "Meta's mvfst, echo sample server and client".into(),
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

    fn assess(_outcome: Outcome) -> Option<Verdict> {
        None
    }
}

fn image(v: &VersionRow) -> ImageSpec {
    let m = &v.upstream[0];
    ImageSpec::new(&format!("mvfst-{}", v.name))
        .packages(&["build-essential", "cmake", "git", "ca-certificates", "python3", "sudo", "libssl-dev"])
        .source(m.name, m.url, m.rev, "/opt/mvfst")
        .step_in("/opt/mvfst", &["./build_helper.sh"])
        .workdir("/opt/mvfst")
}

export_service!(Mvfst);
