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
//! and prints what it hands back, as text or, with `--json`, one JSON object per line.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use acsp::client::{Client, ClientConfig};
use anyhow::Context as _;
use serde::Serialize;
use sim::server::{ServerConfig, ServerSim};
use timing::{Board, Gap, Notice, TimingEngine, format_lap_time};

use super::text::{escape_controls, json_controls};

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

/// Drivers of the telemetry cars, with their nicknames.
const DRIVERS: [(&str, &str, &str); 6] = [
    ("Ayrton", "Moreira", "AYR"),
    ("Käthe", "Lindqvist", "KAT"),
    ("Juan", "Fangio", "JMF"),
    ("Mika", "Hakkarainen", "MIK"),
    ("Sofía", "Núñez", "SOF"),
    ("Niki", "Lauder", "NIK"),
];

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
        println!(
            "pitwall demo: a simulated AC server ({} cars, seed {}, {}× time) on {}, followed over UDP on {}",
            args.cars,
            args.seed,
            args.speed,
            server.local_addr(),
            client.local_addr()
        );
        println!("(the same as `pitwall sim server` + `pitwall acsp listen`; Ctrl-C stops)\n");
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
        println!(
            "\n{} events over UDP in {sim_seconds:.0} simulated seconds ({} malformed, {} rejected): {}",
            udp.events,
            udp.malformed,
            udp.rejected,
            counts.join(", ")
        );
    }
    let cars = match car_side {
        Some(c) => Some(c.finish(out).await?),
        None => None,
    };
    if out.json {
        out.print_json(&Line::Summary(Summary { sim_seconds, udp, cars }))?;
    } else {
        println!("\nNext: `pitwall sim server` and `pitwall acsp listen` in two terminals (see README).");
    }
    Ok(ExitCode::SUCCESS)
}

/// The engine's clock is the server's, in simulated time: the simulator runs `speed` times
/// faster than real time, so the session clocks on the board keep pace with it. (A real server
/// would be given real time.)
fn server_clock(real: Duration, speed: f64) -> Duration {
    Duration::try_from_secs_f64(real.as_secs_f64() * speed).unwrap_or(real)
}

/// The car side: an ingest server, and per car a simulated game with its bridge.
struct CarSide {
    server: ingest::Running,
    bridges: Vec<(String, bridge::Running)>,
    data: PathBuf,
    parquet: PathBuf,
}

impl CarSide {
    async fn start(args: &Args, duration: Duration) -> anyhow::Result<CarSide> {
        let server_dir = args.data.join("server");
        let recordings = args.data.join("recordings");
        std::fs::create_dir_all(&recordings)
            .with_context(|| format!("cannot create {}", recordings.display()))?;
        let config = ingest::Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir: server_dir.clone(),
            ..ingest::Config::serve_default()
        };
        let parquet = server_dir.join("sinks").join("parquet");
        let server = ingest::Server::new(config).start().await.context("cannot start the ingest server")?;
        let url = format!("http://{}", server.local_addr());
        if !args.json {
            println!(
                "pitwall demo: ingest server on {} (WAL and Parquet in {}); {} simulated cars with bridges at {}× real time",
                server.local_addr(),
                server_dir.display(),
                args.telemetry_cars,
                args.game_speed,
            );
        }
        let mut bridges = Vec::new();
        for i in 0..usize::from(args.telemetry_cars) {
            let (name, surname, nick) = DRIVERS[i % DRIVERS.len()];
            let game = sim::game::GameConfig {
                seed: args.seed.wrapping_add(i as u64),
                player_name: name.to_owned(),
                player_surname: surname.to_owned(),
                player_nick: nick.to_owned(),
                cars: i32::from(args.telemetry_cars),
                position: i as i32 + 1,
                ..sim::game::GameConfig::default()
            };
            let source = super::bridge::sim_source(game, bridge::Speed::Factor(args.game_speed))?;
            let mut config = bridge::BridgeConfig::new(source);
            config.record = recordings.join(format!("car-{}.pb.gz", i + 1));
            config.server = Some(bridge::ServerConfig::new(&url));
            config.duration = Some(duration);
            let label = format!("car-{} {name} {surname}", i + 1);
            let running = bridge::Bridge::start(config)
                .with_context(|| format!("cannot start the bridge of {label}"))?;
            bridges.push((label, running));
        }
        Ok(CarSide { server, bridges, data: args.data.clone(), parquet })
    }

    /// The bridges' and the ingest server's counters now.
    fn status(&self, out: Out) -> anyhow::Result<()> {
        let st = self.server.stats();
        if out.json {
            let cars = self
                .bridges
                .iter()
                .map(|(label, b)| BridgeStatus { car: label, status: b.status() })
                .collect();
            let ingest = IngestNow { frames_stored: st.frames_stored, duplicates: st.duplicates };
            return out.print_json(&Line::Telemetry { cars, ingest });
        }
        for (label, b) in &self.bridges {
            let s = b.status();
            println!(
                "  telemetry {label:<26} {:>6.0} Hz  {:>8} frames  {:>8} acked  backlog {:>5}  {}",
                s.rate_hz, s.frames, s.frames_acked, s.backlog_frames, s.connection
            );
        }
        println!(
            "  ingest server: {} frames durable, {} duplicates dropped\n",
            st.frames_stored, st.duplicates
        );
        Ok(())
    }

    /// Stops the bridges, then the ingest server, and reads the catalogue; prints what each
    /// did as text (the caller prints the JSON summary).
    async fn finish(self, out: Out) -> anyhow::Result<CarsSummary> {
        let CarSide { server, bridges, data, parquet } = self;
        let mut telemetry = Vec::new();
        let mut recordings = Vec::new();
        for (label, b) in bridges {
            b.stop();
            let summary = tokio::task::spawn_blocking(move || b.wait())
                .await
                .context("a bridge thread failed")?
                .with_context(|| format!("the bridge of {label} failed"))?;
            let s = &summary.status;
            if !out.json {
                println!(
                    "telemetry {label}: {} frames in {} session(s), {} acked by the server, {} missed physics steps; recorded in {}",
                    s.frames,
                    s.sessions,
                    s.frames_acked,
                    s.missed_steps,
                    summary.record.display()
                );
            }
            telemetry.push(TelemetryDone {
                car: label,
                frames: s.frames,
                sessions: s.sessions,
                acked: s.frames_acked,
                missed_steps: s.missed_steps,
                recording: summary.record.display().to_string(),
            });
            recordings.push(summary.record);
        }
        let stats = server.shutdown().await.context("the ingest server failed")?;
        let recorded = telemetry.iter().map(|t| t.frames).sum();
        let ingest =
            IngestDone { frames_stored: stats.frames_stored, recorded, duplicates: stats.duplicates };
        let (sessions, catalogue_error) = match ingest::sinks::parquet::list_sessions(&parquet) {
            Ok(sessions) => (sessions, None),
            Err(e) => (Vec::new(), Some(e.to_string())),
        };
        if !out.json {
            println!(
                "ingest server: {} frames stored exactly once (of {} recorded by the bridges; {} duplicates dropped)",
                ingest.frames_stored, ingest.recorded, ingest.duplicates
            );
            for s in &sessions {
                println!(
                    "  session {} — {} on {}{}, {}: {} frames, {} laps, {} missed steps",
                    s.session_id,
                    escape_controls(&s.driver),
                    escape_controls(&s.track),
                    if s.layout.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", escape_controls(&s.layout))
                    },
                    escape_controls(&s.car),
                    s.frames,
                    s.laps,
                    s.missed_steps
                );
            }
            if let Some(e) = &catalogue_error {
                println!("  (cannot read the Parquet catalogue: {e})");
            }
            print_next_steps(&data, &parquet, &recordings);
        }
        Ok(CarsSummary { data: data.display().to_string(), telemetry, ingest, sessions, catalogue_error })
    }
}

fn print_next_steps(data: &Path, parquet: &Path, recordings: &[PathBuf]) {
    let first = recordings.first().map_or_else(|| data.join("recordings/car-1.pb.gz"), Clone::clone);
    println!("\nThe data is in {}:", data.display());
    println!("  {}/session=…/car=…/part-N.parquet   the ingest server's dataset", parquet.display());
    println!("  {}   each bridge's recording (gzip, length-delimited TelemetryFrame)", first.display());
    println!("Look at it:");
    println!("  pitwall laps {}", first.display());
    println!(
        "  pitwall convert {} car-1.parquet      (or car-1.csv, car-1.ld for MoTeC i2)",
        first.display()
    );
    println!(
        "  python3 -c \"import pandas as pd; print(pd.read_parquet('{}').describe())\"",
        parquet.display()
    );
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
            self.print_json(&Stamped { at_ms: millis(at), notice })
        } else {
            println!("{}", notice_text(notice));
            Ok(())
        }
    }

    /// Prints the timing board.
    fn board(self, board: &Board) -> anyhow::Result<()> {
        if self.json {
            self.print_json(&Line::Board(board))
        } else {
            print!("{}", board_text(board));
            Ok(())
        }
    }

    /// Prints `value` as one line of JSON, with the controls a JSON encoder leaves raw escaped.
    fn print_json<T: Serialize>(self, value: &T) -> anyhow::Result<()> {
        let line = serde_json::to_string(value).context("cannot encode a line of --json output")?;
        println!("{}", json_controls(&line));
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

/// A notice with the engine's clock, in ms of simulated time.
#[derive(Debug, Serialize)]
struct Stamped<'a> {
    at_ms: u64,
    #[serde(flatten)]
    notice: &'a Notice,
}

/// One bridge's status, named by its car.
#[derive(Debug, Serialize)]
struct BridgeStatus<'a> {
    car: &'a str,
    #[serde(flatten)]
    status: bridge::Status,
}

/// The ingest server's counters while the demo runs.
#[derive(Debug, Serialize)]
struct IngestNow {
    frames_stored: u64,
    duplicates: u64,
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

/// The car side, once stopped.
#[derive(Debug, Serialize)]
struct CarsSummary {
    /// The data directory.
    data: String,
    telemetry: Vec<TelemetryDone>,
    ingest: IngestDone,
    /// The Parquet catalogue's sessions.
    sessions: Vec<ingest::sinks::parquet::SessionSummary>,
    /// Why the catalogue could not be read, if it could not.
    catalogue_error: Option<String>,
}

/// One bridge, once stopped.
#[derive(Debug, Serialize)]
struct TelemetryDone {
    car: String,
    frames: u64,
    sessions: u64,
    acked: u64,
    missed_steps: u64,
    recording: String,
}

/// The ingest server, once stopped.
#[derive(Debug, Serialize)]
struct IngestDone {
    frames_stored: u64,
    /// Frames the bridges recorded.
    recorded: u64,
    duplicates: u64,
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// One notice as a line of text. Names, messages and file names come from the wire (players
/// type them): their control characters are escaped.
fn notice_text(notice: &Notice) -> String {
    match notice {
        Notice::SessionStarted(s) => format!(
            "\n▶ new session: {} ({}) at {}, {} min / {} laps",
            escape_controls(&s.name),
            s.session_type,
            escape_controls(&s.track),
            s.minutes,
            s.laps
        ),
        Notice::DriverJoined { car_id, driver, car_model, .. } => {
            format!("  + {} joins in car {car_id} ({})", escape_controls(driver), escape_controls(car_model))
        }
        Notice::DriverLeft { car_id, driver } => {
            format!("  - {} leaves car {car_id}", escape_controls(driver))
        }
        Notice::DriverTeam { car_id, driver, team } => {
            format!("    car {car_id}: {} drives for {}", escape_controls(driver), escape_controls(team))
        }
        Notice::LapCompleted { car_id, driver, lap_ms, cuts, .. } => {
            let cut = if *cuts > 0 { format!(" ({cuts} cuts: not counted)") } else { String::new() };
            format!("  ⏱ car {car_id} {}: {}{cut}", escape_controls(driver), format_lap_time(*lap_ms))
        }
        Notice::CarCollision { car_id, other_car_id, impact_kmh } => {
            format!("  ✖ car {car_id} and car {other_car_id} collide at {impact_kmh:.0} km/h")
        }
        Notice::WallCollision { car_id, impact_kmh } => {
            format!("  ✖ car {car_id} hits the wall at {impact_kmh:.0} km/h")
        }
        Notice::Chat { car_id, message, .. } => format!("  💬 car {car_id}: {}", escape_controls(message)),
        Notice::SessionEnded { results_file } => {
            format!("\n■ session over; the server wrote {}", escape_controls(results_file))
        }
        Notice::ServerError { message } => format!("  ! server error: {}", escape_controls(message)),
    }
}

/// The board as text: a heading for the session, then one line per car.
fn board_text(board: &Board) -> String {
    use std::fmt::Write as _;

    let mut o = String::new();
    let grip = board.grip.map_or_else(|| "-".to_owned(), |g| format!("{g:.3}"));
    match &board.session {
        Some(s) => {
            let _ = writeln!(
                o,
                "\n── {} · {} · {} · {} · grip {grip}",
                escape_controls(&s.name),
                s.session_type,
                escape_controls(&s.track),
                session_clock(s)
            );
        }
        None => {
            let _ = writeln!(o, "\n── no session announced yet · grip {grip}");
        }
    }
    let _ = writeln!(
        o,
        "{:>3}  {:>3}  {:<22} {:<18} {:>4} {:>9} {:>9} {:>9} {:>6} {:>6} {:>3}",
        "pos", "car", "driver", "model", "laps", "last", "best", "gap", "km/h", "track", "inc"
    );
    for r in &board.rows {
        let _ = writeln!(
            o,
            "{:>3}  {:>3}  {:<22} {:<18} {:>4} {:>9} {:>9} {:>9} {:>6.0} {:>5.0}% {:>3}{}",
            r.position,
            r.car_id,
            truncate(&escape_controls(&r.driver), 22),
            truncate(&escape_controls(&r.car_model), 18),
            r.laps,
            format_lap_time(r.last_lap_ms),
            format_lap_time(r.best_lap_ms),
            gap_text(r.gap),
            r.speed_kmh,
            r.spline * 100.0,
            r.collisions,
            if r.connected { "" } else { "  (left)" }
        );
    }
    o
}

/// Where the session is: the countdown of a race's wait, or the time run.
fn session_clock(s: &timing::SessionState) -> String {
    if s.over {
        return "over".to_owned();
    }
    if s.elapsed_ms < 0 {
        return format!("start in {:.0} s", -(s.elapsed_ms as f64) / 1000.0);
    }
    let run = format!("{}:{:02}", s.elapsed_ms / 60_000, s.elapsed_ms / 1000 % 60);
    if s.laps > 0 { format!("{run} into {} laps", s.laps) } else { format!("{run} of {} min", s.minutes) }
}

fn gap_text(gap: Option<Gap>) -> String {
    match gap {
        None => "-".to_owned(),
        Some(Gap::Leader) => "leader".to_owned(),
        Some(Gap::Time { ms }) => format!("+{}.{:03}", ms / 1000, ms % 1000),
        Some(Gap::Laps { laps: 1 }) => "+1 lap".to_owned(),
        Some(Gap::Laps { laps }) => format!("+{laps} laps"),
    }
}

fn truncate(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

#[cfg(test)]
mod tests {
    use acsp::{
        ConnectionInfo, Event, LapCompleted, LeaderboardEntry, SessionInfo, SessionType, StringWidth,
    };

    use super::*;

    fn practice() -> Event {
        Event::NewSession(SessionInfo {
            protocol_version: 4,
            session_index: 0,
            current_session_index: 0,
            session_count: 3,
            server_name: "pitwall".into(),
            track: "ks_vallelunga".into(),
            track_config: String::new(),
            name: "Practice".into(),
            session_type: SessionType::Practice,
            time: 10,
            laps: 0,
            wait_time: 0,
            ambient_temp: 22,
            road_temp: 30,
            weather_graphics: "3_clear".into(),
            weather_encoding: StringWidth::Narrow,
            elapsed_ms: 0,
        })
    }

    fn join(car_id: u8, driver: &str) -> Event {
        Event::NewConnection(ConnectionInfo {
            driver_name: driver.into(),
            driver_guid: format!("guid-{car_id}"),
            car_id,
            car_model: "ks_mazda_mx5_cup".into(),
            car_skin: "00".into(),
        })
    }

    fn lap(car_id: u8, lap_time: u32, cuts: u8) -> Event {
        Event::LapCompleted(LapCompleted {
            car_id,
            lap_time,
            cuts,
            leaderboard: vec![LeaderboardEntry { car_id, time: lap_time, laps: 1, has_completed: None }],
            grip_level: 0.981,
        })
    }

    /// Two cars with a lap each, a minute and a half into practice; the second has left.
    fn engine() -> TimingEngine {
        let mut engine = TimingEngine::new();
        for (s, event) in [
            (0, practice()),
            (1, join(1, "Ayrton")),
            (2, join(2, "Käthe")),
            (80, lap(2, 80_902, 0)),
            (81, lap(1, 81_402, 0)),
            (
                85,
                Event::ConnectionClosed(ConnectionInfo {
                    driver_name: "Ayrton".into(),
                    driver_guid: "guid-1".into(),
                    car_id: 1,
                    car_model: "ks_mazda_mx5_cup".into(),
                    car_skin: "00".into(),
                }),
            ),
        ] {
            engine.handle(Duration::from_secs(s), &event);
        }
        engine
    }

    #[test]
    fn the_board_reads_like_a_timing_screen() {
        let text = board_text(&engine().board());
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "");
        assert_eq!(lines[1], "── Practice · practice · ks_vallelunga · 1:25 of 10 min · grip 0.981");
        assert!(lines[2].starts_with("pos  car  driver"), "{text}");
        assert!(lines[3].starts_with("  1    2  Käthe "), "{text}");
        assert!(lines[3].contains(" 1:20.902 ") && lines[3].contains(" leader "), "{text}");
        assert!(lines[4].starts_with("  2    1  Ayrton "), "{text}");
        assert!(lines[4].contains(" +0.500 ") && lines[4].ends_with("(left)"), "{text}");
        assert_eq!(lines.len(), 5, "{text}");
    }

    #[test]
    fn notices_read_as_the_demo_always_printed_them() {
        let mut engine = TimingEngine::new();
        let started = engine.handle(Duration::ZERO, &practice());
        assert_eq!(
            notice_text(&started[0]),
            "\n▶ new session: Practice (practice) at ks_vallelunga, 10 min / 0 laps"
        );
        let joined = engine.handle(Duration::ZERO, &join(3, "Juan"));
        assert_eq!(notice_text(&joined[0]), "  + Juan joins in car 3 (ks_mazda_mx5_cup)");
        let cut = engine.handle(Duration::ZERO, &lap(3, 80_902, 2));
        assert_eq!(notice_text(&cut[0]), "  ⏱ car 3 Juan: 1:20.902 (2 cuts: not counted)");
        let clean = engine.handle(Duration::ZERO, &lap(3, 81_000, 0));
        assert_eq!(notice_text(&clean[0]), "  ⏱ car 3 Juan: 1:21.000");
    }

    /// Names are typed by players: none reaches the terminal with its control characters.
    #[test]
    fn names_from_the_wire_are_escaped() {
        let evil = "x\u{1b}[2J\u{9b}31m";
        let mut engine = TimingEngine::new();
        engine.handle(Duration::ZERO, &practice());
        let joined = engine.handle(Duration::ZERO, &join(1, evil));
        for line in [notice_text(&joined[0]), board_text(&engine.board())] {
            assert!(!line.replace('\n', "").chars().any(char::is_control), "{line:?}");
            assert!(line.contains("x\\u{1b}[2J"), "{line}");
        }
    }

    #[test]
    fn json_lines_carry_their_type() {
        let engine = engine();
        let board: serde_json::Value = serde_json::to_value(Line::Board(&engine.board())).unwrap();
        assert_eq!(board["type"], "board");
        assert_eq!(board["rows"][0]["driver"], "Käthe");
        let notice = Notice::DriverLeft { car_id: 1, driver: "Ayrton".into() };
        let line = serde_json::to_value(Stamped { at_ms: 85_000, notice: &notice }).unwrap();
        assert_eq!(
            line,
            serde_json::json!({ "type": "driver_left", "at_ms": 85_000, "car_id": 1, "driver": "Ayrton" })
        );
    }

    #[test]
    fn the_server_clock_runs_at_the_simulators_speed() {
        assert_eq!(server_clock(Duration::from_secs(2), 60.0), Duration::from_secs(120));
        assert_eq!(server_clock(Duration::from_secs(2), f64::NAN), Duration::from_secs(2));
        assert_eq!(gap_text(Some(Gap::Laps { laps: 2 })), "+2 laps");
        assert_eq!(gap_text(Some(Gap::Time { ms: 61_005 })), "+61.005");
    }
}
