//! The `shadow` environment: every service of a test on a simulated host of its own in the
//! Shadow network simulator, at 11.0.0.1, 11.0.0.2, … in start order.
//!
//! Shadow runs the whole test at once, so "after" becomes a later start time in the
//! simulation (the host maps it). The host writes the simulation's configuration from this
//! placement, the rendered plans and the test's `link`, runs Shadow and captures on every
//! simulated host; this plugin only decides where each service is and what it waits for.

use panther_guest::environment::{DeployRequest, DeploymentPlan, Guest, Placement};
use panther_guest::order::{deps, start_order};
use panther_guest::*;

const NAME: &str = "shadow";
/// Shadow's automatic addresses start here too; explicit ones keep them in start order.
const FIRST_HOST: [u8; 4] = [11, 0, 0, 1];

struct Shadow;

fn describe_info() -> PluginInfo {
    PluginInfo {
        name: NAME.into(),
        version: env!("CARGO_PKG_VERSION").into(),
        kind: PluginKind::Environment,
        description: "every service on its own host in the Shadow network simulator; delay, bandwidth and loss from the test's link; deterministic from the seed"
            .into(),
        protocols: vec![],
        roles: vec![],
        versions: vec![],
        sources: vec![],
        parameters: vec![
            ParamSpec::string(
                "stop_time",
                "",
                "Simulated time at which the simulation ends, such as `30s` (empty: the test's timeout)",
            ),
            ParamSpec::boolean(
                "model_unblocked_syscall_latency",
                false,
                "Give non-blocking syscalls a simulated cost, for programs that busy-wait (Shadow's option)",
            ),
        ],
        environments: vec![EnvironmentKind::Shadow],
    }
}

/// `30s`, `1500ms`, `2min`: a whole number and a unit the host understands.
fn valid_duration(v: &str) -> bool {
    let digits = v.chars().take_while(char::is_ascii_digit).count();
    digits > 0 && ["ms", "s", "min"].contains(&v[digits..].trim())
}

/// The deployment of one test; pure, so it is tested natively.
pub fn deploy_plan(request: &DeployRequest) -> Result<DeploymentPlan, PluginError> {
    for (k, v) in &request.params {
        match k.as_str() {
            "stop_time" if v.is_empty() || valid_duration(v) => {}
            "stop_time" => return Err(invalid_param(k, format!("`{v}` is not a duration such as `30s` or `1500ms`"))),
            "model_unblocked_syscall_latency" if v == "true" || v == "false" => {}
            "model_unblocked_syscall_latency" => return Err(invalid_param(k, format!("`{v}` is not a boolean; use true or false"))),
            _ => {
                return Err(invalid_param(
                    k,
                    format!("the shadow environment takes `stop_time` and `model_unblocked_syscall_latency`, not `{k}` (test `{}`)", request.test),
                ))
            }
        }
    }
    let order = start_order(&request.services).map_err(|m| unsupported(format!("test `{}`: {m}", request.test)))?;
    if order.len() > 254 {
        return Err(unsupported(format!("test `{}` has {} services; a simulated /24 holds 254 hosts", request.test, order.len())));
    }
    let placements = order
        .into_iter()
        .enumerate()
        .map(|(k, i)| {
            let s = &request.services[i];
            let [a, b, c, d] = FIRST_HOST;
            Placement {
                service: s.name.clone(),
                host: format!("{a}.{b}.{c}.{}", d + k as u8),
                aliases: vec![],
                networks: vec![],
                after: deps(s, &request.services),
                mounts: vec![],
                // Ivy's network shims (the original's) read it to skip SO_BINDTODEVICE, which
                // Shadow does not have.
                env: vec![("SHADOW_TEST".into(), "1".into())],
            }
        })
        .collect();
    // No capture for the host to run: Shadow writes every simulated host's own.
    // Shadow simulates the link in its network graph; there is no relay to place.
    Ok(DeploymentPlan { kind: EnvironmentKind::Shadow, networks: vec![], placements, capture: None, relays: vec![] })
}

impl Guest for Shadow {
    fn describe() -> PluginInfo {
        describe_info()
    }

    fn deploy(request: DeployRequest) -> Result<DeploymentPlan, PluginError> {
        deploy_plan(&request)
    }
}

export_environment!(Shadow);

#[cfg(test)]
mod tests {
    use super::*;
    use panther_guest::environment::ServiceEntry;

    fn svc(name: &str, role: Role, target: Option<&str>) -> ServiceEntry {
        ServiceEntry {
            name: name.into(),
            role,
            implementation: "x".into(),
            target: target.map(Into::into),
            plan: ServicePlan::new(),
            tester: false,
        }
    }

    fn req(params: &[(&str, &str)]) -> DeployRequest {
        DeployRequest {
            test: "t".into(),
            run_id: "r".into(),
            services: vec![svc("client", Role::Client, Some("server")), svc("server", Role::Server, None)],
            params: params.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            link: None,
        }
    }

    #[test]
    fn hosts_get_addresses_in_start_order_and_clients_wait_for_their_target() {
        let p = deploy_plan(&req(&[])).unwrap();
        let got: Vec<(&str, &str, Vec<String>)> =
            p.placements.iter().map(|p| (p.service.as_str(), p.host.as_str(), p.after.clone())).collect();
        assert_eq!(got, [("server", "11.0.0.1", vec![]), ("client", "11.0.0.2", vec!["server".to_string()])]);
        assert!(p.capture.is_none() && p.networks.is_empty());
        assert_eq!(p.kind, EnvironmentKind::Shadow);
    }

    #[test]
    fn parameters_are_checked_by_name_and_value() {
        assert!(deploy_plan(&req(&[("stop_time", "30s"), ("model_unblocked_syscall_latency", "true")])).is_ok());
        assert!(deploy_plan(&req(&[("stop_time", "")])).is_ok());
        for (k, v) in [("stop_time", "soon"), ("stop_time", "30"), ("model_unblocked_syscall_latency", "maybe"), ("latency", "10ms")] {
            match deploy_plan(&req(&[(k, v)])) {
                Err(PluginError::InvalidParam(p)) => assert_eq!(p.name, k),
                other => panic!("{k}={v}: {other:?}"),
            }
        }
    }
}
