//! `hourglass flaky`.

use clap::Args;

use super::{CliResult, Context, Failure};

#[derive(Debug, Args)]
pub struct FlakyArgs {}

pub fn run(_args: FlakyArgs, _context: &Context) -> CliResult {
    Err(Failure::input(anyhow::anyhow!("`hourglass flaky` is not available yet")))
}
