//! Planning a test without running it: ask the service plugins for plans, the environment
//! plugin for a deployment, give ports and directories, render and check every plan.
//!
//! `panther-host plan FILE`, `panther-host audit` and `panther-host run` all go through
//! [`plan_test`], so what is printed is exactly what would run. Calls plugins; runs nothing.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use crate::config::{Experiment, ResolvedParams, ServiceKind, ServiceSpec, TestSpec};
use crate::contract::DirName;
use crate::exec::ServiceInstance;
use crate::plan::{self, CheckedPlan, Policy, RenderContext};
use crate::plugin::types::{EnvironmentKind, ParamValue, Peer, PlanRequest, PluginKind, ServicePlan};
use crate::plugin::wit::latest::env::{DeployRequest, DeploymentPlan, Placement, ServiceEntry};
use crate::plugin::PluginHost;

use super::layout::{self, RunLayout};
use super::subnets::TestSubnets;

/// Everything a run needs that does not change between tests.
pub struct Session {
    pub experiment: Experiment,
    pub host: Arc<PluginHost>,
    pub params: ResolvedParams,
    pub policy: Policy,
    pub cache_root: PathBuf,
}

/// Anything that keeps a test from running, with who said it.
pub type Problem = Box<dyn miette::Diagnostic + Send + Sync + 'static>;

/// A problem found by the orchestrator itself (not a plugin, renderer or policy).
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("{0}")]
#[diagnostic(code(panther::run::plan))]
pub struct PlanProblem(pub String);

/// One service of a planned test.
pub struct PlannedService {
    pub spec: ServiceSpec,
    /// What the plugin returned, before rendering.
    pub raw: Option<ServicePlan>,
    /// Rendered and accepted by the policy; `None` when a problem stopped it.
    pub instance: Option<ServiceInstance>,
    pub context: Option<RenderContext>,
}

/// A test with every plan made and checked.
pub struct PlannedTest {
    pub spec: TestSpec,
    pub iteration: u32,
    pub dir: PathBuf,
    pub environment: EnvironmentKind,
    pub deployment: Option<DeploymentPlan>,
    /// Docker only: the subnet of each network of the deployment.
    pub subnets: TestSubnets,
    /// In start order.
    pub services: Vec<PlannedService>,
    /// The link relays between clients and the servers they target (localhost tests with a
    /// link; see [`plan_links`]).
    pub links: Vec<PlannedLink>,
    pub problems: Vec<Problem>,
}

/// One relay of a test's link: clients send to `listen`, the relay forwards to the server.
#[derive(Debug, Clone)]
pub struct PlannedLink {
    /// The server service and its UDP port's name.
    pub server: String,
    pub port: String,
    pub server_addr: std::net::SocketAddr,
    pub listen: std::net::SocketAddr,
    pub spec: Arc<crate::link::LinkSpec>,
    pub seed: u64,
    /// Names the relay's files in the test directory: empty for a test's only relay, else
    /// `server-port-`.
    pub prefix: String,
}

impl PlannedTest {
    /// The instances to run, in start order, when nothing stopped the test.
    pub fn instances(&self) -> Option<Vec<ServiceInstance>> {
        if !self.problems.is_empty() {
            return None;
        }
        self.services.iter().map(|s| s.instance.clone()).collect()
    }
}

/// The environment kind an environment plugin places services in.
pub fn environment_kind(host: &PluginHost, plugin: &str) -> Result<EnvironmentKind, Problem> {
    let p = host.find(plugin).map_err(|e| Box::new(e) as Problem)?;
    if p.info.kind != PluginKind::Environment {
        return Err(Box::new(PlanProblem(format!(
            "network type `{plugin}` is a {:?} plugin, not an environment plugin",
            p.info.kind
        ))));
    }
    p.info.environments.first().copied().ok_or_else(|| {
        Box::new(PlanProblem(format!("environment plugin `{plugin}` declares no environment kind"))) as Problem
    })
}

fn peer_of(s: &ServiceSpec) -> Peer {
    Peer { name: s.name.clone(), role: s.role, implementation: s.implementation.clone() }
}

/// The name of the parameter through which a plugin takes the test's seed (Ivy's testers do).
pub const SEED_PARAM: &str = "seed";

/// A service's parameters with the test iteration's seed as its integer `seed` parameter,
/// unless the experiment file sets that one: so `[experiment] seed` (or `--seed`) decides the
/// tester's random choices as it decides the link's, and `--test NAME --seed S` reruns them.
fn seeded(
    params: &[(String, ParamValue)],
    given: &BTreeMap<String, toml::Value>,
    seed: u64,
) -> Vec<(String, ParamValue)> {
    let mut out = params.to_vec();
    if !given.contains_key(SEED_PARAM) {
        for (name, value) in &mut out {
            if name == SEED_PARAM && matches!(value, ParamValue::Integer(_)) {
                // 31 bits: every tester takes a positive C int.
                *value = ParamValue::Integer((seed >> 33) as i64);
            }
        }
    }
    out
}

/// Asks each service plugin for its plan.
fn request_plans(
    session: &Session,
    spec: &TestSpec,
    env: EnvironmentKind,
    seed: u64,
    problems: &mut Vec<Problem>,
) -> Vec<Option<ServicePlan>> {
    spec.services
        .iter()
        .map(|s| {
            let target = s.target.as_ref().and_then(|t| spec.services.iter().find(|o| &o.name == t)).map(peer_of);
            // Any service with a target fetches the test's files from it: an IUT client, or a
            // tester acting as the client (testers that do not fetch ignore the list).
            let fetches = target.is_some();
            let req = PlanRequest {
                service: s.name.clone(),
                role: s.role,
                protocol: s.protocol.clone(),
                protocol_version: s.version.clone(),
                params: seeded(session.params.get(&spec.slug, &s.name), &s.params, seed),
                target,
                peers: spec.services.iter().filter(|o| o.name != s.name).map(peer_of).collect(),
                environment: env,
                requests: if fetches { spec.files.iter().map(|f| f.path.clone()).collect() } else { vec![] },
                testcase: spec.testcase.clone(),
            };
            match session.host.plan(&s.implementation, &req) {
                Ok(p) => Some(p),
                Err(e) => {
                    problems.push(Box::new(e));
                    None
                }
            }
        })
        .collect()
}

/// The tests a run holds, in the file's order: those whose name or slug contains one of
/// `only` (all when empty), each with `repeat` iterations when given. A run, a merge of its
/// shards and a Swarm run's cells count tests the same way.
pub fn selected_tests(exp: &crate::config::Experiment, only: &[String], repeat: Option<u32>) -> Vec<TestSpec> {
    exp.tests
        .iter()
        .filter(|t| only.is_empty() || only.iter().any(|o| t.name.contains(o.as_str()) || t.slug.contains(o.as_str())))
        .map(|t| TestSpec { iterations: repeat.unwrap_or(t.iterations), ..t.clone() })
        .collect()
}

/// The name of one iteration of a test in events and reports: `name`, or `name #N` when
/// the test has several iterations.
pub fn iteration_name(spec: &TestSpec, iteration: u32) -> String {
    if spec.iterations > 1 {
        format!("{} #{iteration}", spec.name)
    } else {
        spec.name.clone()
    }
}

/// Plans one iteration of a test. With `create = false` no directory is made (for `plan`
/// and `audit`); ports are still allocated so the printed plan is the one that would run.
///
/// The steps, each below: the service plugins' plans ([`request_plans`]), their image bases
/// judged together, the environment plugin's deployment ([`request_deployment`]), the start
/// order ([`start_order`]), addresses ([`test_subnets`], [`assign_addresses`]), then each
/// service's directories, wrappers, rendering and policy ([`instantiate`]). Problems are
/// collected, not returned early, wherever later steps can still say something useful.
pub fn plan_test(session: &Session, run: &RunLayout, spec: &TestSpec, iteration: u32, create: bool) -> PlannedTest {
    let dir = run.test_dir(&spec.slug, iteration, spec.iterations);
    let mut problems: Vec<Problem> = vec![];
    let empty = |problems, environment, raws: Vec<Option<ServicePlan>>| PlannedTest {
        spec: spec.clone(),
        iteration,
        dir: dir.clone(),
        environment,
        deployment: None,
        subnets: TestSubnets::new(),
        links: vec![],
        services: spec
            .services
            .iter()
            .zip(raws.into_iter().chain(std::iter::repeat(None)))
            .map(|(s, raw)| PlannedService { spec: s.clone(), raw, instance: None, context: None })
            .collect(),
        problems,
    };

    // Refuse an oversized test before asking any plugin: each plan call costs fuel and time.
    if spec.services.len() > session.policy.max_services {
        let msg = format!(
            "test `{}` has {} services, more than the {} policy allows ({}; rule `bounded-sizes`)",
            spec.name,
            spec.services.len(),
            session.policy.name,
            session.policy.max_services
        );
        return empty(vec![Box::new(PlanProblem(msg))], EnvironmentKind::Localhost, vec![]);
    }
    let env = match environment_kind(&session.host, &spec.network.kind) {
        Ok(k) => k,
        Err(p) => return empty(vec![p], EnvironmentKind::Localhost, vec![]),
    };
    let seed = spec.seed(session.experiment.settings.seed, iteration);
    let raws = request_plans(session, spec, env, seed, &mut problems);
    if !problems.is_empty() {
        return empty(problems, env, raws);
    }
    let raws: Vec<ServicePlan> = raws.into_iter().map(|r| r.expect("no problems means every plan is there")).collect();
    // Image bases are judged across the test's plans: "another plan's image" needs them all.
    let named: Vec<(&str, &ServicePlan)> = spec.services.iter().map(|s| s.implementation.as_str()).zip(&raws).collect();
    if let Err(vs) = session.policy.check_image_bases(&named) {
        problems.extend(vs.into_iter().map(|v| Box::new(v) as Problem));
    }
    let deployment = match request_deployment(session, run, spec, &raws) {
        Ok(d) => d,
        Err(p) => return empty(vec![p], env, raws.into_iter().map(Some).collect()),
    };
    if let Err(v) = session.policy.check_deployment(&spec.network.kind, &deployment) {
        problems.push(Box::new(v));
    }
    let order = start_order(spec, &deployment, &mut problems);
    let subnets = test_subnets(run, &dir, env, &deployment, create, &mut problems);
    // Ports other tests of the run hold now are not handed out again (`--jobs`).
    let others = run.ports.in_use();
    let (addresses, mut taken) = assign_addresses(&order, &raws, env, &subnets, others.clone(), &mut problems);
    let links = plan_links(spec, env, &order, &raws, &addresses, seed, &mut taken, &mut problems);
    if create {
        taken.retain(|p| !others.contains(p));
        run.ports.hold(&dir.display().to_string(), taken);
    }
    let seen = through_links(&addresses, &links);
    let step =
        Instantiate { session, run, spec, iteration, env, dir: &dir, create, addresses: &addresses, seen: &seen };
    let services = order
        .iter()
        .zip(&addresses)
        .map(|((i, placement), addr)| step.service(&spec.services[*i], &raws[*i], placement, addr, &mut problems))
        .collect();
    PlannedTest {
        spec: spec.clone(),
        iteration,
        dir,
        environment: env,
        deployment: Some(deployment),
        subnets,
        services,
        links,
        problems,
    }
}

/// The relays of a test's link: one per UDP port of every service another service targets.
/// Only localhost tests get them for now; a link written for another environment is a
/// problem, and a test case's implied link (`transferloss`) is left to the tester, which
/// judges such cases `unsupported-by-environment` there.
#[allow(clippy::too_many_arguments)] // the planning state, passed as `plan_test` holds it
fn plan_links(
    spec: &TestSpec,
    env: EnvironmentKind,
    order: &[(usize, &Placement)],
    raws: &[ServicePlan],
    addresses: &[layout::ServiceAddress],
    seed: u64,
    taken: &mut Vec<u16>,
    problems: &mut Vec<Problem>,
) -> Vec<PlannedLink> {
    let Some(link) = spec.link() else { return vec![] };
    // Shadow simulates the link itself (`exec::shadow`); the configuration checked its keys.
    if env == EnvironmentKind::Shadow {
        return vec![];
    }
    if env != EnvironmentKind::Localhost {
        if spec.network.link.is_some() {
            problems.push(Box::new(PlanProblem(format!(
                "test `{}` has a `link`, but this host emulates links for localhost tests only; \
                 run it with `network = {{ type = \"localhost\", link = ... }}`",
                spec.name
            ))));
        }
        return vec![];
    }
    let link = Arc::new(link);
    let targets: std::collections::BTreeSet<&str> = spec.services.iter().filter_map(|s| s.target.as_deref()).collect();
    let mut links = vec![];
    for ((i, _), addr) in order.iter().zip(addresses) {
        if !targets.contains(addr.name.as_str()) {
            continue;
        }
        let ip: std::net::IpAddr = match addr.ip.parse().or_else(|_| {
            if addr.host == "localhost" {
                Ok(std::net::Ipv4Addr::LOCALHOST.into())
            } else {
                Err(())
            }
        }) {
            Ok(ip) => ip,
            Err(()) => {
                problems.push(Box::new(PlanProblem(format!(
                    "the link cannot reach `{}`: its host `{}` is not an IP address",
                    addr.name, addr.host
                ))));
                continue;
            }
        };
        for port in raws[*i].ports.iter().filter(|p| p.transport == crate::plugin::types::Transport::Udp) {
            let Some(&number) = addr.ports.get(&port.name) else { continue };
            let listen_ip = if ip.is_ipv4() { std::net::Ipv4Addr::LOCALHOST.into() } else { ip };
            let listen = match layout::free_port_not_in(crate::plugin::types::Transport::Udp, taken) {
                Ok(n) => {
                    taken.push(n);
                    std::net::SocketAddr::new(listen_ip, n)
                }
                Err(e) => {
                    problems.push(Box::new(PlanProblem(format!("cannot allocate a port for the link: {e}"))));
                    continue;
                }
            };
            links.push(PlannedLink {
                server: addr.name.clone(),
                port: port.name.clone(),
                server_addr: std::net::SocketAddr::new(ip, number),
                listen,
                spec: link.clone(),
                seed: seed.wrapping_add(links.len() as u64),
                prefix: String::new(),
            });
        }
    }
    if links.is_empty() {
        let why = if targets.is_empty() {
            "no service targets another (the link sits between a client and the server it targets)"
        } else {
            "the services it targets declare no UDP port"
        };
        problems.push(Box::new(PlanProblem(format!("test `{}` has a link, but {why}", spec.name))));
    }
    if links.len() > 1 {
        for l in &mut links {
            l.prefix = format!("{}-{}-", crate::text::slug(&l.server), crate::text::slug(&l.port));
        }
    }
    links
}

/// The addresses as clients see them: a relayed server's UDP ports are its relays' ports.
fn through_links(addresses: &[layout::ServiceAddress], links: &[PlannedLink]) -> Vec<layout::ServiceAddress> {
    addresses
        .iter()
        .map(|a| {
            let mut seen = a.clone();
            for l in links.iter().filter(|l| l.server == a.name) {
                let real = seen.ports.insert(l.port.clone(), l.listen.port());
                if seen.first_port == real {
                    seen.first_port = Some(l.listen.port());
                }
            }
            seen
        })
        .collect()
}

/// Asks the environment plugin where the services run.
fn request_deployment(
    session: &Session,
    run: &RunLayout,
    spec: &TestSpec,
    raws: &[ServicePlan],
) -> Result<DeploymentPlan, Problem> {
    let request = DeployRequest {
        test: spec.name.clone(),
        run_id: run.id.clone(),
        services: spec
            .services
            .iter()
            .zip(raws)
            .map(|(s, plan)| ServiceEntry {
                name: s.name.clone(),
                role: s.role,
                implementation: s.implementation.clone(),
                target: s.target.clone(),
                plan: plan.clone(),
                tester: s.kind == ServiceKind::Tester,
            })
            .collect(),
        params: session.params.network(&spec.slug).iter().map(|(k, v)| (k.clone(), v.clone())).collect(),
    };
    session.host.deploy(&spec.network.kind, &request).map_err(|e| Box::new(e) as Problem)
}

/// The services in the deployment's start order (index into the test's services, placement).
/// Every service must be placed exactly once; anything else is a problem of the plugin's.
fn start_order<'d>(
    spec: &TestSpec,
    deployment: &'d DeploymentPlan,
    problems: &mut Vec<Problem>,
) -> Vec<(usize, &'d Placement)> {
    let mut order: Vec<(usize, &Placement)> = vec![];
    for p in &deployment.placements {
        match spec.services.iter().position(|s| s.name == p.service) {
            Some(i) if !order.iter().any(|(j, _)| *j == i) => order.push((i, p)),
            Some(_) => problems.push(Box::new(PlanProblem(format!(
                "environment plugin `{}` placed service `{}` twice",
                spec.network.kind, p.service
            )))),
            None => problems.push(Box::new(PlanProblem(format!(
                "environment plugin `{}` placed an unknown service `{}`",
                spec.network.kind, p.service
            )))),
        }
    }
    for s in &spec.services {
        if !deployment.placements.iter().any(|p| p.service == s.name) {
            problems.push(Box::new(PlanProblem(format!(
                "environment plugin `{}` did not place service `{}`",
                spec.network.kind, s.name
            ))));
        }
    }
    order
}

/// Ports and addresses of every placed service, in start order: `0` ports allocated (never
/// twice in a test), and under Docker a fixed address on each network it joins — `.1` is the
/// gateway, services follow from `.2` in start order.
fn assign_addresses(
    order: &[(usize, &Placement)],
    raws: &[ServicePlan],
    env: EnvironmentKind,
    subnets: &TestSubnets,
    mut taken: Vec<u16>,
    problems: &mut Vec<Problem>,
) -> (Vec<layout::ServiceAddress>, Vec<u16>) {
    let mut addresses = vec![];
    for (k, (i, p)) in order.iter().enumerate() {
        let ports = match layout::allocate_ports(&raws[*i], env, &mut taken) {
            Ok(p) => p,
            Err(e) => {
                problems.push(Box::new(PlanProblem(format!("cannot allocate a port for `{}`: {e}", p.service))));
                BTreeMap::new()
            }
        };
        let first = raws[*i].ports.first().and_then(|fp| ports.get(&fp.name).copied());
        let ips: BTreeMap<String, String> = p
            .networks
            .iter()
            .filter_map(|n| subnets.get(n).and_then(|s| s.host(k as u32 + 2)).map(|a| (n.clone(), a.to_string())))
            .collect();
        addresses.push(layout::address_of(p, ports, first, ips));
    }
    (addresses, taken)
}

/// What turning one placed service into an instance needs from its test.
struct Instantiate<'a> {
    session: &'a Session,
    run: &'a RunLayout,
    spec: &'a TestSpec,
    iteration: u32,
    env: EnvironmentKind,
    dir: &'a std::path::Path,
    create: bool,
    addresses: &'a [layout::ServiceAddress],
    /// The addresses as a client sees them (through the link, when there is one).
    seen: &'a [layout::ServiceAddress],
}

impl Instantiate<'_> {
    /// One service: its directories, execution wrappers, the render context, rendering and
    /// the policy. A problem leaves the service without an instance (and is recorded).
    fn service(
        &self,
        s: &ServiceSpec,
        raw: &ServicePlan,
        placement: &Placement,
        addr: &layout::ServiceAddress,
        problems: &mut Vec<Problem>,
    ) -> PlannedService {
        let (spec, run, env) = (self.spec, self.run, self.env);
        let key = layout::compile_cache_key(&s.implementation, env, raw);
        let dirs = if self.create {
            layout::service_dirs(self.dir, run, &s.name, &s.implementation, &key)
        } else {
            Ok(layout::planned_service_dirs(self.dir, run, &s.name, &s.implementation, &key))
        };
        let dirs = match dirs {
            Ok(d) => d,
            Err(e) => {
                problems.push(Box::new(PlanProblem(format!("cannot make the directories of `{}`: {e}", s.name))));
                return PlannedService { spec: s.clone(), raw: Some(raw.clone()), instance: None, context: None };
            }
        };
        // Execution wrappers go around IUT service processes before rendering and policy,
        // so their argv and output paths are rendered and judged like the plugin's own.
        let wrapped;
        let raw = if s.kind == ServiceKind::Iut && !spec.execution.is_empty() {
            let wrappers: Vec<(String, Vec<String>)> =
                spec.execution.iter().map(|w| (w.kind.clone(), wrapper_options(w))).collect();
            match plan::wrap::apply(raw, &wrappers) {
                Ok(p) => {
                    wrapped = p;
                    &wrapped
                }
                Err(e) => {
                    problems.push(Box::new(PlanProblem(format!("service `{}`: {e}", s.name))));
                    raw
                }
            }
        } else {
            raw
        };
        let visible = layout::visible_dirs(&dirs, placement, &run.root);
        let certs_dir = visible.get(DirName::Certs.name()).cloned().unwrap_or_default();
        let certs = crate::certs::FILE_NAMES.iter().map(|(k, f)| (k.to_string(), format!("{certs_dir}/{f}"))).collect();
        // A client reaches its target through the link; everything else is direct.
        let target = s.target.as_ref().and_then(|t| self.seen.iter().find(|a| &a.name == t));
        let tools_seen = visible.get(DirName::Tools.name()).cloned().unwrap_or_default();
        let mut ctx = layout::render_context(addr, target, self.addresses, visible, certs, &spec.name, &run.id);
        ctx.sources = layout::source_paths(raw, env, &tools_seen);
        let checked: Option<CheckedPlan> = match plan::check(&s.implementation, raw, &ctx, &self.session.policy) {
            Ok(c) => Some(c),
            Err(e) => {
                problems.push(Box::new(e));
                None
            }
        };
        let instance = checked.map(|plan| ServiceInstance {
            test: iteration_name(spec, self.iteration),
            name: s.name.clone(),
            role: s.role,
            implementation: s.implementation.clone(),
            tester: s.kind == ServiceKind::Tester,
            plan,
            dirs: dirs.clone(),
            host: addr.host.clone(),
            ips: addr.ips.clone(),
            ports: addr.ports.clone(),
            after: placement.after.clone(),
            extra_env: placement.env.clone(),
            placement: Some(placement.clone()),
            timeout: s.timeout.unwrap_or(spec.timeout).min(spec.timeout),
        });
        PlannedService { spec: s.clone(), raw: Some(raw.clone()), instance, context: Some(ctx) }
    }
}

/// The subnet of each of a Docker test's networks (see [`super::subnets`]); held for the test
/// when it is planned to run, a preview otherwise. Other environments get none.
fn test_subnets(
    run: &RunLayout,
    dir: &std::path::Path,
    env: EnvironmentKind,
    deployment: &DeploymentPlan,
    hold: bool,
    problems: &mut Vec<Problem>,
) -> TestSubnets {
    if env != EnvironmentKind::Docker || deployment.networks.is_empty() {
        return TestSubnets::new();
    }
    match run.subnets.take(&dir.display().to_string(), deployment.networks.len(), hold) {
        Ok(v) => deployment.networks.iter().map(|n| n.name.clone()).zip(v).collect(),
        Err(e) => {
            problems.push(Box::new(PlanProblem(e.to_string())));
            TestSubnets::new()
        }
    }
}

/// A wrapper's `options = [...]` (extra arguments for the tool), as strings.
fn wrapper_options(w: &crate::config::WrapperSpec) -> Vec<String> {
    match w.params.get("options") {
        Some(toml::Value::Array(items)) => {
            items.iter().map(|v| v.as_str().map(String::from).unwrap_or_else(|| v.to_string())).collect()
        }
        Some(toml::Value::String(s)) => vec![s.clone()],
        _ => vec![],
    }
}

/// Plans every test of an experiment (first iteration), for `plan FILE` and `audit`.
pub fn plan_experiment(session: &Session, run: &RunLayout) -> Vec<PlannedTest> {
    session.experiment.tests.iter().map(|t| plan_test(session, run, t, 1, false)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seed_parameter_follows_the_tests_seed_unless_the_file_sets_it() {
        let params = vec![
            ("seed".to_string(), ParamValue::Integer(0)),
            ("test".to_string(), ParamValue::String("ping_server_test".into())),
        ];
        let seed = 0xdead_beef_0123_4567_u64;
        let derived = seeded(&params, &BTreeMap::new(), seed);
        assert_eq!(derived[0], ("seed".to_string(), ParamValue::Integer((seed >> 33) as i64)));
        assert!((0..1 << 31).contains(&((seed >> 33) as i64)));
        assert_eq!(derived[1], params[1]);
        let given = BTreeMap::from([("seed".to_string(), toml::Value::Integer(0))]);
        assert_eq!(seeded(&params, &given, seed), params);
        // Only an integer `seed` is the tester's seed.
        let text = vec![("seed".to_string(), ParamValue::String("abc".into()))];
        assert_eq!(seeded(&text, &BTreeMap::new(), seed), text);
    }
}
