//! `hourglass owners`.

use clap::Args;

use super::{CliResult, Context, Failure};

#[derive(Debug, Args)]
pub struct OwnersArgs {}

pub fn run(_args: OwnersArgs, _context: &Context) -> CliResult {
    Err(Failure::input(anyhow::anyhow!("`hourglass owners` is not available yet")))
}
