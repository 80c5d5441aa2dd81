//! One judgement's state, and the rules any field of any plan can break.
//!
//! Every concern adds its checks as methods of [`Checker`], so the violations of all of them
//! land in one list, in the order the plan is walked, and a refusal reports them all at once.

use super::rules::Rule;
use super::{Policy, PolicyViolation, Violations};
use crate::plan::confine::Confinement;

pub const NO_NUL: Rule = Rule {
    name: "no-nul-bytes",
    docs: "### What it checks\nNo argv item, environment name or value, path, file content, image field, mount or network field contains a NUL byte.\n\n### Why\nThe OS cuts C strings at NUL: `/run/x\\0/../../etc` would be checked as one path and used as another.\n\n### Example\n`argv = [\"cat\", \"{{dirs.logs}}/a\\u0000/etc/shadow\"]` is refused.",
};
pub const BOUNDED_SIZES: Rule = Rule {
    name: "bounded-sizes",
    docs: "### What it checks\nArgv items, argv length, environment values, command counts, file contents and counts, ports, artifacts, image packages and steps, the whole plan's text, and a deployment's networks and placements stay under the policy's limits (`max_arg_bytes`, `max_args`, `max_env_bytes`, `max_commands`, `max_file_bytes`, `max_files`, `max_plan_bytes`, `max_services`, ...).\n\n### Why\nPlans are guest output that the host holds in memory, writes to disk and passes to the OS (whose `ARG_MAX` is finite). A plugin must not be able to exhaust the host with one answer.\n\n### Example\nA plan with 10 000 commands, or one argv item of 10 MiB, is refused.",
};
pub const VALID_NAMES: Rule = Rule {
    name: "valid-names",
    docs: "### What it checks\nNames the host passes to the OS or Docker are well formed: environment variable names match `[A-Za-z_][A-Za-z0-9_]*`; port names, network names, host names and aliases match `[A-Za-z0-9][A-Za-z0-9_.-]*`; build-arg names like variables; port and service names are unique.\n\n### Why\nA name is used as a key, a DNS name and a command-line value. `A=B` as a variable name, or `--privileged` as an alias, would be read as something else.\n\n### Example\n`env = [(\"X=1 LD_PRELOAD\", \"...\")]` and `aliases = [\"--network=host\"]` are refused.",
};

/// The longest name (variable, network, alias) the host accepts.
pub(super) const MAX_NAME_BYTES: usize = 253;
/// The longest path the host accepts (Linux PATH_MAX).
pub(super) const MAX_PATH_BYTES: usize = 4096;

pub(super) struct Checker<'a> {
    pub(super) policy: &'a Policy,
    plugin: &'a str,
    /// The service's directories, as the plan sees them (for messages).
    pub(super) roots: Vec<String>,
    pub(super) confinement: Confinement,
    pub(super) work: Option<String>,
    out: Vec<PolicyViolation>,
}

impl<'a> Checker<'a> {
    pub(super) fn new(policy: &'a Policy, plugin: &'a str, roots: Vec<String>, work: Option<String>) -> Self {
        let confinement = Confinement::new(&roots);
        Checker { policy, plugin, roots, confinement, work, out: vec![] }
    }

    pub(super) fn violate(&mut self, field: impl Into<String>, rule: &Rule, message: impl Into<String>) {
        self.out.push(PolicyViolation {
            plugin: self.plugin.to_string(),
            field: field.into(),
            rule: rule.name,
            message: message.into(),
        });
    }

    pub(super) fn text(&mut self, field: &str, s: &str, max: usize) {
        if s.contains('\0') {
            self.violate(field, &NO_NUL, "contains a NUL byte");
        }
        if s.len() > max {
            self.violate(field, &BOUNDED_SIZES, format!("{} bytes, more than the limit of {max}", s.len()));
        }
    }

    pub(super) fn name(&mut self, field: &str, s: &str, what: &str) {
        if s.contains('\0') {
            self.violate(field, &NO_NUL, "contains a NUL byte");
        } else if !is_plain_name(s) {
            self.violate(
                field,
                &VALID_NAMES,
                format!(
                    "`{}` is not a valid {what} (letters, digits, `_`, `.`, `-`; starting with a letter or digit)",
                    shorten(s)
                ),
            );
        }
    }

    pub(super) fn finish(self, policy: &Policy) -> Result<(), Violations> {
        if self.out.is_empty() {
            Ok(())
        } else {
            Err(Violations { plugin: self.plugin.to_string(), policy: policy.name.clone(), violations: self.out })
        }
    }
}

pub(super) fn is_plain_name(k: &str) -> bool {
    let mut cs = k.chars();
    k.len() <= MAX_NAME_BYTES
        && matches!(cs.next(), Some(c) if c.is_ascii_alphanumeric())
        && cs.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
}

/// Long guest strings are cut in messages: the refusal must stay readable.
pub(super) fn shorten(s: &str) -> String {
    const MAX: usize = 80;
    let clean: String = s.chars().map(|c| if c == '\0' { '␀' } else { c }).collect();
    if clean.len() <= MAX {
        clean
    } else {
        let mut end = MAX;
        while !clean.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}… ({} bytes)", &clean[..end], s.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::policy::tests::{argv_rules, check, cmd, ctx, deploy_rules, deployment, plan};
    use crate::plugin::types::{Port, Transport};

    // ---- no-nul-bytes

    // It refuses a NUL in an argv item, an env value and a file path.
    #[test]
    fn nul_bytes() {
        assert_eq!(argv_rules(&["cat", "/srv/run/1/server/logs/a\0/etc/shadow"]), ["no-nul-bytes"]);
        let mut c = cmd(&["x"]);
        c.env = vec![("A".into(), "b\0c".into())];
        assert_eq!(check(&Policy::strict(), &plan(vec![c])), ["no-nul-bytes"]);
        let mut p = plan(vec![cmd(&["x"])]);
        p.files = vec![("/srv/run/1/server/work/a\0b".into(), "".into())];
        assert_eq!(check(&Policy::strict(), &p), ["no-nul-bytes"]);
    }

    // ---- bounded-sizes

    // It rejects too many commands, a huge argv item, and a plan whose text is too large.
    #[test]
    fn sizes() {
        let p = plan((0..200).map(|_| cmd(&["x"])).collect());
        assert_eq!(check(&Policy::strict(), &p), ["bounded-sizes"]);
        assert_eq!(argv_rules(&["x", &"a".repeat(20_000)]), ["bounded-sizes"]);
        let mut p = plan(vec![cmd(&["x"])]);
        p.files = (0..40).map(|i| (format!("/srv/run/1/server/work/{i}"), "a".repeat(200_000))).collect();
        assert_eq!(check(&Policy::strict(), &p), ["bounded-sizes"]);
    }

    // It judges only the first commands past the limit, so a million-command plan is refused fast.
    #[test]
    fn huge_plan_is_refused_with_few_messages() {
        let p = plan((0..100_000).map(|_| cmd(&["sh", "-c", "x"])).collect());
        let v = Policy::strict().check("t", &p, &ctx()).unwrap_err();
        assert!(v.violations.len() <= 130, "{}", v.violations.len());
        assert!(v.has(&BOUNDED_SIZES));
    }

    // ---- valid-names

    // It rejects variable names with `=` or spaces, aliases that look like options, and duplicate ports.
    #[test]
    fn names() {
        let mut c = cmd(&["x"]);
        c.env = vec![("X=1 Y".into(), "v".into())];
        let mut p = plan(vec![c]);
        p.ports.push(Port { name: "quic".into(), number: 0, transport: Transport::Udp });
        assert_eq!(check(&Policy::strict(), &p), ["valid-names", "valid-names"]);
        let mut d = deployment();
        d.placements[0].aliases = vec!["--network=host".into()];
        assert_eq!(deploy_rules(&Policy::strict(), &d), ["valid-names"]);
    }
}
