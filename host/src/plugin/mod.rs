//! Plugins: discovery, verification, the sandbox they run in, and calls into them.
//!
//! [`PluginHost::open`] finds `*.wasm` files in the plugin directories and admits each one
//! through the same pipeline (`verify_file`): size cap → sniffing (native code, scripts and core
//! modules are refused before the compiler sees them) → optional `plugins.lock` pin → compile
//! (or load the host's own precompiled cache) → world, contract version and import allow-list →
//! `describe()` in the sandbox. A file that fails is kept as a [`Refusal`] with its reason;
//! it never stops the others from loading.
//!
//! Every call ([`PluginHost::plan`], [`PluginHost::assess`], [`PluginHost::deploy`]) runs in a
//! fresh store instantiated from a cached `InstancePre` (~10 µs), under fuel, an epoch deadline,
//! a memory cap and a stack cap (see [`sandbox`]). A trap never outlives its call, so the host
//! survives any plugin.
//!
//! Owns plugin loading and calling. Does not check plans against policy, render templates or
//! run anything a plugin returns.

pub mod bench;
pub mod cache;
pub mod error;
pub mod lock;
pub mod sandbox;
pub mod verify;
pub mod wit;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest, Sha256};
use wasmtime::component::{Component, Linker};
use wasmtime::Engine;

pub use cache::CacheOutcome;
pub use error::{CallError, ForbiddenImport, LimitHit, PluginError, Refusal, RefusalReason};
pub use wit::latest::{env, types};

use sandbox::HostState;
use wit::latest::{environment as env_world, service as svc_world};

/// Which world a plugin exports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum World {
    /// `panther:plugin/service`: IUTs and testers (`plan`, `assess`).
    Service,
    /// `panther:plugin/environment`: network environments (`deploy`).
    Environment,
}

impl std::fmt::Display for World {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            World::Service => "service",
            World::Environment => "environment",
        })
    }
}

/// What one plugin call may use. Every limit, when hit, is its own error ([`LimitHit`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Linear memory per instance.
    pub memory_bytes: usize,
    /// Fuel per call (about one unit per wasm instruction). Deterministic: the same plugin and
    /// request use the same fuel on every machine, so a plugin that fits on a laptop fits in CI.
    pub fuel: u64,
    /// Wall-clock limit per call, enforced by epochs (catches what fuel does not: host time).
    pub deadline: Duration,
    /// Wasm call-stack size.
    pub max_wasm_stack: usize,
    /// Guest stdout+stderr kept per call (for error messages).
    pub max_output_bytes: usize,
}

/// Default fuel per call: 1e9. Measured: a Rust plugin's `plan()` uses ~12k units and a
/// Python (componentize-py) plugin's ~250k, so honest plugins have 4000x headroom, while a
/// runaway loop burns 1e9 units in roughly 40–100 ms and is stopped long before the 1 s deadline.
pub const DEFAULT_FUEL: u64 = 1_000_000_000;

/// Largest value (plan, verdict, deployment) a call may return, measured as JSON. A plan is
/// guest output the host keeps, renders and logs; multi-megabyte plans are bugs.
pub const MAX_RESULT_BYTES: usize = 4 << 20;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            memory_bytes: 128 << 20,
            fuel: DEFAULT_FUEL,
            deadline: Duration::from_secs(1),
            max_wasm_stack: 512 << 10,
            max_output_bytes: 64 << 10,
        }
    }
}

/// How to open a [`PluginHost`].
#[derive(Debug, Clone)]
pub struct HostOptions {
    /// Searched in order for `*.wasm` (not recursive).
    pub plugin_dirs: Vec<PathBuf>,
    /// The precompiled-component cache (see [`cache`]).
    pub cache_dir: PathBuf,
    pub limits: Limits,
    /// A `plugins.lock` to enforce: unpinned or changed components are refused.
    pub locked: Option<PathBuf>,
}

impl HostOptions {
    /// Options with default limits, no lock, and the cache under `cache_root/components`.
    pub fn new(plugin_dirs: Vec<PathBuf>, cache_root: &Path) -> HostOptions {
        HostOptions { plugin_dirs, cache_dir: cache_root.join("components"), limits: Limits::default(), locked: None }
    }
}

/// The default cache directory: `~/.cache/panther-host/components/`.
pub fn default_cache_dir() -> PathBuf {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    base.join("panther-host").join("components")
}

/// Where `make install` puts the plugins, relative to the installed binary's directory.
pub const INSTALLED_DIR: &str = "../share/panther-host/plugins";

/// The plugins that ship with this build, the first that exists of:
/// `<exe>/../share/panther-host/plugins` (`make install`), the `plugins-dist/` of the workspace
/// the binary lives in (`target/…`) or was built in, `plugins-dist/` in the current directory.
/// Only the last depends on the working directory, so an installed binary finds its plugins
/// from anywhere, and a workspace build keeps finding its own.
pub fn bundled_dir() -> Option<PathBuf> {
    // `current_exe` is the resolved path on Linux, so a symlink to the binary (say in ~/bin)
    // finds the share directory of the real one.
    let exe = std::env::current_exe().ok();
    let installed = exe
        .as_deref()
        .and_then(Path::parent)
        .map(|bin| bin.join(INSTALLED_DIR))
        .filter(|d| d.is_dir())
        .map(|d| d.canonicalize().unwrap_or(d));
    let from_exe = exe.as_deref().and_then(|exe| {
        exe.ancestors()
            .find(|a| a.join("plugins-dist").is_dir() && a.join("wit").is_dir())
            .map(|a| a.join("plugins-dist"))
    });
    let from_build =
        Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(|p| p.join("plugins-dist")).filter(|p| p.is_dir());
    let from_cwd = Some(PathBuf::from("plugins-dist")).filter(|p| p.is_dir());
    installed.or(from_exe).or(from_build).or(from_cwd)
}

/// A component that passed verification, and what it said about itself.
#[derive(Debug, Clone, serde::Serialize)]
pub struct VerifiedComponent {
    pub info: types::PluginInfo,
    pub path: PathBuf,
    /// sha256 of the `.wasm`, lower-case hex.
    pub digest: String,
    pub contract: wit::Version,
    pub world: World,
    pub imports: Vec<String>,
    /// Whether the compiled code came from the cache.
    pub cache: CacheOutcome,
}

/// A loaded plugin, ready to call.
#[derive(Clone, serde::Serialize)]
pub struct LoadedPlugin {
    pub info: types::PluginInfo,
    pub path: PathBuf,
    /// sha256 of the `.wasm`, lower-case hex.
    pub digest: String,
    pub contract: wit::Version,
    pub world: World,
    pub imports: Vec<String>,
    #[serde(skip)]
    pre: Pre,
    #[serde(skip)]
    label: Arc<str>,
}

impl std::fmt::Debug for LoadedPlugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoadedPlugin")
            .field("name", &self.info.name)
            .field("path", &self.path)
            .field("digest", &self.digest)
            .field("world", &self.world)
            .finish_non_exhaustive()
    }
}

#[derive(Clone)]
enum Pre {
    Service(svc_world::ServicePluginPre<HostState>),
    Environment(env_world::EnvironmentPluginPre<HostState>),
}

/// Loads plugins and calls them in the sandbox. `Send + Sync`: share it behind an `Arc`.
pub struct PluginHost {
    engine: Engine,
    linker: Linker<HostState>,
    cache: cache::Cache,
    limits: Limits,
    lock: Option<(PathBuf, lock::LockFile)>,
    plugins: Vec<LoadedPlugin>,
    refused: Vec<Refusal>,
}

impl std::fmt::Debug for PluginHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PluginHost")
            .field("plugins", &self.plugins)
            .field("refused", &self.refused)
            .finish_non_exhaustive()
    }
}

impl PluginHost {
    /// Discovers, verifies and compiles (or loads from cache) every `*.wasm` in the plugin
    /// directories. Refused files are recorded in [`PluginHost::refused`], never fatal.
    ///
    /// # Errors
    /// Only when the engine cannot be set up or `opts.locked` names an unreadable lock file.
    pub fn open(opts: HostOptions) -> Result<PluginHost, PluginError> {
        let engine = sandbox::engine(&opts.limits).map_err(PluginError::Engine)?;
        sandbox::start_ticker(&engine);
        let linker = sandbox::linker(&engine).map_err(|e| PluginError::Engine(format!("{e:#}")))?;
        let lock = match &opts.locked {
            Some(p) => Some((p.clone(), lock::LockFile::read(p)?)),
            None => None,
        };
        let cache = cache::Cache::new(opts.cache_dir.clone(), &engine);
        let mut host =
            PluginHost { engine, linker, cache, limits: opts.limits, lock, plugins: vec![], refused: vec![] };

        let mut files = vec![];
        for dir in &opts.plugin_dirs {
            let entries = match std::fs::read_dir(dir) {
                Ok(e) => e,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    tracing::debug!(dir = %dir.display(), "plugin directory does not exist");
                    continue;
                }
                Err(e) => return Err(PluginError::Io { path: dir.clone(), message: e.to_string() }),
            };
            let mut here: Vec<PathBuf> = entries
                .filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "wasm"))
                .collect();
            here.sort();
            files.extend(here);
        }

        for path in files {
            match host.admit(&path) {
                Ok(p) => {
                    if let Some(other) = host.plugins.iter().find(|o| o.info.name == p.info.name) {
                        let reason = RefusalReason::Duplicate { name: p.info.name.clone(), other: other.path.clone() };
                        host.refused.push(Refusal { path, reason });
                    } else {
                        host.plugins.push(p);
                    }
                }
                Err(r) => {
                    tracing::warn!("{r}");
                    host.refused.push(r);
                }
            }
        }
        host.check_missing_pins();
        host.plugins.sort_by(|a, b| a.info.name.cmp(&b.info.name));
        Ok(host)
    }

    fn check_missing_pins(&mut self) {
        let Some((lock_path, lock)) = &self.lock else {
            return;
        };
        let dir = lock_path.parent().unwrap_or(Path::new("."));
        for e in &lock.components {
            let p = dir.join(&e.file);
            if !p.exists() {
                let reason = RefusalReason::MissingPinned { file: e.file.clone(), expected: e.sha256.clone() };
                self.refused.push(Refusal { path: p, reason });
            }
        }
    }

    fn admit(&self, path: &Path) -> Result<LoadedPlugin, Refusal> {
        let (v, pre) = self.verify_inner(path, true)?;
        Ok(LoadedPlugin {
            label: Arc::from(v.info.name.as_str()),
            info: v.info,
            path: v.path,
            digest: v.digest,
            contract: v.contract,
            world: v.world,
            imports: v.imports,
            pre,
        })
    }

    /// Runs the whole admission pipeline on one file without loading it (for `plugins verify`).
    /// The lock file, if the host enforces one, applies too.
    pub fn verify_file(&self, path: &Path) -> Result<VerifiedComponent, Refusal> {
        self.verify_inner(path, true).map(|(v, _)| v)
    }

    fn verify_inner(&self, path: &Path, check_lock: bool) -> Result<(VerifiedComponent, Pre), Refusal> {
        let refuse = |reason| Refusal { path: path.to_path_buf(), reason };
        let meta = std::fs::metadata(path).map_err(|e| refuse(RefusalReason::Unreadable { message: e.to_string() }))?;
        if meta.len() > verify::MAX_COMPONENT_BYTES {
            return Err(refuse(RefusalReason::TooLarge { bytes: meta.len(), limit: verify::MAX_COMPONENT_BYTES }));
        }
        let bytes = std::fs::read(path).map_err(|e| refuse(RefusalReason::Unreadable { message: e.to_string() }))?;
        let digest = hex::encode(Sha256::digest(&bytes));
        if check_lock {
            self.check_pin(path, &digest).map_err(refuse)?;
        }
        verify::sniff(&bytes).map_err(refuse)?;
        let (component, cache) = self
            .cache
            .load_or_compile(&self.engine, &bytes, &digest)
            .map_err(|message| refuse(RefusalReason::Malformed { message }))?;
        let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let shape = verify::shape(&self.engine, &component, &stem).map_err(refuse)?;
        let pre =
            self.prepare(&component, shape.world).map_err(|message| refuse(RefusalReason::Malformed { message }))?;
        let info = self.describe_pre(&pre, &stem).map_err(|message| refuse(RefusalReason::BadDescribe { message }))?;
        let kind_ok = match shape.world {
            World::Environment => info.kind == types::PluginKind::Environment,
            World::Service => info.kind != types::PluginKind::Environment,
        };
        if info.name.trim().is_empty() {
            return Err(refuse(RefusalReason::BadDescribe { message: "it returned an empty name".into() }));
        }
        if !kind_ok {
            let message =
                format!("it says kind `{:?}` but exports the {} world", info.kind, shape.world).to_lowercase();
            return Err(refuse(RefusalReason::BadDescribe { message }));
        }
        let v = VerifiedComponent {
            info,
            path: path.to_path_buf(),
            digest,
            contract: shape.contract,
            world: shape.world,
            imports: shape.imports,
            cache,
        };
        Ok((v, pre))
    }

    fn check_pin(&self, path: &Path, digest: &str) -> Result<(), RefusalReason> {
        let Some((lock_path, lock)) = &self.lock else {
            return Ok(());
        };
        let file = path.file_name().map(|f| f.to_string_lossy().into_owned()).unwrap_or_default();
        match lock.components.iter().find(|e| e.file == file) {
            None => Err(RefusalReason::Unpinned { file, lock: lock_path.clone() }),
            Some(e) if !e.sha256.eq_ignore_ascii_case(digest) => {
                Err(RefusalReason::DigestMismatch { file, expected: e.sha256.clone(), actual: digest.to_string() })
            }
            Some(_) => Ok(()),
        }
    }

    fn prepare(&self, component: &Component, world: World) -> Result<Pre, String> {
        let ipre = self.linker.instantiate_pre(component).map_err(|e| format!("cannot link: {e:#}"))?;
        match world {
            World::Service => svc_world::ServicePluginPre::new(ipre).map(Pre::Service),
            World::Environment => env_world::EnvironmentPluginPre::new(ipre).map(Pre::Environment),
        }
        .map_err(|e| format!("{e:#}"))
    }

    fn describe_pre(&self, pre: &Pre, stem: &str) -> Result<types::PluginInfo, String> {
        let label: Arc<str> = Arc::from(stem);
        let r = self.call_raw(&label, "describe", |store| match pre {
            Pre::Service(p) => p.instantiate(&mut *store)?.panther_plugin_service().call_describe(&mut *store),
            Pre::Environment(p) => p.instantiate(&mut *store)?.panther_plugin_environment().call_describe(&mut *store),
        });
        r.map_err(|e| e.to_string())
    }

    /// Loaded plugins, sorted by name.
    pub fn plugins(&self) -> &[LoadedPlugin] {
        &self.plugins
    }

    /// Files that were refused, with the reason.
    pub fn refused(&self) -> &[Refusal] {
        &self.refused
    }

    /// The limits every call runs under.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The precompiled-component cache directory.
    pub fn cache_dir(&self) -> &Path {
        self.cache.dir()
    }

    /// The plugin called `name`.
    ///
    /// # Errors
    /// [`CallError::NotFound`] with up to three similar names.
    pub fn find(&self, name: &str) -> Result<&LoadedPlugin, CallError> {
        if let Some(p) = self.plugins.iter().find(|p| p.info.name == name) {
            return Ok(p);
        }
        let mut scored: Vec<(f64, &str)> = self
            .plugins
            .iter()
            .map(|p| {
                let n = p.info.name.as_str();
                let s = strsim::jaro_winkler(&name.to_lowercase(), &n.to_lowercase());
                let s = if n.contains(name) || name.contains(n) { s.max(0.9) } else { s };
                (s, n)
            })
            .filter(|(s, _)| *s >= 0.75)
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0));
        let suggestions = scored.into_iter().take(3).map(|(_, n)| n.to_string()).collect();
        Err(CallError::NotFound { name: name.to_string(), suggestions })
    }

    /// Asks a service plugin for the plan of one service.
    ///
    /// # Errors
    /// [`CallError::Plugin`] when the plugin declines, [`CallError::Trap`] when it trapped or hit a
    /// limit, `NotFound`/`WrongWorld` when `plugin` is not a loaded service plugin.
    pub fn plan(&self, plugin: &str, req: &types::PlanRequest) -> Result<types::ServicePlan, CallError> {
        let (p, pre) = self.service(plugin)?;
        self.call_fallible(p, "plan", |store| {
            pre.instantiate(&mut *store)?.panther_plugin_service().call_plan(&mut *store, req)
        })
    }

    /// Asks a service plugin to judge a finished test; `None` means no opinion.
    ///
    /// # Errors
    /// As for [`PluginHost::plan`], without `Plugin`.
    pub fn assess(&self, plugin: &str, outcome: &types::Outcome) -> Result<Option<types::Verdict>, CallError> {
        let (p, pre) = self.service(plugin)?;
        self.call(p, "assess", |store| {
            pre.instantiate(&mut *store)?.panther_plugin_service().call_assess(&mut *store, outcome)
        })
    }

    /// Asks an environment plugin where and in which order the services run.
    ///
    /// # Errors
    /// As for [`PluginHost::plan`].
    pub fn deploy(&self, plugin: &str, req: &env::DeployRequest) -> Result<env::DeploymentPlan, CallError> {
        let p = self.find(plugin)?;
        let Pre::Environment(pre) = &p.pre else {
            return Err(wrong_world(p, World::Environment));
        };
        self.call_fallible(p, "deploy", |store| {
            pre.instantiate(&mut *store)?.panther_plugin_environment().call_deploy(&mut *store, req)
        })
    }

    /// The loaded service plugin `plugin`, with what instantiates it.
    fn service(&self, plugin: &str) -> Result<(&LoadedPlugin, &svc_world::ServicePluginPre<HostState>), CallError> {
        let p = self.find(plugin)?;
        match &p.pre {
            Pre::Service(pre) => Ok((p, pre)),
            _ => Err(wrong_world(p, World::Service)),
        }
    }

    /// [`PluginHost::call`] for an export that may decline: the plugin's own error becomes
    /// [`CallError::Plugin`], naming the plugin and the call.
    fn call_fallible<R: serde::Serialize + Send>(
        &self,
        p: &LoadedPlugin,
        call: &'static str,
        f: impl FnOnce(&mut wasmtime::Store<HostState>) -> wasmtime::Result<Result<R, types::PluginError>> + Send,
    ) -> Result<R, CallError> {
        self.call(p, call, f)?.map_err(|error| CallError::Plugin { plugin: p.info.name.clone(), call, error })
    }

    fn call<R: serde::Serialize + Send>(
        &self,
        p: &LoadedPlugin,
        call: &'static str,
        f: impl FnOnce(&mut wasmtime::Store<HostState>) -> wasmtime::Result<R> + Send,
    ) -> Result<R, CallError> {
        let r = self.call_raw(&p.label, call, f)?;
        let size = json_size(&r);
        if size > MAX_RESULT_BYTES {
            return Err(CallError::Trap {
                plugin: p.info.name.clone(),
                call,
                limit: Some(LimitHit::Output { limit_bytes: MAX_RESULT_BYTES, actual: size }),
                message: "result too large".into(),
                guest_stderr: String::new(),
            });
        }
        Ok(r)
    }

    /// One call in a fresh store; every trap becomes a [`CallError::Trap`] naming the limit.
    fn call_raw<R: Send>(
        &self,
        label: &Arc<str>,
        call: &'static str,
        f: impl FnOnce(&mut wasmtime::Store<HostState>) -> wasmtime::Result<R> + Send,
    ) -> Result<R, CallError> {
        // wasmtime-wasi's synchronous WASI (a guest writing to stderr, e.g. when it panics)
        // calls `Handle::block_on`, which panics inside a Tokio runtime. Calls made from async
        // code therefore run on a plain scoped thread (~20 µs), outside any runtime context.
        if tokio::runtime::Handle::try_current().is_ok() {
            return std::thread::scope(|s| {
                s.spawn(|| self.call_in_this_thread(label, call, f))
                    .join()
                    .unwrap_or_else(|p| std::panic::resume_unwind(p))
            });
        }
        self.call_in_this_thread(label, call, f)
    }

    fn call_in_this_thread<R>(
        &self,
        label: &Arc<str>,
        call: &'static str,
        f: impl FnOnce(&mut wasmtime::Store<HostState>) -> wasmtime::Result<R>,
    ) -> Result<R, CallError> {
        let mut store = sandbox::store(&self.engine, label.clone(), &self.limits);
        let r = f(&mut store);
        sandbox::finish(&store);
        r.map_err(|e| {
            let (limit, message) = sandbox::classify(&store, &e, &self.limits);
            let guest_stderr = store.data().output.contents();
            CallError::Trap { plugin: label.to_string(), call, limit, message, guest_stderr }
        })
    }
}

fn wrong_world(p: &LoadedPlugin, expected: World) -> CallError {
    CallError::WrongWorld { plugin: p.info.name.clone(), expected }
}

fn json_size<T: serde::Serialize>(v: &T) -> usize {
    struct Count(usize);
    impl std::io::Write for Count {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0 += b.len();
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut c = Count(0);
    let _ = serde_json::to_writer(&mut c, v);
    c.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_send_sync<T: Send + Sync>() {}

    #[test]
    fn host_is_shareable() {
        assert_send_sync::<PluginHost>();
        assert_send_sync::<LoadedPlugin>();
    }

    #[test]
    fn default_limits_are_the_documented_ones() {
        let l = Limits::default();
        assert_eq!(
            (l.memory_bytes, l.fuel, l.deadline, l.max_wasm_stack, l.max_output_bytes),
            (128 << 20, 1_000_000_000, Duration::from_secs(1), 512 << 10, 64 << 10)
        );
    }
}
