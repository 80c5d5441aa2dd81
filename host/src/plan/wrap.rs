//! Execution-environment wrappers (the original's `execution_environment`): put a tracer or
//! debugger in front of an IUT's service process, and collect what it writes.
//!
//! Applied to the plugin's plan before rendering and before the policy, so the wrapper's argv
//! is judged like any other and its output paths use the same placeholders. Only the last run
//! command (the service itself) is wrapped; testers are never wrapped. Runs nothing.

use crate::plugin::types::{Artifact, ArtifactKind, ServicePlan};

/// Why a wrapper could not be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("execution wrapper `{kind}`: {message}")]
pub struct WrapError {
    pub kind: String,
    pub message: String,
}

/// The argv a wrapper puts in front of the service's own, and the file it writes.
fn prefix(kind: &str, options: &[String]) -> Result<(Vec<String>, String), WrapError> {
    let out = |name: &str| format!("{{{{dirs.logs}}}}/{name}");
    let mut argv: Vec<String> = match kind {
        // -f follows forks (servers often spawn workers); -tt timestamps every call.
        "strace" => vec!["strace".into(), "-f".into(), "-tt".into(), "-o".into(), out("strace.log")],
        "ltrace" => vec!["ltrace".into(), "-f".into(), "-tt".into(), "-o".into(), out("ltrace.log")],
        "valgrind" => {
            vec!["valgrind".into(), "--trace-children=yes".into(), format!("--log-file={}", out("valgrind.log"))]
        }
        "perf" => vec!["perf".into(), "record".into(), "-g".into(), "-o".into(), out("perf.data")],
        // Batch mode: run, print a backtrace if it stops on a signal, then let it go.
        "gdb" => {
            vec!["gdb".into(), "-batch".into(), "-ex".into(), "run".into(), "-ex".into(), "bt".into(), "--args".into()]
        }
        other => {
            return Err(WrapError {
                kind: other.into(),
                message: "unknown wrapper; known: strace, ltrace, valgrind, perf, gdb".into(),
            })
        }
    };
    let file = match kind {
        "strace" => out("strace.log"),
        "ltrace" => out("ltrace.log"),
        "valgrind" => out("valgrind.log"),
        "perf" => out("perf.data"),
        _ => out("run"),
    };
    // Extra options go right after the tool's name, before the service's argv.
    if !options.is_empty() {
        let at = if kind == "gdb" { 1 } else { argv.len() };
        argv.splice(at..at, options.iter().cloned());
    }
    Ok((argv, file))
}

/// The Debian package that ships a wrapper's tool.
fn debian_package(kind: &str) -> &'static str {
    match kind {
        "strace" => "strace",
        "ltrace" => "ltrace",
        "valgrind" => "valgrind",
        "perf" => "linux-perf",
        _ => "gdb",
    }
}

/// Wraps the service process of `plan` in each wrapper, outermost first, and adds the
/// wrappers' output files as artifacts. `options` are extra arguments per wrapper
/// (`execution = [{ type = "strace", options = ["-e", "trace=network"] }]`).
///
/// # Errors
/// An unknown wrapper, or a plan without a run command to wrap.
pub fn apply(plan: &ServicePlan, wrappers: &[(String, Vec<String>)]) -> Result<ServicePlan, WrapError> {
    let mut plan = plan.clone();
    for (kind, options) in wrappers.iter().rev() {
        let Some(service) = plan.phases.run.last_mut() else {
            return Err(WrapError { kind: kind.clone(), message: "the plan has no run command to wrap".into() });
        };
        let (mut argv, file) = prefix(kind, options)?;
        argv.append(&mut service.argv);
        service.argv = argv;
        // In a container the tool must be in the image: its Debian package joins the image's
        // (which changes the image's content hash, so a wrapped service gets its own image).
        if let Some(image) = plan.image.as_mut() {
            let package = debian_package(kind);
            if !image.packages.iter().any(|p| p == package) {
                image.packages.push(package.to_string());
            }
        }
        let kind_of = if kind == "gdb" { ArtifactKind::Log } else { ArtifactKind::Report };
        if kind != "gdb" {
            plan.artifacts.push(Artifact { kind: kind_of, path: file, required: false });
        }
    }
    Ok(plan)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan() -> ServicePlan {
        crate::plan::test_support::plan_running(&["srv", "-p", "{{ports.quic}}"])
    }

    // strace goes in front of the service's argv and its log becomes an artifact.
    #[test]
    fn strace_wraps_the_service() {
        let p = apply(&plan(), &[("strace".into(), vec!["-e".into(), "trace=network".into()])]).unwrap();
        assert_eq!(
            p.phases.run[0].argv,
            [
                "strace",
                "-f",
                "-tt",
                "-o",
                "{{dirs.logs}}/strace.log",
                "-e",
                "trace=network",
                "srv",
                "-p",
                "{{ports.quic}}"
            ]
        );
        assert_eq!(p.artifacts[0].path, "{{dirs.logs}}/strace.log");
    }

    // Several wrappers nest in the order given: the first is outermost.
    #[test]
    fn wrappers_nest_in_order() {
        let p = apply(&plan(), &[("gdb".into(), vec![]), ("strace".into(), vec![])]).unwrap();
        assert_eq!(&p.phases.run[0].argv[..3], ["gdb", "-batch", "-ex"]);
        assert!(p.phases.run[0].argv.iter().any(|a| a == "strace"));
    }

    // Under Docker the tools come with the image: each wrapper's package is added once, and a
    // plan without an image (localhost) is left alone.
    #[test]
    fn wrapped_images_install_the_tools() {
        use crate::plugin::types::ImageSpec;
        let mut p = plan();
        p.image = Some(ImageSpec {
            name: "iut".into(),
            base: "panther-base:bookworm".into(),
            packages: vec!["gdb".into()],
            sources: vec![],
            steps: vec![],
            build_args: vec![],
            workdir: None,
        });
        let w = apply(&p, &[("strace".into(), vec![]), ("gdb".into(), vec![]), ("perf".into(), vec![])]).unwrap();
        assert_eq!(w.image.unwrap().packages, ["gdb", "linux-perf", "strace"]);
        assert!(apply(&plan(), &[("strace".into(), vec![])]).unwrap().image.is_none());
    }

    #[test]
    fn unknown_wrapper_is_an_error() {
        assert_eq!(apply(&plan(), &[("dtrace".into(), vec![])]).unwrap_err().kind, "dtrace");
    }
}
