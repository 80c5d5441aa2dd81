//! `panther-host merge RUN_DIR...`: the runs of one experiment's shards (`run --shard I/N`)
//! joined into one run directory with one summary, report, JUnit and result matrix, as if one
//! host had run every test.
//!
//! Reads each shard's `run.json` and each test's `result.json` ([`super::resume`]); refuses
//! shards of different experiments, plugins or options, shards of different counts, and two
//! shards holding the same test.

use std::path::{Path, PathBuf};

use crate::report::matrices::{matrix_files, write_matrices, CellResult};
use crate::report::matrix;
use crate::report::model::{RunSummary, TestResult};

use super::layout::RunLayout;
use super::resume::{self, RunIdentity};

/// Why shards cannot be merged.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum MergeError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    NotARun(#[from] resume::ResumeError),
    #[error("{0}")]
    #[diagnostic(
        code(panther::merge::shards),
        help("merge the run directories of `run --shard 0/N` … `run --shard N-1/N` of one experiment, each once")
    )]
    Shards(String),
    #[error("cannot read the experiment of {dir}: {source}")]
    #[diagnostic(code(panther::merge::experiment))]
    Experiment {
        dir: PathBuf,
        #[source]
        source: crate::config::ConfigError,
    },
    #[error("cannot write the merged run under {dir}: {source}")]
    #[diagnostic(code(panther::merge::output))]
    Output {
        dir: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// What a merge made.
pub struct Merged {
    pub dir: PathBuf,
    pub summary: RunSummary,
    pub files: Vec<PathBuf>,
    /// Tests no shard has a result for.
    pub missing: usize,
}

impl Merged {
    /// Every test passed (or was skipped on purpose) and every shard finished its tests.
    pub fn all_passed(&self) -> bool {
        self.missing == 0
            && self
                .summary
                .tests
                .iter()
                .all(|t| matches!(t.status, super::TestStatus::Passed | super::TestStatus::Skipped))
    }
}

/// A merged run took from its first shard's start to its last shard's end (not the moment of
/// the merge): the summary says so when the shards' summaries tell.
fn span_of_shards(summary: &mut RunSummary, shards: &[PathBuf]) {
    use time::format_description::well_known::Rfc3339;
    let parse = |s: &str| time::OffsetDateTime::parse(s, &Rfc3339).ok();
    let spans: Vec<(time::OffsetDateTime, time::OffsetDateTime, RunSummary)> = shards
        .iter()
        .filter_map(|dir| {
            let s: RunSummary =
                serde_json::from_slice(&resume::read_saved(&dir.join(crate::report::MODEL_JSON)).ok()?).ok()?;
            Some((parse(&s.start_time)?, parse(s.end_time.as_deref()?)?, s))
        })
        .collect();
    let (Some(first), Some(last)) = (spans.iter().min_by_key(|s| s.0), spans.iter().max_by_key(|s| s.1)) else {
        return;
    };
    summary.start_time = first.2.start_time.clone();
    summary.end_time = last.2.end_time.clone();
    summary.duration_seconds = (last.1 - first.0).as_seconds_f64().max(0.0);
}

/// The shard runs under `dir` (`<dir>/<experiment>/<run>/` holding a `run.json`), in order:
/// what an engine's tasks wrote into their shared directory.
pub fn shard_runs(dir: &Path) -> Vec<PathBuf> {
    let mut runs: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .flat_map(|experiment| std::fs::read_dir(experiment.path()).into_iter().flatten().flatten())
        .map(|run| run.path())
        .filter(|p| p.join(resume::RUN_JSON).is_file())
        .collect();
    runs.sort();
    runs
}

/// Merges `shards` into a new run directory under `output`.
pub fn merge(shards: &[PathBuf], output: &Path, cache_root: &Path) -> Result<Merged, MergeError> {
    let shard_err = |m: String| MergeError::Shards(m);
    let ids: Vec<RunIdentity> = shards.iter().map(|d| resume::identity(d)).collect::<Result<_, _>>()?;
    let first = &ids[0];
    let Some((_, n)) = first.shard else {
        return Err(shard_err(format!("{} is not a shard: it was run without --shard", shards[0].display())));
    };
    let mut seen = vec![];
    for (dir, id) in shards.iter().zip(&ids) {
        let Some((i, m)) = id.shard else {
            return Err(shard_err(format!("{} is not a shard: it was run without --shard", dir.display())));
        };
        let unsharded = |x: &RunIdentity| RunIdentity { shard: None, ..x.clone() };
        let differences = unsharded(first).differences(&unsharded(id));
        if !differences.is_empty() {
            return Err(shard_err(format!(
                "{} and {} are not shards of one run: {}",
                shards[0].display(),
                dir.display(),
                differences.join("; ")
            )));
        }
        if m != n {
            return Err(shard_err(format!("{} is shard {i}/{m}, the others are of {n}", dir.display())));
        }
        if seen.contains(&i) {
            return Err(shard_err(format!(
                "shard {i}/{n} is given twice (again as {}): their tests overlap",
                dir.display()
            )));
        }
        seen.push(i);
    }

    let experiment = crate::config::load(&shards[0].join("experiment.toml"))
        .map_err(|source| MergeError::Experiment { dir: shards[0].clone(), source })?;
    let layout = RunLayout::create(output, &experiment.name, cache_root)
        .map_err(|(dir, source)| MergeError::Output { dir, source })?;
    let mut summary = RunSummary::start(&experiment.name, &layout.id, &experiment.path, experiment.settings.fast_fail);
    (summary.seed, summary.repeat, summary.pass) = (first.seed, first.repeat, first.pass);
    let mut cells = vec![];
    let mut missing = 0;
    for spec in &super::planning::selected_tests(&experiment, &first.only, first.repeat) {
        let iterations = spec.iterations;
        for iteration in 1..=iterations {
            let name = super::planning::iteration_name(spec, iteration);
            let found: Vec<(PathBuf, TestResult)> = shards
                .iter()
                .filter_map(|d| {
                    let dir = RunLayout::open(d, cache_root).test_dir(&spec.slug, iteration, iterations);
                    resume::saved(&dir, resume::Keep::Finished).map(|r| (dir, r))
                })
                .collect();
            let result = match found.as_slice() {
                [] => {
                    missing += 1;
                    TestResult::skipped(&name, "no shard has a result for this test (its shard did not finish; `run --resume` it, then merge again)")
                }
                [(_, r)] => r.clone(),
                [(a, _), (b, _), ..] => {
                    return Err(shard_err(format!(
                        "two shards hold test `{name}`: {} and {}",
                        a.display(),
                        b.display()
                    )))
                }
            };
            if let Some(c) = &spec.cell {
                let status = if found.is_empty() { Some(matrix::Status::NotRun) } else { None };
                cells.push(CellResult { cell: c.clone(), test: summary.tests.len(), status });
            }
            summary.push(result);
        }
    }
    summary.finish(false);
    span_of_shards(&mut summary, shards);
    let _ = std::fs::write(layout.root.join("experiment.toml"), experiment.source.as_bytes());
    let mut files = crate::report::write_all(&layout.root, &summary)
        .map_err(|source| MergeError::Output { dir: layout.root.clone(), source })?;
    write_matrices(&layout.root, &experiment.name, &cells, &summary);
    files.extend(matrix_files(&layout.root, &cells));
    Ok(Merged { dir: layout.root, summary, files, missing })
}
