//! `pitwall acsp listen`: print a server's events as they arrive.

use std::net::{IpAddr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;

use acsp::client::{Client, ClientConfig, SourceFilter};
use anyhow::Context as _;

/// The longest --queue: about 600 MB of the largest events, a bound on what a typo can take.
const MAX_QUEUE: i64 = 4 << 20;

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
    #[arg(long, value_name = "SECS", allow_negative_numbers = true, value_parser = crate::cmd::seconds)]
    duration: Option<Duration>,
    /// Events held between the socket and the output before new ones are dropped (and counted):
    /// room for a burst while the output is slow.
    #[arg(long, value_name = "N", default_value = "65536", allow_negative_numbers = true, value_parser = clap::value_parser!(u32).range(1..=MAX_QUEUE))]
    queue: u32,
    /// Kernel receive buffer to ask for, bytes (the kernel caps it at net.core.rmem_max).
    #[arg(long, value_name = "BYTES", default_value = "8388608", allow_negative_numbers = true, value_parser = clap::value_parser!(u32).range(1..=i64::from(i32::MAX)))]
    recv_buffer: u32,
}

pub async fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut config = ClientConfig::new(SocketAddr::new(args.bind, args.port), args.server);
    if args.any_port {
        config.accept_from = Some(SourceFilter::Ip(args.server.ip()));
    }
    config.request_session_info = !args.no_session_request;
    config.realtime_interval_ms = args.interval;
    config.queue = args.queue as usize;
    config.recv_buffer = args.recv_buffer as usize;
    let mut client = Client::bind(config).await.context("cannot start the ACSP client")?;
    eprintln!(
        "listening on {} for events from {} (Ctrl-C to stop)",
        client.local_addr(),
        client.server_addr()
    );
    // Checked: a duration too long for the clock is no deadline at all.
    let deadline = args.duration.and_then(|d| tokio::time::Instant::now().checked_add(d));
    let mut seen = 0u64;
    let stop = crate::cmd::stop::requested();
    tokio::pin!(stop);
    let mut out = super::Out::stdout();
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
                    // The events already queued behind this one are printed with it and then
                    // flushed together: a burst costs one write, and what is shown is never
                    // older than the last event received.
                    let mut printed = super::print_event(&mut out, &event, args.json);
                    while printed.is_ok() && args.count.is_none_or(|n| seen < n) {
                        let Some(event) = client.try_next_event() else { break };
                        seen += 1;
                        printed = super::print_event(&mut out, &event, args.json);
                    }
                    if let Err(e) = printed.and_then(|()| out.flush()) {
                        break Err(e);
                    }
                }
                Err(e) => break Err(e.into()),
            },
            () = &mut stop => break Ok(()),
            () = sleep => break Ok(()),
        }
    };
    let s = client.stats().snapshot();
    // Every loss is said, where it happened: in the queue (the output was too slow) and in the
    // kernel (the socket's buffer overflowed before the datagrams could be read).
    let kernel = if client.kernel_drops_counted() {
        format!("{} dropped by the kernel (receive buffer full)", s.kernel_drops)
    } else {
        "drops in the kernel not known on this system".to_owned()
    };
    eprintln!(
        "{seen} events printed; {} events from {} datagrams ({} bytes); {} malformed, {} with warnings, {} from other addresses rejected, {} dropped (queue full), {kernel}; receive buffer {} bytes",
        s.events,
        s.datagrams,
        s.bytes,
        s.malformed,
        s.warnings,
        s.rejected_source,
        s.queue_overflow,
        s.recv_buffer
    );
    if s.queue_overflow > 0 || s.kernel_drops > 0 {
        eprintln!(
            "pitwall acsp listen: warning: {} events lost: {} in the queue (a bigger --queue helps), {} in the kernel (a bigger --recv-buffer and net.core.rmem_max help)",
            s.queue_overflow + s.kernel_drops,
            s.queue_overflow,
            s.kernel_drops
        );
    }
    match result {
        Err(e) if e.is::<super::BrokenPipe>() => Ok(ExitCode::SUCCESS),
        Err(e) => Err(e),
        Ok(()) => Ok(ExitCode::SUCCESS),
    }
}
