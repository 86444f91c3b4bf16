//! `pitwall acsp …`: listen to a server, send it commands, decode captures.

use std::net::SocketAddr;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::Subcommand;

mod capture;
pub(crate) mod format;
mod json;
mod listen;
mod send;

/// Arguments of `pitwall acsp`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: AcspCommand,
}

#[derive(Debug, Subcommand)]
enum AcspCommand {
    /// Print the server's events live (bind the port of the server's UDP_PLUGIN_ADDRESS).
    Listen(listen::Args),
    /// Send one of the ten plugin commands to the server's UDP_PLUGIN_LOCAL_PORT.
    Send(send::Args),
    /// Decode a capture: a pcap/pcapng file, or a raw concatenation of UDP payloads.
    Decode(capture::Args),
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.command {
        AcspCommand::Listen(a) => runtime()?.block_on(listen::run(a)),
        AcspCommand::Send(a) => runtime()?.block_on(send::run(a)),
        AcspCommand::Decode(a) => capture::run(a),
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the tokio runtime")
}

/// Parses `HOST:PORT` or a bare port (meaning 127.0.0.1).
pub(crate) fn parse_server(s: &str) -> Result<SocketAddr, String> {
    if let Ok(port) = s.parse::<u16>() {
        return Ok(SocketAddr::from(([127, 0, 0, 1], port)));
    }
    use std::net::ToSocketAddrs as _;
    s.to_socket_addrs()
        .map_err(|e| format!("`{s}` is not an address (HOST:PORT): {e}"))?
        .next()
        .ok_or_else(|| format!("`{s}` resolves to no address"))
}

/// Prints one event, as JSON or human-readable.
pub(crate) fn print_event<W: std::io::Write>(
    out: &mut Out<W>,
    event: &acsp::Event,
    json: bool,
) -> anyhow::Result<()> {
    match event {
        acsp::Event::CarUpdate(u) if json => out.line_with(|w| json::car_update(w, u)),
        _ if json => out.json(event),
        _ => out.line(&format::human(event)),
    }
}

pub(crate) use crate::cmd::text::{BrokenPipe, Out};
