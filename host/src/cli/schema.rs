//! `panther-host schema`: prints the JSON Schema of experiment files, for editors (for
//! example with taplo or Even Better TOML: `#:schema ./experiment.schema.json`).

use clap::Args;

use super::EXIT_OK;

/// Print the JSON Schema of experiment files.
#[derive(Debug, Clone, Args)]
pub struct SchemaCmd {}

/// Prints the schema on stdout; returns the exit code. A closed pipe (`| head`) is not an
/// error.
pub fn run(_cmd: &SchemaCmd) -> u8 {
    use std::io::Write;
    let text = serde_json::to_string_pretty(&crate::config::schema::json_schema()).expect("a schema is JSON");
    match writeln!(std::io::stdout().lock(), "{text}") {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            eprintln!("error: cannot write the schema: {e}");
            super::EXIT_ERROR
        }
        _ => EXIT_OK,
    }
}
