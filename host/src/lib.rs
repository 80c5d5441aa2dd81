//! panther-host: runs protocol experiments whose plans come from sandboxed WebAssembly plugins.
//!
//! # Layout
//!
//! The modules follow the flow of one experiment:
//!
//! | module       | owns                                                                        |
//! |--------------|-----------------------------------------------------------------------------|
//! | [`contract`] | the host's names for what the WIT contract defines (phases, …)              |
//! | [`config`]   | the experiment file: typed model, validation, file:line:col diagnostics     |
//! | [`plugin`]   | discovery, verification, the wasmtime sandbox, calls into plugins           |
//! | [`plan`]     | late binding of runtime values into plans, and the policy that judges them  |
//! | [`exec`]     | executors that run checked plans: local processes and Docker                |
//! | [`run`]      | the orchestrator: experiment → tests → services, timeouts, teardown         |
//! | [`events`]   | typed events, state machines, the JSONL event log                           |
//! | [`evidence`] | captures, digests and log excerpts turned into the record plugins judge     |
//! | [`report`]   | summary JSON, Markdown report, JUnit XML, result matrix                     |
//! | [`certs`]    | the run's CA and leaf certificate                                           |
//! | [`cli`]      | clap commands; parsing and printing only                                    |
//! | [`text`]     | plugin text neutralised for terminals, logs, Markdown, HTML and XML         |
//! | [`conformance`] | `plugins test`: the rules every plugin component must meet               |

pub mod author;
pub mod certs;
pub mod cli;
pub mod config;
pub mod conformance;
pub mod contract;
pub mod events;
pub mod evidence;
pub mod exec;
pub mod import;
pub mod link;
pub mod plan;
pub mod plugin;
pub mod report;
pub mod run;
pub mod text;
