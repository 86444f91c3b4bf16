//! AC's fixed-size UTF-16 strings (`wchar_t[N]` on Windows: 2 bytes per unit, little-endian).

/// Decodes a fixed-size UTF-16 field: everything up to the first NUL unit (or the whole array
/// when there is none). Unpaired surrogates become U+FFFD, because a page torn mid-string or
/// a game bug must not stop a reader.
pub fn decode_utf16(units: &[u16]) -> String {
    let end = units.iter().position(|&u| u == 0).unwrap_or(units.len());
    String::from_utf16_lossy(&units[..end])
}

/// Encodes `text` into a fixed-size UTF-16 field, NUL-terminated, with the rest zeroed.
///
/// At most `dst.len() - 1` units are written, so the game's readers always find a NUL. A text
/// that does not fit is cut at a character boundary (never between the two halves of a
/// surrogate pair). Returns `true` when the whole text fit.
pub fn encode_utf16(dst: &mut [u16], text: &str) -> bool {
    dst.fill(0);
    let room = dst.len().saturating_sub(1);
    let mut used = 0;
    let mut buf = [0u16; 2];
    for ch in text.chars() {
        let units = ch.encode_utf16(&mut buf);
        if used + units.len() > room {
            return false;
        }
        dst[used..used + units.len()].copy_from_slice(units);
        used += units.len();
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_up_to_the_first_nul() {
        let mut units = [0u16; 8];
        units[..3].copy_from_slice(&[u16::from(b'a'), u16::from(b'b'), 0]);
        units[3] = u16::from(b'z'); // garbage after the NUL is ignored
        assert_eq!(decode_utf16(&units), "ab");
    }

    #[test]
    fn decodes_a_full_array_without_nul() {
        let units: Vec<u16> = "abc".encode_utf16().collect();
        assert_eq!(decode_utf16(&units), "abc");
    }

    #[test]
    fn unpaired_surrogates_are_replaced() {
        assert_eq!(decode_utf16(&[u16::from(b'x'), 0xd800, u16::from(b'y')]), "x\u{fffd}y");
    }

    #[test]
    fn round_trips_non_ascii() {
        for text in ["Nürburgring", "鈴鹿", "ks_nordschleife", "", "🏁 flag"] {
            let mut units = [0xffffu16; 33];
            assert!(encode_utf16(&mut units, text));
            assert_eq!(decode_utf16(&units), text);
            assert_eq!(units[32], 0, "the last unit stays a NUL");
        }
    }

    #[test]
    fn truncates_at_a_character_boundary() {
        let mut units = [0u16; 4];
        // Three units of room: "ab" fits, the emoji (two units) does not.
        assert!(!encode_utf16(&mut units, "ab🏁"));
        assert_eq!(decode_utf16(&units), "ab");
        assert!(!encode_utf16(&mut units, "abcdef"));
        assert_eq!(decode_utf16(&units), "abc");
        assert_eq!(units[3], 0);
    }

    #[test]
    fn empty_destination_takes_nothing() {
        assert!(encode_utf16(&mut [], ""));
        assert!(!encode_utf16(&mut [], "a"));
    }
}
