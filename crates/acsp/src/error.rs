//! Errors of the codec. Every variant says which message it was decoding and where.

use thiserror::Error;

/// Why a datagram could not be decoded. The message id and the byte offset (from the start of
/// the datagram, id byte included) are always given, so a bad capture can be found with a hex dump.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeError {
    /// A zero-length datagram: there is not even an id byte.
    #[error("empty datagram: no message id")]
    Empty,
    /// The first byte is not a message id we know in this direction.
    #[error("unknown message id {id} (0x{id:02x}) at offset {offset}")]
    UnknownId {
        /// The id byte.
        id: u8,
        /// Where it was found (0 for a datagram; the running offset in a capture stream).
        offset: usize,
    },
    /// The message ends before a field does.
    #[error(
        "message {name} (id {id}): field `{field}` at offset {offset} needs {expected} bytes, \
         but only {actual} remain (datagram is {len} bytes)"
    )]
    Truncated {
        /// Message id.
        id: u8,
        /// Message name, e.g. `lap_completed`.
        name: &'static str,
        /// The field being read, e.g. `leaderboard`.
        field: &'static str,
        /// Offset of that field.
        offset: usize,
        /// Bytes the field needs.
        expected: usize,
        /// Bytes that were left.
        actual: usize,
        /// Total length of the message buffer.
        len: usize,
    },
    /// CLIENT_EVENT (130) with a subtype other than 10 (car) or 11 (environment). The layout of
    /// unknown subtypes is not known, so we refuse to guess it.
    #[error("client_event (id 130): unknown event type {subtype} at offset {offset}")]
    UnknownClientEvent {
        /// The subtype byte.
        subtype: u8,
        /// Its offset.
        offset: usize,
    },
}

/// Why a message could not be encoded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EncodeError {
    /// A string does not fit its one-byte length prefix.
    #[error("message {name}: string field `{field}` is {len} {unit}, the protocol allows at most 255")]
    StringTooLong {
        /// Message name.
        name: &'static str,
        /// Field name.
        field: &'static str,
        /// Its length.
        len: usize,
        /// `bytes` for narrow (UTF-8) strings, `characters` for wide (UTF-32) strings.
        unit: &'static str,
    },
    /// A LAP_COMPLETED leaderboard with more than 255 entries.
    #[error("message lap_completed: leaderboard has {len} entries, the protocol allows at most 255")]
    LeaderboardTooLong {
        /// Number of entries.
        len: usize,
    },
}
