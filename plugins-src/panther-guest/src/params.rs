//! Parameters: [`ParamSpec`] constructors for `describe`, and typed access to
//! [`PlanRequest::params`] for `plan`.
//!
//! The host validates experiment values against the declarations and fills in defaults before
//! it calls `plan`, so a declared parameter with a default is always present; a missing one is
//! a plugin bug ([`PluginError::Internal`]), a wrongly typed one too.

use crate::{error, ParamSpec, ParamType, ParamValue, PlanRequest, PluginError};

impl ParamSpec {
    /// An optional string parameter with a default.
    pub fn string(name: &str, default: &str, doc: &str) -> ParamSpec {
        spec(name, ParamType::String, Some(ParamValue::String(default.into())), doc)
    }

    /// A string parameter that must be one of `choices`; the default is the first choice.
    pub fn choice(name: &str, choices: &[&str], doc: &str) -> ParamSpec {
        let mut p = spec(name, ParamType::String, Some(ParamValue::String(choices[0].into())), doc);
        p.choices = choices.iter().map(|s| s.to_string()).collect();
        p
    }

    pub fn integer(name: &str, default: i64, doc: &str) -> ParamSpec {
        spec(name, ParamType::Integer, Some(ParamValue::Integer(default)), doc)
    }

    pub fn boolean(name: &str, default: bool, doc: &str) -> ParamSpec {
        spec(name, ParamType::Boolean, Some(ParamValue::Boolean(default)), doc)
    }

    pub fn list(name: &str, default: &[&str], doc: &str) -> ParamSpec {
        spec(
            name,
            ParamType::List,
            Some(ParamValue::List(default.iter().map(|s| s.to_string()).collect())),
            doc,
        )
    }

    /// A parameter the experiment must give (no default).
    pub fn required(mut self) -> ParamSpec {
        self.required = true;
        self.default = None;
        self
    }
}

fn spec(name: &str, ty: ParamType, default: Option<ParamValue>, doc: &str) -> ParamSpec {
    ParamSpec {
        name: name.into(),
        ty,
        default,
        doc: doc.into(),
        required: false,
        choices: Vec::new(),
    }
}

/// Refuses a request whose string or list parameter is not one of the choices `info` declares
/// for it, as `invalid-param` naming the parameter. The host checks experiment files against
/// the same declarations, so this matters for requests that did not come through it (another
/// host, `panther-host plugins test`); it runs before any plan logic, so every plugin answers
/// a bad choice the same way.
pub fn check_choices(info: &crate::PluginInfo, req: &PlanRequest) -> Result<(), PluginError> {
    for spec in info.parameters.iter().filter(|p| !p.choices.is_empty()) {
        let given: Vec<&str> = match req.param(&spec.name) {
            Some(ParamValue::String(s)) => vec![s.as_str()],
            Some(ParamValue::List(l)) => l.iter().map(String::as_str).collect(),
            _ => continue,
        };
        if let Some(bad) = given.into_iter().find(|v| !spec.choices.iter().any(|c| c == v)) {
            return Err(error::invalid_param(
                &spec.name,
                format!("`{bad}` is not one of {}", spec.choices.join(", ")),
            ));
        }
    }
    Ok(())
}

/// Typed access to a plan request's parameters.
pub trait Params {
    fn param(&self, name: &str) -> Option<&ParamValue>;

    /// A string parameter; an error when it is missing or not a string.
    fn param_str(&self, name: &str) -> Result<&str, PluginError> {
        match self.param(name) {
            Some(ParamValue::String(s)) => Ok(s),
            other => Err(wrong(name, "string", other)),
        }
    }

    fn param_int(&self, name: &str) -> Result<i64, PluginError> {
        match self.param(name) {
            Some(ParamValue::Integer(i)) => Ok(*i),
            other => Err(wrong(name, "integer", other)),
        }
    }

    fn param_bool(&self, name: &str) -> Result<bool, PluginError> {
        match self.param(name) {
            Some(ParamValue::Boolean(b)) => Ok(*b),
            other => Err(wrong(name, "boolean", other)),
        }
    }

    fn param_list(&self, name: &str) -> Result<&[String], PluginError> {
        match self.param(name) {
            Some(ParamValue::List(l)) => Ok(l),
            other => Err(wrong(name, "list", other)),
        }
    }

    /// An integer parameter that must fit a `u16` (ports, AS numbers of 2 bytes).
    fn param_u16(&self, name: &str) -> Result<u16, PluginError> {
        let v = self.param_int(name)?;
        u16::try_from(v).map_err(|_| error::invalid_param(name, format!("{v} is not between 0 and 65535")))
    }
}

impl Params for PlanRequest {
    fn param(&self, name: &str) -> Option<&ParamValue> {
        self.params.iter().find(|(k, _)| k == name).map(|(_, v)| v)
    }
}

fn wrong(name: &str, want: &str, got: Option<&ParamValue>) -> PluginError {
    match got {
        None => error::internal(format!(
            "parameter `{name}` is missing: the host fills in declared defaults, so it is not declared with one"
        )),
        Some(v) => error::internal(format!("parameter `{name}` is a {}, the plugin expects a {want}", kind(v))),
    }
}

fn kind(v: &ParamValue) -> &'static str {
    match v {
        ParamValue::String(_) => "string",
        ParamValue::Integer(_) => "integer",
        ParamValue::Boolean(_) => "boolean",
        ParamValue::Float(_) => "float",
        ParamValue::List(_) => "list",
    }
}
