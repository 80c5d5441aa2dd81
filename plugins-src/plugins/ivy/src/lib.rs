//! The `ivy` tester plugin: PANTHER's formal Ivy testers (`panther_ivy`), faithfully.
//!
//! Owns the QUIC test catalogue ([`catalogue`]), the argument rendering with role inversion
//! ([`catalogue::run_args`]), the verdict rules over the tester's output ([`verdict`]) and
//! the wasm glue (`glue`, compiled for wasm32 only). The pure parts are unit-tested natively.

pub mod catalogue;
pub mod verdict;

#[cfg(target_arch = "wasm32")]
mod glue;
