//! Helpers shared by the end-to-end tests: where the workspace is, the real `panther-host`
//! binary, and process checks.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The workspace root.
/// A cache directory of the test's own (its runs index, its compile caches) whose compiled
/// components are the host's shared ones: compiling every plugin once per test would cost a
/// minute of CPU each.
pub fn component_cache() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let shared = panther_host::run::default_cache_root().join("components");
    std::fs::create_dir_all(&shared).unwrap();
    std::os::unix::fs::symlink(&shared, dir.path().join("components")).unwrap();
    dir
}

pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("tests/ is inside the workspace").to_path_buf()
}

/// One `[[matrix]]` of `experiments/interop-matrix.toml`, with its `[experiment]` table, edited
/// by `edits` (each `(from, to)` must apply) and written as `DIR/NAME.toml`: a test runs the
/// shipped matrix, cut to what it needs. Returns the directory (keep it) and the file.
pub fn interop_matrix_cut(name: &str, edits: &[(&str, &str)]) -> (tempfile::TempDir, PathBuf) {
    let text = std::fs::read_to_string(workspace().join("experiments/interop-matrix.toml")).unwrap();
    let start = text.find(&format!("[[matrix]]\nname = \"{name}\"")).unwrap_or_else(|| panic!("no matrix {name}"));
    let end = start + text[start..].find("\n\n").expect("a blank line ends the matrix");
    // The [experiment] table: everything before the first matrix (comments may name one).
    let head = &text[..text.find("\n[[matrix]]\n").unwrap() + 1];
    let matrix = edits.iter().fold(text[start..end].to_string(), |m, (from, to)| {
        assert!(m.contains(from), "matrix {name} has no `{from}`: update this test");
        m.replace(from, to)
    });
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(format!("{name}.toml"));
    std::fs::write(&file, format!("{head}{matrix}\n")).unwrap();
    (dir, file)
}

/// The `panther-host` binary of this workspace (same profile as the tests), built if needed:
/// cargo builds only the library for a dependent test crate.
pub fn panther_bin() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let exe = std::env::current_exe().expect("the test binary has a path");
        let profile_dir = exe.parent().and_then(Path::parent).expect("target/<profile>/deps/<test>");
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let st = Command::new(cargo)
            .args(["build", "-q", "-p", "panther-host", "--bin", "panther-host"])
            .current_dir(workspace())
            .status()
            .expect("cargo runs");
        assert!(st.success(), "building panther-host failed");
        profile_dir.join("panther-host")
    })
    .clone()
}

/// Runs the binary from the workspace root with its own compile cache `cache`, no colours and
/// no plugin path from the caller's environment; returns (exit code, stdout, stderr).
pub fn cli(args: &[&str], cache: &Path) -> (i32, String, String) {
    cli_at(&panther_bin(), args, &workspace(), cache)
}

/// [`cli`] with another binary (an installed one) and working directory.
pub fn cli_at(bin: &Path, args: &[&str], cwd: &Path, cache: &Path) -> (i32, String, String) {
    let out = Command::new(bin)
        .args(args)
        .current_dir(cwd)
        .env("PANTHER_CACHE", cache)
        .env("NO_COLOR", "1")
        .env_remove("PANTHER_PLUGIN_PATH")
        .output()
        .expect("panther-host runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Builds the guest cargo workspace `tests/<dir>` for wasm32-wasip2 (release, in its own
/// `target/<dir>-wasm`) and returns the directory holding its `.wasm`s. The target directory
/// persists, so after the first build this takes well under a second.
pub fn build_guests(dir: &str) -> PathBuf {
    let ws = workspace();
    let target = ws.join("target").join(format!("{dir}-wasm"));
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let out = Command::new(cargo)
        .args(["build", "--release", "--target", "wasm32-wasip2", "--target-dir"])
        .arg(&target)
        .current_dir(ws.join("tests").join(dir))
        // The host build's flags are not the guests' flags.
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("CARGO_BUILD_TARGET")
        .env_remove("CARGO_TARGET_DIR")
        .output()
        .expect("cargo runs");
    assert!(out.status.success(), "building tests/{dir} failed:\n{}", String::from_utf8_lossy(&out.stderr));
    target.join("wasm32-wasip2").join("release")
}

/// Processes whose command line contains `marker` (a unique string the test put in argv).
pub fn processes_with(marker: &str) -> Vec<i32> {
    let mut out = vec![];
    let Ok(rd) = std::fs::read_dir("/proc") else { return out };
    for e in rd.flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else { continue };
        if pid == std::process::id() as i32 {
            continue;
        }
        if let Ok(cmd) = std::fs::read(e.path().join("cmdline")) {
            if String::from_utf8_lossy(&cmd).contains(marker) {
                // A zombie has an empty cmdline, so what we see here is alive.
                out.push(pid);
            }
        }
    }
    out
}

/// The one run directory under an output directory (`<out>/<experiment>/<run id>`).
pub fn run_dir(out: &Path) -> PathBuf {
    let exp = std::fs::read_dir(out)
        .unwrap_or_else(|e| panic!("no output under {}: {e}", out.display()))
        .flatten()
        .next()
        .expect("an experiment dir")
        .path();
    std::fs::read_dir(exp).unwrap().flatten().next().expect("a run dir").path()
}

/// A run's `experiment_summary.json`.
pub fn summary(dir: &Path) -> serde_json::Value {
    let text =
        std::fs::read_to_string(dir.join("experiment_summary.json")).expect("experiment_summary.json is written");
    serde_json::from_str(&text).expect("the summary is JSON")
}

/// `panther-host ARGS --output-dir OUT` from the workspace root, without colours; see
/// [`run_into`] for the raw output.
pub fn run_into_text(args: &[&str], out: &Path) -> (i32, String, String) {
    let o = run_into(args, out);
    (
        o.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// `panther-host ARGS --output-dir OUT` from the workspace root, without colours.
pub fn run_into(args: &[&str], out: &Path) -> std::process::Output {
    Command::new(panther_bin())
        .args(args)
        .arg("--output-dir")
        .arg(out)
        .current_dir(workspace())
        .env("NO_COLOR", "1")
        .output()
        .expect("panther-host runs")
}

/// quiche's crates.io example server always binds 127.0.0.1:4433 (docs/PLUGINS.md), so two
/// experiments with a quiche server cannot run at once: the second server's bind fails and it
/// exits 101. Tests that start one hold this lock for the whole run.
pub fn quiche_server_lock() -> std::sync::MutexGuard<'static, ()> {
    static LOCK: std::sync::Mutex<()> = std::sync::Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
