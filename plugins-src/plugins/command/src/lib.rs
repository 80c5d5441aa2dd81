//! A program of your own as an implementation under test: the experiment gives its argv
//! (the original's `implementation.command`). Useful for an IUT no plugin knows yet, for
//! scripted stand-ins in tests, and for wrapping a locally built binary.
//!
//! The argv items may use every placeholder of the contract (`{{ports.main}}`,
//! `{{target.port}}`, `{{dirs.downloads}}`, …), so a command can reach its peers and write
//! its evidence where the host collects it. The policy judges the result like any plan.

use panther_guest::*;

const NAME: &str = "command";
const ROLES: &[Role] = &[Role::Server, Role::Client, Role::Peer];

struct CommandPlugin;

fn readiness_choices() -> &'static [&'static str] {
    &["auto", "port", "started", "log-line", "file", "exited"]
}

impl ServicePlugin for CommandPlugin {
    fn describe() -> PluginInfo {
        PluginInfo {
            name: NAME.into(),
            version: env!("CARGO_PKG_VERSION").into(),
            kind: PluginKind::Iut,
            description: "any program, given as argv in the experiment, as an implementation under test".into(),
            protocols: vec!["quic".into(), "minip".into(), "any".into()],
            roles: ROLES.to_vec(),
            versions: vec![ProtocolVersion { name: "any".into(), wire: None, alpn: vec![] }],
            sources: vec![],
            parameters: vec![
                ParamSpec::list("argv", &[], "the program and its arguments; placeholders allowed").required(),
                ParamSpec::list("env", &[], "environment as NAME=VALUE items"),
                ParamSpec::string("port", "udp", "declare a port `main` the host allocates: `udp`, `tcp` or `none`"),
                ParamSpec::choice("ready", readiness_choices(), "readiness; `auto`: port bound for servers with a port, started otherwise"),
                ParamSpec::string("ready_arg", "", "the log line or file for `log-line` / `file` readiness"),
                ParamSpec::integer("ready_timeout_ms", 10_000, "how long readiness may take"),
                ParamSpec::integer("timeout_ms", 0, "run-phase limit in milliseconds; 0 leaves it to the test"),
                ParamSpec::list("compile", &[], "an optional compile command (argv), cached by the host by content"),
            ],
            environments: vec![EnvironmentKind::Localhost, EnvironmentKind::Shadow],
        }
    }

    fn plan(req: PlanRequest) -> Result<ServicePlan, PluginError> {
        require_role(NAME, &req, ROLES)?;
        check_choices(&Self::describe(), &req)?;
        require_environment(NAME, &req, &[EnvironmentKind::Localhost, EnvironmentKind::Shadow])?;
        let argv = req.param_list("argv")?;
        if argv.is_empty() || argv[0].is_empty() {
            return Err(invalid_param("argv", "give at least the program, e.g. argv = [\"/usr/bin/my-server\", \"-p\", \"{{ports.main}}\"]"));
        }
        let mut run = Command::new(&argv.iter().map(String::as_str).collect::<Vec<_>>());
        for item in req.param_list("env")? {
            let (k, v) = item
                .split_once('=')
                .ok_or_else(|| invalid_param("env", format!("`{item}` is not NAME=VALUE")))?;
            run = run.env(k, v);
        }
        let timeout = req.param_int("timeout_ms")?;
        if timeout < 0 {
            return Err(invalid_param("timeout_ms", "must not be negative"));
        }
        if timeout > 0 {
            run = run.timeout(timeout as u64);
        }
        let mut plan = ServicePlan::new().run(run.describe("the experiment's own command"));
        let compile = req.param_list("compile")?;
        if !compile.is_empty() {
            plan = plan.compile(Command::new(&compile.iter().map(String::as_str).collect::<Vec<_>>()).describe("the experiment's compile command"));
        }
        let has_port = match req.param_str("port")? {
            "udp" => {
                plan = plan.port("main", 0, Transport::Udp);
                true
            }
            "tcp" => {
                plan = plan.port("main", 0, Transport::Tcp);
                true
            }
            "none" => false,
            other => return Err(invalid_param("port", format!("`{other}` is not udp, tcp or none"))),
        };
        let wait = req.param_int("ready_timeout_ms")?.max(0) as u64;
        let arg = req.param_str("ready_arg")?.to_string();
        let ready = match req.param_str("ready")? {
            "auto" if has_port && req.role == Role::Server => "port",
            "auto" => "started",
            other => other,
        };
        let condition = match ready {
            "port" if has_port => ReadinessCondition::PortBound("main".into()),
            "port" => return Err(invalid_param("ready", "`port` readiness needs a port (port = \"udp\" or \"tcp\")")),
            "started" => ReadinessCondition::Started,
            "log-line" => ReadinessCondition::LogLine(arg),
            "file" => ReadinessCondition::FileExists(arg),
            "exited" => ReadinessCondition::Exited,
            other => return Err(invalid_param("ready", format!("`{other}` is not one of {}", readiness_choices().join(", ")))),
        };
        Ok(plan.ready(condition, wait).artifact(ArtifactKind::Log, "{{dirs.logs}}", false))
    }

    fn assess(_outcome: Outcome) -> Option<Verdict> {
        None
    }
}

export_service!(CommandPlugin);
