//! Errors of the plugin host: why a component was refused, why a call failed, why the host could
//! not start. Owns the wording of every plugin-related message; does not decide anything.

use std::fmt;
use std::path::PathBuf;

use miette::Diagnostic;

use super::types;

/// The host could not start at all (as opposed to a single refused component).
#[derive(Debug, thiserror::Error, Diagnostic)]
pub enum PluginError {
    /// The wasmtime engine could not be configured.
    #[error("cannot set up the WebAssembly engine: {0}")]
    #[diagnostic(code(panther::plugin::engine), help("this is a bug in panther-host; please report it"))]
    Engine(String),
    /// A plugin directory or the cache directory is unusable.
    #[error("cannot use `{path}`: {message}")]
    #[diagnostic(code(panther::plugin::io), help("check that the directory exists and is readable"))]
    Io { path: PathBuf, message: String },
    /// `--locked` was asked for, but the lock file cannot be read.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Lock(#[from] super::lock::LockError),
}

/// A component the host will not load, and the precise reason.
#[derive(Debug, Clone, PartialEq, serde::Serialize, thiserror::Error)]
#[error("refused `{}`: {reason}", path.display())]
pub struct Refusal {
    pub path: PathBuf,
    pub reason: RefusalReason,
}

impl Diagnostic for Refusal {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(format!("panther::plugin::refused::{}", self.reason.code())))
    }
    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.reason.help()))
    }
}

/// Why a component was refused. Each variant is one admission rule.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum RefusalReason {
    /// The file cannot be read.
    Unreadable { message: String },
    /// Bigger than [`super::verify::MAX_COMPONENT_BYTES`].
    TooLarge { bytes: u64, limit: u64 },
    /// The file is empty.
    Empty,
    /// A native executable or script, renamed `.wasm`.
    Native { format: String },
    /// A WebAssembly core module, not a component.
    CoreModule,
    /// Not WebAssembly at all.
    NotWasm { magic: String },
    /// Starts like a component but does not compile (truncated, corrupt, unsupported features).
    Malformed { message: String },
    /// Exports neither `panther:plugin/service` nor `panther:plugin/environment`.
    NoWorld { exports: Vec<String> },
    /// Built against a contract version outside the supported range.
    IncompatibleContract { plugin: String, version: String, accepted: String },
    /// Imports something the host does not provide.
    ForbiddenImports { imports: Vec<ForbiddenImport> },
    /// `describe()` failed or returned something unusable.
    BadDescribe { message: String },
    /// Another component already provides this plugin name.
    Duplicate { name: String, other: PathBuf },
    /// `--locked`: the file is not in plugins.lock.
    Unpinned { file: String, lock: PathBuf },
    /// `--locked`: the file's digest differs from the one in plugins.lock.
    DigestMismatch { file: String, expected: String, actual: String },
    /// `--locked`: plugins.lock pins a file that is not there.
    MissingPinned { file: String, expected: String },
}

/// One import outside the allow-list, with the reason it is refused.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ForbiddenImport {
    pub name: String,
    pub why: String,
}

impl RefusalReason {
    fn code(&self) -> &'static str {
        match self {
            Self::Unreadable { .. } => "unreadable",
            Self::TooLarge { .. } => "too_large",
            Self::Empty => "empty",
            Self::Native { .. } => "native",
            Self::CoreModule => "core_module",
            Self::NotWasm { .. } => "not_wasm",
            Self::Malformed { .. } => "malformed",
            Self::NoWorld { .. } => "no_world",
            Self::IncompatibleContract { .. } => "incompatible_contract",
            Self::ForbiddenImports { .. } => "forbidden_imports",
            Self::BadDescribe { .. } => "bad_describe",
            Self::Duplicate { .. } => "duplicate",
            Self::Unpinned { .. } => "unpinned",
            Self::DigestMismatch { .. } => "digest_mismatch",
            Self::MissingPinned { .. } => "missing_pinned",
        }
    }

    /// A one-line suggestion for the person who installed the file.
    pub fn help(&self) -> String {
        match self {
            Self::Unreadable { .. } => "check the file's permissions".into(),
            Self::TooLarge { .. } => "plugins are small components; rebuild it in release mode or remove it".into(),
            Self::Empty | Self::Malformed { .. } => "rebuild the plugin (`make plugins`) or copy the file again; it may be truncated".into(),
            Self::Native { .. } | Self::NotWasm { .. } => {
                "panther plugins are WebAssembly components; native code is never loaded. Build the plugin for wasm32-wasip2".into()
            }
            Self::CoreModule => {
                "wrap the module into a component (`wasm-tools component new`) or build for wasm32-wasip2, which emits components".into()
            }
            Self::NoWorld { .. } => "a plugin must export panther:plugin/service@0.1.x or panther:plugin/environment@0.1.x (see wit/)".into(),
            Self::IncompatibleContract { .. } => "rebuild the plugin against the WIT in this host's wit/ directory".into(),
            Self::ForbiddenImports { .. } => {
                "plugins get no files, network or foreign interfaces: return the work as a plan and let the host run it".into()
            }
            Self::BadDescribe { .. } => "describe() must be cheap and pure and return a non-empty name".into(),
            Self::Duplicate { .. } => "remove one of the two files, or give the plugins distinct names".into(),
            Self::Unpinned { .. } | Self::DigestMismatch { .. } | Self::MissingPinned { .. } => {
                "if the change is intended, run `panther-host plugins lock` and review the diff of plugins.lock".into()
            }
        }
    }
}

impl fmt::Display for RefusalReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unreadable { message } => write!(f, "cannot read the file: {message}"),
            Self::TooLarge { bytes, limit } => {
                write!(f, "the file has {bytes} bytes; components may have at most {limit}")
            }
            Self::Empty => write!(f, "the file is empty"),
            Self::Native { format } => write!(f, "this is a {format}, not a WebAssembly component"),
            Self::CoreModule => write!(f, "this is a WebAssembly core module, not a component"),
            Self::NotWasm { magic } => {
                write!(f, "this is not WebAssembly (it starts with bytes {magic})")
            }
            Self::Malformed { message } => {
                write!(f, "the component is truncated or malformed: {message}")
            }
            Self::NoWorld { exports } => {
                let found = if exports.is_empty() { "nothing".to_string() } else { exports.join(", ") };
                write!(f, "the component exports neither panther:plugin/service nor panther:plugin/environment (it exports {found})")
            }
            Self::IncompatibleContract { plugin, version, accepted } => {
                write!(f, "plugin `{plugin}` speaks panther:plugin@{version}; this host accepts {accepted}")
            }
            Self::ForbiddenImports { imports } => {
                write!(f, "the component imports what the host does not grant: ")?;
                for (i, imp) in imports.iter().enumerate() {
                    if i > 0 {
                        write!(f, "; ")?;
                    }
                    write!(f, "`{}` ({})", imp.name, imp.why)?;
                }
                Ok(())
            }
            Self::BadDescribe { message } => write!(f, "describe() failed: {message}"),
            Self::Duplicate { name, other } => {
                write!(f, "plugin name `{name}` is already provided by `{}`", other.display())
            }
            Self::Unpinned { file, lock } => write!(f, "`{file}` is not pinned in `{}` (--locked)", lock.display()),
            Self::DigestMismatch { file, expected, actual } => {
                write!(f, "`{file}` changed since it was pinned: plugins.lock expects sha256 {expected}, the file has {actual}")
            }
            Self::MissingPinned { file, expected } => {
                write!(f, "plugins.lock pins `{file}` (sha256 {expected}) but the file is missing")
            }
        }
    }
}

/// Which sandbox limit stopped a call, with the numbers.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum LimitHit {
    /// The fuel budget (instructions, roughly) ran out.
    Fuel { budget: u64 },
    /// The wall-clock deadline passed.
    Deadline { ms: u64 },
    /// The guest tried to grow its memory past the cap.
    Memory { limit_bytes: usize, requested: usize },
    /// The guest's call stack overflowed.
    Stack { max_bytes: usize },
    /// The guest panicked; `message` is its panic message from stderr.
    Panic { message: String },
    /// The guest returned more data than the host accepts.
    Output { limit_bytes: usize, actual: usize },
}

/// A call into a plugin failed.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The plugin answered with an error of its own ("the plugin said no").
    #[error("plugin `{plugin}` refused {call}(): {}", plugin_error_text(error))]
    Plugin { plugin: String, call: &'static str, error: types::PluginError },
    /// The guest trapped: a limit, a panic or another trap.
    #[error("{}", trap_text(plugin, call, limit, message))]
    Trap { plugin: String, call: &'static str, limit: Option<LimitHit>, message: String, guest_stderr: String },
    /// No plugin of that name is loaded.
    #[error("no plugin named `{name}`{}", suggestion_text(suggestions))]
    NotFound { name: String, suggestions: Vec<String> },
    /// The plugin exists but exports the other world.
    #[error("plugin `{plugin}` is not a{} plugin", match expected { super::World::Service => " service", super::World::Environment => "n environment" })]
    WrongWorld { plugin: String, expected: super::World },
    /// A plugin admitted from the describe index could not be loaded when it was first called,
    /// or its component no longer matches the index.
    #[error("cannot load plugin `{plugin}` from `{}`: {message}", path.display())]
    Unloadable { plugin: String, path: PathBuf, message: String },
}

fn plugin_error_text(e: &types::PluginError) -> String {
    match e {
        types::PluginError::InvalidParam(p) => {
            format!("invalid parameter `{}`: {}", p.name, p.message)
        }
        types::PluginError::Unsupported(m) => format!("unsupported: {m}"),
        types::PluginError::Internal(m) => format!("internal error: {m}"),
    }
}

fn suggestion_text(s: &[String]) -> String {
    if s.is_empty() {
        String::new()
    } else {
        format!("; similar installed plugins: {}", s.join(", "))
    }
}

fn trap_text(plugin: &str, call: &str, limit: &Option<LimitHit>, message: &str) -> String {
    match limit {
        Some(LimitHit::Fuel { budget }) => format!("plugin `{plugin}` ran out of fuel in {call}() after {budget} units"),
        Some(LimitHit::Deadline { ms }) => format!("plugin `{plugin}` exceeded its {ms} ms deadline in {call}()"),
        Some(LimitHit::Memory { limit_bytes, requested }) => format!(
            "plugin `{plugin}` tried to grow its memory to {requested} bytes in {call}(); the limit is {limit_bytes} bytes ({} MiB)",
            limit_bytes >> 20
        ),
        Some(LimitHit::Stack { max_bytes }) => {
            format!("plugin `{plugin}` overflowed its {max_bytes}-byte stack in {call}() (runaway recursion?)")
        }
        Some(LimitHit::Panic { message }) => format!("plugin `{plugin}` panicked in {call}(): {message}"),
        Some(LimitHit::Output { limit_bytes, actual }) => {
            format!("plugin `{plugin}` returned {actual} bytes from {call}(); the limit is {limit_bytes} bytes")
        }
        None => format!("plugin `{plugin}` crashed in {call}(): {message}"),
    }
}

impl CallError {
    /// The limit that stopped the call, if one did.
    pub fn limit(&self) -> Option<&LimitHit> {
        match self {
            CallError::Trap { limit, .. } => limit.as_ref(),
            _ => None,
        }
    }
}

impl Diagnostic for CallError {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        let c = match self {
            CallError::Plugin { .. } => "panther::plugin::said_no",
            CallError::Trap { limit: Some(LimitHit::Fuel { .. }), .. } => "panther::plugin::fuel",
            CallError::Trap { limit: Some(LimitHit::Deadline { .. }), .. } => "panther::plugin::deadline",
            CallError::Trap { limit: Some(LimitHit::Memory { .. }), .. } => "panther::plugin::memory",
            CallError::Trap { limit: Some(LimitHit::Stack { .. }), .. } => "panther::plugin::stack",
            CallError::Trap { limit: Some(LimitHit::Panic { .. }), .. } => "panther::plugin::panic",
            CallError::Trap { limit: Some(LimitHit::Output { .. }), .. } => "panther::plugin::output",
            CallError::Trap { limit: None, .. } => "panther::plugin::trap",
            CallError::NotFound { .. } => "panther::plugin::not_found",
            CallError::WrongWorld { .. } => "panther::plugin::wrong_world",
            CallError::Unloadable { .. } => "panther::plugin::unloadable",
        };
        Some(Box::new(c))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        let h: String = match self {
            CallError::Plugin { error: types::PluginError::InvalidParam(_), .. } => {
                "fix the parameter in the experiment file; `panther-host plugins inspect NAME` lists the accepted values".into()
            }
            CallError::Plugin { .. } => "the plugin cannot serve this request; pick another implementation, role or version".into(),
            CallError::Trap { limit: Some(LimitHit::Fuel { .. }), .. } => {
                "the plugin probably loops forever; the budget is the same for every plugin (SECURITY.md, limits): report it to the plugin's authors, who can see their use with `panther-host plugins test`".into()
            }
            CallError::Trap { limit: Some(LimitHit::Deadline { .. }), .. } => {
                "plugin calls must be quick and pure, and the deadline is the same for every plugin (SECURITY.md, limits): report it to the plugin's authors".into()
            }
            CallError::Trap { limit: Some(LimitHit::Memory { .. }), .. } => {
                "the memory limit is the same for every plugin (SECURITY.md, limits): report it to the plugin's authors, who can see their use with `panther-host plugins test`".into()
            }
            CallError::Trap { limit: Some(LimitHit::Stack { .. }), .. } => "report it to the plugin's authors; deep recursion in a plugin is a bug".into(),
            CallError::Trap { limit: Some(LimitHit::Panic { .. }), .. } => "this is a bug in the plugin; report it to its authors with the message above".into(),
            CallError::Trap { limit: Some(LimitHit::Output { .. }), .. } => "a plan this large is a bug in the plugin; report it to its authors".into(),
            CallError::Trap { guest_stderr, .. } => {
                if guest_stderr.is_empty() {
                    "this is a bug in the plugin (its stderr was empty); report it to its authors".into()
                } else {
                    format!("this is a bug in the plugin; its stderr said:\n{}", guest_stderr.trim_end())
                }
            }
            CallError::NotFound { .. } => "`panther-host plugins list` shows the installed plugins".into(),
            CallError::WrongWorld { .. } => "`panther-host plugins list` shows each plugin's kind".into(),
            CallError::Unloadable { .. } => {
                "run the command again (the host re-admits the file in full); `panther-host plugins verify FILE` says whether the file itself is acceptable".into()
            }
        };
        Some(Box::new(h))
    }
}
