//! Helpers to write byte vectors by hand, straight from the tables of docs/acsp.md, without
//! touching the codec: hex with field separators, and the two string kinds.

/// Parses hex written for people: whitespace and `|` (a field boundary) are ignored.
pub fn hex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace() && *b != b'|').collect();
    assert!(digits.len() % 2 == 0, "odd number of hex digits in {s:?}");
    digits
        .chunks(2)
        .map(|pair| {
            let text = std::str::from_utf8(pair).unwrap();
            u8::from_str_radix(text, 16).unwrap_or_else(|_| panic!("bad hex {text:?} in {s:?}"))
        })
        .collect()
}

/// strW per docs/acsp.md: one length byte counting 4-byte units, then UTF-32LE, no BOM.
pub fn wide(s: &str) -> Vec<u8> {
    let mut out = vec![u8::try_from(s.chars().count()).unwrap()];
    for c in s.chars() {
        out.extend_from_slice(&(c as u32).to_le_bytes());
    }
    out
}

/// str8 per docs/acsp.md: one length byte counting bytes, then the bytes.
pub fn narrow(s: &str) -> Vec<u8> {
    let mut out = vec![u8::try_from(s.len()).unwrap()];
    out.extend_from_slice(s.as_bytes());
    out
}

/// Encodes an event, panicking on error (for building inputs, not for checking the encoder).
pub fn enc_event(event: &acsp::Event) -> Vec<u8> {
    let mut out = Vec::new();
    acsp::encode_event(event, &mut out).unwrap();
    out
}

/// Encodes a command, panicking on error.
pub fn enc_command(command: &acsp::Command) -> Vec<u8> {
    let mut out = Vec::new();
    acsp::encode(command, &mut out).unwrap();
    out
}

/// A hand-written, byte-exact example of one message.
#[derive(Debug, Clone)]
pub struct Vector<T> {
    /// What the vector shows.
    pub name: &'static str,
    /// The typed value.
    pub value: T,
    /// Its exact bytes on the wire.
    pub bytes: Vec<u8>,
}
