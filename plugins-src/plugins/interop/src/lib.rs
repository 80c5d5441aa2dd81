//! The `interop` tester plugin: quic-interop-runner test cases, judged from evidence.
//!
//! Owns the plugin's description, its (empty) plan and `assess`, which hands the host's
//! [`model::Outcome`] to [`judge::judge`]. The judging logic lives in [`judge`] and
//! [`model`], plain Rust that compiles for the host too, so its tests run natively:
//! `cargo test -p interop --target x86_64-unknown-linux-gnu`.
//!
//! The interop tester runs no process of its own: the IUTs are the endpoints, the host
//! captures their traffic, and this plugin only judges. Its `plan` therefore returns an empty
//! plan (no commands, no ports), which the host treats as "nothing to run".

pub mod judge;
pub mod model;

#[cfg(target_arch = "wasm32")]
mod glue;

#[cfg(test)]
mod tests;
