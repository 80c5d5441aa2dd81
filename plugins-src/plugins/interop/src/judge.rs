//! Judges one interop test case the way the quic-interop-runner does: from the capture the
//! host decoded and the files it compared, never from what an endpoint says about itself.
//!
//! Owns [`judge`], the per-test-case checks and the table of test cases ([`TESTCASES`]). Pure
//! functions over [`Outcome`]: no bindings, no I/O, so every check is unit-tested natively
//! on fixtures recorded with real QUIC stacks (`tests/fixtures/evidence/`).
//!
//! Order of judgement (as the runner's `_run_test`): an endpoint that exits 127 makes the
//! test `unsupported-by-iut`; a client that fails or times out, or a server that dies on its
//! own, makes it `fail`; evidence the harness could not produce (no capture, no keys when
//! the check needs decryption) is `infra-error`; otherwise the test case's check decides.

use crate::model::{ArtifactKind, EnvironmentKind, Outcome, QuicPacket, Role, Status, Verdict};

/// QUIC version 1 and version 2 on the wire.
pub const V1: &str = "00000001";
pub const V2: &str = "6b3343cf";

/// One interop test case.
#[derive(Debug, Clone, Copy)]
pub struct TestCase {
    pub name: &'static str,
    /// The runner's abbreviation, used in the result matrix.
    pub abbr: &'static str,
    /// TESTCASE the server and the client are started with (the runner sends some tests
    /// under another name, e.g. `multiplexing` as `transfer`).
    pub server_testcase: &'static str,
    pub client_testcase: &'static str,
    /// Whether judging needs decrypted packets (an SSLKEYLOGFILE).
    pub needs_keys: bool,
    /// What it checks, one line.
    pub doc: &'static str,
    /// `Some(why)` when the check needs something no environment here provides yet.
    pub needs: Option<&'static str>,
    /// `Some(link)` when the case runs over an impaired link. The host puts the runner's
    /// scenario under such a case on localhost (its link emulator); elsewhere the case is
    /// unsupported by the environment.
    pub link: Option<&'static str>,
}

const fn tc(
    name: &'static str,
    abbr: &'static str,
    s: &'static str,
    c: &'static str,
    needs_keys: bool,
    doc: &'static str,
) -> TestCase {
    TestCase {
        name,
        abbr,
        server_testcase: s,
        client_testcase: c,
        needs_keys,
        doc,
        needs: None,
        link: None,
    }
}

/// A test case over an emulated link (`link` says which).
const fn over(link: &'static str, t: TestCase) -> TestCase {
    TestCase {
        link: Some(link),
        ..t
    }
}

const fn later(
    name: &'static str,
    abbr: &'static str,
    s: &'static str,
    c: &'static str,
    needs: &'static str,
) -> TestCase {
    TestCase {
        name,
        abbr,
        server_testcase: s,
        client_testcase: c,
        needs_keys: false,
        doc: "not judged yet",
        needs: Some(needs),
        link: None,
    }
}

/// Every test case the tester knows, in the runner's order.
pub const TESTCASES: &[TestCase] = &[
    tc("handshake", "H", "handshake", "handshake", false, "one handshake, no Retry, files intact"),
    tc("transfer", "DC", "transfer", "transfer", false, "one handshake, files intact"),
    tc("chacha20", "C20", "chacha20", "chacha20", false, "every ClientHello offers only TLS_CHACHA20_POLY1305_SHA256, one handshake, files intact"),
    tc("multiplexing", "M", "transfer", "transfer", true, "one handshake, the server raised its stream limit during the run (MAX_STREAMS), files intact"),
    tc("retry", "S", "retry", "retry", false, "a Retry was sent, the client's next Initial uses the Retry's connection ID and does not reset its packet numbers, files intact"),
    tc("resumption", "R", "resumption", "resumption", true, "two handshakes, the second resumes (PSK) and carries no Certificate, files intact"),
    tc("zerortt", "Z", "zerortt", "zerortt", false, "two handshakes, the second sends stream data in 0-RTT and at most half as much in 1-RTT, files intact"),
    tc("http3", "3", "http3", "http3", false, "one handshake, HTTP/3 frames on the wire, files intact"),
    tc("keyupdate", "U", "transfer", "keyupdate", true, "one handshake, both sides send 1-RTT packets in key phase 1, files intact"),
    tc("v2", "V2", "v2", "v2", false, "client Initial in v1, server Initial and all Handshake packets in v2, files intact"),
    tc("ecn", "E", "ecn", "ecn", true, "both sides mark every 1-RTT packet with one ECT codepoint and never CE, both send ACK_ECN, files intact"),
    over("a droplist: the client's packets 2 to 7", tc("amplificationlimit", "A", "transfer", "transfer", false, "server Handshake data of at least 7500 bytes, and before the client's first Handshake packet the server sends at most 3x what it received (4x tolerated, as by the runner)")),
    over("750 ms one-way delay", tc("longrtt", "LR", "handshake", "handshake", false, "the client retransmitted its ClientHello (at least 2), one handshake, no Retry, files intact")),
    over("30% loss, bursts of at most 3", tc("handshakeloss", "L1", "multiconnect", "multiconnect", false, "one handshake per file, files intact")),
    over("blackholes: 5 s on, 2 s off", tc("blackhole", "B", "transfer", "transfer", false, "one handshake, files intact")),
    over("2% loss", tc("transferloss", "L2", "transfer", "transfer", false, "one handshake, files intact")),
    over("30% corruption", tc("handshakecorruption", "C1", "multiconnect", "multiconnect", false, "one handshake per file, files intact")),
    over("2% corruption", tc("transfercorruption", "C2", "transfer", "transfer", false, "one handshake, files intact")),
    tc("ipv6", "6", "transfer", "transfer", false, "every packet over IPv6, one handshake, files intact"),
    over("a NAT that rebinds the client's port (1 s, then every 5 s)", tc("rebind-port", "BP", "transfer", "transfer", true, "the server saw several client ports and probed each new one with PATH_CHALLENGE, files intact")),
    over("a NAT that rebinds the client's address (1 s, then every 5 s)", tc("rebind-addr", "BA", "transfer", "transfer", true, "the server saw several client addresses and probed each new one with PATH_CHALLENGE, files intact")),
    tc("connectionmigration", "CM", "connectionmigration", "transfer", true, "the client moved to the server's preferred address, opened it with PATH_CHALLENGE and a new connection ID, the server answered there, one handshake, files intact"),
    over("10 Mbit/s, 15 ms", tc("goodput", "G", "transfer", "transfer", false, "one handshake, files intact; the goodput in Mbit/s")),
    later("crosstraffic", "C", "transfer", "transfer", "competing TCP traffic on a shaped link"),
];

/// Looks a test case up by name (`multiconnect`, the name the runner starts endpoints with,
/// is `handshakeloss`).
pub fn testcase(name: &str) -> Option<&'static TestCase> {
    let name = if name == "multiconnect" { "handshakeloss" } else { name };
    TESTCASES.iter().find(|t| t.name == name)
}

/// The TESTCASE value an endpoint playing `role` gets for test case `name` (the runner's
/// contract; IUT plugins that follow it read `PlanRequest.testcase` through this table).
pub fn endpoint_testcase(name: &str, role: Role) -> Option<&'static str> {
    testcase(name).map(|t| {
        if role == Role::Server {
            t.server_testcase
        } else {
            t.client_testcase
        }
    })
}

fn verdict(status: Status, reasons: Vec<String>, evidence: Vec<String>) -> Verdict {
    Verdict {
        status,
        reasons,
        evidence,
    }
}

/// Judges one finished test. The test case comes from `outcome.testcase`, or else the test's
/// name.
pub fn judge(o: &Outcome) -> Verdict {
    let name = o.testcase.clone().unwrap_or_else(|| o.test.clone());
    let Some(tc) = testcase(&name) else {
        let known: Vec<&str> = TESTCASES.iter().map(|t| t.name).collect();
        return verdict(
            Status::InfraError,
            vec![format!(
                "unknown interop test case `{name}`; known ones: {}",
                known.join(", ")
            )],
            vec![],
        );
    };
    if let Some(v) = judge_exits(o, tc) {
        return v;
    }
    // Localhost (`::1`) and Docker (the `ipv6` test's dual-stack networks) give the services
    // IPv6 addresses; Shadow's networks are IPv4.
    if tc.name == "ipv6" && o.environment == EnvironmentKind::Shadow {
        return verdict(
            Status::UnsupportedByEnvironment,
            vec!["`ipv6` needs an IPv6 network; this host gives one on localhost (::1) and under Docker, not under Shadow".into()],
            vec![],
        );
    }
    if let Some(needs) = tc.needs {
        return verdict(
            Status::UnsupportedByEnvironment,
            vec![format!(
                "`{}` needs {needs}, which this run's environment does not emulate",
                tc.name
            )],
            vec![],
        );
    }
    // The host runs a test case's link on localhost and Docker (refusing the test where it
    // cannot); Shadow simulates only the links experiments write.
    if let (Some(link), true) = (tc.link, o.environment == EnvironmentKind::Shadow) {
        return verdict(
            Status::UnsupportedByEnvironment,
            vec![format!(
                "`{}` runs over {link}; the host emulates a test case's link on localhost and Docker, not under Shadow",
                tc.name
            )],
            vec![],
        );
    }
    let ev = Evidence::new(o);
    if o.packets.is_empty() {
        let why = o
            .capture_note
            .clone()
            .unwrap_or_else(|| "the capture holds no QUIC packets".into());
        return verdict(
            Status::InfraError,
            vec![format!("no packets to judge: {why}")],
            vec![ev.pcap.clone()],
        );
    }
    if tc.needs_keys && !ev.any_decrypted() {
        return verdict(
            Status::InfraError,
            vec![format!(
                "`{}` is judged from decrypted packets, and no packet could be decrypted: no usable TLS key log (SSLKEYLOGFILE){}",
                tc.name,
                o.capture_note.as_ref().map(|n| format!(" ({n})")).unwrap_or_default()
            )],
            vec![ev.pcap.clone()],
        );
    }
    // Long-header packets the dissector could not type (tshark 4.0 knows QUIC v2's version
    // number but not its packet types) cannot be judged either way: say so, do not fail the IUT.
    let undissected: std::collections::BTreeSet<String> =
        o.packets.iter().filter(|p| p.packet_type == "unknown").filter_map(|p| p.version.clone()).collect();
    if !undissected.is_empty() {
        let versions: Vec<String> = undissected.iter().map(|v| format!("0x{v}")).collect();
        return verdict(
            Status::UnsupportedByEnvironment,
            vec![format!(
                "the capture has long-header packets of version {} that this machine's tshark cannot dissect (QUIC v2 needs tshark 4.2 or later)",
                versions.join(", ")
            )],
            vec![ev.pcap.clone()],
        );
    }
    let mut c = Checks::new(&ev);
    match tc.name {
        "handshake" => {
            c.version_and_files(V1);
            c.no_retry();
            c.handshakes(1);
        }
        "transfer" | "http3" => {
            c.version_and_files(V1);
            c.handshakes(1);
            if tc.name == "http3" {
                c.http3_frames();
            }
        }
        "chacha20" => {
            c.handshakes(1);
            c.only_cipher("TLS_CHACHA20_POLY1305_SHA256");
            c.version_and_files(V1);
        }
        "multiplexing" => {
            c.handshakes(1);
            c.server_raised_stream_limit();
            c.version_and_files(V1);
        }
        "retry" => {
            c.version_and_files(V1);
            c.retry();
            c.handshakes(1);
        }
        "resumption" => {
            c.version_and_files(V1);
            c.handshakes(2);
            c.resumption(false);
        }
        "zerortt" => {
            c.version_and_files(V1);
            c.handshakes(2);
            c.resumption(true);
            c.zero_rtt();
        }
        "keyupdate" => {
            c.version_and_files(V1);
            c.handshakes(1);
            c.key_update();
        }
        "v2" => {
            c.handshakes(1);
            c.v2();
            c.files();
        }
        "ecn" => {
            c.version_and_files(V1);
            c.handshakes(1);
            c.ecn();
        }
        "amplificationlimit" => {
            c.version_and_files(V1);
            c.handshakes(1);
            c.amplification();
        }
        "longrtt" => {
            c.client_hellos_at_least(2);
            c.version_and_files(V1);
            c.no_retry();
            c.handshakes(1);
        }
        "handshakeloss" | "handshakecorruption" => {
            c.version_and_files(V1);
            c.handshakes(o.transfers.len());
        }
        "transferloss" | "transfercorruption" | "blackhole" => {
            c.version_and_files(V1);
            c.handshakes(1);
        }
        "rebind-port" | "rebind-addr" => {
            c.version_and_files(V1);
            c.handshakes(1);
            c.path_validated(tc.name == "rebind-addr");
        }
        "goodput" => {
            c.version_and_files(V1);
            c.handshakes(1);
            c.goodput();
        }
        "ipv6" => {
            c.version_and_files(V1);
            c.handshakes(1);
            c.only_ipv6();
        }
        "connectionmigration" => {
            c.version_and_files(V1);
            c.handshakes(1);
            c.migrated();
        }
        other => unreachable!("test case `{other}` is in TESTCASES without a check"),
    }
    c.finish(o, tc)
}

/// The runner's reading of exit codes, before any packet is looked at.
fn judge_exits(o: &Outcome, tc: &TestCase) -> Option<Verdict> {
    let log = |s: &crate::model::ServiceOutcome| {
        s.artifacts
            .iter()
            .find(|(k, _)| *k == ArtifactKind::Log)
            .map(|(_, p)| p.clone())
            .unwrap_or_else(|| format!("{}/stdout.log", s.service))
    };
    for s in &o.services {
        if s.exit_code == Some(127) {
            let endpoint = if s.role == Role::Server { tc.server_testcase } else { tc.client_testcase };
            // The case as the experiment names it, and as the endpoint got it when they differ.
            let case = if endpoint == tc.name {
                format!("`{endpoint}`")
            } else {
                format!("`{}` (`{endpoint}` at the endpoint)", tc.name)
            };
            return Some(verdict(
                Status::UnsupportedByIut,
                vec![format!(
                    "{} `{}` ({}) exited with 127: it does not support test case {case}",
                    role(s.role),
                    s.service,
                    s.implementation,
                )],
                vec![log(s)],
            ));
        }
    }
    let mut reasons = Vec::new();
    let mut evidence = Vec::new();
    for s in &o.services {
        let bad = if s.timed_out {
            Some("did not finish in time".to_string())
        } else if s.stopped_by_host {
            // Servers run until the host stops them; that is the normal ending.
            None
        } else {
            match (s.exit_code, s.signal) {
                (Some(0), _) => None,
                (Some(c), _) => Some(format!("exited with {c}")),
                (None, Some(sig)) => Some(format!("was killed by signal {sig}")),
                (None, None) => Some("never ran to completion".to_string()),
            }
        };
        if let Some(what) = bad {
            let last = last_line(&s.stderr_tail).or_else(|| last_line(&s.stdout_tail));
            reasons.push(format!(
                "{} `{}` ({}) {what}{}",
                role(s.role),
                s.service,
                s.implementation,
                last.map(|l| format!(": {l}")).unwrap_or_default()
            ));
            evidence.push(log(s));
        }
    }
    (!reasons.is_empty()).then(|| verdict(Status::Fail, reasons, evidence))
}

fn role(r: Role) -> &'static str {
    match r {
        Role::Server => "server",
        Role::Client => "client",
        Role::Peer => "peer",
        Role::Mitm => "mitm",
    }
}

fn last_line(s: &str) -> Option<String> {
    s.lines()
        .rev()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .map(|l| {
            let mut l = l.to_string();
            if l.len() > 200 {
                let mut cut = 200;
                while !l.is_char_boundary(cut) {
                    cut -= 1;
                }
                l.truncate(cut);
                l.push('…');
            }
            l
        })
}

/// The capture seen from the server's side: who is the server, and pointers into the pcap.
pub struct Evidence<'a> {
    pub o: &'a Outcome,
    /// `src` of the server: the destination of the first Initial.
    pub server: String,
    pub pcap: String,
}

impl<'a> Evidence<'a> {
    pub fn new(o: &'a Outcome) -> Self {
        let server = o
            .packets
            .iter()
            .find(|p| p.packet_type == "initial")
            .map(|p| p.dst.clone())
            .unwrap_or_default();
        let pcap = o
            .services
            .iter()
            .flat_map(|s| s.artifacts.iter())
            .find(|(k, _)| *k == ArtifactKind::Pcap)
            .map(|(_, p)| p.clone())
            .unwrap_or_else(|| "capture.pcap".to_string());
        Evidence { o, server, pcap }
    }

    pub fn from_server(&self, p: &QuicPacket) -> bool {
        p.src == self.server
    }

    pub fn server_packets<'s>(&'s self, ty: &'s str) -> impl Iterator<Item = &'a QuicPacket> + 's {
        self.o
            .packets
            .iter()
            .filter(move |p| p.packet_type == ty && p.src == self.server)
    }

    pub fn client_packets<'s>(&'s self, ty: &'s str) -> impl Iterator<Item = &'a QuicPacket> + 's {
        self.o
            .packets
            .iter()
            .filter(move |p| p.packet_type == ty && p.src != self.server)
    }

    /// Whether the key log worked: Initial packets decrypt without it (their keys come from
    /// the connection ID), so only Handshake, 0-RTT and 1-RTT packets count.
    pub fn any_decrypted(&self) -> bool {
        self.o
            .packets
            .iter()
            .any(|p| p.decrypted && matches!(p.packet_type.as_str(), "handshake" | "0rtt" | "1rtt"))
    }

    pub fn at(&self, p: &QuicPacket) -> String {
        format!("{}#frame={}", self.pcap, p.frame)
    }

    /// Handshakes = distinct source connection IDs of server Initials (the runner's count).
    pub fn handshakes(&self) -> Vec<&'a QuicPacket> {
        let mut seen: Vec<&str> = Vec::new();
        let mut first = Vec::new();
        for p in self.server_packets("initial") {
            let scid = p.scid.as_deref().unwrap_or("");
            if !seen.contains(&scid) {
                seen.push(scid);
                first.push(p);
            }
        }
        first
    }
}

/// Collects failed checks; the verdict passes when none failed.
struct Checks<'e, 'a> {
    ev: &'e Evidence<'a>,
    reasons: Vec<String>,
    evidence: Vec<String>,
    /// Measurements reported with a passing verdict (goodput).
    notes: Vec<String>,
}

impl<'e, 'a> Checks<'e, 'a> {
    fn new(ev: &'e Evidence<'a>) -> Self {
        Checks {
            ev,
            reasons: Vec::new(),
            evidence: Vec::new(),
            notes: Vec::new(),
        }
    }

    fn fail(&mut self, reason: String, at: Option<&QuicPacket>) {
        self.reasons.push(reason);
        if let Some(p) = at {
            let e = self.ev.at(p);
            if !self.evidence.contains(&e) {
                self.evidence.push(e);
            }
        }
    }

    fn finish(mut self, o: &Outcome, tc: &TestCase) -> Verdict {
        if self.reasons.is_empty() {
            let mut reasons = vec![format!("{}: {}", tc.name, tc.doc)];
            reasons.append(&mut self.notes);
            if o.packets_truncated {
                reasons.push(format!(
                    "judged on the first {} packets of a longer capture",
                    o.packets.len()
                ));
            }
            return verdict(Status::Pass, reasons, vec![self.ev.pcap.clone()]);
        }
        if o.packets_truncated {
            self.reasons.push(format!(
                "note: only the first {} packets of the capture were judged",
                o.packets.len()
            ));
        }
        if self.evidence.is_empty() {
            self.evidence.push(self.ev.pcap.clone());
        }
        verdict(Status::Fail, self.reasons, self.evidence)
    }

    /// The runner's `_check_version_and_files`: server Initials in exactly one version, the
    /// expected one, then the files.
    fn version_and_files(&mut self, want: &str) {
        let mut versions: Vec<&str> = Vec::new();
        for p in self.ev.server_packets("initial") {
            let v = p.version.as_deref().unwrap_or("?");
            if !versions.contains(&v) {
                versions.push(v);
            }
        }
        match versions.as_slice() {
            [] => self.fail("the server sent no Initial packet".into(), None),
            [v] if *v == want => {}
            [v] => {
                let p = self.ev.server_packets("initial").next();
                self.fail(
                    format!("wrong QUIC version in server Initials: 0x{v}, expected 0x{want}"),
                    p,
                )
            }
            many => self.fail(
                format!(
                    "server Initials in several QUIC versions: {}",
                    many.join(", ")
                ),
                None,
            ),
        }
        self.files();
    }

    /// Every requested file arrived with the bytes the server served.
    fn files(&mut self) {
        if self.ev.o.transfers.is_empty() {
            self.fail(
                "no files were requested, so nothing shows that data went through".into(),
                None,
            );
        }
        for t in &self.ev.o.transfers {
            match (&t.served, &t.downloaded) {
                (None, _) => self.fail(format!("{}: the server had no such file to serve", t.path), None),
                (Some(_), None) => self.fail(format!("{}: the client did not save it", t.path), None),
                (Some(s), Some(d)) if s != d => self.fail(
                    format!(
                        "{}: downloaded {} bytes (sha256 {}…) differ from the {} served (sha256 {}…)",
                        t.path,
                        d.size,
                        &d.sha256[..d.sha256.len().min(12)],
                        s.size,
                        &s.sha256[..s.sha256.len().min(12)]
                    ),
                    None,
                ),
                _ => {}
            }
        }
    }

    fn handshakes(&mut self, want: usize) {
        let hs = self.ev.handshakes();
        if hs.len() != want {
            let at = hs.get(want).copied().or(hs.first().copied());
            self.fail(
                format!(
                    "expected {want} handshake(s), saw {} (distinct server Initial SCIDs)",
                    hs.len()
                ),
                at,
            );
        }
    }

    /// The runner's long-RTT check: the client's first ClientHello went unanswered long enough
    /// that it sent it again. tshark dissects a retransmitted ClientHello only as CRYPTO data
    /// (the bytes at an offset it has seen; wireshark issue 18696, which the runner works
    /// around too), so a client Initial carrying CRYPTO data and no other handshake message
    /// counts as one.
    fn client_hellos_at_least(&mut self, want: usize) {
        let n = self
            .ev
            .client_packets("initial")
            .filter(|p| {
                p.tls_handshake.iter().any(|h| h == "client_hello")
                    || (p.tls_handshake.is_empty() && p.frames.iter().any(|f| f == "crypto"))
            })
            .count();
        if n < want {
            self.fail(
                format!("expected at least {want} ClientHellos (the first one retransmitted over the long RTT), saw {n}"),
                self.ev.client_packets("initial").next(),
            );
        }
    }

    /// The runner's IPv6 check: no packet of the capture travelled over IPv4 (tshark's IPv6
    /// addresses come in brackets).
    fn only_ipv6(&mut self) {
        let ipv4 = self.ev.o.packets.iter().find(|p| !p.src.starts_with('[') || !p.dst.starts_with('['));
        if let Some(p) = ipv4 {
            self.fail(format!("a packet went over IPv4 ({} → {})", p.src, p.dst), Some(p));
        }
    }

    /// The runner's rebinding check: the server saw the client on more than one path (port,
    /// or address with `by_address`), and its first packet to each new path carries a
    /// PATH_CHALLENGE.
    fn path_validated(&mut self, by_address: bool) {
        let path = |dst: &str| -> String {
            if by_address {
                dst.rsplit_once(':').map(|(a, _)| a.to_string()).unwrap_or_default()
            } else {
                dst.to_string()
            }
        };
        let from_server: Vec<&QuicPacket> = self
            .ev
            .o
            .packets
            .iter()
            .filter(|p| self.ev.from_server(p))
            .collect();
        let mut paths: Vec<String> = Vec::new();
        let mut last: Option<String> = None;
        for p in &from_server {
            let cur = path(&p.dst);
            if last.as_ref().is_some_and(|l| *l != cur) && !paths.contains(&cur) {
                if p.decrypted && !p.frames.iter().any(|f| f == "path_challenge") {
                    self.fail(
                        format!(
                            "the server's first packet to the client's new {} {} carries no PATH_CHALLENGE",
                            if by_address { "address" } else { "path" },
                            p.dst
                        ),
                        Some(p),
                    );
                }
            }
            if !paths.contains(&cur) {
                paths.push(cur.clone());
            }
            last = Some(cur);
        }
        if paths.len() < 2 {
            self.fail(
                format!(
                    "the server saw the client on a single {} ({}): the NAT did not rebind during the transfer, or the server never answered the new one",
                    if by_address { "address" } else { "port" },
                    paths.first().map(String::as_str).unwrap_or("none")
                ),
                None,
            );
        }
    }

    /// The runner's connection-migration check, from the client's side: after the handshake the
    /// client sends its 1-RTT packets to a second server address (the preferred address of the
    /// server's transport parameters), its first packet there carries a PATH_CHALLENGE, it uses
    /// connection IDs there that it never used on the first address, and the server answers from
    /// the new address with a PATH_RESPONSE. The client is whoever sent the long-header packets
    /// to the server's first address; its own address may stay the same.
    fn migrated(&mut self) {
        let ev = self.ev;
        let server = ev.server.clone();
        let client: Vec<&str> = ev
            .o
            .packets
            .iter()
            .filter(|p| p.dst == server && p.packet_type != "1rtt")
            .map(|p| p.src.as_str())
            .collect();
        let from_client = |p: &QuicPacket| client.contains(&p.src.as_str());
        let mut paths: Vec<&str> = vec![server.as_str()];
        let mut dcids: Vec<Vec<&str>> = vec![vec![]];
        for p in ev.o.packets.iter().filter(|p| from_client(p) && p.packet_type == "1rtt") {
            let i = match paths.iter().position(|d| *d == p.dst) {
                Some(i) => i,
                None => {
                    if p.decrypted && !p.frames.iter().any(|f| f == "path_challenge") {
                        self.fail(
                            format!("the client's first packet to the server's new address {} carries no PATH_CHALLENGE", p.dst),
                            Some(p),
                        );
                    }
                    paths.push(p.dst.as_str());
                    dcids.push(vec![]);
                    paths.len() - 1
                }
            };
            if !dcids[i].contains(&p.dcid.as_str()) {
                dcids[i].push(p.dcid.as_str());
            }
        }
        if paths.len() < 2 {
            self.fail(
                format!("the client sent every packet to {server}: it did not move to a preferred address (did the server offer one?)"),
                None,
            );
            return;
        }
        for (i, path) in paths.iter().enumerate().skip(1) {
            if let Some(reused) = dcids[i].iter().find(|d| dcids[0].contains(d)) {
                let p = ev.o.packets.iter().find(|p| from_client(p) && p.dst == *path && p.dcid == *reused);
                self.fail(format!("the client reused connection ID {reused} on the new path to {path}"), p);
            }
            let answered = ev
                .o
                .packets
                .iter()
                .any(|p| p.src == *path && !from_client(p) && p.frames.iter().any(|f| f == "path_response"));
            if !answered {
                self.fail(format!("the server never answered the client's PATH_CHALLENGE from {path}"), None);
            }
        }
    }

    /// The runner's goodput: the files' bytes over the time from the client's first Initial to
    /// the server's last packet with stream data, reported with the verdict.
    fn goodput(&mut self) {
        let bytes: u64 = self.ev.o.transfers.iter().filter_map(|t| t.downloaded.as_ref()).map(|d| d.size).sum();
        let first = self.ev.client_packets("initial").next().map(|p| p.time_ms);
        let last = self
            .ev
            .o
            .packets
            .iter()
            .filter(|p| self.ev.from_server(p) && p.stream_bytes > 0)
            .map(|p| p.time_ms)
            .fold(None, |m: Option<f64>, t| Some(m.map_or(t, |m| m.max(t))));
        match (first, last) {
            (Some(a), Some(b)) if b > a && bytes > 0 => {
                let mbps = bytes as f64 * 8.0 / ((b - a) / 1000.0) / 1e6;
                self.notes.push(format!("goodput {mbps:.2} Mbit/s ({bytes} bytes in {:.0} ms)", b - a));
            }
            _ => self.fail("cannot measure the goodput: no stream data from the server after the client's first Initial".into(), None),
        }
    }

    fn no_retry(&mut self) {
        if let Some(p) = self.ev.server_packets("retry").next() {
            self.fail(
                "the server sent a Retry, which this test case does not expect".into(),
                Some(p),
            );
        }
    }

    fn http3_frames(&mut self) {
        if !self.ev.o.packets.iter().any(|p| !p.http3_frames.is_empty()) {
            self.fail(
                "no HTTP/3 frame was seen on the wire (is the connection HTTP/0.9?)".into(),
                None,
            );
        }
    }

    fn only_cipher(&mut self, want: &str) {
        let mut hellos = 0;
        for p in self.ev.client_packets("initial") {
            if !p.tls_handshake.iter().any(|h| h == "client_hello") {
                continue;
            }
            hellos += 1;
            let offered = p.cipher.clone().unwrap_or_default();
            if offered != want {
                self.fail(
                    format!("the ClientHello offers {offered}, expected only {want}"),
                    Some(p),
                );
            }
        }
        if hellos == 0 {
            self.fail(
                "no ClientHello was seen in the client's Initials".into(),
                None,
            );
        }
    }

    fn server_raised_stream_limit(&mut self) {
        let raised =
            self.ev.o.packets.iter().find(|p| {
                self.ev.from_server(p) && p.frames.iter().any(|f| f == "max_streams_bidi")
            });
        if raised.is_none() {
            self.fail(
                "the server never sent MAX_STREAMS (bidi): it did not raise its stream limit while the client opened streams"
                    .into(),
                None,
            );
        }
        let streams = self
            .ev
            .o
            .packets
            .iter()
            .filter(|p| !self.ev.from_server(p))
            .map(|p| p.frames.iter().filter(|f| *f == "stream").count())
            .sum::<usize>();
        if streams < self.ev.o.transfers.len() {
            self.fail(
                format!(
                    "the client sent {streams} STREAM frames for {} files",
                    self.ev.o.transfers.len()
                ),
                None,
            );
        }
    }

    fn retry(&mut self) {
        let Some(retry) = self.ev.server_packets("retry").next() else {
            self.fail("the server sent no Retry packet".into(), None);
            return;
        };
        let before: Vec<&QuicPacket> = self
            .ev
            .client_packets("initial")
            .filter(|p| p.frame < retry.frame)
            .collect();
        let after = self
            .ev
            .client_packets("initial")
            .find(|p| p.frame > retry.frame);
        let Some(after) = after else {
            self.fail(
                "the client sent no Initial after the Retry".into(),
                Some(retry),
            );
            return;
        };
        let retry_scid = retry.scid.clone().unwrap_or_default();
        if after.dcid != retry_scid {
            self.fail(
                format!("after the Retry the client's Initial goes to DCID {}, not to the Retry's SCID {retry_scid}", after.dcid),
                Some(after),
            );
        }
        let max_before = before.iter().filter_map(|p| p.packet_number).max();
        if let (Some(b), Some(a)) = (max_before, after.packet_number) {
            if a <= b {
                self.fail(
                    format!("the client reset its packet number after the Retry ({a} after {b})"),
                    Some(after),
                );
            }
        }
        if self.ev.server_packets("handshake").next().is_none() {
            self.fail("the server never sent a Handshake packet after the Retry: the token was not accepted".into(), Some(after));
        }
    }

    /// Connections in capture order, each as the list of its packets' indices, split at each
    /// new server Initial SCID (the runner's handshake count, applied to server Handshakes).
    fn server_handshake_packets_by_conn(&self) -> Vec<(String, Vec<&'a QuicPacket>)> {
        let mut conns: Vec<(String, Vec<&'a QuicPacket>)> = self
            .ev
            .handshakes()
            .iter()
            .map(|p| (p.scid.clone().unwrap_or_default(), Vec::new()))
            .collect();
        for p in self.ev.server_packets("handshake") {
            let scid = p.scid.clone().unwrap_or_default();
            if let Some(c) = conns.iter_mut().find(|(s, _)| *s == scid) {
                c.1.push(p);
            }
        }
        conns
    }

    fn resumption(&mut self, zero_rtt: bool) {
        let conns = self.server_handshake_packets_by_conn();
        if conns.len() < 2 {
            return; // handshakes() already said so
        }
        fn has_cert<'p>(c: &[&'p QuicPacket]) -> Option<&'p QuicPacket> {
            c.iter()
                .find(|p| p.tls_handshake.iter().any(|h| h == "certificate"))
                .copied()
        }
        if has_cert(&conns[0].1).is_none() {
            self.fail("the first handshake carries no Certificate (were the Handshake packets decrypted?)".into(), conns[0].1.first().copied());
        }
        if let Some(p) = has_cert(&conns[1].1) {
            self.fail(
                "the second handshake carries a Certificate: the session was not resumed".into(),
                Some(p),
            );
        }
        let hellos: Vec<&QuicPacket> = self
            .ev
            .client_packets("initial")
            .filter(|p| p.tls_handshake.iter().any(|h| h == "client_hello"))
            .collect();
        match hellos.get(1) {
            Some(p) if !p.tls_psk => self.fail(
                "the second ClientHello offers no pre-shared key".into(),
                Some(p),
            ),
            Some(p) if zero_rtt && !p.tls_early_data => self.fail(
                "the second ClientHello does not ask for early data".into(),
                Some(p),
            ),
            Some(_) => {}
            None => self.fail("fewer than two ClientHellos were seen".into(), None),
        }
    }

    fn zero_rtt(&mut self) {
        let zero: u64 = self.ev.client_packets("0rtt").map(|p| p.stream_bytes).sum();
        // 1-RTT stream data the client sent on the resumed connection (after its first 0-RTT packet).
        let first0 = self.ev.client_packets("0rtt").map(|p| p.frame).min();
        let one: u64 = match first0 {
            Some(f) => self
                .ev
                .client_packets("1rtt")
                .filter(|p| p.frame >= f)
                .map(|p| p.stream_bytes)
                .sum(),
            None => 0,
        };
        if zero == 0 {
            self.fail(
                "the client sent no stream data in 0-RTT packets".into(),
                None,
            );
        } else if one * 2 > zero {
            self.fail(format!("the client sent {one} bytes in 1-RTT but only {zero} in 0-RTT: too little went early"), None);
        }
    }

    fn key_update(&mut self) {
        let client = self
            .ev
            .client_packets("1rtt")
            .find(|p| p.key_phase == Some(true));
        let server = self
            .ev
            .server_packets("1rtt")
            .find(|p| p.key_phase == Some(true));
        if client.is_none() {
            self.fail(
                "the client never sent a 1-RTT packet in key phase 1: it did not update its keys"
                    .into(),
                None,
            );
        }
        if server.is_none() {
            self.fail(
                "the server never sent a 1-RTT packet in key phase 1: it did not update its keys"
                    .into(),
                None,
            );
        }
        let undecrypted = self
            .ev
            .o
            .packets
            .iter()
            .find(|p| p.packet_type == "1rtt" && !p.decrypted);
        if let Some(p) = undecrypted {
            self.fail(
                "a 1-RTT packet could not be decrypted: the key update was not followed".into(),
                Some(p),
            );
        }
    }

    fn v2(&mut self) {
        for p in self.ev.client_packets("initial").take(1) {
            if p.version.as_deref() != Some(V1) {
                self.fail(
                    format!(
                        "the client's first Initial is in 0x{}, expected v1 (0x{V1})",
                        p.version.clone().unwrap_or_default()
                    ),
                    Some(p),
                );
            }
        }
        let mut saw = false;
        for p in self.ev.server_packets("initial") {
            saw = true;
            if p.version.as_deref() != Some(V2) {
                self.fail(
                    format!(
                        "a server Initial is in 0x{}, expected v2 (0x{V2})",
                        p.version.clone().unwrap_or_default()
                    ),
                    Some(p),
                );
                break;
            }
        }
        if !saw {
            self.fail("the server sent no Initial packet".into(), None);
        }
        if let Some(p) = self
            .ev
            .o
            .packets
            .iter()
            .find(|p| p.packet_type == "handshake" && p.version.as_deref() != Some(V2))
        {
            self.fail(
                format!(
                    "a Handshake packet is in 0x{}, expected v2",
                    p.version.clone().unwrap_or_default()
                ),
                Some(p),
            );
        }
    }

    fn ecn(&mut self) {
        for (side, from_server) in [("client", false), ("server", true)] {
            let pkts: Vec<&QuicPacket> = self
                .ev
                .o
                .packets
                .iter()
                .filter(|p| p.packet_type == "1rtt" && self.ev.from_server(p) == from_server)
                .collect();
            let count = |c: u8| pkts.iter().filter(|p| p.ecn == c).count();
            let (none, ect1, ect0, ce) = (count(0), count(1), count(2), count(3));
            if ect0 + ect1 == 0 {
                self.fail(
                    format!(
                        "the {side} marked none of its {} 1-RTT packets ECT(0) or ECT(1)",
                        pkts.len()
                    ),
                    pkts.first().copied(),
                );
            } else if none > 0 || ce > 0 || (ect0 > 0 && ect1 > 0) {
                self.fail(
                    format!("the {side}'s ECN marks are inconsistent: {none} not-ECT, {ect0} ECT(0), {ect1} ECT(1), {ce} CE"),
                    pkts.iter().find(|p| p.ecn == 0 || p.ecn == 3).copied(),
                );
            }
            let acks = self.ev.o.packets.iter().any(|p| {
                self.ev.from_server(p) == from_server && p.frames.iter().any(|f| f == "ack_ecn")
            });
            if !acks {
                self.fail(
                    format!("the {side} never sent an ACK frame with ECN counts"),
                    None,
                );
            }
        }
    }

    fn amplification(&mut self) {
        let hs_bytes: u64 = self
            .ev
            .server_packets("handshake")
            .map(|p| p.udp_length as u64)
            .sum();
        if hs_bytes < 7500 {
            self.fail(
                format!("the server's Handshake packets carry {hs_bytes} bytes; the test needs a certificate chain of at least 7500 bytes to mean anything"),
                None,
            );
        }
        let first_client_hs = self
            .ev
            .client_packets("handshake")
            .map(|p| p.frame)
            .min()
            .unwrap_or(u32::MAX);
        // Datagrams, not packets: coalesced packets share a frame and one UDP length.
        let mut seen_frames: Vec<(u32, bool)> = Vec::new();
        let (mut recv, mut sent, mut peak) = (0u64, 0u64, 0f64);
        for p in &self.ev.o.packets {
            if p.frame >= first_client_hs {
                break;
            }
            let srv = self.ev.from_server(p);
            if seen_frames.contains(&(p.frame, srv)) {
                continue;
            }
            seen_frames.push((p.frame, srv));
            if srv {
                sent += p.udp_length as u64;
                // RFC 9000 says 3x; the runner tolerates up to 4x (its PR #243: padding and
                // coalescing make exact accounting from a capture unreliable), and so does this.
                if sent > 4 * recv {
                    self.fail(format!("before the client's first Handshake packet the server sent {sent} bytes for {recv} received, more than 4x (the limit is 3x; the runner tolerates up to 4x)"), Some(p));
                    return;
                }
                peak = peak.max(sent as f64 / recv.max(1) as f64);
            } else {
                recv += p.udp_length as u64;
            }
        }
        if peak > 3.0 {
            self.notes.push(format!("before the client's first Handshake packet the server sent up to {peak:.2}x what it received: over RFC 9000's 3x, within the runner's 4x tolerance"));
        }
    }
}
