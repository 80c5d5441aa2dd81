//! The `picoquicdemo` plan shared by the `picoquic` (upstream) and `picoquic-shadow` (the
//! Shadow-compatible fork) plugins.
//!
//! The original's two plugins ran the same program, built the same way, from templates that
//! differ in a few flags; [`Flavour`] names those differences so each plugin is its version
//! table plus a `Flavour`. This is the one place in this crate that decides what a plan
//! contains, because two plugins must make the same one.
//!
//! Both trees (picoquic, picotls) are pinned upstream sources the host fetches and verifies:
//! on localhost the compile phases build them in the tools directory from `{{sources.NAME}}`,
//! under Docker the same cmake commands are the image's build steps.

use crate::{
    cmd, requests_or_index, ArtifactKind, Command, EnvironmentKind, ImageSpec, Iut, PlanRequest, PluginError, Role, ServicePlan, Transport,
    VersionRow,
};

const CERTS: [&str; 4] = ["-c", "{{certs.cert_pem}}", "-k", "{{certs.key_pem}}"];

/// What a pinned `picoquicdemo` understands; its options grew over the years.
#[derive(Debug, Clone, Copy)]
pub struct Demo {
    /// `-q DIR`: qlogs (not in the draft-27 era).
    pub qlog: bool,
    /// `-T FILE`: session tickets, for resumption (not in the draft-27 era).
    pub tickets: bool,
    /// `-8`: write SSLKEYLOGFILE. Older versions write it whenever the variable is set.
    pub sslkeylog_flag: bool,
    /// `-4 ADDR`: a server preferred address for IPv4 clients (today's picoquicdemo only).
    pub preferred_address: bool,
}

impl Demo {
    /// Today's picoquicdemo.
    pub const CURRENT: Demo = Demo { qlog: true, tickets: true, sslkeylog_flag: true, preferred_address: true };
    /// 2020–2021 (rfc9000, draft-29 pins): qlogs and tickets, keys from the variable.
    pub const RFC9000_ERA: Demo = Demo { qlog: true, tickets: true, sslkeylog_flag: false, preferred_address: false };
    /// Early 2020 (draft-27 pins).
    pub const DRAFT27_ERA: Demo = Demo { qlog: false, tickets: false, sslkeylog_flag: false, preferred_address: false };
}

/// Where the two original templates differ.
#[derive(Debug, Clone, Copy)]
pub struct Flavour {
    /// The server's flags after `-a ALPN`; the templates order them differently and the plans
    /// keep each template's order.
    pub server_flags: &'static [&'static str],
    /// The fork's client template also passes `-c`/`-k`.
    pub client_certs: bool,
    /// The address the client connects to (`{{target.host}}` or `{{target.ip}}`).
    pub target: &'static str,
    /// The picoquic tree to build for the Shadow simulator, in place of the version's; `None`:
    /// no Shadow.
    pub shadow_tree: Option<crate::Pin>,
}

/// How picoquicdemo does an interop test case (quic-interop-runner's picoquic endpoint).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Case {
    /// Replaces the version's ALPN (`h3` for `http3`).
    alpn: Option<&'static str>,
    server: &'static [&'static str],
    client: &'static [&'static str],
    /// How the client spreads the requests over connections.
    connections: Connections,
    /// The server also listens on a second port, `preferred` (`-p PUBLIC:LOCAL`), which its
    /// preferred address names.
    preferred_port: bool,
}

/// How a picoquicdemo client spreads the test's requests over connections.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Connections {
    /// All on one connection.
    One,
    /// The first file, then the rest on a resumed connection.
    Resumed,
    /// One connection per file (the runner's `multiconnect`, for handshakes under loss).
    EachFile,
}

/// The server's preferred address in `connectionmigration`: another loopback address.
const PREFERRED_ADDRESS: &str = "127.0.0.2";

const PLAIN: Case = Case { alpn: None, server: &[], client: &[], connections: Connections::One, preferred_port: false };

/// The test cases picoquicdemo can be configured for; `None` for the ones it cannot do
/// (it has no switch to make a client update its keys, and no ECN configuration). As a
/// `keyupdate` server it answers the client's update, but the interop tester then finds 1-RTT
/// packets tshark cannot decrypt (seen with quic-go and aioquic clients, not yet explained), so
/// the case stays unsupported on both sides until that is understood.
///
/// `connectionmigration`: the server offers 127.0.0.2 and a second port of its own as its
/// preferred address (picoquicdemo's `-4` takes the port of `-p PUBLIC:LOCAL`; its sockets are
/// bound to every address), and the client moves there by itself after the handshake.
/// Localhost only: a container has no second address to offer.
fn case(testcase: Option<&str>, demo: &Demo, environment: EnvironmentKind) -> Option<Case> {
    Some(match testcase {
        None | Some("handshake" | "transfer" | "multiplexing" | "longrtt" | "blackhole" | "transferloss")
        | Some("transfercorruption" | "goodput" | "crosstraffic" | "amplificationlimit" | "rebind-port" | "rebind-addr") => PLAIN,
        Some("handshakeloss" | "handshakecorruption" | "multiconnect") => Case { connections: Connections::EachFile, ..PLAIN },
        Some("http3") => Case { alpn: Some("h3"), ..PLAIN },
        Some("retry") => Case { server: &["-r"], ..PLAIN },
        Some("chacha20") => Case { client: &["-C", "20"], ..PLAIN },
        // picoquic sends 0-RTT by itself when it holds a ticket that allows early data.
        Some("resumption" | "zerortt") if demo.tickets => Case { connections: Connections::Resumed, ..PLAIN },
        Some("connectionmigration") if demo.preferred_address && environment == EnvironmentKind::Localhost => {
            Case { server: &["-4", PREFERRED_ADDRESS], preferred_port: true, ..PLAIN }
        }
        Some(_) => return None,
    })
}

/// The plan for `req`: a server serving `{{dirs.www}}` or a client fetching the test's requests
/// into `{{dirs.downloads}}`, both writing qlogs and a TLS key log.
pub fn plan(iut: &Iut<Demo>, flavour: &Flavour, req: &PlanRequest) -> Result<ServicePlan, PluginError> {
    let v = iut.admit(req)?;
    // Every version row of the fork names one tree (its versions differ in picotls, ALPN and
    // wire version); under Shadow that tree is the one with the fork's Shadow fixes.
    let picoquic = match (req.environment, &flavour.shadow_tree) {
        (EnvironmentKind::Shadow, Some(tree)) => tree,
        (EnvironmentKind::Shadow, None) => return Err(crate::unsupported(format!("{} does not run under Shadow", iut.name))),
        _ => &v.upstream[0],
    };
    let trees = (picoquic, &v.upstream[1]);
    // Under Shadow the programs run on this machine too (inside the simulation), so they are
    // built like local ones, with the changes Shadow needs.
    let local = matches!(req.environment, EnvironmentKind::Localhost | EnvironmentKind::Shadow);
    let shadow = req.environment == EnvironmentKind::Shadow;
    let build = Build { for_shadow: shadow, ..Build::new(local) };
    let mut plan = ServicePlan::new().image(image(iut, v, trees));
    if local {
        for c in build.commands(trees) {
            plan = plan.compile(c);
        }
    }
    if v.extra.qlog {
        plan = plan.artifact(ArtifactKind::Qlog, "{{dirs.qlog}}", false);
    }
    // `ipv6` is a plain transfer over IPv6 (picoquicdemo's server listens on both families):
    // to `::1` on localhost, to `{{target.host6}}` under Docker; under Shadow it exits 127.
    let testcase = match req.testcase.as_deref() {
        Some("ipv6") if crate::on_ipv6(req) => Some("transfer"),
        other => other,
    };
    let target = if crate::on_ipv6(req) { crate::ipv6_target(req) } else { flavour.target };
    let Some(case) = case(testcase, &v.extra, req.environment) else {
        return Ok(plan.file("{{dirs.work}}/unsupported.sh", UNSUPPORTED).run(
            cmd(&["sh", "{{dirs.work}}/unsupported.sh", req.testcase.as_deref().unwrap_or("")])
                .describe("picoquicdemo cannot do this interop test case: exit 127, as a runner endpoint does"),
        ));
    };
    let alpn = case.alpn.unwrap_or(v.alpn[0]);
    let bin = build.demo();
    let logs = common_flags(&v.extra);
    // Shadow takes a GSO `sendmsg` for one oversized datagram: transfers above ~400 kB hang.
    let gso: &[&str] = if shadow { &["-0"] } else { &[] };
    Ok(match req.role {
        Role::Server => {
            // `quic` first: clients reach the first declared port.
            let plan = plan.port("quic", crate::listen_port(req, 4443), Transport::Udp);
            let (plan, ports) = if case.preferred_port {
                (plan.port("preferred", 0, Transport::Udp), "{{ports.quic}}:{{ports.preferred}}")
            } else {
                (plan, "{{ports.quic}}")
            };
            plan.ready_when_bound("quic").run(
                demo(&bin, &v.extra)
                    .args(CERTS)
                    .args(["-a", alpn])
                    .args(flavour.server_flags)
                    .args(case.server)
                    .args(gso)
                    .args(logs)
                    .args(["-w", "{{dirs.www}}", "-p", ports])
                    .describe("picoquicdemo server"),
            )
        }
        _ => {
            let requests = requests_or_index(req);
            let client = |paths: &[String]| {
                let tickets: &[&str] = if v.extra.tickets { &["-T", "{{dirs.work}}/ticket.bin"] } else { &[] };
                demo(&bin, &v.extra)
                    .args(if flavour.client_certs { &CERTS[..] } else { &[] })
                    .args(tickets)
                    // Ivy's QUIC server tester (and any server with SNI) needs a server name;
                    // without it picoquic sends the bare address and the handshake fails.
                    .args(["-n", "servername", "-a", alpn, "-L"])
                    .args(case.client)
                    .args(gso)
                    .args(logs)
                    .args(["-o", "{{dirs.downloads}}", "-v", v.wire.unwrap_or("00000001")])
                    .args([target, "{{target.port}}", &scenario(paths)])
            };
            match case.connections {
                Connections::Resumed if requests.len() > 1 => plan
                    .run(client(&requests[..1]).describe("picoquicdemo client, first connection: stores a session ticket"))
                    .run(client(&requests[1..]).describe("picoquicdemo client, resumed connection (0-RTT when the ticket allows it)")),
                Connections::EachFile => requests.iter().fold(plan, |plan, r| {
                    plan.run(client(std::slice::from_ref(r)).describe("picoquicdemo client, one connection per file"))
                }),
                _ => plan.run(client(&requests).describe("picoquicdemo client fetching the test's requests")),
            }
        }
    })
}

/// Logging flags every picoquicdemo run gets: full packet logs, qlogs where supported.
/// (The original's `-l -` is gone: recent versions parse it and log nothing; the original's
/// client `-D` is gone too: it means "do not save downloaded files".)
fn common_flags(demo: &Demo) -> &'static [&'static str] {
    if demo.qlog {
        &["-q", "{{dirs.qlog}}"]
    } else {
        &[]
    }
}

/// `picoquicdemo` with the key log asked for the way this version understands.
fn demo(bin: &str, v: &Demo) -> Command {
    let c = cmd(&[bin]).env("SSLKEYLOGFILE", "{{files.keylog}}");
    if v.sslkeylog_flag {
        c.args(["-8"])
    } else {
        c
    }
}

/// A run command for a test case picoquicdemo cannot do: says so, exits 127.
const UNSUPPORTED: &str = "echo \"picoquicdemo has no configuration for the interop test case '$1'\" >&2\nexit 127\n";

/// picoquicdemo's client scenario: the paths to fetch, `;`-separated, without the leading `/`.
fn scenario(requests: &[String]) -> String {
    requests.iter().map(|r| r.trim_start_matches('/')).collect::<Vec<_>>().join(";")
}

/// Where the trees are and where they are built: the tools directory on localhost, `/opt`
/// inside an image. Both run the same cmake commands.
struct Build {
    picotls: &'static str,
    picoquic: &'static str,
    out: &'static str,
    /// Make the socket options Shadow does not have (IP_RECVTOS, IP_PKTINFO, IP_MTU_DISCOVER:
    /// ENOPROTOOPT there) non-fatal for the server's sockets, as they are for the client's.
    for_shadow: bool,
}

/// The server's socket setup in `picoquic/sockloop.c` treats a failed option as fatal; this
/// turns each of the three option calls into `(call, 0)`, so it is tried and then ignored.
const SHADOW_SOCKOPTS: &str = r"s/\b(picoquic_socket_set_(ecn_options|pkt_info|pmtud_options)\([^)]*\)) != 0/(\1, 0) != 0/";

impl Build {
    fn new(local: bool) -> Build {
        if local {
            Build { picotls: "{{sources.picotls}}", picoquic: "{{sources.picoquic}}", out: "{{dirs.tools}}", for_shadow: false }
        } else {
            Build { picotls: "/opt/picotls", picoquic: "/opt/picoquic", out: "/opt", for_shadow: false }
        }
    }

    fn demo(&self) -> String {
        format!("{}/picoquic-build/picoquicdemo", self.out)
    }

    /// picotls (library targets only) then picoquicdemo against it. picotls's `deps/picotest`
    /// submodule is only needed by its tests, but cmake wants its files to exist; picoquic's
    /// own picotls lookup does not find a source tree, so every path is given.
    fn argvs(&self) -> Vec<Vec<String>> {
        let (tls, pq, out) = (self.picotls, self.picoquic, self.out);
        let tb = format!("{out}/picotls-build");
        let qb = format!("{out}/picoquic-build");
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        let sockloop = format!("{pq}/picoquic/sockloop.c");
        let patch = match self.for_shadow {
            true => vec![
                s(&["sed", "-i", "-E", SHADOW_SOCKOPTS, &sockloop]),
                // The pattern must have matched: a tree where it does not is not one this plan knows.
                s(&["grep", "-qF", "picoquic_socket_set_pkt_info(s_socket[i], sock_af[i]), 0) != 0", &sockloop]),
            ],
            false => vec![],
        };
        patch.into_iter().chain([
            s(&["mkdir", "-p", &format!("{tls}/deps/picotest")]),
            s(&["touch", &format!("{tls}/deps/picotest/picotest.c"), &format!("{tls}/deps/picotest/picotest.h")]),
            s(&["cmake", "-S", tls, "-B", &tb, "-DCMAKE_BUILD_TYPE=Release", "-DWITH_FUSION=OFF", "-DWITH_DTRACE=OFF"]),
            s(&["cmake", "--build", &tb, "-j", "2", "--target", "picotls-core", "picotls-minicrypto", "picotls-openssl"]),
            s(&[
                "cmake",
                "-S",
                pq,
                "-B",
                &qb,
                "-DCMAKE_BUILD_TYPE=Release",
                "-Dpicoquic_BUILD_TESTS=OFF",
                "-DBUILD_PICO_SIM=OFF",
                "-DPICOQUIC_FETCH_PTLS=OFF",
                &format!("-DPTLS_INCLUDE_DIR={tls}/include"),
                &format!("-DPTLS_CORE_LIBRARY={tb}/libpicotls-core.a"),
                &format!("-DPTLS_MINICRYPTO_LIBRARY={tb}/libpicotls-minicrypto.a"),
                &format!("-DPTLS_OPENSSL_LIBRARY={tb}/libpicotls-openssl.a"),
            ]),
            s(&["cmake", "--build", &qb, "-j", "2", "--target", "picoquicdemo"]),
        ])
        .collect()
    }

    fn commands(&self, (picoquic, picotls): Trees) -> Vec<Command> {
        let what = format!("build picotls {} and picoquicdemo {}", short(picotls.rev), short(picoquic.rev));
        self.argvs()
            .into_iter()
            .map(|a| {
                let argv: Vec<&str> = a.iter().map(String::as_str).collect();
                cmd(&argv).timeout(900_000).describe(&what)
            })
            .collect()
    }
}

/// The picoquic and picotls trees a plan builds.
type Trees<'a> = (&'a crate::Pin, &'a crate::Pin);

fn short(rev: &str) -> &str {
    &rev[..rev.len().min(8)]
}

/// The image: Debian's build tools, both pinned trees (fetched and verified by the host), and
/// the same cmake commands as a local build (a local plan carries it too: the host fetches its
/// sources for the compile phases). Version rows list picoquic first, then picotls.
fn image(iut: &Iut<Demo>, v: &VersionRow<Demo>, (pq, pt): Trees) -> ImageSpec {
    let mut img = iut
        .image(v)
        .packages(&["build-essential", "cmake", "pkg-config", "libssl-dev"])
        .pinned(pt, "/opt/picotls")
        .pinned(pq, "/opt/picoquic");
    for a in Build::new(false).argvs() {
        let argv: Vec<&str> = a.iter().map(String::as_str).collect();
        img = img.step_in("/opt", &argv);
    }
    img.workdir("/opt/picoquic")
}

#[cfg(test)]
mod tests {
    use super::*;

    // Each interop test case maps to the flags quic-interop-runner's picoquic endpoint uses, or
    // to exit 127 where picoquicdemo has no switch for it.
    #[test]
    fn test_cases_map_to_picoquicdemo_switches() {
        let now = &Demo::CURRENT;
        const L: EnvironmentKind = EnvironmentKind::Localhost;
        assert_eq!(case(Some("http3"), now, L).unwrap().alpn, Some("h3"));
        assert_eq!(case(Some("retry"), now, L).unwrap().server, ["-r"]);
        assert_eq!(case(Some("chacha20"), now, L).unwrap().client, ["-C", "20"]);
        assert!(case(Some("resumption"), now, L).unwrap().connections == Connections::Resumed);
        assert!(case(Some("handshakeloss"), now, L).unwrap().connections == Connections::EachFile);
        assert!(case(Some("transferloss"), now, L).unwrap().connections == Connections::One);
        assert!(case(Some("zerortt"), &Demo::DRAFT27_ERA, L).is_none(), "no tickets before -T");
        assert!(case(Some("keyupdate"), now, L).is_none());
        assert!(case(Some("keyupdate"), now, L).is_none());
        assert!(case(Some("ecn"), now, L).is_none());
        assert_eq!(case(None, now, L), Some(PLAIN));
        // A preferred address to move to: today's picoquicdemo on localhost only.
        let cm = case(Some("connectionmigration"), now, L).unwrap();
        assert_eq!((cm.server, cm.preferred_port), (&["-4", "127.0.0.2"][..], true));
        assert!(case(Some("connectionmigration"), &Demo::RFC9000_ERA, L).is_none(), "no -4 in 2021");
        assert!(case(Some("connectionmigration"), now, EnvironmentKind::Docker).is_none());
    }

    #[test]
    fn local_builds_use_the_placed_sources_and_docker_builds_opt() {
        let local = Build::new(true).argvs().concat().join(" ");
        assert!(local.contains("-S {{sources.picotls}} -B {{dirs.tools}}/picotls-build"), "{local}");
        assert!(local.contains("-DPTLS_INCLUDE_DIR={{sources.picotls}}/include"), "{local}");
        let docker = Build::new(false).argvs().concat().join(" ");
        assert!(docker.contains("-S /opt/picoquic -B /opt/picoquic-build") && !docker.contains("{{"), "{docker}");
    }
}
