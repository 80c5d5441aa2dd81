//! `plugins.lock`: the sha256 of every component shipped in a plugin directory, and an optional
//! detached ed25519 signature over the lock file (`plugins.lock.sig`).
//!
//! ```toml
//! # plugins.lock — written by `panther-host plugins lock`; review changes like code.
//! version = 1
//!
//! [[component]]
//! file = "picoquic.wasm"
//! sha256 = "3f1c…"
//! name = "picoquic"
//! plugin-version = "0.1.0"
//! contract = "0.1.0"
//! ```
//!
//! With `--locked` the host refuses any component whose file is not listed or whose digest
//! differs (see [`super::PluginHost::open`]). The signature is made with a key generated offline
//! (`plugins keygen`); the private key never needs to be on a CI machine, only the public one.
//!
//! Owns the file formats and the cryptography. Does not load or judge components.

use std::path::{Path, PathBuf};

use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use miette::Diagnostic;

/// The lock file's format version.
pub const LOCK_VERSION: u32 = 1;
/// The lock file's name inside a plugin directory.
pub const LOCK_FILE: &str = "plugins.lock";

/// Everything that can go wrong with lock files, keys and signatures.
#[derive(Debug, thiserror::Error, Diagnostic)]
pub enum LockError {
    #[error("cannot read `{}`: {message}", path.display())]
    #[diagnostic(code(panther::lock::io), help("check the path; `panther-host plugins lock` writes plugins.lock"))]
    Io { path: PathBuf, message: String },
    #[error("`{}` is not a valid plugins.lock: {message}", path.display())]
    #[diagnostic(code(panther::lock::syntax), help("regenerate it with `panther-host plugins lock`"))]
    Syntax { path: PathBuf, message: String },
    #[error("`{}` has lock format version {found}; this host reads version {LOCK_VERSION}", path.display())]
    #[diagnostic(code(panther::lock::version), help("regenerate it with this host's `panther-host plugins lock`"))]
    Version { path: PathBuf, found: u32 },
    #[error("`{}` is not a usable ed25519 {what} key: {message}", path.display())]
    #[diagnostic(code(panther::lock::key), help("keys are PEM files made by `panther-host plugins keygen`"))]
    Key { path: PathBuf, what: &'static str, message: String },
    #[error("the signature `{}` does not match `{}` under public key `{}`", sig.display(), lock.display(), pubkey.display())]
    #[diagnostic(
        code(panther::lock::bad_signature),
        help("the lock file or the signature changed after signing, or it was signed with another key; do not trust these plugins")
    )]
    BadSignature { lock: PathBuf, sig: PathBuf, pubkey: PathBuf },
}

/// The parsed lock file.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LockFile {
    pub version: u32,
    #[serde(rename = "component", default)]
    pub components: Vec<LockEntry>,
}

/// One pinned component.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct LockEntry {
    /// File name, relative to the lock file's directory.
    pub file: String,
    /// Lower-case hex sha256 of the file.
    pub sha256: String,
    /// For reviewers: what the component said it is when it was pinned.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plugin_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub contract: Option<String>,
}

fn io(path: &Path, e: impl std::fmt::Display) -> LockError {
    LockError::Io { path: path.to_path_buf(), message: e.to_string() }
}

impl LockFile {
    /// Reads and checks a lock file.
    ///
    /// # Errors
    /// The file is missing, not TOML of this shape, or of another format version.
    pub fn read(path: &Path) -> Result<LockFile, LockError> {
        let text = std::fs::read_to_string(path).map_err(|e| io(path, e))?;
        let lock: LockFile = toml::from_str(&text)
            .map_err(|e| LockError::Syntax { path: path.to_path_buf(), message: e.to_string() })?;
        if lock.version != LOCK_VERSION {
            return Err(LockError::Version { path: path.to_path_buf(), found: lock.version });
        }
        for e in &lock.components {
            if e.sha256.len() != 64 || !e.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(LockError::Syntax {
                    path: path.to_path_buf(),
                    message: format!("`{}` has a malformed sha256 `{}`", e.file, e.sha256),
                });
            }
        }
        Ok(lock)
    }

    /// The TOML text, entries sorted by file, with a header comment.
    pub fn to_text(&self) -> String {
        let mut me = self.clone();
        me.components.sort_by(|a, b| a.file.cmp(&b.file));
        let body = toml::to_string_pretty(&me).expect("a lock file always serializes");
        format!("# plugins.lock — written by `panther-host plugins lock`; review changes like code.\n{body}")
    }

    /// Writes the lock file atomically.
    pub fn write(&self, path: &Path) -> Result<(), LockError> {
        super::cache::write_atomic(path, self.to_text().as_bytes()).map_err(|e| io(path, e))
    }
}

/// The conventional signature path: `plugins.lock.sig` beside the lock.
pub fn signature_path(lock: &Path) -> PathBuf {
    let mut s = lock.as_os_str().to_owned();
    s.push(".sig");
    PathBuf::from(s)
}

/// Makes a new key pair: `secret` (PKCS#8 PEM, mode 0600) and `secret.pub` (SPKI PEM).
/// Returns the public key's path.
pub fn keygen(secret: &Path) -> Result<PathBuf, LockError> {
    let mut seed = [0u8; 32];
    std::fs::File::open("/dev/urandom")
        .and_then(|mut f| std::io::Read::read_exact(&mut f, &mut seed))
        .map_err(|e| io(Path::new("/dev/urandom"), e))?;
    let key = SigningKey::from_bytes(&seed);
    let pem = key.to_pkcs8_pem(Default::default()).map_err(|e| LockError::Key {
        path: secret.into(),
        what: "private",
        message: e.to_string(),
    })?;
    {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(secret)
            .map_err(|e| io(secret, e))?;
        f.write_all(pem.as_bytes()).map_err(|e| io(secret, e))?;
    }
    let public = PathBuf::from(format!("{}.pub", secret.display()));
    let pub_pem = key.verifying_key().to_public_key_pem(Default::default()).map_err(|e| LockError::Key {
        path: public.clone(),
        what: "public",
        message: e.to_string(),
    })?;
    std::fs::write(&public, pub_pem).map_err(|e| io(&public, e))?;
    Ok(public)
}

/// Signs the exact bytes of `lock` with the private key in `key`; writes `<lock>.sig` (hex).
pub fn sign(key: &Path, lock: &Path) -> Result<PathBuf, LockError> {
    let pem = std::fs::read_to_string(key).map_err(|e| io(key, e))?;
    let sk = SigningKey::from_pkcs8_pem(&pem).map_err(|e| LockError::Key {
        path: key.into(),
        what: "private",
        message: e.to_string(),
    })?;
    let data = std::fs::read(lock).map_err(|e| io(lock, e))?;
    let sig = sk.sign(&data);
    let out = signature_path(lock);
    std::fs::write(&out, format!("{}\n", hex::encode(sig.to_bytes()))).map_err(|e| io(&out, e))?;
    Ok(out)
}

/// Checks `sig` (hex, as written by [`sign`]) over the exact bytes of `lock`.
pub fn verify_signature(pubkey: &Path, lock: &Path, sig: &Path) -> Result<(), LockError> {
    let pem = std::fs::read_to_string(pubkey).map_err(|e| io(pubkey, e))?;
    let vk = VerifyingKey::from_public_key_pem(&pem).map_err(|e| LockError::Key {
        path: pubkey.into(),
        what: "public",
        message: e.to_string(),
    })?;
    let data = std::fs::read(lock).map_err(|e| io(lock, e))?;
    let text = std::fs::read_to_string(sig).map_err(|e| io(sig, e))?;
    let bad = || LockError::BadSignature { lock: lock.into(), sig: sig.into(), pubkey: pubkey.into() };
    let bytes: [u8; 64] = hex::decode(text.trim()).ok().and_then(|b| b.try_into().ok()).ok_or_else(bad)?;
    vk.verify(&data, &Signature::from_bytes(&bytes)).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_round_trips_and_signatures_catch_tampering() {
        let dir = tempfile::tempdir().unwrap();
        let lock_path = dir.path().join(LOCK_FILE);
        let lock = LockFile {
            version: LOCK_VERSION,
            components: vec![LockEntry {
                file: "a.wasm".into(),
                sha256: "ab".repeat(32),
                name: Some("a".into()),
                plugin_version: None,
                contract: None,
            }],
        };
        lock.write(&lock_path).unwrap();
        assert_eq!(LockFile::read(&lock_path).unwrap(), lock);

        let key = dir.path().join("k.pem");
        let public = keygen(&key).unwrap();
        let sig = sign(&key, &lock_path).unwrap();
        verify_signature(&public, &lock_path, &sig).unwrap();

        // It rejects the signature once the lock changes by one byte.
        let text = std::fs::read_to_string(&lock_path).unwrap().replace("abab", "abac");
        std::fs::write(&lock_path, text).unwrap();
        assert!(matches!(verify_signature(&public, &lock_path, &sig), Err(LockError::BadSignature { .. })));

        // It rejects a signature made with another key.
        let other = dir.path().join("other.pem");
        let other_pub = keygen(&other).unwrap();
        let sig = sign(&key, &lock_path).unwrap();
        assert!(matches!(verify_signature(&other_pub, &lock_path, &sig), Err(LockError::BadSignature { .. })));
    }

    #[test]
    fn malformed_digest_is_a_syntax_error() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join(LOCK_FILE);
        std::fs::write(&p, "version = 1\n[[component]]\nfile = \"x.wasm\"\nsha256 = \"nothex\"\n").unwrap();
        let e = LockFile::read(&p).unwrap_err().to_string();
        assert!(e.contains("malformed sha256"), "{e}");
    }
}
