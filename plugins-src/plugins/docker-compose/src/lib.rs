//! `docker-compose`: the environment plugin that places a test's services in Docker
//! containers, the way the original PANTHER's compose generation did — one container per
//! service, named after it, on one private network per test — with its coordination turned
//! into data: start order and `after` edges instead of ready-files in a shared volume.
//!
//! Owns only the deployment decision. It never runs anything: the host creates the network
//! (always internal: no NAT, no route out), builds images, starts containers in this order,
//! waits for each `after` service's readiness and captures on the network's bridge.
//!
//! Order (the original's coordination, see panther-upstream.md §3.10 and §7):
//! 1. testers (Ivy and friends) first — every IUT waits for them;
//! 2. servers and peers — after the testers;
//! 3. men in the middle — after the servers;
//! 4. clients — after their `protocol.target` (or every server/peer/mitm when they have none).
//!
//! A test over an emulated link (contract 0.2.0 `link`) gets two networks instead of one:
//! `<network>-servers` for the services clients reach through the link, `<network>` for the
//! rest, and a relay between them in front of each such service. The host runs the relays;
//! this plugin only says where they sit.

use panther_guest::environment::{
    Capture, DeployRequest, DeploymentPlan, Guest, Mount, Network, Placement, Relay, ServiceEntry,
};
use panther_guest::*;

/// Container paths of the host directories, the quic-interop-runner layout the IUTs expect.
const MOUNTS: &[(&str, &str, bool)] = &[
    ("logs", "/app/logs", false),
    // The quic-interop-runner layout (quic-go's interop binaries write /logs/log.txt).
    ("logs", "/logs", false),
    ("qlog", "/app/logs/qlog", false),
    ("certs", "/certs", true),
    ("www", "/www", true),
    ("downloads", "/downloads", false),
    ("work", "/app/work", false),
];
const KEYLOG: &str = "/app/logs/keys.log";
const QLOGDIR: &str = "/app/logs/qlog";
const DEFAULT_NETWORK: &str = "test";

struct DockerCompose;

fn describe_info() -> PluginInfo {
    PluginInfo {
        name: "docker-compose".into(),
        version: "0.2.0".into(),
        kind: PluginKind::Environment,
        description: "One container per service on an internal Docker network private to the test; testers, then servers, then clients"
            .into(),
        protocols: vec![],
        roles: vec![Role::Server, Role::Client, Role::Peer, Role::Mitm],
        versions: vec![],
        sources: vec![],
        parameters: vec![
            ParamSpec::string(
                "network",
                DEFAULT_NETWORK,
                "Name of the test's network inside the deployment (the host makes it unique per run)",
            ),
            ParamSpec::string(
                "capture",
                "true",
                "Capture the test network's traffic with tshark on its bridge (`true` or `false`)",
            ),
            ParamSpec::string(
                "capture-ports-only",
                "true",
                "Keep only traffic to or from the services' declared ports",
            ),
            ParamSpec::string(
                "testcase",
                "",
                "Interop test case exported as TESTCASE to every container (empty: none)",
            ),
        ],
        environments: vec![EnvironmentKind::Docker],
    }
}

fn role_rank(s: &ServiceEntry) -> u8 {
    if s.tester {
        return 0;
    }
    match s.role {
        Role::Server | Role::Peer => 1,
        Role::Mitm => 2,
        Role::Client => 3,
    }
}

fn param<'a>(req: &'a DeployRequest, name: &str) -> Option<&'a str> {
    req.params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn flag(req: &DeployRequest, name: &str) -> Result<bool, PluginError> {
    match param(req, name).unwrap_or("true") {
        "true" | "yes" | "1" => Ok(true),
        "false" | "no" | "0" => Ok(false),
        other => Err(invalid_param(
            name,
            format!("`{other}` is not a boolean; use true or false"),
        )),
    }
}

/// Docker host names and compose keys: letters, digits, `-`, `_`, `.`.
fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
        && s.starts_with(|c: char| c.is_ascii_alphanumeric())
}

/// The deployment of one test; pure, so it is tested natively.
pub fn deploy_plan(req: &DeployRequest) -> Result<DeploymentPlan, PluginError> {
    let known = ["network", "capture", "capture-ports-only", "testcase"];
    if let Some((k, _)) = req
        .params
        .iter()
        .find(|(k, _)| !known.contains(&k.as_str()))
    {
        return Err(invalid_param(
            k,
            format!(
                "unknown parameter of docker-compose; known: {}",
                known.join(", ")
            ),
        ));
    }
    if req.services.is_empty() {
        return Err(unsupported(format!(
            "test `{}` has no services to place",
            req.test
        )));
    }
    let network = param(req, "network").unwrap_or(DEFAULT_NETWORK).to_string();
    if !valid_name(&network) {
        return Err(invalid_param(
            "network",
            format!("`{network}` is not a network name (letters, digits, `-_.`)"),
        ));
    }
    for s in &req.services {
        if !valid_name(&s.name) {
            return Err(unsupported(format!(
                "service name `{}` cannot be a container host name (letters, digits, `-_.`, at most 63)",
                s.name
            )));
        }
        if let Some(t) = &s.target {
            if !req.services.iter().any(|o| &o.name == t) {
                return Err(unsupported(format!(
                    "service `{}` targets `{t}`, which is not a service of test `{}`",
                    s.name, req.test
                )));
            }
        }
    }
    let testcase = param(req, "testcase").filter(|t| !t.is_empty());
    // Behind a link, the services clients reach through it sit on a network of their own.
    let servers: Vec<&str> = match &req.link {
        Some(l) => l.servers.iter().map(String::as_str).collect(),
        None => vec![],
    };
    let server_network = format!("{network}-servers");
    for s in &req.services {
        let behind = servers.contains(&s.name.as_str());
        if behind && s.target.is_some() {
            return Err(unsupported(format!(
                "service `{}` is both reached through the link and a client of `{}`; a relay sits between \
                 clients and servers, so a service cannot be on both sides",
                s.name,
                s.target.as_deref().unwrap_or_default()
            )));
        }
    }
    let network_of = |s: &ServiceEntry| {
        if servers.contains(&s.name.as_str()) {
            server_network.clone()
        } else {
            network.clone()
        }
    };

    let mut order: Vec<&ServiceEntry> = req.services.iter().collect();
    // Stable: services of the same rank keep the experiment's order.
    order.sort_by_key(|s| role_rank(s));

    let mut placements = Vec::new();
    for s in &order {
        let rank = role_rank(s);
        let mut after: Vec<String> = Vec::new();
        let testers = order
            .iter()
            .filter(|o| o.tester && o.name != s.name)
            .map(|o| o.name.clone());
        match rank {
            0 => {}
            1 => after.extend(testers),
            2 => {
                after.extend(testers);
                after.extend(
                    order
                        .iter()
                        .filter(|o| role_rank(o) == 1)
                        .map(|o| o.name.clone()),
                );
            }
            _ => {
                after.extend(testers);
                match s.target.as_ref().filter(|t| *t != &s.name) {
                    Some(t) => after.push(t.clone()),
                    None => after.extend(
                        order
                            .iter()
                            .filter(|o| matches!(role_rank(o), 1 | 2))
                            .map(|o| o.name.clone()),
                    ),
                }
            }
        }
        after.dedup();
        let mut env = vec![
            ("ROLE".to_string(), role_name(s.role).to_string()),
            ("SSLKEYLOGFILE".to_string(), KEYLOG.to_string()),
            ("QLOGDIR".to_string(), QLOGDIR.to_string()),
        ];
        if let Some(tc) = testcase {
            env.push(("TESTCASE".to_string(), tc.to_string()));
        }
        placements.push(Placement {
            service: s.name.clone(),
            host: s.name.clone(),
            aliases: vec![format!("{}.{}", s.name, network)],
            networks: vec![network_of(s)],
            after,
            mounts: MOUNTS
                .iter()
                .map(|(dir, target, ro)| Mount {
                    dir: dir.to_string(),
                    target: Some(target.to_string()),
                    read_only: *ro,
                })
                .collect(),
            env,
        });
    }
    let capture = flag(req, "capture")?.then(|| -> Result<Capture, PluginError> {
        Ok(Capture {
            interface: "test-network".into(),
            ports_only: flag(req, "capture-ports-only")?,
        })
    });
    let mut networks = vec![Network {
        name: network.clone(),
        internal: true,
    }];
    if !servers.is_empty() {
        networks.push(Network {
            name: server_network.clone(),
            internal: true,
        });
    }
    // The host captures on the first network: the clients' side of the link, as the
    // interop runner's sim captures on its left side.
    Ok(DeploymentPlan {
        kind: EnvironmentKind::Docker,
        networks,
        placements,
        capture: capture.transpose()?,
        relays: servers
            .iter()
            .map(|s| Relay {
                server: s.to_string(),
                client_network: network.clone(),
                server_network: server_network.clone(),
            })
            .collect(),
    })
}

impl Guest for DockerCompose {
    fn describe() -> PluginInfo {
        describe_info()
    }

    fn deploy(request: DeployRequest) -> Result<DeploymentPlan, PluginError> {
        deploy_plan(&request)
    }
}

export_environment!(DockerCompose);

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> ServicePlan {
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
            readiness: Readiness {
                condition: ReadinessCondition::Started,
                timeout_ms: 1000,
            },
            artifacts: vec![],
            capabilities: vec![],
            files: vec![],
        }
    }

    fn svc(name: &str, role: Role, target: Option<&str>, tester: bool) -> ServiceEntry {
        ServiceEntry {
            name: name.into(),
            role,
            implementation: "x".into(),
            target: target.map(Into::into),
            plan: plan(),
            tester,
        }
    }

    fn req(services: Vec<ServiceEntry>, params: &[(&str, &str)]) -> DeployRequest {
        DeployRequest {
            test: "t1".into(),
            run_id: "r".into(),
            services,
            params: params
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            link: None,
        }
    }

    #[test]
    fn a_link_puts_its_servers_on_a_network_of_their_own_behind_a_relay() {
        let mut r = req(
            vec![
                svc("client", Role::Client, Some("server"), false),
                svc("server", Role::Server, None, false),
            ],
            &[],
        );
        r.link = Some(panther_guest::environment::LinkRequest {
            servers: vec!["server".into()],
            summary: "loss 2%".into(),
        });
        let p = deploy_plan(&r).unwrap();
        let names: Vec<&str> = p.networks.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["test", "test-servers"]);
        assert!(p.networks.iter().all(|n| n.internal));
        let on = |s: &str| p.placements.iter().find(|p| p.service == s).unwrap().networks.clone();
        assert_eq!(on("server"), ["test-servers"]);
        assert_eq!(on("client"), ["test"]);
        let relays: Vec<(&str, &str, &str)> = p
            .relays
            .iter()
            .map(|r: &Relay| {
                (
                    r.server.as_str(),
                    r.client_network.as_str(),
                    r.server_network.as_str(),
                )
            })
            .collect();
        assert_eq!(relays, [("server", "test", "test-servers")]);
        // Without a link: one network, no relay.
        r.link = None;
        let p = deploy_plan(&r).unwrap();
        assert_eq!(p.networks.len(), 1);
        assert!(p.relays.is_empty());
    }

    #[test]
    fn a_service_on_both_sides_of_the_link_is_refused() {
        let mut r = req(
            vec![
                svc("client", Role::Client, Some("mid"), false),
                svc("mid", Role::Mitm, Some("server"), false),
                svc("server", Role::Server, None, false),
            ],
            &[],
        );
        r.link = Some(panther_guest::environment::LinkRequest {
            servers: vec!["mid".into(), "server".into()],
            summary: "x".into(),
        });
        let e = deploy_plan(&r).unwrap_err();
        assert!(matches!(e, PluginError::Unsupported(m) if m.contains("`mid`")));
    }

    #[test]
    fn testers_then_servers_then_clients_with_after_edges() {
        let r = req(
            vec![
                svc("client", Role::Client, Some("server"), false),
                svc("server", Role::Server, None, false),
                svc("ivy", Role::Client, Some("server"), true),
            ],
            &[("testcase", "transfer")],
        );
        let p = deploy_plan(&r).unwrap();
        let order: Vec<&str> = p.placements.iter().map(|p| p.service.as_str()).collect();
        assert_eq!(order, ["ivy", "server", "client"]);
        assert_eq!(p.placements[0].after, Vec::<String>::new());
        assert_eq!(p.placements[1].after, ["ivy"]);
        assert_eq!(p.placements[2].after, ["ivy", "server"]);
        assert!(p.placements[2]
            .env
            .contains(&("TESTCASE".into(), "transfer".into())));
        assert!(p.placements[2]
            .env
            .contains(&("SSLKEYLOGFILE".into(), KEYLOG.into())));
        assert!(p.networks.iter().all(|n| n.internal));
        assert_eq!(p.placements[1].host, "server");
        assert!(p.placements[1]
            .mounts
            .iter()
            .any(|m| m.dir == "certs" && m.read_only && m.target.as_deref() == Some("/certs")));
        assert_eq!(
            p.capture.as_ref().map(|c| c.interface.as_str()),
            Some("test-network")
        );
    }

    #[test]
    fn client_without_target_waits_for_every_server_and_mitm() {
        let r = req(
            vec![
                svc("c", Role::Client, None, false),
                svc("m", Role::Mitm, None, false),
                svc("s", Role::Server, None, false),
            ],
            &[],
        );
        let p = deploy_plan(&r).unwrap();
        let c = p.placements.iter().find(|p| p.service == "c").unwrap();
        assert_eq!(c.after, ["s", "m"]);
        let m = p.placements.iter().find(|p| p.service == "m").unwrap();
        assert_eq!(m.after, ["s"]);
    }

    #[test]
    fn bad_input_is_refused_with_its_name() {
        let e =
            deploy_plan(&req(vec![svc("c", Role::Client, Some("nope"), false)], &[])).unwrap_err();
        assert!(matches!(e, PluginError::Unsupported(m) if m.contains("nope")));
        let e = deploy_plan(&req(
            vec![svc("c", Role::Client, None, false)],
            &[("capture", "maybe")],
        ))
        .unwrap_err();
        assert!(matches!(e, PluginError::InvalidParam(p) if p.name == "capture"));
        let e = deploy_plan(&req(
            vec![svc("c", Role::Client, None, false)],
            &[("subnet", "10.0.0.0/24")],
        ))
        .unwrap_err();
        assert!(matches!(e, PluginError::InvalidParam(p) if p.name == "subnet"));
        let e =
            deploy_plan(&req(vec![svc("bad name", Role::Client, None, false)], &[])).unwrap_err();
        assert!(matches!(e, PluginError::Unsupported(m) if m.contains("bad name")));
    }

    #[test]
    fn capture_can_be_turned_off() {
        let p = deploy_plan(&req(
            vec![svc("s", Role::Server, None, false)],
            &[("capture", "false")],
        ))
        .unwrap();
        assert!(p.capture.is_none());
    }
}
