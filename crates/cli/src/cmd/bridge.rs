//! `pitwall bridge`: the game's shared memory (or the simulator, or a recording) → frames →
//! the ingest server over gRPC, loss-free, recording every frame locally.
//!
//! The recording is also the bridge's spool: frames the server has not acked are sent again
//! from it after a reconnect, and by the next run after a crash or a stop. SIGINT/SIGTERM stop
//! gracefully (the recording's member finished, the last acks awaited for `--ack-grace`); a
//! second one exits at once.

use crate::cmd::text::outln;
use std::io::{IsTerminal as _, Write as _};
use std::path::PathBuf;
use std::process::ExitCode;
use std::str::FromStr;
use std::time::Duration;

use anyhow::Context as _;
use bridge::{Bridge, BridgeConfig, DEFAULT_RECORD, DEFAULT_SERVER, ServerConfig, SourceConfig, Speed};
use clap::builder::PossibleValuesParser;
use sim::game::{DEFAULT_TRACK, Faults, GameConfig, GameSim, PHYSICS_STEP, TRACK_NAMES};

/// Where frames come from.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Source {
    Shm,
    Sim,
    Replay(PathBuf),
}

impl FromStr for Source {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "shm" => Ok(Source::Shm),
            "sim" => Ok(Source::Sim),
            _ => match s.strip_prefix("replay:") {
                Some(path) if !path.is_empty() => Ok(Source::Replay(PathBuf::from(path))),
                _ => Err(format!("`{s}` is not a source: use shm, sim or replay:FILE")),
            },
        }
    }
}

/// Arguments of `pitwall bridge`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Where frames come from: `shm` (the game's shared memory), `sim` (the game simulator, in
    /// this process) or `replay:FILE` (a recording, frames re-sent with their own ids: the
    /// server stores only what it lacks).
    #[arg(long, default_value = "shm", value_name = "SOURCE")]
    source: Source,
    /// Directory of the acpmf_* page files (a Proton bridge's, or `pitwall sim game`'s).
    /// Default: the game's named mappings on Windows, /dev/shm elsewhere.
    #[arg(long, value_name = "DIR")]
    shm_dir: Option<PathBuf>,
    /// The ingest server, http:// or https://.
    #[arg(long, default_value = DEFAULT_SERVER, value_name = "URL")]
    server: String,
    /// Record only: no server.
    #[arg(long, conflicts_with_all = ["token", "ca"])]
    no_server: bool,
    /// The recording (and spool): appended to if it exists.
    #[arg(long, default_value = DEFAULT_RECORD, value_name = "FILE")]
    record: PathBuf,
    /// Bearer token for the server (`authorization: Bearer <T>`).
    #[arg(long, env = "PITWALL_TOKEN", hide_env_values = true, value_name = "T")]
    token: Option<String>,
    /// PEM certificate to trust for an https:// server (e.g. a self-signed one), besides the
    /// system's roots.
    #[arg(long, value_name = "FILE")]
    ca: Option<PathBuf>,
    /// Stop after this many seconds.
    #[arg(long, value_name = "S")]
    duration: Option<f64>,
    /// Print a JSON line of metrics every --status-every seconds on stdout.
    #[arg(long)]
    json: bool,
    /// Seconds between status updates (the line on a terminal, the --json lines).
    #[arg(long, default_value_t = 1.0, value_name = "S")]
    status_every: f64,
    /// Speed of `sim` and `replay`: a factor of real time, or `max` (as fast as possible).
    #[arg(long, default_value = "1", value_name = "X")]
    speed: Speed,
    /// `sim`: seed of the simulated game.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// `sim`: circuit.
    #[arg(long, default_value = DEFAULT_TRACK, value_parser = PossibleValuesParser::new(TRACK_NAMES))]
    track: String,
    /// `sim`: faults to inject (see `pitwall sim game --help`).
    #[arg(long, default_value = "none", value_name = "SPEC")]
    faults: Faults,
    /// Unacknowledged frames kept in memory (older ones are re-read from the recording).
    #[arg(long, default_value_t = 2048, value_name = "N")]
    window: usize,
    /// On stop, seconds to wait for the server to acknowledge the last frames.
    #[arg(long, default_value_t = 5.0, value_name = "S")]
    ack_grace: f64,
}

/// The game simulator as a bridge source: the bridge knows no simulator of its own, so
/// `--source sim` and `pitwall demo` pass this one in.
#[derive(Debug)]
struct SimGame(GameSim);

impl bridge::SimulatedGame for SimGame {
    fn step_duration(&self) -> Duration {
        PHYSICS_STEP
    }

    fn step(&mut self) -> Option<shm::Snapshot> {
        let written = self.0.step();
        // A paused step (or one whose page a fault dropped) writes nothing new to read.
        let wrote = written.physics.is_some() || written.graphics.is_some() || written.static_page.is_some();
        wrote.then(|| self.0.snapshot())
    }
}

/// A bridge source running the game simulator set up as `game`, at `speed`.
pub(crate) fn sim_source(game: GameConfig, speed: Speed) -> anyhow::Result<SourceConfig> {
    let sim = GameSim::new(game).context("invalid game simulator settings")?;
    Ok(SourceConfig::Sim { game: Box::new(SimGame(sim)), speed })
}

fn seconds(flag: &str, value: f64) -> anyhow::Result<Duration> {
    Duration::try_from_secs_f64(value).with_context(|| format!("{flag} {value} is not a number of seconds"))
}

fn config(args: &Args) -> anyhow::Result<BridgeConfig> {
    let source = match &args.source {
        Source::Shm => SourceConfig::Shm { dir: args.shm_dir.clone() },
        Source::Sim => sim_source(
            GameConfig {
                seed: args.seed,
                track: args.track.clone(),
                faults: args.faults.clone(),
                ..GameConfig::default()
            },
            args.speed,
        )?,
        Source::Replay(path) => SourceConfig::Replay { path: path.clone(), speed: args.speed },
    };
    let mut config = BridgeConfig::new(source);
    config.record = args.record.clone();
    config.window_frames = args.window;
    config.duration = args.duration.map(|s| seconds("--duration", s)).transpose()?;
    config.ack_grace = seconds("--ack-grace", args.ack_grace)?;
    config.server = if args.no_server {
        None
    } else {
        let mut server = ServerConfig::new(args.server.clone());
        server.token = args.token.clone();
        server.ca_cert = args.ca.clone();
        Some(server)
    };
    Ok(config)
}

/// Runs `pitwall bridge` until its source ends, `--duration` passes, or SIGINT/SIGTERM.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let config = config(&args)?;
    let status_every = seconds("--status-every", args.status_every)?.max(Duration::from_millis(50));
    let terminal = std::io::stderr().is_terminal();
    let target = match &config.server {
        Some(s) => s.url.clone(),
        None => "no server".to_owned(),
    };
    let running = Bridge::start(config).context("cannot start the bridge")?;
    eprintln!("pitwall bridge: {} → {}, recording to {}", args.source_label(), target, args.record.display());
    if let Some(r) = running.repair() {
        eprintln!("pitwall bridge: warning: {} was damaged: {r}", args.record.display());
    }

    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the tokio runtime")?;
    let stop = running.stop_handle();
    let interrupted = runtime.block_on(async {
        let mut signal = Box::pin(super::stop::requested());
        let mut ticks = tokio::time::interval(status_every);
        ticks.tick().await;
        let mut stopping = false;
        loop {
            tokio::select! {
                () = &mut signal => {
                    if stopping {
                        // A second signal: the user wants out now.
                        return true;
                    }
                    stopping = true;
                    stop.stop();
                    if terminal {
                        eprint!("\r\x1b[K");
                    }
                    eprintln!("pitwall bridge: stopping (finishing the recording, waiting for the last acks; again to quit now)");
                    signal = Box::pin(super::stop::requested());
                }
                _ = ticks.tick() => {
                    let status = running.status();
                    if args.json {
                        if let Ok(line) = serde_json::to_string(&status) {
                            let mut out = std::io::stdout().lock();
                            let _ = writeln!(out, "{line}");
                            let _ = out.flush();
                        }
                    }
                    if terminal {
                        eprint!("\r\x1b[K{}", status.line());
                    }
                    if running.is_finished() {
                        return false;
                    }
                }
            }
        }
    });
    if terminal {
        eprintln!();
    }
    if interrupted {
        eprintln!(
            "pitwall bridge: interrupted; the recording keeps everything up to its last complete member"
        );
        return Ok(ExitCode::from(130));
    }
    let summary = running.wait().context("the bridge failed")?;
    let s = &summary.status;
    if args.json {
        outln!("{}", serde_json::to_string(s)?)?;
    }
    eprintln!(
        "pitwall bridge: stopped; {} frames in {} sessions recorded to {} ({} bytes), {} missed steps; {}",
        s.frames,
        s.sessions,
        summary.record.display(),
        s.record_bytes,
        s.missed_steps,
        match s.connection {
            bridge::ConnectionState::Disabled => "no server".to_owned(),
            _ if s.backlog_frames == 0 => format!("{} acked, nothing left to send", s.frames_acked),
            _ => format!(
                "{} acked, {} not yet acknowledged (kept in the recording; the next run sends them)",
                s.frames_acked, s.backlog_frames
            ),
        }
    );
    Ok(ExitCode::SUCCESS)
}

impl Args {
    fn source_label(&self) -> String {
        match &self.source {
            Source::Shm => match &self.shm_dir {
                Some(dir) => format!("shared memory in {}", dir.display()),
                None => "the game's shared memory".to_owned(),
            },
            Source::Sim => format!("the game simulator ({})", self.track),
            Source::Replay(path) => format!("replay of {}", path.display()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_parse_or_name_the_choices() {
        assert_eq!("shm".parse(), Ok(Source::Shm));
        assert_eq!("sim".parse(), Ok(Source::Sim));
        assert_eq!("replay:a b.pb.gz".parse(), Ok(Source::Replay("a b.pb.gz".into())));
        for bad in ["replay:", "udp", ""] {
            let err = bad.parse::<Source>().unwrap_err();
            assert!(err.contains("shm, sim or replay:FILE"), "{err}");
        }
    }
}
