//! A deterministic simulator of Assetto Corsa's shared memory: one car lapping a circuit,
//! publishing the physics, graphics and static pages the way the game does.
//!
//! Three layers, so that each can be used and tested alone:
//! - [`GameSim`] is the pure core. [`GameSim::step`] advances one physics step (3 ms of
//!   simulated time) and returns a [`Frame`]: the pages the game writes during that step.
//!   Everything random comes from a `ChaCha8Rng` seeded with [`GameConfig::seed`], so a seed
//!   and a configuration give the same pages, byte for byte. Use it in-process as a source:
//!   [`GameSim::snapshot`] is what a reader would find in memory now, and a
//!   [`Snapshot`](shm::Snapshot) is a [`PageSource`](shm::PageSource).
//! - [`GameWriter`] writes frames into `acpmf_*` files, as a Proton bridge's files in
//!   `/dev/shm` are filled (torn writes included, when asked for).
//! - [`GameRunner`] runs the simulator at `speed` × real time against a
//!   [`Clock`](shm::Clock), writing as it goes; when several steps fall due between two writes
//!   only the last is written, and the physics `packetId` jumps, as when the game outpaces a
//!   reader.
//!
//! ## What is simulated
//!
//! A GT3 car (1300 kg, 9250 rpm, six gears, 1.55 µ of grip, downforce and drag) on
//! a built-in [`Track`] (see [`TRACK_NAMES`]), a closed centre line of straights and eased
//! corners parametrised by arc length. A driver follows a speed envelope (brakes for the
//! corners, accelerates out, with a per-lap grip margin so laps differ by tenths). The model
//! gives speed, pedals, steering, gears and rpm (shift points, rev limiter, a slipping clutch
//! when pulling away), g-forces (lateral `v²·κ`, longitudinal from the forces), wheel loads
//! with load transfer, slip, tyre core and tread (inner, middle, outer) temperatures,
//! pressures (from the temperatures), wear, brake temperatures, suspension travel, fuel burn,
//! and the world position, velocity and heading along the track.
//!
//! ## Timing and `packetId`s, as the game's (docs/shm.md)
//!
//! - **Physics** is produced every step, 333 Hz, with `packetId` +1 per step. A step that is
//!   not written (the `drop` fault, or a [`GameRunner`] that is behind) makes the next
//!   written id jump.
//! - **Graphics** is produced at 60 Hz of simulated time, with its own `packetId` +1 per
//!   update; it carries the status (`LIVE`, `PAUSE`), session type, flag, lap and sector
//!   timing (`completedLaps`, `iCurrentTime`/`iLastTime`/`iBestTime` and their `m:ss.mmm`
//!   strings, `currentSectorIndex`, `lastSectorTime`), `normalizedCarPosition`,
//!   `distanceTraveled`, `carCoordinates`, and `isInPit`/`isInPitLane` (a session starts in
//!   the pit box beside the line, then drives down the pit lane at the limiter).
//! - **Static** is produced on the first step of each session only.
//! - While **paused**, physics is not written (its `packetId` stops), graphics is, with status
//!   `PAUSE`, and the session clock stops.
//! - A session **restart** writes a new static page and starts both `packetId`s again from 1.
//!
//! Lap times are whole milliseconds of the session clock, which moves 3 ms per step: a lap's
//! time is exactly the sum of its sector times, `normalizedCarPosition` wraps to 0 on the very
//! update that increments `completedLaps`, and [`GameSim::laps`] records each lap exactly as
//! the graphics page reports it (`iLastTime` once `completedLaps` reaches
//! [`LapRecord::lap`]). Lap 1 starts in the pit box, so it is the slow one.
//!
//! ## Frames of reference
//!
//! World: `x`, `z` horizontal, `y` up; a heading `h` points along `(cos h, 0, sin h)`. Car
//! frame (`accG`, `localVelocity`): `x` right, `y` up, `z` forward, so a left turn gives a
//! negative lateral `accG[0]`; `steerAngle` is the steering input, −1..1, positive to the
//! right. Wheels are FL, FR, RL, RR. `tyreWear` is the tread left, percent (100 new).
//! `clutch` is the pedal, 1 pressed (during shifts and when pulling away).
//!
//! ## Faults
//!
//! [`Faults`] (all off by default) make the pages misbehave as a real game's can: dropped
//! steps, pauses, torn writes and session restarts; see its docs for the `--faults` syntax.
//!
//! ```
//! use sim::game::{GameConfig, GameSim};
//! use shm::Status;
//!
//! let mut game = GameSim::new(GameConfig { seed: 7, track: "pitwall_oval".into(), ..GameConfig::default() })?;
//! let first = game.step();
//! assert!(first.static_page.is_some(), "the static page comes first");
//! assert_eq!(first.physics.map(|p| p.packet_id), Some(1));
//! assert_eq!(first.graphics.map(|g| g.status()), Some(Status::Live));
//!
//! // Three simulated minutes: laps of the 1.6 km oval, each recorded exactly.
//! game.advance(std::time::Duration::from_secs(180));
//! assert_eq!(game.physics().packet_id, 60_001);
//! let laps = game.laps();
//! assert!(laps.len() >= 3);
//! assert_eq!(game.graphics().completed_laps as usize, laps.len());
//! let last = laps.last().unwrap();
//! assert_eq!(game.graphics().i_last_time, last.time_ms);
//! assert_eq!(last.sectors_ms.iter().sum::<i32>(), last.time_ms);
//! # Ok::<(), sim::SimError>(())
//! ```

mod car;
mod driver;
mod faults;
mod model;
mod runner;
mod sim;
mod timing;
mod track;
mod writer;

pub use faults::Faults;
pub use runner::{GameRunner, MAX_SPEED, RunConfig, RunStats};
pub use sim::{Frame, GRAPHICS_INTERVAL, GameConfig, GameSim, GameStats, PHYSICS_STEP};
pub use timing::{LapRecord, format_lap_time};
pub use track::{DEFAULT_TRACK, TRACK_NAMES, Track, TrackPoint};
pub use writer::{GameWriter, PageWrite};

#[cfg(test)]
mod tests;
