//! The wasm side of the Ivy tester: describe, the compile/run plan, and assess.

use panther_guest::*;

use crate::catalogue::{self, IvyRole, RunParams};
use crate::verdict;

struct Ivy;

const BUILD_SCRIPT: &str = include_str!("ivy_build.py");
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
        // The tester is built in the tools directory: the host caches compile phases there
        // and skips them on later runs, so nothing they make may live in the run's work dir.
        let build = "{{dirs.tools}}/build";
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
        let mut run = cmd(&[&format!("{build}/{test}")])
            .args(args)
            .cwd("{{dirs.work}}")
            .timeout(timeout_ms)
            .env("TEST_TYPE", iut_role)
            .env("ROLE", role_name(want))
            .env("PROTOCOL_TESTED", proto)
            .env("IVY_INCLUDE_PATH", &format!("{build}/"))
            .env("TEST_ALPN", alpn)
            .env("INITIAL_VERSION", iv)
            .env("SSLKEYLOGFILE", "{{files.keylog}}")
            .describe("the compiled Ivy tester; it exits 1 on a violated requirement, prints test_completed when done");
        if role == IvyRole::Client {
            // Ivy-as-client needs the server up; the host starts the target first and waits for
            // its readiness, as PANTHER's coordination files did.
            run = run.describe(
                "the compiled Ivy tester (client side), started once the IUT server is ready",
            );
        }
        let plan = ServicePlan::new()
            .compile(
                cmd(&[
                    "python3",
                    "{{dirs.work}}/ivy_build.py",
                    "{{dirs.tools}}",
                    build,
                    proto,
                    &test,
                    &iters.to_string(),
                    &format!("{:016x}", sources_hash()),
                ])
                .timeout(900_000)
                .describe(
                    "install panther-ms-ivy[z3] and the panther-net specs, then ivyc target=test",
                ),
            )
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
        // The tester's trace (its one run command's stdout) first, then the compile status.
        let mut evidence = vec![format!("{}/logs/run/cmd-0.stdout", s.service)];
        evidence.extend(
            s.artifacts
                .iter()
                .filter(|(k, _)| *k == ArtifactKind::Log)
                .map(|(_, p)| p.clone()),
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

panther_guest::export_service!(Ivy);
