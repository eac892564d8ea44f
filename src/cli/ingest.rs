//! `hourglass ingest`.

use clap::Args;

use super::{CliResult, Context, Failure};

#[derive(Debug, Args)]
pub struct IngestArgs {}

pub fn run(_args: IngestArgs, _context: &Context) -> CliResult {
    Err(Failure::input(anyhow::anyhow!("`hourglass ingest` is not available yet")))
}
