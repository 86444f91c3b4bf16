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

/// Why no UDP datagram could be read from a captured packet. Offsets count from the start of the
/// packet's captured bytes, so a hex dump of the packet shows the spot.
#[cfg(feature = "capture")]
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum CaptureError {
    /// A header, or the part of it that must be read, runs past the end of the packet.
    #[error("the {what} at byte {offset} needs {needed} bytes, but only {available} remain")]
    Truncated {
        /// The header, e.g. `UDP header`.
        what: &'static str,
        /// Where it starts.
        offset: usize,
        /// Bytes it needs.
        needed: usize,
        /// Bytes left from `offset` to the end of the packet (or of the enclosing header's
        /// length).
        available: usize,
    },
    /// A length field says less than its own header (or the header before it) takes.
    #[error("{field} at byte {offset} is {value}, less than {min} ({min_is})")]
    LengthTooSmall {
        /// The field, e.g. `UDP length`.
        field: &'static str,
        /// Where the field is.
        offset: usize,
        /// Its value, in bytes.
        value: usize,
        /// The least it may be.
        min: usize,
        /// What that least value is, e.g. `the UDP header`.
        min_is: &'static str,
    },
    /// A length field says more bytes than the packet holds (a capture cut short by its snap
    /// length, or a corrupt header).
    #[error("{field} at byte {offset} is {value}, but the packet holds only {available} bytes from there")]
    LengthBeyondPacket {
        /// The field, e.g. `IPv4 total length`.
        field: &'static str,
        /// Where the field is.
        offset: usize,
        /// Its value, in bytes.
        value: usize,
        /// Bytes there are from where the length counts.
        available: usize,
    },
    /// The IP version nibble is not 4 or 6, or not the one the link layer announced.
    #[error(
        "the IP header at byte {offset} is version {found}, {}",
        match expected {
            Some(v) => format!("but its link says version {v}"),
            None => "neither 4 nor 6".to_owned(),
        }
    )]
    IpVersion {
        /// Where the IP header starts.
        offset: usize,
        /// The version found.
        found: u8,
        /// The version the link layer's type field announced, if it announced one.
        expected: Option<u8>,
    },
    /// An IPv6 payload length of 0: a jumbogram, which no plugin datagram is.
    #[error("IPv6 payload length at byte {offset} is 0 (a jumbogram), which is not read")]
    Jumbogram {
        /// Where the field is.
        offset: usize,
    },
}

#[cfg(feature = "capture")]
impl CaptureError {
    /// The byte of the packet the error is about.
    pub fn offset(&self) -> usize {
        match *self {
            CaptureError::Truncated { offset, .. }
            | CaptureError::LengthTooSmall { offset, .. }
            | CaptureError::LengthBeyondPacket { offset, .. }
            | CaptureError::IpVersion { offset, .. }
            | CaptureError::Jumbogram { offset } => offset,
        }
    }
}
