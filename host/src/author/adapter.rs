//! A WASI preview 1 adapter that grants nothing, for core modules whose runtime imports
//! preview 1 calls the standard adapter can only serve through `wasi:filesystem` (Go's runtime
//! always imports `fd_write` for panic messages and `poll_oneoff` for its scheduler's sleep).
//!
//! It is generated per module, as WebAssembly text, and imports nothing but the main module's
//! memory and the contract's own `host.log`:
//!
//! * `fd_write` to stdout or stderr becomes `log` (info or warn), so a panic message still
//!   reaches the author; any other descriptor is `EBADF`.
//! * Clocks and random are the host's semantics, kept inside the adapter: time is virtual (it
//!   starts at the host's fixed wall clock, advances a fixed step per read, and a sleep in
//!   `poll_oneoff` advances it to the deadline instead of waiting), random is a fixed-seed
//!   xorshift. The same request still yields the same plan.
//! * No arguments, no environment; `proc_exit` traps (the host reports the call as failed).
//! * `adapter_monotonic_clock_set_paused`, which Go's bindings call around `cabi_realloc`,
//!   stops the virtual clock (the standard adapter of wasmtime 48 does not have it).
//! * Every other preview 1 function the module imports answers `EBADF` (descriptors) or
//!   `ENOSYS`, with the module's own signature, so the component links and those calls fail
//!   the way they would on a system with no files.
//!
//! The result imports no `wasi:filesystem`, so admission's rule "plugins get no files" holds
//! for Go plugins as for every other.

use std::fmt::Write as _;

use crate::plugin::sandbox::{FIXED_WALL_CLOCK_SECS, MONOTONIC_STEP_NS};

/// A preview 1 import of the main module: its name, parameter and result types.
pub struct Import {
    pub name: String,
    pub params: Vec<wasmparser::ValType>,
    pub results: Vec<wasmparser::ValType>,
}

/// The calls the adapter implements, with the signatures preview 1 gives them.
const IMPLEMENTED: &[&str] = &[
    "fd_write",
    "poll_oneoff",
    "clock_time_get",
    "clock_res_get",
    "random_get",
    "args_sizes_get",
    "args_get",
    "environ_sizes_get",
    "environ_get",
    "sched_yield",
    "proc_exit",
    "adapter_monotonic_clock_set_paused",
];

const ERRNO_BADF: i32 = 8;
const ERRNO_NOSYS: i32 = 52;

/// The adapter for `imports` (the main module's `wasi_snapshot_preview1` imports), as a core
/// module whose `component-type` section says it imports `panther:plugin/host@VERSION`.
pub fn module(imports: &[Import], contract_version: &str) -> Result<Vec<u8>, String> {
    let mut wat = core_text(contract_version);
    for i in imports.iter().filter(|i| !IMPLEMENTED.contains(&i.name.as_str())) {
        wat.push_str(&refusal(i)?);
    }
    wat.push_str(")\n");
    let mut bytes = wat::parse_str(&wat).map_err(|e| format!("the generated adapter does not assemble: {e}"))?;
    let (resolve, world) = adapter_world(contract_version)?;
    wit_component::embed_component_metadata(&mut bytes, &resolve, world, wit_component::StringEncoding::UTF8)
        .map_err(|e| format!("{e:#}"))?;
    Ok(bytes)
}

/// The world the adapter's imports belong to: the contract's `host`, nothing else.
fn adapter_world(version: &str) -> Result<(wit_parser::Resolve, wit_parser::WorldId), String> {
    let mut map = wit_parser::SourceMap::new();
    for (name, text) in super::componentize::CONTRACT_WIT {
        map.push(std::path::Path::new(name), *text);
    }
    map.push(
        std::path::Path::new("preview1-adapter.wit"),
        format!("package panther:plugin@{version};\nworld preview1-adapter {{ import host; }}\n"),
    );
    let group = map.parse().map_err(|(_, e)| e.to_string())?;
    let mut resolve = wit_parser::Resolve::default();
    let pkg = resolve.push_group(group).map_err(|e| format!("{e:#}"))?;
    let world = resolve.select_world(&[pkg], Some("preview1-adapter")).map_err(|e| format!("{e:#}"))?;
    Ok((resolve, world))
}

/// A stub with the module's own signature for a preview 1 call the adapter does not grant.
fn refusal(i: &Import) -> Result<String, String> {
    if i.results != [wasmparser::ValType::I32] {
        return Err(format!(
            "`{}` is not a preview 1 function this adapter knows (its results are {:?}, not an errno)",
            i.name, i.results
        ));
    }
    let errno = if i.name.starts_with("fd_") { ERRNO_BADF } else { ERRNO_NOSYS };
    let mut params = String::new();
    for p in &i.params {
        let t = match p {
            wasmparser::ValType::I32 => "i32",
            wasmparser::ValType::I64 => "i64",
            wasmparser::ValType::F32 => "f32",
            wasmparser::ValType::F64 => "f64",
            other => return Err(format!("`{}` takes a {other:?}, which no preview 1 function does", i.name)),
        };
        let _ = write!(params, " {t}");
    }
    let params = if params.is_empty() { String::new() } else { format!("(param{params})") };
    Ok(format!("  (func (export \"{}\") {params} (result i32) i32.const {errno})\n", i.name))
}

/// The implemented calls. Layouts are preview 1's: an iovec is {ptr u32, len u32}; a
/// subscription is 48 bytes (userdata u64 @0, tag u8 @8, clock timeout u64 @24, flags u16 @40,
/// clock id u32 @16); an event is 32 bytes (userdata @0, errno u16 @8, type u8 @10).
fn core_text(version: &str) -> String {
    let fixed_ns = FIXED_WALL_CLOCK_SECS as i64 * 1_000_000_000;
    let step = MONOTONIC_STEP_NS as i64;
    format!(
        r#"(module
  (import "env" "memory" (memory 0))
  (import "panther:plugin/host@{version}" "log" (func $log (param i32 i32 i32)))
  ;; Virtual monotonic time in nanoseconds; the wall clock is the host's fixed one plus it.
  (global $now (mut i64) (i64.const 0))
  (global $rng (mut i64) (i64.const 0x2545f4914f6cdd1d))
  (global $paused (mut i32) (i32.const 0))

  ;; stdout (1) becomes info, stderr (2) warn; each non-empty buffer is one message.
  (func (export "fd_write") (param $fd i32) (param $iovs i32) (param $n i32) (param $written i32) (result i32)
    (local $i i32) (local $iov i32) (local $len i32) (local $total i32)
    (if (i32.and (i32.ne (local.get $fd) (i32.const 1)) (i32.ne (local.get $fd) (i32.const 2)))
      (then (return (i32.const {badf}))))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $iov (i32.add (local.get $iovs) (i32.shl (local.get $i) (i32.const 3))))
        (local.set $len (i32.load offset=4 (local.get $iov)))
        (if (local.get $len)
          (then (call $log (i32.add (local.get $fd) (i32.const 1)) (i32.load (local.get $iov)) (local.get $len))))
        (local.set $total (i32.add (local.get $total) (local.get $len)))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (i32.store (local.get $written) (local.get $total))
    (i32.const 0))

  ;; Every subscription fires at once. A clock subscription moves virtual time to its deadline,
  ;; so a sleeping scheduler wakes with its timer due instead of spinning.
  (func (export "poll_oneoff") (param $in i32) (param $out i32) (param $n i32) (param $nevents i32) (result i32)
    (local $i i32) (local $s i32) (local $e i32) (local $start i64) (local $deadline i64)
    (local.set $start (global.get $now))
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $n)))
        (local.set $s (i32.add (local.get $in) (i32.mul (local.get $i) (i32.const 48))))
        (local.set $e (i32.add (local.get $out) (i32.mul (local.get $i) (i32.const 32))))
        (if (i32.eqz (i32.load8_u offset=8 (local.get $s)))
          (then
            (local.set $deadline (i64.load offset=24 (local.get $s)))
            (if (i32.and (i32.load16_u offset=40 (local.get $s)) (i32.const 1))
              (then
                (if (i32.eqz (i32.load offset=16 (local.get $s)))
                  (then (local.set $deadline (i64.sub (local.get $deadline) (i64.const {fixed_ns}))))))
              (else (local.set $deadline (i64.add (local.get $start) (local.get $deadline)))))
            (if (i64.gt_s (local.get $deadline) (global.get $now))
              (then (global.set $now (local.get $deadline))))))
        (i64.store (local.get $e) (i64.load (local.get $s)))
        (i32.store16 offset=8 (local.get $e) (i32.const 0))
        (i32.store8 offset=10 (local.get $e) (i32.load8_u offset=8 (local.get $s)))
        (i64.store offset=16 (local.get $e) (i64.const 0))
        (i64.store offset=24 (local.get $e) (i64.const 0))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (i32.store (local.get $nevents) (local.get $n))
    (i32.const 0))

  (func (export "clock_time_get") (param $id i32) (param $precision i64) (param $out i32) (result i32)
    (if (i32.eqz (global.get $paused))
      (then (global.set $now (i64.add (global.get $now) (i64.const {step})))))
    (i64.store (local.get $out)
      (select (i64.add (global.get $now) (i64.const {fixed_ns})) (global.get $now) (i32.eqz (local.get $id))))
    (i32.const 0))

  (func (export "clock_res_get") (param $id i32) (param $out i32) (result i32)
    (i64.store (local.get $out) (i64.const {step}))
    (i32.const 0))

  ;; xorshift64*: the same bytes in every call, as the host's seeded random gives.
  (func (export "random_get") (param $buf i32) (param $len i32) (result i32)
    (local $i i32) (local $x i64)
    (block $done
      (loop $next
        (br_if $done (i32.ge_u (local.get $i) (local.get $len)))
        (local.set $x (global.get $rng))
        (local.set $x (i64.xor (local.get $x) (i64.shr_u (local.get $x) (i64.const 12))))
        (local.set $x (i64.xor (local.get $x) (i64.shl (local.get $x) (i64.const 25))))
        (local.set $x (i64.xor (local.get $x) (i64.shr_u (local.get $x) (i64.const 27))))
        (global.set $rng (local.get $x))
        (i32.store8 (i32.add (local.get $buf) (local.get $i))
          (i32.wrap_i64 (i64.shr_u (i64.mul (local.get $x) (i64.const 0x2545f4914f6cdd1d)) (i64.const 56))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $next)))
    (i32.const 0))

  (func (export "args_sizes_get") (param $argc i32) (param $size i32) (result i32)
    (i32.store (local.get $argc) (i32.const 0))
    (i32.store (local.get $size) (i32.const 0))
    (i32.const 0))
  (func (export "args_get") (param i32 i32) (result i32) (i32.const 0))
  (func (export "environ_sizes_get") (param $count i32) (param $size i32) (result i32)
    (i32.store (local.get $count) (i32.const 0))
    (i32.store (local.get $size) (i32.const 0))
    (i32.const 0))
  (func (export "environ_get") (param i32 i32) (result i32) (i32.const 0))
  (func (export "sched_yield") (result i32) (i32.const 0))
  (func (export "proc_exit") (param i32) unreachable)

  ;; Go's bindings pause the clock around `cabi_realloc`, where imports are forbidden (newer
  ;; standard adapters cache the time then). This clock imports nothing; paused, it stands still.
  (func (export "adapter_monotonic_clock_set_paused") (param i32) (global.set $paused (local.get 0)))
"#,
        badf = ERRNO_BADF,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasmparser::ValType::{I32, I64};

    fn import(name: &str, params: &[wasmparser::ValType]) -> Import {
        Import { name: name.into(), params: params.to_vec(), results: vec![I32] }
    }

    #[test]
    fn it_assembles_with_stubs_in_the_modules_own_signatures() {
        let m = module(
            &[import("fd_write", &[I32; 4]), import("path_open", &[I32, I32, I32, I32, I32, I64, I64, I32, I32])],
            "0.2.0",
        )
        .unwrap();
        let mut exports = vec![];
        let mut imports = vec![];
        for p in wasmparser::Parser::new(0).parse_all(&m) {
            match p.unwrap() {
                wasmparser::Payload::ExportSection(s) => {
                    exports.extend(s.into_iter().map(|e| e.unwrap().name.to_string()))
                }
                wasmparser::Payload::ImportSection(s) => {
                    for i in s.into_imports() {
                        let i = i.unwrap();
                        imports.push(format!("{}.{}", i.module, i.name));
                    }
                }
                _ => {}
            }
        }
        assert!(
            exports.contains(&"path_open".to_string()) && exports.contains(&"poll_oneoff".to_string()),
            "{exports:?}"
        );
        assert_eq!(imports, ["env.memory", "panther:plugin/host@0.2.0.log"]);
    }

    #[test]
    fn an_import_that_is_not_preview1_shaped_is_named() {
        let odd = Import { name: "weird".into(), params: vec![], results: vec![I64] };
        assert!(module(&[odd], "0.2.0").unwrap_err().contains("`weird`"));
    }
}
