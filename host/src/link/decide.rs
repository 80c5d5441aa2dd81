//! The decisions of one direction of a link, packet by packet: queue, serialisation, delay,
//! then impairment — the order of quic-network-simulator's ns-3 scenarios.
//!
//! Pure: time is passed in (as the duration since the relay started), randomness comes from
//! one ChaCha generator per impairment, seeded from the experiment's seed, the direction and
//! the impairment's name. Every generator draws the same number of values for every packet,
//! whatever the other impairments decided, so the fate of packet *n* depends only on the
//! seed, the direction and *n* — except the queue and blackholes, which depend on time by
//! their nature.

use std::collections::VecDeque;
use std::time::Duration;

use rand_chacha::rand_core::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use sha2::{Digest, Sha256};

use super::spec::{Direction, LinkSpec};

/// Bytes of the UDP payload corruption may touch (the runner's corrupt-rate scenario).
pub const CORRUPT_SPAN: usize = 50;

/// Why a packet was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DropReason {
    /// The FIFO was full (tail drop).
    Queue,
    /// Its index is on the experiment's droplist.
    Droplist,
    /// The direction was dark.
    Blackhole,
    /// Random loss.
    Loss,
    /// Gilbert–Elliott loss.
    GilbertElliott,
}

/// One packet's fate.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Decision {
    pub dir: Direction,
    /// 1-based, per direction, counting every packet the relay received.
    pub index: u64,
    pub size: usize,
    /// `None`: forwarded.
    pub drop: Option<DropReason>,
    /// When it leaves the relay, from the relay's start.
    #[serde(skip)]
    pub deliver_at: Duration,
    /// (offset in the UDP payload, the byte XORed into it).
    pub corrupt: Option<(usize, u8)>,
    pub duplicate: bool,
    /// A random loss was drawn but the burst cap let the packet pass.
    pub burst_cap: bool,
}

/// A generator for one impairment of one direction.
struct Stream(ChaCha8Rng);

impl Stream {
    fn new(seed: u64, dir: Direction, what: &str) -> Stream {
        let mut h = Sha256::new();
        h.update(b"panther-link\0");
        h.update(seed.to_le_bytes());
        h.update(dir.as_str().as_bytes());
        h.update([0]);
        h.update(what.as_bytes());
        Stream(ChaCha8Rng::from_seed(h.finalize().into()))
    }

    /// Uniform in [0, 1), 53 bits.
    fn unit(&mut self) -> f64 {
        (self.0.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    fn below(&mut self, n: u64) -> u64 {
        // Modulo bias is at most n / 2^64: irrelevant for n ≤ 255.
        self.0.next_u64() % n
    }
}

/// One direction of a link.
pub struct Lane {
    dir: Direction,
    spec: std::sync::Arc<LinkSpec>,
    loss: Stream,
    gilbert: Stream,
    corrupt: Stream,
    duplicate: Stream,
    jitter: Stream,
    index: u64,
    /// Random losses in a row, for the burst cap.
    run: u32,
    bad: bool,
    /// When the packets in the FIFO finish serialising, oldest first.
    queue: VecDeque<Duration>,
    link_free: Duration,
    last_delivery: Duration,
}

impl Lane {
    pub fn new(spec: std::sync::Arc<LinkSpec>, seed: u64, dir: Direction) -> Lane {
        Lane {
            dir,
            loss: Stream::new(seed, dir, "loss"),
            gilbert: Stream::new(seed, dir, "gilbert-elliott"),
            corrupt: Stream::new(seed, dir, "corrupt"),
            duplicate: Stream::new(seed, dir, "duplicate"),
            jitter: Stream::new(seed, dir, "jitter"),
            spec,
            index: 0,
            run: 0,
            bad: false,
            queue: VecDeque::new(),
            link_free: Duration::ZERO,
            last_delivery: Duration::ZERO,
        }
    }

    /// Decides the fate of the next packet, received `now` after the relay started.
    pub fn decide(&mut self, now: Duration, payload: &[u8]) -> Decision {
        self.index += 1;
        let d = self.dir.index();
        let spec = self.spec.clone();
        // Every generator draws for every packet (see the module docs).
        let loss_draw = self.loss.unit();
        let (ge_move, ge_loss) = (self.gilbert.unit(), self.gilbert.unit());
        let (c_draw, c_offset, c_value) =
            (self.corrupt.unit(), self.corrupt.below(CORRUPT_SPAN as u64), self.corrupt.below(255));
        let dup_draw = self.duplicate.unit();
        let jitter_draw = self.jitter.unit();

        let mut burst_cap = false;
        let random_loss = if loss_draw < spec.loss[d] {
            if spec.burst > 0 && self.run >= spec.burst {
                self.run = 0;
                burst_cap = true;
                false
            } else {
                self.run += 1;
                true
            }
        } else {
            self.run = 0;
            false
        };
        let ge_lost = spec.gilbert.as_ref().is_some_and(|g| {
            self.bad = if self.bad { ge_move >= g.r } else { ge_move < g.p };
            ge_loss < if self.bad { g.bad_loss } else { g.good_loss }
        });

        // Queue and serialisation: the FIFO holds the packets whose serialisation has not
        // ended; a packet that finds it full is dropped at the tail.
        let serialised = match spec.bandwidth {
            Some(bps) => {
                while self.queue.front().is_some_and(|end| *end <= now) {
                    self.queue.pop_front();
                }
                if self.queue.len() >= spec.queue as usize {
                    None
                } else {
                    let start = self.link_free.max(now);
                    let bits = (payload.len() as u64 + UDP_IP_OVERHEAD) * 8;
                    let end = start + Duration::from_nanos(bits.saturating_mul(1_000_000_000) / bps);
                    self.link_free = end;
                    self.queue.push_back(end);
                    Some(end)
                }
            }
            None => Some(now),
        };

        let drop = if serialised.is_none() {
            Some(DropReason::Queue)
        } else if spec.drops[d].contains(&self.index) {
            Some(DropReason::Droplist)
        } else if spec.blackhole.as_ref().is_some_and(|b| b.directions.includes(self.dir) && b.dark_at(now)) {
            Some(DropReason::Blackhole)
        } else if random_loss {
            Some(DropReason::Loss)
        } else if ge_lost {
            Some(DropReason::GilbertElliott)
        } else {
            None
        };

        let mut deliver_at = serialised.unwrap_or(now) + spec.delay;
        if !spec.jitter.is_zero() {
            let j = spec.jitter.as_secs_f64() * (2.0 * jitter_draw - 1.0);
            let base = deliver_at.as_secs_f64() + j;
            deliver_at = Duration::from_secs_f64(base.max(now.as_secs_f64()));
        }
        if drop.is_none() {
            if !spec.reorder {
                deliver_at = deliver_at.max(self.last_delivery);
            }
            self.last_delivery = self.last_delivery.max(deliver_at);
        }
        let corrupt =
            (drop.is_none() && c_draw < spec.corrupt[d] && !payload.is_empty() && !is_version_negotiation(payload))
                .then(|| ((c_offset as usize) % payload.len().min(CORRUPT_SPAN), c_value as u8 + 1));
        Decision {
            dir: self.dir,
            index: self.index,
            size: payload.len(),
            drop,
            deliver_at,
            corrupt,
            duplicate: drop.is_none() && dup_draw < spec.duplicate,
            burst_cap,
        }
    }
}

/// IP and UDP headers counted on the wire by the bandwidth (IPv4: 20 + 8).
const UDP_IP_OVERHEAD: u64 = 28;

/// A QUIC Version Negotiation packet: long header, version 0. The runner never corrupts
/// these, because a client may legitimately act on a corrupted one and the test would judge
/// the link, not the stack.
pub fn is_version_negotiation(p: &[u8]) -> bool {
    p.len() >= 5 && p[0] & 0x80 != 0 && p[1..5] == [0, 0, 0, 0]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::link::spec::{Blackhole, Directions, GilbertElliott};
    use std::sync::Arc;

    fn lane(spec: LinkSpec, seed: u64) -> Lane {
        Lane::new(Arc::new(spec), seed, Direction::ToServer)
    }

    fn dropped(l: &mut Lane, n: usize) -> Vec<u64> {
        (0..n).filter_map(|_| l.decide(Duration::ZERO, &[0x40; 100]).drop.map(|_| l.index)).collect()
    }

    #[test]
    fn loss_is_a_function_of_seed_direction_and_index() {
        let spec = LinkSpec { loss: [0.3; 2], ..LinkSpec::default() };
        let a = dropped(&mut lane(spec.clone(), 7), 1000);
        assert_eq!(a, dropped(&mut lane(spec.clone(), 7), 1000));
        assert_ne!(a, dropped(&mut lane(spec.clone(), 8), 1000));
        let mut other = Lane::new(Arc::new(spec.clone()), 7, Direction::ToClient);
        assert_ne!(a, dropped(&mut other, 1000));
        // Adding an impairment leaves the others' decisions where they were.
        let with_dup = LinkSpec { duplicate: 0.5, corrupt: [0.5; 2], ..spec };
        assert_eq!(a, dropped(&mut lane(with_dup, 7), 1000));
        // 1000 draws at 30 %: the binomial 99.9 % interval is about 252..349.
        assert!((252..=349).contains(&a.len()), "{}", a.len());
    }

    #[test]
    fn the_burst_cap_lets_the_next_packet_pass() {
        let spec = LinkSpec { loss: [0.9; 2], burst: 3, ..LinkSpec::default() };
        let mut l = lane(spec, 1);
        let mut in_a_row = 0;
        let mut capped = 0;
        for _ in 0..2000 {
            let d = l.decide(Duration::ZERO, &[1; 10]);
            if d.drop.is_some() {
                in_a_row += 1;
                assert!(in_a_row <= 3, "more than `burst` drops in a row at #{}", d.index);
            } else {
                capped += usize::from(d.burst_cap);
                in_a_row = 0;
            }
        }
        assert!(capped > 100, "at 90 % loss the cap must act often: {capped}");
    }

    #[test]
    fn droplist_drops_exactly_the_listed_indices() {
        let spec = LinkSpec { drops: [vec![2, 3, 7], vec![1]], ..LinkSpec::default() };
        assert_eq!(dropped(&mut lane(spec.clone(), 0), 20), vec![2, 3, 7]);
        let mut back = Lane::new(Arc::new(spec), 0, Direction::ToClient);
        assert_eq!(dropped(&mut back, 20), vec![1]);
    }

    #[test]
    fn blackholes_follow_the_clock_and_the_direction() {
        let b = Blackhole {
            on: Duration::from_secs(1),
            off: Duration::from_secs(1),
            repeat: 1,
            directions: Directions::ToClient,
        };
        let spec = Arc::new(LinkSpec { blackhole: Some(b), ..LinkSpec::default() });
        let mut to_client = Lane::new(spec.clone(), 0, Direction::ToClient);
        let mut to_server = Lane::new(spec, 0, Direction::ToServer);
        let at = |l: &mut Lane, ms| l.decide(Duration::from_millis(ms), &[1; 10]).drop;
        assert_eq!(at(&mut to_client, 500), None);
        assert_eq!(at(&mut to_client, 1500), Some(DropReason::Blackhole));
        assert_eq!(at(&mut to_server, 1500), None);
        assert_eq!(at(&mut to_client, 3500), None, "one repetition only");
    }

    #[test]
    fn corruption_changes_one_early_byte_and_spares_version_negotiation() {
        let spec = LinkSpec { corrupt: [1.0; 2], ..LinkSpec::default() };
        let mut l = lane(spec, 3);
        for _ in 0..200 {
            let d = l.decide(Duration::ZERO, &[0u8; 1200]);
            let (off, x) = d.corrupt.expect("rate 1 corrupts every packet");
            assert!(off < CORRUPT_SPAN && x != 0);
        }
        let short = l.decide(Duration::ZERO, &[0u8; 10]).corrupt.unwrap();
        assert!(short.0 < 10);
        let vn = [0x80, 0, 0, 0, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8];
        assert_eq!(l.decide(Duration::ZERO, &vn).corrupt, None);
    }

    #[test]
    fn gilbert_elliott_loses_in_bursts() {
        let g = GilbertElliott { p: 0.05, r: 0.5, bad_loss: 1.0, good_loss: 0.0 };
        let mut l = lane(LinkSpec { gilbert: Some(g), ..LinkSpec::default() }, 9);
        let d = dropped(&mut l, 20_000);
        // Stationary bad share p / (p + r) ≈ 9.1 %.
        let share = d.len() as f64 / 20_000.0;
        assert!((0.075..0.11).contains(&share), "{share}");
        let runs = d.windows(2).filter(|w| w[1] == w[0] + 1).count();
        assert!(runs as f64 > d.len() as f64 * 0.3, "losses should cluster: {runs} of {}", d.len());
    }

    #[test]
    fn the_queue_serialises_at_the_bandwidth_and_drops_at_the_tail() {
        // 1 Mbit/s, 1222 payload + 28 = 1250 bytes = 10 ms each.
        let spec =
            LinkSpec { bandwidth: Some(1_000_000), queue: 3, delay: Duration::from_millis(5), ..LinkSpec::default() };
        let mut l = lane(spec, 0);
        let p = [0u8; 1222];
        let got: Vec<(Option<DropReason>, Duration)> =
            (0..5).map(|_| l.decide(Duration::ZERO, &p)).map(|d| (d.drop, d.deliver_at)).collect();
        let ms = Duration::from_millis;
        assert_eq!(got[0], (None, ms(15)));
        assert_eq!(got[1], (None, ms(25)));
        assert_eq!(got[2], (None, ms(35)));
        assert_eq!(got[3].0, Some(DropReason::Queue));
        // Once the first has left the FIFO there is room again.
        assert_eq!(l.decide(ms(10), &p).deliver_at, ms(45));
    }

    #[test]
    fn jitter_never_reorders_unless_asked() {
        let spec =
            LinkSpec { delay: Duration::from_millis(20), jitter: Duration::from_millis(10), ..LinkSpec::default() };
        let mut l = lane(spec.clone(), 5);
        let times: Vec<Duration> =
            (0..500).map(|i| l.decide(Duration::from_micros(i * 100), &[1; 10]).deliver_at).collect();
        assert!(times.windows(2).all(|w| w[0] <= w[1]));
        let mut r = lane(LinkSpec { reorder: true, ..spec }, 5);
        let times: Vec<Duration> =
            (0..500).map(|i| r.decide(Duration::from_micros(i * 100), &[1; 10]).deliver_at).collect();
        assert!(times.windows(2).any(|w| w[0] > w[1]));
        assert!(times.iter().enumerate().all(|(i, t)| {
            let sent = Duration::from_micros(i as u64 * 100);
            *t >= sent + Duration::from_millis(10) && *t <= sent + Duration::from_millis(30)
        }));
    }
}
