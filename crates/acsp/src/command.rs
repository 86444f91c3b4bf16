//! Plugin → server commands: encode (what a plugin does) and decode (what the simulator and
//! the relay do).

use serde::Serialize;

use crate::error::{DecodeError, EncodeError};
use crate::event::Decoded;
use crate::types::{SessionType, Warning, id};
use crate::wire::{Reader, Writer};

/// One plugin → server message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Command {
    /// 200: send CAR_UPDATE for every car every `interval_ms` (0 disables, per acudpclient).
    RealtimeposInterval {
        /// Interval, ms.
        interval_ms: u16,
    },
    /// 201: ask for CAR_INFO of one car.
    GetCarInfo {
        /// Car id.
        car_id: u8,
    },
    /// 202: private chat to one car.
    SendChat {
        /// Car id.
        car_id: u8,
        /// Text (at most 255 characters).
        message: String,
    },
    /// 203: chat to everybody.
    BroadcastChat {
        /// Text (at most 255 characters).
        message: String,
    },
    /// 204: ask for SESSION_INFO.
    GetSessionInfo {
        /// Session index; -1 means the current session.
        session_index: i16,
    },
    /// 205: change a session. Note the units: seconds here, minutes in NEW_SESSION.
    SetSessionInfo {
        /// Session index.
        session_index: u8,
        /// Session name.
        name: String,
        /// Session type.
        session_type: SessionType,
        /// Laps.
        laps: u32,
        /// Length, seconds.
        time: u32,
        /// Wait time, seconds.
        wait_time: u32,
    },
    /// 206: kick a car.
    KickUser {
        /// Car id.
        car_id: u8,
    },
    /// 207: go to the next session.
    NextSession,
    /// 208: restart the current session.
    RestartSession,
    /// 209: run an admin chat command such as `/ballast 3 50`.
    AdminCommand {
        /// Command text.
        command: String,
    },
}

impl Command {
    /// The message id.
    pub fn id(&self) -> u8 {
        match self {
            Command::RealtimeposInterval { .. } => id::REALTIMEPOS_INTERVAL,
            Command::GetCarInfo { .. } => id::GET_CAR_INFO,
            Command::SendChat { .. } => id::SEND_CHAT,
            Command::BroadcastChat { .. } => id::BROADCAST_CHAT,
            Command::GetSessionInfo { .. } => id::GET_SESSION_INFO,
            Command::SetSessionInfo { .. } => id::SET_SESSION_INFO,
            Command::KickUser { .. } => id::KICK_USER,
            Command::NextSession => id::NEXT_SESSION,
            Command::RestartSession => id::RESTART_SESSION,
            Command::AdminCommand { .. } => id::ADMIN_COMMAND,
        }
    }

    /// The snake-case name.
    pub fn name(&self) -> &'static str {
        command_name_of(self.id())
    }
}

fn command_name_of(b: u8) -> &'static str {
    match b {
        id::REALTIMEPOS_INTERVAL => "realtimepos_interval",
        id::GET_CAR_INFO => "get_car_info",
        id::SEND_CHAT => "send_chat",
        id::BROADCAST_CHAT => "broadcast_chat",
        id::GET_SESSION_INFO => "get_session_info",
        id::SET_SESSION_INFO => "set_session_info",
        id::KICK_USER => "kick_user",
        id::NEXT_SESSION => "next_session",
        id::RESTART_SESSION => "restart_session",
        id::ADMIN_COMMAND => "admin_command",
        _ => "unknown",
    }
}

/// Encodes a command into `out` (appended). On error nothing is appended.
///
/// ```
/// let mut out = Vec::new();
/// acsp::encode(&acsp::Command::GetSessionInfo { session_index: -1 }, &mut out).unwrap();
/// assert_eq!(out, [0xcc, 0xff, 0xff]);
/// ```
pub fn encode(command: &Command, out: &mut Vec<u8>) -> Result<(), EncodeError> {
    let start = out.len();
    let mut w = Writer { out, name: command.name() };
    let result = (|| {
        w.u8(command.id());
        match command {
            Command::RealtimeposInterval { interval_ms } => w.u16(*interval_ms),
            Command::GetCarInfo { car_id } | Command::KickUser { car_id } => w.u8(*car_id),
            Command::SendChat { car_id, message } => {
                w.u8(*car_id);
                w.strw("message", message)?;
            }
            Command::BroadcastChat { message } => w.strw("message", message)?,
            Command::GetSessionInfo { session_index } => w.i16(*session_index),
            Command::SetSessionInfo { session_index, name, session_type, laps, time, wait_time } => {
                w.u8(*session_index);
                w.strw("name", name)?;
                w.u8(session_type.to_u8());
                // Field order on the wire is laps, time, wait.
                w.u32(*laps);
                w.u32(*time);
                w.u32(*wait_time);
            }
            Command::NextSession | Command::RestartSession => {}
            Command::AdminCommand { command } => w.strw("command", command)?,
        }
        Ok(())
    })();
    if result.is_err() {
        out.truncate(start);
    }
    result
}

/// Decodes one command datagram (tolerating trailing bytes).
pub fn decode_command(buf: &[u8]) -> Result<Command, DecodeError> {
    decode_command_datagram(buf).map(|d| d.message)
}

/// Decodes one command datagram, reporting oddities: trailing bytes, acudpclient's byte-order
/// mark in wide strings, GET_SESSION_INFO without its index.
pub fn decode_command_datagram(buf: &[u8]) -> Result<Decoded<Command>, DecodeError> {
    let &first = buf.first().ok_or(DecodeError::Empty)?;
    let name = command_name_of(first);
    if name == "unknown" {
        return Err(DecodeError::UnknownId { id: first, offset: 0 });
    }
    let mut r = Reader::new(buf, name);
    let message = match first {
        id::REALTIMEPOS_INTERVAL => Command::RealtimeposInterval { interval_ms: r.u16("interval_ms")? },
        id::GET_CAR_INFO => Command::GetCarInfo { car_id: r.u8("car_id")? },
        id::SEND_CHAT => Command::SendChat { car_id: r.u8("car_id")?, message: r.strw("message")? },
        id::BROADCAST_CHAT => Command::BroadcastChat { message: r.strw("message")? },
        id::GET_SESSION_INFO => {
            // Assetto Server Manager sends the bare id; the server then means "current".
            if r.remaining() == 0 {
                r.warnings.push(Warning::MissingSessionIndex);
                Command::GetSessionInfo { session_index: -1 }
            } else {
                Command::GetSessionInfo { session_index: r.i16("session_index")? }
            }
        }
        id::SET_SESSION_INFO => Command::SetSessionInfo {
            session_index: r.u8("session_index")?,
            name: r.strw("name")?,
            session_type: SessionType::from(r.u8("session_type")?),
            laps: r.u32("laps")?,
            time: r.u32("time")?,
            wait_time: r.u32("wait_time")?,
        },
        id::KICK_USER => Command::KickUser { car_id: r.u8("car_id")? },
        id::NEXT_SESSION => Command::NextSession,
        id::RESTART_SESSION => Command::RestartSession,
        _ => Command::AdminCommand { command: r.strw("command")? },
    };
    let len = r.pos();
    let mut warnings = std::mem::take(&mut r.warnings);
    if len < buf.len() {
        warnings.push(Warning::TrailingBytes { count: buf.len() - len, offset: len });
    }
    Ok(Decoded { message, len, warnings })
}
