//! The frames these tests write: the load generator's realistic frame
//! ([`loadgen::frames::realistic`]: every field set, values moving like a car racing, the same
//! `seq` giving the same frame), by session number.

use prost::bytes::Bytes;
use proto::telemetry::v1::TelemetryFrame;

/// Session `n`'s 16-byte id (the load generator's, shaped like a UUIDv7).
pub fn session_id(n: u8) -> Bytes {
    Bytes::copy_from_slice(&loadgen::frames::session_id(n.into()))
}

/// Frame `seq` of session `n`, its metadata on seq 0 (as the bridge sends it).
pub fn frame(n: u8, seq: u64) -> TelemetryFrame {
    loadgen::frames::realistic(loadgen::frames::session_id(n.into()), seq)
}
