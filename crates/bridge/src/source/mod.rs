//! Where frames come from: the game's shared memory, a game simulated in this process, or a
//! recording replayed.
//!
//! - **Shared memory** ([`SourceConfig::Shm`], `shm.rs`): a [`Poller`](::shm::Poller) over the
//!   page files of a directory (`/dev/shm` under Proton, or `--shm-dir`), or over the game's
//!   named mappings on Windows (`shm::open_live`). A [`Pacer`](crate::Pacer) times the polls
//!   around the game's 3 ms physics step.
//! - **Simulated game** ([`SourceConfig::Sim`], `game.rs`): a [`SimulatedGame`] the caller
//!   passes in, stepped in this process, its pages read through the same poller right after
//!   each step, so every step is sampled once, at real time × `speed` or as fast as possible.
//!   Its clock is the simulation's: an accelerated run records the same timestamps as a
//!   real-time one. The bridge knows no particular simulator; the `pitwall` binary passes in
//!   its game simulator.
//! - **Replay** ([`SourceConfig::Replay`], `replay.rs`): the frames of a recording, paced by
//!   their `mono_time_ns` (× `speed`) or as fast as possible. **Replayed frames keep their
//!   session ids and seqs**: they are the same frames, so a server that already has them
//!   dedupes them, and one that lacks them (a recording made with `--no-server`, or during an
//!   outage longer than the bridge ran) gets exactly what it lacks.

mod game;
mod replay;
mod shm;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::{SystemTime, UNIX_EPOCH};

// The crate, not this module's `shm` child.
use ::shm::PageSource;

use crate::error::BridgeError;
use crate::state::Sampling;

/// The three pages a [`SimulatedGame`] returns: re-exported so that an implementation needs no
/// dependency of its own on `shm`.
pub use ::shm::Snapshot;
pub use game::SimulatedGame;

/// The game's pages as the bridge opens them for `--source shm` (`dir`: a directory of page
/// files; `None`: the OS's usual place), for a check that they are there.
pub(crate) fn open_pages(dir: Option<&Path>) -> Result<Box<dyn PageSource + Send>, BridgeError> {
    shm::open(dir)
}

/// How fast a simulated or replayed source runs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Speed {
    /// This many times real time (1 is real time).
    Factor(f64),
    /// As fast as the bridge can go.
    Max,
}

impl FromStr for Speed {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        if s == "max" {
            return Ok(Speed::Max);
        }
        match s.parse::<f64>() {
            Ok(x) if x > 0.0 && x.is_finite() => Ok(Speed::Factor(x)),
            _ => Err(format!("`{s}` is not a speed: give a factor above 0 (1 = real time) or `max`")),
        }
    }
}

/// The clock of a simulated game: the real moment `at` is Unix time `unix_ns`, and simulated
/// time runs from there at the game's speed. Games given one clock (the demo's, shared with its
/// server simulator and its timing) stamp their frames alike, however late each one starts.
#[derive(Debug, Clone, Copy)]
pub struct SimClock {
    /// A real moment.
    pub at: std::time::Instant,
    /// The Unix time at that moment, ns.
    pub unix_ns: i64,
}

impl SimClock {
    /// The clock that starts now.
    pub fn now() -> SimClock {
        SimClock { at: std::time::Instant::now(), unix_ns: unix_now_ns() }
    }
}

/// The source of frames.
#[derive(Debug)]
pub enum SourceConfig {
    /// The game's shared memory: page files in `dir`, or the OS's usual place when `None` (the
    /// named mappings on Windows, `/dev/shm` elsewhere).
    Shm {
        /// Directory of the `acpmf_*` files.
        dir: Option<PathBuf>,
    },
    /// A simulated game, stepped in this process.
    Sim {
        /// The game, built by the caller.
        game: Box<dyn SimulatedGame>,
        /// Time acceleration.
        speed: Speed,
        /// The clock the game runs on and stamps its frames with; `None`: its own, from the
        /// moment it starts.
        clock: Option<SimClock>,
    },
    /// A recording, frames re-sent with their own ids.
    Replay {
        /// The recording.
        path: PathBuf,
        /// Pace relative to the frames' own clock.
        speed: Speed,
    },
}

impl SourceConfig {
    /// `shm`, `sim` or `replay`.
    pub fn kind(&self) -> &'static str {
        match self {
            SourceConfig::Shm { .. } => "shm",
            SourceConfig::Sim { .. } => "sim",
            SourceConfig::Replay { .. } => "replay",
        }
    }
}

/// An opened source, ready to run on the sampler thread.
pub(crate) enum Input {
    Shm(Box<dyn PageSource + Send>),
    Sim(Box<dyn SimulatedGame>, Speed, Option<SimClock>),
    Replay(Box<record::RecordReader>, Speed),
}

impl std::fmt::Debug for Input {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Input::Shm(_) => "Input::Shm",
            Input::Sim(..) => "Input::Sim",
            Input::Replay(..) => "Input::Replay",
        })
    }
}

impl Input {
    /// Opens the source: errors here (no pages, an unusable simulated game, no recording) stop
    /// the bridge before it starts.
    pub(crate) fn open(config: SourceConfig, record: &Path) -> Result<Input, BridgeError> {
        match config {
            SourceConfig::Shm { dir } => shm::open(dir.as_deref()).map(Input::Shm),
            SourceConfig::Sim { game, speed, clock } => {
                game::check(game.as_ref())?;
                Ok(Input::Sim(game, speed, clock))
            }
            SourceConfig::Replay { path, speed } => {
                Ok(Input::Replay(Box::new(replay::open(&path, record)?), speed))
            }
        }
    }

    /// Samples until told to stop or the source ends.
    pub(crate) fn run(self, ctx: &mut Sampling<'_>) {
        match self {
            Input::Shm(source) => shm::run(source, ctx),
            Input::Sim(game, speed, clock) => {
                game::run(game, speed, clock.unwrap_or_else(SimClock::now), ctx)
            }
            Input::Replay(reader, speed) => replay::run(*reader, speed, ctx),
        }
    }
}

/// Wall clock now, ns since the Unix epoch.
fn unix_now_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

/// The `source` of the sessions' metadata: this bridge and the kind of source.
fn source_name(kind: &str) -> String {
    format!("pitwall-bridge {} ({kind})", env!("CARGO_PKG_VERSION"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn speeds_parse_or_say_what_is_wrong() {
        assert_eq!("1".parse::<Speed>(), Ok(Speed::Factor(1.0)));
        assert_eq!("2.5".parse::<Speed>(), Ok(Speed::Factor(2.5)));
        assert_eq!("max".parse::<Speed>(), Ok(Speed::Max));
        for bad in ["0", "-1", "fast", "inf", "NaN"] {
            let err = bad.parse::<Speed>().unwrap_err();
            assert!(err.contains(bad), "{err}");
        }
    }
}
