//! Decodes a capture into [`types::QuicPacket`]s with tshark.
//!
//! Owns the one place the host runs tshark: `tshark -r PCAP -o tls.keylog_file:KEYS
//! -d udp.port==N,quic -T json --no-duplicate-keys -J "frame ip ipv6 udp quic http3"`, read as
//! a stream (one frame at a time) so a large capture never sits in memory. Coalesced QUIC
//! packets of one datagram become separate records that share the frame number. Frame, TLS
//! and HTTP/3 type numbers are turned into the names the WIT documents (`crypto`,
//! `client_hello`, `headers`).
//!
//! Does not judge anything and does not capture: it reads what the environment recorded.

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde::de::{Deserializer as _, IgnoredAny, SeqAccess, Visitor};
use serde_json::Value;

use crate::plugin::types::QuicPacket;

/// What to decode.
#[derive(Debug, Clone)]
pub struct DecodeRequest {
    pub pcap: PathBuf,
    pub keylogs: Vec<PathBuf>,
    pub ports: Vec<u16>,
    pub max_packets: usize,
}

/// Decoded packets, in capture order.
#[derive(Debug, Clone, Default)]
pub struct Decoded {
    pub packets: Vec<QuicPacket>,
    /// More QUIC packets were in the capture than `max_packets`.
    pub truncated: bool,
    /// Something the tester should know (no key log, tshark warnings).
    pub note: Option<String>,
}

/// Why a capture could not be decoded at all.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum DecodeError {
    #[error("tshark is not installed, so the capture {pcap} was not decoded")]
    #[diagnostic(code(panther::evidence::no_tshark), help("install it with `make setup` (apt-get install tshark)"))]
    NoTshark { pcap: String },
    #[error("the capture {pcap} does not exist")]
    #[diagnostic(code(panther::evidence::no_capture), help("check that the environment captured this test's traffic"))]
    NoCapture { pcap: String },
    #[error("tshark could not read {pcap}: {message}")]
    #[diagnostic(
        code(panther::evidence::tshark_failed),
        help("open the capture with `tshark -r` to see what is wrong with it")
    )]
    Tshark { pcap: String, message: String },
    #[error("could not prepare the merged key log for {pcap}: {source}")]
    #[diagnostic(code(panther::evidence::keylog))]
    Keylog { pcap: String, source: std::io::Error },
}

/// Runs tshark over the capture and maps every QUIC packet it finds.
///
/// # Errors
/// [`DecodeError`] when tshark is missing, the capture is missing or unreadable.
pub fn decode(req: &DecodeRequest) -> Result<Decoded, DecodeError> {
    let pcap_s = req.pcap.display().to_string();
    if !req.pcap.is_file() {
        return Err(DecodeError::NoCapture { pcap: pcap_s });
    }
    let mut notes = Vec::new();
    let keylog = merge_keylogs(&req.keylogs, &mut notes)
        .map_err(|source| DecodeError::Keylog { pcap: pcap_s.clone(), source })?;

    let mut cmd = Command::new("tshark");
    cmd.arg("-r").arg(&req.pcap).arg("-n");
    if let Some(k) = &keylog {
        cmd.arg("-o").arg(format!("tls.keylog_file:{}", k.path.display()));
    }
    for p in &req.ports {
        cmd.arg("-d").arg(format!("udp.port=={p},quic"));
    }
    cmd.args(["-Y", "quic", "-T", "json", "--no-duplicate-keys", "-J", "frame ip ipv6 udp quic http3"]);
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(DecodeError::NoTshark { pcap: pcap_s }),
        Err(e) => return Err(DecodeError::Tshark { pcap: pcap_s, message: e.to_string() }),
    };
    let stderr = child.stderr.take().expect("stderr is piped");
    let err_thread = std::thread::spawn(move || {
        let mut lines = Vec::new();
        for l in BufReader::new(stderr).lines().map_while(Result::ok) {
            // tshark always warns when run as root; that says nothing about the capture.
            if !l.contains("Running as user") && lines.len() < 20 {
                lines.push(l);
            }
        }
        lines
    });
    let stdout = BufReader::new(child.stdout.take().expect("stdout is piped"));
    let mut out = Decoded::default();
    let mut total = 0usize;
    let max = req.max_packets;
    let parse = {
        let mut de = serde_json::Deserializer::from_reader(stdout);
        let r = de.deserialize_seq(FrameVisitor(|frame: Value| {
            for p in map_frame(&frame) {
                total += 1;
                if out.packets.len() < max {
                    out.packets.push(p);
                }
            }
        }));
        r
    };
    let status = child.wait();
    let err_lines = err_thread.join().unwrap_or_default();
    let ok = matches!(&status, Ok(s) if s.success());
    if !ok {
        let message =
            if err_lines.is_empty() { format!("tshark exited with {status:?}") } else { err_lines.join("; ") };
        return Err(DecodeError::Tshark { pcap: pcap_s, message });
    }
    if let Err(e) = parse {
        // An empty capture makes tshark print nothing at all, which is not a JSON array.
        if !(e.is_eof() && total == 0) {
            return Err(DecodeError::Tshark { pcap: pcap_s, message: format!("unreadable JSON output: {e}") });
        }
    }
    out.truncated = total > out.packets.len();
    if out.truncated {
        notes.push(format!("the capture holds {total} QUIC packets; only the first {max} are included"));
    }
    if out.packets.is_empty() {
        notes.push("the capture holds no QUIC packets".to_string());
    }
    if !err_lines.is_empty() {
        notes.push(format!("tshark: {}", err_lines.join("; ")));
    }
    out.note = (!notes.is_empty()).then(|| notes.join("; "));
    Ok(out)
}

/// A merged key log that removes itself.
struct TempKeylog {
    path: PathBuf,
}

impl Drop for TempKeylog {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

fn merge_keylogs(paths: &[PathBuf], notes: &mut Vec<String>) -> std::io::Result<Option<TempKeylog>> {
    let mut merged = String::new();
    for p in paths {
        match std::fs::read_to_string(p) {
            Ok(s) => {
                merged.push_str(&s);
                if !s.ends_with('\n') && !s.is_empty() {
                    merged.push('\n');
                }
            }
            Err(_) => notes.push(format!("key log {} is missing", p.display())),
        }
    }
    if merged.trim().is_empty() {
        notes.push("no TLS key log: QUIC payloads could not be decrypted".to_string());
        return Ok(None);
    }
    static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let path = std::env::temp_dir().join(format!("panther-keylog-{}-{n}.log", std::process::id()));
    let mut f = std::fs::File::create(&path)?;
    f.write_all(merged.as_bytes())?;
    Ok(Some(TempKeylog { path }))
}

/// Feeds each element of tshark's top-level JSON array to a closure, one at a time.
struct FrameVisitor<F>(F);

impl<'de, F: FnMut(Value)> Visitor<'de> for FrameVisitor<F> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("tshark's JSON array of frames")
    }
    fn visit_seq<A: SeqAccess<'de>>(mut self, mut seq: A) -> Result<(), A::Error> {
        while let Some(v) = seq.next_element::<Value>()? {
            (self.0)(v);
        }
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(())
    }
}

/// `x` as a list: tshark writes one value plainly and repeated values as an array.
fn each(v: Option<&Value>) -> Vec<&Value> {
    match v {
        None => Vec::new(),
        Some(Value::Array(a)) => a.iter().collect(),
        Some(v) => vec![v],
    }
}

fn s<'a>(v: &'a Value, key: &str) -> Option<&'a str> {
    match v.get(key)? {
        Value::String(s) => Some(s),
        Value::Array(a) => a.first()?.as_str(),
        _ => None,
    }
}

fn num(text: &str) -> Option<u64> {
    match text.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => text.parse().ok(),
    }
}

/// Every value of `key` anywhere under `v`, depth first.
fn find_all<'a>(v: &'a Value, key: &str, out: &mut Vec<&'a Value>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                if k == key {
                    out.extend(each(Some(x)));
                } else {
                    find_all(x, key, out);
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| find_all(x, key, out)),
        _ => {}
    }
}

fn strings_under(v: &Value, key: &str) -> Vec<String> {
    let mut out = Vec::new();
    find_all(v, key, &mut out);
    out.into_iter().filter_map(|x| x.as_str().map(str::to_string)).collect()
}

/// Maps one tshark frame to its QUIC packets (several when coalesced).
pub fn map_frame(frame: &Value) -> Vec<QuicPacket> {
    let layers = match frame.pointer("/_source/layers") {
        Some(l) => l,
        None => return Vec::new(),
    };
    let fr = layers.get("frame").unwrap_or(&Value::Null);
    let number = s(fr, "frame.number").and_then(num).unwrap_or(0) as u32;
    let time_ms = s(fr, "frame.time_relative").and_then(|t| t.parse::<f64>().ok()).unwrap_or(0.0) * 1000.0;
    let (src_ip, dst_ip, ecn) = if let Some(ip) = layers.get("ip") {
        let ecn = ip.get("ip.dsfield_tree").and_then(|t| s(t, "ip.dsfield.ecn")).and_then(num).unwrap_or(0);
        (s(ip, "ip.src").unwrap_or("").to_string(), s(ip, "ip.dst").unwrap_or("").to_string(), ecn)
    } else if let Some(ip) = layers.get("ipv6") {
        let mut e = Vec::new();
        find_all(ip, "ipv6.tclass.ecn", &mut e);
        let ecn = e.first().and_then(|v| v.as_str()).and_then(num).unwrap_or(0);
        (format!("[{}]", s(ip, "ipv6.src").unwrap_or("")), format!("[{}]", s(ip, "ipv6.dst").unwrap_or("")), ecn)
    } else {
        (String::new(), String::new(), 0)
    };
    let udp = layers.get("udp").unwrap_or(&Value::Null);
    let src = format!("{src_ip}:{}", s(udp, "udp.srcport").unwrap_or("0"));
    let dst = format!("{dst_ip}:{}", s(udp, "udp.dstport").unwrap_or("0"));
    let udp_length = s(udp, "udp.length").and_then(num).unwrap_or(0) as u32;

    // HTTP/3 is a layer of its own, not nested in the QUIC packet that carried it; it goes to
    // the last 1-RTT packet of the datagram, the only kind that carries application streams.
    let mut h3 = Vec::new();
    for l in each(layers.get("http3")) {
        for t in strings_under(l, "http3.frame_type") {
            h3.push(h3_frame_name(num(&t).unwrap_or(u64::MAX)));
        }
    }

    let mut packets: Vec<QuicPacket> = each(layers.get("quic"))
        .into_iter()
        .filter_map(|q| map_quic(q, number, time_ms, &src, &dst, ecn as u8, udp_length))
        .collect();
    if !h3.is_empty() {
        if let Some(p) = packets.iter_mut().rev().find(|p| p.packet_type == "1rtt" || p.packet_type == "0rtt") {
            p.http3_frames = h3;
        }
    }
    packets
}

fn cid(v: Option<&str>) -> String {
    v.unwrap_or("").replace(':', "")
}

fn map_quic(q: &Value, frame: u32, time_ms: f64, src: &str, dst: &str, ecn: u8, udp_length: u32) -> Option<QuicPacket> {
    if !q.is_object() {
        return None;
    }
    let short = q.get("quic.short");
    let hdr = short.unwrap_or(q);
    let long = s(q, "quic.header_form") == Some("1");
    let version = if long { s(q, "quic.version").map(|v| v.trim_start_matches("0x").to_string()) } else { None };
    let packet_type = if long {
        if version.as_deref() == Some("00000000") {
            "vn".to_string()
        } else {
            // tshark reports v1 numbering for every version it knows (v2 packets are
            // renumbered by the dissector), so one table serves both.
            match s(q, "quic.long.packet_type").and_then(num) {
                Some(0) => "initial",
                Some(1) => "0rtt",
                Some(2) => "handshake",
                Some(3) => "retry",
                _ => "unknown",
            }
            .to_string()
        }
    } else if short.is_some() {
        "1rtt".to_string()
    } else {
        return None;
    };
    let packet_number = s(hdr, "quic.packet_number").and_then(num);
    let dcid = cid(s(hdr, "quic.dcid").or_else(|| s(q, "quic.dcid")));
    let scid = if long { Some(cid(s(q, "quic.scid"))) } else { None };
    let key_phase = short.and_then(|h| s(h, "quic.key_phase")).map(|k| k == "1" || k == "True" || k == "true");

    let mut frames = Vec::new();
    let mut stream_bytes = 0u64;
    let mut tls_handshake = Vec::new();
    let mut cipher = None;
    let mut tls_psk = false;
    let mut tls_early_data = false;
    let quic_frames = each(q.get("quic.frame"));
    // aioquic pads some datagrams with zero bytes after its last packet; tshark reads them as
    // a short-header packet with the fixed bit 0 and fails to decrypt it. A receiver discards
    // such bytes (RFC 9000 §17.3.1), so they are no packet; with grease_quic_bit (RFC 9287) a
    // real one decrypts and is kept.
    if !long && s(hdr, "quic.fixed_bit") == Some("0") && quic_frames.is_empty() {
        return None;
    }
    for f in &quic_frames {
        let Some(t) = s(f, "quic.frame_type").and_then(num) else {
            continue;
        };
        frames.push(frame_name(t));
        if (0x08..=0x0f).contains(&t) {
            stream_bytes += match s(f, "quic.stream.length").and_then(num) {
                Some(n) => n,
                None => s(f, "quic.stream_data").map(|d| d.len().div_ceil(3) as u64).unwrap_or(0),
            };
        }
        for hs in each(f.get("tls")).into_iter().flat_map(|t| each(t.get("tls.handshake"))) {
            let Some(ht) = s(hs, "tls.handshake.type").and_then(num) else {
                continue;
            };
            tls_handshake.push(tls_handshake_name(ht));
            match ht {
                1 => {
                    let offered: Vec<String> = strings_under(hs, "tls.handshake.ciphersuite")
                        .iter()
                        .filter_map(|c| num(c))
                        .filter(|c| !is_grease(*c))
                        .map(cipher_name)
                        .collect();
                    if !offered.is_empty() {
                        cipher = Some(offered.join(","));
                    }
                    let ext: Vec<u64> =
                        strings_under(hs, "tls.handshake.extension.type").iter().filter_map(|e| num(e)).collect();
                    tls_psk |= ext.contains(&41);
                    tls_early_data |= ext.contains(&42);
                }
                2 => cipher = s(hs, "tls.handshake.ciphersuite").and_then(num).map(cipher_name),
                _ => {}
            }
        }
    }
    // Retry and version negotiation packets are not encrypted; anything else is decrypted
    // exactly when tshark could list its frames.
    let decrypted = matches!(packet_type.as_str(), "retry" | "vn") || !quic_frames.is_empty();
    Some(QuicPacket {
        frame,
        time_ms,
        src: src.to_string(),
        dst: dst.to_string(),
        packet_type,
        version,
        packet_number,
        dcid,
        scid,
        frames,
        stream_bytes,
        ecn,
        udp_length,
        key_phase,
        decrypted,
        cipher,
        http3_frames: Vec::new(),
        tls_handshake,
        tls_psk,
        tls_early_data,
    })
}

fn is_grease(v: u64) -> bool {
    v & 0x0f0f == 0x0a0a && (v >> 8) == (v & 0xff)
}

/// QUIC frame type names (RFC 9000 §19 and common extensions).
pub fn frame_name(t: u64) -> String {
    match t {
        0x00 => "padding",
        0x01 => "ping",
        0x02 => "ack",
        0x03 => "ack_ecn",
        0x04 => "reset_stream",
        0x05 => "stop_sending",
        0x06 => "crypto",
        0x07 => "new_token",
        0x08..=0x0f => "stream",
        0x10 => "max_data",
        0x11 => "max_stream_data",
        0x12 => "max_streams_bidi",
        0x13 => "max_streams_uni",
        0x14 => "data_blocked",
        0x15 => "stream_data_blocked",
        0x16 => "streams_blocked_bidi",
        0x17 => "streams_blocked_uni",
        0x18 => "new_connection_id",
        0x19 => "retire_connection_id",
        0x1a => "path_challenge",
        0x1b => "path_response",
        0x1c => "connection_close",
        0x1d => "connection_close_app",
        0x1e => "handshake_done",
        0x30 | 0x31 => "datagram",
        0xaf => "ack_frequency",
        _ => return format!("unknown_0x{t:x}"),
    }
    .to_string()
}

/// TLS 1.3 handshake message names (RFC 8446 §4).
pub fn tls_handshake_name(t: u64) -> String {
    match t {
        1 => "client_hello",
        2 => "server_hello",
        4 => "new_session_ticket",
        5 => "end_of_early_data",
        8 => "encrypted_extensions",
        11 => "certificate",
        13 => "certificate_request",
        15 => "certificate_verify",
        20 => "finished",
        24 => "key_update",
        _ => return format!("unknown_{t}"),
    }
    .to_string()
}

/// TLS 1.3 cipher suite names; others as hex.
pub fn cipher_name(c: u64) -> String {
    match c {
        0x1301 => "TLS_AES_128_GCM_SHA256",
        0x1302 => "TLS_AES_256_GCM_SHA384",
        0x1303 => "TLS_CHACHA20_POLY1305_SHA256",
        0x1304 => "TLS_AES_128_CCM_SHA256",
        0x1305 => "TLS_AES_128_CCM_8_SHA256",
        _ => return format!("0x{c:04x}"),
    }
    .to_string()
}

/// HTTP/3 frame type names (RFC 9114 §7.2).
pub fn h3_frame_name(t: u64) -> String {
    match t {
        0x00 => "data",
        0x01 => "headers",
        0x03 => "cancel_push",
        0x04 => "settings",
        0x05 => "push_promise",
        0x07 => "goaway",
        0x0d => "max_push_id",
        _ => return format!("unknown_0x{t:x}"),
    }
    .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_cover_the_frames_testers_look_for() {
        assert_eq!(frame_name(0x0b), "stream");
        assert_eq!(frame_name(0x03), "ack_ecn");
        assert_eq!(frame_name(0x12), "max_streams_bidi");
        assert_eq!(frame_name(0x4242), "unknown_0x4242");
        assert_eq!(cipher_name(0x1303), "TLS_CHACHA20_POLY1305_SHA256");
        assert!(is_grease(0x0a0a) && is_grease(0xfafa) && !is_grease(0x1301));
    }

    #[test]
    fn a_coalesced_datagram_becomes_one_packet_per_quic_layer() {
        let frame: Value = serde_json::json!({"_source": {"layers": {
        "frame": {"frame.number": "2", "frame.time_relative": "0.5"},
        "ip": {"ip.src": "10.0.0.1", "ip.dst": "10.0.0.2", "ip.dsfield_tree": {"ip.dsfield.ecn": "2"}},
        "udp": {"udp.srcport": "443", "udp.dstport": "5000", "udp.length": "1200"},
        "quic": [
            {"quic.header_form": "1", "quic.long.packet_type": "0", "quic.version": "0x00000001",
             "quic.dcid": "aa:bb", "quic.scid": "cc:dd", "quic.packet_number": "0",
             "quic.frame": [{"quic.frame_type": "2"}, {"quic.frame_type": "6", "tls": {"tls.handshake": {
                 "tls.handshake.type": "2", "tls.handshake.ciphersuite": "0x1303"}}}]},
            {"quic.short": {"quic.header_form": "0", "quic.key_phase": "1", "quic.packet_number": "7", "quic.dcid": "01:02"},
             "quic.frame": {"quic.frame_type": "8", "quic.stream.length": "10"}}
        ]}}});
        let p = map_frame(&frame);
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].packet_type, "initial");
        assert_eq!(p[0].src, "10.0.0.1:443");
        assert_eq!(p[0].ecn, 2);
        assert_eq!(p[0].time_ms, 500.0);
        assert_eq!(p[0].frames, vec!["ack", "crypto"]);
        assert_eq!(p[0].tls_handshake, vec!["server_hello"]);
        assert_eq!(p[0].cipher.as_deref(), Some("TLS_CHACHA20_POLY1305_SHA256"));
        assert_eq!(p[0].scid.as_deref(), Some("ccdd"));
        assert_eq!(p[1].packet_type, "1rtt");
        assert_eq!(p[1].key_phase, Some(true));
        assert_eq!(p[1].stream_bytes, 10);
        assert_eq!(p[1].dcid, "0102");
        assert!(p[1].decrypted);
    }

    // Zero padding after a datagram's last packet (aioquic) is not an undecryptable packet.
    #[test]
    fn zero_padding_after_the_last_packet_is_no_packet() {
        let frame: Value = serde_json::json!({"_source": {"layers": {
        "frame": {"frame.number": "2", "frame.time_relative": "0.5"},
        "udp": {"udp.srcport": "443", "udp.dstport": "5000", "udp.length": "1214"},
        "quic": [
            {"quic.header_form": "1", "quic.fixed_bit": "1", "quic.long.packet_type": "2", "quic.version": "0x00000001",
             "quic.dcid": "", "quic.scid": "cc:dd", "quic.packet_number": "1", "quic.frame": {"quic.frame_type": "6"}},
            {"quic.packet_length": "206", "quic.short": {"quic.header_form": "0", "quic.fixed_bit": "0", "quic.key_phase": "0",
             "quic.packet_number": "1613128255", "quic.protected_payload": "00:00:00:00"}}
        ]}}});
        let p = map_frame(&frame);
        assert_eq!(p.len(), 1, "{p:?}");
        assert_eq!(p[0].packet_type, "handshake");
    }
}
