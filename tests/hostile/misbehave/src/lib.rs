//! A plugin that misbehaves on request: `plan()` picks the misdeed from the service name.
use panther_guest::bindings::panther::plugin::host::{log, Level};
use panther_guest::*;
use std::hint::black_box;

struct Bad;

fn empty_plan(description: String) -> ServicePlan {
    ServicePlan {
        phases: Phases {
            pre_compile: vec![],
            compile: vec![],
            post_compile: vec![],
            pre_run: vec![],
            run: vec![Command {
                argv: vec!["true".into()],
                env: vec![],
                cwd: None,
                timeout_ms: None,
                critical: true,
                description,
            }],
            post_run: vec![],
        },
        image: None,
        ports: vec![],
        readiness: Readiness {
            condition: ReadinessCondition::Started,
            timeout_ms: 1000,
        },
        artifacts: vec![],
        capabilities: vec![],
        files: vec![],
    }
}

/// Recursion whose frames live on the wasm stack only (scalars, no address taken), so the
/// engine's `max_wasm_stack` is what stops it. The rotate keeps LLVM from turning it into a loop.
#[inline(never)]
#[allow(unconditional_recursion)]
fn recurse(n: u64) -> u64 {
    recurse(n.wrapping_mul(6364136223846793005).wrapping_add(1)).rotate_left(7) ^ n
}

/// Recursion with big frames: they live on the guest's own shadow stack in linear memory,
/// which runs out (and faults) before the wasm stack does.
#[inline(never)]
#[allow(unconditional_recursion)]
fn recurse_frames(n: u64) -> u64 {
    let frame = [n as u8; 512];
    black_box(&frame);
    recurse_frames(black_box(n + 1)).wrapping_add(frame[black_box(7)] as u64)
}

impl ServicePlugin for Bad {
    fn describe() -> PluginInfo {
        PluginInfo {
            name: "hostile-misbehave".into(),
            version: "0.0.1".into(),
            kind: PluginKind::Iut,
            description: "misbehaves on request".into(),
            protocols: vec!["quic".into()],
            roles: vec![Role::Server],
            versions: vec![],
            sources: vec![],
            parameters: vec![],
            environments: vec![EnvironmentKind::Localhost],
        }
    }

    fn plan(r: PlanRequest) -> Result<ServicePlan, PluginError> {
        match r.service.as_str() {
            "loop" => {
                let mut x = 0u64;
                loop {
                    x = black_box(x.wrapping_add(1));
                }
            }
            "alloc" => {
                let v = vec![1u8; 1 << 30];
                black_box(&v);
                Ok(empty_plan(format!("{}", v.len())))
            }
            "panic" => panic!(
                "hostile plugin panicked on purpose while planning `{}`",
                r.service
            ),
            "recurse" => Ok(empty_plan(format!("{}", recurse(black_box(1))))),
            "recurse-frames" => Ok(empty_plan(format!("{}", recurse_frames(0)))),
            "log-flood" => {
                let line = "x".repeat(10_000);
                for i in 0..10_000 {
                    log(Level::Warn, &format!("{i} {line}"));
                }
                Ok(empty_plan("logged".into()))
            }
            "stderr-flood" => {
                let line = "y".repeat(1000);
                for _ in 0..2000 {
                    eprintln!("{line}");
                }
                Ok(empty_plan("printed".into()))
            }
            "big-plan" => {
                let mut p = empty_plan("big".into());
                p.files
                    .push(("{{dirs.work}}/big".into(), "z".repeat(8 << 20)));
                Ok(p)
            }
            "clock" => {
                use std::hash::{BuildHasher, Hasher};
                let wall = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos())
                    .unwrap_or(0);
                let mut h = std::collections::hash_map::RandomState::new().build_hasher();
                h.write_u64(42);
                Ok(empty_plan(format!("wall={wall} hash={}", h.finish())))
            }
            other => Err(PluginError::Unsupported(format!(
                "no misdeed called `{other}`"
            ))),
        }
    }

    fn assess(_o: Outcome) -> Option<Verdict> {
        None
    }
}

panther_guest::export_service!(Bad);
