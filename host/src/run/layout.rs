//! Where a run's files go, and the runtime values plans are rendered with.
//!
//! Owns the run directory tree (`outputs/<experiment>/<timestamp>/<test>/<service>/…`), the
//! served files of a test, free-port allocation, the content-hash key of the compile cache and
//! the [`RenderContext`] of each service. Creates directories; runs nothing.

use std::collections::BTreeMap;
use std::io::Write;
use std::net::{Ipv4Addr, SocketAddrV4, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::contract::DirName;
use crate::exec::ServiceDirs;
use crate::plan::render::{ip_decimal, Endpoint, NameOnly, RenderContext, RunInfo, TargetEndpoint};
use crate::plugin::types::{EnvironmentKind, ServicePlan, Transport};
use crate::plugin::wit::latest::env::Placement;

/// The directory of one run: `<output>/<experiment>/<timestamp>/`.
#[derive(Debug, Clone)]
pub struct RunLayout {
    pub root: PathBuf,
    pub id: String,
    pub cache_root: PathBuf,
    /// The Docker subnets this run's tests hold (shared by clones of the layout).
    pub subnets: std::sync::Arc<super::subnets::SubnetPool>,
    /// The loopback ports handed to tests that run now, so that tests run at once
    /// (`--jobs`) never get the same one.
    pub ports: std::sync::Arc<PortRegistry>,
}

/// Ports held per test (keyed by its directory) until the test ends.
#[derive(Debug, Default)]
pub struct PortRegistry(std::sync::Mutex<BTreeMap<String, Vec<u16>>>);

impl PortRegistry {
    fn held(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Vec<u16>>> {
        self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Every port another test holds.
    pub fn in_use(&self) -> Vec<u16> {
        self.held().values().flatten().copied().collect()
    }

    pub fn hold(&self, test: &str, ports: Vec<u16>) {
        self.held().insert(test.to_string(), ports);
    }

    pub fn release(&self, test: &str) {
        self.held().remove(test);
    }
}

impl RunLayout {
    /// A layout under `output/<experiment>/<id>`; nothing is created yet. A relative `output`
    /// is taken from the current directory now, because commands run in other directories.
    pub fn new(output: &Path, experiment: &str, id: &str, cache_root: &Path) -> Self {
        let output = if output.is_relative() {
            std::env::current_dir().map(|d| d.join(output)).unwrap_or_else(|_| output.to_path_buf())
        } else {
            output.to_path_buf()
        };
        let root = output.join(slug(experiment)).join(id);
        // Seeded by the directory, not the id: runs of other experiments started in the same
        // second share the id.
        let subnets = std::sync::Arc::new(super::subnets::SubnetPool::starting_from(&root.to_string_lossy()));
        RunLayout { root, id: id.to_string(), cache_root: cache_root.to_path_buf(), subnets, ports: Default::default() }
    }

    /// A fresh run directory under `output/<experiment>/`, made now. Its id is
    /// [`run_id_now`], with `-2`, `-3`, … appended when a run started in the same second
    /// already has that directory: `create_dir` fails on an existing directory, so two runs
    /// (two processes) can never share one.
    ///
    /// # Errors
    /// The directory (or its parents) cannot be made, with the path.
    pub fn create(output: &Path, experiment: &str, cache_root: &Path) -> Result<Self, (PathBuf, std::io::Error)> {
        let base = run_id_now();
        let first = Self::new(output, experiment, &base, cache_root);
        let parent = first.root.parent().map(Path::to_path_buf).unwrap_or_default();
        std::fs::create_dir_all(&parent).map_err(|e| (parent.clone(), e))?;
        let mut n = 1u32;
        loop {
            let id = if n == 1 { base.clone() } else { format!("{base}-{n}") };
            let layout = Self::new(output, experiment, &id, cache_root);
            match std::fs::create_dir(&layout.root) {
                Ok(()) => return Ok(layout),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && n < 10_000 => n += 1,
                Err(e) => return Err((layout.root, e)),
            }
        }
    }

    /// The layout of an existing run directory (to resume it).
    pub fn open(root: &Path, cache_root: &Path) -> Self {
        let root = std::path::absolute(root).unwrap_or_else(|_| root.to_path_buf());
        let id = root.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let subnets = std::sync::Arc::new(super::subnets::SubnetPool::starting_from(&root.to_string_lossy()));
        RunLayout { root, id, cache_root: cache_root.to_path_buf(), subnets, ports: Default::default() }
    }

    pub fn certs(&self) -> PathBuf {
        self.root.join("certs")
    }

    /// The same names under a chain of [`crate::certs::LONG_CHAIN_INTERMEDIATES`] intermediate
    /// CAs, for the tests that need a large certificate (`amplificationlimit`).
    pub fn long_chain_certs(&self) -> PathBuf {
        self.root.join("certs-long-chain")
    }

    /// `<run>/<test slug>` or `<run>/<test slug>/iter-N` when a test has several iterations.
    pub fn test_dir(&self, test_slug: &str, iteration: u32, iterations: u32) -> PathBuf {
        let d = self.root.join(test_slug);
        if iterations > 1 {
            d.join(format!("iter-{iteration}"))
        } else {
            d
        }
    }
}

/// A run id from the current UTC time: `2026-11-25_14-03-07`. Two runs can start in the same
/// second: [`RunLayout::create`] makes the id unique.
pub fn run_id_now() -> String {
    let now = time::OffsetDateTime::now_utc();
    let f = time::macros::format_description!("[year]-[month]-[day]_[hour]-[minute]-[second]");
    now.format(&f).unwrap_or_else(|_| "run".to_string())
}

pub use crate::text::slug;

/// The key of a plugin's compile cache: the unrendered compile phases of its plan, the plugin
/// name and the environment. Plugin rebuilds that do not change those commands keep the cache.
pub fn compile_cache_key(plugin: &str, env: EnvironmentKind, plan: &ServicePlan) -> String {
    let mut h = Sha256::new();
    h.update(plugin.as_bytes());
    h.update([0]);
    h.update(format!("{env:?}").as_bytes());
    for phase in [&plan.phases.pre_compile, &plan.phases.compile, &plan.phases.post_compile] {
        h.update(serde_json::to_vec(phase).expect("commands are plain data"));
        h.update([0]);
    }
    // The compile phases build from the pinned upstream trees placed in the tools directory:
    // another commit is another build.
    if let Some(img) = &plan.image {
        if !img.sources.is_empty() {
            h.update(serde_json::to_vec(&img.sources).expect("sources are plain data"));
        }
    }
    hex::encode(&h.finalize()[..8])
}

/// The directories of one service (host paths), without making them.
pub fn planned_service_dirs(
    test_dir: &Path,
    run: &RunLayout,
    service: &str,
    plugin: &str,
    cache_key: &str,
) -> ServiceDirs {
    let root = test_dir.join(slug(service));
    ServiceDirs {
        logs: root.join("logs"),
        work: root.join("work"),
        downloads: root.join("downloads"),
        qlog: root.join("qlog"),
        www: test_dir.join("www"),
        certs: run.certs(),
        cache: run.cache_root.join("plugins").join(slug(plugin)),
        tools: run.cache_root.join("tools").join(format!("{}-{cache_key}", slug(plugin))),
        root,
    }
}

/// Makes the directories of one service and returns them (host paths). The tools directory
/// is left to the executor, which fills it in the compile phase.
pub fn service_dirs(
    test_dir: &Path,
    run: &RunLayout,
    service: &str,
    plugin: &str,
    cache_key: &str,
) -> std::io::Result<ServiceDirs> {
    let dirs = planned_service_dirs(test_dir, run, service, plugin, cache_key);
    for d in [&dirs.logs, &dirs.work, &dirs.downloads, &dirs.qlog, &dirs.www, &dirs.cache] {
        std::fs::create_dir_all(d)?;
    }
    Ok(dirs)
}

/// Writes the files a test's servers serve: deterministic pseudo-random content of the asked
/// sizes (seeded by the path), so a download can be compared byte for byte.
pub fn write_www(www: &Path, files: &[(String, u64)]) -> std::io::Result<()> {
    std::fs::create_dir_all(www)?;
    for (path, size) in files {
        let rel = path.trim_start_matches('/');
        let dest = www.join(rel);
        if let Some(parent) = dest.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let mut seed = u64::from_le_bytes(Sha256::digest(rel.as_bytes())[..8].try_into().unwrap()) | 1;
        let mut out = std::io::BufWriter::new(std::fs::File::create(&dest)?);
        let mut left = *size;
        let mut buf = [0u8; 8192];
        while left > 0 {
            for chunk in buf.chunks_mut(8) {
                // xorshift64*: fast, deterministic, and not compressible by accident.
                seed ^= seed >> 12;
                seed ^= seed << 25;
                seed ^= seed >> 27;
                let v = seed.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes();
                chunk.copy_from_slice(&v[..chunk.len()]);
            }
            let n = left.min(buf.len() as u64) as usize;
            out.write_all(&buf[..n])?;
            left -= n as u64;
        }
        out.flush()?;
    }
    Ok(())
}

/// Asks the kernel for a free port on loopback for the given transport.
pub fn free_port(transport: Transport) -> std::io::Result<u16> {
    let any = SocketAddrV4::new(Ipv4Addr::LOCALHOST, 0);
    Ok(match transport {
        Transport::Udp => UdpSocket::bind(any)?.local_addr()?.port(),
        Transport::Tcp => TcpListener::bind(any)?.local_addr()?.port(),
    })
}

/// A free loopback port that is not in `taken`.
pub fn free_port_not_in(transport: Transport, taken: &[u16]) -> std::io::Result<u16> {
    let mut n = free_port(transport)?;
    while taken.contains(&n) {
        n = free_port(transport)?;
    }
    Ok(n)
}

/// Gives every `number = 0` port of a plan a number: a free loopback port for local runs,
/// the port's conventional number (4443) inside containers, where each service has its own
/// address. Ports already taken by earlier services of the same test are not handed out again.
pub fn allocate_ports(
    plan: &ServicePlan,
    env: EnvironmentKind,
    taken: &mut Vec<u16>,
) -> std::io::Result<BTreeMap<String, u16>> {
    let mut out = BTreeMap::new();
    for p in &plan.ports {
        let n = if p.number != 0 {
            p.number
        } else if matches!(env, EnvironmentKind::Docker | EnvironmentKind::Shadow) {
            // Each container or simulated host has ports of its own; fixed numbers also keep
            // a simulation's packets the same from run to run.
            4443 + out.len() as u16
        } else {
            free_port_not_in(p.transport, taken)?
        };
        taken.push(n);
        out.insert(p.name.clone(), n);
    }
    Ok(out)
}

/// What the render context needs to know about every service of a test.
#[derive(Debug, Clone)]
pub struct ServiceAddress {
    pub name: String,
    pub host: String,
    pub ip: String,
    pub ports: BTreeMap<String, u16>,
    /// Port names in the order the plan declared them (the first is `target.port`).
    pub first_port: Option<u16>,
    /// Docker only: its fixed address on each network it joins.
    pub ips: BTreeMap<String, String>,
    /// `{{self.ip6}}` and `{{self.host6}}` (see [`crate::plan::render::Endpoint`]).
    pub ip6: Option<String>,
    pub host6: Option<String>,
}

impl ServiceAddress {
    fn endpoint(&self) -> Endpoint {
        Endpoint {
            name: self.name.clone(),
            host: self.host.clone(),
            ip: self.ip.clone(),
            ip_decimal: ip_decimal(&self.ip),
            ip6: self.ip6.clone(),
            host6: self.host6.clone(),
            ports: self.ports.clone(),
        }
    }
}

/// The address of a placement: its fixed address on the first network it joins (Docker), else
/// a literal IP host is its own address; other hosts are reached by name only.
pub fn address_of(
    p: &Placement,
    ports: BTreeMap<String, u16>,
    first_port: Option<u16>,
    ips: BTreeMap<String, String>,
) -> ServiceAddress {
    let ip = p.networks.iter().find_map(|n| ips.get(n).cloned()).unwrap_or_else(|| {
        if p.host.parse::<std::net::IpAddr>().is_ok() {
            p.host.clone()
        } else {
            String::new()
        }
    });
    ServiceAddress { name: p.service.clone(), host: p.host.clone(), ip, ports, first_port, ips, ip6: None, host6: None }
}

/// Directory names → paths as the service sees them (host paths, or container paths from the
/// placement's mounts under Docker).
pub fn visible_dirs(dirs: &ServiceDirs, placement: &Placement, run_root: &Path) -> BTreeMap<String, String> {
    let named = DirName::ALL.into_iter().map(|d| (d.name(), dirs.get(d)));
    let host: Vec<(&str, &Path)> =
        [("run", run_root), ("root", dirs.root.as_path())].into_iter().chain(named).collect();
    let mut out: BTreeMap<String, String> =
        host.iter().map(|(k, p)| (k.to_string(), p.display().to_string())).collect();
    // A directory mounted twice (docker-compose shows `logs` at /app/logs and /logs) is named
    // by its first mount, the one the environment's own env (SSLKEYLOGFILE, ...) points into.
    let mut seen = std::collections::BTreeSet::new();
    for m in &placement.mounts {
        if let Some(t) = &m.target {
            if seen.insert(m.dir.as_str()) {
                out.insert(m.dir.clone(), t.clone());
            }
        }
    }
    out
}

/// `{{sources.NAME}}` of a plan: the writable copy the local executor places in the tools
/// directory, or the source's `dest` inside the image.
pub fn source_paths(plan: &ServicePlan, env: EnvironmentKind, tools: &str) -> BTreeMap<String, String> {
    let Some(img) = &plan.image else { return BTreeMap::new() };
    img.sources
        .iter()
        .map(|s| {
            let at = match env {
                EnvironmentKind::Docker => s.dest.clone(),
                _ => format!("{tools}/src/{}", s.name),
            };
            (s.name.clone(), at)
        })
        .collect()
}

/// The render context of one service of a test.
pub fn render_context(
    me: &ServiceAddress,
    target: Option<&ServiceAddress>,
    all: &[ServiceAddress],
    dirs: BTreeMap<String, String>,
    certs: BTreeMap<String, String>,
    test: &str,
    run_id: &str,
) -> RenderContext {
    let keylog = format!("{}/keys.log", dirs.get("logs").map(String::as_str).unwrap_or("."));
    RenderContext {
        this: me.endpoint(),
        ports: me.ports.clone(),
        target: target.map(|t| TargetEndpoint { endpoint: t.endpoint(), port: t.first_port.unwrap_or(0) }),
        peers: all.iter().filter(|a| a.name != me.name).map(|a| (a.name.clone(), a.endpoint())).collect(),
        dirs,
        files: BTreeMap::from([("keylog".to_string(), keylog)]),
        certs,
        sources: BTreeMap::new(),
        test: NameOnly { name: test.to_string() },
        run: RunInfo { id: run_id.to_string() },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Runs started in the same second (threads here, processes in the e2e test) each get a
    // directory of their own.
    #[test]
    fn run_directories_are_unique_within_a_second() {
        let d = tempfile::tempdir().unwrap();
        let out = d.path().to_path_buf();
        let ids: Vec<String> = (0..8)
            .map(|_| {
                let out = out.clone();
                std::thread::spawn(move || RunLayout::create(&out, "e", Path::new("/c")).unwrap().id)
            })
            .collect::<Vec<_>>()
            .into_iter()
            .map(|h| h.join().unwrap())
            .collect();
        let unique: std::collections::BTreeSet<&String> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len(), "{ids:?}");
        for id in &ids {
            assert!(out.join("e").join(id).is_dir());
        }
    }

    #[test]
    fn slugs_are_safe_and_stable() {
        assert_eq!(slug("quic-go server, aioquic client"), "quic-go-server-aioquic-client");
        assert_eq!(slug("../../etc"), "etc");
        assert_eq!(slug("???"), "unnamed");
    }

    #[test]
    fn www_files_are_deterministic_and_sized() {
        let d = tempfile::tempdir().unwrap();
        write_www(d.path(), &[("/a/f.bin".into(), 10_000), ("/g".into(), 3)]).unwrap();
        let a = std::fs::read(d.path().join("a/f.bin")).unwrap();
        assert_eq!(a.len(), 10_000);
        write_www(d.path(), &[("/a/f.bin".into(), 10_000)]).unwrap();
        assert_eq!(a, std::fs::read(d.path().join("a/f.bin")).unwrap());
        assert_eq!(std::fs::read(d.path().join("g")).unwrap().len(), 3);
        assert_ne!(&a[..8], &[0u8; 8]);
    }

    // `0` ports get free loopback ports on localhost, never one an earlier service of the test
    // holds; in containers they get 4443, 4444, …; fixed numbers stay as the plan gave them.
    #[test]
    fn ports_are_allocated_distinct_and_fixed_ones_kept() {
        use crate::plugin::types::Port;
        let mut plan = crate::plan::test_support::plan_running(&["srv"]);
        let port = |name: &str, number, transport| Port { name: name.into(), number, transport };
        plan.ports = vec![
            port("a", 0, Transport::Udp),
            port("b", 0, Transport::Tcp),
            port("c", 0, Transport::Udp),
            port("fixed", 4987, Transport::Udp),
        ];
        let earlier = free_port(Transport::Udp).unwrap();
        let mut taken = vec![earlier];
        let local = allocate_ports(&plan, EnvironmentKind::Localhost, &mut taken).unwrap();
        let numbers: std::collections::BTreeSet<u16> = local.values().copied().collect();
        assert_eq!(numbers.len(), 4, "{local:?}");
        assert!(!numbers.contains(&earlier), "an earlier service's port is not handed out again: {local:?}");
        assert!(!numbers.contains(&0));
        assert_eq!(local["fixed"], 4987);
        assert_eq!(taken.len(), 5, "every allocated port is recorded as taken");

        let docker = allocate_ports(&plan, EnvironmentKind::Docker, &mut vec![]).unwrap();
        assert_eq!((docker["a"], docker["b"], docker["c"], docker["fixed"]), (4443, 4444, 4445, 4987));
    }
}
