//! `pitwall demo`: the main job, on the simulators, in one process.
//!
//! - **Server side:** a simulated dedicated server runs a grid through practice, qualifying and
//!   a race; pitwall follows it over the real UDP plugin protocol and keeps a live timing board.
//! - **Car side:** an ingest server (write-ahead log, Parquet sink, catalogue) and, for each of a
//!   few cars, the game simulator and a bridge that samples every physics step, records it and
//!   streams it over gRPC, loss-free.
//!
//! The two sides are one weekend: the telemetry cars are the server's cars `0..N` (same
//! drivers, cars, track), their games feed the server simulator their position and laps, and
//! everything runs on one clock, `--speed` times real time, from one origin (the Unix time at
//! the start). So a lap of a telemetry car is a server lap and a telemetry lap with the same
//! time, ending at the same moment on that clock, and the records' join finds it.
//!
//! At the end it prints where the data landed and the commands to look at it.
//!
//! The server side is what `pitwall serve --acsp-server` runs (`live::follow`): the timing
//! engine on the ACSP client, the lap records in DIR/server/records.sqlite, chat commands. This
//! module prints what it publishes, as text (`timing::text`) or, with `--json`, one JSON object
//! per line (the engine's own serde shapes, tagged by `"type"`). The car side is [`car_side`].

use crate::cmd::text::outln;
use crate::cmd::text::print_str;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;
use std::time::Instant;

use anyhow::Context as _;
use live::follow::{FollowConfig, Follower};
use live::recorder::{Recorder, RecorderConfig};
use serde::Serialize;
use sim::game::{DEFAULT_TRACK, TRACK_NAMES, Track};
use sim::server::{ServerConfig, ServerSim, SessionConfig, TrackConfig};
#[cfg(test)]
use timing::TimingEngine;
use timing::{Board, Notice, StampedNotice};

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
    /// Time acceleration of the whole demo: the server simulator and the games run this many
    /// times faster than real time (at most 100 with telemetry cars). `--game-speed` is an
    /// old name of it.
    #[arg(long, alias = "game-speed", default_value_t = DEFAULT_SPEED)]
    speed: f64,
    /// The circuit, one of the game simulator's; the server simulator runs on it too.
    #[arg(long, default_value = DEFAULT_TRACK, value_parser = clap::builder::PossibleValuesParser::new(TRACK_NAMES))]
    track: String,
    /// How long to run, in real seconds.
    #[arg(long, default_value_t = 40.0)]
    duration: f64,
    /// Seconds between timing boards.
    #[arg(long, default_value_t = 5.0)]
    board_every: f64,
    /// Cars with a simulated game and a bridge streaming telemetry, which are the server's
    /// first cars: same drivers, cars and laps (0: server side only).
    #[arg(long, default_value_t = 3)]
    telemetry_cars: u8,
    /// Where the data goes: DIR/server (the ingest server's WAL and Parquet dataset) and
    /// DIR/recordings (each bridge's recording).
    #[arg(long, value_name = "DIR", default_value = "pitwall-demo")]
    data: PathBuf,
    /// One JSON object per line instead of text: each timing notice (`"type"`: `lap_completed`,
    /// `driver_joined`…), each `board`, the `telemetry` status, and a final `summary`.
    #[arg(long)]
    json: bool,
    /// The web dashboard's address (live timing, records) [default: 127.0.0.1:8080, or a free
    /// port when that one is taken].
    #[arg(long, value_name = "ADDR")]
    http: Option<SocketAddr>,
}

/// Default `--speed`. Three games at 20× are 20 000 physics steps a second to sample, record,
/// stream and store: about one core in a release build (38 s of CPU for the 40 s run, on a
/// two-core machine), with the games keeping pace. The sessions are sized from the lap time,
/// so that 40 s show practice, qualifying and a race start at this speed.
const DEFAULT_SPEED: f64 = 20.0;
/// Highest `--speed` with telemetry cars (what `--game-speed` allowed). Whether the bridges
/// keep pace at a speed depends on the machine: one that falls behind slows its game, not the
/// server simulator, and the two halves' clocks drift apart.
const MAX_GAME_SPEED: f64 = 100.0;

/// The demo's weekend on a circuit whose laps take about `lap_s` simulated seconds: a practice
/// of three laps (an out lap, then timed laps), a qualifying of two (plus the lap in progress
/// when the clock runs out), and a five-lap race after 20 s on the grid.
fn sessions(lap_s: f64) -> Vec<SessionConfig> {
    let secs = |laps: f64| (laps * lap_s).round().clamp(60.0, 3600.0) as u32;
    let mut practice = SessionConfig::practice(1);
    practice.time_s = secs(3.0);
    let mut qualify = SessionConfig::qualify(1);
    qualify.time_s = secs(2.0);
    vec![practice, qualify, SessionConfig::race(5, 20)]
}

/// A lap's length divided by this is roughly how long the simulators take over it, s: their
/// GT3 cars average about 160 km/h.
const AVERAGE_SPEED_MS: f64 = 45.0;

/// Unix time now, ms.
pub(super) fn unix_ms_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
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
    let max_speed = if args.telemetry_cars > 0 { MAX_GAME_SPEED } else { sim::server::MAX_SPEED };
    if !(args.speed > 0.0 && args.speed <= max_speed) {
        anyhow::bail!(
            "--speed {} is out of range: give a factor above 0 and at most {max_speed}{}",
            args.speed,
            if args.telemetry_cars > 0 { " with telemetry cars" } else { "" }
        );
    }
    if args.telemetry_cars > args.cars {
        anyhow::bail!(
            "--telemetry-cars {} is more than the {} --cars on the server: each telemetry car is one of them",
            args.telemetry_cars,
            args.cars
        );
    }
    let duration = Duration::try_from_secs_f64(args.duration.max(1.0))
        .with_context(|| format!("--duration {} is not a number of seconds", args.duration))?;
    let out = Out { json: args.json };
    // The game simulator has the circuits; the server simulator is told which one.
    let circuit = Track::builtin(&args.track).context("unknown --track")?;
    let track = TrackConfig {
        name: circuit.name().to_owned(),
        config: circuit.configuration().to_owned(),
        length_m: circuit.length(),
    };

    let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
    // The simulator binds its command port first; the client then listens on a port of its own
    // and the simulator is pointed at it (a real server has both in server_cfg.ini).
    let mut server = ServerSim::bind(ServerConfig {
        cars: args.cars,
        external_cars: (0..args.telemetry_cars).collect(),
        seed: args.seed,
        speed: args.speed,
        bind: loopback,
        plugin: loopback,
        track: track.clone(),
        sessions: sessions(circuit.length() / AVERAGE_SPEED_MS),
        ..ServerConfig::default()
    })
    .await
    .context("cannot start the dedicated-server simulator")?;
    let car_side = if args.telemetry_cars > 0 {
        let entries = &server.entry_list()[..usize::from(args.telemetry_cars)];
        Some(CarSide::start(&args, duration, entries, server.external_input()).await?)
    } else {
        None
    };
    // The engine's clock is the server's, in simulated time: the simulator runs `speed` times
    // faster than real time, so lap times, gaps and the session clock keep pace with it. The
    // records' Unix times run on that clock too, from the games' start, as the bridges stamp
    // their frames: a lap ends at the same time on both sides.
    let mut config = FollowConfig::new(loopback, server.local_addr());
    config.clock_rate = args.speed;
    config.clock_origin =
        Some(car_side.as_ref().map_or_else(|| (Instant::now(), unix_ms_now()), CarSide::clock_origin));
    config.timing.realtime_interval_ms = Some(1000);
    let records_db = args.data.join("server").join("records.sqlite");
    std::fs::create_dir_all(args.data.join("server"))
        .with_context(|| format!("cannot create {}", args.data.join("server").display()))?;
    let store = records::Store::open(&records_db)
        .with_context(|| format!("opening the records database {}", records_db.display()))?;
    let recorder =
        Recorder::new(store, RecorderConfig { import_results: false, ..RecorderConfig::default() });
    let follower = Follower::bind(config, Some(recorder)).await.context("cannot start the ACSP client")?;
    let follower_addr = follower.local_addr();
    server.set_plugin_addr(follower_addr);
    let server = server.spawn();
    if !out.json {
        outln!(
            "pitwall demo: a simulated AC server ({} cars, seed {}, {}× time, on {}) on {}, followed over UDP on {}",
            args.cars,
            args.seed,
            args.speed,
            track.name,
            server.local_addr(),
            follower_addr
        )?;
        outln!("(the same as `pitwall sim server` + `pitwall acsp listen`; Ctrl-C stops)\n")?;
    }
    follower
        .sender()
        .send(&acsp::Command::BroadcastChat { message: "pitwall is watching: good luck everybody".into() })
        .await?;
    let dataset = car_side.as_ref().map(|_| CarSide::dataset(&args));
    let mut dashboard = start_dashboard(args.http, follower.feed(), &records_db, dataset).await?;
    if let Some(c) = &car_side {
        dashboard = dashboard.with_telemetry(c.live_tap());
    }
    let url = format!("http://{}/", dashboard.local_addr());
    if out.json {
        out.print_json(&Line::Dashboard { url })?;
    } else {
        outln!("dashboard: {url}\n")?;
    }
    let (stop_dashboard, dashboard_stopped) = tokio::sync::oneshot::channel::<()>();
    let dashboard_task = tokio::spawn(dashboard.run_until(async move {
        let _ = dashboard_stopped.await;
    }));
    let feed = follower.feed();
    let (mut board, mut notices) = (feed.board, feed.notices);
    let (stop_follower, stopped) = tokio::sync::oneshot::channel::<()>();
    let following = tokio::spawn(follower.run_until(async move {
        let _ = stopped.await;
    }));

    // The laps the follower saw completed for the telemetry cars, by car id.
    let mut server_laps: BTreeMap<u8, Vec<u32>> = BTreeMap::new();
    let started = tokio::time::Instant::now();
    let end = started + duration;
    let mut tick = tokio::time::interval(Duration::from_secs_f64(args.board_every.max(0.5)));
    tick.tick().await;
    let stop = crate::cmd::stop::requested();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            notice = notices.recv() => match notice {
                Ok(n) => {
                    if let Notice::LapCompleted { car_id, lap_ms: Some(ms), .. } = n.notice {
                        if car_id < args.telemetry_cars {
                            server_laps.entry(car_id).or_default().push(ms);
                        }
                    }
                    if matches!(n.notice, Notice::SessionEnded { .. }) {
                        out.board(&n.board)?;
                    }
                    out.notice(&n.notice, n.at)?;
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "the terminal fell behind the timing notices");
                }
                // The follower stopped: its error, if any, comes with its report below.
                Err(tokio::sync::broadcast::error::RecvError::Closed) => break,
            },
            _ = tick.tick() => {
                let now = board.borrow_and_update().clone();
                out.board(&now)?;
                if let Some(c) = &car_side {
                    c.status(out)?;
                }
            }
            () = tokio::time::sleep_until(end) => break,
            () = &mut stop => break,
        }
    }
    let _ = stop_follower.send(());
    let _ = stop_dashboard.send(());
    if let Ok(Err(e)) = dashboard_task.await {
        tracing::warn!(error = %e, "the dashboard stopped with an error");
    }
    let report =
        following.await.context("the timing task failed")?.context("following the simulated server")?;
    out.board(&board.borrow().clone())?;
    let summary = server.shutdown().await.context("the simulator failed")?;
    let s = report.udp.context("the follower reported no UDP counters")?;
    let udp = Udp {
        events: s.events,
        malformed: s.malformed,
        rejected: s.rejected_source,
        per_type: s.per_type.iter().filter(|(_, n)| *n > 0).copied().collect(),
    };
    let sim_seconds = summary.sim_time.as_secs_f64();
    if !out.json {
        if let Some(r) = report.recorder {
            outln!(
                "\nrecords: {} laps of {} sessions stored in {} (`pitwall records --db {} --track {} --layout {}`)",
                r.laps_stored,
                r.sessions_begun + r.sessions_resumed,
                records_db.display(),
                records_db.display(),
                track.name,
                track.config
            )?;
        }
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
        Some(c) => Some(c.finish(out, &server_laps).await?),
        None => None,
    };
    if out.json {
        out.print_json(&Line::Summary(Summary { sim_seconds, udp, cars }))?;
    } else {
        outln!("\nNext: `pitwall sim server` and `pitwall acsp listen` in two terminals (see README).")?;
    }
    Ok(ExitCode::SUCCESS)
}

/// The dashboard on `http`, or on 127.0.0.1:8080 — or a free port when 8080 is taken (another
/// demo, a test running beside this one) and no address was asked for.
async fn start_dashboard(
    http: Option<SocketAddr>,
    feed: live::follow::Feed,
    records_db: &std::path::Path,
    dataset: Option<PathBuf>,
) -> anyhow::Result<dashboard::Dashboard> {
    let config = |listen| dashboard::DashboardConfig {
        listen,
        token: None,
        records_db: Some(records_db.to_path_buf()),
        dataset: dataset.clone(),
    };
    let listen = http.unwrap_or(dashboard::DashboardConfig::default().listen);
    let second = feed.resubscribe();
    match dashboard::Dashboard::bind(config(listen), Some(feed)).await {
        Ok(d) => Ok(d),
        Err(dashboard::DashboardError::Bind { .. }) if http.is_none() => {
            let free = SocketAddr::from(([127, 0, 0, 1], 0));
            dashboard::Dashboard::bind(config(free), Some(second)).await.context("starting the dashboard")
        }
        Err(e) => Err(e).context("starting the dashboard"),
    }
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
    /// Where the web dashboard is.
    Dashboard { url: String },
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
}
