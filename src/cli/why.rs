//! `hourglass why`.

use clap::Args;

use super::{CliResult, Context, Failure};

#[derive(Debug, Args)]
pub struct WhyArgs {}

pub fn run(_args: WhyArgs, _context: &Context) -> CliResult {
    Err(Failure::input(anyhow::anyhow!("`hourglass why` is not available yet")))
}
