//! Plugins: discovery, verification, the sandbox they run in, and calls into them.
pub mod wit;
pub use wit::latest::types;
