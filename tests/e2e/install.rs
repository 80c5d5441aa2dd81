//! The host installed like a tool: `make install` lays out `bin/` and `share/panther-host/plugins`,
//! the installed binary finds its plugins from any directory, and commands without an
//! experiment file use the demo built into the binary.

use std::path::Path;
use std::process::Command;

use panther_tests::{cli_at, panther_bin, workspace};

/// The compile cache the CLI tests share (see `plugins::cli`): installed components are
/// byte-identical copies, so they hit it, and the Python plugin is not compiled again.
fn shared_cache() -> std::path::PathBuf {
    workspace().join("target").join("e2e-plugin-cache")
}

/// `BIN ARGS` from `cwd`, with the shared cache, no colours and no plugin path from the caller.
fn run_in(bin: &Path, args: &[&str], cwd: &Path) -> (i32, String, String) {
    cli_at(bin, args, cwd, &shared_cache())
}

/// `make install PREFIX=prefix` with this build's binary (no release build); its stdout.
fn make_install(prefix: &Path) -> String {
    let out = Command::new("make")
        .arg("install")
        .arg(format!("PREFIX={}", prefix.display()))
        .arg(format!("INSTALL_BIN={}", panther_bin().display()))
        .current_dir(workspace())
        .output()
        .expect("make runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "make install failed:\n{stdout}{}", String::from_utf8_lossy(&out.stderr));
    stdout
}

// The installed binary, run from an unrelated directory, lists the installed copies of the
// bundled components (not the workspace's), and a second install changes nothing.
#[test]
fn make_install_lays_out_a_tool_that_finds_its_plugins_from_anywhere() {
    let prefix = tempfile::tempdir().unwrap();
    let prefix = prefix.path().canonicalize().unwrap();
    let out = make_install(&prefix);
    assert!(out.contains("installing") && out.contains("share/panther-host/plugins"), "{out}");

    let share = prefix.join("share/panther-host/plugins");
    let mut dist: Vec<String> = std::fs::read_dir(workspace().join("plugins-dist"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".wasm") || n == "plugins.lock")
        .collect();
    dist.sort();
    let mut installed: Vec<String> =
        std::fs::read_dir(&share).unwrap().flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect();
    installed.sort();
    assert_eq!(installed, dist, "every component and the lock, nothing else");

    let elsewhere = tempfile::tempdir().unwrap();
    let (code, out, err) = run_in(&prefix.join("bin/panther-host"), &["plugins", "list", "--json"], elsewhere.path());
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let plugins = v["plugins"].as_array().unwrap();
    assert_eq!(plugins.len(), dist.len() - 1, "every component loads: {err}");
    for p in plugins {
        let path = Path::new(p["path"].as_str().unwrap());
        assert!(path.starts_with(&share), "{} is not the installed copy under {}", path.display(), share.display());
    }
    assert!(plugins.iter().any(|p| p["name"] == "localhost") && plugins.iter().any(|p| p["name"] == "quic-go"));

    let (code, _, err) = run_in(&prefix.join("bin/panther-host"), &["--locked", "plugins", "list"], elsewhere.path());
    assert_eq!(code, 0, "--locked finds the installed plugins.lock: {err}");

    let again = make_install(&prefix);
    assert!(again.contains("up to date") && again.contains("0 copied"), "{again}");
}

// Without a file, `validate` checks the demo built into the binary, names it as such, and
// needs nothing from the current directory.
#[test]
fn validate_without_a_file_uses_the_embedded_demo_from_any_directory() {
    let cwd = tempfile::tempdir().unwrap();
    let (code, out, err) = run_in(&panther_bin(), &["validate", "--no-plugins"], cwd.path());
    assert_eq!(
        (code, out.as_str()),
        (0, "<embedded>/demo.toml: valid (2 tests, 4 services); plugins not checked\n"),
        "{err}"
    );

    // With the plugins: valid where the Python plugin is built (`make plugins`), otherwise a
    // diagnostic that points into the embedded text with line and column.
    let (code, out, err) = run_in(&panther_bin(), &["validate"], cwd.path());
    if workspace().join("plugins-dist/aioquic.wasm").is_file() {
        assert_eq!(code, 0, "{err}");
        assert!(
            out.starts_with("<embedded>/demo.toml: valid (2 tests, 4 services; plugins aioquic, localhost, quic-go)"),
            "{out}"
        );
    } else {
        assert_eq!(code, 2, "{out}");
        assert!(err.contains("<embedded>/demo.toml:") && err.contains("aioquic"), "{err}");
    }
    assert_eq!(std::fs::read_dir(cwd.path()).unwrap().count(), 0, "validate writes nothing");
}
