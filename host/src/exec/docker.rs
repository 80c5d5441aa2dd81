//! Docker executor: runs checked plans as containers through the Docker Engine API (bollard).
//!
//! Owns the whole container lifecycle — image build ([`image`]), network per test, create,
//! start, readiness, wait, stop, logs, inspect, remove — plus the hand-reproduction compose
//! file ([`compose`]). The test's packet capture is not here: the orchestrator runs
//! [`crate::exec::capture`] on the bridge [`DockerExecutor::bridge_of`] names. It never
//! shells out to the `docker` CLI, never pulls an image, and never decides what to run: the
//! plan says that; the deployment plan's [`Placement`] says where.
//!
//! How a service's phases map onto containers (see docs/DOCKER.md):
//! * image: built from the plan's `image-spec` (cached by content hash); no spec means the
//!   plain base image `panther-base:bookworm`;
//! * pre-compile, compile, post-compile, pre-run, the run phase's leading commands and
//!   post-run: one short-lived container each, in order, from the service's image with the
//!   same mounts and no network (they prepare files, they do not talk to peers);
//! * the run phase's last command: the service container itself — its `Cmd` is that argv,
//!   on the test's internal network, with the placement's aliases, mounts and environment.
//!
//! Everything made carries the labels `panther.run`, `panther.experiment`, `panther.test`,
//! `panther.service`, so [`DockerExecutor::teardown`] and `panther-host clean` find it.

pub mod compose;
pub mod image;
mod relay;

/// The Docker client crate, for callers that inspect what the executor made (tests, `clean`).
pub use bollard;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use bollard::models::{
    ContainerCreateBody, EndpointIpamConfig, EndpointSettings, HostConfig, Ipam, IpamConfig, NetworkCreateRequest,
    NetworkingConfig,
};
use bollard::query_parameters::{
    CreateContainerOptions, ListContainersOptions, ListNetworksOptions, LogsOptions, RemoveContainerOptions,
    StopContainerOptions, WaitContainerOptions,
};
use bollard::Docker;
use futures_util::StreamExt;
use tokio_util::sync::CancellationToken;

use crate::contract::{DirName, Phase};
use crate::events::{Entity, EventKind, EventSink};
use crate::exec::procnet::bound_sockets;
use crate::exec::{
    command_finished, phase_finished, readiness, CommandReport, ExecError, Executor, PhaseReport, ServiceExit,
    ServiceInstance, TeardownReport, TeardownStep,
};
use crate::plan::confine::Confinement;
use crate::plugin::types::{ArtifactKind, Command, Transport};
use crate::plugin::wit::latest::env;
use crate::run::subnets::Subnet;

/// Label naming the run; `panther-host clean` removes anything that has it.
pub const LABEL_RUN: &str = "panther.run";
/// Label naming one run directory (`<run id>-<hash of its path>`): runs of different
/// experiments started in the same second share a run id, and teardown must never touch
/// another run's containers.
pub const LABEL_RUN_KEY: &str = "panther.run-key";
pub const LABEL_EXPERIMENT: &str = "panther.experiment";
pub const LABEL_TEST: &str = "panther.test";
pub const LABEL_SERVICE: &str = "panther.service";
/// The PATH of every container; the plan's env is added to it, nothing else from the host.
const CONTAINER_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/// How often readiness is polled.
const POLL: Duration = Duration::from_millis(50);
/// Upper bound of one one-shot phase command without its own timeout.
const DEFAULT_COMMAND_TIMEOUT: Duration = Duration::from_secs(600);

/// What readiness polling sees of a container: its state from the daemon, its sockets in its
/// own network namespace (through its init process) and files through its mounts or its root.
struct ContainerProbe<'a> {
    exec: &'a DockerExecutor,
    svc: &'a ServiceInstance,
    rc: &'a RunningContainer,
    /// The container's init process, as of the last look.
    pid: Option<i64>,
    exit: Option<ServiceExit>,
}

impl readiness::Probe for ContainerProbe<'_> {
    async fn look(&mut self) -> Result<readiness::Look, ExecError> {
        let info = self
            .exec
            .docker
            .inspect_container(&self.rc.id, None::<bollard::query_parameters::InspectContainerOptions>)
            .await
            .map_err(|e| docker_err(format!("service `{}`: cannot inspect its container", self.svc.name), e))?;
        let st = info.state.unwrap_or_default();
        let running = st.running.unwrap_or(false);
        self.pid = st.pid.filter(|p| running && *p > 0);
        self.exit = (!running).then(|| exit_of_state(st.exit_code.map(|c| c as i32), self.rc.started.elapsed(), false));
        Ok(readiness::Look { started: true, running: true, exited: self.exit.clone() })
    }

    fn port_bound(&self, port: u16, transports: &[Transport]) -> bool {
        let Some(pid) = self.pid else { return false };
        let net = crate::exec::procnet::daemon_proc(pid).join("net");
        transports.iter().any(|t| !bound_sockets(&net, port, *t).is_empty())
    }

    fn file_exists(&self, path: &str) -> bool {
        match self.exec.to_host_path(self.svc, path) {
            Some(p) => p.exists(),
            None => self.pid.is_some_and(|pid| {
                crate::exec::procnet::daemon_proc(pid).join("root").join(path.trim_start_matches('/')).exists()
            }),
        }
    }

    fn logs(&self) -> Option<(PathBuf, PathBuf)> {
        Some((self.svc.dirs.logs.join("stdout.log"), self.svc.dirs.logs.join("stderr.log")))
    }

    async fn pause(&mut self, poll: Duration) {
        tokio::time::sleep(poll).await;
    }
}

/// A container's exit as the daemon reports it. When the host stopped it, docker-init's 128+N
/// is the signal N it sent; a program that ends by itself with such a code keeps it.
fn exit_of_state(code: Option<i32>, duration: Duration, stopped_by_host: bool) -> ServiceExit {
    let mut exit = ServiceExit { exit_code: code, stopped_by_host, duration, ..Default::default() };
    if let Some(c) = exit.exit_code.filter(|c| stopped_by_host && (129..=159).contains(c)) {
        exit.exit_code = None;
        exit.signal = Some(c - 128);
    }
    exit
}

/// A started service container.
#[derive(Debug)]
pub struct RunningContainer {
    pub id: String,
    pub name: String,
    started: Instant,
    /// Copies the container's stdout/stderr into `<logs>/stdout.log` and `stderr.log`.
    log_task: Option<tokio::task::JoinHandle<()>>,
    /// Set once the container's end was observed, so `wait` then `stop` agree.
    exit: Option<ServiceExit>,
}

#[derive(Debug, Clone)]
struct NetInfo {
    id: String,
    name: String,
    subnet: Option<Subnet>,
    /// Dual-stack: the subnet's IPv6 twin too, and each service the twin of its address.
    ipv6: bool,
}

/// What the executor remembers about a prepared service, for the compose file and for stop.
#[derive(Debug, Clone)]
struct Prepared {
    image: String,
    container_id: String,
}

#[derive(Default)]
struct State {
    /// (test, network name in the plan) → the Docker network.
    networks: BTreeMap<(String, String), NetInfo>,
    /// (test, service) → image and container.
    prepared: BTreeMap<(String, String), Prepared>,
    /// Services of each test in prepare order, for the compose file.
    compose: BTreeMap<String, Vec<compose::ComposeService>>,
    /// Link relay containers running now.
    relays: Vec<relay::StartedRelay>,
}

/// Runs a test's services as containers. One per run; see the module docs.
pub struct DockerExecutor {
    docker: Docker,
    run_dir: PathBuf,
    run_id: String,
    /// Unique per run directory; names and teardown use it (see [`LABEL_RUN_KEY`]).
    run_key: String,
    experiment: String,
    events: EventSink,
    state: Mutex<State>,
    /// Every test this executor labelled something for. Teardown removes only what carries
    /// one of them: tests of one run that run at once (`--jobs`) share the run key.
    tests: Mutex<std::collections::BTreeSet<String>>,
}

impl std::fmt::Debug for DockerExecutor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DockerExecutor")
            .field("run_id", &self.run_id)
            .field("run_dir", &self.run_dir)
            .finish_non_exhaustive()
    }
}

fn docker_err(what: impl std::fmt::Display, source: bollard::errors::Error) -> ExecError {
    ExecError::Daemon { what: what.to_string(), source }
}

/// A mount as the Engine API and the compose file both write it: `host:target[:ro]`.
fn bind_spec((host, target, read_only): &(PathBuf, String, bool)) -> String {
    let ro = if *read_only { ":ro" } else { "" };
    format!("{}:{target}{ro}", host.display())
}

/// Removal of a container whether it runs or not, with its anonymous volumes, so what the
/// executor made leaves nothing behind.
fn force_remove() -> Option<RemoveContainerOptions> {
    Some(RemoveContainerOptions { force: true, v: true, ..Default::default() })
}

/// Docker object names allow `[a-zA-Z0-9][a-zA-Z0-9_.-]`; anything else becomes `-`.
fn sanitize(s: &str) -> String {
    let mut out: String =
        s.chars().map(|c| if c.is_ascii_alphanumeric() || "_.-".contains(c) { c } else { '-' }).collect();
    if !out.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        out.insert(0, 'x');
    }
    out
}

/// Connects to the daemon named by `DOCKER_HOST` (or the local socket) and agrees on an API
/// version (the engine here speaks 1.41, older than bollard's default).
///
/// # Errors
/// No daemon answers; the message says where it looked and how to fix it.
pub async fn connect_daemon() -> Result<Docker, ExecError> {
    let where_ = std::env::var("DOCKER_HOST").unwrap_or_else(|_| "unix:///var/run/docker.sock".into());
    let unreachable = |detail: String| ExecError::NoDaemon { at: where_.clone(), detail };
    let docker =
        Docker::connect_with_defaults().map_err(|e| unreachable(e.to_string()))?.with_timeout(Duration::from_secs(600));
    let docker = match tokio::time::timeout(Duration::from_secs(5), docker.negotiate_version()).await {
        Ok(Ok(d)) => d,
        Ok(Err(e)) => return Err(unreachable(e.to_string())),
        Err(_) => return Err(unreachable("it did not answer within 5 s".into())),
    };
    docker.ping().await.map_err(|e| unreachable(e.to_string()))?;
    Ok(docker)
}

/// The IPv4 subnets of every network the daemon has, so a test's own can avoid them.
///
/// # Errors
/// The daemon cannot be reached or does not list its networks.
pub async fn subnets_in_use(docker: &Docker) -> Result<Vec<Subnet>, ExecError> {
    let nets = docker
        .list_networks(None::<ListNetworksOptions>)
        .await
        .map_err(|e| docker_err("cannot list the Docker networks (to choose a free subnet)", e))?;
    Ok(nets
        .iter()
        .filter_map(|n| n.ipam.as_ref()?.config.as_ref())
        .flatten()
        .filter_map(|c| Subnet::parse(c.subnet.as_deref()?))
        .collect())
}

/// The [`LABEL_RUN_KEY`] of the run in `run_dir`: its id and a hash of the directory's path.
pub fn run_key(run_dir: &Path, run_id: &str) -> String {
    let path = std::fs::canonicalize(run_dir).unwrap_or_else(|_| run_dir.to_path_buf());
    let digest = <sha2::Sha256 as sha2::Digest>::digest(path.as_os_str().as_encoded_bytes());
    format!("{run_id}-{}", &hex::encode(digest)[..8])
}

impl DockerExecutor {
    /// Connects to the daemon for one run. Nothing is created yet.
    ///
    /// # Errors
    /// [`ExecError::NoDaemon`] when no daemon is reachable, saying how to start one.
    pub async fn connect(run_dir: PathBuf, run_id: &str, events: EventSink) -> Result<Self, ExecError> {
        let docker = connect_daemon().await?;
        let experiment =
            run_dir.parent().and_then(|p| p.file_name()).map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let run_key = run_key(&run_dir, run_id);
        Ok(DockerExecutor {
            docker,
            run_dir,
            run_key,
            run_id: run_id.to_string(),
            experiment,
            events,
            state: Mutex::new(State::default()),
            tests: Mutex::default(),
        })
    }

    /// The bollard client, for tests and `clean`.
    pub fn client(&self) -> &Docker {
        &self.docker
    }

    /// One label filter per test this executor served: its run key and the test.
    fn own_filters(&self) -> Vec<Vec<String>> {
        let tests = self.tests.lock().unwrap_or_else(|e| e.into_inner()).clone();
        tests
            .into_iter()
            .map(|t| vec![format!("{LABEL_RUN_KEY}={}", self.run_key), format!("{LABEL_TEST}={t}")])
            .collect()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The service container's name: `prepare` creates it under this name and `start` reports
    /// it, so both must derive it the same way.
    fn container_name(&self, svc: &ServiceInstance) -> String {
        sanitize(&format!("panther-{}-{}-{}", self.run_key, svc.test, svc.name))
    }

    /// Creates a container called `name` and returns its id; `what` says which in the error.
    async fn create_named(&self, name: &str, body: ContainerCreateBody, what: String) -> Result<String, ExecError> {
        let options = CreateContainerOptions { name: Some(name.to_string()), ..Default::default() };
        self.docker
            .create_container(Some(options), body)
            .await
            .map(|created| created.id)
            .map_err(|e| docker_err(what, e))
    }

    /// Starts a created container; `what` says which in the error.
    async fn start_id(&self, id: &str, what: String) -> Result<(), ExecError> {
        self.docker
            .start_container(id, None::<bollard::query_parameters::StartContainerOptions>)
            .await
            .map_err(|e| docker_err(what, e))
    }

    fn labels(&self, test: &str, service: Option<&str>) -> HashMap<String, String> {
        self.tests.lock().unwrap_or_else(|e| e.into_inner()).insert(test.to_string());
        let mut l = HashMap::from([
            (LABEL_RUN.to_string(), self.run_id.clone()),
            (LABEL_RUN_KEY.to_string(), self.run_key.clone()),
            (LABEL_EXPERIMENT.to_string(), self.experiment.clone()),
            (LABEL_TEST.to_string(), test.to_string()),
        ]);
        if let Some(s) = service {
            l.insert(LABEL_SERVICE.to_string(), s.to_string());
        }
        l
    }

    /// Creates the test's network. Always internal (no NAT, no route out) whatever the plan
    /// says, with a run-scoped name, so tests run side by side, and the subnet the host chose
    /// for it when it planned the test (services get fixed addresses in it; see
    /// [`crate::run::subnets`]). Without a subnet, Docker picks one. `dual_stack` (the `ipv6`
    /// test case) adds the subnet's IPv6 twin, a unique-local /64.
    ///
    /// # Errors
    /// The daemon refuses (for instance, another network took the subnet meanwhile).
    pub async fn create_network(
        &self,
        test: &str,
        net: &env::Network,
        subnet: Option<Subnet>,
        dual_stack: bool,
    ) -> Result<String, ExecError> {
        if let Some(n) = self.state().networks.get(&(test.to_string(), net.name.clone())) {
            return Ok(n.name.clone());
        }
        if !net.internal {
            tracing::warn!(test, network = %net.name, "the plan asked for a non-internal network; the Docker executor only makes internal ones");
        }
        let name = sanitize(&format!("panther-{}-{}-{}", self.run_key, test, net.name));
        // The twin needs the host's subnet; without one there is no IPv6 to mirror.
        let ipv6 = dual_stack && subnet.is_some();
        let req = NetworkCreateRequest {
            name: name.clone(),
            driver: Some("bridge".into()),
            internal: Some(true),
            attachable: Some(false),
            enable_ipv6: Some(ipv6),
            labels: Some(self.labels(test, None)),
            ipam: subnet.map(|s| {
                let mut config = vec![IpamConfig {
                    subnet: Some(s.to_string()),
                    gateway: Some(s.gateway().to_string()),
                    ..Default::default()
                }];
                if ipv6 {
                    config.push(IpamConfig {
                        subnet: Some(s.ipv6_twin()),
                        gateway: Some(s.ipv6_gateway().to_string()),
                        ..Default::default()
                    });
                }
                Ipam { config: Some(config), ..Default::default() }
            }),
            ..Default::default()
        };
        let resp = self.docker.create_network(req).await.map_err(|e| {
            // Docker's words for a subnet another network holds ("Pool overlaps with other
            // one on this address space").
            if let Some(s) = subnet.filter(|_| e.to_string().to_lowercase().contains("overlap")) {
                return ExecError::SubnetTaken { test: test.to_string(), subnet: s, message: e.to_string() };
            }
            let what = match subnet {
                Some(s) => format!(
                    "test `{test}`: cannot create network `{name}` on subnet {s} (chosen free when the test was planned; \
                     a network made since then may hold it: run again)"
                ),
                None => format!("test `{test}`: cannot create network `{name}`"),
            };
            docker_err(what, e)
        })?;
        let info = NetInfo { id: resp.id, name: name.clone(), subnet, ipv6 };
        self.events.note(
            Entity::test(test),
            format!(
                "docker network {} ({}) created, internal{}{}",
                info.name,
                &info.id[..12.min(info.id.len())],
                subnet.map(|s| format!(", subnet {s}")).unwrap_or_default(),
                subnet.filter(|_| ipv6).map(|s| format!(" and {}", s.ipv6_twin())).unwrap_or_default()
            ),
        );
        self.state().networks.insert((test.to_string(), net.name.clone()), info);
        Ok(name)
    }

    /// The Linux bridge of a test's network (`br-<id[:12]>`), where captures listen.
    pub fn bridge_of(&self, test: &str, network: &str) -> Option<String> {
        self.state().networks.get(&(test.to_string(), network.to_string())).map(|n| format!("br-{}", &n.id[..12]))
    }

    fn placement<'a>(&self, svc: &'a ServiceInstance) -> Result<&'a env::Placement, ExecError> {
        svc.placement.as_ref().ok_or_else(|| {
            ExecError::Placement {
                service: svc.name.clone(),
                problem: format!(
                    "it has no placement in test `{}`; the Docker executor needs the deployment plan of an environment plugin (docker-compose)",
                    svc.test
                ),
            }
        })
    }

    /// The host directory behind one of the placement's `dir` names. Only directories under
    /// the run directory may be bind-mounted.
    fn host_dir(&self, svc: &ServiceInstance, dir: &str) -> Result<PathBuf, ExecError> {
        let p = DirName::parse(dir).map(|d| svc.dirs.get(d)).ok_or_else(|| ExecError::Placement {
            service: svc.name.clone(),
            problem: format!("mount of unknown directory `{dir}`; known: {}", DirName::listed()),
        })?;
        // The same confinement the policy and the local executor use: symlinks followed, so a
        // directory that is a link out of the run is refused like a path outside it.
        Confinement::new([&self.run_dir]).check(p, &self.run_dir).map_err(|why| {
            ExecError::Placement {
                service: svc.name.clone(),
                problem: format!("mount `{dir}` is {} which {why}, outside the run directory {}; the Docker executor bind-mounts only run directories \
                 (put build caches into the image spec instead)", p.display(),
                self.run_dir.display()),
            }
        })
    }

    /// `host:target[:ro]` binds of the placement, host directories created first.
    fn binds(&self, svc: &ServiceInstance) -> Result<Vec<(PathBuf, String, bool)>, ExecError> {
        let mut out = Vec::new();
        for m in &self.placement(svc)?.mounts {
            let host = self.host_dir(svc, &m.dir)?;
            std::fs::create_dir_all(&host)
                .map_err(|e| ExecError::Io(format!("cannot create {}: {e}", host.display())))?;
            let target = m.target.clone().unwrap_or_else(|| host.to_string_lossy().into_owned());
            if !target.starts_with('/') {
                return Err(ExecError::Placement {
                    service: svc.name.clone(),
                    problem: format!("mount target `{target}` of `{}` is not absolute", m.dir),
                });
            }
            out.push((host, target, m.read_only));
        }
        Ok(out)
    }

    /// A container path → the host path behind it, through the longest matching mount.
    fn to_host_path(&self, svc: &ServiceInstance, container_path: &str) -> Option<PathBuf> {
        let binds = self.binds(svc).ok()?;
        binds
            .iter()
            .filter_map(|(host, target, _)| {
                let rest = Path::new(container_path).strip_prefix(target).ok()?;
                Some((target.len(), host.join(rest)))
            })
            .max_by_key(|(l, _)| *l)
            .map(|(_, p)| p)
    }

    fn env_of(&self, svc: &ServiceInstance, cmd: &Command) -> Vec<String> {
        let mut env: BTreeMap<String, String> = BTreeMap::from([("PATH".to_string(), CONTAINER_PATH.to_string())]);
        for (k, v) in svc.extra_env.iter().chain(svc.placement.iter().flat_map(|p| p.env.iter())).chain(cmd.env.iter())
        {
            env.insert(k.clone(), v.clone());
        }
        env.into_iter().map(|(k, v)| format!("{k}={v}")).collect()
    }

    fn image_of(&self, svc: &ServiceInstance) -> Result<String, ExecError> {
        self.state()
            .prepared
            .get(&(svc.test.clone(), svc.name.clone()))
            .map(|p| p.image.clone())
            .ok_or_else(|| ExecError::OutOfOrder { service: svc.name.clone(), step: "a phase ran" })
    }

    /// The last command of the run phase: the service itself.
    fn run_command(svc: &ServiceInstance) -> Result<&Command, ExecError> {
        svc.plan.plan().phases.run.last().ok_or_else(|| ExecError::Placement {
            service: svc.name.clone(),
            problem: "the plan's run phase is empty; it needs the command that is the service".into(),
        })
    }

    /// Writes the plan's `files` through the mounts.
    fn write_files(&self, svc: &ServiceInstance) -> Result<(), ExecError> {
        for (path, content) in &svc.plan.plan().files {
            let host = if Path::new(path).starts_with(&self.run_dir) {
                PathBuf::from(path)
            } else {
                self.to_host_path(svc, path).ok_or_else(|| {
                    ExecError::Placement {
                        service: svc.name.clone(),
                        problem: format!("plan file `{path}` is not under any mount of its placement; the host can only write files into mounted directories"),
                    }
                })?
            };
            if let Some(parent) = host.parent() {
                std::fs::create_dir_all(parent)
                    .map_err(|e| ExecError::Io(format!("cannot create {}: {e}", parent.display())))?;
            }
            std::fs::write(&host, content)
                .map_err(|e| ExecError::Io(format!("cannot write {}: {e}", host.display())))?;
        }
        Ok(())
    }

    fn update_compose(
        &self,
        svc: &ServiceInstance,
        tag: &str,
        binds: &[(PathBuf, String, bool)],
        run: &Command,
    ) -> Result<(), ExecError> {
        let placement = self.placement(svc)?;
        let entry = compose::ComposeService {
            name: svc.name.clone(),
            image: tag.to_string(),
            hostname: sanitize(&placement.host),
            command: run.argv.clone(),
            working_dir: run.cwd.clone(),
            environment: self
                .env_of(svc, run)
                .into_iter()
                .filter_map(|kv| kv.split_once('=').map(|(k, v)| (k.to_string(), v.to_string())))
                .collect(),
            volumes: binds.to_vec(),
            cap_add: svc.plan.plan().capabilities.clone(),
            networks: placement.networks.iter().map(|n| (n.clone(), svc.ips.get(n).cloned())).collect(),
            aliases: placement.aliases.clone(),
            extra_hosts: extra_hosts(svc).unwrap_or_default(),
            depends_on: svc.after.clone(),
            labels: self.labels(&svc.test, Some(&svc.name)).into_iter().collect(),
        };
        let file = {
            let mut st = self.state();
            let list = st.compose.entry(svc.test.clone()).or_default();
            list.retain(|s| s.name != svc.name);
            list.push(entry);
            let nets: Vec<(String, Option<Subnet>, bool)> = st
                .networks
                .iter()
                .filter(|((t, _), _)| t == &svc.test)
                .map(|((_, n), info)| (n.clone(), info.subnet, info.ipv6))
                .collect();
            compose::render(
                &svc.test,
                &self.run_id,
                &nets,
                &self.labels(&svc.test, None).into_iter().collect(),
                st.compose.get(&svc.test).map(Vec::as_slice).unwrap_or(&[]),
            )
        };
        let test_dir = svc.dirs.root.parent().unwrap_or(&svc.dirs.root);
        let path = test_dir.join("docker-compose.yml");
        std::fs::write(&path, file).map_err(|e| ExecError::Io(format!("cannot write {}: {e}", path.display())))
    }

    /// Runs each command of a phase as its own short-lived container (same image and mounts,
    /// no network), in order. A failing critical command fails the phase.
    async fn run_phase(&self, svc: &ServiceInstance, phase: &str, cmds: &[Command]) -> Result<PhaseReport, ExecError> {
        let mut report = PhaseReport::empty(phase);
        if cmds.is_empty() {
            return Ok(report);
        }
        let entity = Entity::service(&svc.test, &svc.name);
        self.events.emit(entity.clone(), EventKind::PhaseStarted { phase: phase.into(), commands: cmds.len() });
        let t0 = Instant::now();
        let mut ok = true;
        for (i, cmd) in cmds.iter().enumerate() {
            let r = self.one_shot(svc, phase, i, cmd).await?;
            let failed = r.exit.exit_code != Some(0);
            let critical = cmd.critical;
            let log = r.stderr.display().to_string();
            let reason =
                if r.exit.timed_out { "timed out".to_string() } else { format!("exit code {:?}", r.exit.exit_code) };
            report.commands.push(r);
            if failed && critical {
                ok = false;
                self.events.emit(entity.clone(), phase_finished(phase, ok, false, t0.elapsed()));
                return Err(ExecError::CommandFailed {
                    service: svc.name.clone(),
                    phase: phase.into(),
                    argv: cmd.argv.join(" "),
                    reason,
                    log,
                });
            }
        }
        self.events.emit(entity, phase_finished(phase, ok, false, t0.elapsed()));
        Ok(report)
    }

    /// The Docker network that test `test` calls `name`; `service` (a service or a relay)
    /// names who needs it in the error.
    fn network(&self, test: &str, name: &str, service: &str) -> Result<NetInfo, ExecError> {
        self.state().networks.get(&(test.to_string(), name.to_string())).cloned().ok_or_else(|| ExecError::Placement {
            service: service.to_string(),
            problem: format!(
                "network `{name}` of its placement was not created; call create_network for test `{test}` first"
            ),
        })
    }

    /// The service's endpoints on its placement's networks (fixed address, its name, host and
    /// aliases), and the first network's Docker name for `network_mode`.
    fn endpoints(
        &self,
        svc: &ServiceInstance,
        placement: &env::Placement,
    ) -> Result<(Option<String>, HashMap<String, EndpointSettings>), ExecError> {
        let mut endpoints = HashMap::new();
        let mut first_net = None;
        for n in &placement.networks {
            let info = self.network(&svc.test, n, &svc.name)?;
            first_net.get_or_insert(info.name.clone());
            let mut aliases = vec![svc.name.clone()];
            aliases.extend(placement.aliases.iter().cloned());
            if placement.host != svc.name {
                aliases.push(placement.host.clone());
            }
            aliases.dedup();
            let ipam_config = svc.ips.get(n).map(|ip| EndpointIpamConfig {
                ipv4_address: Some(ip.clone()),
                ipv6_address: ip
                    .parse()
                    .ok()
                    .filter(|_| info.ipv6)
                    .map(|v4| crate::run::subnets::ipv6_twin(v4).to_string()),
                ..Default::default()
            });
            endpoints.insert(
                info.name.clone(),
                EndpointSettings { aliases: Some(aliases), ipam_config, ..Default::default() },
            );
        }
        Ok((first_net, endpoints))
    }

    async fn one_shot(
        &self,
        svc: &ServiceInstance,
        phase: &str,
        index: usize,
        cmd: &Command,
    ) -> Result<CommandReport, ExecError> {
        if cmd.argv.is_empty() {
            return Err(ExecError::Placement {
                service: svc.name.clone(),
                problem: format!("command {index} of phase {phase} has an empty argv"),
            });
        }
        let image = self.image_of(svc)?;
        let binds = self.binds(svc)?;
        // The run phase's leading commands are the service's own work (a client's first
        // connections): they run as the service, on its network with its address and names;
        // other phases have no network.
        let (network_mode, endpoints) = if phase == "run" {
            let (first, endpoints) = self.endpoints(svc, self.placement(svc)?)?;
            (first.unwrap_or_else(|| "none".into()), Some(endpoints))
        } else {
            ("none".to_string(), None)
        };
        let stdout = svc.dirs.logs.join(format!("{phase}-{index}.stdout.log"));
        let stderr = svc.dirs.logs.join(format!("{phase}-{index}.stderr.log"));
        let body = ContainerCreateBody {
            image: Some(image),
            cmd: Some(cmd.argv.clone()),
            entrypoint: Some(vec![]),
            env: Some(self.env_of(svc, cmd)),
            working_dir: cmd.cwd.clone(),
            labels: Some(self.labels(&svc.test, Some(&svc.name))),
            host_config: Some(HostConfig {
                binds: Some(binds.iter().map(bind_spec).collect()),
                network_mode: Some(network_mode),
                extra_hosts: extra_hosts(svc),
                init: Some(true),
                ..Default::default()
            }),
            networking_config: endpoints.map(|e| NetworkingConfig { endpoints_config: Some(e) }),
            ..Default::default()
        };
        let name = sanitize(&format!("panther-{}-{}-{}-{phase}-{index}", self.run_key, svc.test, svc.name));
        let id =
            self.create_named(&name, body, format!("service `{}`: cannot create {phase} container", svc.name)).await?;
        let entity = Entity::service(&svc.test, &svc.name);
        self.events.emit(
            entity.clone(),
            EventKind::CommandStarted { phase: phase.into(), index, argv: cmd.argv.clone(), pid: None },
        );
        let t0 = Instant::now();
        self.start_id(&id, format!("service `{}`: cannot start {phase} container", svc.name)).await?;
        let logs = tokio::spawn(copy_logs(self.docker.clone(), id.clone(), stdout.clone(), stderr.clone(), None));
        let limit = cmd.timeout_ms.map(Duration::from_millis).unwrap_or(DEFAULT_COMMAND_TIMEOUT);
        let mut exit = match tokio::time::timeout(limit, wait_exit(&self.docker, &id)).await {
            Ok(code) => ServiceExit { exit_code: code, ..Default::default() },
            Err(_) => {
                let _ = self.docker.kill_container(&id, None::<bollard::query_parameters::KillContainerOptions>).await;
                ServiceExit { timed_out: true, signal: Some(9), ..Default::default() }
            }
        };
        exit.duration = t0.elapsed();
        let _ = tokio::time::timeout(Duration::from_secs(5), logs).await;
        let _ = self.docker.remove_container(&id, force_remove()).await;
        self.events.emit(entity, command_finished(phase, index, &exit));
        Ok(CommandReport { argv: cmd.argv.clone(), exit, critical: cmd.critical, stdout, stderr })
    }

    async fn stop_container(&self, svc: &ServiceInstance, rc: &RunningContainer, grace: Duration) -> ServiceExit {
        let info = self
            .docker
            .inspect_container(&rc.id, None::<bollard::query_parameters::InspectContainerOptions>)
            .await
            .ok();
        let st = info.and_then(|i| i.state).unwrap_or_default();
        if !st.running.unwrap_or(false) {
            return exit_of_state(st.exit_code.map(|c| c as i32), rc.started.elapsed(), false);
        }
        let t = grace.as_secs_f64().ceil() as i32;
        if let Err(e) =
            self.docker.stop_container(&rc.id, Some(StopContainerOptions { t: Some(t), signal: None })).await
        {
            tracing::warn!(service = %svc.name, "docker stop failed: {e}");
        }
        exit_of_state(wait_exit(&self.docker, &rc.id).await, rc.started.elapsed(), true)
    }

    async fn finish(&self, svc: &ServiceInstance, rc: &mut RunningContainer, exit: ServiceExit) -> ServiceExit {
        if let Some(t) = rc.log_task.take() {
            let _ = tokio::time::timeout(Duration::from_secs(5), t).await;
        }
        self.events.emit(
            Entity::service(&svc.test, &svc.name),
            command_finished("run", svc.plan.plan().phases.run.len().saturating_sub(1), &exit),
        );
        rc.exit = Some(exit.clone());
        exit
    }

    /// Copies a path out of a (stopped) container into `<logs>/artifacts/`.
    async fn copy_out(&self, id: &str, svc: &ServiceInstance, path: &str) -> Option<PathBuf> {
        let mut stream = self.docker.download_from_container(
            id,
            Some(bollard::query_parameters::DownloadFromContainerOptions { path: path.to_string() }),
        );
        let mut buf = Vec::new();
        while let Some(chunk) = stream.next().await {
            buf.extend_from_slice(&chunk.ok()?);
        }
        let dest = svc.dirs.logs.join("artifacts");
        std::fs::create_dir_all(&dest).ok()?;
        tar::Archive::new(buf.as_slice()).unpack(&dest).ok()?;
        let name = Path::new(path).file_name()?;
        Some(dest.join(name))
    }
}

/// The service's host-file entries as Docker takes them (`name:address`).
fn extra_hosts(svc: &ServiceInstance) -> Option<Vec<String>> {
    (!svc.hosts.is_empty()).then(|| svc.hosts.iter().map(|(name, addr)| format!("{name}:{addr}")).collect())
}

impl Executor for DockerExecutor {
    type Running = RunningContainer;

    /// The test's networks, internal, on the subnets chosen when it was planned.
    async fn setup_networks(
        &self,
        test: &str,
        d: &env::DeploymentPlan,
        subnets: &crate::run::subnets::TestSubnets,
        dual_stack: bool,
    ) -> Result<(), ExecError> {
        for n in &d.networks {
            self.create_network(test, n, subnets.get(&n.name).copied(), dual_stack).await?;
        }
        Ok(())
    }

    async fn start_relays(&self, test: &str, relays: &[crate::exec::RelayContainer]) -> Result<(), ExecError> {
        self.start_relay_containers(test, relays).await
    }

    /// The Linux bridge of the test's first network; with link relays, the bridge of the
    /// servers' side, so the capture is what the servers saw after the link, as the capture
    /// of a localhost test over a link is (the relays' own captures hold both sides).
    fn capture_interface(&self, test: &str, d: &env::DeploymentPlan) -> Option<String> {
        d.capture.as_ref()?;
        if d.relays.is_empty() {
            return d.networks.first().and_then(|n| self.bridge_of(test, &n.name));
        }
        let bridges: Vec<String> = d
            .networks
            .iter()
            .filter(|n| d.relays.iter().any(|r| r.server_network == n.name))
            .filter_map(|n| self.bridge_of(test, &n.name))
            .collect();
        (!bridges.is_empty()).then(|| bridges.join(","))
    }

    fn service_logs(&self, svc: &ServiceInstance) -> (PathBuf, PathBuf) {
        (svc.dirs.logs.join("stdout.log"), svc.dirs.logs.join("stderr.log"))
    }

    /// Builds the image (cached by spec hash), runs the compile phases as one-shot containers
    /// and creates the service container (not started).
    ///
    /// # Errors
    /// Image build failure (with the build log's tail), a failing critical compile command,
    /// a mount outside the run directory, or a daemon error.
    async fn prepare(&self, svc: &ServiceInstance) -> Result<Vec<PhaseReport>, ExecError> {
        let placement = self.placement(svc)?.clone();
        // Refuse bad mounts before spending minutes on an image build.
        self.binds(svc)?;
        for d in [&svc.dirs.root, &svc.dirs.logs] {
            std::fs::create_dir_all(d).map_err(|e| ExecError::Io(format!("cannot create {}: {e}", d.display())))?;
        }
        let plan = svc.plan.plan();
        if plan.phases.run.is_empty() && plan.image.is_none() {
            // Nothing to run (a tester that only judges, like `interop`): no image, no
            // container; the drive starts nothing for it either.
            return Ok(vec![]);
        }
        let mut reports = Vec::new();
        let t0 = Instant::now();
        let entity = Entity::service(&svc.test, &svc.name);
        self.events.emit(entity.clone(), EventKind::PhaseStarted { phase: "image".into(), commands: 1 });
        let (tag, cached) = match &plan.image {
            Some(spec) => {
                let sources = crate::exec::sources::Sources::for_tools_dir(&svc.dirs.tools);
                let built = image::build(&self.docker, &svc.name, spec, &[], &sources).await;
                let built = match built {
                    Ok(b) => b,
                    Err(e) => {
                        self.events.emit(entity.clone(), phase_finished("image", false, false, t0.elapsed()));
                        return Err(e);
                    }
                };
                let _ = std::fs::write(svc.dirs.logs.join("Dockerfile"), &built.dockerfile);
                if !built.log.is_empty() {
                    let _ = std::fs::write(svc.dirs.logs.join("image-build.log"), &built.log);
                }
                (built.tag, built.cached)
            }
            None => {
                let made = image::ensure_base(&self.docker).await?;
                (image::BASE_IMAGE.to_string(), !made)
            }
        };
        self.events.emit(entity.clone(), phase_finished("image", true, cached, t0.elapsed()));
        reports.push(PhaseReport {
            phase: "image".into(),
            commands: vec![CommandReport {
                argv: vec!["docker-build".into(), tag.clone()],
                exit: ServiceExit { exit_code: Some(0), duration: t0.elapsed(), ..Default::default() },
                critical: true,
                stdout: svc.dirs.logs.join("image-build.log"),
                stderr: svc.dirs.logs.join("image-build.log"),
            }],
            cached,
        });
        // The image is needed by the one-shot containers below.
        self.state()
            .prepared
            .insert((svc.test.clone(), svc.name.clone()), Prepared { image: tag.clone(), container_id: String::new() });
        self.write_files(svc)?;
        for phase in Phase::COMPILE {
            reports.push(self.run_phase(svc, phase.name(), phase.of(&plan.phases)).await?);
        }

        let run = Self::run_command(svc)?;
        let binds = self.binds(svc)?;
        let (first_net, endpoints) = self.endpoints(svc, &placement)?;
        let host_config = HostConfig {
            binds: Some(binds.iter().map(bind_spec).collect()),
            cap_add: (!plan.capabilities.is_empty()).then(|| plan.capabilities.clone()),
            network_mode: Some(first_net.clone().unwrap_or_else(|| "none".into())),
            extra_hosts: extra_hosts(svc),
            // PID 1 ignores SIGTERM without a handler; docker-init forwards it to the program.
            init: Some(true),
            ..Default::default()
        };
        let body = ContainerCreateBody {
            image: Some(tag.clone()),
            cmd: Some(run.argv.clone()),
            // An empty entrypoint so the argv is the whole command, whatever the image says.
            entrypoint: Some(vec![]),
            env: Some(self.env_of(svc, run)),
            working_dir: run.cwd.clone(),
            hostname: Some(sanitize(&placement.host)),
            labels: Some(self.labels(&svc.test, Some(&svc.name))),
            host_config: Some(host_config),
            networking_config: Some(NetworkingConfig { endpoints_config: Some(endpoints) }),
            ..Default::default()
        };
        let name = self.container_name(svc);
        let container_id =
            self.create_named(&name, body, format!("service `{}`: cannot create container `{name}`", svc.name)).await?;
        self.state()
            .prepared
            .insert((svc.test.clone(), svc.name.clone()), Prepared { image: tag.clone(), container_id });
        self.update_compose(svc, &tag, &binds, run)?;
        Ok(reports)
    }

    /// Runs pre-run and the run phase's leading commands, then starts the service container
    /// and follows its output into `<logs>/stdout.log` and `stderr.log`.
    ///
    /// # Errors
    /// A failing critical pre-run command, or the daemon cannot start the container.
    async fn start(&self, svc: &ServiceInstance) -> Result<RunningContainer, ExecError> {
        let plan = svc.plan.plan();
        self.run_phase(svc, "pre-run", &plan.phases.pre_run).await?;
        let run = &plan.phases.run;
        if run.len() > 1 {
            self.run_phase(svc, "run", &run[..run.len() - 1]).await?;
        }
        let id = self
            .state()
            .prepared
            .get(&(svc.test.clone(), svc.name.clone()))
            .map(|p| p.container_id.clone())
            .filter(|id| !id.is_empty())
            .ok_or_else(|| ExecError::OutOfOrder { service: svc.name.clone(), step: "start" })?;
        let started = Instant::now();
        self.start_id(&id, format!("service `{}`: cannot start its container", svc.name)).await?;
        let pid = self
            .docker
            .inspect_container(&id, None::<bollard::query_parameters::InspectContainerOptions>)
            .await
            .ok()
            .and_then(|i| i.state?.pid)
            .map(|p| p as u32);
        self.events.emit(
            Entity::service(&svc.test, &svc.name),
            EventKind::CommandStarted {
                phase: "run".into(),
                index: run.len().saturating_sub(1),
                argv: Self::run_command(svc)?.argv.clone(),
                pid,
            },
        );
        let log_task = tokio::spawn(copy_logs(
            self.docker.clone(),
            id.clone(),
            svc.dirs.logs.join("stdout.log"),
            svc.dirs.logs.join("stderr.log"),
            None,
        ));
        let name = self.container_name(svc);
        Ok(RunningContainer { id, name, started, log_task: Some(log_task), exit: None })
    }

    /// Polls the plan's readiness condition until it holds, the container ends, the timeout
    /// passes or `cancel` fires.
    ///
    /// # Errors
    /// [`ExecError::NotReady`], [`ExecError::ExitedEarly`] or [`ExecError::Interrupted`].
    async fn wait_ready(
        &self,
        svc: &ServiceInstance,
        rc: &mut RunningContainer,
        cancel: &CancellationToken,
    ) -> Result<(), ExecError> {
        let mut probe = ContainerProbe { exec: self, svc, rc, pid: None, exit: None };
        let outcome = readiness::wait_ready(svc, &mut probe, POLL, cancel, &self.events).await;
        if let Err(ExecError::ExitedEarly { .. }) = &outcome {
            // Its end was seen; `wait` and `stop` report the same exit.
            let exit = probe.exit.take();
            rc.exit = exit;
        }
        outcome
    }

    /// Waits for the container to end by itself, within the run command's timeout (or the
    /// service's), or until `cancel` fires — then it is stopped.
    async fn wait(&self, svc: &ServiceInstance, rc: &mut RunningContainer, cancel: &CancellationToken) -> ServiceExit {
        if let Some(e) = &rc.exit {
            return e.clone();
        }
        let limit =
            Self::run_command(svc).ok().and_then(|c| c.timeout_ms).map(Duration::from_millis).unwrap_or(svc.timeout);
        let left = limit.saturating_sub(rc.started.elapsed());
        let exit = tokio::select! {
            code = wait_exit(&self.docker, &rc.id) => ServiceExit { exit_code: code, duration: rc.started.elapsed(), ..Default::default() },
            _ = tokio::time::sleep(left) => {
                let mut e = self.stop_container(svc, rc, Duration::from_secs(2)).await;
                e.timed_out = true;
                e.stopped_by_host = false;
                e
            }
            _ = cancel.cancelled() => self.stop_container(svc, rc, Duration::from_secs(2)).await,
        };
        self.finish(svc, rc, exit).await
    }

    /// Stops the container: SIGTERM, `grace`, SIGKILL (what `docker stop -t` does). A container
    /// that already ended keeps its own exit status.
    async fn stop(&self, svc: &ServiceInstance, rc: &mut RunningContainer, grace: Duration) -> ServiceExit {
        if let Some(e) = &rc.exit {
            return e.clone();
        }
        let exit = self.stop_container(svc, rc, grace).await;
        self.finish(svc, rc, exit).await
    }

    /// Post-run commands (one-shot containers), then artifact collection: plan artifacts are
    /// container paths, found on the host through the mounts or copied out of the container;
    /// plus the container's stdout/stderr, `docker inspect` JSON and the key log.
    async fn post_run(&self, svc: &ServiceInstance) -> (Vec<PhaseReport>, Vec<(ArtifactKind, PathBuf)>) {
        let mut reports = Vec::new();
        match self.run_phase(svc, "post-run", &svc.plan.plan().phases.post_run).await {
            Ok(r) => reports.push(r),
            Err(e) => tracing::warn!(service = %svc.name, "post-run failed: {e}"),
        }
        let mut arts = Vec::new();
        for f in ["stdout.log", "stderr.log"] {
            let p = svc.dirs.logs.join(f);
            if p.exists() {
                arts.push((ArtifactKind::Log, p));
            }
        }
        let id = self.state().prepared.get(&(svc.test.clone(), svc.name.clone())).map(|p| p.container_id.clone());
        if let Some(id) = id.filter(|i| !i.is_empty()) {
            if let Ok(info) =
                self.docker.inspect_container(&id, None::<bollard::query_parameters::InspectContainerOptions>).await
            {
                let p = svc.dirs.logs.join("container-inspect.json");
                if std::fs::write(&p, serde_json::to_vec_pretty(&info).unwrap_or_default()).is_ok() {
                    arts.push((ArtifactKind::Report, p));
                }
            }
            for a in &svc.plan.plan().artifacts {
                let found = match self.to_host_path(svc, &a.path) {
                    Some(p) if p.exists() => Some(p),
                    Some(_) => None,
                    None => self.copy_out(&id, svc, &a.path).await,
                };
                match found {
                    Some(p) => {
                        if !arts.iter().any(|(_, q)| q == &p) {
                            arts.push((a.kind, p));
                        }
                    }
                    None if a.required => {
                        tracing::warn!(service = %svc.name, path = %a.path, "required artifact missing")
                    }
                    None => {}
                }
            }
        }
        let keylog = svc.dirs.keylog();
        if keylog.exists() && !arts.iter().any(|(_, p)| p == &keylog) {
            arts.push((ArtifactKind::Keylog, keylog));
        }
        if std::fs::read_dir(&svc.dirs.qlog).is_ok_and(|mut d| d.next().is_some())
            && !arts.iter().any(|(_, p)| p == &svc.dirs.qlog)
        {
            arts.push((ArtifactKind::Qlog, svc.dirs.qlog.clone()));
        }
        (reports, arts)
    }

    /// Removes everything labelled with this run directory and one of the tests this executor
    /// served: containers (forced), then networks. Another test of the run, running at the
    /// same time with an executor of its own, keeps its containers. Safe to call many times;
    /// each step is reported.
    async fn teardown(&self) -> TeardownReport {
        // The services have ended: the relays may stop too, and write their counts first.
        self.stop_relay_containers().await;
        let mut report = TeardownReport::default();
        for filter in self.own_filters() {
            let mut steps = remove_matching(&self.docker, filter, false).await;
            report.steps.append(&mut steps);
        }
        for s in &report.steps {
            self.events.emit(Entity::experiment(&self.experiment), s.event());
        }
        let mut st = self.state();
        st.networks.clear();
        st.prepared.clear();
        report
    }

    /// Removes the run's containers and networks from a thread with its own runtime and its
    /// own connection: called while a test unwinds from a panic, where the executor's runtime
    /// cannot be awaited on.
    fn emergency_teardown(&self) {
        let filters = self.own_filters();
        let worker = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().ok()?;
            rt.block_on(async {
                let docker = connect_daemon().await.ok()?;
                let mut steps = vec![];
                for f in filters {
                    steps.extend(remove_matching(&docker, f, false).await);
                }
                Some(steps)
            })
        });
        match worker.join() {
            Ok(Some(steps)) => {
                for s in steps {
                    tracing::warn!("emergency teardown: {} {}", s.what, if s.ok { "done" } else { &s.detail });
                }
            }
            _ => tracing::error!(
                "emergency teardown: cannot reach Docker; run `panther-host clean --run {}`",
                self.run_id
            ),
        }
    }
}

/// One line of the teardown report for a removal (or for the listing before it). With
/// `gone_is_done`, a 404 counts as done: the object went away already, as when another
/// teardown or `clean` got there first.
fn removal<T>(what: String, r: Result<T, bollard::errors::Error>, gone_is_done: bool) -> TeardownStep {
    let gone = matches!(&r, Err(bollard::errors::Error::DockerResponseServerError { status_code: 404, .. }));
    TeardownStep {
        what,
        ok: r.is_ok() || (gone_is_done && gone),
        detail: r.err().map(|e| e.to_string()).unwrap_or_default(),
    }
}

/// Removes containers and networks (and with `images`, images panther built) carrying the
/// label `key=value` (or just `key` when `value` is empty). Used by teardown and `clean`.
pub async fn remove_labelled(docker: &Docker, key: &str, value: &str, images: bool) -> Vec<TeardownStep> {
    let label = if value.is_empty() { key.to_string() } else { format!("{key}={value}") };
    remove_matching(docker, vec![label], images).await
}

/// Removes containers and networks carrying every one of `labels` (`key=value` or `key`).
async fn remove_matching(docker: &Docker, labels: Vec<String>, images: bool) -> Vec<TeardownStep> {
    let filter = HashMap::from([("label".to_string(), labels)]);
    let mut steps = Vec::new();
    match docker
        .list_containers(Some(ListContainersOptions { all: true, filters: Some(filter.clone()), ..Default::default() }))
        .await
    {
        Ok(list) => {
            let removals = list.into_iter().filter_map(|c| c.id).map(|id| async move {
                let r = docker.remove_container(&id, force_remove()).await;
                (id, r)
            });
            for (id, r) in futures_util::future::join_all(removals).await {
                steps.push(removal(format!("remove container {}", &id[..12.min(id.len())]), r, true));
            }
        }
        Err(e) => steps.push(removal("list containers".into(), Err::<(), _>(e), false)),
    }
    match docker.list_networks(Some(ListNetworksOptions { filters: Some(filter.clone()) })).await {
        Ok(list) => {
            for n in list {
                let (Some(id), name) = (n.id, n.name.unwrap_or_default()) else {
                    continue;
                };
                let r = docker.remove_network(&id).await;
                steps.push(removal(format!("remove network {name}"), r, true));
            }
        }
        Err(e) => steps.push(removal("list networks".into(), Err::<(), _>(e), false)),
    }
    if images {
        let f = HashMap::from([("label".to_string(), vec![image::IMAGE_LABEL.to_string()])]);
        match docker
            .list_images(Some(bollard::query_parameters::ListImagesOptions { filters: Some(f), ..Default::default() }))
            .await
        {
            Ok(list) => {
                for img in list {
                    let what = img.repo_tags.first().cloned().unwrap_or_else(|| img.id.clone());
                    let r = docker
                        .remove_image(
                            &img.id,
                            Some(bollard::query_parameters::RemoveImageOptions { force: true, noprune: false }),
                            None,
                        )
                        .await;
                    steps.push(removal(format!("remove image {what}"), r, false));
                }
            }
            Err(e) => steps.push(removal("list images".into(), Err::<(), _>(e), false)),
        }
    }
    steps
}

/// Waits until the container is not running and returns its exit code. bollard reports a
/// non-zero exit as an error, so the code is read back with inspect.
async fn wait_exit(docker: &Docker, id: &str) -> Option<i32> {
    let mut s = docker.wait_container(id, Some(WaitContainerOptions { condition: "not-running".into() }));
    // The stream yields one item: the exit, or an error (then the code is read back below).
    match s.next().await {
        Some(Ok(r)) => return Some(r.status_code as i32),
        Some(Err(bollard::errors::Error::DockerContainerWaitError { code, .. })) => return Some(code as i32),
        Some(Err(_)) | None => {}
    }
    let info = docker.inspect_container(id, None::<bollard::query_parameters::InspectContainerOptions>).await.ok()?;
    info.state?.exit_code.map(|c| c as i32)
}

/// Follows a container's output into two files until it ends.
async fn copy_logs(docker: Docker, id: String, stdout: PathBuf, stderr: PathBuf, _tail: Option<usize>) {
    use tokio::io::AsyncWriteExt;
    let (Ok(mut out), Ok(mut err)) = (tokio::fs::File::create(&stdout).await, tokio::fs::File::create(&stderr).await)
    else {
        tracing::warn!("cannot create {} / {}", stdout.display(), stderr.display());
        return;
    };
    let mut s = docker.logs(&id, Some(LogsOptions { follow: true, stdout: true, stderr: true, ..Default::default() }));
    while let Some(item) = s.next().await {
        match item {
            Ok(bollard::container::LogOutput::StdErr { message }) => {
                let _ = err.write_all(&message).await;
                let _ = err.flush().await;
            }
            Ok(other) => {
                let _ = out.write_all(&other.into_bytes()).await;
                let _ = out.flush().await;
            }
            Err(_) => break,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_made_docker_safe() {
        assert_eq!(sanitize("panther-run 1-t/x"), "panther-run-1-t-x");
        assert_eq!(sanitize("_a"), "x_a");
    }
}
