//! Policies chosen by name or read from files (TOML), and why a file could not be used, with
//! file:line:col: a policy file is a security setting, so a typo must not pass silently.

use std::path::{Path, PathBuf};

use super::{Policy, PRESETS};

/// A policy file that could not be used.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum PolicyError {
    #[error("cannot read policy file {}: {source}", path.display())]
    #[diagnostic(code(panther::policy::read))]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("invalid policy file {}:{line}:{col}: {message}", path.display())]
    #[diagnostic(
        code(panther::policy::file),
        help("keys a policy file may set: {}; `extends` names a preset ({})", policy_keys().join(", "), PRESETS.join(", "))
    )]
    Parse {
        path: PathBuf,
        line: usize,
        col: usize,
        message: String,
        #[source_code]
        src: miette::NamedSource<String>,
        #[label("here")]
        span: Option<miette::SourceSpan>,
    },
    #[error("unknown policy preset `{name}`; presets: {}", PRESETS.join(", "))]
    #[diagnostic(code(panther::policy::preset), help("use a preset name or a path to a policy file (TOML)"))]
    UnknownPreset { name: String },
}

fn policy_keys() -> Vec<String> {
    match toml::Table::try_from(Policy::default()) {
        Ok(t) => t.keys().cloned().chain(std::iter::once("extends".to_string())).collect(),
        Err(_) => vec![],
    }
}

impl Policy {
    /// A preset name, or else a path to a policy file.
    ///
    /// # Errors
    /// As [`Policy::load`], or [`PolicyError::UnknownPreset`] for a word that is neither.
    pub fn from_name_or_path(s: &str) -> Result<Policy, PolicyError> {
        if PRESETS.contains(&s) {
            return Policy::preset(s);
        }
        let p = Path::new(s);
        if p.extension().is_some() || s.contains('/') || p.exists() {
            Policy::load(p)
        } else {
            Err(PolicyError::UnknownPreset { name: s.to_string() })
        }
    }

    /// Reads a policy file (TOML). Keys it sets override the preset named by `extends`
    /// (default `default`); `name` defaults to the file's stem.
    ///
    /// # Errors
    /// [`PolicyError::Read`] when the file cannot be read, [`PolicyError::Parse`] with
    /// file:line:col for bad TOML, unknown keys, wrong types and unknown presets.
    pub fn load(path: &Path) -> Result<Policy, PolicyError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| PolicyError::Read { path: path.to_path_buf(), source })?;
        let mut p = Policy::from_toml(path, &text)?;
        if !text.lines().any(|l| l.trim_start().starts_with("name")) {
            p.name = path.file_stem().map_or_else(|| "custom".into(), |s| s.to_string_lossy().into_owned());
        }
        Ok(p)
    }

    /// Parses policy text; `path` only names it in errors.
    ///
    /// # Errors
    /// As [`Policy::load`].
    pub fn from_toml(path: &Path, text: &str) -> Result<Policy, PolicyError> {
        let parse_err = |span: Option<std::ops::Range<usize>>, message: String| {
            let at = span.as_ref().map_or(0, |s| s.start.min(text.len()));
            let before = &text[..at];
            let line = before.matches('\n').count() + 1;
            let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
            PolicyError::Parse {
                path: path.to_path_buf(),
                line,
                col,
                message,
                src: miette::NamedSource::new(path.display().to_string(), text.to_string()),
                span: span.map(|s| miette::SourceSpan::from(s.start..s.end.max(s.start))),
            }
        };
        let file: Policy = toml::from_str(text).map_err(|e| parse_err(e.span(), e.message().trim().to_string()))?;
        let table: toml::Table =
            toml::from_str(text).map_err(|e| parse_err(e.span(), e.message().trim().to_string()))?;
        let base_name = file.extends.clone().unwrap_or_else(|| "default".into());
        let base = Policy::preset(&base_name).map_err(|e| {
            let span = text.find("extends").map(|s| s..text[s..].find('\n').map_or(text.len(), |n| s + n));
            parse_err(span, e.to_string())
        })?;
        // Keys the file sets win; the rest come from the preset.
        let mut merged = toml::Table::try_from(&base).expect("a policy serialises to a table");
        let set = toml::Table::try_from(&file).expect("a policy serialises to a table");
        for k in table.keys() {
            if let Some(v) = set.get(k) {
                merged.insert(k.clone(), v.clone());
            }
        }
        let mut out: Policy =
            merged.try_into().map_err(|e: toml::de::Error| parse_err(None, e.message().to_string()))?;
        if !table.contains_key("name") {
            out.name = base.name;
        }
        for (i, e) in out.executors.iter().enumerate() {
            if !["localhost", "docker", "shadow"].contains(&e.as_str()) {
                let span = text.find(&format!("\"{e}\"")).map(|s| s..s + e.len() + 2);
                return Err(parse_err(
                    span,
                    format!("executors[{i}]: unknown executor `{e}`; expected one of localhost, docker, shadow"),
                ));
            }
        }
        Ok(out)
    }

    /// The policy an experiment asks for (`[experiment] policy`).
    ///
    /// # Errors
    /// As [`Policy::load`] for a policy file.
    pub fn from_choice(choice: &crate::config::PolicyChoice) -> Result<Policy, PolicyError> {
        use crate::config::PolicyChoice;
        match choice {
            PolicyChoice::Default => Ok(Policy::default()),
            PolicyChoice::Strict => Ok(Policy::strict()),
            PolicyChoice::File(p) => Policy::load(p),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // It turns the experiment's choice into a policy, reading files with their errors.
    #[test]
    fn from_choice() {
        use crate::config::PolicyChoice;
        assert_eq!(Policy::from_choice(&PolicyChoice::Strict).unwrap(), Policy::strict());
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("ci.toml");
        std::fs::write(&f, "extends = \"strict\"\nmax_services = 4\n").unwrap();
        let p = Policy::from_choice(&PolicyChoice::File(f.clone())).unwrap();
        assert_eq!((p.name.as_str(), p.max_services), ("ci", 4));
        std::fs::write(&f, "max_servics = 4\n").unwrap();
        assert!(Policy::from_choice(&PolicyChoice::File(f)).unwrap_err().to_string().contains("ci.toml:1:1"));
    }

    // It loads a file that extends strict and overrides one key.
    #[test]
    fn load_extends() {
        let p = Policy::from_toml(Path::new("ci.toml"), "extends = \"strict\"\nmax_timeout_ms = 60000\n").unwrap();
        assert_eq!(p.name, "strict");
        assert_eq!(p.max_timeout_ms, 60_000);
        assert_eq!(p.executors, ["docker"]);
        let p = Policy::from_toml(Path::new("ci.toml"), "allow_shell = true").unwrap();
        assert!(p.allow_shell);
        assert_eq!(p.executors.len(), 3);
    }

    // It names file, line and column of an unknown key and lists the keys that exist.
    #[test]
    fn unknown_key() {
        let e = Policy::from_toml(Path::new("ci.toml"), "extends = \"strict\"\n\nallow_shel = true\n").unwrap_err();
        let s = e.to_string();
        assert!(s.starts_with("invalid policy file ci.toml:3:1:"), "{s}");
        assert!(s.contains("allow_shel"), "{s}");
        let PolicyError::Parse { .. } = e else { panic!("{e:?}") };
    }

    // It refuses an unknown preset and an unknown executor with their place in the file.
    #[test]
    fn unknown_preset_and_executor() {
        let e = Policy::from_toml(Path::new("p.toml"), "extends = \"paranoid\"\n").unwrap_err().to_string();
        assert!(e.contains("p.toml:1:1") && e.contains("paranoid"), "{e}");
        let e = Policy::from_toml(Path::new("p.toml"), "executors = [\"docker\", \"vm\"]\n").unwrap_err().to_string();
        assert!(e.contains("p.toml:1:24") && e.contains("unknown executor `vm`"), "{e}");
        assert!(matches!(Policy::from_name_or_path("paranoid"), Err(PolicyError::UnknownPreset { .. })));
    }
}
