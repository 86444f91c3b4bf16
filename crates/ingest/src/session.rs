//! Session identity: the 16-byte id every frame carries.

use std::fmt;

/// A session id: 16 raw bytes (a UUIDv7 given by the bridge). Together with a frame's `seq` it is
/// the dedupe key everywhere.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct SessionId(pub [u8; 16]);

impl SessionId {
    /// Length of a session id on the wire.
    pub const LEN: usize = 16;

    /// The id in `bytes`, or `None` when `bytes` is not exactly 16 bytes long.
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        <[u8; 16]>::try_from(bytes).ok().map(SessionId)
    }
}

/// UUID text form (8-4-4-4-12 lowercase hex), the form logs and error messages use.
impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                f.write_str("-")?;
            }
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionId({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_as_uuid() {
        let id = SessionId(*b"\x01\x90\xa5\xc4\x00\x00\x70\x00\x80\x00\x00\x00\x00\x00\x00\x2a");
        assert_eq!(id.to_string(), "0190a5c4-0000-7000-8000-00000000002a");
        assert_eq!(SessionId::from_slice(&[0; 5]), None);
        assert_eq!(SessionId::from_slice(&[7; 16]), Some(SessionId([7; 16])));
    }
}
