//! The `scs-cert` binary; everything lives in the library's `cli` module.

fn main() -> std::process::ExitCode {
    scs_cert::cli::main()
}
