//! `pitwall relay`: one dedicated server, several plugins (`relay::Relay`).
//!
//! The server's `UDP_PLUGIN_ADDRESS` points at `--listen`; each plugin keeps its own two ports
//! and is told the relay is its server. The plugins come from `--plugin` flags and from the
//! `[[plugin]]` tables of `--config`; on SIGHUP the file is read again and its plugins are
//! added, removed or changed without touching the others (the `--plugin` ones stay).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use relay::{FileConfig, Listen, PluginConfig, Relay, RelayConfig, RelayHandle, RelayStats};

use super::text::outln;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The server's command address: its IP and UDP_PLUGIN_LOCAL_PORT (e.g. 127.0.0.1:11000).
    #[arg(long, value_name = "ADDR")]
    server: Option<SocketAddr>,
    /// Where the relay takes the server's events: the port (or ADDR:PORT) of the server's
    /// UDP_PLUGIN_ADDRESS [default: 12000].
    #[arg(long, value_name = "PORT")]
    listen: Option<Listen>,
    /// A plugin: NAME=ADDR:PORT[,reply=PORT]. ADDR:PORT is where it listens for events;
    /// reply=PORT is the relay's port it sends commands to (picked and printed when left out).
    /// Repeat for each plugin.
    #[arg(long = "plugin", value_name = "SPEC")]
    plugins: Vec<PluginConfig>,
    /// Write every datagram, both ways, to this pcap file (Wireshark, `pitwall acsp decode`).
    #[arg(long, value_name = "FILE")]
    capture: Option<PathBuf>,
    /// Serve Prometheus metrics on this address (GET /metrics).
    #[arg(long, value_name = "ADDR")]
    metrics: Option<SocketAddr>,
    /// A TOML file with the same settings and `[[plugin]]` tables; flags win. Its plugins are
    /// re-read on SIGHUP.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
}

/// Runs `pitwall relay` until Ctrl-C or SIGTERM.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let file = match &args.config {
        Some(path) => FileConfig::read(path)?,
        None => FileConfig::default(),
    };
    let Some(server) = args.server.or(file.server) else {
        return Err(super::UsageError(
            "give the server: --server ADDR (its IP and UDP_PLUGIN_LOCAL_PORT)".into(),
        )
        .into());
    };
    let listen = args.listen.or(file.listen).unwrap_or(Listen::Port(12000)).resolve(server);
    let mut config = RelayConfig::new(server, listen);
    config.plugins = relay::merge_plugins(&args.plugins, &file.plugins);
    if config.plugins.is_empty() {
        return Err(super::UsageError(
            "no plugin: give --plugin NAME=ADDR:PORT or [[plugin]] in --config".into(),
        )
        .into());
    }
    relay::validate_plugins(&config.plugins).map_err(|e| super::UsageError(e.to_string()))?;
    config.capture = args.capture.clone().or(file.capture.clone());
    let metrics = args.metrics.or(file.metrics);
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the tokio runtime")?
        .block_on(async move {
            // SIGHUP is ours before anything says the relay is up: a reload asked for as soon as
            // it is must not end the process (the signal's default action).
            let hangup = super::stop::Hangup::take();
            let relay = Relay::bind(config).await?;
            let handle = relay.handle();
            outln!(
                "pitwall relay: server {server}; its UDP_PLUGIN_ADDRESS must be {}",
                handle.listen_addr()
            )?;
            print_plugins(&handle)?;
            if let Some(addr) = metrics {
                let listener = tokio::net::TcpListener::bind(addr)
                    .await
                    .with_context(|| format!("cannot serve metrics on {addr}"))?;
                outln!("pitwall relay: metrics on http://{}/metrics", listener.local_addr()?)?;
                tokio::spawn(relay::metrics::serve(listener, handle.clone(), super::stop::requested()));
            }
            let reload = tokio::spawn(reload_on_hangup(
                hangup,
                handle.clone(),
                args.plugins.clone(),
                args.config.clone(),
            ));
            let stats = relay.run_until(super::stop::requested()).await;
            reload.abort();
            summary(&stats)?;
            Ok(ExitCode::SUCCESS)
        })
}

fn print_plugins(handle: &RelayHandle) -> anyhow::Result<()> {
    for p in handle.stats().plugins {
        outln!("plugin {}: events to {}, commands on {}", p.name, p.addr, p.reply)?;
    }
    Ok(())
}

/// On each SIGHUP: the plugins of the config file again, with the flags' ones.
async fn reload_on_hangup(
    mut hangup: super::stop::Hangup,
    handle: RelayHandle,
    flags: Vec<PluginConfig>,
    config: Option<PathBuf>,
) {
    loop {
        hangup.next().await;
        let Some(path) = &config else {
            tracing::warn!("SIGHUP: no --config to read again");
            continue;
        };
        let plugins = match FileConfig::read(path) {
            Ok(file) => relay::merge_plugins(&flags, &file.plugins),
            Err(e) => {
                tracing::error!(error = %format!("{e:#}"), "SIGHUP: the config was not reloaded; the plugins stay as they were");
                continue;
            }
        };
        match handle.set_plugins(&plugins) {
            Ok(r) => {
                let added: Vec<String> =
                    r.added.iter().map(|(n, a)| format!("{n} (commands on {a})")).collect();
                tracing::warn!(added = ?added, removed = ?r.removed, kept = r.kept.len(), "SIGHUP: plugins reloaded");
                for (name, addr) in &r.added {
                    let _ = outln!("plugin {name}: added, commands on {addr}");
                }
                for name in &r.removed {
                    let _ = outln!("plugin {name}: removed");
                }
            }
            Err(e) => tracing::error!(error = %e, "SIGHUP: reload incomplete"),
        }
    }
}

fn summary(stats: &RelayStats) -> anyhow::Result<()> {
    eprintln!(
        "pitwall relay: {} datagrams from the server, {} commands to it",
        stats.server_datagrams_in, stats.server_commands_out
    );
    for p in &stats.plugins {
        eprintln!(
            "  {}: {} sent, {} dropped, {} received, {} malformed, {} over its rate",
            p.name, p.datagrams_out, p.dropped, p.datagrams_in, p.core.malformed, p.core.rate_limited
        );
    }
    Ok(())
}
