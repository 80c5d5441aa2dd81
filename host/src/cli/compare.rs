//! `panther-host compare RUN_A RUN_B`: regressions, fixes, new and gone tests between two
//! runs. Parsing and printing only; the comparison is [`crate::report::compare`].

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use super::{EXIT_ERROR, EXIT_OK, EXIT_TEST_FAILED};

/// Compare two runs of an experiment: which tests regressed, were fixed, are new or gone.
#[derive(Debug, Args)]
#[command(
    after_help = "Exit codes: 0 nothing regressed, 1 a test that passed in RUN_A does not pass in RUN_B, 2 a run could not be read."
)]
pub struct CompareCmd {
    /// The older run: its directory, or its experiment_summary.json.
    pub run_a: PathBuf,
    /// The newer run.
    pub run_b: PathBuf,
    /// `text` for a terminal, `markdown` for a report or a pull request, `json`.
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Also list the tests whose status did not change.
    #[arg(long)]
    pub all: bool,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum Format {
    Text,
    Markdown,
    Json,
}

pub fn run(cmd: &CompareCmd) -> u8 {
    let c = match crate::report::compare::compare(&cmd.run_a, &cmd.run_b) {
        Ok(c) => c,
        Err(e) => {
            super::print_error(&e);
            return EXIT_ERROR;
        }
    };
    match cmd.format {
        Format::Text => print!("{}", c.text(cmd.all)),
        Format::Markdown => print!("{}", c.markdown(cmd.all)),
        Format::Json => println!("{}", serde_json::to_string_pretty(&c).expect("plain data")),
    }
    if c.count(crate::report::compare::Change::Regressed) > 0 {
        EXIT_TEST_FAILED
    } else {
        EXIT_OK
    }
}
