//! One byte-exact vector per message, written by hand from the tables in `docs/acsp.md`
//! (its events and commands), each checked both ways: `decode(bytes) == value` with no
//! warnings and every byte consumed, and `encode(value) == bytes`.

use acsp::{
    CarInfo, CarUpdate, Chat, ClientLoaded, CollisionWithCar, CollisionWithEnv, Command, ConnectionInfo,
    EndSession, ErrorMessage, Event, LapCompleted, LeaderboardEntry, NO_TIME, SessionInfo, SessionType,
    StringWidth, Vec3, Version,
};

use crate::support::{Vector, hex, narrow, wide};

pub const SERVER_NAME: &str = "ACRL Sunday Cup #3";

pub fn version() -> Vector<Event> {
    Vector { name: "version", value: Event::Version(Version { protocol_version: 4 }), bytes: hex("38 | 04") }
}

/// A race in its pre-start wait, as in the real capture: wait 40000 ms, elapsed −40000.
pub fn new_session() -> Vector<Event> {
    Vector {
        name: "new_session",
        value: Event::NewSession(SessionInfo {
            protocol_version: 4,
            session_index: 2,
            current_session_index: 2,
            session_count: 3,
            server_name: SERVER_NAME.into(),
            track: "ks_red_bull_ring".into(),
            track_config: String::new(),
            name: "Race".into(),
            session_type: SessionType::Race,
            time: 0,
            laps: 25,
            wait_time: 40_000,
            ambient_temp: 24,
            road_temp: 30,
            weather_graphics: "3_clear".into(),
            weather_encoding: StringWidth::Narrow,
            elapsed_ms: -40_000,
        }),
        bytes: [
            hex("32 | 04 | 02 | 02 | 03"),
            hex("12 41 00 00 00 43 00 00 00 52 00 00 00 4c 00 00 00 20 00 00 00 53 00 00 00"),
            hex("75 00 00 00 6e 00 00 00 64 00 00 00 61 00 00 00 79 00 00 00 20 00 00 00"),
            hex("43 00 00 00 75 00 00 00 70 00 00 00 20 00 00 00 23 00 00 00 33 00 00 00"),
            hex("10 6b 73 5f 72 65 64 5f 62 75 6c 6c 5f 72 69 6e 67"), // ks_red_bull_ring
            hex("00"),                                                 // track_config ""
            hex("04 52 61 63 65"),                                     // Race
            hex("03 | 00 00 | 19 00 | 40 9c | 18 | 1e"), // race, 0 min, 25 laps, 40000, 24/30 °C
            hex("07 33 5f 63 6c 65 61 72"),              // 3_clear
            hex("c0 63 ff ff"),                          // −40000
        ]
        .concat(),
    }
}

/// The answer to GET_SESSION_INFO: qualifying, 30 minutes, running for 20 min 34.567 s.
pub fn session_info() -> Vector<Event> {
    Vector {
        name: "session_info",
        value: Event::SessionInfo(SessionInfo {
            protocol_version: 4,
            session_index: 1,
            current_session_index: 1,
            session_count: 3,
            server_name: SERVER_NAME.into(),
            track: "ks_red_bull_ring".into(),
            track_config: "layout_gp".into(),
            name: "Qualify".into(),
            session_type: SessionType::Qualify,
            time: 30,
            laps: 0,
            wait_time: 0,
            ambient_temp: 25,
            road_temp: 31,
            weather_graphics: "4_mid_clear".into(),
            weather_encoding: StringWidth::Narrow,
            elapsed_ms: 1_234_567,
        }),
        bytes: [
            hex("3b 04 01 01 03"),
            wide(SERVER_NAME),
            narrow("ks_red_bull_ring"),
            narrow("layout_gp"),
            narrow("Qualify"),
            hex("02 | 1e 00 | 00 00 | 00 00 | 19 | 1f"),
            narrow("4_mid_clear"),
            hex("87 d6 12 00"),
        ]
        .concat(),
    }
}

pub fn new_connection() -> Vector<Event> {
    Vector {
        name: "new_connection",
        value: Event::NewConnection(ConnectionInfo {
            driver_name: "Jean-Éric Bernard".into(),
            driver_guid: "76561198000000001".into(),
            car_id: 5,
            car_model: "rss_formula_hybrid_2021".into(),
            car_skin: "00_official".into(),
        }),
        bytes: [
            hex("33"),
            wide("Jean-Éric Bernard"),
            wide("76561198000000001"),
            hex("05"),
            narrow("rss_formula_hybrid_2021"),
            narrow("00_official"),
        ]
        .concat(),
    }
}

/// GUID `0`, as one driver had in the capture.
pub fn connection_closed() -> Vector<Event> {
    Vector {
        name: "connection_closed",
        value: Event::ConnectionClosed(ConnectionInfo {
            driver_name: "Kimi Virtanen".into(),
            driver_guid: "0".into(),
            car_id: 12,
            car_model: "ks_ferrari_sf15t".into(),
            car_skin: "scuderia_ferrari".into(),
        }),
        bytes: [
            hex("34"),
            wide("Kimi Virtanen"),
            hex("01 30 00 00 00"),
            hex("0c"),
            narrow("ks_ferrari_sf15t"),
            narrow("scuderia_ferrari"),
        ]
        .concat(),
    }
}

/// 33 bytes, every field at its offset in docs/acsp.md (CAR_UPDATE).
pub fn car_update() -> Vector<Event> {
    Vector {
        name: "car_update",
        value: Event::CarUpdate(CarUpdate {
            car_id: 5,
            position: Vec3::new(123.5, 4.25, -310.75),
            velocity: Vec3::new(55.0, 0.0, -12.5),
            gear: 4,
            engine_rpm: 11_250,
            normalized_spline_pos: 0.25,
        }),
        bytes: hex(
            "35 | 05 | 00 00 f7 42  00 00 88 40  00 60 9b c3 | 00 00 5c 42  00 00 00 00  00 00 48 c1 \
             | 04 | f2 2b | 00 00 80 3e",
        ),
    }
}

/// All five strings wide, unlike NEW_CONNECTION's narrow model and skin.
pub fn car_info() -> Vector<Event> {
    Vector {
        name: "car_info",
        value: Event::CarInfo(CarInfo {
            car_id: 5,
            is_connected: true,
            car_model: "rss_formula_hybrid_2021".into(),
            car_skin: "00_official".into(),
            driver_name: "Jean-Éric Bernard".into(),
            driver_team: "Scuderia Pitwall".into(),
            driver_guid: "76561198000000001".into(),
        }),
        bytes: [
            hex("36 | 05 | 01"),
            wide("rss_formula_hybrid_2021"),
            wide("00_official"),
            wide("Jean-Éric Bernard"),
            wide("Scuderia Pitwall"),
            wide("76561198000000001"),
        ]
        .concat(),
    }
}

pub fn end_session() -> Vector<Event> {
    Vector {
        name: "end_session",
        value: Event::EndSession(EndSession { filename: "results/2016_7_24_22_52_QUALIFY.json".into() }),
        bytes: [hex("37"), wide("results/2016_7_24_22_52_QUALIFY.json")].concat(),
    }
}

/// "gg è": the "è" arrives as the single unit `e8 00 00 00`, as measured.
pub fn chat() -> Vector<Event> {
    Vector {
        name: "chat",
        value: Event::Chat(Chat { car_id: 0, message: "gg è".into() }),
        bytes: hex("39 | 00 | 04 67 00 00 00 67 00 00 00 20 00 00 00 e8 00 00 00"),
    }
}

pub fn client_loaded() -> Vector<Event> {
    Vector {
        name: "client_loaded",
        value: Event::ClientLoaded(ClientLoaded { car_id: 5 }),
        bytes: hex("3a | 05"),
    }
}

pub fn error() -> Vector<Event> {
    Vector {
        name: "error",
        value: Event::Error(ErrorMessage { message: "KICK_USER: car id 40 out of range".into() }),
        bytes: [hex("3c"), wide("KICK_USER: car id 40 out of range")].concat(),
    }
}

/// Car 5 completes lap 1 in 1:20.902 on a 24-slot grid; three cars have times, the other 21 slots
/// carry 999999999 and 0 laps. 12 + 8 × 24 = 204 bytes.
pub fn lap_completed() -> Vector<Event> {
    let timed = [(5u8, 80_902u32), (12, 81_337), (3, 82_110)];
    let untimed = (0u8..24).filter(|c| !timed.iter().any(|t| t.0 == *c));
    let mut leaderboard: Vec<LeaderboardEntry> = timed
        .iter()
        .map(|&(car_id, time)| LeaderboardEntry { car_id, time, laps: 1, has_completed: Some(false) })
        .collect();
    leaderboard.extend(untimed.clone().map(|car_id| LeaderboardEntry {
        car_id,
        time: NO_TIME,
        laps: 0,
        has_completed: Some(false),
    }));
    let mut board = hex("05 06 3c 01 00 01 00 00 | 0c b9 3d 01 00 01 00 00 | 03 be 40 01 00 01 00 00");
    for car in untimed {
        board.extend(hex(&format!("{car:02x} ff c9 9a 3b 00 00 00")));
    }
    Vector {
        name: "lap_completed",
        value: Event::LapCompleted(LapCompleted {
            car_id: 5,
            lap_time: 80_902,
            cuts: 0,
            leaderboard,
            grip_level: 0.98,
        }),
        bytes: [hex("49 | 05 | 06 3c 01 00 | 00 | 18"), board, hex("48 e1 7a 3f")].concat(),
    }
}

pub fn collision_with_car() -> Vector<Event> {
    Vector {
        name: "collision_with_car",
        value: Event::CollisionWithCar(CollisionWithCar {
            car_id: 5,
            other_car_id: 12,
            impact_speed: 17.125,
            world_position: Vec3::new(230.5, 2.5, -85.0),
            relative_position: Vec3::new(0.5, 0.0, 2.0),
        }),
        bytes: hex("82 | 0a | 05 | 0c | 00 00 89 41 | 00 80 66 43  00 00 20 40  00 00 aa c2 \
             | 00 00 00 3f  00 00 00 00  00 00 00 40"),
    }
}

/// No other-car byte: subtype 11 is one byte shorter than subtype 10.
pub fn collision_with_env() -> Vector<Event> {
    Vector {
        name: "collision_with_env",
        value: Event::CollisionWithEnv(CollisionWithEnv {
            car_id: 7,
            impact_speed: 14.75,
            world_position: Vec3::new(-310.75, 4.25, 123.5),
            relative_position: Vec3::new(-0.75, -0.5, 1.0),
        }),
        bytes: hex("82 | 0b | 07 | 00 00 6c 41 | 00 60 9b c3  00 00 88 40  00 00 f7 42 \
             | 00 00 40 bf  00 00 00 bf  00 00 80 3f"),
    }
}

/// Every event vector, in id order.
pub fn events() -> Vec<Vector<Event>> {
    vec![
        new_session(),
        new_connection(),
        connection_closed(),
        car_update(),
        car_info(),
        end_session(),
        version(),
        chat(),
        client_loaded(),
        session_info(),
        error(),
        lap_completed(),
        collision_with_car(),
        collision_with_env(),
    ]
}

fn cmd(name: &'static str, value: Command, bytes: Vec<u8>) -> Vector<Command> {
    Vector { name, value, bytes }
}

/// Every command vector, in id order. The ones with literal hex are docs/acsp.md's byte-exact examples.
pub fn commands() -> Vec<Vector<Command>> {
    vec![
        cmd("realtimepos_interval", Command::RealtimeposInterval { interval_ms: 250 }, hex("c8 fa 00")),
        cmd("get_car_info", Command::GetCarInfo { car_id: 5 }, hex("c9 05")),
        cmd(
            "send_chat",
            Command::SendChat { car_id: 5, message: "Blue flag: let car 12 by".into() },
            [hex("ca 05"), wide("Blue flag: let car 12 by")].concat(),
        ),
        cmd(
            "broadcast_chat",
            Command::BroadcastChat { message: "hi".into() },
            hex("cb 02 68 00 00 00 69 00 00 00"),
        ),
        cmd("get_session_info", Command::GetSessionInfo { session_index: -1 }, hex("cc ff ff")),
        cmd(
            "set_session_info",
            Command::SetSessionInfo {
                session_index: 1,
                name: "Qualify".into(),
                session_type: SessionType::Qualify,
                laps: 0,
                time: 1800,
                wait_time: 60,
            },
            // Field order laps → time → wait, all u32, time and wait in seconds.
            [hex("cd 01"), wide("Qualify"), hex("02 | 00 00 00 00 | 08 07 00 00 | 3c 00 00 00")].concat(),
        ),
        cmd("kick_user", Command::KickUser { car_id: 7 }, hex("ce 07")),
        cmd("next_session", Command::NextSession, hex("cf")),
        cmd("restart_session", Command::RestartSession, hex("d0")),
        cmd(
            "admin_command",
            Command::AdminCommand { command: "/ballast 3 50".into() },
            [hex("d1"), wide("/ballast 3 50")].concat(),
        ),
    ]
}

fn command_named(name: &str) -> Vector<Command> {
    commands().into_iter().find(|v| v.name == name).unwrap()
}

fn check_event(v: Vector<Event>) {
    let decoded = acsp::decode_datagram(&v.bytes).unwrap_or_else(|e| panic!("{}: {e}", v.name));
    assert_eq!(decoded.message, v.value, "{}: decode", v.name);
    assert_eq!(decoded.len, v.bytes.len(), "{}: every byte is a field", v.name);
    assert_eq!(decoded.warnings, [], "{}: a clean vector has no warnings", v.name);
    assert_eq!(v.value.name(), v.name);
    assert_eq!(v.value.id(), v.bytes[0]);

    let mut out = vec![0xaa];
    acsp::encode_event(&v.value, &mut out).unwrap();
    assert_eq!(out[0], 0xaa, "{}: encode appends", v.name);
    assert_eq!(out[1..], v.bytes[..], "{}: encode", v.name);

    // A concatenation reader finds the same message at the same place.
    let prefixed = acsp::decode_prefix(&v.bytes, 0).unwrap();
    assert_eq!(prefixed.message, v.value, "{}: decode_prefix", v.name);
    assert_eq!(prefixed.len, v.bytes.len());
}

fn check_command(v: Vector<Command>) {
    let decoded = acsp::decode_command_datagram(&v.bytes).unwrap_or_else(|e| panic!("{}: {e}", v.name));
    assert_eq!(decoded.message, v.value, "{}: decode", v.name);
    assert_eq!(decoded.len, v.bytes.len(), "{}: every byte is a field", v.name);
    assert_eq!(decoded.warnings, [], "{}: a clean vector has no warnings", v.name);
    assert_eq!(v.value.name(), v.name);
    assert_eq!(v.value.id(), v.bytes[0]);

    let mut out = vec![0xaa];
    acsp::encode(&v.value, &mut out).unwrap();
    assert_eq!(out[1..], v.bytes[..], "{}: encode", v.name);
    // Commands are not events, and events are not commands.
    assert!(matches!(acsp::decode(&v.bytes), Err(acsp::DecodeError::UnknownId { .. })));
}

macro_rules! event_tests {
    ($($test:ident => $vector:ident,)*) => {
        $(#[test] fn $test() { check_event($vector()); })*
    };
}

macro_rules! command_tests {
    ($($test:ident => $name:literal,)*) => {
        $(#[test] fn $test() { check_command(command_named($name)); })*
    };
}

event_tests! {
    event_50_new_session_both_ways => new_session,
    event_51_new_connection_both_ways => new_connection,
    event_52_connection_closed_both_ways => connection_closed,
    event_53_car_update_both_ways => car_update,
    event_54_car_info_both_ways => car_info,
    event_55_end_session_both_ways => end_session,
    event_56_version_both_ways => version,
    event_57_chat_both_ways => chat,
    event_58_client_loaded_both_ways => client_loaded,
    event_59_session_info_both_ways => session_info,
    event_60_error_both_ways => error,
    event_73_lap_completed_both_ways => lap_completed,
    event_130_10_collision_with_car_both_ways => collision_with_car,
    event_130_11_collision_with_env_both_ways => collision_with_env,
}

command_tests! {
    command_200_realtimepos_interval_both_ways => "realtimepos_interval",
    command_201_get_car_info_both_ways => "get_car_info",
    command_202_send_chat_both_ways => "send_chat",
    command_203_broadcast_chat_both_ways => "broadcast_chat",
    command_204_get_session_info_both_ways => "get_session_info",
    command_205_set_session_info_both_ways => "set_session_info",
    command_206_kick_user_both_ways => "kick_user",
    command_207_next_session_both_ways => "next_session",
    command_208_restart_session_both_ways => "restart_session",
    command_209_admin_command_both_ways => "admin_command",
}

/// The vector lists are what the other tests iterate over: they must hold every message kind.
#[test]
fn vectors_cover_every_message_kind() {
    let names: Vec<&str> = events().iter().map(|v| v.name).collect();
    assert_eq!(names, acsp::EVENT_NAMES);
    let ids: Vec<u8> = commands().iter().map(|v| v.bytes[0]).collect();
    assert_eq!(ids, (200..=209).collect::<Vec<u8>>());
    // Sizes stated by docs/acsp.md.
    assert_eq!(car_update().bytes.len(), 33);
    assert_eq!(lap_completed().bytes.len(), 12 + 8 * 24);
    assert_eq!(collision_with_car().bytes.len(), 32);
    assert_eq!(collision_with_env().bytes.len(), 31);
    assert_eq!(version().bytes.len(), 2);
}
