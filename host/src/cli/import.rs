//! `panther-host import FILE.yaml [-o FILE.toml]`: converts an experiment file of the original
//! PANTHER into this host's TOML. Parsing and printing only: the conversion is `crate::import`.

use std::path::PathBuf;

use clap::Args;

use super::{GlobalArgs, EXIT_ERROR, EXIT_OK};
use crate::import;

/// Convert an experiment file of the original PANTHER (YAML) into this host's TOML.
#[derive(Debug, Clone, Args)]
#[command(after_help = "What is not converted is listed on stderr and kept as comments in the output \
(docs/MIGRATING.md has the mapping).\nExit codes: 0 converted, 2 refused (not YAML, not an experiment, cannot write).")]
pub struct ImportCmd {
    /// The original's experiment file (YAML).
    #[arg(value_name = "FILE", required_unless_present = "mapping")]
    pub file: Option<PathBuf>,
    /// Write the TOML here instead of stdout.
    #[arg(short, long, value_name = "FILE.toml")]
    pub output: Option<PathBuf>,
    /// Do not check plugin names, versions and parameters against the installed plugins.
    #[arg(long)]
    pub no_plugins: bool,
    /// Print the mapping tables (Markdown, as in docs/MIGRATING.md) and exit.
    #[arg(long, conflicts_with = "file")]
    pub mapping: bool,
}

/// Runs the command; returns the exit code.
pub fn run(cmd: &ImportCmd, g: &GlobalArgs) -> u8 {
    if cmd.mapping {
        print!("{}", import::tables::migrating_markdown());
        return EXIT_OK;
    }
    let file = cmd.file.as_deref().expect("clap requires FILE without --mapping");
    // A file that is not an experiment is refused before the plugins are opened (which takes a
    // moment): the refusal does not depend on them.
    if let Err(e) = import::convert_file(file, None) {
        super::print_error(&e);
        return EXIT_ERROR;
    }
    let installed = if cmd.no_plugins {
        None
    } else {
        let mut opts = crate::plugin::HostOptions::new(g.plugin_dirs(), &g.cache_root());
        opts.locked = g
            .locked
            .then(|| crate::plugin::bundled_dir().unwrap_or_else(|| "plugins-dist".into()).join("plugins.lock"));
        match crate::plugin::PluginHost::open(opts) {
            Ok(h) => Some(h.plugins().iter().map(|p| p.info.clone()).collect::<Vec<_>>()),
            Err(e) => {
                super::print_error(&e);
                eprintln!("warning: plugins could not be opened; names, versions and parameters are not checked");
                None
            }
        }
    };
    let conversion = match import::convert_file(file, installed.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            super::print_error(&e);
            return EXIT_ERROR;
        }
    };
    match &cmd.output {
        Some(out) => {
            if let Err(e) = std::fs::write(out, &conversion.toml) {
                eprintln!("error: cannot write `{}`: {e}", out.display());
                return EXIT_ERROR;
            }
            eprintln!("{}: written from {}", out.display(), file.display());
        }
        None => print!("{}", conversion.toml),
    }
    eprint!("{}", import::render_report(&file.display().to_string(), &conversion.notes));
    EXIT_OK
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct T {
        #[command(flatten)]
        c: ImportCmd,
    }

    // FILE is required unless --mapping is given.
    #[test]
    fn parses() {
        let t = T::try_parse_from(["x", "a.yaml", "-o", "a.toml"]).unwrap();
        assert_eq!(t.c.output.as_deref(), Some(std::path::Path::new("a.toml")));
        assert!(T::try_parse_from(["x", "--mapping"]).unwrap().c.mapping);
        assert!(T::try_parse_from(["x"]).is_err());
    }
}
