//! `junit.xml` via quick-junit: one testsuite per experiment, one testcase per test; failures
//! carry the first reason as message and all reasons as description; system-out holds the
//! services' log tails. quick-junit escapes markup but passes control characters, which XML
//! cannot carry and a terminal showing the file would obey, so every text goes through
//! [`crate::text::xml`] first.

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use super::model::{test_status_word, RunSummary, TestResult, TestStatus};

use crate::text::xml;

fn system_out(t: &TestResult) -> String {
    let mut out = String::new();
    for s in &t.services {
        out.push_str(&format!("== {} ({}, {}): {}\n", s.name, s.implementation, s.role, s.outcome));
        if !s.stdout_tail.is_empty() {
            out.push_str(&format!("-- stdout (tail)\n{}\n", s.stdout_tail.trim_end()));
        }
        if !s.stderr_tail.is_empty() {
            out.push_str(&format!("-- stderr (tail)\n{}\n", s.stderr_tail.trim_end()));
        }
    }
    xml(&out)
}

/// Renders the JUnit XML. Pure: the same model gives the same text.
pub fn junit_xml(s: &RunSummary) -> String {
    let mut report = Report::new(format!("panther-host {}", s.experiment));
    let mut suite = TestSuite::new(s.experiment.clone());
    let flaky = s.flaky();
    for t in &s.tests {
        let mut status = match t.status {
            TestStatus::Passed => TestCaseStatus::success(),
            TestStatus::Skipped => TestCaseStatus::skipped(),
            TestStatus::Failed | TestStatus::Timeout | TestStatus::Unknown => {
                TestCaseStatus::non_success(NonSuccessKind::Failure)
            }
            TestStatus::Interrupted => TestCaseStatus::non_success(NonSuccessKind::Error),
        };
        if t.status != TestStatus::Passed {
            if let Some(m) = &t.error_message {
                status.set_message(xml(m));
            }
            status.set_type(test_status_word(t.status));
            if !t.reasons.is_empty() {
                status.set_description(xml(&t.reasons.join("\n")));
            }
        }
        let mut case = TestCase::new(xml(&t.name), status);
        case.set_classname(s.experiment.clone());
        // Each run of a repeated test is its own testcase; the ones of a flaky test say so.
        let base = super::model::base_name(&t.name);
        if let Some((_, passed, runs)) = flaky.iter().find(|(name, _, _)| name == base) {
            case.add_property(quick_junit::Property::new("flaky", "true"));
            case.add_property(quick_junit::Property::new("runs", format!("{passed}/{runs}")));
        }
        case.set_time(std::time::Duration::from_secs_f64(t.duration_seconds.max(0.0)));
        let out = system_out(t);
        if !out.is_empty() {
            case.set_system_out(out);
        }
        suite.add_test_case(case);
    }
    suite.set_time(std::time::Duration::from_secs_f64(s.duration_seconds.max(0.0)));
    report.add_test_suite(suite);
    report.to_string().unwrap_or_else(|e| format!("<!-- cannot serialise the JUnit report: {e} -->\n"))
}
