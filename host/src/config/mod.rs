//! The experiment file: its typed model, defaults and validation, with `path:line:col`
//! diagnostics that say how to fix each problem.
//!
//! Owns [`Experiment`] and everything in it, [`load`]/[`load_str`] (syntax, structure,
//! references between services, cycles, matrix expansion), [`check_plugins`] (implementations
//! exist and parameters match their plugins' declarations) and the JSON Schema of the format
//! ([`schema`]). The format itself is documented in `docs/EXPERIMENTS.md`.
//!
//! Does not know about wasm or Docker: plugins are seen only through their
//! [`PluginInfo`](crate::plugin::types::PluginInfo), handed in by the caller.
//!
//! # Examples
//!
//! ```
//! let exp = panther_host::config::load_str("demo.toml", r#"
//! [[tests]]
//! name = "handshake"
//! network = { type = "localhost" }
//! [tests.services.server]
//! implementation = "quic-go"
//! protocol = { role = "server" }
//! [tests.services.client]
//! implementation = "aioquic"
//! protocol = { role = "client", target = "server" }
//! "#).unwrap();
//! assert_eq!(exp.name, "demo");
//! assert_eq!(exp.tests[0].services[1].target.as_deref(), Some("server"));
//! ```

mod error;
pub mod params;
mod parse;
mod plugins;
pub mod schema;
pub mod units;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

pub use error::{render_plain, similar, ConfigError, Problem, Source, Span};
pub use plugins::{check_plugins, check_plugins_among, ResolvedParams};

use crate::plugin::types::Role;

/// Default `[experiment] timeout`: the limit of one test when it sets none.
pub const DEFAULT_TEST_TIMEOUT: Duration = Duration::from_secs(300);
/// Default `[experiment] output_dir`, relative to the current directory.
pub const DEFAULT_OUTPUT_DIR: &str = "outputs";
/// Default protocol of a service when `protocol.name` is not given.
pub const DEFAULT_PROTOCOL: &str = "quic";
/// Default `protocol.version` when not given: QUIC version 1.
pub const DEFAULT_VERSION: &str = "rfc9000";
/// The log levels `[experiment] log_level` accepts.
pub const LOG_LEVELS: &[&str] = &["trace", "debug", "info", "warn", "error"];
/// Execution-environment wrappers the host knows how to put around a run command.
pub const WRAPPERS: &[&str] = &["strace", "ltrace", "valgrind", "gdb", "perf"];

/// A loaded, structurally valid experiment. Plugin names and parameters are checked
/// separately by [`check_plugins`], because that needs the installed plugins.
#[derive(Debug, Clone)]
pub struct Experiment {
    /// The path as given to [`load`] (or the name given to [`load_str`]).
    pub path: PathBuf,
    /// The file's text; diagnostics point into it.
    pub source: Arc<str>,
    /// `[experiment] name`, or the file stem.
    pub name: String,
    pub description: String,
    pub settings: Settings,
    /// Every test, `[[matrix]]` cells already expanded, in file order.
    pub tests: Vec<TestSpec>,
}

/// Experiment-wide settings (`[experiment]`).
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Where runs are written; relative paths are relative to the current directory.
    pub output_dir: PathBuf,
    /// One of [`LOG_LEVELS`].
    pub log_level: String,
    /// Stop after the first failed test.
    pub fast_fail: bool,
    /// Limit of a test that sets no `timeout`.
    pub default_timeout: Duration,
    pub policy: PolicyChoice,
    /// `seed = 7`: every seeded decision of the run (the link emulator's) derives from it, per
    /// test and iteration ([`TestSpec::seed`]), and the results record it.
    pub seed: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            output_dir: PathBuf::from(DEFAULT_OUTPUT_DIR),
            log_level: "info".into(),
            fast_fail: false,
            default_timeout: DEFAULT_TEST_TIMEOUT,
            policy: PolicyChoice::Default,
            seed: 0,
        }
    }
}

/// Which policy judges the plans (`[experiment] policy`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyChoice {
    Default,
    Strict,
    /// A policy TOML file, resolved against the experiment file's directory.
    File(PathBuf),
}

/// One test: services on a network environment, run `iterations` times.
#[derive(Debug, Clone)]
pub struct TestSpec {
    pub name: String,
    /// File-system safe and unique within the experiment; names the test's output directory.
    pub slug: String,
    pub description: String,
    pub network: NetworkSpec,
    pub execution: Vec<WrapperSpec>,
    /// In topological order: a service comes after the service it targets; otherwise in file
    /// order.
    pub services: Vec<ServiceSpec>,
    pub iterations: u32,
    pub timeout: Duration,
    /// Settle time after every service is ready, before clients are awaited.
    pub wait: Option<Duration>,
    /// The interop test case handed to plugins (`handshake`, `transfer`, ...).
    pub testcase: Option<String>,
    /// Files the servers serve from `www` and clients fetch.
    pub files: Vec<WwwFile>,
    /// Name of the tester service, if the test has one.
    pub tester: Option<String>,
    /// The test's name in the file (or its `[[matrix]]` entry).
    pub span: Span,
    /// Set when the test is a cell of a `[[matrix]]`.
    pub cell: Option<MatrixCell>,
}

impl TestSpec {
    /// The link between its clients and their servers: the one written in `network`, else
    /// the scenario its interop test case implies (quic-interop-runner's), else none.
    pub fn link(&self) -> Option<crate::link::LinkSpec> {
        match &self.network.link {
            Some((l, _)) => Some(l.clone()),
            None => self.testcase.as_deref().and_then(crate::link::LinkSpec::for_testcase),
        }
    }

    /// The seed of one iteration, derived from the experiment's: iterations of a lossy test
    /// see different losses, and a rerun of one iteration sees the same ones.
    pub fn seed(&self, experiment_seed: u64, iteration: u32) -> u64 {
        use sha2::{Digest, Sha256};
        let mut h = Sha256::new();
        h.update(experiment_seed.to_le_bytes());
        h.update(self.slug.as_bytes());
        h.update(iteration.to_le_bytes());
        u64::from_le_bytes(h.finalize()[..8].try_into().expect("8 bytes"))
    }
}

/// Where an expanded test sits in its matrix, for result tables.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MatrixCell {
    /// The matrix's `name`.
    pub matrix: String,
    pub server: String,
    pub client: String,
    pub testcase: Option<String>,
}

/// The network environment of a test: an environment plugin and its parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct NetworkSpec {
    /// The environment plugin's name (`type = "localhost"`).
    pub kind: String,
    /// Every other key of the `network` table, as text (numbers and booleans are written out).
    pub params: BTreeMap<String, String>,
    /// The `type` value.
    pub span: Span,
    /// Key and value spans of each parameter.
    pub param_spans: BTreeMap<String, (Span, Span)>,
    /// `link = { ... }`: the link emulator between the test's clients and servers, and where
    /// it was written. A test case with a scenario of its own (`transferloss`) gets that
    /// scenario when no link is written ([`TestSpec::link`]).
    pub link: Option<(crate::link::LinkSpec, Span)>,
}

/// An execution-environment wrapper (`execution = [{ type = "strace", ... }]`) put around the
/// run commands of the test's IUT services.
#[derive(Debug, Clone, PartialEq)]
pub struct WrapperSpec {
    /// One of [`WRAPPERS`].
    pub kind: String,
    /// Every other key, as written.
    pub params: BTreeMap<String, toml::Value>,
    pub span: Span,
}

/// A file served from `www`: `{ path = "/f1.bin", size = "256KiB" }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WwwFile {
    /// Starts with `/`; no `..`, no empty components.
    pub path: String,
    pub size: u64,
}

/// Whether a service is an implementation under test or a tester.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServiceKind {
    Iut,
    Tester,
}

impl ServiceKind {
    /// `iut` or `tester`, as written in experiment files.
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceKind::Iut => "iut",
            ServiceKind::Tester => "tester",
        }
    }
}

/// One service of a test (`[tests.services.NAME]`).
#[derive(Debug, Clone)]
pub struct ServiceSpec {
    /// The table key; also the service's host name.
    pub name: String,
    /// The plugin's name.
    pub implementation: String,
    pub kind: ServiceKind,
    pub protocol: String,
    pub version: String,
    pub role: Role,
    /// The service this one talks to (`protocol.target`); always a service of the same test.
    pub target: Option<String>,
    /// As written; [`check_plugins`] types them against the plugin's declarations.
    pub params: BTreeMap<String, toml::Value>,
    /// Limit of this service; the test's timeout when `None`.
    pub timeout: Option<Duration>,
    /// The service's key in the file.
    pub span: Span,
    /// Where the parts of the service are written, for later diagnostics.
    pub spans: ServiceSpans,
}

/// Spans of a service's parts. A part that is implied (matrix cells, defaults) points at the
/// nearest thing that is written.
#[derive(Debug, Clone, Default)]
pub struct ServiceSpans {
    pub implementation: Span,
    pub protocol: Span,
    pub role: Span,
    pub version: Span,
    /// The `target` value, when there is one.
    pub target: Span,
    /// The `type` value, or the service's key when it is not written.
    pub kind: Span,
    /// Key and value span of each parameter.
    pub params: BTreeMap<String, (Span, Span)>,
}

/// The name of a role as experiment files write it.
pub fn role_name(r: Role) -> &'static str {
    match r {
        Role::Server => "server",
        Role::Client => "client",
        Role::Peer => "peer",
        Role::Mitm => "mitm",
    }
}

/// Reads and checks an experiment file: TOML syntax, structure (unknown keys, types, units),
/// references between services and cycles among them. Expands `[[matrix]]` entries.
///
/// # Errors
/// Every problem found, each with `path:line:col`, a label in the file and a fix.
pub fn load(path: &Path) -> Result<Experiment, ConfigError> {
    let name = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| {
        Problem::file(&name, "read", format!("cannot read experiment file `{name}`: {e}"))
            .help("check the path; experiment files usually live in experiments/")
    })?;
    let text = String::from_utf8(bytes).map_err(|e| not_utf8(&name, e.as_bytes(), e.utf8_error()))?;
    let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
    parse::parse(&name, text.into(), &base, path.file_stem().and_then(|s| s.to_str()).unwrap_or("experiment"))
}

/// The problem of a file that is not UTF-8, pointing at its first invalid byte. The text is
/// shown with invalid bytes replaced (U+FFFD), which keeps every offset before the first one,
/// so line and column are those of the file.
fn not_utf8(name: &str, bytes: &[u8], e: std::str::Utf8Error) -> ConfigError {
    let at = e.valid_up_to();
    let bad_len = e.error_len().unwrap_or(bytes.len() - at).max(1);
    let bad: Vec<String> = bytes[at..(at + bad_len).min(bytes.len())].iter().map(|b| format!("0x{b:02x}")).collect();
    let source = Source { name: name.into(), text: String::from_utf8_lossy(bytes).into() };
    // The replacement character is 3 bytes in the shown text.
    let span = Span::new(at, at + '\u{fffd}'.len_utf8());
    Problem::at(
        &source,
        "encoding",
        span,
        "not UTF-8",
        format!(
            "the file is not UTF-8: invalid byte{} {}{}",
            if bad.len() == 1 { "" } else { "s" },
            bad.join(" "),
            if e.error_len().is_none() { " (a character cut off at the end of the file)" } else { "" }
        ),
    )
    .help("save the file as UTF-8 text (for example `iconv -f latin1 -t utf-8`)")
    .into()
}

/// Like [`load`], for text that is not (or not yet) a file. `name` is shown in diagnostics;
/// a relative policy path is resolved against the current directory.
///
/// # Errors
/// As [`load`].
pub fn load_str(name: &str, text: &str) -> Result<Experiment, ConfigError> {
    let stem = Path::new(name).file_stem().and_then(|s| s.to_str()).unwrap_or("experiment");
    parse::parse(name, text.into(), Path::new(""), stem)
}

impl Experiment {
    /// The file's text with its name, for diagnostics that point into it.
    pub fn source_file(&self) -> Source {
        Source { name: self.path.display().to_string().into(), text: self.source.clone() }
    }

    /// The test with this slug.
    pub fn test(&self, slug: &str) -> Option<&TestSpec> {
        self.tests.iter().find(|t| t.slug == slug)
    }
}

impl TestSpec {
    /// The service with this name.
    pub fn service(&self, name: &str) -> Option<&ServiceSpec> {
        self.services.iter().find(|s| s.name == name)
    }
}

#[cfg(test)]
mod tests;
