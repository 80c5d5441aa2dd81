//! Impaired networks: a seeded link emulator between the clients of a test and their server.
//!
//! This machine's kernel has no netem, so the link is ours: a user-space UDP relay
//! ([`relay`]) running per-direction decisions ([`decide`]) in the order of
//! quic-network-simulator's ns-3 scenarios, deterministic from the experiment's seed. Every
//! decision goes to `link.jsonl`; the relay writes a capture on each side of itself.
//! [`spec`] is the model the experiment file fills in; [`serve`] is the relay program a Docker
//! test's relay container runs.

pub mod decide;
pub mod pcap;
pub mod relay;
pub mod serve;
pub mod spec;

pub use relay::{LinkFiles, LinkStats, Progress, Relay, RelaySetup};
pub use spec::{Direction, LinkSpec};
