//! Builders for the records a plan is made of: [`Command`], [`ServicePlan`] and [`ImageSpec`].
//!
//! They are inherent methods on the generated types, so a plan reads as a chain:
//!
//! ```ignore
//! ServicePlan::new()
//!     .port("quic", 4443, Transport::Udp)
//!     .ready(ReadinessCondition::PortBound("quic".into()), 30_000)
//!     .run(cmd(&["/opt/x/server", "-p", "{{ports.quic}}"]).env("SSLKEYLOGFILE", "{{files.keylog}}"))
//! ```
//!
//! Every text is a template the host renders later (see `types.wit`); nothing here runs or
//! checks anything.

use crate::{
    Artifact, ArtifactKind, BuildStep, Command, ImageSpec, Phases, Pin, Port, Readiness, ReadinessCondition, ServicePlan, SourceRef, Transport,
    BASE_IMAGE,
};

/// How long a server may take to become ready when the plugin does not say.
pub const DEFAULT_READY_MS: u64 = 30_000;

/// A critical command running `argv` (program first). Shorthand for [`Command::new`].
pub fn cmd(argv: &[&str]) -> Command {
    Command::new(argv)
}

impl Command {
    /// A critical command with no environment, the default working directory (`{{dirs.work}}`)
    /// and no timeout of its own.
    pub fn new(argv: &[&str]) -> Command {
        Command {
            argv: argv.iter().map(|s| s.to_string()).collect(),
            env: Vec::new(),
            cwd: None,
            timeout_ms: None,
            critical: true,
            description: String::new(),
        }
    }

    /// Appends arguments.
    pub fn args<S: AsRef<str>>(mut self, more: impl IntoIterator<Item = S>) -> Command {
        self.argv.extend(more.into_iter().map(|s| s.as_ref().to_string()));
        self
    }

    pub fn env(mut self, key: &str, value: &str) -> Command {
        self.env.push((key.to_string(), value.to_string()));
        self
    }

    pub fn cwd(mut self, dir: &str) -> Command {
        self.cwd = Some(dir.to_string());
        self
    }

    pub fn timeout(mut self, ms: u64) -> Command {
        self.timeout_ms = Some(ms);
        self
    }

    pub fn critical(mut self, critical: bool) -> Command {
        self.critical = critical;
        self
    }

    /// Why the command is there, for reports.
    pub fn describe(mut self, why: &str) -> Command {
        self.description = why.to_string();
        self
    }
}

impl Default for ServicePlan {
    fn default() -> Self {
        ServicePlan::new()
    }
}

impl ServicePlan {
    /// An empty plan that counts as ready as soon as its run command has started.
    pub fn new() -> ServicePlan {
        ServicePlan {
            phases: Phases {
                pre_compile: Vec::new(),
                compile: Vec::new(),
                post_compile: Vec::new(),
                pre_run: Vec::new(),
                run: Vec::new(),
                post_run: Vec::new(),
            },
            image: None,
            ports: Vec::new(),
            readiness: Readiness {
                condition: ReadinessCondition::Started,
                timeout_ms: DEFAULT_READY_MS,
            },
            artifacts: Vec::new(),
            capabilities: Vec::new(),
            files: Vec::new(),
        }
    }

    pub fn pre_compile(mut self, c: Command) -> ServicePlan {
        self.phases.pre_compile.push(c);
        self
    }

    /// A build command. The host caches the compile phase by content hash, so it must build
    /// into `{{dirs.tools}}` and depend on nothing else that changes between runs.
    pub fn compile(mut self, c: Command) -> ServicePlan {
        self.phases.compile.push(c);
        self
    }

    pub fn post_compile(mut self, c: Command) -> ServicePlan {
        self.phases.post_compile.push(c);
        self
    }

    pub fn pre_run(mut self, c: Command) -> ServicePlan {
        self.phases.pre_run.push(c);
        self
    }

    /// The last `run` command is the service itself.
    pub fn run(mut self, c: Command) -> ServicePlan {
        self.phases.run.push(c);
        self
    }

    pub fn post_run(mut self, c: Command) -> ServicePlan {
        self.phases.post_run.push(c);
        self
    }

    /// A port the service listens on; `number = 0` lets the host pick one.
    pub fn port(mut self, name: &str, number: u16, transport: Transport) -> ServicePlan {
        self.ports.push(Port {
            name: name.to_string(),
            number,
            transport,
        });
        self
    }

    pub fn ready(mut self, condition: ReadinessCondition, timeout_ms: u64) -> ServicePlan {
        self.readiness = Readiness { condition, timeout_ms };
        self
    }

    /// Ready once something listens on the named port (servers).
    pub fn ready_when_bound(self, port: &str) -> ServicePlan {
        self.ready(ReadinessCondition::PortBound(port.to_string()), DEFAULT_READY_MS)
    }

    pub fn artifact(mut self, kind: ArtifactKind, path: &str, required: bool) -> ServicePlan {
        self.artifacts.push(Artifact {
            kind,
            path: path.to_string(),
            required,
        });
        self
    }

    pub fn image(mut self, image: ImageSpec) -> ServicePlan {
        self.image = Some(image);
        self
    }

    /// A file the host writes before the run (path and content are templates).
    pub fn file(mut self, path: &str, content: &str) -> ServicePlan {
        self.files.push((path.to_string(), content.to_string()));
        self
    }

    pub fn capability(mut self, cap: &str) -> ServicePlan {
        self.capabilities.push(cap.to_string());
        self
    }
}

impl ImageSpec {
    /// An image built on [`BASE_IMAGE`] with nothing added yet.
    pub fn new(name: &str) -> ImageSpec {
        ImageSpec {
            name: name.to_string(),
            base: BASE_IMAGE.to_string(),
            packages: Vec::new(),
            sources: Vec::new(),
            steps: Vec::new(),
            build_args: Vec::new(),
            workdir: None,
        }
    }

    pub fn base(mut self, base: &str) -> ImageSpec {
        self.base = base.to_string();
        self
    }

    /// Debian packages installed with apt.
    pub fn packages(mut self, names: &[&str]) -> ImageSpec {
        self.packages.extend(names.iter().map(|s| s.to_string()));
        self
    }

    /// A source tree fetched at a pinned revision (a commit or tag, never a branch).
    pub fn source(mut self, name: &str, url: &str, rev: &str, dest: &str) -> ImageSpec {
        self.sources.push(SourceRef {
            name: name.into(),
            url: url.into(),
            rev: rev.into(),
            dest: dest.into(),
        });
        self
    }

    /// A pinned source tree fetched into `dest`.
    pub fn pinned(self, pin: &Pin, dest: &str) -> ImageSpec {
        self.source(pin.name, pin.url, pin.rev, dest)
    }

    /// A build step run in exec form in the image's current working directory.
    pub fn step(mut self, argv: &[&str]) -> ImageSpec {
        self.steps.push(BuildStep {
            argv: argv.iter().map(|s| s.to_string()).collect(),
            workdir: None,
            env: Vec::new(),
        });
        self
    }

    /// A build step run in `workdir`.
    pub fn step_in(mut self, workdir: &str, argv: &[&str]) -> ImageSpec {
        self.steps.push(BuildStep {
            argv: argv.iter().map(|s| s.to_string()).collect(),
            workdir: Some(workdir.to_string()),
            env: Vec::new(),
        });
        self
    }

    /// Build steps run one after the other in `workdir` (most builds are a few commands in one
    /// source tree).
    pub fn steps_in(self, workdir: &str, argvs: &[&[&str]]) -> ImageSpec {
        argvs.iter().fold(self, |image, argv| image.step_in(workdir, argv))
    }

    /// Adds an environment variable to the last step (panics without one: a plugin bug).
    pub fn with_env(mut self, key: &str, value: &str) -> ImageSpec {
        self.steps.last_mut().expect("with_env follows a step").env.push((key.into(), value.into()));
        self
    }

    pub fn build_arg(mut self, key: &str, value: &str) -> ImageSpec {
        self.build_args.push((key.into(), value.into()));
        self
    }

    pub fn workdir(mut self, dir: &str) -> ImageSpec {
        self.workdir = Some(dir.to_string());
        self
    }
}
