// The Rust IUT plugins' plans equal the tables of docs/PLUGINS.md.
mod golden;
// The plugin host against real hostile components built from tests/hostile/.
mod plugins;
// The Docker executor against the real daemon: images, networks, real QUIC pairs, teardown.
mod docker;
// Experiment files: malformed fixtures and their exact diagnostics; `validate`.
mod config;
// Hardened CI mode: hostile plans (tests/hostile-plans/) against the policies, audit, plan.
mod hardened;
// The local executor with the fake IUT: crashes, hangs, readiness, caching, env, logs, teardown.
mod exec_local;
// Evidence: real captures decoded by the host, judged by interop.wasm and ivy.wasm.
mod evidence;
// `panther-host run` on localhost: the real demo, faults, Ctrl-C.
mod run_local;
// The Ivy MiniP tester for real against the MiniP C server: pass and a caught fault.
mod ivy_real;
// picoquic built from pinned upstream sources (PANTHER_SOURCE_MIRROR), interoperating for real.
mod picoquic;
// `import` of the original's YAML experiment files (the panther-net wheel): all convert and validate.
mod import;
// Plugin text (escape sequences, carriage returns, bidi overrides) reaches no output raw.
mod text;
// kill -9 of the host, a panic in a test's drive, `clean`, run ids within one second.
mod lifecycle;
// `make install` and the installed binary; commands without a file use the embedded demo.
mod install;
// The conformance suite (`plugins test`): every bundled plugin passes; rule breakers fail precisely.
mod conformance;
// Plugin authoring: `plugin new` in each language, built by its own Makefile, conforming.
mod authoring;
// The link emulator's relay on a real UDP echo pair: each impairment, determinism, captures.
mod link;
// `run --engine slurm` on a one-node Slurm cluster the test starts and stops.
mod engines;
// Shadow: a simulated network built from its pinned sources, QUIC inside it, determinism.
mod shadow;
