//! A core WebAssembly module (what clang for `wasm32-wasi` and Go for `wasip1` emit) made into
//! a plugin component, in process: the contract's WIT is embedded when the module does not
//! carry it already (wit-bindgen's C output links it in; Go's does not), then `wit-component`
//! wraps the module with a WASI preview1 adapter. The same work as `wasm-tools component embed`
//! + `component new --adapt`, without that binary.
//!
//! Which adapter: a module that imports only the preview 1 calls the standard reactor adapter
//! (of this wasmtime release) serves without files gets that one; a module whose runtime
//! imports descriptor or polling calls (Go's always does) gets [`adapter`]'s, which grants
//! none of them, since the standard adapter would import `wasi:filesystem` for them and
//! admission refuses that.
//!
//! The result is not trusted for being built here: the caller runs it through admission like
//! any other file.

use wit_component::{ComponentEncoder, StringEncoding};
use wit_parser::{Resolve, SourceMap};

use super::adapter;
use crate::plugin::World;

/// The contract's WIT files (the newest version), as a plugin project needs them.
pub const CONTRACT_WIT: &[(&str, &str)] = &[
    ("worlds.wit", include_str!("../../../wit/since_v0.2.0/worlds.wit")),
    ("service.wit", include_str!("../../../wit/since_v0.2.0/service.wit")),
    ("environment.wit", include_str!("../../../wit/since_v0.2.0/environment.wit")),
    ("types.wit", include_str!("../../../wit/since_v0.2.0/types.wit")),
];

/// The version `CONTRACT_WIT` declares.
pub const CONTRACT_VERSION: &str = "0.2.0";

/// Where componentizing stopped.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum ComponentizeError {
    #[error("cannot adapt the WASI preview 1 imports of {what}: {detail}")]
    Adapter { what: String, detail: String },
    #[error("{what} is already a component, not a core module; it needs no `plugin build`")]
    AlreadyComponent { what: String },
    #[error("{what} is not a WebAssembly core module ({detail})")]
    NotWasm { what: String, detail: String },
    #[error("cannot embed the contract's `{world}` world in {what}: {detail}")]
    Embed { what: String, world: &'static str, detail: String },
    #[error("cannot make a component of {what}: {detail}")]
    Encode { what: String, detail: String },
}

/// Wraps `core` (named `what` in errors) into a component exporting `world`.
pub fn componentize(core: &[u8], world: World, what: &str) -> Result<Vec<u8>, ComponentizeError> {
    if wasmparser::Parser::is_component(core) {
        return Err(ComponentizeError::AlreadyComponent { what: what.into() });
    }
    if !wasmparser::Parser::is_core_wasm(core) {
        return Err(ComponentizeError::NotWasm { what: what.into(), detail: "no `\\0asm` version 1 header".into() });
    }
    let (imports, carries_wit) =
        read(core).map_err(|detail| ComponentizeError::NotWasm { what: what.into(), detail })?;
    let adapter = if imports.iter().any(|i| !standard_adapter_serves(&i.name)) {
        std::borrow::Cow::Owned(
            adapter::module(&imports, CONTRACT_VERSION)
                .map_err(|detail| ComponentizeError::Adapter { what: what.into(), detail })?,
        )
    } else {
        std::borrow::Cow::Borrowed(wasi_preview1_component_adapter_provider::WASI_SNAPSHOT_PREVIEW1_REACTOR_ADAPTER)
    };
    let mut module = core.to_vec();
    if !carries_wit {
        let embed = |detail: String| ComponentizeError::Embed { what: what.into(), world: world.wit_world(), detail };
        let (resolve, id) = contract(world).map_err(|e| embed(format!("{e:#}")))?;
        wit_component::embed_component_metadata(&mut module, &resolve, id, StringEncoding::UTF8)
            .map_err(|e| embed(format!("{e:#}")))?;
    }
    let encode = |e: anyhow::Error| ComponentizeError::Encode { what: what.into(), detail: format!("{e:#}") };
    ComponentEncoder::default()
        .validate(true)
        .module(&module)
        .map_err(encode)?
        .adapter("wasi_snapshot_preview1", &adapter)
        .map_err(encode)?
        .encode()
        .map_err(encode)
}

/// What the module imports from `wasi_snapshot_preview1` (functions, with their types), and
/// whether it has a `component-type` custom section (bindings generators link one in).
fn read(core: &[u8]) -> Result<(Vec<adapter::Import>, bool), String> {
    let (mut imports, mut carries_wit) = (vec![], false);
    let mut types: Vec<wasmparser::FuncType> = vec![];
    for payload in wasmparser::Parser::new(0).parse_all(core) {
        match payload.map_err(|e| e.to_string())? {
            wasmparser::Payload::TypeSection(section) => {
                for group in section {
                    for ty in group.map_err(|e| e.to_string())?.into_types() {
                        match ty.composite_type.inner {
                            wasmparser::CompositeInnerType::Func(f) => types.push(f),
                            // Keeps indices aligned; no preview 1 import has such a type.
                            _ => types.push(wasmparser::FuncType::new([], [])),
                        }
                    }
                }
            }
            wasmparser::Payload::ImportSection(section) => {
                for import in section.into_imports() {
                    let import = import.map_err(|e| e.to_string())?;
                    if import.module != "wasi_snapshot_preview1" {
                        continue;
                    }
                    let wasmparser::TypeRef::Func(index) = import.ty else {
                        return Err(format!("`{}` is imported from preview 1 but is not a function", import.name));
                    };
                    let ty = types.get(index as usize).ok_or_else(|| format!("`{}` has no type", import.name))?;
                    imports.push(adapter::Import {
                        name: import.name.to_string(),
                        params: ty.params().to_vec(),
                        results: ty.results().to_vec(),
                    });
                }
            }
            wasmparser::Payload::CustomSection(s) if s.name().starts_with("component-type") => carries_wit = true,
            _ => {}
        }
    }
    Ok((imports, carries_wit))
}

/// Whether the standard reactor adapter serves `function` without `wasi:filesystem` or
/// `wasi:sockets` (descriptors, paths and polling need them; admission refuses both) and has it
/// at all (`adapter_*` calls are newer than wasmtime 48's adapter).
fn standard_adapter_serves(function: &str) -> bool {
    !["fd_", "path_", "sock_", "poll_oneoff", "adapter_"].iter().any(|p| function.starts_with(p))
}

/// The contract parsed, and the id of `world` in it.
fn contract(world: World) -> anyhow::Result<(Resolve, wit_parser::WorldId)> {
    let mut map = SourceMap::new();
    for (name, text) in CONTRACT_WIT {
        map.push(std::path::Path::new(name), *text);
    }
    let group = map.parse().map_err(|(_, e)| anyhow::anyhow!("{e}"))?;
    let mut resolve = Resolve::default();
    let pkg = resolve.push_group(group)?;
    let id = resolve.select_world(&[pkg], Some(world.wit_world()))?;
    Ok((resolve, id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_contract_version_is_the_one_its_wit_declares() {
        let worlds = CONTRACT_WIT.iter().find(|(f, _)| *f == "worlds.wit").unwrap().1;
        assert!(worlds.contains(&format!("package panther:plugin@{CONTRACT_VERSION};")), "{worlds}");
    }

    #[test]
    fn the_contract_parses_and_has_both_worlds() {
        for w in [World::Service, World::Environment] {
            contract(w).unwrap();
        }
    }

    #[test]
    fn components_and_garbage_are_refused_with_their_name() {
        let component = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/../plugins-dist/command.wasm")).unwrap();
        let e = componentize(&component, World::Service, "command.wasm").unwrap_err();
        assert!(matches!(e, ComponentizeError::AlreadyComponent { .. }), "{e}");
        let e = componentize(b"#!/bin/sh\n", World::Service, "build.sh").unwrap_err();
        assert_eq!(e.to_string(), "build.sh is not a WebAssembly core module (no `\\0asm` version 1 header)");
    }

    #[test]
    fn a_module_that_does_not_export_the_world_is_refused() {
        // The smallest valid core module: it has none of the contract's exports.
        let empty = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00];
        let e = componentize(&empty, World::Service, "empty.wasm").unwrap_err();
        assert!(matches!(e, ComponentizeError::Encode { .. }), "{e}");
        assert!(e.to_string().contains("describe"), "names the missing export: {e}");
    }
}
