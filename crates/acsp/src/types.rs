//! The typed messages. Field names are those of `docs/acsp.md`, in snake_case; they are also
//! the JSON keys of `pitwall acsp listen --json`.

use serde::{Serialize, Serializer};

/// Message ids (byte 0 of every datagram).
pub mod id {
    /// Server → plugin: a session started (also sent at server start).
    pub const NEW_SESSION: u8 = 50;
    /// Server → plugin: a driver connected (still loading).
    pub const NEW_CONNECTION: u8 = 51;
    /// Server → plugin: a driver disconnected.
    pub const CONNECTION_CLOSED: u8 = 52;
    /// Server → plugin: real-time position of one car.
    pub const CAR_UPDATE: u8 = 53;
    /// Server → plugin: answer to GET_CAR_INFO.
    pub const CAR_INFO: u8 = 54;
    /// Server → plugin: session over, with the results file.
    pub const END_SESSION: u8 = 55;
    /// Server → plugin: protocol version.
    pub const VERSION: u8 = 56;
    /// Server → plugin: a chat line.
    pub const CHAT: u8 = 57;
    /// Server → plugin: a client finished loading.
    pub const CLIENT_LOADED: u8 = 58;
    /// Server → plugin: answer to GET_SESSION_INFO.
    pub const SESSION_INFO: u8 = 59;
    /// Server → plugin: an error text.
    pub const ERROR: u8 = 60;
    /// Server → plugin: a lap was completed.
    pub const LAP_COMPLETED: u8 = 73;
    /// Server → plugin: a client event (collision).
    pub const CLIENT_EVENT: u8 = 130;
    /// CLIENT_EVENT subtype: collision with another car.
    pub const CE_COLLISION_WITH_CAR: u8 = 10;
    /// CLIENT_EVENT subtype: collision with the environment.
    pub const CE_COLLISION_WITH_ENV: u8 = 11;
    /// Plugin → server: set the CAR_UPDATE interval.
    pub const REALTIMEPOS_INTERVAL: u8 = 200;
    /// Plugin → server: ask for CAR_INFO.
    pub const GET_CAR_INFO: u8 = 201;
    /// Plugin → server: chat to one car.
    pub const SEND_CHAT: u8 = 202;
    /// Plugin → server: chat to everybody.
    pub const BROADCAST_CHAT: u8 = 203;
    /// Plugin → server: ask for SESSION_INFO.
    pub const GET_SESSION_INFO: u8 = 204;
    /// Plugin → server: change a session.
    pub const SET_SESSION_INFO: u8 = 205;
    /// Plugin → server: kick a car.
    pub const KICK_USER: u8 = 206;
    /// Plugin → server: skip to the next session.
    pub const NEXT_SESSION: u8 = 207;
    /// Plugin → server: restart the current session.
    pub const RESTART_SESSION: u8 = 208;
    /// Plugin → server: run an admin chat command.
    pub const ADMIN_COMMAND: u8 = 209;
}

/// The leaderboard time that means "no time".
pub const NO_TIME: u32 = 999_999_999;

/// A world-space vector (AC: metres or m/s, Y up).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct Vec3 {
    /// X.
    pub x: f32,
    /// Y (up).
    pub y: f32,
    /// Z.
    pub z: f32,
}

impl Vec3 {
    /// Builds a vector.
    pub const fn new(x: f32, y: f32, z: f32) -> Self {
        Vec3 { x, y, z }
    }
}

/// Session type byte. Unknown values are kept, not rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SessionType {
    /// 0: booking (named only by some managers).
    Booking,
    /// 1: practice.
    Practice,
    /// 2: qualifying.
    Qualify,
    /// 3: race.
    Race,
    /// 4: drag (listed by some clients, probably not multiplayer).
    Drag,
    /// 5: drift (same).
    Drift,
    /// Any other byte.
    Unknown(u8),
}

impl SessionType {
    /// The wire byte.
    pub fn to_u8(self) -> u8 {
        match self {
            SessionType::Booking => 0,
            SessionType::Practice => 1,
            SessionType::Qualify => 2,
            SessionType::Race => 3,
            SessionType::Drag => 4,
            SessionType::Drift => 5,
            SessionType::Unknown(v) => v,
        }
    }
    /// Lower-case name; `unknown` for other bytes.
    pub fn as_str(self) -> &'static str {
        match self {
            SessionType::Booking => "booking",
            SessionType::Practice => "practice",
            SessionType::Qualify => "qualify",
            SessionType::Race => "race",
            SessionType::Drag => "drag",
            SessionType::Drift => "drift",
            SessionType::Unknown(_) => "unknown",
        }
    }
}

impl From<u8> for SessionType {
    fn from(v: u8) -> Self {
        match v {
            0 => SessionType::Booking,
            1 => SessionType::Practice,
            2 => SessionType::Qualify,
            3 => SessionType::Race,
            4 => SessionType::Drag,
            5 => SessionType::Drift,
            v => SessionType::Unknown(v),
        }
    }
}

impl std::str::FromStr for SessionType {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "booking" => Ok(SessionType::Booking),
            "practice" | "p" => Ok(SessionType::Practice),
            "qualify" | "qualifying" | "q" => Ok(SessionType::Qualify),
            "race" | "r" => Ok(SessionType::Race),
            "drag" => Ok(SessionType::Drag),
            "drift" => Ok(SessionType::Drift),
            other => other
                .parse::<u8>()
                .map(SessionType::from)
                .map_err(|_| format!("unknown session type `{s}` (practice, qualify, race or a number)")),
        }
    }
}

impl std::fmt::Display for SessionType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SessionType::Unknown(v) => write!(f, "unknown({v})"),
            t => f.write_str(t.as_str()),
        }
    }
}

/// Known types serialize as their name, unknown ones as the raw number.
impl Serialize for SessionType {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            SessionType::Unknown(v) => s.serialize_u8(*v),
            t => s.serialize_str(t.as_str()),
        }
    }
}

/// How a string field was (or is to be) written. The stock server writes the weather name narrow;
/// AssettoServer writes it wide. Keeping this lets a decoded message re-encode byte for byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum StringWidth {
    /// str8: length byte + UTF-8 bytes (Kunos layout).
    #[default]
    Narrow,
    /// strW: length byte + UTF-32LE units (AssettoServer's weather).
    Wide,
}

impl StringWidth {
    fn is_narrow(&self) -> bool {
        *self == StringWidth::Narrow
    }
}

/// NEW_SESSION (50) and SESSION_INFO (59): one layout.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SessionInfo {
    /// Protocol version (4 since AC 1.3).
    pub protocol_version: u8,
    /// Index of the session this message describes.
    pub session_index: u8,
    /// Index of the session running now.
    pub current_session_index: u8,
    /// Number of sessions.
    pub session_count: u8,
    /// Server name.
    pub server_name: String,
    /// Track, e.g. `ks_red_bull_ring`.
    pub track: String,
    /// Track layout; may be empty.
    pub track_config: String,
    /// Session name, e.g. `Qualify`.
    pub name: String,
    /// Session type.
    pub session_type: SessionType,
    /// Session length, minutes (0 for lap races).
    pub time: u16,
    /// Race laps (0 for timed sessions).
    pub laps: u16,
    /// Wait time: ms on the stock server, seconds on AssettoServer.
    pub wait_time: u16,
    /// Ambient temperature, °C.
    pub ambient_temp: u8,
    /// Road temperature, °C.
    pub road_temp: u8,
    /// Weather graphics, e.g. `3_clear`.
    pub weather_graphics: String,
    /// Encoding of `weather_graphics` on the wire (wide on AssettoServer).
    #[serde(skip_serializing_if = "StringWidth::is_narrow")]
    pub weather_encoding: StringWidth,
    /// ms since the session started; negative during a race's wait time.
    pub elapsed_ms: i32,
}

/// NEW_CONNECTION (51) and CONNECTION_CLOSED (52): one layout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConnectionInfo {
    /// Driver name.
    pub driver_name: String,
    /// Driver GUID (SteamID64 as text).
    pub driver_guid: String,
    /// Car id (entry-list slot).
    pub car_id: u8,
    /// Car model.
    pub car_model: String,
    /// Car skin.
    pub car_skin: String,
}

/// CAR_UPDATE (53): one car's real-time state.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CarUpdate {
    /// Car id.
    pub car_id: u8,
    /// World position, m.
    pub position: Vec3,
    /// Velocity, m/s.
    pub velocity: Vec3,
    /// Gear: 0 = R, 1 = N, 2 = 1st.
    pub gear: u8,
    /// Engine rpm.
    pub engine_rpm: u16,
    /// Fraction of the lap along the spline, 0..1.
    pub normalized_spline_pos: f32,
}

impl CarUpdate {
    /// Horizontal speed in km/h, as server managers compute it.
    pub fn speed_kmh(&self) -> f32 {
        (self.velocity.x * self.velocity.x + self.velocity.z * self.velocity.z).sqrt() * 3.6
    }
}

/// CAR_INFO (54): answer to GET_CAR_INFO.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CarInfo {
    /// Car id (echoed).
    pub car_id: u8,
    /// Whether a driver is connected to this slot.
    pub is_connected: bool,
    /// Car model.
    pub car_model: String,
    /// Car skin.
    pub car_skin: String,
    /// Driver name.
    pub driver_name: String,
    /// Driver team.
    pub driver_team: String,
    /// Driver GUID.
    pub driver_guid: String,
}

/// END_SESSION (55).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EndSession {
    /// Path of the results JSON, relative to the server (empty on AssettoServer).
    pub filename: String,
}

/// VERSION (56).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Version {
    /// Protocol version.
    pub protocol_version: u8,
}

/// CHAT (57).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Chat {
    /// Sender's car id.
    pub car_id: u8,
    /// The text.
    pub message: String,
}

/// CLIENT_LOADED (58).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ClientLoaded {
    /// Car id.
    pub car_id: u8,
}

/// ERROR (60).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ErrorMessage {
    /// The error text.
    pub message: String,
}

/// One LAP_COMPLETED leaderboard entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LeaderboardEntry {
    /// Car id.
    pub car_id: u8,
    /// Best lap (practice, qualify) or total time (race), ms; [`NO_TIME`] for none.
    pub time: u32,
    /// Laps.
    pub laps: u16,
    /// The "has completed" flag of AC ≥ 1.7 (8-byte entries); `None` on older 7-byte entries.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub has_completed: Option<bool>,
}

/// LAP_COMPLETED (73).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LapCompleted {
    /// Car id.
    pub car_id: u8,
    /// Lap time, ms.
    pub lap_time: u32,
    /// Cuts; laps with cuts do not count for the leaderboard.
    pub cuts: u8,
    /// Standings, ordered.
    pub leaderboard: Vec<LeaderboardEntry>,
    /// Track grip, 0..1.
    pub grip_level: f32,
}

/// CLIENT_EVENT (130) subtype 10: collision between two cars.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CollisionWithCar {
    /// Car id.
    pub car_id: u8,
    /// The other car's id.
    pub other_car_id: u8,
    /// Impact speed, m/s.
    pub impact_speed: f32,
    /// World position, m.
    pub world_position: Vec3,
    /// Collision point relative to the car, m.
    pub relative_position: Vec3,
}

/// CLIENT_EVENT (130) subtype 11: collision with the environment.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CollisionWithEnv {
    /// Car id.
    pub car_id: u8,
    /// Impact speed, m/s.
    pub impact_speed: f32,
    /// World position, m.
    pub world_position: Vec3,
    /// Collision point relative to the car, m.
    pub relative_position: Vec3,
}

/// Something odd about a message that did not stop it from being decoded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "warning", rename_all = "snake_case")]
pub enum Warning {
    /// Bytes left over after the last field: a newer server or a different implementation.
    TrailingBytes {
        /// How many bytes.
        count: usize,
        /// Where they start.
        offset: usize,
    },
    /// A wide string began with U+FEFF (acudpclient's Python `utf32` codec adds one, and its
    /// length byte then cuts off the last character). The mark was dropped.
    ByteOrderMark {
        /// The string field.
        field: &'static str,
        /// Offset of the string's length byte.
        offset: usize,
    },
    /// GET_SESSION_INFO without its i16 index (as Assetto Server Manager sends it); read as -1.
    MissingSessionIndex,
    /// A string held units that are no character: in a wide string a code point above
    /// U+10FFFF or a surrogate half without its partner, in a narrow one bytes that are not
    /// UTF-8. Each was decoded as U+FFFD and the rest of the text kept.
    InvalidText {
        /// The string field.
        field: &'static str,
        /// Offset of the first bad unit (of the first bad byte in a narrow string).
        offset: usize,
        /// How many U+FFFD replace bad units in the decoded text.
        replaced: usize,
    },
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Warning::TrailingBytes { count, offset } => {
                write!(f, "{count} trailing bytes at offset {offset} ignored")
            }
            Warning::ByteOrderMark { field, offset } => write!(
                f,
                "field `{field}` at offset {offset} starts with a UTF-32 byte-order mark \
                 (sender's bug: its last character is probably lost)"
            ),
            Warning::MissingSessionIndex => {
                write!(f, "get_session_info without a session index; read as -1 (current)")
            }
            Warning::InvalidText { field, offset, replaced } => write!(
                f,
                "field `{field}` holds invalid text from offset {offset}: {replaced} replaced by U+FFFD"
            ),
        }
    }
}
