//! FRRouting's bgpd (with zebra) as a BGP implementation under test.
//!
//! As in the original: zebra is started in the background, then, after a second, bgpd with
//! `-n` (no kernel routes) and the configuration rendered from the AS/neighbour parameters.
//! The original wrote router and neighbour addresses as decimal integers (Ivy's form), which
//! bgpd rejects; here they are dotted quads (`{{self.ip}}`, `{{target.ip}}`) and the
//! configuration is a plan file the host writes. Daemon sockets and pid files live in the
//! service's work directory. Docker only: bgpd needs its own address per router.

use panther_guest::*;

const NAME: &str = "frr-bgp";
const FRR: Pin = Pin::new("frr", "https://github.com/FRRouting/frr.git", "frr-10.2.1");

const IUT: Iut = Iut {
    name: NAME,
    version: env!("CARGO_PKG_VERSION"),
    description: "FRRouting bgpd + zebra, one BGP speaker peering with its target",
    protocol: "bgp",
    roles: &[Role::Server, Role::Client, Role::Peer],
    environments: &[EnvironmentKind::Docker],
    versions: &[VersionRow::new("rfc4271", None, &[], &[FRR])],
    sources: &[
        SourceRow::offline("debian", "Debian bookworm's frr package, installed with apt in a Docker image"),
        SourceRow::upstream("FRR 10.2.1 (the original's version) from git, built with autotools in a Docker image"),
    ],
};

/// The parameters after `source`.
fn parameters() -> Vec<ParamSpec> {
    vec![
        ParamSpec::integer("as_number", 2, "this router's AS number"),
        ParamSpec::integer("neighbor_as", 1, "the neighbour's AS number"),
        ParamSpec::integer("hold_time", 180, "BGP hold time, seconds"),
        ParamSpec::integer("keepalive_time", 60, "BGP keepalive interval, seconds"),
        ParamSpec::integer("listen_port", 179, "TCP port bgpd listens on"),
    ]
}

const DAEMON_ARGS: [&str; 4] = ["-u", "root", "-g", "root"];

fn plan(req: PlanRequest) -> Result<ServicePlan, PluginError> {
    IUT.admit(&req)?;
    let neighbor = match (&req.target, req.peers.first()) {
        (Some(_), _) => "{{target.ip}}".to_string(),
        (None, Some(p)) => format!("{{{{peers.{}.ip}}}}", p.name),
        (None, None) => return Err(unsupported("a BGP speaker without a neighbour: give the service a `protocol.target` or a peer")),
    };
    let asn = positive(&req, "as_number", 4_294_967_295)?;
    let neighbor_as = positive(&req, "neighbor_as", 4_294_967_295)?;
    let hold = req.param_int("hold_time")?;
    let keepalive = req.param_int("keepalive_time")?;
    if hold != 0 && (hold < 3 || keepalive > hold) {
        return Err(invalid_param(
            "hold_time",
            format!("{hold} s with a keepalive of {keepalive} s: the hold time must be 0 or at least 3 s and not below the keepalive"),
        ));
    }
    let port = req.param_u16("listen_port")?;
    let conf = format!(
        "frr version 10.2.1\nfrr defaults traditional\n!\nrouter bgp {asn}\n bgp router-id {{{{self.ip}}}}\n neighbor {neighbor} remote-as {neighbor_as}\n neighbor {neighbor} timers {keepalive} {hold}\n !\n address-family ipv4 unicast\n  neighbor {neighbor} activate\n exit-address-family\n!\n"
    );
    let image = match req.param_str("source")? {
        "debian" => ImageSpec::new("frr-debian").packages(&["frr"]),
        _ => upstream_image(),
    };
    let work = "{{dirs.work}}";
    Ok(ServicePlan::new()
        .image(image)
        .port("bgp", port, Transport::Tcp)
        .ready_when_bound("bgp")
        .file("{{dirs.work}}/bgpd.conf", &conf)
        .file("{{dirs.work}}/zebra.conf", "hostname zebra\n!\n")
        .artifact(ArtifactKind::Other, "{{dirs.work}}/bgpd.conf", true)
        .run(
            cmd(&[
                "/usr/lib/frr/zebra",
                "-d",
                "-f",
                &format!("{work}/zebra.conf"),
                "-i",
                &format!("{work}/zebra.pid"),
            ])
            .args(["-z", &format!("{work}/zserv.api"), "--vty_socket", work])
            .args(DAEMON_ARGS)
            .describe("zebra, daemonised as in the original"),
        )
        .run(cmd(&["sleep", "1"]).describe("the original waits a second for zebra"))
        .run(
            cmd(&[
                "/usr/lib/frr/bgpd",
                "-n",
                "-f",
                &format!("{work}/bgpd.conf"),
                "-p",
                "{{ports.bgp}}",
                "-i",
                &format!("{work}/bgpd.pid"),
            ])
            .args(["-z", &format!("{work}/zserv.api"), "--vty_socket", work])
            .args(DAEMON_ARGS)
            .describe("bgpd in the foreground"),
        ))
}

fn positive(req: &PlanRequest, name: &str, max: i64) -> Result<i64, PluginError> {
    let v = req.param_int(name)?;
    if v < 1 || v > max {
        return Err(invalid_param(name, format!("{v} is not an AS number (1 to {max})")));
    }
    Ok(v)
}

fn upstream_image() -> ImageSpec {
    ImageSpec::new("frr-upstream")
        .packages(&[
            "git",
            "ca-certificates",
            "build-essential",
            "autoconf",
            "automake",
            "libtool",
            "make",
            "pkg-config",
            "bison",
            "flex",
            "texinfo",
            "install-info",
            "libreadline-dev",
            "libjson-c-dev",
            "libc-ares-dev",
            "libpam0g-dev",
            "libcap-dev",
            "libelf-dev",
            "libunwind-dev",
            "libprotobuf-c-dev",
            "protobuf-c-compiler",
            "libyang2-dev",
            "python3-dev",
            "perl",
        ])
        .pinned(&FRR, "/opt/frr")
        .steps_in(
            "/opt/frr",
            &[
                &["./bootstrap.sh"],
                &[
                    "./configure",
                    "--prefix=/usr",
                    "--sysconfdir=/etc",
                    "--localstatedir=/var",
                    "--sbindir=/usr/lib/frr",
                    "--enable-user=root",
                    "--enable-group=root",
                    "--disable-doc",
                ],
                &["make", "-j2"],
                &["make", "install"],
            ],
        )
        .workdir("/etc/frr")
}

export_iut!(IUT, plan, parameters());
