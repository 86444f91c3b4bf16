//! Any bytes, as a server → plugin datagram, a plugin → server datagram, and the start of a
//! concatenation. Beyond "no panic", it checks the decoders' promises:
//! - a decoded message never claims more bytes than it was given, and errors point inside the
//!   input;
//! - a trailing-bytes warning appears exactly when bytes are left over, and every other warning
//!   points inside the message it is about;
//! - decoding is stable: whatever decodes re-encodes, and that encoding decodes to a message that
//!   encodes to the same bytes (bytes, not values, because a float may be NaN);
//! - `decode` and `decode_prefix` agree with `decode_datagram` where the layout does not depend
//!   on the datagram's length.
#![no_main]

use acsp::{Command, DecodeError, EncodeError, Event, Warning};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    events(data);
    commands(data);
    prefixes(data);
});

fn check_error(e: &DecodeError, input_len: usize, base: usize) {
    match *e {
        DecodeError::Empty => assert_eq!(input_len, 0),
        DecodeError::UnknownId { offset, .. } => assert_eq!(offset, base),
        DecodeError::Truncated { offset, expected, actual, len, .. } => {
            assert_eq!(len, input_len);
            assert!(offset > base && offset <= base + len, "offset {offset} outside the input");
            assert_eq!(actual, base + len - offset);
            assert!(expected > actual);
        }
        DecodeError::UnknownClientEvent { offset, .. } => assert_eq!(offset, base + 1),
    }
}

fn encode_event(event: &Event) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    match acsp::encode_event(event, &mut out) {
        Ok(()) => Some(out),
        // Narrow strings are decoded as lossy UTF-8: each bad byte becomes a 3-byte U+FFFD, so
        // the text can outgrow its length byte. Nothing else may fail to re-encode.
        Err(EncodeError::StringTooLong { unit: "bytes", .. }) => {
            assert!(out.is_empty(), "nothing appended on error");
            None
        }
        Err(e) => panic!("a decoded event does not re-encode: {e}: {event:?}"),
    }
}

fn encode_command(command: &Command) -> Vec<u8> {
    let mut out = Vec::new();
    acsp::encode(command, &mut out).expect("a decoded command re-encodes");
    out
}

fn trailing(warnings: &[Warning]) -> Option<(usize, usize)> {
    warnings.iter().find_map(|w| match *w {
        Warning::TrailingBytes { count, offset } => Some((count, offset)),
        _ => None,
    })
}

/// Warnings about a field point inside the bytes the message took; an invalid-text warning
/// counts at least one replacement, and its text holds at least that many U+FFFD.
fn check_warnings(warnings: &[Warning], len: usize, text: &str) {
    for w in warnings {
        match *w {
            Warning::ByteOrderMark { offset, .. } => assert!(offset < len, "{w}"),
            Warning::InvalidText { offset, replaced, .. } => {
                assert!(offset < len, "{w}");
                assert!(replaced >= 1, "{w}");
                assert!(text.matches('\u{fffd}').count() >= replaced, "{w}");
            }
            Warning::TrailingBytes { .. } | Warning::MissingSessionIndex => {}
        }
    }
}

fn events(data: &[u8]) {
    let d = match acsp::decode_datagram(data) {
        Ok(d) => d,
        Err(e) => {
            check_error(&e, data.len(), 0);
            assert_eq!(acsp::decode(data).err(), Some(e), "decode agrees with decode_datagram");
            return;
        }
    };
    assert!(d.len >= 1 && d.len <= data.len());
    let expected_trailing = (d.len < data.len()).then(|| (data.len() - d.len, d.len));
    assert_eq!(trailing(&d.warnings), expected_trailing);
    let json = serde_json::to_string(&d.message).expect("a decoded event serialises");
    check_warnings(&d.warnings, d.len, &json);
    let plain = acsp::decode(data).expect("decode agrees with decode_datagram");
    assert_eq!(encode_event(&plain), encode_event(&d.message));

    let Some(first) = encode_event(&d.message) else { return };
    let again = acsp::decode_datagram(&first).expect("an encoded event decodes");
    assert_eq!(again.len, first.len());
    assert_eq!(trailing(&again.warnings), None);
    assert_eq!(encode_event(&again.message).as_ref(), Some(&first), "decoding is not stable");
}

fn commands(data: &[u8]) {
    let d = match acsp::decode_command_datagram(data) {
        Ok(d) => d,
        Err(e) => {
            check_error(&e, data.len(), 0);
            return;
        }
    };
    assert!(d.len >= 1 && d.len <= data.len());
    let expected_trailing = (d.len < data.len()).then(|| (data.len() - d.len, d.len));
    assert_eq!(trailing(&d.warnings), expected_trailing);
    let first = encode_command(&d.message);
    let again = acsp::decode_command_datagram(&first).expect("an encoded command decodes");
    assert_eq!(again.len, first.len());
    assert_eq!(again.warnings, []);
    assert_eq!(again.message, d.message, "commands hold no floats, so values compare");
    assert_eq!(encode_command(&again.message), first);
}

fn prefixes(data: &[u8]) {
    // Walk the whole input as a concatenation, skipping a byte after an error, as a capture
    // reader would; every step must make progress and stay inside the input.
    let mut pos = 0;
    while pos < data.len() {
        let base = pos.wrapping_mul(7); // any running offset, not just the position
        match acsp::decode_prefix(&data[pos..], base) {
            Ok(d) => {
                assert!(d.len >= 1 && d.len <= data.len() - pos);
                assert_eq!(trailing(&d.warnings), None, "a prefix has no trailing bytes");
                pos += d.len;
            }
            Err(e) => {
                check_error(&e, data.len() - pos, base);
                pos += 1;
            }
        }
    }

    // Where the layout does not depend on the length, the prefix reader reads what the datagram
    // reader reads.
    if let (Ok(whole), Ok(prefix)) = (acsp::decode_datagram(data), acsp::decode_prefix(data, 0))
        && !matches!(whole.message, Event::LapCompleted(_) | Event::NewSession(_) | Event::SessionInfo(_))
    {
        assert_eq!(prefix.len, whole.len);
        assert_eq!(encode_event(&prefix.message), encode_event(&whole.message));
    }
}
