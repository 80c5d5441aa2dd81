//! `panther-host plugins …`: list, inspect and verify plugin components, pin them in
//! plugins.lock, sign the lock, and time the host. Parsing and printing only; the work is in
//! [`crate::plugin`].

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};

use super::{print_error, GlobalArgs, EXIT_ERROR, EXIT_OK};
use crate::plugin::lock::{self, LockEntry, LockFile, LOCK_FILE, LOCK_VERSION};
use crate::plugin::{types, HostOptions, LoadedPlugin, PluginHost, Refusal, VerifiedComponent};
use crate::text::terminal as t;

/// List, inspect or verify installed plugins; pin and sign them.
#[derive(Debug, Args)]
pub struct PluginsCmd {
    #[command(subcommand)]
    pub action: PluginsAction,
}

#[derive(Debug, Subcommand)]
pub enum PluginsAction {
    /// List the plugins found in the plugin directories, and the files refused.
    List {
        /// Print JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Show what a plugin says about itself: versions, sources, parameters, imports.
    Inspect {
        /// A plugin name, or the path of a .wasm file.
        target: String,
        #[arg(long)]
        json: bool,
    },
    /// Run the admission checks on component files; exit 2 if any is refused.
    Verify {
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Write plugins.lock (sha256 of every component) in a plugin directory.
    Lock {
        /// The directory [default: the bundled plugins-dist/].
        dir: Option<PathBuf>,
    },
    /// Make an ed25519 key pair for signing plugins.lock (`FILE` and `FILE.pub`). Do it offline.
    Keygen {
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
    /// Sign a plugins.lock with a private key; writes `<lock>.sig`.
    Sign {
        #[arg(long, value_name = "FILE")]
        key: PathBuf,
        lock: PathBuf,
    },
    /// Check a plugins.lock signature with a public key; exit 2 if it does not match.
    VerifySignature {
        #[arg(long, value_name = "FILE")]
        pubkey: PathBuf,
        lock: PathBuf,
        /// The signature [default: `<lock>.sig`].
        #[arg(long, value_name = "FILE")]
        sig: Option<PathBuf>,
    },
    /// Run the conformance suite on plugins: describe, plans for every declared role, version
    /// and environment under the policy, `unsupported` and `invalid-param` answers, assess on
    /// odd outcomes, determinism, headroom to the limits. Exit 1 if any check fails, 2 if a
    /// plugin cannot be tested (not found, refused on admission).
    Test {
        /// Component files or plugin names.
        #[arg(required_unless_present = "all")]
        targets: Vec<String>,
        /// Every plugin in the plugin directories.
        #[arg(long, conflicts_with = "targets")]
        all: bool,
        /// Judge plans with this policy (a preset or a policy file).
        #[arg(long, default_value = "default")]
        policy: String,
        /// Also write the results as JUnit XML.
        #[arg(long, value_name = "FILE")]
        junit: Option<PathBuf>,
        #[arg(long)]
        json: bool,
    },
    /// Write a new plugin project (sample plan, WIT, Makefile, sample experiment) in DIR.
    New {
        /// The plugin's name (lowercase letters, digits and dashes).
        name: String,
        #[arg(long, value_enum)]
        lang: crate::author::scaffold::Lang,
        #[arg(long, value_enum, default_value = "iut")]
        kind: crate::author::scaffold::Kind,
        /// Where to write it [default: ./NAME]; must be missing or empty.
        #[arg(long, value_name = "DIR")]
        dir: Option<PathBuf>,
    },
    /// Make a core module (C, Go) into a plugin component, as DIR/panther-plugin.toml says,
    /// then run the admission checks on it.
    Build {
        /// The project directory [default: .].
        #[arg(default_value = ".")]
        dir: PathBuf,
    },
    /// Time loading, compiling and calling every plugin (use a release build).
    Bench {
        /// Repetitions per measurement.
        #[arg(long, default_value_t = 20)]
        rounds: usize,
        #[arg(long)]
        json: bool,
    },
}

/// The lock `--locked` enforces: the first plugin directory, explicit ones first, that has one.
pub fn lock_path(g: &GlobalArgs) -> Option<PathBuf> {
    let mut dirs: Vec<PathBuf> = g.plugin_dirs.clone();
    dirs.extend(g.plugin_dirs());
    dirs.into_iter().map(|d| d.join(LOCK_FILE)).find(|p| p.is_file())
}

/// Host options from the global flags.
pub fn host_options(g: &GlobalArgs, dirs: Vec<PathBuf>) -> Result<HostOptions, lock::LockError> {
    let mut opts = HostOptions::new(dirs, &g.cache_root());
    if g.locked {
        let dirs = g.plugin_dirs();
        let p = lock_path(g).ok_or_else(|| lock::LockError::Io {
            path: PathBuf::from(LOCK_FILE),
            message: format!(
                "--locked needs a plugins.lock in one of the plugin directories ({})",
                dirs.iter().map(|d| d.display().to_string()).collect::<Vec<_>>().join(", ")
            ),
        })?;
        opts.locked = Some(p);
    }
    Ok(opts)
}

fn open(g: &GlobalArgs, dirs: Vec<PathBuf>) -> Result<PluginHost, u8> {
    let opts = host_options(g, dirs).map_err(|e| {
        print_error(&e);
        EXIT_ERROR
    })?;
    PluginHost::open(opts).map_err(|e| {
        print_error(&e);
        EXIT_ERROR
    })
}

/// Runs one `plugins` subcommand; returns the exit code.
pub fn run(cmd: &PluginsCmd, g: &GlobalArgs) -> u8 {
    match run_inner(cmd, g) {
        Ok(code) | Err(code) => code,
    }
}

fn run_inner(cmd: &PluginsCmd, g: &GlobalArgs) -> Result<u8, u8> {
    match &cmd.action {
        PluginsAction::List { json } => {
            let host = open(g, g.plugin_dirs())?;
            if *json {
                let v = serde_json::json!({
                    "plugins": host.plugins().iter().map(plugin_json).collect::<Vec<_>>(),
                    "refused": host.refused().iter().map(refusal_json).collect::<Vec<_>>(),
                });
                println!("{}", serde_json::to_string_pretty(&v).expect("json"));
            } else {
                print!("{}", list_table(host.plugins()));
            }
            for r in host.refused() {
                print_error(r);
            }
            Ok(EXIT_OK)
        }
        PluginsAction::Inspect { target, json } => {
            let as_path = Path::new(target);
            let (host, dirs_used) = if target.ends_with(".wasm") || as_path.is_file() {
                (open(g, vec![])?, false)
            } else {
                (open(g, g.plugin_dirs())?, true)
            };
            let v = if dirs_used {
                let p = host.find(target).map_err(|e| {
                    print_error(&e);
                    EXIT_ERROR
                })?;
                verified_of(p)
            } else {
                host.verify_file(as_path).map_err(|r| {
                    print_error(&r);
                    EXIT_ERROR
                })?
            };
            if *json {
                println!("{}", serde_json::to_string_pretty(&inspect_json(&v)).expect("json"));
            } else {
                print!("{}", inspect_text(&v));
            }
            Ok(EXIT_OK)
        }
        PluginsAction::Test { targets, all, policy, junit, json } => {
            let policy = crate::plan::Policy::from_name_or_path(policy).map_err(|e| {
                print_error(&e);
                EXIT_ERROR
            })?;
            let mut host = open(g, g.plugin_dirs())?;
            let mut names = vec![];
            if *all {
                names = host.plugins().iter().map(|p| p.info.name.clone()).collect();
            }
            for target in targets {
                let as_path = Path::new(target);
                if target.ends_with(".wasm") || as_path.is_file() {
                    let canonical = as_path.canonicalize().unwrap_or_else(|_| as_path.to_path_buf());
                    let already =
                        host.plugins().iter().find(|p| p.path.canonicalize().ok().as_ref() == Some(&canonical));
                    match already {
                        Some(p) => names.push(p.info.name.clone()),
                        None => names.push(host.add_file(as_path).map_err(|r| {
                            print_error(&r);
                            EXIT_ERROR
                        })?),
                    }
                } else {
                    names.push(target.clone());
                }
            }
            let mut reports = vec![];
            let mut failed = false;
            for name in &names {
                let report = crate::conformance::run(&host, name, &policy).map_err(|e| {
                    print_error(&e);
                    EXIT_ERROR
                })?;
                failed |= report.failed() > 0;
                if !*json {
                    print!("{}", crate::conformance::write_text(&report, &crate::conformance::usage_line(&host, name)));
                }
                reports.push(report);
            }
            if *json {
                println!("{}", serde_json::to_string_pretty(&reports).expect("reports are plain data"));
            }
            if let Some(path) = junit {
                if let Err(e) = std::fs::write(path, crate::conformance::junit(&reports)) {
                    eprintln!("error: cannot write {}: {e}", path.display());
                    return Err(EXIT_ERROR);
                }
            }
            Ok(if failed { super::EXIT_TEST_FAILED } else { EXIT_OK })
        }
        PluginsAction::Verify { paths, json } => {
            let host = open(g, vec![])?;
            let mut failed = false;
            let mut out = vec![];
            for p in paths {
                match host.verify_file(p) {
                    Ok(v) => {
                        if !*json {
                            println!(
                                "ok       {}: {} {} ({} plugin, panther:plugin@{}, sha256 {})",
                                p.display(),
                                t(&v.info.name),
                                t(&v.info.version),
                                v.world,
                                v.contract,
                                &v.digest[..12]
                            );
                        }
                        out.push(serde_json::json!({"path": p, "ok": true, "name": v.info.name, "digest": v.digest}));
                    }
                    Err(r) => {
                        failed = true;
                        if !*json {
                            println!("REFUSED  {}", p.display());
                        }
                        print_error(&r);
                        out.push(serde_json::json!({"path": p, "ok": false, "reason": r.reason.to_string(), "detail": r.reason}));
                    }
                }
            }
            if *json {
                println!("{}", serde_json::to_string_pretty(&out).expect("json"));
            }
            Ok(if failed { EXIT_ERROR } else { EXIT_OK })
        }
        PluginsAction::Lock { dir } => {
            let dir = match dir.clone().or_else(crate::plugin::bundled_dir) {
                Some(d) => d,
                None => {
                    eprintln!(
                        "error: no plugin directory given and no bundled plugins-dist/ found; pass the directory"
                    );
                    return Err(EXIT_ERROR);
                }
            };
            let mut g2 = g.clone();
            g2.locked = false;
            let host = open(&g2, vec![dir.clone()])?;
            let components = host
                .plugins()
                .iter()
                .map(|p| LockEntry {
                    file: p.path.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default(),
                    sha256: p.digest.clone(),
                    name: Some(p.info.name.clone()),
                    plugin_version: Some(p.info.version.clone()),
                    contract: Some(p.contract.to_string()),
                })
                .collect();
            let path = dir.join(LOCK_FILE);
            LockFile { version: LOCK_VERSION, components }.write(&path).map_err(|e| {
                print_error(&e);
                EXIT_ERROR
            })?;
            eprintln!("wrote {} ({} components)", path.display(), host.plugins().len());
            for r in host.refused() {
                print_error(r);
            }
            Ok(if host.refused().is_empty() { EXIT_OK } else { EXIT_ERROR })
        }
        PluginsAction::Keygen { out } => {
            let public = lock::keygen(out).map_err(|e| {
                print_error(&e);
                EXIT_ERROR
            })?;
            eprintln!("wrote private key {} (keep it offline) and public key {}", out.display(), public.display());
            Ok(EXIT_OK)
        }
        PluginsAction::Sign { key, lock: l } => {
            let sig = lock::sign(key, l).map_err(|e| {
                print_error(&e);
                EXIT_ERROR
            })?;
            eprintln!("wrote {}", sig.display());
            Ok(EXIT_OK)
        }
        PluginsAction::VerifySignature { pubkey, lock: l, sig } => {
            let sig = sig.clone().unwrap_or_else(|| lock::signature_path(l));
            lock::verify_signature(pubkey, l, &sig).map_err(|e| {
                print_error(&e);
                EXIT_ERROR
            })?;
            println!("ok: {} is signed by {}", l.display(), pubkey.display());
            Ok(EXIT_OK)
        }
        PluginsAction::New { name, lang, kind, dir } => {
            let dir = dir.clone().unwrap_or_else(|| PathBuf::from(name));
            let p = crate::author::scaffold::new_project(name, *lang, *kind, &dir).map_err(|e| {
                print_error(&e);
                EXIT_ERROR
            })?;
            println!("wrote {} ({} files)", p.dir.display(), p.files.len());
            println!("next: cd {} && make && make test", p.dir.display());
            Ok(EXIT_OK)
        }
        PluginsAction::Build { dir } => {
            let built = crate::author::build(dir).map_err(|e| {
                print_error(&e);
                EXIT_ERROR
            })?;
            // The result is judged like any downloaded plugin: the same admission, here and now.
            let host = open(g, vec![])?;
            let v = host.verify_file(&built.component).map_err(|r| {
                print_error(&r);
                EXIT_ERROR
            })?;
            println!(
                "built {} ({} bytes, world {}, contract {}) from {}",
                built.component.display(),
                built.bytes,
                built.world.wit_world(),
                v.contract,
                built.core.display()
            );
            println!("imports: {}", if v.imports.is_empty() { "none".to_string() } else { v.imports.join(", ") });
            println!("next: panther-host plugins test {}", built.component.display());
            Ok(EXIT_OK)
        }
        PluginsAction::Bench { rounds, json } => {
            let opts = host_options(g, g.plugin_dirs()).map_err(|e| {
                print_error(&e);
                EXIT_ERROR
            })?;
            let report = crate::plugin::bench::run(&opts, *rounds).map_err(|e| {
                print_error(&e);
                EXIT_ERROR
            })?;
            if *json {
                println!("{}", serde_json::to_string_pretty(&report).expect("json"));
            } else {
                println!("PluginHost::open, all plugins, warm cache and index: {:.2} ms", report.open_all_warm_ms);
                println!(
                    "{:<22} {:>9} {:>12} {:>11} {:>9} {:>10}",
                    "plugin", "wasm KB", "compile ms", "warm ms", "call µs", "calls/s"
                );
                for p in &report.plugins {
                    println!(
                        "{:<22} {:>9.1} {:>12.2} {:>11.3} {:>9.1} {:>10.0}",
                        p.name,
                        p.wasm_bytes as f64 / 1024.0,
                        p.cold_compile_ms,
                        p.warm_load_ms,
                        p.call_us,
                        p.calls_per_sec
                    );
                }
            }
            Ok(EXIT_OK)
        }
    }
}

fn verified_of(p: &LoadedPlugin) -> VerifiedComponent {
    VerifiedComponent {
        info: p.info.clone(),
        path: p.path.clone(),
        digest: p.digest.clone(),
        contract: p.contract,
        world: p.world,
        imports: p.imports.clone(),
        cache: crate::plugin::CacheOutcome::Hit,
    }
}

/// `iut`, `tester`, `environment`.
pub fn kind_name(k: types::PluginKind) -> &'static str {
    match k {
        types::PluginKind::Iut => "iut",
        types::PluginKind::Tester => "tester",
        types::PluginKind::Environment => "environment",
    }
}

fn role_name(r: types::Role) -> &'static str {
    match r {
        types::Role::Server => "server",
        types::Role::Client => "client",
        types::Role::Peer => "peer",
        types::Role::Mitm => "mitm",
    }
}

fn env_name(e: types::EnvironmentKind) -> &'static str {
    match e {
        types::EnvironmentKind::Localhost => "localhost",
        types::EnvironmentKind::Docker => "docker",
        types::EnvironmentKind::Shadow => "shadow",
    }
}

fn type_name(t: types::ParamType) -> &'static str {
    match t {
        types::ParamType::String => "string",
        types::ParamType::Integer => "integer",
        types::ParamType::Boolean => "boolean",
        types::ParamType::Float => "float",
        types::ParamType::List => "list",
    }
}

fn value_text(v: &types::ParamValue) -> String {
    match v {
        types::ParamValue::String(s) => format!("{s:?}"),
        types::ParamValue::Integer(i) => i.to_string(),
        types::ParamValue::Boolean(b) => b.to_string(),
        types::ParamValue::Float(f) => f.to_string(),
        types::ParamValue::List(l) => format!("{l:?}"),
    }
}

fn value_json(v: &types::ParamValue) -> serde_json::Value {
    match v {
        types::ParamValue::String(s) => s.clone().into(),
        types::ParamValue::Integer(i) => (*i).into(),
        types::ParamValue::Boolean(b) => (*b).into(),
        types::ParamValue::Float(f) => (*f).into(),
        types::ParamValue::List(l) => l.clone().into(),
    }
}

fn plugin_json(p: &LoadedPlugin) -> serde_json::Value {
    serde_json::json!({
        "name": p.info.name,
        "kind": kind_name(p.info.kind),
        "world": p.world,
        "version": p.info.version,
        "contract": p.contract.to_string(),
        "protocols": p.info.protocols,
        "versions": p.info.versions.iter().map(|v| v.name.clone()).collect::<Vec<_>>(),
        "sources": p.info.sources.iter().map(|s| s.name.clone()).collect::<Vec<_>>(),
        "roles": p.info.roles.iter().map(|r| role_name(*r)).collect::<Vec<_>>(),
        "environments": p.info.environments.iter().map(|e| env_name(*e)).collect::<Vec<_>>(),
        "digest": p.digest,
        "path": p.path,
    })
}

fn refusal_json(r: &Refusal) -> serde_json::Value {
    serde_json::json!({ "path": r.path, "reason": r.reason.to_string(), "detail": r.reason })
}

fn list_table(plugins: &[LoadedPlugin]) -> String {
    let rows: Vec<[String; 8]> = plugins
        .iter()
        .map(|p| {
            [
                t(&p.info.name).into_owned(),
                kind_name(p.info.kind).to_string(),
                join_or_dash(p.info.protocols.iter().cloned()),
                join_or_dash(p.info.versions.iter().map(|v| v.name.clone())),
                join_or_dash(p.info.sources.iter().map(|s| s.name.clone())),
                t(&p.info.version).into_owned(),
                p.contract.to_string(),
                p.digest[..12].to_string(),
            ]
        })
        .collect();
    let head = ["NAME", "KIND", "PROTOCOLS", "VERSIONS", "SOURCES", "VERSION", "CONTRACT", "SHA256"].map(String::from);
    let mut widths = head.clone().map(|h| h.len());
    for r in &rows {
        for (w, c) in widths.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let mut out = String::new();
    for r in std::iter::once(&head).chain(&rows) {
        let line: Vec<String> = r.iter().zip(widths).map(|(c, w)| format!("{c:<w$}")).collect();
        let _ = writeln!(out, "{}", line.join("  ").trim_end());
    }
    if plugins.is_empty() {
        out.push_str("(no plugins found)\n");
    }
    out
}

/// The items joined with commas, escaped for the terminal: they are plugin text.
fn join_or_dash(it: impl Iterator<Item = String>) -> String {
    let v: Vec<String> = it.collect();
    if v.is_empty() {
        "-".into()
    } else {
        t(&v.join(",")).into_owned()
    }
}

fn inspect_json(v: &VerifiedComponent) -> serde_json::Value {
    let i = &v.info;
    serde_json::json!({
        "name": i.name, "version": i.version, "kind": kind_name(i.kind), "world": v.world,
        "contract": v.contract.to_string(), "description": i.description, "path": v.path, "digest": v.digest,
        "protocols": i.protocols,
        "roles": i.roles.iter().map(|r| role_name(*r)).collect::<Vec<_>>(),
        "environments": i.environments.iter().map(|e| env_name(*e)).collect::<Vec<_>>(),
        "versions": i.versions.iter().map(|p| serde_json::json!({"name": p.name, "wire": p.wire, "alpn": p.alpn})).collect::<Vec<_>>(),
        "sources": i.sources.iter().map(|s| serde_json::json!({"name": s.name, "doc": s.doc, "offline": s.offline})).collect::<Vec<_>>(),
        "parameters": i.parameters.iter().map(|p| serde_json::json!({
            "name": p.name, "type": type_name(p.ty), "default": p.default.as_ref().map(value_json),
            "required": p.required, "choices": p.choices, "doc": p.doc,
        })).collect::<Vec<_>>(),
        "imports": v.imports,
    })
}

fn inspect_text(v: &VerifiedComponent) -> String {
    let i = &v.info;
    let mut o = String::new();
    let _ = writeln!(
        o,
        "{} {} ({}, {} world, panther:plugin@{})",
        t(&i.name),
        t(&i.version),
        kind_name(i.kind),
        v.world,
        v.contract
    );
    if !i.description.is_empty() {
        let _ = writeln!(o, "  {}", t(&i.description));
    }
    let _ = writeln!(o, "file:         {}", v.path.display());
    let _ = writeln!(o, "sha256:       {}", v.digest);
    let _ = writeln!(o, "protocols:    {}", join_or_dash(i.protocols.iter().cloned()));
    let _ = writeln!(o, "roles:        {}", join_or_dash(i.roles.iter().map(|r| role_name(*r).to_string())));
    let _ = writeln!(o, "environments: {}", join_or_dash(i.environments.iter().map(|e| env_name(*e).to_string())));
    let _ = writeln!(o, "versions:");
    for p in &i.versions {
        let _ = writeln!(
            o,
            "  {:<14} wire {:<10} alpn {}",
            t(&p.name),
            t(p.wire.as_deref().unwrap_or("-")),
            join_or_dash(p.alpn.iter().cloned())
        );
    }
    let _ = writeln!(o, "sources:");
    for s in &i.sources {
        let _ =
            writeln!(o, "  {:<14} {}{}", t(&s.name), t(&s.doc), if s.offline { "" } else { " (needs git hosting)" });
    }
    let _ = writeln!(o, "parameters:");
    for p in &i.parameters {
        let default = p.default.as_ref().map(value_text).unwrap_or_else(|| {
            if p.required {
                "(required)".into()
            } else {
                "-".into()
            }
        });
        let choices =
            if p.choices.is_empty() { String::new() } else { format!(" one of: {}", t(&p.choices.join(", "))) };
        let _ = writeln!(
            o,
            "  {:<20} {:<8} default {:<12} {}{}",
            t(&p.name),
            type_name(p.ty),
            t(&default),
            t(&p.doc),
            choices
        );
    }
    let _ = writeln!(o, "imports:");
    for imp in &v.imports {
        let _ = writeln!(o, "  {}", t(imp));
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct T {
        #[command(subcommand)]
        a: PluginsAction,
    }

    #[test]
    fn parses_subcommands() {
        assert!(matches!(T::try_parse_from(["t", "list", "--json"]).unwrap().a, PluginsAction::List { json: true }));
        assert!(
            matches!(T::try_parse_from(["t", "verify", "a.wasm", "b.wasm"]).unwrap().a, PluginsAction::Verify { paths, .. } if paths.len() == 2)
        );
        assert!(T::try_parse_from(["t", "verify"]).is_err(), "verify needs a path");
        assert!(matches!(
            T::try_parse_from(["t", "sign", "--key", "k", "plugins.lock"]).unwrap().a,
            PluginsAction::Sign { .. }
        ));
        assert!(matches!(
            T::try_parse_from(["t", "verify-signature", "--pubkey", "k.pub", "plugins.lock"]).unwrap().a,
            PluginsAction::VerifySignature { sig: None, .. }
        ));
    }
}
