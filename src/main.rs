//! The `hourglass` command-line tool. Argument parsing and output only: every
//! capability lives in a library under `crates/`.

mod cli;

/// mimalloc: the graph and the JUnit reader make many small allocations on several threads,
/// where it is markedly faster than the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    cli::main()
}
