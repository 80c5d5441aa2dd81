//! The link relay containers of a Docker test: `panther-host link-relay` (this very binary,
//! bind-mounted read-only) in the base image, between the clients' network — where it
//! answers to the server's names — and the server's. It gets no capabilities, no new
//! privileges, a read-only root and the host user's uid; it sees only the binary and the
//! test's directory, where it writes its decision log, its two captures and its counts.
//!
//! Started after the networks and before any service; stopped (SIGTERM, so it writes its
//! counts) at the start of the executor's teardown, once every service has ended.

use std::path::Path;
use std::time::{Duration, Instant};

use bollard::models::{
    ContainerCreateBody, EndpointIpamConfig, EndpointSettings, HostConfig, NetworkConnectRequest, NetworkingConfig,
};
use bollard::query_parameters::{LogsOptions, StopContainerOptions};
use futures_util::StreamExt;

use super::{docker_err, image, sanitize, DockerExecutor};
use crate::exec::{ExecError, RelayContainer};

/// How long a relay may take to listen (its container starts in well under a second).
const READY_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a relay has to write its counts after SIGTERM.
const STOP_GRACE: Duration = Duration::from_secs(10);

/// How errors name a relay: as the service it stands in front of.
fn who(r: &RelayContainer) -> String {
    format!("relay in front of {}", r.server)
}

/// A relay container this executor started.
#[derive(Debug, Clone)]
pub(super) struct StartedRelay {
    pub test: String,
    pub id: String,
    pub relay: RelayContainer,
}

impl DockerExecutor {
    pub(super) async fn start_relay_containers(&self, test: &str, relays: &[RelayContainer]) -> Result<(), ExecError> {
        let Some(first) = relays.first() else { return Ok(()) };
        image::ensure_base(&self.docker).await?;
        let exe = std::env::current_exe().and_then(|p| p.canonicalize()).map_err(|e| ExecError::Placement {
            service: who(first),
            problem: format!("cannot find this program to run in the relay container: {e}"),
        })?;
        let user = format!("{}:{}", nix::unistd::getuid(), nix::unistd::getgid());
        for r in relays {
            let what = |step: &str| format!("relay in front of `{}`: cannot {step}", r.server);
            let dir = r.config.parent().unwrap_or(Path::new("/")).to_path_buf();
            let client_net = self.network(test, &r.client_network, &who(r))?.name;
            let server_net = self.network(test, &r.server_network, &who(r))?.name;
            let endpoint = |ip: std::net::Ipv4Addr, aliases: Option<Vec<String>>| EndpointSettings {
                aliases,
                ipam_config: Some(EndpointIpamConfig { ipv4_address: Some(ip.to_string()), ..Default::default() }),
                ..Default::default()
            };
            let host_config = HostConfig {
                binds: Some(vec![
                    format!("{}:{}:ro", exe.display(), exe.display()),
                    format!("{}:{}", dir.display(), dir.display()),
                ]),
                network_mode: Some(client_net.clone()),
                cap_drop: Some(vec!["ALL".into()]),
                security_opt: Some(vec!["no-new-privileges".into()]),
                readonly_rootfs: Some(true),
                ..Default::default()
            };
            let body = ContainerCreateBody {
                image: Some(image::BASE_IMAGE.into()),
                entrypoint: Some(vec![]),
                cmd: Some(vec![exe.display().to_string(), "link-relay".into(), r.config.display().to_string()]),
                user: Some(user.clone()),
                labels: Some(self.labels(test, None)),
                host_config: Some(host_config),
                networking_config: Some(NetworkingConfig {
                    endpoints_config: Some([(client_net, endpoint(r.client_ip, Some(r.aliases.clone())))].into()),
                }),
                ..Default::default()
            };
            let name = sanitize(&format!("panther-{}-{}-relay-{}", self.run_key, test, r.server));
            let id = self.create_named(&name, body, what("create its container")).await?;
            self.state().relays.push(StartedRelay { test: test.to_string(), id: id.clone(), relay: r.clone() });
            // The daemon (API 1.41) joins one network at creation; the server's side after.
            let connect = NetworkConnectRequest {
                container: Some(id.clone()),
                endpoint_config: Some(endpoint(r.server_ip, None)),
            };
            self.docker
                .connect_network(&server_net, connect)
                .await
                .map_err(|e| docker_err(what("join the server's network"), e))?;
            self.start_id(&id, what("start its container")).await?;
            self.wait_relay_ready(&id, r).await?;
            tracing::info!(test, server = %r.server, "link relay listening at {} (server side {})", r.client_ip, r.server_ip);
        }
        Ok(())
    }

    /// Waits for the relay's ready file; a relay that exits first says why from its output.
    async fn wait_relay_ready(&self, id: &str, r: &RelayContainer) -> Result<(), ExecError> {
        let started = Instant::now();
        loop {
            if r.ready_file().exists() {
                return Ok(());
            }
            let running = self
                .docker
                .inspect_container(id, None::<bollard::query_parameters::InspectContainerOptions>)
                .await
                .ok()
                .and_then(|i| i.state?.running)
                .unwrap_or(false);
            if !running || started.elapsed() > READY_TIMEOUT {
                let output = self.relay_output(id).await;
                let _ = std::fs::write(r.log_file(), &output);
                let why =
                    if running { format!("it did not listen within {READY_TIMEOUT:?}") } else { "it exited".into() };
                return Err(ExecError::Placement {
                    service: who(r),
                    problem: format!("{why}: {}", crate::text::terminal(output.trim())),
                });
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Stops the relay containers of every test this executor served, so each writes its
    /// counts, and keeps their output beside their configuration. Teardown removes them.
    pub(super) async fn stop_relay_containers(&self) {
        let started = std::mem::take(&mut self.state().relays);
        for s in started {
            let t = STOP_GRACE.as_secs() as i32;
            if let Err(e) =
                self.docker.stop_container(&s.id, Some(StopContainerOptions { t: Some(t), signal: None })).await
            {
                tracing::warn!(test = %s.test, server = %s.relay.server, "cannot stop the link relay: {e}");
            }
            let output = self.relay_output(&s.id).await;
            if let Err(e) = std::fs::write(s.relay.log_file(), output) {
                tracing::debug!("cannot keep the relay's output: {e}");
            }
        }
    }

    /// What a relay container printed (both streams, bounded).
    async fn relay_output(&self, id: &str) -> String {
        let mut out = Vec::new();
        let mut s = self.docker.logs(id, Some(LogsOptions { stdout: true, stderr: true, ..Default::default() }));
        while let Some(Ok(item)) = s.next().await {
            out.extend_from_slice(&item.into_bytes());
            if out.len() > 64 << 10 {
                break;
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    }
}
