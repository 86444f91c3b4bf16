//! One test per quirk of real servers and clients (docs/acsp.md, "Quirks pitwall handles"), each
//! named after it.

use acsp::{
    Chat, Command, DecodeError, EncodeError, Event, LapCompleted, LeaderboardEntry, SessionInfo, StringWidth,
    Warning,
};

use crate::support::{enc_event, hex, narrow, wide};
use crate::vectors;

fn chat(bytes: &[u8]) -> (String, Vec<Warning>) {
    let d = acsp::decode_datagram(bytes).unwrap();
    match d.message {
        Event::Chat(Chat { message, .. }) => (message, d.warnings),
        other => panic!("expected chat, got {other:?}"),
    }
}

fn session(event: &Event) -> &SessionInfo {
    match event {
        Event::NewSession(s) | Event::SessionInfo(s) => s,
        other => panic!("expected a session, got {other:?}"),
    }
}

fn lap(event: &Event) -> &LapCompleted {
    match event {
        Event::LapCompleted(l) => l,
        other => panic!("expected lap_completed, got {other:?}"),
    }
}

#[test]
fn utf32le_wide_strings_without_bom() {
    // Measured: the server name starts with `41 00 00 00` ("A") right after its length byte, and
    // "è" arrives as the single unit `e8 00 00 00`.
    let bytes = hex("39 | 03 | 02 41 00 00 00 e8 00 00 00");
    let (message, warnings) = chat(&bytes);
    assert_eq!(message, "Aè");
    assert_eq!(warnings, []);

    // Encoding writes no BOM either, and counts characters, not bytes (è is 2 bytes of UTF-8).
    let out = enc_event(&Event::Chat(Chat { car_id: 3, message: "Aè".into() }));
    assert_eq!(out, bytes);

    // Little-endian, not the host's order and not UTF-16: U+4100 would be `00 41 00 00`.
    let (message, _) = chat(&hex("39 00 01 00 41 00 00"));
    assert_eq!(message, "\u{4100}");

    // The new_session vector's server name is exactly the measured prefix.
    let v = vectors::new_session();
    assert_eq!(v.bytes[5..10], hex("12 41 00 00 00"));
}

#[test]
fn wide_string_bom_is_dropped_and_reported() {
    // acudpclient's broadcast_message("hi"): Python's utf32 codec puts a BOM first and the length
    // byte, sized for "hi", then cuts off the "i". The measured bytes must decode to "h" with a
    // warning that names the field and the offset of its length byte, and must not fail.
    let d = acsp::decode_command_datagram(&hex("cb 02 ff fe 00 00 68 00 00 00")).unwrap();
    assert_eq!(d.message, Command::BroadcastChat { message: "h".into() });
    assert_eq!(d.warnings, [Warning::ByteOrderMark { field: "message", offset: 1 }]);
    assert_eq!(d.len, 10);
    assert!(d.warnings[0].to_string().contains("byte-order mark"));

    // The same in an event (a sender with the same bug), and in the second string of a message.
    let bytes = hex("34 | 01 4b 00 00 00 | 02 ff fe 00 00 30 00 00 00 | 00 | 00 | 00");
    let d = acsp::decode_datagram(&bytes).unwrap();
    match &d.message {
        Event::ConnectionClosed(c) => {
            assert_eq!((c.driver_name.as_str(), c.driver_guid.as_str()), ("K", "0"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(d.warnings, [Warning::ByteOrderMark { field: "driver_guid", offset: 6 }]);

    // Several leading marks all go (reported once), so the decoded text never starts with U+FEFF
    // and decoding is stable under re-encoding. A mark inside the text is the character U+FEFF.
    let (message, warnings) = chat(&hex("39 00 04 ff fe 00 00 ff fe 00 00 68 00 00 00 ff fe 00 00"));
    assert_eq!(message, "h\u{feff}");
    assert_eq!(warnings, [Warning::ByteOrderMark { field: "message", offset: 2 }]);
    let again = acsp::decode_datagram(&enc_event(&Event::Chat(Chat { car_id: 0, message }))).unwrap();
    assert_eq!(again.message, Event::Chat(Chat { car_id: 0, message: "h\u{feff}".into() }));
    assert_eq!(again.warnings, []);

    // A string that is nothing but a mark is the empty string.
    assert_eq!(chat(&hex("39 00 01 ff fe 00 00")).0, "");
}

#[test]
fn non_bmp_wide_string() {
    // UTF-32 carries any code point in one unit; the Node clients' UTF-16 reading breaks here.
    let bytes = hex("39 | 02 | 02 c1 f3 01 00 41 00 00 00"); // U+1F3C1 chequered flag, "A"
    let (message, warnings) = chat(&bytes);
    assert_eq!(message, "🏁A");
    assert_eq!(warnings, []);
    assert_eq!(enc_event(&Event::Chat(Chat { car_id: 2, message })), bytes);

    // 255 non-BMP characters is the maximum: 255 units, whatever their UTF-8 length.
    let long: String = std::iter::repeat_n('𝄞', 255).collect();
    let out = enc_event(&Event::Chat(Chat { car_id: 0, message: long.clone() }));
    assert_eq!(out.len(), 3 + 4 * 255);
    assert_eq!(out[2], 255);
    assert_eq!(out[3..7], hex("1e d1 01 00"));
    assert_eq!(chat(&out).0, long);
}

#[test]
fn surrogate_pairs_in_wide_strings_are_repaired() {
    // A 16-bit wchar_t server could emit each UTF-16 half as its own 4-byte unit.
    let (message, warnings) = chat(&hex("39 00 03 3d d8 00 00 01 de 00 00 21 00 00 00")); // D83D DE01 "!"
    assert_eq!(message, "😁!");
    assert_eq!(warnings, []);

    // Halves that do not pair up are replaced, one U+FFFD each, and the text around them kept.
    let cases: [(&str, &str); 4] = [
        ("39 00 02 3d d8 00 00 61 00 00 00", "\u{fffd}a"), // lone high, then "a"
        ("39 00 02 61 00 00 00 01 de 00 00", "a\u{fffd}"), // lone low
        ("39 00 02 01 de 00 00 3d d8 00 00", "\u{fffd}\u{fffd}"), // low before high
        ("39 00 03 3d d8 00 00 3d d8 00 00 01 de 00 00", "\u{fffd}😁"), // high, then a good pair
    ];
    for (bytes, expected) in cases {
        let (text, warnings) = chat(&hex(bytes));
        assert_eq!(text, expected, "{bytes}");
        let replaced = expected.matches('\u{fffd}').count();
        let first = 3 + 4 * expected.chars().position(|c| c == '\u{fffd}').unwrap();
        assert_eq!(warnings, [Warning::InvalidText { field: "message", offset: first, replaced }], "{bytes}");
    }
}

#[test]
fn invalid_code_point_becomes_replacement_char() {
    // Above U+10FFFF, and a unit with every bit set: not characters, but not a reason to drop
    // the message either.
    // They are reported, with the offset of the first one, so damage is never silent.
    let (message, warnings) = chat(&hex("39 00 04 41 00 00 00 00 00 11 00 ff ff ff ff 42 00 00 00"));
    assert_eq!(message, "A\u{fffd}\u{fffd}B");
    assert_eq!(warnings, [Warning::InvalidText { field: "message", offset: 7, replaced: 2 }]);
    // A U+FFFD that was sent is text like any other: no warning.
    assert_eq!(chat(&hex("39 00 01 fd ff 00 00")), ("\u{fffd}".to_owned(), vec![]));
    // The highest valid code point is kept.
    assert_eq!(chat(&hex("39 00 01 ff ff 10 00")).0, "\u{10ffff}");
}

#[test]
fn narrow_strings_lenient_utf8() {
    // AssettoServer writes UTF-8 and counts bytes; strict-ASCII decoders crash on it.
    let bytes = [
        hex("33"),
        wide("Nico"),
        wide("1"),
        hex("01"),
        hex("0f 6b 73 5f 6e c3 bc 72 62 75 72 67 72 69 6e 67"), // "ks_nürburgring": 15 bytes, 14 chars
        hex("03 e9 ff 41"), // Latin-1 "é", a byte never valid in UTF-8, "A"
    ]
    .concat();
    let d = acsp::decode_datagram(&bytes).unwrap();
    // The two bad bytes are each replaced, and reported at the first one's offset: 1 + 17
    // (name) + 5 (guid) + 1 (car id) + 16 (model) + 1 (skin's length byte).
    assert_eq!(d.warnings, [Warning::InvalidText { field: "car_skin", offset: 41, replaced: 2 }]);
    assert_eq!(bytes[41], 0xe9);
    match &d.message {
        Event::NewConnection(c) => {
            assert_eq!(c.car_model, "ks_nürburgring");
            assert_eq!(c.car_skin, "\u{fffd}\u{fffd}A");
        }
        other => panic!("{other:?}"),
    }

    // Every single byte value decodes, never an error; 0x80 and up (alone) become U+FFFD.
    for b in 0..=255u8 {
        let bytes = [hex("33 00 00 00"), vec![1, b], hex("00")].concat();
        let Event::NewConnection(c) = acsp::decode(&bytes).unwrap() else { panic!() };
        let expected = if b < 0x80 { char::from(b).to_string() } else { "\u{fffd}".into() };
        assert_eq!(c.car_model, expected, "byte {b:#04x}");
    }

    // Encoding writes UTF-8 and counts bytes.
    let v = Event::NewConnection(acsp::ConnectionInfo {
        driver_name: String::new(),
        driver_guid: String::new(),
        car_id: 1,
        car_model: "ks_nürburgring".into(),
        car_skin: String::new(),
    });
    assert_eq!(enc_event(&v), [hex("33 00 00 01"), narrow("ks_nürburgring"), hex("00")].concat());
    assert_eq!(narrow("ks_nürburgring")[0], 15);
}

#[test]
fn elapsed_ms_is_signed() {
    // −40000 during the race's wait, as in the capture; acudpclient reads it as 4294927296.
    let v = vectors::new_session();
    assert_eq!(v.bytes[v.bytes.len() - 4..], hex("c0 63 ff ff"));
    let event = acsp::decode(&v.bytes).unwrap();
    assert_eq!(session(&event).elapsed_ms, -40_000);
    let json = serde_json::to_value(&event).unwrap();
    assert_eq!(json["elapsed_ms"], -40_000);
    assert_eq!(json["wait_time"], 40_000);

    // The extremes survive both ways.
    for elapsed in [i32::MIN, -1, 0, i32::MAX] {
        let mut s = session(&event).clone();
        s.elapsed_ms = elapsed;
        let bytes = enc_event(&Event::NewSession(s.clone()));
        assert_eq!(bytes[bytes.len() - 4..], elapsed.to_le_bytes());
        assert_eq!(session(&acsp::decode(&bytes).unwrap()).elapsed_ms, elapsed);
    }
}

#[test]
fn leaderboard_entries_7_and_8_bytes_told_apart_by_length() {
    // AC 1.3–1.6: 7-byte entries (car u8, time u32, laps u16); AC ≥ 1.7: an 8th byte, the
    // has-completed flag, with the same protocol version 4. Same header, two datagram lengths.
    let header = hex("49 | 02 | b9 3d 01 00 | 01 | 03");
    let grip = hex("00 00 80 3f"); // 1.0
    let old = [
        header.clone(),
        hex("00 06 3c 01 00 02 00 | 02 b9 3d 01 00 03 00 | 01 ff c9 9a 3b 00 00"),
        grip.clone(),
    ]
    .concat();
    let new =
        [header, hex("00 06 3c 01 00 02 00 00 | 02 b9 3d 01 00 03 00 01 | 01 ff c9 9a 3b 00 00 00"), grip]
            .concat();
    assert_eq!((old.len(), new.len()), (12 + 7 * 3, 12 + 8 * 3));

    let entry = |car_id, time, laps, has_completed| LeaderboardEntry { car_id, time, laps, has_completed };
    let expected = |flags: [Option<bool>; 3]| {
        Event::LapCompleted(LapCompleted {
            car_id: 2,
            lap_time: 81_337,
            cuts: 1,
            leaderboard: vec![
                entry(0, 80_902, 2, flags[0]),
                entry(2, 81_337, 3, flags[1]),
                entry(1, acsp::NO_TIME, 0, flags[2]),
            ],
            grip_level: 1.0,
        })
    };
    let old_event = expected([None; 3]);
    let new_event = expected([Some(false), Some(true), Some(false)]);
    for (bytes, event) in [(&old, &old_event), (&new, &new_event)] {
        let d = acsp::decode_datagram(bytes).unwrap();
        assert_eq!(&d.message, event);
        assert_eq!((d.len, d.warnings.as_slice()), (bytes.len(), &[][..]));
        assert_eq!(&enc_event(event), bytes, "each kind re-encodes in its own size");
    }

    // The 24-car vector also reads as 7-byte entries when shortened to that size, and the flag
    // is absent from the JSON then.
    let full = vectors::lap_completed();
    let mut legacy = full.bytes[..8].to_vec();
    for e in full.bytes[8..8 + 8 * 24].chunks(8) {
        legacy.extend_from_slice(&e[..7]);
    }
    legacy.extend_from_slice(&full.bytes[full.bytes.len() - 4..]);
    let d = acsp::decode(&legacy).unwrap();
    assert_eq!(lap(&d).leaderboard.len(), 24);
    assert!(lap(&d).leaderboard.iter().all(|e| e.has_completed.is_none()));
    assert_eq!(lap(&d).leaderboard[3].time, acsp::NO_TIME);
    let json = serde_json::to_value(&d).unwrap();
    assert!(json["leaderboard"][0].get("has_completed").is_none());
    assert_eq!(serde_json::to_value(&full.value).unwrap()["leaderboard"][0]["has_completed"], false);

    // Longer than the modern size: modern entries and trailing bytes (a newer server).
    let longer = [new.clone(), hex("00 00")].concat();
    let d = acsp::decode_datagram(&longer).unwrap();
    assert_eq!(d.message, new_event);
    assert_eq!(d.warnings, [Warning::TrailingBytes { count: 2, offset: new.len() }]);
    // Between the two sizes is a damaged modern message, not an old one with extra bytes: no
    // server sends that, and reading it as 7-byte entries would shift every entry silently.
    // The three 8-byte entries fit in each of these; the grip after them does not.
    for short in [&new[..new.len() - 1], &new[..old.len() + 1], &new[..old.len() - 1]] {
        assert_eq!(
            acsp::decode(short),
            Err(DecodeError::Truncated {
                id: 73,
                name: "lap_completed",
                field: "grip_level",
                offset: 8 + 8 * 3,
                expected: 4,
                actual: short.len() - 32,
                len: short.len()
            })
        );
    }
}

#[test]
fn assettoserver_wide_weather_string() {
    // AssettoServer writes the weather in UTF-32; the remaining length after its length byte L is
    // 4·L + 4 instead of L + 4.
    let stock = vectors::session_info();
    let cut = stock.bytes.len() - (1 + 11 + 4); // weather str8 "4_mid_clear" and elapsed
    let bytes = [stock.bytes[..cut].to_vec(), wide("4_mid_clear"), hex("87 d6 12 00")].concat();
    assert_eq!(bytes.len(), stock.bytes.len() + 3 * 11);
    let d = acsp::decode_datagram(&bytes).unwrap();
    assert_eq!(d.warnings, []);
    assert_eq!(d.len, bytes.len());
    let s = session(&d.message);
    assert_eq!(s.weather_graphics, "4_mid_clear");
    assert_eq!(s.weather_encoding, StringWidth::Wide);
    assert_eq!(s.elapsed_ms, 1_234_567, "the field after the weather is read in the right place");
    let mut expected = session(&stock.value).clone();
    expected.weather_encoding = StringWidth::Wide;
    assert_eq!(d.message, Event::SessionInfo(expected));

    // It re-encodes wide, and the JSON says so (the stock form omits the key).
    assert_eq!(enc_event(&d.message), bytes);
    assert_eq!(serde_json::to_value(&d.message).unwrap()["weather_encoding"], "wide");
    assert!(serde_json::to_value(&stock.value).unwrap().get("weather_encoding").is_none());

    // A single-character weather: L + 4 = 5 (stock) against 4·L + 4 = 8 (AssettoServer).
    let one = [stock.bytes[..cut].to_vec(), hex("01 78 00 00 00"), hex("00 00 00 00")].concat();
    assert_eq!(session(&acsp::decode(&one).unwrap()).weather_encoding, StringWidth::Wide);
    let one = [stock.bytes[..cut].to_vec(), hex("01 78"), hex("00 00 00 00")].concat();
    assert_eq!(session(&acsp::decode(&one).unwrap()).weather_encoding, StringWidth::Narrow);

    // AssettoServer's END_SESSION: an empty filename written as str8. Both kinds of "" are `00`.
    assert_eq!(
        acsp::decode_datagram(&hex("37 00")).unwrap().message,
        Event::EndSession(acsp::EndSession { filename: String::new() })
    );
}

#[test]
fn trailing_bytes_reported_not_fatal() {
    // A newer server's extra field (or another implementation) must not lose the message.
    for v in vectors::events() {
        let bytes = [v.bytes.clone(), hex("de ad")].concat();
        let d = acsp::decode_datagram(&bytes).unwrap_or_else(|e| panic!("{}: {e}", v.name));
        // A lap_completed whose length grew by 2 still reads as 8-byte entries (it is longer than
        // the modern size), and a narrow weather stays narrow (4·L + 4 ≠ L + 6).
        assert_eq!(d.message, v.value, "{}", v.name);
        assert_eq!(d.len, v.bytes.len(), "{}", v.name);
        assert_eq!(d.warnings, [Warning::TrailingBytes { count: 2, offset: v.bytes.len() }], "{}", v.name);
        assert_eq!(acsp::decode(&bytes).unwrap(), v.value, "{}: decode ignores them", v.name);
        assert!(d.warnings[0].to_string().contains("2 trailing bytes"));
    }
    for v in vectors::commands() {
        let bytes = [v.bytes.clone(), hex("00")].concat();
        let d = acsp::decode_command_datagram(&bytes).unwrap();
        assert_eq!(d.message, v.value, "{}", v.name);
        assert_eq!(d.warnings, [Warning::TrailingBytes { count: 1, offset: v.bytes.len() }], "{}", v.name);
    }
}

#[test]
fn unknown_client_event_subtype_rejected() {
    // Subtype 12 (JumpStartPenalty) belongs to the game's TCP protocol; its layout here is
    // unknown, so the decoder refuses to guess rather than inventing fields.
    let mut bytes = vectors::collision_with_env().bytes;
    for subtype in [0u8, 9, 12, 130, 255] {
        bytes[1] = subtype;
        assert_eq!(acsp::decode(&bytes), Err(DecodeError::UnknownClientEvent { subtype, offset: 1 }));
        assert_eq!(
            acsp::decode_prefix(&bytes, 500),
            Err(DecodeError::UnknownClientEvent { subtype, offset: 501 })
        );
    }
    let e = DecodeError::UnknownClientEvent { subtype: 12, offset: 1 };
    assert!(e.to_string().contains("unknown event type 12"));
    // Without a subtype at all it is a truncation, not an unknown subtype.
    assert!(matches!(acsp::decode(&[130]), Err(DecodeError::Truncated { id: 130, field: "event_type", .. })));
}

#[test]
fn get_session_info_without_index() {
    // Assetto Server Manager sends the bare id byte; the server then means the current session.
    let d = acsp::decode_command_datagram(&[0xcc]).unwrap();
    assert_eq!(d.message, Command::GetSessionInfo { session_index: -1 });
    assert_eq!(d.warnings, [Warning::MissingSessionIndex]);
    assert_eq!(d.len, 1);
    // With the index it is read as an i16, and no warning.
    let d = acsp::decode_command_datagram(&hex("cc 02 00")).unwrap();
    assert_eq!(d.message, Command::GetSessionInfo { session_index: 2 });
    assert_eq!(d.warnings, []);
    // Half an index is a truncation, not a missing index.
    assert!(matches!(
        acsp::decode_command(&hex("cc ff")),
        Err(DecodeError::Truncated {
            id: 0xcc,
            field: "session_index",
            offset: 1,
            expected: 2,
            actual: 1,
            len: 2,
            ..
        })
    ));
    // We always send the index.
    assert_eq!(crate::support::enc_command(&Command::GetSessionInfo { session_index: -1 }), hex("cc ff ff"));
}

/// Cuts every vector at every shorter length. Every cut must be an error that names the message
/// and says where it stopped, except for the few lengths that are another valid layout of the
/// same message; those must decode as that layout.
#[test]
fn truncated_messages_name_id_offset_and_lengths() {
    fn check_truncated(err: DecodeError, v_name: &str, id: u8, cut: usize, base: usize) {
        match err {
            DecodeError::Truncated { id: got, name, field, offset, expected, actual, len } => {
                assert_eq!(got, id, "{v_name} cut at {cut}: id");
                let want_name = if id == 130 { "client_event" } else { v_name };
                assert_eq!(name, want_name, "{v_name} cut at {cut}: name");
                assert!(!field.is_empty());
                assert_eq!(len, cut, "{v_name} cut at {cut}: len is the input's length");
                assert!(offset > base && offset <= base + cut, "{v_name} cut at {cut}: offset {offset}");
                assert_eq!(actual, base + cut - offset, "{v_name} cut at {cut}: actual is what is left");
                assert!(expected > actual, "{v_name} cut at {cut}: expected {expected} > actual {actual}");
            }
            other => panic!("{v_name} cut at {cut}: expected a truncation, got {other:?}"),
        }
    }

    let mut checked = 0;
    for v in vectors::events() {
        let id = v.bytes[0];
        assert_eq!(acsp::decode(&v.bytes[..0]), Err(DecodeError::Empty));
        for cut in 1..v.bytes.len() {
            let short = &v.bytes[..cut];
            match acsp::decode_datagram(short) {
                Err(e) => check_truncated(e, v.name, id, cut, 0),
                // The 24-car leaderboard cut by 24 bytes is a valid 7-byte-entry leaderboard.
                Ok(d) if v.name == "lap_completed" && cut == 12 + 7 * 24 => {
                    assert!(lap(&d.message).leaderboard.iter().all(|e| e.has_completed.is_none()));
                }
                Ok(d) => panic!("{} cut at {cut} decoded: {:?}", v.name, d.message),
            }
            // The same through the concatenation reader, at a running offset.
            match acsp::decode_prefix(short, 1000) {
                Err(e) => check_truncated(e, v.name, id, cut, 1000),
                // It tries the 7-byte layout as well, which fits in any cut of at least that size.
                Ok(d) if v.name == "lap_completed" && cut >= 12 + 7 * 24 => {
                    assert_eq!(d.len, 12 + 7 * 24);
                }
                Ok(d) => panic!("{} cut at {cut} decoded by decode_prefix: {:?}", v.name, d.message),
            }
            checked += 1;
        }
    }
    for v in vectors::commands() {
        for cut in 1..v.bytes.len() {
            match acsp::decode_command_datagram(&v.bytes[..cut]) {
                Err(e) => check_truncated(e, v.name, v.bytes[0], cut, 0),
                Ok(d) if v.name == "get_session_info" && cut == 1 => {
                    assert_eq!(d.warnings, [Warning::MissingSessionIndex]);
                }
                Ok(d) => panic!("{} cut at {cut} decoded: {:?}", v.name, d.message),
            }
            checked += 1;
        }
    }
    assert!(checked > 1000, "{checked}");

    // Exact fields for a few, worked out by hand from the offsets in docs/acsp.md.
    let car_update = vectors::car_update().bytes;
    assert_eq!(
        acsp::decode(&car_update[..20]),
        Err(DecodeError::Truncated {
            id: 53,
            name: "car_update",
            field: "velocity",
            offset: 14,
            expected: 12,
            actual: 6,
            len: 20
        })
    );
    let chat = vectors::chat().bytes;
    assert_eq!(
        acsp::decode(&chat[..5]),
        Err(DecodeError::Truncated {
            id: 57,
            name: "chat",
            field: "message",
            offset: 3,
            expected: 16,
            actual: 2,
            len: 5
        })
    );
    let lap = vectors::lap_completed().bytes;
    assert_eq!(
        acsp::decode(&lap[..50]),
        Err(DecodeError::Truncated {
            id: 73,
            name: "lap_completed",
            field: "leaderboard",
            offset: 8,
            expected: 8 * 24 + 4,
            actual: 42,
            len: 50
        })
    );
    let session = vectors::new_session().bytes;
    let err = acsp::decode(&session[..session.len() - 2]).unwrap_err();
    assert!(
        matches!(err, DecodeError::Truncated { field: "elapsed_ms", expected: 4, actual: 2, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("new_session (id 50): field `elapsed_ms`"), "{err}");
}

#[test]
fn string_too_long_is_an_encode_error() {
    // Wide: 255 characters fit, 256 do not, and nothing is appended on error.
    let ok: String = "x".repeat(255);
    let too_long: String = "x".repeat(256);
    let mut out = vec![1, 2, 3];
    acsp::encode_event(&Event::Chat(Chat { car_id: 0, message: ok.clone() }), &mut out).unwrap();
    assert_eq!(out.len(), 3 + 2 + 1 + 4 * 255);
    assert_eq!(out[5], 255);
    let mut out = vec![1, 2, 3];
    let err = acsp::encode_event(&Event::Chat(Chat { car_id: 0, message: too_long.clone() }), &mut out);
    assert_eq!(
        err,
        Err(EncodeError::StringTooLong { name: "chat", field: "message", len: 256, unit: "characters" })
    );
    assert_eq!(out, [1, 2, 3], "nothing appended on error");

    // Commands too, e.g. acudpclient's ValueError case.
    let mut out = Vec::new();
    assert_eq!(
        acsp::encode(&Command::BroadcastChat { message: too_long }, &mut out),
        Err(EncodeError::StringTooLong {
            name: "broadcast_chat",
            field: "message",
            len: 256,
            unit: "characters"
        })
    );
    assert!(out.is_empty());
    acsp::encode(&Command::AdminCommand { command: ok }, &mut out).unwrap();
    assert_eq!(out.len(), 2 + 4 * 255);

    // Narrow strings count bytes: 128 "é" are 128 characters but 256 bytes.
    let mut s = session(&vectors::new_session().value).clone();
    s.track = "é".repeat(128);
    let mut out = Vec::new();
    let err = acsp::encode_event(&Event::NewSession(s.clone()), &mut out).unwrap_err();
    assert_eq!(
        err,
        EncodeError::StringTooLong { name: "new_session", field: "track", len: 256, unit: "bytes" }
    );
    assert!(err.to_string().contains("`track` is 256 bytes"), "{err}");
    assert!(out.is_empty());
    // The weather is checked in whichever width it is written.
    s.track = "ks_red_bull_ring".into();
    s.weather_graphics = "w".repeat(256);
    s.weather_encoding = StringWidth::Wide;
    assert!(matches!(
        acsp::encode_event(&Event::SessionInfo(s), &mut out),
        Err(EncodeError::StringTooLong { field: "weather_graphics", unit: "characters", .. })
    ));

    // A leaderboard's count is a byte too.
    let entry = LeaderboardEntry { car_id: 0, time: 1, laps: 1, has_completed: Some(true) };
    let lap = |n| {
        Event::LapCompleted(LapCompleted {
            car_id: 0,
            lap_time: 1,
            cuts: 0,
            leaderboard: vec![entry; n],
            grip_level: 1.0,
        })
    };
    assert_eq!(enc_event(&lap(255)).len(), 12 + 8 * 255);
    assert_eq!(acsp::encode_event(&lap(256), &mut out), Err(EncodeError::LeaderboardTooLong { len: 256 }));
    assert!(out.is_empty());
}

/// A capture whose datagram boundaries were lost (tcpdump + tshark) is read back message by
/// message, including the layouts that depend on the datagram's length.
#[test]
fn decode_prefix_splits_a_concatenation() {
    let stock = vectors::session_info();
    let mut assetto = session(&stock.value).clone();
    assetto.weather_encoding = StringWidth::Wide;
    assetto.weather_graphics = "3_clear".into();
    let assetto = Event::NewSession(assetto);

    let legacy_lap = {
        let mut l = lap(&vectors::lap_completed().value).clone();
        l.leaderboard.iter_mut().for_each(|e| e.has_completed = None);
        Event::LapCompleted(l)
    };
    let short_legacy_lap = {
        let mut l = lap(&legacy_lap).clone();
        l.leaderboard.truncate(3);
        Event::LapCompleted(l)
    };

    let mut events: Vec<Event> = Vec::new();
    events.push(assetto.clone());
    for v in vectors::events() {
        events.push(v.value);
        events.push(legacy_lap.clone());
        events.push(vectors::car_update().value);
        events.push(assetto.clone());
        events.push(short_legacy_lap.clone());
    }
    events.push(legacy_lap.clone());
    events.push(assetto.clone());

    let mut stream = Vec::new();
    let mut starts = Vec::new();
    for e in &events {
        starts.push(stream.len());
        acsp::encode_event(e, &mut stream).unwrap();
    }

    let mut pos = 0;
    let mut back = Vec::new();
    while pos < stream.len() {
        let d = acsp::decode_prefix(&stream[pos..], pos)
            .unwrap_or_else(|e| panic!("message {} at {pos}: {e}", back.len()));
        assert_eq!(pos, starts[back.len()], "message {} starts where it was written", back.len());
        assert_eq!(d.message, events[back.len()], "message {} at {pos}", back.len());
        assert_eq!(d.warnings, []);
        pos += d.len;
        back.push(d.message);
    }
    assert_eq!(back.len(), events.len());
    assert_eq!(back, events);

    // Errors in the middle of a stream carry the stream offset.
    let bad = [enc_event(&vectors::version().value), hex("99")].concat();
    assert_eq!(acsp::decode_prefix(&bad[2..], 2), Err(DecodeError::UnknownId { id: 0x99, offset: 2 }));
}

#[test]
fn unknown_ids_and_empty_input_are_errors() {
    for id in [0u8, 1, 49, 61, 72, 74, 129, 131, 199, 210, 255] {
        assert_eq!(acsp::decode(&[id, 0, 0]), Err(DecodeError::UnknownId { id, offset: 0 }));
        assert_eq!(acsp::decode_command(&[id, 0, 0]), Err(DecodeError::UnknownId { id, offset: 0 }));
        assert_eq!(acsp::decode_prefix(&[id], 7), Err(DecodeError::UnknownId { id, offset: 7 }));
    }
    // Events are not commands.
    assert_eq!(acsp::decode_command(&[56, 4]), Err(DecodeError::UnknownId { id: 56, offset: 0 }));
    assert_eq!(acsp::decode(&[]), Err(DecodeError::Empty));
    assert_eq!(acsp::decode_command(&[]), Err(DecodeError::Empty));
    assert_eq!(acsp::decode_prefix(&[], 0), Err(DecodeError::Empty));
    assert!(acsp::is_event_id(73) && acsp::is_event_id(130) && !acsp::is_event_id(61));
}
