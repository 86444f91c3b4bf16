//! `pitwall serve`: the ingest server. Bridges stream frames to it over gRPC; it acks them once
//! they are durable in its write-ahead log and materialises them through its sinks.
//!
//! Settings come from `--config FILE` (TOML, see `ingest::config`), then the flags override.
//!
//! With `--acsp-server` (or `[timing]` in the file), the same process also follows the dedicated
//! server over the UDP plugin protocol: live timing, lap records in `DATA/records.sqlite`, chat
//! commands (see [`super::follow`]), with a relay in front for other plugins (`[relay]`,
//! `--relay-plugin`); with `--http` (or `[dashboard]`) it serves the web dashboard. Everything
//! stops together. The file's sections are in [`sections`].
//!
//! SIGHUP reads the file again and applies its relay plugins (added, removed, changed, the
//! others untouched); any other setting that changed is named in the log and waits for a
//! restart.

pub(crate) mod sections;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use sections::Sections;

/// Arguments of `pitwall serve`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Address to listen on [default: 127.0.0.1:50051]. Anything but loopback requires --token.
    #[arg(long, value_name = "ADDR")]
    listen: Option<SocketAddr>,
    /// Data directory: write-ahead log, sink checkpoints, sink output (Parquet in
    /// DIR/sinks/parquet unless --config says otherwise) [default: pitwall-data].
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// TOML config file; the flags given here override it.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Bearer token clients must send (`authorization: Bearer <token>`).
    #[arg(long, env = "PITWALL_TOKEN", hide_env_values = true, value_name = "T")]
    token: Option<String>,
    /// Serve Prometheus metrics at http://ADDR/metrics (e.g. 127.0.0.1:9464).
    #[arg(long, value_name = "ADDR")]
    metrics: Option<SocketAddr>,
    /// Publish every frame to NATS JetStream instead of the local sinks, for ingest over several
    /// nodes: nats://HOST:PORT[,nats://HOST:PORT…]. Bridges are then acked only once JetStream
    /// has their frames, and Resume is answered from the stream (docs/jetstream.md). A
    /// `type = "jetstream"` sink of --config keeps its settings and takes these servers.
    #[arg(long, value_name = "URL", value_parser = nats_servers)]
    sink: Option<NatsServers>,
    /// TLS certificate chain, PEM (with --tls-key).
    #[arg(long, value_name = "F", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// TLS private key, PEM (with --tls-cert).
    #[arg(long, value_name = "F", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Also follow this dedicated server for live timing and lap records: its IP and
    /// UDP_PLUGIN_LOCAL_PORT (e.g. 127.0.0.1:11000); `[timing] server` in the file. Records go
    /// to DATA/records.sqlite.
    #[arg(long, value_name = "ADDR")]
    acsp_server: Option<SocketAddr>,
    /// The port the server sends its events to: the port of its UDP_PLUGIN_ADDRESS
    /// [default: 12000].
    #[arg(long, value_name = "P")]
    acsp_port: Option<u16>,
    /// Accept the server's events from any port of its IP, not only from its command port.
    #[arg(long)]
    acsp_any_port: bool,
    /// Car-update interval to ask the server for, ms [default: 100].
    #[arg(long, value_name = "MS")]
    acsp_interval: Option<u16>,
    /// A driver GUID allowed the admin chat commands (/next, /restart, /kick, /pwadmin);
    /// repeat for several (with `[timing] admins`).
    #[arg(long = "admin", value_name = "GUID")]
    admins: Vec<String>,
    /// Put a relay in front of the timing: the server's events also go to this plugin, and its
    /// commands to the server (answers to the asker, intervals reconciled; see `pitwall
    /// relay`). NAME=ADDR:PORT[,reply=PORT]: the plugin listens on ADDR:PORT and sends its
    /// commands to the relay's reply PORT. Repeat for several (with the file's
    /// `[[relay.plugin]]` tables, which SIGHUP reads again).
    #[arg(long = "relay-plugin", value_name = "PLUGIN", value_parser = plugin)]
    relay_plugins: Vec<relay::PluginConfig>,
    /// Capture the relay's traffic both ways in this pcap file.
    #[arg(long, value_name = "FILE")]
    relay_capture: Option<PathBuf>,
    /// Serve the web dashboard (live timing, records) here, e.g. 127.0.0.1:8080; `[dashboard]
    /// listen` in the file. Anything but loopback requires --http-token.
    #[arg(long, value_name = "ADDR")]
    http: Option<SocketAddr>,
    /// The token the dashboard asks of browsers (`?token=` or `Authorization: Bearer`).
    #[arg(long, env = "PITWALL_HTTP_TOKEN", hide_env_values = true, value_name = "T")]
    http_token: Option<String>,
}

/// The servers of a `nats://HOST:PORT[,…]` value.
#[derive(Debug, Clone)]
pub(crate) struct NatsServers(pub(crate) Vec<String>);

pub(crate) fn nats_servers(s: &str) -> Result<NatsServers, String> {
    ingest::sinks::jetstream::JetStreamConfig::servers_from_url(s).map(NatsServers)
}

/// `--sink nats://…`: the config's JetStream sink takes the servers; without one, a JetStream
/// sink replaces the local sinks (the sink workers write the Parquet dataset from the stream).
fn use_jetstream(config: &mut ingest::Config, servers: Vec<String>) {
    use ingest::sinks::{SinkConfig, SinkKind, jetstream::JetStreamConfig};
    let mut found = false;
    for s in &mut config.sinks {
        if let SinkKind::JetStream(js) = &mut s.kind {
            js.servers = servers.clone();
            found = true;
        }
    }
    if !found {
        config.sinks = vec![SinkConfig::new("jetstream", SinkKind::JetStream(JetStreamConfig::new(servers)))];
    }
}

type LapsTask =
    tokio::task::JoinHandle<Result<ingest::sinks::jetstream::worker::WorkerReport, ingest::SinkError>>;

/// The timing join behind JetStream: a sink worker of its own (all partitions) writing the
/// telemetry laps of every car, whichever node ingested them, into this node's records
/// database. Its durable consumers are this database's: their name is made once and kept
/// beside it (`DATA/jetstream-laps-consumer`), so a restart goes on from what it acknowledged
/// and two nodes with two databases each read everything.
fn laps_from_stream(
    js: &ingest::sinks::jetstream::JetStreamConfig,
    records_db: &std::path::Path,
    stop: tokio_util::sync::CancellationToken,
) -> anyhow::Result<LapsTask> {
    use ingest::sinks::jetstream::worker::{self, WorkerConfig};
    let dir = records_db.parent().unwrap_or(std::path::Path::new("."));
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let name_file = dir.join("jetstream-laps-consumer");
    let name = match std::fs::read_to_string(&name_file) {
        Ok(name) if !name.trim().is_empty() => name.trim().to_owned(),
        Ok(_) | Err(_) => {
            let name = format!("pitwall-laps-{}", unique_suffix());
            std::fs::write(&name_file, format!("{name}\n"))
                .with_context(|| format!("writing {}", name_file.display()))?;
            name
        }
    };
    let sink = ingest::sinks::laps::LapsSink::open(records_db, &Default::default())
        .with_context(|| format!("opening the records database {}", records_db.display()))?;
    let mut config = WorkerConfig::new(js.clone());
    config.name = name;
    config.flush_interval = std::time::Duration::from_secs(1);
    eprintln!(
        "pitwall serve: timing join from JetStream (consumers {}-p*) into {}",
        config.name,
        records_db.display()
    );
    Ok(tokio::spawn(worker::run(config, sink, stop)))
}

/// Twelve hex digits that differ from one call to the next and from one machine to another (the
/// clock's nanoseconds and the process id, mixed).
fn unique_suffix() -> String {
    let nanos =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
    let mut z = nanos ^ (u64::from(std::process::id()) << 40);
    // splitmix64's finaliser: every input bit moves every output bit.
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    format!("{:012x}", z & 0xffff_ffff_ffff)
}

fn plugin(s: &str) -> Result<relay::PluginConfig, String> {
    s.parse::<relay::PluginConfig>().map_err(|e| e.to_string())
}

/// What serve runs beside the ingest server, from the flags and the file's sections.
struct Around {
    follow: Option<super::follow::Follow>,
    /// The relay in front of the timing: its plugins and capture (with `follow` only).
    relay: Option<(Vec<relay::PluginConfig>, Option<PathBuf>)>,
    /// The dashboard's address and token.
    http: Option<(SocketAddr, Option<String>)>,
}

fn usage(message: String) -> anyhow::Error {
    super::UsageError(message).into()
}

/// Flags over the file's sections.
fn around(args: &Args, file: &Sections) -> anyhow::Result<Around> {
    let timing = file.timing.clone().unwrap_or_default();
    let server = args.acsp_server.or(timing.server);
    let relay_wanted = !args.relay_plugins.is_empty() || args.relay_capture.is_some() || file.relay.is_some();
    let follow = match server {
        Some(server) => {
            let mut admins = timing.admins.clone();
            admins.extend(args.admins.iter().filter(|a| !timing.admins.contains(a)).cloned());
            Some(super::follow::Follow {
                server,
                port: args.acsp_port.or(timing.port).unwrap_or(super::follow::DEFAULT_PLUGIN_PORT),
                any_port: args.acsp_any_port || timing.any_port.unwrap_or(false),
                interval_ms: args.acsp_interval.or(timing.interval_ms),
                admins,
            })
        }
        None => {
            let needs = [
                (args.acsp_port.is_some(), "--acsp-port"),
                (args.acsp_any_port, "--acsp-any-port"),
                (args.acsp_interval.is_some(), "--acsp-interval"),
                (!args.admins.is_empty(), "--admin"),
                (relay_wanted, "a relay (--relay-plugin, --relay-capture or [relay])"),
                (file.timing.is_some(), "[timing]"),
            ];
            if let Some((_, what)) = needs.iter().find(|(given, _)| *given) {
                return Err(usage(format!(
                    "{what} needs the AC server to follow: --acsp-server ADDR or `server` in [timing]"
                )));
            }
            None
        }
    };
    let relay = relay_wanted.then(|| {
        let file_relay = file.relay.clone().unwrap_or_default();
        (
            relay::merge_plugins(&args.relay_plugins, &file_relay.plugins),
            args.relay_capture.clone().or(file_relay.capture),
        )
    });
    let dashboard = file.dashboard.clone().unwrap_or_default();
    let http = match args.http.or(dashboard.listen) {
        Some(listen) => Some((listen, args.http_token.clone().or(dashboard.token))),
        None if args.http_token.is_some() => {
            return Err(usage(
                "--http-token needs the dashboard: --http ADDR or `listen` in [dashboard]".into(),
            ));
        }
        None => None,
    };
    Ok(Around { follow, relay, http })
}

/// Runs the server until SIGINT or SIGTERM, then shuts down gracefully (streams drained and
/// acked, WAL committed, sinks flushed).
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut config = match &args.config {
        Some(path) => ingest::Config::load(path)?,
        None => ingest::Config::serve_default(),
    };
    let file = match &args.config {
        Some(path) => Sections::of(&config, path)?,
        None => Sections::default(),
    };
    let at_start = (config.clone(), file.clone());
    let Around { follow, relay: relay_setup, http } = around(&args, &file)?;
    if let Some(listen) = args.listen {
        config.listen = listen;
    }
    if let Some(data) = args.data {
        config.data_dir = data;
    }
    if let Some(m) = args.metrics {
        config.metrics = Some(m);
    }
    if let Some(token) = args.token {
        config.token = Some(token);
    }
    if let Some(NatsServers(servers)) = args.sink {
        use_jetstream(&mut config, servers);
    }
    if let (Some(cert), Some(key)) = (args.tls_cert, args.tls_key) {
        config.tls = Some(ingest::TlsConfig { cert, key });
    }
    config.validate()?;
    // Behind JetStream, the live views read the stream (every node's frames), not this node's
    // own ingest; and the timing join runs from the stream too (see `from_stream`).
    let jetstream = config.sinks.iter().find_map(|s| match &s.kind {
        ingest::sinks::SinkKind::JetStream(js) => Some(js.clone()),
        _ => None,
    });

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("pitwall-serve")
        .build()
        .context("cannot start the tokio runtime")?;
    let relay_flags = args.relay_plugins;
    let config_path = args.config;
    runtime.block_on(async {
        // SIGHUP is ours before anything says the server is up (its default ends the process).
        let hangup = super::stop::Hangup::take();
        let records_db = config.data_dir.join("records.sqlite");
        let dataset = config.parquet_dataset();
        let running = ingest::Server::new(config).start().await.context("starting the ingest server")?;
        let from_stream = tokio_util::sync::CancellationToken::new();
        let (tap, live_task, laps_task) = match &jetstream {
            Some(js) => {
                let tap = ingest::live::LiveTap::new();
                let live_task = http.as_ref().map(|_| {
                    tokio::spawn(ingest::sinks::jetstream::live::feed(
                        js.clone(),
                        tap.clone(),
                        from_stream.clone(),
                    ))
                });
                let laps_task = match follow.is_some() || http.is_some() {
                    true => Some(laps_from_stream(js, &records_db, from_stream.clone())?),
                    false => None,
                };
                (tap, live_task, laps_task)
            }
            None => (running.live_tap(), None, None),
        };
        eprintln!("pitwall serve: listening on {}", running.local_addr());
        if let Some(m) = running.metrics_addr() {
            eprintln!("pitwall serve: metrics at http://{m}/metrics");
        }
        // One stop for both halves: Ctrl-C or SIGTERM, or the ingest server stopping.
        let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
        let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|stop| *stop).await;
        };
        let mut feed = None;
        let mut relay_task = None;
        let mut relay_handle = None;
        let follower = match &follow {
            Some(f) => {
                let (follower, relay) = match relay_setup {
                    None => (f.bind(Some(&records_db)).await?, None),
                    Some((plugins, capture)) => {
                        let (follower, relay) =
                            super::follow::behind_relay(f, plugins, capture, &records_db).await?;
                        (follower, Some(relay))
                    }
                };
                eprintln!(
                    "pitwall serve: following the AC server at {} (its events to {}); records in {}",
                    f.server,
                    relay.as_ref().map_or(follower.local_addr(), |r: &relay::Relay| r.handle().listen_addr()),
                    records_db.display()
                );
                if let Some(relay) = relay {
                    let handle = relay.handle();
                    for p in handle.stats().plugins {
                        eprintln!(
                            "pitwall serve: relay plugin {}: events to {}, commands to {}",
                            p.name, p.addr, p.reply
                        );
                    }
                    relay_handle = Some(handle);
                    relay_task = Some(tokio::spawn(relay.run_until(stopped(stop_rx.clone()))));
                }
                feed = Some(follower.feed());
                let stop = stopped(stop_rx.clone());
                Some(tokio::spawn(async move {
                    let result = follower.run_until(stop).await;
                    if let Err(e) = &result {
                        // Said now: the ingest server goes on without the timing.
                        tracing::error!(error = %text::quoted(&format!("{e:#}")), "live timing stopped");
                    }
                    result
                }))
            }
            None => None,
        };
        let dashboard_task = match http {
            Some((listen, token)) => {
                // The dashboard shows the records: the file exists before it opens it.
                records::Store::open(&records_db)
                    .with_context(|| format!("opening the records database {}", records_db.display()))?;
                let config =
                    dashboard::DashboardConfig { listen, token, records_db: Some(records_db), dataset };
                let dashboard = dashboard::Dashboard::bind(config, feed)
                    .await
                    .context("starting the dashboard")?
                    .with_telemetry(tap);
                eprintln!("pitwall serve: dashboard: http://{}/", dashboard.local_addr());
                Some(tokio::spawn(dashboard.run_until(stopped(stop_rx.clone()))))
            }
            None => None,
        };
        let reload = tokio::spawn(reload_on_hangup(
            hangup,
            Reloader { path: config_path, relay: relay_handle, flags: relay_flags, at_start },
        ));
        let signal = stop_tx.clone();
        tokio::spawn(async move {
            super::stop::requested().await;
            let _ = signal.send(true);
        });
        let stats = running.run_until(stopped(stop_rx)).await;
        let _ = stop_tx.send(true);
        reload.abort();
        from_stream.cancel();
        if let Some(task) = live_task {
            if let Ok(r) = task.await {
                eprintln!(
                    "pitwall serve: live frames from JetStream stopped; {} frames of {} messages",
                    r.frames, r.messages
                );
            }
        }
        if let Some(task) = laps_task {
            match task.await {
                Ok(Ok(r)) => eprintln!(
                    "pitwall serve: timing join from JetStream stopped; {} frames read, {} messages acknowledged",
                    r.frames, r.messages
                ),
                Ok(Err(e)) => eprintln!(
                    "pitwall serve: the timing join from JetStream stopped with an error: {:#}",
                    anyhow::Error::from(e)
                ),
                Err(e) => eprintln!("pitwall serve: the timing join task failed: {e}"),
            }
        }
        if let Some(task) = follower {
            match task.await {
                Ok(Ok(report)) => eprintln!(
                    "pitwall serve: timing stopped; {} events, {} laps stored",
                    report.events,
                    report.recorder.map_or(0, |r| r.laps_stored)
                ),
                Ok(Err(e)) => {
                    eprintln!("pitwall serve: timing stopped with an error: {:#}", anyhow::Error::from(e))
                }
                Err(e) => eprintln!("pitwall serve: the timing task failed: {e}"),
            }
        }
        if let Some(task) = relay_task {
            if let Ok(r) = task.await {
                eprintln!(
                    "pitwall serve: relay stopped; {} datagrams from the server, {} commands to it",
                    r.server_datagrams_in, r.server_commands_out
                );
            }
        }
        if let Some(task) = dashboard_task {
            match task.await {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => eprintln!(
                    "pitwall serve: the dashboard stopped with an error: {:#}",
                    anyhow::Error::from(e)
                ),
                Err(e) => eprintln!("pitwall serve: the dashboard task failed: {e}"),
            }
        }
        let stats = stats.context("ingest server")?;
        eprintln!(
            "pitwall serve: stopped; {} frames stored ({} duplicates dropped) in {} group commits",
            stats.frames_stored, stats.duplicates, stats.commits
        );
        Ok(ExitCode::SUCCESS)
    })
}

/// What a SIGHUP needs: the file, the running relay, the flags' plugins, the settings in effect.
struct Reloader {
    path: Option<PathBuf>,
    relay: Option<relay::RelayHandle>,
    flags: Vec<relay::PluginConfig>,
    at_start: (ingest::Config, Sections),
}

impl Reloader {
    /// Reads the file again and applies what can change while running: the relay's plugins.
    fn reload(&self) {
        let Some(path) = &self.path else {
            tracing::warn!("SIGHUP: serve has no --config to read again");
            return;
        };
        let (config, file) = match Sections::reload(path) {
            Ok(read) => read,
            Err(e) => {
                tracing::error!(error = %text::quoted(&format!("{e:#}")), "SIGHUP: the config was not reloaded; everything stays as it was");
                eprintln!(
                    "pitwall serve: SIGHUP: {} not reloaded: {}",
                    text::quoted(&path.display().to_string()),
                    text::quoted(&format!("{e:#}"))
                );
                return;
            }
        };
        let (old_config, old_file) = &self.at_start;
        let mut later = Vec::new();
        // The ingest server's own keys: the sections are compared one by one below.
        let own =
            |c: &ingest::Config| ingest::Config { timing: None, relay: None, dashboard: None, ..c.clone() };
        if own(&config) != own(old_config) {
            later.push("the ingest server's settings");
        }
        if file.timing != old_file.timing {
            later.push("[timing]");
        }
        if file.dashboard != old_file.dashboard {
            later.push("[dashboard]");
        }
        if file.relay.as_ref().map(|r| &r.capture) != old_file.relay.as_ref().map(|r| &r.capture) {
            later.push("[relay] capture");
        }
        match &self.relay {
            Some(handle) => self.apply_plugins(handle, &file),
            None if file.relay.is_some() => later.push("[relay] (no relay runs: it starts with the server)"),
            None => {}
        }
        if !later.is_empty() {
            let what = later.join(", ");
            tracing::warn!(changed = %what, "SIGHUP: these settings changed and take effect at the next restart");
            eprintln!("pitwall serve: SIGHUP: changed, for the next restart: {what}");
        }
    }

    fn apply_plugins(&self, handle: &relay::RelayHandle, file: &Sections) {
        let mut plugins = relay::merge_plugins(&self.flags, file.relay_plugins());
        if plugins.iter().any(|p| p.name == super::follow::SELF_PLUGIN) {
            tracing::error!(
                "SIGHUP: a [[relay.plugin]] is named `{}`, which is pitwall's own timing: the plugins stay as they were",
                super::follow::SELF_PLUGIN
            );
            return;
        }
        // pitwall's own timing is one of the relay's plugins, and stays.
        plugins.extend(
            handle
                .stats()
                .plugins
                .into_iter()
                .filter(|p| p.name == super::follow::SELF_PLUGIN)
                .map(|p| relay::PluginConfig { name: p.name, addr: p.addr, reply: Some(p.reply.port()) }),
        );
        match handle.set_plugins(&plugins) {
            Ok(r) => {
                tracing::info!(
                    added = r.added.len(),
                    removed = r.removed.len(),
                    kept = r.kept.len(),
                    "SIGHUP: relay plugins reloaded"
                );
                for (name, addr) in &r.added {
                    eprintln!("pitwall serve: relay plugin {name}: added, commands to {addr}");
                }
                for name in &r.removed {
                    eprintln!("pitwall serve: relay plugin {name}: removed");
                }
                eprintln!("pitwall serve: SIGHUP: relay plugins reloaded ({} kept)", r.kept.len());
            }
            Err(e) => tracing::error!(error = %e, "SIGHUP: relay plugins reloaded in part"),
        }
    }
}

async fn reload_on_hangup(mut hangup: super::stop::Hangup, reloader: Reloader) {
    loop {
        hangup.next().await;
        reloader.reload();
    }
}
