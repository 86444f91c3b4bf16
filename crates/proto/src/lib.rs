//! # pitwall-proto: the telemetry wire format
//!
//! The one definition of what travels between the bridge, the ingest server and recordings is
//! `proto/telemetry/v1/telemetry.proto`; this crate holds the Rust types generated from it
//! (prost) and the `TelemetryIngest` gRPC service (tonic). Only this crate knows protobuf: other
//! crates convert at their edges.
//!
//! ```
//! use prost::Message as _;
//! use proto::telemetry::v1::{TelemetryFrame, Wheels};
//!
//! let frame = TelemetryFrame {
//!     seq: 7,
//!     speed_kmh: 212.5,
//!     tyre_pressure_psi: Some(Wheels { fl: 27.1, fr: 27.3, rl: 26.8, rr: 26.9 }),
//!     ..Default::default()
//! };
//! let bytes = frame.encode_to_vec();
//! assert_eq!(TelemetryFrame::decode(bytes.as_slice()).unwrap(), frame);
//! ```

/// gRPC metadata key of the INVALID_ARGUMENT status that refused a frame: the frame's
/// `session_id`, lowercase hex. With [`REFUSED_SEQ`], a client learns which frame was refused
/// without parsing the message (which is for people).
pub const REFUSED_SESSION_ID: &str = "pitwall-refused-session-id";
/// gRPC metadata key of the INVALID_ARGUMENT status that refused a frame: the frame's `seq`,
/// decimal.
pub const REFUSED_SEQ: &str = "pitwall-refused-seq";

/// The gRPC path of `TelemetryIngest.StreamFrames`, for clients and servers that route it by
/// hand (the raw codec on both sides).
pub const STREAM_FRAMES_PATH: &str = "/telemetry.v1.TelemetryIngest/StreamFrames";
/// The gRPC path of `TelemetryIngest.Resume`.
pub const RESUME_PATH: &str = "/telemetry.v1.TelemetryIngest/Resume";

mod fast;
mod raw;

pub use fast::decode_frame_into;
pub use raw::{AckDecoder, RawCodec, RawEncoder};

/// `bytes` as lowercase hex, two digits a byte and nothing between them: the form a frame's
/// `session_id` takes in logs, error messages, [`REFUSED_SESSION_ID`] and file headers.
///
/// ```
/// assert_eq!(proto::hex(&[0x01, 0x8b, 0xff]), "018bff");
/// assert_eq!(proto::hex(&[]), "");
/// ```
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    s
}

/// Generated code, by package.
pub mod telemetry {
    /// Package `telemetry.v1`.
    pub mod v1 {
        #![allow(missing_docs, missing_debug_implementations, unused_qualifications, clippy::all)]
        include!(concat!(env!("OUT_DIR"), "/telemetry.v1.rs"));
    }
}
