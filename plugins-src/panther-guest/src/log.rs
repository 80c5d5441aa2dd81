//! The host's `log` import. Messages go to the host's tracing output, labelled with the
//! plugin's name; the host bounds their size and number, so log decisions, not data.

use crate::bindings::panther::plugin::host::{self, Level};

pub fn trace(message: &str) {
    host::log(Level::Trace, message);
}

pub fn debug(message: &str) {
    host::log(Level::Debug, message);
}

pub fn info(message: &str) {
    host::log(Level::Info, message);
}

pub fn warn(message: &str) {
    host::log(Level::Warn, message);
}

pub fn error(message: &str) {
    host::log(Level::Error, message);
}
