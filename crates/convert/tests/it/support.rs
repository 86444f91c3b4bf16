//! Simulated sessions as recordings: the game simulator's pages turned into frames by the
//! bridge's own mapping, with ids and clocks as the bridge gives them, written with the
//! recording crate's writer in members of one second. Shared (through `#[path]`) by this
//! crate's tests, its `sim_recording` example (the benchmark's and the interop script's
//! generator) and the CLI's tests, so that all of them convert the same kind of recording.
#![allow(dead_code)]

use std::path::Path;
use std::time::Duration;

use bridge::frame::{FrameIds, frame, session_metadata};
use proto::telemetry::v1::TelemetryFrame;
use record::{RecordOptions, RecordWriter};
use sim::game::{Faults, GameConfig, GameSim, LapRecord};

/// 2023-11-14 22:13:20 UTC, the wall clock at the simulator's time 0.
pub const WALL0_NS: i64 = 1_700_000_000_000_000_000;

/// The id of the `n`th session (from 1): 16 bytes shaped like the bridge's UUIDv7s.
pub fn session_id(n: u8) -> bytes::Bytes {
    let mut id = [0u8; 16];
    id[..6].copy_from_slice(&[0x01, 0x8b, 0xd3, 0x7e, 0x10, n]);
    id[6] = 0x70 | (n & 0x0f);
    id[7] = 0x42;
    id[8] = 0x80 | (n >> 2);
    for (i, b) in id[9..].iter_mut().enumerate() {
        *b = (i as u8).wrapping_mul(37).wrapping_add(n);
    }
    bytes::Bytes::copy_from_slice(&id)
}

/// A simulator on the short oval.
pub fn config(seed: u64) -> GameConfig {
    GameConfig { seed, track: "pitwall_oval".into(), ..GameConfig::default() }
}

/// A simulator that drops steps with probability `rate`.
pub fn with_drops(seed: u64, rate: f64) -> GameConfig {
    GameConfig { faults: Faults { drop_rate: rate, ..Faults::none() }, ..config(seed) }
}

/// Runs `config` for `duration` of simulated time, calling `each` with every frame the bridge
/// would produce; restarts the session (a new session id) at each instant of `restarts`.
/// Returns the simulator's own lap records.
pub fn run(
    config: GameConfig,
    duration: Duration,
    restarts: &[Duration],
    mut each: impl FnMut(TelemetryFrame),
) -> Vec<LapRecord> {
    let mut game = GameSim::new(config).unwrap();
    let mut graphics = None;
    let mut meta = None;
    let mut session = 0u8;
    let mut id = session_id(1);
    let mut seq = 0u64;
    let mut missed = 0u32;
    let mut restarts = restarts.iter().peekable();
    while game.sim_time() < duration {
        if restarts.peek().is_some_and(|&&at| game.sim_time() >= at) {
            restarts.next();
            game.restart_session();
        }
        let step = game.step();
        let mono = step.sim_time.as_nanos() as i64;
        if let Some(g) = step.graphics {
            graphics = Some(g);
        }
        let Some(g) = graphics.as_ref() else { continue };
        if let Some(s) = &step.static_page {
            session += 1;
            id = session_id(session);
            seq = 0;
            missed = 0;
            meta = Some(session_metadata(s, g.session(), "pitwall convert tests", WALL0_NS + mono));
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

/// What [`write_recording`] wrote.
#[derive(Debug)]
pub struct Recorded {
    /// Frames written.
    pub frames: u64,
    /// The simulator's lap records.
    pub laps: Vec<LapRecord>,
}

/// Writes a simulated session to a recording at `path`, in members of one second of frames
/// (the bridge's default), the clock being the frames' own.
pub fn write_recording(
    path: &Path,
    config: GameConfig,
    duration: Duration,
    restarts: &[Duration],
) -> Recorded {
    let mut writer = RecordWriter::create(path, RecordOptions::default()).unwrap();
    let mut frames = 0u64;
    let laps = run(config, duration, restarts, |f| {
        writer.tick(f.mono_time_ns as u64).unwrap();
        writer.append(&f).unwrap();
        frames += 1;
    });
    writer.close().unwrap();
    Recorded { frames, laps }
}

/// Every frame of a recording, decoded by the recording crate's reader.
pub fn read_recording(path: &Path) -> Vec<TelemetryFrame> {
    record::RecordReader::open(path).unwrap().collect::<Result<Vec<_>, _>>().unwrap()
}
