//! Values no honest server sends, as a hostile or broken sender could: invalid UTF-32 in every
//! wide string, length prefixes and counts far beyond the datagram, NaN and infinite floats,
//! enum codes out of range, car ids beyond any grid. Each one either decodes (the odd value kept
//! as it is, bad text replaced and reported with its offset) or is an error naming the field and
//! the offset; none panics, and none makes the decoder read or allocate beyond the datagram.

use acsp::{CarUpdate, DecodeError, Event, SessionType, Warning};

use crate::support::{hex, narrow, wide};
use crate::vectors;

/// UTF-32LE units, with a length byte, written as given (not necessarily characters).
pub fn units(units: &[u32]) -> Vec<u8> {
    let mut out = vec![u8::try_from(units.len()).unwrap()];
    for u in units {
        out.extend_from_slice(&u.to_le_bytes());
    }
    out
}

/// NEW_CONNECTION whose driver name holds a lone high surrogate and a code point above
/// U+10FFFF, whose GUID is all ones, for car 64 (beyond a full grid), with a narrow model that is
/// not UTF-8.
pub fn new_connection_with_bad_text() -> Vec<u8> {
    [
        hex("33"),
        units(&[u32::from('N'), 0xD800, u32::from('i'), 0x0011_0000]), // offset 1
        units(&[0xFFFF_FFFF]),                                         // offset 18
        hex("40"),                                                     // car id 64, offset 23
        hex("03 66 80 6f"),                                            // model "f\x80o", offset 24
        narrow("skin"),
    ]
    .concat()
}

/// CAR_UPDATE for car 255 with NaN, infinities and the most negative float where positions and
/// speeds go, gear 255 and rpm 65535.
pub fn car_update_with_non_finite_floats() -> Vec<u8> {
    let mut bytes = vec![53, 255];
    for f in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, -f32::MAX, f32::MIN_POSITIVE, -0.0] {
        bytes.extend_from_slice(&f.to_le_bytes());
    }
    bytes.extend_from_slice(&[255, 0xff, 0xff]);
    bytes.extend_from_slice(&f32::INFINITY.to_le_bytes());
    bytes
}

#[test]
fn invalid_utf32_in_names_is_replaced_and_reported_per_field() {
    let bytes = new_connection_with_bad_text();
    let d = acsp::decode_datagram(&bytes).unwrap();
    let Event::NewConnection(c) = &d.message else { panic!("{:?}", d.message) };
    assert_eq!(c.driver_name, "N\u{fffd}i\u{fffd}");
    assert_eq!(c.driver_guid, "\u{fffd}");
    assert_eq!(c.car_id, 64, "a car id beyond a full grid is kept, not refused");
    assert_eq!(c.car_model, "f\u{fffd}o");
    assert_eq!(c.car_skin, "skin");
    assert_eq!(
        d.warnings,
        [
            // The lone surrogate is the second unit: 1 (id) + 1 (length) + 4.
            Warning::InvalidText { field: "driver_name", offset: 6, replaced: 2 },
            Warning::InvalidText { field: "driver_guid", offset: 19, replaced: 1 },
            Warning::InvalidText { field: "car_model", offset: 26, replaced: 1 },
        ]
    );
    assert_eq!(bytes[6..10], 0xD800u32.to_le_bytes());
    assert_eq!(bytes[26], 0x80);
    for w in &d.warnings {
        assert!(w.to_string().contains("offset"), "{w}");
    }
}

/// Every wide string of every event gets the same treatment: a unit that is no character
/// becomes U+FFFD and is reported at its offset, whichever field it is in.
#[test]
fn every_wide_string_field_reports_invalid_units() {
    let bad = units(&[0xDFFF, u32::from('x'), 0x7FFF_FFFF]);
    let cases: [(Vec<u8>, &str, usize); 6] = [
        ([hex("39 07"), bad.clone()].concat(), "message", 3),
        ([hex("3c"), bad.clone()].concat(), "message", 2),
        ([hex("37"), bad.clone()].concat(), "filename", 2),
        ([hex("36 05 01"), bad.clone(), wide(""), wide(""), wide(""), wide("")].concat(), "car_model", 4),
        ([hex("36 05 01"), wide("m"), wide(""), wide(""), bad.clone(), wide("")].concat(), "driver_team", 11),
        (
            [hex("32 04 00 00 01"), bad.clone(), narrow("t"), narrow(""), narrow("R"), hex("03")].concat(),
            "server_name",
            6,
        ),
    ];
    for (mut bytes, field, offset) in cases {
        if bytes[0] == 0x32 {
            // The rest of a NEW_SESSION: time, laps, wait, temperatures, weather, elapsed.
            bytes.extend_from_slice(&hex("00 00 05 00 00 00 14 19 00 00 00 00 00"));
        }
        let d = acsp::decode_datagram(&bytes).unwrap_or_else(|e| panic!("{field}: {e}"));
        assert_eq!(d.warnings, [Warning::InvalidText { field, offset, replaced: 2 }], "{field}");
        let json = serde_json::to_string(&d.message).unwrap();
        assert!(json.contains("\u{fffd}x\u{fffd}"), "{field}: {json}");
    }
}

/// NaN and infinities are values, decoded and re-encoded bit for bit; they are not damage.
#[test]
fn non_finite_floats_decode_bit_for_bit() {
    let bytes = car_update_with_non_finite_floats();
    assert_eq!(bytes.len(), 33);
    let d = acsp::decode_datagram(&bytes).unwrap();
    assert_eq!(d.warnings, []);
    let Event::CarUpdate(CarUpdate { car_id, position, velocity, gear, engine_rpm, normalized_spline_pos }) =
        d.message.clone()
    else {
        panic!("{:?}", d.message)
    };
    assert_eq!((car_id, gear, engine_rpm), (255, 255, 65535));
    assert!(position.x.is_nan());
    assert_eq!((position.y, position.z), (f32::INFINITY, f32::NEG_INFINITY));
    assert_eq!((velocity.x, velocity.y), (-f32::MAX, f32::MIN_POSITIVE));
    assert!(velocity.z == 0.0 && velocity.z.is_sign_negative());
    assert_eq!(normalized_spline_pos, f32::INFINITY);
    let mut again = Vec::new();
    acsp::encode_event(&d.message, &mut again).unwrap();
    assert_eq!(again, bytes, "bit for bit, NaN payload and -0.0 included");
    // JSON has no NaN or infinity: they are written as null, and the document stays valid.
    let json: serde_json::Value = serde_json::to_value(&d.message).unwrap();
    assert!(json["position"]["x"].is_null() && json["position"]["y"].is_null());
    assert_eq!(json["car_id"], 255);
    // NaN in the other float fields: lap grip, collision speeds.
    let mut lap = vectors::lap_completed().bytes;
    let at = lap.len() - 4;
    lap[at..].copy_from_slice(&f32::NAN.to_le_bytes());
    let Event::LapCompleted(l) = acsp::decode(&lap).unwrap() else { panic!() };
    assert!(l.grip_level.is_nan());
    let mut hit = vectors::collision_with_car().bytes;
    hit[4..8].copy_from_slice(&f32::NEG_INFINITY.to_le_bytes());
    let Event::CollisionWithCar(c) = acsp::decode(&hit).unwrap() else { panic!() };
    assert_eq!(c.impact_speed, f32::NEG_INFINITY);
}

/// Enum codes out of range are kept as unknown values (session type) or refused with the
/// offset (client event subtype, whose layout depends on it); "negative" bytes are just bytes.
#[test]
fn out_of_range_enums() {
    let mut session = vectors::new_session().bytes;
    // The session type follows the three narrow strings after the wide server name.
    let Event::NewSession(s) = acsp::decode(&session).unwrap() else { panic!() };
    let at =
        5 + 1 + 4 * s.server_name.chars().count() + 3 + s.track.len() + s.track_config.len() + s.name.len();
    assert_eq!(session[at], s.session_type.to_u8());
    for code in [6u8, 99, 0x80, 0xff] {
        session[at] = code;
        let Event::NewSession(s) = acsp::decode(&session).unwrap() else { panic!() };
        assert_eq!(s.session_type, SessionType::Unknown(code));
        assert_eq!(s.session_type.to_u8(), code, "re-encodes as it came");
    }
    // An "other car" id in a collision with a car, beyond any grid.
    let mut hit = vectors::collision_with_car().bytes;
    hit[2] = 200;
    hit[3] = 255;
    let Event::CollisionWithCar(c) = acsp::decode(&hit).unwrap() else { panic!() };
    assert_eq!((c.car_id, c.other_car_id), (200, 255));
    // A client event subtype out of range: refused at its offset.
    hit[1] = 0xff;
    assert_eq!(acsp::decode(&hit), Err(DecodeError::UnknownClientEvent { subtype: 0xff, offset: 1 }));
    // Negative session index on the command side is the protocol's -1; others are kept too.
    assert_eq!(
        acsp::decode_command(&hex("cc 00 80")).unwrap(),
        acsp::Command::GetSessionInfo { session_index: i16::MIN }
    );
}

/// Length prefixes and counts that promise more than the datagram holds are truncation errors
/// naming the field and its offset, found before any allocation of that size.
#[test]
fn huge_length_prefixes_and_counts_are_errors_with_the_offset() {
    // A wide string of 255 units (1020 bytes) in a 7-byte chat.
    let err = acsp::decode(&hex("39 01 ff 41 00 00 00")).unwrap_err();
    assert_eq!(
        err,
        DecodeError::Truncated {
            id: 57,
            name: "chat",
            field: "message",
            offset: 3,
            expected: 1020,
            actual: 4,
            len: 7
        }
    );
    // A narrow string of 255 bytes with 2 present.
    let bytes = [hex("33"), wide("a"), wide("1"), hex("00 ff 6b 73")].concat();
    assert!(matches!(
        acsp::decode(&bytes),
        Err(DecodeError::Truncated { field: "car_model", expected: 255, actual: 2, .. })
    ));
    // A leaderboard of 255 entries with one present: refused before reading (or reserving) any.
    let bytes = hex("49 03 10 3b 01 00 00 ff | 03 10 3b 01 00 01 00 01 | 00 00 80 3f");
    let err = acsp::decode(&bytes).unwrap_err();
    assert!(
        matches!(
            err,
            DecodeError::Truncated { field: "leaderboard", offset: 8, expected: 2044, actual: 12, .. }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("offset 8"), "{err}");
    // Every length byte of a datagram set to 0xff: each is an error, never a panic.
    for v in vectors::events() {
        for at in 1..v.bytes.len() {
            let mut bytes = v.bytes.clone();
            bytes[at] = 0xff;
            if let Err(e) = acsp::decode(&bytes) {
                let offset = match e {
                    DecodeError::Truncated { offset, len, .. } => {
                        assert_eq!(len, bytes.len());
                        offset
                    }
                    DecodeError::UnknownClientEvent { offset, .. } => offset,
                    other => panic!("{}: byte {at}: {other:?}", v.name),
                };
                assert!(offset <= bytes.len(), "{}: byte {at}: {e}", v.name);
            }
        }
    }
}
