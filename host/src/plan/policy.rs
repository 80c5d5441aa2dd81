//! Checks rendered plans against the experiment's policy.
//!
//! Owns [`Policy`], its rules and [`Violations`]. Every refusal names the plugin, the field
//! and the rule, and all violations of a plan are reported at once. Does not call plugins,
//! render templates or run anything.

use crate::plugin::types::{Command, ServicePlan};

use super::RenderContext;

/// A policy rule: a name users can look up and a short explanation.
#[derive(Debug)]
pub struct Rule {
    pub name: &'static str,
    pub docs: &'static str,
}

pub const NO_EMPTY_ARGV: Rule = Rule { name: "argv-not-empty", docs: "A command must name a program: argv[0] may not be empty." };
pub const NO_NUL: Rule = Rule { name: "no-nul-bytes", docs: "No argv item, env name or value, path or file may contain a NUL byte: the OS would silently cut it." };
pub const NO_SHELL: Rule = Rule { name: "no-shell", docs: "Commands are argv lists; `sh -c STRING` and the like are refused unless the policy allows a shell, because a shell string defeats argv-level checking." };
pub const BOUNDED_SIZES: Rule = Rule { name: "bounded-sizes", docs: "Plans are guest output that the host holds in memory and passes to the OS: argv items, env values, command counts and file contents are bounded." };
pub const BOUNDED_TIMEOUTS: Rule = Rule { name: "bounded-timeouts", docs: "A command timeout may not exceed the policy's maximum (default 2 h)." };
pub const NO_DANGEROUS_ENV: Rule = Rule { name: "no-loader-env", docs: "LD_PRELOAD, LD_AUDIT and similar variables change what every program loads; plans may not set them." };
pub const CONFINED_PATHS: Rule = Rule { name: "confined-paths", docs: "Working directories, artifact paths and written files must stay inside the run directory or the plugin's cache (no `..`, no absolute paths elsewhere)." };
pub const ALLOWED_CAPS: Rule = Rule { name: "allowed-capabilities", docs: "Linux capabilities a plan asks for must be on the policy's allow-list." };

/// Every rule, for `validate --explain`.
pub const RULES: &[&Rule] = &[&NO_EMPTY_ARGV, &NO_NUL, &NO_SHELL, &BOUNDED_SIZES, &BOUNDED_TIMEOUTS, &NO_DANGEROUS_ENV, &CONFINED_PATHS, &ALLOWED_CAPS];

/// What plans may ask for.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Policy {
    pub name: String,
    pub allow_shell: bool,
    pub max_arg_bytes: usize,
    pub max_args: usize,
    pub max_env_bytes: usize,
    pub max_commands: usize,
    pub max_file_bytes: usize,
    pub max_timeout_ms: u64,
    pub allowed_capabilities: Vec<String>,
    /// Extra path prefixes commands may use as working directory (besides the run and cache dirs).
    pub extra_paths: Vec<String>,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            name: "default".into(),
            allow_shell: false,
            max_arg_bytes: 64 * 1024,
            max_args: 4096,
            max_env_bytes: 64 * 1024,
            max_commands: 256,
            max_file_bytes: 1024 * 1024,
            max_timeout_ms: 2 * 3600 * 1000,
            allowed_capabilities: ["NET_ADMIN", "NET_RAW", "SYS_PTRACE"].map(String::from).to_vec(),
            extra_paths: vec![],
        }
    }
}

/// One broken rule.
#[derive(Debug, Clone, thiserror::Error, miette::Diagnostic, serde::Serialize)]
#[error("plugin `{plugin}`: {field}: {message} (rule `{rule}`)")]
#[diagnostic(code(panther::policy))]
pub struct PolicyViolation {
    pub plugin: String,
    pub field: String,
    pub rule: &'static str,
    pub message: String,
}

/// All violations of one plan.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("the {policy} policy refuses the plan of plugin `{plugin}` ({} violation{})", .violations.len(), if .violations.len() == 1 { "" } else { "s" })]
#[diagnostic(code(panther::policy::refused), help("`panther-host validate --explain RULE` explains a rule"))]
pub struct Violations {
    pub plugin: String,
    pub policy: String,
    #[related]
    pub violations: Vec<PolicyViolation>,
}

const SHELLS: &[&str] = &["sh", "bash", "dash", "zsh", "ksh", "busybox", "ash", "fish", "csh", "tcsh"];
const LOADER_ENV: &[&str] = &["LD_PRELOAD", "LD_AUDIT", "LD_LIBRARY_PATH_FORCE", "DYLD_INSERT_LIBRARIES", "GCONV_PATH", "BASH_ENV", "ENV"];

struct Checker<'a> {
    policy: &'a Policy,
    plugin: &'a str,
    roots: Vec<String>,
    out: Vec<PolicyViolation>,
}

impl Checker<'_> {
    fn violate(&mut self, field: String, rule: &Rule, message: String) {
        self.out.push(PolicyViolation { plugin: self.plugin.to_string(), field, rule: rule.name, message });
    }

    fn text(&mut self, field: &str, s: &str, max: usize) {
        if s.contains('\0') {
            self.violate(field.to_string(), &NO_NUL, "contains a NUL byte".into());
        }
        if s.len() > max {
            self.violate(field.to_string(), &BOUNDED_SIZES, format!("{} bytes, more than the limit of {max}", s.len()));
        }
    }

    fn path(&mut self, field: &str, p: &str) {
        self.text(field, p, 4096);
        let confined = std::path::Path::new(p).components().all(|c| !matches!(c, std::path::Component::ParentDir))
            && (!p.starts_with('/') || self.roots.iter().any(|r| p == r || p.starts_with(&format!("{}/", r.trim_end_matches('/')))));
        if !confined {
            self.violate(field.to_string(), &CONFINED_PATHS, format!("`{p}` is outside the run directory"));
        }
    }

    fn command(&mut self, at: &str, c: &Command) {
        match c.argv.first() {
            None => self.violate(format!("{at}.argv"), &NO_EMPTY_ARGV, "argv is empty".into()),
            Some(p) if p.is_empty() => self.violate(format!("{at}.argv[0]"), &NO_EMPTY_ARGV, "argv[0] is empty".into()),
            Some(p) => {
                let prog = p.rsplit('/').next().unwrap_or(p);
                if !self.policy.allow_shell && SHELLS.contains(&prog) && c.argv.iter().skip(1).any(|a| a == "-c" || a.starts_with('-') && a.ends_with('c') && !a.starts_with("--")) {
                    self.violate(format!("{at}.argv[0]"), &NO_SHELL, format!("`{prog} -c` runs a shell string; return the program and its arguments as argv items"));
                }
            }
        }
        if c.argv.len() > self.policy.max_args {
            self.violate(format!("{at}.argv"), &BOUNDED_SIZES, format!("{} arguments, more than {}", c.argv.len(), self.policy.max_args));
        }
        for (i, a) in c.argv.iter().enumerate() {
            self.text(&format!("{at}.argv[{i}]"), a, self.policy.max_arg_bytes);
        }
        for (k, v) in &c.env {
            self.text(&format!("{at}.env.{k}"), k, 256);
            self.text(&format!("{at}.env.{k}"), v, self.policy.max_env_bytes);
            if LOADER_ENV.contains(&k.as_str()) {
                self.violate(format!("{at}.env.{k}"), &NO_DANGEROUS_ENV, format!("`{k}` changes what programs load"));
            }
            if k.is_empty() || k.contains('=') {
                self.violate(format!("{at}.env"), &NO_NUL, format!("`{k}` is not a valid variable name"));
            }
        }
        if let Some(d) = &c.cwd {
            self.path(&format!("{at}.cwd"), d);
        }
        if let Some(t) = c.timeout_ms {
            if t > self.policy.max_timeout_ms {
                self.violate(format!("{at}.timeout-ms"), &BOUNDED_TIMEOUTS, format!("{t} ms, more than the maximum of {} ms", self.policy.max_timeout_ms));
            }
        }
    }
}

impl Policy {
    /// The `strict` preset: what a hardened CI uses.
    pub fn strict() -> Self {
        Policy {
            name: "strict".into(),
            max_timeout_ms: 30 * 60 * 1000,
            allowed_capabilities: vec!["NET_RAW".into()],
            ..Policy::default()
        }
    }

    /// Judges a rendered plan. `ctx` gives the directories paths may use.
    ///
    /// # Errors
    /// Every violation at once.
    pub fn check(&self, plugin: &str, plan: &ServicePlan, ctx: &RenderContext) -> Result<(), Violations> {
        let mut roots: Vec<String> = ctx.dirs.values().cloned().collect();
        roots.extend(self.extra_paths.iter().cloned());
        let mut c = Checker { policy: self, plugin, roots, out: vec![] };
        let p = &plan.phases;
        let all = [("pre_compile", &p.pre_compile), ("compile", &p.compile), ("post_compile", &p.post_compile), ("pre_run", &p.pre_run), ("run", &p.run), ("post_run", &p.post_run)];
        let total: usize = all.iter().map(|(_, cs)| cs.len()).sum();
        if total > self.max_commands {
            c.violate("phases".into(), &BOUNDED_SIZES, format!("{total} commands, more than {}", self.max_commands));
        }
        for (name, cs) in all {
            for (i, cmd) in cs.iter().enumerate() {
                c.command(&format!("phases.{name}[{i}]"), cmd);
            }
        }
        for (i, a) in plan.artifacts.iter().enumerate() {
            c.path(&format!("artifacts[{i}].path"), &a.path);
        }
        for (i, (path, content)) in plan.files.iter().enumerate() {
            c.path(&format!("files[{i}].path"), path);
            c.text(&format!("files[{i}].content"), content, self.max_file_bytes);
        }
        for (i, cap) in plan.capabilities.iter().enumerate() {
            if !self.allowed_capabilities.iter().any(|a| a.eq_ignore_ascii_case(cap)) {
                c.violate(format!("capabilities[{i}]"), &ALLOWED_CAPS, format!("`{cap}` is not in the allow-list ({})", self.allowed_capabilities.join(", ")));
            }
        }
        if c.out.is_empty() {
            Ok(())
        } else {
            Err(Violations { plugin: plugin.to_string(), policy: self.name.clone(), violations: c.out })
        }
    }
}
