//! quic-go (github.com/lucas-clemente/quic-go, later quic-go/quic-go) as an implementation
//! under test, with roles server and client over HTTP/3 or HTTP/0.9 (`hq-interop`).
//!
//! Two sources:
//! * `debian` (localhost and Docker, offline): Debian's quic-go 0.29 library
//!   (`golang-github-lucas-clemente-quic-go-dev`) built with Debian's Go 1.19 in GOPATH mode. The
//!   programs quic-go ships cannot run on a shared machine (`example/` serves a built-in test
//!   certificate and logs no keys, `example/client` prints bodies instead of saving them,
//!   `interop/{server,client}` hard-code `:443`, `/certs`, `/www`, `/downloads` and `/logs`), so
//!   the plan carries `src/go/main.go`, a front end of about 300 lines that only parses flags and
//!   calls quic-go's own `http3` and `interop/http09` packages. On localhost the host writes it
//!   into the tools cache and the compile phase builds it there. Under Docker the image holds
//!   the same Go and library plus a Go build cache warmed with quic-go's packages (apt only, no
//!   git); the host writes the source into the service's `work` mount and the compile phase (a
//!   one-shot container) builds it there in seconds, so the source never has to enter the image.
//! * `upstream` (Docker): the original's pin, tag v0.45.2, whose `interop/{server,client}`
//!   follow the interop-runner conventions (`/certs`, `/www`, `/downloads`, `/logs`, port 443).
//!
//! Interop test cases (`PlanRequest.testcase`, the quic-interop-runner's `TESTCASE`) are
//! configured as quic-go 0.29's own `interop/{server,client}` do it: HTTP/0.9 (`hq-interop`)
//! for every case but `http3`, a Retry for `retry`, only ChaCha20 for `chacha20`, a resumed
//! second connection for `resumption` and `zerortt` (0-RTT requests), a key update every 100
//! packets for the client of `keyupdate`. A case it cannot do runs `panther-qgo unsupported`,
//! which exits with 127 as a runner endpoint does. See [`interop_case`].
//!
//! Nothing is judged here: `assess` returns `none` and the host compares the transfers.

use panther_guest::*;

const NAME: &str = "quic-go";

/// The front end's source. Its digest goes into the compile command, so a changed source
/// changes the compile phase's content hash and the host rebuilds.
const FRONT_END: &str = include_str!("go/main.go");
const FRONT_END_PATH: &str = "{{dirs.tools}}/src/panther-qgo/main.go";
const FRONT_END_BIN: &str = "{{dirs.tools}}/bin/panther-qgo";
/// Under Docker: the tools cache is not mounted (caches belong in the image), the service's
/// `work` directory is.
const DOCKER_FRONT_END_PATH: &str = "{{dirs.work}}/panther-qgo/main.go";
const DOCKER_FRONT_END_BIN: &str = "{{dirs.work}}/panther-qgo/panther-qgo";
/// The Go build cache inside the image, warmed at build time with exactly the flags and
/// environment of the compile phase, so that phase only compiles and links `main.go`.
const IMAGE_GOCACHE: &str = "/opt/panther-qgo/gocache";
/// What the front end imports from quic-go; compiling them warms the image's build cache.
const QUIC_GO_PACKAGES: &[&str] = &[
    "github.com/lucas-clemente/quic-go",
    "github.com/lucas-clemente/quic-go/http3",
    "github.com/lucas-clemente/quic-go/interop/http09",
    "github.com/lucas-clemente/quic-go/logging",
    "github.com/lucas-clemente/quic-go/qlog",
];

/// What the front end's `-quic-version` takes for each protocol version.
struct Extra {
    flag: &'static str,
}

const UPSTREAM: Pin = Pin {
    name: "quic-go",
    url: "https://github.com/quic-go/quic-go.git",
    rev: "v0.45.2",
};

const VERSIONS: VersionTable<Extra> = VersionTable {
    plugin: NAME,
    rows: &[
        VersionRow {
            name: "rfc9000",
            wire: Some("00000001"),
            alpn: &["h3", "hq-interop"],
            upstream: &[UPSTREAM],
            extra: Extra { flag: "1" },
        },
        // quic-go dropped draft-29 in v0.37, so only the Debian build speaks it.
        VersionRow {
            name: "draft29",
            wire: Some("ff00001d"),
            alpn: &["h3-29", "hq-interop"],
            upstream: &[],
            extra: Extra { flag: "draft29" },
        },
    ],
};

const SOURCES: &[SourceRow] = &[
    SourceRow {
        name: "debian",
        doc: "Debian's quic-go 0.29 library (golang-github-lucas-clemente-quic-go-dev) and Go 1.19, built offline in GOPATH mode into the tools cache (`make setup` installs both)",
        offline: true,
    },
    SourceRow {
        name: "upstream",
        doc: "quic-go v0.45.2 from GitHub (the original's pin), its interop server and client built with Go 1.21.10 in a Docker image",
        offline: false,
    },
];

const ROLES: &[Role] = &[Role::Server, Role::Client];

/// Debian's GOPATH: the -dev package installs quic-go and its dependencies under it.
const GOPATH: &str = "/usr/share/gocode";

struct QuicGo;

impl ServicePlugin for QuicGo {
    fn describe() -> PluginInfo {
        PluginInfo {
            name: NAME.into(),
            version: env!("CARGO_PKG_VERSION").into(),
            kind: PluginKind::Iut,
            description: "quic-go HTTP/3 and HTTP/0.9 file server and downloader".into(),
            protocols: vec!["quic".into()],
            roles: ROLES.to_vec(),
            versions: VERSIONS.protocol_versions(),
            sources: source_infos(SOURCES),
            parameters: vec![
                source_param(SOURCES),
                ParamSpec::choice(
                    "alpn",
                    &["h3", "hq-interop"],
                    "application protocol: HTTP/3 (h3) or HTTP/0.9 (hq-interop); the server speaks only the one chosen",
                ),
                ParamSpec::boolean(
                    "insecure",
                    false,
                    "client: skip certificate verification instead of checking the server against the run's CA",
                ),
                ParamSpec::integer("timeout-s", 30, "client: give up downloading after this many seconds"),
            ],
            environments: vec![EnvironmentKind::Localhost, EnvironmentKind::Docker, EnvironmentKind::Shadow],
        }
    }

    fn plan(req: PlanRequest) -> Result<ServicePlan, PluginError> {
        require_role(NAME, &req, ROLES)?;
        check_choices(&Self::describe(), &req)?;
        let v = VERSIONS.get(&req.protocol_version)?;
        match req.param_str("source")? {
            "debian" => debian(&req, v),
            "upstream" => upstream(&req, v),
            other => Err(invalid_param(
                "source",
                format!("`{other}` is not a source of quic-go (debian, upstream)"),
            )),
        }
    }

    fn assess(_outcome: Outcome) -> Option<Verdict> {
        None
    }
}

/// The runner's `TESTCASE` for an endpoint: a few test cases reach the endpoints under another
/// name (quic-interop-runner `testcases_quic.py`; the `interop` tester's table).
fn endpoint_testcase(testcase: &str, role: Role) -> &str {
    match (testcase, role) {
        ("multiplexing" | "amplificationlimit", _) | ("keyupdate", Role::Server) => "transfer",
        // The cases over an impaired link run a plain endpoint (the link is the host's).
        ("transferloss" | "transfercorruption" | "blackhole" | "goodput" | "rebind-port" | "rebind-addr", _) => "transfer",
        ("longrtt", _) => "handshake",
        // Over IPv6: a plain transfer, to `::1` or `{{target.host6}}` (`on_ipv6`).
        ("ipv6", _) => "transfer",
        ("handshakeloss" | "handshakecorruption", _) => "multiconnect",
        (t, _) => t,
    }
}

/// How the front end runs one runner `TESTCASE` (ALPN and extra flags), as quic-go 0.29's
/// `interop/server` and `interop/client` configure the library; `None` when it cannot.
fn interop_case(endpoint_testcase: &str, role: Role) -> Option<(&'static str, &'static [&'static str])> {
    const HQ: &str = "hq-interop";
    const CHACHA: &[&str] = &["-cipher-suites", "TLS_CHACHA20_POLY1305_SHA256"];
    Some(match (role, endpoint_testcase) {
        (_, "http3") => ("h3", &[]),
        (_, "handshake" | "transfer") => (HQ, &[]),
        (_, "chacha20") => (HQ, CHACHA),
        (Role::Server, "retry") => (HQ, &["-retry"]),
        (Role::Server, "resumption" | "zerortt" | "multiconnect") => (HQ, &[]),
        (Role::Client, "retry") => (HQ, &[]),
        (Role::Client, "resumption") => (HQ, &["-resume"]),
        (Role::Client, "zerortt") => (HQ, &["-0rtt"]),
        (Role::Client, "keyupdate") => (HQ, &["-key-update-interval", "100"]),
        _ => return None,
    })
}

fn debian(req: &PlanRequest, v: &VersionRow<Extra>) -> Result<ServicePlan, PluginError> {
    // An interop test case decides the ALPN, as in the runner; the `alpn` parameter is for
    // plain tests.
    let (alpn, case_flags, unsupported) = match req.testcase.as_deref() {
        None => (req.param_str("alpn")?, &[][..], None),
        Some(tc) => match interop_case(endpoint_testcase(tc, req.role), req.role) {
            Some((alpn, flags)) => (alpn, flags, None),
            None => ("hq-interop", &[][..], Some(endpoint_testcase(tc, req.role))),
        },
    };
    let docker = req.environment == EnvironmentKind::Docker;
    let (src, bin, gocache) = if docker {
        (DOCKER_FRONT_END_PATH, DOCKER_FRONT_END_BIN, IMAGE_GOCACHE)
    } else {
        (FRONT_END_PATH, FRONT_END_BIN, "{{dirs.cache}}/go-build")
    };
    let digest = format!("{:016x}", front_end::fnv1a(FRONT_END.as_bytes()));
    let build = go_env(
        cmd(&["go", "build", "-trimpath", "-ldflags", &format!("-X main.sourceDigest={digest}")]).args(["-o", bin, src]),
        gocache,
    )
    .timeout(10 * 60 * 1000)
    .describe("build the quic-go 0.29 front end against Debian's library (offline, GOPATH mode)");
    let mut plan = ServicePlan::new().file(src, FRONT_END).compile(build);
    if docker {
        plan = plan.image(debian_image());
    }
    let common = |c: Command| {
        c.args([
            "-keylog",
            "{{files.keylog}}",
            "-qlog",
            "{{dirs.qlog}}",
            "-alpn",
            alpn,
            "-quic-version",
            v.extra.flag,
        ])
    };
    if let Some(tc) = unsupported {
        // The port stays declared so that a client's plan still renders its target.
        if req.role == Role::Server {
            plan = plan.port("quic", listen_port(req, 4443), Transport::Udp).ready_when_bound("quic");
        }
        return Ok(plan.run(
            cmd(&[bin, "unsupported", tc])
                .describe("quic-go 0.29 cannot do this interop test case: exit 127, as a runner endpoint does"),
        ));
    }
    Ok(match req.role {
        Role::Server => plan
            .port("quic", listen_port(req, 4443), Transport::Udp)
            .ready_when_bound("quic")
            .run(
                common(cmd(&[
                    bin,
                    "server",
                    "-listen",
                    &listen_addr(req, "{{ports.quic}}"),
                ]))
                .args(["-cert", "{{certs.cert_pem}}", "-key", "{{certs.key_pem}}", "-www", "{{dirs.www}}"])
                .args(case_flags)
                .describe("quic-go server serving the www directory"),
            )
            .artifact(ArtifactKind::Keylog, "{{files.keylog}}", false)
            .artifact(ArtifactKind::Qlog, "{{dirs.qlog}}", false),
        _ => {
            let verify: &[&str] = if req.param_bool("insecure")? {
                &["-insecure"]
            } else {
                &["-ca", "{{certs.ca_pem}}"]
            };
            let timeout = req.param_int("timeout-s")?;
            if !(1..=3600).contains(&timeout) {
                return Err(invalid_param("timeout-s", format!("{timeout} is not between 1 and 3600")));
            }
            let urls =
                requests_or_index(req).into_iter().map(|p| front_end::request_url_for(req, &p)).collect::<Result<Vec<_>, _>>()?;
            // In an interop test case the client uses 8-byte connection IDs instead of quic-go's
            // empty ones: with an empty DCID tshark 4.0 attributes the zero bytes aioquic pads
            // its Initial datagrams with to the connection, unmasks a random key phase bit from
            // them and then cannot decrypt the rest, so the tester could not judge the run.
            let cid: &[&str] = if req.testcase.is_some() { &["-conn-id-length", "8"] } else { &[] };
            plan.run(
                common(cmd(&[bin, "client"]))
                    .args(verify.iter())
                    .args(case_flags)
                    .args(cid)
                    .args(["-out", "{{dirs.downloads}}", "-timeout", &format!("{timeout}s")])
                    .args(urls)
                    .timeout((timeout as u64 + 10) * 1000)
                    .describe("quic-go client saving each request into the downloads directory"),
            )
            .artifact(ArtifactKind::Keylog, "{{files.keylog}}", true)
            .artifact(ArtifactKind::Qlog, "{{dirs.qlog}}", false)
        }
    })
}

/// Go in GOPATH mode against Debian's library, nothing fetched. The image build and the
/// compile phase must agree on all of it, or the warmed build cache would not be hit.
fn go_env(c: Command, gocache: &str) -> Command {
    c.env("GO111MODULE", "off")
        .env("GOPATH", GOPATH)
        .env("GOCACHE", gocache)
        .env("GOPROXY", "off")
        .env("GOFLAGS", "")
        .env("CGO_ENABLED", "0")
}

/// Debian's Go and quic-go 0.29 (apt only), with quic-go's packages compiled into
/// [`IMAGE_GOCACHE`] by the same `go build -trimpath` the compile phase runs.
fn debian_image() -> ImageSpec {
    let mut warm = vec!["go", "build", "-trimpath"];
    warm.extend(QUIC_GO_PACKAGES);
    let mut image = ImageSpec::new("quic-go-debian")
        .packages(&["golang-go", "golang-github-lucas-clemente-quic-go-dev", "ca-certificates"])
        .step(&warm);
    for (k, v) in [
        ("GO111MODULE", "off"),
        ("GOPATH", GOPATH),
        ("GOCACHE", IMAGE_GOCACHE),
        ("GOPROXY", "off"),
        ("GOFLAGS", ""),
        ("CGO_ENABLED", "0"),
    ] {
        image = image.with_env(k, v);
    }
    image
}

/// The original's pin in Docker. Its interop programs read `/certs/cert.pem`,
/// `/certs/priv.key` and `/www`, write `/downloads` and `/logs`, and listen on port 443; the
/// Docker environment mounts the service's directories there.
fn upstream(req: &PlanRequest, v: &VersionRow<Extra>) -> Result<ServicePlan, PluginError> {
    require_environment("quic-go from upstream", req, &[EnvironmentKind::Docker])?;
    let Some(pin) = v.upstream.first() else {
        return Err(unsupported(format!(
            "protocol version `{}` with source `upstream` (quic-go v0.45.2 has rfc9000 only; use source `debian`)",
            v.name
        )));
    };
    // The interop programs take the runner's TESTCASE (and exit 127 for one they lack); they
    // pick HTTP/3 only for `http3`, so a plain test asks for `http3` when it wants h3.
    let testcase = match (req.testcase.as_deref(), req.param_str("alpn")?) {
        (Some(t), _) => endpoint_testcase(t, req.role).to_string(),
        (None, "h3") => "http3".to_string(),
        (None, _) => "transfer".to_string(),
    };
    let image = ImageSpec::new(&format!("quic-go-{}", pin.rev))
        .packages(&["ca-certificates", "curl", "git"])
        .source(pin.name, pin.url, pin.rev, "/opt/quic-go")
        .step(&["curl", "-fsSLo", "/tmp/go.tgz", "https://go.dev/dl/go1.21.10.linux-amd64.tar.gz"])
        .step(&["tar", "-C", "/usr/local", "-xzf", "/tmp/go.tgz"])
        .step_in(
            "/opt/quic-go",
            &[
                "/usr/local/go/bin/go",
                "build",
                "-o",
                "/usr/local/bin/qgo-interop-server",
                "./interop/server",
            ],
        )
        .step_in(
            "/opt/quic-go",
            &[
                "/usr/local/go/bin/go",
                "build",
                "-o",
                "/usr/local/bin/qgo-interop-client",
                "./interop/client",
            ],
        )
        .workdir("/opt/quic-go");
    let env = |c: Command| {
        c.env("TESTCASE", &testcase)
            .env("SSLKEYLOGFILE", "{{files.keylog}}")
            .env("QLOGDIR", "{{dirs.qlog}}")
    };
    let plan = ServicePlan::new()
        .image(image)
        .artifact(ArtifactKind::Keylog, "{{files.keylog}}", false)
        .artifact(ArtifactKind::Qlog, "{{dirs.qlog}}", false);
    Ok(match req.role {
        Role::Server => plan
            .port("quic", 443, Transport::Udp)
            .ready_when_bound("quic")
            // The interop server reads the key as /certs/priv.key.
            .pre_run(
                cmd(&["cp", "{{certs.key_pem}}", "/certs/priv.key"])
                    .critical(false)
                    .describe("the interop server's key file name"),
            )
            .run(env(cmd(&["qgo-interop-server"])).describe("quic-go v0.45.2 interop server on port 443")),
        _ => {
            let urls = requests_or_index(req).into_iter().map(|p| front_end::request_url(&p)).collect::<Result<Vec<_>, _>>()?;
            plan.run(
                env(cmd(&["qgo-interop-client"]))
                    .args(urls)
                    .timeout(60_000)
                    .describe("quic-go v0.45.2 interop client saving into /downloads"),
            )
        }
    })
}

export_service!(QuicGo);

#[cfg(test)]
mod tests {
    use super::*;

    fn req(role: Role, env: EnvironmentKind, version: &str, source: &str) -> PlanRequest {
        let s = |v: &str| ParamValue::String(v.into());
        PlanRequest {
            service: "svc".into(),
            role,
            protocol: "quic".into(),
            protocol_version: version.into(),
            params: vec![
                ("source".into(), s(source)),
                ("alpn".into(), s("h3")),
                ("insecure".into(), ParamValue::Boolean(false)),
                ("timeout-s".into(), ParamValue::Integer(30)),
            ],
            target: None,
            peers: vec![],
            environment: env,
            requests: vec!["/f1.bin".into(), "/dir/f2.bin".into()],
            testcase: None,
        }
    }

    #[test]
    fn the_debian_server_ships_the_front_end_and_builds_it_in_the_tools_cache() {
        let p = QuicGo::plan(req(Role::Server, EnvironmentKind::Localhost, "rfc9000", "debian")).unwrap();
        assert_eq!(p.files, vec![(FRONT_END_PATH.to_string(), FRONT_END.to_string())]);
        let build = &p.phases.compile[0];
        assert!(build
            .argv
            .iter()
            .any(|a| a == &format!("-X main.sourceDigest={:016x}", front_end::fnv1a(FRONT_END.as_bytes()))));
        let run = &p.phases.run[0].argv;
        assert_eq!(run[..4], [FRONT_END_BIN, "server", "-listen", "{{self.ip}}:{{ports.quic}}"]);
        assert!(run.windows(2).any(|w| w == ["-www", "{{dirs.www}}"]));
        assert_eq!(p.ports[0].number, 0);
        assert!(matches!(&p.readiness.condition, ReadinessCondition::PortBound(n) if n == "quic"));
        // The front end must survive the host's handlebars rendering unchanged.
        assert!(!FRONT_END.contains("{{"));
    }

    #[test]
    fn the_client_fetches_every_request_into_downloads_and_checks_the_ca() {
        let p = QuicGo::plan(req(Role::Client, EnvironmentKind::Localhost, "draft29", "debian")).unwrap();
        let argv = &p.phases.run[0].argv;
        assert!(argv.windows(2).any(|w| w == ["-ca", "{{certs.ca_pem}}"]));
        assert!(argv.windows(2).any(|w| w == ["-quic-version", "draft29"]));
        assert!(argv.windows(2).any(|w| w == ["-out", "{{dirs.downloads}}"]));
        assert_eq!(
            argv[argv.len() - 2..],
            [
                "https://{{target.host}}:{{target.port}}/f1.bin",
                "https://{{target.host}}:{{target.port}}/dir/f2.bin"
            ]
        );
    }

    #[test]
    fn upstream_is_docker_only_and_has_no_draft29() {
        assert!(matches!(
            QuicGo::plan(req(Role::Server, EnvironmentKind::Localhost, "rfc9000", "upstream")),
            Err(PluginError::Unsupported(_))
        ));
        assert!(
            matches!(QuicGo::plan(req(Role::Server, EnvironmentKind::Docker, "draft29", "upstream")), Err(PluginError::Unsupported(m)) if m.contains("rfc9000 only"))
        );
        let p = QuicGo::plan(req(Role::Server, EnvironmentKind::Docker, "rfc9000", "upstream")).unwrap();
        assert_eq!(p.image.unwrap().sources[0].rev, "v0.45.2");
    }

    #[test]
    fn the_debian_plan_under_docker_builds_offline_into_the_work_mount() {
        let p = QuicGo::plan(req(Role::Server, EnvironmentKind::Docker, "rfc9000", "debian")).unwrap();
        let image = p.image.as_ref().expect("docker plans carry an image");
        assert!(image.sources.is_empty(), "no git: apt only");
        assert!(image.packages.iter().any(|p| p == "golang-github-lucas-clemente-quic-go-dev"));
        // The warming step and the compile phase share flags and environment (cache hits).
        let warm = &image.steps[0];
        let build = &p.phases.compile[0];
        assert_eq!(warm.argv[..3], build.argv[..3]);
        assert_eq!(warm.env, build.env);
        assert!(build.env.contains(&("GOCACHE".to_string(), IMAGE_GOCACHE.to_string())));
        assert_eq!(p.files[0].0, DOCKER_FRONT_END_PATH);
        let run = &p.phases.run[0].argv;
        assert_eq!(run[..4], [DOCKER_FRONT_END_BIN, "server", "-listen", "0.0.0.0:{{ports.quic}}"]);
        assert_eq!(p.ports[0].number, 4443);
        assert!(!p.phases.compile.iter().chain(&p.phases.run).flat_map(|c| &c.argv).any(|a| a.contains("dirs.tools")));
    }

    fn with_testcase(role: Role, tc: &str) -> ServicePlan {
        let mut r = req(role, EnvironmentKind::Localhost, "rfc9000", "debian");
        r.requests = vec!["/f1.bin".into(), "/f2.bin".into()];
        r.testcase = Some(tc.into());
        QuicGo::plan(r).unwrap()
    }

    fn has(argv: &[String], pair: [&str; 2]) -> bool {
        argv.windows(2).any(|w| w == pair)
    }

    // Interop test cases are configured as quic-go's own interop programs do: hq-interop
    // except for http3 (whatever the `alpn` parameter says), Retry, ChaCha20, resumption,
    // 0-RTT and key updates through the front end's flags.
    #[test]
    fn interop_test_cases_set_the_flags_quic_go_interop_uses() {
        let run = |role, tc| with_testcase(role, tc).phases.run[0].argv.clone();
        assert!(has(&run(Role::Server, "handshake"), ["-alpn", "hq-interop"]));
        assert!(has(&run(Role::Client, "http3"), ["-alpn", "h3"]));
        assert!(run(Role::Server, "retry").contains(&"-retry".to_string()));
        assert!(!run(Role::Client, "retry").contains(&"-retry".to_string()));
        for role in [Role::Server, Role::Client] {
            assert!(has(&run(role, "chacha20"), ["-cipher-suites", "TLS_CHACHA20_POLY1305_SHA256"]));
        }
        assert!(run(Role::Client, "resumption").contains(&"-resume".to_string()));
        assert!(run(Role::Client, "zerortt").contains(&"-0rtt".to_string()));
        assert!(has(&run(Role::Client, "keyupdate"), ["-key-update-interval", "100"]));
        // The server of keyupdate and multiplexing gets the runner's `transfer`.
        let server = run(Role::Server, "keyupdate");
        assert!(!server.contains(&"-key-update-interval".to_string()) && server[1] == "server");
        assert_eq!(run(Role::Server, "multiplexing")[1], "server");
    }

    // A test case quic-go 0.29 cannot do exits 127, the runner's "unsupported"; the server
    // keeps its port so that the client's plan still renders.
    #[test]
    fn unsupported_test_cases_exit_127() {
        for (role, tc) in [(Role::Server, "v2"), (Role::Client, "ecn"), (Role::Client, "multiconnect")] {
            let p = with_testcase(role, tc);
            assert_eq!(p.phases.run[0].argv, [FRONT_END_BIN, "unsupported", tc]);
            assert_eq!(p.ports.len(), usize::from(role == Role::Server));
        }
        assert!(FRONT_END.contains("os.Exit(127)"));
    }

}
