//! The readable form of plans, as `panther-host plan` and `audit` print them.
//!
//! Argv is shown shell-quoted so it can be read (and pasted to reproduce a step by hand);
//! the host itself never runs it through a shell. Every string of a plan is plugin text, so
//! its control characters are shown escaped ([`crate::text::terminal`]).

use std::fmt::Write;

use crate::contract::Phase;
use crate::plugin::types::{Command, ReadinessCondition, ServicePlan};
use crate::plugin::wit::latest::env::{DeploymentPlan, Relay};
use crate::text::terminal as t;

/// Quotes one argument the way a POSIX shell would need it.
pub fn shell_quote(s: &str) -> String {
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_./:=,+@%{}".contains(&b)) {
        s.to_string()
    } else {
        format!("'{}'", s.replace('\'', r"'\''"))
    }
}

/// An argv as one readable line.
pub fn argv_line(argv: &[String]) -> String {
    argv.iter().map(|a| shell_quote(a)).collect::<Vec<_>>().join(" ")
}

fn command(out: &mut String, c: &Command) {
    let _ = writeln!(out, "    $ {}", t(&argv_line(&c.argv)));
    for (k, v) in &c.env {
        let _ = writeln!(out, "      env {}={}", t(k), t(&shell_quote(v)));
    }
    if let Some(d) = &c.cwd {
        let _ = writeln!(out, "      cwd {}", t(d));
    }
    let mut notes = vec![];
    if let Some(t) = c.timeout_ms {
        notes.push(format!("timeout {}", humanize_ms(t)));
    }
    if !c.critical {
        notes.push("not critical".to_string());
    }
    if !c.description.is_empty() {
        notes.push(t(&c.description).into_owned());
    }
    if !notes.is_empty() {
        let _ = writeln!(out, "      ({})", notes.join(", "));
    }
}

/// `1500` → `1.5s`, `120000` → `2m`.
pub fn humanize_ms(ms: u64) -> String {
    match ms {
        m if m % 60_000 == 0 && m >= 60_000 => format!("{}m", m / 60_000),
        m if m % 1000 == 0 => format!("{}s", m / 1000),
        m if m >= 1000 => format!("{:.1}s", m as f64 / 1000.0),
        m => format!("{m}ms"),
    }
}

/// Writes the readable form of a service plan, indented under a heading the caller prints.
pub fn write_plan(out: &mut String, plan: &ServicePlan) {
    for (name, cs) in Phase::ALL.map(|ph| (ph.name(), ph.of(&plan.phases))) {
        if cs.is_empty() {
            continue;
        }
        let _ = writeln!(out, "  {name}:");
        for c in cs {
            command(out, c);
        }
    }
    if !plan.ports.is_empty() {
        let ports: Vec<String> = plan
            .ports
            .iter()
            .map(|p| {
                format!(
                    "{} {}/{}",
                    t(&p.name),
                    if p.number == 0 { "auto".to_string() } else { p.number.to_string() },
                    crate::contract::wit_name(&p.transport)
                )
            })
            .collect();
        let _ = writeln!(out, "  ports: {}", ports.join(", "));
    }
    let cond = match &plan.readiness.condition {
        ReadinessCondition::Started => "when started".to_string(),
        ReadinessCondition::PortBound(p) => format!("when port `{}` is bound", t(p)),
        ReadinessCondition::LogLine(l) => format!("when its output contains {}", t(&format!("{l:?}"))),
        ReadinessCondition::FileExists(f) => format!("when {} exists", t(f)),
        ReadinessCondition::Exited => "when its run phase has exited with 0".to_string(),
    };
    let _ = writeln!(out, "  ready: {cond} (within {})", humanize_ms(plan.readiness.timeout_ms));
    for a in &plan.artifacts {
        let _ = writeln!(
            out,
            "  artifact: {} {}{}",
            crate::contract::wit_name(&a.kind),
            t(&a.path),
            if a.required { " (required)" } else { "" }
        );
    }
    if !plan.capabilities.is_empty() {
        let _ = writeln!(out, "  capabilities: {}", t(&plan.capabilities.join(", ")));
    }
    for (path, content) in &plan.files {
        let _ = writeln!(out, "  file: {} ({} bytes)", t(path), content.len());
    }
    if let Some(img) = &plan.image {
        let _ = writeln!(out, "  image: {} from {}", t(&img.name), t(&img.base));
        if !img.packages.is_empty() {
            let _ = writeln!(out, "    packages: {}", t(&img.packages.join(" ")));
        }
        for s in &img.sources {
            let _ = writeln!(out, "    source: {} {} @ {} -> {}", t(&s.name), t(&s.url), t(&s.rev), t(&s.dest));
        }
        for (k, v) in &img.build_args {
            let _ = writeln!(out, "    build-arg {}={}", t(k), t(v));
        }
        for s in &img.steps {
            let _ = writeln!(
                out,
                "    RUN {}{}",
                t(&argv_line(&s.argv)),
                s.workdir.as_ref().map(|w| format!("  (in {})", t(w))).unwrap_or_default()
            );
        }
    }
}

/// One relay of a deployment, its names shown through `show` (the callers escape guest text
/// each in their own way).
pub fn relay_line(r: &Relay, show: impl Fn(&str) -> String) -> String {
    format!(
        "link relay in front of {}: clients on {}, server on {}",
        show(&r.server),
        show(&r.client_network),
        show(&r.server_network)
    )
}

/// Writes the readable form of a deployment plan.
pub fn write_deployment(out: &mut String, d: &DeploymentPlan) {
    let _ = writeln!(out, "  environment: {}", crate::contract::wit_name(&d.kind));
    for n in &d.networks {
        let _ = writeln!(out, "  network: {}{}", t(&n.name), if n.internal { " (internal)" } else { "" });
    }
    for (i, p) in d.placements.iter().enumerate() {
        let after = if p.after.is_empty() { String::new() } else { format!(", after {}", t(&p.after.join(", "))) };
        let _ = writeln!(out, "  {}. {} on {}{after}", i + 1, t(&p.service), t(&p.host));
        for m in &p.mounts {
            let _ = writeln!(
                out,
                "       mount {} -> {}{}",
                t(&m.dir),
                t(m.target.as_deref().unwrap_or("(same path)")),
                if m.read_only { " (read-only)" } else { "" }
            );
        }
    }
    for r in &d.relays {
        let _ = writeln!(out, "  {}", relay_line(r, |s| t(s).into_owned()));
    }
    if let Some(c) = &d.capture {
        let _ = writeln!(
            out,
            "  capture: on {}{}",
            t(&c.interface),
            if c.ports_only { ", the services' ports only" } else { "" }
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_only_what_needs_it() {
        assert_eq!(
            argv_line(&["go".into(), "build".into(), "-o".into(), "/a b".into(), "it's".into()]),
            r"go build -o '/a b' 'it'\''s'"
        );
        assert_eq!(shell_quote(""), "''");
        assert_eq!(shell_quote("{{ports.quic}}"), "{{ports.quic}}");
    }

    #[test]
    fn a_relay_is_shown_with_its_two_networks_and_text_neutralised() {
        let mut d = crate::plan::policy::tests::deployment();
        d.relays.push(crate::plugin::env::Relay {
            server: "server\x1b[2J".into(),
            client_network: "t-net".into(),
            server_network: "t-servers".into(),
        });
        let mut out = String::new();
        write_deployment(&mut out, &d);
        assert!(
            out.contains("  link relay in front of server\\x1b[2J: clients on t-net, server on t-servers\n"),
            "{out}"
        );
    }

    #[test]
    fn humanizes() {
        assert_eq!(humanize_ms(120_000), "2m");
        assert_eq!(humanize_ms(1500), "1.5s");
        assert_eq!(humanize_ms(30_000), "30s");
        assert_eq!(humanize_ms(20), "20ms");
    }
}
