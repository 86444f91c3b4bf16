//! `pitwall demo`: the main job, on the simulators, in one process.
//!
//! - **Server side:** a simulated dedicated server runs a grid through practice, qualifying and
//!   a race; pitwall follows it over the real UDP plugin protocol and keeps a live timing board.
//! - **Car side:** an ingest server (write-ahead log, Parquet sink, catalogue) and, for each of a
//!   few cars, the game simulator and a bridge that samples every physics step, records it and
//!   streams it over gRPC, loss-free.
//!
//! At the end it prints where the data landed and the commands to look at it.
//!
//! The timing itself is the `timing` crate's engine: this module feeds it the client's events
//! and prints what it hands back, as text (`timing::text`) or, with `--json`, one JSON object
//! per line (the engine's own serde shapes, tagged by `"type"`). The car side is [`car_side`].

use crate::cmd::text::outln;
use crate::cmd::text::print_str;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use acsp::client::{Client, ClientConfig};
use anyhow::Context as _;
use serde::Serialize;
use sim::server::{ServerConfig, ServerSim};
use timing::{Board, Notice, StampedNotice, TimingEngine};

use self::car_side::{BridgeStatus, CarSide, CarsSummary, IngestNow};
use crate::cmd::text::json_controls;

mod car_side;

/// Arguments of `pitwall demo`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Cars on the simulated server's grid.
    #[arg(long, default_value_t = 10)]
    cars: u8,
    /// Simulator seed: the same seed plays the same sessions.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Time acceleration of the server simulator.
    #[arg(long, default_value_t = 60.0)]
    speed: f64,
    /// How long to run, in real seconds.
    #[arg(long, default_value_t = 40.0)]
    duration: f64,
    /// Seconds between timing boards.
    #[arg(long, default_value_t = 5.0)]
    board_every: f64,
    /// Cars with a simulated game and a bridge streaming telemetry (0: server side only).
    #[arg(long, default_value_t = 3)]
    telemetry_cars: u8,
    /// Time acceleration of the simulated games (physics steps at 333 Hz × this).
    #[arg(long, default_value_t = 8.0)]
    game_speed: f64,
    /// Where the data goes: DIR/server (the ingest server's WAL and Parquet dataset) and
    /// DIR/recordings (each bridge's recording).
    #[arg(long, value_name = "DIR", default_value = "pitwall-demo")]
    data: PathBuf,
    /// One JSON object per line instead of text: each timing notice (`"type"`: `lap_completed`,
    /// `driver_joined`…), each `board`, the `telemetry` status, and a final `summary`.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the tokio runtime")?
        .block_on(demo(args))
}

async fn demo(args: Args) -> anyhow::Result<ExitCode> {
    if !(args.game_speed > 0.0 && args.game_speed <= 100.0) {
        anyhow::bail!(
            "--game-speed {} is out of range: give a factor above 0 and at most 100",
            args.game_speed
        );
    }
    let duration = Duration::try_from_secs_f64(args.duration.max(1.0))
        .with_context(|| format!("--duration {} is not a number of seconds", args.duration))?;
    let out = Out { json: args.json };
    let car_side = if args.telemetry_cars > 0 { Some(CarSide::start(&args, duration).await?) } else { None };

    let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
    // The simulator binds its command port first; the client then listens on a port of its own
    // and the simulator is pointed at it (a real server has both in server_cfg.ini).
    let mut server = ServerSim::bind(ServerConfig {
        cars: args.cars,
        seed: args.seed,
        speed: args.speed,
        bind: loopback,
        plugin: loopback,
        ..ServerConfig::default()
    })
    .await
    .context("cannot start the dedicated-server simulator")?;
    let mut config = ClientConfig::new(loopback, server.local_addr());
    config.realtime_interval_ms = Some(1000);
    let mut client = Client::bind(config).await.context("cannot start the ACSP client")?;
    server.set_plugin_addr(client.local_addr());
    let server = server.spawn();
    if !out.json {
        outln!(
            "pitwall demo: a simulated AC server ({} cars, seed {}, {}× time) on {}, followed over UDP on {}",
            args.cars,
            args.seed,
            args.speed,
            server.local_addr(),
            client.local_addr()
        )?;
        outln!("(the same as `pitwall sim server` + `pitwall acsp listen`; Ctrl-C stops)\n")?;
    }
    client.broadcast_chat("pitwall is watching: good luck everybody").await?;

    let mut engine = TimingEngine::new();
    let started = tokio::time::Instant::now();
    let end = started + duration;
    let mut tick = tokio::time::interval(Duration::from_secs_f64(args.board_every.max(0.5)));
    tick.tick().await;
    let stop = crate::cmd::stop::requested();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            event = client.next_event() => {
                let event = event?;
                for notice in engine.handle(server_clock(started.elapsed(), args.speed), &event) {
                    if matches!(notice, Notice::SessionEnded { .. }) {
                        out.board(&engine.board())?;
                    }
                    out.notice(&notice, engine.now())?;
                }
                // Ask who is in each car as it joins: the answer (CAR_INFO) carries the team.
                if let acsp::Event::NewConnection(c) = &event {
                    client.get_car_info(c.car_id).await?;
                }
            }
            _ = tick.tick() => {
                out.board(&engine.board())?;
                if let Some(c) = &car_side {
                    c.status(out)?;
                }
            }
            () = tokio::time::sleep_until(end) => break,
            () = &mut stop => break,
        }
    }
    out.board(&engine.board())?;
    let summary = server.shutdown().await.context("the simulator failed")?;
    let s = client.stats().snapshot();
    let udp = Udp {
        events: s.events,
        malformed: s.malformed,
        rejected: s.rejected_source,
        per_type: s.per_type.iter().filter(|(_, n)| *n > 0).copied().collect(),
    };
    let sim_seconds = summary.sim_time.as_secs_f64();
    if !out.json {
        let counts: Vec<String> =
            s.per_type.iter().filter(|(_, n)| *n > 0).map(|(k, n)| format!("{k} {n}")).collect();
        outln!(
            "\n{} events over UDP in {sim_seconds:.0} simulated seconds ({} malformed, {} rejected): {}",
            udp.events,
            udp.malformed,
            udp.rejected,
            counts.join(", ")
        )?;
    }
    let cars = match car_side {
        Some(c) => Some(c.finish(out).await?),
        None => None,
    };
    if out.json {
        out.print_json(&Line::Summary(Summary { sim_seconds, udp, cars }))?;
    } else {
        outln!("\nNext: `pitwall sim server` and `pitwall acsp listen` in two terminals (see README).")?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The engine's clock is the server's, in simulated time: the simulator runs `speed` times
/// faster than real time, so the session clocks on the board keep pace with it. (A real server
/// would be given real time.)
fn server_clock(real: Duration, speed: f64) -> Duration {
    Duration::try_from_secs_f64(real.as_secs_f64() * speed).unwrap_or(real)
}

/// Where the demo's lines go: text for a person, or (`--json`) one JSON object per line.
#[derive(Debug, Clone, Copy)]
struct Out {
    json: bool,
}

impl Out {
    /// Prints one timing notice that happened at `at` on the engine's clock.
    fn notice(self, notice: &Notice, at: Duration) -> anyhow::Result<()> {
        if self.json {
            self.print_json(&StampedNotice { at, notice })
        } else {
            outln!("{}", timing::text::notice(notice))?;
            Ok(())
        }
    }

    /// Prints the timing board.
    fn board(self, board: &Board) -> anyhow::Result<()> {
        if self.json {
            self.print_json(&Line::Board(board))
        } else {
            print_str(&timing::text::board(board))?;
            Ok(())
        }
    }

    /// Prints `value` as one line of JSON, with the controls a JSON encoder leaves raw escaped.
    fn print_json<T: Serialize>(self, value: &T) -> anyhow::Result<()> {
        let line = serde_json::to_string(value).context("cannot encode a line of --json output")?;
        outln!("{}", json_controls(&line))?;
        Ok(())
    }
}

/// The `--json` lines other than notices, told apart by `"type"`.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Line<'a> {
    /// The timing board.
    Board(&'a Board),
    /// The bridges and the ingest server as the demo runs.
    Telemetry { cars: Vec<BridgeStatus<'a>>, ingest: IngestNow },
    /// The last line.
    Summary(Summary),
}

/// What the demo did, at the end.
#[derive(Debug, Serialize)]
struct Summary {
    /// Simulated seconds the server ran.
    sim_seconds: f64,
    udp: Udp,
    /// The car side, when there was one.
    #[serde(flatten)]
    cars: Option<CarsSummary>,
}

/// The ACSP client's counters.
#[derive(Debug, Serialize)]
struct Udp {
    events: u64,
    malformed: u64,
    /// Datagrams from an address other than the server's.
    rejected: u64,
    /// Events per type, types that came only.
    per_type: BTreeMap<&'static str, u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_lines_carry_their_type() {
        let mut engine = TimingEngine::new();
        let joins = acsp::ConnectionInfo {
            driver_name: "Käthe".into(),
            driver_guid: "guid-2".into(),
            car_id: 2,
            car_model: "ks_mazda_mx5_cup".into(),
            car_skin: "00".into(),
        };
        engine.handle(Duration::from_secs(85), &acsp::Event::NewConnection(joins));
        let board: serde_json::Value = serde_json::to_value(Line::Board(&engine.board())).unwrap();
        assert_eq!(board["type"], "board");
        assert_eq!(board["at_ms"], 85_000);
        assert_eq!(board["rows"][0]["driver"], "Käthe");
    }

    #[test]
    fn the_server_clock_runs_at_the_simulators_speed() {
        assert_eq!(server_clock(Duration::from_secs(2), 60.0), Duration::from_secs(120));
        assert_eq!(server_clock(Duration::from_secs(2), f64::NAN), Duration::from_secs(2));
    }
}
