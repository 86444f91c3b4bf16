//! How text becomes the fixed-size, NUL-padded 8-bit fields of an `.ld` file.
//!
//! i2 is a Windows program and reads these fields as 8-bit text in the system's ANSI code page,
//! which for the users we expect is Windows-1252; its printable range above ASCII
//! (0xA0–0xFF) is Latin-1. So the rule is:
//!
//! 1. Each character in U+0020–U+007E or U+00A0–U+00FF is stored as its Latin-1 byte
//!    ("Jürgen Ødegård" keeps its letters).
//! 2. Every other character (controls, U+0080–U+009F, anything above U+00FF such as "鈴鹿")
//!    becomes `?`, one per character.
//! 3. The result is cut to the field's length minus one byte, so that a NUL always ends the
//!    text (MoTeC's own files do this: an 8-byte short name holds 7 characters).
//!
//! [`fit`] shows what a field will hold; the writer reports every field it had to cut or
//! change in [`LdSummary::altered_text`](crate::LdSummary::altered_text).

/// What [`encode`] had to do to a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Fit {
    /// Characters beyond the field's length were dropped.
    pub truncated: bool,
    /// Characters outside the stored range were replaced by `?`.
    pub replaced: bool,
}

impl Fit {
    /// Whether the stored text differs from the given one.
    pub fn altered(self) -> bool {
        self.truncated || self.replaced
    }
}

/// The bytes of `text` for a field of `field_len` bytes (NUL padding not included), and what was
/// done to fit it.
pub(crate) fn encode(text: &str, field_len: usize) -> (Vec<u8>, Fit) {
    let max = field_len.saturating_sub(1);
    let mut out = Vec::with_capacity(max.min(text.len()));
    let mut fit = Fit::default();
    for c in text.chars() {
        if out.len() == max {
            fit.truncated = true;
            break;
        }
        let code = u32::from(c);
        if (0x20..=0x7E).contains(&code) || (0xA0..=0xFF).contains(&code) {
            out.push(code as u8);
        } else {
            out.push(b'?');
            fit.replaced = true;
        }
    }
    (out, fit)
}

/// The text a field of `field_len` bytes will hold for `text`, by the rule above.
///
/// ```
/// assert_eq!(motec::fit("Jürgen", 64), "Jürgen");
/// assert_eq!(motec::fit("鈴鹿 Circuit", 64), "?? Circuit");
/// assert_eq!(motec::fit("Ground Speed", 8), "Ground ");
/// ```
pub fn fit(text: &str, field_len: usize) -> String {
    encode(text, field_len).0.iter().map(|&b| char::from(b)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latin1_letters_are_kept_and_others_replaced() {
        let (bytes, fit) = encode("Ødegård", 64);
        assert_eq!(bytes, [0xD8, b'd', b'e', b'g', 0xE5, b'r', b'd']);
        assert!(!fit.altered());
        let (bytes, fit) = encode("a\tb€", 64);
        assert_eq!(bytes, b"a?b?");
        assert_eq!(fit, Fit { truncated: false, replaced: true });
    }

    #[test]
    fn a_nul_always_fits_after_the_text() {
        let (bytes, fit) = encode("12345678", 8);
        assert_eq!(bytes, b"1234567");
        assert!(fit.truncated);
        let (bytes, fit) = encode("1234567", 8);
        assert_eq!(bytes, b"1234567");
        assert!(!fit.truncated);
        assert_eq!(encode("x", 0).0, b"");
    }
}
