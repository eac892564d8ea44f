//! `hourglass slow`.

use clap::Args;

use super::{CliResult, Context, Failure};

#[derive(Debug, Args)]
pub struct SlowArgs {}

pub fn run(_args: SlowArgs, _context: &Context) -> CliResult {
    Err(Failure::input(anyhow::anyhow!("`hourglass slow` is not available yet")))
}
