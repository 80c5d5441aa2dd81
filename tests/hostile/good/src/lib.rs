//! A well-behaved service plugin: the control that must keep working after every hostile one.
use panther_guest::bindings::panther::plugin::host::{log, Level};
use panther_guest::*;

struct Good;

impl ServicePlugin for Good {
    fn describe() -> PluginInfo {
        PluginInfo {
            name: "hostile-good".into(),
            version: "1.2.3".into(),
            kind: PluginKind::Iut,
            description: "a plugin that behaves".into(),
            protocols: vec!["quic".into()],
            roles: vec![Role::Server, Role::Client],
            versions: vec![ProtocolVersion {
                name: "rfc9000".into(),
                wire: Some("00000001".into()),
                alpn: vec!["hq-interop".into()],
            }],
            sources: vec![SourceInfo {
                name: "debian".into(),
                doc: "apt".into(),
                offline: true,
            }],
            parameters: vec![ParamSpec {
                name: "port".into(),
                ty: ParamType::Integer,
                default: Some(ParamValue::Integer(4443)),
                doc: "UDP port the server listens on".into(),
                required: false,
                choices: vec![],
            }],
            environments: vec![EnvironmentKind::Localhost, EnvironmentKind::Docker],
        }
    }

    fn plan(r: PlanRequest) -> Result<ServicePlan, PluginError> {
        log(Level::Info, &format!("planning {}", r.service));
        if r.protocol != "quic" {
            return Err(PluginError::Unsupported(format!(
                "protocol `{}`",
                r.protocol
            )));
        }
        let run = Command {
            argv: vec!["echo".into(), "{{self.name}}".into(), r.service.clone()],
            env: vec![],
            cwd: None,
            timeout_ms: Some(1000),
            critical: true,
            description: "say hello".into(),
        };
        Ok(ServicePlan {
            phases: Phases {
                pre_compile: vec![],
                compile: vec![],
                post_compile: vec![],
                pre_run: vec![],
                run: vec![run],
                post_run: vec![],
            },
            image: None,
            ports: vec![Port {
                name: "quic".into(),
                number: 0,
                transport: Transport::Udp,
            }],
            readiness: Readiness {
                condition: ReadinessCondition::Started,
                timeout_ms: 1000,
            },
            artifacts: vec![],
            capabilities: vec![],
            files: vec![],
        })
    }

    fn assess(o: Outcome) -> Option<Verdict> {
        Some(Verdict {
            status: VerdictStatus::Pass,
            reasons: vec![format!("{} services", o.services.len())],
            evidence: vec![],
        })
    }
}

panther_guest::export_service!(Good);
