//! # ACSP: the Assetto Corsa dedicated server's UDP plugin protocol
//!
//! The server sends a plugin [`Event`]s (ids 50–60, 73, 130) to the address in its
//! `UDP_PLUGIN_ADDRESS`; the plugin sends [`Command`]s (ids 200–209) to the server's
//! `UDP_PLUGIN_LOCAL_PORT`. One datagram carries exactly one message.
//!
//! The codec is sans-IO: bytes in, typed values out, and back.
//! - [`decode`] / [`decode_datagram`]: a datagram → [`Event`] (plugin side).
//! - [`encode`]: a [`Command`] → bytes (plugin side).
//! - [`encode_event`] / [`decode_command`]: the server side, for the simulator and the relay.
//! - [`decode_prefix`]: one message at the start of a concatenation (captures whose datagram
//!   boundaries were lost); [`concatenation`] reads a whole one, resynchronising after damage.
//!
//! Quirks of real servers are handled where they appear: wide strings are UTF-32LE without BOM
//! (a BOM is dropped and reported), narrow strings are decoded as lossy UTF-8, `elapsed_ms` is
//! signed, leaderboard entries of 7 or 8 bytes are told apart by length, AssettoServer's wide
//! weather string is recognised, and trailing bytes are a [`Warning`], not an error.
//!
//! With the `capture` feature, [`capture::udp_datagram`] finds the UDP payload in a packet of a
//! pcap or pcapng capture (link, IP and UDP headers, every length checked), still without I/O.
//!
//! With the default `client` feature, [`client::Client`] puts the codec on a tokio UDP socket,
//! with acudpclient's two styles: polling ([`client::Client::next_event`],
//! [`client::Client::try_next_event`]) and [`Subscriber`]s.
//!
//! ```
//! use acsp::{Command, Event, LapCompleted, LeaderboardEntry};
//!
//! // Plugin side: a command to bytes.
//! let mut out = Vec::new();
//! acsp::encode(&Command::RealtimeposInterval { interval_ms: 250 }, &mut out).unwrap();
//! assert_eq!(out, [0xc8, 0xfa, 0x00]);
//!
//! // Server side (the simulator): an event to bytes, then back.
//! let lap = Event::LapCompleted(LapCompleted {
//!     car_id: 3,
//!     lap_time: 80_902,
//!     cuts: 0,
//!     leaderboard: vec![LeaderboardEntry { car_id: 3, time: 80_902, laps: 1, has_completed: Some(false) }],
//!     grip_level: 0.98,
//! });
//! out.clear();
//! acsp::encode_event(&lap, &mut out).unwrap();
//! assert_eq!(out.len(), 12 + 8);
//! assert_eq!(acsp::decode(&out).unwrap(), lap);
//! ```

mod command;
mod concat;
mod error;
mod event;
mod subscriber;
mod types;
mod wire;

#[cfg(feature = "capture")]
pub mod capture;
#[cfg(feature = "client")]
pub mod client;

pub use command::{Command, decode_command, decode_command_datagram, encode};
pub use concat::{Concatenation, Damage, Piece, concatenation};
pub use error::{DecodeError, EncodeError};
pub use event::{
    Decoded, EVENT_NAMES, Event, decode, decode_datagram, decode_prefix, encode_event, is_event_id,
};
pub use subscriber::{Subscriber, dispatch};
pub use types::*;
