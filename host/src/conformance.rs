//! `panther-host plugins test`: the conformance suite a plugin author runs before shipping a
//! component, and `make test` runs on every bundled plugin. Each rule is one numbered check
//! that calls the real component in the sandbox; a failed check names the call, the request
//! and what was wrong, so the author can act without reading the host's sources.
//!
//! Sample values ([`sample_request`], [`sample_context`]) are the ones `docs/PLUGINS.md`'s
//! golden plans use: a server `srv` at 10.0.0.2 and a client `cli` at 10.0.0.3.

use std::collections::BTreeMap;

use crate::contract::wit_name;
use crate::plan::render::{ip_decimal, render_plan, Endpoint, NameOnly, RenderContext, RunInfo, TargetEndpoint};
use crate::plan::Policy;
use crate::plugin::types::*;
use crate::plugin::wit::latest::env::{DeployRequest, ServiceEntry};
use crate::plugin::{CallError, PluginHost, World};

/// What sample clients fetch.
pub const SAMPLE_REQUESTS: &[&str] = &["/f1.bin", "/f2.bin"];
/// A plugin should use at most a tenth of each limit in one call; closer than that is a
/// warning (a bigger request, or a slower machine's deadline, may break it).
pub const HEADROOM: u64 = 10;

/// How one check ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    /// Passed, with something the author should look at.
    Warn,
    Fail,
    /// Does not apply to this plugin (an environment plugin has no roles).
    Skip,
}

/// One numbered rule and what it found.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Check {
    pub number: usize,
    pub rule: &'static str,
    pub status: Status,
    /// How many calls it made.
    pub cases: usize,
    /// One line per problem (or per warning), naming the case.
    pub findings: Vec<String>,
}

/// The whole suite's result for one plugin.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Report {
    pub plugin: String,
    pub world: String,
    pub checks: Vec<Check>,
}

impl Report {
    pub fn failed(&self) -> usize {
        self.checks.iter().filter(|c| c.status == Status::Fail).count()
    }
}

/// Collects one check's cases and findings.
struct Rule {
    rule: &'static str,
    cases: usize,
    failures: Vec<String>,
    warnings: Vec<String>,
    applies: bool,
}

impl Rule {
    fn new(rule: &'static str) -> Self {
        Rule { rule, cases: 0, failures: vec![], warnings: vec![], applies: true }
    }
    fn fail(&mut self, what: String) {
        self.failures.push(what);
    }
    fn done(self, number: usize) -> Check {
        let status = if !self.applies {
            Status::Skip
        } else if !self.failures.is_empty() {
            Status::Fail
        } else if !self.warnings.is_empty() {
            Status::Warn
        } else {
            Status::Pass
        };
        let findings = if self.failures.is_empty() { self.warnings } else { self.failures };
        Check { number, rule: self.rule, status, cases: self.cases, findings }
    }
}

/// Runs every rule on the admitted plugin `name`, judging plans with `policy`.
///
/// # Errors
/// Only when `name` is not an admitted plugin.
pub fn run(host: &PluginHost, name: &str, policy: &Policy) -> Result<Report, CallError> {
    let plugin = host.find(name)?;
    let info = plugin.info.clone();
    let world = plugin.world;
    let mut rules = vec![describe_is_stable(host, name, &info)];
    match world {
        World::Service => {
            let planned: Vec<Planned> = declared_cases(&info)
                .into_iter()
                .map(|c| {
                    let r = working_request(host, name, &info, &c);
                    (c, r)
                })
                .collect();
            rules.push(declared_cases_plan(name, &planned, policy));
            rules.push(same_request_same_plan(host, name, &planned));
            rules.push(undeclared_roles_unsupported(host, name, &info));
            rules.push(bad_params_named(host, name, &info));
            rules.push(assess_survives(host, name));
        }
        World::Environment => {
            rules.push(deployments_pass(host, name, policy));
            rules.push(links_placed(host, name, policy, plugin.contract));
            rules.push(same_deploy_same_plan(host, name));
        }
    }
    rules.push(headroom(host, name));
    let checks = rules.into_iter().enumerate().map(|(i, r)| r.done(i + 1)).collect();
    Ok(Report { plugin: name.to_string(), world: world.to_string(), checks })
}

fn describe_is_stable(host: &PluginHost, name: &str, admitted: &PluginInfo) -> Rule {
    let mut r = Rule::new("describe() is pure and stable: the same answer on every call");
    for _ in 0..2 {
        r.cases += 1;
        match host.describe(name) {
            Ok(again) if &again == admitted => {}
            Ok(_) => r.fail("describe() answered differently from its first call".into()),
            Err(e) => r.fail(format!("describe() failed: {e}")),
        }
    }
    r
}

/// One planned case: role × version × environment.
#[derive(Debug, Clone)]
struct Case {
    role: Role,
    version: String,
    env: EnvironmentKind,
}

impl std::fmt::Display for Case {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} · {} · {}", wit_name(&self.role), self.version, wit_name(&self.env))
    }
}

fn declared_cases(info: &PluginInfo) -> Vec<Case> {
    let versions: Vec<String> = if info.versions.is_empty() {
        vec![String::new()]
    } else {
        info.versions.iter().map(|v| v.name.clone()).collect()
    };
    let envs = if info.environments.is_empty() { vec![EnvironmentKind::Localhost] } else { info.environments.clone() };
    let mut out = vec![];
    for role in &info.roles {
        for v in &versions {
            for env in &envs {
                out.push(Case { role: *role, version: v.clone(), env: *env });
            }
        }
    }
    out
}

/// The request of `c` that the plugin plans: with the declared defaults, or, when the plugin
/// answers `unsupported` to those, with one choice parameter set to another of its choices
/// (a `source` that builds for Docker, the Ivy test that plays this role). A declared case
/// must plan with some declared values.
fn working_request(
    host: &PluginHost,
    name: &str,
    info: &PluginInfo,
    c: &Case,
) -> Result<(PlanRequest, ServicePlan, Option<String>), CallError> {
    let defaults = sample_request(info, c.role, &c.version, c.env);
    let first = match host.plan(name, &defaults) {
        Ok(plan) => return Ok((defaults, plan, None)),
        Err(e @ CallError::Plugin { error: PluginError::Unsupported(_), .. }) => e,
        Err(e) => return Err(e),
    };
    for p in info.parameters.iter().filter(|p| p.ty == ParamType::String) {
        for choice in &p.choices {
            let mut req = defaults.clone();
            req.params.retain(|(k, _)| k != &p.name);
            req.params.push((p.name.clone(), ParamValue::String(choice.clone())));
            if let Ok(plan) = host.plan(name, &req) {
                return Ok((req, plan, Some(format!("{} = {choice}", p.name))));
            }
        }
    }
    Err(first)
}

/// A declared case with its [`working_request`].
type Planned = (Case, Result<(PlanRequest, ServicePlan, Option<String>), CallError>);

fn declared_cases_plan(name: &str, planned: &[Planned], policy: &Policy) -> Rule {
    let mut r = Rule::new(
        "every declared role × version × environment plans, renders with sample values and passes the policy",
    );
    for (c, result) in planned {
        r.cases += 1;
        let (plan, with) = match result {
            Ok((_, plan, with)) => (plan, with),
            Err(e) => {
                r.fail(format!("{c}: plan() failed with the defaults and with every other choice: {e}"));
                continue;
            }
        };
        let ctx = sample_context(c.role, plan, c.env);
        let label = match with {
            Some(w) => format!("{c} ({w})"),
            None => c.to_string(),
        };
        let rendered = match render_plan(name, plan, &ctx) {
            Ok(p) => p,
            Err(e) => {
                r.fail(format!("{label}: the plan does not render: {e}"));
                continue;
            }
        };
        if let Err(v) = policy.check(name, &rendered, &ctx) {
            for v in v.violations {
                r.fail(format!("{label}: {}: {} (rule `{}`)", v.field, v.message, v.rule));
            }
        }
    }
    if planned.is_empty() {
        r.fail("the plugin declares no role, so nothing can be planned".into());
    }
    r
}

fn same_request_same_plan(host: &PluginHost, name: &str, planned: &[Planned]) -> Rule {
    let mut r = Rule::new("the same request twice gives the same plan");
    for (c, result) in planned {
        let Ok((req, first, _)) = result else { continue };
        r.cases += 1;
        match host.plan(name, req) {
            Ok(again) if &again == first => {}
            Ok(_) => r.fail(format!("{c}: two plan() calls with the same request differ")),
            Err(e) => r.fail(format!("{c}: the second plan() call failed: {e}")),
        }
    }
    r
}

const ALL_ROLES: [Role; 4] = [Role::Server, Role::Client, Role::Peer, Role::Mitm];

fn undeclared_roles_unsupported(host: &PluginHost, name: &str, info: &PluginInfo) -> Rule {
    let mut r = Rule::new("a role the plugin does not declare gets `unsupported`");
    let version = info.versions.first().map(|v| v.name.clone()).unwrap_or_default();
    let env = info.environments.first().copied().unwrap_or(EnvironmentKind::Localhost);
    for role in ALL_ROLES.into_iter().filter(|r| !info.roles.contains(r)) {
        r.cases += 1;
        match host.plan(name, &sample_request(info, role, &version, env)) {
            Err(CallError::Plugin { error: PluginError::Unsupported(_), .. }) => {}
            Ok(_) => r.fail(format!("role {}: plan() returned a plan for a role it does not declare", wit_name(&role))),
            Err(e) => r.fail(format!("role {}: expected `unsupported`, got: {e}", wit_name(&role))),
        }
    }
    r.applies = r.cases > 0;
    r
}

fn bad_params_named(host: &PluginHost, name: &str, info: &PluginInfo) -> Rule {
    let mut r = Rule::new("a parameter value outside its declared choices gets `invalid-param` naming it");
    let Some(first) = declared_cases(info).into_iter().next() else {
        r.applies = false;
        return r;
    };
    for p in info.parameters.iter().filter(|p| !p.choices.is_empty()) {
        let bad = "not-one-of-the-choices";
        let mut req = sample_request(info, first.role, &first.version, first.env);
        let value = match p.ty {
            ParamType::List => ParamValue::List(vec![bad.into()]),
            _ => ParamValue::String(bad.into()),
        };
        req.params.retain(|(k, _)| k != &p.name);
        req.params.push((p.name.clone(), value));
        r.cases += 1;
        match host.plan(name, &req) {
            Err(CallError::Plugin { error: PluginError::InvalidParam(problem), .. }) if problem.name == p.name => {}
            Err(CallError::Plugin { error: PluginError::InvalidParam(problem), .. }) => {
                r.fail(format!("parameter `{}` = \"{bad}\": `invalid-param` names `{}` instead", p.name, problem.name))
            }
            Ok(_) => r.fail(format!("parameter `{}` = \"{bad}\": plan() accepted a value outside its choices", p.name)),
            Err(e) => r.fail(format!("parameter `{}` = \"{bad}\": expected `invalid-param`, got: {e}", p.name)),
        }
    }
    r.applies = r.cases > 0;
    r
}

fn assess_survives(host: &PluginHost, name: &str) -> Rule {
    let mut r = Rule::new("assess() answers empty and odd outcomes without trapping");
    for (what, outcome) in odd_outcomes() {
        r.cases += 1;
        if let Err(e) = host.assess(name, &outcome) {
            r.fail(format!("{what}: {e}"));
        }
    }
    r
}

/// Outcomes a real run can produce that a plugin may not expect: nothing at all; services
/// with no exit, extreme codes and hostile text; transfers missing either side; a packet
/// with every optional field empty.
fn odd_outcomes() -> Vec<(&'static str, Outcome)> {
    let empty = Outcome {
        test: String::new(),
        testcase: None,
        services: vec![],
        transfers: vec![],
        packets: vec![],
        packets_truncated: false,
        capture_note: None,
        environment: EnvironmentKind::Localhost,
    };
    let service = |name: &str, role, exit_code, signal| ServiceOutcome {
        service: name.into(),
        role,
        implementation: "someone-else".into(),
        exit_code,
        signal,
        timed_out: exit_code.is_none(),
        stopped_by_host: false,
        stdout_tail: "\u{1b}[2J\r\0 ünïcode ⚠".repeat(50),
        stderr_tail: String::new(),
        artifacts: vec![(ArtifactKind::Other, "../../etc/passwd".into())],
    };
    let odd = Outcome {
        test: "odd \u{202e} test".into(),
        testcase: Some("no-such-case".into()),
        services: vec![
            service("srv", Role::Server, Some(i32::MIN), None),
            service("cli", Role::Client, None, Some(9)),
            service("peer", Role::Peer, Some(127), None),
        ],
        transfers: vec![
            Transfer { path: "/f1.bin".into(), served: None, downloaded: None },
            Transfer {
                path: String::new(),
                served: Some(FileDigest { size: u64::MAX, sha256: "zz".into() }),
                downloaded: None,
            },
        ],
        packets: vec![QuicPacket {
            frame: 0,
            time_ms: f64::NAN,
            src: String::new(),
            dst: String::new(),
            packet_type: "no-such-type".into(),
            version: None,
            packet_number: None,
            dcid: String::new(),
            scid: None,
            frames: vec![],
            stream_bytes: 0,
            ecn: 3,
            udp_length: 0,
            key_phase: None,
            decrypted: false,
            cipher: None,
            http3_frames: vec![],
            tls_handshake: vec![],
            tls_psk: false,
            tls_early_data: false,
        }],
        packets_truncated: true,
        capture_note: Some("no capture".into()),
        environment: EnvironmentKind::Shadow,
    };
    vec![("an empty outcome", empty), ("an odd outcome", odd)]
}

/// A plan that runs `program`; deployments only look at its ports and image.
fn sample_plan(program: &str, ports: Vec<Port>) -> ServicePlan {
    let run = Command {
        argv: vec![program.into()],
        env: vec![],
        cwd: None,
        timeout_ms: None,
        critical: true,
        description: String::new(),
    };
    ServicePlan { ports, ..crate::plan::running(vec![run]) }
}

fn sample_deploy_request() -> DeployRequest {
    let server = sample_plan("server", vec![Port { name: "quic".into(), number: 0, transport: Transport::Udp }]);
    let entry = |name: &str, role, target: Option<&str>, plan| ServiceEntry {
        name: name.into(),
        role,
        implementation: "sample".into(),
        target: target.map(String::from),
        plan,
        tester: false,
    };
    DeployRequest {
        test: "sample".into(),
        run_id: "run-1".into(),
        services: vec![
            entry("srv", Role::Server, None, server),
            entry("cli", Role::Client, Some("srv"), sample_plan("client", vec![])),
        ],
        params: vec![],
        link: None,
    }
}

fn deployments_pass(host: &PluginHost, name: &str, policy: &Policy) -> Rule {
    let mut r = Rule::new("deploy() places a server and its client, and the deployment passes the policy");
    r.cases += 1;
    match host.deploy(name, &sample_deploy_request()) {
        Ok(d) => {
            if let Err(v) = policy.check_deployment(name, &d) {
                for v in v.violations {
                    r.fail(format!("{}: {} (rule `{}`)", v.field, v.message, v.rule));
                }
            }
            for s in ["srv", "cli"] {
                if !d.placements.iter().any(|p| p.service == s) {
                    r.fail(format!("the deployment has no placement for service `{s}`"));
                }
            }
        }
        Err(e) => r.fail(format!("deploy() failed: {e}")),
    }
    r
}

/// With a link (contract 0.2.0), the deployment still passes, and any relay stands in front of
/// the targeted server, between a network the server is on and one its client is on. Relays
/// are not required: on loopback the host places them itself; a container environment that
/// places none gets a warning, since tests over a link are then refused.
fn links_placed(host: &PluginHost, name: &str, policy: &Policy, contract: crate::plugin::wit::Version) -> Rule {
    let mut r = Rule::new("deploy() with a link places the server behind a relay, or leaves the relay to the host");
    r.cases += 1;
    let mut req = sample_deploy_request();
    req.link = Some(crate::plugin::env::LinkRequest { servers: vec!["srv".into()], summary: "loss 2%".into() });
    let d = match host.deploy(name, &req) {
        Ok(d) => d,
        Err(e) => {
            r.fail(format!("deploy() with a link failed: {e}"));
            return r;
        }
    };
    if let Err(v) = policy.check_deployment(name, &d) {
        for v in v.violations {
            r.fail(format!("with a link: {}: {} (rule `{}`)", v.field, v.message, v.rule));
        }
    }
    let placed = |s: &str| d.placements.iter().find(|p| p.service == s);
    for (i, relay) in d.relays.iter().enumerate() {
        if relay.server != "srv" {
            r.fail(format!("relays[{i}] stands in front of `{}`, which no service targets", relay.server));
            continue;
        }
        // A missing placement is rule 2's failure.
        let (Some(srv), Some(cli)) = (placed("srv"), placed("cli")) else { continue };
        if let Err(e) = crate::run::planning::relay_sides(relay, srv, &[cli]) {
            r.fail(format!("relays[{i}]: {e}"));
        }
    }
    if d.relays.is_empty() && d.kind == crate::plugin::types::EnvironmentKind::Docker {
        r.warnings.push(if contract < crate::plugin::wit::since_v0_2_0::MIN_VERSION {
            format!("built against contract {contract}, which cannot place link relays: Docker tests over a link are refused")
        } else {
            "places no relay for a link: Docker tests over a link are refused".to_string()
        });
    }
    r
}

fn same_deploy_same_plan(host: &PluginHost, name: &str) -> Rule {
    let mut r = Rule::new("the same deploy request twice gives the same deployment");
    let req = sample_deploy_request();
    r.cases += 1;
    if let (Ok(a), Ok(b)) = (host.deploy(name, &req), host.deploy(name, &req)) {
        if a != b {
            r.fail("two deploy() calls with the same request differ".into());
        }
    }
    r
}

fn headroom(host: &PluginHost, name: &str) -> Rule {
    let mut r = Rule::new("every call stays well inside the sandbox's limits (fuel, memory)");
    let used = host.usage(name);
    let limits = host.limits();
    r.cases = 1;
    let mib = |b: usize| b as f64 / (1 << 20) as f64;
    if used.fuel.saturating_mul(HEADROOM) > limits.fuel {
        r.warnings.push(format!("a call used {} fuel of {} (less than {HEADROOM}× headroom)", used.fuel, limits.fuel));
    }
    if (used.memory_bytes as u64).saturating_mul(HEADROOM) > limits.memory_bytes as u64 {
        r.warnings.push(format!(
            "a call grew its memory to {:.1} MiB of {:.0} MiB (less than {HEADROOM}× headroom)",
            mib(used.memory_bytes),
            mib(limits.memory_bytes)
        ));
    }
    r
}

/// The most a plugin used in one call, for the report's last line.
pub fn usage_line(host: &PluginHost, name: &str) -> String {
    let used = host.usage(name);
    let limits = host.limits();
    format!(
        "most used in one call: {} fuel of {} ({:.2} %), {:.1} MiB of memory of {:.0} MiB",
        used.fuel,
        limits.fuel,
        used.fuel as f64 * 100.0 / limits.fuel.max(1) as f64,
        used.memory_bytes as f64 / (1 << 20) as f64,
        limits.memory_bytes as f64 / (1 << 20) as f64
    )
}

/// A request for `role` with the declared defaults (and a sample value for a required
/// parameter without one): as server `srv` (client `cli` as peer), otherwise `cli` targeting
/// `srv`; clients fetch [`SAMPLE_REQUESTS`].
pub fn sample_request(info: &PluginInfo, role: Role, version: &str, env: EnvironmentKind) -> PlanRequest {
    let params = info
        .parameters
        .iter()
        .filter_map(|p| p.default.clone().or_else(|| sample_value(p)).map(|d| (p.name.clone(), d)))
        .collect();
    let (me, other, other_role) =
        if role == Role::Server { ("srv", "cli", Role::Client) } else { ("cli", "srv", Role::Server) };
    let other = Peer { name: other.into(), role: other_role, implementation: info.name.clone() };
    PlanRequest {
        service: me.into(),
        role,
        protocol: info.protocols.first().cloned().unwrap_or_default(),
        protocol_version: version.into(),
        params,
        target: (role != Role::Server).then(|| other.clone()),
        peers: vec![other],
        environment: env,
        requests: if role == Role::Server { vec![] } else { SAMPLE_REQUESTS.iter().map(|s| s.to_string()).collect() },
        testcase: Some("transfer".into()),
    }
}

/// What an experiment might give a required parameter that has no default.
fn sample_value(p: &ParamSpec) -> Option<ParamValue> {
    if !p.required {
        return None;
    }
    let word = p.choices.first().cloned().unwrap_or_else(|| "sample".into());
    Some(match p.ty {
        ParamType::String => ParamValue::String(word),
        ParamType::List => ParamValue::List(vec![word]),
        ParamType::Integer => ParamValue::Integer(1),
        ParamType::Boolean => ParamValue::Boolean(false),
        ParamType::Float => ParamValue::Float(1.0),
    })
}

/// The sample runtime values: a server `srv` at 10.0.0.2 and a client `cli` at 10.0.0.3,
/// directories under `/run/panther/<service>/`, a declared port 0 given 40000.
pub fn sample_context(role: Role, plan: &ServicePlan, env: EnvironmentKind) -> RenderContext {
    let (me, ip) = if role == Role::Server { ("srv", "10.0.0.2") } else { ("cli", "10.0.0.3") };
    let endpoint = |name: &str, ip: &str| Endpoint {
        name: name.into(),
        host: name.into(),
        ip: ip.into(),
        ip_decimal: ip_decimal(ip),
        ip6: ip.parse().ok().map(|v4| crate::run::subnets::ipv6_twin(v4).to_string()),
        host6: Some(format!("{name}6")),
        ports: BTreeMap::from([("quic".to_string(), 4443)]),
    };
    let dir = |d: &str| (d.to_string(), format!("/run/panther/{me}/{d}"));
    let names = crate::contract::DirName::ALL.map(|d| d.name());
    let mut c = RenderContext {
        this: endpoint(me, ip),
        ports: plan.ports.iter().map(|p| (p.name.clone(), if p.number == 0 { 40000 } else { p.number })).collect(),
        target: None,
        peers: BTreeMap::new(),
        dirs: std::iter::once("run").chain(names).map(dir).collect(),
        files: BTreeMap::from([("keylog".to_string(), format!("/run/panther/{me}/logs/keys.log"))]),
        certs: crate::certs::FILE_NAMES
            .iter()
            .map(|(k, f)| (k.to_string(), format!("/run/panther/certs/{f}")))
            .collect(),
        sources: crate::run::layout::source_paths(plan, env, &format!("/run/panther/{me}/tools")),
        test: NameOnly { name: "sample".into() },
        run: RunInfo { id: "run-1".into() },
    };
    if role == Role::Server {
        c.peers.insert("cli".into(), endpoint("cli", "10.0.0.3"));
    } else {
        c.target = Some(TargetEndpoint { endpoint: endpoint("srv", "10.0.0.2"), port: 4443 });
        c.peers.insert("srv".into(), endpoint("srv", "10.0.0.2"));
    }
    c
}

/// The report as numbered lines for a terminal (plugin text escaped).
pub fn write_text(report: &Report, usage: &str) -> String {
    use std::fmt::Write;
    let t = |s: &str| crate::text::terminal(s).into_owned();
    let mut out = String::new();
    let _ = writeln!(out, "conformance of `{}` ({} plugin)", t(&report.plugin), report.world);
    for c in &report.checks {
        let word = match c.status {
            Status::Pass => "ok  ",
            Status::Warn => "warn",
            Status::Fail => "FAIL",
            Status::Skip => "skip",
        };
        let cases = if c.cases == 1 { "1 case".to_string() } else { format!("{} cases", c.cases) };
        let _ = writeln!(out, "{:>2}. {word} {} ({cases})", c.number, c.rule);
        const SHOWN: usize = 12;
        for f in c.findings.iter().take(SHOWN) {
            let _ = writeln!(out, "        {}", t(f));
        }
        if c.findings.len() > SHOWN {
            let _ = writeln!(out, "        … and {} more", c.findings.len() - SHOWN);
        }
    }
    let _ = writeln!(out, "    {usage}");
    let failed = report.failed();
    if failed == 0 {
        let _ = writeln!(out, "conforms: {} checks passed", report.checks.len());
    } else {
        let _ = writeln!(out, "does not conform: {failed} of {} checks failed", report.checks.len());
    }
    out
}

/// The reports as JUnit: one suite per plugin, one test case per rule.
pub fn junit(reports: &[Report]) -> String {
    use quick_junit::{NonSuccessKind, Report as JReport, TestCase, TestCaseStatus, TestSuite};
    let mut j = JReport::new("panther-host plugins test");
    for r in reports {
        let mut suite = TestSuite::new(crate::text::xml(&r.plugin));
        for c in &r.checks {
            let status = match c.status {
                Status::Fail => {
                    let mut s = TestCaseStatus::non_success(NonSuccessKind::Failure);
                    s.set_message(crate::text::xml(&c.findings.join("\n")));
                    s
                }
                Status::Skip => TestCaseStatus::skipped(),
                Status::Pass | Status::Warn => TestCaseStatus::success(),
            };
            let mut case = TestCase::new(format!("{:02} {}", c.number, c.rule), status);
            if c.status == Status::Warn {
                case.set_system_out(crate::text::xml(&c.findings.join("\n")));
            }
            suite.add_test_case(case);
        }
        j.add_test_suite(suite);
    }
    j.to_string().unwrap_or_default()
}
