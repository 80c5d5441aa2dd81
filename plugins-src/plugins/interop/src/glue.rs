//! The wasm side: WIT values in, [`crate::model`] values to the judge, a WIT verdict out.

use panther_guest::*;

use crate::{judge, model};

struct Interop;

const VERSION: &str = env!("CARGO_PKG_VERSION");
const ROLES: [Role; 3] = [Role::Client, Role::Server, Role::Peer];

impl ServicePlugin for Interop {
    fn describe() -> PluginInfo {
        let names: Vec<&str> = judge::TESTCASES.iter().map(|t| t.name).collect();
        PluginInfo {
            name: "interop".into(),
            version: VERSION.into(),
            kind: PluginKind::Tester,
            description: "quic-interop-runner test cases (handshake, transfer, retry, resumption, zerortt, http3, \
                chacha20, keyupdate, v2, ecn, multiplexing, amplificationlimit), judged from the decrypted capture \
                and the transferred files, never from an endpoint's own word; runs no process"
                .into(),
            protocols: vec!["quic".into()],
            // A matrix gives its tester the role `peer`; a test naming the tester as a
            // service may give it either endpoint's.
            roles: ROLES.to_vec(),
            versions: vec![
                ProtocolVersion { name: "rfc9000".into(), wire: Some(judge::V1.into()), alpn: vec!["hq-interop".into(), "h3".into()] },
                ProtocolVersion { name: "rfc9369".into(), wire: Some(judge::V2.into()), alpn: vec!["hq-interop".into(), "h3".into()] },
            ],
            sources: vec![],
            parameters: vec![ParamSpec::choice(
                "testcase",
                &names,
                "the interop test case to judge when the test names none (tests normally set `testcase`)",
            )],
            environments: vec![EnvironmentKind::Localhost, EnvironmentKind::Docker, EnvironmentKind::Shadow],
        }
    }

    fn plan(request: PlanRequest) -> Result<ServicePlan, PluginError> {
        require_role("interop", &request, &ROLES)?;
        panther_guest::check_choices(&Self::describe(), &request)?;
        if let Some(tc) = &request.testcase {
            if judge::testcase(tc).is_none() {
                return Err(invalid_param(
                    "testcase",
                    format!("`{tc}` is not an interop test case"),
                ));
            }
        }
        // Nothing to run: the endpoints are the IUTs; this tester only judges.
        Ok(ServicePlan::new())
    }

    fn assess(outcome: Outcome) -> Option<Verdict> {
        let v = judge::judge(&to_model(outcome));
        Some(Verdict {
            status: match v.status {
                model::Status::Pass => VerdictStatus::Pass,
                model::Status::Fail => VerdictStatus::Fail,
                model::Status::UnsupportedByIut => VerdictStatus::UnsupportedByIut,
                model::Status::UnsupportedByEnvironment => VerdictStatus::UnsupportedByEnvironment,
                model::Status::InfraError => VerdictStatus::InfraError,
            },
            reasons: v.reasons,
            evidence: v.evidence,
        })
    }
}

fn to_model(o: Outcome) -> model::Outcome {
    model::Outcome {
        test: o.test,
        testcase: o.testcase,
        services: o
            .services
            .into_iter()
            .map(|s| model::ServiceOutcome {
                service: s.service,
                role: match s.role {
                    Role::Server => model::Role::Server,
                    Role::Client => model::Role::Client,
                    Role::Peer => model::Role::Peer,
                    Role::Mitm => model::Role::Mitm,
                },
                implementation: s.implementation,
                exit_code: s.exit_code,
                signal: s.signal,
                timed_out: s.timed_out,
                stopped_by_host: s.stopped_by_host,
                stdout_tail: s.stdout_tail,
                stderr_tail: s.stderr_tail,
                artifacts: s
                    .artifacts
                    .into_iter()
                    .map(|(k, p)| {
                        let k = match k {
                            ArtifactKind::Log => model::ArtifactKind::Log,
                            ArtifactKind::Pcap => model::ArtifactKind::Pcap,
                            ArtifactKind::Keylog => model::ArtifactKind::Keylog,
                            ArtifactKind::Qlog => model::ArtifactKind::Qlog,
                            ArtifactKind::Binary => model::ArtifactKind::Binary,
                            ArtifactKind::Report => model::ArtifactKind::Report,
                            ArtifactKind::Other => model::ArtifactKind::Other,
                        };
                        (k, p)
                    })
                    .collect(),
            })
            .collect(),
        transfers: o
            .transfers
            .into_iter()
            .map(|t| model::Transfer {
                path: t.path,
                served: t.served.map(|d| model::FileDigest {
                    size: d.size,
                    sha256: d.sha256,
                }),
                downloaded: t.downloaded.map(|d| model::FileDigest {
                    size: d.size,
                    sha256: d.sha256,
                }),
            })
            .collect(),
        packets: o
            .packets
            .into_iter()
            .map(|p| model::QuicPacket {
                frame: p.frame,
                time_ms: p.time_ms,
                src: p.src,
                dst: p.dst,
                packet_type: p.packet_type,
                version: p.version,
                packet_number: p.packet_number,
                dcid: p.dcid,
                scid: p.scid,
                frames: p.frames,
                stream_bytes: p.stream_bytes,
                ecn: p.ecn,
                udp_length: p.udp_length,
                key_phase: p.key_phase,
                decrypted: p.decrypted,
                cipher: p.cipher,
                http3_frames: p.http3_frames,
                tls_handshake: p.tls_handshake,
                tls_psk: p.tls_psk,
                tls_early_data: p.tls_early_data,
            })
            .collect(),
        packets_truncated: o.packets_truncated,
        capture_note: o.capture_note,
        environment: match o.environment {
            EnvironmentKind::Localhost => model::EnvironmentKind::Localhost,
            EnvironmentKind::Docker => model::EnvironmentKind::Docker,
            EnvironmentKind::Shadow => model::EnvironmentKind::Shadow,
        },
    }
}

panther_guest::export_service!(Interop);
