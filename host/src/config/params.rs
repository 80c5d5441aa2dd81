//! Typing plugin parameters against a plugin's declarations ([`ParamSpec`]).
//!
//! Owns the conversion of experiment values (TOML) and command-line or network values (text)
//! into [`ParamValue`]s, with defaults filled in and every mismatch worded the same way.
//! Does not know where a value was written: callers add the location.

use std::collections::BTreeMap;

use crate::plugin::types::{ParamSpec, ParamType, ParamValue, PluginInfo};

use super::error::{similar, ticked};

/// How a parameter type reads in messages: "a string", "an integer".
pub fn type_name(t: ParamType) -> &'static str {
    match t {
        ParamType::String => "a string",
        ParamType::Integer => "an integer",
        ParamType::Boolean => "a boolean",
        ParamType::Float => "a number",
        ParamType::List => "a list of strings",
    }
}

/// An example value of a type, for help lines.
pub fn example(spec: &ParamSpec) -> String {
    if let Some(c) = spec.choices.first() {
        return match spec.ty {
            ParamType::List => format!("[\"{c}\"]"),
            _ => format!("\"{c}\""),
        };
    }
    match spec.ty {
        ParamType::String => "\"...\"".into(),
        ParamType::Integer => "10".into(),
        ParamType::Boolean => "true".into(),
        ParamType::Float => "1.5".into(),
        ParamType::List => "[\"a\", \"b\"]".into(),
    }
}

/// A parameter value as experiment files write it (`"debian"`, `10`, `["a", "b"]`).
pub fn display_value(v: &ParamValue) -> String {
    match v {
        ParamValue::String(s) => format!("{s:?}"),
        ParamValue::Integer(i) => i.to_string(),
        ParamValue::Boolean(b) => b.to_string(),
        ParamValue::Float(f) => f.to_string(),
        ParamValue::List(l) => format!("[{}]", l.iter().map(|s| format!("{s:?}")).collect::<Vec<_>>().join(", ")),
    }
}

/// Why a value does not fit its declaration. `Display` is lower-case and names the parameter.
#[derive(Debug, Clone, PartialEq)]
pub enum Mismatch {
    /// Wrong type; `found` reads like "integer `5`".
    Type { param: String, expected: &'static str, found: String },
    /// Not one of the declared choices.
    Choice { param: String, value: String, choices: Vec<String> },
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Mismatch::Type { param, expected, found } => {
                write!(f, "parameter `{param}` expects {expected}, found {found}")
            }
            Mismatch::Choice { param, value, choices } => {
                write!(f, "`{value}` is not a valid `{param}`: choose one of {}", ticked(choices))
            }
        }
    }
}

impl Mismatch {
    /// A suggestion for the closest choice, when there is one.
    pub fn hint(&self) -> Option<String> {
        match self {
            Mismatch::Choice { value, choices, .. } => {
                similar(value, choices.iter().map(String::as_str)).first().map(|s| format!("did you mean `{s}`?"))
            }
            Mismatch::Type { .. } => None,
        }
    }
}

fn check_choices(spec: &ParamSpec, v: ParamValue) -> Result<ParamValue, Mismatch> {
    if spec.choices.is_empty() {
        return Ok(v);
    }
    let bad = match &v {
        ParamValue::String(s) => (!spec.choices.contains(s)).then(|| s.clone()),
        ParamValue::List(items) => items.iter().find(|s| !spec.choices.contains(s)).cloned(),
        _ => None,
    };
    match bad {
        Some(value) => Err(Mismatch::Choice { param: spec.name.clone(), value, choices: spec.choices.clone() }),
        None => Ok(v),
    }
}

fn toml_found(v: &toml::Value) -> String {
    match v {
        toml::Value::String(s) => format!("string `{s:?}`"),
        toml::Value::Integer(i) => format!("integer `{i}`"),
        toml::Value::Float(f) => format!("float `{f}`"),
        toml::Value::Boolean(b) => format!("boolean `{b}`"),
        toml::Value::Datetime(d) => format!("datetime `{d}`"),
        toml::Value::Array(_) => "an array".into(),
        toml::Value::Table(_) => "a table".into(),
    }
}

/// Types a value from an experiment file. An integer is accepted where a number is declared.
///
/// # Errors
/// A [`Mismatch`] for the wrong type or a value outside the declared choices.
pub fn from_toml(spec: &ParamSpec, v: &toml::Value) -> Result<ParamValue, Mismatch> {
    let typed = match (spec.ty, v) {
        (ParamType::String, toml::Value::String(s)) => Some(ParamValue::String(s.clone())),
        (ParamType::Integer, toml::Value::Integer(i)) => Some(ParamValue::Integer(*i)),
        (ParamType::Boolean, toml::Value::Boolean(b)) => Some(ParamValue::Boolean(*b)),
        (ParamType::Float, toml::Value::Float(f)) => Some(ParamValue::Float(*f)),
        (ParamType::Float, toml::Value::Integer(i)) => Some(ParamValue::Float(*i as f64)),
        (ParamType::List, toml::Value::Array(items)) => {
            items.iter().map(|i| i.as_str().map(String::from)).collect::<Option<Vec<_>>>().map(ParamValue::List)
        }
        _ => None,
    };
    let found = match v {
        toml::Value::Array(items) => match items.iter().find(|i| !i.is_str()) {
            Some(i) => format!("an array holding {}", toml_found(i)),
            None => toml_found(v),
        },
        _ => toml_found(v),
    };
    let typed =
        typed.ok_or_else(|| Mismatch::Type { param: spec.name.clone(), expected: type_name(spec.ty), found })?;
    check_choices(spec, typed)
}

/// Types a value given as text (`--param k=v`, network parameters). Lists are comma-separated.
///
/// # Errors
/// A [`Mismatch`] when the text does not read as the declared type or is not a choice.
pub fn from_text(spec: &ParamSpec, text: &str) -> Result<ParamValue, Mismatch> {
    let mismatch =
        || Mismatch::Type { param: spec.name.clone(), expected: type_name(spec.ty), found: format!("`{text}`") };
    let typed = match spec.ty {
        ParamType::String => ParamValue::String(text.to_string()),
        ParamType::Integer => ParamValue::Integer(text.trim().parse().map_err(|_| mismatch())?),
        ParamType::Boolean => ParamValue::Boolean(match text.trim() {
            "true" => true,
            "false" => false,
            _ => return Err(mismatch()),
        }),
        ParamType::Float => ParamValue::Float(text.trim().parse().map_err(|_| mismatch())?),
        ParamType::List => {
            ParamValue::List(text.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect())
        }
    };
    check_choices(spec, typed)
}

/// The value of a parameter when the experiment gives none, if the plugin declares one.
pub fn default_of(spec: &ParamSpec) -> Option<ParamValue> {
    spec.default.clone()
}

/// Resolves `--param NAME=VALUE` pairs against a plugin's declarations, filling defaults; the
/// result is in declaration order, as plugins receive it.
///
/// # Errors
/// One line per problem: unknown names (with suggestions), wrong types, missing required ones.
pub fn resolve_cli(info: &PluginInfo, given: &BTreeMap<String, String>) -> Result<Vec<(String, ParamValue)>, String> {
    let mut problems = vec![];
    for name in given.keys() {
        if !info.parameters.iter().any(|p| &p.name == name) {
            problems.push(unknown_message(info, name));
        }
    }
    let mut out = vec![];
    for spec in &info.parameters {
        match given.get(&spec.name) {
            Some(text) => match from_text(spec, text) {
                Ok(v) => out.push((spec.name.clone(), v)),
                Err(m) => problems.push(match m.hint() {
                    Some(h) => format!("{m}; {h}"),
                    None => m.to_string(),
                }),
            },
            None => match default_of(spec) {
                Some(v) => out.push((spec.name.clone(), v)),
                None if spec.required => problems.push(format!(
                    "plugin `{}` requires parameter `{}` ({}); give it with `--param {}={}`",
                    info.name,
                    spec.name,
                    spec.doc,
                    spec.name,
                    example(spec).trim_matches('"')
                )),
                None => {}
            },
        }
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(problems.join("\n"))
    }
}

/// "plugin `x` has no parameter `y`; did you mean `z`? (it takes ...)".
pub(crate) fn unknown_message(info: &PluginInfo, name: &str) -> String {
    let (message, help) = unknown_parts(info, name);
    format!("{message}; {help}")
}

/// The message and the help line for an unknown parameter name.
pub(crate) fn unknown_parts(info: &PluginInfo, name: &str) -> (String, String) {
    let names: Vec<&str> = info.parameters.iter().map(|p| p.name.as_str()).collect();
    let takes =
        if names.is_empty() { "it takes no parameters".to_string() } else { format!("it takes {}", ticked(&names)) };
    let help = match similar(name, names.iter().copied()).first() {
        Some(s) => format!("did you mean `{s}`? ({takes})"),
        None => format!("remove it ({takes})"),
    };
    (format!("plugin `{}` has no parameter `{name}`", info.name), help)
}
