//! The relay: a UDP NAT between the clients of a test and one server port, running the link's
//! decisions ([`super::decide`]) on a thread of its own.
//!
//! Clients send to the relay's `listen` address, believing it is the server. Each client
//! address gets a binding: a socket of the relay's that talks to the server for it (so the
//! server sees the relay's addresses, as behind a NAT). Rebinding replaces a binding's
//! socket with one on a new port or address; the server's packets to the old one are dropped.
//!
//! A thread, not a tokio task: tokio's timers have a millisecond granularity, and the delay
//! goal is a p99 error under 1 ms. The thread sleeps in `ppoll` until the next packet is due or
//! a socket is readable, so an idle link costs nothing and a due packet leaves within the
//! kernel's timer slack (50 µs).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, BufWriter, IoSlice, IoSliceMut, Write};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, UdpSocket};
use std::os::fd::{AsFd, AsRawFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use nix::poll::{PollFd, PollFlags};
use nix::sys::socket::{self, sockopt, ControlMessage, ControlMessageOwned, MsgFlags, SockaddrStorage};
use nix::sys::time::TimeSpec;

use super::decide::{Decision, DropReason, Lane};
use super::pcap::PcapWriter;
use super::spec::{Direction, LinkSpec, RebindKind};

/// Largest datagram the relay carries (the largest UDP payload over IPv4).
const MAX_DATAGRAM: usize = 65_507;
/// Most datagrams read from one socket before the loop looks at its timers again.
const READ_BATCH: usize = 64;
/// How often an idle relay looks at its stop flag.
const IDLE_TICK: Duration = Duration::from_millis(20);
/// Most bytes of each side's capture and of the decision log: a flooding IUT must not fill
/// the disk. What does not fit is counted, not written, and the result says so.
const MAX_CAPTURE_BYTES: u64 = 1 << 30;
const MAX_LOG_BYTES: u64 = 256 << 20;

/// What a relay needs to start.
#[derive(Debug, Clone)]
pub struct RelaySetup {
    /// Where clients send (the address their plans were rendered with).
    pub listen: SocketAddr,
    /// Where the server listens.
    pub server: SocketAddr,
    pub spec: Arc<LinkSpec>,
    pub seed: u64,
    /// `link.jsonl`, `client-side.pcap`, `server-side.pcap` go here.
    pub files: LinkFiles,
}

/// The files of one relay.
#[derive(Debug, Clone, serde::Serialize)]
pub struct LinkFiles {
    pub log: PathBuf,
    pub client_pcap: PathBuf,
    pub server_pcap: PathBuf,
}

impl LinkFiles {
    /// The files in `dir`, each name prefixed by `prefix` (empty for a test's only relay).
    pub fn in_dir(dir: &Path, prefix: &str) -> LinkFiles {
        LinkFiles {
            log: dir.join(format!("{prefix}link.jsonl")),
            client_pcap: dir.join(format!("{prefix}client-side.pcap")),
            server_pcap: dir.join(format!("{prefix}server-side.pcap")),
        }
    }
}

/// Counts of one direction.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DirectionStats {
    pub received: u64,
    pub forwarded: u64,
    pub dropped_queue: u64,
    pub dropped_droplist: u64,
    pub dropped_blackhole: u64,
    pub dropped_loss: u64,
    pub dropped_gilbert_elliott: u64,
    pub corrupted: u64,
    pub duplicated: u64,
}

impl DirectionStats {
    pub fn dropped(&self) -> u64 {
        self.dropped_queue
            + self.dropped_droplist
            + self.dropped_blackhole
            + self.dropped_loss
            + self.dropped_gilbert_elliott
    }
}

/// What a relay did, for the report.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct LinkStats {
    pub to_server: DirectionStats,
    pub to_client: DirectionStats,
    /// Client addresses seen (NAT bindings made).
    pub bindings: u64,
    pub rebinds: u64,
    /// Server packets that arrived at a binding that had been replaced, dropped.
    pub stale: u64,
    /// Datagrams the relay could not send (an errno from the kernel), not counted as forwarded.
    pub send_errors: u64,
    /// `link.jsonl` reached its size limit: later decisions were made but not written.
    #[serde(default)]
    pub log_truncated: bool,
    /// A capture reached its size limit: later datagrams were relayed but not captured.
    #[serde(default)]
    pub capture_truncated: bool,
}

/// A running relay; stopping it (or dropping it) ends its thread and flushes its files.
pub struct Relay {
    pub listen: SocketAddr,
    stop: Arc<AtomicBool>,
    progress: Arc<SharedProgress>,
    thread: Option<JoinHandle<io::Result<LinkStats>>>,
}

/// How far a running relay has got, as of the end of its last loop turn. Whoever stops a
/// relay can first wait until it has read everything that was sent and delivered everything
/// it delayed, instead of guessing a quiet time that a loaded machine may not keep.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Progress {
    /// Datagrams read from clients.
    pub from_clients: u64,
    /// Datagrams read from the server, on current and stale bindings.
    pub from_server: u64,
    /// Datagrams accepted and not yet sent (delayed or serialising).
    pub in_flight: u64,
}

#[derive(Default)]
struct SharedProgress {
    from_clients: AtomicU64,
    from_server: AtomicU64,
    in_flight: AtomicU64,
}

impl Relay {
    /// Binds the listening socket and starts the thread. The files are created before this
    /// returns, so a test that ends at once still has them.
    pub fn start(setup: RelaySetup) -> io::Result<Relay> {
        let listen = bind(setup.listen)?;
        let listen_addr = listen.local_addr()?;
        let files = Files::create(&setup.files)?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let progress = Arc::new(SharedProgress::default());
        let shared = progress.clone();
        let thread = std::thread::Builder::new().name(format!("link {listen_addr}")).spawn(move || {
            let mut r = Running::new(setup, listen, files);
            let result = r.run(&flag, &shared);
            r.files.flush();
            r.stats.capture_truncated = r.files.client.full || r.files.server.full;
            result.map(|()| r.stats)
        })?;
        Ok(Relay { listen: listen_addr, stop, progress, thread: Some(thread) })
    }

    pub fn progress(&self) -> Progress {
        Progress {
            from_clients: self.progress.from_clients.load(Ordering::Acquire),
            from_server: self.progress.from_server.load(Ordering::Acquire),
            in_flight: self.progress.in_flight.load(Ordering::Acquire),
        }
    }

    /// Stops the relay and returns what it did. Packets still in flight (delayed) are lost,
    /// as on a link that is unplugged.
    pub fn stop(mut self) -> io::Result<LinkStats> {
        self.stop.store(true, Ordering::Relaxed);
        match self.thread.take().expect("a relay is stopped once").join() {
            Ok(r) => r,
            Err(_) => Err(io::Error::other("the link relay's thread panicked")),
        }
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A UDP socket for the relay: non-blocking, reporting each datagram's TOS / traffic class so
/// ECN codepoints pass through.
fn bind(addr: SocketAddr) -> io::Result<UdpSocket> {
    let s = UdpSocket::bind(addr)?;
    s.set_nonblocking(true)?;
    let set = match addr {
        SocketAddr::V4(_) => socket::setsockopt(&s, sockopt::IpRecvTos, &true),
        SocketAddr::V6(_) => socket::setsockopt(&s, sockopt::Ipv6RecvTClass, &true),
    };
    set.map_err(io::Error::from)?;
    Ok(s)
}

/// One client's NAT binding.
struct Binding {
    client: SocketAddr,
    socket: UdpSocket,
    local: SocketAddr,
}

/// A datagram waiting for its time.
struct Pending {
    at: Duration,
    seq: u64,
    dir: Direction,
    binding: usize,
    tos: u8,
    data: Vec<u8>,
}

impl PartialEq for Pending {
    fn eq(&self, o: &Self) -> bool {
        (self.at, self.seq) == (o.at, o.seq)
    }
}
impl Eq for Pending {}
impl PartialOrd for Pending {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Pending {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (self.at, self.seq).cmp(&(o.at, o.seq))
    }
}

struct Files {
    log: BufWriter<File>,
    log_bytes: u64,
    client: PcapWriter,
    server: PcapWriter,
}

impl Files {
    fn create(f: &LinkFiles) -> io::Result<Files> {
        Ok(Files {
            log: BufWriter::with_capacity(1 << 16, File::create(&f.log)?),
            log_bytes: 0,
            client: PcapWriter::create(&f.client_pcap, MAX_CAPTURE_BYTES)?,
            server: PcapWriter::create(&f.server_pcap, MAX_CAPTURE_BYTES)?,
        })
    }

    fn flush(&mut self) {
        for r in [self.log.flush(), self.client.flush(), self.server.flush()] {
            if let Err(e) = r {
                tracing::warn!("cannot write the link's files: {e}");
            }
        }
    }
}

/// One line of `link.jsonl`.
#[derive(serde::Serialize)]
struct LogLine<'a> {
    /// Microseconds since the relay started.
    t_us: u64,
    #[serde(flatten)]
    what: Event<'a>,
}

#[derive(serde::Serialize)]
#[serde(tag = "action", rename_all = "kebab-case")]
enum Event<'a> {
    /// A packet's fate (forwarded unless `drop` says otherwise).
    Packet {
        #[serde(flatten)]
        decision: &'a Decision,
        /// When it is due to leave, from the relay's start (absent when dropped).
        #[serde(skip_serializing_if = "Option::is_none")]
        deliver_us: Option<u64>,
        #[serde(skip_serializing_if = "is_zero")]
        ecn: u8,
        /// Where the relay received it: its frame in `client-side.pcap` (to the server) or
        /// `server-side.pcap` (to the client); absent once the capture is full.
        #[serde(skip_serializing_if = "Option::is_none")]
        frame: Option<u64>,
    },
    Binding {
        client: SocketAddr,
        via: SocketAddr,
    },
    Rebind {
        client: SocketAddr,
        from: SocketAddr,
        to: SocketAddr,
    },
    /// A server packet to a binding that was replaced (its frame in `server-side.pcap`).
    Stale {
        size: usize,
        to: SocketAddr,
        #[serde(skip_serializing_if = "Option::is_none")]
        frame: Option<u64>,
    },
    /// The log is full: nothing more is written.
    Truncated {
        limit_bytes: u64,
    },
}

fn is_zero(v: &u8) -> bool {
    *v == 0
}

struct Running {
    setup: RelaySetup,
    listen: UdpSocket,
    listen_addr: SocketAddr,
    lanes: [Lane; 2],
    bindings: Vec<Binding>,
    stale: Vec<(UdpSocket, SocketAddr)>,
    pending: BinaryHeap<Reverse<Pending>>,
    seq: u64,
    start: Instant,
    wall: SystemTime,
    next_rebind: Option<Duration>,
    /// Next 127.0.0.x for address rebinding.
    next_host: u8,
    files: Files,
    stats: LinkStats,
    buf: Vec<u8>,
}

impl Running {
    fn new(setup: RelaySetup, listen: UdpSocket, files: Files) -> Running {
        let lanes = [
            Lane::new(setup.spec.clone(), setup.seed, Direction::ToServer),
            Lane::new(setup.spec.clone(), setup.seed, Direction::ToClient),
        ];
        // The rebinding clock starts with the first client packet (see `binding_for`): a
        // relay starts before the services, and a slow start must not use up `first`.
        let next_rebind = None;
        Running {
            listen_addr: listen.local_addr().unwrap_or(setup.listen),
            listen,
            lanes,
            bindings: vec![],
            stale: vec![],
            pending: BinaryHeap::new(),
            seq: 0,
            start: Instant::now(),
            wall: SystemTime::now(),
            next_rebind,
            next_host: 2,
            files,
            stats: LinkStats::default(),
            buf: vec![0; MAX_DATAGRAM],
            setup,
        }
    }

    fn now(&self) -> Duration {
        self.start.elapsed()
    }

    fn log(&mut self, t: Duration, what: Event) {
        if self.stats.log_truncated {
            return;
        }
        let Ok(mut line) = serde_json::to_vec(&LogLine { t_us: t.as_micros() as u64, what }) else { return };
        line.push(b'\n');
        if self.files.log_bytes + line.len() as u64 > MAX_LOG_BYTES {
            self.stats.log_truncated = true;
            let last = LogLine { t_us: t.as_micros() as u64, what: Event::Truncated { limit_bytes: MAX_LOG_BYTES } };
            line = serde_json::to_vec(&last).unwrap_or_default();
            line.push(b'\n');
        }
        self.files.log_bytes += line.len() as u64;
        let _ = self.files.log.write_all(&line);
    }

    fn run(&mut self, stop: &AtomicBool, progress: &SharedProgress) -> io::Result<()> {
        while !stop.load(Ordering::Relaxed) {
            let now = self.now();
            self.send_due(now);
            if self.next_rebind.is_some_and(|t| t <= now) {
                self.rebind(now)?;
            }
            let mut wait = IDLE_TICK;
            if let Some(Reverse(p)) = self.pending.peek() {
                wait = wait.min(p.at.saturating_sub(now));
            }
            if let Some(t) = self.next_rebind {
                wait = wait.min(t.saturating_sub(now));
            }
            let ready = self.poll(wait)?;
            for (i, readable) in ready.into_iter().enumerate() {
                if readable {
                    self.read(i)?;
                }
            }
            let s = &self.stats;
            progress.in_flight.store(self.pending.len() as u64, Ordering::Release);
            progress.from_server.store(s.to_client.received + s.stale, Ordering::Release);
            progress.from_clients.store(s.to_server.received, Ordering::Release);
        }
        Ok(())
    }

    /// Waits up to `wait` for a readable socket; the flags are in the order of
    /// [`Self::socket`].
    fn poll(&self, wait: Duration) -> io::Result<Vec<bool>> {
        let n = 1 + self.bindings.len() + self.stale.len();
        let mut fds: Vec<PollFd> = (0..n).map(|i| PollFd::new(self.socket(i).as_fd(), PollFlags::POLLIN)).collect();
        match nix::poll::ppoll(&mut fds, Some(TimeSpec::from_duration(wait)), None) {
            Ok(_) | Err(nix::errno::Errno::EINTR) => {}
            Err(e) => return Err(e.into()),
        }
        Ok(fds.iter().map(|f| f.revents().is_some_and(|r| !r.is_empty())).collect())
    }

    /// Socket `i`: the listening socket, then each binding's, then the stale ones.
    fn socket(&self, i: usize) -> &UdpSocket {
        let b = self.bindings.len();
        match i {
            0 => &self.listen,
            i if i <= b => &self.bindings[i - 1].socket,
            i => &self.stale[i - 1 - b].0,
        }
    }

    fn read(&mut self, i: usize) -> io::Result<()> {
        // The buffer leaves `self` while a socket of `self` reads into it.
        let mut buf = std::mem::take(&mut self.buf);
        let r = self.read_into(i, &mut buf);
        self.buf = buf;
        r
    }

    fn read_into(&mut self, i: usize, buf: &mut [u8]) -> io::Result<()> {
        for _ in 0..READ_BATCH {
            let (len, from, tos) = match recv(self.socket(i), buf) {
                Ok(r) => r,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                // An ICMP error from an earlier send (the server not up yet, a client gone).
                Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => continue,
                Err(e) => return Err(e),
            };
            let data = &buf[..len];
            let now = self.now();
            let wall = self.wall + now;
            let b = self.bindings.len();
            if i == 0 {
                let binding = self.binding_for(from, now)?;
                let local = self.listen_addr;
                let frame = self.files.client.record(wall, from, local, tos, data)?;
                self.arrive(Direction::ToServer, binding, data, tos, now, frame);
            } else if i <= b {
                if from != self.setup.server {
                    continue;
                }
                let local = self.bindings[i - 1].local;
                let frame = self.files.server.record(wall, from, local, tos, data)?;
                self.arrive(Direction::ToClient, i - 1, data, tos, now, frame);
            } else {
                let to = self.stale[i - 1 - b].1;
                let frame = self.files.server.record(wall, from, to, tos, data)?;
                self.stats.stale += 1;
                self.log(now, Event::Stale { size: len, to, frame });
            }
        }
        Ok(())
    }

    /// The binding of a client address, made on its first packet.
    fn binding_for(&mut self, client: SocketAddr, now: Duration) -> io::Result<usize> {
        if let Some(i) = self.bindings.iter().position(|b| b.client == client) {
            return Ok(i);
        }
        let socket = bind(SocketAddr::new(self.local_ip(false), 0))?;
        let local = socket.local_addr()?;
        if self.bindings.is_empty() && self.stats.rebinds == 0 {
            self.next_rebind = self.setup.spec.rebind.map(|r| now + r.first);
        }
        self.bindings.push(Binding { client, socket, local });
        self.stats.bindings += 1;
        self.log(now, Event::Binding { client, via: local });
        Ok(self.bindings.len() - 1)
    }

    /// The address a binding's socket uses: the server's loopback, or with `fresh` (address
    /// rebinding over IPv4) the next 127.0.0.x.
    fn local_ip(&mut self, fresh: bool) -> IpAddr {
        match self.setup.server.ip() {
            IpAddr::V4(v) if fresh && v.is_loopback() => {
                let ip = Ipv4Addr::new(127, 0, 0, self.next_host);
                self.next_host = if self.next_host >= 254 { 2 } else { self.next_host + 1 };
                IpAddr::V4(ip)
            }
            IpAddr::V4(v) if v.is_loopback() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            IpAddr::V6(v) if v.is_loopback() => IpAddr::V6(std::net::Ipv6Addr::LOCALHOST),
            IpAddr::V6(_) => IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED),
        }
    }

    #[allow(clippy::too_many_arguments)] // one datagram and where it came from
    fn arrive(&mut self, dir: Direction, binding: usize, payload: &[u8], tos: u8, now: Duration, frame: Option<u64>) {
        let decision = self.lanes[dir.index()].decide(now, payload);
        let stats = match dir {
            Direction::ToServer => &mut self.stats.to_server,
            Direction::ToClient => &mut self.stats.to_client,
        };
        stats.received += 1;
        match decision.drop {
            Some(DropReason::Queue) => stats.dropped_queue += 1,
            Some(DropReason::Droplist) => stats.dropped_droplist += 1,
            Some(DropReason::Blackhole) => stats.dropped_blackhole += 1,
            Some(DropReason::Loss) => stats.dropped_loss += 1,
            Some(DropReason::GilbertElliott) => stats.dropped_gilbert_elliott += 1,
            None => {
                stats.corrupted += u64::from(decision.corrupt.is_some());
                stats.duplicated += u64::from(decision.duplicate);
            }
        }
        let deliver_us = decision.drop.is_none().then_some(decision.deliver_at.as_micros() as u64);
        self.log(now, Event::Packet { decision: &decision, deliver_us, ecn: tos & 0b11, frame });
        if decision.drop.is_some() {
            return;
        }
        let mut data = payload.to_vec();
        if let Some((offset, x)) = decision.corrupt {
            data[offset] ^= x;
        }
        let copies = if decision.duplicate { 2 } else { 1 };
        for _ in 0..copies {
            self.seq += 1;
            let p = Pending { at: decision.deliver_at, seq: self.seq, dir, binding, tos, data: data.clone() };
            self.pending.push(Reverse(p));
        }
    }

    fn send_due(&mut self, now: Duration) {
        while self.pending.peek().is_some_and(|Reverse(p)| p.at <= now) {
            let Reverse(p) = self.pending.pop().expect("peeked");
            let wall = self.wall + self.now();
            let b = &self.bindings[p.binding];
            let (socket, from, to) = match p.dir {
                Direction::ToServer => (&b.socket, b.local, self.setup.server),
                Direction::ToClient => (&self.listen, self.listen_addr, b.client),
            };
            let sent = send(socket, &p.data, to, p.tos);
            let stats = match p.dir {
                Direction::ToServer => &mut self.stats.to_server,
                Direction::ToClient => &mut self.stats.to_client,
            };
            match sent {
                Ok(()) => stats.forwarded += 1,
                Err(e) => {
                    self.stats.send_errors += 1;
                    tracing::debug!("link relay: cannot send to {to}: {e}");
                    continue;
                }
            }
            let pcap = match p.dir {
                Direction::ToServer => &mut self.files.server,
                Direction::ToClient => &mut self.files.client,
            };
            if let Err(e) = pcap.record(wall, from, to, p.tos, &p.data) {
                tracing::warn!("link relay: cannot write its capture: {e}");
            }
        }
    }

    /// Moves every binding to a new socket (a NAT that rebinds); the old sockets stay open so
    /// the server's late packets to them are seen, logged and dropped.
    fn rebind(&mut self, now: Duration) -> io::Result<()> {
        let spec = self.setup.spec.rebind.expect("rebinding is scheduled only with a rebind spec");
        self.next_rebind = Some(now + spec.every.max(Duration::from_millis(1)));
        for i in 0..self.bindings.len() {
            let ip = self.local_ip(spec.kind == RebindKind::Address);
            let socket = bind(SocketAddr::new(ip, 0))?;
            let local = socket.local_addr()?;
            let old = std::mem::replace(&mut self.bindings[i].socket, socket);
            let from = std::mem::replace(&mut self.bindings[i].local, local);
            self.stale.push((old, from));
            self.stats.rebinds += 1;
            let client = self.bindings[i].client;
            self.log(now, Event::Rebind { client, from, to: local });
        }
        Ok(())
    }
}

/// One datagram with its TOS / traffic class byte.
fn recv(s: &UdpSocket, buf: &mut [u8]) -> io::Result<(usize, SocketAddr, u8)> {
    let mut cmsg = nix::cmsg_space!(libc::c_int);
    let mut iov = [IoSliceMut::new(buf)];
    let msg = socket::recvmsg::<SockaddrStorage>(s.as_raw_fd(), &mut iov, Some(&mut cmsg), MsgFlags::empty())
        .map_err(io::Error::from)?;
    let mut tos = 0u8;
    if let Ok(cmsgs) = msg.cmsgs() {
        for c in cmsgs {
            match c {
                ControlMessageOwned::Ipv4Tos(t) => tos = t,
                ControlMessageOwned::Ipv6TClass(t) => tos = t as u8,
                _ => {}
            }
        }
    }
    let from = msg
        .address
        .and_then(|a| {
            a.as_sockaddr_in()
                .map(|v| SocketAddr::from(std::net::SocketAddrV4::from(*v)))
                .or_else(|| a.as_sockaddr_in6().map(|v| SocketAddr::from(std::net::SocketAddrV6::from(*v))))
        })
        .ok_or_else(|| io::Error::other("a datagram without a source address"))?;
    Ok((msg.bytes, from, tos))
}

/// Sends a datagram with its ECN bits (the rest of the TOS byte is the relay's own).
fn send(s: &UdpSocket, data: &[u8], to: SocketAddr, tos: u8) -> io::Result<()> {
    let ecn = tos & 0b11;
    if ecn == 0 {
        return s.send_to(data, to).map(|_| ());
    }
    let iov = [IoSlice::new(data)];
    let addr = SockaddrStorage::from(to);
    let v4 = i32::from(ecn);
    let byte = ecn;
    let cmsg = match to {
        SocketAddr::V4(_) => [ControlMessage::Ipv4Tos(&byte)],
        SocketAddr::V6(_) => [ControlMessage::Ipv6TClass(&v4)],
    };
    socket::sendmsg(s.as_raw_fd(), &iov, &cmsg, MsgFlags::empty(), Some(&addr)).map(|_| ()).map_err(io::Error::from)
}
