//! What an import could not carry over, and why an import was refused.
//!
//! A [`Note`] is one YAML key without an equivalent here (path, line, reason); the same notes
//! are printed on stderr and kept as comments in the TOML, so nothing is dropped silently.
//! An [`ImportError`] is a refusal: a miette diagnostic pointing at `file:line:col`.

use std::fmt;

use crate::config::{Problem, Source, Span};

/// Why a key was not converted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Reason {
    /// The original's own model never read it (an extra key its loader tolerated), or it
    /// refused the construct altogether.
    IgnoredByOriginal,
    /// The feature exists here but is done another way (the detail says how).
    DoneDifferently,
    /// It names a plugin that does not exist here, or a parameter, version or role the plugin
    /// does not declare.
    NoPlugin,
}

impl Reason {
    pub fn label(self) -> &'static str {
        match self {
            Reason::IgnoredByOriginal => "ignored by the original",
            Reason::DoneDifferently => "done differently here",
            Reason::NoPlugin => "no such plugin or parameter here",
        }
    }
}

/// One key that has no equivalent in the converted file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    /// YAML path such as `tests[1].services.ivy_server.ports`.
    pub path: String,
    /// 1-based line of the key in the YAML file.
    pub line: usize,
    pub reason: Reason,
    /// Why, and what to do instead when there is something.
    pub detail: String,
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: `{}`: {}: {}", self.line, self.path, self.reason.label(), self.detail)
    }
}

/// The report printed on stderr after a conversion: one line per note.
pub fn render(file: &str, notes: &[Note]) -> String {
    if notes.is_empty() {
        return format!("{file}: every key was converted\n");
    }
    let mut out = format!(
        "{file}: {} not converted (kept as comments in the output):\n",
        if notes.len() == 1 { "1 key".to_string() } else { format!("{} keys", notes.len()) }
    );
    for n in notes {
        out.push_str(&format!("  {file}:{}: `{}`: {}: {}\n", n.line, n.path, n.reason.label(), n.detail));
    }
    out
}

/// Why a file was not converted at all: the config diagnostic (`file:line:col`, snippet,
/// help) reported as `panther::import::<code>`.
pub type ImportError = Problem;

/// A refusal pointing at `span` in `source`.
pub(crate) fn refused_at(
    source: &Source,
    code: &'static str,
    span: Span,
    label: impl Into<String>,
    message: impl Into<String>,
) -> ImportError {
    Problem::at(source, code, span, label, message).in_domain("import")
}

/// A refusal about the whole file (it cannot be read).
pub(crate) fn refused_file(name: &str, code: &'static str, message: impl Into<String>) -> ImportError {
    Problem::file(name, code, message).in_domain("import")
}
