//! The `hourglass` command-line tool. Argument parsing and output only: every
//! capability lives in a library under `crates/`.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
