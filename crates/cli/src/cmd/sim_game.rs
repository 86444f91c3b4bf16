//! `pitwall sim game`: the game simulator writing AC's three shared-memory pages into page
//! files (by default where a Proton bridge puts them, `/dev/shm` on Linux), in real time or
//! faster, until Ctrl-C or `--duration`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use super::text::page_lap_time;
use anyhow::Context as _;
use clap::builder::PossibleValuesParser;
use shm::{MonotonicClock, SessionType};
use sim::game::{
    DEFAULT_TRACK, Faults, GameConfig, GameRunner, GameSim, GameWriter, MAX_SPEED, RunConfig, RunStats,
    TRACK_NAMES,
};

/// Arguments of `pitwall sim game`.
#[derive(Debug, clap::Args)]
pub struct GameArgs {
    /// Directory to write acpmf_physics, acpmf_graphics and acpmf_static in (created if
    /// missing). Default: /dev/shm on Linux, where readers of a Proton bridge look; on Windows
    /// the game's own named mappings (Local\acpmf_*), where every AC tool looks.
    #[arg(long, value_name = "DIR")]
    shm_dir: Option<PathBuf>,
    /// Seed of everything random: the same seed gives the same pages.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Time acceleration: simulated seconds per real second (above 0, at most 1000). Above
    /// about 5×, several physics steps pass between writes and the physics packetId jumps.
    #[arg(long, default_value_t = 1.0, allow_negative_numbers = true, value_parser = super::speed(MAX_SPEED))]
    speed: f64,
    /// Circuit.
    #[arg(long, default_value = DEFAULT_TRACK, value_parser = PossibleValuesParser::new(TRACK_NAMES))]
    track: String,
    /// Session type shown in the graphics page.
    #[arg(long, value_enum, default_value_t = Session::Practice)]
    session: Session,
    /// Stop after this many real seconds instead of waiting for Ctrl-C.
    #[arg(long, value_name = "SECS", allow_negative_numbers = true, value_parser = super::seconds)]
    duration: Option<Duration>,
    /// Faults to inject: `none`, or e.g. `drop=0.01,tear=0.05,pause=30/2,restart=120`
    /// (dropped physics steps, torn writes, pauses of FOR seconds about every EVERY seconds,
    /// session restarts every N seconds; times are simulated).
    #[arg(long, default_value = "none", value_name = "SPEC")]
    faults: Faults,
    /// Write every physics step, even when the speed makes several fall due at once.
    #[arg(long)]
    every_step: bool,
    /// Real seconds between status lines on stderr.
    #[arg(long, default_value = "5", value_name = "SECS", allow_negative_numbers = true, value_parser = super::seconds)]
    status_every: Duration,
}

/// Session types offered on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Session {
    Practice,
    Qualify,
    Race,
    Hotlap,
}

impl From<Session> for SessionType {
    fn from(s: Session) -> SessionType {
        match s {
            Session::Practice => SessionType::Practice,
            Session::Qualify => SessionType::Qualify,
            Session::Race => SessionType::Race,
            Session::Hotlap => SessionType::Hotlap,
        }
    }
}

/// Where the page files go when `--shm-dir` is not given.
fn default_dir() -> PathBuf {
    if cfg!(target_os = "linux") {
        PathBuf::from(shm::DEFAULT_DIR)
    } else {
        std::env::temp_dir().join("pitwall-shm")
    }
}

/// The page writer: the files in `dir`, or on Windows without `--shm-dir` the game's own named
/// mappings. Also says where, for messages.
fn open_writer(dir_given: bool, dir: &std::path::Path) -> anyhow::Result<(GameWriter, String)> {
    #[cfg(windows)]
    if !dir_given {
        let writer =
            GameWriter::create_mappings().context("cannot create the named mappings Local\\acpmf_*")?;
        return Ok((writer, "into the named mappings Local\\acpmf_*".to_owned()));
    }
    let _ = dir_given;
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let writer = GameWriter::create(dir)
        .with_context(|| format!("cannot create the page files in {}", dir.display()))?;
    Ok((writer, format!("in {}", dir.display())))
}

/// Runs `pitwall sim game`.
pub fn run(args: GameArgs) -> anyhow::Result<ExitCode> {
    let dir = args.shm_dir.clone().unwrap_or_else(default_dir);
    let (limit, status_every) = (args.duration, args.status_every);
    let config = GameConfig {
        seed: args.seed,
        track: args.track.clone(),
        session: args.session.into(),
        faults: args.faults.clone(),
        ..GameConfig::default()
    };
    let sim = GameSim::new(config).context("invalid game simulator settings")?;
    let run_config = RunConfig { speed: args.speed, every_step: args.every_step, ..RunConfig::default() };
    run_config.validate().map_err(|e| super::UsageError(format!("--speed: {e}")))?;
    let (writer, place) = open_writer(args.shm_dir.is_some(), &dir)?;
    let track = sim.track();
    eprintln!(
        "pitwall sim game: writing acpmf_physics, acpmf_graphics and acpmf_static {place} — {} ({}, {:.0} m), \
         seed {}, {}× real time, faults {}; {}",
        track.name(),
        if track.configuration().is_empty() { "no layout" } else { track.configuration() },
        track.length(),
        args.seed,
        args.speed,
        args.faults,
        if limit.is_some() { "stops after --duration (or Ctrl-C)" } else { "Ctrl-C stops" },
    );

    let mut runner = GameRunner::new(sim, writer, MonotonicClock::new(), run_config)?;
    let stop = super::stop::flag();
    let speed = args.speed;
    runner
        .run(&stop, limit, status_every, |sim, run| {
            eprintln!("pitwall sim game: {}", status_line(sim, run, speed))
        })
        .with_context(|| format!("writing the pages {place} failed"))?;
    eprintln!("pitwall sim game: stopped: {}", status_line(runner.sim(), runner.stats(), speed));
    for lap in runner.sim().laps() {
        let sectors: Vec<String> = lap.sectors_ms.iter().map(|&ms| page_lap_time(ms)).collect();
        eprintln!(
            "  session {} lap {}: {} ({})",
            lap.session,
            lap.lap,
            page_lap_time(lap.time_ms),
            sectors.join(" + ")
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// One line about where the simulation is.
fn status_line(sim: &GameSim, run: &RunStats, speed: f64) -> String {
    let (p, g, st) = (sim.physics(), sim.graphics(), sim.stats());
    let t = sim.sim_time().as_secs();
    let gear = match p.gear {
        0 => "R".to_owned(),
        1 => "N".to_owned(),
        n => (n - 1).to_string(),
    };
    format!(
        "{}:{:02}:{:02} simulated ({speed}×){}, session {}, lap {} (last {}, best {}), {:.0} km/h in {gear}, \
         physics #{} / graphics #{}; faults: {} dropped, {} torn, {} pauses, {} restarts; {} steps unwritten",
        t / 3600,
        t / 60 % 60,
        t % 60,
        if sim.is_paused() { " PAUSED" } else { "" },
        sim.session(),
        g.completed_laps + 1,
        page_lap_time(g.i_last_time),
        page_lap_time(g.i_best_time),
        p.speed_kmh,
        p.packet_id,
        g.packet_id,
        st.dropped_steps,
        st.torn_writes,
        st.pauses,
        st.sessions - 1,
        run.steps_unwritten,
    )
}
