//! Command-line interface: clap definitions, parsing and printing. Logic lives in the library
//! modules; each subcommand here resolves its arguments, calls them and renders the result.
//!
//! Exit codes (part of the interface, also in `--help` and the README):
//! 0 every test passed / the command succeeded; 1 a test failed; 2 the run or command could not
//! be carried out (config, plugin, policy or executor error; for `run`, also when any test's
//! plans were refused, even if the other tests ran); 130 interrupted (Ctrl-C).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

pub mod audit;
pub mod clean;
pub mod compare;
pub mod import;
pub mod merge;
pub mod plan;
pub mod plugins;
pub mod run;
pub mod schema;
pub mod validate;

/// Exit code: every test passed, or the command succeeded.
pub const EXIT_OK: u8 = 0;
/// Exit code: at least one test failed.
pub const EXIT_TEST_FAILED: u8 = 1;
/// Exit code: the run or command could not be carried out.
pub const EXIT_ERROR: u8 = 2;
/// Exit code: interrupted by Ctrl-C.
pub const EXIT_INTERRUPTED: u8 = 130;

/// `experiments/demo.toml`, built in so that `run`, `plan` and `validate` without a file work
/// from any directory, including where an installed binary has no repository around it.
pub const EMBEDDED_DEMO: &str = include_str!("../../../experiments/demo.toml");
/// The name diagnostics give the embedded demo: not a path, so nobody looks for it on disk.
pub const EMBEDDED_DEMO_NAME: &str = "<embedded>/demo.toml";

/// The experiment in `file`, or the embedded demo when no file is given. The demo names no
/// file of its own; its `output_dir` is relative to the current directory, as for any file.
pub fn load_experiment(file: Option<&Path>) -> Result<crate::config::Experiment, crate::config::ConfigError> {
    match file {
        Some(f) => crate::config::load(f),
        None => crate::config::load_str(EMBEDDED_DEMO_NAME, EMBEDDED_DEMO),
    }
}

#[derive(Debug, Parser)]
#[command(
    name = "panther-host",
    version,
    about = "Run protocol experiments whose plans come from sandboxed WebAssembly plugins",
    after_help = "Exit codes: 0 all tests passed, 1 a test failed, 2 the run could not be carried out (experiment file, plugin, policy or executor error; also when the policy refuses a test's plans, even if the other tests ran), 130 interrupted."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every subcommand understands.
#[derive(Debug, Clone, Args)]
pub struct GlobalArgs {
    /// Another directory of plugin components (repeatable); the bundled plugins are always
    /// searched (`../share/panther-host/plugins` next to an installed binary, or plugins-dist/).
    #[arg(long = "plugin-dir", global = true, value_name = "DIR")]
    pub plugin_dirs: Vec<PathBuf>,
    /// Refuse any component that plugins.lock does not pin with the same sha256.
    #[arg(long, global = true)]
    pub locked: bool,
    /// Where compiled components and IUT builds are cached [default: ~/.cache/panther-host].
    #[arg(long, global = true, value_name = "DIR", env = "PANTHER_CACHE")]
    pub cache_dir: Option<PathBuf>,
    /// More log output (-v debug, -vv trace); RUST_LOG overrides.
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub verbose: u8,
    /// Only errors on stderr.
    #[arg(short, long, global = true)]
    pub quiet: bool,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run an experiment and write its results under its output directory.
    Run(run::RunCmd),
    /// Ask the plugins for plans, check and render them, and print them; run nothing.
    Plan(plan::PlanCmd),
    /// Print everything an experiment's plugins would ask for, and the policy's verdict; run nothing.
    Audit(audit::AuditCmd),
    /// List, inspect, verify and test plugins; pin and sign them; write and build new ones.
    #[command(visible_alias = "plugin")]
    Plugins(plugins::PluginsCmd),
    /// Check an experiment file and the plugins it names; run nothing.
    Validate(validate::ValidateCmd),
    /// Print the JSON Schema of experiment files, for editors.
    Schema(schema::SchemaCmd),
    /// End processes and remove Docker containers and networks (with --images, images) left by killed runs.
    Clean(clean::CleanCmd),
    /// Convert an experiment file of the original PANTHER (YAML) into this host's TOML.
    Import(import::ImportCmd),
    /// Compare two runs: which tests regressed, were fixed, are new or gone.
    Compare(compare::CompareCmd),
    /// Join the runs of an experiment's shards (`run --shard I/N`) into one run.
    Merge(merge::MergeCmd),
    /// Run a Docker test's link relays from the file the host wrote; the relay container's
    /// program, not a command for users.
    #[command(hide = true)]
    LinkRelay {
        /// The relay configuration the host wrote into the test's directory.
        config: PathBuf,
    },
}

impl GlobalArgs {
    /// The cache root: `--cache-dir`, `$PANTHER_CACHE`, or `~/.cache/panther-host`.
    pub fn cache_root(&self) -> PathBuf {
        self.cache_dir.clone().unwrap_or_else(crate::run::default_cache_root)
    }

    /// Plugin directories in search order: the bundled plugins ([`crate::plugin::bundled_dir`]),
    /// `$PANTHER_PLUGIN_PATH`, then `--plugin-dir`s.
    pub fn plugin_dirs(&self) -> Vec<PathBuf> {
        let mut dirs = vec![];
        if let Some(d) = crate::plugin::bundled_dir() {
            dirs.push(d);
        }
        if let Some(p) = std::env::var_os("PANTHER_PLUGIN_PATH") {
            dirs.extend(std::env::split_paths(&p));
        }
        dirs.extend(self.plugin_dirs.iter().cloned());
        dirs
    }
}

/// Opens the plugin host with the global options (plugin dirs, cache, --locked).
pub fn open_plugins(
    g: &GlobalArgs,
) -> Result<std::sync::Arc<crate::plugin::PluginHost>, Box<dyn miette::Diagnostic + Send + Sync>> {
    let opts = crate::plugin::HostOptions {
        plugin_dirs: g.plugin_dirs(),
        cache_dir: g.cache_root().join("components"),
        limits: crate::plugin::Limits::default(),
        locked: g
            .locked
            .then(|| crate::plugin::bundled_dir().unwrap_or_else(|| "plugins-dist".into()).join("plugins.lock")),
    };
    let host =
        crate::plugin::PluginHost::open(opts).map_err(|e| Box::new(e) as Box<dyn miette::Diagnostic + Send + Sync>)?;
    for r in host.refused() {
        tracing::warn!("{r}");
    }
    Ok(std::sync::Arc::new(host))
}

/// Loads an experiment, opens the plugins and checks the one against the other; prints every
/// problem and returns the exit code on failure.
pub fn open_session(file: &Path, g: &GlobalArgs) -> Result<crate::run::Session, u8> {
    open_session_or_demo(Some(file), g)
}

/// [`open_session`], with the embedded demo when `file` is `None`.
pub fn open_session_or_demo(file: Option<&Path>, g: &GlobalArgs) -> Result<crate::run::Session, u8> {
    let experiment = load_experiment(file).map_err(|e| {
        print_error(&e);
        EXIT_ERROR
    })?;
    let host = open_plugins(g).map_err(|e| {
        print_error(e.as_ref());
        EXIT_ERROR
    })?;
    let params = crate::config::check_plugins(&experiment, &|name| host.find(name).ok().map(|p| p.info.clone()))
        .map_err(|e| {
            print_error(&e);
            EXIT_ERROR
        })?;
    let policy = crate::plan::Policy::from_choice(&experiment.settings.policy).map_err(|e| {
        print_error(&e);
        EXIT_ERROR
    })?;
    Ok(crate::run::Session { experiment, host, params, policy, cache_root: g.cache_root() })
}

/// Sets up tracing from `-v`/`-q` and `RUST_LOG`. Logs go to stderr.
pub fn init_tracing(g: &GlobalArgs) {
    use tracing_subscriber::EnvFilter;
    let default = match (g.quiet, g.verbose) {
        (true, _) => "error",
        (false, 0) => "warn,panther_host=info",
        (false, 1) => "info,panther_host=debug",
        _ => "debug,panther_host=trace,wasmtime=info,cranelift=info",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(|| crate::text::LogWriter(std::io::stderr()))
        .with_target(false)
        .compact()
        .try_init();
}

/// Prints a diagnostic the way every subcommand does: miette's graphical report on stderr
/// (plain text when stderr is not a terminal or NO_COLOR is set).
pub fn print_error(e: &dyn miette::Diagnostic) {
    let handler = if std::env::var_os("NO_COLOR").is_some() || !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
        miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor())
    } else {
        miette::GraphicalReportHandler::new()
    };
    // Errors quote plugin text (plugin errors, guest stderr, violations naming plan fields).
    let clean = crate::text::Clean::new(e);
    let mut out = String::new();
    if handler.render_report(&mut out, &clean).is_err() {
        out = format!("error: {clean}\n");
    }
    eprint!("{out}");
}

/// Parses the command line and runs the command; `main` only calls this.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    init_tracing(&cli.global);
    let code: u8 = match cli.command {
        Command::Run(c) => run::run(&c, &cli.global),
        Command::Plan(c) => plan::run(&c, &cli.global),
        Command::Audit(c) => audit::run(&c, &cli.global),
        Command::Plugins(c) => plugins::run(&c, &cli.global),
        Command::Validate(c) => validate::run(&c, &cli.global),
        Command::Schema(c) => schema::run(&c),
        Command::Clean(c) => clean::run(&c, &cli.global),
        Command::Import(c) => import::run(&c, &cli.global),
        Command::Compare(c) => compare::run(&c),
        Command::Merge(c) => merge::run(&c, &cli.global),
        Command::LinkRelay { config } => match crate::link::serve::serve(&config) {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("link-relay: {e}");
                1
            }
        },
    };
    ExitCode::from(code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    // The exit codes `--help` gives are the README's: policy refusals are 2, for run and validate.
    #[test]
    fn help_and_readme_agree_on_exit_codes() {
        let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
        let readme = readme.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(readme.contains("`2` the run could not be carried out (experiment file, plugin, policy or executor error; also when the policy refuses any test's plans, even if the other tests ran)"), "README");
        assert!(readme
            .contains("`validate` plans every test as `run` would and exits `2` when the policy would refuse one"));
        let top = Cli::command().render_long_help().to_string();
        assert!(top.contains("2 the run could not be carried out (experiment file, plugin, policy or executor error; also when the policy refuses a test's plans"), "{top}");
        let mut cmd = Cli::command();
        let run = cmd.find_subcommand_mut("run").unwrap().render_long_help().to_string();
        assert!(run.contains("also when the policy refused any test's plans"), "{run}");
        let validate = cmd.find_subcommand_mut("validate").unwrap().render_long_help().to_string();
        assert!(validate.contains("2 it is not or a plan is refused"), "{validate}");
    }

    // Without a file, commands get the demo, named as built in; its output directory is
    // relative, so results land under the current directory wherever the binary is.
    #[test]
    fn no_file_means_the_embedded_demo() {
        let e = load_experiment(None).unwrap();
        assert_eq!((e.path.to_str(), e.name.as_str(), e.tests.len()), (Some(EMBEDDED_DEMO_NAME), "demo", 2));
        assert!(e.settings.output_dir.is_relative());
        assert_eq!(&*e.source, EMBEDDED_DEMO);
    }

    #[test]
    fn parses_plan_with_params() {
        let c = Cli::try_parse_from([
            "panther-host",
            "plan",
            "--plugin",
            "quic-go",
            "--role",
            "server",
            "--param",
            "source=debian",
        ])
        .unwrap();
        match c.command {
            Command::Plan(p) => {
                assert_eq!(p.plugin.as_deref(), Some("quic-go"));
                assert_eq!(p.params, vec!["source=debian".to_string()]);
            }
            _ => panic!("expected plan"),
        }
    }
}
