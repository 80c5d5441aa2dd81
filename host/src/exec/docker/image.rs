//! Images without a registry: the debootstrap base image and IUT images built from a plugin's
//! structured [`ImageSpec`].
//!
//! Owns the Dockerfile generator, the content-hash tags and the two Docker API calls that make
//! images (`POST /images/create?fromSrc=-` for the base, `POST /build` for the rest). Never pulls
//! and never accepts Dockerfile text from a plugin: every line is written here from typed fields.

use std::path::{Path, PathBuf};

use bollard::query_parameters::{BuildImageOptions, CreateImageOptions};
use bollard::Docker;
use futures_util::StreamExt;
use sha2::{Digest, Sha256};

use crate::exec::sources::Sources;
use crate::exec::ExecError;
use crate::plugin::types::ImageSpec;

/// The base every IUT image starts from unless its spec names another spec.
pub const BASE_IMAGE: &str = "panther-base:bookworm";
/// Suite debootstrap installs; the base image tag says it.
const BASE_SUITE: &str = "bookworm";
/// Label on every image panther-host makes, so `panther-host clean --images` finds them.
pub const IMAGE_LABEL: &str = "panther.image";
/// The host's CA bundle, copied into the base image.
const HOST_CA_BUNDLE: &str = "/etc/ssl/certs/ca-certificates.crt";
/// Where it is inside images; pip, Python and Go are pointed at it.
const CONTAINER_CA: &str = "/usr/local/share/panther/host-ca.crt";
/// Bumped whenever the Dockerfile generator changes, so old cached images are not reused.
const GENERATOR_VERSION: &str = "dockerfile-gen-2";

/// Where the base image's root file system is made (outside the repository).
pub fn cache_dir() -> PathBuf {
    let base = std::env::var_os("PANTHER_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/panther-host")))
        .unwrap_or_else(|| PathBuf::from("/tmp/panther-host-cache"));
    base.join("docker")
}

/// The Debian mirror this host's apt uses, so debootstrap goes where apt is known to work.
/// Reads deb822 `URIs:` lines and one-line `deb URL suite` entries; falls back to deb.debian.org.
pub fn apt_mirror() -> String {
    let mut files = vec![PathBuf::from("/etc/apt/sources.list")];
    if let Ok(rd) = std::fs::read_dir("/etc/apt/sources.list.d") {
        let mut more: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
        more.sort();
        files.extend(more);
    }
    for f in files {
        let name = f.to_string_lossy();
        if !(name.ends_with(".list") || name.ends_with(".sources")) {
            continue;
        }
        let Ok(text) = std::fs::read_to_string(&f) else {
            continue;
        };
        if let Some(url) = mirror_from_sources(&text) {
            return url;
        }
    }
    "http://deb.debian.org/debian".to_string()
}

/// The first main-archive (not security) mirror in a sources file.
fn mirror_from_sources(text: &str) -> Option<String> {
    for line in text.lines().map(str::trim) {
        let url = if let Some(rest) = line.strip_prefix("URIs:") {
            rest.split_whitespace().next()
        } else if let Some(rest) = line.strip_prefix("deb ") {
            rest.split_whitespace().find(|w| w.contains("://"))
        } else {
            None
        };
        if let Some(url) = url {
            if !url.contains("security") {
                return Some(url.trim_end_matches('/').to_string());
            }
        }
    }
    None
}

fn docker_err(what: &str, source: bollard::errors::Error) -> ExecError {
    ExecError::Daemon { what: what.to_string(), source }
}

/// Whether the daemon has this image.
pub async fn exists(docker: &Docker, tag: &str) -> bool {
    docker.inspect_image(tag).await.is_ok()
}

/// Makes [`BASE_IMAGE`] unless the daemon already has it: `debootstrap --variant=minbase
/// bookworm` from the host's apt mirror into the cache, then the tree is streamed as a tar
/// into `POST /images/create?fromSrc=-` (what `docker import` does).
///
/// A lock file serialises concurrent makers (parallel tests, two runs); the loser finds the
/// image made when it gets the lock.
pub async fn ensure_base(docker: &Docker) -> Result<bool, ExecError> {
    if exists(docker, BASE_IMAGE).await {
        return Ok(false);
    }
    let dir = cache_dir();
    std::fs::create_dir_all(&dir).map_err(|e| ExecError::Io(format!("cannot create {}: {e}", dir.display())))?;
    let lock_path = dir.join("base.lock");
    let lock = tokio::task::spawn_blocking(move || -> std::io::Result<std::fs::File> {
        let f = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(&lock_path)?;
        f.lock()?;
        Ok(f)
    })
    .await
    .map_err(|e| ExecError::Io(e.to_string()))?
    .map_err(|e| ExecError::Io(format!("cannot lock {}: {e}", dir.join("base.lock").display())))?;
    if exists(docker, BASE_IMAGE).await {
        drop(lock);
        return Ok(false);
    }
    let rootfs = dir.join(format!("rootfs-{BASE_SUITE}"));
    let done = rootfs.join(".panther-debootstrap-done");
    if !done.exists() {
        let _ = std::fs::remove_dir_all(&rootfs);
        let mirror = apt_mirror();
        tracing::info!(%mirror, dir = %rootfs.display(), "making the Docker base image with debootstrap (about a minute, once)");
        let out = tokio::process::Command::new("debootstrap")
            .args(["--variant=minbase", BASE_SUITE])
            .arg(&rootfs)
            .arg(&mirror)
            .output()
            .await
            .map_err(|e| ExecError::Image {
                image: BASE_IMAGE.into(),
                problem: format!(
                    "cannot run debootstrap: {e}; install it with `apt-get install debootstrap` (or `make setup`)"
                ),
            })?;
        if !out.status.success() {
            let log = dir.join("debootstrap.log");
            let _ = std::fs::write(&log, [out.stdout, out.stderr].concat());
            return Err(ExecError::Image {
                image: BASE_IMAGE.into(),
                problem: format!(
                    "debootstrap {BASE_SUITE} from {mirror} failed ({}); see {}",
                    out.status,
                    log.display()
                ),
            });
        }
        std::fs::write(&done, b"").map_err(|e| ExecError::Io(e.to_string()))?;
    }
    // Package registries are reached through this host's trust store (which may hold a
    // proxy's CA), so image builds see the registries the way the host does.
    let ca_dir = rootfs.join("usr/local/share/panther");
    std::fs::create_dir_all(&ca_dir).map_err(|e| ExecError::Io(format!("cannot create {}: {e}", ca_dir.display())))?;
    if let Err(e) = std::fs::copy(HOST_CA_BUNDLE, ca_dir.join("host-ca.crt")) {
        tracing::warn!(
            "cannot copy {HOST_CA_BUNDLE} into the base image ({e}); TLS to package registries from builds may fail"
        );
    }
    import_rootfs(docker, &rootfs).await?;
    // The image holds the tree now; 200 MB less in the cache.
    let _ = std::fs::remove_dir_all(&rootfs);
    drop(lock);
    Ok(true)
}

/// Streams `tar -C rootfs -c .` into the daemon. `tar` (not the `tar` crate) because the
/// tree holds device nodes and hard links that GNU tar already gets right.
async fn import_rootfs(docker: &Docker, rootfs: &Path) -> Result<(), ExecError> {
    let mut child = tokio::process::Command::new("tar")
        .arg("-C")
        .arg(rootfs)
        .args(["--exclude=./.panther-debootstrap-done", "-c", "."])
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .map_err(|e| ExecError::Io(format!("cannot run tar on {}: {e}", rootfs.display())))?;
    let stdout = child.stdout.take().expect("piped stdout");
    let body = futures_util::stream::unfold(stdout, |mut r| async move {
        use tokio::io::AsyncReadExt;
        let mut buf = vec![0u8; 1 << 20];
        match r.read(&mut buf).await {
            Ok(0) | Err(_) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok::<_, std::io::Error>(bytes::Bytes::from(buf)), r))
            }
        }
    });
    let (repo, tag) = BASE_IMAGE.split_once(':').expect("tagged");
    let opts = CreateImageOptions {
        from_src: Some("-".into()),
        repo: Some(repo.into()),
        tag: Some(tag.into()),
        changes: vec![
            format!("LABEL {IMAGE_LABEL}=panther-base"),
            "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into(),
            "CMD [\"bash\"]".into(),
            format!("ENV PIP_CERT={CONTAINER_CA} SSL_CERT_FILE={CONTAINER_CA} REQUESTS_CA_BUNDLE={CONTAINER_CA}"),
        ],
        ..Default::default()
    };
    let mut stream = docker.create_image(Some(opts), Some(bollard::body_try_stream(body)), None);
    while let Some(item) = stream.next().await {
        item.map_err(|e| docker_err(&format!("importing {BASE_IMAGE}"), e))?;
    }
    let status = child.wait().await.map_err(|e| ExecError::Io(e.to_string()))?;
    if !status.success() {
        return Err(ExecError::Image {
            image: BASE_IMAGE.into(),
            problem: format!("tar of {} failed ({status})", rootfs.display()),
        });
    }
    if !exists(docker, BASE_IMAGE).await {
        return Err(ExecError::Image {
            image: BASE_IMAGE.into(),
            problem: "the daemon accepted the import but does not have it afterwards".into(),
        });
    }
    Ok(())
}

/// Checks the spec's names before they reach a Dockerfile.
pub fn validate(service: &str, spec: &ImageSpec) -> Result<(), ExecError> {
    let bad = |field: &str, value: &str, why: &str| {
        Err(ExecError::Placement {
            service: service.to_string(),
            problem: format!("image spec field `{field}` = {value:?} {why}"),
        })
    };
    let name_ok = |s: &str| {
        !s.is_empty()
            && s.len() <= 128
            && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-/".contains(c))
            && s.starts_with(|c: char| c.is_ascii_alphanumeric())
    };
    if !name_ok(&spec.name) {
        return bad("name", &spec.name, "is not a Docker repository name (lower-case letters, digits, `._-/`)");
    }
    let base_repo = spec.base.split_once(':').map_or(spec.base.as_str(), |(r, _)| r);
    if !name_ok(base_repo) {
        return bad("base", &spec.base, "is not a Docker image name");
    }
    for (i, p) in spec.packages.iter().enumerate() {
        let ok = !p.is_empty()
            && p.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+-.:=~".contains(c))
            && p.starts_with(|c: char| c.is_ascii_alphanumeric());
        if !ok {
            return bad(&format!("packages[{i}]"), p, "is not a Debian package name");
        }
    }
    for (i, step) in spec.steps.iter().enumerate() {
        if step.argv.is_empty() {
            return bad(&format!("steps[{i}].argv"), "", "is empty; a build step needs a program");
        }
    }
    for (i, (k, _)) in spec.build_args.iter().enumerate() {
        if k.is_empty() || !k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return bad(&format!("build-args[{i}]"), k, "is not a build argument name (letters, digits, `_`)");
        }
    }
    for (i, s) in spec.sources.iter().enumerate() {
        if s.rev.is_empty() || s.dest.is_empty() || !s.dest.starts_with('/') {
            return bad(&format!("sources[{i}]"), &s.name, "needs a pinned `rev` and an absolute `dest`");
        }
    }
    Ok(())
}

/// Where a source's tree sits in the build context.
fn context_path(s: &crate::plugin::types::SourceRef) -> String {
    format!("sources/{}", s.name)
}

fn json(s: &str) -> String {
    serde_json::to_string(s).expect("string serialises")
}

fn exec_form(argv: &[String]) -> String {
    serde_json::to_string(argv).expect("strings serialise")
}

/// Writes the Dockerfile of a spec. Every RUN is exec form; plugin strings only ever appear
/// JSON-quoted inside those arrays or as WORKDIR/ARG values, never as Dockerfile syntax.
pub fn dockerfile(spec: &ImageSpec, base_ref: &str) -> String {
    let mut d = String::new();
    d.push_str(&format!("# generated by panther-host from the image spec `{}`; do not edit\n", spec.name));
    d.push_str(&format!("FROM {base_ref}\n"));
    for (k, v) in &spec.build_args {
        d.push_str(&format!("ARG {k}={}\n", json(v)));
    }
    let mut packages = spec.packages.clone();
    if !packages.is_empty() {
        packages.sort();
        packages.dedup();
        d.push_str("RUN [\"apt-get\", \"update\", \"-qq\"]\n");
        let mut argv: Vec<String> =
            ["env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "install", "-y", "-qq", "--no-install-recommends"]
                .map(String::from)
                .to_vec();
        argv.extend(packages);
        d.push_str(&format!("RUN {}\n", exec_form(&argv)));
    }
    // The host fetched and verified each source (`exec::sources`) and put it in the build
    // context: builds never reach git hosting, and the tree is the pinned commit.
    for s in &spec.sources {
        d.push_str(&format!("# {} at {}\n", s.url, s.rev));
        d.push_str(&format!("COPY {}\n", exec_form(&[context_path(s), s.dest.clone()])));
    }
    for step in &spec.steps {
        if let Some(w) = &step.workdir {
            d.push_str(&format!("WORKDIR {}\n", json(w)));
        }
        let mut argv = Vec::new();
        if !step.env.is_empty() {
            argv.push("env".to_string());
            argv.extend(step.env.iter().map(|(k, v)| format!("{k}={v}")));
        }
        argv.extend(step.argv.iter().cloned());
        d.push_str(&format!("RUN {}\n", exec_form(&argv)));
    }
    if let Some(w) = &spec.workdir {
        d.push_str(&format!("WORKDIR {}\n", json(w)));
    }
    d
}

/// Content hash of a spec plus the image it is built on, so a changed base rebuilds.
pub fn spec_hash(spec: &ImageSpec, base_id: &str) -> String {
    let mut h = Sha256::new();
    h.update(GENERATOR_VERSION.as_bytes());
    h.update(b"\0");
    h.update(serde_json::to_vec(spec).expect("spec serialises"));
    h.update(b"\0");
    h.update(base_id.as_bytes());
    hex::encode(h.finalize())
}

/// What [`build`] did.
#[derive(Debug, Clone)]
pub struct Built {
    pub tag: String,
    pub cached: bool,
    pub dockerfile: String,
    /// The daemon's build output (what `docker build` prints).
    pub log: String,
}

/// Builds the spec's image unless an image with the same content hash exists. `others` lets a
/// spec name another spec of the same test as its base.
pub async fn build(
    docker: &Docker,
    service: &str,
    spec: &ImageSpec,
    others: &[ImageSpec],
    sources: &Sources,
) -> Result<Built, ExecError> {
    validate(service, spec)?;
    let base_ref = if spec.base == BASE_IMAGE || spec.base == "panther-base" {
        ensure_base(docker).await?;
        BASE_IMAGE.to_string()
    } else if let Some(parent) = others.iter().find(|o| o.name == spec.base && o.name != spec.name) {
        Box::pin(build(docker, service, parent, others, sources)).await?.tag
    } else if spec.base.contains(':') && exists(docker, &spec.base).await {
        spec.base.clone()
    } else {
        return Err(ExecError::Image {
            image: spec.name.clone(),
            problem: format!(
                "(of service `{service}`) is based on `{}`, which is neither {BASE_IMAGE} nor another image spec of this test; \
                 images cannot be pulled here (no registry)",
                spec.base
            ),
        });
    };
    let base_id = docker
        .inspect_image(&base_ref)
        .await
        .map_err(|e| docker_err(&format!("inspecting base image {base_ref}"), e))?
        .id
        .unwrap_or_default();
    let hash = spec_hash(spec, &base_id);
    let tag = format!("{}:{}", spec.name, &hash[..16]);
    let dockerfile = dockerfile(spec, &base_ref);
    // One build per tag at a time in this process; the second caller then finds it cached.
    let tag_lock = {
        static LOCKS: std::sync::OnceLock<
            std::sync::Mutex<std::collections::HashMap<String, std::sync::Arc<tokio::sync::Mutex<()>>>>,
        > = std::sync::OnceLock::new();
        let mut m = LOCKS.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner());
        m.entry(tag.clone()).or_default().clone()
    };
    let _guard = tag_lock.lock().await;
    if exists(docker, &tag).await {
        return Ok(Built { tag, cached: true, dockerfile, log: String::new() });
    }
    let mut context = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_gnu();
    header.set_size(dockerfile.len() as u64);
    header.set_mode(0o644);
    header.set_cksum();
    context.append_data(&mut header, "Dockerfile", dockerfile.as_bytes()).map_err(|e| ExecError::Io(e.to_string()))?;
    let context = add_sources(service, spec, sources, context).await?;
    let labels = [(IMAGE_LABEL.to_string(), spec.name.clone()), ("panther.spec-hash".to_string(), hash.clone())]
        .into_iter()
        .collect();
    let opts = BuildImageOptions {
        dockerfile: "Dockerfile".into(),
        t: Some(tag.clone()),
        rm: true,
        forcerm: true,
        // Registry-less: never try to pull FROM.
        pull: None,
        labels: Some(labels),
        buildargs: Some(spec.build_args.iter().cloned().collect()),
        ..Default::default()
    };
    tracing::info!(service, %tag, "building image");
    let mut log = String::new();
    let mut stream = docker.build_image(opts, None, Some(bollard::body_full(context.into())));
    while let Some(item) = stream.next().await {
        match item {
            Ok(info) => {
                if let Some(s) = info.stream {
                    log.push_str(&s);
                }
                if let Some(e) = info.error {
                    log.push_str(&e);
                    return Err(build_failed(service, &tag, &e, &log));
                }
            }
            Err(e) => return Err(build_failed(service, &tag, &e.to_string(), &log)),
        }
    }
    if !exists(docker, &tag).await {
        return Err(build_failed(service, &tag, "the daemon reported no error but the image is missing", &log));
    }
    Ok(Built { tag, cached: false, dockerfile, log })
}

/// Fetches and verifies every source of the spec and appends its tree to the build context.
async fn add_sources(
    service: &str,
    spec: &ImageSpec,
    fetcher: &Sources,
    context: tar::Builder<Vec<u8>>,
) -> Result<Vec<u8>, ExecError> {
    let fetcher = fetcher.clone();
    let sources = spec.sources.clone();
    let service = service.to_string();
    tokio::task::spawn_blocking(move || {
        let mut context = context;
        context.follow_symlinks(false);
        for s in &sources {
            let tree = fetcher
                .fetch(s)
                .map_err(|e| ExecError::Source { service: service.clone(), source: Box::new(e) })?;
            tracing::info!(service, source = %s.name, tree = %tree.display(), "adding a verified source to the build context");
            context
                .append_dir_all(context_path(s), &tree)
                .map_err(|e| ExecError::Io(format!("cannot add source `{}` to the build context: {e}", s.name)))?;
        }
        context.into_inner().map_err(|e| ExecError::Io(e.to_string()))
    })
    .await
    .map_err(|e| ExecError::Io(format!("source task: {e}")))?
}

fn build_failed(service: &str, tag: &str, err: &str, log: &str) -> ExecError {
    let tail: String = {
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(15)..].join("\n")
    };
    ExecError::Image {
        image: tag.to_string(),
        problem: format!("(of service `{service}`) the build failed: {err}\n{tail}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugin::types::{BuildStep, SourceRef};

    fn spec() -> ImageSpec {
        ImageSpec {
            name: "panther/quic-go".into(),
            base: BASE_IMAGE.into(),
            packages: vec!["golang-go".into(), "golang-github-lucas-clemente-quic-go-dev".into()],
            sources: vec![],
            steps: vec![BuildStep {
                argv: vec!["go".into(), "build".into(), "-o".into(), "/usr/local/bin/x".into(), "a b\"c".into()],
                workdir: Some("/src".into()),
                env: vec![("GO111MODULE".into(), "off".into())],
            }],
            build_args: vec![("V".into(), "1".into())],
            workdir: Some("/app".into()),
        }
    }

    #[test]
    fn dockerfile_is_exec_form_and_quotes_plugin_strings() {
        insta::assert_snapshot!(dockerfile(&spec(), BASE_IMAGE), @r#"
        # generated by panther-host from the image spec `panther/quic-go`; do not edit
        FROM panther-base:bookworm
        ARG V="1"
        RUN ["apt-get", "update", "-qq"]
        RUN ["env","DEBIAN_FRONTEND=noninteractive","apt-get","install","-y","-qq","--no-install-recommends","golang-github-lucas-clemente-quic-go-dev","golang-go"]
        WORKDIR "/src"
        RUN ["env","GO111MODULE=off","go","build","-o","/usr/local/bin/x","a b\"c"]
        WORKDIR "/app"
        "#);
    }

    #[test]
    fn sources_come_from_the_build_context_never_from_git() {
        let mut s = spec();
        s.sources.push(SourceRef {
            name: "x".into(),
            url: "https://example.invalid/x.git".into(),
            rev: "v1".into(),
            dest: "/src/x".into(),
        });
        let d = dockerfile(&s, BASE_IMAGE);
        assert!(d.contains("# https://example.invalid/x.git at v1\n"), "{d}");
        assert!(d.contains(r#"COPY ["sources/x","/src/x"]"#), "{d}");
        assert!(!d.contains(r#""git""#), "no build step reaches git hosting: {d}");
    }

    #[test]
    fn hash_changes_with_spec_and_base() {
        let a = spec_hash(&spec(), "sha256:1");
        assert_eq!(a, spec_hash(&spec(), "sha256:1"));
        assert_ne!(a, spec_hash(&spec(), "sha256:2"));
        let mut s = spec();
        s.packages.push("tshark".into());
        assert_ne!(a, spec_hash(&s, "sha256:1"));
    }

    #[test]
    fn bad_names_are_refused_with_the_field() {
        let mut s = spec();
        s.packages.push("foo; rm -rf /".into());
        let e = validate("srv", &s).unwrap_err().to_string();
        assert!(e.contains("packages[2]") && e.contains("srv"), "{e}");
        let mut s = spec();
        s.name = "Upper Case".into();
        assert!(validate("srv", &s).unwrap_err().to_string().contains("`name`"));
    }

    #[test]
    fn mirror_is_read_from_deb822_and_one_line_sources() {
        let deb822 = "Types: deb\nURIs: http://mirror.example/debian/\nSuites: bookworm\n\nTypes: deb\nURIs: http://deb.debian.org/debian-security\n";
        assert_eq!(mirror_from_sources(deb822).as_deref(), Some("http://mirror.example/debian"));
        let one = "deb http://security.debian.org/ bookworm-security main\ndeb [arch=amd64] http://m.example/debian bookworm main\n";
        assert_eq!(mirror_from_sources(one).as_deref(), Some("http://m.example/debian"));
    }
}
