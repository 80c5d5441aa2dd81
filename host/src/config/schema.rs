//! JSON Schema of experiment files, for editors (`panther-host schema`).
//!
//! Owns a serde/schemars mirror of the format whose doc comments become the schema's
//! descriptions. Validation does not use it: `parse` walks the spanned TOML itself so it can
//! report every problem with its location. Tests below keep the two in step: the schema's
//! property names equal the key lists `parse` accepts, and every shipped experiment reads
//! into this mirror.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::Deserialize;

/// Durations as `parse_duration` reads them.
const DURATION: &str = r"^\s*([0-9]+(\.[0-9]+)?\s*(ms|s|sec|secs|m|min|mins|h|d)\s*)+$";

/// A panther-host experiment: global settings, tests and test matrices.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "panther-host experiment")]
pub struct ExperimentFile {
    /// Settings for the whole experiment.
    pub experiment: Option<ExperimentSection>,
    /// Tests, each with a network environment and services.
    pub tests: Option<Vec<Test>>,
    /// Interop matrices, expanded into one test per server × client × test case.
    pub matrix: Option<Vec<Matrix>>,
}

/// `[experiment]`: settings for the whole experiment.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExperimentSection {
    /// Name of the experiment; defaults to the file's stem.
    pub name: Option<String>,
    pub description: Option<String>,
    /// Where runs are written, relative to the current directory. Default `outputs`.
    pub output_dir: Option<String>,
    /// Default `info`.
    pub log_level: Option<LogLevel>,
    /// Stop after the first failed test. Default false.
    pub fast_fail: Option<bool>,
    /// Limit of a test that sets none, such as "5m". Default "5m".
    #[schemars(regex(pattern = DURATION))]
    pub timeout: Option<String>,
    /// `default`, `strict`, or the path of a policy TOML file relative to this file.
    pub policy: Option<String>,
    /// Seed of every seeded decision of the run (the link emulator's); each test iteration's
    /// seed derives from it. Default 0.
    pub seed: Option<u64>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
}

/// `[[tests]]`: one test.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Test {
    /// Unique name; also names the test's result directory.
    pub name: String,
    pub description: Option<String>,
    pub network: Network,
    /// Execution-environment wrappers put around the IUT run commands.
    pub execution: Option<Vec<Wrapper>>,
    /// The services, keyed by name (also their host names).
    #[schemars(length(min = 1))]
    pub services: BTreeMap<String, Service>,
    /// How many times to run the test. Default 1.
    #[schemars(range(min = 1, max = 10000))]
    pub iterations: Option<u32>,
    /// Limit of the whole test, such as "60s". Default: `[experiment] timeout`.
    #[schemars(regex(pattern = DURATION))]
    pub timeout: Option<String>,
    /// Settle time after every service is ready, such as "2s".
    #[schemars(regex(pattern = DURATION))]
    pub wait: Option<String>,
    /// Interop test case handed to the plugins (`handshake`, `transfer`, ...).
    pub testcase: Option<String>,
    /// Files the servers serve and the clients fetch.
    pub files: Option<Vec<WwwFile>>,
}

/// The network environment: an environment plugin and its parameters (text, numbers or
/// booleans, passed to the plugin as text). A bare string names the plugin alone.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Network {
    Name(String),
    Table(NetworkTable),
}

#[derive(Debug, Deserialize, JsonSchema)]
pub struct NetworkTable {
    /// The environment plugin, such as `localhost` or `docker`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The emulated link between the test's clients and the servers they target (localhost):
    /// a quic-network-simulator scenario name, or a table.
    pub link: Option<Link>,
    #[serde(flatten)]
    pub params: BTreeMap<String, Scalar>,
}

/// A link: a scenario name (`"drop-rate"`) or its keys.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Link {
    Scenario(Scenario),
    Table(LinkTable),
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Scenario {
    SimpleP2p,
    DropRate,
    CorruptRate,
    Droplist,
    Blackhole,
    Rebind,
}

/// A percentage (`"2%"`) or a fraction from 0 to 1.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Probability {
    Percent(#[schemars(regex(pattern = r"^\s*[0-9]+(\.[0-9]+)?\s*%\s*$"))] String),
    Fraction(#[schemars(range(min = 0.0, max = 1.0))] f64),
}

/// The link's keys; each overrides its scenario's value. Order of effects per direction:
/// FIFO queue → serialisation at `bandwidth` → `delay` ± `jitter` → impairments.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkTable {
    /// Starts from a quic-network-simulator scenario's values (15ms, 10Mbps, queue 25).
    pub scenario: Option<Scenario>,
    /// One-way delay, such as "15ms".
    #[schemars(regex(pattern = DURATION))]
    pub delay: Option<String>,
    /// Each packet's delay is `delay ± jitter`.
    #[schemars(regex(pattern = DURATION))]
    pub jitter: Option<String>,
    /// Let jitter reorder packets. Default false.
    pub reorder: Option<bool>,
    /// Such as "10Mbps"; absent: unlimited.
    pub bandwidth: Option<String>,
    /// Packets the FIFO holds before tail drop. Default 25.
    #[schemars(range(min = 1, max = 100000))]
    pub queue: Option<u32>,
    pub loss: Option<Probability>,
    pub loss_to_server: Option<Probability>,
    pub loss_to_client: Option<Probability>,
    /// After this many random losses in a row the next packet passes.
    pub burst: Option<u32>,
    /// Gilbert–Elliott loss: `{ p = "1%", r = "30%" }`.
    pub gilbert: Option<Gilbert>,
    /// Corrupts one byte in the first 50 of the UDP payload (never a Version Negotiation).
    pub corrupt: Option<Probability>,
    pub corrupt_to_server: Option<Probability>,
    pub corrupt_to_client: Option<Probability>,
    pub duplicate: Option<Probability>,
    /// 1-based UDP packet numbers dropped, client to server.
    pub drops_to_server: Option<Vec<u64>>,
    pub drops_to_client: Option<Vec<u64>>,
    pub blackhole: Option<BlackholeTable>,
    pub rebind: Option<RebindTable>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Gilbert {
    /// Good → bad.
    pub p: Probability,
    /// Bad → good.
    pub r: Probability,
    /// Loss while bad. Default 100%.
    pub bad_loss: Option<Probability>,
    /// Loss while good. Default 0%.
    pub good_loss: Option<Probability>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BlackholeTable {
    /// How long the link works before each dark period. Default "5s".
    #[schemars(regex(pattern = DURATION))]
    pub on: Option<String>,
    /// How long each dark period lasts. Default "2s".
    #[schemars(regex(pattern = DURATION))]
    pub off: Option<String>,
    /// Dark periods; 0 (default) repeats for ever.
    pub repeat: Option<u32>,
    /// `both` (default), `to-server` or `to-client`.
    pub direction: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RebindTable {
    /// `port` (default) or `address` (a new 127.0.0.x).
    pub kind: Option<String>,
    /// First rebinding. Default "1s".
    #[schemars(regex(pattern = DURATION))]
    pub first: Option<String>,
    /// Then every. Default "5s".
    #[schemars(regex(pattern = DURATION))]
    pub freq: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Scalar {
    String(String),
    Integer(i64),
    Float(f64),
    Boolean(bool),
}

/// An execution-environment wrapper; keys other than `type` are its options.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct Wrapper {
    #[serde(rename = "type")]
    pub kind: WrapperKind,
    #[serde(flatten)]
    pub params: BTreeMap<String, serde_json::Value>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum WrapperKind {
    Strace,
    Ltrace,
    Valgrind,
    Gdb,
    Perf,
}

/// A file served from the servers' `www` directory.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WwwFile {
    /// URL path, starting with `/`.
    #[schemars(regex(pattern = r"^/[^/]"))]
    pub path: String,
    pub size: Size,
    /// Makes this many files of `size`, numbered before the extension (`/m.bin` → `/m-1.bin`
    /// … `/m-N.bin`), 1 to 10000: the interop runner's `multiplexing` fetches 2000.
    #[schemars(range(min = 1, max = 10000))]
    pub count: Option<u32>,
}

/// A size such as "256KiB", "10MB", or a number of bytes.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Size {
    Bytes(u64),
    Text(#[schemars(regex(pattern = r"(?i)^\s*[0-9_]+\s*(b|k|kb|kib|m|mb|mib|g|gb|gib)?\s*$"))] String),
}

/// A service of a test.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Service {
    /// Name of the plugin implementing it.
    pub implementation: String,
    /// Default `iut`.
    #[serde(rename = "type")]
    pub kind: Option<ServiceType>,
    pub protocol: Protocol,
    /// Plugin parameters, checked against the plugin's declarations.
    pub params: Option<BTreeMap<String, serde_json::Value>>,
    /// Limit of this service, such as "30s".
    #[schemars(regex(pattern = DURATION))]
    pub timeout: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ServiceType {
    Iut,
    Tester,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Protocol {
    /// Default `quic`.
    pub name: Option<String>,
    /// Default `rfc9000`.
    pub version: Option<String>,
    pub role: RoleName,
    /// Another service of the same test; required for clients and mitm.
    pub target: Option<String>,
}

#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum RoleName {
    Server,
    Client,
    Peer,
    Mitm,
}

/// `[[matrix]]`: one test per server × client × test case.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Matrix {
    pub name: String,
    pub description: Option<String>,
    pub network: Network,
    #[schemars(length(min = 1))]
    pub servers: Vec<String>,
    #[schemars(length(min = 1))]
    pub clients: Vec<String>,
    pub testcases: Option<Vec<String>>,
    /// A tester plugin that judges every cell.
    pub tester: Option<String>,
    /// Parameters per implementation: `{ "quic-go" = { source = "debian" } }`.
    pub params: Option<BTreeMap<String, BTreeMap<String, serde_json::Value>>>,
    /// Default `quic`.
    pub protocol: Option<String>,
    /// Default `rfc9000`.
    pub version: Option<String>,
    /// `version` per implementation: `{ picoquic = "latest" }`.
    pub versions: Option<BTreeMap<String, String>>,
    pub files: Option<Vec<WwwFile>>,
    #[schemars(regex(pattern = DURATION))]
    pub timeout: Option<String>,
    #[schemars(range(min = 1, max = 10000))]
    pub iterations: Option<u32>,
    #[schemars(regex(pattern = DURATION))]
    pub wait: Option<String>,
    pub execution: Option<Vec<Wrapper>>,
}

/// The JSON Schema of experiment files.
pub fn json_schema() -> serde_json::Value {
    serde_json::to_value(schemars::schema_for!(ExperimentFile)).expect("a schema is JSON")
}

#[cfg(test)]
mod tests {
    use super::super::parse::*;
    use super::*;

    fn props(schema: &serde_json::Value, def: Option<&str>) -> Vec<String> {
        let node = match def {
            Some(d) => &schema["$defs"][d],
            None => schema,
        };
        let mut keys: Vec<String> = node["properties"]
            .as_object()
            .unwrap_or_else(|| panic!("{def:?} has properties"))
            .keys()
            .cloned()
            .collect();
        keys.sort();
        keys
    }

    fn sorted(keys: &[&str]) -> Vec<String> {
        let mut v: Vec<String> = keys.iter().map(|s| s.to_string()).collect();
        v.sort();
        v
    }

    // The schema lists exactly the keys the loader accepts, table by table.
    #[test]
    fn schema_keys_match_loader() {
        let s = json_schema();
        assert_eq!(props(&s, None), sorted(ROOT_KEYS));
        assert_eq!(props(&s, Some("ExperimentSection")), sorted(EXPERIMENT_KEYS));
        assert_eq!(props(&s, Some("Test")), sorted(TEST_KEYS));
        assert_eq!(props(&s, Some("Service")), sorted(SERVICE_KEYS));
        assert_eq!(props(&s, Some("Protocol")), sorted(PROTOCOL_KEYS));
        assert_eq!(props(&s, Some("WwwFile")), sorted(FILE_KEYS));
        assert_eq!(props(&s, Some("Matrix")), sorted(MATRIX_KEYS));
        assert_eq!(props(&s, Some("LinkTable")), sorted(crate::config::parse::LINK_KEYS));
        let wrappers: Vec<String> = s["$defs"]["WrapperKind"]["enum"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_string())
            .collect();
        assert_eq!(wrappers, crate::config::WRAPPERS.iter().map(|s| s.to_string()).collect::<Vec<_>>());
    }

    // Every shipped experiment reads into the schema's model as well as through the loader.
    #[test]
    fn shipped_experiments_fit_the_schema() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../experiments");
        let mut n = 0;
        for e in std::fs::read_dir(&dir).unwrap() {
            let path = e.unwrap().path();
            if path.extension().is_some_and(|x| x == "toml") {
                let text = std::fs::read_to_string(&path).unwrap();
                toml::from_str::<ExperimentFile>(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                crate::config::load(&path).unwrap_or_else(|e| panic!("{e:#}"));
                n += 1;
            }
        }
        assert!(n >= 2, "experiments/ holds at least two experiments");
    }
}
