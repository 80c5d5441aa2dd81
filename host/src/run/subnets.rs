//! Addresses of Docker tests, chosen by the host before any plan is rendered.
//!
//! Why the host picks them: testers such as Ivy take their own and their peer's IPv4 address
//! on the command line (as decimal integers), so `{{self.ip}}` and `{{target.ip}}` must be
//! known when the plan is rendered, and Docker only tells a container's address once it has
//! started. Docker accepts a fixed container address only on a network whose subnet the user
//! gave, so every network of a Docker test gets a /24 from [`POOL`], and every placed service a
//! fixed address in it: the gateway is `.1`, the services follow in start order from `.2`.
//!
//! The pool avoids the subnets the daemon already has (listed right before a test is planned
//! for running) and the ones this run still holds; a test gives its subnets back when its
//! networks are gone. A network another program creates between that listing and ours makes
//! network creation fail with the daemon's "pool overlaps" message and the subnet named.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::sync::Mutex;

/// Where test networks come from: 10.213.0.0/16, 256 /24s. Outside Docker's default address
/// pools (172.17–31/16, 192.168/16), so the daemon's own networks rarely sit there.
pub const POOL: (Ipv4Addr, u8) = (Ipv4Addr::new(10, 213, 0, 0), 16);

/// An IPv4 network in CIDR form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Subnet {
    pub base: Ipv4Addr,
    pub prefix: u8,
}

impl Subnet {
    /// Reads `a.b.c.d/p`; `None` for anything else (IPv6 subnets included: they cannot
    /// overlap ours).
    pub fn parse(s: &str) -> Option<Subnet> {
        let (ip, p) = s.trim().split_once('/')?;
        let ip: Ipv4Addr = ip.parse().ok()?;
        let prefix: u8 = p.parse().ok().filter(|p| *p <= 32)?;
        Some(Subnet { base: Ipv4Addr::from(u32::from(ip) & mask(prefix)), prefix })
    }

    fn range(&self) -> (u32, u32) {
        let lo = u32::from(self.base) & mask(self.prefix);
        (lo, lo | !mask(self.prefix))
    }

    pub fn overlaps(&self, other: &Subnet) -> bool {
        let (a, b) = self.range();
        let (c, d) = other.range();
        a <= d && c <= b
    }

    /// The `n`th address of the subnet (`.1` is the gateway); `None` past its end.
    pub fn host(&self, n: u32) -> Option<Ipv4Addr> {
        let (lo, hi) = self.range();
        lo.checked_add(n).filter(|a| *a < hi).map(Ipv4Addr::from)
    }

    pub fn gateway(&self) -> Ipv4Addr {
        self.host(1).expect("a /24 has a .1")
    }
}

/// The unique-local prefix of the IPv6 twins (`fd70:616e::/32`).
const TWIN_PREFIX: [u16; 2] = [0xfd70, 0x616e];

/// The IPv6 address that stands beside `v4` on a dual-stack test network (the `ipv6` test case
/// under Docker): `A.B.C.D` becomes `fd70:616e:AABB:CC00::D`, so each /24 of [`POOL`] has a /64
/// of its own and every service the same host number in both families.
pub fn ipv6_twin(v4: Ipv4Addr) -> Ipv6Addr {
    let [a, b, c, d] = v4.octets();
    let [p0, p1] = TWIN_PREFIX;
    Ipv6Addr::new(p0, p1, u16::from_be_bytes([a, b]), u16::from(c) << 8, 0, 0, 0, u16::from(d))
}

impl Subnet {
    /// The /64 of [`ipv6_twin`]s of this /24.
    pub fn ipv6_twin(&self) -> String {
        format!("{}/64", ipv6_twin(self.base))
    }

    /// The IPv6 twin of the gateway.
    pub fn ipv6_gateway(&self) -> Ipv6Addr {
        ipv6_twin(self.gateway())
    }
}

impl fmt::Display for Subnet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.base, self.prefix)
    }
}

fn mask(prefix: u8) -> u32 {
    if prefix == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(prefix))
    }
}

/// The subnets of one test: network name (as the deployment names it) → subnet.
pub type TestSubnets = BTreeMap<String, Subnet>;

/// Hands out /24s of [`POOL`] that neither the daemon nor this run is using.
#[derive(Debug, Default)]
pub struct SubnetPool {
    /// The /24 (0–255) the search starts at.
    start: u32,
    state: Mutex<PoolState>,
}

#[derive(Debug, Default)]
struct PoolState {
    /// What the daemon had when last asked.
    in_use: Vec<Subnet>,
    /// What this run's tests hold, by test directory.
    held: BTreeMap<String, Vec<Subnet>>,
}

/// The pool is exhausted: every /24 of it is taken.
#[derive(Debug, thiserror::Error)]
#[error(
    "no free /24 left in {}/{} for the test's Docker networks ({taken} taken by Docker networks or by this run)",
    POOL.0, POOL.1
)]
pub struct PoolExhausted {
    pub taken: usize,
}

impl SubnetPool {
    /// A pool whose search starts at a /24 derived from `seed` (the run directory), so that
    /// runs started side by side look in different places first.
    pub fn starting_from(seed: &str) -> SubnetPool {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        seed.hash(&mut h);
        SubnetPool { start: (h.finish() % 256) as u32, state: Mutex::default() }
    }

    /// Replaces what the daemon is known to use (its networks' IPv4 subnets).
    pub fn set_in_use(&self, subnets: Vec<Subnet>) {
        self.lock().in_use = subnets;
    }

    /// Adds one subnet the daemon turned out to use (a network made since the last listing).
    pub fn mark_in_use(&self, subnet: Subnet) {
        self.lock().in_use.push(subnet);
    }

    /// `count` free subnets for the test `key`. With `hold`, they stay taken until
    /// [`release`](Self::release); without, the answer is a preview (for `plan` and the check
    /// before a run) and the same subnets may be handed out again.
    pub fn take(&self, key: &str, count: usize, hold: bool) -> Result<Vec<Subnet>, PoolExhausted> {
        let mut st = self.lock();
        if let Some(h) = st.held.get(key) {
            if h.len() == count {
                return Ok(h.clone());
            }
        }
        let pool = Subnet { base: POOL.0, prefix: POOL.1 };
        let (lo, _) = pool.range();
        let mut out = vec![];
        // Runs start their search at different /24s (from their directory), so two runs planning at
        // the same moment rarely pick the same one; inside a run the held set keeps tests apart.
        for i in 0..256u32 {
            if out.len() == count {
                break;
            }
            let s = Subnet { base: Ipv4Addr::from(lo + ((self.start + i) % 256) * 256), prefix: 24 };
            let busy = st.in_use.iter().any(|u| u.overlaps(&s))
                || st.held.iter().any(|(k, h)| k != key && h.iter().any(|u| u.overlaps(&s)));
            if !busy {
                out.push(s);
            }
        }
        if out.len() < count {
            return Err(PoolExhausted { taken: 256 - out.len() });
        }
        if hold {
            st.held.insert(key.to_string(), out.clone());
        }
        Ok(out)
    }

    /// Gives a test's subnets back (its networks have been removed).
    pub fn release(&self, key: &str) {
        self.lock().held.remove(key);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, PoolState> {
        // A panic elsewhere while holding the lock leaves plain data behind; keep using it.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(x: &str) -> Subnet {
        Subnet::parse(x).unwrap()
    }

    #[test]
    fn parses_and_normalises_cidr() {
        assert_eq!(s("10.213.4.77/24").to_string(), "10.213.4.0/24");
        assert_eq!(s("172.17.0.0/16").to_string(), "172.17.0.0/16");
        assert!(Subnet::parse("fd00::/64").is_none());
        assert!(Subnet::parse("10.0.0.0/33").is_none());
        assert!(Subnet::parse("10.0.0.0").is_none());
    }

    #[test]
    fn ipv6_twins_mirror_the_ipv4_addresses() {
        let n = s("10.213.7.0/24");
        assert_eq!(n.ipv6_twin(), "fd70:616e:ad5:700::/64");
        assert_eq!(n.ipv6_gateway().to_string(), "fd70:616e:ad5:700::1");
        assert_eq!(ipv6_twin(n.host(2).unwrap()).to_string(), "fd70:616e:ad5:700::2");
        assert_ne!(s("10.213.8.0/24").ipv6_twin(), n.ipv6_twin());
    }

    #[test]
    fn overlap_is_range_intersection() {
        assert!(s("10.213.0.0/16").overlaps(&s("10.213.7.0/24")));
        assert!(s("10.213.7.0/24").overlaps(&s("10.0.0.0/8")));
        assert!(!s("10.213.7.0/24").overlaps(&s("10.213.8.0/24")));
        assert!(!s("192.168.0.0/16").overlaps(&s("10.213.0.0/24")));
    }

    #[test]
    fn hosts_start_after_the_gateway_and_stop_before_broadcast() {
        let n = s("10.213.3.0/24");
        assert_eq!(n.gateway().to_string(), "10.213.3.1");
        assert_eq!(n.host(2).unwrap().to_string(), "10.213.3.2");
        assert_eq!(n.host(254).unwrap().to_string(), "10.213.3.254");
        assert!(n.host(255).is_none(), "the broadcast address is never a host");
    }

    #[test]
    fn skips_daemon_subnets_and_held_ones_and_releases() {
        let pool = SubnetPool::default();
        pool.set_in_use(vec![s("10.213.0.0/23"), s("172.17.0.0/16")]);
        let a = pool.take("t1", 1, true).unwrap();
        assert_eq!(a, vec![s("10.213.2.0/24")], "10.213.0/24 and 1/24 are the daemon's");
        // The same test asking again (the run re-planning it) gets the same subnet.
        assert_eq!(pool.take("t1", 1, true).unwrap(), a);
        let b = pool.take("t2", 2, true).unwrap();
        assert_eq!(b, vec![s("10.213.3.0/24"), s("10.213.4.0/24")]);
        // A preview does not hold.
        assert_eq!(pool.take("t3", 1, false).unwrap(), vec![s("10.213.5.0/24")]);
        assert_eq!(pool.take("t4", 1, false).unwrap(), vec![s("10.213.5.0/24")]);
        pool.release("t1");
        assert_eq!(pool.take("t5", 1, true).unwrap(), vec![s("10.213.2.0/24")]);
    }

    #[test]
    fn runs_start_their_search_in_different_places() {
        let a = SubnetPool::starting_from("2026-12-04_10-00-00").take("t", 1, false).unwrap();
        let b = SubnetPool::starting_from("2026-12-04_10-00-00-2").take("t", 1, false).unwrap();
        assert_ne!(a, b);
        // The search wraps around the pool instead of giving up at its end.
        let p = SubnetPool { start: 255, state: Mutex::default() };
        assert_eq!(p.take("t", 2, false).unwrap(), vec![s("10.213.255.0/24"), s("10.213.0.0/24")]);
    }

    #[test]
    fn an_exhausted_pool_says_so() {
        let pool = SubnetPool::default();
        pool.set_in_use(vec![s("10.213.0.0/16")]);
        let e = pool.take("t", 1, true).unwrap_err();
        assert!(e.to_string().contains("no free /24 left in 10.213.0.0/16"), "{e}");
    }
}
