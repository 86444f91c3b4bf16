//! `pitwall sim …`: the simulators.

use std::process::ExitCode;

/// Arguments of `pitwall sim`.
#[derive(Debug, clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("not yet")
}
