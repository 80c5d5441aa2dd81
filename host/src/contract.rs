//! The host's own vocabulary for what the contract (`wit/`) defines, in one place, so the
//! modules that use it spell it the same way: the plan's phases ([`Phase`]), the service
//! directories plans and placements name ([`DirName`]), and how any WIT enum value is shown
//! to people ([`wit_name`]).

use crate::plugin::types::{Command, Phases};

/// The WIT spelling of a generated enum value (`EnvironmentKind::Localhost` → `localhost`,
/// `VerdictStatus::UnsupportedByIut` → `unsupported-by-iut`), for output people read. One
/// function serves every WIT enum, so none is spelled by hand.
pub fn wit_name<T: serde::Serialize>(v: &T) -> String {
    let camel = match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(other) => other.to_string(),
        Err(_) => return "?".into(),
    };
    let mut out = String::with_capacity(camel.len() + 4);
    for (i, c) in camel.chars().enumerate() {
        if c.is_ascii_uppercase() {
            if i > 0 {
                out.push('-');
            }
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// A directory the host makes for a service, as a placement's `mount.dir` and the plan's
/// `{{dirs.X}}` placeholders name it. The paths behind them are in `exec::ServiceDirs`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DirName {
    Logs,
    Www,
    Downloads,
    Certs,
    Qlog,
    Work,
    Cache,
    Tools,
}

impl DirName {
    pub const ALL: [DirName; 8] = [
        DirName::Logs,
        DirName::Www,
        DirName::Downloads,
        DirName::Certs,
        DirName::Qlog,
        DirName::Work,
        DirName::Cache,
        DirName::Tools,
    ];

    pub fn name(self) -> &'static str {
        match self {
            DirName::Logs => "logs",
            DirName::Www => "www",
            DirName::Downloads => "downloads",
            DirName::Certs => "certs",
            DirName::Qlog => "qlog",
            DirName::Work => "work",
            DirName::Cache => "cache",
            DirName::Tools => "tools",
        }
    }

    /// The directory a plugin named, if it is one.
    pub fn parse(name: &str) -> Option<DirName> {
        DirName::ALL.into_iter().find(|d| d.name() == name)
    }

    /// Every name, for messages that list what is allowed: `logs, www, …`.
    pub fn listed() -> String {
        DirName::ALL.map(DirName::name).join(", ")
    }
}

impl std::fmt::Display for DirName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The seed's six phases of a service plan, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Phase {
    PreCompile,
    Compile,
    PostCompile,
    PreRun,
    Run,
    PostRun,
}

impl Phase {
    pub const ALL: [Phase; 6] =
        [Phase::PreCompile, Phase::Compile, Phase::PostCompile, Phase::PreRun, Phase::Run, Phase::PostRun];
    /// The phases a compile cache entry stands for (run once per tools directory).
    pub const COMPILE: [Phase; 3] = [Phase::PreCompile, Phase::Compile, Phase::PostCompile];

    /// As events, logs directories and reports name it (`pre-compile`).
    pub fn name(self) -> &'static str {
        match self {
            Phase::PreCompile => "pre-compile",
            Phase::Compile => "compile",
            Phase::PostCompile => "post-compile",
            Phase::PreRun => "pre-run",
            Phase::Run => "run",
            Phase::PostRun => "post-run",
        }
    }

    /// As the plan's field is named in policy and render messages (`pre_compile`).
    pub fn field(self) -> &'static str {
        match self {
            Phase::PreCompile => "pre_compile",
            Phase::Compile => "compile",
            Phase::PostCompile => "post_compile",
            Phase::PreRun => "pre_run",
            Phase::Run => "run",
            Phase::PostRun => "post_run",
        }
    }

    /// This phase's commands in `phases`.
    pub fn of(self, phases: &Phases) -> &Vec<Command> {
        match self {
            Phase::PreCompile => &phases.pre_compile,
            Phase::Compile => &phases.compile,
            Phase::PostCompile => &phases.post_compile,
            Phase::PreRun => &phases.pre_run,
            Phase::Run => &phases.run,
            Phase::PostRun => &phases.post_run,
        }
    }
}

impl std::fmt::Display for Phase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plugin::types::{EnvironmentKind, VerdictStatus};

    #[test]
    fn wit_names_are_kebab_case() {
        assert_eq!(wit_name(&EnvironmentKind::Localhost), "localhost");
        assert_eq!(wit_name(&VerdictStatus::UnsupportedByIut), "unsupported-by-iut");
    }

    // Every directory name parses back to itself; anything else is not a directory.
    #[test]
    fn dir_names_round_trip() {
        for d in DirName::ALL {
            assert_eq!(DirName::parse(d.name()), Some(d));
        }
        assert_eq!(DirName::parse("../etc"), None);
        assert_eq!(DirName::listed(), "logs, www, downloads, certs, qlog, work, cache, tools");
    }

    // Both spellings of every phase, and each phase reads its own field.
    #[test]
    fn names_fields_and_commands() {
        let names: Vec<&str> = Phase::ALL.iter().map(|p| p.name()).collect();
        assert_eq!(names, ["pre-compile", "compile", "post-compile", "pre-run", "run", "post-run"]);
        for p in Phase::ALL {
            assert_eq!(p.field(), p.name().replace('-', "_"));
        }
        let mut plan = crate::plan::test_support::plan_running(&["srv"]);
        plan.phases.post_compile = plan.phases.run.clone();
        plan.phases.run.clear();
        let non_empty: Vec<Phase> = Phase::ALL.into_iter().filter(|p| !p.of(&plan.phases).is_empty()).collect();
        assert_eq!(non_empty, [Phase::PostCompile]);
    }
}
