//! # pitwall-text: text from the outside world made safe to print on a terminal
//!
//! A name or a chat line is whatever a player typed or a server sent, and can carry terminal
//! escape sequences that recolour the screen, retitle the window or worse. Every text output
//! of pitwall (the CLI, the timing board, the page listing) passes such strings through here;
//! JSON output is escaped by the JSON encoder, then by [`json_controls`].

use std::borrow::Cow;
use std::fmt::Write as _;

/// `s` with every control character (C0, DEL, C1: what `char::is_control` means) written as an
/// escape: `\n`, `\r`, `\t`, `\0`, or `\u{1b}` for the others, as Rust's `{:?}` writes them. Other
/// characters, non-ASCII letters and emoji included, are kept as they are.
///
/// A backslash is kept too: the text is for reading, and `--json` is the exact form.
pub fn escape_controls(s: &str) -> Cow<'_, str> {
    if !s.chars().any(char::is_control) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        push_escaped(&mut out, c);
    }
    Cow::Owned(out)
}

/// `s` in double quotes, with control characters escaped as [`escape_controls`] does, and `"`
/// and `\` escaped too so that the quotes delimit the text unambiguously.
pub fn quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c => push_escaped(&mut out, c),
        }
    }
    out.push('"');
    out
}

/// JSON text with DEL and the C1 controls (U+0080..U+009F, CSI among them) written as `\u00XX`
/// escapes. A JSON encoder escapes only C0 controls, so a string from the wire can otherwise put
/// a raw CSI on the terminal of whoever reads `--json` output there. The document means the
/// same: outside strings JSON has no such characters, and inside them the escape is the
/// character.
pub fn json_controls(json: &str) -> Cow<'_, str> {
    if !json.chars().any(char::is_control) {
        return Cow::Borrowed(json);
    }
    let mut out = String::with_capacity(json.len() + 8);
    for c in json.chars() {
        // C0 controls in strings are already escaped by the encoder; outside them are only the
        // newlines of pretty output, which stay.
        if c.is_control() && u32::from(c) >= 0x7f {
            let _ = write!(out, "\\u{:04x}", u32::from(c));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

fn push_escaped(out: &mut String, c: char) {
    match c {
        '\n' => out.push_str("\\n"),
        '\r' => out.push_str("\\r"),
        '\t' => out.push_str("\\t"),
        '\0' => out.push_str("\\0"),
        c if c.is_control() => {
            let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
        }
        c => out.push(c),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped_and_the_rest_kept() {
        assert!(matches!(escape_controls("Jürgen 🏁"), Cow::Borrowed("Jürgen 🏁")));
        assert_eq!(escape_controls("a\u{1b}[31mb\u{7f}c\u{9b}2J\n"), "a\\u{1b}[31mb\\u{7f}c\\u{9b}2J\\n");
        assert_eq!(escape_controls("back\\slash"), "back\\slash");
        assert_eq!(quoted("say \"hi\"\u{7}"), "\"say \\\"hi\\\"\\u{7}\"");
        // The same escapes as Rust's own `{:?}` for what both escape.
        let s = "\u{0}\u{1b}]0;title\u{7}\t\u{85}é";
        assert_eq!(quoted(s), format!("{s:?}"));
    }

    #[test]
    fn json_keeps_its_meaning_without_raw_controls() {
        let value = serde_json::json!({ "m": "a\u{1b}[2J\u{9b}31m\u{7f}é\n", "n": [1, 2] });
        for json in [serde_json::to_string(&value).unwrap(), serde_json::to_string_pretty(&value).unwrap()] {
            let safe = json_controls(&json);
            assert!(!safe.chars().any(|c| c.is_control() && c != '\n'), "{safe:?}");
            assert_eq!(serde_json::from_str::<serde_json::Value>(&safe).unwrap(), value);
        }
        assert!(matches!(json_controls("{\"a\":\"é\"}"), Cow::Borrowed(_)));
    }
}
