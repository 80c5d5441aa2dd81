//! Packet captures written by the relay itself, one per side of the link: the UDP datagram
//! as it was received or sent, behind an IP and UDP header built from the socket addresses
//! (LINKTYPE_RAW). tshark and Wireshark decode them like any capture, QUIC included.
//!
//! Why not tshark: the relay knows exactly which datagram it dropped or changed and when;
//! two extra tshark processes per test would cost a second and could not tell the two sides
//! of the relay apart on one loopback interface.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::time::SystemTime;

/// LINKTYPE_RAW: each record starts with an IPv4 or IPv6 header.
const LINKTYPE_RAW: u32 = 101;

pub struct PcapWriter {
    out: BufWriter<File>,
    /// Records written so far: the last one's frame number in Wireshark's counting.
    frames: u64,
    /// Bytes written, and the most the file may hold: an IUT that floods the link must not
    /// fill the disk.
    bytes: u64,
    limit: u64,
    /// A record was left out because the file was full.
    pub full: bool,
}

impl PcapWriter {
    /// A capture file of at most `limit` bytes.
    pub fn create(path: &Path, limit: u64) -> io::Result<PcapWriter> {
        let mut out = BufWriter::with_capacity(1 << 16, File::create(path)?);
        out.write_all(&0xa1b2_c3d4u32.to_le_bytes())?;
        out.write_all(&2u16.to_le_bytes())?;
        out.write_all(&4u16.to_le_bytes())?;
        out.write_all(&0i32.to_le_bytes())?;
        out.write_all(&0u32.to_le_bytes())?;
        out.write_all(&65_535u32.to_le_bytes())?;
        out.write_all(&LINKTYPE_RAW.to_le_bytes())?;
        Ok(PcapWriter { out, frames: 0, bytes: 24, limit, full: false })
    }

    /// Records one datagram from `src` to `dst` with traffic class `tos` (ECN bits included);
    /// returns its frame number (1-based, as Wireshark counts), or `None` when the file is full.
    pub fn record(
        &mut self,
        at: SystemTime,
        src: SocketAddr,
        dst: SocketAddr,
        tos: u8,
        payload: &[u8],
    ) -> io::Result<Option<u64>> {
        let packet = ip_udp(src, dst, tos, payload);
        let size = 16 + packet.len() as u64;
        if self.bytes + size > self.limit {
            self.full = true;
            return Ok(None);
        }
        self.bytes += size;
        let t = at.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
        self.out.write_all(&(t.as_secs() as u32).to_le_bytes())?;
        self.out.write_all(&t.subsec_micros().to_le_bytes())?;
        self.out.write_all(&(packet.len() as u32).to_le_bytes())?;
        self.out.write_all(&(packet.len() as u32).to_le_bytes())?;
        self.out.write_all(&packet)?;
        self.frames += 1;
        Ok(Some(self.frames))
    }

    pub fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

/// An IP + UDP packet around `payload`. Addresses of different families (never produced by
/// the relay) are written as IPv4-mapped IPv6.
fn ip_udp(src: SocketAddr, dst: SocketAddr, tos: u8, payload: &[u8]) -> Vec<u8> {
    let udp_len = (8 + payload.len()) as u16;
    let mut udp = Vec::with_capacity(udp_len as usize);
    udp.extend_from_slice(&src.port().to_be_bytes());
    udp.extend_from_slice(&dst.port().to_be_bytes());
    udp.extend_from_slice(&udp_len.to_be_bytes());
    udp.extend_from_slice(&[0, 0]);
    udp.extend_from_slice(payload);
    match (src.ip(), dst.ip()) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            let mut p = Vec::with_capacity(20 + udp.len());
            p.extend_from_slice(&[0x45, tos]);
            p.extend_from_slice(&(20 + udp_len).to_be_bytes());
            p.extend_from_slice(&[0, 0, 0x40, 0, 64, 17, 0, 0]);
            p.extend_from_slice(&s.octets());
            p.extend_from_slice(&d.octets());
            let sum = checksum(&[&p[..20]]);
            p[10..12].copy_from_slice(&sum.to_be_bytes());
            // The UDP checksum is optional over IPv4; leaving it 0 keeps tshark quiet.
            p.extend_from_slice(&udp);
            p
        }
        (s, d) => {
            let v6 = |a: IpAddr| match a {
                IpAddr::V4(v) => v.to_ipv6_mapped(),
                IpAddr::V6(v) => v,
            };
            let (s, d) = (v6(s).octets(), v6(d).octets());
            let pseudo_len = u32::from(udp_len).to_be_bytes();
            let sum = checksum(&[&s, &d, &pseudo_len, &[0, 0, 0, 17], &udp]);
            let sum = if sum == 0 { 0xffff } else { sum };
            udp[6..8].copy_from_slice(&sum.to_be_bytes());
            let mut p = Vec::with_capacity(40 + udp.len());
            let flow = (0x6u32 << 28) | (u32::from(tos) << 20);
            p.extend_from_slice(&flow.to_be_bytes());
            p.extend_from_slice(&udp_len.to_be_bytes());
            p.extend_from_slice(&[17, 64]);
            p.extend_from_slice(&s);
            p.extend_from_slice(&d);
            p.extend_from_slice(&udp);
            p
        }
    }
}

/// The Internet checksum over the concatenation of `parts` (each of even length but the last).
fn checksum(parts: &[&[u8]]) -> u16 {
    let mut sum: u32 = 0;
    for part in parts {
        let mut chunks = part.chunks_exact(2);
        for c in &mut chunks {
            sum += u32::from(u16::from_be_bytes([c[0], c[1]]));
        }
        if let [last] = chunks.remainder() {
            sum += u32::from(*last) << 8;
        }
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv4_header_checksums_to_zero() {
        let p = ip_udp("127.0.0.1:5000".parse().unwrap(), "127.0.0.2:443".parse().unwrap(), 2, b"hello");
        assert_eq!(p.len(), 20 + 8 + 5);
        assert_eq!(checksum(&[&p[..20]]), 0);
        assert_eq!(p[1], 2, "the ECN bits are kept");
        assert_eq!(&p[20..22], &5000u16.to_be_bytes());
    }

    #[test]
    fn a_full_capture_records_nothing_more() {
        let d = tempfile::tempdir().unwrap();
        let path = d.path().join("c.pcap");
        let mut w = PcapWriter::create(&path, 24 + 2 * (16 + 20 + 8 + 100)).unwrap();
        let (a, b): (SocketAddr, SocketAddr) = ("127.0.0.1:1".parse().unwrap(), "127.0.0.1:2".parse().unwrap());
        let frames: Vec<Option<u64>> =
            (0..3).map(|_| w.record(SystemTime::now(), a, b, 0, &[0; 100]).unwrap()).collect();
        assert_eq!(frames, [Some(1), Some(2), None]);
        assert!(w.full);
        w.flush().unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 24 + 2 * 144);
    }

    #[test]
    fn ipv6_udp_checksum_verifies() {
        let (s, d): (SocketAddr, SocketAddr) = ("[::1]:5000".parse().unwrap(), "[::1]:443".parse().unwrap());
        let p = ip_udp(s, d, 0, b"odd");
        let udp = &p[40..];
        let IpAddr::V6(a) = s.ip() else { unreachable!() };
        let len = (udp.len() as u32).to_be_bytes();
        assert_eq!(checksum(&[&a.octets(), &a.octets(), &len, &[0, 0, 0, 17], udp]), 0);
    }
}
