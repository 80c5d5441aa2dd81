//! `panther-host compare RUN_A RUN_B`: which tests regressed, which were fixed, which are new
//! or gone, between two runs — the question people ask of nightly runs.
//!
//! Reads the runs' `experiment_summary.json` (untrusted: it may come from another machine)
//! and compares the tests by name. Knows nothing of how the runs were made.

use std::path::{Path, PathBuf};

use crate::text;

/// What happened to one test between two runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Change {
    /// Passed in A, not in B.
    Regressed,
    /// Not passed in A, passed in B.
    Fixed,
    /// Another status change (failed → timeout, passed → skipped, ...).
    Changed,
    /// Only in B.
    New,
    /// Only in A.
    Gone,
    Same,
}

impl Change {
    pub fn word(self) -> &'static str {
        match self {
            Change::Regressed => "regressed",
            Change::Fixed => "fixed",
            Change::Changed => "changed",
            Change::New => "new",
            Change::Gone => "gone",
            Change::Same => "same",
        }
    }
}

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Row {
    pub test: String,
    pub a: Option<String>,
    pub b: Option<String>,
    pub change: Change,
    /// B's first reason when the test did not pass there.
    pub reason: Option<String>,
}

/// A comparison of two runs.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Comparison {
    pub a: String,
    pub b: String,
    /// Every test, regressions first, then in B's order.
    pub rows: Vec<Row>,
}

/// Why a run cannot be compared.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum CompareError {
    #[error("cannot read {path}: {source}")]
    #[diagnostic(
        code(panther::compare::read),
        help("give a run directory (it holds experiment_summary.json) or the summary file itself")
    )]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not an experiment summary: {why}")]
    #[diagnostic(
        code(panther::compare::format),
        help("compare the experiment_summary.json that `panther-host run` writes")
    )]
    Format { path: PathBuf, why: String },
}

/// Largest summary read: a run of a hundred thousand tests fits; more is not a summary.
const MAX_SUMMARY_BYTES: u64 = 256 << 20;

/// `(name, status, first reason)` of every test of a run, and the run's id.
fn tests_of(run: &Path) -> Result<(String, Vec<(String, String, Option<String>)>), CompareError> {
    let path = if run.is_dir() { run.join(super::SUMMARY_JSON) } else { run.to_path_buf() };
    let read = |source| CompareError::Read { path: path.clone(), source };
    let file = std::fs::File::open(&path).map_err(read)?;
    let mut text = String::new();
    std::io::Read::read_to_string(&mut std::io::Read::take(file, MAX_SUMMARY_BYTES), &mut text).map_err(read)?;
    let format = |why: String| CompareError::Format { path: path.clone(), why };
    let v: serde_json::Value = serde_json::from_str(&text).map_err(|e| format(e.to_string()))?;
    let results = v["tests"]["results"].as_array().ok_or_else(|| format("it has no `tests.results` list".into()))?;
    let mut out = vec![];
    for (i, t) in results.iter().enumerate() {
        let (Some(name), Some(status)) = (t["name"].as_str(), t["status"].as_str()) else {
            return Err(format(format!("test #{} has no `name` or `status`", i + 1)));
        };
        let reason = t["error_message"].as_str().map(String::from);
        out.push((name.to_string(), status.to_string(), reason));
    }
    let id = v["experiment_id"].as_str().map(String::from).unwrap_or_else(|| run.display().to_string());
    Ok((id, out))
}

/// Compares run `a` (the older) with run `b`.
pub fn compare(a: &Path, b: &Path) -> Result<Comparison, CompareError> {
    let (a_id, a_tests) = tests_of(a)?;
    let (b_id, b_tests) = tests_of(b)?;
    let passed = |s: &str| s == "passed";
    let mut rows: Vec<Row> = b_tests
        .iter()
        .map(|(name, status, reason)| {
            let before = a_tests.iter().find(|(n, _, _)| n == name).map(|(_, s, _)| s.clone());
            let change = match &before {
                None => Change::New,
                Some(s) if s == status => Change::Same,
                Some(s) if passed(s) => Change::Regressed,
                Some(_) if passed(status) => Change::Fixed,
                Some(_) => Change::Changed,
            };
            Row {
                test: name.clone(),
                a: before,
                b: Some(status.clone()),
                change,
                reason: (!passed(status)).then(|| reason.clone()).flatten(),
            }
        })
        .collect();
    for (name, status, _) in &a_tests {
        if !b_tests.iter().any(|(n, _, _)| n == name) {
            rows.push(Row { test: name.clone(), a: Some(status.clone()), b: None, change: Change::Gone, reason: None });
        }
    }
    // Stable: within a kind of change, B's order (then A's for the gone ones).
    rows.sort_by_key(|r| r.change);
    Ok(Comparison { a: a_id, b: b_id, rows })
}

impl Comparison {
    pub fn count(&self, c: Change) -> usize {
        self.rows.iter().filter(|r| r.change == c).count()
    }

    /// One line: `2 regressed, 1 fixed, 0 changed, 3 new, 0 gone, 40 the same`.
    pub fn headline(&self) -> String {
        format!(
            "{} → {}: {} regressed, {} fixed, {} changed, {} new, {} gone, {} the same",
            text::terminal(&self.a),
            text::terminal(&self.b),
            self.count(Change::Regressed),
            self.count(Change::Fixed),
            self.count(Change::Changed),
            self.count(Change::New),
            self.count(Change::Gone),
            self.count(Change::Same)
        )
    }

    /// For a terminal: the headline, then every test that did not stay the same (all of them
    /// with `all`).
    pub fn text(&self, all: bool) -> String {
        let rows: Vec<&Row> = self.rows.iter().filter(|r| all || r.change != Change::Same).collect();
        let width = rows.iter().map(|r| text::terminal(&r.test).chars().count()).max().unwrap_or(4).clamp(4, 70);
        let mut out = format!("{}\n", self.headline());
        for r in rows {
            let name = text::terminal(&r.test);
            let pad = width.saturating_sub(name.chars().count());
            out.push_str(&format!(
                "  {:<10} {name}{} {} → {}{}\n",
                r.change.word(),
                " ".repeat(pad),
                text::terminal(r.a.as_deref().unwrap_or("—")),
                text::terminal(r.b.as_deref().unwrap_or("—")),
                r.reason.as_deref().map(|x| format!("  ({})", text::terminal(x))).unwrap_or_default()
            ));
        }
        out
    }

    /// A Markdown table for a report or a pull request.
    pub fn markdown(&self, all: bool) -> String {
        let mut out = format!(
            "{}\n\n| change | test | {} | {} | reason |\n|---|---|---|---|---|\n",
            text::markdown(&self.headline()),
            text::markdown(&self.a),
            text::markdown(&self.b)
        );
        for r in self.rows.iter().filter(|r| all || r.change != Change::Same) {
            out.push_str(&format!(
                "| {} | {} | {} | {} | {} |\n",
                r.change.word(),
                text::markdown(&r.test),
                r.a.as_deref().map_or_else(|| "—".into(), text::markdown),
                r.b.as_deref().map_or_else(|| "—".into(), text::markdown),
                r.reason.as_deref().map(text::markdown).unwrap_or_default()
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(dir: &Path, name: &str, tests: &[(&str, &str)]) -> PathBuf {
        let d = dir.join(name);
        std::fs::create_dir_all(&d).unwrap();
        let results: Vec<serde_json::Value> = tests
            .iter()
            .map(|(n, s)| serde_json::json!({ "name": n, "status": s, "error_message": if *s == "passed" { None } else { Some(format!("{n} broke")) } }))
            .collect();
        let v = serde_json::json!({ "experiment_id": name, "tests": { "results": results } });
        std::fs::write(d.join(super::super::SUMMARY_JSON), v.to_string()).unwrap();
        d
    }

    #[test]
    fn regressions_first_then_the_rest() {
        let t = tempfile::tempdir().unwrap();
        let a = run(
            t.path(),
            "nightly-1",
            &[("h", "passed"), ("t", "failed"), ("z", "passed"), ("old", "passed"), ("k", "failed")],
        );
        let b = run(
            t.path(),
            "nightly-2",
            &[("h", "passed"), ("t", "passed"), ("z", "failed"), ("new", "passed"), ("k", "timeout")],
        );
        let c = compare(&a, &b).unwrap();
        let got: Vec<(&str, Change)> = c.rows.iter().map(|r| (r.test.as_str(), r.change)).collect();
        assert_eq!(
            got,
            [
                ("z", Change::Regressed),
                ("t", Change::Fixed),
                ("k", Change::Changed),
                ("new", Change::New),
                ("old", Change::Gone),
                ("h", Change::Same)
            ]
        );
        assert_eq!(c.rows[0].reason.as_deref(), Some("z broke"));
        assert!(
            c.headline().ends_with("1 regressed, 1 fixed, 1 changed, 1 new, 1 gone, 1 the same"),
            "{}",
            c.headline()
        );
        let text = c.text(false);
        assert!(text.contains("regressed  z") && !text.contains(" h "), "{text}");
        assert!(c.markdown(true).contains("| regressed | z | passed | failed | z broke |"), "{}", c.markdown(true));
    }

    #[test]
    fn what_is_not_a_summary_says_so() {
        let t = tempfile::tempdir().unwrap();
        let e = compare(&t.path().join("nope"), &t.path().join("nope")).unwrap_err();
        assert!(e.to_string().starts_with("cannot read"), "{e}");
        std::fs::write(t.path().join("x.json"), "{\"tests\": 3}").unwrap();
        let e = compare(&t.path().join("x.json"), &t.path().join("x.json")).unwrap_err();
        assert!(e.to_string().contains("no `tests.results` list"), "{e}");
    }
}
