//! Commands: the program argv names (shells, inline interpreters, privilege changers, also
//! behind wrappers), the environment it gets, its working directory and timeout. Image build
//! steps are commands too and go through the same checks.

use std::collections::BTreeSet;

use super::checker::{shorten, Checker, BOUNDED_SIZES, MAX_NAME_BYTES, VALID_NAMES};
use super::rules::Rule;
use crate::plugin::types::Command;

pub const NO_EMPTY_ARGV: Rule = Rule {
    name: "argv-not-empty",
    docs: "### What it checks\nEvery command (and image build step) names a program: `argv` is not empty and `argv[0]` is not an empty string.\n\n### Why\nAn empty argv cannot be run; an empty program name would make the executor guess.\n\n### Example\n`argv = []` is refused; `argv = [\"picoquicdemo\", \"-p\", \"4443\"]` is fine.",
};
pub const NO_SHELL: Rule = Rule {
    name: "no-shell",
    docs: "### What it checks\nNo command hands a string to an interpreter. Refused, wherever the interpreter appears in argv (so also behind `env`, `timeout`, `nice`, `xargs`, `find -exec`, `busybox`):\n* shells (`sh`, `bash`, `dash`, `zsh`, `ksh`, `ash`, `fish`, `csh`, `tcsh`, `busybox sh`) with `-c` or a short-flag cluster containing `c` (`-ec`, `-lc`);\n* `python`, `python3`, `python3.11`, `pypy` with `-c`; `perl` with `-e`/`-E`; `ruby` with `-e`; `node` with `-e`/`-p`/`--eval`/`--print`; `php` with `-r`; `lua` with `-e`; `tclsh`/`expect` with `-c`;\n* programs whose own option takes a shell string: `su -c`, `runuser -c`, `script -c`, `flock -c`, `env -S`/`--split-string`, and `watch` (which always runs its arguments through `sh -c`).\nRunning a script file (`bash build.sh`, `python3 tool.py`) is allowed: the file is a plan file or part of an image, and is checked like any other file. A policy file can set `allow_shell = true`; the strict preset never does.\n\n### Why\nThe host checks argv item by item. A shell string is parsed again by the shell, so `;`, `&&`, `$(...)`, backticks and redirections inside it escape every argv-level check, and a late-bound value rendered into it can inject commands.\n\n### Example\n`argv = [\"env\", \"-i\", \"sh\", \"-c\", \"make && ./srv\"]` is refused; return `[\"make\"]` and `[\"./srv\"]` as two commands.",
};
pub const NO_ESCALATION: Rule = Rule {
    name: "no-escalation",
    docs: "### What it checks\n`argv[0]` (after wrappers such as `env` or `timeout`) is not a program that changes privileges or reaches around the executor: `sudo`, `su`, `doas`, `pkexec`, `runuser`, `setpriv`, `capsh`, `nsenter`, `unshare`, `chroot`, `mount`, `umount`, `insmod`, `modprobe`, `rmmod`, `docker`, `podman`, `nerdctl`, `ctr`, `crictl`, `kubectl`, `systemctl`, `systemd-run`, `iptables`, `nft`, `sysctl`.\n\n### Why\nThe executor decides privileges, namespaces and containers. A plan that runs `docker run --privileged -v /:/host` or `nsenter -t 1` from inside a service would undo every other rule.\n\n### Example\n`argv = [\"sudo\", \"tc\", \"qdisc\", \"add\", ...]` is refused; ask for the `NET_ADMIN` capability and run `tc` directly.",
};
pub const BOUNDED_TIMEOUTS: Rule = Rule {
    name: "bounded-timeouts",
    docs: "### What it checks\nEvery command timeout and the readiness timeout are at most `max_timeout_ms` (default 2 h, strict 30 min).\n\n### Why\nA test must end: an absurd timeout turns a hung implementation into a CI job that never finishes.\n\n### Example\n`timeout-ms = 18446744073709551615` is refused.",
};
pub const NO_DANGEROUS_ENV: Rule = Rule {
    name: "no-loader-env",
    docs: "### What it checks\nNo command, build step or placement sets a variable that changes what programs load or run: any `LD_*` except `LD_LIBRARY_PATH` and `LD_BIND_NOW`, `DYLD_*`, `GLIBC_TUNABLES`, `GCONV_PATH`, `BASH_ENV`, `ENV`, `BASH_FUNC_*`, `SHELLOPTS`, `PS4`, `PROMPT_COMMAND`, `IFS`, `PYTHONSTARTUP`, `PYTHONINSPECT`, `PERL5OPT`, `PERL5DB`, `RUBYOPT`, `NODE_OPTIONS`, `JAVA_TOOL_OPTIONS` and `_JAVA_OPTIONS`. Allocator settings such as `MALLOC_CHECK_` are allowed: they tune, they load nothing.\n\n### Why\n`LD_PRELOAD=/run/x.so` injects code into every program of the service, including ones the plan did not name; `BASH_ENV` and `NODE_OPTIONS` run code before the program starts.\n\n### Example\n`env = [(\"LD_PRELOAD\", \"{{dirs.work}}/hook.so\")]` is refused.",
};

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

pub(super) fn is_env_name(k: &str) -> bool {
    let mut cs = k.chars();
    matches!(cs.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && cs.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

pub(super) fn is_loader_env(k: &str) -> bool {
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

impl Checker<'_> {
    pub(super) fn env(&mut self, at: &str, env: &[(String, String)]) {
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

    pub(super) fn argv(&mut self, at: &str, argv: &[String]) {
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

    pub(super) fn command(&mut self, at: &str, c: &Command) {
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
}

#[cfg(test)]
mod tests {
    use crate::plan::policy::tests::{argv_rules, check, cmd, plan};
    use crate::plan::policy::Policy;

    // ---- argv-not-empty

    // It refuses an empty argv and an empty program name.
    #[test]
    fn argv_not_empty() {
        assert_eq!(argv_rules(&[]), ["argv-not-empty"]);
        assert_eq!(argv_rules(&["", "x"]), ["argv-not-empty"]);
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
}
