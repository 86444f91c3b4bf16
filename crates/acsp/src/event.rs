//! Server → plugin events: decode (what a plugin does) and encode (what the simulator does).

use serde::Serialize;

use crate::error::{DecodeError, EncodeError};
use crate::types::*;
use crate::wire::{Reader, Writer};

/// One server → plugin message.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Event {
    /// 50: a session started.
    NewSession(SessionInfo),
    /// 51: a driver connected.
    NewConnection(ConnectionInfo),
    /// 52: a driver disconnected.
    ConnectionClosed(ConnectionInfo),
    /// 53: real-time car state.
    CarUpdate(CarUpdate),
    /// 54: answer to GET_CAR_INFO.
    CarInfo(CarInfo),
    /// 55: session over.
    EndSession(EndSession),
    /// 56: protocol version.
    Version(Version),
    /// 57: chat line.
    Chat(Chat),
    /// 58: client finished loading.
    ClientLoaded(ClientLoaded),
    /// 59: answer to GET_SESSION_INFO.
    SessionInfo(SessionInfo),
    /// 60: error text.
    Error(ErrorMessage),
    /// 73: lap completed.
    LapCompleted(LapCompleted),
    /// 130/10: collision between cars.
    CollisionWithCar(CollisionWithCar),
    /// 130/11: collision with the environment.
    CollisionWithEnv(CollisionWithEnv),
}

/// Every event name, in id order; handy for per-type counters.
pub const EVENT_NAMES: [&str; 14] = [
    "new_session",
    "new_connection",
    "connection_closed",
    "car_update",
    "car_info",
    "end_session",
    "version",
    "chat",
    "client_loaded",
    "session_info",
    "error",
    "lap_completed",
    "collision_with_car",
    "collision_with_env",
];

impl Event {
    /// The message id (130 for both collision kinds).
    pub fn id(&self) -> u8 {
        match self {
            Event::NewSession(_) => id::NEW_SESSION,
            Event::NewConnection(_) => id::NEW_CONNECTION,
            Event::ConnectionClosed(_) => id::CONNECTION_CLOSED,
            Event::CarUpdate(_) => id::CAR_UPDATE,
            Event::CarInfo(_) => id::CAR_INFO,
            Event::EndSession(_) => id::END_SESSION,
            Event::Version(_) => id::VERSION,
            Event::Chat(_) => id::CHAT,
            Event::ClientLoaded(_) => id::CLIENT_LOADED,
            Event::SessionInfo(_) => id::SESSION_INFO,
            Event::Error(_) => id::ERROR,
            Event::LapCompleted(_) => id::LAP_COMPLETED,
            Event::CollisionWithCar(_) | Event::CollisionWithEnv(_) => id::CLIENT_EVENT,
        }
    }

    /// The snake-case name, the `"type"` of the JSON form.
    pub fn name(&self) -> &'static str {
        EVENT_NAMES[self.index()]
    }

    /// Position of this event's kind in [`EVENT_NAMES`].
    pub fn index(&self) -> usize {
        match self {
            Event::NewSession(_) => 0,
            Event::NewConnection(_) => 1,
            Event::ConnectionClosed(_) => 2,
            Event::CarUpdate(_) => 3,
            Event::CarInfo(_) => 4,
            Event::EndSession(_) => 5,
            Event::Version(_) => 6,
            Event::Chat(_) => 7,
            Event::ClientLoaded(_) => 8,
            Event::SessionInfo(_) => 9,
            Event::Error(_) => 10,
            Event::LapCompleted(_) => 11,
            Event::CollisionWithCar(_) => 12,
            Event::CollisionWithEnv(_) => 13,
        }
    }

    /// The car this event is about, if any.
    pub fn car_id(&self) -> Option<u8> {
        match self {
            Event::NewConnection(c) | Event::ConnectionClosed(c) => Some(c.car_id),
            Event::CarUpdate(c) => Some(c.car_id),
            Event::CarInfo(c) => Some(c.car_id),
            Event::Chat(c) => Some(c.car_id),
            Event::ClientLoaded(c) => Some(c.car_id),
            Event::LapCompleted(l) => Some(l.car_id),
            Event::CollisionWithCar(c) => Some(c.car_id),
            Event::CollisionWithEnv(c) => Some(c.car_id),
            _ => None,
        }
    }
}

/// Whether `b` is the id of a server → plugin message.
pub fn is_event_id(b: u8) -> bool {
    matches!(b, id::NEW_SESSION..=id::ERROR | id::LAP_COMPLETED | id::CLIENT_EVENT)
}

fn event_name_of(b: u8) -> &'static str {
    match b {
        id::NEW_SESSION => "new_session",
        id::NEW_CONNECTION => "new_connection",
        id::CONNECTION_CLOSED => "connection_closed",
        id::CAR_UPDATE => "car_update",
        id::CAR_INFO => "car_info",
        id::END_SESSION => "end_session",
        id::VERSION => "version",
        id::CHAT => "chat",
        id::CLIENT_LOADED => "client_loaded",
        id::SESSION_INFO => "session_info",
        id::ERROR => "error",
        id::LAP_COMPLETED => "lap_completed",
        id::CLIENT_EVENT => "client_event",
        _ => "unknown",
    }
}

/// A decoded message with what else the decoder learned.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded<T> {
    /// The message.
    pub message: T,
    /// Bytes the message's own fields took (the datagram may be longer: see the warnings).
    pub len: usize,
    /// Oddities that did not stop decoding (trailing bytes, byte-order marks, …).
    pub warnings: Vec<Warning>,
}

/// How the variable parts of a layout are chosen: from the datagram's length (one datagram is
/// one message), or forced (when reading a capture whose datagram boundaries are lost).
#[derive(Debug, Clone, Copy, Default)]
struct Layout {
    /// Leaderboard entry size (7 or 8); `None` infers it from the length.
    entry: Option<usize>,
    /// Weather width; `None` infers it from the length.
    weather: Option<StringWidth>,
}

/// Decodes one datagram into an event. Trailing bytes and other oddities are tolerated; use
/// [`decode_datagram`] to see them.
///
/// ```
/// let ev = acsp::decode(&[56, 4]).unwrap();
/// assert_eq!(ev, acsp::Event::Version(acsp::Version { protocol_version: 4 }));
/// ```
pub fn decode(buf: &[u8]) -> Result<Event, DecodeError> {
    // Not through `decode_datagram`: this is the hot path, and the warnings are not wanted here.
    let (first, mut r) = reader(buf, 0)?;
    message(first, &mut r, Layout::default())
}

/// Decodes one datagram, reporting trailing bytes and other oddities as warnings.
pub fn decode_datagram(buf: &[u8]) -> Result<Decoded<Event>, DecodeError> {
    // Not `decode_with` and then a push: that copies the ~180-byte result once more, and this
    // is the client's hot path.
    let (first, mut r) = reader(buf, 0)?;
    let message = message(first, &mut r, Layout::default())?;
    let len = r.pos();
    let mut warnings = std::mem::take(&mut r.warnings);
    if len < buf.len() {
        warnings.push(Warning::TrailingBytes { count: buf.len() - len, offset: len });
    }
    Ok(Decoded { message, len, warnings })
}

/// Decodes the message at the start of `buf`, a concatenation of messages whose datagram
/// boundaries were lost (the seed's tcpdump + tshark recipe). Where the layout depends on the
/// datagram's length (leaderboard entry size, weather width), each layout is tried and the one
/// after which the following messages decode, up to a few of them or the end of the input, wins;
/// on a tie the modern (8-byte entries) or stock (narrow weather) layout. `offset` is `buf`'s
/// position in the whole input, used in errors.
pub fn decode_prefix(buf: &[u8], offset: usize) -> Result<Decoded<Event>, DecodeError> {
    let candidates = layouts(buf);
    if candidates.is_empty() {
        return decode_with(buf, Layout::default(), offset);
    }
    let mut best: Option<(usize, Decoded<Event>)> = None;
    let mut first_err = None;
    for &layout in candidates {
        match decode_with(buf, layout, offset) {
            Ok(d) => {
                let score = following_messages(&buf[d.len..]);
                if score == LOOKAHEAD {
                    return Ok(d);
                }
                if best.as_ref().is_none_or(|(s, _)| score > *s) {
                    best = Some((score, d));
                }
            }
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    match (best, first_err) {
        (Some((_, d)), _) => Ok(d),
        (None, Some(e)) => Err(e),
        (None, None) => Err(DecodeError::Empty),
    }
}

/// How many messages after a candidate layout must decode (or the input end) for it to win at
/// once. Checking only that the next byte is an event id is not enough: a 7-byte-entry
/// leaderboard read as 8-byte entries ends a few bytes into the next message, where an id-like
/// byte is common (a lap time's `3c`, say) and the permissive ERROR layout then decodes.
const LOOKAHEAD: usize = 3;

/// The layouts to try for the message at the start of `buf`; empty when it has only one.
fn layouts(buf: &[u8]) -> &'static [Layout] {
    match buf.first() {
        Some(&id::LAP_COMPLETED) => {
            &[Layout { entry: Some(8), weather: None }, Layout { entry: Some(7), weather: None }]
        }
        Some(&(id::NEW_SESSION | id::SESSION_INFO)) => &[
            Layout { entry: None, weather: Some(StringWidth::Narrow) },
            Layout { entry: None, weather: Some(StringWidth::Wide) },
        ],
        _ => &[],
    }
}

/// The number of messages, at most [`LOOKAHEAD`], that decode one after another from the start of
/// `buf`; reaching the end of the input counts as all of them. Ambiguous layouts are chosen here
/// by the cheap rule (the next byte is an event id or the end), so the lookahead does not nest.
fn following_messages(buf: &[u8]) -> usize {
    let mut pos = 0;
    for count in 0..LOOKAHEAD {
        let rest = &buf[pos..];
        if rest.is_empty() {
            return LOOKAHEAD;
        }
        let candidates = layouts(rest);
        let len = if candidates.is_empty() {
            decode_with(rest, Layout::default(), 0).ok().map(|d| d.len)
        } else {
            let lens = candidates.iter().filter_map(|&l| decode_with(rest, l, 0).ok().map(|d| d.len));
            let mut first = None;
            let mut aligned = None;
            for len in lens {
                first.get_or_insert(len);
                if rest.get(len).is_none_or(|&b| is_event_id(b)) {
                    aligned = Some(len);
                    break;
                }
            }
            aligned.or(first)
        };
        match len {
            Some(len) => pos += len,
            None => return count,
        }
    }
    LOOKAHEAD
}

fn decode_with(buf: &[u8], layout: Layout, base: usize) -> Result<Decoded<Event>, DecodeError> {
    let (first, mut r) = reader(buf, base)?;
    let message = message(first, &mut r, layout)?;
    Ok(Decoded { message, len: r.pos(), warnings: std::mem::take(&mut r.warnings) })
}

/// Checks the id byte and starts a reader after it.
fn reader(buf: &[u8], base: usize) -> Result<(u8, Reader<'_>), DecodeError> {
    let &first = buf.first().ok_or(DecodeError::Empty)?;
    if !is_event_id(first) {
        return Err(DecodeError::UnknownId { id: first, offset: base });
    }
    let mut r = Reader::new(buf, event_name_of(first));
    r.base = base;
    Ok((first, r))
}

/// The fields after the id byte. Always inlined: an [`Event`] is about 150 bytes, and built in
/// place in its caller's return value it is not copied again on the way out, which is a good
/// part of the cost of decoding a 33-byte CAR_UPDATE.
#[inline(always)]
fn message(first: u8, r: &mut Reader<'_>, layout: Layout) -> Result<Event, DecodeError> {
    Ok(match first {
        id::NEW_SESSION => Event::NewSession(session_info(r, layout)?),
        id::SESSION_INFO => Event::SessionInfo(session_info(r, layout)?),
        id::NEW_CONNECTION => Event::NewConnection(connection(r)?),
        id::CONNECTION_CLOSED => Event::ConnectionClosed(connection(r)?),
        id::CAR_UPDATE => Event::CarUpdate(CarUpdate {
            car_id: r.u8("car_id")?,
            position: r.vec3("position")?,
            velocity: r.vec3("velocity")?,
            gear: r.u8("gear")?,
            engine_rpm: r.u16("engine_rpm")?,
            normalized_spline_pos: r.f32("normalized_spline_pos")?,
        }),
        id::CAR_INFO => Event::CarInfo(CarInfo {
            car_id: r.u8("car_id")?,
            is_connected: r.bool("is_connected")?,
            car_model: r.strw("car_model")?,
            car_skin: r.strw("car_skin")?,
            driver_name: r.strw("driver_name")?,
            driver_team: r.strw("driver_team")?,
            driver_guid: r.strw("driver_guid")?,
        }),
        id::END_SESSION => Event::EndSession(EndSession { filename: r.strw("filename")? }),
        id::VERSION => Event::Version(Version { protocol_version: r.u8("protocol_version")? }),
        id::CHAT => Event::Chat(Chat { car_id: r.u8("car_id")?, message: r.strw("message")? }),
        id::CLIENT_LOADED => Event::ClientLoaded(ClientLoaded { car_id: r.u8("car_id")? }),
        id::ERROR => Event::Error(ErrorMessage { message: r.strw("message")? }),
        id::LAP_COMPLETED => Event::LapCompleted(lap_completed(r, layout)?),
        _ => client_event(r)?,
    })
}

fn session_info(r: &mut Reader<'_>, layout: Layout) -> Result<SessionInfo, DecodeError> {
    let protocol_version = r.u8("protocol_version")?;
    let session_index = r.u8("session_index")?;
    let current_session_index = r.u8("current_session_index")?;
    let session_count = r.u8("session_count")?;
    let server_name = r.strw("server_name")?;
    let track = r.str8("track")?;
    let track_config = r.str8("track_config")?;
    let name = r.str8("name")?;
    let session_type = SessionType::from(r.u8("session_type")?);
    let time = r.u16("time")?;
    let laps = r.u16("laps")?;
    let wait_time = r.u16("wait_time")?;
    let ambient_temp = r.u8("ambient_temp")?;
    let road_temp = r.u8("road_temp")?;
    // The stock server writes the weather narrow, AssettoServer wide. After the length byte L,
    // the stock layout leaves exactly L + 4 bytes and AssettoServer's 4·L + 4.
    let weather_encoding = match layout.weather {
        Some(w) => w,
        None => match r.peek_u8() {
            Some(l) => {
                let (l, rest) = (l as usize, r.remaining() - 1);
                if rest != l + 4 && rest == 4 * l + 4 { StringWidth::Wide } else { StringWidth::Narrow }
            }
            None => StringWidth::Narrow,
        },
    };
    let weather_graphics = match weather_encoding {
        StringWidth::Narrow => r.str8("weather_graphics")?,
        StringWidth::Wide => r.strw("weather_graphics")?,
    };
    let elapsed_ms = r.i32("elapsed_ms")?;
    Ok(SessionInfo {
        protocol_version,
        session_index,
        current_session_index,
        session_count,
        server_name,
        track,
        track_config,
        name,
        session_type,
        time,
        laps,
        wait_time,
        ambient_temp,
        road_temp,
        weather_graphics,
        weather_encoding,
        elapsed_ms,
    })
}

fn connection(r: &mut Reader<'_>) -> Result<ConnectionInfo, DecodeError> {
    Ok(ConnectionInfo {
        driver_name: r.strw("driver_name")?,
        driver_guid: r.strw("driver_guid")?,
        car_id: r.u8("car_id")?,
        car_model: r.str8("car_model")?,
        car_skin: r.str8("car_skin")?,
    })
}

fn lap_completed(r: &mut Reader<'_>, layout: Layout) -> Result<LapCompleted, DecodeError> {
    let car_id = r.u8("car_id")?;
    let lap_time = r.u32("lap_time")?;
    let cuts = r.u8("cuts")?;
    let n = r.u8("leaderboard_count")? as usize;
    // AC 1.7 grew the entry from 7 to 8 bytes without a version bump: tell them apart by length.
    // Only an exact fit means the old layout. Anything else is read as the modern one: longer is
    // a newer server's trailing bytes, shorter (even between the two sizes) a damaged message,
    // which must be an error rather than 7-byte entries read from 8-byte ones, all shifted.
    let rest = r.remaining();
    let entry = layout.entry.unwrap_or(if n > 0 && rest == 7 * n + 4 { 7 } else { 8 });
    if rest < entry * n {
        return Err(r.truncated("leaderboard", entry * n + 4));
    }
    let mut leaderboard = Vec::with_capacity(n);
    for _ in 0..n {
        leaderboard.push(LeaderboardEntry {
            car_id: r.u8("leaderboard.car_id")?,
            time: r.u32("leaderboard.time")?,
            laps: r.u16("leaderboard.laps")?,
            has_completed: if entry == 8 { Some(r.bool("leaderboard.has_completed")?) } else { None },
        });
    }
    let grip_level = r.f32("grip_level")?;
    Ok(LapCompleted { car_id, lap_time, cuts, leaderboard, grip_level })
}

fn client_event(r: &mut Reader<'_>) -> Result<Event, DecodeError> {
    let at = r.pos();
    let subtype = r.u8("event_type")?;
    match subtype {
        id::CE_COLLISION_WITH_CAR => Ok(Event::CollisionWithCar(CollisionWithCar {
            car_id: r.u8("car_id")?,
            other_car_id: r.u8("other_car_id")?,
            impact_speed: r.f32("impact_speed")?,
            world_position: r.vec3("world_position")?,
            relative_position: r.vec3("relative_position")?,
        })),
        id::CE_COLLISION_WITH_ENV => Ok(Event::CollisionWithEnv(CollisionWithEnv {
            car_id: r.u8("car_id")?,
            impact_speed: r.f32("impact_speed")?,
            world_position: r.vec3("world_position")?,
            relative_position: r.vec3("relative_position")?,
        })),
        subtype => Err(DecodeError::UnknownClientEvent { subtype, offset: r.base + at }),
    }
}

/// Encodes an event as the server would send it (used by the simulator and the relay).
pub fn encode_event(event: &Event, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    let start = out.len();
    let result = encode_event_inner(event, out);
    if result.is_err() {
        // Leave the buffer as it was: no half-written message.
        out.truncate(start);
    }
    result
}

fn encode_event_inner(event: &Event, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    let mut w = Writer { out, name: event.name() };
    w.u8(event.id());
    match event {
        Event::NewSession(s) | Event::SessionInfo(s) => {
            w.u8(s.protocol_version);
            w.u8(s.session_index);
            w.u8(s.current_session_index);
            w.u8(s.session_count);
            w.strw("server_name", &s.server_name)?;
            w.str8("track", &s.track)?;
            w.str8("track_config", &s.track_config)?;
            w.str8("name", &s.name)?;
            w.u8(s.session_type.to_u8());
            w.u16(s.time);
            w.u16(s.laps);
            w.u16(s.wait_time);
            w.u8(s.ambient_temp);
            w.u8(s.road_temp);
            match s.weather_encoding {
                StringWidth::Narrow => w.str8("weather_graphics", &s.weather_graphics)?,
                StringWidth::Wide => w.strw("weather_graphics", &s.weather_graphics)?,
            }
            w.i32(s.elapsed_ms);
        }
        Event::NewConnection(c) | Event::ConnectionClosed(c) => {
            w.strw("driver_name", &c.driver_name)?;
            w.strw("driver_guid", &c.driver_guid)?;
            w.u8(c.car_id);
            w.str8("car_model", &c.car_model)?;
            w.str8("car_skin", &c.car_skin)?;
        }
        Event::CarUpdate(c) => {
            w.u8(c.car_id);
            w.vec3(c.position);
            w.vec3(c.velocity);
            w.u8(c.gear);
            w.u16(c.engine_rpm);
            w.f32(c.normalized_spline_pos);
        }
        Event::CarInfo(c) => {
            w.u8(c.car_id);
            w.bool(c.is_connected);
            w.strw("car_model", &c.car_model)?;
            w.strw("car_skin", &c.car_skin)?;
            w.strw("driver_name", &c.driver_name)?;
            w.strw("driver_team", &c.driver_team)?;
            w.strw("driver_guid", &c.driver_guid)?;
        }
        Event::EndSession(e) => w.strw("filename", &e.filename)?,
        Event::Version(v) => w.u8(v.protocol_version),
        Event::Chat(c) => {
            w.u8(c.car_id);
            w.strw("message", &c.message)?;
        }
        Event::ClientLoaded(c) => w.u8(c.car_id),
        Event::Error(e) => w.strw("message", &e.message)?,
        Event::LapCompleted(l) => {
            let n = u8::try_from(l.leaderboard.len())
                .map_err(|_| EncodeError::LeaderboardTooLong { len: l.leaderboard.len() })?;
            // Modern 8-byte entries unless every entry is of the old 7-byte kind.
            let legacy = !l.leaderboard.is_empty() && l.leaderboard.iter().all(|e| e.has_completed.is_none());
            w.u8(l.car_id);
            w.u32(l.lap_time);
            w.u8(l.cuts);
            w.u8(n);
            for e in &l.leaderboard {
                w.u8(e.car_id);
                w.u32(e.time);
                w.u16(e.laps);
                if !legacy {
                    w.bool(e.has_completed.unwrap_or(false));
                }
            }
            w.f32(l.grip_level);
        }
        Event::CollisionWithCar(c) => {
            w.u8(id::CE_COLLISION_WITH_CAR);
            w.u8(c.car_id);
            w.u8(c.other_car_id);
            w.f32(c.impact_speed);
            w.vec3(c.world_position);
            w.vec3(c.relative_position);
        }
        Event::CollisionWithEnv(c) => {
            w.u8(id::CE_COLLISION_WITH_ENV);
            w.u8(c.car_id);
            w.f32(c.impact_speed);
            w.vec3(c.world_position);
            w.vec3(c.relative_position);
        }
    }
    Ok(())
}
