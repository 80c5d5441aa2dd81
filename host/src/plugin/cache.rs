//! The precompiled-component cache (`~/.cache/panther-host/components/` by default).
//!
//! Compiling a component takes 15–50 ms (seconds for Python guests); loading the machine code
//! the host compiled earlier takes well under a millisecond. Deserializing is `unsafe` in
//! wasmtime because a forged artifact is arbitrary native code, so this module only ever
//! loads files it wrote itself:
//!
//! * entries are keyed by the sha256 of the `.wasm` *and* the engine's compatibility hash, so a
//!   different wasmtime or engine setting never reuses an artifact;
//! * each `.cwasm` has a sidecar `.json` holding the sha256 of the `.cwasm` bytes the host
//!   produced and, once a load has checked those bytes, the file's identity
//!   ([`super::identity`]: device, inode, size, modification and change times);
//! * a load whose file still has that identity maps the file directly (a 32 MB Python
//!   artifact maps in about a millisecond, where reading and hashing it took tens and doubled
//!   the memory). Any write, or another file renamed into place, shows as a different
//!   identity; the identity is checked again after mapping, so a swap during the load is
//!   caught too;
//! * any other load reads the bytes, checks the recorded sha256, deserializes the very bytes it
//!   checked (no window between check and use) and records the identity for next time when the
//!   file had settled;
//! * files are written to a temporary name and renamed, so a crash never leaves a half entry;
//! * the directory is created private (0700).
//!
//! Neither check stops someone who can write the user's own cache directory: they could
//! rewrite the sidecar as well. Both exist to catch damage and stray writes, not forgery.
//!
//! Does not decide whether a component is acceptable; it only saves compile time.

use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::identity::Identity;
use wasmtime::component::Component;
use wasmtime::Engine;

/// How a component was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CacheOutcome {
    /// Loaded from a verified cache entry.
    Hit,
    /// Compiled now (and written to the cache when possible).
    Compiled,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Sidecar {
    wasm_sha256: String,
    cwasm_sha256: String,
    engine: String,
    wasmtime: String,
    written_by: String,
    /// The `.cwasm` file's identity when its bytes were last known to hash to `cwasm_sha256`.
    #[serde(default)]
    file: Option<Identity>,
}

/// The cache directory and the engine it serves.
#[derive(Debug, Clone)]
pub struct Cache {
    dir: PathBuf,
    engine_key: String,
}

impl Cache {
    /// A cache in `dir` for artifacts of `engine`. The directory is made on first write.
    pub fn new(dir: PathBuf, engine: &Engine) -> Cache {
        let mut h = std::hash::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut h);
        Cache { dir, engine_key: format!("{:016x}", h.finish()) }
    }

    /// Where the cache lives.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The engine's part of every key: artifacts (and index entries) of another engine are
    /// never used.
    pub fn engine_key(&self) -> &str {
        &self.engine_key
    }

    fn paths(&self, wasm_sha256: &str) -> (PathBuf, PathBuf) {
        let stem = format!("{wasm_sha256}-{}", self.engine_key);
        (self.dir.join(format!("{stem}.cwasm")), self.dir.join(format!("{stem}.json")))
    }

    /// Returns the compiled component for `bytes` (whose sha256 is `wasm_sha256`), from the
    /// cache when a verified entry exists, else by compiling. `Err` is the compiler's message.
    pub fn load_or_compile(
        &self,
        engine: &Engine,
        bytes: &[u8],
        wasm_sha256: &str,
    ) -> Result<(Component, CacheOutcome), String> {
        if let Some(c) = self.load(engine, wasm_sha256) {
            return Ok((c, CacheOutcome::Hit));
        }
        let component = Component::new(engine, bytes).map_err(|e| format!("{e:#}"))?;
        match component.serialize() {
            Ok(art) => {
                if let Err(e) = self.store(wasm_sha256, &art) {
                    tracing::warn!(dir = %self.dir.display(), "cannot write the component cache: {e}");
                }
            }
            Err(e) => tracing::warn!("cannot serialize a compiled component: {e:#}"),
        }
        Ok((component, CacheOutcome::Compiled))
    }

    /// The cached component for `wasm_sha256`, if a verified entry exists.
    pub(crate) fn load(&self, engine: &Engine, wasm_sha256: &str) -> Option<Component> {
        let (cwasm, json) = self.paths(wasm_sha256);
        let mut sidecar: Sidecar = serde_json::from_slice(&std::fs::read(&json).ok()?).ok()?;
        if sidecar.wasm_sha256 != wasm_sha256 || sidecar.engine != self.engine_key {
            return None;
        }
        if let Some(c) = map_unchanged(engine, &cwasm, &sidecar) {
            return Some(c);
        }
        let started = std::time::SystemTime::now();
        let identity = Identity::of(&cwasm);
        let art = std::fs::read(&cwasm).ok()?;
        if hex::encode(Sha256::digest(&art)) != sidecar.cwasm_sha256 {
            tracing::warn!(file = %cwasm.display(), "cache entry does not match the digest the host recorded; recompiling");
            return None;
        }
        // SAFETY: `art` is exactly the byte string whose sha256 the host recorded when it
        // serialized a component it compiled itself (see the module docs); it was produced
        // for an engine with the same compatibility hash.
        match unsafe { Component::deserialize(engine, &art) } {
            Ok(c) => {
                // The bytes read hash right, so this identity may map them next time: if the
                // file had settled before the read and did not change during it
                // (`identity` module docs).
                if let Some(id) = identity.filter(|id| id.held_while_read(&cwasm, started)) {
                    sidecar.file = Some(id);
                    if let Ok(text) = serde_json::to_vec_pretty(&sidecar) {
                        let _ = write_atomic(&json, &text);
                    }
                }
                Some(c)
            }
            Err(e) => {
                tracing::warn!(file = %cwasm.display(), "cannot load cache entry, recompiling: {e:#}");
                None
            }
        }
    }

    fn store(&self, wasm_sha256: &str, art: &[u8]) -> std::io::Result<()> {
        create_private_dir(&self.dir)?;
        let (cwasm, json) = self.paths(wasm_sha256);
        let sidecar = Sidecar {
            wasm_sha256: wasm_sha256.to_string(),
            cwasm_sha256: hex::encode(Sha256::digest(art)),
            engine: self.engine_key.clone(),
            wasmtime: "48.0.8".into(),
            written_by: format!("panther-host {}", env!("CARGO_PKG_VERSION")),
            file: None,
        };
        // No identity yet: a file just written has not settled; the first load records it.
        write_atomic(&cwasm, art)?;
        write_atomic(&json, &serde_json::to_vec_pretty(&sidecar).map_err(std::io::Error::other)?)
    }
}

/// Maps `cwasm` without reading it when it is still the file whose bytes were checked.
fn map_unchanged(engine: &Engine, cwasm: &Path, sidecar: &Sidecar) -> Option<Component> {
    let recorded = sidecar.file.as_ref()?;
    if Identity::of(cwasm).as_ref() != Some(recorded) {
        return None;
    }
    // SAFETY: the file has the identity it had when its bytes hashed to the digest the
    // host recorded for an artifact it serialized itself (module docs), and it still has
    // it after the mapping is made (checked below before the component is used).
    let component = unsafe { Component::deserialize_file(engine, cwasm) }.ok()?;
    (Identity::of(cwasm).as_ref() == Some(recorded)).then_some(component)
}

pub(crate) fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

/// Writes `data` to a unique temporary file beside `path`, then renames it into place.
pub(crate) fn write_atomic(path: &Path, data: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let mut tmp = tempfile_in(dir)?;
    tmp.1.write_all(data)?;
    tmp.1.sync_all()?;
    drop(tmp.1);
    std::fs::rename(&tmp.0, path).inspect_err(|_| {
        let _ = std::fs::remove_file(&tmp.0);
    })
}

fn tempfile_in(dir: &Path) -> std::io::Result<(PathBuf, std::fs::File)> {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    loop {
        let n = N.fetch_add(1, Ordering::Relaxed);
        let p = dir.join(format!(".tmp-{}-{n}", std::process::id()));
        match std::fs::OpenOptions::new().write(true).create_new(true).open(&p) {
            Ok(f) => return Ok((p, f)),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
}
