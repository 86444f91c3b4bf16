//! The car side of `pitwall demo`: an ingest server (write-ahead log, Parquet sink,
//! catalogue) and, for each of a few cars, the game simulator and a bridge that samples every
//! physics step, records it and streams it to the server. It reports the bridges' and the
//! server's counters as the demo runs, and where the data landed at the end.
//!
//! The telemetry cars are cars of the simulated dedicated server (its car ids `0..N`): each
//! game has the server entry's driver and car, on the server's track, and feeds the server
//! simulator its car's position, speed and completed laps ([`sim::server::ExternalDrive`])
//! about 50 times a second, read from the pages it writes, as the bridge reads them. A lap of
//! such a car is therefore one lap twice: a LAP_COMPLETED of the server, with exactly the
//! game's lap time, and a lap in the telemetry, at the same time on the demo's clock.

use crate::cmd::text::outln;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use serde::Serialize;
use sim::game::{GameConfig, GameSim, PHYSICS_STEP};
use sim::server::{EntrySlot, ExternalDrive, ExternalLap};

/// How often the demo's ingest server finishes its Parquet files, ms.
const DATASET_FLUSH_MS: u64 = 10_000;
use tokio::sync::mpsc;

use super::{Args, Line, Out, unix_ms_now};
use crate::cmd::text::escape_controls;

/// How often the server simulator hears where the telemetry cars are, in real time: about
/// 50 Hz, so that a lap reaches it within 20 ms of the game completing it.
const FEED_EVERY: Duration = Duration::from_millis(20);

/// The car side: an ingest server, and per car a simulated game with its bridge.
pub(super) struct CarSide {
    server: ingest::Running,
    bridges: Vec<(TelemetryCar, bridge::Running)>,
    /// The task feeding the games' cars to the server simulator.
    feeding: tokio::task::JoinHandle<()>,
    origin: (Instant, i64),
    data: PathBuf,
    parquet: PathBuf,
}

/// One telemetry car: a server entry, and what its game has told the server.
struct TelemetryCar {
    /// `car-N DRIVER`, for the status lines.
    label: String,
    entry: EntrySlot,
    feed: Arc<Mutex<CarFeed>>,
}

/// What a game has to tell the server simulator, filled by the bridge's thread as it steps the
/// game and emptied by the feeding task.
#[derive(Debug, Default)]
struct CarFeed {
    spline_pos: f32,
    speed_ms: f32,
    /// `completedLaps` of the last graphics page.
    completed_laps: i32,
    /// Laps completed since the last feed, ms.
    new_laps: Vec<u32>,
    /// Every lap completed, ms, for the summary.
    laps: Vec<u32>,
}

/// The game simulator as a bridge source (as `pitwall bridge --source sim` has it), which also
/// notes, from each graphics page it writes, what the server simulator needs to know.
#[derive(Debug)]
struct FedGame {
    sim: GameSim,
    feed: Arc<Mutex<CarFeed>>,
}

impl bridge::SimulatedGame for FedGame {
    fn step_duration(&self) -> Duration {
        PHYSICS_STEP
    }

    fn step(&mut self) -> Option<shm::Snapshot> {
        let written = self.sim.step();
        // The graphics page (60 Hz) has the position and the lap count; reading the feed at
        // that rate is plenty for a 50 Hz feed and costs a lock per page, not per step.
        if let Some(g) = &written.graphics {
            let mut feed = self.feed.lock().unwrap_or_else(PoisonError::into_inner);
            feed.spline_pos = g.normalized_car_position;
            feed.speed_ms = self.sim.physics().speed_kmh / 3.6;
            if g.completed_laps > feed.completed_laps {
                // `iLastTime` is the lap just completed, to the millisecond.
                let lap = u32::try_from(g.i_last_time).unwrap_or(0);
                if lap > 0 {
                    feed.new_laps.push(lap);
                    feed.laps.push(lap);
                }
            }
            // Lower after a session restart, which the demo's games never do.
            feed.completed_laps = g.completed_laps;
        }
        // A paused step (or one whose page a fault dropped) writes nothing new to read.
        let wrote = written.physics.is_some() || written.graphics.is_some() || written.static_page.is_some();
        wrote.then(|| self.sim.snapshot())
    }
}

/// A server driver's name as the game has it: the first word is the name, the rest the
/// surname, so that "name surname" is the server's name again; the nickname is the surname's
/// first three letters (the name's, without a surname), as on a timing screen.
fn player(driver_name: &str) -> (String, String, String) {
    let (name, surname) = driver_name.trim().split_once(' ').unwrap_or((driver_name.trim(), ""));
    let nick_of = if surname.is_empty() { name } else { surname };
    let nick: String =
        nick_of.chars().filter(|c| c.is_alphanumeric()).take(3).flat_map(char::to_uppercase).collect();
    (name.to_owned(), surname.trim().to_owned(), nick)
}

impl CarSide {
    /// Starts the ingest server in `--data`/server, then a simulated game and a bridge for each
    /// of `entries` (the server's cars `0..N`), each recording to `--data`/recordings and
    /// streaming for `duration`, and the task that feeds the games' cars to the server
    /// simulator through `input`.
    /// The folder of the ingest server's Parquet dataset, under `--data`.
    pub(super) fn dataset(args: &Args) -> PathBuf {
        args.data.join("server").join("sinks").join("parquet")
    }

    pub(super) async fn start(
        args: &Args,
        duration: Duration,
        entries: &[EntrySlot],
        input: mpsc::Sender<(u8, ExternalDrive)>,
    ) -> anyhow::Result<CarSide> {
        let server_dir = args.data.join("server");
        let recordings = args.data.join("recordings");
        std::fs::create_dir_all(&recordings)
            .with_context(|| format!("cannot create {}", recordings.display()))?;
        let mut config = ingest::Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir: server_dir.clone(),
            ..ingest::Config::serve_default()
        };
        // Parquet files every 10 s rather than `serve`'s 30 s: the demo is short, and the
        // dashboard's lap page reads laps from finished files.
        for sink in &mut config.sinks {
            if matches!(sink.kind, ingest::sinks::SinkKind::Parquet(_)) {
                sink.flush_interval_ms = DATASET_FLUSH_MS;
            }
        }
        let parquet = CarSide::dataset(args);
        let server = ingest::Server::new(config).start().await.context("cannot start the ingest server")?;
        let url = format!("http://{}", server.local_addr());
        if !args.json {
            outln!(
                "pitwall demo: ingest server on {} (WAL and Parquet in {}); {} simulated games with bridges at {}× real time, each driving one of the server's cars:",
                server.local_addr(),
                server_dir.display(),
                entries.len(),
                args.speed,
            )?;
        }
        // The games' clock starts now: the bridges stamp each frame with this Unix time plus
        // the simulated time since (on the scaled real clock), and the timing follower is given
        // the same origin.
        let origin = (Instant::now(), unix_ms_now());
        let mut bridges = Vec::new();
        for (i, entry) in entries.iter().enumerate() {
            let (name, surname, nick) = player(&entry.driver_name);
            let game = GameConfig {
                seed: args.seed.wrapping_add(i as u64),
                track: args.track.clone(),
                player_name: name,
                player_surname: surname,
                player_nick: nick,
                car_model: entry.car_model.clone(),
                car_skin: entry.car_skin.clone(),
                cars: i32::from(args.cars),
                position: i32::from(entry.car_id) + 1,
                ..GameConfig::default()
            };
            let feed = Arc::new(Mutex::new(CarFeed::default()));
            let sim = GameSim::new(game).context("invalid game simulator settings")?;
            let source = bridge::SourceConfig::Sim {
                game: Box::new(FedGame { sim, feed: Arc::clone(&feed) }),
                speed: bridge::Speed::Factor(args.speed),
                // One clock for every game, however late its bridge starts: the timing's.
                clock: Some(bridge::SimClock { at: origin.0, unix_ns: origin.1.saturating_mul(1_000_000) }),
            };
            let mut config = bridge::BridgeConfig::new(source);
            config.record = recordings.join(format!("car-{}.pb.gz", i + 1));
            config.server = Some(bridge::ServerConfig::new(&url));
            config.duration = Some(duration);
            let label = format!("car-{} {}", i + 1, entry.driver_name);
            let running = bridge::Bridge::start(config)
                .with_context(|| format!("cannot start the bridge of {label}"))?;
            if !args.json {
                outln!(
                    "  telemetry car-{}: server car {}, {} in a {}",
                    i + 1,
                    entry.car_id,
                    escape_controls(&entry.driver_name),
                    escape_controls(&entry.car_model)
                )?;
            }
            bridges.push((TelemetryCar { label, entry: entry.clone(), feed }, running));
        }
        let feeds = bridges.iter().map(|(c, _)| (c.entry.car_id, Arc::clone(&c.feed))).collect();
        let feeding = tokio::spawn(feed_server(feeds, input));
        Ok(CarSide { server, bridges, feeding, origin, data: args.data.clone(), parquet })
    }

    /// The ingest server's live frames, for the dashboard.
    pub(super) fn live_tap(&self) -> ingest::live::LiveTap {
        self.server.live_tap()
    }

    /// Where the games' clock started: an instant and its Unix time, ms.
    pub(super) fn clock_origin(&self) -> (Instant, i64) {
        self.origin
    }

    /// The bridges' and the ingest server's counters now.
    pub(super) fn status(&self, out: Out) -> anyhow::Result<()> {
        let st = self.server.stats();
        if out.json {
            let cars = self
                .bridges
                .iter()
                .map(|(car, b)| BridgeStatus { car: &car.label, status: b.status() })
                .collect();
            let ingest = IngestNow { frames_stored: st.frames_stored, duplicates: st.duplicates };
            return out.print_json(&Line::Telemetry { cars, ingest });
        }
        for (car, b) in &self.bridges {
            let s = b.status();
            outln!(
                "  telemetry {:<26} {:>6.0} Hz  {:>8} frames  {:>8} acked  backlog {:>5}  {}",
                car.label,
                s.rate_hz,
                s.frames,
                s.frames_acked,
                s.backlog_frames,
                s.connection
            )?;
        }
        outln!(
            "  ingest server: {} frames durable, {} duplicates dropped\n",
            st.frames_stored,
            st.duplicates
        )?;
        Ok(())
    }

    /// Stops the bridges, then the ingest server, and reads the catalogue; prints what each
    /// did as text (the caller prints the JSON summary). `server_laps` are the laps the timing
    /// follower saw completed, by car id.
    pub(super) async fn finish(
        self,
        out: Out,
        server_laps: &BTreeMap<u8, Vec<u32>>,
    ) -> anyhow::Result<CarsSummary> {
        let CarSide { server, bridges, feeding, origin: _, data, parquet } = self;
        feeding.abort();
        let mut telemetry = Vec::new();
        let mut recordings = Vec::new();
        let mut cars = Vec::new();
        for (car, b) in bridges {
            b.stop();
            let label = car.label.clone();
            let summary = tokio::task::spawn_blocking(move || b.wait())
                .await
                .context("a bridge thread failed")?
                .with_context(|| format!("the bridge of {label}"))?;
            let s = &summary.status;
            if !out.json {
                outln!(
                    "telemetry {label}: {} frames in {} session(s), {} acked by the server, {} missed physics steps; recorded in {}",
                    s.frames,
                    s.sessions,
                    s.frames_acked,
                    s.missed_steps,
                    summary.record.display()
                )?;
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
            let game_lap_ms = car.feed.lock().unwrap_or_else(PoisonError::into_inner).laps.clone();
            cars.push((car.entry, game_lap_ms));
        }
        let stats = server.shutdown().await.context("the ingest server failed")?;
        let recorded = telemetry.iter().map(|t| t.frames).sum();
        let ingest =
            IngestDone { frames_stored: stats.frames_stored, recorded, duplicates: stats.duplicates };
        let (sessions, catalogue_error) = match ingest::sinks::parquet::list_sessions(&parquet) {
            Ok(sessions) => (sessions, None),
            Err(e) => (Vec::new(), Some(e.to_string())),
        };
        let telemetry_cars: Vec<CarLaps> = cars
            .into_iter()
            .map(|(entry, game_lap_ms)| {
                let server_lap_ms = server_laps.get(&entry.car_id).cloned().unwrap_or_default();
                // The catalogue names a session's driver "name surname", the server's name.
                let telemetry_laps =
                    sessions.iter().filter(|s| s.driver == entry.driver_name).map(|s| s.laps).sum();
                CarLaps {
                    car_id: entry.car_id,
                    driver: entry.driver_name,
                    car_model: entry.car_model,
                    server_laps: server_lap_ms.len(),
                    telemetry_laps,
                    server_lap_ms,
                    game_lap_ms,
                }
            })
            .collect();
        if !out.json {
            outln!(
                "ingest server: {} frames stored exactly once (of {} recorded by the bridges; {} duplicates dropped)",
                ingest.frames_stored,
                ingest.recorded,
                ingest.duplicates
            )?;
            for s in &sessions {
                outln!(
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
                )?;
            }
            if let Some(e) = &catalogue_error {
                outln!("  (cannot read the Parquet catalogue: {e})")?;
            }
            outln!("\nThe telemetry cars on the server (the same laps, timed by the game):")?;
            for c in &telemetry_cars {
                outln!(
                    "  car {} {} ({}): {} laps on the server, {} in its telemetry; server {}",
                    c.car_id,
                    escape_controls(&c.driver),
                    escape_controls(&c.car_model),
                    c.server_laps,
                    c.telemetry_laps,
                    lap_list(&c.server_lap_ms),
                )?;
            }
            print_next_steps(&data, &parquet, &recordings)?;
        }
        Ok(CarsSummary {
            data: data.display().to_string(),
            telemetry,
            telemetry_cars,
            ingest,
            sessions,
            catalogue_error,
        })
    }
}

/// Lap times as `1:35.123, 1:34.870`, or `no laps`.
fn lap_list(laps: &[u32]) -> String {
    if laps.is_empty() {
        return "no laps".to_owned();
    }
    let times: Vec<String> = laps.iter().map(|&ms| timing::format_lap_time(Some(ms))).collect();
    times.join(", ")
}

/// Tells the server simulator, about every [`FEED_EVERY`], where each game's car is, and each
/// lap it has completed, until the simulator stops taking input.
async fn feed_server(cars: Vec<(u8, Arc<Mutex<CarFeed>>)>, input: mpsc::Sender<(u8, ExternalDrive)>) {
    let mut tick = tokio::time::interval(FEED_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    loop {
        tick.tick().await;
        for (car_id, feed) in &cars {
            let (spline_pos, speed_ms, laps) = {
                let mut f = feed.lock().unwrap_or_else(PoisonError::into_inner);
                (f.spline_pos, f.speed_ms, std::mem::take(&mut f.new_laps))
            };
            let drive = |completed_lap| ExternalDrive { spline_pos, speed_ms, completed_lap };
            let mut inputs: Vec<ExternalDrive> =
                laps.iter().map(|&time_ms| drive(Some(ExternalLap { time_ms, cuts: 0 }))).collect();
            if inputs.is_empty() {
                inputs.push(drive(None));
            }
            for d in inputs {
                if input.send((*car_id, d)).await.is_err() {
                    // The simulator stopped: nobody to tell.
                    return;
                }
            }
        }
    }
}

/// The commands to look at the data, after the car side's summary.
fn print_next_steps(data: &Path, parquet: &Path, recordings: &[PathBuf]) -> anyhow::Result<()> {
    let first = recordings.first().map_or_else(|| data.join("recordings/car-1.pb.gz"), Clone::clone);
    outln!("\nThe data is in {}:", data.display())?;
    outln!("  {}/session=…/car=…/part-N.parquet   the ingest server's dataset", parquet.display())?;
    outln!("  {}   each bridge's recording (gzip, length-delimited TelemetryFrame)", first.display())?;
    outln!("Look at it:")?;
    outln!("  pitwall laps {}", first.display())?;
    outln!("  pitwall convert {} car-1.parquet      (or car-1.csv, car-1.ld for MoTeC i2)", first.display())?;
    outln!("  python3 -c \"import pandas as pd; print(pd.read_parquet('{}').describe())\"", parquet.display())
}

/// One bridge's status, named by its car.
#[derive(Debug, Serialize)]
pub(super) struct BridgeStatus<'a> {
    car: &'a str,
    #[serde(flatten)]
    status: bridge::Status,
}

/// The ingest server's counters while the demo runs.
#[derive(Debug, Serialize)]
pub(super) struct IngestNow {
    frames_stored: u64,
    duplicates: u64,
}

/// The car side, once stopped.
#[derive(Debug, Serialize)]
pub(super) struct CarsSummary {
    /// The data directory.
    data: String,
    telemetry: Vec<TelemetryDone>,
    /// The telemetry cars as server cars: their laps on the server and in the telemetry.
    telemetry_cars: Vec<CarLaps>,
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

/// A telemetry car as a car of the server: who drove what, and its laps on both sides.
#[derive(Debug, Serialize)]
struct CarLaps {
    /// Car id on the server.
    car_id: u8,
    /// The server's name for the driver, which is "name surname" in the game.
    driver: String,
    car_model: String,
    /// Laps the timing follower saw the server complete for it.
    server_laps: usize,
    /// Laps in its telemetry (the Parquet catalogue's sessions of this driver).
    telemetry_laps: u64,
    /// The server's lap times, ms, in order.
    server_lap_ms: Vec<u32>,
    /// The game's lap times (its graphics page's `iLastTime`), ms, in order: every one the
    /// server counted is among them.
    game_lap_ms: Vec<u32>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_name_splits_into_the_games_name_and_surname() {
        let p = |n: &str| player(n);
        assert_eq!(p("Alex Marino"), ("Alex".into(), "Marino".into(), "MAR".into()));
        assert_eq!(p("Renée Kovač"), ("Renée".into(), "Kovač".into(), "KOV".into()));
        assert_eq!(p("Driver 35"), ("Driver".into(), "35".into(), "35".into()));
        assert_eq!(p("Jean Du Pont"), ("Jean".into(), "Du Pont".into(), "DUP".into()));
        assert_eq!(p("Cher"), ("Cher".into(), String::new(), "CHE".into()));
        for name in ["Alex Marino", "Jean Du Pont", "José Núñez"] {
            let (first, last, _) = player(name);
            assert_eq!(format!("{first} {last}"), name);
        }
    }
}
