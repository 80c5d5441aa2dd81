//! Load and call timings of the plugin host (`panther-host plugins bench`). Not a test: the
//! numbers go into docs/BENCHMARKS.md. Run it on a release build; debug numbers mean little.
//!
//! Measures, per plugin: cold compile (`Component::new`, no cache), warm admission (read, hash,
//! load the precompiled artifact, check the shape, link, `describe()`), one instantiate + call,
//! and calls per second. Also the whole `PluginHost::open` with a warm cache and describe index,
//! which loads no component (each is loaded on its first call).

use std::path::PathBuf;
use std::time::{Duration, Instant};

use super::{types, HostOptions, PluginHost, World};

/// Numbers for one plugin.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PluginTimes {
    pub name: String,
    pub file: PathBuf,
    pub wasm_bytes: u64,
    /// Median of the compile runs.
    pub cold_compile_ms: f64,
    /// Median warm admission: read + sha256 + cached artifact + shape + link + describe().
    pub warm_load_ms: f64,
    /// Median of one fresh instance + one call (`plan`, or `deploy` for environments).
    pub call_us: f64,
    pub calls_per_sec: f64,
}

/// The whole report.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BenchReport {
    /// `PluginHost::open` over every plugin directory with a warm cache and describe index
    /// (engine included, no component loaded).
    pub open_all_warm_ms: f64,
    pub plugins: Vec<PluginTimes>,
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// A request every service plugin can at least answer (possibly with a refusal): its first
/// role, protocol and version, and its declared defaults.
pub fn sample_request(info: &types::PluginInfo) -> types::PlanRequest {
    types::PlanRequest {
        service: "bench".into(),
        role: info.roles.first().copied().unwrap_or(types::Role::Server),
        protocol: info.protocols.first().cloned().unwrap_or_else(|| "quic".into()),
        protocol_version: info.versions.first().map(|v| v.name.clone()).unwrap_or_default(),
        params: info.parameters.iter().filter_map(|p| p.default.clone().map(|d| (p.name.clone(), d))).collect(),
        target: None,
        peers: vec![],
        environment: info.environments.first().copied().unwrap_or(types::EnvironmentKind::Localhost),
        requests: vec![],
        testcase: None,
    }
}

/// Runs the benchmark over the plugins `opts` finds. `rounds` repetitions per measurement.
pub fn run(opts: &HostOptions, rounds: usize) -> Result<BenchReport, super::PluginError> {
    let rounds = rounds.max(1);
    // Warm the cache first so "warm" means warm.
    let host = PluginHost::open(opts.clone())?;
    let mut open_times = vec![];
    for _ in 0..rounds {
        let t = Instant::now();
        let h = PluginHost::open(opts.clone())?;
        open_times.push(ms(t.elapsed()));
        drop(h);
    }

    let engine = super::sandbox::engine(&opts.limits).map_err(super::PluginError::Engine)?;
    let mut plugins = vec![];
    for p in host.plugins() {
        let bytes = std::fs::read(&p.path)
            .map_err(|e| super::PluginError::Io { path: p.path.clone(), message: e.to_string() })?;
        let compile = (0..rounds.min(5))
            .map(|_| {
                let t = Instant::now();
                let _ = wasmtime::component::Component::new(&engine, &bytes);
                ms(t.elapsed())
            })
            .collect();
        let warm = (0..rounds)
            .map(|_| {
                let t = Instant::now();
                let _ = host.verify_file(&p.path);
                ms(t.elapsed())
            })
            .collect();
        let req = sample_request(&p.info);
        let deploy_req = super::env::DeployRequest {
            test: "bench".into(),
            run_id: "bench".into(),
            services: vec![],
            params: vec![],
            link: None,
        };
        let one = || match p.world {
            World::Service => {
                let _ = host.plan(&p.info.name, &req);
            }
            World::Environment => {
                let _ = host.deploy(&p.info.name, &deploy_req);
            }
        };
        let call = (0..rounds.max(50))
            .map(|_| {
                let t = Instant::now();
                one();
                t.elapsed().as_secs_f64() * 1e6
            })
            .collect();
        let t = Instant::now();
        let mut n = 0u64;
        while t.elapsed() < Duration::from_millis(500) {
            one();
            n += 1;
        }
        plugins.push(PluginTimes {
            name: p.info.name.clone(),
            file: p.path.clone(),
            wasm_bytes: bytes.len() as u64,
            cold_compile_ms: median(compile),
            warm_load_ms: median(warm),
            call_us: median(call),
            calls_per_sec: n as f64 / t.elapsed().as_secs_f64(),
        });
    }
    Ok(BenchReport { open_all_warm_ms: median(open_times), plugins })
}
