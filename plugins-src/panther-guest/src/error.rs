//! Short constructors for [`PluginError`], so that every refusal reads the same way:
//! lower-case, naming the culprit and saying what would work instead.

use crate::{ParamProblem, PluginError};

/// The plugin does not have this role, version, source or environment. `what` names it and,
/// ideally, what the plugin does have (`"role mitm (quinn has server, client)"`).
pub fn unsupported(what: impl Into<String>) -> PluginError {
    PluginError::Unsupported(what.into())
}

/// A parameter the host validated by type but the plugin cannot use.
pub fn invalid_param(name: &str, message: impl Into<String>) -> PluginError {
    PluginError::InvalidParam(ParamProblem {
        name: name.to_string(),
        message: message.into(),
    })
}

/// A bug in the plugin (a missing default, a table that does not match its declarations).
pub fn internal(message: impl Into<String>) -> PluginError {
    PluginError::Internal(message.into())
}
