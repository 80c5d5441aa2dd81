//! JSON Schema of experiment files, for editors.
