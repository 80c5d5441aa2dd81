//! Checks rendered plans against the experiment's policy.
//!
//! Owns [`Policy`] (the presets `default` and `strict`, and policy files), its rules
//! ([`RULES`]) and [`Violations`]. Every refusal names the plugin, the field and the rule, and
//! all violations of a plan are reported at once. Does not call plugins, render templates or
//! run anything.
//!
//! Two entry points judge what plugins return: [`Policy::check`] for a service plan and
//! [`Policy::check_deployment`] for an environment's deployment plan. A third,
//! [`Policy::check_image_bases`], judges the image bases of all plans of an experiment together,
//! because "another plan's image" is only known once every plan is in.

use std::collections::BTreeSet;
use std::path::{Component, Path, PathBuf};

use crate::plugin::types::{Command, EnvironmentKind, ImageSpec, ReadinessCondition, ServicePlan};
use crate::plugin::wit::latest::env::DeploymentPlan;

use super::confine::Confinement;
use super::RenderContext;

/// A policy rule: a name users can look up and its documentation
/// (`### What it checks`, `### Why`, `### Example`).
#[derive(Debug)]
pub struct Rule {
    pub name: &'static str,
    pub docs: &'static str,
}

pub const NO_EMPTY_ARGV: Rule = Rule {
    name: "argv-not-empty",
    docs: "### What it checks\nEvery command (and image build step) names a program: `argv` is not empty and `argv[0]` is not an empty string.\n\n### Why\nAn empty argv cannot be run; an empty program name would make the executor guess.\n\n### Example\n`argv = []` is refused; `argv = [\"picoquicdemo\", \"-p\", \"4443\"]` is fine.",
};
pub const NO_NUL: Rule = Rule {
    name: "no-nul-bytes",
    docs: "### What it checks\nNo argv item, environment name or value, path, file content, image field, mount or network field contains a NUL byte.\n\n### Why\nThe OS cuts C strings at NUL: `/run/x\\0/../../etc` would be checked as one path and used as another.\n\n### Example\n`argv = [\"cat\", \"{{dirs.logs}}/a\\u0000/etc/shadow\"]` is refused.",
};
pub const NO_SHELL: Rule = Rule {
    name: "no-shell",
    docs: "### What it checks\nNo command hands a string to an interpreter. Refused, wherever the interpreter appears in argv (so also behind `env`, `timeout`, `nice`, `xargs`, `find -exec`, `busybox`):\n* shells (`sh`, `bash`, `dash`, `zsh`, `ksh`, `ash`, `fish`, `csh`, `tcsh`, `busybox sh`) with `-c` or a short-flag cluster containing `c` (`-ec`, `-lc`);\n* `python`, `python3`, `python3.11`, `pypy` with `-c`; `perl` with `-e`/`-E`; `ruby` with `-e`; `node` with `-e`/`-p`/`--eval`/`--print`; `php` with `-r`; `lua` with `-e`; `tclsh`/`expect` with `-c`;\n* programs whose own option takes a shell string: `su -c`, `runuser -c`, `script -c`, `flock -c`, `env -S`/`--split-string`, and `watch` (which always runs its arguments through `sh -c`).\nRunning a script file (`bash build.sh`, `python3 tool.py`) is allowed: the file is a plan file or part of an image, and is checked like any other file. A policy file can set `allow_shell = true`; the strict preset never does.\n\n### Why\nThe host checks argv item by item. A shell string is parsed again by the shell, so `;`, `&&`, `$(...)`, backticks and redirections inside it escape every argv-level check, and a late-bound value rendered into it can inject commands.\n\n### Example\n`argv = [\"env\", \"-i\", \"sh\", \"-c\", \"make && ./srv\"]` is refused; return `[\"make\"]` and `[\"./srv\"]` as two commands.",
};
pub const NO_ESCALATION: Rule = Rule {
    name: "no-escalation",
    docs: "### What it checks\n`argv[0]` (after wrappers such as `env` or `timeout`) is not a program that changes privileges or reaches around the executor: `sudo`, `su`, `doas`, `pkexec`, `runuser`, `setpriv`, `capsh`, `nsenter`, `unshare`, `chroot`, `mount`, `umount`, `insmod`, `modprobe`, `rmmod`, `docker`, `podman`, `nerdctl`, `ctr`, `crictl`, `kubectl`, `systemctl`, `systemd-run`, `iptables`, `nft`, `sysctl`.\n\n### Why\nThe executor decides privileges, namespaces and containers. A plan that runs `docker run --privileged -v /:/host` or `nsenter -t 1` from inside a service would undo every other rule.\n\n### Example\n`argv = [\"sudo\", \"tc\", \"qdisc\", \"add\", ...]` is refused; ask for the `NET_ADMIN` capability and run `tc` directly.",
};
pub const BOUNDED_SIZES: Rule = Rule {
    name: "bounded-sizes",
    docs: "### What it checks\nArgv items, argv length, environment values, command counts, file contents and counts, ports, artifacts, image packages and steps, the whole plan's text, and a deployment's networks and placements stay under the policy's limits (`max_arg_bytes`, `max_args`, `max_env_bytes`, `max_commands`, `max_file_bytes`, `max_files`, `max_plan_bytes`, `max_services`, ...).\n\n### Why\nPlans are guest output that the host holds in memory, writes to disk and passes to the OS (whose `ARG_MAX` is finite). A plugin must not be able to exhaust the host with one answer.\n\n### Example\nA plan with 10 000 commands, or one argv item of 10 MiB, is refused.",
};
pub const BOUNDED_TIMEOUTS: Rule = Rule {
    name: "bounded-timeouts",
    docs: "### What it checks\nEvery command timeout and the readiness timeout are at most `max_timeout_ms` (default 2 h, strict 30 min), and readiness timeouts are not zero.\n\n### Why\nA test must end: an absurd timeout turns a hung implementation into a CI job that never finishes.\n\n### Example\n`timeout-ms = 18446744073709551615` is refused.",
};
pub const NO_DANGEROUS_ENV: Rule = Rule {
    name: "no-loader-env",
    docs: "### What it checks\nNo command, build step or placement sets a variable that changes what programs load or run: any `LD_*` except `LD_LIBRARY_PATH` and `LD_BIND_NOW`, `DYLD_*`, `GLIBC_TUNABLES`, `GCONV_PATH`, `BASH_ENV`, `ENV`, `BASH_FUNC_*`, `SHELLOPTS`, `PS4`, `PROMPT_COMMAND`, `IFS`, `PYTHONSTARTUP`, `PYTHONINSPECT`, `PERL5OPT`, `PERL5DB`, `RUBYOPT`, `NODE_OPTIONS`, `JAVA_TOOL_OPTIONS`, `_JAVA_OPTIONS`, `MALLOC_CHECK_`-style allocator hooks are allowed.\n\n### Why\n`LD_PRELOAD=/run/x.so` injects code into every program of the service, including ones the plan did not name; `BASH_ENV` and `NODE_OPTIONS` run code before the program starts.\n\n### Example\n`env = [(\"LD_PRELOAD\", \"{{dirs.work}}/hook.so\")]` is refused.",
};
pub const CONFINED_PATHS: Rule = Rule {
    name: "confined-paths",
    docs: "### What it checks\nWorking directories, artifact paths, readiness files and written files stay inside the service's directories (`dirs.*`) or the policy's `extra_paths`: relative paths may not contain `..`, absolute paths must start with one of those roots, and where the path exists on the host it is canonicalised first, so a symlink that points outside is refused too.\n\n### Why\nThe host itself writes plan files and collects artifacts. `files = [(\"/home/me/.bashrc\", ...)]` or an artifact `{{dirs.logs}}/../../.ssh` would make the host read or write outside the run.\n\n### Example\n`cwd = \"{{dirs.work}}/../../etc\"` and `files[0].path = \"/etc/cron.d/x\"` are refused.",
};
pub const ALLOWED_CAPS: Rule = Rule {
    name: "allowed-capabilities",
    docs: "### What it checks\nEvery Linux capability a plan asks for is on the policy's `allowed_capabilities` (default `NET_ADMIN`, `NET_RAW`, `SYS_PTRACE`; strict `NET_ADMIN`, `NET_RAW`). `ALL`, `SYS_ADMIN`, `SYS_MODULE`, `SYS_RAWIO`, `MKNOD`, `DAC_READ_SEARCH`, `BPF` and `SYS_BOOT` are refused even when a policy file lists them, because each is equivalent to a privileged container or host device access. `privileged` is refused as a capability name.\n\n### Why\nCapabilities are the only privilege a plan can ask for; the allow-list keeps that privilege to what network tests need.\n\n### Example\n`capabilities = [\"SYS_ADMIN\"]` is refused; `[\"NET_ADMIN\"]` is fine.",
};
pub const LOCAL_IMAGES: Rule = Rule {
    name: "local-images",
    docs: "### What it checks\nImage names are plain local names (lower-case letters, digits, `.`, `_`, `-`; no registry host, no `/`, no tag, no digest). With `local_images_only` (strict) the base is `panther-base:TAG` or the name of an image another plan of the same experiment builds. Packages are Debian package names (no leading `-`, so no apt option can be smuggled in), source URLs are `https://` without credentials, and `rev` is not empty; with `pinned_sources` (strict) it is a full commit id.\n\n### Why\nA registry reference pulls code nobody reviewed into the test (and, on a machine without a registry, fails late and confusingly). Strict CI builds every image from the local base it made itself.\n\n### Example\n`base = \"docker.io/evil/root:latest\"` and `packages = [\"-oAPT::Get::AllowUnauthenticated=1\"]` are refused.",
};
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
pub const VALID_NAMES: Rule = Rule {
    name: "valid-names",
    docs: "### What it checks\nNames the host passes to the OS or Docker are well formed: environment variable names match `[A-Za-z_][A-Za-z0-9_]*`; port names, network names, host names and aliases match `[A-Za-z0-9][A-Za-z0-9_.-]*`; build-arg names like variables; port and service names are unique.\n\n### Why\nA name is used as a key, a DNS name and a command-line value. `A=B` as a variable name, or `--privileged` as an alias, would be read as something else.\n\n### Example\n`env = [(\"X=1 LD_PRELOAD\", \"...\")]` and `aliases = [\"--network=host\"]` are refused.",
};

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

/// Names of the built-in presets.
pub const PRESETS: &[&str] = &["default", "strict"];

/// What plans may ask for. A policy file sets any of these keys; `extends` names the preset
/// the others override (default `default`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Policy {
    pub name: String,
    /// The preset a policy file starts from; only meaningful in files.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extends: Option<String>,
    /// Executors tests may use: `localhost`, `docker`, `shadow`.
    pub executors: Vec<String>,
    pub allow_shell: bool,
    /// Image bases must be `panther-base:*` or another plan's image.
    pub local_images_only: bool,
    /// Every deployment network must be `internal`.
    pub internal_networks_only: bool,
    /// Every upstream source is pinned to a full commit id (no tags: a tag can be moved).
    pub pinned_sources: bool,
    pub max_arg_bytes: usize,
    pub max_args: usize,
    pub max_env_bytes: usize,
    pub max_env_vars: usize,
    pub max_commands: usize,
    pub max_file_bytes: usize,
    pub max_files: usize,
    pub max_ports: usize,
    pub max_artifacts: usize,
    /// Sum of every string of one plan.
    pub max_plan_bytes: usize,
    /// Placements of one deployment.
    pub max_services: usize,
    pub max_timeout_ms: u64,
    pub allowed_capabilities: Vec<String>,
    /// Extra path prefixes plans may use (besides the service's `dirs.*`).
    pub extra_paths: Vec<String>,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            name: "default".into(),
            extends: None,
            executors: ["localhost", "docker", "shadow"].map(String::from).to_vec(),
            allow_shell: false,
            local_images_only: false,
            internal_networks_only: false,
            pinned_sources: false,
            max_arg_bytes: 64 * 1024,
            max_args: 4096,
            max_env_bytes: 64 * 1024,
            max_env_vars: 256,
            max_commands: 256,
            max_file_bytes: 1024 * 1024,
            max_files: 256,
            max_ports: 64,
            max_artifacts: 256,
            max_plan_bytes: 8 * 1024 * 1024,
            max_services: 64,
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
#[error("the {policy} policy refuses the plan of plugin `{plugin}`: {}", summary(.violations))]
#[diagnostic(code(panther::policy::refused), help("`panther-host validate --explain RULE` explains a rule"))]
pub struct Violations {
    pub plugin: String,
    pub policy: String,
    #[related]
    pub violations: Vec<PolicyViolation>,
}

/// `field (rule `r`)` for each violation: enough to act on in one line (a summary table, a
/// JUnit message); the full messages are the `#[related]` diagnostics.
fn summary(vs: &[PolicyViolation]) -> String {
    const SHOWN: usize = 8;
    let mut parts: Vec<String> = vs.iter().take(SHOWN).map(|v| format!("{} (rule `{}`)", v.field, v.rule)).collect();
    if vs.len() > SHOWN {
        parts.push(format!("and {} more", vs.len() - SHOWN));
    }
    parts.join("; ")
}

impl Violations {
    /// Whether some violation is of `rule`.
    pub fn has(&self, rule: &Rule) -> bool {
        self.violations.iter().any(|v| v.rule == rule.name)
    }
}

/// A policy file that could not be used.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum PolicyError {
    #[error("cannot read policy file {}: {source}", path.display())]
    #[diagnostic(code(panther::policy::read))]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid policy file {}:{line}:{col}: {message}", path.display())]
    #[diagnostic(
        code(panther::policy::file),
        help("keys a policy file may set: {}; `extends` names a preset ({})", policy_keys().join(", "), PRESETS.join(", "))
    )]
    Parse {
        path: PathBuf,
        line: usize,
        col: usize,
        message: String,
        #[source_code]
        src: miette::NamedSource<String>,
        #[label("here")]
        span: Option<miette::SourceSpan>,
    },
    #[error("unknown policy preset `{name}`; presets: {}", PRESETS.join(", "))]
    #[diagnostic(code(panther::policy::preset), help("use a preset name or a path to a policy file (TOML)"))]
    UnknownPreset { name: String },
}

fn policy_keys() -> Vec<String> {
    match toml::Table::try_from(Policy::default()) {
        Ok(t) => t.keys().cloned().chain(std::iter::once("extends".to_string())).collect(),
        Err(_) => vec![],
    }
}

// ----- what counts as what -----

const SHELLS: &[&str] =
    &["sh", "bash", "dash", "zsh", "ksh", "mksh", "ash", "fish", "csh", "tcsh", "rbash", "yash", "busybox"];
/// Interpreters and the flags that make them run their next argument as code.
const INLINE_CODE: &[(&str, &[&str])] = &[
    ("python", &["-c"]),
    ("pypy", &["-c"]),
    ("perl", &["-e", "-E"]),
    ("ruby", &["-e"]),
    ("node", &["-e", "-p", "--eval", "--print"]),
    ("nodejs", &["-e", "-p", "--eval", "--print"]),
    ("deno", &["eval"]),
    ("php", &["-r"]),
    ("lua", &["-e"]),
    ("tclsh", &["-c"]),
    ("expect", &["-c"]),
    ("osascript", &["-e"]),
];
/// Programs whose own option takes a shell string.
const SHELL_STRING_OPTS: &[(&str, &[&str])] = &[
    ("su", &["-c", "--command", "--session-command"]),
    ("runuser", &["-c", "--command", "--session-command"]),
    ("script", &["-c", "--command"]),
    ("flock", &["-c", "--command"]),
    ("env", &["-S", "--split-string"]),
];
const ESCALATION: &[&str] = &[
    "sudo",
    "su",
    "doas",
    "pkexec",
    "runuser",
    "setpriv",
    "capsh",
    "nsenter",
    "unshare",
    "chroot",
    "mount",
    "umount",
    "insmod",
    "modprobe",
    "rmmod",
    "docker",
    "podman",
    "nerdctl",
    "ctr",
    "crictl",
    "kubectl",
    "systemctl",
    "systemd-run",
    "iptables",
    "ip6tables",
    "nft",
    "sysctl",
];
const LOADER_ENV: &[&str] = &[
    "GLIBC_TUNABLES",
    "GCONV_PATH",
    "BASH_ENV",
    "ENV",
    "SHELLOPTS",
    "BASHOPTS",
    "PS4",
    "PROMPT_COMMAND",
    "IFS",
    "PYTHONSTARTUP",
    "PYTHONINSPECT",
    "PERL5OPT",
    "PERL5DB",
    "PERLLIB",
    "PERL5LIB",
    "RUBYOPT",
    "NODE_OPTIONS",
    "JAVA_TOOL_OPTIONS",
    "_JAVA_OPTIONS",
    "JDK_JAVA_OPTIONS",
    "LOCPATH",
    "NLSPATH",
    "HOSTALIASES",
    "RESOLV_HOST_CONF",
];
const LOADER_ENV_OK: &[&str] = &["LD_LIBRARY_PATH", "LD_BIND_NOW"];
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
/// The directories a mount may name (wit `mount.dir`).
pub const MOUNT_DIRS: &[&str] = &["logs", "www", "downloads", "certs", "qlog", "work", "cache", "tools"];
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
/// The longest name (variable, network, alias) the host accepts.
const MAX_NAME_BYTES: usize = 253;
/// The longest path the host accepts (Linux PATH_MAX).
const MAX_PATH_BYTES: usize = 4096;

fn basename(p: &str) -> &str {
    p.rsplit('/').next().unwrap_or(p)
}

/// `python3.11` → `python`, `perl5.36` → `perl`, `bash5` → `bash`: interpreters are often
/// called by a versioned name.
fn interpreter_family(prog: &str) -> &str {
    let stem = prog.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
    if stem.is_empty() {
        prog
    } else {
        stem
    }
}

/// A short-option cluster such as `-ec` or `-lc` that contains `c`.
fn is_shell_c(arg: &str) -> bool {
    arg == "-c"
        || arg == "--command"
        || (arg.starts_with('-')
            && !arg.starts_with("--")
            && arg.len() > 1
            && arg[1..].chars().all(|c| c.is_ascii_alphabetic())
            && arg.contains('c'))
}

fn is_env_name(k: &str) -> bool {
    let mut cs = k.chars();
    matches!(cs.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && cs.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn is_plain_name(k: &str) -> bool {
    let mut cs = k.chars();
    k.len() <= MAX_NAME_BYTES
        && matches!(cs.next(), Some(c) if c.is_ascii_alphanumeric())
        && cs.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
}

fn is_loader_env(k: &str) -> bool {
    (k.starts_with("LD_") && !LOADER_ENV_OK.contains(&k))
        || k.starts_with("DYLD_")
        || k.starts_with("BASH_FUNC_")
        || LOADER_ENV.contains(&k)
}

/// Why `argv` hands code to an interpreter, if it does.
pub fn shell_string_in(argv: &[String]) -> Option<(usize, String)> {
    for (i, item) in argv.iter().enumerate() {
        let prog = basename(item);
        let rest = &argv[i + 1..];
        // Only items that could be a program: argv[0], or anything that follows a wrapper.
        // Scanning every item is deliberately conservative (`find -exec sh -c`, `xargs sh -c`).
        if SHELLS.contains(&interpreter_family(prog)) || SHELLS.contains(&prog) {
            // `busybox sh -c` is found when the scan reaches `sh`.
            if prog == "busybox" {
                continue;
            }
            if let Some(flag) = rest.iter().find(|a| is_shell_c(a)) {
                return Some((i, format!("`{prog} {flag}` runs a shell string")));
            }
        }
        let fam = interpreter_family(prog);
        if let Some((_, flags)) = INLINE_CODE.iter().find(|(n, _)| *n == fam) {
            if let Some(flag) = rest.iter().find(|a| {
                flags.contains(&a.as_str())
                    || flags.iter().any(|f| f.starts_with("--") && a.starts_with(&format!("{f}=")))
            }) {
                return Some((i, format!("`{prog} {flag}` runs code given as an argument")));
            }
        }
        if let Some((_, flags)) = SHELL_STRING_OPTS.iter().find(|(n, _)| *n == prog) {
            if let Some(flag) = rest
                .iter()
                .find(|a| flags.contains(&a.as_str()) || flags.iter().any(|f| a.starts_with(&format!("{f}="))))
            {
                return Some((i, format!("`{prog} {flag}` runs a shell string")));
            }
        }
        if prog == "watch" && !rest.iter().any(|a| a == "-x" || a == "--exec") {
            return Some((i, "`watch` runs its arguments through `sh -c` (use `watch -x`)".into()));
        }
    }
    None
}

/// Wrappers that run the rest of their argv as the real program.
const WRAPPERS: &[&str] = &[
    "env", "nice", "nohup", "timeout", "stdbuf", "setsid", "taskset", "ionice", "chrt", "time", "exec", "command",
    "xargs", "busybox",
];

/// The program that really runs: `argv[0]`, or the first non-option item after wrappers.
fn effective_programs(argv: &[String]) -> Vec<&str> {
    let mut out = vec![];
    let mut it = argv.iter().map(|s| basename(s));
    let Some(first) = it.next() else { return out };
    out.push(first);
    if !WRAPPERS.contains(&first) {
        return out;
    }
    // Every non-option word after a wrapper may be the program (durations and `NAME=VALUE`
    // are not programs we look for, so listing them is harmless).
    for w in it {
        if !w.starts_with('-') && !w.contains('=') {
            out.push(w);
        }
    }
    out
}

// ----- the checker -----

struct Checker<'a> {
    policy: &'a Policy,
    plugin: &'a str,
    /// The service's directories, as the plan sees them (for messages).
    roots: Vec<String>,
    confinement: Confinement,
    work: Option<String>,
    out: Vec<PolicyViolation>,
}

impl<'a> Checker<'a> {
    fn new(policy: &'a Policy, plugin: &'a str, roots: Vec<String>, work: Option<String>) -> Self {
        let confinement = Confinement::new(&roots);
        Checker { policy, plugin, roots, confinement, work, out: vec![] }
    }

    fn violate(&mut self, field: impl Into<String>, rule: &Rule, message: impl Into<String>) {
        self.out.push(PolicyViolation {
            plugin: self.plugin.to_string(),
            field: field.into(),
            rule: rule.name,
            message: message.into(),
        });
    }

    fn text(&mut self, field: &str, s: &str, max: usize) {
        if s.contains('\0') {
            self.violate(field, &NO_NUL, "contains a NUL byte");
        }
        if s.len() > max {
            self.violate(field, &BOUNDED_SIZES, format!("{} bytes, more than the limit of {max}", s.len()));
        }
    }

    fn name(&mut self, field: &str, s: &str, what: &str) {
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

    fn path(&mut self, field: &str, p: &str) {
        self.text(field, p, MAX_PATH_BYTES);
        if p.contains('\0') {
            return;
        }
        let path = Path::new(p);
        // A relative path with no working directory to anchor it is taken from wherever the
        // executor runs the command: its own directories.
        let Some(base) = self.work.as_deref().map(Path::new).or(path.is_absolute().then_some(Path::new("/"))) else {
            return;
        };
        if let Err(why) = self.confinement.check(path, base) {
            self.violate(
                field,
                &CONFINED_PATHS,
                format!("`{}` is outside the service's directories ({}): it {why}", shorten(p), self.roots.join(", ")),
            );
        }
    }

    fn env(&mut self, at: &str, env: &[(String, String)]) {
        if env.len() > self.policy.max_env_vars {
            self.violate(
                at,
                &BOUNDED_SIZES,
                format!("{} variables, more than {}", env.len(), self.policy.max_env_vars),
            );
        }
        let mut seen = BTreeSet::new();
        for (k, v) in env {
            let field = format!("{at}.{}", shorten(k));
            self.text(&field, k, MAX_NAME_BYTES);
            self.text(&field, v, self.policy.max_env_bytes);
            if !k.contains('\0') && !is_env_name(k) {
                self.violate(
                    &field,
                    &VALID_NAMES,
                    format!("`{}` is not a valid variable name ([A-Za-z_][A-Za-z0-9_]*)", shorten(k)),
                );
            }
            if is_loader_env(k) {
                self.violate(&field, &NO_DANGEROUS_ENV, format!("`{k}` changes what programs load or run"));
            }
            if !seen.insert(k.as_str()) {
                self.violate(&field, &VALID_NAMES, format!("`{}` is set twice", shorten(k)));
            }
        }
    }

    fn argv(&mut self, at: &str, argv: &[String]) {
        match argv.first() {
            None => self.violate(format!("{at}.argv"), &NO_EMPTY_ARGV, "argv is empty"),
            Some(p) if p.is_empty() => self.violate(format!("{at}.argv[0]"), &NO_EMPTY_ARGV, "argv[0] is empty"),
            Some(_) => {
                if !self.policy.allow_shell {
                    if let Some((i, why)) = shell_string_in(argv) {
                        self.violate(
                            format!("{at}.argv[{i}]"),
                            &NO_SHELL,
                            format!("{why}; return the program and its arguments as argv items"),
                        );
                    }
                }
                if let Some(prog) = effective_programs(argv).into_iter().find(|p| ESCALATION.contains(p)) {
                    self.violate(
                        format!("{at}.argv"),
                        &NO_ESCALATION,
                        format!("`{prog}` changes privileges or reaches around the executor"),
                    );
                }
            }
        }
        if argv.len() > self.policy.max_args {
            self.violate(
                format!("{at}.argv"),
                &BOUNDED_SIZES,
                format!("{} arguments, more than {}", argv.len(), self.policy.max_args),
            );
        }
        for (i, a) in argv.iter().enumerate() {
            self.text(&format!("{at}.argv[{i}]"), a, self.policy.max_arg_bytes);
        }
    }

    fn command(&mut self, at: &str, c: &Command) {
        self.argv(at, &c.argv);
        self.env(&format!("{at}.env"), &c.env);
        if let Some(d) = &c.cwd {
            self.path(&format!("{at}.cwd"), d);
        }
        if let Some(t) = c.timeout_ms {
            if t > self.policy.max_timeout_ms {
                self.violate(
                    format!("{at}.timeout-ms"),
                    &BOUNDED_TIMEOUTS,
                    format!("{t} ms, more than the maximum of {} ms", self.policy.max_timeout_ms),
                );
            }
        }
        self.text(&format!("{at}.description"), &c.description, self.policy.max_arg_bytes);
    }

    fn image(&mut self, img: &ImageSpec) {
        self.text("image.name", &img.name, MAX_NAME_BYTES);
        if !img.name.contains('\0') && (!is_plain_name(&img.name) || img.name.chars().any(|c| c.is_ascii_uppercase())) {
            self.violate("image.name", &LOCAL_IMAGES, format!("`{}` is not a local image name (lower-case letters, digits, `.`, `_`, `-`; no registry, tag or digest)", shorten(&img.name)));
        }
        self.text("image.base", &img.base, MAX_NAME_BYTES);
        if !img.base.contains('\0') {
            if let Some(why) = registry_ref(&img.base) {
                self.violate(
                    "image.base",
                    &LOCAL_IMAGES,
                    format!("`{}` {why}; build on `panther-base:bookworm` or another plan's image", shorten(&img.base)),
                );
            } else if self.policy.local_images_only && img.base.contains(':') && !img.base.starts_with("panther-base:")
            {
                self.violate("image.base", &LOCAL_IMAGES, format!("`{}` is a tagged image the host did not build; use `panther-base:TAG` or another plan's image name", shorten(&img.base)));
            }
        }
        if img.packages.len() > self.policy.max_args {
            self.violate(
                "image.packages",
                &BOUNDED_SIZES,
                format!("{} packages, more than {}", img.packages.len(), self.policy.max_args),
            );
        }
        for (i, p) in img.packages.iter().enumerate() {
            let f = format!("image.packages[{i}]");
            self.text(&f, p, MAX_NAME_BYTES);
            let ok = p.chars().next().is_some_and(|c| c.is_ascii_alphanumeric())
                && p.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+-.:=~_".contains(c));
            if !p.contains('\0') && !ok {
                self.violate(
                    &f,
                    &LOCAL_IMAGES,
                    format!(
                        "`{}` is not a Debian package name (an apt option or path would be read as one)",
                        shorten(p)
                    ),
                );
            }
        }
        for (i, s) in img.sources.iter().enumerate() {
            let at = format!("image.sources[{i}]");
            self.name(&format!("{at}.name"), &s.name, "source name");
            self.text(&format!("{at}.url"), &s.url, MAX_PATH_BYTES);
            let url_ok = s.url.strip_prefix("https://").is_some_and(|rest| {
                let host = rest.split('/').next().unwrap_or("");
                !host.is_empty() && !host.contains('@') && rest.chars().all(|c| c.is_ascii_graphic())
            });
            if !url_ok {
                self.violate(
                    format!("{at}.url"),
                    &LOCAL_IMAGES,
                    format!("`{}` is not an https URL without credentials", shorten(&s.url)),
                );
            }
            self.text(&format!("{at}.rev"), &s.rev, MAX_NAME_BYTES);
            if s.rev.is_empty() || s.rev.starts_with('-') || s.rev.chars().any(|c| c.is_whitespace()) {
                self.violate(
                    format!("{at}.rev"),
                    &LOCAL_IMAGES,
                    format!("`{}` is not a commit or tag", shorten(&s.rev)),
                );
            } else if self.policy.pinned_sources && !crate::exec::sources::is_full_commit(&s.rev) {
                self.violate(
                    format!("{at}.rev"),
                    &LOCAL_IMAGES,
                    format!(
                        "`{}` is not a full commit id; this policy pins sources to commits (a tag can move)",
                        shorten(&s.rev)
                    ),
                );
            }
            self.image_path(&format!("{at}.dest"), &s.dest);
        }
        if img.steps.len() > self.policy.max_commands {
            self.violate(
                "image.steps",
                &BOUNDED_SIZES,
                format!("{} build steps, more than {}", img.steps.len(), self.policy.max_commands),
            );
        }
        for (i, s) in img.steps.iter().enumerate() {
            let at = format!("image.steps[{i}]");
            self.argv(&at, &s.argv);
            self.env(&format!("{at}.env"), &s.env);
            if let Some(w) = &s.workdir {
                self.image_path(&format!("{at}.workdir"), w);
            }
        }
        for (k, v) in &img.build_args {
            let f = format!("image.build-args.{}", shorten(k));
            self.text(&f, k, MAX_NAME_BYTES);
            self.text(&f, v, self.policy.max_env_bytes);
            if !k.contains('\0') && !is_env_name(k) {
                self.violate(&f, &VALID_NAMES, format!("`{}` is not a valid build-arg name", shorten(k)));
            }
            if is_loader_env(k) {
                self.violate(&f, &NO_DANGEROUS_ENV, format!("`{k}` changes what programs load or run"));
            }
        }
        if let Some(w) = &img.workdir {
            self.image_path("image.workdir", w);
        }
    }

    /// A path inside an image being built: absolute, without `..`.
    fn image_path(&mut self, field: &str, p: &str) {
        self.text(field, p, MAX_PATH_BYTES);
        if !p.starts_with('/') || Path::new(p).components().any(|c| matches!(c, Component::ParentDir)) {
            self.violate(
                field,
                &CONFINED_PATHS,
                format!("`{}` must be an absolute path without `..` inside the image", shorten(p)),
            );
        }
    }
}

/// Why an image reference would reach a registry, if it would.
fn registry_ref(r: &str) -> Option<&'static str> {
    if r.is_empty() {
        return Some("is empty");
    }
    if r.contains('@') {
        return Some("is a digest reference (pulled from a registry)");
    }
    if r.contains('/') {
        return Some("names a registry or repository path");
    }
    let (name, tag) = r.split_once(':').unwrap_or((r, ""));
    if !is_plain_name(name) || name.chars().any(|c| c.is_ascii_uppercase()) || (r.contains(':') && !is_plain_name(tag))
    {
        return Some("is not a local image reference");
    }
    None
}

/// Long guest strings are cut in messages: the refusal must stay readable.
fn shorten(s: &str) -> String {
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

fn kind_name(k: EnvironmentKind) -> &'static str {
    match k {
        EnvironmentKind::Localhost => "localhost",
        EnvironmentKind::Docker => "docker",
        EnvironmentKind::Shadow => "shadow",
    }
}

impl Policy {
    /// The `strict` preset: what a hardened CI uses (see SECURITY.md).
    pub fn strict() -> Self {
        Policy {
            name: "strict".into(),
            executors: vec!["docker".into()],
            local_images_only: true,
            internal_networks_only: true,
            pinned_sources: true,
            max_arg_bytes: 16 * 1024,
            max_args: 1024,
            max_env_bytes: 16 * 1024,
            max_env_vars: 128,
            max_commands: 128,
            max_file_bytes: 256 * 1024,
            max_files: 64,
            max_ports: 16,
            max_artifacts: 64,
            max_plan_bytes: 2 * 1024 * 1024,
            max_services: 32,
            max_timeout_ms: 30 * 60 * 1000,
            allowed_capabilities: vec!["NET_ADMIN".into(), "NET_RAW".into()],
            ..Policy::default()
        }
    }

    /// A built-in preset by name.
    ///
    /// # Errors
    /// [`PolicyError::UnknownPreset`] for a name that is not in [`PRESETS`].
    pub fn preset(name: &str) -> Result<Policy, PolicyError> {
        match name {
            "default" => Ok(Policy::default()),
            "strict" => Ok(Policy::strict()),
            other => Err(PolicyError::UnknownPreset { name: other.to_string() }),
        }
    }

    /// A preset name, or else a path to a policy file.
    ///
    /// # Errors
    /// As [`Policy::load`], or [`PolicyError::UnknownPreset`] for a word that is neither.
    pub fn from_name_or_path(s: &str) -> Result<Policy, PolicyError> {
        if PRESETS.contains(&s) {
            return Policy::preset(s);
        }
        let p = Path::new(s);
        if p.extension().is_some() || s.contains('/') || p.exists() {
            Policy::load(p)
        } else {
            Err(PolicyError::UnknownPreset { name: s.to_string() })
        }
    }

    /// Reads a policy file (TOML). Keys it sets override the preset named by `extends`
    /// (default `default`); `name` defaults to the file's stem.
    ///
    /// # Errors
    /// [`PolicyError::Read`] when the file cannot be read, [`PolicyError::Parse`] with
    /// file:line:col for bad TOML, unknown keys, wrong types and unknown presets.
    pub fn load(path: &Path) -> Result<Policy, PolicyError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| PolicyError::Read { path: path.to_path_buf(), source })?;
        let mut p = Policy::from_toml(path, &text)?;
        if !text.lines().any(|l| l.trim_start().starts_with("name")) {
            p.name = path.file_stem().map_or_else(|| "custom".into(), |s| s.to_string_lossy().into_owned());
        }
        Ok(p)
    }

    /// Parses policy text; `path` only names it in errors.
    ///
    /// # Errors
    /// As [`Policy::load`].
    pub fn from_toml(path: &Path, text: &str) -> Result<Policy, PolicyError> {
        let parse_err = |span: Option<std::ops::Range<usize>>, message: String| {
            let at = span.as_ref().map_or(0, |s| s.start.min(text.len()));
            let before = &text[..at];
            let line = before.matches('\n').count() + 1;
            let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            PolicyError::Parse {
                path: path.to_path_buf(),
                line,
                col,
                message,
                src: miette::NamedSource::new(path.display().to_string(), text.to_string()),
                span: span.map(|s| miette::SourceSpan::from(s.start..s.end.max(s.start))),
            }
        };
        let file: Policy = toml::from_str(text).map_err(|e| parse_err(e.span(), e.message().trim().to_string()))?;
        let table: toml::Table =
            toml::from_str(text).map_err(|e| parse_err(e.span(), e.message().trim().to_string()))?;
        let base_name = file.extends.clone().unwrap_or_else(|| "default".into());
        let base = Policy::preset(&base_name).map_err(|e| {
            let span = text.find("extends").map(|s| s..text[s..].find('\n').map_or(text.len(), |n| s + n));
            parse_err(span, e.to_string())
        })?;
        // Keys the file sets win; the rest come from the preset.
        let mut merged = toml::Table::try_from(&base).expect("a policy serialises to a table");
        let set = toml::Table::try_from(&file).expect("a policy serialises to a table");
        for k in table.keys() {
            if let Some(v) = set.get(k) {
                merged.insert(k.clone(), v.clone());
            }
        }
        let mut out: Policy =
            merged.try_into().map_err(|e: toml::de::Error| parse_err(None, e.message().to_string()))?;
        if !table.contains_key("name") {
            out.name = base.name;
        }
        for (i, e) in out.executors.iter().enumerate() {
            if !["localhost", "docker", "shadow"].contains(&e.as_str()) {
                let span = text.find(&format!("\"{e}\"")).map(|s| s..s + e.len() + 2);
                return Err(parse_err(
                    span,
                    format!("executors[{i}]: unknown executor `{e}`; expected one of localhost, docker, shadow"),
                ));
            }
        }
        Ok(out)
    }

    /// Judges a rendered plan. `ctx` gives the directories paths may use.
    ///
    /// # Errors
    /// Every violation at once.
    pub fn check(&self, plugin: &str, plan: &ServicePlan, ctx: &RenderContext) -> Result<(), Violations> {
        let mut roots: Vec<String> = ctx.dirs.values().cloned().collect();
        roots.extend(self.extra_paths.iter().cloned());
        let work = ctx.dirs.get("work").cloned();
        let mut c = Checker::new(self, plugin, roots, work);
        let bytes = plan_bytes(plan);
        if bytes > self.max_plan_bytes {
            c.violate("plan", &BOUNDED_SIZES, format!("{bytes} bytes of text, more than {}", self.max_plan_bytes));
        }
        let p = &plan.phases;
        let all = [
            ("pre_compile", &p.pre_compile),
            ("compile", &p.compile),
            ("post_compile", &p.post_compile),
            ("pre_run", &p.pre_run),
            ("run", &p.run),
            ("post_run", &p.post_run),
        ];
        let total: usize = all.iter().map(|(_, cs)| cs.len()).sum();
        if total > self.max_commands {
            c.violate("phases", &BOUNDED_SIZES, format!("{total} commands, more than {}", self.max_commands));
        }
        // Past the limit the plan is refused anyway; judging each of a million commands
        // would only make the refusal slow and unreadable.
        let judged = self.max_commands.saturating_add(1);
        for (name, cs) in all {
            for (i, cmd) in cs.iter().enumerate().take(judged) {
                c.command(&format!("phases.{name}[{i}]"), cmd);
            }
        }
        if let Some(img) = &plan.image {
            c.image(img);
        }
        if plan.ports.len() > self.max_ports {
            c.violate("ports", &BOUNDED_SIZES, format!("{} ports, more than {}", plan.ports.len(), self.max_ports));
        }
        let mut names = BTreeSet::new();
        for (i, port) in plan.ports.iter().enumerate().take(self.max_ports.saturating_add(1)) {
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
            ReadinessCondition::LogLine(l) => c.text("readiness.log-line", l, self.max_arg_bytes),
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
        if plan.readiness.timeout_ms > self.max_timeout_ms {
            c.violate(
                "readiness.timeout-ms",
                &BOUNDED_TIMEOUTS,
                format!("{} ms, more than the maximum of {} ms", plan.readiness.timeout_ms, self.max_timeout_ms),
            );
        }
        if plan.artifacts.len() > self.max_artifacts {
            c.violate(
                "artifacts",
                &BOUNDED_SIZES,
                format!("{} artifacts, more than {}", plan.artifacts.len(), self.max_artifacts),
            );
        }
        for (i, a) in plan.artifacts.iter().enumerate().take(self.max_artifacts.saturating_add(1)) {
            c.path(&format!("artifacts[{i}].path"), &a.path);
        }
        if plan.files.len() > self.max_files {
            c.violate("files", &BOUNDED_SIZES, format!("{} files, more than {}", plan.files.len(), self.max_files));
        }
        for (i, (path, content)) in plan.files.iter().enumerate().take(self.max_files.saturating_add(1)) {
            c.path(&format!("files[{i}].path"), path);
            c.text(&format!("files[{i}].content"), content, self.max_file_bytes);
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
            } else if !self.allowed_capabilities.iter().any(|a| a.eq_ignore_ascii_case(norm)) {
                c.violate(
                    format!("capabilities[{i}]"),
                    &ALLOWED_CAPS,
                    format!("`{}` is not in the allow-list ({})", shorten(cap), self.allowed_capabilities.join(", ")),
                );
            }
        }
        if plan.capabilities.len() > 64 {
            c.violate(
                "capabilities",
                &BOUNDED_SIZES,
                format!("{} capabilities, more than 64", plan.capabilities.len()),
            );
        }
        c.finish(self)
    }

    /// Judges the image bases of every plan of an experiment together: with
    /// `local_images_only`, a base is `panther-base:TAG` or the name of an image that one of
    /// `plans` builds (not its own).
    ///
    /// # Errors
    /// One [`Violations`] per plugin whose base is refused.
    pub fn check_image_bases(&self, plans: &[(&str, &ServicePlan)]) -> Result<(), Vec<Violations>> {
        if !self.local_images_only {
            return Ok(());
        }
        let built: BTreeSet<&str> =
            plans.iter().filter_map(|(_, p)| p.image.as_ref().map(|i| i.name.as_str())).collect();
        let mut out = vec![];
        for (plugin, plan) in plans {
            let Some(img) = &plan.image else { continue };
            let own = img.base == img.name;
            // A registry reference is already refused by `check`, with its own reason.
            if registry_ref(&img.base).is_some()
                || img.base.starts_with("panther-base:")
                || (!own && built.contains(img.base.as_str()))
            {
                continue;
            }
            out.push(Violations {
                plugin: plugin.to_string(),
                policy: self.name.clone(),
                violations: vec![PolicyViolation {
                    plugin: plugin.to_string(),
                    field: "image.base".into(),
                    rule: LOCAL_IMAGES.name,
                    message: format!(
                        "`{}` is neither `panther-base:TAG` nor an image another plan of this experiment builds ({})",
                        shorten(&img.base),
                        if built.is_empty() {
                            "none".to_string()
                        } else {
                            built.iter().copied().collect::<Vec<_>>().join(", ")
                        }
                    ),
                }],
            });
        }
        if out.is_empty() {
            Ok(())
        } else {
            Err(out)
        }
    }

    /// Judges an environment plugin's deployment plan. `run_dir` is the test's run directory,
    /// under which every mount's `dir` must stay.
    ///
    /// # Errors
    /// Every violation at once.
    pub fn check_deployment(&self, plugin: &str, plan: &DeploymentPlan) -> Result<(), Violations> {
        let mut c = Checker::new(self, plugin, vec![], None);
        let kind = kind_name(plan.kind);
        if !self.executors.iter().any(|e| e == kind) {
            c.violate(
                "kind",
                &ALLOWED_EXECUTORS,
                format!("the {kind} executor is not allowed (allowed: {})", self.executors.join(", ")),
            );
        }
        if plan.networks.len() > self.max_services {
            c.violate(
                "networks",
                &BOUNDED_SIZES,
                format!("{} networks, more than {}", plan.networks.len(), self.max_services),
            );
        }
        let mut declared = BTreeSet::new();
        for (i, n) in plan.networks.iter().enumerate().take(self.max_services.saturating_add(1)) {
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
            if self.internal_networks_only && !n.internal {
                c.violate(
                    format!("networks[{i}].internal"),
                    &NO_HOST_NAMESPACES,
                    format!(
                        "network `{}` is not internal; the {} policy allows only networks without a route out",
                        shorten(&n.name),
                        self.name
                    ),
                );
            }
            if !declared.insert(n.name.as_str()) {
                c.violate(&f, &VALID_NAMES, format!("network `{}` is declared twice", shorten(&n.name)));
            }
        }
        if plan.placements.len() > self.max_services {
            c.violate(
                "placements",
                &BOUNDED_SIZES,
                format!("{} services, more than {}", plan.placements.len(), self.max_services),
            );
        }
        // A mount names a directory (`logs`, `certs`, …), never a host path: the Docker
        // executor maps the name to the service's directory and confines that
        // ([`super::confine::Confinement`]) when it makes the bind.
        let mut services = BTreeSet::new();
        for (i, p) in plan.placements.iter().enumerate().take(self.max_services.saturating_add(1)) {
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
            if p.mounts.len() > MOUNT_DIRS.len() * 2 {
                c.violate(
                    format!("{at}.mounts"),
                    &BOUNDED_SIZES,
                    format!("{} mounts, more than {}", p.mounts.len(), MOUNT_DIRS.len() * 2),
                );
            }
            for (j, m) in p.mounts.iter().enumerate().take(MOUNT_DIRS.len() * 2 + 1) {
                let f = format!("{at}.mounts[{j}]");
                c.text(&format!("{f}.dir"), &m.dir, MAX_PATH_BYTES);
                if !MOUNT_DIRS.contains(&m.dir.as_str()) {
                    c.violate(
                        format!("{f}.dir"),
                        &CONFINED_MOUNTS,
                        format!(
                            "`{}` is not one of the host's directories ({})",
                            shorten(&m.dir),
                            MOUNT_DIRS.join(", ")
                        ),
                    );
                }
                if let Some(t) = &m.target {
                    c.text(&format!("{f}.target"), t, MAX_PATH_BYTES);
                    let lex = super::confine::lexical(Path::new(t));
                    let bad = !t.starts_with('/')
                        || Path::new(t).components().any(|x| matches!(x, Component::ParentDir))
                        || lex.as_deref() == Some(Path::new("/"));
                    let system = lex.as_deref().is_some_and(|l| SYSTEM_TARGETS.iter().any(|s| l.starts_with(s)));
                    if bad || system {
                        c.violate(format!("{f}.target"), &CONFINED_MOUNTS, format!("`{}` is not allowed as a mount target (absolute, no `..`, not `/` or a system location)", shorten(t)));
                    }
                } else if plan.kind != EnvironmentKind::Localhost {
                    c.violate(format!("{f}.target"), &CONFINED_MOUNTS, "a container mount needs a target path");
                }
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
        c.finish(self)
    }
}

impl Policy {
    /// The policy an experiment asks for (`[experiment] policy`).
    ///
    /// # Errors
    /// As [`Policy::load`] for a policy file.
    pub fn from_choice(choice: &crate::config::PolicyChoice) -> Result<Policy, PolicyError> {
        use crate::config::PolicyChoice;
        match choice {
            PolicyChoice::Default => Ok(Policy::default()),
            PolicyChoice::Strict => Ok(Policy::strict()),
            PolicyChoice::File(p) => Policy::load(p),
        }
    }
}

fn reserved_network(n: &str) -> bool {
    RESERVED_NETWORKS.contains(&n.to_ascii_lowercase().as_str())
        || ["container:", "ns:", "pid:", "service:"].iter().any(|p| n.to_ascii_lowercase().starts_with(p))
}

impl Checker<'_> {
    fn finish(self, policy: &Policy) -> Result<(), Violations> {
        if self.out.is_empty() {
            Ok(())
        } else {
            Err(Violations { plugin: self.plugin.to_string(), policy: policy.name.clone(), violations: self.out })
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::plugin::types::*;
    use crate::plugin::wit::latest::env::{Capture, Mount, Network, Placement};

    fn cmd(argv: &[&str]) -> Command {
        Command {
            argv: argv.iter().map(|s| s.to_string()).collect(),
            env: vec![],
            cwd: None,
            timeout_ms: None,
            critical: true,
            description: String::new(),
        }
    }

    fn plan(run: Vec<Command>) -> ServicePlan {
        ServicePlan {
            phases: Phases {
                pre_compile: vec![],
                compile: vec![],
                post_compile: vec![],
                pre_run: vec![],
                run,
                post_run: vec![],
            },
            image: None,
            ports: vec![Port { name: "quic".into(), number: 0, transport: Transport::Udp }],
            readiness: Readiness { condition: ReadinessCondition::PortBound("quic".into()), timeout_ms: 10_000 },
            artifacts: vec![],
            capabilities: vec![],
            files: vec![],
        }
    }

    fn ctx_at(root: &str) -> RenderContext {
        let mut c = RenderContext::default();
        for d in ["run", "logs", "work", "www"] {
            c.dirs.insert(d.into(), if d == "run" { root.to_string() } else { format!("{root}/{d}") });
        }
        c
    }

    fn ctx() -> RenderContext {
        ctx_at("/srv/run/1/server")
    }

    fn rules_of(r: Result<(), Violations>) -> Vec<&'static str> {
        r.err().map(|v| v.violations.iter().map(|v| v.rule).collect()).unwrap_or_default()
    }

    fn check(p: &Policy, plan: &ServicePlan) -> Vec<&'static str> {
        rules_of(p.check("t", plan, &ctx()))
    }

    fn argv_rules(argv: &[&str]) -> Vec<&'static str> {
        check(&Policy::strict(), &plan(vec![cmd(argv)]))
    }

    fn image(base: &str) -> ImageSpec {
        ImageSpec {
            name: "quic-go".into(),
            base: base.into(),
            packages: vec!["golang-go".into()],
            sources: vec![],
            steps: vec![],
            build_args: vec![],
            workdir: Some("/app".into()),
        }
    }

    /// A Docker deployment that passes the strict policy; `cli::audit` prints it too.
    pub(crate) fn deployment() -> DeploymentPlan {
        DeploymentPlan {
            kind: EnvironmentKind::Docker,
            networks: vec![Network { name: "t-net".into(), internal: true }],
            placements: vec![Placement {
                service: "server".into(),
                host: "server".into(),
                aliases: vec!["srv".into()],
                networks: vec!["t-net".into()],
                after: vec![],
                mounts: vec![Mount { dir: "logs".into(), target: Some("/logs".into()), read_only: false }],
                env: vec![("ROLE".into(), "server".into())],
            }],
            capture: Some(Capture { interface: "test-network".into(), ports_only: true }),
        }
    }

    fn deploy_rules(p: &Policy, d: &DeploymentPlan) -> Vec<&'static str> {
        rules_of(p.check_deployment("env", d))
    }

    // It accepts an ordinary plan under both presets.
    #[test]
    fn ordinary_plan_passes() {
        let mut p = plan(vec![cmd(&["picoquicdemo", "-p", "4443"])]);
        p.image = Some(image("panther-base:bookworm"));
        p.capabilities = vec!["NET_ADMIN".into()];
        p.artifacts =
            vec![Artifact { kind: ArtifactKind::Log, path: "/srv/run/1/server/logs/a.log".into(), required: true }];
        assert_eq!(check(&Policy::default(), &p), Vec::<&str>::new());
        assert_eq!(check(&Policy::strict(), &p), Vec::<&str>::new());
    }

    // It reports every violation of a plan at once, each naming plugin, field and rule.
    #[test]
    fn all_violations_at_once() {
        let mut p = plan(vec![cmd(&["sh", "-c", "x"]), cmd(&[])]);
        p.capabilities = vec!["SYS_ADMIN".into()];
        let v = Policy::strict().check("evil", &p, &ctx()).unwrap_err();
        assert_eq!(v.violations.len(), 3, "{v:?}");
        assert!(v.violations.iter().all(|v| v.plugin == "evil"));
        assert_eq!(v.violations[0].field, "phases.run[0].argv[0]");
        assert_eq!(v.violations[1].field, "phases.run[1].argv");
        assert_eq!(v.violations[2].field, "capabilities[0]");
        assert_eq!(
            v.to_string(),
            "the strict policy refuses the plan of plugin `evil`: phases.run[0].argv[0] (rule `no-shell`); phases.run[1].argv (rule `argv-not-empty`); capabilities[0] (rule `allowed-capabilities`)"
        );
    }

    // ---- argv-not-empty

    // It refuses an empty argv and an empty program name.
    #[test]
    fn argv_not_empty() {
        assert_eq!(argv_rules(&[]), ["argv-not-empty"]);
        assert_eq!(argv_rules(&["", "x"]), ["argv-not-empty"]);
    }

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

    // ---- no-shell

    // It rejects `sh -c` even when the shell is named by an absolute path.
    #[test]
    fn shell_by_path() {
        assert_eq!(argv_rules(&["/bin/sh", "-c", "echo hi; rm -rf /"]), ["no-shell"]);
    }

    // It rejects `bash -c` hidden behind wrappers: `env -i`, `timeout`, `nice`, `busybox`.
    #[test]
    fn shell_behind_wrappers() {
        assert_eq!(argv_rules(&["env", "-i", "sh", "-c", "x"]), ["no-shell"]);
        assert_eq!(argv_rules(&["/usr/bin/env", "bash", "-c", "x"]), ["no-shell"]);
        assert_eq!(argv_rules(&["timeout", "5", "bash", "-c", "x"]), ["no-shell"]);
        assert_eq!(argv_rules(&["nice", "-n", "5", "dash", "-c", "x"]), ["no-shell"]);
        assert_eq!(argv_rules(&["busybox", "sh", "-c", "x"]), ["no-shell"]);
        assert_eq!(argv_rules(&["find", ".", "-exec", "sh", "-c", "x", ";"]), ["no-shell"]);
    }

    // It rejects combined short flags (`-ec`, `-lc`) and versioned shell names.
    #[test]
    fn shell_flag_clusters() {
        assert_eq!(argv_rules(&["bash", "-ec", "x"]), ["no-shell"]);
        assert_eq!(argv_rules(&["bash", "-l", "-c", "x"]), ["no-shell"]);
        assert_eq!(argv_rules(&["bash5", "-xc", "x"]), ["no-shell"]);
    }

    // It rejects interpreters with inline code: python -c, perl -e, node --eval=.
    #[test]
    fn inline_interpreters() {
        assert_eq!(argv_rules(&["python3", "-c", "import os"]), ["no-shell"]);
        assert_eq!(argv_rules(&["python3.11", "-c", "x"]), ["no-shell"]);
        assert_eq!(argv_rules(&["perl", "-e", "system('id')"]), ["no-shell"]);
        assert_eq!(argv_rules(&["node", "--eval=1"]), ["no-shell"]);
    }

    // It rejects programs whose option is a shell string: su -c, env -S, watch.
    #[test]
    fn shell_string_options() {
        assert!(argv_rules(&["env", "-S", "sh -c x"]).contains(&"no-shell"));
        assert_eq!(argv_rules(&["script", "-q", "-c", "id"]), ["no-shell"]);
        assert_eq!(argv_rules(&["watch", "-n1", "ls"]), ["no-shell"]);
        assert_eq!(argv_rules(&["watch", "-x", "ls"]), Vec::<&str>::new());
    }

    // It allows scripts run from a file, and shell metacharacters in argv of a non-shell
    // program (they reach the program literally).
    #[test]
    fn scripts_and_literal_metachars_pass() {
        assert_eq!(argv_rules(&["bash", "build.sh", "--jobs", "2"]), Vec::<&str>::new());
        assert_eq!(argv_rules(&["python3", "tool.py", "-v"]), Vec::<&str>::new());
        assert_eq!(argv_rules(&["quic-client", "https://h/a;rm -rf /$(id)`x`"]), Vec::<&str>::new());
        assert_eq!(argv_rules(&["grep", "-c", "sh", "f"]), Vec::<&str>::new());
    }

    // It lets a policy file allow a shell; the strict preset never does.
    #[test]
    fn allow_shell_is_opt_in() {
        let p = Policy { allow_shell: true, ..Policy::default() };
        assert_eq!(check(&p, &plan(vec![cmd(&["sh", "-c", "x"])])), Vec::<&str>::new());
        assert!(!Policy::strict().allow_shell);
    }

    // ---- no-escalation

    // It rejects sudo, docker and nsenter, also behind `env`.
    #[test]
    fn escalation() {
        assert_eq!(argv_rules(&["sudo", "tc", "qdisc"]), ["no-escalation"]);
        assert_eq!(argv_rules(&["docker", "run", "--privileged", "-v", "/:/host", "x"]), ["no-escalation"]);
        assert_eq!(argv_rules(&["env", "FOO=1", "nsenter", "-t", "1", "-a"]), ["no-escalation"]);
        assert_eq!(argv_rules(&["tc", "qdisc", "add"]), Vec::<&str>::new());
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

    // ---- bounded-timeouts

    // It rejects an absurd command timeout and an absurd readiness timeout.
    #[test]
    fn timeouts() {
        let mut c = cmd(&["x"]);
        c.timeout_ms = Some(u64::MAX);
        let mut p = plan(vec![c]);
        p.readiness.timeout_ms = 365 * 24 * 3600 * 1000;
        assert_eq!(check(&Policy::strict(), &p), ["bounded-timeouts", "bounded-timeouts"]);
    }

    // ---- no-loader-env

    // It rejects LD_PRELOAD, LD_AUDIT, GLIBC_TUNABLES, BASH_FUNC_* and NODE_OPTIONS, but not LD_LIBRARY_PATH.
    #[test]
    fn loader_env() {
        for k in ["LD_PRELOAD", "LD_AUDIT", "GLIBC_TUNABLES", "BASH_FUNC_ls%%", "NODE_OPTIONS", "BASH_ENV"] {
            let mut c = cmd(&["x"]);
            c.env = vec![(k.into(), "/srv/run/1/server/work/x.so".into())];
            assert!(check(&Policy::strict(), &plan(vec![c])).contains(&"no-loader-env"), "{k}");
        }
        let mut c = cmd(&["x"]);
        c.env = vec![("LD_LIBRARY_PATH".into(), "/srv/run/1/server/work/lib".into())];
        assert_eq!(check(&Policy::strict(), &plan(vec![c])), Vec::<&str>::new());
    }

    // ---- confined-paths

    // It rejects `..` in a cwd even when it would end up inside the run directory.
    #[test]
    fn dotdot_is_refused() {
        let mut c = cmd(&["x"]);
        c.cwd = Some("/srv/run/1/server/work/../../../../etc".into());
        assert_eq!(check(&Policy::strict(), &plan(vec![c])), ["confined-paths"]);
        let mut c = cmd(&["x"]);
        c.cwd = Some("/srv/run/1/server/work/../logs".into());
        assert_eq!(check(&Policy::strict(), &plan(vec![c])), ["confined-paths"]);
    }

    // It rejects absolute paths elsewhere and accepts relative ones inside the work dir.
    #[test]
    fn absolute_elsewhere() {
        let mut p = plan(vec![cmd(&["x"])]);
        p.files = vec![("/etc/cron.d/evil".into(), "* * * * * root id".into()), ("conf/a.toml".into(), "".into())];
        p.artifacts =
            vec![Artifact { kind: ArtifactKind::Other, path: "/srv/run/1/server-other/x".into(), required: false }];
        let v = Policy::strict().check("t", &p, &ctx()).unwrap_err();
        let fields: Vec<_> = v.violations.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["artifacts[0].path", "files[0].path"]);
    }

    // It rejects a path through a symlink in the run directory that points outside.
    #[test]
    fn symlink_outside() {
        let run = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let root = run.path().to_str().unwrap();
        std::fs::create_dir_all(run.path().join("logs")).unwrap();
        std::os::unix::fs::symlink(outside.path(), run.path().join("logs/escape")).unwrap();
        let mut p = plan(vec![cmd(&["x"])]);
        p.artifacts = vec![
            Artifact { kind: ArtifactKind::Log, path: format!("{root}/logs/escape/secret"), required: false },
            Artifact { kind: ArtifactKind::Log, path: format!("{root}/logs/fine.log"), required: false },
        ];
        let v = Policy::strict().check("t", &p, &ctx_at(root)).unwrap_err();
        assert_eq!(v.violations.len(), 1, "{v:?}");
        assert_eq!(v.violations[0].field, "artifacts[0].path");
        assert_eq!(v.violations[0].rule, "confined-paths");
    }

    // It rejects a relative path that goes through a symlink in the work directory.
    #[test]
    fn relative_symlink_outside() {
        let run = tempfile::tempdir().unwrap();
        let root = run.path().to_str().unwrap();
        std::fs::create_dir_all(run.path().join("work")).unwrap();
        std::os::unix::fs::symlink("/etc", run.path().join("work/etc")).unwrap();
        let mut p = plan(vec![cmd(&["x"])]);
        p.files = vec![("etc/passwd".into(), "x".into())];
        assert_eq!(rules_of(Policy::strict().check("t", &p, &ctx_at(root))), ["confined-paths"]);
    }

    // ---- allowed-capabilities

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

    // ---- local-images

    // It rejects registry references and digests, and tagged foreign bases under strict.
    #[test]
    fn registry_bases() {
        for base in ["docker.io/library/debian:12", "ghcr.io/x/y", "debian@sha256:abcd", "localhost:5000/x"] {
            let mut p = plan(vec![cmd(&["x"])]);
            p.image = Some(image(base));
            assert_eq!(check(&Policy::default(), &p), ["local-images"], "{base}");
        }
        let mut p = plan(vec![cmd(&["x"])]);
        p.image = Some(image("debian:bookworm"));
        assert_eq!(check(&Policy::default(), &p), Vec::<&str>::new());
        assert_eq!(check(&Policy::strict(), &p), ["local-images"]);
    }

    // It rejects apt options smuggled in as package names, and insecure source URLs.
    #[test]
    fn packages_and_sources() {
        let mut p = plan(vec![cmd(&["x"])]);
        let mut img = image("panther-base:bookworm");
        img.packages = vec!["-oAPT::Get::AllowUnauthenticated=1".into(), "libssl-dev".into()];
        img.sources = vec![SourceRef {
            name: "q".into(),
            url: "http://user:pw@example.com/x.git".into(),
            rev: "v1".into(),
            dest: "/src/q".into(),
        }];
        p.image = Some(img);
        let v = Policy::strict().check("t", &p, &ctx()).unwrap_err();
        let fields: Vec<_> = v.violations.iter().map(|v| (v.field.as_str(), v.rule)).collect();
        // Strict also pins sources to full commits: a tag (`v1`) can be moved.
        assert_eq!(
            fields,
            [
                ("image.packages[0]", "local-images"),
                ("image.sources[0].url", "local-images"),
                ("image.sources[0].rev", "local-images")
            ]
        );
        let v = Policy::default().check("t", &p, &ctx()).unwrap_err();
        assert!(v.violations.iter().all(|v| v.field != "image.sources[0].rev"), "the default policy takes tags");
    }

    // It accepts a base another plan builds, and refuses one nobody builds, under strict.
    #[test]
    fn image_bases_across_plans() {
        let mut ivy = plan(vec![cmd(&["x"])]);
        ivy.image = Some(ImageSpec { name: "ivy".into(), ..image("quic-go") });
        let mut go = plan(vec![cmd(&["x"])]);
        go.image = Some(image("panther-base:bookworm"));
        let mut lone = plan(vec![cmd(&["x"])]);
        lone.image = Some(ImageSpec { name: "lone".into(), ..image("ubuntu") });
        let s = Policy::strict();
        assert!(s.check_image_bases(&[("ivy", &ivy), ("quic-go", &go)]).is_ok());
        let errs = s.check_image_bases(&[("ivy", &ivy), ("quic-go", &go), ("lone", &lone)]).unwrap_err();
        assert_eq!(errs.len(), 1);
        assert_eq!(errs[0].plugin, "lone");
        assert!(Policy::default().check_image_bases(&[("lone", &lone)]).is_ok());
    }

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

    // It turns the experiment's choice into a policy, reading files with their errors.
    #[test]
    fn from_choice() {
        use crate::config::PolicyChoice;
        assert_eq!(Policy::from_choice(&PolicyChoice::Strict).unwrap(), Policy::strict());
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("ci.toml");
        std::fs::write(&f, "extends = \"strict\"\nmax_services = 4\n").unwrap();
        let p = Policy::from_choice(&PolicyChoice::File(f.clone())).unwrap();
        assert_eq!((p.name.as_str(), p.max_services), ("ci", 4));
        std::fs::write(&f, "max_servics = 4\n").unwrap();
        assert!(Policy::from_choice(&PolicyChoice::File(f)).unwrap_err().to_string().contains("ci.toml:1:1"));
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

    // ---- loading

    // It loads a file that extends strict and overrides one key.
    #[test]
    fn load_extends() {
        let p = Policy::from_toml(Path::new("ci.toml"), "extends = \"strict\"\nmax_timeout_ms = 60000\n").unwrap();
        assert_eq!(p.name, "strict");
        assert_eq!(p.max_timeout_ms, 60_000);
        assert_eq!(p.executors, ["docker"]);
        let p = Policy::from_toml(Path::new("ci.toml"), "allow_shell = true").unwrap();
        assert!(p.allow_shell);
        assert_eq!(p.executors.len(), 3);
    }

    // It names file, line and column of an unknown key and lists the keys that exist.
    #[test]
    fn unknown_key() {
        let e = Policy::from_toml(Path::new("ci.toml"), "extends = \"strict\"\n\nallow_shel = true\n").unwrap_err();
        let s = e.to_string();
        assert!(s.starts_with("invalid policy file ci.toml:3:1:"), "{s}");
        assert!(s.contains("allow_shel"), "{s}");
        let PolicyError::Parse { .. } = e else { panic!("{e:?}") };
    }

    // It refuses an unknown preset and an unknown executor with their place in the file.
    #[test]
    fn unknown_preset_and_executor() {
        let e = Policy::from_toml(Path::new("p.toml"), "extends = \"paranoid\"\n").unwrap_err().to_string();
        assert!(e.contains("p.toml:1:1") && e.contains("paranoid"), "{e}");
        let e = Policy::from_toml(Path::new("p.toml"), "executors = [\"docker\", \"vm\"]\n").unwrap_err().to_string();
        assert!(e.contains("p.toml:1:24") && e.contains("unknown executor `vm`"), "{e}");
        assert!(matches!(Policy::from_name_or_path("paranoid"), Err(PolicyError::UnknownPreset { .. })));
    }

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
