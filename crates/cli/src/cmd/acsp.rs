//! `pitwall acsp …`.

use std::process::ExitCode;

/// Arguments of `pitwall acsp`.
#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not yet")
}
