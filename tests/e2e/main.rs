// The Rust IUT plugins' plans equal the tables of docs/PLUGINS.md.
mod golden;
fn main(){}
