//! `hourglass export`.

use clap::Args;

use super::{CliResult, Context, Failure};

#[derive(Debug, Args)]
pub struct ExportArgs {}

pub fn run(_args: ExportArgs, _context: &Context) -> CliResult {
    Err(Failure::input(anyhow::anyhow!("`hourglass export` is not available yet")))
}
