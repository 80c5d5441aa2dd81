//! quinn (quinn-rs/quinn) as an implementation under test, with roles server and client over
//! HTTP/0.9.
//!
//! Two sources:
//! * `crates-io` (localhost, offline: crates.io only): quinn 0.11.12 behind `panther-quinn`, a
//!   front end of about 300 lines (`src/front-end/`) that only parses flags and speaks HTTP/0.9
//!   on quinn's streams. quinn's own examples cannot pass a test here: their server offers only
//!   ALPN `hq-29`, which today's peers (aioquic 1.2, the quic-go front end) do not speak, and
//!   their client prints bodies to stdout instead of saving them. The plan carries the front
//!   end's manifest and source; the host writes them into the tools cache and the compile phase
//!   builds them there with `cargo build --release` (about 30 s with crates.io's sources
//!   already downloaded). Its server offers `hq-interop` and `hq-29`, its client asks for
//!   `hq-interop` and saves every request into `{{dirs.downloads}}`.
//! * `upstream` (Docker): the original's pin (quinn 0.7.0, commit `bb02a12a`), its examples
//!   built in a Docker image, with the original Dockerfile's broken line continuation (clone
//!   and checkout ran as one command) fixed by making every step its own argv. Its client
//!   prints each body to stdout, so the host finds the fetched files in its stdout log.
//!
//! Nothing is judged here: the host compares the transfers.

use panther_guest::*;

const NAME: &str = "quinn";

/// The front end's manifest and source. Their digest goes into the compile command, so a
/// changed source changes the compile phase's content hash and the host rebuilds.
const FRONT_END_MANIFEST: &str = include_str!("front-end/Cargo.toml");
const FRONT_END_MAIN: &str = include_str!("front-end/src/main.rs");
const FRONT_END: front_end::CargoFrontEnd = front_end::CargoFrontEnd {
    dir: FRONT_END_DIR,
    manifest: FRONT_END_MANIFEST,
    main: FRONT_END_MAIN,
    digest_var: "PANTHER_QUINN_SOURCE_DIGEST",
    timeout_ms: 30 * 60 * 1000,
    why: "build the quinn 0.11 front end from crates.io into the tools cache",
};
const FRONT_END_DIR: &str = "{{dirs.tools}}/src/panther-quinn";
const FRONT_END_BIN: &str = "{{dirs.tools}}/target/release/panther-quinn";

const IUT: Iut = Iut {
    name: NAME,
    version: env!("CARGO_PKG_VERSION"),
    description: "quinn HTTP/0.9 file server and downloader",
    protocol: "quic",
    roles: &[Role::Server, Role::Client],
    environments: &[EnvironmentKind::Localhost, EnvironmentKind::Docker],
    versions: &[VersionRow::new(
        "rfc9000",
        Some("00000001"),
        // The front end's server offers both; the upstream examples speak only hq-29.
        &["hq-interop", "hq-29"],
        &[Pin::new("quinn", "https://github.com/quinn-rs/quinn.git", "bb02a12a8435a7732a1d762783eeacbb7e50418e")],
    )],
    sources: &[
        SourceRow::offline("crates-io", "quinn 0.11.12 from crates.io behind a small HTTP/0.9 front end (hq-interop), built with `cargo build` into the tools cache; localhost"),
        SourceRow::upstream("quinn 0.7.0 (commit bb02a12a) from GitHub, `cargo build --examples` in a Docker image"),
    ],
};

fn params() -> Vec<ParamSpec> {
    vec![
        ParamSpec::boolean(
            "insecure",
            false,
            "client (crates-io): skip certificate verification instead of checking the server against the run's CA",
        ),
        ParamSpec::integer(
            "timeout-s",
            30,
            "client (crates-io): give up downloading after this many seconds",
        ),
    ]
}

fn plan(req: PlanRequest) -> Result<ServicePlan, PluginError> {
    let v = IUT.admit_any_environment(&req)?;
    match req.param_str("source")? {
        "crates-io" => crates_io(&req),
        "upstream" => upstream(&req, v),
        other => Err(invalid_param(
            "source",
            format!("`{other}` is not a source of quinn (crates-io, upstream)"),
        )),
    }
}

fn crates_io(req: &PlanRequest) -> Result<ServicePlan, PluginError> {
    require_environment("quinn from crates-io", req, &[EnvironmentKind::Localhost])?;
    let plan = FRONT_END.plan();
    Ok(match req.role {
        Role::Server => plan
            .port("quic", listen_port(req, 4443), Transport::Udp)
            .ready_when_bound("quic")
            .run(
                cmd(&[
                    FRONT_END_BIN,
                    "server",
                    "--listen",
                    &format!("{}:{{{{ports.quic}}}}", listen_host(req)),
                ])
                .args([
                    "--cert",
                    "{{certs.cert_pem}}",
                    "--key",
                    "{{certs.key_pem}}",
                    "--www",
                    "{{dirs.www}}",
                ])
                .env("SSLKEYLOGFILE", "{{files.keylog}}")
                .describe("quinn server serving the www directory over HTTP/0.9"),
            )
            .artifact(ArtifactKind::Keylog, "{{files.keylog}}", false),
        _ => {
            let verify: &[&str] = if req.param_bool("insecure")? {
                &["--insecure"]
            } else {
                &["--ca", "{{certs.ca_pem}}"]
            };
            let timeout = req.param_int("timeout-s")?;
            if !(1..=3600).contains(&timeout) {
                return Err(invalid_param(
                    "timeout-s",
                    format!("{timeout} is not between 1 and 3600"),
                ));
            }
            let urls = requests_or_index(req)
                .into_iter()
                .map(|p| front_end::request_url(&p))
                .collect::<Result<Vec<_>, _>>()?;
            plan.run(
                cmd(&[FRONT_END_BIN, "client"])
                    .args(verify)
                    .args([
                        "--bind",
                        "{{self.ip}}:0",
                        "--out",
                        "{{dirs.downloads}}",
                        "--timeout",
                        &timeout.to_string(),
                    ])
                    .args(urls)
                    .env("SSLKEYLOGFILE", "{{files.keylog}}")
                    .timeout((timeout as u64 + 10) * 1000)
                    .describe("quinn client saving each request into the downloads directory"),
            )
            .artifact(ArtifactKind::Keylog, "{{files.keylog}}", true)
        }
    })
}

fn upstream(req: &PlanRequest, v: &VersionRow) -> Result<ServicePlan, PluginError> {
    require_environment("quinn from upstream", req, &[EnvironmentKind::Docker])?;
    let bin = "/opt/quinn/target/debug/examples";
    let plan = ServicePlan::new().image(image(v));
    Ok(match req.role {
        Role::Server => plan
            .port("quic", listen_port(req, 4443), Transport::Udp)
            .ready_when_bound("quic")
            .run(
                cmd(&[
                    &format!("{bin}/server"),
                    "--listen",
                    &format!("{}:{{{{ports.quic}}}}", listen_host(req)),
                ])
                .args([
                    "--cert",
                    "{{certs.cert_pem}}",
                    "--key",
                    "{{certs.key_pem}}",
                    "--keylog",
                    "{{dirs.www}}",
                ])
                .env("SSLKEYLOGFILE", "{{files.keylog}}")
                .describe("quinn example server serving the www directory"),
            ),
        _ => {
            let mut plan = plan;
            // One client run per request: the example fetches a single URL.
            for path in requests_or_index(req) {
                plan = plan.run(
                    cmd(&[
                        &format!("{bin}/client"),
                        "--keylog",
                        "--ca",
                        "{{certs.ca_der}}",
                        "--bind",
                        "0.0.0.0:0",
                    ])
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
        .packages(&[
            "build-essential",
            "git",
            "ca-certificates",
            "cargo",
            "rustc",
            "pkg-config",
        ])
        .pinned(&v.upstream[0], "/opt/quinn")
        .steps_in(
            "/opt/quinn",
            &[
                &["git", "submodule", "update", "--init", "--recursive"],
                &["cargo", "build", "--examples"],
            ],
        )
        .workdir("/opt/quinn")
}

export_iut!(IUT, plan, params());

#[cfg(test)]
mod tests {
    use super::*;

    fn req(role: Role, env: EnvironmentKind, source: &str) -> PlanRequest {
        PlanRequest {
            service: "svc".into(),
            role,
            protocol: "quic".into(),
            protocol_version: "rfc9000".into(),
            params: vec![
                ("source".into(), ParamValue::String(source.into())),
                ("insecure".into(), ParamValue::Boolean(false)),
                ("timeout-s".into(), ParamValue::Integer(30)),
            ],
            target: None,
            peers: vec![],
            environment: env,
            requests: vec!["/f1.bin".into(), "/dir/f2.bin".into()],
            testcase: None,
        }
    }

    #[test]
    fn the_crates_io_server_ships_the_front_end_and_builds_it_with_its_digest() {
        let p = plan(req(Role::Server, EnvironmentKind::Localhost, "crates-io")).unwrap();
        let files: Vec<&str> = p.files.iter().map(|(path, _)| path.as_str()).collect();
        assert_eq!(
            files,
            [
                &format!("{FRONT_END_DIR}/Cargo.toml"),
                &format!("{FRONT_END_DIR}/src/main.rs")
            ]
        );
        let build = &p.phases.compile[0].argv;
        assert!(build.iter().any(|a| a.starts_with("env.PANTHER_QUINN_SOURCE_DIGEST=")));
        assert!(FRONT_END_MAIN.contains("PANTHER_QUINN_SOURCE_DIGEST"));
        let run = &p.phases.run[0].argv;
        assert_eq!(
            run[..4],
            [FRONT_END_BIN, "server", "--listen", "{{self.ip}}:{{ports.quic}}"]
        );
        assert!(run.windows(2).any(|w| w == ["--www", "{{dirs.www}}"]));
        assert!(FRONT_END_MAIN.contains("b\"hq-interop\""));
        // The shipped files must survive the host's handlebars rendering unchanged.
        assert!(!FRONT_END_MAIN.contains("{{") && !FRONT_END_MANIFEST.contains("{{"));
    }

    #[test]
    fn the_crates_io_client_saves_every_request_into_downloads_and_checks_the_ca() {
        let p = plan(req(Role::Client, EnvironmentKind::Localhost, "crates-io")).unwrap();
        assert_eq!(p.phases.run.len(), 1);
        let argv = &p.phases.run[0].argv;
        assert!(argv.windows(2).any(|w| w == ["--ca", "{{certs.ca_pem}}"]));
        assert!(argv.windows(2).any(|w| w == ["--out", "{{dirs.downloads}}"]));
        assert_eq!(
            argv[argv.len() - 2..],
            [target_url("/f1.bin"), target_url("/dir/f2.bin")]
        );
    }

    #[test]
    fn each_source_keeps_to_its_environment() {
        assert!(matches!(
            plan(req(Role::Server, EnvironmentKind::Docker, "crates-io")),
            Err(PluginError::Unsupported(_))
        ));
        assert!(matches!(
            plan(req(Role::Server, EnvironmentKind::Localhost, "upstream")),
            Err(PluginError::Unsupported(_))
        ));
        let p = plan(req(Role::Server, EnvironmentKind::Docker, "upstream")).unwrap();
        assert_eq!(
            p.image.unwrap().sources[0].rev,
            "bb02a12a8435a7732a1d762783eeacbb7e50418e"
        );
    }

}
