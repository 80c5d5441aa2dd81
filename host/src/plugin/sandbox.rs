//! The sandbox a plugin call runs in: one wasmtime engine, a linker that grants nothing, and a
//! fresh store per call with fuel, an epoch deadline, a memory cap and a bounded stderr.
//!
//! What a guest gets (the whole list):
//! * WASI 0.2 linked *empty*: no preopened directories, environment, arguments or sockets;
//!   stdin closed; stdout and stderr go into a bounded in-memory buffer the host reads when a
//!   call fails; the wall clock is fixed at [`FIXED_WALL_CLOCK_SECS`]; the monotonic clock starts
//!   at zero and advances a fixed step per read; both random sources are seeded constants. The
//!   same request therefore always yields the same plan. `wasi:filesystem` and `wasi:sockets`
//!   are not even linked: `verify` refuses components that import them.
//! * `panther:plugin/host.log`, routed into `tracing` with the plugin's name, at most
//!   [`MAX_LOG_MESSAGES`] messages of at most [`MAX_LOG_MESSAGE_BYTES`] bytes per call, each
//!   with its control characters escaped ([`crate::text::terminal`]).
//!
//! Owns the mapping from a trap to the limit that caused it ([`LimitHit`]). Does not know
//! about files, caches or plugin names beyond labelling.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use wasmtime::component::{HasSelf, Linker, ResourceTable};
use wasmtime::{Config, Engine, ResourceLimiter, Store, Trap};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamError, StreamResult};
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use super::error::LimitHit;
use super::wit::{since_v0_1_0 as v0_1, since_v0_2_0 as v0_2};
use super::Limits;

/// How often the ticker thread advances the engine's epoch; the deadline's resolution.
pub const EPOCH_TICK: Duration = Duration::from_millis(10);
/// The wall clock every guest sees: 2020-01-01T00:00:00Z. Plans must not depend on the time.
pub const FIXED_WALL_CLOCK_SECS: u64 = 1_577_836_800;
/// Each read of the monotonic clock advances it by this much, so loops that wait for time to
/// pass still end (deterministically) instead of spinning until the deadline.
pub const MONOTONIC_STEP_NS: u64 = 1_000;
/// Log messages accepted per call; the rest are counted and reported once.
pub const MAX_LOG_MESSAGES: usize = 256;
/// Longest log message kept; longer ones are cut.
pub const MAX_LOG_MESSAGE_BYTES: usize = 4096;
/// Most random bytes a guest may ask for in one WASI call (wasmtime's default is 64 MiB, which
/// a guest could use to make the host allocate).
pub const MAX_RANDOM_BYTES: u64 = 64 << 10;
/// Resource handles (streams, pollables) a guest may hold at once.
pub const MAX_RESOURCES: usize = 1024;
/// Core instances, tables and memories a component may create: generous for any toolchain's
/// shims, small enough to stop a guest from multiplying them.
const MAX_INSTANCES: usize = 64;
const MAX_TABLES: usize = 64;
const MAX_MEMORIES: usize = 8;
const MAX_TABLE_ELEMENTS: usize = 1 << 20;

const RANDOM_SEED: &[u8] = b"panther-host deterministic plugin randomness";

/// Creates the engine every plugin runs on.
pub fn engine(limits: &Limits) -> Result<Engine, String> {
    let mut cfg = Config::new();
    cfg.wasm_component_model(true);
    cfg.consume_fuel(true);
    cfg.epoch_interruption(true);
    cfg.max_wasm_stack(limits.max_wasm_stack);
    // Deterministic floating point, so a plan cannot differ between machines.
    cfg.cranelift_nan_canonicalization(true);
    Engine::new(&cfg).map_err(|e| format!("{e:#}"))
}

/// Starts the thread that advances `engine`'s epoch every [`EPOCH_TICK`]. It stops by itself
/// once the engine is dropped.
pub fn start_ticker(engine: &Engine) {
    let weak = engine.weak();
    let spawned = std::thread::Builder::new().name("panther-epoch".into()).spawn(move || loop {
        std::thread::sleep(EPOCH_TICK);
        match weak.upgrade() {
            Some(e) => e.increment_epoch(),
            None => break,
        }
    });
    if let Err(e) = spawned {
        tracing::error!("cannot start the plugin deadline ticker, deadlines will not fire: {e}");
    }
}

/// A linker with exactly what [`super::verify::ALLOWED_WASI`] lists, plus `panther:plugin/host`.
pub fn linker(engine: &Engine) -> wasmtime::Result<Linker<HostState>> {
    use wasmtime_wasi::p2::bindings::sync as w;
    use wasmtime_wasi::p2::bindings::{cli, clocks, random};
    use wasmtime_wasi::{cli::WasiCli, clocks::WasiClocks, random::WasiRandom};

    let mut l = Linker::<HostState>::new(engine);
    // Stream plumbing first; it is what stdio hands out.
    wasmtime_wasi::p2::bindings::io::error::add_to_linker::<HostState, HasTable>(&mut l, |t| &mut t.table)?;
    w::io::poll::add_to_linker::<HostState, HasTable>(&mut l, |t| &mut t.table)?;
    w::io::streams::add_to_linker::<HostState, HasTable>(&mut l, |t| &mut t.table)?;
    clocks::wall_clock::add_to_linker::<HostState, WasiClocks>(&mut l, HostState::clocks)?;
    clocks::monotonic_clock::add_to_linker::<HostState, WasiClocks>(&mut l, HostState::clocks)?;
    random::random::add_to_linker::<HostState, WasiRandom>(&mut l, |t| t.wasi.random())?;
    random::insecure::add_to_linker::<HostState, WasiRandom>(&mut l, |t| t.wasi.random())?;
    random::insecure_seed::add_to_linker::<HostState, WasiRandom>(&mut l, |t| t.wasi.random())?;
    cli::exit::add_to_linker::<HostState, WasiCli>(&mut l, HostState::cli)?;
    cli::environment::add_to_linker::<HostState, WasiCli>(&mut l, HostState::cli)?;
    cli::stdin::add_to_linker::<HostState, WasiCli>(&mut l, HostState::cli)?;
    cli::stdout::add_to_linker::<HostState, WasiCli>(&mut l, HostState::cli)?;
    cli::stderr::add_to_linker::<HostState, WasiCli>(&mut l, HostState::cli)?;
    cli::terminal_input::add_to_linker::<HostState, WasiCli>(&mut l, HostState::cli)?;
    cli::terminal_output::add_to_linker::<HostState, WasiCli>(&mut l, HostState::cli)?;
    cli::terminal_stdin::add_to_linker::<HostState, WasiCli>(&mut l, HostState::cli)?;
    cli::terminal_stdout::add_to_linker::<HostState, WasiCli>(&mut l, HostState::cli)?;
    cli::terminal_stderr::add_to_linker::<HostState, WasiCli>(&mut l, HostState::cli)?;
    // Both contract versions' `host`, each under its own name; `types` (unchanged since 0.1.0)
    // is types only, so 0.2.0's is an empty instance.
    v0_1::service::ServicePlugin::add_to_linker::<HostState, HasSelf<HostState>>(&mut l, |s| s)?;
    v0_2::host::add_to_linker::<HostState, HasSelf<HostState>>(&mut l, |s| s)?;
    l.instance("panther:plugin/types@0.2.0")?;
    Ok(l)
}

struct HasTable;
impl wasmtime::component::HasData for HasTable {
    type Data<'a> = &'a mut ResourceTable;
}

/// Everything one call's store holds.
pub struct HostState {
    wasi: WasiCtx,
    table: ResourceTable,
    limiter: Limiter,
    plugin: Arc<str>,
    logs_kept: usize,
    logs_dropped: usize,
    /// Guest stdout and stderr, interleaved, bounded.
    pub output: CapturePipe,
}

impl HostState {
    fn clocks(&mut self) -> wasmtime_wasi::clocks::WasiClocksCtxView<'_> {
        wasmtime_wasi::clocks::WasiClocksView::clocks(self)
    }
    fn cli(&mut self) -> wasmtime_wasi::cli::WasiCliCtxView<'_> {
        wasmtime_wasi::cli::WasiCliView::cli(self)
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

impl HostState {
    /// `host.log`, the one call the contract offers plugins (every version has it).
    fn log_message(&mut self, level: v0_1::host::Level, message: String) {
        if self.logs_kept >= MAX_LOG_MESSAGES {
            self.logs_dropped += 1;
            return;
        }
        self.logs_kept += 1;
        // One line, escapes shown: a plugin's message must not drive the reader's terminal.
        let msg = crate::text::terminal(&truncate(&message, MAX_LOG_MESSAGE_BYTES)).into_owned();
        let plugin = &*self.plugin;
        use v0_1::host::Level;
        match level {
            Level::Trace => tracing::trace!(plugin, "{msg}"),
            Level::Debug => tracing::debug!(plugin, "{msg}"),
            Level::Info => tracing::info!(plugin, "{msg}"),
            Level::Warn => tracing::warn!(plugin, "{msg}"),
            Level::Error => tracing::error!(plugin, "{msg}"),
        }
    }
}

impl v0_1::host::Host for HostState {
    fn log(&mut self, level: v0_1::host::Level, message: String) {
        self.log_message(level, message);
    }
}

impl v0_2::host::Host for HostState {
    fn log(&mut self, level: v0_2::host::Level, message: String) {
        use v0_1::host::Level as Old;
        use v0_2::host::Level as New;
        let level = match level {
            New::Trace => Old::Trace,
            New::Debug => Old::Debug,
            New::Info => Old::Info,
            New::Warn => Old::Warn,
            New::Error => Old::Error,
        };
        self.log_message(level, message);
    }
}

impl v0_1::types::Host for HostState {}

fn truncate(s: &str, max: usize) -> std::borrow::Cow<'_, str> {
    if s.len() <= max {
        return s.into();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… ({} bytes cut)", &s[..end], s.len() - end).into()
}

/// Makes the store for one call of `plugin`, with every limit armed.
pub fn store(engine: &Engine, plugin: Arc<str>, limits: &Limits) -> Store<HostState> {
    let output = CapturePipe::new(limits.max_output_bytes);
    let mut b = WasiCtxBuilder::new();
    b.stdout(output.clone())
        .stderr(output.clone())
        .wall_clock(FixedWallClock)
        .monotonic_clock(SteppingClock::default())
        .secure_random(wasmtime_wasi::Deterministic::new(RANDOM_SEED.to_vec()))
        .insecure_random(wasmtime_wasi::Deterministic::new(RANDOM_SEED.iter().rev().copied().collect()))
        .insecure_random_seed(0x0070_616e_7468_6572)
        .max_random_size(MAX_RANDOM_BYTES);
    let mut table = ResourceTable::new();
    table.set_max_capacity(MAX_RESOURCES);
    let state = HostState {
        wasi: b.build(),
        table,
        limiter: Limiter { memory_limit: limits.memory_bytes, memory_hit: None, memory_peak: 0 },
        plugin,
        logs_kept: 0,
        logs_dropped: 0,
        output,
    };
    let mut store = Store::new(engine, state);
    store.limiter(|s| &mut s.limiter);
    // Fuel is set before the deadline so that neither can be skipped by an early return.
    store.set_fuel(limits.fuel).expect("fuel is enabled in the engine config");
    let ticks = limits.deadline.as_millis().div_ceil(EPOCH_TICK.as_millis()) as u64;
    // +1: the deadline counts ticks from now, and the first tick may come at once.
    store.set_epoch_deadline(ticks + 1);
    store.epoch_deadline_trap();
    store
}

/// What one call used of its limits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Usage {
    pub fuel: u64,
    /// The largest linear memory of the call's instances, in bytes.
    pub memory_bytes: usize,
}

impl Usage {
    /// The larger of each.
    pub fn max(self, other: Usage) -> Usage {
        Usage { fuel: self.fuel.max(other.fuel), memory_bytes: self.memory_bytes.max(other.memory_bytes) }
    }
}

/// What the call in `store` used so far.
pub fn usage(store: &Store<HostState>, limits: &Limits) -> Usage {
    Usage {
        fuel: limits.fuel.saturating_sub(store.get_fuel().unwrap_or(0)),
        memory_bytes: store.data().limiter.memory_peak,
    }
}

/// Called after every call: reports dropped log messages once.
pub fn finish(store: &Store<HostState>) {
    let s = store.data();
    if s.logs_dropped > 0 {
        tracing::warn!(
            plugin = &*s.plugin,
            "{} more log messages dropped (at most {MAX_LOG_MESSAGES} per call)",
            s.logs_dropped
        );
    }
}

/// Works out which limit, if any, ended a call that failed with `err`.
pub fn classify(store: &Store<HostState>, err: &wasmtime::Error, limits: &Limits) -> (Option<LimitHit>, String) {
    let s = store.data();
    let message = format!("{err:#}");
    if let Some(requested) = s.limiter.memory_hit {
        return (Some(LimitHit::Memory { limit_bytes: limits.memory_bytes, requested }), message);
    }
    let hit = match err.downcast_ref::<Trap>() {
        Some(Trap::OutOfFuel) => Some(LimitHit::Fuel { budget: limits.fuel }),
        Some(Trap::Interrupt) => Some(LimitHit::Deadline { ms: limits.deadline.as_millis() as u64 }),
        Some(Trap::StackOverflow) => Some(LimitHit::Stack { max_bytes: limits.max_wasm_stack }),
        _ => panic_message(&s.output.contents()).map(|message| LimitHit::Panic { message }),
    };
    (hit, message)
}

/// Extracts a Rust guest's panic message from its stderr:
/// `thread '<unnamed>' panicked at src/lib.rs:5:9:\n<message>\nnote: ...`.
fn panic_message(stderr: &str) -> Option<String> {
    let start = stderr.find("panicked at ")?;
    let rest = &stderr[start + "panicked at ".len()..];
    let (location, body) = rest.split_once('\n').unwrap_or((rest, ""));
    let location = location.trim_end_matches(':');
    let text: Vec<&str> = body.lines().take_while(|l| !l.starts_with("note: ")).collect();
    let text = text.join("\n");
    Some(if text.trim().is_empty() {
        format!("panicked at {location}")
    } else {
        format!("{} (at {location})", text.trim())
    })
}

/// Caps linear memory and records what the guest asked for, so the error can say it.
struct Limiter {
    memory_limit: usize,
    memory_hit: Option<usize>,
    /// The largest linear memory the call grew to, for [`Usage`].
    memory_peak: usize,
}

impl ResourceLimiter for Limiter {
    fn memory_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        self.memory_peak = self.memory_peak.max(desired);
        if desired > self.memory_limit {
            self.memory_hit = Some(desired);
            wasmtime::bail!("memory limit: growing to {desired} bytes exceeds {} bytes", self.memory_limit);
        }
        Ok(true)
    }
    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        if desired > MAX_TABLE_ELEMENTS {
            wasmtime::bail!("table limit: growing to {desired} elements exceeds {MAX_TABLE_ELEMENTS}");
        }
        Ok(true)
    }
    fn instances(&self) -> usize {
        MAX_INSTANCES
    }
    fn tables(&self) -> usize {
        MAX_TABLES
    }
    fn memories(&self) -> usize {
        MAX_MEMORIES
    }
}

struct FixedWallClock;

impl wasmtime_wasi::HostWallClock for FixedWallClock {
    fn resolution(&self) -> Duration {
        Duration::from_secs(1)
    }
    fn now(&self) -> Duration {
        Duration::from_secs(FIXED_WALL_CLOCK_SECS)
    }
}

#[derive(Default)]
struct SteppingClock(AtomicU64);

impl wasmtime_wasi::HostMonotonicClock for SteppingClock {
    fn resolution(&self) -> u64 {
        MONOTONIC_STEP_NS
    }
    fn now(&self) -> u64 {
        self.0.fetch_add(MONOTONIC_STEP_NS, Ordering::Relaxed)
    }
}

/// Guest stdout/stderr: keeps the first `capacity` bytes and silently drops the rest, so a
/// chatty guest neither traps nor makes the host allocate.
#[derive(Clone)]
pub struct CapturePipe {
    buf: Arc<Mutex<Vec<u8>>>,
    capacity: usize,
}

impl CapturePipe {
    fn new(capacity: usize) -> CapturePipe {
        CapturePipe { buf: Arc::new(Mutex::new(Vec::new())), capacity }
    }

    /// What the guest wrote, lossily decoded.
    pub fn contents(&self) -> String {
        String::from_utf8_lossy(&self.buf.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
    }

    fn push(&self, data: &[u8]) {
        let mut b = self.buf.lock().unwrap_or_else(|e| e.into_inner());
        let room = self.capacity.saturating_sub(b.len());
        b.extend_from_slice(&data[..data.len().min(room)]);
    }
}

impl wasmtime_wasi::cli::IsTerminal for CapturePipe {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl wasmtime_wasi::cli::StdoutStream for CapturePipe {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }
    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for CapturePipe {
    async fn ready(&mut self) {}
}

impl OutputStream for CapturePipe {
    fn write(&mut self, bytes: bytes::Bytes) -> StreamResult<()> {
        self.push(&bytes);
        Ok(())
    }
    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }
    fn check_write(&mut self) -> Result<usize, StreamError> {
        Ok(64 << 10)
    }
}

impl tokio::io::AsyncWrite for CapturePipe {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        self.push(buf);
        std::task::Poll::Ready(Ok(buf.len()))
    }
    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panic_message_is_extracted() {
        let err = "thread '<unnamed>' panicked at src/lib.rs:48:24:\nboom on `x`\nnote: run with `RUST_BACKTRACE=1`\n";
        assert_eq!(panic_message(err).unwrap(), "boom on `x` (at src/lib.rs:48:24)");
        assert_eq!(panic_message("nothing here"), None);
    }

    #[test]
    fn capture_pipe_is_bounded() {
        let p = CapturePipe::new(4);
        p.push(b"abcdef");
        p.push(b"gh");
        assert_eq!(p.contents(), "abcd");
    }
}
