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
use crate::plugin::wit::latest::env::{DeployRequest, DeploymentPlan, LinkRequest, Placement, Relay, ServiceEntry};
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
    /// Docker only: the networks are dual-stack, each /24 with its IPv6 twin /64 (the `ipv6`
    /// test case; see [`super::subnets::ipv6_twin`]).
    pub dual_stack: bool,
    /// In start order.
    pub services: Vec<PlannedService>,
    /// The link relays between clients and the servers they target (see [`LinkSite::plan`]).
    pub links: Vec<PlannedLink>,
    /// Docker: the containers the environment placed the relays in, one per targeted service.
    pub relay_containers: Vec<crate::exec::RelayContainer>,
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
    /// Docker: runs in the relay container in front of its server (`listen` is then the
    /// container's address), not in this process.
    pub in_container: bool,
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
        dual_stack: false,
        links: vec![],
        relay_containers: vec![],
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
    let deployment = match request_deployment(session, run, spec, env, &raws) {
        Ok(d) => d,
        Err(p) => return empty(vec![p], env, raws.into_iter().map(Some).collect()),
    };
    if let Err(v) = session.policy.check_deployment(&spec.network.kind, &deployment) {
        problems.push(Box::new(v));
    }
    let order = start_order(spec, &deployment, &mut problems);
    let subnets = test_subnets(run, &dir, env, &deployment, create, &mut problems);
    let dual_stack = env == EnvironmentKind::Docker && spec.testcase.as_deref() == Some("ipv6");
    // Ports other tests of the run hold now are not handed out again (`--jobs`).
    let others = run.ports.in_use();
    let (addresses, mut taken) =
        assign_addresses(&order, &raws, env, &subnets, dual_stack, others.clone(), &mut problems);
    let site =
        LinkSite { spec, env, deployment: &deployment, subnets: &subnets, order: &order, raws: &raws, dir: &dir };
    let (links, relay_containers) = site.plan(&addresses, seed, &mut taken, &mut problems);
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
        dual_stack,
        services,
        links,
        relay_containers,
        problems,
    }
}

/// The services some service of the test targets: the link sits in front of each.
fn targets(spec: &TestSpec) -> std::collections::BTreeSet<&str> {
    spec.services.iter().filter_map(|s| s.target.as_deref()).collect()
}

/// Where a test's link goes: what [`LinkSite::plan`] reads of the planning so far.
struct LinkSite<'a> {
    spec: &'a TestSpec,
    env: EnvironmentKind,
    deployment: &'a DeploymentPlan,
    subnets: &'a TestSubnets,
    order: &'a [(usize, &'a Placement)],
    raws: &'a [ServicePlan],
    dir: &'a std::path::Path,
}

/// The last address of a test network a relay container takes (`.254`, then down): services
/// take theirs from `.2` up, so the two never meet within the policy's service bound.
const RELAY_HOST_TOP: u32 = 254;

impl LinkSite<'_> {
    /// The relays of a test's link: one per UDP port of every service another service
    /// targets. On localhost they run in this process, listening on a free loopback port the
    /// clients are given instead of the server's; on Docker in a container per targeted
    /// service that the environment placed between the clients' network and the server's,
    /// answering to the server's names on the same port. Shadow simulates the link itself.
    fn plan(
        &self,
        addresses: &[layout::ServiceAddress],
        seed: u64,
        taken: &mut Vec<u16>,
        problems: &mut Vec<Problem>,
    ) -> (Vec<PlannedLink>, Vec<crate::exec::RelayContainer>) {
        let spec = self.spec;
        let Some(link) = spec.link() else { return (vec![], vec![]) };
        let link = Arc::new(link);
        let before = problems.len();
        let (mut links, containers) = match self.env {
            EnvironmentKind::Shadow => return (vec![], vec![]),
            EnvironmentKind::Localhost => (self.on_loopback(&link, addresses, seed, taken, problems), vec![]),
            EnvironmentKind::Docker => self.in_containers(&link, addresses, seed, problems),
        };
        if links.is_empty() && problems.len() == before {
            let why = if targets(spec).is_empty() {
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
        (links, containers)
    }

    /// Localhost: a relay per UDP port, each on a fresh loopback port.
    fn on_loopback(
        &self,
        link: &Arc<crate::link::LinkSpec>,
        addresses: &[layout::ServiceAddress],
        seed: u64,
        taken: &mut Vec<u16>,
        problems: &mut Vec<Problem>,
    ) -> Vec<PlannedLink> {
        let targets = targets(self.spec);
        let mut links = vec![];
        for ((i, _), addr) in self.order.iter().zip(addresses) {
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
            for (port, number) in udp_ports(&self.raws[*i], addr) {
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
                    port,
                    server_addr: std::net::SocketAddr::new(ip, number),
                    listen,
                    spec: link.clone(),
                    seed: seed.wrapping_add(links.len() as u64),
                    prefix: String::new(),
                    in_container: false,
                });
            }
        }
        links
    }

    /// Docker: the relays the environment placed (`deployment.relays`, contract 0.2.0), each
    /// checked against the placements: the server on the server side only, its clients on the
    /// client side only.
    fn in_containers(
        &self,
        link: &Arc<crate::link::LinkSpec>,
        addresses: &[layout::ServiceAddress],
        seed: u64,
        problems: &mut Vec<Problem>,
    ) -> (Vec<PlannedLink>, Vec<crate::exec::RelayContainer>) {
        let (spec, plugin) = (self.spec, &self.spec.network.kind);
        let mut fail = |m: String| problems.push(Box::new(PlanProblem(m)) as Problem);
        if self.deployment.relays.is_empty() {
            fail(format!(
                "test `{}` runs over a link ({}), but environment plugin `{plugin}` placed no relay for it; \
                 an environment places link relays from contract panther:plugin@0.2.0 on (the bundled \
                 `docker-compose` does), or run the test with `network = {{ type = \"localhost\" }}`",
                spec.name,
                link.summary()
            ));
            return (vec![], vec![]);
        }
        if link.rebind.is_some_and(|r| r.kind == crate::link::spec::RebindKind::Address) {
            fail(format!(
                "test `{}`: address rebinding gives the client a new address at every rebinding, and a relay \
                 container has one address per network; rebind the port on Docker, or run the test on localhost",
                spec.name
            ));
            return (vec![], vec![]);
        }
        let targets = targets(spec);
        let placement = |name: &str| self.order.iter().position(|(_, p)| p.service == name);
        let (mut links, mut containers) = (vec![], vec![]);
        for (j, r) in self.deployment.relays.iter().enumerate() {
            let field = format!("environment plugin `{plugin}`: relays[{j}]");
            if !targets.contains(r.server.as_str()) {
                fail(format!("{field}: no service of test `{}` targets `{}`", spec.name, r.server));
                continue;
            }
            let Some(k) = placement(&r.server) else { continue };
            let (i, p) = self.order[k];
            let clients: Vec<&Placement> = spec
                .services
                .iter()
                .filter(|s| s.target.as_deref() == Some(r.server.as_str()))
                .filter_map(|c| placement(&c.name).map(|k| self.order[k].1))
                .collect();
            if let Err(e) = relay_sides(r, p, &clients) {
                fail(format!("{field}: {e}"));
                continue;
            }
            let n = RELAY_HOST_TOP - containers.len() as u32;
            let side = |net: &str| self.subnets.get(net).and_then(|s| s.host(n));
            let server_ip =
                addresses[k].ips.get(&r.server_network).and_then(|ip| ip.parse::<std::net::Ipv4Addr>().ok());
            let (Some(client_ip), Some(own_ip), Some(server_ip)) =
                (side(&r.client_network), side(&r.server_network), server_ip)
            else {
                fail(format!("{field}: the networks of the relay in front of `{}` have no addresses", r.server));
                continue;
            };
            for (port, number) in udp_ports(&self.raws[i], &addresses[k]) {
                links.push(PlannedLink {
                    server: r.server.clone(),
                    port,
                    server_addr: std::net::SocketAddr::new(server_ip.into(), number),
                    listen: std::net::SocketAddr::new(client_ip.into(), number),
                    spec: link.clone(),
                    seed: seed.wrapping_add(links.len() as u64),
                    prefix: String::new(),
                    in_container: true,
                });
            }
            let mut aliases = vec![p.host.clone()];
            aliases.extend(p.aliases.iter().cloned());
            containers.push(crate::exec::RelayContainer {
                server: r.server.clone(),
                client_network: r.client_network.clone(),
                client_ip,
                server_network: r.server_network.clone(),
                server_ip: own_ip,
                aliases,
                config: self.dir.join(format!("link-relay-{}.json", crate::text::slug(&r.server))),
            });
        }
        for t in &targets {
            if !self.deployment.relays.iter().any(|r| r.server == *t) {
                fail(format!(
                    "environment plugin `{plugin}` placed no relay in front of `{t}`, which test `{}` reaches \
                     through its link",
                    spec.name
                ));
            }
        }
        (links, containers)
    }
}

/// Whether a relay stands between its server and the server's clients: the server on the
/// relay's server network and not its client network, each client the other way round.
/// Planning and `plugins test` both ask.
pub(crate) fn relay_sides(relay: &Relay, server: &Placement, clients: &[&Placement]) -> Result<(), String> {
    if !server.networks.contains(&relay.server_network) || server.networks.contains(&relay.client_network) {
        return Err(format!(
            "`{}` must be on the relay's server network `{}` and not on its client network `{}` (it is on {:?})",
            server.service, relay.server_network, relay.client_network, server.networks
        ));
    }
    match clients
        .iter()
        .find(|c| !c.networks.contains(&relay.client_network) || c.networks.contains(&relay.server_network))
    {
        Some(c) => Err(format!(
            "`{}` targets `{}`, so it must be on the relay's client network `{}` and not on its server network \
             `{}` (it is on {:?})",
            c.service, server.service, relay.client_network, relay.server_network, c.networks
        )),
        None => Ok(()),
    }
}

/// A service's UDP ports as allocated: (port name, number).
fn udp_ports(raw: &ServicePlan, addr: &layout::ServiceAddress) -> Vec<(String, u16)> {
    raw.ports
        .iter()
        .filter(|p| p.transport == crate::plugin::types::Transport::Udp)
        .filter_map(|p| Some((p.name.clone(), *addr.ports.get(&p.name)?)))
        .collect()
}

/// The addresses as clients see them: a relayed server's UDP ports are its relays' (on
/// Docker the same numbers, at the relay container's address).
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
                if l.in_container {
                    seen.ip = l.listen.ip().to_string();
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
    env: EnvironmentKind,
    raws: &[ServicePlan],
) -> Result<DeploymentPlan, Problem> {
    // Shadow simulates the link itself (`exec::shadow`); elsewhere the host runs it and the
    // environment may say where.
    let link = spec
        .link()
        .filter(|_| env != EnvironmentKind::Shadow)
        .map(|l| LinkRequest { servers: targets(spec).into_iter().map(String::from).collect(), summary: l.summary() });
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
        link,
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
/// gateway, services follow from `.2` in start order. The IPv6 address is `::1` on localhost
/// and, on dual-stack Docker networks, the twin of the IPv4 one.
fn assign_addresses(
    order: &[(usize, &Placement)],
    raws: &[ServicePlan],
    env: EnvironmentKind,
    subnets: &TestSubnets,
    dual_stack: bool,
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
        let mut address = layout::address_of(p, ports, first, ips);
        address.ip6 = match env {
            EnvironmentKind::Localhost => Some("::1".to_string()),
            EnvironmentKind::Docker if dual_stack => {
                address.ip.parse().ok().map(|v4| super::subnets::ipv6_twin(v4).to_string())
            }
            _ => None,
        };
        if env == EnvironmentKind::Docker && address.ip6.is_some() {
            address.host6 = Some(format!("{}6", address.name));
        }
        addresses.push(address);
    }
    (addresses, taken)
}

/// Whether the test's servers present the run's long certificate chain
/// ([`RunLayout::long_chain_certs`]): the interop runner's `amplificationlimit` needs a chain of
/// more than 7500 bytes; every other test keeps the short one.
pub fn needs_long_chain(spec: &TestSpec) -> bool {
    spec.testcase.as_deref() == Some("amplificationlimit")
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
        let mut dirs = match dirs {
            Ok(d) => d,
            Err(e) => {
                problems.push(Box::new(PlanProblem(format!("cannot make the directories of `{}`: {e}", s.name))));
                return PlannedService { spec: s.clone(), raw: Some(raw.clone()), instance: None, context: None };
            }
        };
        if needs_long_chain(spec) {
            dirs.certs = run.long_chain_certs();
        }
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
            hosts: self.addresses.iter().filter_map(|a| Some((a.host6.clone()?, a.ip6.clone()?))).collect(),
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
