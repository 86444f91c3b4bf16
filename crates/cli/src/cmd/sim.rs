//! `pitwall sim …`: the simulators. One subcommand per simulator: `server` (the dedicated
//! server's UDP plugin interface) today, `game` (shared memory) later.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use sim::server::{MAX_SLOTS, MAX_SPEED, ServerConfig, ServerSim, ServerSummary, SessionConfig, TrackConfig};

use super::UsageError;

/// Arguments of `pitwall sim`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: SimCommand,
}

#[derive(Debug, clap::Subcommand)]
enum SimCommand {
    /// Simulate an AC dedicated server's UDP plugin interface (ACSP) until Ctrl-C.
    ///
    /// Events go to --plugin (the server's UDP_PLUGIN_ADDRESS) from the command port --port
    /// (its UDP_PLUGIN_LOCAL_PORT), so `pitwall acsp listen` with its defaults talks to it as is.
    Server(ServerArgs),
    /// Simulate the game's shared memory: write the physics, graphics and static pages.
    Game(super::sim_game::GameArgs),
}

#[derive(Debug, clap::Args)]
struct ServerArgs {
    /// Drivers that join, 1 to 64 (they take entry-list slots 0..N).
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u8).range(1..=i64::from(MAX_SLOTS)))]
    cars: u8,
    /// Entry-list slots, 1 to 64 and at least --cars; the extra slots stay empty. Defaults to
    /// --cars.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u8).range(1..=i64::from(MAX_SLOTS)))]
    entry_list: Option<u8>,
    /// Seed of everything random: the same seed gives the same events.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Time acceleration: simulated seconds per real second (above 0, at most 10000).
    #[arg(long, default_value_t = 1.0, allow_negative_numbers = true, value_parser = super::speed(MAX_SPEED))]
    speed: f64,
    /// Where events are sent: the plugin's address (UDP_PLUGIN_ADDRESS), a host and a port.
    #[arg(long, default_value_t = SocketAddr::from((Ipv4Addr::LOCALHOST, 12000)), value_parser = plugin_address)]
    plugin: SocketAddr,
    /// Port on which commands are received and from which events are sent
    /// (UDP_PLUGIN_LOCAL_PORT).
    #[arg(long, default_value_t = 11000)]
    port: u16,
    /// Address to bind the command port on (0.0.0.0 to accept plugins on other machines).
    #[arg(long, default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    listen: IpAddr,
    /// Send CAR_UPDATE every MS from the start, as AssettoServer does. By default, as on the
    /// stock server, updates start only when the plugin sends REALTIMEPOS_INTERVAL.
    #[arg(long, value_name = "MS")]
    realtime_interval: Option<u16>,
    /// Simulated seconds between drivers joining; 0 makes everyone join at once.
    #[arg(long, default_value = "2", value_name = "SECS", allow_negative_numbers = true, value_parser = super::seconds)]
    join_every: Duration,
    /// Drivers now and then leave and come back later.
    #[arg(long)]
    churn: bool,
    /// Practice length in minutes; 0 leaves practice out.
    #[arg(long, default_value_t = 10, value_name = "MIN")]
    practice: u16,
    /// Qualifying length in minutes; 0 leaves qualifying out.
    #[arg(long, default_value_t = 10, value_name = "MIN")]
    qualify: u16,
    /// Race length in laps; 0 leaves the race out.
    #[arg(long, default_value_t = 5, value_name = "LAPS")]
    race_laps: u16,
    /// Seconds on the grid before the race starts.
    #[arg(long, default_value_t = 40, value_name = "SECS")]
    race_wait: u32,
    /// Server name in NEW_SESSION.
    #[arg(long, default_value = "pitwall sim")]
    server_name: String,
    /// Track name.
    #[arg(long, default_value = "ks_red_bull_ring")]
    track: String,
    /// Track layout (may be empty).
    #[arg(long, default_value = "layout_gp")]
    track_config: String,
    /// Lap length in metres.
    #[arg(long, default_value_t = 4318.0, value_name = "M", allow_negative_numbers = true)]
    track_length: f64,
    /// Accept commands only from the plugin's IP address (as AssettoServer does).
    #[arg(long)]
    strict_source: bool,
    /// Stop after this many real seconds instead of waiting for Ctrl-C.
    #[arg(long, value_name = "SECS", allow_negative_numbers = true, value_parser = super::seconds)]
    duration: Option<Duration>,
}

/// A plugin address a datagram can be sent to: not port 0, not an unspecified host (0.0.0.0,
/// `::`), which are what one binds, not where one sends.
fn plugin_address(s: &str) -> Result<SocketAddr, String> {
    let addr: SocketAddr = s.parse().map_err(|e| format!("`{s}` is not an address (IP:PORT): {e}"))?;
    if addr.port() == 0 {
        return Err("port 0 is not a port datagrams can be sent to".to_owned());
    }
    if addr.ip().is_unspecified() {
        return Err(format!("{} is the unspecified address: give the plugin's host", addr.ip()));
    }
    Ok(addr)
}

impl ServerArgs {
    fn config(&self) -> anyhow::Result<ServerConfig> {
        let mut sessions = Vec::new();
        if self.practice > 0 {
            sessions.push(SessionConfig::practice(self.practice));
        }
        if self.qualify > 0 {
            sessions.push(SessionConfig::qualify(self.qualify));
        }
        if self.race_laps > 0 {
            sessions.push(SessionConfig::race(self.race_laps, self.race_wait));
        }
        if sessions.is_empty() {
            return Err(
                UsageError("no sessions: --practice, --qualify and --race-laps are all 0".into()).into()
            );
        }
        // An IPv4 socket cannot send to an IPv6 address, nor an IPv6 one bound to a given address
        // to an IPv4 one; only `::` (dual-stack where the OS allows it) may mix.
        let dual_stack = self.listen == IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED);
        if self.listen.is_ipv4() != self.plugin.is_ipv4() && !dual_stack {
            return Err(UsageError(format!(
                "--plugin {} and --listen {} are of different IP versions: events cannot be sent \
                 from one to the other",
                self.plugin, self.listen
            ))
            .into());
        }
        let config = ServerConfig {
            cars: self.cars,
            entry_list: self.entry_list,
            seed: self.seed,
            speed: self.speed,
            plugin: self.plugin,
            bind: SocketAddr::new(self.listen, self.port),
            server_name: self.server_name.clone(),
            track: TrackConfig {
                name: self.track.clone(),
                config: self.track_config.clone(),
                length_m: self.track_length,
            },
            sessions,
            realtime_interval_ms: self.realtime_interval,
            join_interval: self.join_every,
            churn: self.churn,
            commands_from_plugin_ip_only: self.strict_source,
            ..ServerConfig::default()
        };
        // The values come from the command line: a bad one is a usage error.
        config.validate().map_err(|e| UsageError(e.to_string()))?;
        Ok(config)
    }
}

/// Runs `pitwall sim …` on a runtime of its own.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    match args.command {
        SimCommand::Server(args) => run_server(args),
        SimCommand::Game(args) => super::sim_game::run(args),
    }
}

fn run_server(args: ServerArgs) -> anyhow::Result<ExitCode> {
    let config = args.config()?;
    let stop_after = args.duration;
    // One thread is plenty: the simulator is a single task.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        let (cars, seed, speed) = (config.cars, config.seed, config.speed);
        let server = ServerSim::bind(config).await.context("cannot start the server simulator")?;
        eprintln!(
            "pitwall sim server: commands on {}, events to {} ({cars} cars, seed {seed}, {speed}× real time); \
             Ctrl-C stops",
            server.local_addr(),
            server.plugin_addr(),
        );
        let summary = server.run_until(shutdown(stop_after)).await.context("the server simulator failed")?;
        eprintln!("pitwall sim server: {}", one_line(&summary));
        Ok(ExitCode::SUCCESS)
    })
}

/// Completes on Ctrl-C or SIGTERM, or after `after` if given.
async fn shutdown(after: Option<Duration>) {
    match after {
        Some(d) => tokio::select! {
            () = super::stop::requested() => {}
            () = tokio::time::sleep(d) => {}
        },
        None => super::stop::requested().await,
    }
}

fn one_line(s: &ServerSummary) -> String {
    let t = s.sim_time.as_secs();
    let st = &s.stats;
    format!(
        "{} events sent ({} bytes, {} laps, {} send errors), {} commands received ({} malformed, \
         {} from other addresses), {}:{:02}:{:02} simulated, ended in session {}",
        st.events_sent,
        st.bytes_sent,
        st.sent("lap_completed"),
        st.send_errors,
        st.commands_received,
        st.malformed_commands,
        st.rejected_source,
        t / 3600,
        t / 60 % 60,
        t % 60,
        s.session,
    )
}
