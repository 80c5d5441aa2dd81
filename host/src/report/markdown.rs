//! `EXPERIMENT_REPORT.md`: overview, tests table with links to logs, per-test service
//! tables, failures with reasons and log excerpts, teardown. Links are relative to the
//! directory the report is written into, so the run directory can be moved or archived.
//!
//! Reasons, verdicts, evidence, outcomes and log tails quote plugins and the programs they
//! ran, so every such text is written as plain text ([`crate::text::markdown`]; log tails in
//! fences with control characters escaped) and never as Markdown or HTML of its own.

use std::fmt::Write;
use std::path::Path;

use super::model::{test_status_word, RunSummary, ServiceHealth, TestStatus};

fn status_icon(s: TestStatus) -> &'static str {
    match s {
        TestStatus::Passed => "✅",
        TestStatus::Failed => "❌",
        TestStatus::Skipped => "⏭️",
        TestStatus::Timeout => "⏱️",
        TestStatus::Interrupted => "⛔",
        TestStatus::Unknown => "❔",
    }
}

fn rel(root: &Path, p: &str) -> String {
    if p.is_empty() {
        return String::new();
    }
    Path::new(p).strip_prefix(root).map(|r| r.display().to_string()).unwrap_or_else(|_| p.to_string())
}

/// Text as plain inline Markdown (a table cell, a list item, a heading).
fn cell(s: &str) -> String {
    crate::text::markdown(s)
}

/// Text as an inline code span, whatever backticks it holds: the fence is longer than any
/// backtick run inside, and nothing inside a code span is Markdown or HTML.
fn code(s: &str) -> String {
    let t = crate::text::terminal(s);
    let longest = t.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let f = "`".repeat(longest + 1);
    let pad = if t.starts_with('`') || t.ends_with('`') { " " } else { "" };
    format!("{f}{pad}{t}{pad}{f}")
}

/// A link target: characters that would end the link or start another, and control
/// characters, percent-encoded (file names under the run directory can be chosen by plans).
fn href(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        if crate::text::is_unsafe(c) || " ()<>[]`\\\"'".contains(c) {
            let mut b = [0u8; 4];
            for byte in c.encode_utf8(&mut b).bytes() {
                o.push_str(&format!("%{byte:02X}"));
            }
        } else {
            o.push(c);
        }
    }
    o
}

fn link(root: &Path, p: &str, text: &str) -> String {
    let r = rel(root, p);
    if r.is_empty() {
        "—".into()
    } else {
        format!("[{}]({})", cell(text), href(&r))
    }
}

fn fence(text: &str) -> String {
    let text = crate::text::terminal_block(text);
    // A fence longer than any backtick run inside keeps log text from closing it.
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let f = "`".repeat(longest.max(2) + 1);
    format!("{f}text\n{}\n{f}\n", text.trim_end())
}

/// Renders the report; `root` is where it is written. Pure: same model, same text.
pub fn markdown(s: &RunSummary, root: &Path) -> String {
    let mut o = String::new();
    let overall = match s.status.word() {
        "completed" => "✅ completed",
        "failed" => "❌ failed",
        "interrupted" => "⛔ interrupted",
        "timeout" => "⏱️ timeout",
        _ => "❔ unknown",
    };
    let _ = writeln!(o, "# Experiment report: {}\n", s.experiment);
    if s.in_progress {
        let _ =
            writeln!(o, "> **Partial report**: the run is still going on (or was killed before it could finish).\n");
    }
    let _ = writeln!(o, "## Overview\n");
    let _ = writeln!(o, "| | |\n|---|---|");
    let _ = writeln!(o, "| Run | `{}` |", s.run_id);
    let _ = writeln!(o, "| Status | {overall} |");
    let _ = writeln!(o, "| Started | {} |", s.start_time);
    let _ = writeln!(o, "| Ended | {} |", s.end_time.as_deref().unwrap_or("—"));
    let _ = writeln!(o, "| Duration | {:.1} s |", s.duration_seconds);
    let _ = writeln!(o, "| Configuration | `{}` |", s.configuration_file);
    let _ = writeln!(o, "| Seed | {} |", s.seed);
    let _ = writeln!(o, "| panther-host | {} |\n", s.panther_version);

    let _ = writeln!(o, "## Tests\n");
    let _ = writeln!(
        o,
        "{} tests: {} passed, {} failed, {} skipped, {} timeout, {} interrupted, {} unknown — success rate {:.1} %\n",
        s.tests.len(),
        s.count(TestStatus::Passed),
        s.count(TestStatus::Failed),
        s.count(TestStatus::Skipped),
        s.count(TestStatus::Timeout),
        s.count(TestStatus::Interrupted),
        s.count(TestStatus::Unknown),
        s.success_rate()
    );
    if !s.tests.is_empty() {
        let _ = writeln!(o, "| Test | Status | Duration | Verdicts | Reason | Logs |\n|---|---|---|---|---|---|");
        for t in &s.tests {
            let verdicts =
                t.verdicts.iter().map(|v| format!("{}: {}", v.plugin, v.status)).collect::<Vec<_>>().join(", ");
            let _ = writeln!(
                o,
                "| {} | {} {}{} | {:.1} s | {} | {} | {} |",
                cell(&t.name),
                status_icon(t.status),
                test_status_word(t.status),
                if t.fast_fail_triggered { " (fast-fail)" } else { "" },
                t.duration_seconds,
                cell(if verdicts.is_empty() { "—" } else { &verdicts }),
                // A passed test shows why it passed (its first reason), a failed one why not.
                cell(t.error_message.as_deref().or(t.reasons.first().map(String::as_str)).unwrap_or("")),
                link(root, &t.logs_path, "logs"),
            );
        }
        let _ = writeln!(o);
    }

    for t in s.tests.iter().filter(|t| !t.services.is_empty()) {
        let _ = writeln!(o, "### {} — services\n", cell(&t.name));
        let _ = writeln!(o, "| Service | Implementation | Role | Health | Outcome | Ready | Phases | Artifacts |\n|---|---|---|---|---|---|---|---|");
        for v in &t.services {
            let phases = v
                .phases
                .iter()
                .map(|p| {
                    format!(
                        "{}{}",
                        p.phase,
                        if p.cached {
                            " (cached)"
                        } else if p.failed > 0 {
                            " ✗"
                        } else {
                            " ✓"
                        }
                    )
                })
                .collect::<Vec<_>>()
                .join(", ");
            let arts = v.artifacts.iter().map(|a| link(root, &a.path, &a.kind)).collect::<Vec<_>>().join(" ");
            let health = match v.health {
                ServiceHealth::Healthy => "healthy",
                ServiceHealth::Degraded => "degraded",
                ServiceHealth::Failed => "failed",
                ServiceHealth::Unknown => "unknown",
            };
            let _ = writeln!(
                o,
                "| {}{} | {} | {} | {} | {} | {} | {} | {} |",
                cell(&v.name),
                if v.tester { " (tester)" } else { "" },
                cell(&v.implementation),
                cell(&v.role),
                health,
                cell(&v.outcome),
                if v.became_ready { "yes" } else { "no" },
                cell(if phases.is_empty() { "—" } else { &phases }),
                if arts.is_empty() { "—".to_string() } else { arts },
            );
        }
        let _ = writeln!(o);
    }

    let flaky = s.flaky();
    if !flaky.is_empty() {
        let _ = writeln!(o, "## Flaky\n");
        let _ = writeln!(
            o,
            "Tests that both passed and did not over their runs{}:\n",
            match s.pass {
                Some(k) => format!(" (each passes with {k} passing runs)"),
                None => String::new(),
            }
        );
        for (name, passed, runs) in &flaky {
            let _ = writeln!(o, "- {} — {passed}/{runs} runs passed", cell(name));
        }
        let _ = writeln!(o);
    }

    let linked: Vec<_> = s.tests.iter().filter_map(|t| t.link.as_ref().map(|l| (t, l))).collect();
    if !linked.is_empty() {
        let _ = writeln!(
            o,
            "## Links
"
        );
        let _ =
            writeln!(o, "Every decision is in the test's `link.jsonl`; each side of the relay has its own capture.\n");
        let _ = writeln!(o, "| Test | Link | Seed | To the server: received / dropped / corrupted | To the client: received / dropped / corrupted | Rebinds | Files |\n|---|---|---|---|---|---|---|");
        for (t, l) in linked {
            for r in &l.relays {
                let dir = |d: Option<&crate::link::relay::DirectionStats>| {
                    d.map_or("—".to_string(), |d| format!("{} / {} / {}", d.received, d.dropped(), d.corrupted))
                };
                let files = r
                    .files
                    .iter()
                    .map(|f| link(root, f, f.rsplit('/').next().unwrap_or(f)))
                    .collect::<Vec<_>>()
                    .join(" ");
                let _ = writeln!(
                    o,
                    "| {} | {} | {} | {} | {} | {} | {} |",
                    cell(&t.name),
                    cell(&l.description),
                    l.seed,
                    dir(r.stats.as_ref().map(|s| &s.to_server)),
                    dir(r.stats.as_ref().map(|s| &s.to_client)),
                    r.stats.as_ref().map_or("—".to_string(), |s| s.rebinds.to_string()),
                    files
                );
            }
        }
        let _ = writeln!(o);
    }

    let failures: Vec<_> =
        s.tests.iter().filter(|t| !matches!(t.status, TestStatus::Passed | TestStatus::Skipped)).collect();
    if !failures.is_empty() {
        let _ = writeln!(o, "## Failures\n");
        for t in failures {
            let _ = writeln!(o, "### {} {} ({})\n", status_icon(t.status), cell(&t.name), test_status_word(t.status));
            for r in &t.reasons {
                let _ = writeln!(o, "- {}", cell(r));
            }
            for v in &t.verdicts {
                for r in &v.reasons {
                    let _ = writeln!(o, "- {} ({}): {}", cell(&v.plugin), v.status, cell(r));
                }
            }
            if !t.evidence.is_empty() {
                let _ =
                    writeln!(o, "\nEvidence: {}", t.evidence.iter().map(|e| code(e)).collect::<Vec<_>>().join(", "));
            }
            let _ = writeln!(o);
            for v in &t.services {
                if v.stderr_tail.trim().is_empty() && v.stdout_tail.trim().is_empty() {
                    continue;
                }
                let _ = writeln!(o, "**{}** — {}", cell(&v.name), cell(&v.outcome));
                if let Some(e) = &v.error {
                    let _ = writeln!(o, "({})", cell(e));
                }
                let _ = writeln!(o);
                for (what, text, path) in [("stderr", &v.stderr_tail, &v.stderr), ("stdout", &v.stdout_tail, &v.stdout)]
                {
                    if text.trim().is_empty() {
                        continue;
                    }
                    let _ = writeln!(
                        o,
                        "{what} (last lines, {}):\n",
                        link(root, path.as_deref().unwrap_or(""), "full log")
                    );
                    let _ = writeln!(o, "{}", fence(text));
                }
            }
        }
    }

    if s.fast_fail.enabled {
        let _ = writeln!(o, "## Fast-fail\n");
        match &s.fast_fail.reason {
            Some(r) if s.fast_fail.triggered => {
                let _ = writeln!(o, "Triggered: {}; the tests after it were skipped.\n", cell(r));
            }
            _ => {
                let _ = writeln!(o, "Enabled, not triggered.\n");
            }
        }
    }

    let steps: Vec<_> = s.tests.iter().flat_map(|t| t.teardown.steps.iter().map(move |st| (t, st))).collect();
    if !steps.is_empty() {
        let _ = writeln!(o, "## Teardown\n");
        let _ = writeln!(o, "| Test | Step | OK | Detail |\n|---|---|---|---|");
        for (t, st) in steps {
            let _ = writeln!(
                o,
                "| {} | {} | {} | {} |",
                cell(&t.name),
                cell(&st.what),
                if st.ok { "✓" } else { "✗" },
                cell(&st.detail)
            );
        }
        let _ = writeln!(o);
    }
    let _ = writeln!(o, "---\nGenerated by panther-host {} at {}.", s.panther_version, s.generated_at);
    o
}
