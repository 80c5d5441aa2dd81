//! The host's own vocabulary for what the contract (`wit/`) defines, in one place, so the
//! modules that use it spell it the same way. Starts with the plan's phases; the rest of the
//! vocabulary (directory names, display names of WIT enums) is to move here too.

use crate::plugin::types::{Command, Phases};

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
