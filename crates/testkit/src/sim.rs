//! Simulated sessions: `sim::game::GameSim`'s pages turned into frames by the bridge's own
//! mapping ([`bridge::frame`]), with ids and clocks as the bridge gives them; and the simulator
//! as the bridge's source.
//!
//! [`Run`] steps the simulator on its own clock (no real time passes) and calls back with every
//! frame a bridge would send: one per physics page written, the session's metadata on the first
//! frame of each session, `seq` from 0 in each session, and the physics steps the game skipped
//! counted on the next frame. It returns the simulator's own lap records, to check what the
//! frames give against.
//!
//! ```
//! use std::time::Duration;
//!
//! use testkit::sim::{Run, oval, session_id, with_drops};
//!
//! // Two sessions (restarted at 5 s) with 5% of the physics steps dropped.
//! let mut sessions = Vec::new();
//! let mut missed = 0;
//! Run::new(with_drops(oval(3), 0.05), Duration::from_secs(8))
//!     .restart_at(&[Duration::from_secs(5)])
//!     .for_each(|f| {
//!         if f.seq == 0 {
//!             sessions.push(f.session_id.clone());
//!         }
//!         missed += f.missed_steps;
//!     });
//! assert_eq!(sessions, [session_id(1), session_id(2)]);
//! assert!(missed > 50);
//! ```

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use bridge::frame::{FrameIds, frame, session_metadata};
use bridge::{BackoffConfig, BridgeConfig, ServerConfig, SourceConfig, Speed};
use bytes::Bytes;
use proto::telemetry::v1::TelemetryFrame;
use record::{RecordOptions, RecordReader, RecordWriter};
use sim::game::{Faults, GameConfig, GameSim, LapRecord};

/// 2023-11-14 22:13:20 UTC, the wall clock at the simulator's time 0.
pub const WALL0_NS: i64 = 1_700_000_000_000_000_000;

/// The `source` of the session metadata in a [`Run`]'s frames.
pub const SOURCE: &str = "pitwall testkit";

/// A simulator on the short oval (a lap in about 40 s), seeded with `seed`.
pub fn oval(seed: u64) -> GameConfig {
    GameConfig { seed, track: "pitwall_oval".into(), ..GameConfig::default() }
}

/// `config` with physics steps dropped with probability `rate` (the game skipping steps).
pub fn with_drops(config: GameConfig, rate: f64) -> GameConfig {
    let faults = Faults { drop_rate: rate, ..config.faults.clone() };
    GameConfig { faults, ..config }
}

/// The id of a [`Run`]'s `n`th session (from 1): 16 bytes shaped like the bridge's UUIDv7s
/// (version and variant bits set), distinct per `n`.
pub fn session_id(n: u8) -> Bytes {
    let mut id = [0u8; 16];
    id[..6].copy_from_slice(&[0x01, 0x8b, 0xd3, 0x7e, 0x10, n]);
    id[6] = 0x70 | (n & 0x0f);
    id[7] = 0x42;
    id[8] = 0x80 | (n >> 2);
    for (i, b) in id[9..].iter_mut().enumerate() {
        *b = (i as u8).wrapping_mul(37).wrapping_add(n);
    }
    Bytes::copy_from_slice(&id)
}

/// A simulated run: what to simulate, for how long, and when to restart the session.
#[derive(Debug, Clone)]
pub struct Run {
    config: GameConfig,
    duration: Duration,
    restarts: Vec<Duration>,
}

impl Run {
    /// `config` for `duration` of simulated time, in one session.
    pub fn new(config: GameConfig, duration: Duration) -> Run {
        Run { config, duration, restarts: Vec::new() }
    }

    /// Restarts the session (a new session id, `seq` from 0 again) at each instant of
    /// `restarts`, in simulated time.
    pub fn restart_at(mut self, restarts: &[Duration]) -> Run {
        self.restarts = restarts.to_vec();
        self.restarts.sort();
        self
    }

    /// Runs the simulator, calling `each` with every frame the bridge would produce. Returns the
    /// simulator's lap records (every session's, in order).
    ///
    /// # Panics
    ///
    /// If the simulator refuses the configuration.
    pub fn for_each(self, mut each: impl FnMut(TelemetryFrame)) -> Vec<LapRecord> {
        let mut game = GameSim::new(self.config).expect("a valid game simulator configuration");
        let mut graphics = None;
        let mut meta = None;
        let mut session = 0u8;
        let mut id = session_id(1);
        let mut seq = 0u64;
        let mut missed = 0u32;
        let mut restarts = self.restarts.iter().peekable();
        while game.sim_time() < self.duration {
            if restarts.peek().is_some_and(|&&at| game.sim_time() >= at) {
                restarts.next();
                game.restart_session();
            }
            let step = game.step();
            let mono = step.sim_time.as_nanos() as i64;
            if let Some(g) = step.graphics {
                graphics = Some(g);
            }
            // The bridge samples nothing until the game has shown a graphics page.
            let Some(g) = graphics.as_ref() else { continue };
            if let Some(s) = &step.static_page {
                session += 1;
                id = session_id(session);
                seq = 0;
                missed = 0;
                meta = Some(session_metadata(s, g.session(), SOURCE, WALL0_NS + mono));
            }
            if step.dropped {
                missed += 1;
            }
            if let Some(p) = &step.physics {
                let ids = FrameIds {
                    session_id: id.clone(),
                    seq,
                    wall_time_ns: WALL0_NS + mono,
                    mono_time_ns: mono,
                    missed_steps: missed,
                };
                each(frame(p, g, ids, meta.take(), g.tyre_compound()));
                seq += 1;
                missed = 0;
            }
        }
        game.laps().to_vec()
    }

    /// Every frame of the run, and the simulator's lap records.
    pub fn frames(self) -> (Vec<TelemetryFrame>, Vec<LapRecord>) {
        let mut frames = Vec::new();
        let laps = self.for_each(|f| frames.push(f));
        (frames, laps)
    }

    /// Writes the run to a recording at `path` with the recording crate's writer, in members
    /// of one second of frames (the bridge's default), the clock being the frames' own.
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// use testkit::sim::{Run, oval, read_recording};
    ///
    /// let dir = tempfile::tempdir()?;
    /// let path = dir.path().join("run.pb.gz");
    /// let run = Run::new(oval(2), Duration::from_secs(3));
    /// let recorded = run.clone().record(&path);
    /// let frames = read_recording(&path);
    /// assert_eq!(frames.len() as u64, recorded.frames);
    /// assert_eq!(frames, run.frames().0, "the recording holds the run's frames");
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Panics
    ///
    /// If the recording cannot be written.
    pub fn record(self, path: &Path) -> Recorded {
        let mut writer =
            RecordWriter::create(path, RecordOptions::default()).expect("creating the recording");
        let mut frames = 0u64;
        let laps = self.for_each(|f| {
            writer.tick(f.mono_time_ns as u64).expect("ticking the recording");
            writer.append(&f).expect("appending to the recording");
            frames += 1;
        });
        writer.close().expect("closing the recording");
        Recorded { frames, laps }
    }
}

/// What [`Run::record`] wrote.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// Frames written.
    pub frames: u64,
    /// The simulator's lap records.
    pub laps: Vec<LapRecord>,
}

/// Every frame of the recording at `path`, decoded by the recording crate's reader.
///
/// # Panics
///
/// If the recording cannot be opened or a frame cannot be read.
pub fn read_recording(path: &Path) -> Vec<TelemetryFrame> {
    RecordReader::open(path)
        .expect("opening the recording")
        .collect::<Result<Vec<_>, _>>()
        .expect("reading the recording")
}

/// The game simulator as the bridge's source, as the `pitwall` binary passes it in: a step
/// that wrote any page gives the three pages as they then are.
#[derive(Debug)]
pub struct Game(pub GameSim);

impl bridge::SimulatedGame for Game {
    fn step_duration(&self) -> Duration {
        sim::game::PHYSICS_STEP
    }

    fn step(&mut self) -> Option<shm::Snapshot> {
        let w = self.0.step();
        (w.physics.is_some() || w.graphics.is_some() || w.static_page.is_some()).then(|| self.0.snapshot())
    }
}

/// A server configuration with short reconnection delays (20 ms, doubling up to 200 ms), for
/// tests that stop and restart servers.
pub fn fast_server(url: &str) -> ServerConfig {
    let mut server = ServerConfig::new(url);
    server.backoff =
        BackoffConfig { initial: Duration::from_millis(20), max: Duration::from_millis(200), factor: 2.0 };
    server.backoff_seed = 5;
    server
}

/// A bridge whose source is the game simulator (seeded with `seed`, on its default track) at
/// `speed` times real time, recording to `record` and streaming to `server` (if any, with
/// [`fast_server`]'s delays), for `secs` seconds; it waits up to 20 s for the last acks.
///
/// # Panics
///
/// If the simulator refuses the configuration.
pub fn bridge_config(
    seed: u64,
    record: &Path,
    server: Option<SocketAddr>,
    speed: f64,
    secs: f64,
) -> BridgeConfig {
    let game = GameSim::new(GameConfig { seed, ..GameConfig::default() }).expect("a valid game simulator");
    let mut config = BridgeConfig::new(SourceConfig::Sim {
        game: Box::new(Game(game)),
        speed: Speed::Factor(speed),
        clock: None,
    });
    config.record = record.to_owned();
    config.server = server.map(|addr| fast_server(&format!("http://{addr}")));
    config.duration = Some(Duration::from_secs_f64(secs));
    config.ack_grace = Duration::from_secs(20);
    config
}
