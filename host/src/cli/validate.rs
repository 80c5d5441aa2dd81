//! `panther-host validate [FILE]`: checks an experiment file (without FILE, the embedded demo)
//! and the plugins it names; runs nothing. `validate --explain RULE` prints the documentation
//! of a policy rule.
//!
//! Parsing and printing only: the checks are `config::load`, `config::check_plugins_among`
//! and, as `run` and `plan` do, `run::planning::plan_experiment` (every plan rendered and judged
//! by the experiment's policy), so a file `validate` accepts is one `run` will not refuse.

use std::path::PathBuf;

use clap::Args;

use super::{GlobalArgs, EXIT_ERROR, EXIT_OK};
use crate::config;
use crate::plan::policy::RULES;

/// Check an experiment file and the plugins it names; run nothing.
#[derive(Debug, Clone, Args)]
#[command(
    after_help = "Exit codes: 0 the file is valid and the policy accepts every plan, 2 it is not or a plan is refused (every problem is printed on stderr)."
)]
pub struct ValidateCmd {
    /// The experiment file (TOML; see docs/EXPERIMENTS.md) [default: the demo, experiments/demo.toml, built into the binary].
    #[arg(value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// Print the documentation of a policy rule and exit (`--explain list` lists them).
    #[arg(long, value_name = "RULE", conflicts_with = "file")]
    pub explain: Option<String>,
    /// Check only the file itself: do not open the plugins (nor ask them for plans).
    #[arg(long)]
    pub no_plugins: bool,
}

/// Runs the command; returns the exit code.
pub fn run(cmd: &ValidateCmd, g: &GlobalArgs) -> u8 {
    if let Some(rule) = &cmd.explain {
        return explain(rule);
    }
    let exp = match super::load_experiment(cmd.file.as_deref()) {
        Ok(e) => e,
        Err(e) => {
            super::print_error(&e);
            return EXIT_ERROR;
        }
    };
    let file = exp.path.clone();
    let services: usize = exp.tests.iter().map(|t| t.services.len()).sum();
    let tests = plural(exp.tests.len(), "test");
    if cmd.no_plugins {
        println!("{}: valid ({tests}, {}); plugins not checked", file.display(), plural(services, "service"));
        return EXIT_OK;
    }
    let mut opts = crate::plugin::HostOptions::new(g.plugin_dirs(), &g.cache_root());
    opts.locked =
        g.locked.then(|| crate::plugin::bundled_dir().unwrap_or_else(|| "plugins-dist".into()).join("plugins.lock"));
    let host = match crate::plugin::PluginHost::open(opts) {
        Ok(h) => h,
        Err(e) => {
            super::print_error(&e);
            return EXIT_ERROR;
        }
    };
    for r in host.refused() {
        tracing::warn!("{r}");
    }
    let installed: Vec<_> = host.plugins().iter().map(|p| p.info.clone()).collect();
    let params = match config::check_plugins_among(&exp, &installed) {
        Ok(p) => p,
        Err(e) => {
            super::print_error(&e);
            return EXIT_ERROR;
        }
    };
    let policy = match crate::plan::Policy::from_choice(&exp.settings.policy) {
        Ok(p) => p,
        Err(e) => {
            super::print_error(&e);
            return EXIT_ERROR;
        }
    };
    let mut names: Vec<String> = exp
        .tests
        .iter()
        .flat_map(|t| t.services.iter().map(|s| s.implementation.clone()).chain([t.network.kind.clone()]))
        .collect();
    names.sort();
    names.dedup();
    let session = crate::run::Session {
        experiment: exp,
        host: std::sync::Arc::new(host),
        params,
        policy,
        cache_root: g.cache_root(),
    };
    let layout = crate::run::layout::RunLayout::new(
        &session.experiment.settings.output_dir,
        &session.experiment.name,
        "validate",
        &session.cache_root,
    );
    let planned = crate::run::planning::plan_experiment(&session, &layout);
    // A test case an IUT declares unsupported is skipped by `run`, not refused.
    let refused: Vec<_> =
        planned.iter().filter(|t| t.problems.iter().any(|p| crate::run::blocks_run(p.as_ref()))).collect();
    for t in &refused {
        for p in t.problems.iter().filter(|p| crate::run::blocks_run(p.as_ref())) {
            super::print_error(p.as_ref());
        }
    }
    if !refused.is_empty() {
        eprintln!(
            "error: {}: {} of {} cannot run: {}",
            file.display(),
            refused.len(),
            plural(planned.len(), "test"),
            refused.iter().map(|t| format!("`{}`", t.spec.name)).collect::<Vec<_>>().join(", ")
        );
        return EXIT_ERROR;
    }
    println!("{}: valid ({tests}, {}; plugins {})", file.display(), plural(services, "service"), names.join(", "));
    EXIT_OK
}

fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

fn explain(rule: &str) -> u8 {
    let names: Vec<&str> = RULES.iter().map(|r| r.name).collect();
    if rule == "list" {
        for r in RULES {
            println!("{}", r.name);
        }
        return EXIT_OK;
    }
    match RULES.iter().find(|r| r.name == rule) {
        Some(r) => {
            println!("{}\n\n{}", r.name, r.docs.trim());
            EXIT_OK
        }
        None => {
            let hint = match config::similar(rule, names.iter().copied()).first() {
                Some(s) => format!("did you mean `{s}`? "),
                None => String::new(),
            };
            eprintln!("error: there is no policy rule `{rule}`; {hint}the rules are: {}", names.join(", "));
            EXIT_ERROR
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct T {
        #[command(flatten)]
        v: ValidateCmd,
    }

    // FILE is optional (the embedded demo), and FILE and --explain exclude each other.
    #[test]
    fn parses() {
        let t = T::try_parse_from(["x", "e.toml", "--no-plugins"]).unwrap();
        assert_eq!(t.v.file.as_deref(), Some(std::path::Path::new("e.toml")));
        assert!(t.v.no_plugins);
        let t = T::try_parse_from(["x", "--explain", "no-shell"]).unwrap();
        assert_eq!(t.v.explain.as_deref(), Some("no-shell"));
        assert_eq!(T::try_parse_from(["x"]).unwrap().v.file, None);
        assert!(T::try_parse_from(["x", "e.toml", "--explain", "no-shell"]).is_err());
    }

    // Every rule can be explained; an unknown one is an error.
    #[test]
    fn explains_rules() {
        for r in RULES {
            assert_eq!(explain(r.name), EXIT_OK);
        }
        assert_eq!(explain("no-shel"), EXIT_ERROR);
    }
}
