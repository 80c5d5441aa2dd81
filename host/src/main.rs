//! The `panther-host` binary: everything happens in [`panther_host::cli`].
fn main() -> std::process::ExitCode {
    panther_host::cli::main()
}
