//! panther-quiche: a thin HTTP/3 client front end to quiche 0.30, so that panther-host can run
//! quiche as a client. quiche's own `http3-client` example fetches one URL, prints the body to
//! stdout, never verifies the peer and logs no keys; this one fetches every URL over one
//! connection, saves each body as `OUT/<basename>`, verifies the server against a CA (or is
//! told `--insecure`) and writes the TLS key log to the file named by SSLKEYLOGFILE.
//! Everything QUIC, HTTP/3 and TLS is quiche's (and BoringSSL's); this file only parses flags,
//! drives quiche's event loop on a blocking UDP socket and writes files.
//!
//! The event loop is adapted from quiche 0.30.0's `examples/http3-client.rs`: Copyright (C)
//! 2019, Cloudflare, Inc. All rights reserved. That file and the crate are under the
//! BSD-2-Clause licence (the crate's `license` field and the file's header; not Apache-2.0),
//! whose notice is kept here: redistribution and use in source and binary forms, with or
//! without modification, are permitted provided that source redistributions retain the
//! copyright notice, this list of conditions and the disclaimer; the software is provided
//! "as is" and any express or implied warranties are disclaimed.
//!
//! The quiche plugin ships this file; the host writes it into the tools cache and builds it.

use std::collections::HashMap;
use std::fs::File;
use std::io::Write;
use std::net::{SocketAddr, ToSocketAddrs, UdpSocket};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use quiche::h3::NameValue;

type Res<T> = Result<T, String>;

const USAGE: &str = "usage:
  panther-quiche client (--ca PEM | --insecure) --out DIR [--server-name NAME] [--bind ADDR:PORT]
                 [--timeout SECONDS] URL...
key log: the file named by SSLKEYLOGFILE. exit status: 0 every URL fetched with status 200,
1 failure, 2 bad usage";

/// The plugin sets this (cargo `--config env.…`) to the digest of the shipped sources.
const SOURCE_DIGEST: &str = match option_env!("PANTHER_QUICHE_SOURCE_DIGEST") {
    Some(d) => d,
    None => "dev",
};

const MAX_DATAGRAM_SIZE: usize = 1350;

struct Args {
    ca: Option<String>,
    insecure: bool,
    out: PathBuf,
    server_name: Option<String>,
    bind: Option<String>,
    timeout: Duration,
    urls: Vec<Url>,
}

/// What the client needs of a URL: `https://HOST:PORT/PATH`.
struct Url {
    host: String,
    port: u16,
    path: String,
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--version") {
        println!("panther-quiche (quiche 0.30.0) source {SOURCE_DIGEST}");
        return;
    }
    let args = match parse(&args) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("panther-quiche: {e}\n{USAGE}");
            std::process::exit(2);
        }
    };
    match client(&args) {
        Ok(()) => {}
        Err(e) => {
            eprintln!("panther-quiche: {e}");
            std::process::exit(1);
        }
    }
}

fn parse(args: &[String]) -> Res<Args> {
    let mut it = args.iter();
    match it.next().map(String::as_str) {
        Some("client") => {}
        Some(other) => return Err(format!("unknown command `{other}` (only `client`)")),
        None => return Err("missing command".into()),
    }
    let mut a = Args {
        ca: None,
        insecure: false,
        out: PathBuf::new(),
        server_name: None,
        bind: None,
        timeout: Duration::from_secs(30),
        urls: Vec::new(),
    };
    let mut out = None;
    while let Some(arg) = it.next() {
        let mut value = |flag: &str| it.next().cloned().ok_or_else(|| format!("{flag} needs a value"));
        match arg.as_str() {
            "--ca" => a.ca = Some(value("--ca")?),
            "--insecure" => a.insecure = true,
            "--out" => out = Some(PathBuf::from(value("--out")?)),
            "--server-name" => a.server_name = Some(value("--server-name")?),
            "--bind" => a.bind = Some(value("--bind")?),
            "--timeout" => {
                let v = value("--timeout")?;
                let s: u64 = v
                    .parse()
                    .map_err(|_| format!("--timeout `{v}` is not a number of seconds"))?;
                a.timeout = Duration::from_secs(s);
            }
            flag if flag.starts_with("--") => return Err(format!("unknown flag `{flag}`")),
            url => a.urls.push(parse_url(url)?),
        }
    }
    a.out = out.ok_or("--out DIR is required")?;
    if a.ca.is_some() == a.insecure {
        return Err("give exactly one of --ca PEM and --insecure".into());
    }
    if a.urls.is_empty() {
        return Err("no URL to fetch".into());
    }
    Ok(a)
}

fn parse_url(s: &str) -> Res<Url> {
    let rest = s
        .strip_prefix("https://")
        .ok_or_else(|| format!("`{s}` is not an https:// URL"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !h.is_empty() => (h, p.parse().map_err(|_| format!("`{s}` has a bad port `{p}`"))?),
        _ => (authority, 443),
    };
    let host = host.trim_start_matches('[').trim_end_matches(']').to_string();
    if host.is_empty() {
        return Err(format!("`{s}` has no host"));
    }
    Ok(Url {
        host,
        port,
        path: path.to_string(),
    })
}

/// The file a response is saved as: the path's last segment, refusing names that would leave
/// the output directory.
fn file_name(path: &str) -> Res<String> {
    let base = path.split('?').next().unwrap_or("").rsplit('/').next().unwrap_or("");
    if base.is_empty() || base == "." || base == ".." {
        return Err(format!("request `{path}` names no file to save"));
    }
    Ok(base.to_string())
}

struct Request {
    path: String,
    file: File,
    dest: PathBuf,
    status: Option<String>,
    bytes: u64,
    done: bool,
}

fn client(a: &Args) -> Res<()> {
    let first = &a.urls[0];
    if a.urls.iter().any(|u| u.host != first.host || u.port != first.port) {
        return Err("every URL must name the same server (one connection serves them all)".into());
    }
    let peer: SocketAddr = (first.host.as_str(), first.port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {}:{}: {e}", first.host, first.port))?
        .next()
        .ok_or_else(|| format!("{} resolves to no address", first.host))?;
    let bind = match &a.bind {
        Some(b) => b.clone(),
        None if peer.is_ipv4() => "0.0.0.0:0".into(),
        None => "[::]:0".into(),
    };
    let socket = UdpSocket::bind(&bind).map_err(|e| format!("cannot bind {bind}: {e}"))?;
    let local = socket.local_addr().map_err(|e| e.to_string())?;

    let mut config = quiche::Config::new(quiche::PROTOCOL_VERSION).map_err(|e| format!("quiche config: {e}"))?;
    config.verify_peer(!a.insecure);
    if let Some(ca) = &a.ca {
        config
            .load_verify_locations_from_file(ca)
            .map_err(|e| format!("cannot load the CA certificate {ca}: {e}"))?;
    }
    config
        .set_application_protos(quiche::h3::APPLICATION_PROTOCOL)
        .map_err(|e| format!("quiche ALPN: {e}"))?;
    let keylog = std::env::var_os("SSLKEYLOGFILE").filter(|p| !p.is_empty());
    if keylog.is_some() {
        config.log_keys();
    }
    config.set_max_idle_timeout(10_000);
    config.set_max_recv_udp_payload_size(MAX_DATAGRAM_SIZE);
    config.set_max_send_udp_payload_size(MAX_DATAGRAM_SIZE);
    config.set_initial_max_data(100_000_000);
    config.set_initial_max_stream_data_bidi_local(10_000_000);
    config.set_initial_max_stream_data_bidi_remote(10_000_000);
    config.set_initial_max_stream_data_uni(1_000_000);
    config.set_initial_max_streams_bidi(100);
    config.set_initial_max_streams_uni(100);
    config.set_disable_active_migration(true);

    let mut scid = [0u8; quiche::MAX_CONN_ID_LEN];
    random(&mut scid)?;
    let scid = quiche::ConnectionId::from_ref(&scid);
    // The run's certificate names `localhost` and 127.0.0.1 as an IP SAN, but quiche checks
    // the name as a DNS name; the plugin passes `--server-name localhost` for that reason.
    let name = a.server_name.as_deref().unwrap_or(&first.host);
    let mut conn =
        quiche::connect(Some(name), &scid, local, peer, &mut config).map_err(|e| format!("quiche connect: {e}"))?;
    if let Some(path) = &keylog {
        let f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| format!("cannot open the key log {}: {e}", Path::new(path).display()))?;
        conn.set_keylog(Box::new(f));
    }

    std::fs::create_dir_all(&a.out).map_err(|e| format!("cannot create {}: {e}", a.out.display()))?;
    let h3_config = quiche::h3::Config::new().map_err(|e| format!("h3 config: {e}"))?;
    let mut h3: Option<quiche::h3::Connection> = None;
    let mut requests: HashMap<u64, Request> = HashMap::new();
    let mut sent = false;
    let mut buf = vec![0u8; 65535];
    let mut out = [0u8; MAX_DATAGRAM_SIZE];
    let deadline = Instant::now() + a.timeout;
    let started = Instant::now();

    flush(&mut conn, &socket, &mut out)?;
    loop {
        if Instant::now() >= deadline {
            return Err(format!("gave up after {:?} (timeout)", a.timeout));
        }
        let wait = conn
            .timeout()
            .unwrap_or(Duration::from_millis(100))
            .min(deadline.saturating_duration_since(Instant::now()))
            .max(Duration::from_millis(1));
        socket.set_read_timeout(Some(wait)).map_err(|e| e.to_string())?;
        match socket.recv_from(&mut buf) {
            Ok((len, from)) => {
                let info = quiche::RecvInfo { to: local, from };
                if let Err(e) = conn.recv(&mut buf[..len], info) {
                    eprintln!("panther-quiche: dropped a packet: {e}");
                }
                // Drain what else has already arrived before sending.
                socket.set_nonblocking(true).map_err(|e| e.to_string())?;
                while let Ok((len, from)) = socket.recv_from(&mut buf) {
                    let info = quiche::RecvInfo { to: local, from };
                    if let Err(e) = conn.recv(&mut buf[..len], info) {
                        eprintln!("panther-quiche: dropped a packet: {e}");
                    }
                }
                socket.set_nonblocking(false).map_err(|e| e.to_string())?;
            }
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                conn.on_timeout();
            }
            Err(e) => return Err(format!("recv failed: {e}")),
        }

        if conn.is_closed() {
            break;
        }
        if conn.is_established() && h3.is_none() {
            h3 = Some(
                quiche::h3::Connection::with_transport(&mut conn, &h3_config)
                    .map_err(|e| format!("cannot start HTTP/3: {e}"))?,
            );
        }
        if let Some(h3c) = h3.as_mut() {
            if !sent {
                for u in &a.urls {
                    let name = file_name(&u.path)?;
                    let dest = a.out.join(&name);
                    let file = File::create(&dest).map_err(|e| format!("cannot create {}: {e}", dest.display()))?;
                    let authority = format!("{}:{}", u.host, u.port);
                    let req = [
                        quiche::h3::Header::new(b":method", b"GET"),
                        quiche::h3::Header::new(b":scheme", b"https"),
                        quiche::h3::Header::new(b":authority", authority.as_bytes()),
                        quiche::h3::Header::new(b":path", u.path.as_bytes()),
                        quiche::h3::Header::new(b"user-agent", b"panther-quiche"),
                    ];
                    let id = h3c
                        .send_request(&mut conn, &req, true)
                        .map_err(|e| format!("cannot send the request for {}: {e}", u.path))?;
                    requests.insert(
                        id,
                        Request {
                            path: u.path.clone(),
                            file,
                            dest,
                            status: None,
                            bytes: 0,
                            done: false,
                        },
                    );
                }
                sent = true;
            }
            loop {
                match h3c.poll(&mut conn) {
                    Ok((id, quiche::h3::Event::Headers { list, .. })) => {
                        if let Some(r) = requests.get_mut(&id) {
                            r.status = list
                                .iter()
                                .find(|h| h.name() == b":status")
                                .map(|h| String::from_utf8_lossy(h.value()).into_owned());
                        }
                    }
                    Ok((id, quiche::h3::Event::Data)) => {
                        while let Ok(n) = h3c.recv_body(&mut conn, id, &mut buf) {
                            if let Some(r) = requests.get_mut(&id) {
                                r.file
                                    .write_all(&buf[..n])
                                    .map_err(|e| format!("cannot write {}: {e}", r.dest.display()))?;
                                r.bytes += n as u64;
                            }
                        }
                    }
                    Ok((id, quiche::h3::Event::Finished)) => {
                        if let Some(r) = requests.get_mut(&id) {
                            r.done = true;
                            eprintln!(
                                "panther-quiche: {} -> status {}, {} bytes in {:?}",
                                r.path,
                                r.status.as_deref().unwrap_or("none"),
                                r.bytes,
                                started.elapsed()
                            );
                        }
                    }
                    Ok((id, quiche::h3::Event::Reset(e))) => {
                        if let Some(r) = requests.get(&id) {
                            return Err(format!("the server reset the request for {} with code {e}", r.path));
                        }
                    }
                    Ok((_, quiche::h3::Event::PriorityUpdate)) | Ok((_, quiche::h3::Event::GoAway)) => {}
                    Err(quiche::h3::Error::Done) => break,
                    Err(e) => return Err(format!("HTTP/3 failed: {e}")),
                }
            }
            if !requests.is_empty() && requests.values().all(|r| r.done) && !conn.is_draining() {
                let _ = conn.close(true, 0x100, b"done");
            }
        }
        flush(&mut conn, &socket, &mut out)?;
        if conn.is_closed() {
            break;
        }
    }

    if !conn.is_established() && h3.is_none() {
        // QUIC carries a TLS alert as error code 0x100 + alert (RFC 9001 §4.8).
        let why = match conn.local_error().or(conn.peer_error()) {
            Some(e) if !e.is_app && (0x100..0x200).contains(&e.error_code) => format!(
                "TLS alert {} (a certificate the CA or the server name does not match? see --ca, --server-name)",
                e.error_code - 0x100
            ),
            Some(e) => format!("{e:?}"),
            None => "no answer before the idle timeout".into(),
        };
        return Err(format!("the handshake with {peer} failed: {why}"));
    }
    let mut failed = Vec::new();
    for r in requests.values_mut() {
        r.file
            .flush()
            .map_err(|e| format!("cannot write {}: {e}", r.dest.display()))?;
        if !r.done || r.status.as_deref() != Some("200") {
            failed.push(format!(
                "{} (status {}, {})",
                r.path,
                r.status.as_deref().unwrap_or("none"),
                if r.done { "complete" } else { "incomplete" }
            ));
        }
    }
    if failed.is_empty() && requests.len() == a.urls.len() {
        Ok(())
    } else {
        failed.sort();
        Err(format!("not every request succeeded: {}", failed.join(", ")))
    }
}

/// Sends every packet quiche has ready.
fn flush(conn: &mut quiche::Connection, socket: &UdpSocket, out: &mut [u8]) -> Res<()> {
    loop {
        match conn.send(out) {
            Ok((n, info)) => {
                socket
                    .send_to(&out[..n], info.to)
                    .map_err(|e| format!("send to {} failed: {e}", info.to))?;
            }
            Err(quiche::Error::Done) => return Ok(()),
            Err(e) => {
                let _ = conn.close(false, 0x1, b"fail");
                return Err(format!("quiche send failed: {e}"));
            }
        }
    }
}

/// Connection IDs must be unpredictable; the kernel's generator needs no dependency.
fn random(buf: &mut [u8]) -> Res<()> {
    use std::io::Read;
    File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(buf))
        .map_err(|e| format!("cannot read /dev/urandom: {e}"))
}
