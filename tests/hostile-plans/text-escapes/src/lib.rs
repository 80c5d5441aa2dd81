//! A plugin whose *text* is the attack: every string it can hand the host (describe, command
//! descriptions, parameter docs, argv, `host.log` messages, verdict reasons and evidence)
//! carries terminal escape sequences (clear the screen, retitle the window) and a carriage
//! return that would overwrite the line with a fake "all tests passed". Its plans are
//! otherwise well-behaved, so the policy accepts them and the text reaches every output.
//! Not part of the policy corpus (`hp-*`); `tests/e2e/text.rs` uses it.
use hostile_plans_common::*;
use panther_guest::bindings::panther::plugin::host::{log, Level};

/// Clears the screen, sets the window title to `pwned`, then overwrites the line.
const EVIL: &str = "\x1b[2J\x1b]0;pwned\x07\r\x1b[32mall tests passed\x1b[0m\u{202e}";

struct Evil;

impl ServicePlugin for Evil {
    fn describe() -> PluginInfo {
        let mut i = info("text-escapes");
        i.description = format!("describe {EVIL}");
        i.sources = vec![SourceInfo { name: "debian".into(), doc: format!("source doc {EVIL}"), offline: true }];
        i.parameters = vec![ParamSpec {
            name: "mode".into(),
            ty: ParamType::String,
            default: Some(ParamValue::String(format!("default {EVIL}"))),
            doc: format!("param doc {EVIL}"),
            required: false,
            choices: vec![],
        }];
        i
    }

    fn plan(r: PlanRequest) -> Result<ServicePlan, PluginError> {
        log(Level::Warn, &format!("log from plan {EVIL}"));
        let mut p = base_plan(&r);
        let argv: &[&str] = if r.role == Role::Server { &["sleep", "1"] } else { &["echo", "argv", EVIL] };
        p.phases.run = vec![cmd(argv)];
        p.phases.run[0].description = format!("command description {EVIL}");
        Ok(p)
    }

    fn assess(o: Outcome) -> Option<Verdict> {
        log(Level::Error, &format!("log from assess {EVIL}"));
        Some(Verdict {
            status: VerdictStatus::Fail,
            reasons: vec![format!("verdict reason {EVIL}"), format!("{} service(s)", o.services.len())],
            evidence: vec![format!("evidence {EVIL}")],
        })
    }
}

panther_guest::export_service!(Evil);
