//! The rules users can look up. Each rule is defined beside its check; this file only lists
//! them, in an order that is part of the interface (`validate --explain list`).

use super::argv::{BOUNDED_TIMEOUTS, NO_DANGEROUS_ENV, NO_EMPTY_ARGV, NO_ESCALATION, NO_SHELL};
use super::checker::{BOUNDED_SIZES, NO_NUL, VALID_NAMES};
use super::deployment::{ALLOWED_EXECUTORS, CONFINED_MOUNTS, NO_HOST_NAMESPACES};
use super::image::LOCAL_IMAGES;
use super::paths::CONFINED_PATHS;
use super::service::ALLOWED_CAPS;

/// A policy rule: a name users can look up and its documentation
/// (`### What it checks`, `### Why`, `### Example`).
#[derive(Debug)]
pub struct Rule {
    pub name: &'static str,
    pub docs: &'static str,
}

/// Every rule, in the order `validate --explain` lists them.
pub const RULES: &[&Rule] = &[
    &NO_EMPTY_ARGV,
    &NO_NUL,
    &NO_SHELL,
    &NO_ESCALATION,
    &BOUNDED_SIZES,
    &BOUNDED_TIMEOUTS,
    &NO_DANGEROUS_ENV,
    &CONFINED_PATHS,
    &ALLOWED_CAPS,
    &LOCAL_IMAGES,
    &NO_HOST_NAMESPACES,
    &CONFINED_MOUNTS,
    &ALLOWED_EXECUTORS,
    &VALID_NAMES,
];

/// Looks a rule up by name, for `--explain`.
pub fn rule(name: &str) -> Option<&'static Rule> {
    RULES.iter().copied().find(|r| r.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    // It gives every rule the three documentation sections.
    #[test]
    fn rule_docs() {
        for r in RULES {
            for s in ["### What it checks", "### Why", "### Example"] {
                assert!(r.docs.contains(s), "{} lacks {s}", r.name);
            }
        }
        assert!(rule("no-shell").is_some());
    }
}
