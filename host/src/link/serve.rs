//! The relay program of a Docker test: `panther-host link-relay FILE`, run by the host in a
//! container the environment placed between the clients' network and the server's
//! (`exec::docker`). The host writes FILE ([`ServeConfig`]) into the test's directory, which
//! the container sees at the same path; this runs its relays until SIGTERM or SIGINT, then
//! writes each relay's counts beside its files ([`stats_path`]) for the host to read back.
//!
//! The relays are the in-process ones ([`super::Relay`]): same decisions, same files, so a
//! Docker test's `link.jsonl` reads like a localhost test's.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use nix::sys::signal::{SigSet, Signal};

use super::{LinkFiles, LinkSpec, LinkStats, Relay, RelaySetup};

/// Largest configuration or counts file read (a link with a long droplist is a few kilobytes).
const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// What one relay container runs.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ServeConfig {
    pub relays: Vec<ServedRelay>,
    /// Made once every relay listens: the host starts the services after it appears.
    pub ready: PathBuf,
}

/// One relay: as [`RelaySetup`], with its files named by directory and prefix.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ServedRelay {
    pub listen: SocketAddr,
    pub server: SocketAddr,
    pub spec: LinkSpec,
    pub seed: u64,
    pub dir: PathBuf,
    pub prefix: String,
}

/// Where a served relay's counts (or why it failed) go when it stops.
pub fn stats_path(dir: &Path, prefix: &str) -> PathBuf {
    dir.join(format!("{prefix}link-stats.json"))
}

/// Reads the counts a served relay wrote when it stopped.
pub fn read_stats(dir: &Path, prefix: &str) -> Result<LinkStats, String> {
    let path = stats_path(dir, prefix);
    let no_counts = |e: std::io::Error| format!("the relay container wrote no counts ({}: {e})", path.display());
    // Written by a container: read as untrusted, bounded like the configuration.
    let size = std::fs::metadata(&path).map_err(no_counts)?.len();
    if size > MAX_CONFIG_BYTES {
        return Err(format!("{}: {size} bytes, more than a relay's counts take", path.display()));
    }
    let text = std::fs::read_to_string(&path).map_err(no_counts)?;
    match serde_json::from_str::<Result<LinkStats, String>>(&text) {
        Ok(r) => r,
        Err(e) => Err(format!("{}: not the relay's counts: {e}", path.display())),
    }
}

/// Runs the relays of `config` until SIGTERM or SIGINT.
///
/// # Errors
/// The file cannot be read or parsed, or a relay cannot start (its socket cannot be bound).
pub fn serve(config: &Path) -> Result<(), String> {
    let size = std::fs::metadata(config).map_err(|e| format!("{}: {e}", config.display()))?.len();
    if size > MAX_CONFIG_BYTES {
        return Err(format!("{}: {size} bytes, more than a relay configuration holds", config.display()));
    }
    let text = std::fs::read_to_string(config).map_err(|e| format!("{}: {e}", config.display()))?;
    let cfg: ServeConfig = serde_json::from_str(&text).map_err(|e| format!("{}: {e}", config.display()))?;
    // Blocked before the relay threads start, so they inherit the mask and the signal waits
    // here for `sigwait` (as PID 1 of a container, an unhandled SIGTERM would be ignored).
    let mut signals = SigSet::empty();
    signals.add(Signal::SIGTERM);
    signals.add(Signal::SIGINT);
    signals.thread_block().map_err(|e| format!("cannot block SIGTERM: {e}"))?;
    let mut running = vec![];
    for r in &cfg.relays {
        let setup = RelaySetup {
            listen: r.listen,
            server: r.server,
            spec: std::sync::Arc::new(r.spec.clone()),
            seed: r.seed,
            files: LinkFiles::in_dir(&r.dir, &r.prefix),
        };
        let relay = Relay::start(setup).map_err(|e| format!("cannot start the relay on {}: {e}", r.listen))?;
        running.push((r, relay));
    }
    std::fs::write(&cfg.ready, b"").map_err(|e| format!("{}: {e}", cfg.ready.display()))?;
    eprintln!("link-relay: {} relay(s) running", running.len());
    let signal = signals.wait().map_err(|e| format!("cannot wait for a signal: {e}"))?;
    eprintln!("link-relay: {signal:?}, stopping");
    for (r, relay) in running {
        let result: Result<LinkStats, String> = relay.stop().map_err(|e| e.to_string());
        let path = stats_path(&r.dir, &r.prefix);
        let json = serde_json::to_vec(&result).expect("counts serialise");
        std::fs::write(&path, json).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_config_and_the_counts_go_through_files() {
        let spec = LinkSpec::for_testcase("transferloss").expect("a link");
        let dir = tempfile::tempdir().unwrap();
        let cfg = ServeConfig {
            relays: vec![ServedRelay {
                listen: "0.0.0.0:443".parse().unwrap(),
                server: "10.213.1.2:443".parse().unwrap(),
                spec: spec.clone(),
                seed: 7,
                dir: dir.path().into(),
                prefix: String::new(),
            }],
            ready: dir.path().join("relay.ready"),
        };
        let back: ServeConfig = serde_json::from_str(&serde_json::to_string(&cfg).unwrap()).unwrap();
        assert_eq!(back, cfg);
        assert!(read_stats(dir.path(), "").unwrap_err().contains("wrote no counts"));
        let stats = LinkStats { bindings: 2, ..Default::default() };
        std::fs::write(stats_path(dir.path(), ""), serde_json::to_vec(&Ok::<_, String>(stats.clone())).unwrap())
            .unwrap();
        assert_eq!(read_stats(dir.path(), "").unwrap(), stats);
    }
}
