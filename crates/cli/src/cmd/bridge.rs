//! `pitwall bridge`: the game's shared memory (or the simulator, or a recording) → frames →
//! the ingest server over gRPC, loss-free, recording every frame locally.
//!
//! The recording is also the bridge's spool: frames the server has not acked are sent again
//! from it after a reconnect, and by the next run after a crash or a stop. SIGINT/SIGTERM stop
//! gracefully (the recording's member finished, the last acks awaited for `--ack-grace`); a
//! second one exits at once.

mod check;
pub(crate) mod file;

use crate::cmd::UsageError;
use crate::cmd::text::outln;
use std::io::{IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::str::FromStr;
use std::time::Duration;

use anyhow::Context as _;
use bridge::{
    Bridge, BridgeConfig, DEFAULT_RECORD, DEFAULT_SERVER, ServerConfig, SourceConfig, Speed, SpoolConfig,
};
use clap::builder::PossibleValuesParser;
use sim::game::{DEFAULT_TRACK, Faults, GameConfig, GameSim, PHYSICS_STEP, TRACK_NAMES};

/// Where frames come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Source {
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
    /// The settings file (bridge.toml); without it the default places are looked in (listed
    /// below). Flags given here override the file.
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Check the setup and stop: is the game's shared memory visible, is the server reachable,
    /// does it accept the token. Plain sentences, and an exit code for what failed (below).
    #[arg(long)]
    check: bool,
    /// Where frames come from: `shm` (the game's shared memory), `sim` (the game simulator, in
    /// this process) or `replay:FILE` (a recording, frames re-sent with their own ids: the
    /// server stores only what it lacks) [default: shm].
    #[arg(long, value_name = "SOURCE")]
    source: Option<Source>,
    /// Directory of the acpmf_* page files (a Proton bridge's, or `pitwall sim game`'s).
    /// Default: the game's named mappings on Windows, /dev/shm elsewhere.
    #[arg(long, value_name = "DIR")]
    shm_dir: Option<PathBuf>,
    /// The ingest server, http:// or https:// [default: http://127.0.0.1:50051].
    #[arg(long, value_name = "URL")]
    server: Option<String>,
    /// Record only: no server.
    #[arg(long, conflicts_with_all = ["token", "ca"])]
    no_server: bool,
    /// The recording (and spool): appended to if it exists [default:
    /// RECORDING_FOLDER/telemetry_record.pb.gz with the file's recording_folder, else
    /// telemetry_record.pb.gz in the current folder].
    #[arg(long, value_name = "FILE")]
    record: Option<PathBuf>,
    /// Bearer token for the server (`authorization: Bearer <T>`).
    #[arg(long, env = "PITWALL_TOKEN", hide_env_values = true, value_name = "T")]
    token: Option<String>,
    /// PEM certificate to trust for an https:// server (e.g. a self-signed one), besides the
    /// system's roots.
    #[arg(long, value_name = "FILE")]
    ca: Option<PathBuf>,
    /// The name you race under on the server, when the game's player name is another: sent as
    /// the session's nickname, so that the server links your laps to its own.
    #[arg(long, value_name = "NAME")]
    driver_name: Option<String>,
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
    /// Unacknowledged frames kept in memory (older ones are re-read from the recording)
    /// [default: 2048].
    #[arg(long, value_name = "N")]
    window: Option<usize>,
    /// On stop, seconds to wait for the server to acknowledge the last frames [default: 5].
    #[arg(long, value_name = "S")]
    ack_grace: Option<f64>,
}

/// The text after `pitwall bridge --help`'s options: where the settings file is looked for
/// (on this machine, for this user) and what `--check`'s exit codes mean.
pub fn after_help() -> String {
    let mut text =
        String::from("Settings file (bridge.toml): --config FILE, else the first of these that exists:\n");
    for place in file::default_locations() {
        text.push_str(&format!("  {}\n", place.display()));
    }
    text.push_str(
        "Its keys are the flags' names with `_` for `-` (server, token, ca, driver_name, source, \
         shm_dir, window, ack_grace), record_only (--no-server) and recording_folder (the \
         recording goes there); relative paths are from the file's folder.\n\n",
    );
    text.push_str("Exit status of --check (the first problem found, in this order):\n");
    for (code, what) in check::EXIT_CODES {
        text.push_str(&format!("  {code:>2}  {what}\n"));
    }
    text
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
    Ok(SourceConfig::Sim { game: Box::new(SimGame(sim)), speed, clock: None })
}

fn seconds(flag: &str, value: f64) -> anyhow::Result<Duration> {
    Duration::try_from_secs_f64(value).with_context(|| format!("{flag} {value} is not a number of seconds"))
}

/// The bridge's settings: the flags, then the settings file, then the defaults.
#[derive(Debug)]
pub(crate) struct Settings {
    /// The settings file used, if any.
    pub file: Option<PathBuf>,
    pub source: Source,
    pub shm_dir: Option<PathBuf>,
    /// `None`: record only.
    pub server: Option<ServerConfig>,
    pub record: PathBuf,
    /// The file's `recording_folder`, when the recording goes there: created if missing.
    pub recording_folder: Option<PathBuf>,
    pub driver_name: Option<String>,
    pub window: usize,
    pub ack_grace: Duration,
}

/// A usage error (exit status 2) about a setting of the file.
fn file_error(e: file::FileError) -> anyhow::Error {
    anyhow::Error::new(UsageError(e.to_string()))
}

fn settings(args: &Args) -> anyhow::Result<Settings> {
    let loaded = file::find(args.config.as_deref()).map_err(file_error)?;
    let empty = file::BridgeFile::default();
    let f = loaded.as_ref().map_or(&empty, |l| &l.file);
    // A value of the file, checked: an error names the file, the line and the key.
    let check = |key: &str, span: std::ops::Range<usize>, msg: String| match &loaded {
        Some(l) => file_error(l.error(key, span, msg)),
        None => anyhow::Error::new(UsageError(msg)),
    };
    let resolve = |p: &Path| loaded.as_ref().map_or_else(|| p.to_owned(), |l| l.resolve(p));

    let source = match (&args.source, &f.source) {
        (Some(s), _) => s.clone(),
        (None, Some(s)) => {
            let mut parsed = s.get_ref().parse::<Source>().map_err(|e| check("source", s.span(), e))?;
            if let Source::Replay(path) = &mut parsed {
                *path = resolve(path);
            }
            parsed
        }
        (None, None) => Source::Shm,
    };
    let shm_dir = args.shm_dir.clone().or_else(|| f.shm_dir.as_ref().map(|d| resolve(d.get_ref())));
    let recording_folder = match &args.record {
        Some(_) => None,
        None => f.recording_folder.as_ref().map(|dir| resolve(dir.get_ref())),
    };
    let record = match (&args.record, &recording_folder) {
        (Some(r), _) => r.clone(),
        (None, Some(dir)) => dir.join(DEFAULT_RECORD),
        (None, None) => PathBuf::from(DEFAULT_RECORD),
    };
    let window = match (args.window, &f.window) {
        (Some(w), _) => w,
        (None, Some(w)) if *w.get_ref() == 0 => {
            return Err(check("window", w.span(), "must be at least 1 frame".into()));
        }
        (None, Some(w)) => *w.get_ref(),
        (None, None) => SpoolConfig::default().window_frames,
    };
    let ack_grace = match (args.ack_grace, &f.ack_grace) {
        (Some(s), _) => seconds("--ack-grace", s)?,
        (None, Some(s)) => Duration::try_from_secs_f64(*s.get_ref()).map_err(|_| {
            check("ack_grace", s.span(), format!("{} is not a number of seconds", s.get_ref()))
        })?,
        (None, None) => Duration::from_secs(5),
    };
    let driver_name =
        args.driver_name.clone().or_else(|| f.driver_name.as_ref().map(|n| n.get_ref().clone()));

    let record_only = args.no_server || (f.record_only == Some(true) && args.server.is_none());
    let server = if record_only {
        None
    } else {
        let url = match (&args.server, &f.server) {
            (Some(url), _) => url.clone(),
            (None, Some(url)) => {
                let u = url.get_ref();
                if !(u.starts_with("http://") || u.starts_with("https://")) {
                    return Err(check(
                        "server",
                        url.span(),
                        format!("`{u}` must start with http:// or https:// (e.g. http://192.168.1.10:50051)"),
                    ));
                }
                u.clone()
            }
            (None, None) => DEFAULT_SERVER.to_owned(),
        };
        let mut server = ServerConfig::new(url);
        server.token = match (&args.token, &f.token) {
            (Some(t), _) => Some(t.clone()),
            (None, Some(t)) => {
                let token = t.get_ref();
                if token.is_empty() || !token.bytes().all(|b| b.is_ascii_graphic()) {
                    return Err(check(
                        "token",
                        t.span(),
                        "must be printable ASCII without spaces (copy it exactly as your admin gave it)"
                            .into(),
                    ));
                }
                Some(token.clone())
            }
            (None, None) => None,
        };
        server.ca_cert = args.ca.clone().or_else(|| f.ca.as_ref().map(|c| resolve(c.get_ref())));
        Some(server)
    };
    Ok(Settings {
        file: loaded.map(|l| l.path),
        source,
        shm_dir,
        server,
        record,
        recording_folder,
        driver_name,
        window,
        ack_grace,
    })
}

fn config(args: &Args, settings: &Settings) -> anyhow::Result<BridgeConfig> {
    let source = match &settings.source {
        Source::Shm => SourceConfig::Shm { dir: settings.shm_dir.clone() },
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
    config.record = settings.record.clone();
    config.window_frames = settings.window;
    config.duration = args.duration.map(|s| seconds("--duration", s)).transpose()?;
    config.ack_grace = settings.ack_grace;
    config.server = settings.server.clone();
    config.driver_name = settings.driver_name.clone();
    Ok(config)
}

/// Runs `pitwall bridge` until its source ends, `--duration` passes, or SIGINT/SIGTERM.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let settings = settings(&args)?;
    if args.check {
        return check::run(&settings);
    }
    if let Some(dir) = &settings.recording_folder {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the recording folder {}", dir.display()))?;
    }
    let config = config(&args, &settings)?;
    let status_every = seconds("--status-every", args.status_every)?.max(Duration::from_millis(50));
    let terminal = std::io::stderr().is_terminal();
    let target = match &config.server {
        Some(s) => s.url.clone(),
        None => "no server".to_owned(),
    };
    let running = Bridge::start(config).context("cannot start the bridge")?;
    if let Some(path) = &settings.file {
        eprintln!("pitwall bridge: settings from {}", path.display());
    }
    eprintln!(
        "pitwall bridge: {} → {}, recording to {}",
        settings.source_label(&args),
        target,
        settings.record.display()
    );
    if let Some(r) = running.repair() {
        eprintln!("pitwall bridge: warning: {} was damaged: {r}", settings.record.display());
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

impl Settings {
    fn source_label(&self, args: &Args) -> String {
        match &self.source {
            Source::Shm => match &self.shm_dir {
                Some(dir) => format!("shared memory in {}", dir.display()),
                None => "the game's shared memory".to_owned(),
            },
            Source::Sim => format!("the game simulator ({})", args.track),
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
