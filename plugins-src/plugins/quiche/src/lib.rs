//! quiche (cloudflare/quiche) as an implementation under test.
//!
//! Two sources:
//! * `crates-io` (offline, localhost): quiche 0.30's `http3-server`/`http3-client` examples,
//!   built with `cargo install` into `{{dirs.tools}}` (BoringSSL is built with cmake and clang;
//!   about 7 minutes cold, then cached by the host). The example server is hard-wired to
//!   `127.0.0.1:4433` and reads `examples/cert.crt`, `examples/cert.key` and `examples/root/`
//!   relative to its working directory, so pre-run links the run's certificate, key and www
//!   directory there. Its client fetches one URL, does not verify the peer and logs no keys.
//! * `upstream` (Docker): the original's pin, commit `4bda0917`, whose `quiche-server` and
//!   `quiche-client` apps take the original's flags (`--no-grease --no-retry`, `--listen`,
//!   `--dump-json --no-verify -n 5`). The original passed the certificate as `--session-file`;
//!   here the client gets a real session file and the server always gets `--cert`/`--key`.

use panther_guest::*;

const NAME: &str = "quiche";
const CRATE_VERSION: &str = "0.30.0";
/// The example server's fixed address; the host must not pick another port.
const EXAMPLE_PORT: u16 = 4433;

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
            "quiche 0.30.0 http3 examples from crates.io built into the tools cache (needs cmake, clang, libclang-dev); localhost",
        ),
        SourceRow::upstream("quiche commit 4bda0917 from GitHub with its quiche-server/quiche-client apps, built in a Docker image"),
    ],
};

fn plan(req: PlanRequest) -> Result<ServicePlan, PluginError> {
    let v = IUT.admit_any_environment(&req)?;
    match req.param_str("source")? {
        "crates-io" => {
            require_environment("quiche from crates-io", &req, &[EnvironmentKind::Localhost])?;
            Ok(crates_io(&req))
        }
        _ => {
            require_environment("quiche from upstream", &req, &[EnvironmentKind::Docker])?;
            Ok(upstream(&req, v))
        }
    }
}

fn crates_io(req: &PlanRequest) -> ServicePlan {
    let plan = ServicePlan::new().compile(
        cmd(&["cargo", "install", "quiche", "--version", CRATE_VERSION])
            .args(["--example", "http3-server", "--example", "http3-client", "--root", "{{dirs.tools}}"])
            .timeout(60 * 60 * 1000)
            .describe("build quiche's http3 examples (and BoringSSL) from crates.io into the tools cache"),
    );
    match req.role {
        Role::Server => plan
            .port("quic", EXAMPLE_PORT, Transport::Udp)
            .ready_when_bound("quic")
            // Links, not copies: the certificate is made per run, after the cached compile.
            .pre_run(cmd(&["mkdir", "-p", "{{dirs.work}}/examples"]).describe("the example reads ./examples/"))
            .pre_run(cmd(&["ln", "-sfn", "{{certs.cert_pem}}", "{{dirs.work}}/examples/cert.crt"]))
            .pre_run(cmd(&["ln", "-sfn", "{{certs.key_pem}}", "{{dirs.work}}/examples/cert.key"]))
            .pre_run(cmd(&["ln", "-sfn", "{{dirs.www}}", "{{dirs.work}}/examples/root"]))
            .run(
                cmd(&["{{dirs.tools}}/bin/http3-server"])
                    .cwd("{{dirs.work}}")
                    .describe("quiche http3-server on 127.0.0.1:4433 serving examples/root"),
            ),
        _ => requests_or_index(req).into_iter().fold(plan, |plan, path| {
            plan.run(
                cmd(&["{{dirs.tools}}/bin/http3-client", &target_url(&path)]).describe("quiche http3-client fetching one request"),
            )
        }),
    }
}

fn upstream(req: &PlanRequest, v: &VersionRow) -> ServicePlan {
    let bin = "/opt/quiche-apps/bin";
    let plan = ServicePlan::new().image(image(v)).artifact(ArtifactKind::Qlog, "{{dirs.qlog}}", false);
    match req.role {
        Role::Server => plan.port("quic", 4443, Transport::Udp).ready_when_bound("quic").run(
            cmd(&[&format!("{bin}/quiche-server"), "--cert", "{{certs.cert_pem}}", "--key", "{{certs.key_pem}}"])
                .args(["--no-grease", "--no-retry", "--root", "{{dirs.www}}", "--listen", "0.0.0.0:{{ports.quic}}"])
                .env("SSLKEYLOGFILE", "{{files.keylog}}")
                .env("QLOGDIR", "{{dirs.qlog}}")
                .describe("quiche-server serving the www directory"),
        ),
        _ => plan.run(
            cmd(&[&format!("{bin}/quiche-client"), "--dump-json", "--no-verify", "-n", "5"])
                .args(["--session-file", "{{dirs.work}}/session.bin", "--wire-version", v.wire.unwrap_or("00000001")])
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
            &[&["git", "submodule", "update", "--init", "--recursive"], &["cargo", "install", "--path", "tools/apps", "--root", "/opt/quiche-apps"]],
        )
        .workdir("/opt/quiche")
}

export_iut!(IUT, plan);
