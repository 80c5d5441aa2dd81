//! Plugins: discovery, verification, the sandbox they run in, and calls into them.
//!
//! [`PluginHost::open`] finds `*.wasm` files in the plugin directories and admits each one
//! through the same pipeline (`verify_file`): size cap → sniffing (native code, scripts and core
//! modules are refused before the compiler sees them) → optional `plugins.lock` pin → compile
//! (or load the host's own precompiled cache) → world, contract version and import allow-list →
//! `describe()` in the sandbox. A file that fails is kept as a [`Refusal`] with its reason;
//! it never stops the others from loading.
//!
//! A component admitted before (same sha256, same engine) is answered from the describe
//! [`index`] after the size cap, the pin and the sniffing, without being loaded: most commands
//! call a few plugins, and loading one Python plugin costs more than listing all of them. Its
//! component is loaded, its type checked again and its `describe()` compared with the index
//! when it is first called.
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
pub mod identity;
pub mod index;
pub mod lock;
pub mod sandbox;
pub mod verify;
pub mod wit;

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use sha2::{Digest, Sha256};
use wasmtime::component::{Component, Linker};
use wasmtime::Engine;

pub use cache::CacheOutcome;
pub use error::{CallError, ForbiddenImport, LimitHit, PluginError, Refusal, RefusalReason};
pub use wit::latest::{env, types};

use sandbox::HostState;
use wit::since_v0_1_0 as v0_1;
use wit::since_v0_2_0 as v0_2;

/// Which world a plugin exports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum World {
    /// `panther:plugin/service`: IUTs and testers (`plan`, `assess`).
    Service,
    /// `panther:plugin/environment`: network environments (`deploy`).
    Environment,
}

impl World {
    /// The world's name in the contract's WIT (`worlds.wit`).
    pub fn wit_world(self) -> &'static str {
        match self {
            World::Service => "service-plugin",
            World::Environment => "environment-plugin",
        }
    }
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

/// Largest `describe()` result accepted, measured as JSON. The largest real one (ivy, every
/// test and parameter documented) is a few kilobytes; the index stores it, so it is bounded
/// like any other plugin output.
pub const MAX_DESCRIBE_BYTES: usize = 1 << 20;

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

/// An admitted plugin, ready to call. Its component is loaded when it is admitted in full, or
/// on its first call when it was admitted from the [`index`].
#[derive(Clone, serde::Serialize)]
pub struct LoadedPlugin {
    pub info: types::PluginInfo,
    pub path: PathBuf,
    /// sha256 of the `.wasm`, lower-case hex.
    pub digest: String,
    pub contract: wit::Version,
    pub world: World,
    pub imports: Vec<String>,
    /// Shared by clones, so a plugin is loaded once however often it was cloned; a failed load
    /// is kept too, so every later call gives the same error without loading again.
    #[serde(skip)]
    pre: Arc<OnceLock<Result<Pre, String>>>,
    #[serde(skip)]
    label: Arc<str>,
    #[serde(skip)]
    from_index: bool,
}

impl LoadedPlugin {
    /// Whether it was admitted from the describe index, without loading its component.
    pub fn from_index(&self) -> bool {
        self.from_index
    }

    /// Whether its component is loaded and linked: admitted in full, or called since.
    pub fn is_loaded(&self) -> bool {
        self.pre.get().is_some_and(|r| r.is_ok())
    }
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

/// A component ready to instantiate, by world and by the contract version it was built
/// against. Calls go through [`Pre::service`] and [`Pre::deploy`], which adapt the versions.
#[derive(Clone)]
enum Pre {
    ServiceV1(v0_1::service::ServicePluginPre<HostState>),
    ServiceV2(v0_2::service::ServicePluginPre<HostState>),
    EnvironmentV1(v0_1::environment::EnvironmentPluginPre<HostState>),
    EnvironmentV2(v0_2::environment::EnvironmentPluginPre<HostState>),
}

/// A service plugin's calls, whichever contract version it was built against: the service
/// interface is the same at 0.1.0 and 0.2.0 (one set of types), only its name differs.
macro_rules! service_call {
    ($pre:expr, $store:expr, |$svc:ident| $call:expr) => {
        match $pre {
            ServicePre::V1(p) => {
                let $svc = p.instantiate(&mut *$store)?;
                let $svc = $svc.panther_plugin_service();
                $call
            }
            ServicePre::V2(p) => {
                let $svc = p.instantiate(&mut *$store)?;
                let $svc = $svc.panther_plugin_service();
                $call
            }
        }
    };
}

/// A service plugin's `InstancePre`, of either contract version.
enum ServicePre<'a> {
    V1(&'a v0_1::service::ServicePluginPre<HostState>),
    V2(&'a v0_2::service::ServicePluginPre<HostState>),
}

impl Pre {
    fn new(
        ipre: wasmtime::component::InstancePre<HostState>,
        world: World,
        contract: wit::Version,
    ) -> wasmtime::Result<Pre> {
        let v2 = contract >= v0_2::MIN_VERSION;
        Ok(match (world, v2) {
            (World::Service, false) => Pre::ServiceV1(v0_1::service::ServicePluginPre::new(ipre)?),
            (World::Service, true) => Pre::ServiceV2(v0_2::service::ServicePluginPre::new(ipre)?),
            (World::Environment, false) => Pre::EnvironmentV1(v0_1::environment::EnvironmentPluginPre::new(ipre)?),
            (World::Environment, true) => Pre::EnvironmentV2(v0_2::environment::EnvironmentPluginPre::new(ipre)?),
        })
    }

    fn service(&self) -> Option<ServicePre<'_>> {
        match self {
            Pre::ServiceV1(p) => Some(ServicePre::V1(p)),
            Pre::ServiceV2(p) => Some(ServicePre::V2(p)),
            _ => None,
        }
    }

    fn describe(&self, store: &mut wasmtime::Store<HostState>) -> wasmtime::Result<types::PluginInfo> {
        match self {
            Pre::EnvironmentV1(p) => {
                p.instantiate(&mut *store)?.panther_plugin_environment().call_describe(&mut *store)
            }
            Pre::EnvironmentV2(p) => {
                p.instantiate(&mut *store)?.panther_plugin_environment().call_describe(&mut *store)
            }
            _ => {
                let pre = self.service().expect("the other variants are services");
                service_call!(pre, store, |svc| svc.call_describe(&mut *store))
            }
        }
    }

    /// `deploy`, adapting the request and the plan for an environment built against 0.1.0.
    /// `None` when this is not an environment.
    fn deploy(
        &self,
        store: &mut wasmtime::Store<HostState>,
        req: &env::DeployRequest,
    ) -> Option<wasmtime::Result<Result<env::DeploymentPlan, types::PluginError>>> {
        Some(match self {
            Pre::EnvironmentV2(p) => {
                p.instantiate(&mut *store).and_then(|i| i.panther_plugin_environment().call_deploy(&mut *store, req))
            }
            Pre::EnvironmentV1(p) => p
                .instantiate(&mut *store)
                .and_then(|i| i.panther_plugin_environment().call_deploy(&mut *store, &v0_2::adapt::request(req)))
                .map(|r| r.map(v0_2::adapt::deployment)),
            _ => return None,
        })
    }
}

/// Loads plugins and calls them in the sandbox. `Send + Sync`: share it behind an `Arc`.
pub struct PluginHost {
    engine: Engine,
    linker: Linker<HostState>,
    cache: cache::Cache,
    index: index::Index,
    digests: identity::Digests,
    limits: Limits,
    lock: Option<(PathBuf, lock::LockFile)>,
    plugins: Vec<LoadedPlugin>,
    refused: Vec<Refusal>,
    /// The most each plugin used of its limits in one call, over the calls made so far.
    usage: std::sync::Mutex<std::collections::BTreeMap<String, sandbox::Usage>>,
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
        let opened = std::time::Instant::now();
        let engine = sandbox::engine(&opts.limits).map_err(PluginError::Engine)?;
        sandbox::start_ticker(&engine);
        let linker = sandbox::linker(&engine).map_err(|e| PluginError::Engine(format!("{e:#}")))?;
        let lock = match &opts.locked {
            Some(p) => Some((p.clone(), lock::LockFile::read(p)?)),
            None => None,
        };
        let cache = cache::Cache::new(opts.cache_dir.clone(), &engine);
        let index = index::Index::new(opts.cache_dir.clone(), cache.engine_key());
        let mut host = PluginHost {
            engine,
            linker,
            cache,
            index,
            digests: identity::Digests::new(&opts.cache_dir),
            limits: opts.limits,
            lock,
            plugins: vec![],
            refused: vec![],
            usage: Default::default(),
        };

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
            if let Err(r) = host.add_file(&path) {
                tracing::warn!("{r}");
                host.refused.push(r);
            }
        }
        host.check_missing_pins();
        let indexed = host.plugins.iter().filter(|p| p.from_index).count();
        tracing::debug!(
            "opened {} plugins ({indexed} from the describe index, none of those loaded), {} refused, in {:.1} ms",
            host.plugins.len(),
            host.refused.len(),
            opened.elapsed().as_secs_f64() * 1e3
        );
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

    /// Admits one file: from the index when it holds this digest, else through the whole
    /// pipeline. The size cap, the lock pin and the sniffing apply to both.
    fn admit(&self, path: &Path) -> Result<LoadedPlugin, Refusal> {
        let refuse = |reason| Refusal { path: path.to_path_buf(), reason };
        let (digest, head) = self.digest_of(path).map_err(refuse)?;
        self.check_pin(path, &digest).map_err(refuse)?;
        verify::sniff(&head).map_err(refuse)?;
        if let Some(e) = self.index.get(&digest) {
            return Ok(LoadedPlugin {
                label: Arc::from(e.info.name.as_str()),
                info: e.info,
                path: path.to_path_buf(),
                digest,
                contract: e.contract,
                world: e.world,
                imports: e.imports,
                pre: Arc::new(OnceLock::new()),
                from_index: true,
            });
        }
        let (v, pre) = self.verify_inner(path, true)?;
        Ok(LoadedPlugin {
            label: Arc::from(v.info.name.as_str()),
            info: v.info,
            path: v.path,
            digest: v.digest,
            contract: v.contract,
            world: v.world,
            imports: v.imports,
            pre: Arc::new(OnceLock::from(Ok(pre))),
            from_index: false,
        })
    }

    /// The sha256 of a plugin file and its first bytes (enough to sniff): remembered when the
    /// file is as it was when last hashed ([`identity`]), else hashed now.
    fn digest_of(&self, path: &Path) -> Result<(String, Vec<u8>), RefusalReason> {
        let started = std::time::SystemTime::now();
        let before = identity::Identity::of(path);
        if let Some(id) = &before {
            if id.size > verify::MAX_COMPONENT_BYTES {
                return Err(RefusalReason::TooLarge { bytes: id.size, limit: verify::MAX_COMPONENT_BYTES });
            }
            if let Some(digest) = self.digests.get(path, id) {
                return Ok((digest, read_head(path)?));
            }
        }
        let (digest, head) = hash_file(path)?;
        if let Some(id) = &before {
            self.digests.put(path, id, started, &digest);
        }
        Ok((digest, head))
    }

    /// What calls `p`, loading its component on first use when it came from the index.
    fn loaded<'a>(&self, p: &'a LoadedPlugin) -> Result<&'a Pre, CallError> {
        p.pre.get_or_init(|| self.load_indexed(p)).as_ref().map_err(|message| CallError::Unloadable {
            plugin: p.info.name.clone(),
            path: p.path.clone(),
            message: message.clone(),
        })
    }

    /// Loads a plugin admitted from the index and checks that the index told the truth about
    /// it: the component's type is checked as on admission, and a fresh `describe()` must equal
    /// the one the rest of the host has already used. A disagreement removes the entry.
    fn load_indexed(&self, p: &LoadedPlugin) -> Result<Pre, String> {
        let started = std::time::Instant::now();
        let stem = p.path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let component = match self.cache.load(&self.engine, &p.digest) {
            Some(c) => c,
            None => {
                // The precompiled artifact is gone or damaged, so compile the file; it must
                // still be the one whose digest was pinned and indexed when the host opened.
                let bytes = read_capped(&p.path).map_err(|r| r.to_string())?;
                let now = hex::encode(Sha256::digest(&bytes));
                if now != p.digest {
                    return Err(format!(
                        "the file changed since the host opened it (sha256 {} then, {} now); run the command again",
                        p.digest, now
                    ));
                }
                verify::sniff(&bytes).map_err(|r| r.to_string())?;
                self.cache.load_or_compile(&self.engine, &bytes, &p.digest)?.0
            }
        };
        let entry = self.index.path(&p.digest);
        let stale = |what: &str| {
            self.index.remove(&p.digest);
            format!(
                "{what} differs from the describe index entry `{}`; the entry was removed, run the command again",
                entry.display()
            )
        };
        let shape = verify::shape(&self.engine, &component, &stem).map_err(|r| stale(&format!("its type ({r})")))?;
        if shape.world != p.world || shape.contract != p.contract || shape.imports != p.imports {
            return Err(stale("its world, contract version or imports"));
        }
        let pre = self.prepare(&component, shape.world, shape.contract)?;
        let loaded = started.elapsed();
        let fresh = self.describe_pre(&pre, &stem).map_err(|m| format!("describe() failed: {m}"))?;
        if fresh != p.info {
            return Err(stale("what its describe() returns"));
        }
        tracing::debug!(
            plugin = %p.info.name,
            "loaded on first call in {:.1} ms (describe() checked against the index in {:.1} ms)",
            loaded.as_secs_f64() * 1e3,
            (started.elapsed() - loaded).as_secs_f64() * 1e3
        );
        Ok(pre)
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
        let pre = self
            .prepare(&component, shape.world, shape.contract)
            .map_err(|message| refuse(RefusalReason::Malformed { message }))?;
        let info = self.describe_pre(&pre, &stem).map_err(|message| refuse(RefusalReason::BadDescribe { message }))?;
        check_describe(&info, shape.world).map_err(|message| refuse(RefusalReason::BadDescribe { message }))?;
        let entry = index::Entry {
            world: shape.world,
            contract: shape.contract,
            imports: shape.imports.clone(),
            info: info.clone(),
        };
        self.index.put(&digest, &entry);
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

    fn prepare(&self, component: &Component, world: World, contract: wit::Version) -> Result<Pre, String> {
        let ipre = self.linker.instantiate_pre(component).map_err(|e| format!("cannot link: {e:#}"))?;
        Pre::new(ipre, world, contract).map_err(|e| format!("{e:#}"))
    }

    fn describe_pre(&self, pre: &Pre, stem: &str) -> Result<types::PluginInfo, String> {
        let label: Arc<str> = Arc::from(stem);
        let r = self.call_raw(&label, "describe", |store| pre.describe(store));
        r.map_err(|e| e.to_string())
    }

    /// Asks a plugin to describe itself again (admission asked once already).
    ///
    /// # Errors
    /// As for [`PluginHost::plan`].
    pub fn describe(&self, plugin: &str) -> Result<types::PluginInfo, CallError> {
        let p = self.find(plugin)?;
        let pre = self.loaded(p)?;
        self.call(p, "describe", |store| pre.describe(store))
    }

    /// The most `plugin` used of its limits in any one call so far (fuel, memory).
    pub fn usage(&self, plugin: &str) -> sandbox::Usage {
        self.usage.lock().unwrap_or_else(|e| e.into_inner()).get(plugin).copied().unwrap_or_default()
    }

    /// Admits one more component file: each of the plugin directories' files when the host
    /// opens, and a file given by path (`plugins test FILE`). The first plugin to claim a name
    /// keeps it. Returns its name.
    ///
    /// # Errors
    /// The file is refused, or a plugin of the same name is already admitted.
    pub fn add_file(&mut self, path: &Path) -> Result<String, Refusal> {
        let p = self.admit(path)?;
        if let Some(other) = self.plugins.iter().find(|o| o.info.name == p.info.name) {
            return Err(Refusal {
                path: path.to_path_buf(),
                reason: RefusalReason::Duplicate { name: p.info.name.clone(), other: other.path.clone() },
            });
        }
        let name = p.info.name.clone();
        self.plugins.push(p);
        self.plugins.sort_by(|a, b| a.info.name.cmp(&b.info.name));
        Ok(name)
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
    /// [`CallError::Unloadable`] when the component of a plugin admitted from the index cannot
    /// be loaded or no longer matches the index.
    pub fn plan(&self, plugin: &str, req: &types::PlanRequest) -> Result<types::ServicePlan, CallError> {
        let (p, pre) = self.service(plugin)?;
        self.call_fallible(p, "plan", |store| service_call!(&pre, store, |svc| svc.call_plan(&mut *store, req)))
    }

    /// Asks a service plugin to judge a finished test; `None` means no opinion.
    ///
    /// # Errors
    /// As for [`PluginHost::plan`], without `Plugin`.
    pub fn assess(&self, plugin: &str, outcome: &types::Outcome) -> Result<Option<types::Verdict>, CallError> {
        let (p, pre) = self.service(plugin)?;
        self.call(p, "assess", |store| service_call!(&pre, store, |svc| svc.call_assess(&mut *store, outcome)))
    }

    /// Asks an environment plugin where and in which order the services run.
    ///
    /// # Errors
    /// As for [`PluginHost::plan`].
    pub fn deploy(&self, plugin: &str, req: &env::DeployRequest) -> Result<env::DeploymentPlan, CallError> {
        let p = self.find(plugin)?;
        if p.world != World::Environment {
            return Err(wrong_world(p, World::Environment));
        }
        let pre = self.loaded(p)?;
        if !matches!(pre, Pre::EnvironmentV1(_) | Pre::EnvironmentV2(_)) {
            return Err(wrong_world(p, World::Environment));
        }
        self.call_fallible(p, "deploy", |store| pre.deploy(store, req).expect("an environment"))
    }

    /// The loaded service plugin `plugin`, with what instantiates it.
    fn service(&self, plugin: &str) -> Result<(&LoadedPlugin, ServicePre<'_>), CallError> {
        let p = self.find(plugin)?;
        // The world is known without loading: a wrong-world call loads nothing.
        if p.world != World::Service {
            return Err(wrong_world(p, World::Service));
        }
        match self.loaded(p)?.service() {
            Some(pre) => Ok((p, pre)),
            None => Err(wrong_world(p, World::Service)),
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
        let used = sandbox::usage(&store, &self.limits);
        let mut usage = self.usage.lock().unwrap_or_else(|e| e.into_inner());
        let seen = usage.entry(label.to_string()).or_default();
        *seen = seen.max(used);
        drop(usage);
        r.map_err(|e| {
            let (limit, message) = sandbox::classify(&store, &e, &self.limits);
            let guest_stderr = store.data().output.contents();
            CallError::Trap { plugin: label.to_string(), call, limit, message, guest_stderr }
        })
    }
}

/// The rules every `describe()` result meets, fresh from the plugin or read back from the index.
pub(crate) fn check_describe(info: &types::PluginInfo, world: World) -> Result<(), String> {
    if info.name.trim().is_empty() {
        return Err("it returned an empty name".into());
    }
    let kind_ok = match world {
        World::Environment => info.kind == types::PluginKind::Environment,
        World::Service => info.kind != types::PluginKind::Environment,
    };
    if !kind_ok {
        return Err(format!("it says kind `{:?}` but exports the {world} world", info.kind).to_lowercase());
    }
    let size = json_size(info);
    if size > MAX_DESCRIBE_BYTES {
        return Err(format!("it returned {size} bytes (as JSON); the limit is {MAX_DESCRIBE_BYTES}"));
    }
    Ok(())
}

/// How much of a file sniffing needs.
const HEAD_BYTES: usize = 4096;

/// The first bytes of a file, enough to sniff.
fn read_head(path: &Path) -> Result<Vec<u8>, RefusalReason> {
    use std::io::Read;
    let unreadable = |e: std::io::Error| RefusalReason::Unreadable { message: e.to_string() };
    let mut head = Vec::with_capacity(HEAD_BYTES);
    std::fs::File::open(path).and_then(|f| f.take(HEAD_BYTES as u64).read_to_end(&mut head)).map_err(unreadable)?;
    Ok(head)
}

/// The sha256 of a file and its first bytes (enough to sniff), read in chunks: the index
/// answers most files, and their bytes are not needed beyond the digest.
fn hash_file(path: &Path) -> Result<(String, Vec<u8>), RefusalReason> {
    use std::io::Read;
    let unreadable = |e: std::io::Error| RefusalReason::Unreadable { message: e.to_string() };
    let mut f = std::fs::File::open(path).map_err(unreadable)?;
    let len = f.metadata().map_err(unreadable)?.len();
    if len > verify::MAX_COMPONENT_BYTES {
        return Err(RefusalReason::TooLarge { bytes: len, limit: verify::MAX_COMPONENT_BYTES });
    }
    let mut hasher = Sha256::new();
    let mut head = Vec::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = f.read(&mut buf).map_err(unreadable)?;
        if n == 0 {
            break;
        }
        total += n as u64;
        // The file may grow after the size check; the cap holds for what is hashed.
        if total > verify::MAX_COMPONENT_BYTES {
            return Err(RefusalReason::TooLarge { bytes: total, limit: verify::MAX_COMPONENT_BYTES });
        }
        if head.len() < HEAD_BYTES {
            let take = n.min(HEAD_BYTES - head.len());
            head.extend_from_slice(&buf[..take]);
        }
        hasher.update(&buf[..n]);
    }
    Ok((hex::encode(hasher.finalize()), head))
}

/// The whole file, refused when over the size cap.
fn read_capped(path: &Path) -> Result<Vec<u8>, RefusalReason> {
    use std::io::Read;
    let unreadable = |e: std::io::Error| RefusalReason::Unreadable { message: e.to_string() };
    let f = std::fs::File::open(path).map_err(unreadable)?;
    let mut bytes = vec![];
    f.take(verify::MAX_COMPONENT_BYTES + 1).read_to_end(&mut bytes).map_err(unreadable)?;
    if bytes.len() as u64 > verify::MAX_COMPONENT_BYTES {
        return Err(RefusalReason::TooLarge { bytes: bytes.len() as u64, limit: verify::MAX_COMPONENT_BYTES });
    }
    Ok(bytes)
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
