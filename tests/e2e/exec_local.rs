//! The local executor against real processes: the `fake-iut` program crashes, hangs, forks,
//! binds ports or dumps its environment as its argv says, and each test checks what the
//! executor reports and that no process of the service's group survives (`killpg(pgid, 0)`
//! answering ESRCH).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::errno::Errno;
use nix::sys::signal::killpg;
use nix::unistd::Pid;
use panther_host::events::EventSink;
use panther_host::exec::local::{LocalExecutor, RunningLocal, COMPLETE_MARKER};
use panther_host::exec::{ExecError, Executor, ServiceDirs, ServiceInstance};
use panther_host::plan::CheckedPlan;
use panther_host::plugin::types::{Command, Port, Readiness, ReadinessCondition, Role, ServicePlan, Transport};
use tokio_util::sync::CancellationToken;

const FAKE: &str = env!("CARGO_BIN_EXE_fake-iut");

fn cmd(args: &[&str]) -> Command {
    Command {
        argv: std::iter::once(FAKE.to_string()).chain(args.iter().map(|s| s.to_string())).collect(),
        env: vec![],
        cwd: None,
        timeout_ms: None,
        critical: true,
        description: String::new(),
    }
}

fn plan(run: Vec<Command>, condition: ReadinessCondition, timeout_ms: u64) -> ServicePlan {
    ServicePlan {
        ports: vec![Port { name: "quic".into(), number: 0, transport: Transport::Udp }],
        readiness: Readiness { condition, timeout_ms },
        ..panther_host::plan::running(run)
    }
}

struct Fixture {
    _tmp: tempfile::TempDir,
    run: PathBuf,
    exec: LocalExecutor,
    events: EventSink,
}

fn fixture() -> Fixture {
    let tmp = tempfile::tempdir().unwrap();
    let run = tmp.path().join("run");
    std::fs::create_dir_all(&run).unwrap();
    let events = EventSink::memory();
    Fixture { exec: LocalExecutor::new(run.clone(), events.clone()), run, events, _tmp: tmp }
}

fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Fixture {
    fn service(&self, name: &str, p: ServicePlan) -> ServiceInstance {
        let root = self.run.join("t").join(name);
        let d = |s: &str| root.join(s);
        ServiceInstance {
            test: "t".into(),
            name: name.into(),
            role: Role::Server,
            implementation: "fake".into(),
            tester: false,
            plan: CheckedPlan::assume_checked_for_tests(p),
            dirs: ServiceDirs {
                root: root.clone(),
                logs: d("logs"),
                work: d("work"),
                www: self.run.join("t/www"),
                downloads: d("downloads"),
                certs: self.run.join("certs"),
                qlog: d("qlog"),
                cache: self._tmp.path().join("cache"),
                tools: self._tmp.path().join("cache/tools/fake-abc"),
            },
            host: "127.0.0.1".into(),
            ips: BTreeMap::new(),
            hosts: vec![],
            ports: BTreeMap::from([("quic".to_string(), free_udp_port())]),
            after: vec![],
            extra_env: vec![("FROM_ENV_PLUGIN".into(), "1".into())],
            placement: None,
            timeout: Duration::from_secs(30),
        }
    }
}

fn pgid_of(r: &RunningLocal) -> Option<i32> {
    r.pgid()
}

fn group_gone(pgid: i32) -> bool {
    killpg(Pid::from_raw(pgid), None) == Err(Errno::ESRCH)
}

fn pid_gone(pid: i32) -> bool {
    // A zombie still answers kill(0); look at its state too.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(s) => s[s.rfind(')').unwrap() + 2..].starts_with('Z'),
    }
}

async fn wait_for_file(p: &Path) -> String {
    for _ in 0..400 {
        if let Ok(s) = std::fs::read_to_string(p) {
            if !s.is_empty() {
                return s;
            }
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("{} never appeared", p.display());
}

// A crash is reported with its signal, an exit with its code, and the service's output is in
// the run phase's files with a commands.json next to them.
#[tokio::test]
async fn crash_and_exit_codes_are_reported() {
    let f = fixture();
    let cancel = CancellationToken::new();
    let svc = f.service(
        "crasher",
        plan(vec![cmd(&["check-group", "print", "about to crash", "crash"])], ReadinessCondition::Started, 5000),
    );
    let mut r = f.exec.start(&svc).await.unwrap();
    let exit = f.exec.wait(&svc, &mut r, &cancel).await;
    assert_eq!(exit.signal, Some(6), "{exit:?}");
    assert!(!exit.timed_out);
    assert!(exit.describe().contains("SIGABRT"), "{}", exit.describe());
    let out = std::fs::read_to_string(svc.dirs.logs.join("run/cmd-0.stdout")).unwrap();
    assert_eq!(out, "about to crash\n");
    let cmds: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(svc.dirs.logs.join("run/commands.json")).unwrap()).unwrap();
    assert_eq!(cmds[0]["signal"], 6);
    assert_eq!(cmds[0]["argv"][1], "check-group");

    let svc = f.service("exiter", plan(vec![cmd(&["exit", "3"])], ReadinessCondition::Started, 5000));
    let mut r = f.exec.start(&svc).await.unwrap();
    let exit = f.exec.wait(&svc, &mut r, &cancel).await;
    assert_eq!((exit.exit_code, exit.signal), (Some(3), None));

    // 127: the interop convention for "unsupported".
    let svc = f.service("unsupported", plan(vec![cmd(&["exit", "127"])], ReadinessCondition::Started, 5000));
    let mut r = f.exec.start(&svc).await.unwrap();
    let exit = f.exec.wait(&svc, &mut r, &cancel).await;
    assert!(exit.is_unsupported());
    assert!(exit.describe().contains("unsupported"));
}

// A service that hangs past its timeout is killed with its whole group, including a child
// that ignores SIGTERM, and is reported as timed out.
#[tokio::test]
async fn hang_times_out_and_the_group_is_gone() {
    let f = fixture();
    let child_file = f.run.join("child.pid");
    let mut svc = f.service(
        "hanger",
        plan(
            vec![cmd(&["fork-child", child_file.to_str().unwrap(), "ignore-term", "hang"])],
            ReadinessCondition::Started,
            5000,
        ),
    );
    svc.timeout = Duration::from_millis(1500);
    let mut r = f.exec.start(&svc).await.unwrap();
    let child: i32 = wait_for_file(&child_file).await.trim().parse().unwrap();
    let pgid = pgid_of(&r).unwrap();
    let exit = f.exec.wait(&svc, &mut r, &CancellationToken::new()).await;
    assert!(exit.timed_out, "{exit:?}");
    assert_eq!(exit.signal, Some(9), "it ignores SIGTERM, so SIGKILL ended it: {exit:?}");
    assert!(group_gone(pgid), "process group {pgid} survived");
    assert!(pid_gone(child), "the forked child {child} survived");
}

// A service that never becomes ready fails with NotReady and leaves nothing behind.
#[tokio::test]
async fn never_ready_leaves_nothing_behind() {
    let f = fixture();
    let child_file = f.run.join("child.pid");
    let svc = f.service(
        "deaf",
        plan(
            vec![cmd(&["fork-child", child_file.to_str().unwrap(), "hang"])],
            ReadinessCondition::PortBound("quic".into()),
            700,
        ),
    );
    let mut r = f.exec.start(&svc).await.unwrap();
    let child: i32 = wait_for_file(&child_file).await.trim().parse().unwrap();
    let pgid = pgid_of(&r).unwrap();
    let e = f.exec.wait_ready(&svc, &mut r, &CancellationToken::new()).await.unwrap_err();
    assert!(matches!(e, ExecError::NotReady { .. }), "{e}");
    assert!(e.to_string().contains("port `quic` is bound"), "{e}");
    assert!(group_gone(pgid), "process group {pgid} survived");
    assert!(pid_gone(child));
    // Later calls agree and teardown finds nothing alive.
    let exit = f.exec.stop(&svc, &mut r, Duration::from_millis(100)).await;
    assert!(exit.stopped_by_host);
    let report = f.exec.teardown().await;
    assert!(report.steps.iter().all(|s| s.ok), "{report:?}");
}

// Readiness by port, by log line and by file; a service that exits first fails early.
#[tokio::test]
async fn readiness_conditions() {
    let f = fixture();
    let cancel = CancellationToken::new();

    let mut svc = f.service("udp", plan(vec![], ReadinessCondition::PortBound("quic".into()), 10_000));
    let port = svc.ports["quic"].to_string();
    svc.plan = CheckedPlan::assume_checked_for_tests(plan(
        vec![cmd(&["sleep", "300", "bind-udp", &port, "hang"])],
        ReadinessCondition::PortBound("quic".into()),
        10_000,
    ));
    let mut r = f.exec.start(&svc).await.unwrap();
    f.exec.wait_ready(&svc, &mut r, &cancel).await.unwrap();
    let pgid = pgid_of(&r).unwrap();
    let exit = f.exec.stop(&svc, &mut r, Duration::from_secs(2)).await;
    assert!(exit.stopped_by_host);
    assert_eq!(exit.signal, Some(15), "SIGTERM was enough: {exit:?}");
    assert!(group_gone(pgid));

    let svc = f.service(
        "log",
        plan(
            vec![cmd(&["sleep", "200", "eprint", "server listening on 4443", "hang"])],
            ReadinessCondition::LogLine("listening on".into()),
            10_000,
        ),
    );
    let mut r = f.exec.start(&svc).await.unwrap();
    f.exec.wait_ready(&svc, &mut r, &cancel).await.unwrap();
    f.exec.stop(&svc, &mut r, Duration::from_secs(2)).await;

    let svc = f.service(
        "file",
        plan(
            vec![cmd(&["sleep", "200", "write", "ready.flag", "1", "hang"])],
            ReadinessCondition::FileExists("ready.flag".into()),
            10_000,
        ),
    );
    let mut r = f.exec.start(&svc).await.unwrap();
    f.exec.wait_ready(&svc, &mut r, &cancel).await.unwrap();
    f.exec.stop(&svc, &mut r, Duration::from_secs(2)).await;

    let svc =
        f.service("quitter", plan(vec![cmd(&["exit", "2"])], ReadinessCondition::PortBound("quic".into()), 10_000));
    let mut r = f.exec.start(&svc).await.unwrap();
    let e = f.exec.wait_ready(&svc, &mut r, &cancel).await.unwrap_err();
    assert!(matches!(&e, ExecError::ExitedEarly { exit, .. } if exit == "exit code 2"), "{e}");

    let svc = f.service("setup", plan(vec![cmd(&["sleep", "100"])], ReadinessCondition::Exited, 10_000));
    let mut r = f.exec.start(&svc).await.unwrap();
    f.exec.wait_ready(&svc, &mut r, &cancel).await.unwrap();
}

// The compile phases run once; a second prepare finds the marker and skips them. A failed
// build leaves no marker and is wiped before the next attempt.
#[tokio::test]
async fn compile_phase_is_cached() {
    let f = fixture();
    let mut p = plan(vec![cmd(&["hang"])], ReadinessCondition::Started, 1000);
    let svc0 = f.service("builder", p.clone());
    let built = svc0.dirs.tools.join("built.txt");
    p.phases.compile = vec![cmd(&["write", built.to_str().unwrap(), "v1"])];
    let svc = f.service("builder", p.clone());

    let reports = f.exec.prepare(&svc).await.unwrap();
    assert_eq!(
        reports.iter().map(|r| (r.phase.as_str(), r.cached)).collect::<Vec<_>>(),
        [("pre-compile", false), ("compile", false), ("post-compile", false)]
    );
    assert_eq!(std::fs::read_to_string(&built).unwrap(), "v1");
    assert!(svc.dirs.tools.join(COMPLETE_MARKER).exists());
    assert!(svc.dirs.logs.join("compile/cmd-0.stdout").exists());

    std::fs::remove_file(&built).unwrap();
    let reports = f.exec.prepare(&svc).await.unwrap();
    assert!(reports.iter().all(|r| r.cached && r.commands.is_empty()), "{reports:?}");
    assert!(!built.exists(), "the compile command ran again");

    // A failing build: an error naming the phase, no marker; the next build starts clean.
    let f2 = fixture();
    let mut bad = p.clone();
    let svc2 = f2.service("builder", bad.clone());
    let leftover = svc2.dirs.tools.join("half-built");
    bad.phases.compile = vec![cmd(&["write", leftover.to_str().unwrap(), "x"]), cmd(&["exit", "1"])];
    let svc2 = f2.service("builder", bad);
    let e = f2.exec.prepare(&svc2).await.unwrap_err();
    assert!(matches!(&e, ExecError::CommandFailed { phase, .. } if phase == "compile"), "{e}");
    assert!(!svc2.dirs.tools.join(COMPLETE_MARKER).exists());
    assert!(leftover.exists());
    let mut good = p.clone();
    good.phases.compile = vec![cmd(&["write", svc2.dirs.tools.join("ok").to_str().unwrap(), "y"])];
    let svc3 = f2.service("builder", good);
    f2.exec.prepare(&svc3).await.unwrap();
    assert!(!leftover.exists(), "the unfinished build was not wiped");
    assert!(svc3.dirs.tools.join(COMPLETE_MARKER).exists());
}

// The environment is what the plan declares plus PATH and HOME (the work directory), nothing
// inherited from the host.
#[tokio::test]
async fn environment_is_reduced() {
    let f = fixture();
    let mut c = cmd(&["env-dump", "env.txt"]);
    c.env = vec![("SSLKEYLOGFILE".into(), "/tmp/k.log".into()), ("FROM_ENV_PLUGIN".into(), "2".into())];
    let svc = f.service("env", plan(vec![c], ReadinessCondition::Exited, 5000));
    let mut r = f.exec.start(&svc).await.unwrap();
    let exit = f.exec.wait(&svc, &mut r, &CancellationToken::new()).await;
    assert_eq!(exit.exit_code, Some(0), "{exit:?}");
    let env = std::fs::read_to_string(svc.dirs.work.join("env.txt")).unwrap();
    // RUSTUP_HOME and CARGO_HOME pass when the host has a Rust toolchain: HOME moves into the
    // run directory, and rustup's proxies on PATH need to find their toolchains.
    let keys: Vec<&str> = env
        .lines()
        .map(|l| l.split_once('=').unwrap().0)
        .filter(|k| !matches!(*k, "RUSTUP_HOME" | "CARGO_HOME"))
        .collect();
    assert_eq!(keys, ["FROM_ENV_PLUGIN", "HOME", "PATH", "SSLKEYLOGFILE"], "{env}");
    assert!(env.contains("FROM_ENV_PLUGIN=2\n"), "the command's own value wins: {env}");
    assert!(env.contains(&format!("HOME={}\n", svc.dirs.work.display())), "{env}");
}

// Every phase gets its stdout/stderr files and a commands.json; post-run collects artifacts.
#[tokio::test]
async fn phase_logs_and_artifacts() {
    let f = fixture();
    let mut p = plan(vec![cmd(&["print", "service out", "eprint", "service err"])], ReadinessCondition::Exited, 5000);
    p.phases.pre_run = vec![cmd(&["print", "pre out", "eprint", "pre err"])];
    let mut noncritical = cmd(&["exit", "4"]);
    noncritical.critical = false;
    p.phases.post_run = vec![noncritical, cmd(&["write", "result.json", "{}"])];
    p.artifacts = vec![
        panther_host::plugin::types::Artifact {
            kind: panther_host::plugin::types::ArtifactKind::Report,
            path: "result.json".into(),
            required: true,
        },
        panther_host::plugin::types::Artifact {
            kind: panther_host::plugin::types::ArtifactKind::Qlog,
            path: "missing.qlog".into(),
            required: false,
        },
    ];
    p.files = vec![("conf/settings.txt".into(), "a=1".into())];
    let svc = f.service("logger", p);
    let mut r = f.exec.start(&svc).await.unwrap();
    f.exec.wait(&svc, &mut r, &CancellationToken::new()).await;
    let (reports, artifacts) = f.exec.post_run(&svc).await;
    let read = |p: &str| std::fs::read_to_string(svc.dirs.logs.join(p)).unwrap();
    assert_eq!(read("pre-run/cmd-0.stdout"), "pre out\n");
    assert_eq!(read("pre-run/cmd-0.stderr"), "pre err\n");
    assert_eq!(read("run/cmd-0.stdout"), "service out\n");
    assert_eq!(read("run/cmd-0.stderr"), "service err\n");
    let post: serde_json::Value = serde_json::from_str(&read("post-run/commands.json")).unwrap();
    assert_eq!(post[0]["exit_code"], 4);
    assert_eq!(post[1]["exit_code"], 0);
    assert_eq!(std::fs::read_to_string(svc.dirs.work.join("conf/settings.txt")).unwrap(), "a=1");
    assert_eq!(reports.iter().map(|r| r.phase.as_str()).collect::<Vec<_>>(), ["pre-run", "run", "post-run"]);
    assert_eq!(artifacts.len(), 1, "{artifacts:?}");
    assert_eq!(artifacts[0].1, svc.dirs.work.join("result.json"));
    assert!(f.events.recorded().iter().any(|e| format!("{:?}", e.kind).contains("missing.qlog")));
}

// Working directories and files outside the run, tools and cache directories are refused;
// a program that does not exist is a spawn error, not a hang.
#[tokio::test]
async fn confinement_and_missing_programs() {
    let f = fixture();
    let mut c = cmd(&["hang"]);
    c.cwd = Some("/etc".into());
    let svc = f.service("escape", plan(vec![c], ReadinessCondition::Started, 1000));
    let e = f.exec.start(&svc).await.unwrap_err();
    assert!(e.to_string().contains("outside the run directory"), "{e}");

    let mut p = plan(vec![cmd(&["hang"])], ReadinessCondition::Started, 1000);
    p.files = vec![("../../../../outside.txt".into(), "x".into())];
    let e = f.exec.start(&f.service("escape2", p)).await.unwrap_err();
    assert!(e.to_string().contains(".."), "{e}");

    // A symlink inside the run directory that points outside is followed and refused.
    let svc = f.service("link", plan(vec![], ReadinessCondition::Started, 1000));
    std::fs::create_dir_all(&svc.dirs.work).unwrap();
    std::os::unix::fs::symlink("/etc", svc.dirs.work.join("etc-link")).unwrap();
    let mut c = cmd(&["hang"]);
    c.cwd = Some(svc.dirs.work.join("etc-link").display().to_string());
    let mut svc = svc;
    svc.plan = CheckedPlan::assume_checked_for_tests(plan(vec![c], ReadinessCondition::Started, 1000));
    assert!(f.exec.start(&svc).await.is_err());

    let mut p = plan(vec![cmd(&["hang"])], ReadinessCondition::Started, 1000);
    p.phases.run[0].argv[0] = "/nonexistent/quic-server".into();
    let e = f.exec.start(&f.service("nothere", p)).await.unwrap_err();
    assert!(matches!(e, ExecError::Spawn { .. }), "{e}");
}

// Teardown kills what is still running, reports each group, and is idempotent.
#[tokio::test]
async fn teardown_is_thorough_and_idempotent() {
    let f = fixture();
    let child_file = f.run.join("child.pid");
    let svc = f.service(
        "left-running",
        plan(
            vec![cmd(&["fork-child", child_file.to_str().unwrap(), "ignore-term", "hang"])],
            ReadinessCondition::Started,
            5000,
        ),
    );
    let mut r = f.exec.start(&svc).await.unwrap();
    f.exec.wait_ready(&svc, &mut r, &CancellationToken::new()).await.unwrap();
    let child: i32 = wait_for_file(&child_file).await.trim().parse().unwrap();
    let pgid = pgid_of(&r).unwrap();
    let report = f.exec.teardown().await;
    assert!(
        report.steps.iter().any(|s| s.ok && s.what.contains(&pgid.to_string()) && s.detail.contains("SIGKILL")),
        "{report:?}"
    );
    assert!(group_gone(pgid));
    assert!(pid_gone(child));
    let again = f.exec.teardown().await;
    assert!(again.steps.iter().all(|s| s.ok), "{again:?}");
    // The service's wait still returns, with the signal that ended it.
    let exit = f.exec.wait(&svc, &mut r, &CancellationToken::new()).await;
    assert_eq!(exit.signal, Some(9));
}

// Ctrl-C (the cancel token) stops a waiting service promptly.
#[tokio::test]
async fn cancel_stops_the_service() {
    let f = fixture();
    let svc = f.service("cancelled", plan(vec![cmd(&["hang"])], ReadinessCondition::Started, 5000));
    let mut r = f.exec.start(&svc).await.unwrap();
    let pgid = loop {
        if let Some(p) = pgid_of(&r) {
            break p;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let cancel = CancellationToken::new();
    let c2 = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        c2.cancel();
    });
    let exit = f.exec.wait(&svc, &mut r, &cancel).await;
    assert!(exit.stopped_by_host && !exit.timed_out, "{exit:?}");
    assert!(group_gone(pgid));
}
