//! A test's link relays, started before its services and stopped after them, and what they
//! did, for the test's result.

use std::path::Path;

use crate::link::serve::{ServeConfig, ServedRelay};
use crate::link::{LinkFiles, Relay, RelaySetup};
use crate::report::model::{LinkResult, RelayResult};

use super::planning::PlannedTest;

/// Starts every in-process relay of the test, in its directory, and writes the configuration
/// of each relay container ([`crate::link::serve`]) for the executor to start. The first that
/// cannot start stops the others and says why. One entry per planned link, `None` for those
/// that run in a container.
pub fn start(planned: &PlannedTest, dir: &Path) -> Result<Vec<Option<Relay>>, String> {
    for c in &planned.relay_containers {
        let config = ServeConfig {
            relays: planned
                .links
                .iter()
                .filter(|l| l.in_container && l.server == c.server)
                .map(|l| ServedRelay {
                    listen: std::net::SocketAddr::new(std::net::Ipv4Addr::UNSPECIFIED.into(), l.listen.port()),
                    server: l.server_addr,
                    spec: (*l.spec).clone(),
                    seed: l.seed,
                    dir: dir.to_path_buf(),
                    prefix: l.prefix.clone(),
                })
                .collect(),
            ready: c.ready_file(),
        };
        let json = serde_json::to_vec_pretty(&config).expect("a relay configuration serialises");
        std::fs::write(&c.config, json)
            .map_err(|e| format!("cannot write the link relay's configuration {}: {e}", c.config.display()))?;
    }
    let mut relays = vec![];
    for l in &planned.links {
        if l.in_container {
            relays.push(None);
            continue;
        }
        let setup = RelaySetup {
            listen: l.listen,
            server: l.server_addr,
            spec: l.spec.clone(),
            seed: l.seed,
            files: LinkFiles::in_dir(dir, &l.prefix),
        };
        match Relay::start(setup) {
            Ok(r) => relays.push(Some(r)),
            // Dropping the started ones stops them.
            Err(e) => return Err(format!("cannot start the link to `{}` on {}: {e}", l.server, l.listen)),
        }
    }
    Ok(relays)
}

/// Stops the relays and describes the link for the result (`None` without a link).
/// A container's relays were stopped by the executor's teardown, right after the services
/// (`exec::docker::relay`); their counts are read from the files they wrote.
pub fn stop(relays: Vec<Option<Relay>>, planned: &PlannedTest, run_root: &Path) -> Option<LinkResult> {
    let first = planned.links.first()?;
    let rel = |p: &Path| p.strip_prefix(run_root).unwrap_or(p).display().to_string();
    let relays = relays
        .into_iter()
        .zip(&planned.links)
        .map(|(r, l)| {
            let files = LinkFiles::in_dir(&planned.dir, &l.prefix);
            let stopped = match r {
                Some(r) => r.stop().map_err(|e| e.to_string()),
                None => crate::link::serve::read_stats(&planned.dir, &l.prefix),
            };
            let (stats, error) = match stopped {
                Ok(s) => (Some(s), None),
                Err(e) => {
                    tracing::error!(server = %l.server, "the link relay failed: {e}");
                    (None, Some(e))
                }
            };
            RelayResult {
                server: l.server.clone(),
                port: l.port.clone(),
                listen: l.listen.to_string(),
                server_address: l.server_addr.to_string(),
                files: [&files.log, &files.client_pcap, &files.server_pcap].into_iter().map(|p| rel(p)).collect(),
                stats,
                error,
            }
        })
        .collect();
    Some(LinkResult { seed: first.seed, description: first.spec.summary(), relays })
}

/// Most decision-log lines named in a failed test's reasons, per direction.
const EXPLAIN_LINES: usize = 5;
/// Most bytes of `link.jsonl` read to explain a failure (a long lossy transfer logs millions
/// of lines; the first drops are the telling ones).
const EXPLAIN_BYTES: u64 = 64 << 20;

/// Why a test over a link may have failed, from the link's own record: one reason per relay
/// that changed anything, naming the first decision-log lines and capture frames of its
/// drops and corruptions, and those as evidence (`link.jsonl#L12`, `client-side.pcap#frame=9`).
pub fn explain(link: &LinkResult, test_dir: &Path, run_root: &Path) -> (Vec<String>, Vec<String>) {
    let (mut reasons, mut evidence) = (vec![], vec![]);
    for r in &link.relays {
        let Some(stats) = &r.stats else { continue };
        let log = run_root.join(&r.files[0]);
        let rel = |p: &Path| p.strip_prefix(test_dir).unwrap_or(p).display().to_string();
        let log_name = rel(&log);
        let side = |dir: &str| {
            if dir == "to-server" {
                rel(&run_root.join(&r.files[1]))
            } else {
                rel(&run_root.join(&r.files[2]))
            }
        };
        let mut firsts: Vec<String> = vec![];
        let mut per_kind = [0usize; 3];
        if let Ok(f) = std::fs::File::open(&log) {
            use std::io::{BufRead, Read};
            for (n, line) in std::io::BufReader::new(f.take(EXPLAIN_BYTES)).lines().enumerate() {
                let Ok(line) = line else { break };
                let Ok(e) = serde_json::from_str::<serde_json::Value>(&line) else { continue };
                let at = format!("{log_name}#L{}", n + 1);
                // Three kinds of telling lines, each shown a few times: what happened to the
                // server's way, to the client's way, and the NAT's rebindings.
                let (k, what, frame) = match e["action"].as_str() {
                    Some("packet") if !(e["drop"].is_null() && e["corrupt"].is_null()) => {
                        let dir = e["dir"].as_str().unwrap_or("");
                        let what = match e["drop"].as_str() {
                            Some(reason) => format!("{dir} packet {} dropped ({reason})", e["index"]),
                            None => format!("{dir} packet {} corrupted at byte {}", e["index"], e["corrupt"][0]),
                        };
                        let frame = e["frame"].as_u64().map(|f| format!("{}#frame={f}", side(dir)));
                        (usize::from(dir == "to-client"), what, frame)
                    }
                    Some("rebind") => {
                        let (from, to) = (e["from"].as_str().unwrap_or("?"), e["to"].as_str().unwrap_or("?"));
                        (2, format!("the NAT moved the client from {from} to {to}"), None)
                    }
                    Some("stale") => {
                        let to = e["to"].as_str().unwrap_or("?");
                        let frame = e["frame"].as_u64().map(|f| format!("{}#frame={f}", side("to-client")));
                        (2, format!("an answer to the replaced {to} dropped"), frame)
                    }
                    _ => continue,
                };
                if per_kind[k] >= EXPLAIN_LINES {
                    continue;
                }
                per_kind[k] += 1;
                firsts.push(match &frame {
                    Some(f) => format!("{at} {what}, {f}"),
                    None => format!("{at} {what}"),
                });
                evidence.push(at);
                evidence.extend(frame);
            }
        }
        let (up, down) = (&stats.to_server, &stats.to_client);
        if up.dropped() + down.dropped() + up.corrupted + down.corrupted == 0 && stats.rebinds == 0 {
            continue;
        }
        let mut what = format!(
            "the link ({}) to `{}` dropped {} of {} packets to the server and {} of {} to the client",
            link.description,
            r.server,
            up.dropped(),
            up.received,
            down.dropped(),
            down.received
        );
        if up.corrupted + down.corrupted > 0 {
            what.push_str(&format!(", corrupted {}", up.corrupted + down.corrupted));
        }
        if stats.rebinds > 0 {
            what.push_str(&format!(
                ", rebound the client {} time(s) ({} stale answers dropped)",
                stats.rebinds, stats.stale
            ));
        }
        if !firsts.is_empty() {
            what.push_str(&format!("; first: {}", firsts.join("; ")));
        }
        reasons.push(what);
    }
    (reasons, evidence)
}
