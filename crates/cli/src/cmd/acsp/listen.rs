//! `pitwall acsp listen`: print a server's events as they arrive.

use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;

use acsp::client::{Client, ClientConfig, SourceFilter};
use anyhow::Context as _;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Local port to listen on: the port of the server's UDP_PLUGIN_ADDRESS.
    #[arg(long, default_value_t = 12000)]
    port: u16,
    /// Local address to bind.
    #[arg(long, default_value = "0.0.0.0")]
    bind: IpAddr,
    /// The server's command endpoint: its IP and UDP_PLUGIN_LOCAL_PORT.
    #[arg(long, default_value = "127.0.0.1:11000", value_parser = super::parse_server)]
    server: SocketAddr,
    /// One JSON object per line instead of text.
    #[arg(long)]
    json: bool,
    /// Ask for CAR_UPDATE every MS milliseconds (re-sent after every new session).
    #[arg(long, value_name = "MS")]
    interval: Option<u16>,
    /// Accept events from any port of the server's IP (a server that sends from another port).
    #[arg(long)]
    any_port: bool,
    /// Do not ask for the current session at start-up.
    #[arg(long)]
    no_session_request: bool,
    /// Stop after this many events.
    #[arg(long, value_name = "N")]
    count: Option<u64>,
    /// Stop after this many seconds.
    #[arg(long, value_name = "SECS")]
    duration: Option<f64>,
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut config = ClientConfig::new(SocketAddr::new(args.bind, args.port), args.server);
    if args.any_port {
        config.accept_from = Some(SourceFilter::Ip(args.server.ip()));
    }
    config.request_session_info = !args.no_session_request;
    config.realtime_interval_ms = args.interval;
    let mut client = Client::bind(config).await.context("cannot start the ACSP client")?;
    eprintln!(
        "listening on {} for events from {} (Ctrl-C to stop)",
        client.local_addr(),
        client.server_addr()
    );
    let deadline = args.duration.map(|s| tokio::time::Instant::now() + Duration::from_secs_f64(s.max(0.0)));
    let mut seen = 0u64;
    let result = loop {
        if args.count.is_some_and(|n| seen >= n) {
            break Ok(());
        }
        let sleep = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            event = client.next_event() => match event {
                Ok(event) => {
                    seen += 1;
                    if let Err(e) = super::print_event(&event, args.json) {
                        break Err(e);
                    }
                }
                Err(e) => break Err(e.into()),
            },
            _ = tokio::signal::ctrl_c() => break Ok(()),
            () = sleep => break Ok(()),
        }
    };
    let s = client.stats().snapshot();
    eprintln!(
        "{} events from {} datagrams ({} bytes); {} malformed, {} with warnings, {} from other addresses rejected, {} dropped (queue full); receive buffer {} bytes",
        s.events,
        s.datagrams,
        s.bytes,
        s.malformed,
        s.warnings,
        s.rejected_source,
        s.queue_overflow,
        s.recv_buffer
    );
    match result {
        Err(e) if e.is::<super::BrokenPipe>() => Ok(ExitCode::SUCCESS),
        Err(e) => Err(e),
        Ok(()) => Ok(ExitCode::SUCCESS),
    }
}
