//! Tools for plugin authors: `plugin new` writes a project in any of the supported languages
//! ([`scaffold`]), `plugin build` makes a core module from a C or Go toolchain into a component
//! ([`componentize`]). `plugins test` (the conformance suite, [`crate::conformance`]) checks
//! the result. None of this is on the path of an experiment.

mod adapter;
pub mod componentize;
pub mod scaffold;

use std::path::{Path, PathBuf};

use crate::plugin::World;

/// `panther-plugin.toml`: how `plugin build` finds a project's core module.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// The plugin's name; the component is written as `NAME.wasm` beside the manifest.
    pub name: String,
    /// `service-plugin` or `environment-plugin`.
    pub world: String,
    /// The core module the toolchain made, relative to the manifest.
    pub core: PathBuf,
}

/// The file `plugin build DIR` reads.
pub const MANIFEST: &str = "panther-plugin.toml";

/// Why `plugin build` made nothing.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum BuildError {
    #[error("cannot read {}: {source}", path.display())]
    #[diagnostic(help(
        "`plugin build DIR` reads DIR/panther-plugin.toml (name, world, core); `plugin new --lang c` writes one"
    ))]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{}: {message}", path.display())]
    Manifest { path: PathBuf, message: String },
    #[error("{}: world `{world}` is not `service-plugin` or `environment-plugin`", path.display())]
    World { path: PathBuf, world: String },
    #[error("cannot read the core module {}: {source}", path.display())]
    #[diagnostic(help("build it first (the project's Makefile does: `make`)"))]
    Core { path: PathBuf, source: std::io::Error },
    #[error(transparent)]
    Componentize(#[from] componentize::ComponentizeError),
    #[error("cannot write {}: {source}", path.display())]
    Write { path: PathBuf, source: std::io::Error },
}

/// What `plugin build` made.
#[derive(Debug)]
pub struct Built {
    pub name: String,
    pub world: World,
    pub core: PathBuf,
    pub component: PathBuf,
    pub bytes: usize,
}

/// Reads `dir/panther-plugin.toml`, componentizes its core module and writes `dir/NAME.wasm`.
pub fn build(dir: &Path) -> Result<Built, BuildError> {
    let path = dir.join(MANIFEST);
    let text = std::fs::read_to_string(&path).map_err(|source| BuildError::Read { path: path.clone(), source })?;
    let m: Manifest =
        toml::from_str(&text).map_err(|e| BuildError::Manifest { path: path.clone(), message: e.to_string() })?;
    if !scaffold::valid_name(&m.name) {
        return Err(BuildError::Manifest {
            path,
            message: format!("`{}` is not a plugin name (lowercase letters, digits and dashes)", m.name),
        });
    }
    let Some(world) = [World::Service, World::Environment].into_iter().find(|w| w.wit_world() == m.world) else {
        return Err(BuildError::World { path, world: m.world });
    };
    let core = dir.join(&m.core);
    let bytes = std::fs::read(&core).map_err(|source| BuildError::Core { path: core.clone(), source })?;
    let component = componentize::componentize(&bytes, world, &core.display().to_string())?;
    let out = dir.join(format!("{}.wasm", m.name));
    crate::plugin::cache::write_atomic(&out, &component)
        .map_err(|source| BuildError::Write { path: out.clone(), source })?;
    Ok(Built { name: m.name, world, core, component: out, bytes: component.len() })
}
