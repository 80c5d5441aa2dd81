//! What tells one state of a file from another without reading it, and the sha256 of plugin
//! files remembered by it (`<cache>/components/digests/`).
//!
//! Hashing every component on every start cost more than everything else `validate` does (the
//! Python plugin alone is 18 MB). A file's identity, device, inode, size, modification and
//! change time, changes with any write (the change time cannot be set by any process) and with
//! any replacement (a new inode, or a new change time if an inode number is reused). A digest is
//! remembered only for a *settled* file, one whose change time lies [`SETTLE`] before the
//! moment the host began hashing it, and only when the identity after hashing equals the one
//! before: the kernel's timestamps are coarse (a few milliseconds), so a write racing the hash
//! within one tick would otherwise leave the identity unchanged.
//!
//! Someone who can write the user's cache directory can rewrite a remembered digest; they could
//! equally rewrite the cache's machine code, so this adds no new trust. Lock pins and the
//! describe index go on keying by content as before: a remembered digest only saves reading.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use sha2::{Digest, Sha256};

use super::cache::{create_private_dir, write_atomic};

/// How long a file must have been left alone before its digest is remembered.
pub const SETTLE: Duration = Duration::from_secs(2);

/// A file's identity (see the module docs).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Identity {
    dev: u64,
    ino: u64,
    pub size: u64,
    mtime_ns: i128,
    ctime_ns: i128,
}

impl Identity {
    /// The identity of the regular file at `path` (through symlinks: one pointed elsewhere
    /// shows the other file's identity).
    pub fn of(path: &Path) -> Option<Identity> {
        use std::os::unix::fs::MetadataExt;
        let m = std::fs::metadata(path).ok()?;
        if !m.file_type().is_file() {
            return None;
        }
        let ns = |s: i64, n: i64| i128::from(s) * 1_000_000_000 + i128::from(n);
        Some(Identity {
            dev: m.dev(),
            ino: m.ino(),
            size: m.size(),
            mtime_ns: ns(m.mtime(), m.mtime_nsec()),
            ctime_ns: ns(m.ctime(), m.ctime_nsec()),
        })
    }

    /// Whether the file was last changed at least [`SETTLE`] before `since`.
    fn settled_before(&self, since: SystemTime) -> bool {
        let since_ns = since.duration_since(SystemTime::UNIX_EPOCH).map(|d| d.as_nanos() as i128).unwrap_or(0);
        self.ctime_ns + SETTLE.as_nanos() as i128 <= since_ns
    }

    /// Whether what was read of `path` since `started`, when it had this identity, may be
    /// remembered by it: the file had settled by then and is still the same file now.
    pub fn held_while_read(&self, path: &Path, started: SystemTime) -> bool {
        self.settled_before(started) && Identity::of(path).as_ref() == Some(self)
    }
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Remembered {
    path: PathBuf,
    identity: Identity,
    sha256: String,
}

/// Remembered digests of plugin files, one small JSON file per path.
#[derive(Debug, Clone)]
pub struct Digests {
    dir: PathBuf,
}

impl Digests {
    pub fn new(cache_dir: &Path) -> Digests {
        Digests { dir: cache_dir.join("digests") }
    }

    fn entry(&self, path: &Path) -> PathBuf {
        let key = hex::encode(Sha256::digest(path.as_os_str().as_encoded_bytes()));
        self.dir.join(format!("{}.json", &key[..32]))
    }

    /// The sha256 remembered for `path` in exactly the state `now` describes.
    pub fn get(&self, path: &Path, now: &Identity) -> Option<String> {
        let text = std::fs::read(self.entry(path)).ok()?;
        if text.len() > 4096 {
            return None;
        }
        let r: Remembered = serde_json::from_slice(&text).ok()?;
        let is_hex = r.sha256.len() == 64 && r.sha256.bytes().all(|b| b.is_ascii_hexdigit());
        (r.path == path && &r.identity == now && is_hex).then_some(r.sha256)
    }

    /// Remembers `sha256` for `path`, if the file was settled when hashing began (`started`)
    /// and is still as it was (`before`).
    pub fn put(&self, path: &Path, before: &Identity, started: SystemTime, sha256: &str) {
        if !before.held_while_read(path, started) {
            return;
        }
        let r = Remembered { path: path.to_path_buf(), identity: before.clone(), sha256: sha256.to_string() };
        let written = create_private_dir(&self.dir)
            .and_then(|()| serde_json::to_vec(&r).map_err(std::io::Error::other))
            .and_then(|text| write_atomic(&self.entry(path), &text));
        if let Err(e) = written {
            tracing::debug!(dir = %self.dir.display(), "cannot remember a plugin digest: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A moment `secs` from now: a change time cannot be set back, so tests move "now" forward
    /// to see a file as settled.
    fn later(secs: u64) -> SystemTime {
        SystemTime::now() + Duration::from_secs(secs)
    }

    #[test]
    fn a_digest_is_remembered_for_a_settled_file_and_forgotten_on_any_write() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("p.wasm");
        std::fs::write(&file, b"one").unwrap();
        let digests = Digests::new(&dir.path().join("cache"));
        let id = Identity::of(&file).unwrap();

        // Just written: not settled, nothing remembered.
        digests.put(&file, &id, SystemTime::now(), &"a".repeat(64));
        assert_eq!(digests.get(&file, &id), None);

        digests.put(&file, &id, later(3), &"a".repeat(64));
        assert_eq!(digests.get(&file, &id), Some("a".repeat(64)));

        // Same size, written in place after the kernel's timestamp tick.
        std::thread::sleep(Duration::from_millis(20));
        std::fs::write(&file, b"two").unwrap();
        let now = Identity::of(&file).unwrap();
        assert_ne!(now, id);
        assert_eq!(digests.get(&file, &now), None);

        // Another path never answers for this one.
        let other = dir.path().join("q.wasm");
        std::fs::write(&other, b"one").unwrap();
        assert_eq!(digests.get(&other, &Identity::of(&other).unwrap()), None);
    }

    #[test]
    fn a_file_that_changed_while_it_was_hashed_is_not_remembered() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("p.wasm");
        std::fs::write(&file, b"one").unwrap();
        let before = Identity::of(&file).unwrap();
        std::thread::sleep(Duration::from_millis(20));
        std::fs::write(&file, b"three").unwrap();
        let digests = Digests::new(&dir.path().join("cache"));
        digests.put(&file, &before, later(3), &"a".repeat(64));
        assert_eq!(digests.get(&file, &before), None);
        assert_eq!(digests.get(&file, &Identity::of(&file).unwrap()), None);
    }
}
