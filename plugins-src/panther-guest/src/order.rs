//! The start order of a test's services for environments that start them one by one
//! (`localhost`, `shadow`): a service starts after the service it targets
//! (`protocol.target`), testers included; within that constraint servers come before clients
//! and testers, and otherwise the experiment's order is kept. A cycle (`a` targets `b`, `b`
//! targets `a`) or a target that is not a service of the test is an error naming the services.

use crate::environment::ServiceEntry;
use crate::Role;

/// The services `s` waits for: the one it targets. Testers are ordered the same way, by
/// their targets; a tester that others target starts before them.
pub fn deps(s: &ServiceEntry, _all: &[ServiceEntry]) -> Vec<String> {
    s.target.iter().cloned().collect()
}

/// Indices of `services` in start order (Kahn's algorithm, stable: among the services whose
/// dependencies are placed, non-clients before clients, then the experiment's order).
pub fn start_order(services: &[ServiceEntry]) -> Result<Vec<usize>, String> {
    let names: Vec<&str> = services.iter().map(|s| s.name.as_str()).collect();
    let mut seen = std::collections::BTreeSet::new();
    for n in &names {
        if !seen.insert(*n) {
            return Err(format!("two services are named `{n}`; service names must be unique"));
        }
    }
    let deps: Vec<Vec<String>> = services.iter().map(|s| deps(s, services)).collect();
    for (s, ds) in services.iter().zip(&deps) {
        for d in ds {
            if d == &s.name {
                return Err(format!("service `{}` targets itself", s.name));
            }
            if !names.contains(&d.as_str()) {
                return Err(format!(
                    "service `{}` targets `{d}`, which is not a service of this test (services: {})",
                    s.name,
                    names.join(", ")
                ));
            }
        }
    }
    let mut placed: Vec<usize> = Vec::with_capacity(services.len());
    let mut done = vec![false; services.len()];
    while placed.len() < services.len() {
        let ready = |i: usize| !done[i] && deps[i].iter().all(|d| placed.iter().any(|&p| services[p].name == *d));
        let next = (0..services.len())
            .filter(|&i| ready(i))
            .min_by_key(|&i| (services[i].role == Role::Client || services[i].tester, i));
        match next {
            Some(i) => {
                done[i] = true;
                placed.push(i);
            }
            None => {
                let stuck: Vec<&str> = (0..services.len()).filter(|&i| !done[i]).map(|i| names[i]).collect();
                return Err(format!(
                    "the services {} wait for each other (a cycle of `target`s); break it so one of them starts first",
                    stuck.join(", ")
                ));
            }
        }
    }
    Ok(placed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ServicePlan;

    fn svc(name: &str, role: Role, target: Option<&str>, tester: bool) -> ServiceEntry {
        let plan = ServicePlan::new();
        ServiceEntry {
            name: name.into(),
            role,
            implementation: "x".into(),
            target: target.map(Into::into),
            plan,
            tester,
        }
    }

    fn names(services: &[ServiceEntry]) -> Result<Vec<String>, String> {
        start_order(services).map(|o| o.into_iter().map(|i| services[i].name.clone()).collect())
    }

    #[test]
    fn a_server_starts_before_the_client_that_targets_it_even_when_listed_after() {
        let s = [
            svc("client", Role::Client, Some("server"), false),
            svc("server", Role::Server, None, false),
        ];
        assert_eq!(names(&s).unwrap(), ["server", "client"]);
    }

    #[test]
    fn a_tester_server_starts_before_the_iut_client_targeting_it() {
        let s = [svc("iut", Role::Client, Some("ivy"), false), svc("ivy", Role::Server, None, true)];
        assert_eq!(names(&s).unwrap(), ["ivy", "iut"]);
    }

    #[test]
    fn independent_services_keep_the_experiment_order_servers_first() {
        let s = [
            svc("c1", Role::Client, Some("s2"), false),
            svc("s1", Role::Server, None, false),
            svc("s2", Role::Server, None, false),
        ];
        assert_eq!(names(&s).unwrap(), ["s1", "s2", "c1"]);
    }

    #[test]
    fn a_cycle_is_an_error_naming_the_services() {
        let s = [
            svc("a", Role::Peer, Some("b"), false),
            svc("b", Role::Peer, Some("a"), false),
            svc("c", Role::Server, None, false),
        ];
        let e = names(&s).unwrap_err();
        assert!(e.contains("a, b") && e.contains("cycle"), "{e}");
    }

    #[test]
    fn an_unknown_or_self_target_is_an_error() {
        assert!(names(&[svc("a", Role::Client, Some("nope"), false)])
            .unwrap_err()
            .contains("`nope`, which is not a service"));
        assert!(names(&[svc("a", Role::Client, Some("a"), false)])
            .unwrap_err()
            .contains("targets itself"));
        assert!(names(&[svc("a", Role::Server, None, false), svc("a", Role::Server, None, false)])
            .unwrap_err()
            .contains("unique"));
    }
}
