//! A raw concatenation of event datagrams (the payloads of a capture written one after another,
//! their boundaries lost), read message by message, resynchronising after damage.

use crate::error::DecodeError;
use crate::event::{Decoded, Event, decode_prefix, is_event_id};

/// One piece of a concatenation, in input order: see [`concatenation`].
#[derive(Debug)]
pub enum Piece {
    /// A message that decoded, starting at `offset`.
    Message {
        /// Where the message starts in the input.
        offset: usize,
        /// The message, its length and its warnings.
        decoded: Decoded<Event>,
    },
    /// Bytes that are not a message: the reason at `offset`, and where reading resumed.
    Damage {
        /// Where the damage starts.
        offset: usize,
        /// Why nothing decodes there.
        reason: Damage,
        /// The offset of the next message that decodes (the input's length when none does).
        resume_at: usize,
    },
}

/// Why a place in a concatenation is damage.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Damage {
    /// No message decodes here.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// A message decodes, but the byte after it is not a message id: the message swallowed the
    /// start of the next one (or the bytes are not messages at all).
    #[error("{name} of {len} bytes is followed by 0x{next:02x}, not a message id: the input is damaged here")]
    NotFollowedByAMessage {
        /// The message's name.
        name: &'static str,
        /// Its length.
        len: usize,
        /// The byte that follows it.
        next: u8,
    },
}

/// Reads `data`, a concatenation of event datagrams, as [`Piece`]s. After a place where no
/// message decodes, the boundaries are lost: reading skips ahead byte by byte to the next
/// offset where a whole message decodes and is followed by a message id (or the end), and
/// reports the skipped stretch once, as one [`Piece::Damage`].
///
/// ```
/// use acsp::{Command, Piece};
///
/// // VERSION (56, protocol 4) three times, with two bytes of garbage before the last. The
/// // second VERSION is followed by garbage, not by a message id: it is counted as damage too.
/// let data = [56, 4, 56, 4, 0xff, 0xfe, 56, 4];
/// let pieces: Vec<Piece> = acsp::concatenation(&data).collect();
/// assert_eq!(pieces.len(), 3);
/// assert!(matches!(pieces[0], Piece::Message { offset: 0, .. }));
/// assert!(matches!(pieces[1], Piece::Damage { offset: 2, resume_at: 6, .. }));
/// assert!(matches!(pieces[2], Piece::Message { offset: 6, .. }));
/// ```
pub fn concatenation(data: &[u8]) -> Concatenation<'_> {
    Concatenation { data, pos: 0 }
}

/// The iterator of [`concatenation`].
#[derive(Debug, Clone)]
pub struct Concatenation<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Concatenation<'_> {
    /// A message at `at` whose next byte is a message id or the end of the input.
    fn whole_at(&self, at: usize) -> Result<Decoded<Event>, Damage> {
        let d = decode_prefix(&self.data[at..], at)?;
        match self.data.get(at + d.len) {
            Some(&next) if !is_event_id(next) => {
                Err(Damage::NotFollowedByAMessage { name: d.message.name(), len: d.len, next })
            }
            _ => Ok(d),
        }
    }
}

impl Iterator for Concatenation<'_> {
    type Item = Piece;

    fn next(&mut self) -> Option<Piece> {
        let offset = self.pos;
        if offset >= self.data.len() {
            return None;
        }
        match self.whole_at(offset) {
            Ok(decoded) => {
                self.pos += decoded.len.max(1);
                Some(Piece::Message { offset, decoded })
            }
            Err(reason) => {
                let resume_at = (offset + 1..self.data.len())
                    .find(|&p| self.whole_at(p).is_ok())
                    .unwrap_or(self.data.len());
                self.pos = resume_at;
                Some(Piece::Damage { offset, reason, resume_at })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn damage_between_messages_is_one_piece_and_reading_resumes() {
        let data = [56, 4, 56, 4, 0xff, 0xfe, 56, 4];
        let pieces: Vec<Piece> = concatenation(&data).collect();
        assert_eq!(pieces.len(), 3, "{pieces:?}");
        assert!(matches!(pieces[0], Piece::Message { offset: 0, .. }));
        // The VERSION at 2 is followed by 0xff: damage from there to the next whole message.
        assert!(matches!(pieces[1], Piece::Damage { offset: 2, resume_at: 6, .. }));
        assert!(matches!(pieces[2], Piece::Message { offset: 6, .. }));
    }

    #[test]
    fn a_message_that_swallows_the_next_one_is_damage() {
        // VERSION followed by a byte that is no message id, at the very end.
        let pieces: Vec<Piece> = concatenation(&[56, 4, 0x01]).collect();
        let Piece::Damage { offset: 0, reason, resume_at: 3 } = &pieces[0] else { panic!("{pieces:?}") };
        assert!(matches!(reason, Damage::NotFollowedByAMessage { name: "version", len: 2, next: 1 }));
        assert!(reason.to_string().contains("followed by 0x01"));
    }

    #[test]
    fn garbage_alone_is_one_damage_to_the_end() {
        let pieces: Vec<Piece> = concatenation(&[0xff; 40]).collect();
        assert_eq!(pieces.len(), 1);
        assert!(matches!(pieces[0], Piece::Damage { offset: 0, resume_at: 40, .. }));
    }
}
