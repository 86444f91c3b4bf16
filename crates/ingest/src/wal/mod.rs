//! The write-ahead log: the durable point that acks follow.
//!
//! Frames from every stream go through one writer task ([`writer`]) that appends them to the
//! current segment in `DATA/wal/`, group-committed: whatever arrived while the previous `fsync`
//! ran (bounded by a byte budget, spaced by a short commit interval) is written with one
//! `write` and made durable with one `fdatasync`, and only then are the streams told, which is
//! when they ack. Segments rotate by size. The byte format is in [`format`].
//!
//! On start-up [`Wal::open`] replays every segment, rebuilds each session's next_seq, skips and
//! reports damaged bytes that intact records follow (bit rot: the frames in them are lost, the
//! ones after them are kept), and cuts a torn tail off the last segment (the group commit a crash
//! interrupted: never fsync'd, so never acked). [`format`] says how the two are told apart. The
//! writer then always starts a fresh segment, so an old segment is never appended to (nor cut
//! again), and only the last one can ever have a torn tail.
//!
//! Sinks read the log back from the files (see [`crate::sinks`]): replay after a restart and
//! live delivery are the same code path.

//!
//! Only [`format`] is built without the crate's `server` feature: it is pure, and the fuzz
//! target of the WAL reader needs nothing else.

pub mod format;
#[cfg(feature = "server")]
mod log;
#[cfg(feature = "server")]
pub(crate) mod writer;

#[cfg(feature = "server")]
pub use log::*;
