//! The `dqmon` binary: everything is in [`dqmon::cli`].

fn main() -> std::process::ExitCode {
    dqmon::cli::main()
}
