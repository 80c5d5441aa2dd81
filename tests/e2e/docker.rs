//! The Docker executor against the real daemon, driven directly with hand-made
//! `ServiceInstance`s (the placements are what the `docker-compose` plugin returns): images
//! built from structured specs with no registry, one internal network per test, real QUIC
//! pairs in containers, pcaps decrypted with the services' key logs, the compose file, and
//! teardown that leaves nothing labelled behind. The last test runs the Docker demo through
//! the real `panther-host run` binary, plugins and orchestrator included.
//!
//! Where no daemon answers, every test here prints that it is skipped and returns.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command as Proc;
use std::time::Duration;

use panther_host::events::EventSink;
use panther_host::exec::capture::Capture;
use panther_host::exec::docker::{self, image::BASE_IMAGE, DockerExecutor};
use panther_host::exec::{Executor, ServiceDirs, ServiceInstance};
use panther_host::plan::CheckedPlan;
use panther_host::plugin::types::{
    BuildStep, Command, ImageSpec, Phases, Port, Readiness, ReadinessCondition, Role, ServicePlan, Transport,
};
use panther_host::plugin::wit::latest::env::{Mount, Network, Placement};
use tokio_util::sync::CancellationToken;

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap()
}

/// `true` when a daemon answers; otherwise says plainly that the test is skipped. Where Docker
/// is expected (`CI=true` or `PANTHER_REQUIRE_DOCKER=1`) a missing daemon fails the test
/// instead: a skipped Docker suite must never pass as a green one.
fn daemon(test: &str) -> bool {
    match rt().block_on(docker::connect_daemon()) {
        Ok(_) => true,
        Err(e) => {
            let required = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
                || std::env::var("PANTHER_REQUIRE_DOCKER").is_ok_and(|v| v == "1");
            assert!(!required, "docker::{test}: Docker is required here (CI or PANTHER_REQUIRE_DOCKER=1): {e}");
            eprintln!("SKIPPED docker::{test}: {e}");
            false
        }
    }
}

/// Removes whatever a failing test left labelled with its run (teardown is in the test's
/// happy path; a panic skips it).
/// Removes what a run left, by its run id (unique per test here), or by its run key
/// ([`Cleanup::run_dir`]) for runs of the real binary: their ids are timestamps, which runs of
/// other tests started in the same second share.
struct Cleanup {
    value: String,
    label: &'static str,
}

impl Cleanup {
    fn run(id: String) -> Cleanup {
        Cleanup { value: id, label: docker::LABEL_RUN }
    }

    fn run_dir(dir: &Path) -> Cleanup {
        let id = dir.file_name().unwrap().to_string_lossy().into_owned();
        Cleanup { value: docker::run_key(dir, &id), label: docker::LABEL_RUN_KEY }
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        let (value, label) = (self.value.clone(), self.label);
        let _ = std::thread::spawn(move || {
            rt().block_on(async {
                if let Ok(d) = docker::connect_daemon().await {
                    docker::remove_labelled(&d, label, &value, false).await;
                }
            })
        })
        .join();
    }
}

fn cmd(argv: &[&str], env: &[(&str, &str)], cwd: Option<&str>) -> Command {
    Command {
        argv: argv.iter().map(|s| s.to_string()).collect(),
        env: env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        cwd: cwd.map(String::from),
        timeout_ms: Some(60_000),
        critical: true,
        description: String::new(),
    }
}

fn env(kv: &[(&str, &str)]) -> Vec<(String, String)> {
    kv.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// quic-go 0.29 from Debian, built in GOPATH mode inside the image (apt only).
fn quic_go_image() -> ImageSpec {
    let go_env = env(&[
        ("GO111MODULE", "off"),
        ("GOPATH", "/usr/share/gocode"),
        ("GOCACHE", "/tmp/gocache"),
        ("GOFLAGS", "-buildvcs=false"),
    ]);
    let build = |out: &str, pkg: &str| BuildStep {
        argv: ["go", "build", "-o", out, pkg].map(String::from).to_vec(),
        workdir: None,
        env: go_env.clone(),
    };
    ImageSpec {
        name: "panther/quic-go-debian".into(),
        base: BASE_IMAGE.into(),
        packages: vec!["golang-go".into(), "golang-github-lucas-clemente-quic-go-dev".into()],
        sources: vec![],
        steps: vec![
            build("/usr/local/bin/qgo-interop-server", "github.com/lucas-clemente/quic-go/interop/server"),
            build("/usr/local/bin/qgo-interop-client", "github.com/lucas-clemente/quic-go/interop/client"),
            BuildStep { argv: ["rm", "-rf", "/tmp/gocache"].map(String::from).to_vec(), workdir: None, env: vec![] },
        ],
        build_args: vec![],
        workdir: Some("/app".into()),
    }
}

/// aioquic 1.2.0 from PyPI plus its sdist's examples (the wheel has none), fetched through
/// PyPI's simple index because `pip download --no-binary` would build the C extension.
fn aioquic_image() -> ImageSpec {
    let fetch = r#"import re,urllib.request,tarfile,io
base="https://pypi.org/simple/aioquic/"
idx=urllib.request.urlopen(base).read().decode()
url=[h for h in re.findall(r'href="([^"]+)"',idx) if "aioquic-1.2.0.tar.gz" in h][0]
tarfile.open(fileobj=io.BytesIO(urllib.request.urlopen(urllib.request.urljoin(base,url)).read())).extractall("/opt")"#;
    ImageSpec {
        name: "panther/aioquic-pypi".into(),
        base: BASE_IMAGE.into(),
        packages: vec!["python3".into(), "python3-pip".into()],
        sources: vec![],
        steps: vec![
            BuildStep {
                argv: [
                    "pip",
                    "install",
                    "--quiet",
                    "--no-cache-dir",
                    "--break-system-packages",
                    "aioquic==1.2.0",
                    "starlette",
                    "jinja2",
                    "wsproto",
                    "dnslib",
                    "httpx",
                ]
                .map(String::from)
                .to_vec(),
                workdir: None,
                env: vec![],
            },
            BuildStep { argv: vec!["python3".into(), "-c".into(), fetch.into()], workdir: None, env: vec![] },
        ],
        build_args: vec![],
        workdir: Some("/opt/aioquic-1.2.0/examples".into()),
    }
}

fn plan(image: ImageSpec, run: Command, readiness: ReadinessCondition, ports: Vec<Port>) -> CheckedPlan {
    CheckedPlan::assume_checked_for_tests(ServicePlan {
        phases: Phases {
            pre_compile: vec![],
            compile: vec![],
            post_compile: vec![],
            pre_run: vec![],
            run: vec![run],
            post_run: vec![],
        },
        image: Some(image),
        ports,
        readiness: Readiness { condition: readiness, timeout_ms: 30_000 },
        artifacts: vec![],
        capabilities: vec![],
        files: vec![],
    })
}

/// The placement the docker-compose plugin gives a service (same mounts, env and order).
fn placement(name: &str, role: Role, after: &[&str], testcase: &str) -> Placement {
    let mounts = [
        ("logs", "/app/logs", false),
        ("logs", "/logs", false),
        ("qlog", "/app/logs/qlog", false),
        ("certs", "/certs", true),
        ("www", "/www", true),
        ("downloads", "/downloads", false),
        ("work", "/app/work", false),
    ];
    Placement {
        service: name.into(),
        host: name.into(),
        aliases: vec![format!("{name}.test")],
        networks: vec!["test".into()],
        after: after.iter().map(|s| s.to_string()).collect(),
        mounts: mounts
            .iter()
            .map(|(d, t, ro)| Mount { dir: d.to_string(), target: Some(t.to_string()), read_only: *ro })
            .collect(),
        env: env(&[
            ("ROLE", if role == Role::Server { "server" } else { "client" }),
            ("SSLKEYLOGFILE", "/app/logs/keys.log"),
            ("QLOGDIR", "/app/logs/qlog"),
            ("TESTCASE", testcase),
        ]),
    }
}

fn instance(
    run: &Path,
    test: &str,
    name: &str,
    role: Role,
    plan: CheckedPlan,
    after: &[&str],
    testcase: &str,
) -> ServiceInstance {
    let root = run.join(test).join(name);
    let dirs = ServiceDirs {
        logs: root.join("logs"),
        work: root.join("work"),
        www: run.join(test).join("www"),
        downloads: root.join("downloads"),
        certs: run.join("certs"),
        qlog: root.join("logs/qlog"),
        cache: run.join("cache"),
        tools: run.join("tools"),
        root,
    };
    ServiceInstance {
        test: test.into(),
        name: name.into(),
        role,
        implementation: name.into(),
        tester: false,
        plan,
        dirs,
        host: name.into(),
        ips: BTreeMap::new(),
        hosts: vec![],
        ports: BTreeMap::from([("quic".to_string(), 443u16)]),
        after: after.iter().map(|s| s.to_string()).collect(),
        extra_env: vec![],
        placement: Some(placement(name, role, after, testcase)),
        timeout: Duration::from_secs(60),
    }
}

/// A CA and a CA:FALSE leaf for `server` (what rustls-style clients accept), with openssl.
fn make_certs(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let sh = |args: &[&str]| {
        let out = Proc::new("openssl").args(args).current_dir(dir).output().expect("openssl is installed");
        assert!(out.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    };
    sh(&[
        "req",
        "-x509",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=panther test CA",
    ]);
    sh(&[
        "req",
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
        "-keyout",
        "priv.key",
        "-out",
        "leaf.csr",
        "-subj",
        "/CN=server",
    ]);
    std::fs::write(
        dir.join("ext.cnf"),
        "basicConstraints=CA:FALSE\nsubjectAltName=DNS:server,DNS:server.test,DNS:localhost,IP:127.0.0.1\n",
    )
    .unwrap();
    sh(&[
        "x509",
        "-req",
        "-in",
        "leaf.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "cert.pem",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
    ]);
}

fn run_id(tag: &str) -> String {
    format!("e2e-{tag}-{}", std::process::id())
}

/// Decrypted HTTP/3 frames in a pcap, read with a key log (tshark -o tls.keylog_file).
fn http3_frames(pcap: &Path, keylog: Option<&Path>) -> usize {
    http3_frames_on(pcap, 443, keylog)
}

/// [`http3_frames`] for QUIC on `port`.
fn http3_frames_on(pcap: &Path, port: u16, keylog: Option<&Path>) -> usize {
    let mut c = Proc::new("tshark");
    c.arg("-r").arg(pcap).args(["-d", &format!("udp.port=={port},quic")]);
    if let Some(k) = keylog {
        c.arg("-o").arg(format!("tls.keylog_file:{}", k.display()));
    }
    let out = c.args(["-Y", "http3", "-T", "fields", "-e", "frame.number"]).output().expect("tshark is installed");
    String::from_utf8_lossy(&out.stdout).lines().filter(|l| !l.trim().is_empty()).count()
}

/// One pool for the tests of this process, so pairs running side by side get distinct subnets.
static SUBNETS: std::sync::LazyLock<panther_host::run::subnets::SubnetPool> =
    std::sync::LazyLock::new(|| panther_host::run::subnets::SubnetPool::starting_from(&std::process::id().to_string()));

struct Pair<'a> {
    test: &'a str,
    server_plan: CheckedPlan,
    client_plan: CheckedPlan,
}

/// Runs one server ← client test the way the orchestrator does, returns the client's exit.
async fn run_pair(
    ex: &DockerExecutor,
    run: &Path,
    pair: Pair<'_>,
) -> (panther_host::exec::ServiceExit, ServiceInstance, ServiceInstance) {
    let test = pair.test;
    let mut server = instance(run, test, "server", Role::Server, pair.server_plan, &[], "http3");
    let mut client = instance(run, test, "client", Role::Client, pair.client_plan, &["server"], "http3");
    // Fixed addresses, as the orchestrator gives every Docker test: a free subnet of the pool,
    // gateway .1, services from .2 in start order.
    SUBNETS.set_in_use(docker::subnets_in_use(ex.client()).await.unwrap());
    let subnet = SUBNETS.take(&format!("{}/{test}", run.display()), 1, true).unwrap()[0];
    let server_ip = subnet.host(2).unwrap().to_string();
    server.ips = BTreeMap::from([("test".to_string(), server_ip.clone())]);
    client.ips = BTreeMap::from([("test".to_string(), subnet.host(3).unwrap().to_string())]);
    ex.create_network(test, &Network { name: "test".into(), internal: true }, Some(subnet), false).await.unwrap();
    ex.prepare(&server).await.unwrap();
    ex.prepare(&client).await.unwrap();
    let pcap = run.join(test).join("capture.pcap");
    // What the orchestrator does: the shared capture on the bridge the executor names.
    let bridge = ex.bridge_of(test, "test").expect("the test network exists");
    let capture = Capture::start(&bridge, &[443], &pcap).await.unwrap();
    let cancel = CancellationToken::new();
    let mut s = ex.start(&server).await.unwrap();
    ex.wait_ready(&server, &mut s, &cancel).await.unwrap();
    let seen = ex
        .client()
        .inspect_container(&s.id, None::<docker::bollard::query_parameters::InspectContainerOptions>)
        .await
        .unwrap();
    let addresses: Vec<String> = seen
        .network_settings
        .and_then(|n| n.networks)
        .unwrap_or_default()
        .values()
        .filter_map(|e| e.ip_address.clone())
        .collect();
    assert_eq!(addresses, vec![server_ip.clone()], "the server container has the address its plan was rendered with");
    let compose = std::fs::read_to_string(run.join(test).join("docker-compose.yml")).unwrap();
    assert!(
        compose.contains(&format!("ipv4_address: \"{server_ip}\""))
            && compose.contains(&format!("subnet: \"{subnet}\"")),
        "{compose}"
    );
    let mut c = ex.start(&client).await.unwrap();
    ex.wait_ready(&client, &mut c, &cancel).await.unwrap();
    let cexit = ex.wait(&client, &mut c, &cancel).await;
    let sexit = ex.stop(&server, &mut s, Duration::from_secs(2)).await;
    assert!(sexit.stopped_by_host, "server should have been running until stopped: {sexit:?}");
    let (_, sarts) = ex.post_run(&server).await;
    let (_, carts) = ex.post_run(&client).await;
    let logs = |s: &ServiceInstance| {
        ["stdout.log", "stderr.log"]
            .map(|f| std::fs::read_to_string(s.dirs.logs.join(f)).unwrap_or_default())
            .join("\n--- stderr ---\n")
    };
    assert_eq!(
        cexit.exit_code,
        Some(0),
        "client failed: {cexit:?}\n{}\n--- server ---\n{}",
        logs(&client),
        logs(&server)
    );
    assert!(sarts.iter().any(|(_, p)| p.ends_with("stdout.log")), "{sarts:?}");
    assert!(carts.iter().any(|(_, p)| p.ends_with("keys.log")), "client key log collected: {carts:?}");
    let report = capture.stop().await.unwrap();
    assert_eq!(report.path, pcap);
    (cexit, server, client)
}

fn assert_transfer(run: &Path, test: &str, client: &ServiceInstance) {
    let served = std::fs::read(run.join(test).join("www/f1.bin")).unwrap();
    let got = std::fs::read(client.dirs.downloads.join("f1.bin")).unwrap_or_else(|e| {
        panic!(
            "client saved no f1.bin ({e}); logs: {}",
            std::fs::read_to_string(client.dirs.logs.join("stderr.log")).unwrap_or_default()
        )
    });
    assert_eq!(got.len(), served.len());
    assert!(got == served, "downloaded bytes differ from served ones");
}

fn prepare_run(tag: &str) -> (tempfile::TempDir, PathBuf, String) {
    let tmp = tempfile::tempdir().unwrap();
    let id = run_id(tag);
    let run = tmp.path().join("exp").join(&id);
    make_certs(&run.join("certs"));
    (tmp, run, id)
}

fn write_www(run: &Path, test: &str) {
    let www = run.join(test).join("www");
    std::fs::create_dir_all(&www).unwrap();
    let data: Vec<u8> = (0..150_000u32).map(|i| (i.wrapping_mul(2654435761) >> 13) as u8).collect();
    std::fs::write(www.join("f1.bin"), data).unwrap();
}

fn quic_go_server() -> CheckedPlan {
    plan(
        quic_go_image(),
        cmd(&["qgo-interop-server"], &[], Some("/app")),
        ReadinessCondition::PortBound("quic".into()),
        vec![Port { name: "quic".into(), number: 443, transport: Transport::Udp }],
    )
}

fn aioquic_server() -> CheckedPlan {
    plan(
        aioquic_image(),
        cmd(
            &[
                "python3",
                "http3_server.py",
                "--host",
                "0.0.0.0",
                "--port",
                "443",
                "--certificate",
                "/certs/cert.pem",
                "--private-key",
                "/certs/priv.key",
                "--secrets-log",
                "/app/logs/keys.log",
            ],
            &[("STATIC_ROOT", "/www")],
            Some("/opt/aioquic-1.2.0/examples"),
        ),
        ReadinessCondition::PortBound("quic".into()),
        vec![Port { name: "quic".into(), number: 443, transport: Transport::Udp }],
    )
}

#[test]
fn quic_go_server_and_aioquic_client_in_containers() {
    if !daemon("quic_go_server_and_aioquic_client_in_containers") {
        return;
    }
    let (_tmp, run, id) = prepare_run("qgo-aioquic");
    let _cleanup = Cleanup::run(id.clone());
    let test = "qgo_srv_aioquic_cli";
    write_www(&run, test);
    let client_plan = plan(
        aioquic_image(),
        cmd(
            &[
                "python3",
                "http3_client.py",
                "--ca-certs",
                "/certs/ca.pem",
                "--output-dir",
                "/downloads",
                "--secrets-log",
                "/app/logs/keys.log",
                "https://server:443/f1.bin",
            ],
            &[],
            Some("/opt/aioquic-1.2.0/examples"),
        ),
        ReadinessCondition::Started,
        vec![],
    );
    let rt = rt();
    rt.block_on(async {
        let ex = DockerExecutor::connect(run.clone(), &id, EventSink::null()).await.unwrap();
        let (cexit, _server, client) =
            run_pair(&ex, &run, Pair { test, server_plan: quic_go_server(), client_plan }).await;
        let td = ex.teardown().await;
        assert!(td.steps.iter().all(|s| s.ok), "teardown: {td:?}");
        assert_eq!(
            cexit.exit_code,
            Some(0),
            "aioquic client failed: {}",
            std::fs::read_to_string(client.dirs.logs.join("stderr.log")).unwrap_or_default()
        );
        assert_transfer(&run, test, &client);
        let pcap = run.join(test).join("capture.pcap");
        let with_keys = http3_frames(&pcap, Some(&client.dirs.keylog()));
        assert!(with_keys > 0, "no HTTP/3 frame decrypted from {}", pcap.display());
        assert_eq!(http3_frames(&pcap, None), 0, "HTTP/3 frames visible without keys: the capture is not encrypted?");
        assert_nothing_left(&ex, &id).await;
    });
    check_compose_file(&run.join(test).join("docker-compose.yml"), &["server", "client"]);
}

#[test]
fn aioquic_server_and_quic_go_client_in_containers() {
    if !daemon("aioquic_server_and_quic_go_client_in_containers") {
        return;
    }
    let (_tmp, run, id) = prepare_run("aioquic-qgo");
    let _cleanup = Cleanup::run(id.clone());
    let test = "aioquic_srv_qgo_cli";
    write_www(&run, test);
    let client_plan = plan(
        quic_go_image(),
        cmd(&["qgo-interop-client", "https://server:443/f1.bin"], &[], Some("/app")),
        ReadinessCondition::Started,
        vec![],
    );
    let rt = rt();
    rt.block_on(async {
        let ex = DockerExecutor::connect(run.clone(), &id, EventSink::null()).await.unwrap();
        let (cexit, server, client) =
            run_pair(&ex, &run, Pair { test, server_plan: aioquic_server(), client_plan }).await;
        ex.teardown().await;
        assert_eq!(
            cexit.exit_code,
            Some(0),
            "quic-go client failed: {}",
            std::fs::read_to_string(client.dirs.logs.join("stdout.log")).unwrap_or_default()
        );
        assert_transfer(&run, test, &client);
        let pcap = run.join(test).join("capture.pcap");
        assert!(
            http3_frames(&pcap, Some(&server.dirs.keylog())) > 0,
            "no HTTP/3 frame decrypted with the server's key log"
        );
        assert!(std::fs::read_dir(&client.dirs.qlog).unwrap().count() > 0, "quic-go wrote no qlog");
        assert_nothing_left(&ex, &id).await;
    });
}

async fn assert_nothing_left(ex: &DockerExecutor, id: &str) {
    // A second teardown is a no-op, and nothing labelled with the run remains.
    assert!(ex.teardown().await.steps.is_empty());
    let steps = docker::remove_labelled(ex.client(), docker::LABEL_RUN, id, false).await;
    assert!(steps.is_empty(), "left behind: {steps:?}");
}

/// Debian's docker-compose 1.29 must accept the file (what a person runs to reproduce).
fn check_compose_file(path: &Path, services: &[&str]) {
    let y = std::fs::read_to_string(path).unwrap();
    assert!(y.contains("internal: true"), "{y}");
    for s in services {
        assert!(y.contains(&format!("\"{s}\":")), "service {s} missing:\n{y}");
    }
    match Proc::new("docker-compose").arg("-f").arg(path).args(["config", "-q"]).output() {
        Ok(out) => assert!(
            out.status.success(),
            "docker-compose rejects {}: {}",
            path.display(),
            String::from_utf8_lossy(&out.stderr)
        ),
        Err(_) => eprintln!("docker-compose not installed; compose file not checked"),
    }
}

#[test]
fn network_is_internal_labelled_and_removed_by_teardown() {
    if !daemon("network_is_internal_labelled_and_removed_by_teardown") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let id = run_id("net");
    let _cleanup = Cleanup::run(id.clone());
    rt().block_on(async {
        let ex = DockerExecutor::connect(tmp.path().join("exp").join(&id), &id, EventSink::null()).await.unwrap();
        // Two tests side by side: distinct networks, no fixed subnet to collide on.
        let a = ex.create_network("a", &Network { name: "test".into(), internal: true }, None, false).await.unwrap();
        let b = ex.create_network("b", &Network { name: "test".into(), internal: false }, None, false).await.unwrap();
        assert_ne!(a, b);
        for n in [&a, &b] {
            let info = ex
                .client()
                .inspect_network(n, None::<docker::bollard::query_parameters::InspectNetworkOptions>)
                .await
                .unwrap();
            assert_eq!(info.internal, Some(true), "{n} must be internal");
            let labels = info.labels.unwrap_or_default();
            assert_eq!(labels.get("panther.run").map(String::as_str), Some(id.as_str()));
            assert!(labels.contains_key("panther.test") && labels.contains_key("panther.experiment"));
        }
        let td = ex.teardown().await;
        assert_eq!(td.steps.iter().filter(|s| s.what.starts_with("remove network") && s.ok).count(), 2, "{td:?}");
        assert!(ex
            .client()
            .inspect_network(&a, None::<docker::bollard::query_parameters::InspectNetworkOptions>)
            .await
            .is_err());
    });
}

// Two runs of different experiments started in the same second share a run id; each has its
// own network names, and one's teardown leaves the other's things alone.
#[test]
fn runs_sharing_a_run_id_do_not_tear_down_each_other() {
    if !daemon("runs_sharing_a_run_id_do_not_tear_down_each_other") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let id = run_id("same");
    let _cleanup = Cleanup::run(id.clone());
    rt().block_on(async {
        let a = DockerExecutor::connect(tmp.path().join("exp-a").join(&id), &id, EventSink::null()).await.unwrap();
        let b = DockerExecutor::connect(tmp.path().join("exp-b").join(&id), &id, EventSink::null()).await.unwrap();
        let net = || Network { name: "test".into(), internal: true };
        let na = a.create_network("t", &net(), None, false).await.unwrap();
        let nb = b.create_network("t", &net(), None, false).await.unwrap();
        assert_ne!(na, nb, "same run id and test, different runs: different networks");
        let client = b.client().clone();
        let exists = |n: &str| {
            let (client, n) = (client.clone(), n.to_string());
            async move {
                client
                    .inspect_network(&n, None::<docker::bollard::query_parameters::InspectNetworkOptions>)
                    .await
                    .is_ok()
            }
        };
        a.teardown().await;
        assert!(!exists(&na).await, "a's network is gone");
        assert!(exists(&nb).await, "b's network survives a's teardown");
        b.teardown().await;
        assert!(!exists(&nb).await);
    });
}

#[test]
fn a_plan_without_placement_or_with_a_foreign_mount_is_refused() {
    if !daemon("a_plan_without_placement_or_with_a_foreign_mount_is_refused") {
        return;
    }
    let (_tmp, run, id) = prepare_run("refuse");
    let _cleanup = Cleanup::run(id.clone());
    rt().block_on(async {
        let ex = DockerExecutor::connect(run.clone(), &id, EventSink::null()).await.unwrap();
        let mut svc = instance(&run, "t", "server", Role::Server, quic_go_server(), &[], "http3");
        svc.placement = None;
        let e = ex.prepare(&svc).await.unwrap_err().to_string();
        assert!(e.contains("no placement") && e.contains("server"), "{e}");
        let mut svc = instance(&run, "t", "server", Role::Server, quic_go_server(), &[], "http3");
        svc.dirs.certs = PathBuf::from("/etc");
        ex.create_network("t", &Network { name: "test".into(), internal: true }, None, false).await.unwrap();
        let e = ex.prepare(&svc).await.unwrap_err().to_string();
        assert!(e.contains("outside the run directory") && e.contains("certs"), "{e}");
        // Inside the run directory by name only: a symlink out, and a climb with `..`.
        std::fs::create_dir_all(run.join("t")).unwrap();
        std::os::unix::fs::symlink("/etc", run.join("t/certs-link")).unwrap();
        for (dir, why) in [(run.join("t/certs-link"), "resolves to /etc"), (run.join("t/../../etc"), "contains `..`")] {
            let mut svc = instance(&run, "t", "server", Role::Server, quic_go_server(), &[], "http3");
            svc.dirs.certs = dir;
            let e = ex.prepare(&svc).await.unwrap_err().to_string();
            assert!(e.contains(why) && e.contains("mount `certs`") && e.contains("outside the run directory"), "{e}");
        }
        ex.teardown().await;
    });
}

/// Benchmark, not a test (`--ignored`): the lifecycle of a two-service test through the
/// executor (network, containers created, server ready, client done, server stopped, logs
/// collected, teardown) against `docker-compose up` + `down` of the compose file the executor
/// wrote for the same test, images cached in both. Prints the ratio for docs/BENCHMARKS.md.
///
/// `cargo test -p panther-tests --test e2e docker::bench_lifecycle_vs_docker_compose -- --ignored --nocapture`
#[test]
#[ignore = "benchmark; run by hand, see docs/BENCHMARKS.md"]
fn bench_lifecycle_vs_docker_compose() {
    if !daemon("bench_lifecycle_vs_docker_compose") {
        return;
    }
    const ROUNDS: usize = 5;
    let (_tmp, run, id) = prepare_run("bench");
    let test = "bench";
    write_www(&run, test);
    let client_plan = || {
        plan(
            quic_go_image(),
            cmd(&["qgo-interop-client", "https://server:443/f1.bin"], &[], Some("/app")),
            ReadinessCondition::Started,
            vec![],
        )
    };
    let rt = rt();
    let mut ours = Vec::new();
    for i in 0..=ROUNDS {
        let rid = format!("{id}-{i}");
        let t0 = std::time::Instant::now();
        rt.block_on(async {
            let ex = DockerExecutor::connect(run.clone(), &rid, EventSink::null()).await.unwrap();
            let server = instance(&run, test, "server", Role::Server, quic_go_server(), &[], "http3");
            let client = instance(&run, test, "client", Role::Client, client_plan(), &["server"], "http3");
            let cancel = CancellationToken::new();
            ex.create_network(test, &Network { name: "test".into(), internal: true }, None, false).await.unwrap();
            ex.prepare(&server).await.unwrap();
            ex.prepare(&client).await.unwrap();
            let mut s = ex.start(&server).await.unwrap();
            ex.wait_ready(&server, &mut s, &cancel).await.unwrap();
            let mut c = ex.start(&client).await.unwrap();
            let e = ex.wait(&client, &mut c, &cancel).await;
            assert_eq!(e.exit_code, Some(0));
            ex.stop(&server, &mut s, Duration::from_secs(2)).await;
            ex.post_run(&server).await;
            ex.post_run(&client).await;
            ex.teardown().await;
        });
        // Round 0 warms the image cache and the daemon; it is not counted.
        if i > 0 {
            ours.push(t0.elapsed().as_secs_f64());
        }
    }
    let file = run.join(test).join("docker-compose.yml");
    let mut compose = Vec::new();
    for i in 0..=ROUNDS {
        let project = format!("pantherbench{}{i}", std::process::id());
        let t0 = std::time::Instant::now();
        let up = Proc::new("docker-compose")
            .arg("-f")
            .arg(&file)
            .args([
                "-p",
                &project,
                "up",
                "--abort-on-container-exit",
                "--exit-code-from",
                "client",
                "--no-color",
                "--quiet-pull",
            ])
            .output()
            .expect("docker-compose is installed");
        let down = Proc::new("docker-compose")
            .arg("-f")
            .arg(&file)
            .args(["-p", &project, "down", "-t", "2"])
            .output()
            .unwrap();
        assert!(up.status.success(), "docker-compose up: {}", String::from_utf8_lossy(&up.stderr));
        assert!(down.status.success(), "docker-compose down: {}", String::from_utf8_lossy(&down.stderr));
        if i > 0 {
            compose.push(t0.elapsed().as_secs_f64());
        }
    }
    let mean = |v: &[f64]| v.iter().sum::<f64>() / v.len() as f64;
    let (a, b) = (mean(&ours), mean(&compose));
    println!("docker-bench: {ROUNDS} rounds after one warm-up, images cached");
    println!("docker-bench: panther-host executor lifecycle  mean {a:.3} s  {ours:.3?}");
    println!("docker-bench: docker-compose up + down         mean {b:.3} s  {compose:.3?}");
    println!("docker-bench: ratio {:.2} (target <= 0.5)", a / b);
}

/// `panther-host run FILE` (the real binary) into a fresh output directory; returns the exit
/// code, stdout + stderr for messages, the run directory and the guard that removes whatever a
/// failing test left labelled with that run.
fn run_experiment(file: &str, experiment: &str) -> (Option<i32>, String, PathBuf, Cleanup, tempfile::TempDir) {
    let out = tempfile::tempdir().unwrap();
    let o = Proc::new(panther_tests::panther_bin())
        .args(["run", file, "--output-dir"])
        .arg(out.path())
        .current_dir(panther_tests::workspace())
        .env("NO_COLOR", "1")
        .output()
        .expect("panther-host runs");
    let (stdout, stderr) = (String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    let exp = out.path().join(experiment);
    let dir = std::fs::read_dir(&exp)
        .unwrap_or_else(|e| panic!("no run under {} ({e}); stderr:\n{stderr}", exp.display()))
        .flatten()
        .next()
        .expect("a run directory")
        .path();
    let cleanup = Cleanup::run_dir(&dir);
    let report = std::fs::read_to_string(dir.join("EXPERIMENT_REPORT.md")).unwrap_or_default();
    let messages = format!("stdout:\n{stdout}\nstderr:\n{stderr}\nreport:\n{report}");
    (o.status.code(), messages, dir, cleanup, out)
}

/// `panther-host run experiments/demo-docker.toml`, the real binary: the plugins' Docker plans
/// (quic-go from Debian's packages, aioquic from PyPI, both built into images without git),
/// the docker-compose placements and the orchestrator. Both pairs pass, the downloads are
/// byte-identical, each test's pcap was taken on its bridge and decrypts with the key logs (and
/// not without), and the run leaves nothing labelled behind. The first run builds the images
/// (a few minutes); later runs reuse them.
#[test]
fn demo_docker_passes_through_panther_host_run() {
    if !daemon("demo_docker_passes_through_panther_host_run") {
        return;
    }
    let (code, messages, dir, _cleanup, _out) = run_experiment("experiments/demo-docker.toml", "demo-docker");
    assert_eq!(code, Some(0), "{messages}");
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("experiment_summary.json")).unwrap()).unwrap();
    let results = summary["tests"]["results"].as_array().expect("tests.results");
    let statuses: Vec<(&str, &str)> =
        results.iter().map(|t| (t["name"].as_str().unwrap(), t["status"].as_str().unwrap())).collect();
    assert_eq!(
        statuses,
        [("quic-go server, aioquic client", "passed"), ("aioquic server, quic-go client", "passed")],
        "{summary:#}"
    );
    for (test, server, client) in [
        ("quic-go-server-aioquic-client", "qgo_server", "aioquic_client"),
        ("aioquic-server-quic-go-client", "aioquic_server", "qgo_client"),
    ] {
        let t = dir.join(test);
        for f in ["f1.bin", "f2.bin"] {
            let served = std::fs::read(t.join("www").join(f)).unwrap();
            let got = std::fs::read(t.join(client).join("downloads").join(f))
                .unwrap_or_else(|e| panic!("{test}: {client} saved no {f}: {e}"));
            assert!(got == served, "{test}: {f} differs from what was served");
        }
        let pcap = t.join("capture.pcap");
        assert!(pcap.exists(), "{test}: no capture on the bridge");
        for svc in [server, client] {
            let keys = t.join(svc).join("logs/keys.log");
            assert!(
                http3_frames_on(&pcap, 4443, Some(&keys)) > 0,
                "{test}: no HTTP/3 frame decrypted from {} with {}",
                pcap.display(),
                keys.display()
            );
        }
        assert_eq!(http3_frames_on(&pcap, 4443, None), 0, "{test}: HTTP/3 visible without keys");
        // Server and client ran in containers from the images the plugins specified.
        for svc in [server, client] {
            let inspect = std::fs::read_to_string(t.join(svc).join("logs/container-inspect.json"))
                .unwrap_or_else(|e| panic!("{test}/{svc}: no container-inspect.json: {e}"));
            assert!(inspect.contains("quic-go-debian:") || inspect.contains("aioquic-pypi-1.2.0:"), "{test}/{svc}");
        }
        check_compose_file(&t.join("docker-compose.yml"), &[server, client]);
    }
    let id = dir.file_name().unwrap().to_string_lossy().into_owned();
    rt().block_on(async {
        let d = docker::connect_daemon().await.unwrap();
        let steps = docker::remove_labelled(&d, docker::LABEL_RUN, &id, false).await;
        assert!(steps.is_empty(), "left behind by the run: {steps:?}");
    });
}

/// Two Docker tests of one run at once (`--jobs 2`): the short one ends while the long one is
/// still transferring, and its teardown must leave the other's containers alone (it used to
/// remove everything of the run, and the long test's server died with exit 137).
#[test]
fn docker_tests_at_once_keep_their_own_containers() {
    if !daemon("docker_tests_at_once_keep_their_own_containers") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let demo = std::fs::read_to_string(panther_tests::workspace().join("experiments/demo-docker.toml")).unwrap();
    // The first test's aioquic client fetches 32 MiB, the second's quic-go client 256 KiB, so
    // one ends well before the other; whichever it is, its teardown used to end the other.
    let (first, second) = demo.split_at(demo.find("[[tests]]\nname = \"aioquic server").expect("the second test"));
    let first = first.replace("size = \"1MiB\"", "size = \"32MiB\"");
    let second = second.replace(", { path = \"/f2.bin\", size = \"1MiB\" }", "");
    let file = dir.path().join("at-once.toml");
    std::fs::write(&file, format!("{first}{second}").replace("name = \"demo-docker\"", "name = \"at-once\"")).unwrap();
    let out = dir.path().join("out");
    let o = Proc::new(panther_tests::panther_bin())
        .args(["run", file.to_str().unwrap(), "--jobs", "2", "--output-dir", out.to_str().unwrap()])
        .current_dir(panther_tests::workspace())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let run = panther_tests::run_dir(&out);
    let _cleanup = Cleanup::run_dir(&run);
    let (stdout, stderr) = (String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    assert_eq!(o.status.code(), Some(0), "stdout:\n{stdout}\nstderr:\n{stderr}");
    let s = panther_tests::summary(&run);
    let results = s["tests"]["results"].as_array().unwrap();
    assert!(results.iter().all(|t| t["status"] == "passed"), "{s:#}");
    let ends = std::fs::read_to_string(run.join("events.jsonl"))
        .unwrap()
        .lines()
        .filter(|l| l.contains("\"event\":\"finished\"") && l.contains("\"type\":\"test\""))
        .count();
    assert_eq!(ends, 2);
}

/// `panther-host run experiments/picoquic-docker.toml`: picoquic's image is built from the
/// pinned picoquic and picotls trees the host fetched and verified (no git inside the build),
/// and a picoquic pair transfers both files byte for byte between containers.
#[test]
fn picoquic_from_pinned_sources_runs_in_containers() {
    if !daemon("picoquic_from_pinned_sources_runs_in_containers") {
        return;
    }
    let (code, messages, dir, _cleanup, _out) = run_experiment("experiments/picoquic-docker.toml", "picoquic-docker");
    assert_eq!(code, Some(0), "{messages}");
    let t = dir.join("picoquic-server-picoquic-client");
    for f in ["f1.bin", "f2.bin"] {
        let served = std::fs::read(t.join("www").join(f)).unwrap();
        let got = std::fs::read(t.join("pq_client/downloads").join(f)).unwrap_or_else(|e| panic!("no {f}: {e}"));
        assert!(got == served, "{f} differs from what was served");
    }
    let dockerfile = std::fs::read_to_string(t.join("pq_server/logs/Dockerfile")).unwrap_or_default();
    assert!(
        dockerfile.contains(r#"COPY ["sources/picotls","/opt/picotls"]"#)
            && dockerfile.contains("d199d45be8690dfa8653e214733243524112e3c0")
            && !dockerfile.contains(r#""git""#),
        "the image gets the verified trees from the build context, never from git:\n{dockerfile}"
    );
}

/// A Docker test over a link: `experiments/impaired-docker.toml`, cut to one interop cell
/// (quic-go serving aioquic over `transferloss`) and its droplisted test. The relay runs in a
/// container between the clients' network and the server's, which the docker-compose
/// environment (contract 0.2.0) placed: the client reaches `qgo_server` by name and gets the
/// relay, the droplist drops exactly its indices (decision log and counts agree), both of the
/// relay's captures and the clients' bridge capture exist, the transfers pass, and the run
/// leaves no container or network behind.
#[test]
fn a_docker_test_gets_its_link_from_a_relay_container() {
    if !daemon("a_docker_test_gets_its_link_from_a_relay_container") {
        return;
    }
    let text = std::fs::read_to_string(panther_tests::workspace().join("experiments/impaired-docker.toml")).unwrap();
    let text = text
        .replace("servers = [\"quic-go\", \"aioquic\"]", "servers = [\"quic-go\"]")
        .replace("testcases = [\"transferloss\", \"handshakecorruption\"]", "testcases = [\"transferloss\"]");
    // Without the slow and rebinding matrices.
    let (head, rest) = text.split_at(text.find("# A 1.5 s round trip").expect("the slow matrix"));
    let text = format!("{head}{}", &rest[rest.find("[[tests]]").expect("the droplisted test")..]);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("impaired-docker.toml");
    std::fs::write(&file, text).unwrap();
    let (code, messages, run, _cleanup, _out) = run_experiment(file.to_str().unwrap(), "impaired-docker");
    assert_eq!(code, Some(0), "{messages}");
    let summary = panther_tests::summary(&run);
    let results = summary["tests"]["results"].as_array().unwrap();
    assert_eq!(results.len(), 2, "{summary:#}");
    assert!(results.iter().all(|t| t["status"] == "passed"), "{summary:#}");

    let droplisted = results.iter().find(|t| t["name"] == "a droplisted link between containers").unwrap();
    let relay = &droplisted["link"]["relays"][0];
    assert_eq!(relay["server"], "qgo_server");
    let listen = relay["listen"].as_str().unwrap();
    assert!(
        listen.starts_with("10.213.") && listen.ends_with(".254:4443"),
        "the relay answers on the clients' network: {listen}"
    );
    let stats = &relay["stats"];
    assert_eq!(stats["to_server"]["dropped_droplist"], 2, "{relay:#}");
    assert_eq!(stats["to_client"]["dropped_droplist"], 1, "{relay:#}");
    assert_eq!(stats["bindings"], 1, "{relay:#}");
    let t = run.join("a-droplisted-link-between-containers");
    let log = std::fs::read_to_string(t.join("link.jsonl")).unwrap();
    let mut dropped: Vec<(String, u64)> = log
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["action"] == "packet" && v["drop"] == "droplist")
        .map(|v| (v["dir"].as_str().unwrap_or_default().to_string(), v["index"].as_u64().unwrap_or_default()))
        .collect();
    dropped.sort();
    assert_eq!(
        dropped,
        [("to-client".to_string(), 4), ("to-server".to_string(), 2), ("to-server".to_string(), 3)],
        "the decision log names the droplist's packets:\n{log}"
    );
    for f in ["client-side.pcap", "server-side.pcap", "capture.pcap", "link-relay-qgo_server.log"] {
        assert!(t.join(f).metadata().is_ok_and(|m| m.len() > 0), "{f} missing or empty in {}", t.display());
    }
    let got = std::fs::read(t.join("aioquic_client/downloads/f1.bin")).unwrap();
    assert_eq!(got, std::fs::read(t.join("www/f1.bin")).unwrap());

    let id = run.file_name().unwrap().to_string_lossy().into_owned();
    rt().block_on(async {
        let d = docker::connect_daemon().await.unwrap();
        let steps = docker::remove_labelled(&d, docker::LABEL_RUN, &id, false).await;
        assert!(steps.is_empty(), "left behind by the run: {steps:?}");
    });
}

// The `ipv6` test case between containers (experiments/interop-matrix.toml's `ipv6-docker`
// matrix, cut to an aioquic server and a quic-go client): the test's network is dual-stack
// (the /24's unique-local twin), the client fetches from `server6`, a name only the IPv6
// address answers to, with the run's certificate checked, and every packet of the capture is
// IPv6 between the two services' twin addresses. The compose file says the same.
#[test]
fn ipv6_runs_between_containers_on_a_dual_stack_network() {
    if !daemon("ipv6_runs_between_containers_on_a_dual_stack_network") {
        return;
    }
    let (_dir, file) = panther_tests::interop_matrix_cut(
        "ipv6-docker",
        &[
            ("servers = [\"quic-go\", \"aioquic\"]", "servers = [\"aioquic\"]"),
            ("clients = [\"quic-go\", \"aioquic\"]", "clients = [\"quic-go\"]"),
        ],
    );
    let (code, messages, run, _cleanup, _out) = run_experiment(file.to_str().unwrap(), "ipv6-docker");
    assert_eq!(code, Some(0), "{messages}");
    let summary = panther_tests::summary(&run);
    let results = summary["tests"]["results"].as_array().unwrap();
    assert_eq!(results.len(), 1, "{summary:#}");
    assert_eq!(results[0]["status"], "passed", "{summary:#}");
    assert_eq!(results[0]["reasons"][1], "ipv6: every packet over IPv6, one handshake, files intact");

    let t = run.join("ipv6-docker-ipv6-server-aioquic-client-quic-go");
    let listing = Proc::new("tshark")
        .arg("-r")
        .arg(t.join("capture.pcap"))
        .args(["-T", "fields", "-e", "ip.version", "-e", "ipv6.src", "-e", "ipv6.dst"])
        .output()
        .unwrap();
    let lines: Vec<String> = String::from_utf8_lossy(&listing.stdout).lines().map(String::from).collect();
    assert!(!lines.is_empty(), "the capture is empty");
    for l in &lines {
        let f: Vec<&str> = l.split('\t').collect();
        assert!(f[0] == "6" && f[1..].iter().all(|a| a.starts_with("fd70:616e:")), "not IPv6 between twins: {l}");
    }
    let compose = std::fs::read_to_string(t.join("docker-compose.yml")).unwrap();
    assert!(compose.contains("enable_ipv6: true") && compose.contains("ipv6_address: \"fd70:616e:"), "{compose}");
    assert!(compose.contains("- \"server6:fd70:616e:"), "{compose}");
    check_compose_file(&t.join("docker-compose.yml"), &["server", "client"]);
}
