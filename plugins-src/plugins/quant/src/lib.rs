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

const VERSIONS: VersionTable = VersionTable {
    plugin: NAME,
    rows: &[VersionRow {
        name: "rfc9000",
        wire: Some("00000001"),
        alpn: &["hq-interop"],
        upstream: &[Pin {
            name: "quant",
            url: "https://github.com/NTAP/quant.git",
            rev: "d82bc507f8e4f1790447231d22eb1c5ad026d671",
        }],
        extra: (),
    }],
};

const SOURCES: &[SourceRow] = &[SourceRow {
    name: "upstream",
    doc: "quant commit d82bc507 from GitHub (with its picotls and warpcore submodules), built with cmake in a Docker image",
    offline: false,
}];

const ROLES: &[Role] = &[Role::Server, Role::Client];
const ENVS: &[EnvironmentKind] = &[EnvironmentKind::Docker];

struct Quant;

impl ServicePlugin for Quant {
    fn describe() -> PluginInfo {
        PluginInfo {
            name: NAME.into(),
            version: env!("CARGO_PKG_VERSION").into(),
            kind: PluginKind::Iut,
            description: "NetApp quant, HTTP/0.9 server and client".into(),
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
                cmd(&[&format!("{BIN}/server"), "-c", "{{certs.cert_pem}}", "-k", "{{certs.key_pem}}"])
                    .args(["-x", "1000", "-o", "-t", "3600", "-i", "eth0", "-d", "{{dirs.www}}"])
                    .args(["-q", "{{dirs.qlog}}", "-l", "{{files.keylog}}", "-p", "{{ports.quic}}", "-v", "5"])
                    .describe("quant server serving the www directory"),
            ),
            _ => plan.run(
                cmd(&[&format!("{BIN}/client"), "-r", "10", "-t", "3600", "-i", "eth0"])
                    .args(["-q", "{{dirs.qlog}}", "-l", "{{files.keylog}}", "-s", "{{dirs.work}}/ticket.bin"])
                    .args(
                        requests_or_index(&req)
                            .iter()
                            .map(|p| format!("https://{{{{target.host}}}}:{{{{target.port}}}}{p}")),
                    )
                    .describe("quant client fetching the test's requests"),
            ),
        })
    }

    fn assess(_outcome: Outcome) -> Option<Verdict> {
        None
    }
}

fn image(v: &VersionRow) -> ImageSpec {
    let q = &v.upstream[0];
    ImageSpec::new(&format!("quant-{}", v.name))
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
        .source(q.name, q.url, q.rev, "/opt/quant")
        .step_in("/opt/quant", &["git", "submodule", "update", "--init", "--recursive"])
        .step_in("/opt/quant", &["cmake", "-S", ".", "-B", "Debug"])
        .step_in("/opt/quant", &["cmake", "--build", "Debug", "-j", "2"])
        .workdir("/opt/quant")
}

export_service!(Quant);
