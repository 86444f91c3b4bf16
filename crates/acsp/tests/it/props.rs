//! Properties over generated values and bytes: every message survives encode → decode, decoding
//! is stable under re-encoding, and no input makes a decoder panic or claim bytes it was not given.

use acsp::{
    CarInfo, CarUpdate, Chat, ClientLoaded, CollisionWithCar, CollisionWithEnv, Command, ConnectionInfo,
    DecodeError, EndSession, ErrorMessage, Event, LapCompleted, LeaderboardEntry, SessionInfo, SessionType,
    StringWidth, Vec3, Version, Warning,
};
use proptest::num::f32 as f32s;
use proptest::prelude::*;

/// Any finite float, including zeros and subnormals; NaN is left to the byte-level properties
/// (it is not equal to itself).
fn finite() -> impl Strategy<Value = f32> {
    f32s::POSITIVE | f32s::NEGATIVE | f32s::NORMAL | f32s::SUBNORMAL | f32s::ZERO
}

fn vec3() -> impl Strategy<Value = Vec3> {
    (finite(), finite(), finite()).prop_map(|(x, y, z)| Vec3 { x, y, z })
}

/// Up to 255 characters of any kind; a leading U+FEFF would be read back as a byte-order mark.
fn wide() -> impl Strategy<Value = String> {
    prop::collection::vec(any::<char>(), 0..=255)
        .prop_map(|cs| cs.into_iter().collect::<String>())
        .prop_filter("a leading U+FEFF is a byte-order mark", |s| !s.starts_with('\u{feff}'))
}

/// Up to 255 bytes of UTF-8 (cut back to a character boundary).
fn narrow() -> impl Strategy<Value = String> {
    prop::collection::vec(any::<char>(), 0..=255).prop_map(|cs| {
        let mut s = String::new();
        for c in cs {
            if s.len() + c.len_utf8() > 255 {
                break;
            }
            s.push(c);
        }
        s
    })
}

fn session_type() -> impl Strategy<Value = SessionType> {
    any::<u8>().prop_map(SessionType::from)
}

fn session_info() -> impl Strategy<Value = SessionInfo> {
    (
        any::<[u8; 4]>(),
        (wide(), narrow(), narrow(), narrow()),
        (session_type(), any::<[u16; 3]>(), any::<[u8; 2]>()),
        (narrow(), any::<bool>(), wide(), any::<i32>()),
    )
        .prop_map(|(b, (server_name, track, track_config, name), (session_type, t, temps), w)| {
            let (narrow_weather, is_wide, wide_weather, elapsed_ms) = w;
            // The empty string is the byte `00` in both widths, so it always reads back narrow.
            let (weather_graphics, weather_encoding) = if is_wide && !wide_weather.is_empty() {
                (wide_weather, StringWidth::Wide)
            } else {
                (narrow_weather, StringWidth::Narrow)
            };
            SessionInfo {
                protocol_version: b[0],
                session_index: b[1],
                current_session_index: b[2],
                session_count: b[3],
                server_name,
                track,
                track_config,
                name,
                session_type,
                time: t[0],
                laps: t[1],
                wait_time: t[2],
                ambient_temp: temps[0],
                road_temp: temps[1],
                weather_graphics,
                weather_encoding,
                elapsed_ms,
            }
        })
}

fn connection() -> impl Strategy<Value = ConnectionInfo> {
    (wide(), wide(), any::<u8>(), narrow(), narrow()).prop_map(
        |(driver_name, driver_guid, car_id, car_model, car_skin)| ConnectionInfo {
            driver_name,
            driver_guid,
            car_id,
            car_model,
            car_skin,
        },
    )
}

/// The flag is all present (AC ≥ 1.7) or all absent (7-byte entries): one datagram has one size.
fn lap_completed() -> impl Strategy<Value = LapCompleted> {
    let entries = (
        any::<bool>(),
        prop::collection::vec((any::<u8>(), any::<u32>(), any::<u16>(), any::<bool>()), 0..=255),
    )
        .prop_map(|(modern, es)| {
            es.into_iter()
                .map(|(car_id, time, laps, flag)| LeaderboardEntry {
                    car_id,
                    time,
                    laps,
                    has_completed: modern.then_some(flag),
                })
                .collect::<Vec<_>>()
        });
    (any::<u8>(), any::<u32>(), any::<u8>(), entries, finite()).prop_map(
        |(car_id, lap_time, cuts, leaderboard, grip_level)| LapCompleted {
            car_id,
            lap_time,
            cuts,
            // An empty leaderboard has no entry size; it reads back as the modern kind, which is
            // the same value.
            leaderboard,
            grip_level,
        },
    )
}

pub fn event() -> impl Strategy<Value = Event> {
    prop_oneof![
        session_info().prop_map(Event::NewSession),
        connection().prop_map(Event::NewConnection),
        connection().prop_map(Event::ConnectionClosed),
        (any::<u8>(), vec3(), vec3(), any::<u8>(), any::<u16>(), finite()).prop_map(
            |(car_id, position, velocity, gear, engine_rpm, normalized_spline_pos)| {
                Event::CarUpdate(CarUpdate {
                    car_id,
                    position,
                    velocity,
                    gear,
                    engine_rpm,
                    normalized_spline_pos,
                })
            }
        ),
        (any::<u8>(), any::<bool>(), wide(), wide(), wide(), wide(), wide()).prop_map(
            |(car_id, is_connected, car_model, car_skin, driver_name, driver_team, driver_guid)| {
                Event::CarInfo(CarInfo {
                    car_id,
                    is_connected,
                    car_model,
                    car_skin,
                    driver_name,
                    driver_team,
                    driver_guid,
                })
            }
        ),
        wide().prop_map(|filename| Event::EndSession(EndSession { filename })),
        any::<u8>().prop_map(|protocol_version| Event::Version(Version { protocol_version })),
        (any::<u8>(), wide()).prop_map(|(car_id, message)| Event::Chat(Chat { car_id, message })),
        any::<u8>().prop_map(|car_id| Event::ClientLoaded(ClientLoaded { car_id })),
        session_info().prop_map(Event::SessionInfo),
        wide().prop_map(|message| Event::Error(ErrorMessage { message })),
        lap_completed().prop_map(Event::LapCompleted),
        (any::<u8>(), any::<u8>(), finite(), vec3(), vec3()).prop_map(
            |(car_id, other_car_id, impact_speed, world_position, relative_position)| {
                Event::CollisionWithCar(CollisionWithCar {
                    car_id,
                    other_car_id,
                    impact_speed,
                    world_position,
                    relative_position,
                })
            }
        ),
        (any::<u8>(), finite(), vec3(), vec3()).prop_map(
            |(car_id, impact_speed, world_position, relative_position)| {
                Event::CollisionWithEnv(CollisionWithEnv {
                    car_id,
                    impact_speed,
                    world_position,
                    relative_position,
                })
            }
        ),
    ]
}

fn command() -> impl Strategy<Value = Command> {
    prop_oneof![
        any::<u16>().prop_map(|interval_ms| Command::RealtimeposInterval { interval_ms }),
        any::<u8>().prop_map(|car_id| Command::GetCarInfo { car_id }),
        (any::<u8>(), wide()).prop_map(|(car_id, message)| Command::SendChat { car_id, message }),
        wide().prop_map(|message| Command::BroadcastChat { message }),
        any::<i16>().prop_map(|session_index| Command::GetSessionInfo { session_index }),
        (any::<u8>(), wide(), session_type(), any::<[u32; 3]>()).prop_map(
            |(session_index, name, session_type, [laps, time, wait_time])| Command::SetSessionInfo {
                session_index,
                name,
                session_type,
                laps,
                time,
                wait_time,
            }
        ),
        any::<u8>().prop_map(|car_id| Command::KickUser { car_id }),
        Just(Command::NextSession),
        Just(Command::RestartSession),
        wide().prop_map(|command| Command::AdminCommand { command }),
    ]
}

/// Mostly inputs that start with a real id (so the decoders get past the first byte), some
/// entirely random, some a valid message with its tail damaged.
fn datagram() -> impl Strategy<Value = Vec<u8>> {
    let ids: Vec<u8> = (50..=60).chain([73, 130]).chain(200..=209).collect();
    prop_oneof![
        3 => (prop::sample::select(ids), prop::collection::vec(any::<u8>(), 0..600)).prop_map(|(id, mut rest)| {
            rest.insert(0, id);
            rest
        }),
        1 => prop::collection::vec(any::<u8>(), 0..600),
        2 => (event(), any::<prop::sample::Index>(), prop::collection::vec(any::<u8>(), 0..8)).prop_map(
            |(e, at, noise)| {
                let mut out = Vec::new();
                acsp::encode_event(&e, &mut out).unwrap();
                let i = at.index(out.len());
                out.truncate(i.max(1));
                out.extend(noise);
                out
            }
        ),
    ]
}

fn check_decode_error(e: &DecodeError, input_len: usize, base: usize) -> Result<(), TestCaseError> {
    match *e {
        DecodeError::Empty => prop_assert_eq!(input_len, 0),
        DecodeError::UnknownId { offset, .. } => prop_assert_eq!(offset, base),
        DecodeError::Truncated { offset, expected, actual, len, .. } => {
            prop_assert_eq!(len, input_len);
            prop_assert!(offset > base && offset <= base + len);
            prop_assert_eq!(actual, base + len - offset);
            prop_assert!(expected > actual);
        }
        DecodeError::UnknownClientEvent { offset, .. } => prop_assert_eq!(offset, base + 1),
    }
    Ok(())
}

fn reencode(event: &Event) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    match acsp::encode_event(event, &mut out) {
        Ok(()) => Some(out),
        Err(acsp::EncodeError::StringTooLong { unit: "bytes", .. }) => {
            // A narrow string decoded from bytes that are not UTF-8 holds a 3-byte U+FFFD for
            // each bad byte, so it can outgrow its length byte. That is the price of lenient
            // decoding; wide strings never grow (one unit gives at most one character).
            None
        }
        Err(e) => panic!("a decoded event must encode: {e} ({event:?})"),
    }
}

/// UTF-32 units that the wide-string decoder treats specially, mixed with ordinary ones.
fn awkward_units() -> impl Strategy<Value = Vec<u32>> {
    let unit = prop_oneof![
        2 => Just(0xFEFF_u32),
        2 => 0xD800_u32..0xDC00,
        2 => 0xDC00_u32..0xE000,
        1 => 0x11_0000_u32..,
        1 => Just(0xFFFD_u32),
        3 => any::<char>().prop_map(u32::from),
    ];
    prop::collection::vec(unit, 0..=12)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Byte-order marks, surrogate halves and invalid code points in any order and number: the
    /// decoded text never starts with U+FEFF, never has more characters than units, and decodes
    /// to itself after re-encoding (the fuzzer rarely builds such inputs on its own).
    #[test]
    fn wide_string_decoding_is_stable(units in awkward_units()) {
        let mut bytes = vec![acsp::id::CHAT, 0, units.len() as u8];
        for u in &units {
            bytes.extend_from_slice(&u.to_le_bytes());
        }
        let Event::Chat(first) = acsp::decode(&bytes).unwrap() else { unreachable!() };
        let bom = char::from_u32(0xFEFF).unwrap();
        prop_assert!(!first.message.starts_with(bom));
        prop_assert!(first.message.chars().count() <= units.len());
        let mut encoded = Vec::new();
        acsp::encode_event(&Event::Chat(first.clone()), &mut encoded).unwrap();
        let again = acsp::decode_datagram(&encoded).unwrap();
        prop_assert_eq!(again.message, Event::Chat(first));
        prop_assert_eq!(again.warnings, vec![]);
    }

    #[test]
    fn every_event_round_trips(e in event()) {
        let mut bytes = Vec::new();
        acsp::encode_event(&e, &mut bytes).unwrap();
        let d = acsp::decode_datagram(&bytes).unwrap();
        prop_assert_eq!(&d.message, &e);
        prop_assert_eq!(d.len, bytes.len());
        prop_assert_eq!(d.warnings, vec![]);
        let mut again = Vec::new();
        acsp::encode_event(&d.message, &mut again).unwrap();
        prop_assert_eq!(again, bytes);
    }

    #[test]
    fn every_command_round_trips(c in command()) {
        let mut bytes = Vec::new();
        acsp::encode(&c, &mut bytes).unwrap();
        let d = acsp::decode_command_datagram(&bytes).unwrap();
        prop_assert_eq!(&d.message, &c);
        prop_assert_eq!(d.len, bytes.len());
        prop_assert_eq!(d.warnings, vec![]);
        let mut again = Vec::new();
        acsp::encode(&d.message, &mut again).unwrap();
        prop_assert_eq!(again, bytes);
    }

    #[test]
    fn decoders_never_panic_and_stay_within_the_input(bytes in datagram(), base in 0usize..1_000_000) {
        match acsp::decode_datagram(&bytes) {
            Ok(d) => {
                prop_assert!(d.len <= bytes.len());
                // Every warning about a field points inside the message, and text reported as
                // invalid holds the replacement characters it counts.
                let json = serde_json::to_string(&d.message).unwrap();
                for w in &d.warnings {
                    match *w {
                        Warning::InvalidText { offset, replaced, .. } => {
                            prop_assert!(offset < d.len && replaced >= 1, "{}", w);
                            prop_assert!(json.matches('\u{fffd}').count() >= replaced, "{}", w);
                        }
                        Warning::ByteOrderMark { offset, .. } => prop_assert!(offset < d.len, "{}", w),
                        Warning::TrailingBytes { .. } | Warning::MissingSessionIndex => {}
                    }
                }
                // Whatever decodes re-encodes, and that encoding is a fixed point: decoding it
                // gives an event that encodes to the same bytes (bytes, because of NaN).
                if let Some(first) = reencode(&d.message) {
                    let again = acsp::decode_datagram(&first).unwrap();
                    prop_assert_eq!(again.len, first.len());
                    prop_assert_eq!(reencode(&again.message), Some(first));
                }
            }
            Err(e) => check_decode_error(&e, bytes.len(), 0)?,
        }
        match acsp::decode_prefix(&bytes, base) {
            Ok(d) => prop_assert!(d.len <= bytes.len()),
            Err(e) => check_decode_error(&e, bytes.len(), base)?,
        }
        match acsp::decode_command_datagram(&bytes) {
            Ok(d) => {
                prop_assert!(d.len <= bytes.len());
                let mut first = Vec::new();
                acsp::encode(&d.message, &mut first).unwrap();
                let again = acsp::decode_command(&first).unwrap();
                let mut second = Vec::new();
                acsp::encode(&again, &mut second).unwrap();
                prop_assert_eq!(second, first);
            }
            Err(e) => check_decode_error(&e, bytes.len(), 0)?,
        }
    }
}
