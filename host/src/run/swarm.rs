//! `run --engine swarm`: every cell (test iteration) of an experiment as a replicated-job
//! service on a Docker Swarm; when every cell's task has ended, their runs are merged
//! ([`super::merge`]) into one run.
//!
//! A cell's task is this very host in a container (the runner image: the Debian base plus
//! tshark and git), running `panther-host run --shard k/N` with N the number of cells, so cell
//! `k` is exactly the experiment's k-th test iteration. It drives its test's containers
//! through the node's Docker socket, as a local run does, and writes into the shared run
//! directory. The binary, the plugins, the experiment's directory, the cache and the output
//! are bind-mounted at their own paths, so the Docker daemon finds the paths the cell hands it
//! (docs/SCALE.md says what each node must share). Only Docker tests can be cells: a localhost
//! or Shadow test would run its programs inside the runner, which does not have them.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use bollard::models::{
    LocalNodeState, Mount, MountTypeEnum, NetworkAttachmentConfig, ServiceSpec, ServiceSpecMode,
    ServiceSpecModeReplicatedJob, TaskSpec, TaskSpecContainerSpec, TaskSpecPlacement, TaskSpecResources,
    TaskSpecRestartPolicy, TaskSpecRestartPolicyConditionEnum, TaskState,
};
use bollard::Docker;
use futures_util::StreamExt;

use super::merge::{self, Merged};
use crate::exec::docker::image;
use crate::exec::ExecError;

/// Every service of one Swarm run carries this label, with the run's key.
pub const LABEL_SWARM_RUN: &str = "panther.swarm-run";
/// Where the host's `/proc` is inside a cell (the cell has a pid namespace of its own).
const HOST_PROC_IN_CELL: &str = "/host/proc";
/// What the cells' image holds besides the base: tshark (captures, decrypting judges) and git
/// (upstream sources).
const RUNNER_PACKAGES: [&str; 3] = ["tshark", "git", "ca-certificates"];
/// How long a cell may stay unplaceable (no node meets its constraints or reservations).
const UNSCHEDULABLE_AFTER: Duration = Duration::from_secs(60);
/// What a cell gets to tear its test down after SIGINT before the daemon kills it.
const STOP_GRACE: Duration = Duration::from_secs(60);
const POLL: Duration = Duration::from_millis(250);

/// How to spread the run.
#[derive(Debug, Clone)]
pub struct SwarmRun {
    /// The experiment file (absolute: the cells read it at the same path).
    pub experiment: PathBuf,
    /// The output directory (shared by every node).
    pub output: PathBuf,
    /// The cells' names, in the experiment's order; cell `k` is shard `k/len`.
    pub cells: Vec<String>,
    /// Options every cell's `panther-host run` gets (`--seed`, `--cache-dir`, ...).
    pub run_args: Vec<String>,
    /// Directories of plugins the cells must see (bundled, `PANTHER_PLUGIN_PATH`, `--plugin-dir`).
    pub plugin_dirs: Vec<PathBuf>,
    pub cache_root: PathBuf,
    /// Push the runner image here (`host:port`) so other nodes can pull it.
    pub registry: Option<String>,
    /// CPUs reserved for and allowed to each cell's runner.
    pub cpus: f64,
    /// Memory limit of each cell's runner, in bytes.
    pub memory: Option<u64>,
    /// Placement constraints (`node.labels.panther==yes`).
    pub constraints: Vec<String>,
    /// The directories of `PANTHER_SOURCE_MIRROR` (canonical), mounted and passed on.
    pub mirrors: Vec<PathBuf>,
    /// `PANTHER_PLUGIN_PATH`, passed on (its directories are among `plugin_dirs`).
    pub plugin_path: Option<String>,
}

#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum SwarmError {
    #[error(transparent)]
    #[diagnostic(transparent)]
    Docker(#[from] ExecError),
    #[error("this Docker engine is not a swarm manager (its swarm state: {state})")]
    #[diagnostic(
        code(panther::swarm::manager),
        help("run on a manager node, or make this machine a one-node swarm: `docker swarm init --advertise-addr 127.0.0.1` (`docker swarm leave --force` undoes it)")
    )]
    NotManager { state: String },
    #[error("cannot push the runner image to {registry}: {detail}")]
    #[diagnostic(
        code(panther::swarm::registry),
        help("the registry must accept pushes from this daemon (for a plain-HTTP one, list it in the daemon's insecure-registries)")
    )]
    Push { registry: String, detail: String },
    #[error("the swarm refused cell {cell} (`{test}`): {detail}")]
    #[diagnostic(code(panther::swarm::service))]
    Service { cell: usize, test: String, detail: String },
    #[error("no node can take cell {cell} (`{test}`) after {secs} s: {why}")]
    #[diagnostic(
        code(panther::swarm::unschedulable),
        help("`docker node ls` shows the nodes; lower --cell-cpus/--cell-memory or loosen --constraint")
    )]
    Unschedulable { cell: usize, test: String, secs: u64, why: String },
    #[error("cannot prepare {path}: {source}")]
    #[diagnostic(code(panther::swarm::output))]
    Output {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("no cell left a result in {dir}; each cell's log is cell-<k>.log there")]
    #[diagnostic(code(panther::swarm::empty))]
    NoResults { dir: PathBuf },
    #[error(transparent)]
    #[diagnostic(transparent)]
    Merge(#[from] merge::MergeError),
}

/// What the Swarm run made.
pub struct SwarmOutcome {
    pub merged: Merged,
    /// Ctrl-C removed the services before every cell ended.
    pub interrupted: bool,
    /// The directory of the cells' runs and logs.
    pub work: PathBuf,
}

/// The image every cell runs in.
fn runner_spec() -> crate::plugin::types::ImageSpec {
    crate::plugin::types::ImageSpec {
        name: "panther-runner".into(),
        base: image::BASE_IMAGE.into(),
        packages: RUNNER_PACKAGES.map(String::from).to_vec(),
        sources: vec![],
        steps: vec![],
        build_args: vec![],
        workdir: None,
    }
}

/// A bind mount of `path` at the same path.
fn same_path(path: &Path, read_only: bool) -> Mount {
    Mount {
        target: Some(path.display().to_string()),
        source: Some(path.display().to_string()),
        typ: Some(MountTypeEnum::BIND),
        read_only: Some(read_only),
        ..Default::default()
    }
}

/// The mounts of a cell: each path once (writable if any use needs it), nested paths allowed.
fn mounts(r: &SwarmRun, host: &Path, work: &Path) -> Vec<Mount> {
    let mut want: Vec<(PathBuf, bool)> = vec![(host.to_path_buf(), true)];
    want.extend(r.plugin_dirs.iter().map(|d| (d.clone(), true)));
    if let Some(dir) = r.experiment.parent() {
        want.push((dir.to_path_buf(), true));
    }
    want.extend(r.mirrors.iter().map(|m| (m.clone(), true)));
    want.push((r.cache_root.clone(), false));
    want.push((work.to_path_buf(), false));
    let mut seen: Vec<(PathBuf, bool)> = vec![];
    for (path, ro) in want {
        match seen.iter_mut().find(|(p, _)| *p == path) {
            Some(e) => e.1 &= ro,
            None => seen.push((path, ro)),
        }
    }
    let mut out: Vec<Mount> = seen.iter().map(|(p, ro)| same_path(p, *ro)).collect();
    out.push(same_path(Path::new("/var/run/docker.sock"), false));
    out.push(Mount {
        target: Some(HOST_PROC_IN_CELL.into()),
        source: Some("/proc".into()),
        typ: Some(MountTypeEnum::BIND),
        read_only: Some(true),
        ..Default::default()
    });
    out
}

/// What every cell of one run shares.
pub struct Cells<'a> {
    pub run: &'a SwarmRun,
    /// The run's key, on every service ([`LABEL_SWARM_RUN`]).
    pub key: String,
    /// The runner image's reference.
    pub image: String,
    /// The id of the daemon's `host` network, which the cells join.
    pub host_network: String,
    /// This binary, at the path every node has it.
    pub host: PathBuf,
    /// The run's shared directory (`shards/`, `cell-<k>.log`).
    pub work: PathBuf,
}

/// The command of cell `k`: the host, its output into the cell's log in the shared directory.
pub fn cell_command(r: &SwarmRun, host: &Path, work: &Path, k: usize) -> Vec<String> {
    let log = work.join(format!("cell-{k}.log"));
    let mut argv = vec![
        "sh".to_string(),
        "-c".into(),
        // `$0` is the host, `$1` the log: no word of the run's is ever shell text.
        "log=$1; shift; exec \"$0\" \"$@\" >\"$log\" 2>&1".into(),
        host.display().to_string(),
        log.display().to_string(),
        "-q".into(),
        "run".into(),
        r.experiment.display().to_string(),
        "--shard".into(),
        format!("{k}/{}", r.cells.len()),
        "--output-dir".into(),
        work.join("shards").display().to_string(),
    ];
    argv.extend(r.run_args.iter().cloned());
    argv
}

/// The service of cell `k`.
pub fn cell_service(c: &Cells, k: usize) -> ServiceSpec {
    let (r, key, host, work) = (c.run, c.key.as_str(), c.host.as_path(), c.work.as_path());
    let mut labels: HashMap<String, String> = [
        (LABEL_SWARM_RUN.to_string(), key.to_string()),
        ("panther.cell".to_string(), k.to_string()),
        ("panther.test".to_string(), r.cells[k].clone()),
    ]
    .into();
    labels.insert("panther.experiment".into(), r.experiment.display().to_string());
    let mut env = vec![
        "NO_COLOR=1".to_string(),
        format!("PANTHER_HOST_PROC={HOST_PROC_IN_CELL}"),
        format!("PANTHER_CACHE={}", r.cache_root.display()),
    ];
    if let Ok(joined) = std::env::join_paths(&r.mirrors) {
        if !r.mirrors.is_empty() {
            env.push(format!("PANTHER_SOURCE_MIRROR={}", joined.to_string_lossy()));
        }
    }
    if let Some(p) = &r.plugin_path {
        env.push(format!("PANTHER_PLUGIN_PATH={p}"));
    }
    let argv = cell_command(r, host, work, k);
    let nano_cpus = (r.cpus * 1e9) as i64;
    ServiceSpec {
        name: Some(format!("panther-{key}-{k}")),
        labels: Some(labels.clone()),
        mode: Some(ServiceSpecMode {
            replicated_job: Some(ServiceSpecModeReplicatedJob { max_concurrent: Some(1), total_completions: Some(1) }),
            ..Default::default()
        }),
        task_template: Some(TaskSpec {
            container_spec: Some(TaskSpecContainerSpec {
                image: Some(c.image.clone()),
                labels: Some(labels),
                command: Some(argv[..1].to_vec()),
                args: Some(argv[1..].to_vec()),
                env: Some(env),
                mounts: Some(mounts(r, host, work)),
                // The cell captures on the test network's bridge, in the host's network namespace.
                capability_add: Some(vec!["NET_ADMIN".into(), "NET_RAW".into()]),
                // The host tears its test down on SIGINT, as on Ctrl-C; an init as pid 1 passes
                // the signal on (a pid 1 only gets the signals it has handlers for yet).
                stop_signal: Some("SIGINT".into()),
                init: Some(true),
                stop_grace_period: Some(STOP_GRACE.as_nanos() as i64),
                ..Default::default()
            }),
            resources: Some(TaskSpecResources {
                limits: Some(bollard::models::Limit {
                    nano_cpus: Some(nano_cpus),
                    memory_bytes: r.memory.map(|m| m as i64),
                    pids: None,
                }),
                reservations: Some(bollard::models::ResourceObject {
                    nano_cpus: Some(nano_cpus),
                    memory_bytes: r.memory.map(|m| m as i64),
                    generic_resources: None,
                }),
            }),
            restart_policy: Some(TaskSpecRestartPolicy {
                condition: Some(TaskSpecRestartPolicyConditionEnum::NONE),
                ..Default::default()
            }),
            placement: (!r.constraints.is_empty())
                .then(|| TaskSpecPlacement { constraints: Some(r.constraints.clone()), ..Default::default() }),
            networks: Some(vec![NetworkAttachmentConfig {
                target: Some(c.host_network.clone()),
                ..Default::default()
            }]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// A task that will not change any more.
fn is_final(s: &TaskState) -> bool {
    matches!(
        s,
        TaskState::COMPLETE
            | TaskState::FAILED
            | TaskState::REJECTED
            | TaskState::SHUTDOWN
            | TaskState::ORPHANED
            | TaskState::REMOVE
    )
}

/// The swarm's own words for a task, kept to one line.
fn state_word(s: &TaskState) -> String {
    format!("{s:?}").to_lowercase()
}

/// The daemon's filter for everything of one Swarm run (services' tasks, cell containers).
fn of_run(key: &str) -> HashMap<String, Vec<String>> {
    HashMap::from([("label".to_string(), vec![format!("{LABEL_SWARM_RUN}={key}")])])
}

/// The services of one run; removed when dropped, so an error or a panic leaves none behind.
struct Services {
    docker: Docker,
    ids: Vec<String>,
}

impl Services {
    async fn remove(&mut self) {
        for id in std::mem::take(&mut self.ids) {
            if let Err(e) = self.docker.delete_service(&id).await {
                tracing::warn!("cannot remove the Swarm service {id}: {e}");
            }
        }
    }
}

impl Drop for Services {
    fn drop(&mut self) {
        if self.ids.is_empty() {
            return;
        }
        let (docker, ids) = (self.docker.clone(), std::mem::take(&mut self.ids));
        // Drop cannot wait for the daemon on this runtime's thread; a thread of its own can.
        let _ = std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread().enable_all().build() else { return };
            rt.block_on(async {
                for id in ids {
                    let _ = docker.delete_service(&id).await;
                }
            });
        })
        .join();
    }
}

/// Checks that the daemon manages a swarm; returns the number of nodes.
async fn manager(docker: &Docker) -> Result<i64, SwarmError> {
    let info = docker
        .info()
        .await
        .map_err(|e| ExecError::Daemon { what: "asking the daemon about its swarm".into(), source: e })?;
    let swarm = info.swarm.unwrap_or_default();
    let state = swarm.local_node_state.unwrap_or(LocalNodeState::INACTIVE);
    if state != LocalNodeState::ACTIVE || !swarm.control_available.unwrap_or(false) {
        let state = match state {
            LocalNodeState::ACTIVE => "a worker, not a manager".to_string(),
            other => serde_json::to_string(&other).unwrap_or_default().trim_matches('"').to_string(),
        };
        return Err(SwarmError::NotManager { state: if state.is_empty() { "none".into() } else { state } });
    }
    Ok(swarm.nodes.unwrap_or(1))
}

/// Builds the runner image (content-hash tagged, so once) and, with a registry, pushes it.
async fn runner_image(docker: &Docker, r: &SwarmRun) -> Result<String, SwarmError> {
    let sources = crate::exec::sources::Sources::from_env(&r.cache_root);
    let built = image::build(docker, "swarm cells", &runner_spec(), &[], &sources).await?;
    let Some(registry) = &r.registry else { return Ok(built.tag) };
    let (repo, tag) = built.tag.split_once(':').unwrap_or((&built.tag, "latest"));
    let remote = format!("{registry}/{repo}");
    let push_err = |detail: String| SwarmError::Push { registry: registry.clone(), detail };
    docker
        .tag_image(
            &built.tag,
            Some(bollard::query_parameters::TagImageOptions { repo: Some(remote.clone()), tag: Some(tag.into()) }),
        )
        .await
        .map_err(|e| push_err(e.to_string()))?;
    let mut push = docker.push_image(
        &remote,
        Some(bollard::query_parameters::PushImageOptions { tag: Some(tag.into()), platform: None }),
        None,
    );
    while let Some(item) = push.next().await {
        let item = item.map_err(|e| push_err(e.to_string()))?;
        if let Some(e) = item.error {
            return Err(push_err(e));
        }
    }
    Ok(format!("{remote}:{tag}"))
}

/// Sends every cell to the swarm, waits for them (or for `shutdown`), removes the services
/// and merges what the cells wrote.
pub async fn run(r: &SwarmRun, shutdown: impl std::future::Future<Output = ()>) -> Result<SwarmOutcome, SwarmError> {
    let out = |path: &Path, source| SwarmError::Output { path: path.to_path_buf(), source };
    let host = std::env::current_exe().map_err(|e| out(Path::new("panther-host"), e))?;
    let docker = crate::exec::docker::connect_daemon().await?;
    let nodes = manager(&docker).await?;
    let base = std::path::absolute(&r.output).map_err(|e| out(&r.output, e))?;
    let stamp = super::layout::run_id_now();
    let work = base.join(format!("swarm-{stamp}-{}", std::process::id()));
    std::fs::create_dir_all(work.join("shards")).map_err(|e| out(&work, e))?;
    // The cells see it at this very path: no `..` or symlink for the daemon to refuse or resolve.
    let work = std::fs::canonicalize(&work).map_err(|e| out(&work, e))?;
    let key = crate::exec::docker::run_key(&work, &stamp);
    tracing::info!("preparing the cells' image (built once, then cached by content)");
    let image = runner_image(&docker, r).await?;
    tracing::info!(cells = r.cells.len(), nodes, dir = %work.display(), "sending the cells to the swarm");

    let host_network = docker
        .inspect_network("host", None::<bollard::query_parameters::InspectNetworkOptions>)
        .await
        .map_err(|e| ExecError::Daemon { what: "looking up the daemon's host network".into(), source: e })?
        .id
        .unwrap_or_else(|| "host".into());
    let cells = Cells { run: r, key: key.clone(), image, host_network, host, work: work.clone() };
    let mut services = Services { docker: docker.clone(), ids: vec![] };
    for k in 0..r.cells.len() {
        let spec = cell_service(&cells, k);
        let created = docker.create_service(spec, None).await.map_err(|e| SwarmError::Service {
            cell: k,
            test: r.cells[k].clone(),
            detail: e.to_string(),
        })?;
        services.ids.push(created.id.unwrap_or_default());
    }

    let mut ended: Vec<bool> = vec![false; r.cells.len()];
    let mut unplaced_since: Vec<Option<Instant>> = vec![None; r.cells.len()];
    let mut running: Vec<bool> = vec![false; r.cells.len()];
    let mut interrupted = false;
    tokio::pin!(shutdown);
    while ended.contains(&false) {
        tokio::select! {
            _ = &mut shutdown => {
                tracing::warn!("interrupted: removing the cells' services (each tears its test down first)");
                interrupted = true;
                break;
            }
            _ = tokio::time::sleep(POLL) => {}
        }
        let tasks = docker
            .list_tasks(Some(bollard::query_parameters::ListTasksOptions { filters: Some(of_run(&key)) }))
            .await
            .map_err(|e| ExecError::Daemon { what: "listing the cells' tasks".into(), source: e })?;
        for t in tasks {
            let Some(k) = t.service_id.as_ref().and_then(|id| services.ids.iter().position(|s| s == id)) else {
                continue;
            };
            if ended[k] {
                continue;
            }
            let status = t.status.clone().unwrap_or_default();
            let state = status.state.unwrap_or(TaskState::NEW);
            let why = status.err.clone().or(status.message.clone()).unwrap_or_default();
            if state == TaskState::PENDING && why.contains("no suitable node") {
                let since = *unplaced_since[k].get_or_insert_with(Instant::now);
                if since.elapsed() > UNSCHEDULABLE_AFTER {
                    services.remove().await;
                    return Err(SwarmError::Unschedulable {
                        cell: k,
                        test: r.cells[k].clone(),
                        secs: UNSCHEDULABLE_AFTER.as_secs(),
                        why: crate::text::terminal(&why).into_owned(),
                    });
                }
            }
            if state == TaskState::RUNNING && !running[k] {
                running[k] = true;
                tracing::info!(cell = k, test = %crate::text::terminal(&r.cells[k]), "cell running");
            }
            if is_final(&state) {
                if state == TaskState::REJECTED {
                    services.remove().await;
                    return Err(SwarmError::Service {
                        cell: k,
                        test: r.cells[k].clone(),
                        detail: crate::text::terminal(&why).into_owned(),
                    });
                }
                tracing::info!(
                    cell = k,
                    test = %crate::text::terminal(&r.cells[k]),
                    state = %state_word(&state),
                    exit = ?status.container_status.and_then(|c| c.exit_code),
                    node = %t.node_id.unwrap_or_default(),
                    "cell ended"
                );
                ended[k] = true;
            }
        }
    }
    services.remove().await;
    remove_cell_containers(&docker, &key, interrupted).await;
    let shards = merge::shard_runs(&work.join("shards"));
    remove_cell_leftovers(&docker, &shards).await;
    if shards.is_empty() {
        return Err(SwarmError::NoResults { dir: work });
    }
    let merged = merge::merge(&shards, &base, &r.cache_root)?;
    Ok(SwarmOutcome { merged, interrupted, work })
}

/// Removes this node's containers of the run's cells. The swarm neither stops a running job
/// task nor removes a finished one's container when its service goes (Docker 20.10), so after
/// Ctrl-C the host sends each running cell SIGINT itself (its host tears its test down, as on
/// Ctrl-C) and waits up to the grace period; then it removes them.
async fn remove_cell_containers(docker: &Docker, key: &str, interrupted: bool) {
    let patience = if interrupted { STOP_GRACE + Duration::from_secs(10) } else { Duration::from_secs(30) };
    let deadline = Instant::now() + patience;
    let mut signalled: Vec<String> = vec![];
    let mut killed: Vec<String> = vec![];
    loop {
        let opts = bollard::query_parameters::ListContainersOptions {
            all: true,
            filters: Some(of_run(key)),
            ..Default::default()
        };
        let Ok(left) = docker.list_containers(Some(opts)).await else { return };
        if left.is_empty() {
            return;
        }
        let late = Instant::now() > deadline;
        for c in &left {
            let Some(id) = &c.id else { continue };
            let running = matches!(c.state, Some(bollard::models::ContainerSummaryStateEnum::RUNNING));
            let (signal, sent) = if late { ("SIGKILL", &mut killed) } else { ("SIGINT", &mut signalled) };
            if running && (interrupted || late) && !sent.contains(id) {
                if late {
                    tracing::warn!("a cell did not end within {} s of SIGINT: killing it", STOP_GRACE.as_secs());
                }
                let opts = bollard::query_parameters::KillContainerOptions { signal: signal.into() };
                let _ = docker.kill_container(id, Some(opts)).await;
                sent.push(id.clone());
            }
            if !running {
                let _ = docker.remove_container(id, None::<bollard::query_parameters::RemoveContainerOptions>).await;
            }
        }
        if Instant::now() > deadline + Duration::from_secs(20) {
            tracing::warn!(left = left.len(), "cell containers are still there after the grace period");
            return;
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Removes what the cells' own runs left on this node (their test containers and networks,
/// found by each run's key): a cell killed in the middle of its test could not tear it down.
async fn remove_cell_leftovers(docker: &Docker, shards: &[PathBuf]) {
    use crate::exec::docker::{remove_labelled, run_key, LABEL_RUN_KEY};
    for dir in shards {
        let id = dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        for step in remove_labelled(docker, LABEL_RUN_KEY, &run_key(dir, &id), false).await {
            tracing::warn!(ok = step.ok, "a cell left {} behind: {}", step.what, step.detail);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> SwarmRun {
        SwarmRun {
            experiment: "/e/it's.toml".into(),
            output: "/shared/out".into(),
            cells: vec!["a".into(), "b; rm -rf /".into()],
            run_args: vec!["--seed".into(), "7".into()],
            plugin_dirs: vec!["/p".into(), "/e".into()],
            cache_root: "/c".into(),
            registry: None,
            cpus: 1.5,
            memory: Some(1 << 30),
            constraints: vec!["node.role==manager".into()],
            mirrors: vec!["/m".into()],
            plugin_path: None,
        }
    }

    #[test]
    fn a_cell_runs_its_own_shard_with_no_word_as_shell_text() {
        let r = sample();
        let argv = cell_command(&r, Path::new("/bin/panther-host"), Path::new("/shared/out/w"), 1);
        assert_eq!(
            argv,
            [
                "sh",
                "-c",
                "log=$1; shift; exec \"$0\" \"$@\" >\"$log\" 2>&1",
                "/bin/panther-host",
                "/shared/out/w/cell-1.log",
                "-q",
                "run",
                "/e/it's.toml",
                "--shard",
                "1/2",
                "--output-dir",
                "/shared/out/w/shards",
                "--seed",
                "7"
            ]
        );
    }

    #[test]
    fn a_cell_is_a_one_shot_job_with_limits_placement_and_its_paths() {
        let r = sample();
        let cells = Cells {
            run: &r,
            key: "k1".into(),
            image: "panther-runner:abc".into(),
            host_network: "hostnet".into(),
            host: "/bin/panther-host".into(),
            work: "/shared/out/w".into(),
        };
        let s = cell_service(&cells, 0);
        assert_eq!(s.name.as_deref(), Some("panther-k1-0"));
        let job = s.mode.unwrap().replicated_job.unwrap();
        assert_eq!((job.max_concurrent, job.total_completions), (Some(1), Some(1)));
        let t = s.task_template.unwrap();
        let c = t.container_spec.unwrap();
        assert_eq!(c.labels.unwrap()[LABEL_SWARM_RUN], "k1");
        assert_eq!(c.stop_signal.as_deref(), Some("SIGINT"));
        let res = t.resources.unwrap();
        assert_eq!(res.limits.unwrap().nano_cpus, Some(1_500_000_000));
        assert_eq!(res.reservations.unwrap().memory_bytes, Some(1 << 30));
        assert_eq!(t.placement.unwrap().constraints.unwrap(), ["node.role==manager"]);
        assert_eq!(t.restart_policy.unwrap().condition, Some(TaskSpecRestartPolicyConditionEnum::NONE));
        assert_eq!(t.networks.unwrap()[0].target.as_deref(), Some("hostnet"));
        // Each path once, at its own path; the experiment's directory is also a plugin dir here.
        let m: Vec<(String, String, bool)> = c
            .mounts
            .unwrap()
            .into_iter()
            .map(|m| (m.source.unwrap(), m.target.unwrap(), m.read_only.unwrap()))
            .collect();
        let (paths, ro): (Vec<String>, Vec<bool>) = m.iter().map(|(s, _, r)| (s.clone(), *r)).unzip();
        assert_eq!(
            paths,
            ["/bin/panther-host", "/p", "/e", "/m", "/c", "/shared/out/w", "/var/run/docker.sock", "/proc"]
        );
        assert_eq!(ro, [true, true, true, true, false, false, false, true]);
        assert!(c.env.unwrap().contains(&"PANTHER_SOURCE_MIRROR=/m".to_string()));
        assert!(m.iter().all(|(s, t, _)| s == t || s == "/proc"));
    }
}
