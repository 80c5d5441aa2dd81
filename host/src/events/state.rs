//! The lifecycle state machines of services, tests and experiments.
//!
//! Each machine is an enum with a `can_go_to` table; [`Machine`] holds a current state and
//! refuses transitions the table does not allow. An invalid transition is a bug in the host:
//! it is returned as an [`InvalidTransition`] (and logged by the sink), never silently applied.

use std::fmt;

/// Declares a machine's states once, each with the name events and messages use. The names
/// are the serde (snake_case) names, written out so `name` is a `&'static str`; a test checks
/// the two agree.
macro_rules! states {
    ($(#[$meta:meta])* pub enum $ty:ident { $($variant:ident => $name:literal,)+ }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
        #[serde(rename_all = "snake_case")]
        pub enum $ty {
            $($variant,)+
        }

        impl $ty {
            /// Every state, in declaration order.
            #[cfg(test)]
            const ALL: &'static [$ty] = &[$($ty::$variant,)+];

            fn state_name(self) -> &'static str {
                match self {
                    $($ty::$variant => $name,)+
                }
            }
        }
    };
}

states! {
    /// States of one service, after the seed's `ServiceStateManager`:
    /// CREATED → PREPARING → PREPARED → DEPLOYING → DEPLOYED → STARTING → RUNNING ↔ READY →
    /// STOPPING → STOPPED → (STARTING | DESTROYING) → DESTROYED. ERROR is reachable from every
    /// live state and leads to STOPPING, DESTROYING or DESTROYED. DESTROYED is reachable from every
    /// state but itself (teardown may come at any time) and is terminal.
    ///
    /// Two shortcuts the seed's machine lacks, for the local environment and for services that end
    /// on their own: PREPARED → STARTING (nothing to deploy) and RUNNING | READY → STOPPED (a
    /// client that exits was never asked to stop).
    pub enum ServiceState {
        Created => "created",
        Preparing => "preparing",
        Prepared => "prepared",
        Deploying => "deploying",
        Deployed => "deployed",
        Starting => "starting",
        Running => "running",
        Ready => "ready",
        Stopping => "stopping",
        Stopped => "stopped",
        Destroying => "destroying",
        Destroyed => "destroyed",
        Error => "error",
    }
}

states! {
    /// States of one test.
    ///
    /// CREATED → PREPARING → RUNNING → ASSESSING → FINISHED; SKIPPED only from CREATED;
    /// FAILED and INTERRUPTED from every non-terminal state. FINISHED, SKIPPED, FAILED and
    /// INTERRUPTED are terminal; a finished test's verdict says whether it passed.
    pub enum TestState {
        Created => "created",
        Preparing => "preparing",
        Running => "running",
        Assessing => "assessing",
        Finished => "finished",
        Skipped => "skipped",
        Failed => "failed",
        Interrupted => "interrupted",
    }
}

states! {
    /// States of an experiment, after the seed: CREATED → INITIALIZING → LOADING_PLUGINS →
    /// PLUGINS_LOADED → INITIALIZING_TESTS → TESTS_INITIALIZED → RUNNING → COLLECTING_RESULTS →
    /// COMPLETED; FAILED from every non-terminal state; FINISHED_EARLY from INITIALIZING … RUNNING.
    pub enum ExperimentState {
        Created => "created",
        Initializing => "initializing",
        LoadingPlugins => "loading_plugins",
        PluginsLoaded => "plugins_loaded",
        InitializingTests => "initializing_tests",
        TestsInitialized => "tests_initialized",
        Running => "running",
        CollectingResults => "collecting_results",
        Completed => "completed",
        Failed => "failed",
        FinishedEarly => "finished_early",
    }
}

/// A state of one of the machines.
pub trait State: Copy + Eq + fmt::Debug + serde::Serialize {
    /// The state a new entity starts in.
    const INITIAL: Self;
    /// Whether the machine allows `self → to`.
    fn can_go_to(self, to: Self) -> bool;
    /// Whether no transition leaves this state.
    fn is_terminal(self) -> bool;
    /// The name used in events and messages (`ready`, `finished_early`).
    fn name(self) -> &'static str;
}

impl State for ServiceState {
    const INITIAL: Self = ServiceState::Created;

    fn can_go_to(self, to: Self) -> bool {
        use ServiceState::*;
        if self == Destroyed {
            return false;
        }
        if to == Destroyed {
            return true;
        }
        let live = !matches!(self, Created | Stopped | Destroying | Error);
        match (self, to) {
            (_, Error) => live,
            (Created, Preparing)
            | (Preparing, Prepared)
            | (Prepared, Deploying)
            | (Deploying, Deployed)
            | (Deployed | Prepared, Starting)
            | (Starting, Running)
            | (Running, Ready)
            | (Ready, Running)
            | (Running | Ready | Starting, Stopping)
            | (Stopping | Running | Ready, Stopped)
            | (Stopped, Starting | Destroying)
            | (Error, Stopping | Destroying) => true,
            _ => false,
        }
    }

    fn is_terminal(self) -> bool {
        self == ServiceState::Destroyed
    }

    fn name(self) -> &'static str {
        self.state_name()
    }
}

impl State for TestState {
    const INITIAL: Self = TestState::Created;

    fn can_go_to(self, to: Self) -> bool {
        use TestState::*;
        if self.is_terminal() {
            return false;
        }
        matches!(
            (self, to),
            (Created, Preparing | Skipped)
                | (Preparing, Running)
                | (Running, Assessing)
                | (Assessing, Finished)
                | (_, Failed | Interrupted)
        )
    }

    fn is_terminal(self) -> bool {
        use TestState::*;
        matches!(self, Finished | Skipped | Failed | Interrupted)
    }

    fn name(self) -> &'static str {
        self.state_name()
    }
}

impl State for ExperimentState {
    const INITIAL: Self = ExperimentState::Created;

    fn can_go_to(self, to: Self) -> bool {
        use ExperimentState::*;
        if self.is_terminal() {
            return false;
        }
        matches!(
            (self, to),
            (_, Failed)
                | (
                    Initializing | LoadingPlugins | PluginsLoaded | InitializingTests | TestsInitialized | Running,
                    FinishedEarly,
                )
                | (Created, Initializing)
                | (Initializing, LoadingPlugins)
                | (LoadingPlugins, PluginsLoaded)
                | (PluginsLoaded, InitializingTests)
                | (InitializingTests, TestsInitialized)
                | (TestsInitialized, Running)
                | (Running, CollectingResults)
                | (CollectingResults, Completed)
        )
    }

    fn is_terminal(self) -> bool {
        matches!(self, ExperimentState::Completed | ExperimentState::Failed | ExperimentState::FinishedEarly)
    }

    fn name(self) -> &'static str {
        self.state_name()
    }
}

/// A transition the machine does not allow: a bug in whoever asked for it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, miette::Diagnostic)]
#[error("invalid {machine} transition for `{entity}`: {from} → {to}")]
#[diagnostic(
    code(panther::events::invalid_transition),
    help("this is a bug in panther-host; please report it with events.jsonl")
)]
pub struct InvalidTransition {
    pub machine: &'static str,
    pub entity: String,
    pub from: &'static str,
    pub to: &'static str,
}

/// One entity's current state.
#[derive(Debug, Clone)]
pub struct Machine<S: State> {
    state: S,
}

impl<S: State> Default for Machine<S> {
    fn default() -> Self {
        Machine { state: S::INITIAL }
    }
}

impl<S: State> Machine<S> {
    pub fn state(&self) -> S {
        self.state
    }

    /// Moves to `to`, returning the previous state.
    ///
    /// # Errors
    /// [`InvalidTransition`] when the table does not allow it; the state is left unchanged.
    pub fn go(&mut self, machine: &'static str, entity: &str, to: S) -> Result<S, InvalidTransition> {
        if !self.state.can_go_to(to) {
            return Err(InvalidTransition {
                machine,
                entity: entity.to_string(),
                from: self.state.name(),
                to: to.name(),
            });
        }
        Ok(std::mem::replace(&mut self.state, to))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn walk<S: State>(path: &[S]) -> Result<(), InvalidTransition> {
        let mut m = Machine::<S>::default();
        for s in path {
            m.go("test", "x", *s)?;
        }
        Ok(())
    }

    // Each state's name is its serde name, the one events.jsonl readers see.
    #[test]
    fn names_are_serde_names() {
        fn check<S: State>(all: &[S]) {
            for s in all {
                assert_eq!(serde_json::to_value(s).unwrap(), s.name());
            }
        }
        check(ServiceState::ALL);
        check(TestState::ALL);
        check(ExperimentState::ALL);
    }

    // The seed's happy path, a restart after STOPPED, and READY ↔ RUNNING are all valid.
    #[test]
    fn service_valid_paths() {
        use ServiceState::*;
        walk(&[
            Preparing, Prepared, Deploying, Deployed, Starting, Running, Ready, Running, Ready, Stopping, Stopped,
            Starting, Running, Stopping, Stopped, Destroying, Destroyed,
        ])
        .unwrap();
        walk(&[Preparing, Error, Stopping, Stopped, Destroyed]).unwrap();
        walk(&[Preparing, Prepared, Deploying, Deployed, Starting, Error, Destroying, Destroyed]).unwrap();
        // Teardown may destroy a service in any state.
        walk(&[Preparing, Destroyed]).unwrap();
        walk(&[Destroyed]).unwrap();
        // Localhost: no deployment step; a client that exits on its own.
        walk(&[Preparing, Prepared, Starting, Running, Ready, Stopped, Destroyed]).unwrap();
    }

    // Skipping a step, leaving DESTROYED and erroring from a dead state are bugs.
    #[test]
    fn service_invalid_transitions() {
        use ServiceState::*;
        let e = walk(&[Running]).unwrap_err();
        assert_eq!((e.from, e.to), ("created", "running"));
        assert!(walk(&[Preparing, Starting]).is_err());
        assert!(walk(&[Preparing, Prepared, Deploying, Starting]).is_err());
        assert!(walk(&[Destroyed, Created]).is_err());
        assert!(walk(&[Destroyed, Destroyed]).is_err());
        assert!(walk(&[Error]).is_err(), "CREATED is not live");
        assert!(walk(&[Preparing, Error, Error]).is_err());
        assert!(walk(&[Preparing, Prepared, Deploying, Deployed, Starting, Running, Stopping, Stopped, Ready]).is_err());
        let mut m = Machine::<ServiceState>::default();
        m.go("service", "s", Preparing).unwrap();
        let e = m.go("service", "t/s", Stopped).unwrap_err();
        assert_eq!(e.to_string(), "invalid service transition for `t/s`: preparing → stopped");
        assert_eq!(m.state(), Preparing, "a refused transition changes nothing");
    }

    #[test]
    fn test_machine() {
        use TestState::*;
        walk(&[Preparing, Running, Assessing, Finished]).unwrap();
        walk(&[Skipped]).unwrap();
        walk(&[Preparing, Running, Interrupted]).unwrap();
        walk(&[Preparing, Failed]).unwrap();
        assert!(walk(&[Running]).is_err());
        assert!(walk(&[Preparing, Skipped]).is_err());
        assert!(walk(&[Preparing, Running, Assessing, Finished, Failed]).is_err());
        assert!(walk(&[Failed, Interrupted]).is_err());
    }

    #[test]
    fn experiment_machine() {
        use ExperimentState::*;
        walk(&[
            Initializing,
            LoadingPlugins,
            PluginsLoaded,
            InitializingTests,
            TestsInitialized,
            Running,
            CollectingResults,
            Completed,
        ])
        .unwrap();
        walk(&[Initializing, LoadingPlugins, FinishedEarly]).unwrap();
        walk(&[Failed]).unwrap();
        walk(&[
            Initializing,
            LoadingPlugins,
            PluginsLoaded,
            InitializingTests,
            TestsInitialized,
            Running,
            CollectingResults,
            Failed,
        ])
        .unwrap();
        assert!(walk(&[Running]).is_err());
        assert!(walk(&[FinishedEarly]).is_err(), "not from CREATED");
        assert!(walk(&[
            Initializing,
            LoadingPlugins,
            PluginsLoaded,
            InitializingTests,
            TestsInitialized,
            Running,
            CollectingResults,
            FinishedEarly
        ])
        .is_err());
        assert!(walk(&[Failed, Completed]).is_err());
    }
}
