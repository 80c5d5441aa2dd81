//! A service plan as a whole: its size, phases, ports, readiness, artifacts, files and
//! capabilities. Commands, paths and the image are judged by their own concerns, called from
//! here in the order the plan is walked.

use std::collections::BTreeSet;

use super::argv::BOUNDED_TIMEOUTS;
use super::checker::{shorten, Checker, BOUNDED_SIZES, VALID_NAMES};
use super::rules::Rule;
use super::{Policy, Violations};
use crate::plan::RenderContext;
use crate::plugin::types::{Command, ReadinessCondition, ServicePlan};

pub const ALLOWED_CAPS: Rule = Rule {
    name: "allowed-capabilities",
    docs: "### What it checks\nEvery Linux capability a plan asks for is on the policy's `allowed_capabilities` (default `NET_ADMIN`, `NET_RAW`, `SYS_PTRACE`; strict `NET_ADMIN`, `NET_RAW`). `ALL`, `SYS_ADMIN`, `SYS_MODULE`, `SYS_RAWIO`, `MKNOD`, `DAC_READ_SEARCH`, `BPF`, `SYS_BOOT` and `PERFMON` are refused even when a policy file lists them, because each is equivalent to a privileged container or host device access. `privileged` is refused as a capability name.\n\n### Why\nCapabilities are the only privilege a plan can ask for; the allow-list keeps that privilege to what network tests need.\n\n### Example\n`capabilities = [\"SYS_ADMIN\"]` is refused; `[\"NET_ADMIN\"]` is fine.",
};

/// Capabilities no policy file can allow: each one amounts to a privileged container.
const NEVER_CAPS: &[&str] = &[
    "ALL",
    "PRIVILEGED",
    "SYS_ADMIN",
    "SYS_MODULE",
    "SYS_RAWIO",
    "MKNOD",
    "DAC_READ_SEARCH",
    "BPF",
    "SYS_BOOT",
    "PERFMON",
];

/// Sum of the lengths of every string in a plan: what the host holds for it.
pub fn plan_bytes(plan: &ServicePlan) -> usize {
    let cmd = |c: &Command| -> usize {
        c.argv.iter().map(String::len).sum::<usize>()
            + c.env.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>()
            + c.cwd.as_ref().map_or(0, String::len)
            + c.description.len()
    };
    let p = &plan.phases;
    let phases: usize = [&p.pre_compile, &p.compile, &p.post_compile, &p.pre_run, &p.run, &p.post_run]
        .iter()
        .flat_map(|cs| cs.iter())
        .map(cmd)
        .sum();
    let image = plan.image.as_ref().map_or(0, |i| {
        i.name.len()
            + i.base.len()
            + i.packages.iter().map(String::len).sum::<usize>()
            + i.sources.iter().map(|s| s.name.len() + s.url.len() + s.rev.len() + s.dest.len()).sum::<usize>()
            + i.steps
                .iter()
                .map(|s| {
                    s.argv.iter().map(String::len).sum::<usize>()
                        + s.env.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>()
                        + s.workdir.as_ref().map_or(0, String::len)
                })
                .sum::<usize>()
            + i.build_args.iter().map(|(k, v)| k.len() + v.len()).sum::<usize>()
            + i.workdir.as_ref().map_or(0, String::len)
    });
    let readiness = match &plan.readiness.condition {
        ReadinessCondition::PortBound(s) | ReadinessCondition::LogLine(s) | ReadinessCondition::FileExists(s) => {
            s.len()
        }
        _ => 0,
    };
    phases
        + image
        + readiness
        + plan.ports.iter().map(|p| p.name.len()).sum::<usize>()
        + plan.artifacts.iter().map(|a| a.path.len()).sum::<usize>()
        + plan.capabilities.iter().map(String::len).sum::<usize>()
        + plan.files.iter().map(|(p, c)| p.len() + c.len()).sum::<usize>()
}

/// [`Policy::check`]: kept here so the walk of a plan reads next to the rules it applies.
pub(super) fn check_plan(
    policy: &Policy,
    plugin: &str,
    plan: &ServicePlan,
    ctx: &RenderContext,
) -> Result<(), Violations> {
    let mut roots: Vec<String> = ctx.dirs.values().cloned().collect();
    roots.extend(policy.extra_paths.iter().cloned());
    let work = ctx.dirs.get("work").cloned();
    let mut c = Checker::new(policy, plugin, roots, work);
    let bytes = plan_bytes(plan);
    if bytes > policy.max_plan_bytes {
        c.violate("plan", &BOUNDED_SIZES, format!("{bytes} bytes of text, more than {}", policy.max_plan_bytes));
    }
    let all = crate::contract::Phase::ALL.map(|ph| (ph.field(), ph.of(&plan.phases)));
    let total: usize = all.iter().map(|(_, cs)| cs.len()).sum();
    if total > policy.max_commands {
        c.violate("phases", &BOUNDED_SIZES, format!("{total} commands, more than {}", policy.max_commands));
    }
    // Past the limit the plan is refused anyway; judging each of a million commands
    // would only make the refusal slow and unreadable.
    let judged = policy.max_commands.saturating_add(1);
    for (name, cs) in all {
        for (i, cmd) in cs.iter().enumerate().take(judged) {
            c.command(&format!("phases.{name}[{i}]"), cmd);
        }
    }
    if let Some(img) = &plan.image {
        c.image(img);
    }
    if plan.ports.len() > policy.max_ports {
        c.violate("ports", &BOUNDED_SIZES, format!("{} ports, more than {}", plan.ports.len(), policy.max_ports));
    }
    let mut names = BTreeSet::new();
    for (i, port) in plan.ports.iter().enumerate().take(policy.max_ports.saturating_add(1)) {
        c.name(&format!("ports[{i}].name"), &port.name, "port name");
        if !names.insert(port.name.as_str()) {
            c.violate(
                format!("ports[{i}].name"),
                &VALID_NAMES,
                format!("port `{}` is declared twice", shorten(&port.name)),
            );
        }
    }
    match &plan.readiness.condition {
        ReadinessCondition::FileExists(f) => c.path("readiness.file-exists", f),
        ReadinessCondition::LogLine(l) => c.text("readiness.log-line", l, policy.max_arg_bytes),
        ReadinessCondition::PortBound(n) => {
            if !plan.ports.iter().any(|p| &p.name == n) {
                c.violate(
                    "readiness.port-bound",
                    &VALID_NAMES,
                    format!("port `{}` is not declared in `ports`", shorten(n)),
                );
            }
        }
        _ => {}
    }
    if plan.readiness.timeout_ms > policy.max_timeout_ms {
        c.violate(
            "readiness.timeout-ms",
            &BOUNDED_TIMEOUTS,
            format!("{} ms, more than the maximum of {} ms", plan.readiness.timeout_ms, policy.max_timeout_ms),
        );
    }
    if plan.artifacts.len() > policy.max_artifacts {
        c.violate(
            "artifacts",
            &BOUNDED_SIZES,
            format!("{} artifacts, more than {}", plan.artifacts.len(), policy.max_artifacts),
        );
    }
    for (i, a) in plan.artifacts.iter().enumerate().take(policy.max_artifacts.saturating_add(1)) {
        c.path(&format!("artifacts[{i}].path"), &a.path);
    }
    if plan.files.len() > policy.max_files {
        c.violate("files", &BOUNDED_SIZES, format!("{} files, more than {}", plan.files.len(), policy.max_files));
    }
    for (i, (path, content)) in plan.files.iter().enumerate().take(policy.max_files.saturating_add(1)) {
        c.path(&format!("files[{i}].path"), path);
        c.text(&format!("files[{i}].content"), content, policy.max_file_bytes);
    }
    for (i, cap) in plan.capabilities.iter().enumerate().take(64) {
        let norm = cap.trim().to_ascii_uppercase();
        let norm = norm.strip_prefix("CAP_").unwrap_or(&norm);
        if NEVER_CAPS.contains(&norm) {
            c.violate(
                format!("capabilities[{i}]"),
                &ALLOWED_CAPS,
                format!("`{}` amounts to a privileged container and is never allowed", shorten(cap)),
            );
        } else if !policy.allowed_capabilities.iter().any(|a| a.eq_ignore_ascii_case(norm)) {
            c.violate(
                format!("capabilities[{i}]"),
                &ALLOWED_CAPS,
                format!("`{}` is not in the allow-list ({})", shorten(cap), policy.allowed_capabilities.join(", ")),
            );
        }
    }
    if plan.capabilities.len() > 64 {
        c.violate("capabilities", &BOUNDED_SIZES, format!("{} capabilities, more than 64", plan.capabilities.len()));
    }
    c.finish(policy)
}

#[cfg(test)]
mod tests {
    use crate::plan::policy::tests::{check, cmd, plan};
    use crate::plan::policy::Policy;

    // It rejects capabilities off the allow-list, and privileged ones even when a file allows them.
    #[test]
    fn capabilities() {
        let mut p = plan(vec![cmd(&["x"])]);
        p.capabilities = vec!["SYS_PTRACE".into(), "cap_net_raw".into()];
        assert_eq!(check(&Policy::strict(), &p), ["allowed-capabilities"]);
        let lax = Policy { allowed_capabilities: vec!["SYS_ADMIN".into(), "ALL".into()], ..Policy::default() };
        p.capabilities = vec!["SYS_ADMIN".into(), "all".into(), "privileged".into()];
        assert_eq!(check(&lax, &p), ["allowed-capabilities"; 3]);
    }
}
