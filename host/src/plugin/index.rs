//! The describe index (`<cache>/components/<sha256>-<engine>.describe.json`): what each
//! admitted component said about itself, so that listing plugins and checking an experiment
//! instantiate only the components they call.
//!
//! Answering "which plugins are installed" used to mean instantiating every component and
//! calling `describe()`, which for a Python plugin means loading ~30 MB of machine code that
//! most commands never run. An entry records one admission that passed: the world, contract
//! version and imports read from the component's type, and the `describe()` result.
//!
//! * Entries are keyed like the precompiled cache ([`super::cache`]): the sha256 of the
//!   `.wasm` and the engine's compatibility hash. A changed file is a new digest, so a new
//!   entry; nothing is keyed by path or modification time.
//! * An entry is plugin output stored on disk, so it is read as untrusted input: size-capped,
//!   parsed with serde, and checked with the rules a fresh admission applies (contract version
//!   supported, every import on today's allow-list, `describe()` usable and bounded). An entry
//!   that fails any of these is ignored; the component is admitted in full and the entry
//!   rewritten.
//! * When an indexed plugin is first called, the host loads the component, checks its type
//!   again and compares a fresh `describe()` with the entry (see `PluginHost::loaded`); a
//!   mismatch removes the entry and fails the call.
//!
//! Does not decide whether a component is acceptable; it only remembers that it was.

use std::path::{Path, PathBuf};

use super::cache::{create_private_dir, write_atomic};
use super::error::RefusalReason;
use super::wit::Version;
use super::{check_describe, types, verify, World, MAX_DESCRIBE_BYTES};

/// Bumped when the entry format changes; entries of another format are ignored.
const FORMAT: u32 = 1;

/// Largest entry file read: a `describe()` result at its cap, plus world, contract and imports.
const MAX_ENTRY_BYTES: u64 = MAX_DESCRIBE_BYTES as u64 + (64 << 10);

/// What the host learnt when it admitted one component.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Entry {
    pub world: World,
    pub contract: Version,
    pub imports: Vec<String>,
    pub info: types::PluginInfo,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct OnDisk {
    format: u32,
    wasm_sha256: String,
    engine: String,
    written_by: String,
    #[serde(flatten)]
    entry: Entry,
}

/// The index directory (shared with the precompiled cache) and the engine it serves.
#[derive(Debug, Clone)]
pub struct Index {
    dir: PathBuf,
    engine_key: String,
}

impl Index {
    /// The index in `dir` for components run by the engine whose compatibility key is
    /// `engine_key` ([`super::cache::Cache::engine_key`]).
    pub fn new(dir: PathBuf, engine_key: &str) -> Index {
        Index { dir, engine_key: engine_key.to_string() }
    }

    /// The entry file of the component whose `.wasm` has this sha256.
    pub fn path(&self, wasm_sha256: &str) -> PathBuf {
        self.dir.join(format!("{wasm_sha256}-{}.describe.json", self.engine_key))
    }

    /// The entry of this component, if one exists and passes every check; `None` otherwise
    /// (the caller then admits the component in full, which rewrites the entry).
    pub fn get(&self, wasm_sha256: &str) -> Option<Entry> {
        let path = self.path(wasm_sha256);
        match self.read(&path, wasm_sha256) {
            Ok(e) => Some(e),
            Err(None) => None,
            Err(Some(why)) => {
                tracing::warn!(file = %path.display(), "ignoring the describe index entry ({why}); the component is admitted again");
                None
            }
        }
    }

    /// `Err(None)`: no entry. `Err(Some(why))`: an entry that is not to be trusted.
    fn read(&self, path: &Path, wasm_sha256: &str) -> Result<Entry, Option<String>> {
        use std::io::Read;
        let file = match std::fs::File::open(path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(None),
            Err(e) => return Err(Some(format!("cannot read it: {e}"))),
        };
        let mut bytes = vec![];
        // One byte over the cap tells an oversized file from one exactly at the cap.
        file.take(MAX_ENTRY_BYTES + 1).read_to_end(&mut bytes).map_err(|e| Some(format!("cannot read it: {e}")))?;
        if bytes.len() as u64 > MAX_ENTRY_BYTES {
            return Err(Some(format!("larger than {MAX_ENTRY_BYTES} bytes")));
        }
        let d: OnDisk = serde_json::from_slice(&bytes).map_err(|e| Some(format!("not a valid entry: {e}")))?;
        if d.format != FORMAT {
            return Err(Some(format!("entry format {} is not {FORMAT}", d.format)));
        }
        if d.wasm_sha256 != wasm_sha256 || d.engine != self.engine_key {
            return Err(Some("it names another component or engine".into()));
        }
        check(&d.entry).map_err(|r| Some(r.to_string()))?;
        Ok(d.entry)
    }

    /// Records an admission that passed. A failure to write costs only speed, so it is logged.
    pub fn put(&self, wasm_sha256: &str, entry: &Entry) {
        let d = OnDisk {
            format: FORMAT,
            wasm_sha256: wasm_sha256.to_string(),
            engine: self.engine_key.clone(),
            written_by: format!("panther-host {}", env!("CARGO_PKG_VERSION")),
            entry: entry.clone(),
        };
        let json = match serde_json::to_vec_pretty(&d) {
            Ok(j) => j,
            Err(e) => {
                tracing::debug!(plugin = %entry.info.name, "not indexed: its describe() cannot be written as JSON: {e}");
                return;
            }
        };
        // An entry that would not read back equal (a NaN default, say) would pass `get` and then
        // fail every first call against the fresh describe(); such a component is simply
        // admitted in full every time instead.
        let reads_back = serde_json::from_slice::<OnDisk>(&json).is_ok_and(|back| back.entry == *entry);
        if !reads_back {
            self.remove(wasm_sha256);
            tracing::debug!(plugin = %entry.info.name, "not indexed: its describe() does not read back equal from JSON");
            return;
        }
        let written = create_private_dir(&self.dir).and_then(|()| write_atomic(&self.path(wasm_sha256), &json));
        if let Err(e) = written {
            tracing::warn!(dir = %self.dir.display(), "cannot write the describe index: {e}");
        }
    }

    /// Drops an entry found to disagree with its component, so the next open admits it in full.
    pub fn remove(&self, wasm_sha256: &str) {
        let path = self.path(wasm_sha256);
        if let Err(e) = std::fs::remove_file(&path) {
            if e.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!(file = %path.display(), "cannot remove the describe index entry: {e}");
            }
        }
    }
}

/// The checks a fresh admission applies to what it learnt, applied to an entry read back:
/// this host's rules of today, not those of the host that wrote it.
fn check(e: &Entry) -> Result<(), RefusalReason> {
    if !e.contract.is_supported() {
        return Err(RefusalReason::IncompatibleContract {
            plugin: e.info.name.clone(),
            version: e.contract.to_string(),
            accepted: super::wit::supported_range_text(),
        });
    }
    let forbidden: Vec<_> = e
        .imports
        .iter()
        .filter_map(|name| {
            verify::import_verdict(name).err().map(|why| super::ForbiddenImport { name: name.clone(), why })
        })
        .collect();
    if !forbidden.is_empty() {
        return Err(RefusalReason::ForbiddenImports { imports: forbidden });
    }
    check_describe(&e.info, e.world).map_err(|message| RefusalReason::BadDescribe { message })
}

#[cfg(test)]
mod tests {
    use super::super::{env, CallError, HostOptions, PluginHost};
    use std::path::{Path, PathBuf};

    /// A plugin directory holding the committed `localhost.wasm` (small, an environment), and an
    /// empty cache.
    fn setup() -> (tempfile::TempDir, tempfile::TempDir) {
        let dist = Path::new(env!("CARGO_MANIFEST_DIR")).join("../plugins-dist/localhost.wasm");
        let dir = tempfile::tempdir().unwrap();
        std::fs::copy(&dist, dir.path().join("localhost.wasm")).unwrap();
        (dir, tempfile::tempdir().unwrap())
    }

    fn open(dir: &Path, cache: &Path) -> PluginHost {
        let host = PluginHost::open(HostOptions::new(vec![dir.to_path_buf()], cache)).unwrap();
        assert!(host.refused().is_empty(), "{:?}", host.refused());
        host
    }

    fn entry_path(host: &PluginHost) -> PathBuf {
        host.index.path(&host.find("localhost").unwrap().digest)
    }

    fn deploy(host: &PluginHost) -> Result<env::DeploymentPlan, CallError> {
        let req =
            env::DeployRequest { test: "t".into(), run_id: "r".into(), services: vec![], params: vec![], link: None };
        host.deploy("localhost", &req)
    }

    // The first open admits in full and writes the entry; the second answers from it without
    // loading the component, and loads it on the first call.
    #[test]
    fn a_second_open_answers_from_the_index_and_loads_on_the_first_call() {
        let (dir, cache) = setup();
        let first = open(dir.path(), cache.path());
        let p1 = first.find("localhost").unwrap().clone();
        assert!(!p1.from_index() && p1.is_loaded());
        assert!(entry_path(&first).is_file(), "the admission wrote its entry");

        let second = open(dir.path(), cache.path());
        let p2 = second.find("localhost").unwrap();
        assert!(p2.from_index(), "answered from the index");
        assert!(!p2.is_loaded(), "the component was not loaded, so not instantiated");
        assert_eq!((&p2.info, p2.world, p2.contract, &p2.imports), (&p1.info, p1.world, p1.contract, &p1.imports));

        assert!(!matches!(deploy(&second), Err(CallError::Unloadable { .. })));
        assert!(second.find("localhost").unwrap().is_loaded(), "loaded by the call");
    }

    // Entries that are not JSON, name another component, break today's rules or exceed the cap
    // are ignored: the component is admitted in full and the entry written again.
    #[test]
    fn a_corrupt_entry_is_ignored_and_rebuilt() {
        let (dir, cache) = setup();
        let host = open(dir.path(), cache.path());
        let path = entry_path(&host);
        let good: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        let with = |f: &dyn Fn(&mut serde_json::Value)| {
            let mut v = good.clone();
            f(&mut v);
            serde_json::to_vec(&v).unwrap()
        };
        let corrupt: Vec<(&str, Vec<u8>)> = vec![
            ("not JSON", b"{\"format\": 1, \"wasm_sha".to_vec()),
            ("another component", with(&|v| v["wasm_sha256"] = "00".repeat(32).into())),
            ("another engine", with(&|v| v["engine"] = "0000000000000000".into())),
            ("another format", with(&|v| v["format"] = 99.into())),
            ("an empty name", with(&|v| v["info"]["name"] = " ".into())),
            ("a kind against the world", with(&|v| v["info"]["kind"] = "Iut".into())),
            (
                "a forbidden import",
                with(&|v| v["imports"].as_array_mut().unwrap().push("wasi:sockets/tcp@0.2.0".into())),
            ),
            ("an unsupported contract", with(&|v| v["contract"] = serde_json::json!([0, 3, 0]))),
            (
                "an oversized describe",
                with(&|v| v["info"]["description"] = "x".repeat(super::MAX_DESCRIBE_BYTES).into()),
            ),
        ];
        for (what, bytes) in corrupt {
            std::fs::write(&path, &bytes).unwrap();
            let host = open(dir.path(), cache.path());
            let p = host.find("localhost").unwrap();
            assert!(!p.from_index() && p.is_loaded(), "{what}: admitted in full");
            let rebuilt: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
            assert_eq!(rebuilt, good, "{what}: the entry is written again");
        }
    }

    // A describe() that JSON cannot hold exactly (a NaN default) is not indexed, so it is
    // admitted in full every time rather than failing every first call against the index.
    #[test]
    fn a_describe_that_would_not_read_back_equal_is_not_indexed() {
        let (dir, cache) = setup();
        let host = open(dir.path(), cache.path());
        let p = host.find("localhost").unwrap();
        let mut entry =
            super::Entry { world: p.world, contract: p.contract, imports: p.imports.clone(), info: p.info.clone() };
        entry.info.parameters.push(super::types::ParamSpec {
            name: "ratio".into(),
            ty: super::types::ParamType::Float,
            default: Some(super::types::ParamValue::Float(f64::NAN)),
            doc: String::new(),
            required: false,
            choices: vec![],
        });
        assert!(entry_path(&host).is_file());
        host.index.put(&p.digest, &entry);
        assert!(!entry_path(&host).exists(), "not written, and the old entry is gone");
    }

    // A well-formed entry that lies about the plugin is caught when the plugin is first called:
    // the call fails naming the entry, the entry is removed, and the next open admits in full.
    #[test]
    fn an_entry_that_disagrees_with_the_component_fails_the_first_call_and_is_removed() {
        let (dir, cache) = setup();
        let path = entry_path(&open(dir.path(), cache.path()));
        let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
        v["info"]["version"] = "9.9.9".into();
        std::fs::write(&path, serde_json::to_vec(&v).unwrap()).unwrap();

        let host = open(dir.path(), cache.path());
        assert!(host.find("localhost").unwrap().from_index());
        match deploy(&host) {
            Err(e @ CallError::Unloadable { .. }) => {
                let text = e.to_string();
                assert!(text.contains("describe()") && text.contains(&path.display().to_string()), "{text}");
            }
            other => panic!("expected Unloadable, got {other:?}"),
        }
        assert!(!path.exists(), "the lying entry is removed");
        let host = open(dir.path(), cache.path());
        assert!(!host.find("localhost").unwrap().from_index());
        assert!(!matches!(deploy(&host), Err(CallError::Unloadable { .. })));
    }
}
