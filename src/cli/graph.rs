//! `hourglass graph`.

use clap::Args;

use super::{CliResult, Context, Failure};

#[derive(Debug, Args)]
pub struct GraphArgs {}

pub fn run(_args: GraphArgs, _context: &Context) -> CliResult {
    Err(Failure::input(anyhow::anyhow!("`hourglass graph` is not available yet")))
}
