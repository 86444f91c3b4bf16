//! The session's identity and metadata as text, both ways: the 16-byte id as UUID text (the
//! `session_id` column, the sink's partition folders) and [`SessionMetadata`] as JSON (a file's
//! key-value metadata, the catalogue), both ways generated from one list of the metadata's
//! fields.

use bytes::Bytes;
use parquet::file::metadata::KeyValue;
use proto::telemetry::v1::{SessionMetadata, Wheels};
use serde_json::{Map, Value, json};

use crate::error::TableError;
use crate::fields::SESSION_TYPE;
use crate::write::{KV_SESSION, KV_SESSION_ID};

/// The session id as text: UUID form for 16 bytes, plain hex otherwise (never a valid frame, but
/// a converter reading an odd recording must not fail on it).
pub fn session_id_text(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(36);
    for (i, b) in bytes.iter().enumerate() {
        if bytes.len() == 16 && matches!(i, 4 | 6 | 8 | 10) {
            s.push('-');
        }
        s.push(HEX[usize::from(b >> 4)] as char);
        s.push(HEX[usize::from(b & 0xf)] as char);
    }
    s
}

/// The bytes of a session id written by [`session_id_text`]: UUID text or plain hex; `None` for
/// anything else.
pub fn parse_session_id(text: &str) -> Option<Bytes> {
    let hex: Vec<u8> = text.bytes().filter(|&b| b != b'-').collect();
    if hex.len() % 2 != 0 || (text.contains('-') && hex.len() != 32) {
        return None;
    }
    let digit = |b: u8| match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    };
    let bytes: Option<Vec<u8>> = hex
        .chunks_exact(2)
        .map(|pair| match pair {
            [hi, lo] => Some(digit(*hi)? << 4 | digit(*lo)?),
            _ => None,
        })
        .collect();
    bytes.map(Bytes::from)
}

/// A `SessionMetadata` field's JSON form, both ways. A key that is absent or null reads as the
/// field's default (a file of an older writer); one of the wrong type is an error naming it.
trait Json: Sized {
    fn to_json(&self) -> Value;
    fn from_json(key: &str, v: Option<&Value>) -> Result<Self, String>;
}

impl Json for String {
    fn to_json(&self) -> Value {
        json!(self)
    }

    fn from_json(key: &str, v: Option<&Value>) -> Result<Self, String> {
        match v {
            None => Ok(String::new()),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(other) => Err(format!("`{key}` is {other}, not a string")),
        }
    }
}

impl Json for f32 {
    fn to_json(&self) -> Value {
        json!(self)
    }

    fn from_json(key: &str, v: Option<&Value>) -> Result<Self, String> {
        match v {
            None => Ok(0.0),
            Some(v) => v.as_f64().map(|x| x as f32).ok_or_else(|| format!("`{key}` is {v}, not a number")),
        }
    }
}

impl Json for i64 {
    fn to_json(&self) -> Value {
        json!(self)
    }

    fn from_json(key: &str, v: Option<&Value>) -> Result<Self, String> {
        match v {
            None => Ok(0),
            Some(v) => v.as_i64().ok_or_else(|| format!("`{key}` is {v}, not an integer")),
        }
    }
}

impl Json for i32 {
    fn to_json(&self) -> Value {
        json!(self)
    }

    fn from_json(key: &str, v: Option<&Value>) -> Result<Self, String> {
        i32::try_from(i64::from_json(key, v)?).map_err(|_| format!("`{key}` does not fit an int32"))
    }
}

impl Json for bool {
    fn to_json(&self) -> Value {
        json!(self)
    }

    fn from_json(key: &str, v: Option<&Value>) -> Result<Self, String> {
        match v {
            None => Ok(false),
            Some(Value::Bool(b)) => Ok(*b),
            Some(other) => Err(format!("`{key}` is {other}, not a boolean")),
        }
    }
}

/// `{fl, fr, rl, rr}`, null when absent.
impl Json for Option<Wheels> {
    fn to_json(&self) -> Value {
        match self {
            Some(w) => json!({ "fl": w.fl, "fr": w.fr, "rl": w.rl, "rr": w.rr }),
            None => Value::Null,
        }
    }

    fn from_json(key: &str, v: Option<&Value>) -> Result<Self, String> {
        match v {
            None => Ok(None),
            Some(Value::Object(w)) => {
                let get = |c: &str| {
                    w.get(c)
                        .and_then(Value::as_f64)
                        .map(|x| x as f32)
                        .ok_or_else(|| format!("`{key}.{c}` is missing"))
                };
                Ok(Some(Wheels { fl: get("fl")?, fr: get("fr")?, rl: get("rl")?, rr: get("rr")? }))
            }
            Some(other) => Err(format!("`{key}` is {other}, not an object")),
        }
    }
}

/// The session type as its name (`"race"`), as in the `session_type` column.
fn session_type_json(value: i32) -> Value {
    SESSION_TYPE.name(value).into()
}

/// The session type back from its name; absent or empty is 0 (unknown).
fn session_type_from_json(key: &str, v: Option<&Value>) -> Result<i32, String> {
    match String::from_json(key, v)?.as_str() {
        "" => Ok(0),
        name => SESSION_TYPE.value(name).ok_or_else(|| format!("`{key}` `{name}` is not a session type")),
    }
}

/// The JSON form of every `SessionMetadata` field, in proto order, each under its proto name:
/// `name;` for a field whose Rust type gives its form ([`Json`]), `name: to, from;` for one
/// with its own. Generates [`session_metadata_json`] and [`session_metadata_from_json`], whose
/// struct literal names every field: a field added to the proto and not here is a compile
/// error ("missing field").
macro_rules! session_metadata {
    ($($name:ident $(: $to:ident, $from:ident)?;)*) => {
        /// The session metadata as a JSON object: every `SessionMetadata` field under its proto
        /// name, `session_type` as its name (`"race"`), `Wheels` as `{fl, fr, rl, rr}` (null when
        /// absent). Stored in each file's key-value metadata under [`KV_SESSION`] and in the
        /// catalogue.
        pub fn session_metadata_json(m: &SessionMetadata) -> Value {
            let mut o = Map::new();
            $(o.insert(stringify!($name).to_owned(), session_metadata!(@to m.$name $(, $to)?));)*
            Value::Object(o)
        }

        /// The session metadata back from the JSON of [`session_metadata_json`]. Keys it lacks
        /// keep their defaults (an older writer); a key of the wrong type is an error naming it.
        pub fn session_metadata_from_json(v: &Value) -> Result<SessionMetadata, String> {
            let o = v.as_object().ok_or("not a JSON object")?;
            let get = |key: &str| o.get(key).filter(|v| !v.is_null());
            Ok(SessionMetadata {
                $($name: session_metadata!(@from get, stringify!($name) $(, $from)?)?,)*
            })
        }
    };
    (@to $value:expr) => { Json::to_json(&$value) };
    (@to $value:expr, $to:ident) => { $to($value) };
    (@from $get:ident, $key:expr) => { Json::from_json($key, $get($key)) };
    (@from $get:ident, $key:expr, $from:ident) => { $from($key, $get($key)) };
}

session_metadata! {
    car_model;
    car_skin;
    track;
    track_configuration;
    player_name;
    player_surname;
    player_nick;
    session_type: session_type_json, session_type_from_json;
    sector_count;
    max_rpm;
    max_fuel;
    max_torque_nm;
    max_power_w;
    suspension_max_travel_m;
    tyre_radius_m;
    max_turbo_boost;
    track_spline_length_m;
    sm_version;
    ac_version;
    number_of_sessions;
    num_cars;
    penalties_enabled;
    aid_fuel_rate;
    aid_tire_rate;
    aid_mechanical_damage;
    aid_allow_tyre_blankets;
    aid_stability;
    aid_auto_clutch;
    aid_auto_blip;
    has_drs;
    has_ers;
    has_kers;
    kers_max_j;
    ers_max_j;
    engine_brake_settings_count;
    ers_power_controller_count;
    is_timed_race;
    has_extra_lap;
    reversed_grid_positions;
    pit_window_start;
    pit_window_end;
    source;
    started_unix_ns;
}

/// The session a file names in its key-value metadata, as the ingest sink writes it: the id
/// ([`KV_SESSION_ID`]) and the metadata ([`KV_SESSION`]). `None` when the file lacks either
/// key; an error, naming the key, when one does not read.
pub fn file_session(kv: &[KeyValue]) -> Result<Option<(Bytes, SessionMetadata)>, TableError> {
    let get = |key: &str| kv.iter().rev().filter(|e| e.key == key).find_map(|e| e.value.as_deref());
    let (Some(id), Some(json)) = (get(KV_SESSION_ID), get(KV_SESSION)) else { return Ok(None) };
    let bad = |key: &'static str| move |problem: String| TableError::BadMetadata { key, problem };
    let id = parse_session_id(id).ok_or_else(|| bad(KV_SESSION_ID)(format!("`{id}` is not a session id")))?;
    let v: Value = serde_json::from_str(json).map_err(|e| bad(KV_SESSION)(e.to_string()))?;
    let metadata = session_metadata_from_json(&v).map_err(bad(KV_SESSION))?;
    Ok(Some((id, metadata)))
}
