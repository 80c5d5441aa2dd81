//! `panther-host audit EXPERIMENT`: print, per plugin, everything it would ask the machine
//! for — every command, image, capability, mount, port, file and network — with the policy's
//! verdict on each plan. Nothing is run and no directory is made.
//!
//! Owns the audit listing ([`Audit`], [`write_text`]). The listing is built from the
//! orchestrator's dry-run planning (`run::planning::plan_experiment`) and re-judges each plan
//! with the chosen policy, so it shows exactly what `run` would be given. Guest text is
//! printed escaped and cut ([`clean`]): a plan may not hide anything from the reader with
//! terminal escape sequences, NUL bytes or megabytes of padding.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::plan::display::{argv_line, humanize_ms, relay_line};
use crate::plugin::types::{Command, ReadinessCondition, ServicePlan, Transport};
use crate::plugin::wit::latest::env::DeploymentPlan;

/// Longest guest string printed as is; longer ones are cut with their size.
pub const MAX_SHOWN_BYTES: usize = 160;
/// Most items of one list (commands of a phase, ports, files, placements) printed.
pub const MAX_SHOWN_ITEMS: usize = 20;

/// What one service plugin would ask for in one test.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ServiceAudit {
    pub test: String,
    pub service: String,
    pub role: String,
    pub plugin: String,
    /// The plan with runtime values filled in when it could be rendered, else the raw plan.
    pub plan: Option<ServicePlan>,
    pub rendered: bool,
    /// Ports the host gave the plan's ports.
    pub ports: BTreeMap<String, u16>,
    /// Policy refusals and render errors, one line each; empty when accepted.
    pub refusals: Vec<String>,
}

/// What one environment plugin would ask for in one test.
#[derive(Debug, Clone, serde::Serialize)]
pub struct DeploymentAudit {
    pub test: String,
    pub plugin: String,
    pub deployment: Option<DeploymentPlan>,
    pub refusals: Vec<String>,
}

/// The whole audit of an experiment.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Audit {
    pub experiment: String,
    pub policy: String,
    pub services: Vec<ServiceAudit>,
    pub deployments: Vec<DeploymentAudit>,
    /// Problems that belong to no single plan (a plugin that failed to answer, ...).
    pub problems: Vec<String>,
}

impl Audit {
    /// How many plans (service or deployment) the policy refuses, plus other problems.
    pub fn refused(&self) -> usize {
        self.services.iter().filter(|s| !s.refusals.is_empty()).count()
            + self.deployments.iter().filter(|d| !d.refusals.is_empty()).count()
            + self.problems.len()
    }
}

/// Guest text made safe to print: control characters (escape sequences, NUL, carriage
/// returns, bidi overrides) shown escaped ([`crate::text::terminal`]), and cut to
/// [`MAX_SHOWN_BYTES`] with the real size.
pub fn clean(s: &str) -> String {
    let mut out = String::new();
    let mut buf = [0u8; 4];
    for c in s.chars() {
        if out.len() >= MAX_SHOWN_BYTES {
            let _ = write!(out, "… ({} bytes)", s.len());
            return out;
        }
        out.push_str(&crate::text::terminal(c.encode_utf8(&mut buf)));
    }
    out
}

fn clean_argv(argv: &[String]) -> String {
    let shown: Vec<String> = argv.iter().take(MAX_SHOWN_ITEMS * 2).map(|a| clean(a)).collect();
    let mut line = clean(&argv_line(&shown));
    if argv.len() > shown.len() {
        let _ = write!(line, " … ({} arguments)", argv.len());
    }
    line
}

fn more(out: &mut String, indent: &str, total: usize) {
    if total > MAX_SHOWN_ITEMS {
        let _ = writeln!(out, "{indent}… and {} more", total - MAX_SHOWN_ITEMS);
    }
}

fn command(out: &mut String, phase: &str, i: usize, c: &Command) {
    let _ = writeln!(out, "      {phase}[{i}]: {}", clean_argv(&c.argv));
    let mut notes = vec![];
    if let Some(d) = &c.cwd {
        notes.push(format!("cwd {}", clean(d)));
    }
    if let Some(t) = c.timeout_ms {
        notes.push(format!("timeout {}", humanize_ms(t)));
    }
    if !notes.is_empty() {
        let _ = writeln!(out, "        {}", notes.join(", "));
    }
    for (k, v) in c.env.iter().take(MAX_SHOWN_ITEMS) {
        let _ = writeln!(out, "        env {}={}", clean(k), clean(v));
    }
    more(out, "        ", c.env.len());
}

fn none_or(out: &mut String, label: &str, empty: bool) -> bool {
    if empty {
        let _ = writeln!(out, "    {label}: none");
    } else {
        let _ = writeln!(out, "    {label}:");
    }
    !empty
}

/// Writes what one plan asks for.
pub fn write_service_plan(out: &mut String, plan: &ServicePlan, ports: &BTreeMap<String, u16>) {
    let phases = crate::contract::Phase::ALL.map(|ph| (ph.name(), ph.of(&plan.phases)));
    let total: usize = phases.iter().map(|(_, cs)| cs.len()).sum();
    if none_or(out, "commands", total == 0) {
        for (name, cs) in phases {
            for (i, c) in cs.iter().enumerate().take(MAX_SHOWN_ITEMS) {
                command(out, name, i, c);
            }
            more(out, "      ", cs.len());
        }
    }
    match &plan.image {
        None => {
            let _ = writeln!(out, "    image: none");
        }
        Some(i) => {
            let _ = writeln!(out, "    image: {} from {}", clean(&i.name), clean(&i.base));
            if !i.packages.is_empty() {
                let shown: Vec<String> = i.packages.iter().take(MAX_SHOWN_ITEMS).map(|p| clean(p)).collect();
                let _ = writeln!(
                    out,
                    "      packages: {}{}",
                    shown.join(" "),
                    if i.packages.len() > shown.len() {
                        format!(" … ({} packages)", i.packages.len())
                    } else {
                        String::new()
                    }
                );
            }
            for s in i.sources.iter().take(MAX_SHOWN_ITEMS) {
                let _ = writeln!(
                    out,
                    "      source {}: {} at {} → {}",
                    clean(&s.name),
                    clean(&s.url),
                    clean(&s.rev),
                    clean(&s.dest)
                );
            }
            more(out, "      ", i.sources.len());
            for (n, s) in i.steps.iter().enumerate().take(MAX_SHOWN_ITEMS) {
                let _ = writeln!(out, "      step[{n}]: {}", clean_argv(&s.argv));
            }
            more(out, "      ", i.steps.len());
            for (k, v) in i.build_args.iter().take(MAX_SHOWN_ITEMS) {
                let _ = writeln!(out, "      build-arg {}={}", clean(k), clean(v));
            }
        }
    }
    let caps: Vec<String> = plan.capabilities.iter().take(MAX_SHOWN_ITEMS).map(|c| clean(c)).collect();
    let _ = writeln!(out, "    capabilities: {}", if caps.is_empty() { "none".to_string() } else { caps.join(", ") });
    if none_or(out, "ports", plan.ports.is_empty()) {
        for port in plan.ports.iter().take(MAX_SHOWN_ITEMS) {
            let t = match port.transport {
                Transport::Udp => "udp",
                Transport::Tcp => "tcp",
            };
            let n = ports.get(&port.name).copied().unwrap_or(port.number);
            let n = if n == 0 { "any free port".to_string() } else { n.to_string() };
            let _ = writeln!(out, "      {} {t}/{n}", clean(&port.name));
        }
        more(out, "      ", plan.ports.len());
    }
    if none_or(out, "files written", plan.files.is_empty()) {
        for (path, content) in plan.files.iter().take(MAX_SHOWN_ITEMS) {
            let _ = writeln!(out, "      {} ({} bytes)", clean(path), content.len());
        }
        more(out, "      ", plan.files.len());
    }
    if none_or(out, "artifacts collected", plan.artifacts.is_empty()) {
        for a in plan.artifacts.iter().take(MAX_SHOWN_ITEMS) {
            let _ = writeln!(
                out,
                "      {} ({}{})",
                clean(&a.path),
                crate::contract::wit_name(&a.kind),
                if a.required { ", required" } else { "" }
            );
        }
        more(out, "      ", plan.artifacts.len());
    }
    let ready = match &plan.readiness.condition {
        ReadinessCondition::Started => "when started".to_string(),
        ReadinessCondition::PortBound(p) => format!("when port {} is bound", clean(p)),
        ReadinessCondition::LogLine(l) => format!("when a log line contains {}", clean(l)),
        ReadinessCondition::FileExists(f) => format!("when {} exists", clean(f)),
        ReadinessCondition::Exited => "when its run phase exited with 0".to_string(),
    };
    let _ = writeln!(out, "    ready: {ready}, within {}", humanize_ms(plan.readiness.timeout_ms));
}

/// Writes what one deployment asks for.
pub fn write_deployment_plan(out: &mut String, d: &DeploymentPlan) {
    let _ = writeln!(out, "    executor: {}", crate::contract::wit_name(&d.kind));
    if none_or(out, "networks", d.networks.is_empty()) {
        for n in d.networks.iter().take(MAX_SHOWN_ITEMS) {
            let _ = writeln!(
                out,
                "      {} ({})",
                clean(&n.name),
                if n.internal { "internal" } else { "WITH a route out" }
            );
        }
        more(out, "      ", d.networks.len());
    }
    for p in d.placements.iter().take(MAX_SHOWN_ITEMS) {
        let _ = writeln!(out, "    service {} as {}", clean(&p.service), clean(&p.host));
        if !p.aliases.is_empty() {
            let _ = writeln!(
                out,
                "      aliases: {}",
                p.aliases.iter().take(MAX_SHOWN_ITEMS).map(|a| clean(a)).collect::<Vec<_>>().join(", ")
            );
        }
        if !p.networks.is_empty() {
            let _ = writeln!(
                out,
                "      networks: {}",
                p.networks.iter().take(MAX_SHOWN_ITEMS).map(|a| clean(a)).collect::<Vec<_>>().join(", ")
            );
        }
        if !p.after.is_empty() {
            let _ = writeln!(
                out,
                "      after: {}",
                p.after.iter().take(MAX_SHOWN_ITEMS).map(|a| clean(a)).collect::<Vec<_>>().join(", ")
            );
        }
        for m in p.mounts.iter().take(MAX_SHOWN_ITEMS) {
            let target = m.target.as_deref().map_or_else(|| "the same host path".to_string(), clean);
            let _ = writeln!(
                out,
                "      mount {} → {} ({})",
                clean(&m.dir),
                target,
                if m.read_only { "read-only" } else { "read-write" }
            );
        }
        for (k, v) in p.env.iter().take(MAX_SHOWN_ITEMS) {
            let _ = writeln!(out, "      env {}={}", clean(k), clean(v));
        }
    }
    more(out, "    ", d.placements.len());
    for r in d.relays.iter().take(MAX_SHOWN_ITEMS) {
        let _ = writeln!(out, "    {}", relay_line(r, clean));
    }
    more(out, "    ", d.relays.len());
    match &d.capture {
        Some(c) => {
            let _ = writeln!(
                out,
                "    capture: on {}{}",
                clean(&c.interface),
                if c.ports_only { ", declared ports only" } else { ", all traffic" }
            );
        }
        None => {
            let _ = writeln!(out, "    capture: none");
        }
    }
}

fn verdict(out: &mut String, refusals: &[String]) {
    if refusals.is_empty() {
        let _ = writeln!(out, "    verdict: accepted");
    } else {
        let _ = writeln!(out, "    verdict: REFUSED");
        for r in refusals {
            let _ = writeln!(out, "      - {}", clean_line(r));
        }
    }
}

/// A refusal line: the message is the host's, but it quotes guest text, so escape it too
/// (without cutting: every refusal must be readable in full).
fn clean_line(s: &str) -> String {
    crate::text::terminal(s).into_owned()
}

/// The readable audit, grouped by plugin in name order.
pub fn write_text(a: &Audit) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "audit of {} under the {} policy — nothing was run", a.experiment, a.policy);
    let mut plugins: Vec<&str> =
        a.services.iter().map(|s| s.plugin.as_str()).chain(a.deployments.iter().map(|d| d.plugin.as_str())).collect();
    plugins.sort();
    plugins.dedup();
    for plugin in plugins {
        let _ = writeln!(out, "\nplugin {plugin}");
        for d in a.deployments.iter().filter(|d| d.plugin == plugin) {
            let _ = writeln!(out, "  test `{}`: environment", d.test);
            match &d.deployment {
                Some(dp) => write_deployment_plan(&mut out, dp),
                None => {
                    let _ = writeln!(out, "    (no deployment)");
                }
            }
            verdict(&mut out, &d.refusals);
        }
        for s in a.services.iter().filter(|s| s.plugin == plugin) {
            let _ = writeln!(
                out,
                "  test `{}`: service `{}` ({}){}",
                s.test,
                s.service,
                s.role,
                if s.plan.is_some() && !s.rendered { " — raw plan, placeholders left in" } else { "" }
            );
            match &s.plan {
                Some(p) => write_service_plan(&mut out, p, &s.ports),
                None => {
                    let _ = writeln!(out, "    (no plan)");
                }
            }
            verdict(&mut out, &s.refusals);
        }
    }
    if !a.problems.is_empty() {
        let _ = writeln!(out, "\nother problems:");
        for p in &a.problems {
            let _ = writeln!(out, "  - {}", clean_line(p));
        }
    }
    let refused = a.refused();
    let _ = writeln!(
        out,
        "\n{} service plan{}, {} deployment{}: {}",
        a.services.len(),
        if a.services.len() == 1 { "" } else { "s" },
        a.deployments.len(),
        if a.deployments.len() == 1 { "" } else { "s" },
        if refused == 0 { "everything accepted".to_string() } else { format!("{refused} refused or failed") }
    );
    out
}

/// One line per violation, for the listing.
pub fn violation_lines(v: &crate::plan::Violations) -> Vec<String> {
    v.violations.iter().map(|x| format!("{}: {} (rule `{}`)", x.field, x.message, x.rule)).collect()
}

pub use cmd::*;

mod cmd {
    use std::path::PathBuf;

    use clap::{Args, ValueEnum};

    use super::*;
    use crate::plan::{self, CheckError, Policy};
    use crate::run::planning::PlannedTest;

    use crate::cli::{GlobalArgs, EXIT_ERROR, EXIT_OK};

    #[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
    pub enum AuditFormat {
        Text,
        Json,
    }

    /// Print everything an experiment's plugins would ask for, and the policy's verdict; run nothing.
    #[derive(Debug, Args)]
    pub struct AuditCmd {
        /// The experiment file.
        pub experiment: PathBuf,
        /// Judge with this policy instead of the experiment's: `default`, `strict` or a policy file.
        #[arg(long, value_name = "PRESET|FILE")]
        pub policy: Option<String>,
        /// Output format.
        #[arg(long, value_enum, default_value = "text")]
        pub format: AuditFormat,
    }

    /// Builds the audit from planned tests, judging each plan again with `policy`.
    pub fn audit_of(experiment: &str, tests: &[PlannedTest], policy: &Policy) -> Audit {
        let mut a = Audit { experiment: experiment.to_string(), policy: policy.name.clone(), ..Audit::default() };
        for t in tests {
            if let Some(d) = &t.deployment {
                let refusals = match policy.check_deployment(&t.spec.network.kind, d) {
                    Ok(()) => vec![],
                    Err(v) => violation_lines(&v),
                };
                a.deployments.push(DeploymentAudit {
                    test: t.spec.name.clone(),
                    plugin: t.spec.network.kind.clone(),
                    deployment: Some(d.clone()),
                    refusals,
                });
            }
            let raws: Vec<(&str, &ServicePlan)> =
                t.services.iter().filter_map(|s| s.raw.as_ref().map(|r| (s.spec.implementation.as_str(), r))).collect();
            let base_refusals: Vec<(String, Vec<String>)> = match policy.check_image_bases(&raws) {
                Ok(()) => vec![],
                Err(vs) => vs.iter().map(|v| (v.plugin.clone(), violation_lines(v))).collect(),
            };
            for s in &t.services {
                let plugin = s.spec.implementation.clone();
                let mut refusals = vec![];
                let mut shown = s.raw.clone();
                let mut rendered = false;
                if let (Some(raw), Some(ctx)) = (&s.raw, &s.context) {
                    match plan::check(&plugin, raw, ctx, policy) {
                        Ok(c) => {
                            shown = Some(c.plan().clone());
                            rendered = true;
                        }
                        Err(CheckError::Policy(v)) => {
                            refusals.extend(violation_lines(&v));
                            if let Ok(r) = plan::render::render_plan(&plugin, raw, ctx) {
                                shown = Some(r);
                                rendered = true;
                            }
                        }
                        Err(CheckError::Render(e)) => refusals.push(e.to_string()),
                    }
                }
                for (p, lines) in &base_refusals {
                    if *p == plugin {
                        refusals.extend(lines.iter().cloned());
                    }
                }
                let ports = s.instance.as_ref().map(|i| i.ports.clone()).unwrap_or_default();
                a.services.push(ServiceAudit {
                    test: t.spec.name.clone(),
                    service: s.spec.name.clone(),
                    role: crate::contract::wit_name(&s.spec.role),
                    plugin,
                    plan: shown,
                    rendered,
                    ports,
                    refusals,
                });
            }
            for p in &t.problems {
                // Policy and render problems are listed under their plan above.
                let err: &(dyn std::error::Error + 'static) = p.as_ref();
                if err.downcast_ref::<CheckError>().is_none() && err.downcast_ref::<plan::Violations>().is_none() {
                    a.problems.push(format!("test `{}`: {p}", t.spec.name));
                }
            }
        }
        a
    }

    /// Runs `audit`: exit 0 when every plan is accepted, 2 when something would be refused.
    pub fn run(cmd: &AuditCmd, g: &GlobalArgs) -> u8 {
        let mut session = match crate::cli::open_session(&cmd.experiment, g) {
            Ok(s) => s,
            Err(code) => return code,
        };
        if let Some(p) = &cmd.policy {
            match Policy::from_name_or_path(p) {
                Ok(p) => session.policy = p,
                Err(e) => {
                    crate::cli::print_error(&e);
                    return EXIT_ERROR;
                }
            }
        }
        let layout = crate::run::layout::RunLayout::new(
            &session.experiment.settings.output_dir,
            &session.experiment.name,
            "audit",
            &session.cache_root,
        );
        let tests = crate::run::planning::plan_experiment(&session, &layout);
        let audit = audit_of(&cmd.experiment.display().to_string(), &tests, &session.policy);
        match cmd.format {
            AuditFormat::Text => print!("{}", write_text(&audit)),
            AuditFormat::Json => println!("{}", serde_json::to_string_pretty(&audit).expect("an audit is plain data")),
        }
        if audit.refused() == 0 {
            EXIT_OK
        } else {
            EXIT_ERROR
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::policy::tests::deployment;
    use crate::plan::{Policy, RenderContext};
    use crate::plugin::types::*;

    fn plan() -> ServicePlan {
        let run = Command {
            argv: vec!["picoquicdemo".into(), "-p".into(), "4443".into(), "-k".into(), "/run/certs/key.pem".into()],
            env: vec![("SSLKEYLOGFILE".into(), "/run/logs/keys.log".into())],
            cwd: Some("/run/work".into()),
            timeout_ms: Some(60_000),
            critical: true,
            description: "server".into(),
        };
        ServicePlan {
            image: Some(ImageSpec {
                name: "picoquic".into(),
                base: "panther-base:bookworm".into(),
                packages: vec!["libssl-dev".into()],
                sources: vec![SourceRef {
                    name: "picoquic".into(),
                    url: "https://github.com/private-octopus/picoquic".into(),
                    rev: "abc123".into(),
                    dest: "/src/picoquic".into(),
                }],
                steps: vec![BuildStep {
                    argv: vec!["make".into(), "-j2".into()],
                    workdir: Some("/src/picoquic".into()),
                    env: vec![],
                }],
                build_args: vec![],
                workdir: None,
            }),
            ports: vec![Port { name: "quic".into(), number: 0, transport: Transport::Udp }],
            readiness: Readiness { condition: ReadinessCondition::PortBound("quic".into()), timeout_ms: 10_000 },
            artifacts: vec![Artifact { kind: ArtifactKind::Qlog, path: "/run/qlog".into(), required: false }],
            capabilities: vec!["NET_ADMIN".into()],
            files: vec![("/run/work/conf".into(), "x=1".into())],
            ..crate::plan::test_support::plan_with_run(vec![run])
        }
    }

    // It lists every command, image, capability, port, file, artifact, network and mount.
    #[test]
    fn lists_everything_a_plan_asks_for() {
        let mut ports = BTreeMap::new();
        ports.insert("quic".to_string(), 40123);
        let a = Audit {
            experiment: "x.toml".into(),
            policy: "strict".into(),
            services: vec![ServiceAudit {
                test: "t".into(),
                service: "server".into(),
                role: "server".into(),
                plugin: "picoquic".into(),
                plan: Some(plan()),
                rendered: true,
                ports,
                refusals: vec![],
            }],
            deployments: vec![DeploymentAudit {
                test: "t".into(),
                plugin: "docker".into(),
                deployment: Some(deployment()),
                refusals: vec![],
            }],
            problems: vec![],
        };
        let text = write_text(&a);
        insta::assert_snapshot!(text);
    }

    // It prints refusals under the plan they belong to, and counts them.
    #[test]
    fn shows_refusals() {
        let mut p = plan();
        p.phases.run[0].argv = vec!["sh".into(), "-c".into(), "x".into()];
        let v = Policy::strict().check("evil", &p, &RenderContext::default()).unwrap_err();
        let a = Audit {
            experiment: "x.toml".into(),
            policy: "strict".into(),
            services: vec![ServiceAudit {
                test: "t".into(),
                service: "s".into(),
                role: "server".into(),
                plugin: "evil".into(),
                plan: Some(p),
                rendered: true,
                ports: BTreeMap::new(),
                refusals: violation_lines(&v),
            }],
            ..Audit::default()
        };
        let text = write_text(&a);
        assert!(
            text.contains("verdict: REFUSED\n      - phases.run[0].argv[0]: `sh -c` runs a shell string"),
            "{text}"
        );
        assert!(text.ends_with("1 service plan, 0 deployments: 1 refused or failed\n"), "{text}");
        assert_eq!(a.refused(), 1);
    }

    // It escapes terminal control sequences and NUL bytes, and cuts huge guest text and lists.
    #[test]
    fn hostile_text_cannot_hide_anything() {
        let mut p = plan();
        p.phases.run[0].argv = vec!["echo".into(), "\u{1b}[2K\u{1b}[1Ahidden\0".into()];
        p.phases.pre_run = (0..1000).map(|_| p.phases.run[0].clone()).collect();
        p.files = vec![("/run/work/blob".into(), "A".repeat(3 << 20))];
        p.phases.compile = vec![Command {
            argv: std::iter::once("x".to_string()).chain((0..100_000).map(|i| i.to_string())).collect(),
            ..p.phases.run[0].clone()
        }];
        let mut out = String::new();
        write_service_plan(&mut out, &p, &BTreeMap::new());
        assert!(!out.contains('\u{1b}') && !out.contains('\0'), "{out}");
        assert!(out.contains("\\x1b[2K"), "{out}");
        assert!(out.contains("… and 980 more"), "{out}");
        assert!(out.contains("/run/work/blob (3145728 bytes)"), "{out}");
        assert!(out.contains("(100001 arguments)"), "{out}");
        assert!(out.len() < 20_000, "{} bytes", out.len());
        assert_eq!(clean(&"é".repeat(200)).chars().filter(|c| *c == 'é').count(), 80);
    }
}
