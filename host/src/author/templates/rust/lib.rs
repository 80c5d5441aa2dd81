//! @@NAME@@: @@SUMMARY@@
//!
//! Made by `panther-host plugin new`. The host calls `describe` once, `plan` for each service
//! of a test that names this plugin, and `assess` when the test is over. A plan is data: the
//! programs to run (argv, never a shell string), the ports to allocate, when the service is
//! ready, what to collect. The host checks it against its policy and runs it; nothing here can
//! touch files, the network or the clock. `{{...}}` items are placeholders the host fills in
//! (see the contract's `types.wit`).

wit_bindgen::generate!({ world: "service-plugin", path: "wit" });

use exports::panther::plugin::service::Guest;
use panther::plugin::types::*;

const NAME: &str = "@@NAME@@";
const ROLES: &[Role] = &[Role::Server, Role::Client];
const CLIENT_TOOLS: &[&str] = &["curl", "python"];

/// A small HTTP downloader for the `python` client tool; the host writes it as a plan file.
const FETCH_PY: &str = "import sys, urllib.request, os\n\
base, out = sys.argv[1], sys.argv[2]\n\
for path in sys.argv[3:]:\n    urllib.request.urlretrieve(base + path, os.path.join(out, os.path.basename(path)))\n";

struct Plugin;

impl Guest for Plugin {
    fn describe() -> PluginInfo {
        PluginInfo {
            name: NAME.into(),
            version: env!("CARGO_PKG_VERSION").into(),
            kind: PluginKind::@@KIND_VARIANT@@,
            description: "@@SUMMARY@@".into(),
            protocols: vec!["http".into()],
            roles: ROLES.to_vec(),
            versions: vec![ProtocolVersion { name: "http/1.0".into(), wire: None, alpn: vec![] }],
            sources: vec![],
            parameters: vec![ParamSpec {
                name: "client-tool".into(),
                ty: ParamType::String,
                default: Some(ParamValue::String("curl".into())),
                doc: "client: the program that downloads the requests (`curl` or `python`)".into(),
                required: false,
                choices: CLIENT_TOOLS.iter().map(|s| s.to_string()).collect(),
            }],
            environments: vec![EnvironmentKind::Localhost],
        }
    }

    fn plan(req: PlanRequest) -> Result<ServicePlan, PluginError> {
        check_choices(&req)?;
        if !ROLES.contains(&req.role) {
            return Err(PluginError::Unsupported(format!("{NAME} has no {:?} role", req.role)));
        }
        if req.environment != EnvironmentKind::Localhost {
            return Err(PluginError::Unsupported(format!("{NAME} plans for localhost only")));
        }
        match req.role {
            Role::Server => Ok(server()),
            _ => client(&req),
        }
    }

    fn assess(@@ASSESS_ARG@@: Outcome) -> Option<Verdict> {
@@ASSESS_BODY@@
    }
}

/// Python's own HTTP server, serving the files the host put in `{{dirs.www}}`.
fn server() -> ServicePlan {
    let mut plan = empty_plan(ReadinessCondition::PortBound("main".into()));
    plan.phases.run.push(command(
        &["python3", "-m", "http.server", "{{ports.main}}", "--bind", "{{self.ip}}", "--directory", "{{dirs.www}}"],
        "serve {{dirs.www}} over HTTP",
    ));
    plan.ports.push(Port { name: "main".into(), number: 0, transport: Transport::Tcp });
    plan
}

/// Downloads every requested path from the target into `{{dirs.downloads}}`, where the host
/// compares them with what the server served.
fn client(req: &PlanRequest) -> Result<ServicePlan, PluginError> {
    let tool = match req.params.iter().find(|(k, _)| k == "client-tool") {
        Some((_, ParamValue::String(s))) => s.as_str(),
        _ => "curl",
    };
    let base = "http://{{target.ip}}:{{target.port}}";
    let mut plan = empty_plan(ReadinessCondition::Started);
    let mut argv: Vec<String> = match tool {
        "curl" => ["curl", "--fail", "--silent", "--show-error", "--output-dir", "{{dirs.downloads}}", "--remote-name-all"]
            .map(String::from)
            .to_vec(),
        "python" => {
            plan.files.push(("{{dirs.work}}/fetch.py".into(), FETCH_PY.into()));
            ["python3", "{{dirs.work}}/fetch.py", base, "{{dirs.downloads}}"].map(String::from).to_vec()
        }
        other => {
            return Err(PluginError::InvalidParam(ParamProblem {
                name: "client-tool".into(),
                message: format!("`{other}` is not one of {}", CLIENT_TOOLS.join(", ")),
            }))
        }
    };
    for path in &req.requests {
        argv.push(if tool == "curl" { format!("{base}{path}") } else { path.clone() });
    }
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    plan.phases.run.push(command(&argv, "download the requests"));
    Ok(plan)
}

/// Refuses a parameter value outside its declared choices, whatever the role (the host checks
/// experiment files too, but a plugin must not trust its caller).
fn check_choices(req: &PlanRequest) -> Result<(), PluginError> {
    for spec in Plugin::describe().parameters {
        let value = req.params.iter().find(|(k, _)| *k == spec.name).map(|(_, v)| v);
        let values: Vec<&String> = match value {
            Some(ParamValue::String(s)) => vec![s],
            Some(ParamValue::List(items)) => items.iter().collect(),
            _ => vec![],
        };
        if let Some(bad) = values.into_iter().find(|v| !spec.choices.is_empty() && !spec.choices.contains(v)) {
            return Err(PluginError::InvalidParam(ParamProblem {
                name: spec.name.clone(),
                message: format!("`{bad}` is not one of {}", spec.choices.join(", ")),
            }));
        }
    }
    Ok(())
}

fn empty_plan(condition: ReadinessCondition) -> ServicePlan {
    ServicePlan {
        phases: Phases {
            pre_compile: vec![],
            compile: vec![],
            post_compile: vec![],
            pre_run: vec![],
            run: vec![],
            post_run: vec![],
        },
        image: None,
        ports: vec![],
        readiness: Readiness { condition, timeout_ms: 10_000 },
        artifacts: vec![Artifact { kind: ArtifactKind::Log, path: "{{dirs.logs}}".into(), required: false }],
        capabilities: vec![],
        files: vec![],
    }
}

fn command(argv: &[&str], description: &str) -> Command {
    Command {
        argv: argv.iter().map(|s| s.to_string()).collect(),
        env: vec![],
        cwd: None,
        timeout_ms: None,
        critical: true,
        description: description.into(),
    }
}

export!(Plugin);
