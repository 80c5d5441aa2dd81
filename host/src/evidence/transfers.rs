//! Served versus downloaded files, compared by size and sha256.
//!
//! Owns [`compare`] and [`digest`]. Does not decide whether a difference is a failure.

use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::plugin::types;

/// One [`types::Transfer`] per request path, in request order. A file that is missing or
/// unreadable on either side is `None` on that side.
pub fn compare(www: &Path, downloads: &[PathBuf], requests: &[String]) -> Vec<types::Transfer> {
    requests
        .iter()
        .map(|path| {
            let rel = path.trim_start_matches('/');
            // A request path is plugin/experiment input: never let it leave the directories.
            let safe = !rel.split('/').any(|c| c == ".." || c.is_empty());
            let served = safe.then(|| digest(&www.join(rel))).flatten();
            let downloaded = if safe { downloads.iter().find_map(|d| digest(&d.join(rel))) } else { None };
            types::Transfer { path: path.clone(), served, downloaded }
        })
        .collect()
}

/// Size and sha256 of a regular file, or `None` when it cannot be read.
pub fn digest(path: &Path) -> Option<types::FileDigest> {
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_file() {
        return None;
    }
    let mut f = std::fs::File::open(path).ok()?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut size = 0u64;
    loop {
        let n = f.read(&mut buf).ok()?;
        if n == 0 {
            break;
        }
        size += n as u64;
        h.update(&buf[..n]);
    }
    Some(types::FileDigest { size, sha256: hex::encode(h.finalize()) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compare_finds_matching_missing_and_differing_files() {
        let www = tempfile::tempdir().unwrap();
        let d1 = tempfile::tempdir().unwrap();
        let d2 = tempfile::tempdir().unwrap();
        std::fs::write(www.path().join("a"), b"hello").unwrap();
        std::fs::write(www.path().join("b"), b"world").unwrap();
        std::fs::write(d2.path().join("a"), b"hello").unwrap();
        std::fs::write(d1.path().join("b"), b"w0rld").unwrap();
        let t = compare(
            www.path(),
            &[d1.path().into(), d2.path().into()],
            &["/a".into(), "/b".into(), "/c".into(), "/../etc/passwd".into()],
        );
        assert_eq!(t[0].served, t[0].downloaded);
        assert_eq!(
            t[0].served.as_ref().unwrap().sha256,
            "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
        );
        assert_ne!(t[1].served, t[1].downloaded);
        assert!(t[2].served.is_none() && t[2].downloaded.is_none());
        assert!(t[3].served.is_none(), "a path with .. must not be read");
    }
}
