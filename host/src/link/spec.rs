//! What a link does, as an experiment states it: the typed model the relay runs, the named
//! scenarios of quic-network-simulator, and the scenario each interop test case implies.
//!
//! Owns the model and its invariants; the experiment parser (`config::parse`) reads the keys
//! with their spans and reports broken values at file:line:col.

use std::time::Duration;

/// One direction of the link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Direction {
    /// Client → server.
    ToServer,
    /// Server → client.
    ToClient,
}

impl Direction {
    pub const BOTH: [Direction; 2] = [Direction::ToServer, Direction::ToClient];

    pub fn as_str(self) -> &'static str {
        match self {
            Direction::ToServer => "to-server",
            Direction::ToClient => "to-client",
        }
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

/// Which directions an impairment applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Directions {
    #[default]
    Both,
    ToServer,
    ToClient,
}

impl Directions {
    pub const NAMES: &[&str] = &["both", "to-server", "to-client"];

    pub fn parse(s: &str) -> Option<Directions> {
        Some(match s {
            "both" => Directions::Both,
            "to-server" => Directions::ToServer,
            "to-client" => Directions::ToClient,
            _ => return None,
        })
    }

    pub fn includes(self, d: Direction) -> bool {
        match self {
            Directions::Both => true,
            Directions::ToServer => d == Direction::ToServer,
            Directions::ToClient => d == Direction::ToClient,
        }
    }
}

/// Gilbert–Elliott loss: a two-state chain evaluated once per packet.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct GilbertElliott {
    /// Probability of moving good → bad.
    pub p: f64,
    /// Probability of moving bad → good.
    pub r: f64,
    /// Loss probability while bad (1.0 in the classic Gilbert model).
    pub bad_loss: f64,
    /// Loss probability while good.
    pub good_loss: f64,
}

/// Periods in which a direction of the link drops everything.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Blackhole {
    /// How long the link works before each dark period.
    #[serde(with = "micros")]
    pub on: Duration,
    /// How long each dark period lasts.
    #[serde(with = "micros")]
    pub off: Duration,
    /// How many dark periods (0: for ever).
    pub repeat: u32,
    pub directions: Directions,
}

impl Blackhole {
    /// Whether the link is dark `elapsed` after the relay started.
    pub fn dark_at(&self, elapsed: Duration) -> bool {
        let period = self.on + self.off;
        if period.is_zero() {
            return false;
        }
        let n = elapsed.as_nanos() / period.as_nanos();
        if self.repeat != 0 && n >= u128::from(self.repeat) {
            return false;
        }
        let within = elapsed.as_nanos() % period.as_nanos();
        within >= self.on.as_nanos()
    }
}

/// What the NAT in front of the client changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RebindKind {
    /// A new source port.
    Port,
    /// A new source address (127.0.0.x, or another IPv6 loopback-scoped address when the
    /// server is on IPv6 — only the port changes there, Linux has one IPv6 loopback address).
    Address,
}

#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Rebind {
    pub kind: RebindKind,
    /// After the first client packet (the relay is up before the services start).
    #[serde(with = "micros")]
    pub first: Duration,
    #[serde(with = "micros")]
    pub every: Duration,
}

/// One link between the clients of a test and the server they target. Rates are fractions
/// (0.02 for 2 %), per direction where the experiment may set them per direction.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LinkSpec {
    /// The quic-network-simulator scenario it came from, if any (for reports).
    pub scenario: Option<String>,
    /// One-way propagation delay, each direction.
    #[serde(with = "micros")]
    pub delay: Duration,
    /// Uniform jitter: each packet's delay is `delay ± jitter`.
    #[serde(with = "micros")]
    pub jitter: Duration,
    /// Whether jitter may reorder packets; off, a packet never overtakes an earlier one.
    pub reorder: bool,
    /// Bits per second; `None` serialises instantly.
    pub bandwidth: Option<u64>,
    /// Packets the FIFO holds before tail drop (including the one being sent).
    pub queue: u32,
    /// Random loss per direction [to-server, to-client].
    pub loss: [f64; 2],
    /// After this many random losses in a row the next packet passes (0: no cap).
    pub burst: u32,
    pub gilbert: Option<GilbertElliott>,
    /// Corruption rate per direction.
    pub corrupt: [f64; 2],
    /// Duplication rate, both directions.
    pub duplicate: f64,
    /// 1-based packet indices dropped, per direction.
    pub drops: [Vec<u64>; 2],
    pub blackhole: Option<Blackhole>,
    pub rebind: Option<Rebind>,
}

/// The simulator's defaults for its scenarios (`--delay=15ms --bandwidth=10Mbps --queue=25`).
pub const SIM_DELAY: Duration = Duration::from_millis(15);
pub const SIM_BANDWIDTH: u64 = 10_000_000;
pub const SIM_QUEUE: u32 = 25;
/// Queue length when an experiment sets a bandwidth without one (ns-3's default is 100
/// packets; the simulator always passes 25).
pub const DEFAULT_QUEUE: u32 = 25;
/// Most packets a queue may hold: more only hides bufferbloat typos.
pub const MAX_QUEUE: u32 = 100_000;
/// Longest delay: beyond a minute nothing a QUIC stack does is meaningful.
pub const MAX_DELAY: Duration = Duration::from_secs(60);

impl Default for LinkSpec {
    /// A transparent link: no delay, no limit, no impairment.
    fn default() -> Self {
        LinkSpec {
            scenario: None,
            delay: Duration::ZERO,
            jitter: Duration::ZERO,
            reorder: false,
            bandwidth: None,
            queue: DEFAULT_QUEUE,
            loss: [0.0; 2],
            burst: 0,
            gilbert: None,
            corrupt: [0.0; 2],
            duplicate: 0.0,
            drops: [vec![], vec![]],
            blackhole: None,
            rebind: None,
        }
    }
}

/// The named scenarios of quic-network-simulator, in its words.
pub const SCENARIOS: &[&str] = &["simple-p2p", "drop-rate", "corrupt-rate", "droplist", "blackhole", "rebind"];

impl LinkSpec {
    /// The keys of this link a network simulator such as Shadow cannot model: it has a delay,
    /// a bandwidth and one loss rate per path, and nothing else (its jitter does not work and
    /// its router queues are its own). Empty when the simulation can be faithful.
    pub fn beyond_simulation(&self) -> Vec<&'static str> {
        let mut out = vec![];
        let mut no = |on: bool, key: &'static str| {
            if on {
                out.push(key);
            }
        };
        no(!self.jitter.is_zero(), "jitter");
        no(self.reorder, "reorder");
        no(self.loss[0] != self.loss[1], "loss_to_server/loss_to_client (one rate for both directions)");
        no(self.burst != 0, "burst");
        no(self.gilbert.is_some(), "gilbert");
        no(self.corrupt != [0.0, 0.0], "corrupt");
        no(self.duplicate != 0.0, "duplicate");
        no(self.drops.iter().any(|d| !d.is_empty()), "drops_to_server/drops_to_client");
        no(self.blackhole.is_some(), "blackhole");
        no(self.rebind.is_some(), "rebind");
        out
    }

    /// The base of a named scenario: the simulator's delay, bandwidth and queue, and the
    /// scenario's own impairment at the rates its test cases use unless the experiment
    /// overrides them.
    pub fn scenario(name: &str) -> Option<LinkSpec> {
        let base = LinkSpec {
            scenario: Some(name.to_string()),
            delay: SIM_DELAY,
            bandwidth: Some(SIM_BANDWIDTH),
            queue: SIM_QUEUE,
            ..LinkSpec::default()
        };
        Some(match name {
            "simple-p2p" | "drop-rate" | "corrupt-rate" | "droplist" => base,
            "blackhole" => LinkSpec {
                blackhole: Some(Blackhole {
                    on: Duration::from_secs(5),
                    off: Duration::from_secs(2),
                    repeat: 0,
                    directions: Directions::Both,
                }),
                ..base
            },
            "rebind" => LinkSpec {
                rebind: Some(Rebind {
                    kind: RebindKind::Port,
                    first: Duration::from_secs(1),
                    every: Duration::from_secs(5),
                }),
                ..base
            },
            _ => return None,
        })
    }

    /// The link quic-interop-runner puts under an interop test case, when the experiment
    /// names none (its `scenario()` per test case). `None` for cases without one of their own.
    pub fn for_testcase(testcase: &str) -> Option<LinkSpec> {
        let with = |name: &str, f: &dyn Fn(&mut LinkSpec)| {
            let mut l = LinkSpec::scenario(name).expect("a known scenario");
            f(&mut l);
            Some(l)
        };
        match testcase {
            "handshakeloss" | "multiconnect" => with("drop-rate", &|l| {
                l.loss = [0.3; 2];
                l.burst = 3;
            }),
            "transferloss" => with("drop-rate", &|l| l.loss = [0.02; 2]),
            "handshakecorruption" => with("corrupt-rate", &|l| l.corrupt = [0.3; 2]),
            "transfercorruption" => with("corrupt-rate", &|l| l.corrupt = [0.02; 2]),
            "longrtt" => with("simple-p2p", &|l| l.delay = Duration::from_millis(750)),
            "blackhole" => with("blackhole", &|_| {}),
            // The runner drops the client's 2nd to 7th packet so the server must retransmit
            // its Handshake flight within the anti-amplification limit.
            "amplificationlimit" => with("droplist", &|l| l.drops[Direction::ToServer.index()] = (2..=7).collect()),
            "rebind-port" => with("rebind", &|_| {}),
            "rebind-addr" => with("rebind", &|l| {
                if let Some(r) = &mut l.rebind {
                    r.kind = RebindKind::Address;
                }
            }),
            "goodput" => with("simple-p2p", &|_| {}),
            _ => None,
        }
    }

    /// One line for reports and `plan`: `15ms, 10Mbit/s, queue 25, loss 2%`.
    pub fn summary(&self) -> String {
        let mut parts = vec![];
        if let Some(s) = &self.scenario {
            parts.push(s.clone());
        }
        if !self.delay.is_zero() {
            parts.push(format!("delay {}", crate::config::units::format_duration(self.delay)));
        }
        if !self.jitter.is_zero() {
            parts.push(format!("jitter {}", crate::config::units::format_duration(self.jitter)));
        }
        if let Some(b) = self.bandwidth {
            parts.push(format!("{} queue {}", format_rate(b), self.queue));
        }
        let pct = |v: f64| format!("{}%", (v * 10000.0).round() / 100.0);
        let per_dir = |name: &str, v: [f64; 2], parts: &mut Vec<String>| {
            if v[0] == v[1] && v[0] > 0.0 {
                parts.push(format!("{name} {}", pct(v[0])));
            } else {
                for d in Direction::BOTH {
                    if v[d.index()] > 0.0 {
                        parts.push(format!("{name} {} {}", d.as_str(), pct(v[d.index()])));
                    }
                }
            }
        };
        per_dir("loss", self.loss, &mut parts);
        if self.burst > 0 && self.loss.iter().any(|l| *l > 0.0) {
            parts.push(format!("burst {}", self.burst));
        }
        if let Some(g) = &self.gilbert {
            parts.push(format!("gilbert-elliott p {} r {}", pct(g.p), pct(g.r)));
        }
        per_dir("corrupt", self.corrupt, &mut parts);
        if self.duplicate > 0.0 {
            parts.push(format!("duplicate {}", pct(self.duplicate)));
        }
        for d in Direction::BOTH {
            let list = &self.drops[d.index()];
            if !list.is_empty() {
                let l: Vec<String> = list.iter().map(u64::to_string).collect();
                parts.push(format!("drop {} #{}", d.as_str(), l.join(",")));
            }
        }
        if let Some(b) = &self.blackhole {
            parts.push(format!(
                "blackhole on {} off {}",
                crate::config::units::format_duration(b.on),
                crate::config::units::format_duration(b.off)
            ));
        }
        if let Some(r) = &self.rebind {
            parts.push(format!(
                "rebind {} first {} every {}",
                if r.kind == RebindKind::Port { "port" } else { "address" },
                crate::config::units::format_duration(r.first),
                crate::config::units::format_duration(r.every)
            ));
        }
        if parts.is_empty() {
            "transparent".into()
        } else {
            parts.join(", ")
        }
    }
}

/// `10Mbit/s`, `1Gbit/s`, `64kbit/s`.
pub fn format_rate(bps: u64) -> String {
    for (unit, n) in [("Gbit/s", 1_000_000_000u64), ("Mbit/s", 1_000_000), ("kbit/s", 1_000)] {
        if bps >= n && bps.is_multiple_of(n) {
            return format!("{}{unit}", bps / n);
        }
    }
    format!("{bps}bit/s")
}

/// Durations in logs and summaries as whole microseconds.
mod micros {
    pub fn serialize<S: serde::Serializer>(d: &std::time::Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(d.as_micros() as u64)
    }

    /// The relay of a Docker test reads its link back from the file the host wrote.
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<std::time::Duration, D::Error> {
        <u64 as serde::Deserialize>::deserialize(d).map(std::time::Duration::from_micros)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn testcases_get_the_runners_scenarios() {
        let l = LinkSpec::for_testcase("handshakeloss").unwrap();
        assert_eq!((l.loss, l.burst, l.delay, l.bandwidth, l.queue), ([0.3; 2], 3, SIM_DELAY, Some(SIM_BANDWIDTH), 25));
        assert_eq!(LinkSpec::for_testcase("amplificationlimit").unwrap().drops[0], vec![2, 3, 4, 5, 6, 7]);
        assert_eq!(LinkSpec::for_testcase("longrtt").unwrap().delay, Duration::from_millis(750));
        assert!(LinkSpec::for_testcase("handshake").is_none());
        assert_eq!(
            LinkSpec::for_testcase("transferloss").unwrap().summary(),
            "drop-rate, delay 15ms, 10Mbit/s queue 25, loss 2%"
        );
    }

    #[test]
    fn blackhole_windows() {
        let b = Blackhole {
            on: Duration::from_secs(5),
            off: Duration::from_secs(2),
            repeat: 2,
            directions: Directions::Both,
        };
        let at = |ms| b.dark_at(Duration::from_millis(ms));
        assert!(!at(0) && !at(4999) && at(5000) && at(6999) && !at(7000) && at(12_500) && !at(14_000));
        // After `repeat` dark periods the link stays up.
        assert!(!at(19_500));
    }

    #[test]
    fn rates_read_as_written() {
        assert_eq!(LinkSpec::default().summary(), "transparent");
        assert_eq!(format_rate(1_000_000_000), "1Gbit/s");
        assert_eq!(format_rate(1_500_000), "1500kbit/s");
    }
}
