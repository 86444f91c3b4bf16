//! Frames of simulated sessions: `sim::game::GameSim` pages turned into frames by the bridge's
//! own mapping, with ids and clocks as the bridge gives them.

use std::time::Duration;

use bridge::frame::{FrameIds, frame, session_metadata};
use proto::telemetry::v1::TelemetryFrame;
use sim::game::{Faults, GameConfig, GameSim, LapRecord};

/// 2023-11-14 22:13:20 UTC, the wall clock at the simulator's time 0.
pub const WALL0_NS: i64 = 1_700_000_000_000_000_000;

/// A simulator on the short oval.
pub fn config(seed: u64) -> GameConfig {
    GameConfig { seed, track: "pitwall_oval".into(), ..GameConfig::default() }
}

/// Runs `game` for `duration` of simulated time, calling `each` with every frame the bridge
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
            seq = 0;
            missed = 0;
            meta = Some(session_metadata(s, g.session(), "analysis tests", WALL0_NS + mono));
        }
        if step.dropped {
            missed += 1;
        }
        if let Some(p) = &step.physics {
            let ids = FrameIds {
                session_id: bytes::Bytes::from(vec![session; 16]),
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

/// A simulator that drops steps with probability `rate`.
pub fn with_drops(seed: u64, rate: f64) -> GameConfig {
    GameConfig { faults: Faults { drop_rate: rate, ..Faults::none() }, ..config(seed) }
}
