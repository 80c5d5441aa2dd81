//! `import`: converts an experiment file of the original PANTHER (YAML) into this host's TOML.
//!
//! Every key of the YAML file is either converted, with a comment giving the line it came
//! from, or listed as a [`Note`] with its reason; the notes are printed on stderr and kept as
//! comments in the output. A file that is not an experiment (or not YAML) is refused with an
//! [`ImportError`] at `file:line:col`.
//!
//! | file | job |
//! |---|---|
//! | `yaml.rs` | YAML text → tree with positions; syntax errors |
//! | `tables.rs` | the mapping: plugin names, environments, every key and its fate; `docs/MIGRATING.md` |
//! | `convert.rs` | the walk: YAML tree → TOML model + notes, checked against installed plugins |
//! | `emit.rs` | TOML model → text with comments (`toml_edit`) |
//! | `report.rs` | notes and refusals |

mod convert;
mod emit;
mod report;
pub mod tables;
mod yaml;

use std::path::Path;

pub use report::{render as render_report, ImportError, Note, Reason};

use crate::config::Source;
use crate::plugin::types::PluginInfo;

/// A converted experiment.
#[derive(Debug, Clone)]
pub struct Conversion {
    /// The TOML text, with comments.
    pub toml: String,
    /// What was not converted, in file order.
    pub notes: Vec<Note>,
}

/// Converts the text of an original experiment file. `name` is shown in errors and comments;
/// `plugins`, when given, are the installed plugins the names, versions and parameters are
/// checked against.
///
/// # Errors
/// Text that is not YAML, or YAML that is not an experiment file.
pub fn convert_str(name: &str, text: &str, plugins: Option<&[PluginInfo]>) -> Result<Conversion, ImportError> {
    let parsed = yaml::parse(name, text)?;
    let source = Source { name: name.into(), text: text.into() };
    let stem = Path::new(name).file_stem().and_then(|s| s.to_str()).unwrap_or("experiment");
    let (doc, mut notes) = convert::convert(&source, stem, &parsed.root, plugins)?;
    for line in parsed.lenient {
        notes.push(Note {
            path: "#".into(),
            line,
            reason: Reason::IgnoredByOriginal,
            detail: "a `#` right after a value: PyYAML read a comment there (YAML wants a space before it), and so does the importer".into(),
        });
    }
    notes.sort_by_key(|n| n.line);
    Ok(Conversion { toml: emit::render(&doc), notes })
}

/// Reads and converts a file.
///
/// # Errors
/// As [`convert_str`], and a file that cannot be read.
pub fn convert_file(path: &Path, plugins: Option<&[PluginInfo]>) -> Result<Conversion, ImportError> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| {
        report::refused_file(&name, "read", format!("cannot read `{name}`: {e}"))
            .help("check the path; the original's files are under `experiment-config/`")
    })?;
    convert_str(&name, &text, plugins)
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEMO: &str = r#"logging:
  level: INFO
paths:
  output_dir: outputs
docker:
  build_docker_image: true
tests:
  - name: "QUIC Connection (PicoQUIC)"
    network_environment:
      type: docker_compose
    execution_environment:
      - type: strace
        excluded_syscalls: [clock_gettime]
    services:
      server:
        timeout: 100
        implementation:
          name: panther_ivy
          type: testers
          test: quic_client_test_max
        protocol:
          name: quic
          version: rfc9000
          role: server
        ports:
          - "4443:4443"
      client:
        implementation:
          name: picoquic
          type: iut
        protocol:
          name: quic
          version: rfc9000
          role: client
          target: server
    steps:
      wait: 15
"#;

    // Without plugin declarations every key is converted by the tables alone, and the output
    // is an experiment the config loader accepts.
    #[test]
    fn converts_without_plugins() {
        let c = convert_str("quic_demo.yaml", DEMO, None).unwrap();
        let exp = crate::config::load_str("quic_demo.toml", &c.toml).unwrap_or_else(|e| panic!("{e:#}\n{}", c.toml));
        assert_eq!(exp.name, "quic_demo");
        assert_eq!(exp.settings.log_level, "info");
        let t = &exp.tests[0];
        assert_eq!(t.network.kind, "docker-compose");
        assert_eq!(t.wait, Some(std::time::Duration::from_secs(15)));
        assert_eq!(t.execution[0].kind, "strace");
        let server = t.service("server").unwrap();
        assert_eq!(server.implementation, "ivy");
        assert_eq!(server.kind, crate::config::ServiceKind::Tester);
        assert_eq!(server.params["test"].as_str(), Some("quic_client_test_max"));
        assert_eq!(server.timeout, Some(std::time::Duration::from_secs(100)));
        let client = t.service("client").unwrap();
        assert_eq!(client.implementation, "picoquic");
        assert_eq!(client.target.as_deref(), Some("server"));
        // docker and ports are reported, with their lines, and kept as comments.
        let paths: Vec<(&str, usize)> = c.notes.iter().map(|n| (n.path.as_str(), n.line)).collect();
        assert_eq!(paths, vec![("docker", 5), ("tests[0].services.server.ports", 25)]);
        assert!(
            c.toml.contains("# not converted: line 25: `tests[0].services.server.ports`: done differently here"),
            "{}",
            c.toml
        );
        assert!(c.toml.contains("trace=!clock_gettime"), "{}", c.toml);
    }

    // A mapping without `tests` is not an experiment: refused at its first key.
    #[test]
    fn refuses_files_without_tests() {
        let e = convert_str("invalid.yaml", "invalid: yaml\n", None).unwrap_err();
        assert_eq!(e.location, "invalid.yaml:1:1");
        assert!(e.message.contains("no `tests` list"), "{}", e.message);
        let e = convert_str("x.yaml", "- a\n- b\n", None).unwrap_err();
        assert_eq!(e.code, "not_an_experiment");
    }

    // Broken YAML is refused with the position the scanner stopped at.
    #[test]
    fn refuses_broken_yaml() {
        let e = convert_str("x.yaml", "tests:\n  - name: a\n   b: c\n", None).unwrap_err();
        assert_eq!(e.code, "yaml_syntax");
        assert!(e.location.starts_with("x.yaml:3:"), "{}", e.location);
        let text = crate::config::render_plain(&e);
        assert!(text.contains("panther::import::yaml_syntax"), "{text}");
    }
}
