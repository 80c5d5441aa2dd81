//! quinn (quinn-rs/quinn) as an implementation under test: its `server` and `client`
//! examples, an HTTP/0.9 (`hq-29` ALPN) file server and fetcher.
//!
//! Two sources. `crates-io` installs quinn 0.11 with `cargo install` into `{{dirs.tools}}`
//! (offline: crates.io only; measured 2-4 min cold) and runs on localhost. `upstream` is the
//! original's pin (quinn 0.7.0, commit `bb02a12a`) built in a Docker image, with the original
//! Dockerfile's broken line continuation (clone and checkout ran as one command) fixed by
//! making every step its own argv.
//!
//! The client writes each response body to stdout, so the host finds the fetched files in the
//! client's stdout log, not in `{{dirs.downloads}}`.

use panther_guest::*;

const NAME: &str = "quinn";
const CRATE_VERSION: &str = "0.11.12";

const IUT: Iut = Iut {
    name: NAME,
    version: env!("CARGO_PKG_VERSION"),
    description: "quinn's server/client examples (HTTP/0.9 over QUIC)",
    protocol: "quic",
    roles: &[Role::Server, Role::Client],
    environments: &[EnvironmentKind::Localhost, EnvironmentKind::Docker],
    versions: &[VersionRow::new(
        "rfc9000",
        Some("00000001"),
        // The examples announce the draft-29 HTTP/0.9 token whatever the QUIC version.
        &["hq-29"],
        &[Pin::new("quinn", "https://github.com/quinn-rs/quinn.git", "bb02a12a8435a7732a1d762783eeacbb7e50418e")],
    )],
    sources: &[
        SourceRow::offline("crates-io", "quinn 0.11.12 examples installed with `cargo install` from crates.io into the tools cache; localhost"),
        SourceRow::upstream("quinn 0.7.0 (commit bb02a12a) from GitHub, `cargo build --examples` in a Docker image"),
    ],
};

fn plan(req: PlanRequest) -> Result<ServicePlan, PluginError> {
    let v = IUT.admit_any_environment(&req)?;
    let (plan, bin) = match req.param_str("source")? {
        "crates-io" => {
            require_environment("quinn from crates-io", &req, &[EnvironmentKind::Localhost])?;
            let install = cmd(&["cargo", "install", "quinn", "--version", CRATE_VERSION])
                .args(["--example", "server", "--example", "client", "--features", "rustls-ring"])
                .args(["--root", "{{dirs.tools}}"])
                .timeout(45 * 60 * 1000)
                .describe("build quinn's examples from crates.io into the tools cache");
            (ServicePlan::new().compile(install), "{{dirs.tools}}/bin")
        }
        _ => {
            require_environment("quinn from upstream", &req, &[EnvironmentKind::Docker])?;
            (ServicePlan::new().image(image(v)), "/opt/quinn/target/debug/examples")
        }
    };
    Ok(match req.role {
        Role::Server => plan.port("quic", listen_port(&req, 4443), Transport::Udp).ready_when_bound("quic").run(
            cmd(&[&format!("{bin}/server"), "--listen", &format!("{}:{{{{ports.quic}}}}", listen_host(&req))])
                .args(["--cert", "{{certs.cert_pem}}", "--key", "{{certs.key_pem}}", "--keylog", "{{dirs.www}}"])
                .env("SSLKEYLOGFILE", "{{files.keylog}}")
                .describe("quinn example server serving the www directory"),
        ),
        _ => {
            let bind = match req.environment {
                EnvironmentKind::Localhost => "{{self.ip}}:0",
                _ => "0.0.0.0:0",
            };
            let mut plan = plan;
            // One client run per request: the example fetches a single URL.
            for path in requests_or_index(&req) {
                plan = plan.run(
                    cmd(&[&format!("{bin}/client"), "--keylog", "--ca", "{{certs.ca_der}}", "--bind", bind])
                        .args([target_url(&path)])
                        .env("SSLKEYLOGFILE", "{{files.keylog}}")
                        .describe("quinn example client fetching one request"),
                );
            }
            plan
        }
    })
}

fn image(v: &VersionRow) -> ImageSpec {
    IUT.image(v)
        .packages(&["build-essential", "git", "ca-certificates", "cargo", "rustc", "pkg-config"])
        .pinned(&v.upstream[0], "/opt/quinn")
        .steps_in("/opt/quinn", &[&["git", "submodule", "update", "--init", "--recursive"], &["cargo", "build", "--examples"]])
        .workdir("/opt/quinn")
}

export_iut!(IUT, plan);
