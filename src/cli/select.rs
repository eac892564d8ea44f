//! `hourglass select`.

use clap::Args;

use super::{CliResult, Context, Failure};

#[derive(Debug, Args)]
pub struct SelectArgs {}

pub fn run(_args: SelectArgs, _context: &Context) -> CliResult {
    Err(Failure::input(anyhow::anyhow!("`hourglass select` is not available yet")))
}
