//! The compose file written next to each Docker test (`<test dir>/docker-compose.yml`), so a
//! person can reproduce the test by hand with `docker-compose -f <it> up` and no panther-host.
//!
//! Owns only the rendering. Every scalar is written as a JSON string, which is also a YAML
//! double-quoted scalar, so plugin text can never become YAML structure. Compose file format
//! 2.4 because Debian's docker-compose 1.29 reads it and it has `init`, `internal` networks
//! and `depends_on`.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::path::PathBuf;

use crate::run::subnets::{ipv6_twin, Subnet};

/// One service as the executor created it.
#[derive(Debug, Clone)]
pub struct ComposeService {
    pub name: String,
    pub image: String,
    pub hostname: String,
    pub command: Vec<String>,
    pub working_dir: Option<String>,
    pub environment: Vec<(String, String)>,
    /// (host, target, read-only)
    pub volumes: Vec<(PathBuf, String, bool)>,
    pub cap_add: Vec<String>,
    /// Network, and the fixed address on it when the host chose one.
    pub networks: Vec<(String, Option<String>)>,
    pub aliases: Vec<String>,
    /// Host-file entries, `name:address`.
    pub extra_hosts: Vec<String>,
    pub depends_on: Vec<String>,
    pub labels: BTreeMap<String, String>,
}

fn q(s: &str) -> String {
    serde_json::to_string(s).expect("strings serialise")
}

/// Renders the compose file of one test. `networks`: name, the host's subnet, and whether it
/// is dual-stack (then services get the IPv6 twins of their addresses too).
pub fn render(
    test: &str,
    run_id: &str,
    networks: &[(String, Option<Subnet>, bool)],
    net_labels: &BTreeMap<String, String>,
    services: &[ComposeService],
) -> String {
    let mut y = String::new();
    let _ = writeln!(y, "# Test `{test}` of run `{run_id}`, as panther-host ran it (generated; do not edit).");
    let _ = writeln!(y, "# Reproduce it without panther-host:");
    let _ = writeln!(
        y,
        "#   docker-compose -f docker-compose.yml up --abort-on-container-exit && docker-compose -f docker-compose.yml down"
    );
    let _ = writeln!(y, "# Differences: compose orders starts by depends_on but does not wait for readiness, and");
    let _ =
        writeln!(y, "# the compile/pre-run/post-run phases (one-shot containers under panther-host) are not replayed.");
    let _ = writeln!(y, "version: \"2.4\"");
    let _ = writeln!(y, "services:");
    for s in services {
        let _ = writeln!(y, "  {}:", q(&s.name));
        let _ = writeln!(y, "    image: {}", q(&s.image));
        let _ = writeln!(y, "    hostname: {}", q(&s.hostname));
        let _ = writeln!(y, "    init: true");
        let _ = writeln!(y, "    entrypoint: []");
        let _ = writeln!(y, "    command: [{}]", s.command.iter().map(|a| q(a)).collect::<Vec<_>>().join(", "));
        if let Some(w) = &s.working_dir {
            let _ = writeln!(y, "    working_dir: {}", q(w));
        }
        if !s.environment.is_empty() {
            let _ = writeln!(y, "    environment:");
            for (k, v) in &s.environment {
                let _ = writeln!(y, "      {}: {}", q(k), q(v));
            }
        }
        if !s.volumes.is_empty() {
            let _ = writeln!(y, "    volumes:");
            for bind in &s.volumes {
                let _ = writeln!(y, "      - {}", q(&super::bind_spec(bind)));
            }
        }
        if !s.cap_add.is_empty() {
            let _ = writeln!(y, "    cap_add: [{}]", s.cap_add.iter().map(|a| q(a)).collect::<Vec<_>>().join(", "));
        }
        // Only services with a container of their own: a tester that only judges has none.
        let after: Vec<String> =
            s.depends_on.iter().filter(|d| services.iter().any(|o| &o.name == *d)).map(|d| q(d)).collect();
        if !after.is_empty() {
            let _ = writeln!(y, "    depends_on: [{}]", after.join(", "));
        }
        if !s.labels.is_empty() {
            let _ = writeln!(y, "    labels:");
            for (k, v) in &s.labels {
                let _ = writeln!(y, "      {}: {}", q(k), q(v));
            }
        }
        if !s.extra_hosts.is_empty() {
            let _ = writeln!(y, "    extra_hosts:");
            for h in &s.extra_hosts {
                let _ = writeln!(y, "      - {}", q(h));
            }
        }
        if s.networks.is_empty() {
            let _ = writeln!(y, "    network_mode: \"none\"");
        } else {
            let _ = writeln!(y, "    networks:");
            for (n, ip) in &s.networks {
                let _ = writeln!(y, "      {}:", q(n));
                let mut aliases = vec![s.name.clone()];
                aliases.extend(s.aliases.iter().cloned());
                aliases.dedup();
                let _ =
                    writeln!(y, "        aliases: [{}]", aliases.iter().map(|a| q(a)).collect::<Vec<_>>().join(", "));
                if let Some(ip) = ip {
                    let _ = writeln!(y, "        ipv4_address: {}", q(ip));
                    let dual = networks.iter().any(|(name, _, v6)| name == n && *v6);
                    if let Some(v4) = ip.parse().ok().filter(|_| dual) {
                        let _ = writeln!(y, "        ipv6_address: {}", q(&ipv6_twin(v4).to_string()));
                    }
                }
            }
        }
    }
    if !networks.is_empty() {
        let _ = writeln!(y, "networks:");
        for (n, subnet, dual) in networks {
            let _ = writeln!(y, "  {}:", q(n));
            let _ = writeln!(y, "    driver: \"bridge\"");
            let _ = writeln!(y, "    internal: true");
            if *dual {
                let _ = writeln!(y, "    enable_ipv6: true");
            }
            if let Some(s) = subnet {
                let _ = writeln!(y, "    ipam:");
                let _ = writeln!(y, "      config:");
                let _ = writeln!(y, "        - subnet: {}", q(&s.to_string()));
                let _ = writeln!(y, "          gateway: {}", q(&s.gateway().to_string()));
                if *dual {
                    let _ = writeln!(y, "        - subnet: {}", q(&s.ipv6_twin()));
                    let _ = writeln!(y, "          gateway: {}", q(&s.ipv6_gateway().to_string()));
                }
            }
            if !net_labels.is_empty() {
                let _ = writeln!(y, "    labels:");
                for (k, v) in net_labels {
                    let _ = writeln!(y, "      {}: {}", q(k), q(v));
                }
            }
        }
    }
    y
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_quoted_services_and_an_internal_network() {
        let s = ComposeService {
            name: "server".into(),
            image: "panther/quic-go:0123456789abcdef".into(),
            hostname: "server".into(),
            command: vec!["qgo-server".into(), "it's \"quoted\": {x}".into()],
            working_dir: Some("/app".into()),
            environment: vec![("TESTCASE".into(), "transfer".into())],
            volumes: vec![
                (PathBuf::from("/run/t/server/logs"), "/app/logs".into(), false),
                (PathBuf::from("/run/t/certs"), "/certs".into(), true),
            ],
            cap_add: vec![],
            networks: vec![("test".into(), Some("10.213.0.2".into()))],
            aliases: vec!["server.panther".into()],
            extra_hosts: vec![],
            depends_on: vec![],
            labels: BTreeMap::from([("panther.run".into(), "r1".into())]),
        };
        let y = render(
            "t",
            "r1",
            &[("test".into(), Subnet::parse("10.213.0.0/24"), false)],
            &BTreeMap::from([("panther.run".into(), "r1".into())]),
            &[s],
        );
        insta::assert_snapshot!(y, @r#"
        # Test `t` of run `r1`, as panther-host ran it (generated; do not edit).
        # Reproduce it without panther-host:
        #   docker-compose -f docker-compose.yml up --abort-on-container-exit && docker-compose -f docker-compose.yml down
        # Differences: compose orders starts by depends_on but does not wait for readiness, and
        # the compile/pre-run/post-run phases (one-shot containers under panther-host) are not replayed.
        version: "2.4"
        services:
          "server":
            image: "panther/quic-go:0123456789abcdef"
            hostname: "server"
            init: true
            entrypoint: []
            command: ["qgo-server", "it's \"quoted\": {x}"]
            working_dir: "/app"
            environment:
              "TESTCASE": "transfer"
            volumes:
              - "/run/t/server/logs:/app/logs"
              - "/run/t/certs:/certs:ro"
            labels:
              "panther.run": "r1"
            networks:
              "test":
                aliases: ["server", "server.panther"]
                ipv4_address: "10.213.0.2"
        networks:
          "test":
            driver: "bridge"
            internal: true
            ipam:
              config:
                - subnet: "10.213.0.0/24"
                  gateway: "10.213.0.1"
            labels:
              "panther.run": "r1"
        "#);
    }
}
