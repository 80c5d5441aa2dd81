//! An environment plugin's deployment: the executor it asks for, its networks (no host or
//! built-in ones), its placements and their mounts (host directories by name only), and the
//! capture interface.

use std::collections::BTreeSet;
use std::path::{Component, Path};

use super::checker::{shorten, Checker, BOUNDED_SIZES, MAX_PATH_BYTES, VALID_NAMES};
use super::rules::Rule;
use super::{Policy, Violations};
use crate::contract::DirName;
use crate::plugin::types::EnvironmentKind;
use crate::plugin::wit::latest::env::DeploymentPlan;

pub const NO_HOST_NAMESPACES: Rule = Rule {
    name: "no-host-namespaces",
    docs: "### What it checks\nDeployment networks and the networks placements join are the test's own: their names may not be Docker's built-in `host`, `none`, `bridge` or `default`, nor `container:*`/`ns:*`/`pid:*`, and a placement may only join networks the deployment declares. With `internal_networks_only` (strict) every network is `internal`. Capture interfaces are `lo`, `test-network` or a declared network.\n\n### Why\nJoining `host` gives a container the host's network stack (and its listening sockets); `container:X` shares another container's namespaces; a non-internal network routes to the outside world; capturing on `eth0` records the host's traffic.\n\n### Example\n`networks = [{ name = \"host\", internal = false }]` is refused.",
};
pub const CONFINED_MOUNTS: Rule = Rule {
    name: "confined-mounts",
    docs: "### What it checks\nA mount's `dir` is one of the host's directory names (`logs`, `www`, `downloads`, `certs`, `qlog`, `work`, `cache`, `tools`) and, resolved under the run directory with symlinks followed, stays inside it. Its `target` is absolute, has no `..`, and is not `/` or a system location (`/proc`, `/sys`, `/dev`, `/etc`, `/boot`, `/usr`, `/bin`, `/sbin`, `/lib*`, `/var/run/docker.sock`, `/run/docker.sock`).\n\n### Why\nBind mounts are the one way a container sees host files. A mount of `/` or of `../../` gives a service the whole machine; a mount over `/dev` or the Docker socket gives it devices or the Docker daemon.\n\n### Example\n`mounts = [{ dir = \"../../..\", target = \"/host\" }]` and `{ dir = \"logs\", target = \"/dev\" }` are refused.",
};
pub const ALLOWED_EXECUTORS: Rule = Rule {
    name: "allowed-executors",
    docs: "### What it checks\nThe deployment's kind (`localhost`, `docker`, `shadow`) is in the policy's `executors` (default all three; strict `docker` only).\n\n### Why\nThe localhost executor runs plan programs as the user running panther-host, with that user's files and network; only the Docker executor puts a boundary (namespaces, capabilities, bind mounts under the run directory) between a plan and the machine. Hardened CI therefore accepts Docker only.\n\n### Example\nUnder `strict`, a test with `[tests.network] type = \"localhost\"` is refused before anything runs.",
};

const RESERVED_NETWORKS: &[&str] = &["host", "none", "bridge", "default"];
const SYSTEM_TARGETS: &[&str] = &[
    "/proc",
    "/sys",
    "/dev",
    "/etc",
    "/boot",
    "/usr",
    "/bin",
    "/sbin",
    "/lib",
    "/lib32",
    "/lib64",
    "/libx32",
    "/var/run/docker.sock",
    "/run/docker.sock",
    "/root",
];

fn kind_name(k: EnvironmentKind) -> &'static str {
    match k {
        EnvironmentKind::Localhost => "localhost",
        EnvironmentKind::Docker => "docker",
        EnvironmentKind::Shadow => "shadow",
    }
}

fn reserved_network(n: &str) -> bool {
    RESERVED_NETWORKS.contains(&n.to_ascii_lowercase().as_str())
        || ["container:", "ns:", "pid:", "service:"].iter().any(|p| n.to_ascii_lowercase().starts_with(p))
}

/// [`Policy::check_deployment`]: kept here so the walk of a deployment reads next to its rules.
pub(super) fn check_deployment(policy: &Policy, plugin: &str, plan: &DeploymentPlan) -> Result<(), Violations> {
    let mut c = Checker::new(policy, plugin, vec![], None);
    let kind = kind_name(plan.kind);
    if !policy.executors.iter().any(|e| e == kind) {
        c.violate(
            "kind",
            &ALLOWED_EXECUTORS,
            format!("the {kind} executor is not allowed (allowed: {})", policy.executors.join(", ")),
        );
    }
    if plan.networks.len() > policy.max_services {
        c.violate(
            "networks",
            &BOUNDED_SIZES,
            format!("{} networks, more than {}", plan.networks.len(), policy.max_services),
        );
    }
    let mut declared = BTreeSet::new();
    for (i, n) in plan.networks.iter().enumerate().take(policy.max_services.saturating_add(1)) {
        let f = format!("networks[{i}].name");
        c.name(&f, &n.name, "network name");
        if reserved_network(&n.name) {
            c.violate(
                &f,
                &NO_HOST_NAMESPACES,
                format!(
                    "`{}` is a Docker built-in network or another namespace; declare a network of the test's own",
                    shorten(&n.name)
                ),
            );
        }
        if policy.internal_networks_only && !n.internal {
            c.violate(
                format!("networks[{i}].internal"),
                &NO_HOST_NAMESPACES,
                format!(
                    "network `{}` is not internal; the {} policy allows only networks without a route out",
                    shorten(&n.name),
                    policy.name
                ),
            );
        }
        if !declared.insert(n.name.as_str()) {
            c.violate(&f, &VALID_NAMES, format!("network `{}` is declared twice", shorten(&n.name)));
        }
    }
    if plan.placements.len() > policy.max_services {
        c.violate(
            "placements",
            &BOUNDED_SIZES,
            format!("{} services, more than {}", plan.placements.len(), policy.max_services),
        );
    }
    // A mount names a directory (`logs`, `certs`, …), never a host path: the Docker
    // executor maps the name to the service's directory and confines that
    // ([`crate::plan::confine::Confinement`]) when it makes the bind.
    let mut services = BTreeSet::new();
    for (i, p) in plan.placements.iter().enumerate().take(policy.max_services.saturating_add(1)) {
        let at = format!("placements[{i}]");
        c.name(&format!("{at}.service"), &p.service, "service name");
        if !services.insert(p.service.as_str()) {
            c.violate(
                format!("{at}.service"),
                &VALID_NAMES,
                format!("service `{}` is placed twice", shorten(&p.service)),
            );
        }
        c.name(&format!("{at}.host"), &p.host, "host name");
        for (j, a) in p.aliases.iter().enumerate().take(64) {
            c.name(&format!("{at}.aliases[{j}]"), a, "alias");
        }
        for (j, n) in p.networks.iter().enumerate().take(64) {
            let f = format!("{at}.networks[{j}]");
            if reserved_network(n) {
                c.violate(
                    &f,
                    &NO_HOST_NAMESPACES,
                    format!("`{}` is a Docker built-in network or another namespace", shorten(n)),
                );
            } else if !declared.contains(n.as_str()) {
                c.violate(
                    &f,
                    &NO_HOST_NAMESPACES,
                    format!("network `{}` is not one the deployment declares", shorten(n)),
                );
            }
        }
        c.env(&format!("{at}.env"), &p.env);
        if p.mounts.len() > DirName::ALL.len() * 2 {
            c.violate(
                format!("{at}.mounts"),
                &BOUNDED_SIZES,
                format!("{} mounts, more than {}", p.mounts.len(), DirName::ALL.len() * 2),
            );
        }
        for (j, m) in p.mounts.iter().enumerate().take(DirName::ALL.len() * 2 + 1) {
            let f = format!("{at}.mounts[{j}]");
            c.text(&format!("{f}.dir"), &m.dir, MAX_PATH_BYTES);
            if DirName::parse(&m.dir).is_none() {
                c.violate(
                    format!("{f}.dir"),
                    &CONFINED_MOUNTS,
                    format!("`{}` is not one of the host's directories ({})", shorten(&m.dir), DirName::listed()),
                );
            }
            if let Some(t) = &m.target {
                c.text(&format!("{f}.target"), t, MAX_PATH_BYTES);
                let lex = crate::plan::confine::lexical(Path::new(t));
                let bad = !t.starts_with('/')
                    || Path::new(t).components().any(|x| matches!(x, Component::ParentDir))
                    || lex.as_deref() == Some(Path::new("/"));
                let system = lex.as_deref().is_some_and(|l| SYSTEM_TARGETS.iter().any(|s| l.starts_with(s)));
                if bad || system {
                    c.violate(
                        format!("{f}.target"),
                        &CONFINED_MOUNTS,
                        format!(
                            "`{}` is not allowed as a mount target (absolute, no `..`, not `/` or a system location)",
                            shorten(t)
                        ),
                    );
                }
            } else if plan.kind != EnvironmentKind::Localhost {
                c.violate(format!("{f}.target"), &CONFINED_MOUNTS, "a container mount needs a target path");
            }
        }
    }
    // A relay joins two of the test's networks and answers to a placed server's names there:
    // the same rules as a placement's networks, and it may only stand in front of a service
    // of this test, between two different networks.
    if plan.relays.len() > policy.max_services {
        c.violate("relays", &BOUNDED_SIZES, format!("{} relays, more than {}", plan.relays.len(), policy.max_services));
    }
    let mut relayed = BTreeSet::new();
    for (i, r) in plan.relays.iter().enumerate().take(policy.max_services.saturating_add(1)) {
        let at = format!("relays[{i}]");
        c.name(&format!("{at}.server"), &r.server, "service name");
        if !services.contains(r.server.as_str()) {
            c.violate(
                format!("{at}.server"),
                &VALID_NAMES,
                format!("`{}` is not a service the deployment places", shorten(&r.server)),
            );
        } else if !relayed.insert(r.server.as_str()) {
            c.violate(format!("{at}.server"), &VALID_NAMES, format!("`{}` has two relays", shorten(&r.server)));
        }
        for (f, n) in [("client-network", &r.client_network), ("server-network", &r.server_network)] {
            if reserved_network(n) || !declared.contains(n.as_str()) {
                c.violate(
                    format!("{at}.{f}"),
                    &NO_HOST_NAMESPACES,
                    format!("`{}` is not a network the deployment declares", shorten(n)),
                );
            }
        }
        if r.client_network == r.server_network {
            c.violate(
                format!("{at}.client-network"),
                &NO_HOST_NAMESPACES,
                "a relay sits between two different networks (clients on one, the server on the other)",
            );
        }
    }
    if let Some(cap) = &plan.capture {
        let i = cap.interface.as_str();
        if !(i == "lo" || i == "test-network" || declared.contains(i)) {
            c.violate(
                "capture.interface",
                &NO_HOST_NAMESPACES,
                format!("`{}` is not `lo`, `test-network` or a network of the test", shorten(i)),
            );
        }
    }
    c.finish(policy)
}

#[cfg(test)]
mod tests {
    use crate::plan::policy::tests::{deploy_rules, deployment};
    use crate::plan::policy::Policy;
    use crate::plugin::types::EnvironmentKind;
    use crate::plugin::wit::latest::env::{Capture, Mount, Network};

    // ---- no-host-namespaces

    // It rejects Docker's host network, container namespaces, and undeclared networks.
    #[test]
    fn host_network() {
        let mut d = deployment();
        d.networks.push(Network { name: "host".into(), internal: true });
        d.placements[0].networks = vec!["host".into(), "container:db".into(), "elsewhere".into()];
        assert_eq!(deploy_rules(&Policy::default(), &d), ["no-host-namespaces"; 4]);
    }

    // It rejects a network with a route out under strict, and a capture on a host interface.
    #[test]
    fn internal_only_and_capture() {
        let mut d = deployment();
        d.networks[0].internal = false;
        d.capture = Some(Capture { interface: "eth0".into(), ports_only: false });
        assert_eq!(deploy_rules(&Policy::strict(), &d), ["no-host-namespaces", "no-host-namespaces"]);
        assert_eq!(deploy_rules(&Policy::default(), &d), ["no-host-namespaces"]);
    }

    // ---- confined-mounts

    // It accepts the ordinary deployment.
    #[test]
    fn ordinary_deployment_passes() {
        assert_eq!(deploy_rules(&Policy::strict(), &deployment()), Vec::<&str>::new());
    }

    // It rejects a mount of `/`, of `..`, and targets over `/`, `/dev` and the Docker socket.
    #[test]
    fn mounts() {
        let mut d = deployment();
        d.placements[0].mounts = vec![
            Mount { dir: "/".into(), target: Some("/host".into()), read_only: true },
            Mount { dir: "../../..".into(), target: Some("/x".into()), read_only: true },
            Mount { dir: "logs".into(), target: Some("/".into()), read_only: false },
            Mount { dir: "logs".into(), target: Some("/dev/sda".into()), read_only: false },
            Mount { dir: "logs".into(), target: Some("/var/run/docker.sock".into()), read_only: false },
            Mount { dir: "logs".into(), target: Some("/app/../etc".into()), read_only: false },
        ];
        assert_eq!(deploy_rules(&Policy::default(), &d), ["confined-mounts"; 6]);
    }

    // ---- allowed-executors

    // It rejects the localhost executor under strict and accepts it under default.
    #[test]
    fn executors() {
        let mut d = deployment();
        d.kind = EnvironmentKind::Localhost;
        d.networks.clear();
        d.placements[0].networks.clear();
        d.placements[0].mounts[0].target = None;
        d.capture = Some(Capture { interface: "lo".into(), ports_only: true });
        assert_eq!(deploy_rules(&Policy::strict(), &d), ["allowed-executors"]);
        assert_eq!(deploy_rules(&Policy::default(), &d), Vec::<&str>::new());
    }
}
