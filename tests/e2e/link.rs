//! The link emulator on a real UDP echo pair through its relay: every impairment with a fixed
//! seed (exact dropped indices, counts, burst cap, blackhole windows, rebinding seen by the
//! server, corruption, duplication, the queue), ECN and IPv6 passing through, determinism
//! (one seed, one decision log) and both captures.

use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use panther_host::link::decide::Lane;
use panther_host::link::spec::{Blackhole, Directions, Rebind, RebindKind};
use panther_host::link::{Direction, LinkFiles, LinkSpec, LinkStats, Relay, RelaySetup};

/// One datagram the echo server received.
#[derive(Debug, Clone)]
struct Seen {
    from: SocketAddr,
    data: Vec<u8>,
    tos: u8,
}

/// A UDP echo server on its own thread, recording what it received.
struct Echo {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<Seen>>>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Echo {
    /// An echo server that answers each datagram `lag` after it arrived.
    fn lagging(bind: &str, lag: Duration) -> Echo {
        let s = UdpSocket::bind(bind).unwrap();
        s.set_read_timeout(Some(Duration::from_millis(1))).unwrap();
        let v6 = bind.starts_with('[');
        if v6 {
            nix::sys::socket::setsockopt(&s, nix::sys::socket::sockopt::Ipv6RecvTClass, &true).unwrap();
        } else {
            nix::sys::socket::setsockopt(&s, nix::sys::socket::sockopt::IpRecvTos, &true).unwrap();
        }
        let addr = s.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(vec![]));
        let stop = Arc::new(AtomicBool::new(false));
        let (seen2, stop2) = (seen.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            let mut buf = vec![0u8; 65_536];
            let mut due: std::collections::VecDeque<(Instant, SocketAddr, Vec<u8>)> = Default::default();
            while !stop2.load(Ordering::Relaxed) {
                while due.front().is_some_and(|(t, _, _)| *t <= Instant::now()) {
                    let (_, to, data) = due.pop_front().unwrap();
                    let _ = s.send_to(&data, to);
                }
                let Some((n, from, tos)) = recv_tos(&s, &mut buf) else { continue };
                seen2.lock().unwrap().push(Seen { from, data: buf[..n].to_vec(), tos });
                if lag.is_zero() {
                    let _ = s.send_to(&buf[..n], from);
                } else {
                    due.push_back((Instant::now() + lag, from, buf[..n].to_vec()));
                }
            }
        });
        Echo { addr, seen, stop, thread: Some(thread) }
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for Echo {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn recv_tos(s: &UdpSocket, buf: &mut [u8]) -> Option<(usize, SocketAddr, u8)> {
    use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags, SockaddrStorage};
    let mut cmsg = nix::cmsg_space!(i32);
    let mut iov = [std::io::IoSliceMut::new(buf)];
    let m = recvmsg::<SockaddrStorage>(s.as_raw_fd(), &mut iov, Some(&mut cmsg), MsgFlags::empty()).ok()?;
    let mut tos = 0;
    for c in m.cmsgs().ok()? {
        match c {
            ControlMessageOwned::Ipv4Tos(t) => tos = t,
            ControlMessageOwned::Ipv6TClass(t) => tos = t as u8,
            _ => {}
        }
    }
    let a = m.address?;
    let from = a
        .as_sockaddr_in()
        .map(|v| SocketAddr::from(std::net::SocketAddrV4::from(*v)))
        .or_else(|| a.as_sockaddr_in6().map(|v| SocketAddr::from(std::net::SocketAddrV6::from(*v))))?;
    Some((m.bytes, from, tos))
}

/// Packet `i`: 100 bytes, its index in bytes 1..9 (byte 0 is a QUIC short-header form bit).
fn packet(i: u64) -> Vec<u8> {
    let mut p = vec![0x40];
    p.extend_from_slice(&i.to_be_bytes());
    p.resize(100, 0xa5);
    p
}

fn index_of(p: &[u8]) -> u64 {
    u64::from_be_bytes(p[1..9].try_into().unwrap())
}

struct Pair {
    echo: Echo,
    relay: Option<Relay>,
    client: UdpSocket,
    dir: tempfile::TempDir,
}

impl Pair {
    fn new(spec: LinkSpec, seed: u64) -> Pair {
        Pair::on("127.0.0.1", spec, seed)
    }

    fn on(ip: &str, spec: LinkSpec, seed: u64) -> Pair {
        Pair::with_echo(ip, spec, seed, Duration::ZERO)
    }

    fn with_echo(ip: &str, spec: LinkSpec, seed: u64, lag: Duration) -> Pair {
        let bind = if ip.contains(':') { format!("[{ip}]:0") } else { format!("{ip}:0") };
        let echo = Echo::lagging(&bind, lag);
        let dir = tempfile::tempdir().unwrap();
        let relay = Relay::start(RelaySetup {
            listen: bind.parse().unwrap(),
            server: echo.addr,
            spec: Arc::new(spec),
            seed,
            files: LinkFiles::in_dir(dir.path(), ""),
        })
        .unwrap();
        let client = UdpSocket::bind(&bind).unwrap();
        client.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
        Pair { echo, relay: Some(relay), client, dir }
    }

    fn listen(&self) -> SocketAddr {
        self.relay.as_ref().unwrap().listen
    }

    /// Sends packets 1..=n, `gap` apart, then collects the echoes (see [`Pair::collect`]).
    fn exchange(&self, n: u64, gap: Duration, settle: Duration) -> Vec<u64> {
        let start = Instant::now();
        for i in 1..=n {
            let due = start + gap * (i as u32 - 1);
            if let Some(w) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(w);
            }
            self.client.send_to(&packet(i), self.listen()).unwrap();
        }
        self.collect(n, settle)
    }

    /// Collects echoes of the `sent` packets until the relay has read all of them and every
    /// answer, holds nothing in flight, and the client has heard nothing for `settle`. Waiting
    /// on the relay's progress, not on a quiet time alone, keeps a loaded machine (a starved
    /// relay thread) from ending the exchange early.
    fn collect(&self, sent: u64, settle: Duration) -> Vec<u64> {
        let mut got = vec![];
        let mut buf = [0u8; 2048];
        let mut quiet = Instant::now();
        let give_up = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok((len, _)) = self.client.recv_from(&mut buf) {
                got.push(index_of(&buf[..len]));
                quiet = Instant::now();
                continue;
            }
            let p = self.relay.as_ref().unwrap().progress();
            let answered = self.echo.seen().len() as u64;
            let drained = p.from_clients >= sent && p.from_server >= answered && p.in_flight == 0;
            if drained && quiet.elapsed() >= settle {
                return got;
            }
            assert!(Instant::now() < give_up, "the relay never drained: {p:?}, {answered} answered, sent {sent}");
        }
    }

    fn stop(&mut self) -> LinkStats {
        self.relay.take().unwrap().stop().unwrap()
    }

    fn files(&self) -> LinkFiles {
        LinkFiles::in_dir(self.dir.path(), "")
    }

    /// `link.jsonl`, one value per line.
    fn log(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(self.files().log).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect()
    }

    /// The 1-based indices the log says were dropped in `dir`, with the reason.
    fn dropped(&self, dir: &str, reason: &str) -> Vec<u64> {
        self.log()
            .iter()
            .filter(|e| e["action"] == "packet" && e["dir"] == dir && e["drop"] == reason)
            .map(|e| e["index"].as_u64().unwrap())
            .collect()
    }
}

/// Decisions as the pure engine makes them for `n` packets of `size` bytes at time zero.
fn expected_drops(spec: &LinkSpec, seed: u64, dir: Direction, n: usize) -> Vec<u64> {
    let mut lane = Lane::new(Arc::new(spec.clone()), seed, dir);
    (0..n)
        .filter_map(|_| {
            let d = lane.decide(Duration::ZERO, &packet(0));
            d.drop.map(|_| d.index)
        })
        .collect()
}

/// The fields of the decision log that the seed decides (not the times), per direction in
/// index order (the two directions' lines interleave as the packets happened to arrive).
fn decisions(log: &[serde_json::Value]) -> Vec<(String, u64, String)> {
    let mut d: Vec<(String, u64, String)> = log
        .iter()
        .filter(|e| e["action"] == "packet")
        .map(|e| {
            let fate = format!("{} {} {} {}", e["size"], e["drop"], e["corrupt"], e["duplicate"]);
            (e["dir"].to_string(), e["index"].as_u64().unwrap(), fate)
        })
        .collect();
    d.sort();
    d
}

// Random loss with seed 7: the relay drops exactly the indices the seeded engine decides, in
// each direction, and the client gets exactly the echoes that survived both ways.
#[test]
fn loss_drops_the_seeded_indices_in_each_direction() {
    let spec = LinkSpec { loss: [0.3; 2], ..LinkSpec::default() };
    let mut p = Pair::new(spec.clone(), 7);
    let got = p.exchange(200, Duration::from_micros(300), Duration::from_millis(150));
    let stats = p.stop();
    let to_server = expected_drops(&spec, 7, Direction::ToServer, 200);
    assert_eq!(p.dropped("to-server", "loss"), to_server);
    // Exact, because the generator is ChaCha8 seeded from (seed, direction, impairment).
    assert_eq!(to_server.len(), 56, "{to_server:?}");
    let arrived: Vec<u64> = p.echo.seen().iter().map(|s| index_of(&s.data)).collect();
    let want: Vec<u64> = (1..=200).filter(|i| !to_server.contains(i)).collect();
    assert_eq!(arrived, want);
    // The echoes are the to-client direction's packets 1, 2, …, in the order they arrived.
    let back = expected_drops(&spec, 7, Direction::ToClient, arrived.len());
    assert_eq!(p.dropped("to-client", "loss"), back);
    let survived: Vec<u64> =
        arrived.iter().enumerate().filter(|(k, _)| !back.contains(&(*k as u64 + 1))).map(|(_, i)| *i).collect();
    assert_eq!(got, survived);
    assert_eq!(stats.to_server.received, 200);
    assert_eq!(stats.to_server.dropped_loss, 56);
    assert_eq!(stats.to_client.forwarded as usize, survived.len());
}

// With `burst = 2` the relay never drops more than two packets in a row, even at 90 % loss.
#[test]
fn the_burst_cap_bounds_losses_in_a_row() {
    let spec = LinkSpec { loss: [0.9, 0.0], burst: 2, ..LinkSpec::default() };
    let mut p = Pair::new(spec, 3);
    p.exchange(300, Duration::from_micros(200), Duration::from_millis(100));
    p.stop();
    let dropped = p.dropped("to-server", "loss");
    let runs = dropped.windows(3).filter(|w| w[2] == w[0] + 2).count();
    assert_eq!(runs, 0, "three losses in a row: {dropped:?}");
    let capped = p.log().iter().filter(|e| e["burst_cap"] == true).count();
    assert!(capped > 50, "the cap let {capped} packets pass");
    let arrived = p.echo.seen().len();
    assert_eq!(arrived + dropped.len(), 300);
}

// A droplist drops exactly its 1-based indices per direction (the amplification-limit case).
#[test]
fn the_droplist_drops_exactly_its_indices() {
    let spec = LinkSpec { drops: [vec![2, 3, 4, 5, 6, 7], vec![1]], ..LinkSpec::default() };
    let mut p = Pair::new(spec, 0);
    let got = p.exchange(10, Duration::from_millis(2), Duration::from_millis(100));
    p.stop();
    let arrived: Vec<u64> = p.echo.seen().iter().map(|s| index_of(&s.data)).collect();
    assert_eq!(arrived, [1, 8, 9, 10]);
    assert_eq!(got, [8, 9, 10], "the first echo is dropped on its way back");
    assert_eq!(p.dropped("to-server", "droplist"), [2, 3, 4, 5, 6, 7]);
    assert_eq!(p.dropped("to-client", "droplist"), [1]);
}

// A blackhole to the server: every packet the relay received inside the dark window is
// dropped, every other one passes, and the window repeats once only.
#[test]
fn blackholes_drop_what_arrives_in_the_dark() {
    let b = Blackhole {
        on: Duration::from_millis(150),
        off: Duration::from_millis(150),
        repeat: 1,
        directions: Directions::ToServer,
    };
    let spec = LinkSpec { blackhole: Some(b), ..LinkSpec::default() };
    let mut p = Pair::new(spec, 0);
    p.exchange(60, Duration::from_millis(10), Duration::from_millis(100));
    p.stop();
    let mut dark = 0;
    for e in p.log().iter().filter(|e| e["action"] == "packet" && e["dir"] == "to-server") {
        let t = Duration::from_micros(e["t_us"].as_u64().unwrap());
        let dropped = e["drop"] == "blackhole";
        assert_eq!(dropped, b.dark_at(t), "packet {} at {t:?}", e["index"]);
        dark += usize::from(dropped);
    }
    // About 15 at 10 ms spacing; fewer when the sending thread was held up under load.
    assert!((5..=20).contains(&dark), "{dark} packets in a 150 ms window at 10 ms spacing");
    assert_eq!(p.dropped("to-client", "blackhole"), Vec::<u64>::new(), "the other direction stays lit");
}

// Port rebinding: the server sees the client come from new ports at `first` and then every
// `freq`; its answers to an old port are dropped as stale (the server here answers 25 ms late,
// so the answers in flight at each rebinding go to the old port).
#[test]
fn rebinding_gives_the_server_new_ports_and_drops_stale_answers() {
    let r = Rebind { kind: RebindKind::Port, first: Duration::from_millis(100), every: Duration::from_millis(150) };
    let mut p =
        Pair::with_echo("127.0.0.1", LinkSpec { rebind: Some(r), ..LinkSpec::default() }, 0, Duration::from_millis(25));
    let got = p.exchange(50, Duration::from_millis(10), Duration::from_millis(100));
    let stats = p.stop();
    let seen = p.echo.seen();
    let mut ports: Vec<u16> = vec![];
    for s in &seen {
        if ports.last() != Some(&s.from.port()) {
            ports.push(s.from.port());
        }
    }
    assert!(ports.len() >= 3, "the server saw the ports {ports:?}");
    assert!(seen.iter().all(|s| s.from.ip() == std::net::Ipv4Addr::LOCALHOST));
    let log = p.log();
    let rebinds = log.iter().filter(|e| e["action"] == "rebind").count() as u64;
    assert_eq!(rebinds, stats.rebinds);
    // The relay goes on rebinding while the test waits for the last echoes.
    assert!(ports.len() as u64 <= rebinds + 1 && rebinds >= 2, "{ports:?}, {rebinds} rebinds");
    let stale = log.iter().filter(|e| e["action"] == "stale").count() as u64;
    assert_eq!(stale, stats.stale);
    assert!(stale >= 1, "answers are in flight at each rebinding: {stale}");
    assert_eq!(got.len() as u64 + stale, 50, "every answer reached the client unless it went to a replaced port");
}

// Address rebinding: the server sees new 127.0.0.x source addresses.
#[test]
fn address_rebinding_gives_the_server_new_addresses() {
    let r = Rebind { kind: RebindKind::Address, first: Duration::from_millis(50), every: Duration::from_millis(100) };
    let mut p = Pair::new(LinkSpec { rebind: Some(r), ..LinkSpec::default() }, 0);
    p.exchange(30, Duration::from_millis(10), Duration::from_millis(100));
    p.stop();
    let mut ips: Vec<std::net::IpAddr> = p.echo.seen().iter().map(|s| s.from.ip()).collect();
    ips.dedup();
    assert!(ips.len() >= 2, "{ips:?}");
    assert_eq!(ips[0], std::net::Ipv4Addr::LOCALHOST);
    assert_eq!(ips[1], std::net::Ipv4Addr::new(127, 0, 0, 2));
}

// Corruption changes exactly one byte within the first 50 of each corrupted datagram, the one
// the log names; duplication delivers a packet twice.
#[test]
fn corruption_and_duplication() {
    let spec = LinkSpec { corrupt: [1.0, 0.0], duplicate: 1.0, ..LinkSpec::default() };
    let mut p = Pair::new(spec, 11);
    p.exchange(20, Duration::from_millis(1), Duration::from_millis(100));
    let stats = p.stop();
    let seen = p.echo.seen();
    assert_eq!(seen.len(), 40, "each packet twice");
    let log: Vec<serde_json::Value> =
        p.log().into_iter().filter(|e| e["action"] == "packet" && e["dir"] == "to-server").collect();
    for (k, e) in log.iter().enumerate() {
        let i = k as u64 + 1;
        assert_eq!(e["index"], i);
        let (off, x) = (e["corrupt"][0].as_u64().unwrap() as usize, e["corrupt"][1].as_u64().unwrap() as u8);
        assert!(off < 50 && x != 0, "{e}");
        let mut want = packet(i);
        want[off] ^= x;
        // In order (no delay, no reordering), each one twice.
        assert_eq!(seen[2 * k].data, want, "packet {i}");
        assert_eq!(seen[2 * k + 1].data, want, "packet {i}, duplicate");
    }
    assert_eq!(stats.to_server.corrupted, 20);
    assert_eq!(stats.to_server.duplicated, 20);
}

// The FIFO: at 10 kbit/s a 100-byte datagram (128 on the wire) takes 102.4 ms, so a burst of
// 20 finds room for 5 and 15 are tail-dropped; the rest leave one serialisation time apart.
#[test]
fn the_queue_tail_drops_a_burst_and_paces_the_rest() {
    let spec = LinkSpec { bandwidth: Some(10_000), queue: 5, ..LinkSpec::default() };
    let mut p = Pair::new(spec, 0);
    for i in 1..=20 {
        p.client.send_to(&packet(i), p.listen()).unwrap();
    }
    let got = p.collect(20, Duration::from_millis(200));
    let stats = p.stop();
    // All 20 arrive within one serialisation time unless the sender is held up (under load),
    // which only leaves room for more.
    assert_eq!(stats.to_server.received, 20);
    assert_eq!(stats.to_server.forwarded + stats.to_server.dropped_queue, 20);
    assert!(stats.to_server.dropped_queue >= 10, "{stats:?}");
    assert_eq!(got[..5], [1, 2, 3, 4, 5]);
    let due: Vec<u64> = p
        .log()
        .iter()
        .filter(|e| e["dir"] == "to-server" && e["deliver_us"].is_u64())
        .map(|e| e["deliver_us"].as_u64().unwrap())
        .collect();
    for w in due.windows(2) {
        assert!((102_350..=102_450).contains(&(w[1] - w[0])), "{due:?}");
    }
}

// Delay: an echo through a 20 ms link never comes back before 40 ms, and the log says each
// packet was due exactly 20 ms after it arrived (accuracy is measured in `make bench`).
#[test]
fn delay_adds_its_time_each_way() {
    let mut p = Pair::new(LinkSpec { delay: Duration::from_millis(20), ..LinkSpec::default() }, 0);
    for i in 1..=5 {
        let t = Instant::now();
        p.client.send_to(&packet(i), p.listen()).unwrap();
        let mut buf = [0u8; 256];
        p.client.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
        let (n, _) = p.client.recv_from(&mut buf).unwrap();
        let rtt = t.elapsed();
        assert_eq!(index_of(&buf[..n]), i);
        assert!(rtt >= Duration::from_millis(40) && rtt < Duration::from_secs(1), "rtt {rtt:?}");
    }
    drop(p.relay.take().map(|r| r.stop()));
    for e in p.log().iter().filter(|e| e["action"] == "packet") {
        assert_eq!(e["deliver_us"].as_u64().unwrap() - e["t_us"].as_u64().unwrap(), 20_000, "{e}");
    }
}

// One seed gives one decision log; another seed gives another.
#[test]
fn the_seed_decides_and_only_the_seed() {
    let spec = LinkSpec { loss: [0.2; 2], corrupt: [0.1; 2], duplicate: 0.05, ..LinkSpec::default() };
    let run = |seed| {
        let mut p = Pair::new(spec.clone(), seed);
        p.exchange(150, Duration::from_micros(500), Duration::from_millis(100));
        p.stop();
        decisions(&p.log())
    };
    let (a, b, c) = (run(42), run(42), run(43));
    assert!(a.len() >= 250, "{}", a.len());
    assert_eq!(a, b);
    assert_ne!(a, c);
}

// ECN codepoints pass through in both directions, and the relay works over IPv6.
#[test]
fn ecn_passes_through_and_ipv6_works() {
    for ip in ["127.0.0.1", "::1"] {
        let mut p = Pair::on(ip, LinkSpec::default(), 0);
        // ECT(0) on every packet the client sends.
        if ip.contains(':') {
            nix::sys::socket::setsockopt(&p.client, nix::sys::socket::sockopt::Ipv6TClass, &2).unwrap();
        } else {
            nix::sys::socket::setsockopt(&p.client, nix::sys::socket::sockopt::Ipv4Tos, &2).unwrap();
        }
        let got = p.exchange(5, Duration::from_millis(1), Duration::from_millis(100));
        p.stop();
        assert_eq!(got, [1, 2, 3, 4, 5], "{ip}");
        let seen = p.echo.seen();
        assert!(
            seen.iter().all(|s| s.tos & 3 == 2),
            "{ip}: the server saw {:?}",
            seen.iter().map(|s| s.tos).collect::<Vec<_>>()
        );
        assert!(p.log().iter().filter(|e| e["dir"] == "to-server").all(|e| e["ecn"] == 2), "{ip}");
    }
}

// Each side's capture holds exactly that side's datagrams: the client side what the client
// sent and got, the server side what reached the server and what it answered.
#[test]
fn both_sides_are_captured() {
    let spec = LinkSpec { drops: [vec![3], vec![]], ..LinkSpec::default() };
    let mut p = Pair::new(spec, 0);
    p.exchange(5, Duration::from_millis(2), Duration::from_millis(100));
    p.stop();
    let count = |path: &Path| {
        let b = std::fs::read(path).unwrap();
        assert_eq!(&b[..4], &0xa1b2_c3d4u32.to_le_bytes());
        assert_eq!(u32::from_le_bytes(b[20..24].try_into().unwrap()), 101, "LINKTYPE_RAW");
        let (mut off, mut n) = (24, 0);
        while off < b.len() {
            let len = u32::from_le_bytes(b[off + 8..off + 12].try_into().unwrap()) as usize;
            off += 16 + len;
            n += 1;
        }
        n
    };
    let f = p.files();
    // Client side: 5 sent, 4 echoes back. Server side: 4 delivered, 4 answers.
    assert_eq!(count(&f.client_pcap), 9);
    assert_eq!(count(&f.server_pcap), 8);
    assert_eq!(p.dropped("to-server", "droplist"), [3]);
}

// The experiment's seed also reaches a tester's own `seed` parameter when the file leaves it
// unset (Ivy's testers): each test its own, the same for one seed, other ones for another;
// a `seed` the file sets is kept.
#[test]
fn the_experiment_seed_reaches_the_ivy_testers() {
    let dir = tempfile::tempdir().unwrap();
    let base = std::fs::read_to_string(panther_tests::workspace().join("experiments/ivy-minip.toml")).unwrap();
    let seeds_of = |seed: u64, keep_first: bool| {
        let mut text = base.replacen("timeout = \"20m\"", &format!("timeout = \"20m\"\nseed = {seed}"), 1);
        text = if keep_first {
            let at = text.find("seed = 1, ").unwrap() + 10;
            format!("{}{}", &text[..at], text[at..].replace("seed = 1, ", ""))
        } else {
            text.replace("seed = 1, ", "")
        };
        let file = dir.path().join(format!("s{seed}-{keep_first}.toml"));
        std::fs::write(&file, text).unwrap();
        let o = std::process::Command::new(panther_tests::panther_bin())
            .args(["plan", file.to_str().unwrap()])
            .current_dir(panther_tests::workspace())
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        let out = String::from_utf8_lossy(&o.stdout).into_owned();
        assert!(o.status.success(), "{out}{}", String::from_utf8_lossy(&o.stderr));
        let mut seeds: Vec<String> =
            out.split("seed=").skip(1).map(|rest| rest.chars().take_while(char::is_ascii_digit).collect()).collect();
        seeds.dedup();
        seeds
    };
    let seven = seeds_of(7, false);
    assert_eq!(seven.len(), 3, "one seed per Ivy test: {seven:?}");
    assert!(seven.iter().all(|s| s != "0" && s != "1"), "{seven:?}");
    assert_eq!(seeds_of(7, false), seven, "one experiment seed, the same testers' seeds");
    let eight = seeds_of(8, false);
    assert!(eight.iter().zip(&seven).all(|(a, b)| a != b), "{eight:?} vs {seven:?}");
    let kept = seeds_of(7, true);
    assert_eq!(kept[0], "1", "a seed the file sets is kept: {kept:?}");
    assert_eq!(kept[1..], seven[1..]);
}
