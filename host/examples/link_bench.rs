//! The link emulator measured on loopback (`make bench`; numbers in docs/BENCHMARKS.md):
//! added latency without impairment, throughput at `bandwidth = "1Gbps"`, delay accuracy at
//! 15 ms, and the loss rate for a seed against its binomial bounds.
//!
//! `cargo run --release -p panther-host --example link_bench [-- --quick]`

use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use panther_host::link::{LinkFiles, LinkSpec, Relay, RelaySetup};

fn relay(spec: LinkSpec, server: SocketAddr, dir: &std::path::Path) -> Relay {
    Relay::start(RelaySetup {
        listen: "127.0.0.1:0".parse().unwrap(),
        server,
        spec: Arc::new(spec),
        seed: 1,
        files: LinkFiles::in_dir(dir, ""),
    })
    .expect("the relay starts")
}

fn percentile(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

/// An echo server thread; ends when `stop` is set.
fn echo(stop: Arc<AtomicBool>) -> SocketAddr {
    let s = UdpSocket::bind("127.0.0.1:0").unwrap();
    s.set_read_timeout(Some(Duration::from_millis(20))).unwrap();
    let addr = s.local_addr().unwrap();
    std::thread::spawn(move || {
        let mut buf = [0u8; 2048];
        while !stop.load(Ordering::Relaxed) {
            if let Ok((n, from)) = s.recv_from(&mut buf) {
                let _ = s.send_to(&buf[..n], from);
            }
        }
    });
    addr
}

/// Round trips to `to`, in microseconds.
fn rtts(to: SocketAddr, n: usize) -> Vec<f64> {
    let c = UdpSocket::bind("127.0.0.1:0").unwrap();
    c.set_read_timeout(Some(Duration::from_secs(1))).unwrap();
    let mut buf = [0u8; 2048];
    let mut out = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        c.send_to(&[0x40; 100], to).unwrap();
        if c.recv_from(&mut buf).is_ok() {
            out.push(t.elapsed().as_secs_f64() * 1e6);
        }
    }
    out
}

fn latency(dir: &std::path::Path, n: usize) {
    let stop = Arc::new(AtomicBool::new(false));
    let server = echo(stop.clone());
    rtts(server, 200);
    let mut direct = rtts(server, n);
    let r = relay(LinkSpec::default(), server, dir);
    rtts(r.listen, 200);
    let mut through = rtts(r.listen, n);
    let stats = r.stop().unwrap();
    stop.store(true, Ordering::Relaxed);
    let (d50, d99) = (percentile(&mut direct, 0.5), percentile(&mut direct, 0.99));
    let (t50, t99) = (percentile(&mut through, 0.5), percentile(&mut through, 0.99));
    println!(
        "added latency, no impairment ({n} echoes, 100 B): one way p50 {:.1} µs, p99 {:.1} µs \
         (round trip direct p50 {d50:.1} / p99 {d99:.1} µs, through the relay p50 {t50:.1} / p99 {t99:.1} µs; {} packets logged)",
        (t50 - d50) / 2.0,
        (t99 - d99) / 2.0,
        stats.to_server.received + stats.to_client.received
    );
}

fn throughput(dir: &std::path::Path, secs: f64) {
    let sink = UdpSocket::bind("127.0.0.1:0").unwrap();
    sink.set_read_timeout(Some(Duration::from_millis(200))).unwrap();
    let _ = nix::sys::socket::setsockopt(&sink, nix::sys::socket::sockopt::RcvBuf, &(8 << 20));
    let server = sink.local_addr().unwrap();
    let received = Arc::new(AtomicU64::new(0));
    let got = received.clone();
    let counter = std::thread::spawn(move || {
        let mut buf = [0u8; 2048];
        let (mut first, mut last) = (None, Instant::now());
        while let Ok((n, _)) = sink.recv_from(&mut buf) {
            first.get_or_insert_with(Instant::now);
            last = Instant::now();
            got.fetch_add(n as u64, Ordering::Relaxed);
        }
        first.map(|f| last.duration_since(f)).unwrap_or_default()
    });
    let spec = LinkSpec { bandwidth: Some(1_000_000_000), queue: 1000, ..LinkSpec::default() };
    let r = relay(spec, server, dir);
    let c = UdpSocket::bind("127.0.0.1:0").unwrap();
    let payload = [0x40u8; 1200];
    let start = Instant::now();
    let mut sent = 0u64;
    // Paced at 1.2 Gbit/s offered: faster than the link, slower than flooding the socket.
    let gap = Duration::from_secs_f64(1228.0 * 8.0 / 1.2e9);
    while start.elapsed().as_secs_f64() < secs {
        let due = start + gap * sent as u32;
        while Instant::now() < due {
            std::hint::spin_loop();
        }
        let _ = c.send_to(&payload, r.listen);
        sent += 1;
    }
    let span = counter.join().unwrap();
    let stats = r.stop().unwrap();
    let bytes = received.load(Ordering::Relaxed);
    let mbps = bytes as f64 * 8.0 / span.as_secs_f64() / 1e6;
    println!(
        "throughput at bandwidth 1Gbps ({secs} s, 1200 B datagrams, {:.0} Mbit/s offered): {mbps:.0} Mbit/s delivered \
         ({} sent, {} received by the relay, {} forwarded, {} queue drops)",
        sent as f64 * 1200.0 * 8.0 / secs / 1e6,
        sent,
        stats.to_server.received,
        stats.to_server.forwarded,
        stats.to_server.dropped_queue
    );
}

fn delay_accuracy(dir: &std::path::Path, n: usize) {
    let sink = UdpSocket::bind("127.0.0.1:0").unwrap();
    sink.set_read_timeout(Some(Duration::from_millis(300))).unwrap();
    let server = sink.local_addr().unwrap();
    let epoch = Instant::now();
    let reader = std::thread::spawn(move || {
        let mut buf = [0u8; 64];
        let mut errors = vec![];
        while let Ok((_, _)) = sink.recv_from(&mut buf) {
            let sent = Duration::from_nanos(u64::from_be_bytes(buf[1..9].try_into().unwrap()));
            let took = epoch.elapsed() - sent;
            errors.push((took.as_secs_f64() - 0.015).abs() * 1e6);
        }
        errors
    });
    let r = relay(LinkSpec { delay: Duration::from_millis(15), ..LinkSpec::default() }, server, dir);
    let c = UdpSocket::bind("127.0.0.1:0").unwrap();
    for _ in 0..n {
        let mut p = [0x40u8; 64];
        p[1..9].copy_from_slice(&(epoch.elapsed().as_nanos() as u64).to_be_bytes());
        c.send_to(&p, r.listen).unwrap();
        std::thread::sleep(Duration::from_micros(500));
    }
    let mut errors = reader.join().unwrap();
    r.stop().unwrap();
    println!(
        "delay accuracy at 15 ms ({} packets, 0.5 ms apart): |error| p50 {:.0} µs, p99 {:.0} µs, max {:.0} µs",
        errors.len(),
        percentile(&mut errors, 0.5),
        percentile(&mut errors, 0.99),
        percentile(&mut errors, 1.0)
    );
}

fn loss_rate(n: u64) {
    let spec = Arc::new(LinkSpec { loss: [0.02; 2], ..LinkSpec::default() });
    let mut lane = panther_host::link::decide::Lane::new(spec, 7, panther_host::link::Direction::ToServer);
    let dropped = (0..n).filter(|_| lane.decide(Duration::ZERO, &[0x40; 100]).drop.is_some()).count() as f64;
    let (mean, sd) = (n as f64 * 0.02, (n as f64 * 0.02 * 0.98).sqrt());
    println!(
        "loss 2% with seed 7 over {n} packets: {dropped} dropped ({:.3} %); binomial mean {mean:.0}, 3σ bounds {:.0}–{:.0}: {}",
        dropped * 100.0 / n as f64,
        mean - 3.0 * sd,
        mean + 3.0 * sd,
        if (dropped - mean).abs() <= 3.0 * sd { "within" } else { "OUTSIDE" }
    );
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let dir = tempfile_dir();
    latency(&dir, if quick { 2_000 } else { 20_000 });
    throughput(&dir, if quick { 1.0 } else { 3.0 });
    delay_accuracy(&dir, if quick { 1_000 } else { 4_000 });
    loss_rate(100_000);
    let _ = std::fs::remove_dir_all(&dir);
}

fn tempfile_dir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("panther-link-bench-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}
