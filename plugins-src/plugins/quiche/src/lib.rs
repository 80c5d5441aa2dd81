//! quiche (cloudflare/quiche) as an implementation under test.
//!
//! Two sources:
//! * `crates-io` (offline, localhost), server: quiche 0.30's `http3-server` example, built with
//!   `cargo install` into `{{dirs.tools}}` (BoringSSL is built with cmake and clang; about 7
//!   minutes cold, then cached by the host). The example server is hard-wired to
//!   `127.0.0.1:4433` and reads `examples/cert.crt`, `examples/cert.key` and `examples/root/`
//!   relative to its working directory, so pre-run links the run's certificate, key and www
//!   directory there.
//! * `crates-io`, client: quiche 0.30 behind `panther-quiche`, a front end of about 350 lines
//!   (`src/front-end/`, adapted from the crate's `http3-client` example). The example client
//!   cannot pass a test: it fetches one URL, prints the body to stdout, never verifies the peer
//!   and logs no keys. The plan carries the front end's manifest and source; the host writes
//!   them into the tools cache and the compile phase builds them there with `cargo build
//!   --release` (BoringSSL again, so minutes cold). It fetches every request over one
//!   connection, saves each body into `{{dirs.downloads}}`, checks the server against the run's
//!   CA and writes the key log.
//! * `upstream` (Docker): the original's pin, commit `4bda0917`, whose `quiche-server` and
//!   `quiche-client` apps take the original's flags (`--no-grease --no-retry`, `--listen`,
//!   `--dump-json --no-verify -n 5`). The original passed the certificate as `--session-file`;
//!   here the client gets a real session file and the server always gets `--cert`/`--key`.

use panther_guest::*;

const NAME: &str = "quiche";
const CRATE_VERSION: &str = "0.30.0";
/// The example server's fixed address; the host must not pick another port.
const EXAMPLE_PORT: u16 = 4433;

/// The front end's manifest and source. Their digest goes into the compile command, so a
/// changed source changes the compile phase's content hash and the host rebuilds.
const FRONT_END_MANIFEST: &str = include_str!("front-end/Cargo.toml");
const FRONT_END_MAIN: &str = include_str!("front-end/src/main.rs");
const FRONT_END: front_end::CargoFrontEnd = front_end::CargoFrontEnd {
    dir: FRONT_END_DIR,
    manifest: FRONT_END_MANIFEST,
    main: FRONT_END_MAIN,
    digest_var: "PANTHER_QUICHE_SOURCE_DIGEST",
    timeout_ms: 60 * 60 * 1000,
    why: "build the quiche 0.30 HTTP/3 client front end (and BoringSSL) from crates.io into the tools cache",
};
const FRONT_END_DIR: &str = "{{dirs.tools}}/src/panther-quiche";
const FRONT_END_BIN: &str = "{{dirs.tools}}/target/release/panther-quiche";

const IUT: Iut = Iut {
    name: NAME,
    version: env!("CARGO_PKG_VERSION"),
    description: "cloudflare quiche HTTP/3 server and client",
    protocol: "quic",
    roles: &[Role::Server, Role::Client],
    environments: &[EnvironmentKind::Localhost, EnvironmentKind::Docker],
    versions: &[VersionRow::new(
        "rfc9000",
        Some("00000001"),
        &["h3"],
        &[Pin::new("quiche", "https://github.com/cloudflare/quiche.git", "4bda0917dd5aa535f39214063ee85c2cad00ceb2")],
    )],
    sources: &[
        SourceRow::offline(
            "crates-io",
            "quiche 0.30.0 from crates.io built into the tools cache: its http3-server example, and a small HTTP/3 client front end that saves downloads (needs cmake, clang, libclang-dev); localhost",
        ),
        SourceRow::upstream("quiche commit 4bda0917 from GitHub with its quiche-server/quiche-client apps, built in a Docker image"),
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
        "crates-io" => {
            require_environment("quiche from crates-io", &req, &[EnvironmentKind::Localhost])?;
            match req.role {
                Role::Server => Ok(crates_io_server()),
                _ => crates_io_client(&req),
            }
        }
        _ => {
            require_environment("quiche from upstream", &req, &[EnvironmentKind::Docker])?;
            Ok(upstream(&req, v))
        }
    }
}

fn crates_io_server() -> ServicePlan {
    ServicePlan::new()
        .compile(
            cmd(&["cargo", "install", "quiche", "--version", CRATE_VERSION])
                .args([
                    "--example",
                    "http3-server",
                    "--example",
                    "http3-client",
                    "--root",
                    "{{dirs.tools}}",
                ])
                .timeout(60 * 60 * 1000)
                .describe("build quiche's http3 examples (and BoringSSL) from crates.io into the tools cache"),
        )
        .port("quic", EXAMPLE_PORT, Transport::Udp)
        .ready_when_bound("quic")
        // Links, not copies: the certificate is made per run, after the cached compile.
        .pre_run(cmd(&["mkdir", "-p", "{{dirs.work}}/examples"]).describe("the example reads ./examples/"))
        .pre_run(cmd(&[
            "ln",
            "-sfn",
            "{{certs.cert_pem}}",
            "{{dirs.work}}/examples/cert.crt",
        ]))
        .pre_run(cmd(&[
            "ln",
            "-sfn",
            "{{certs.key_pem}}",
            "{{dirs.work}}/examples/cert.key",
        ]))
        .pre_run(cmd(&["ln", "-sfn", "{{dirs.www}}", "{{dirs.work}}/examples/root"]))
        .run(
            cmd(&["{{dirs.tools}}/bin/http3-server"])
                .cwd("{{dirs.work}}")
                .describe("quiche http3-server on 127.0.0.1:4433 serving examples/root"),
        )
}

fn crates_io_client(req: &PlanRequest) -> Result<ServicePlan, PluginError> {
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
    Ok(FRONT_END.plan()
        .run(
            cmd(&[FRONT_END_BIN, "client"])
                .args(verify)
                // The run's certificate names localhost (DNS) and 127.0.0.1 (IP SAN); quiche
                // checks the name as a DNS name, so an IP literal would never match.
                .args([
                    "--server-name",
                    "localhost",
                    "--bind",
                    "{{self.ip}}:0",
                    "--out",
                    "{{dirs.downloads}}",
                ])
                .args(["--timeout", &timeout.to_string()])
                .args(urls)
                .env("SSLKEYLOGFILE", "{{files.keylog}}")
                .timeout((timeout as u64 + 10) * 1000)
                .describe("quiche HTTP/3 client saving each request into the downloads directory"),
        )
        .artifact(ArtifactKind::Keylog, "{{files.keylog}}", true))
}

fn upstream(req: &PlanRequest, v: &VersionRow) -> ServicePlan {
    let bin = "/opt/quiche-apps/bin";
    let plan = ServicePlan::new()
        .image(image(v))
        .artifact(ArtifactKind::Qlog, "{{dirs.qlog}}", false);
    match req.role {
        Role::Server => plan.port("quic", 4443, Transport::Udp).ready_when_bound("quic").run(
            cmd(&[
                &format!("{bin}/quiche-server"),
                "--cert",
                "{{certs.cert_pem}}",
                "--key",
                "{{certs.key_pem}}",
            ])
            .args([
                "--no-grease",
                "--no-retry",
                "--root",
                "{{dirs.www}}",
                "--listen",
                "0.0.0.0:{{ports.quic}}",
            ])
            .env("SSLKEYLOGFILE", "{{files.keylog}}")
            .env("QLOGDIR", "{{dirs.qlog}}")
            .describe("quiche-server serving the www directory"),
        ),
        _ => plan.run(
            cmd(&[&format!("{bin}/quiche-client"), "--dump-json", "--no-verify", "-n", "5"])
                .args([
                    "--session-file",
                    "{{dirs.work}}/session.bin",
                    "--wire-version",
                    v.wire.unwrap_or("00000001"),
                ])
                .args(["--dump-responses", "{{dirs.downloads}}"])
                .args(requests_or_index(req).iter().map(|p| target_url(p)))
                .env("SSLKEYLOGFILE", "{{files.keylog}}")
                .env("QLOGDIR", "{{dirs.qlog}}")
                .describe("quiche-client fetching the test's requests into downloads"),
        ),
    }
}

/// The original built with rustup and `cargo build --examples`; here Debian's cargo installs
/// the apps crate into a fixed prefix. Its replaced `src/packet.rs` is left out (an image spec
/// carries no files).
fn image(v: &VersionRow) -> ImageSpec {
    IUT.image(v)
        .packages(&[
            "build-essential",
            "cmake",
            "git",
            "ca-certificates",
            "cargo",
            "rustc",
            "golang-go",
            "clang",
            "libclang-dev",
        ])
        .pinned(&v.upstream[0], "/opt/quiche")
        .steps_in(
            "/opt/quiche",
            &[
                &["git", "submodule", "update", "--init", "--recursive"],
                &["cargo", "install", "--path", "tools/apps", "--root", "/opt/quiche-apps"],
            ],
        )
        .workdir("/opt/quiche")
}

export_iut!(IUT, plan, params());

#[cfg(test)]
mod tests {
    use super::*;

    fn req(role: Role, source: &str) -> PlanRequest {
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
            environment: EnvironmentKind::Localhost,
            requests: vec!["/f1.bin".into(), "/dir/f2.bin".into()],
            testcase: None,
        }
    }

    #[test]
    fn the_crates_io_client_ships_the_front_end_and_saves_every_request_into_downloads() {
        let p = plan(req(Role::Client, "crates-io")).unwrap();
        let files: Vec<&str> = p.files.iter().map(|(path, _)| path.as_str()).collect();
        assert_eq!(
            files,
            [
                &format!("{FRONT_END_DIR}/Cargo.toml"),
                &format!("{FRONT_END_DIR}/src/main.rs")
            ]
        );
        assert!(p.phases.compile[0]
            .argv
            .iter()
            .any(|a| a.starts_with("env.PANTHER_QUICHE_SOURCE_DIGEST=")));
        assert!(FRONT_END_MAIN.contains("PANTHER_QUICHE_SOURCE_DIGEST"));
        assert!(FRONT_END_MANIFEST.contains("quiche = { version = \"=0.30.0\""));
        assert_eq!(p.phases.run.len(), 1);
        let argv = &p.phases.run[0].argv;
        assert_eq!(argv[..2], [FRONT_END_BIN, "client"]);
        assert!(argv.windows(2).any(|w| w == ["--ca", "{{certs.ca_pem}}"]));
        assert!(argv.windows(2).any(|w| w == ["--out", "{{dirs.downloads}}"]));
        assert_eq!(
            argv[argv.len() - 2..],
            [target_url("/f1.bin"), target_url("/dir/f2.bin")]
        );
        // The shipped files must survive the host's handlebars rendering unchanged.
        assert!(!FRONT_END_MAIN.contains("{{") && !FRONT_END_MANIFEST.contains("{{"));
    }

    #[test]
    fn the_crates_io_server_stays_the_example_on_its_fixed_port() {
        let p = plan(req(Role::Server, "crates-io")).unwrap();
        assert!(p.files.is_empty());
        assert_eq!(p.phases.run[0].argv, ["{{dirs.tools}}/bin/http3-server"]);
    }

}
