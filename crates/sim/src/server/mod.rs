//! A deterministic simulator of the Assetto Corsa dedicated server's UDP plugin interface: the
//! server side of ACSP, over real UDP, for tests and demos.
//!
//! Two layers, so that the interesting part is testable without sockets or sleeping:
//! - [`ServerState`] is the pure state machine. [`ServerState::advance`] moves simulated time
//!   and returns the events the server sends (connections, loads, car updates, laps, incidents,
//!   chat, session changes); [`ServerState::handle`] applies a [`Command`](acsp::Command) and
//!   returns the answer. Everything random comes from a `ChaCha8Rng` seeded with
//!   [`ServerConfig::seed`], and time moves in fixed 10 ms steps, so a seed and a config give
//!   one event stream.
//! - [`ServerSim`] puts the state machine on a UDP socket bound to the command port, sends the
//!   events from that same socket to the plugin address, and advances simulated time by
//!   [`ServerConfig::speed`] × the real time elapsed at every tick. [`ServerSim::spawn`] gives a
//!   [`ServerHandle`] with live [`ServerStats`] and the log of received commands.
//!
//! Some cars can be driven from outside ([`ServerConfig::external_cars`]): their drivers join
//! like the others, but their position, speed and laps are fed by the caller
//! ([`ServerState::drive_external`], or while running [`ServerSim::external_input`]), e.g. from
//! simulated games, so that a game's laps are laps on the server.
//!
//! The behaviour follows the stock Kunos server where the protocol notes say what it does
//! (`docs/acsp.md`, "Lifecycle"): VERSION then NEW_SESSION at start; NEW_CONNECTION, then
//! CLIENT_LOADED after loading; CAR_UPDATE only after REALTIMEPOS_INTERVAL; CAR_INFO for empty
//! slots with `is_connected = false`; END_SESSION immediately followed by NEW_SESSION; negative
//! elapsed time while a race waits for its start.

mod config;
mod driver;
mod entry;
mod state;
mod track;

pub use config::{MAX_SLOTS, MAX_SPEED, ServerConfig, SessionConfig, TrackConfig};
pub use driver::{CommandRecord, ServerHandle, ServerMonitor, ServerSim, ServerStats, ServerSummary};
pub use state::{EntrySlot, ExternalDrive, ExternalLap, PROTOCOL_VERSION, STEP, ServerState, SessionResult};
