//! Upstream sources (`source-ref { url, rev }`) fetched by the host, never by a plugin.
//!
//! A plan names the trees it builds from; this module finds each one, checks that it is the
//! commit the plan pinned, and keeps it in the tools cache under
//! `<cache>/sources/<host>/<owner>/<repo>@<rev>/`. Local compile phases get a writable copy in
//! their tools directory (`{{sources.NAME}}`); Docker image builds get the tree in their build
//! context. Where the tree comes from, in order:
//!
//! 1. every directory of `PANTHER_SOURCE_MIRROR` (`:`-separated):
//!    `<host>/<owner>/<repo>.bundle` (a git bundle, any commit of its history; the commit is
//!    checked with `git rev-parse`) or `<host>/<owner>/<repo>@<commit>.tar.gz` (one commit,
//!    top folder `<repo>-<commit>/`; its sha256 is recorded in `sources.lock` the first time
//!    and refused if it ever changes);
//! 2. `git clone` of the URL itself.
//!
//! Nothing is built from a tree that was not verified: a missing source, a bundle without the
//! commit, a corrupt or changed tarball each give one [`SourceError`] naming the URL, the rev,
//! every place looked and how to fix it.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use sha2::{Digest, Sha256};

use crate::plugin::types::SourceRef;

/// The environment variable that lists mirror directories.
pub const MIRROR_ENV: &str = "PANTHER_SOURCE_MIRROR";

/// Marker written into a cached tree once it is complete and verified.
const VERIFIED_MARKER: &str = ".panther-source.json";

/// Why a source could not be had.
#[derive(Debug, Clone, thiserror::Error, miette::Diagnostic)]
#[error("source `{name}` ({url} at {rev}): {problem}\n  looked in:\n{looked}\n  to fix: {help}")]
#[diagnostic(code(panther::exec::source), help("{help}"))]
pub struct SourceError {
    pub name: String,
    pub url: String,
    pub rev: String,
    pub problem: String,
    /// Every place looked, one per line, each with what was found there.
    pub looked: String,
    pub help: String,
}

/// `https://github.com/h2o/picotls.git` → (`github.com`, `h2o`, `picotls`).
pub fn url_parts(url: &str) -> Option<(String, String, String)> {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    let mut it = rest.trim_end_matches('/').split('/');
    let host = it.next()?.rsplit('@').next()?.to_string();
    let owner = it.next()?.to_string();
    let repo = it.next()?.trim_end_matches(".git").to_string();
    let ok = |s: &str| {
        !s.is_empty() && s != "." && s != ".." && s.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    };
    (ok(&host) && ok(&owner) && ok(&repo) && it.next().is_none()).then_some((host, owner, repo))
}

/// Whether `rev` is a full commit id (40 lower-case hex digits, or 64 for SHA-256 repos).
pub fn is_full_commit(rev: &str) -> bool {
    (rev.len() == 40 || rev.len() == 64) && rev.chars().all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c))
}

/// Finds, verifies and caches upstream sources.
#[derive(Debug, Clone)]
pub struct Sources {
    mirrors: Vec<PathBuf>,
    /// `<cache>/sources`.
    root: PathBuf,
}

impl Sources {
    /// Mirrors from `PANTHER_SOURCE_MIRROR`, trees cached under `<cache_root>/sources`.
    pub fn from_env(cache_root: &Path) -> Self {
        let mirrors = std::env::var_os(MIRROR_ENV)
            .map(|v| std::env::split_paths(&v).filter(|p| !p.as_os_str().is_empty()).collect())
            .unwrap_or_default();
        Sources::new(mirrors, cache_root)
    }

    /// The sources of a service: the cache its tools directory (`<cache>/tools/<key>`) is in.
    pub fn for_tools_dir(tools: &Path) -> Self {
        let cache_root = tools.parent().and_then(Path::parent).unwrap_or(Path::new("/nonexistent"));
        Sources::from_env(cache_root)
    }

    pub fn new(mirrors: Vec<PathBuf>, cache_root: &Path) -> Self {
        Sources { mirrors, root: cache_root.join("sources") }
    }

    /// Where the verified tree of `s` is kept.
    pub fn cached_path(&self, s: &SourceRef) -> Option<PathBuf> {
        let (host, owner, repo) = url_parts(&s.url)?;
        Some(self.root.join(host).join(owner).join(format!("{repo}@{}", s.rev)))
    }

    /// The verified tree of `s`, fetched on first use. Blocking (git, tar): call it off the
    /// async runtime.
    ///
    /// # Errors
    /// The source is nowhere to be had, or what was found is not the pinned commit.
    pub fn fetch(&self, s: &SourceRef) -> Result<PathBuf, SourceError> {
        let err = |problem: String, looked: &[String], help: &str| SourceError {
            name: s.name.clone(),
            url: s.url.clone(),
            rev: s.rev.clone(),
            problem,
            looked: if looked.is_empty() { "    (nowhere)".into() } else { looked.join("\n") },
            help: help.to_string(),
        };
        let Some((host, owner, repo)) = url_parts(&s.url) else {
            return Err(err(
                "the URL is not of the form https://HOST/OWNER/REPO[.git]".into(),
                &[],
                "plugins name upstream trees by their git hosting URL",
            ));
        };
        if s.rev.is_empty()
            || s.rev.starts_with('-')
            || !s.rev.chars().all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c))
        {
            return Err(err("the rev is not a commit id or tag".into(), &[], "pin a full commit id"));
        }
        let dest = self.root.join(&host).join(&owner).join(format!("{repo}@{}", s.rev));
        if dest.join(VERIFIED_MARKER).exists() {
            return Ok(dest);
        }
        std::fs::create_dir_all(dest.parent().expect("has a parent"))
            .map_err(|e| err(format!("cannot create the source cache: {e}"), &[], "check the cache directory"))?;
        // Two runs fetching the same tree: the second waits, then finds it verified.
        let lock = lock_file(&PathBuf::from(format!("{}.lock", dest.display())))
            .map_err(|e| err(format!("cannot lock the source cache: {e}"), &[], "check the cache directory"))?;
        if dest.join(VERIFIED_MARKER).exists() {
            return Ok(dest);
        }
        let tmp = PathBuf::from(format!("{}.partial", dest.display()));
        let _ = std::fs::remove_dir_all(&tmp);
        let mut looked = Vec::new();
        let mut origin = None;
        for m in &self.mirrors {
            let base = m.join(&host).join(&owner);
            let bundle = base.join(format!("{repo}.bundle"));
            let tarball = base.join(format!("{repo}@{}.tar.gz", s.rev));
            if bundle.is_file() {
                match from_bundle(&bundle, &s.rev, &tmp) {
                    Ok(commit) => {
                        origin = Some(serde_json::json!({ "bundle": bundle, "commit": commit }));
                        looked.push(format!("    {}: has {commit}", bundle.display()));
                        break;
                    }
                    Err(why) => looked.push(format!("    {}: {why}", bundle.display())),
                }
                let _ = std::fs::remove_dir_all(&tmp);
            } else {
                looked.push(format!("    {}: no such file", bundle.display()));
            }
            if tarball.is_file() {
                match self.from_tarball(&tarball, &s.url, &s.rev, &repo, &tmp) {
                    Ok(sha) => {
                        origin = Some(serde_json::json!({ "tarball": tarball, "sha256": sha }));
                        looked.push(format!("    {}: sha256 {sha}", tarball.display()));
                        break;
                    }
                    Err(why) => looked.push(format!("    {}: {why}", tarball.display())),
                }
                let _ = std::fs::remove_dir_all(&tmp);
            } else {
                looked.push(format!("    {}: no such file", tarball.display()));
            }
        }
        if self.mirrors.is_empty() {
            looked.push(format!("    {MIRROR_ENV}: not set, no mirror searched"));
        }
        if origin.is_none() {
            match from_clone(&s.url, &s.rev, &tmp) {
                Ok(commit) => origin = Some(serde_json::json!({ "clone": s.url, "commit": commit })),
                Err(why) => {
                    let _ = std::fs::remove_dir_all(&tmp);
                    looked.push(format!("    git clone {}: {why}", s.url));
                }
            }
        }
        let Some(origin) = origin else {
            return Err(err(
                "not found in any mirror, and cloning it failed".into(),
                &looked,
                &format!(
                    "make a mirror where git hosting is reachable: `git clone --mirror {url} r && git -C r bundle create \
                     {repo}.bundle --all`, put it at DIR/{host}/{owner}/{repo}.bundle and set {MIRROR_ENV}=DIR \
                     (several directories: `:`-separated)",
                    url = s.url
                ),
            ));
        };
        let marker = serde_json::json!({ "url": s.url, "rev": s.rev, "origin": origin });
        std::fs::write(tmp.join(VERIFIED_MARKER), marker.to_string())
            .and_then(|()| std::fs::rename(&tmp, &dest))
            .map_err(|e| err(format!("cannot store the verified tree: {e}"), &looked, "check the cache directory"))?;
        drop(lock);
        Ok(dest)
    }

    /// A bare git clone of the mirror bundle of `s` at `dest`, for tools that want a git
    /// repository rather than a tree (cargo's git dependencies). `None` when no mirror has a
    /// bundle of it: the tool then fetches from the URL itself.
    ///
    /// # Errors
    /// A bundle that cannot be cloned or lacks the pinned commit.
    pub fn git_clone_from_mirror(&self, s: &SourceRef, dest: &Path) -> Option<Result<PathBuf, SourceError>> {
        let (host, owner, repo) = url_parts(&s.url)?;
        let bundle = self
            .mirrors
            .iter()
            .map(|m| m.join(&host).join(&owner).join(format!("{repo}.bundle")))
            .find(|b| b.is_file())?;
        let fail = |problem: String| SourceError {
            name: s.name.clone(),
            url: s.url.clone(),
            rev: s.rev.clone(),
            problem,
            looked: format!("    {}", bundle.display()),
            help: "replace the bundle with one that holds the pinned commit".into(),
        };
        let _ = std::fs::remove_dir_all(dest);
        let parent = dest.parent().unwrap_or(Path::new("/"));
        if let Err(e) = std::fs::create_dir_all(parent) {
            return Some(Err(fail(format!("cannot create {}: {e}", parent.display()))));
        }
        let made = git(&["clone", "--quiet", "--bare", &bundle.to_string_lossy(), &dest.to_string_lossy()], parent)
            .and_then(|_| {
                git(&["cat-file", "-e", &format!("{}^{{commit}}", s.rev)], dest)
                    .map_err(|_| format!("has no commit `{}`", s.rev))
            });
        Some(made.map(|_| dest.to_path_buf()).map_err(fail))
    }

    /// Unpacks a one-commit tarball into `dest` after checking its name, its top folder and
    /// its sha256 against `sources.lock`. Returns the sha256.
    fn from_tarball(&self, file: &Path, url: &str, rev: &str, repo: &str, dest: &Path) -> Result<String, String> {
        if !is_full_commit(rev) {
            return Err(format!("a tarball stands for one full commit id; `{rev}` is not one"));
        }
        let bytes = std::fs::read(file).map_err(|e| format!("cannot read: {e}"))?;
        let sha = hex::encode(Sha256::digest(&bytes));
        let lock_path = self.root.join("sources.lock");
        let _guard = lock_file(&PathBuf::from(format!("{}.lock", lock_path.display()))).map_err(|e| e.to_string())?;
        let mut lock = read_lock(&lock_path)?;
        let key = format!("{url}@{rev}");
        match lock.get(&key) {
            Some(known) if *known != sha => {
                return Err(format!(
                    "sha256 {sha} differs from {known}, recorded in {} when this commit was first used; \
                     the tarball changed (remove its line there only if you trust the new file)",
                    lock_path.display()
                ))
            }
            _ => {}
        }
        let top = format!("{repo}-{rev}");
        std::fs::create_dir_all(dest).map_err(|e| e.to_string())?;
        let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(&bytes[..]));
        archive.set_preserve_permissions(true);
        let entries = archive.entries().map_err(|e| format!("not a gzip'd tar file: {e}"))?;
        let mut files = 0usize;
        for entry in entries {
            let mut entry = entry.map_err(|e| format!("corrupt archive: {e}"))?;
            let path = entry.path().map_err(|e| format!("corrupt archive: {e}"))?.into_owned();
            let Ok(rel) = path.strip_prefix(&top) else {
                // GitHub's tarballs carry the commit as a global pax header; anything else
                // outside the top folder means this is not the tree the name promises.
                if entry.header().entry_type() == tar::EntryType::XGlobalHeader {
                    let mut text = String::new();
                    let _ = entry.read_to_string(&mut text);
                    if text.contains("comment=") && !text.contains(rev) {
                        return Err(format!("the archive says it is another commit: {}", text.trim()));
                    }
                    continue;
                }
                return Err(format!("`{}` is outside the top folder `{top}/`", path.display()));
            };
            if rel.as_os_str().is_empty() {
                continue;
            }
            if !entry.unpack_in(dest).map_err(|e| format!("corrupt archive at `{}`: {e}", path.display()))? {
                return Err(format!("`{}` escapes the tree", path.display()));
            }
            files += 1;
        }
        if files == 0 {
            return Err(format!("no files under the top folder `{top}/`"));
        }
        // `unpack_in` put everything under dest/<top>/; lift it one level.
        let inner = dest.join(&top);
        for e in std::fs::read_dir(&inner).map_err(|e| e.to_string())? {
            let e = e.map_err(|e| e.to_string())?;
            std::fs::rename(e.path(), dest.join(e.file_name())).map_err(|e| e.to_string())?;
        }
        std::fs::remove_dir(&inner).map_err(|e| e.to_string())?;
        if !lock.contains_key(&key) {
            lock.insert(key, sha.clone());
            write_lock(&lock_path, &lock)?;
        }
        Ok(sha)
    }
}

/// An exclusive lock on `path` (made if missing), held until the file is dropped.
pub fn lock_file(path: &Path) -> std::io::Result<std::fs::File> {
    let f = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(path)?;
    f.lock()?;
    Ok(f)
}

/// `sources.lock`: one `URL@REV SHA256` line per tarball ever used.
fn read_lock(path: &Path) -> Result<BTreeMap<String, String>, String> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(BTreeMap::new()),
        Err(e) => return Err(format!("cannot read {}: {e}", path.display())),
    };
    Ok(text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once(' ').map(|(k, v)| (k.to_string(), v.trim().to_string())))
        .collect())
}

fn write_lock(path: &Path, lock: &BTreeMap<String, String>) -> Result<(), String> {
    let mut text =
        String::from("# sha256 of every source tarball panther-host has built from; a changed tarball is refused\n");
    for (k, v) in lock {
        text.push_str(&format!("{k} {v}\n"));
    }
    let tmp = path.with_extension("lock.tmp");
    std::fs::write(&tmp, text)
        .and_then(|()| std::fs::rename(&tmp, path))
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Runs git in `dir`, always explicitly: the host's own working directory may be any
/// repository (or none), and git commands such as `bundle verify` read it.
fn git(args: &[&str], dir: &Path) -> Result<String, String> {
    let mut c = Command::new("git");
    c.arg("-C").arg(dir);
    // No prompts, no user config: a fetch must behave the same on every machine.
    // A stalled clone gives up after 30 s below 1 kB/s instead of hanging a test.
    c.args(["-c", "advice.detachedHead=false", "-c", "protocol.file.allow=always"])
        .args(["-c", "http.lowSpeedLimit=1000", "-c", "http.lowSpeedTime=30"])
        .args(args)
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null");
    let out = c.output().map_err(|e| format!("cannot run git: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    } else {
        let err = String::from_utf8_lossy(&out.stderr);
        Err(err.lines().filter(|l| !l.trim().is_empty()).last().unwrap_or("git failed").trim().to_string())
    }
}

/// Checks out `rev` from a bundle into `dest` (without `.git`); returns the commit.
fn from_bundle(bundle: &Path, rev: &str, dest: &Path) -> Result<String, String> {
    let b = bundle.to_string_lossy();
    clone(&b, dest).map_err(|e| format!("not a usable git bundle: {e}"))?;
    // `bundle verify` needs a repository to check the bundle's prerequisites against: the
    // clone just made, never whatever repository the host happens to be started in.
    git(&["bundle", "verify", "--quiet", &b], dest).map_err(|e| format!("not a usable git bundle: {e}"))?;
    checkout(rev, dest)
}

fn from_clone(url: &str, rev: &str, dest: &Path) -> Result<String, String> {
    clone(url, dest)?;
    checkout(rev, dest)
}

fn clone(from: &str, dest: &Path) -> Result<String, String> {
    let parent = dest.parent().ok_or_else(|| format!("{} has no parent directory", dest.display()))?;
    git(&["clone", "--quiet", "--no-checkout", from, &dest.to_string_lossy()], parent)
}

fn checkout(rev: &str, dest: &Path) -> Result<String, String> {
    let commit = git(&["rev-parse", "--verify", "--quiet", &format!("{rev}^{{commit}}")], dest)
        .map_err(|_| format!("has no commit `{rev}`"))?;
    if is_full_commit(rev) && commit != rev {
        return Err(format!("`{rev}` resolves to {commit}"));
    }
    git(&["checkout", "--quiet", "--detach", &commit], dest)?;
    let head = git(&["rev-parse", "HEAD"], dest)?;
    if head != commit {
        return Err(format!("checked out {head}, not {commit}"));
    }
    std::fs::remove_dir_all(dest.join(".git")).map_err(|e| format!("cannot drop .git: {e}"))?;
    Ok(commit)
}

/// Copies a verified tree to `dest` (a writable copy a compile phase may change), keeping
/// modes and symlinks; the cache marker stays behind.
pub fn copy_tree(from: &Path, dest: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dest)?;
    for e in std::fs::read_dir(from)? {
        let e = e?;
        let (src, to) = (e.path(), dest.join(e.file_name()));
        if e.file_name() == VERIFIED_MARKER {
            continue;
        }
        let t = e.file_type()?;
        if t.is_dir() {
            copy_tree(&src, &to)?;
        } else if t.is_symlink() {
            let _ = std::fs::remove_file(&to);
            std::os::unix::fs::symlink(std::fs::read_link(&src)?, &to)?;
        } else {
            std::fs::copy(&src, &to)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_host_owner_repo() {
        assert_eq!(
            url_parts("https://github.com/h2o/picotls.git"),
            Some(("github.com".into(), "h2o".into(), "picotls".into()))
        );
        assert_eq!(url_parts("https://github.com/h2o/picotls"), url_parts("https://github.com/h2o/picotls.git"));
        assert_eq!(url_parts("https://github.com/h2o/../etc"), None);
        assert_eq!(url_parts("https://github.com/h2o"), None);
        assert_eq!(url_parts("https://github.com/a/b/c"), None);
    }

    /// A repository with two commits, bundled into `<mirror>/example.org/o/r.bundle`, and a
    /// tarball of the first commit at `<mirror>/example.org/o/r@<commit>.tar.gz`.
    struct Fixture {
        _dir: tempfile::TempDir,
        mirror: PathBuf,
        cache: PathBuf,
        first: String,
        second: String,
    }

    const URL: &str = "https://example.org/o/r.git";

    fn run(dir: &Path, args: &[&str]) -> String {
        git(args, dir).unwrap_or_else(|e| panic!("git {args:?}: {e}"))
    }

    fn fixture() -> Fixture {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path().join("repo");
        std::fs::create_dir_all(&repo).unwrap();
        git(&["init", "--quiet", &repo.to_string_lossy()], dir.path()).unwrap();
        let commit = |msg: &str| {
            std::fs::write(repo.join("file.txt"), msg).unwrap();
            run(&repo, &["add", "file.txt"]);
            run(&repo, &["-c", "user.name=t", "-c", "user.email=t@t", "commit", "--quiet", "-m", msg]);
            run(&repo, &["rev-parse", "HEAD"])
        };
        let first = commit("one");
        let second = commit("two");
        let mirror = dir.path().join("mirror");
        let at = mirror.join("example.org/o");
        std::fs::create_dir_all(&at).unwrap();
        run(&repo, &["bundle", "create", "--quiet", &at.join("r.bundle").to_string_lossy(), "--all"]);
        let cache = dir.path().join("cache");
        Fixture { mirror, cache, first, second, _dir: dir }
    }

    fn tarball(f: &Fixture, rev: &str, top: &str, content: &[u8]) -> PathBuf {
        let path = f.mirror.join(format!("example.org/o/r@{rev}.tar.gz"));
        let gz = flate2::write::GzEncoder::new(std::fs::File::create(&path).unwrap(), flate2::Compression::fast());
        let mut t = tar::Builder::new(gz);
        let mut h = tar::Header::new_gnu();
        h.set_size(content.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        t.append_data(&mut h, format!("{top}/file.txt"), content).unwrap();
        t.into_inner().unwrap().finish().unwrap();
        path
    }

    fn src(rev: &str) -> SourceRef {
        SourceRef { name: "r".into(), url: URL.into(), rev: rev.into(), dest: "/opt/r".into() }
    }

    #[test]
    fn a_bundle_gives_the_pinned_commit_of_its_history() {
        let f = fixture();
        let s = Sources::new(vec![f.mirror.clone()], &f.cache);
        let tree = s.fetch(&src(&f.first)).unwrap();
        assert_eq!(std::fs::read_to_string(tree.join("file.txt")).unwrap(), "one");
        assert!(!tree.join(".git").exists(), "the cached tree is the files only");
        let tree2 = s.fetch(&src(&f.second)).unwrap();
        assert_eq!(std::fs::read_to_string(tree2.join("file.txt")).unwrap(), "two");
        // Cached: a second fetch works without the mirror.
        let offline = Sources::new(vec![], &f.cache);
        assert_eq!(offline.fetch(&src(&f.first)).unwrap(), tree);
    }

    #[test]
    fn a_commit_the_bundle_lacks_is_refused_with_every_place_looked() {
        let f = fixture();
        let s = Sources::new(vec![f.mirror.clone()], &f.cache);
        let missing = "0123456789abcdef0123456789abcdef01234567";
        let e = s.fetch(&src(missing)).unwrap_err();
        let text = e.to_string();
        assert!(text.contains(URL) && text.contains(missing), "{text}");
        assert!(text.contains("r.bundle: has no commit `0123456789abcdef0123456789abcdef01234567`"), "{text}");
        assert!(text.contains(&format!("r@{missing}.tar.gz: no such file")), "{text}");
        assert!(text.contains("git clone https://example.org/o/r.git:"), "{text}");
        assert!(e.help.contains("git bundle create") || e.help.contains("bundle create"), "{}", e.help);
        assert!(!s.cached_path(&src(missing)).unwrap().exists(), "nothing unverified is kept");
    }

    #[test]
    fn a_tarball_is_unpacked_and_its_digest_locked() {
        let f = fixture();
        std::fs::remove_file(f.mirror.join("example.org/o/r.bundle")).unwrap();
        let top = format!("r-{}", f.first);
        tarball(&f, &f.first, &top, b"from the tarball");
        let s = Sources::new(vec![f.mirror.clone()], &f.cache);
        let tree = s.fetch(&src(&f.first)).unwrap();
        assert_eq!(std::fs::read_to_string(tree.join("file.txt")).unwrap(), "from the tarball");
        let lock = std::fs::read_to_string(f.cache.join("sources/sources.lock")).unwrap();
        assert!(lock.contains(&format!("{URL}@{} ", f.first)), "{lock}");

        // The same file under the same name later: the recorded digest no longer matches.
        std::fs::remove_dir_all(&tree).unwrap();
        tarball(&f, &f.first, &top, b"something else");
        let e = s.fetch(&src(&f.first)).unwrap_err().to_string();
        assert!(e.contains("differs from") && e.contains("sources.lock"), "{e}");
    }

    #[test]
    fn corrupt_and_misnamed_tarballs_are_refused() {
        let f = fixture();
        std::fs::remove_file(f.mirror.join("example.org/o/r.bundle")).unwrap();
        let s = Sources::new(vec![f.mirror.clone()], &f.cache);
        std::fs::write(f.mirror.join(format!("example.org/o/r@{}.tar.gz", f.first)), b"\x1f\x8bnot really").unwrap();
        let e = s.fetch(&src(&f.first)).unwrap_err().to_string();
        assert!(e.contains("corrupt archive") || e.contains("not a gzip"), "{e}");

        tarball(&f, &f.second, "r-0000000000000000000000000000000000000000", b"x");
        let e = s.fetch(&src(&f.second)).unwrap_err().to_string();
        assert!(e.contains("is outside the top folder"), "{e}");

        let e = s.fetch(&src("v1.0")).unwrap_err().to_string();
        assert!(e.contains("r.bundle: no such file"), "{e}");
    }

    #[test]
    fn a_copy_is_writable_and_keeps_modes() {
        let d = tempfile::tempdir().unwrap();
        let from = d.path().join("a");
        std::fs::create_dir_all(from.join("sub")).unwrap();
        std::fs::write(from.join("sub/x.sh"), "#!/bin/sh\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(from.join("sub/x.sh"), std::fs::Permissions::from_mode(0o755)).unwrap();
        std::os::unix::fs::symlink("sub/x.sh", from.join("link")).unwrap();
        std::fs::write(from.join(VERIFIED_MARKER), "{}").unwrap();
        copy_tree(&from, &d.path().join("b")).unwrap();
        let b = d.path().join("b");
        assert_eq!(std::fs::metadata(b.join("sub/x.sh")).unwrap().permissions().mode() & 0o777, 0o755);
        assert_eq!(std::fs::read_link(b.join("link")).unwrap(), PathBuf::from("sub/x.sh"));
        assert!(!b.join(VERIFIED_MARKER).exists());
    }

    #[test]
    fn full_commits_are_40_hex_digits() {
        assert!(is_full_commit("f07f1c8c0000000000000000000000000000abcd"));
        assert!(!is_full_commit("f07f1c8c"));
        assert!(!is_full_commit("v1.0"));
        assert!(!is_full_commit("F07F1C8C0000000000000000000000000000ABCD"));
    }
}
