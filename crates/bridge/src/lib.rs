//! # pitwall-bridge: shared memory → `TelemetryFrame` → gRPC, loss-free
//!
//! [`frame`] turns the game's pages into the wire format.

pub mod frame;
