//! The plugin host against real components: hostile plugins built by this test suite from
//! `tests/hostile/` (wasm32-wasip2), files that only pretend to be plugins, and the CLI's
//! `plugins` subcommands. Every hostile plugin is refused or stopped with its own reason, and a
//! good plugin keeps working afterwards in the same process.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use panther_host::plugin::{types, CallError, HostOptions, LimitHit, Limits, PluginHost, RefusalReason, World};

use panther_tests::{build_guests, workspace};

/// Builds `tests/hostile` once per test process; returns the directory holding the `.wasm`s.
fn hostile_build() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| build_guests("hostile"))
}

fn hostile(name: &str) -> PathBuf {
    hostile_build().join(format!("hostile_{}.wasm", name.replace('-', "_")))
}

/// A plugin directory with copies of the named hostile components.
fn plugin_dir(names: &[&str]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for n in names {
        std::fs::copy(hostile(n), dir.path().join(format!("{n}.wasm"))).unwrap();
    }
    dir
}

fn options(dir: &Path, cache: &Path) -> HostOptions {
    HostOptions {
        plugin_dirs: vec![dir.to_path_buf()],
        cache_dir: cache.to_path_buf(),
        limits: Limits::default(),
        locked: None,
    }
}

fn request(service: &str) -> types::PlanRequest {
    types::PlanRequest {
        service: service.into(),
        role: types::Role::Server,
        protocol: "quic".into(),
        protocol_version: "rfc9000".into(),
        params: vec![("port".into(), types::ParamValue::Integer(4443))],
        target: None,
        peers: vec![],
        environment: types::EnvironmentKind::Localhost,
        requests: vec![],
        testcase: None,
    }
}

fn reason_of<'a>(host: &'a PluginHost, file: &str) -> &'a RefusalReason {
    let r = host.refused().iter().find(|r| r.path.file_name().unwrap() == file);
    &r.unwrap_or_else(|| panic!("`{file}` was not refused; refused: {:#?}", host.refused())).reason
}

fn good_plan_works(host: &PluginHost) {
    let plan = host.plan("hostile-good", &request("after-the-storm")).expect("the good plugin still plans");
    assert_eq!(plan.phases.run[0].argv, vec!["echo", "{{self.name}}", "after-the-storm"]);
}

#[test]
fn hostile_components_are_refused_with_their_reason_and_a_good_one_still_loads() {
    let dir = plugin_dir(&[
        "good",
        "good-env",
        "misbehave",
        "uses-fs",
        "uses-net",
        "evil-import",
        "old-contract",
        "neither-world",
    ]);
    let d = dir.path();
    std::fs::copy("/bin/true", d.join("elf.wasm")).unwrap();
    std::fs::write(d.join("script.wasm"), "#!/bin/sh\necho pwned\n").unwrap();
    // The smallest valid core module: magic + version 1.
    std::fs::write(d.join("core.wasm"), b"\0asm\x01\0\0\0").unwrap();
    std::fs::write(d.join("garbage.wasm"), b"this is not a plugin at all").unwrap();
    std::fs::write(d.join("empty.wasm"), b"").unwrap();
    let good = std::fs::read(hostile("good")).unwrap();
    std::fs::write(d.join("truncated.wasm"), &good[..good.len() / 2]).unwrap();
    // Same plugin twice under another file name.
    std::fs::copy(hostile("good"), d.join("zz-good-again.wasm")).unwrap();
    let cache = tempfile::tempdir().unwrap();

    let host = PluginHost::open(options(d, cache.path())).expect("the host opens despite hostile files");

    let names: Vec<&str> = host.plugins().iter().map(|p| p.info.name.as_str()).collect();
    assert_eq!(names, ["hostile-good", "hostile-good-env", "hostile-misbehave"], "loaded plugins, sorted by name");

    assert!(matches!(reason_of(&host, "elf.wasm"), RefusalReason::Native { format } if format.contains("ELF")));
    assert!(
        matches!(reason_of(&host, "script.wasm"), RefusalReason::Native { format } if format.contains("#!/bin/sh"))
    );
    assert_eq!(reason_of(&host, "core.wasm"), &RefusalReason::CoreModule);
    assert!(matches!(reason_of(&host, "garbage.wasm"), RefusalReason::NotWasm { .. }));
    assert_eq!(reason_of(&host, "empty.wasm"), &RefusalReason::Empty);
    assert!(matches!(reason_of(&host, "truncated.wasm"), RefusalReason::Malformed { .. }));
    assert!(
        matches!(reason_of(&host, "zz-good-again.wasm"), RefusalReason::Duplicate { name, .. } if name == "hostile-good")
    );

    let forbidden = |file: &str| match reason_of(&host, file) {
        RefusalReason::ForbiddenImports { imports } => imports.iter().map(|i| i.name.clone()).collect::<Vec<_>>(),
        other => panic!("`{file}`: expected forbidden imports, got {other:?}"),
    };
    let fs = forbidden("uses-fs.wasm");
    assert!(fs.iter().any(|i| i.starts_with("wasi:filesystem/")), "{fs:?}");
    let net = forbidden("uses-net.wasm");
    assert!(net.iter().any(|i| i.starts_with("wasi:sockets/")), "{net:?}");
    assert_eq!(forbidden("evil-import.wasm"), ["evil:x/y"]);

    let old = reason_of(&host, "old-contract.wasm");
    assert_eq!(
        old.to_string(),
        "plugin `old-contract` speaks panther:plugin@0.0.3; this host accepts panther:plugin@0.1.x or @0.2.x (0.1.0, 0.2.0 and their later patch releases)"
    );
    assert!(
        matches!(reason_of(&host, "neither-world.wasm"), RefusalReason::NoWorld { exports } if exports == &["other:thing/calc"])
    );
    let refused: Vec<_> =
        host.refused().iter().map(|r| r.path.file_name().unwrap().to_string_lossy().into_owned()).collect();
    assert_eq!(refused.len(), 12, "{refused:#?}");

    // The messages say what and where.
    let msg = host.refused().iter().find(|r| r.path.ends_with("uses-fs.wasm")).unwrap().to_string();
    assert!(msg.contains("uses-fs.wasm") && msg.contains("plugins get no files"), "{msg}");

    good_plan_works(&host);
    let p = host.find("hostile-good").unwrap();
    assert_eq!(p.world, World::Service);
    assert_eq!(p.contract.to_string(), "0.1.0");
    assert_eq!(p.digest.len(), 64);
    assert!(p.imports.iter().all(|i| i.starts_with("wasi:") || i.starts_with("panther:plugin/")), "{:?}", p.imports);
}

fn trap(host: &PluginHost, mode: &str) -> (Option<LimitHit>, String, String, Duration) {
    let t = Instant::now();
    let e = host.plan("hostile-misbehave", &request(mode)).expect_err(mode);
    let took = t.elapsed();
    let text = e.to_string();
    match e {
        CallError::Trap { limit, guest_stderr, .. } => (limit, text, guest_stderr, took),
        other => panic!("{mode}: expected a trap, got {other:?}"),
    }
}

#[test]
fn every_limit_stops_its_plugin_and_the_host_survives() {
    let dir = plugin_dir(&["good", "good-env", "misbehave"]);
    let cache = tempfile::tempdir().unwrap();
    let host = PluginHost::open(options(dir.path(), cache.path())).unwrap();
    assert!(host.refused().is_empty(), "{:#?}", host.refused());

    // An infinite loop runs out of fuel, deterministically, well before the deadline.
    let (limit, text, _, took) = trap(&host, "loop");
    assert_eq!(limit, Some(LimitHit::Fuel { budget: 1_000_000_000 }));
    assert_eq!(text, "plugin `hostile-misbehave` ran out of fuel in plan() after 1000000000 units");
    assert!(took < Duration::from_secs(30), "{took:?}");
    good_plan_works(&host);

    // A 1 GiB allocation hits the memory cap and the error says how much was asked.
    let (limit, text, _, _) = trap(&host, "alloc");
    match limit {
        Some(LimitHit::Memory { limit_bytes, requested }) => {
            assert_eq!(limit_bytes, 128 << 20);
            assert!(requested > 1 << 30, "{requested}");
        }
        other => panic!("expected a memory limit, got {other:?}"),
    }
    assert!(text.contains("the limit is 134217728 bytes (128 MiB)"), "{text}");
    good_plan_works(&host);

    // A panic's message surfaces, from the guest's stderr.
    let (limit, text, stderr, _) = trap(&host, "panic");
    match &limit {
        Some(LimitHit::Panic { message }) => {
            assert!(message.starts_with("hostile plugin panicked on purpose while planning `panic` (at "), "{message}")
        }
        other => panic!("expected a panic, got {other:?}"),
    }
    assert!(
        text.starts_with("plugin `hostile-misbehave` panicked in plan(): hostile plugin panicked on purpose"),
        "{text}"
    );
    assert!(stderr.contains("panicked at"), "{stderr}");
    good_plan_works(&host);

    // Runaway recursion overflows the wasm stack.
    let (limit, text, _, _) = trap(&host, "recurse");
    assert_eq!(limit, Some(LimitHit::Stack { max_bytes: 512 << 10 }));
    assert!(text.contains("overflowed its 524288-byte stack in plan()"), "{text}");
    good_plan_works(&host);

    // Big frames overflow the guest's own stack in linear memory first: a crash, with the trap.
    let (limit, text, _, _) = trap(&host, "recurse-frames");
    assert_eq!(limit, None);
    assert!(text.starts_with("plugin `hostile-misbehave` crashed in plan(): "), "{text}");
    good_plan_works(&host);

    // An oversized plan is refused by the host after the call.
    let (limit, _, _, _) = trap(&host, "big-plan");
    assert!(matches!(limit, Some(LimitHit::Output { limit_bytes, actual }) if actual > limit_bytes), "{limit:?}");

    // Floods of logs and of stderr are bounded, not fatal.
    host.plan("hostile-misbehave", &request("log-flood")).expect("log flood is bounded");
    host.plan("hostile-misbehave", &request("stderr-flood")).expect("stderr flood is bounded");

    // A plugin that declines is a plugin error, not a trap.
    match host.plan("hostile-misbehave", &request("nothing")) {
        Err(CallError::Plugin { error: types::PluginError::Unsupported(m), .. }) => assert!(m.contains("nothing")),
        other => panic!("expected the plugin's own error, got {other:?}"),
    }

    // Clocks and randomness are deterministic: two calls, same plan.
    let a = host.plan("hostile-misbehave", &request("clock")).unwrap();
    let b = host.plan("hostile-misbehave", &request("clock")).unwrap();
    assert_eq!(a, b);
    assert!(a.phases.run[0].description.starts_with("wall=1577836800000000000 "), "{}", a.phases.run[0].description);

    // Still alive: all three calls work.
    good_plan_works(&host);
    let v = host.assess("hostile-good", &outcome()).unwrap().unwrap();
    assert_eq!(v.status, types::VerdictStatus::Pass);
    let d = host
        .deploy(
            "hostile-good-env",
            &panther_host::plugin::env::DeployRequest {
                test: "t".into(),
                run_id: "r".into(),
                services: vec![],
                params: vec![],
                link: None,
            },
        )
        .unwrap();
    assert_eq!(d.kind, types::EnvironmentKind::Localhost);
}

fn outcome() -> types::Outcome {
    types::Outcome {
        test: "t".into(),
        testcase: None,
        services: vec![],
        transfers: vec![],
        packets: vec![],
        packets_truncated: false,
        capture_note: None,
        environment: types::EnvironmentKind::Localhost,
    }
}

#[test]
fn calls_from_async_code_survive_a_guest_that_writes_stderr() {
    // wasmtime-wasi's sync stdio blocks on a Tokio handle; inside a runtime that would panic
    // the host. Both runtime flavours are tried, with a guest that panics (prints to stderr).
    let dir = plugin_dir(&["good", "misbehave"]);
    let cache = tempfile::tempdir().unwrap();
    let host = std::sync::Arc::new(PluginHost::open(options(dir.path(), cache.path())).unwrap());
    for rt in [
        tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap(),
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap(),
    ] {
        let h = host.clone();
        rt.block_on(async move {
            let (limit, _, stderr, _) = trap(&h, "panic");
            assert!(matches!(limit, Some(LimitHit::Panic { .. })), "{limit:?}");
            assert!(stderr.contains("panicked at"));
            h.plan("hostile-misbehave", &request("stderr-flood")).unwrap();
            good_plan_works(&h);
        });
    }
}

#[test]
fn the_deadline_stops_a_loop_when_fuel_is_unlimited() {
    let dir = plugin_dir(&["good", "misbehave"]);
    let cache = tempfile::tempdir().unwrap();
    let mut opts = options(dir.path(), cache.path());
    opts.limits.fuel = u64::MAX;
    opts.limits.deadline = Duration::from_millis(300);
    let host = PluginHost::open(opts).unwrap();
    let (limit, text, _, took) = trap(&host, "loop");
    assert_eq!(limit, Some(LimitHit::Deadline { ms: 300 }));
    assert_eq!(text, "plugin `hostile-misbehave` exceeded its 300 ms deadline in plan()");
    assert!(took >= Duration::from_millis(300) && took < Duration::from_secs(10), "{took:?}");
    good_plan_works(&host);
}

/// What contract 0.2.0 adds (the link, the relays) reaches a 0.2.0 environment, and a plugin
/// built against 0.1.0 keeps loading and deploying beside it: its request loses the link, its
/// plan gains no relays (the host then refuses a Docker link it did not place, in planning).
#[test]
fn plugins_built_against_0_1_0_keep_working_beside_0_2_0_ones() {
    use panther_host::plugin::env::{DeployRequest, LinkRequest, ServiceEntry};
    let dir = plugin_dir(&["good", "good-env"]);
    std::fs::copy(workspace().join("plugins-dist/docker-compose.wasm"), dir.path().join("docker-compose.wasm"))
        .unwrap();
    let cache = tempfile::tempdir().unwrap();
    let host = PluginHost::open(options(dir.path(), cache.path())).unwrap();
    assert!(host.refused().is_empty(), "{:#?}", host.refused());
    let contract = |n: &str| host.find(n).unwrap().contract.to_string();
    assert_eq!(contract("hostile-good-env"), "0.1.0");
    assert_eq!(contract("hostile-good"), "0.1.0");
    assert_eq!(contract("docker-compose"), "0.2.0");
    let imports = &host.find("hostile-good-env").unwrap().imports;
    assert!(imports.iter().any(|i| i.ends_with("@0.1.0")), "{imports:?}");
    good_plan_works(&host);

    let plan = host.plan("hostile-good", &request("server")).unwrap();
    let entry = |name: &str, role, target: Option<&str>| ServiceEntry {
        name: name.into(),
        role,
        implementation: "hostile-good".into(),
        target: target.map(String::from),
        plan: plan.clone(),
        tester: false,
    };
    let req = DeployRequest {
        test: "t".into(),
        run_id: "r".into(),
        services: vec![
            entry("server", types::Role::Server, None),
            entry("client", types::Role::Client, Some("server")),
        ],
        params: vec![],
        link: Some(LinkRequest { servers: vec!["server".into()], summary: "loss 2%".into() }),
    };
    let old = host.deploy("hostile-good-env", &req).unwrap();
    assert_eq!(old.placements.len(), 2);
    assert!(old.relays.is_empty() && old.networks.is_empty());
    let new = host.deploy("docker-compose", &req).unwrap();
    assert_eq!(new.relays.len(), 1, "{new:?}");
    assert_eq!((new.relays[0].server.as_str(), new.relays[0].client_network.as_str()), ("server", "test"));
    assert_eq!(new.networks.len(), 2);
}

#[test]
fn lookups_suggest_similar_names_and_check_the_world() {
    let dir = plugin_dir(&["good", "good-env"]);
    let cache = tempfile::tempdir().unwrap();
    let host = PluginHost::open(options(dir.path(), cache.path())).unwrap();
    match host.find("hostile-godo") {
        Err(CallError::NotFound { name, suggestions }) => {
            assert_eq!(name, "hostile-godo");
            assert_eq!(suggestions.first().map(String::as_str), Some("hostile-good"));
        }
        other => panic!("{other:?}"),
    }
    let e = host.plan("hostile-good-env", &request("x")).unwrap_err();
    assert!(matches!(e, CallError::WrongWorld { expected: World::Service, .. }), "{e:?}");
    assert_eq!(e.to_string(), "plugin `hostile-good-env` is not a service plugin");
}

#[test]
fn the_cache_is_reused_and_a_tampered_entry_is_recompiled() {
    let dir = plugin_dir(&["good"]);
    let cache = tempfile::tempdir().unwrap();
    let file = dir.path().join("good.wasm");
    let host = PluginHost::open(options(dir.path(), cache.path())).unwrap();
    // Once the artifact has settled, a load checks its digest and records its identity, so
    // later loads map the file instead of reading it.
    std::thread::sleep(panther_host::plugin::identity::SETTLE + std::time::Duration::from_millis(100));
    assert_eq!(host.verify_file(&file).unwrap().cache, panther_host::plugin::CacheOutcome::Hit);
    let artifacts: Vec<PathBuf> = std::fs::read_dir(cache.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "cwasm"))
        .collect();
    assert!(!artifacts.is_empty());
    for p in &artifacts {
        let sidecar = std::fs::read_to_string(p.with_extension("json")).unwrap();
        assert!(sidecar.contains("\"ctime_ns\""), "the identity is recorded: {sidecar}");
    }
    assert_eq!(host.verify_file(&file).unwrap().cache, panther_host::plugin::CacheOutcome::Hit, "mapped");

    // Overwrite every artifact in place with garbage of the same size, so only the change time
    // tells (after the kernel's coarse timestamp tick): the host notices, checks the digest,
    // and recompiles.
    std::thread::sleep(std::time::Duration::from_millis(20));
    for p in &artifacts {
        let len = std::fs::metadata(p).unwrap().len() as usize;
        let garbage: Vec<u8> = b"forged machine code ".iter().copied().cycle().take(len).collect();
        let mut f = std::fs::OpenOptions::new().write(true).open(p).unwrap();
        std::io::Write::write_all(&mut f, &garbage).unwrap();
    }
    let host = PluginHost::open(options(dir.path(), cache.path())).unwrap();
    good_plan_works(&host);
    assert_eq!(
        host.verify_file(&file).unwrap().cache,
        panther_host::plugin::CacheOutcome::Hit,
        "rewritten after recompiling"
    );
}

/// Runs the binary. The compile cache is shared by every CLI test here (and kept between
/// runs): the bundled plugins-dist/ is always searched, and its Python plugin takes seconds to
/// compile.
fn cli(args: &[&str]) -> (i32, String, String) {
    panther_tests::cli(args, &workspace().join("target").join("e2e-plugin-cache"))
}

#[test]
fn cli_lists_inspects_and_verifies() {
    let dir = plugin_dir(&["good", "good-env", "uses-net"]);

    let d = dir.path().to_str().unwrap();

    let (code, out, err) = cli(&["--plugin-dir", d, "plugins", "list", "--json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let good = v["plugins"].as_array().unwrap().iter().find(|p| p["name"] == "hostile-good").expect("listed");
    assert_eq!(good["kind"], "iut");
    assert_eq!(good["version"], "1.2.3");
    assert_eq!(good["contract"], "0.1.0");
    assert_eq!(good["protocols"], serde_json::json!(["quic"]));
    assert!(v["refused"].as_array().unwrap().iter().any(|r| r["path"].as_str().unwrap().ends_with("uses-net.wasm")));

    let (code, out, _) = cli(&["--plugin-dir", d, "plugins", "list"]);
    assert_eq!(code, 0);
    assert!(out.contains("hostile-good") && out.contains("hostile-good-env") && out.contains("environment"), "{out}");

    let (code, out, err) = cli(&["--plugin-dir", d, "plugins", "inspect", "hostile-good"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("port")
            && out.contains("integer")
            && out.contains("4443")
            && out.contains("UDP port the server listens on"),
        "{out}"
    );
    assert!(out.contains("panther:plugin/host@0.1.0") || out.contains("wasi:cli/stderr"), "{out}");

    let (code, _, err) = cli(&["--plugin-dir", d, "plugins", "inspect", "hostile-godo"]);
    assert_eq!(code, 2);
    assert!(err.contains("no plugin named `hostile-godo`") && err.contains("hostile-good"), "{err}");

    let good_path = dir.path().join("good.wasm");
    let bad_path = dir.path().join("uses-net.wasm");
    let (code, out, err) = cli(&["plugins", "verify", good_path.to_str().unwrap(), bad_path.to_str().unwrap()]);
    assert_eq!(code, 2, "{out}{err}");
    assert!(out.contains("ok") && out.contains("hostile-good"), "{out}");
    assert!(err.contains("uses-net.wasm") && err.contains("wasi:sockets/"), "{err}");
}

#[test]
fn locked_refuses_unpinned_and_changed_components_and_signatures_verify() {
    let dir = plugin_dir(&["good", "good-env"]);
    let cache = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let lock = dir.path().join("plugins.lock");

    let (code, _, err) = cli(&["plugins", "lock", d]);
    assert_eq!(code, 0, "{err}");
    let text = std::fs::read_to_string(&lock).unwrap();
    assert!(text.contains("file = \"good.wasm\"") && text.contains("sha256 = "), "{text}");

    let (code, out, err) = cli(&["--plugin-dir", d, "--locked", "plugins", "list"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("hostile-good-env"), "{out}");

    // Sign, verify, tamper.
    let key = dir.path().join("signing.pem");
    let (code, _, err) = cli(&["plugins", "keygen", "--out", key.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let public = format!("{}.pub", key.display());
    let (code, _, err) = cli(&["plugins", "sign", "--key", key.to_str().unwrap(), lock.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = cli(&["plugins", "verify-signature", "--pubkey", &public, lock.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");

    // A changed component and an unpinned one are refused under --locked, naming file and digests.
    let mut bytes = std::fs::read(dir.path().join("good.wasm")).unwrap();
    bytes.extend_from_slice(b"\0");
    std::fs::write(dir.path().join("good.wasm"), bytes).unwrap();
    std::fs::copy(hostile("misbehave"), dir.path().join("misbehave.wasm")).unwrap();
    let mut opts = options(dir.path(), cache.path());
    opts.locked = Some(lock.clone());
    let host = PluginHost::open(opts).unwrap();
    assert!(
        matches!(reason_of(&host, "good.wasm"), RefusalReason::DigestMismatch { expected, actual, .. } if expected != actual)
    );
    assert!(matches!(reason_of(&host, "misbehave.wasm"), RefusalReason::Unpinned { .. }));
    assert_eq!(host.plugins().len(), 1, "only the unchanged pinned plugin loads");

    let (code, _, err) = cli(&["--plugin-dir", d, "--locked", "plugins", "list"]);
    assert_eq!(code, 0, "list still lists what loaded");
    assert!(err.contains("changed since it was pinned") && err.contains("misbehave.wasm"), "{err}");

    std::fs::write(&lock, std::fs::read_to_string(&lock).unwrap().replace("good.wasm", "g00d.wasm")).unwrap();
    let (code, _, err) = cli(&["plugins", "verify-signature", "--pubkey", &public, lock.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("does not match"), "{err}");
}
