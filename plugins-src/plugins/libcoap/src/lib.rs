//! libcoap (obgm/libcoap) as a CoAP implementation under test: its example `coap-server` and
//! `coap-client`.
//!
//! The original ran libcoap-minimal's `server`/`client` with `-p PORT -i ADDRESS`, flags those
//! programs do not have (they are hard-wired to port 5683 and coap.me), so the service never
//! listened where the harness expected. Here the full example programs take the address and
//! port (`coap-server -A ADDRESS -p PORT`) and the client fetches each request into
//! `{{dirs.downloads}}` (`coap-client -m get -o FILE URI`); without requests it fetches
//! `/.well-known/core`.
//!
//! Sources: `debian` unpacks bookworm's libcoap 4.3.1 packages (fetched with `apt-get
//! download`, no installation) into `{{dirs.tools}}` on localhost, or installs them with apt in
//! a Docker image; `upstream` builds the original's pinned commit in a Docker image.

use panther_guest::*;

const NAME: &str = "libcoap";
const LIBCOAP: Pin = Pin::new("libcoap", "https://github.com/obgm/libcoap.git", "d4f78cd5600a15a0599db21d3d2eb34a36c8c209");
const DEB_VERSION: &str = "4.3.1-1";

const IUT: Iut = Iut {
    name: NAME,
    version: env!("CARGO_PKG_VERSION"),
    description: "libcoap example CoAP server and client (UDP, no DTLS)",
    protocol: "coap",
    roles: &[Role::Server, Role::Client],
    environments: &[EnvironmentKind::Localhost, EnvironmentKind::Docker],
    versions: &[VersionRow::new("rfc7252", None, &[], &[LIBCOAP])],
    sources: &[
        SourceRow::offline(
            "debian",
            "Debian bookworm's libcoap 4.3.1 example programs (libcoap3-bin), unpacked into the tools cache on localhost or installed in a Docker image",
        ),
        SourceRow::upstream("libcoap commit d4f78cd5 from GitHub, built with autotools in a Docker image"),
    ],
};

fn plan(req: PlanRequest) -> Result<ServicePlan, PluginError> {
    IUT.admit_any_environment(&req)?;
    let role = match req.role {
        Role::Server => "server",
        _ => "client",
    };
    let (plan, exe, libs) = match (req.param_str("source")?, req.environment) {
        ("debian", EnvironmentKind::Localhost) => {
            let debs = "{{dirs.tools}}/debs";
            let mut plan = ServicePlan::new().compile(cmd(&["mkdir", "-p", debs])).compile(
                cmd(&[
                    "apt-get",
                    "download",
                    &format!("libcoap3-bin={DEB_VERSION}"),
                    &format!("libcoap3={DEB_VERSION}"),
                ])
                .cwd(debs)
                .timeout(10 * 60 * 1000)
                .describe("fetch (not install) the Debian packages"),
            );
            for pkg in ["libcoap3-bin", "libcoap3"] {
                plan = plan.compile(cmd(&["dpkg", "-x", &format!("{debs}/{pkg}_{DEB_VERSION}_amd64.deb"), "{{dirs.tools}}/root"]));
            }
            (
                plan,
                format!("{{{{dirs.tools}}}}/root/usr/bin/coap-{role}-notls"),
                Some("{{dirs.tools}}/root/usr/lib/x86_64-linux-gnu"),
            )
        }
        ("debian", EnvironmentKind::Docker) => (
            ServicePlan::new().image(ImageSpec::new("libcoap-debian").packages(&["libcoap3-bin"])),
            format!("/usr/bin/coap-{role}-notls"),
            None,
        ),
        (_, EnvironmentKind::Docker) => (ServicePlan::new().image(upstream_image()), format!("/usr/local/bin/coap-{role}"), None),
        (source, _) => {
            return Err(unsupported(format!(
                "environment `{}` with source `{source}` (libcoap plans localhost with `debian`, docker with `debian` or `upstream`)",
                versions::env_name(req.environment)
            )))
        }
    };
    let with_libs = |c: Command| match libs {
        Some(dir) => c.env("LD_LIBRARY_PATH", dir),
        None => c,
    };
    Ok(match req.role {
        Role::Server => plan
            .port("coap", listen_port(&req, 4443), Transport::Udp)
            .ready_when_bound("coap")
            .run(with_libs(
                cmd(&[&exe, "-A", listen_host(&req), "-p", "{{ports.coap}}", "-v", "6"]).describe("libcoap example server"),
            )),
        _ => {
            let paths = if req.requests.is_empty() {
                vec!["/.well-known/core".to_string()]
            } else {
                req.requests.clone()
            };
            paths.into_iter().fold(plan, |plan, path| {
                let file = path.trim_start_matches('/').replace('/', "_");
                plan.run(with_libs(
                    cmd(&[&exe, "-m", "get", "-v", "6", "-o", &format!("{{{{dirs.downloads}}}}/{file}")])
                        .args([format!("coap://{{{{target.ip}}}}:{{{{target.port}}}}{path}")])
                        .describe("libcoap example client fetching one request"),
                ))
            })
        }
    })
}

fn upstream_image() -> ImageSpec {
    ImageSpec::new("libcoap-upstream")
        .packages(&["git", "ca-certificates", "build-essential", "autoconf", "automake", "libtool", "pkg-config"])
        .pinned(&LIBCOAP, "/opt/libcoap")
        .steps_in(
            "/opt/libcoap",
            &[
                &["./autogen.sh"],
                &["./configure", "--disable-doxygen", "--disable-manpages", "--disable-dtls", "--enable-examples"],
                &["make", "-j2"],
                &["make", "install"],
            ],
        )
        .step(&["ldconfig"])
        .workdir("/opt/libcoap")
}

export_iut!(IUT, plan);
