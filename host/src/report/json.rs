//! `experiment_summary.json`: the seed's machine-readable summary (`panther-upstream.md` §5),
//! with the same field names, plus per-test services, verdicts and teardown.

use serde_json::{json, Value};

use super::model::{test_status_word, RunSummary, ServiceHealth, TestStatus, REPORT_FORMAT_VERSION};

fn health_word(h: ServiceHealth) -> &'static str {
    match h {
        ServiceHealth::Healthy => "healthy",
        ServiceHealth::Degraded => "degraded",
        ServiceHealth::Failed => "failed",
        ServiceHealth::Unknown => "unknown",
    }
}

/// Renders the summary. Pure: the same model gives the same JSON.
pub fn summary_json(s: &RunSummary) -> Value {
    let results: Vec<Value> = s
        .tests
        .iter()
        .map(|t| {
            json!({
                "name": t.name,
                "status": test_status_word(t.status),
                "duration": t.duration_seconds,
                "start_time": t.start_time,
                "end_time": t.end_time,
                "error_message": t.error_message,
                "logs_path": t.logs_path,
                "fast_fail_triggered": t.fast_fail_triggered,
                "reasons": t.reasons,
                "evidence": t.evidence,
                "verdicts": t.verdicts,
                "services": t.services.iter().map(|v| json!({
                    "name": v.name,
                    "implementation": v.implementation,
                    "role": v.role,
                    "tester": v.tester,
                    "status": health_word(v.health),
                    "exit_code": v.exit.exit_code,
                    "signal": v.exit.signal,
                    "timed_out": v.exit.timed_out,
                    "stopped_by_host": v.exit.stopped_by_host,
                    "not_started": v.exit.not_started,
                    "outcome": v.outcome,
                    "error": v.error,
                    "became_ready": v.became_ready,
                    "phases": v.phases,
                    "artifacts": v.artifacts,
                    "stdout": v.stdout,
                    "stderr": v.stderr,
                })).collect::<Vec<_>>(),
                "teardown": t.teardown,
                "link": t.link,
            })
        })
        .collect();
    let services: Vec<Value> = s
        .tests
        .iter()
        .flat_map(|t| {
            t.services.iter().map(move |v| {
                let done = v.phases.iter().filter(|p| p.failed == 0).count();
                json!({
                    "service_name": v.name,
                    "service_type": if v.tester { "tester" } else { "iut" },
                    "implementation": v.implementation,
                    "status": health_word(v.health),
                    "exit_code": v.exit.exit_code,
                    "crashed": v.exit.signal.is_some() && !v.exit.stopped_by_host && !v.exit.timed_out,
                    "compilation_succeeded": v.compilation_succeeded,
                    "phases_completed": done,
                    "phases_total": v.phases.len(),
                    "error_summary": v.error,
                    "output_completeness": if v.stdout.is_some() { "complete" } else { "missing" },
                    "test_name": t.name,
                })
            })
        })
        .collect();
    json!({
        "experiment_id": s.run_id,
        "experiment_name": s.experiment,
        "status": s.status.word(),
        "in_progress": s.in_progress,
        "start_time": s.start_time,
        "end_time": s.end_time,
        "duration_seconds": s.duration_seconds,
        "configuration_file": s.configuration_file,
        "seed": s.seed,
        "repeat": s.repeat,
        "pass": s.pass,
        "flaky": s.flaky().iter().map(|(name, passed, runs)| json!({ "test": name, "passed": passed, "runs": runs })).collect::<Vec<_>>(),
        "tests": {
            "total": s.tests.len(),
            "passed": s.count(TestStatus::Passed),
            "failed": s.count(TestStatus::Failed),
            "skipped": s.count(TestStatus::Skipped),
            "timeout": s.count(TestStatus::Timeout),
            "interrupted": s.count(TestStatus::Interrupted),
            "unknown": s.count(TestStatus::Unknown),
            "success_rate": s.success_rate(),
            "results": results,
        },
        "fast_fail": s.fast_fail,
        "resources": s.resources,
        "services": services,
        "report_metadata": {
            "generated_at": s.generated_at,
            "panther_version": s.panther_version,
            "generator": "panther-host",
            "report_format_version": REPORT_FORMAT_VERSION,
        },
    })
}
