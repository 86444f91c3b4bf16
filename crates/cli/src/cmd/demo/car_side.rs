//! The car side of `pitwall demo`: an ingest server (write-ahead log, Parquet sink,
//! catalogue) and, for each of a few cars, the game simulator and a bridge that samples every
//! physics step, records it and streams it to the server. It reports the bridges' and the
//! server's counters as the demo runs, and where the data landed at the end.

use crate::cmd::text::outln;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use serde::Serialize;

use super::{Args, Line, Out};
use crate::cmd::text::escape_controls;

/// Drivers of the telemetry cars, with their nicknames.
const DRIVERS: [(&str, &str, &str); 6] = [
    ("Ayrton", "Moreira", "AYR"),
    ("Käthe", "Lindqvist", "KAT"),
    ("Juan", "Fangio", "JMF"),
    ("Mika", "Hakkarainen", "MIK"),
    ("Sofía", "Núñez", "SOF"),
    ("Niki", "Lauder", "NIK"),
];

/// The car side: an ingest server, and per car a simulated game with its bridge.
pub(super) struct CarSide {
    server: ingest::Running,
    bridges: Vec<(String, bridge::Running)>,
    data: PathBuf,
    parquet: PathBuf,
}

impl CarSide {
    /// Starts the ingest server in `--data`/server, then a simulated game and a bridge per
    /// telemetry car, each recording to `--data`/recordings and streaming for `duration`.
    pub(super) async fn start(args: &Args, duration: Duration) -> anyhow::Result<CarSide> {
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
            outln!(
                "pitwall demo: ingest server on {} (WAL and Parquet in {}); {} simulated cars with bridges at {}× real time",
                server.local_addr(),
                server_dir.display(),
                args.telemetry_cars,
                args.game_speed,
            )?;
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
            let source = crate::cmd::bridge::sim_source(game, bridge::Speed::Factor(args.game_speed))?;
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
    pub(super) fn status(&self, out: Out) -> anyhow::Result<()> {
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
            outln!(
                "  telemetry {label:<26} {:>6.0} Hz  {:>8} frames  {:>8} acked  backlog {:>5}  {}",
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
    /// did as text (the caller prints the JSON summary).
    pub(super) async fn finish(self, out: Out) -> anyhow::Result<CarsSummary> {
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
            print_next_steps(&data, &parquet, &recordings)?;
        }
        Ok(CarsSummary { data: data.display().to_string(), telemetry, ingest, sessions, catalogue_error })
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
