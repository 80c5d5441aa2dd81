//! picoquic from pinned upstream sources, for real: the host fetches picoquic and picotls
//! (from `PANTHER_SOURCE_MIRROR`, as CI sets it, or git), checks each is the pinned commit,
//! the compile phases build picoquicdemo in the tools cache, and picoquic interoperates with
//! itself, aioquic, quic-go, quiche and quinn on localhost, judged by the `interop` tester. A source that is
//! nowhere to be found fails with one error naming what was looked for and where.
//!
//! The first build of picotls and picoquicdemo takes about a minute and a half; later runs
//! find it in the tools cache.

use std::process::Command;

use panther_tests::{panther_bin, run_dir, run_into, summary, workspace};

// Every cell with picoquic on one side passes: handshake, transfer of both files byte for
// byte, judged from the decrypted capture.
#[test]
fn picoquic_from_pinned_sources_interoperates() {
    // It has a quiche server too (quiche server, picoquic client).
    let _quiche = panther_tests::quiche_server_lock();
    let out = tempfile::tempdir().unwrap();
    let o = run_into(&["run", "experiments/picoquic.toml"], out.path());
    let (stdout, stderr) = (String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    let dir = run_dir(out.path());
    let s = summary(&dir);
    let results = s["tests"]["results"].as_array().expect("tests.results");
    let picoquic_cells: Vec<&serde_json::Value> =
        results.iter().filter(|t| t["name"].as_str().unwrap().contains("picoquic")).collect();
    assert_eq!(picoquic_cells.len(), 9, "picoquic × {{picoquic, aioquic, quic-go, quiche, quinn}} both ways: {s}");
    for t in &picoquic_cells {
        assert_eq!(t["status"], "passed", "{t}\nstdout:\n{stdout}\nstderr:\n{stderr}");
    }
    assert_eq!(o.status.code(), Some(0), "stdout:\n{stdout}\nstderr:\n{stderr}");
}

// No mirror entry and no git hosting: the test fails with the URL, the commit, every place
// looked and how to make a mirror; nothing is built.
#[test]
fn a_source_found_nowhere_is_one_clear_error() {
    let out = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let empty_mirror = tempfile::tempdir().unwrap();
    let exp = out.path().join("one.toml");
    std::fs::write(
        &exp,
        r#"[experiment]
name = "nowhere"
[[tests]]
name = "picoquic pair"
network = { type = "localhost" }
timeout = "2m"
[tests.services.server]
implementation = "picoquic"
protocol = { name = "quic", version = "latest", role = "server" }
[tests.services.client]
implementation = "picoquic"
protocol = { name = "quic", version = "latest", role = "client", target = "server" }
"#,
    )
    .unwrap();
    let o = Command::new(panther_bin())
        .arg("run")
        .arg(&exp)
        .arg("--output-dir")
        .arg(out.path().join("out"))
        .current_dir(workspace())
        .env("NO_COLOR", "1")
        .env("PANTHER_CACHE", cache.path())
        .env("PANTHER_SOURCE_MIRROR", empty_mirror.path())
        .output()
        .expect("panther-host runs");
    let (stdout, stderr) = (String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    // The test cannot be prepared, so it fails (exit 1) and says why; the run itself completes.
    assert_eq!(o.status.code(), Some(1), "stdout:\n{stdout}\nstderr:\n{stderr}");
    let dir = run_dir(&out.path().join("out"));
    let s = summary(&dir);
    let text = s.to_string() + &stdout + &stderr;
    let m = empty_mirror.path().display().to_string();
    // picotls is the first source of the plan, so it is the one reported.
    for want in [
        "source `picotls` (https://github.com/h2o/picotls.git at f07f1c8c68b237f1468bc1f1fe1b68aba3ff23b4)",
        &format!("{m}/github.com/h2o/picotls.bundle: no such file"),
        &format!("{m}/github.com/h2o/picotls@f07f1c8c68b237f1468bc1f1fe1b68aba3ff23b4.tar.gz: no such file"),
        "git clone https://github.com/h2o/picotls.git",
        "PANTHER_SOURCE_MIRROR=DIR",
    ] {
        assert!(text.contains(want), "`{want}` missing from the error:\n{text}");
    }
    let tools = cache.path().join("tools");
    let built: Vec<_> = std::fs::read_dir(&tools)
        .map(|d| d.flatten().filter(|e| e.path().join("picoquic-build").exists()).collect())
        .unwrap_or_default();
    assert!(built.is_empty(), "nothing may be built from a tree that was not verified: {built:?}");
}

// connectionmigration (experiments/interop-matrix.toml's `migration` matrix, cut to a picoquic
// server): today's picoquicdemo server offers 127.0.0.2 as its preferred address, the picoquic
// client moves there after the handshake, and the interop tester finds the move in the
// decrypted capture (PATH_CHALLENGE, a new connection ID, the server's PATH_RESPONSE from the
// new address). quic-go's client cannot move, and its plugin says so (exit 127).
#[test]
fn a_picoquic_client_moves_to_the_servers_preferred_address() {
    let (_dir, file) = panther_tests::interop_matrix_cut(
        "migration",
        &[
            ("servers = [\"picoquic\", \"quic-go\", \"aioquic\"]", "servers = [\"picoquic\"]"),
            ("clients = [\"picoquic\", \"quic-go\", \"aioquic\"]", "clients = [\"picoquic\", \"quic-go\"]"),
        ],
    );
    let out = tempfile::tempdir().unwrap();
    let o = run_into(&["run", file.to_str().unwrap()], out.path());
    let (stdout, stderr) = (String::from_utf8_lossy(&o.stdout), String::from_utf8_lossy(&o.stderr));
    let s = summary(&run_dir(out.path()));
    let status = |name: &str| {
        s["tests"]["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["name"] == name)
            .unwrap_or_else(|| panic!("no test {name}: {s}"))["status"]
            .clone()
    };
    let both = "migration: connectionmigration, server picoquic, client picoquic";
    assert_eq!(status(both), "passed", "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert_eq!(status("migration: connectionmigration, server picoquic, client quic-go"), "skipped");
    // picoquicdemo's client says so too.
    let stdout_log = run_dir(out.path())
        .join("migration-connectionmigration-server-picoquic-client-picoquic/client/logs/run/cmd-0.stdout");
    let log = std::fs::read_to_string(&stdout_log).unwrap();
    assert!(log.contains("Migrated to server preferred address!"), "{log}");
}
