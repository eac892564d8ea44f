//! `hourglass runs`.

use clap::Args;

use super::{CliResult, Context, Failure};

#[derive(Debug, Args)]
pub struct RunsArgs {}

pub fn run(_args: RunsArgs, _context: &Context) -> CliResult {
    Err(Failure::input(anyhow::anyhow!("`hourglass runs` is not available yet")))
}
