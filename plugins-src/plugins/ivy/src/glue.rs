//! The wasm side of the Ivy tester: describe, the compile/run plan, and assess.

use panther_guest::*;

use crate::catalogue::{self, IvyRole, RunParams};
use crate::verdict;

struct Ivy;

const BUILD_SCRIPT: &str = include_str!("ivy_build.py");
/// The picotls the original's Ivy image builds (`version_configs/quic/rfc9000.yaml`).
const PICOTLS: Pin = Pin::new(
    "picotls",
    "https://github.com/h2o/picotls.git",
    "047c5fe20bb9ea91c1caded8977134f19681ec76",
);
/// Where the Docker image keeps the Ivy venv, the spec wheel and picotls' source.
const DOCKER_TOOLS: &str = "/opt/ivy";
const DOCKER_PICOTLS: &str = "/opt/picotls";
/// The z3 wheel's libraries in the venv (`{TOOLS}`: the tools directory or the image's).
const Z3_DIR: &str = "{TOOLS}/ivy-venv/lib/python3.11/site-packages/z3";
/// The venv's `ivy` package in the image (Debian 12: Python 3.11).
const DOCKER_IVY_PKG: &str = "/opt/ivy/ivy-venv/lib/python3.11/site-packages/ivy";
const MINIP_LOCALE: &str = include_str!("minip_locale.ivy");

/// FNV-1a over the shipped build sources. The host keys its compile cache on the compile
/// commands only, so this goes into the command: a changed script or locale rebuilds.
const fn sources_hash() -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    let parts = [BUILD_SCRIPT.as_bytes(), MINIP_LOCALE.as_bytes()];
    let mut p = 0;
    while p < parts.len() {
        let b = parts[p];
        let mut i = 0;
        while i < b.len() {
            h ^= b[i] as u64;
            h = h.wrapping_mul(0x100000001b3);
            i += 1;
        }
        p += 1;
    }
    h
}

fn int(req: &PlanRequest, name: &str) -> Result<i64, PluginError> {
    req.param_int(name)
}

impl ServicePlugin for Ivy {
    fn describe() -> PluginInfo {
        let tests = catalogue::all_tests();
        PluginInfo {
            name: "ivy".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            kind: PluginKind::Tester,
            description: "formal Ivy testers from PANTHER (panther-ms-ivy + the panther-net specs): compiled with \
                ivyc target=test, run against the IUT with role inversion; verdict from the tester's own output"
                .into(),
            protocols: vec!["quic".into(), "minip".into()],
            roles: vec![Role::Client, Role::Server],
            versions: vec![
                ProtocolVersion { name: "rfc9000".into(), wire: Some("00000001".into()), alpn: vec!["hq-interop".into()] },
                ProtocolVersion { name: "draft29".into(), wire: Some("ff00001d".into()), alpn: vec!["hq-29".into()] },
            ],
            sources: vec![SourceInfo { name: "pypi".into(), doc: "panther-ms-ivy[z3] 1.10.1 and the panther-net 1.2.0 specs".into(), offline: true }],
            parameters: vec![
                ParamSpec::choice("test", &tests, "the Ivy test; `quic_server_test_*` tests a server (Ivy plays the client), `quic_client_test_*` a client"),
                ParamSpec::integer("iterations", 100, "generation steps compiled in (`ivyc test_iters=`); PANTHER's default is 300"),
                ParamSpec::integer("seed", 0, "seed of the tester's random choices"),
                ParamSpec::integer("the_cid", 1, "initial connection ID of the tester"),
                ParamSpec::integer("server_cid", 10, "server connection ID (server tests)"),
                ParamSpec::integer("iversion", 1, "initial QUIC version"),
                ParamSpec::integer("server_port", 4443, "UDP port of the server"),
                ParamSpec::integer("client_port", 4997, "UDP port of the tester as client"),
                ParamSpec::integer("client_port_alt", 4444, "second client port (migration tests)"),
                ParamSpec::integer("timeout_s", 120, "wall-clock limit of one tester run"),
            ],
            environments: vec![EnvironmentKind::Localhost, EnvironmentKind::Docker, EnvironmentKind::Shadow],
        }
    }

    fn plan(req: PlanRequest) -> Result<ServicePlan, PluginError> {
        panther_guest::check_choices(&Self::describe(), &req)?;
        let test = req.param_str("test")?.to_string();
        let Some(role) = catalogue::ivy_role(&test) else {
            return Err(invalid_param(
                "test",
                format!("`{test}` is neither a server test nor a client test"),
            ));
        };
        let proto = catalogue::protocol_of(&test).unwrap_or("quic");
        let want = match role {
            IvyRole::Client => Role::Client,
            IvyRole::Server => Role::Server,
        };
        if req.role != want {
            return Err(unsupported(format!(
                "`{test}` makes Ivy the {}; the experiment gives it the role {} (the role is the one Ivy plays, the IUT gets the other)",
                role_name(want),
                role_name(req.role)
            )));
        }
        if role == IvyRole::Client && req.target.is_none() {
            return Err(unsupported(format!(
                "`{test}` tests a server: set `protocol.target` to the IUT server"
            )));
        }
        let p = RunParams {
            seed: int(&req, "seed")?,
            the_cid: int(&req, "the_cid")?,
            server_cid: int(&req, "server_cid")?,
            iversion: int(&req, "iversion")?,
            server_port: int(&req, "server_port")?,
            client_port: int(&req, "client_port")?,
            client_port_alt: int(&req, "client_port_alt")?,
        };
        let iters = int(&req, "iterations")?;
        let timeout_ms = int(&req, "timeout_s")?.max(1) as u64 * 1000;
        let docker = matches!(req.environment, EnvironmentKind::Docker);
        // The tester is built in the tools directory: the host caches compile phases there
        // and skips them on later runs, so nothing they make may live in the run's work dir.
        // Docker mounts no tools directory: there the build goes to the work dir, next to the
        // venv, wheel and picotls source the image holds.
        let (tools, build) = if docker {
            (DOCKER_TOOLS, "{{dirs.work}}/build")
        } else {
            ("{{dirs.tools}}", "{{dirs.tools}}/build")
        };
        let args = catalogue::run_args(&test, &p)
            .ok_or_else(|| internal(format!("no argument form for `{test}`")))?;
        let iut_role = if role == IvyRole::Client {
            "server"
        } else {
            "client"
        };
        let (alpn, iv) = if req.protocol_version == "draft29" {
            ("hq-29", "29")
        } else {
            ("hq-interop", "1")
        };
        // PANTHER's TEST_IMPL: the implementations under test (the spec special-cases some).
        let test_impl = req
            .target
            .iter()
            .chain(req.peers.iter())
            .filter(|p| p.implementation != "ivy")
            .map(|p| p.implementation.clone())
            .fold(Vec::<String>::new(), |mut v, i| {
                if !v.contains(&i) {
                    v.push(i);
                }
                v
            })
            .join(",");
        let mut run = cmd(&[&format!("{build}/{test}")])
            .args(args)
            .timeout(timeout_ms)
            .env("TEST_TYPE", iut_role)
            .env("ROLE", role_name(want))
            .env("PROTOCOL_TESTED", proto)
            .env("TEST_IMPL", &test_impl)
            .env("TEST_ALPN", alpn)
            .env("INITIAL_VERSION", iv)
            .env("SSLKEYLOGFILE", "{{files.keylog}}")
            .describe(&format!(
                "the compiled Ivy tester `{test}` (seed {}); it exits 1 on a violated requirement, prints test_completed when done",
                p.seed
            ));
        let mut compile = cmd(&[
            "python3",
            "{{dirs.work}}/ivy_build.py",
            tools,
            build,
            proto,
            &test,
            &iters.to_string(),
            &format!("{:016x}", sources_hash()),
        ])
        .timeout(900_000);
        let mut plan = ServicePlan::new();
        if proto == "quic" {
            // The spec tree (state files, certificates, the request file) is copied per run,
            // so a test's writes (tokens, tickets) never leak into the next one.
            let spec = "{{dirs.work}}/quic";
            compile = compile
                .args(["{{sources.picotls}}"])
                .describe("build picotls, stage the panther-net QUIC specs into panther-ms-ivy, then ivyc target=test");
            plan = plan
                .image(quic_image())
                .pre_run(
                    cmd(&["cp", "-R", &format!("{build}/spec/quic"), spec])
                        .describe("a fresh copy of the QUIC spec tree: the tester reads and writes its state files"),
                );
            run = run
                .cwd(spec)
                // file.ivy reads `$PANTHER_IVY_BASE_DIR/quic_utils/<name>.txt` when PROOTPATH is set.
                .env("PROOTPATH", "{{dirs.work}}")
                .env("PANTHER_IVY_BASE_DIR", spec)
                .env("PROTOCOL_PATH", spec)
                // The source line of a violated requirement is read from
                // $PYTHON_IVY_DIR/ivy/include/1.7/<file>.ivy (the staged specs).
                .env("PYTHON_IVY_DIR", build)
                .env("IVY_INCLUDE_PATH", &format!("{build}/ivy/include/1.7/"))
                // The compile phase's one-shot container linked `<ivy>/lib` to z3 by the
                // library's full soname; that link is gone in the run container, so the loader
                // is pointed at the z3 wheel itself (harmless on localhost, where it exists).
                .env("LD_LIBRARY_PATH", &format!("{}/lib", Z3_DIR.replace("{TOOLS}", tools)))
                .env("PANTHER_IVY_CERT_PATH", &format!("{spec}/leaf_cert.pem"))
                .env("PANTHER_IVY_KEY_PATH", &format!("{spec}/leaf_cert.key"))
                .env(
                    "PANTHER_IVY_TICKET_PATH",
                    &format!("{spec}/last_session_ticket.txt"),
                );
            for (k, f) in QUIC_STATE_FILES {
                run = run.env(k, &format!("{spec}/{f}"));
            }
        } else {
            compile = compile.describe(
                "install panther-ms-ivy[z3] and the panther-net specs, then ivyc target=test",
            );
            run = run
                .cwd("{{dirs.work}}")
                .env("IVY_INCLUDE_PATH", &format!("{build}/"));
        }
        let plan = plan
            .compile(compile)
            .run(run)
            .port(
                "ivy",
                if proto == "minip" && matches!(req.environment, EnvironmentKind::Localhost) {
                    // MiniP arguments use `{{ports.ivy}}`: let the host pick a free port.
                    0
                } else if role == IvyRole::Server {
                    p.server_port as u16
                } else {
                    p.client_port as u16
                },
                Transport::Udp,
            )
            .ready(
                // Ivy as a server must have its UDP socket open before the IUT client sends
                // its one ping (it gives up after 3 s); as a client, starting is enough.
                if role == IvyRole::Server && proto == "minip" {
                    // The MiniP tester loads its expected ping (`ping_data`) in its first
                    // generated `client_send_event`; a ping that arrives earlier is judged
                    // against an empty payload and fails (ping_frame.ivy line 72).
                    ReadinessCondition::LogLine("> client_send_event(".into())
                } else if role == IvyRole::Server {
                    ReadinessCondition::PortBound("ivy".into())
                } else {
                    ReadinessCondition::Started
                },
                30_000,
            )
            .artifact(
                ArtifactKind::Log,
                &format!("{build}/compilation_status.txt"),
                false,
            )
            // What this run was (the seed above all: verdicts depend on it). `assess` sees
            // only the outcome, so the seed travels in this artifact's name.
            .artifact(
                ArtifactKind::Report,
                &format!("{{{{dirs.work}}}}/{}", verdict::run_file_name(p.seed)),
                false,
            )
            .file(
                &format!("{{{{dirs.work}}}}/{}", verdict::run_file_name(p.seed)),
                &format!(
                    "test={test}\nseed={}\niterations={iters}\nprotocol={proto}\nivy_role={}\n",
                    p.seed,
                    role_name(want)
                ),
            )
            .file("{{dirs.work}}/ivy_build.py", BUILD_SCRIPT)
            .file("{{dirs.work}}/minip_locale.ivy", MINIP_LOCALE);
        Ok(plan)
    }

    fn assess(o: Outcome) -> Option<Verdict> {
        let Some(s) = o.services.iter().find(|s| s.implementation == "ivy") else {
            return Some(Verdict {
                status: VerdictStatus::InfraError,
                reasons: vec!["no service of this test is the Ivy tester".into()],
                evidence: vec![],
            });
        };
        let (kind, reasons) = verdict::determine(&verdict::Run {
            stdout: &s.stdout_tail,
            stderr: &s.stderr_tail,
            exit_code: s.exit_code,
            signal: s.signal,
            timed_out: s.timed_out,
        });
        let seed = s
            .artifacts
            .iter()
            .find_map(|(_, p)| verdict::seed_of_artifact(p));
        let reasons = verdict::with_seed(reasons, seed);
        // The tester's trace (its one run command's stdout) first, then the run's parameters
        // and the compile status, then the trace lines that carry the verdict.
        let stdout = format!("{}/logs/run/cmd-0.stdout", s.service);
        let mut evidence = vec![stdout.clone()];
        evidence.extend(
            s.artifacts
                .iter()
                .filter(|(k, p)| *k == ArtifactKind::Log || verdict::seed_of_artifact(p).is_some())
                .map(|(_, p)| p.clone()),
        );
        evidence.extend(
            verdict::log_lines(&s.stdout_tail, 3)
                .into_iter()
                .map(|l| format!("{stdout}: {l}")),
        );
        Some(Verdict {
            status: match kind {
                verdict::Kind::Pass => VerdictStatus::Pass,
                verdict::Kind::Fail => VerdictStatus::Fail,
                verdict::Kind::InfraError => VerdictStatus::InfraError,
            },
            reasons,
            evidence,
        })
    }
}

/// The state files PANTHER's environment names (`DEFAULT_ENVIRONMENT_VARIABLES`), in the
/// per-run copy of the spec tree.
const QUIC_STATE_FILES: &[(&str, &str)] = &[
    ("ZRTT_SSLKEYLOG_FILE", "last_tls_key.txt"),
    ("RETRY_TOKEN_FILE", "last_retry_token.txt"),
    ("NEW_TOKEN_FILE", "last_new_token.txt"),
    ("ENCRYPT_TICKET_FILE", "last_encrypt_session_ticket.txt"),
    ("SESSION_TICKET_FILE", "last_session_ticket_cb.txt"),
    ("SAVED_PACKET", "saved_packet.txt"),
    (
        "initial_max_stream_id_bidi",
        "initial_max_stream_id_bidi.txt",
    ),
    (
        "active_connection_id_limit",
        "active_connection_id_limit.txt",
    ),
    (
        "initial_max_stream_data_bidi_local",
        "initial_max_stream_data_bidi_local.txt",
    ),
    (
        "initial_max_stream_data_bidi_remote",
        "initial_max_stream_data_bidi_remote.txt",
    ),
    (
        "initial_max_stream_data_uni",
        "initial_max_stream_data_uni.txt",
    ),
    ("initial_max_data", "initial_max_data.txt"),
];

/// The QUIC tester's image: the same pinned picotls as the local build (the host copies it
/// into the build context; nothing is cloned), the Ivy venv and the spec wheel from PyPI, and
/// `<ivy>/lib` with z3 in it (the tester's rpath). The compile phase then runs `ivy_build.py`
/// in a one-shot container (no network): it builds picotls from `/opt/picotls` and runs ivyc
/// into the mounted work dir. On localhost the image is not built; its `sources` are what the
/// host fetches for `{{sources.picotls}}`.
fn quic_image() -> ImageSpec {
    let venv = format!("{DOCKER_TOOLS}/ivy-venv");
    let pip = format!("{venv}/bin/pip");
    let lib = format!("{DOCKER_IVY_PKG}/lib");
    ImageSpec::new("ivy-quic")
        .packages(&[
            "python3",
            "python3-venv",
            "g++",
            "make",
            "cmake",
            "pkg-config",
            "libssl-dev",
            "ca-certificates",
        ])
        .pinned(&PICOTLS, DOCKER_PICOTLS)
        .step(&["python3", "-m", "venv", &venv])
        .step(&[
            &pip,
            "install",
            "--disable-pip-version-check",
            "panther-ms-ivy[z3]==1.10.1",
        ])
        .step(&[
            &pip,
            "download",
            "--disable-pip-version-check",
            "--no-deps",
            "panther-net==1.2.0",
            "-d",
            &format!("{DOCKER_TOOLS}/specs-wheel"),
        ])
        .step(&["mkdir", "-p", &lib])
        .step(&[
            "ln",
            "-s",
            "../../z3/lib/libz3.so",
            &format!("{lib}/libz3.so"),
        ])
        .workdir(DOCKER_TOOLS)
}

panther_guest::export_service!(Ivy);
