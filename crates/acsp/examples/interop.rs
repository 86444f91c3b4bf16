//! The Rust half of the interoperability check against acudpclient 1.1.0, an independent Python
//! implementation of ACSP (`scripts/interop/acsp_acudpclient.sh` drives it).
//!
//! - `interop events`: encodes a varied, realistic set of server → plugin events with our encoder
//!   and prints one JSON line per event: `{"label", "hex", "event"}`, where `event` is the serde
//!   form of [`acsp::Event`]. Every event is decoded back first, so the line is also a round trip.
//! - `interop commands`: reads plugin → server datagrams as hex, one per line, on stdin, and prints
//!   one JSON line per datagram: `{"command", "warnings", "reencoded"}` or `{"error"}`.
//! - `interop vectors`: prints our encoding of the byte-exact command vectors of docs/acsp.md.
//!
//! Only the public API of the `acsp` crate is used.

use std::error::Error;
use std::io::{BufRead, Write};

use acsp::{
    CarInfo, CarUpdate, Chat, ClientLoaded, CollisionWithCar, CollisionWithEnv, Command, ConnectionInfo,
    EndSession, ErrorMessage, Event, LapCompleted, LeaderboardEntry, NO_TIME, SessionInfo, SessionType,
    StringWidth, Vec3, Version,
};
use serde_json::json;

type Result<T> = std::result::Result<T, Box<dyn Error>>;

fn main() -> Result<()> {
    let mode = std::env::args().nth(1).unwrap_or_default();
    match mode.as_str() {
        "events" => events(),
        "commands" => commands(),
        "vectors" => vectors(),
        _ => Err("usage: interop events | interop commands (hex lines on stdin) | interop vectors".into()),
    }
}

fn to_hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn from_hex(s: &str) -> std::result::Result<Vec<u8>, String> {
    let digits: Vec<char> = s.chars().filter(|c| !c.is_whitespace()).collect();
    if digits.len() % 2 != 0 {
        return Err(format!("odd number of hex digits in `{s}`"));
    }
    digits
        .chunks(2)
        .map(|p| {
            let pair: String = p.iter().collect();
            u8::from_str_radix(&pair, 16).map_err(|e| format!("bad hex `{pair}`: {e}"))
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------
// events

/// A realistic stock-server session; the cases override what they are about.
fn base_session() -> SessionInfo {
    SessionInfo {
        protocol_version: 4,
        session_index: 0,
        current_session_index: 0,
        session_count: 3,
        server_name: "Pitwall Test".into(),
        track: "ks_red_bull_ring".into(),
        track_config: "layout_gp".into(),
        name: "Practice".into(),
        session_type: SessionType::Practice,
        time: 60,
        laps: 0,
        wait_time: 0,
        ambient_temp: 24,
        road_temp: 30,
        weather_graphics: "3_clear".into(),
        weather_encoding: StringWidth::Narrow,
        elapsed_ms: 0,
    }
}

fn connection(
    driver_name: &str,
    driver_guid: &str,
    car_id: u8,
    car_model: &str,
    car_skin: &str,
) -> ConnectionInfo {
    ConnectionInfo {
        driver_name: driver_name.into(),
        driver_guid: driver_guid.into(),
        car_id,
        car_model: car_model.into(),
        car_skin: car_skin.into(),
    }
}

fn car_info(car_id: u8, is_connected: bool, strings: [&str; 5]) -> CarInfo {
    let [car_model, car_skin, driver_name, driver_team, driver_guid] = strings;
    CarInfo {
        car_id,
        is_connected,
        car_model: car_model.into(),
        car_skin: car_skin.into(),
        driver_name: driver_name.into(),
        driver_team: driver_team.into(),
        driver_guid: driver_guid.into(),
    }
}

/// A full 24-slot race leaderboard as the stock server sends it: ranked cars by laps then time,
/// one car that has taken the flag, then the unranked slots with [`NO_TIME`].
fn race_leaderboard() -> Vec<LeaderboardEntry> {
    let ranked: [(u8, u32, u16, bool); 6] = [
        (6, 458_707, 6, true),
        (1, 459_912, 6, false),
        (12, 462_030, 6, false),
        (3, 401_554, 5, false),
        (0, 403_001, 5, false),
        (9, 65_535 + 70_000, 1, false),
    ];
    let mut board: Vec<LeaderboardEntry> = ranked
        .iter()
        .map(|&(car_id, time, laps, done)| LeaderboardEntry { car_id, time, laps, has_completed: Some(done) })
        .collect();
    let unranked = (0u8..24).filter(|id| !ranked.iter().any(|r| r.0 == *id));
    board.extend(unranked.map(|car_id| LeaderboardEntry {
        car_id,
        time: NO_TIME,
        laps: 0,
        has_completed: Some(false),
    }));
    board
}

/// A qualifying leaderboard: best laps, with the extreme values of every field somewhere.
fn quali_leaderboard() -> Vec<LeaderboardEntry> {
    (0u8..24)
        .map(|i| {
            let car_id = 23 - i;
            match i {
                0 => LeaderboardEntry { car_id, time: 80_902, laps: 7, has_completed: Some(false) },
                1 => LeaderboardEntry { car_id, time: 81_337, laps: u16::MAX, has_completed: Some(false) },
                2 => LeaderboardEntry { car_id, time: u32::MAX, laps: 3, has_completed: Some(true) },
                _ => LeaderboardEntry { car_id, time: NO_TIME, laps: 0, has_completed: Some(false) },
            }
        })
        .collect()
}

fn event_cases() -> Vec<(&'static str, Event)> {
    use SessionType::*;
    use StringWidth::Wide;
    let a_long_chat: String = "Pitwall ".repeat(32).chars().take(255).collect();
    vec![
        ("version 4", Event::Version(Version { protocol_version: 4 })),
        ("version 2 (old server)", Event::Version(Version { protocol_version: 2 })),
        (
            "new_session practice, elapsed > 0",
            Event::NewSession(SessionInfo {
                server_name: "Pitwall Test — Practice è 🏁".into(),
                elapsed_ms: 1_234_567,
                ..base_session()
            }),
        ),
        (
            "new_session race in the pre-race wait, elapsed = -40000",
            Event::NewSession(SessionInfo {
                session_index: 2,
                current_session_index: 2,
                server_name: "30quali".into(),
                track_config: String::new(),
                name: "Race".into(),
                session_type: Race,
                time: 0,
                laps: 10,
                wait_time: 40_000,
                ambient_temp: 25,
                road_temp: 31,
                elapsed_ms: -40_000,
                ..base_session()
            }),
        ),
        (
            "session_info qualify, empty server name, max u16 fields",
            Event::SessionInfo(SessionInfo {
                session_index: 1,
                current_session_index: 2,
                server_name: String::new(),
                track: "monza".into(),
                track_config: "junior".into(),
                name: "Qualify".into(),
                session_type: Qualify,
                time: u16::MAX,
                laps: u16::MAX,
                wait_time: u16::MAX,
                ambient_temp: 0,
                road_temp: 255,
                weather_graphics: "7_heavy_fog".into(),
                elapsed_ms: i32::MAX,
                ..base_session()
            }),
        ),
        (
            "session_info booking, elapsed = -1",
            Event::SessionInfo(SessionInfo {
                current_session_index: 1,
                session_count: 4,
                server_name: "Ünïcödé server 名前".into(),
                track: "spa".into(),
                track_config: String::new(),
                name: "Booking".into(),
                session_type: Booking,
                time: 10,
                wait_time: 5,
                ambient_temp: 18,
                road_temp: 22,
                weather_graphics: "1_heavy_clouds".into(),
                elapsed_ms: -1,
                ..base_session()
            }),
        ),
        (
            "session_info unknown session type 9, elapsed = i32::MIN",
            Event::SessionInfo(SessionInfo {
                protocol_version: 5,
                session_index: 5,
                current_session_index: 5,
                session_count: 6,
                server_name: "x".into(),
                track: "nordschleife".into(),
                track_config: "tourist".into(),
                name: "Drift".into(),
                session_type: Unknown(9),
                time: 1,
                laps: 2,
                wait_time: 3,
                weather_graphics: String::new(),
                elapsed_ms: i32::MIN,
                ..base_session()
            }),
        ),
        (
            "new_connection",
            Event::NewConnection(connection(
                "Mario Rossi",
                "76561198000000001",
                3,
                "ks_ferrari_sf15t",
                "scuderia_ferrari",
            )),
        ),
        (
            "new_connection, non-ASCII wide driver name, GUID 0",
            Event::NewConnection(connection("Kimi Räikkönen 🇫🇮", "0", 23, "ks_mclaren_p1", "00_official")),
        ),
        (
            "connection_closed",
            Event::ConnectionClosed(connection(
                "Mario Rossi",
                "76561198000000001",
                3,
                "ks_ferrari_sf15t",
                "",
            )),
        ),
        (
            "car_update",
            Event::CarUpdate(CarUpdate {
                car_id: 3,
                position: Vec3::new(-123.456, 7.5, 987.0625),
                velocity: Vec3::new(45.2, -0.013, -12.75),
                gear: 5,
                engine_rpm: 11_250,
                normalized_spline_pos: 0.734_12,
            }),
        ),
        (
            "car_update in the pits: reverse, 0 rpm",
            Event::CarUpdate(CarUpdate {
                car_id: 0,
                position: Vec3::new(0.0, -0.0, 1.0e-3),
                velocity: Vec3::new(0.0, 0.0, -0.1),
                gear: 0,
                engine_rpm: 0,
                normalized_spline_pos: 0.0,
            }),
        ),
        (
            "car_update, extremes",
            Event::CarUpdate(CarUpdate {
                car_id: 255,
                position: Vec3::new(3.0e5, -1.5e-30, f32::MIN_POSITIVE),
                velocity: Vec3::new(f32::MAX, f32::MIN, 1.0),
                gear: 255,
                engine_rpm: u16::MAX,
                normalized_spline_pos: 0.999_999_9,
            }),
        ),
        (
            "car_info connected",
            Event::CarInfo(car_info(
                3,
                true,
                [
                    "ks_ferrari_sf15t",
                    "scuderia_ferrari",
                    "Mario Rossi",
                    "Scuderia Pitwall",
                    "76561198000000001",
                ],
            )),
        ),
        (
            "car_info non-ASCII wide strings",
            Event::CarInfo(car_info(
                7,
                true,
                ["ks_porsche_911_gt3_r", "skin_è", "José 🏎", "Équipe ü", "7656"],
            )),
        ),
        ("car_info empty slot", Event::CarInfo(car_info(22, false, ["ks_mclaren_p1", "", "", "", ""]))),
        (
            "end_session",
            Event::EndSession(EndSession { filename: "results/2016_7_24_22_52_QUALIFY.json".into() }),
        ),
        ("end_session empty (AssettoServer)", Event::EndSession(EndSession { filename: String::new() })),
        ("chat", Event::Chat(Chat { car_id: 0, message: "/next_session".into() })),
        (
            "chat with è and an emoji",
            Event::Chat(Chat { car_id: 2, message: "Ciao, è tutto ok? 🏁👍".into() }),
        ),
        ("chat empty", Event::Chat(Chat { car_id: 1, message: String::new() })),
        ("chat 255 characters", Event::Chat(Chat { car_id: 4, message: a_long_chat })),
        ("client_loaded", Event::ClientLoaded(ClientLoaded { car_id: 5 })),
        (
            "error",
            Event::Error(ErrorMessage { message: "ERROR: ACSP_KICK_USER index 99 out of bound".into() }),
        ),
        (
            "lap_completed, race, 24-entry leaderboard",
            Event::LapCompleted(LapCompleted {
                car_id: 6,
                lap_time: 80_902,
                cuts: 0,
                leaderboard: race_leaderboard(),
                grip_level: 1.0,
            }),
        ),
        (
            "lap_completed, qualifying with cuts, 24-entry leaderboard",
            Event::LapCompleted(LapCompleted {
                car_id: 23,
                lap_time: 83_004,
                cuts: 3,
                leaderboard: quali_leaderboard(),
                grip_level: 0.9405,
            }),
        ),
        (
            "lap_completed, empty leaderboard",
            Event::LapCompleted(LapCompleted {
                car_id: 1,
                lap_time: 0,
                cuts: 255,
                leaderboard: Vec::new(),
                grip_level: 0.9439,
            }),
        ),
        (
            "client_event collision with car",
            Event::CollisionWithCar(CollisionWithCar {
                car_id: 4,
                other_car_id: 11,
                impact_speed: 206.35,
                world_position: Vec3::new(512.25, 3.125, -77.5),
                relative_position: Vec3::new(0.8, 0.2, 2.1),
            }),
        ),
        (
            "client_event collision with environment",
            Event::CollisionWithEnv(CollisionWithEnv {
                car_id: 9,
                impact_speed: 0.117,
                world_position: Vec3::new(-1.5, 0.0, 250.75),
                relative_position: Vec3::new(-0.9, 0.35, -2.2),
            }),
        ),
        // Known differences: acudpclient cannot read these. The driver script predicts exactly how.
        (
            "new_connection with a UTF-8 car skin (AssettoServer writes narrow strings as UTF-8)",
            Event::NewConnection(connection(
                "Mario Rossi",
                "76561198000000001",
                3,
                "ks_ferrari_sf15t",
                "rosso_è",
            )),
        ),
        (
            "new_session with a UTF-8 track name",
            Event::NewSession(SessionInfo {
                track: "österreichring".into(),
                track_config: String::new(),
                ..base_session()
            }),
        ),
        (
            "new_session with AssettoServer's wide weather",
            Event::NewSession(SessionInfo {
                server_name: "AssettoServer".into(),
                track: "ks_vallelunga".into(),
                track_config: "extended_circuit".into(),
                wait_time: 60,
                weather_encoding: Wide,
                elapsed_ms: 5_000,
                ..base_session()
            }),
        ),
    ]
}

fn events() -> Result<()> {
    let mut out = std::io::stdout().lock();
    for (label, event) in event_cases() {
        let mut bytes = Vec::new();
        acsp::encode_event(&event, &mut bytes).map_err(|e| format!("{label}: encode: {e}"))?;
        // Our own decoder must agree with our encoder before a peer is asked.
        let back = acsp::decode_datagram(&bytes).map_err(|e| format!("{label}: decode: {e}"))?;
        if back.message != event || !back.warnings.is_empty() || back.len != bytes.len() {
            return Err(format!("{label}: our own round trip differs: {back:?}").into());
        }
        let line = json!({ "label": label, "hex": to_hex(&bytes), "event": event });
        writeln!(out, "{}", serde_json::to_string(&line)?)?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// commands

fn decode_line(line: &str) -> serde_json::Value {
    let bytes = match from_hex(line) {
        Ok(b) => b,
        Err(e) => return json!({ "error": e }),
    };
    let decoded = match acsp::decode_command_datagram(&bytes) {
        Ok(d) => d,
        Err(e) => return json!({ "error": e.to_string() }),
    };
    let mut reencoded = Vec::new();
    let reencoded = match acsp::encode(&decoded.message, &mut reencoded) {
        Ok(()) => serde_json::Value::String(to_hex(&reencoded)),
        Err(e) => json!({ "error": e.to_string() }),
    };
    let warnings: Vec<serde_json::Value> = decoded
        .warnings
        .iter()
        .map(|w| {
            let mut v = json!(w);
            if let Some(o) = v.as_object_mut() {
                o.insert("text".into(), w.to_string().into());
            }
            v
        })
        .collect();
    json!({ "command": decoded.message, "len": decoded.len, "warnings": warnings, "reencoded": reencoded })
}

fn commands() -> Result<()> {
    let mut out = std::io::stdout().lock();
    for line in std::io::stdin().lock().lines() {
        let line = line?;
        if line.trim().is_empty() {
            continue;
        }
        writeln!(out, "{}", serde_json::to_string(&decode_line(line.trim()))?)?;
    }
    Ok(())
}

fn vectors() -> Result<()> {
    let cases = [
        ("get_car_info(5)", Command::GetCarInfo { car_id: 5 }),
        ("get_session_info(-1)", Command::GetSessionInfo { session_index: -1 }),
        ("realtimepos_interval(250)", Command::RealtimeposInterval { interval_ms: 250 }),
        ("broadcast_chat(\"hi\")", Command::BroadcastChat { message: "hi".into() }),
    ];
    let mut out = std::io::stdout().lock();
    for (label, command) in cases {
        let mut bytes = Vec::new();
        acsp::encode(&command, &mut bytes).map_err(|e| format!("{label}: {e}"))?;
        let line = json!({ "label": label, "hex": to_hex(&bytes), "command": command });
        writeln!(out, "{}", serde_json::to_string(&line)?)?;
    }
    Ok(())
}
