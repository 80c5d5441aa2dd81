//! `panther-host plan`: ask plugins for plans and print them; run nothing.
//!
//! Two forms: `plan [FILE]` plans every test of an experiment (without FILE, the embedded demo)
//! exactly as `run` would (ports allocated, placeholders rendered, policy checked);
//! `plan --plugin NAME --role ROLE` asks one plugin for one raw plan, placeholders left in, to
//! see what a plugin says.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::PathBuf;

use clap::{Args, ValueEnum};

use crate::plan::display;
use crate::plugin::types::{EnvironmentKind, Peer, PlanRequest, Role};
use crate::run::planning::PlannedTest;
use crate::text::terminal as t;

use super::{GlobalArgs, EXIT_ERROR, EXIT_OK};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RoleArg {
    Server,
    Client,
    Peer,
    Mitm,
}

impl From<RoleArg> for Role {
    fn from(r: RoleArg) -> Role {
        match r {
            RoleArg::Server => Role::Server,
            RoleArg::Client => Role::Client,
            RoleArg::Peer => Role::Peer,
            RoleArg::Mitm => Role::Mitm,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EnvArg {
    Localhost,
    Docker,
    Shadow,
}

impl From<EnvArg> for EnvironmentKind {
    fn from(e: EnvArg) -> EnvironmentKind {
        match e {
            EnvArg::Localhost => EnvironmentKind::Localhost,
            EnvArg::Docker => EnvironmentKind::Docker,
            EnvArg::Shadow => EnvironmentKind::Shadow,
        }
    }
}

/// Ask the plugins for plans, check and render them, and print them; run nothing.
#[derive(Debug, Args)]
#[command(group = clap::ArgGroup::new("what").args(["experiment", "plugin"]))]
pub struct PlanCmd {
    /// An experiment file: plan every test as `run` would [default: the demo, experiments/demo.toml, built into the binary].
    pub experiment: Option<PathBuf>,
    /// One plugin: print its raw plan for one role, placeholders left in.
    #[arg(long, requires = "role")]
    pub plugin: Option<String>,
    /// The role to plan (with --plugin).
    #[arg(long, value_enum)]
    pub role: Option<RoleArg>,
    /// Protocol version (with --plugin) [default: the plugin's first].
    #[arg(long = "protocol-version", value_name = "VERSION")]
    pub version: Option<String>,
    /// A plugin parameter as NAME=VALUE (repeatable, with --plugin).
    #[arg(long = "param", value_name = "NAME=VALUE")]
    pub params: Vec<String>,
    /// The environment to plan for (with --plugin).
    #[arg(long = "env", value_enum, default_value = "localhost")]
    pub env: EnvArg,
    /// A path the client should fetch (repeatable, with --plugin).
    #[arg(long = "request", value_name = "PATH")]
    pub requests: Vec<String>,
    /// The interop test case (with --plugin).
    #[arg(long)]
    pub testcase: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
}

/// Runs `plan`.
pub fn run(cmd: &PlanCmd, g: &GlobalArgs) -> u8 {
    match &cmd.plugin {
        Some(plugin) => plan_plugin(cmd, plugin, g),
        None => plan_file(cmd, cmd.experiment.as_deref(), g),
    }
}

fn plan_plugin(cmd: &PlanCmd, name: &str, g: &GlobalArgs) -> u8 {
    let host = match super::open_plugins(g) {
        Ok(h) => h,
        Err(e) => {
            super::print_error(e.as_ref());
            return EXIT_ERROR;
        }
    };
    let plugin = match host.find(name) {
        Ok(p) => p,
        Err(e) => {
            super::print_error(&e);
            return EXIT_ERROR;
        }
    };
    let given: BTreeMap<String, String> = match cmd
        .params
        .iter()
        .map(|kv| kv.split_once('=').map(|(k, v)| (k.trim().to_string(), v.to_string())).ok_or_else(|| kv.clone()))
        .collect::<Result<_, _>>()
    {
        Ok(m) => m,
        Err(bad) => {
            eprintln!("error: `--param {bad}` is not NAME=VALUE; for example `--param source=debian`");
            return EXIT_ERROR;
        }
    };
    let params = match crate::config::params::resolve_cli(&plugin.info, &given) {
        Ok(p) => p,
        Err(msg) => {
            eprintln!("error: {msg}");
            return EXIT_ERROR;
        }
    };
    let role: Role = cmd.role.expect("clap requires --role with --plugin").into();
    let version =
        cmd.version.clone().or_else(|| plugin.info.versions.first().map(|v| v.name.clone())).unwrap_or_default();
    let protocol = plugin.info.protocols.first().cloned().unwrap_or_default();
    let target = (role == Role::Client || role == Role::Mitm).then(|| Peer {
        name: "server".into(),
        role: Role::Server,
        implementation: name.to_string(),
    });
    let req = PlanRequest {
        service: format!("{name}-{}", crate::contract::wit_name(&role)),
        role,
        protocol,
        protocol_version: version,
        params,
        target: target.clone(),
        peers: target.into_iter().collect(),
        environment: cmd.env.into(),
        requests: if role == Role::Client && cmd.requests.is_empty() {
            vec!["/index.html".into()]
        } else {
            cmd.requests.clone()
        },
        testcase: cmd.testcase.clone(),
    };
    match host.plan(name, &req) {
        Ok(plan) => {
            match cmd.format {
                Format::Json => println!(
                    "{}",
                    serde_json::to_string_pretty(&serde_json::json!({ "request": req, "plan": plan }))
                        .expect("plans are plain data")
                ),
                Format::Text => {
                    let mut out = String::new();
                    let _ = writeln!(
                        out,
                        "{} {} · {} · {} {} · {}",
                        t(&plugin.info.name),
                        t(&plugin.info.version),
                        crate::contract::wit_name(&role),
                        t(&req.protocol),
                        t(&req.protocol_version),
                        crate::contract::wit_name(&req.environment)
                    );
                    display::write_plan(&mut out, &plan);
                    print!("{out}");
                }
            }
            EXIT_OK
        }
        Err(e) => {
            super::print_error(&e);
            EXIT_ERROR
        }
    }
}

fn plan_file(cmd: &PlanCmd, file: Option<&std::path::Path>, g: &GlobalArgs) -> u8 {
    let session = match super::open_session_or_demo(file, g) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let layout = crate::run::layout::RunLayout::new(
        &session.experiment.settings.output_dir,
        &session.experiment.name,
        "planned",
        &session.cache_root,
    );
    let tests = crate::run::planning::plan_experiment(&session, &layout);
    let refused = tests.iter().filter(|t| !t.problems.is_empty()).count();
    match cmd.format {
        Format::Json => {
            println!("{}", serde_json::to_string_pretty(&tests_json(&tests)).expect("plans are plain data"))
        }
        Format::Text => print!("{}", tests_text(&tests)),
    }
    for t in &tests {
        for p in &t.problems {
            super::print_error(p.as_ref());
        }
    }
    if refused > 0 {
        eprintln!(
            "error: {refused} of {} test{} cannot run as planned",
            tests.len(),
            if tests.len() == 1 { "" } else { "s" }
        );
        EXIT_ERROR
    } else {
        EXIT_OK
    }
}

/// The readable form of planned tests.
pub fn tests_text(tests: &[PlannedTest]) -> String {
    let mut out = String::new();
    for t in tests {
        let _ = writeln!(out, "test `{}`{}", t.spec.name, if t.problems.is_empty() { "" } else { "  [REFUSED]" });
        if let Some(d) = &t.deployment {
            display::write_deployment(&mut out, d);
        }
        if t.environment == crate::plugin::types::EnvironmentKind::Shadow {
            let link = t.spec.network.link.as_ref().map(|(l, _)| crate::exec::shadow::SimLink::of(l));
            let l = link.clone().unwrap_or(crate::exec::shadow::SimLink::DEFAULT);
            let _ = writeln!(
                out,
                "simulated by Shadow: every path {:?} one way, {} bit/s per host, loss {}{}",
                l.latency,
                l.bandwidth,
                l.loss,
                if link.is_none() { " (no link written: the defaults)" } else { "" }
            );
        }
        for l in &t.links {
            let _ = writeln!(
                out,
                "link to `{}` port `{}`: clients send to {}, the relay forwards to {} ({}; seed {})",
                l.server,
                l.port,
                l.listen,
                l.server_addr,
                l.spec.summary(),
                l.seed
            );
        }
        for s in &t.services {
            let _ = writeln!(
                out,
                "service `{}` ({} {}, {} {})",
                s.spec.name,
                s.spec.implementation,
                crate::contract::wit_name(&s.spec.role),
                s.spec.protocol,
                s.spec.version
            );
            match (&s.instance, &s.raw) {
                (Some(i), _) => display::write_plan(&mut out, i.plan.plan()),
                (None, Some(raw)) => {
                    let _ = writeln!(out, "  (not rendered: see the errors below; raw plan follows)");
                    display::write_plan(&mut out, raw);
                }
                (None, None) => {
                    let _ = writeln!(out, "  (no plan)");
                }
            }
        }
        out.push('\n');
    }
    out
}

/// The JSON form of planned tests.
pub fn tests_json(tests: &[PlannedTest]) -> serde_json::Value {
    serde_json::Value::Array(
        tests
            .iter()
            .map(|t| {
                serde_json::json!({
                    "test": t.spec.name,
                    "environment": crate::contract::wit_name(&t.environment),
                    "deployment": t.deployment,
                    "links": t.links.iter().map(|l| serde_json::json!({
                        "server": l.server,
                        "port": l.port,
                        "listen": l.listen.to_string(),
                        "server_address": l.server_addr.to_string(),
                        "link": &*l.spec,
                        "description": l.spec.summary(),
                        "seed": l.seed,
                    })).collect::<Vec<_>>(),
                    "services": t.services.iter().map(|s| serde_json::json!({
                        "name": s.spec.name,
                        "implementation": s.spec.implementation,
                        "role": crate::contract::wit_name(&s.spec.role),
                        "plan": s.instance.as_ref().map(|i| serde_json::to_value(i.plan.plan()).expect("plain data")),
                        "raw_plan": s.raw,
                        "ports": s.instance.as_ref().map(|i| i.ports.clone()),
                    })).collect::<Vec<_>>(),
                    "problems": t.problems.iter().map(|p| p.to_string()).collect::<Vec<_>>(),
                })
            })
            .collect(),
    )
}
