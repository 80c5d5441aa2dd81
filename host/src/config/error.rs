//! Diagnostics for experiment files: every problem names `path:line:col`, underlines the
//! culprit in the file and says how to fix it.
//!
//! Owns [`ConfigError`], [`Problem`] and [`Span`]. A `ConfigError` carries every problem
//! found in one pass (the first as the main diagnostic, the rest as `related`), so a user fixes
//! a file in one round trip. Does not decide what is a problem: `parse` and `plugins` do.

use std::fmt;
use std::sync::Arc;

use miette::{Diagnostic, LabeledSpan, NamedSource, SourceCode, SourceSpan};

/// A byte range in an experiment file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Hash)]
pub struct Span {
    pub start: usize,
    pub end: usize,
}

impl Span {
    /// The range `start..end`.
    pub fn new(start: usize, end: usize) -> Span {
        Span { start, end: end.max(start) }
    }
}

impl From<std::ops::Range<usize>> for Span {
    fn from(r: std::ops::Range<usize>) -> Span {
        Span::new(r.start, r.end)
    }
}

impl From<Span> for SourceSpan {
    fn from(s: Span) -> SourceSpan {
        (s.start, s.end - s.start).into()
    }
}

/// The text of an experiment file and the name it is shown under (the path as given).
#[derive(Debug, Clone)]
pub struct Source {
    pub name: Arc<str>,
    pub text: Arc<str>,
}

impl Source {
    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let before = &self.text[..floor_char_boundary(&self.text, offset)];
        let line = before.matches('\n').count() + 1;
        let col = before.rsplit('\n').next().unwrap_or("").chars().count() + 1;
        (line, col)
    }
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// One thing wrong with an experiment file.
#[derive(Debug, Clone)]
pub struct Problem {
    /// The part of the host that found it: `config`, or `import` for a YAML file being
    /// converted; the diagnostic code is `panther::<domain>::<code>`.
    pub domain: &'static str,
    /// The diagnostic code without the `panther::<domain>::` prefix, such as `unknown_key`.
    pub code: &'static str,
    /// What is wrong, lower-case, naming the culprit.
    pub message: String,
    /// `path:line:col` of the primary span, or the path alone when there is no span.
    pub location: String,
    /// How to fix it.
    pub help: Option<String>,
    pub(crate) primary: Option<(Span, String)>,
    pub(crate) secondary: Vec<(Span, String)>,
    pub(crate) source: Option<NamedSource<Arc<str>>>,
}

impl Problem {
    /// A problem in `source` underlined at `span`.
    pub(crate) fn at(
        source: &Source,
        code: &'static str,
        span: Span,
        label: impl Into<String>,
        message: impl Into<String>,
    ) -> Problem {
        let (line, col) = source.line_col(span.start);
        Problem {
            domain: "config",
            code,
            message: message.into(),
            location: format!("{}:{line}:{col}", source.name),
            help: None,
            primary: Some((span, label.into())),
            secondary: vec![],
            source: Some(NamedSource::new(source.name.as_ref(), source.text.clone())),
        }
    }

    /// A problem about a whole file, such as one that cannot be read.
    pub(crate) fn file(name: &str, code: &'static str, message: impl Into<String>) -> Problem {
        Problem {
            domain: "config",
            code,
            message: message.into(),
            location: name.to_string(),
            help: None,
            primary: None,
            secondary: vec![],
            source: None,
        }
    }

    /// The same problem, reported by another part of the host.
    pub(crate) fn in_domain(mut self, domain: &'static str) -> Problem {
        self.domain = domain;
        self
    }

    pub(crate) fn help(mut self, help: impl Into<String>) -> Problem {
        self.help = Some(help.into());
        self
    }

    pub(crate) fn also(mut self, span: Span, label: impl Into<String>) -> Problem {
        self.secondary.push((span, label.into()));
        self
    }

    /// The primary span, if the problem points into the file.
    pub fn span(&self) -> Option<Span> {
        self.primary.as_ref().map(|(s, _)| *s)
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location, self.message)
    }
}

impl std::error::Error for Problem {}

impl Diagnostic for Problem {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(format!("panther::{}::{}", self.domain, self.code)))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.help.as_ref().map(|h| Box::new(h) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.source.as_ref().map(|s| s as &dyn SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let (span, label) = self.primary.as_ref()?;
        let primary = LabeledSpan::new_primary_with_span(Some(label.clone()), *span);
        let rest = self.secondary.iter().map(|(s, l)| LabeledSpan::new_with_span(Some(l.clone()), *s));
        Some(Box::new(std::iter::once(primary).chain(rest)))
    }
}

/// Why an experiment file was refused: one or more [`Problem`]s, in file order.
///
/// `Display` shows the first problem as `path:line:col: message` and how many more there
/// are; `{:#}` shows every problem on its own line. As a miette diagnostic, the first problem
/// is the report and the others are `related`, each with its own snippet.
#[derive(Debug, Clone)]
pub struct ConfigError {
    problems: Vec<Problem>,
}

impl ConfigError {
    /// Wraps problems; sorts them by position in the file and drops exact repeats (a matrix
    /// repeats its cells' problems once per cell).
    ///
    /// # Panics
    /// When `problems` is empty: an error needs at least one problem.
    pub fn new(mut problems: Vec<Problem>) -> ConfigError {
        assert!(!problems.is_empty(), "a ConfigError needs at least one problem");
        problems.sort_by_key(|p| p.span().map(|s| s.start).unwrap_or(0));
        let mut seen = std::collections::HashSet::new();
        problems.retain(|p| seen.insert((p.code, p.message.clone(), p.span())));
        ConfigError { problems }
    }

    /// Every problem, in file order.
    pub fn problems(&self) -> &[Problem] {
        &self.problems
    }

    fn first(&self) -> &Problem {
        &self.problems[0]
    }
}

impl From<Problem> for ConfigError {
    fn from(p: Problem) -> ConfigError {
        ConfigError::new(vec![p])
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if f.alternate() {
            for (i, p) in self.problems.iter().enumerate() {
                if i > 0 {
                    writeln!(f)?;
                }
                write!(f, "{p}")?;
            }
            return Ok(());
        }
        write!(f, "{}", self.first())?;
        match self.problems.len() {
            1 => Ok(()),
            2 => write!(f, " (and 1 more problem)"),
            n => write!(f, " (and {} more problems)", n - 1),
        }
    }
}

impl std::error::Error for ConfigError {}

impl Diagnostic for ConfigError {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.first().code()
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        self.first().help()
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.first().source_code()
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        self.first().labels()
    }

    fn related<'a>(&'a self) -> Option<Box<dyn Iterator<Item = &'a dyn Diagnostic> + 'a>> {
        if self.problems.len() < 2 {
            return None;
        }
        Some(Box::new(self.problems[1..].iter().map(|p| p as &dyn Diagnostic)))
    }
}

/// Renders a diagnostic with the pinned handler the tests use: unicode, no colour, 80
/// columns. Used for snapshots and wherever output must not depend on the terminal.
pub fn render_plain(d: &dyn Diagnostic) -> String {
    let handler = miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor()).with_width(80);
    let mut out = String::new();
    handler.render_report(&mut out, d).expect("rendering into a String cannot fail");
    out
}

/// Closest candidates to `word` among `known`, best first, for "did you mean" hints.
pub fn similar<'a>(word: &str, known: impl IntoIterator<Item = &'a str>) -> Vec<&'a str> {
    let mut scored: Vec<(f64, &str)> = known
        .into_iter()
        .map(|k| (strsim::jaro_winkler(&word.to_ascii_lowercase(), &k.to_ascii_lowercase()), k))
        .filter(|(score, k)| *score >= 0.8 || strsim::levenshtein(word, k) <= 2)
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(b.1)));
    scored.into_iter().map(|(_, k)| k).take(3).collect()
}

/// Formats a list of names as `` `a`, `b`, `c` ``.
pub(crate) fn ticked<S: AsRef<str>>(names: impl IntoIterator<Item = S>) -> String {
    names.into_iter().map(|n| format!("`{}`", n.as_ref())).collect::<Vec<_>>().join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src(text: &str) -> Source {
        Source { name: "x.toml".into(), text: text.into() }
    }

    // Lines and columns are 1-based and count characters, not bytes.
    #[test]
    fn line_col() {
        let s = src("a = 1\nbé = \"x\"\n");
        assert_eq!(s.line_col(0), (1, 1));
        assert_eq!(s.line_col(6), (2, 1));
        assert_eq!(s.line_col(12), (2, 6));
        assert_eq!(s.line_col(999), (3, 1));
    }

    // Display names the location of the first problem and counts the rest.
    #[test]
    fn display_has_location() {
        let s = src("a = 1\nb = 2\n");
        let e = ConfigError::new(vec![
            Problem::at(&s, "x", Span::new(6, 7), "here", "second"),
            Problem::at(&s, "x", Span::new(0, 1), "here", "first"),
        ]);
        assert_eq!(e.to_string(), "x.toml:1:1: first (and 1 more problem)");
        assert_eq!(format!("{e:#}"), "x.toml:1:1: first\nx.toml:2:1: second");
    }

    // Suggestions catch typos and ignore unrelated names.
    #[test]
    fn suggestions() {
        assert_eq!(similar("tmeout", ["timeout", "testcase", "name"]), vec!["timeout"]);
        assert_eq!(similar("picoqiuc", ["picoquic", "quiche", "aioquic"]).first(), Some(&"picoquic"));
        assert!(similar("zzz", ["timeout", "name"]).is_empty());
    }
}
