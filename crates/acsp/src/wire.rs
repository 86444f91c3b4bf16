//! Little-endian primitives and the two string kinds, with bounds checked before every read.

use crate::error::{DecodeError, EncodeError};
use crate::types::{Vec3, Warning};

/// A cursor over one message. It never indexes past the end: every read checks the length
/// first and reports the field, offset and sizes when the message is short.
#[derive(Debug)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
    id: u8,
    name: &'static str,
    /// Offset of `buf[0]` in the larger input (a capture stream); 0 for a datagram.
    pub(crate) base: usize,
    pub(crate) warnings: Vec<Warning>,
}

impl<'a> Reader<'a> {
    /// Starts after the id byte, which the caller has already looked at.
    pub(crate) fn new(buf: &'a [u8], name: &'static str) -> Self {
        Reader { buf, pos: 1, id: buf.first().copied().unwrap_or(0), name, base: 0, warnings: Vec::new() }
    }

    #[inline]
    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    #[inline]
    pub(crate) fn peek_u8(&self) -> Option<u8> {
        self.buf.get(self.pos).copied()
    }

    #[inline]
    pub(crate) fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    // Cold and out of line: building the error is most of a read's code, and keeping it out
    // lets every read on the hot path inline down to a length check and a load.
    #[cold]
    #[inline(never)]
    pub(crate) fn truncated(&self, field: &'static str, expected: usize) -> DecodeError {
        DecodeError::Truncated {
            id: self.id,
            name: self.name,
            field,
            offset: self.base + self.pos,
            expected,
            actual: self.remaining(),
            len: self.buf.len(),
        }
    }

    #[inline]
    pub(crate) fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], DecodeError> {
        if self.remaining() < n {
            return Err(self.truncated(field, n));
        }
        let out = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    /// The next `N` bytes as an array: one length check, and fixed-size loads after it.
    #[inline]
    fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], DecodeError> {
        match self.buf.get(self.pos..).and_then(<[u8]>::first_chunk::<N>) {
            Some(a) => {
                self.pos += N;
                Ok(*a)
            }
            None => Err(self.truncated(field, N)),
        }
    }

    #[inline]
    pub(crate) fn u8(&mut self, field: &'static str) -> Result<u8, DecodeError> {
        Ok(self.array::<1>(field)?[0])
    }
    #[inline]
    pub(crate) fn bool(&mut self, field: &'static str) -> Result<bool, DecodeError> {
        Ok(self.u8(field)? != 0)
    }
    #[inline]
    pub(crate) fn u16(&mut self, field: &'static str) -> Result<u16, DecodeError> {
        Ok(u16::from_le_bytes(self.array(field)?))
    }
    #[inline]
    pub(crate) fn i16(&mut self, field: &'static str) -> Result<i16, DecodeError> {
        Ok(i16::from_le_bytes(self.array(field)?))
    }
    #[inline]
    pub(crate) fn u32(&mut self, field: &'static str) -> Result<u32, DecodeError> {
        Ok(u32::from_le_bytes(self.array(field)?))
    }
    #[inline]
    pub(crate) fn i32(&mut self, field: &'static str) -> Result<i32, DecodeError> {
        Ok(i32::from_le_bytes(self.array(field)?))
    }
    #[inline]
    pub(crate) fn f32(&mut self, field: &'static str) -> Result<f32, DecodeError> {
        Ok(f32::from_le_bytes(self.array(field)?))
    }
    #[inline]
    pub(crate) fn vec3(&mut self, field: &'static str) -> Result<Vec3, DecodeError> {
        let [x0, x1, x2, x3, y0, y1, y2, y3, z0, z1, z2, z3] = self.array::<12>(field)?;
        Ok(Vec3 {
            x: f32::from_le_bytes([x0, x1, x2, x3]),
            y: f32::from_le_bytes([y0, y1, y2, y3]),
            z: f32::from_le_bytes([z0, z1, z2, z3]),
        })
    }

    /// Narrow string: a length byte, then that many bytes, decoded as UTF-8 with U+FFFD for
    /// invalid sequences (the stock server sends ASCII, AssettoServer UTF-8).
    pub(crate) fn str8(&mut self, field: &'static str) -> Result<String, DecodeError> {
        let len = self.u8(field)? as usize;
        let start = self.base + self.pos;
        let bytes = self.take(len, field)?;
        // What `String::from_utf8_lossy` does (one U+FFFD per bad sequence), but counting the
        // replacements and noting where the first one was.
        let mut text = String::with_capacity(len);
        let (mut at, mut first_bad, mut replaced) = (0, None, 0);
        for chunk in bytes.utf8_chunks() {
            text.push_str(chunk.valid());
            at += chunk.valid().len();
            if !chunk.invalid().is_empty() {
                first_bad.get_or_insert(at);
                text.push(char::REPLACEMENT_CHARACTER);
                replaced += 1;
                at += chunk.invalid().len();
            }
        }
        if let Some(bad) = first_bad {
            self.warnings.push(Warning::InvalidText { field, offset: start + bad, replaced });
        }
        Ok(text)
    }

    /// Wide string: a length byte counting 4-byte units, then UTF-32LE without BOM.
    pub(crate) fn strw(&mut self, field: &'static str) -> Result<String, DecodeError> {
        let start = self.base + self.pos;
        let len = self.u8(field)? as usize;
        let bytes = self.take(len * 4, field)?;
        Ok(decode_utf32le(bytes, field, start, &mut self.warnings))
    }
}

/// Decodes UTF-32LE leniently. Invalid code points become U+FFFD. Surrogate halves that a
/// 16-bit `wchar_t` server might emit as separate units are paired back up. A leading
/// byte-order mark (acudpclient's commands carry one) is dropped and reported once.
pub(crate) fn decode_utf32le(
    bytes: &[u8],
    field: &'static str,
    offset: usize,
    warnings: &mut Vec<Warning>,
) -> String {
    let mut out = String::with_capacity(bytes.len() / 4);
    let mut units = bytes.chunks_exact(4).map(|c| u32::from_le_bytes([c[0], c[1], c[2], c[3]])).peekable();
    // Every leading mark goes, not just the first: a string decoded from "BOM BOM x" must not
    // start with U+FEFF, or re-encoding it and decoding again would drop that one too and the
    // decoded form would not be stable.
    if units.peek() == Some(&0xFEFF) {
        warnings.push(Warning::ByteOrderMark { field, offset });
        while units.next_if_eq(&0xFEFF).is_some() {}
    }
    // Units consumed so far, for the offset of the first bad one.
    let mut index = bytes.len() / 4 - units.len();
    let (mut first_bad, mut replaced) = (None, 0);
    while let Some(u) = units.next() {
        let c = match u {
            0xD800..=0xDBFF => match units.peek() {
                Some(&lo @ 0xDC00..=0xDFFF) => {
                    units.next();
                    char::from_u32(0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00))
                }
                _ => None,
            },
            _ => char::from_u32(u),
        };
        out.push(c.unwrap_or_else(|| {
            first_bad.get_or_insert(index);
            replaced += 1;
            char::REPLACEMENT_CHARACTER
        }));
        index = bytes.len() / 4 - units.len();
    }
    if let Some(bad) = first_bad {
        // `offset` is the length byte's; the units start after it.
        warnings.push(Warning::InvalidText { field, offset: offset + 1 + 4 * bad, replaced });
    }
    out
}

/// Appends the primitives in the protocol's byte order.
#[derive(Debug)]
pub(crate) struct Writer<'a> {
    pub(crate) out: &'a mut Vec<u8>,
    pub(crate) name: &'static str,
}

impl Writer<'_> {
    #[inline]
    pub(crate) fn u8(&mut self, v: u8) {
        self.out.push(v);
    }
    #[inline]
    pub(crate) fn bool(&mut self, v: bool) {
        self.out.push(u8::from(v));
    }
    #[inline]
    pub(crate) fn u16(&mut self, v: u16) {
        self.out.extend_from_slice(&v.to_le_bytes());
    }
    #[inline]
    pub(crate) fn i16(&mut self, v: i16) {
        self.out.extend_from_slice(&v.to_le_bytes());
    }
    #[inline]
    pub(crate) fn u32(&mut self, v: u32) {
        self.out.extend_from_slice(&v.to_le_bytes());
    }
    #[inline]
    pub(crate) fn i32(&mut self, v: i32) {
        self.out.extend_from_slice(&v.to_le_bytes());
    }
    #[inline]
    pub(crate) fn f32(&mut self, v: f32) {
        self.out.extend_from_slice(&v.to_le_bytes());
    }
    #[inline]
    pub(crate) fn vec3(&mut self, v: Vec3) {
        self.f32(v.x);
        self.f32(v.y);
        self.f32(v.z);
    }
    pub(crate) fn str8(&mut self, field: &'static str, s: &str) -> Result<(), EncodeError> {
        let len = u8::try_from(s.len()).map_err(|_| EncodeError::StringTooLong {
            name: self.name,
            field,
            len: s.len(),
            unit: "bytes",
        })?;
        self.out.push(len);
        self.out.extend_from_slice(s.as_bytes());
        Ok(())
    }
    pub(crate) fn strw(&mut self, field: &'static str, s: &str) -> Result<(), EncodeError> {
        let n = s.chars().count();
        let len = u8::try_from(n).map_err(|_| EncodeError::StringTooLong {
            name: self.name,
            field,
            len: n,
            unit: "characters",
        })?;
        self.out.push(len);
        self.out.reserve(n * 4);
        for c in s.chars() {
            self.out.extend_from_slice(&u32::from(c).to_le_bytes());
        }
        Ok(())
    }
}
