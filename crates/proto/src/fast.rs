//! A faster decoder of `TelemetryFrame`, with exactly prost's result.
//!
//! Every frame pitwall stores is decoded more than once: by the ingest server before it acks,
//! by its Parquet sink, and by `pitwall convert`. prost's generated decoder is general: each
//! nested `Wheels` or `Vec3` goes through its merge loop, and each field through a key decode
//! and a wire-type check. That costs about 15k instructions for a car's ~960-byte frame.
//!
//! [`decode_frame_into`] walks the wire once with a hand-written match on the field tags. It
//! handles the fields every frame carries, in the encoding prost writes: floats and varints,
//! packed repeated floats, `Wheels` and `Vec3` whose fields are single-byte keys, the session id
//! and the tyre compound. Anything else is left to prost, which then decodes the whole message
//! from the start. That covers an unknown field, the session metadata (the first frame of a
//! session only), an unpacked repeated float, a padded key inside a `Wheels` or `Vec3`, a length
//! that runs past its message, invalid UTF-8 and any error. The result is therefore always prost's, the same frame
//! or the same error. The differential fuzz target `proto_fast` checks that on damaged and
//! random input, and the tests below check it for a frame with every field set.
//!
//! A field added to the proto is decoded by prost until it gets an arm here. The exhaustive
//! struct literal in the tests stops compiling until then, and the test
//! `every_field_takes_the_fast_path` fails.

use bytes::Bytes;
use prost::{DecodeError, Message as _};

use crate::telemetry::v1::{TelemetryFrame, Vec3, Wheels};

/// Decodes `bytes` into `frame`, whatever it held before. The result is the same as
/// `frame.clear(); frame.merge(bytes)` with prost, frame and error alike, at about a third
/// of the instructions. The capacity of `frame`'s vectors and string is kept, so a loop that
/// decodes into one frame does not allocate.
///
/// ```
/// use prost::Message as _;
/// use proto::telemetry::v1::{TelemetryFrame, Wheels};
///
/// let sent = TelemetryFrame {
///     seq: 7,
///     speed_kmh: 212.5,
///     tyre_pressure_psi: Some(Wheels { fl: 27.1, fr: 27.3, rl: 26.8, rr: 26.9 }),
///     ..Default::default()
/// };
/// let mut frame = TelemetryFrame::default();
/// proto::decode_frame_into(&mut frame, sent.encode_to_vec().into())?;
/// assert_eq!(frame, sent);
/// assert!(proto::decode_frame_into(&mut frame, vec![0x0a, 0x05, 0x01].into()).is_err());
/// # Ok::<(), prost::DecodeError>(())
/// ```
pub fn decode_frame_into(frame: &mut TelemetryFrame, bytes: Bytes) -> Result<(), DecodeError> {
    frame.clear();
    if fast(frame, &bytes).is_some() {
        return Ok(());
    }
    frame.clear();
    frame.merge(bytes)
}

/// Wire types.
const VARINT: u32 = 0;
const LEN: u32 = 2;
const FIXED32: u32 = 5;

/// Decodes `buf` into a cleared `frame`; `None` where prost must decide.
fn fast(frame: &mut TelemetryFrame, buf: &Bytes) -> Option<()> {
    let b: &[u8] = buf;
    let mut i = 0;
    while i < b.len() {
        let key = varint(b, &mut i)?;
        if key > u64::from(u32::MAX) {
            return None;
        }
        let (tag, wt) = ((key >> 3) as u32, (key & 7) as u32);
        match tag {
            1 => frame.session_id = bytes_field(buf, b, &mut i, wt)?,
            2 => frame.seq = varint_field(b, &mut i, wt)?,
            3 => frame.wall_time_ns = varint_field(b, &mut i, wt)? as i64,
            4 => frame.mono_time_ns = varint_field(b, &mut i, wt)? as i64,
            5 => frame.physics_packet_id = varint_field(b, &mut i, wt)? as i32,
            6 => frame.graphics_packet_id = varint_field(b, &mut i, wt)? as i32,
            7 => frame.missed_steps = varint_field(b, &mut i, wt)? as u32,
            // 8: `session` (SessionMetadata, the first frame of a session only): prost.
            9 => frame.throttle = f32_(b, &mut i, wt)?,
            10 => frame.brake = f32_(b, &mut i, wt)?,
            11 => frame.clutch = f32_(b, &mut i, wt)?,
            12 => frame.steering = f32_(b, &mut i, wt)?,
            13 => frame.gear = varint_field(b, &mut i, wt)? as i32,
            14 => frame.rpm = varint_field(b, &mut i, wt)? as i32,
            15 => frame.speed_kmh = f32_(b, &mut i, wt)?,
            16 => frame.velocity = Some(vec3(b, &mut i, wt, frame.velocity.unwrap_or_default())?),
            17 => frame.local_velocity = Some(vec3(b, &mut i, wt, frame.local_velocity.unwrap_or_default())?),
            18 => frame.acc_g = Some(vec3(b, &mut i, wt, frame.acc_g.unwrap_or_default())?),
            19 => {
                frame.local_angular_velocity =
                    Some(vec3(b, &mut i, wt, frame.local_angular_velocity.unwrap_or_default())?)
            }
            20 => frame.heading_rad = f32_(b, &mut i, wt)?,
            21 => frame.pitch_rad = f32_(b, &mut i, wt)?,
            22 => frame.roll_rad = f32_(b, &mut i, wt)?,
            23 => frame.cg_height_m = f32_(b, &mut i, wt)?,
            24 => frame.ride_height_front_m = f32_(b, &mut i, wt)?,
            25 => frame.ride_height_rear_m = f32_(b, &mut i, wt)?,
            26 => frame.position_m = Some(vec3(b, &mut i, wt, frame.position_m.unwrap_or_default())?),
            27 => frame.wheel_slip = Some(wheels(b, &mut i, wt, frame.wheel_slip.unwrap_or_default())?),
            28 => frame.wheel_load_n = Some(wheels(b, &mut i, wt, frame.wheel_load_n.unwrap_or_default())?),
            29 => {
                frame.tyre_pressure_psi =
                    Some(wheels(b, &mut i, wt, frame.tyre_pressure_psi.unwrap_or_default())?)
            }
            30 => {
                frame.wheel_angular_speed_rad_s =
                    Some(wheels(b, &mut i, wt, frame.wheel_angular_speed_rad_s.unwrap_or_default())?)
            }
            31 => frame.tyre_wear = Some(wheels(b, &mut i, wt, frame.tyre_wear.unwrap_or_default())?),
            32 => frame.tyre_dirt = Some(wheels(b, &mut i, wt, frame.tyre_dirt.unwrap_or_default())?),
            33 => {
                frame.tyre_core_temp_c =
                    Some(wheels(b, &mut i, wt, frame.tyre_core_temp_c.unwrap_or_default())?)
            }
            34 => {
                frame.tyre_temp_inner_c =
                    Some(wheels(b, &mut i, wt, frame.tyre_temp_inner_c.unwrap_or_default())?)
            }
            35 => {
                frame.tyre_temp_middle_c =
                    Some(wheels(b, &mut i, wt, frame.tyre_temp_middle_c.unwrap_or_default())?)
            }
            36 => {
                frame.tyre_temp_outer_c =
                    Some(wheels(b, &mut i, wt, frame.tyre_temp_outer_c.unwrap_or_default())?)
            }
            37 => frame.camber_rad = Some(wheels(b, &mut i, wt, frame.camber_rad.unwrap_or_default())?),
            38 => {
                frame.suspension_travel_m =
                    Some(wheels(b, &mut i, wt, frame.suspension_travel_m.unwrap_or_default())?)
            }
            39 => frame.brake_temp_c = Some(wheels(b, &mut i, wt, frame.brake_temp_c.unwrap_or_default())?),
            40 => frame.slip_ratio = Some(wheels(b, &mut i, wt, frame.slip_ratio.unwrap_or_default())?),
            41 => {
                frame.slip_angle_rad = Some(wheels(b, &mut i, wt, frame.slip_angle_rad.unwrap_or_default())?)
            }
            42 => {
                frame.tyre_force_long_n =
                    Some(wheels(b, &mut i, wt, frame.tyre_force_long_n.unwrap_or_default())?)
            }
            43 => {
                frame.tyre_force_lat_n =
                    Some(wheels(b, &mut i, wt, frame.tyre_force_lat_n.unwrap_or_default())?)
            }
            44 => {
                frame.self_aligning_torque_nm =
                    Some(wheels(b, &mut i, wt, frame.self_aligning_torque_nm.unwrap_or_default())?)
            }
            45 => {
                frame.suspension_damage =
                    Some(wheels(b, &mut i, wt, frame.suspension_damage.unwrap_or_default())?)
            }
            46 => frame.tyre_temp_c = Some(wheels(b, &mut i, wt, frame.tyre_temp_c.unwrap_or_default())?),
            47 => frame.tyre_contact_point_m.push(vec3(b, &mut i, wt, Vec3::default())?),
            48 => frame.fuel_l = f32_(b, &mut i, wt)?,
            49 => frame.turbo_boost = f32_(b, &mut i, wt)?,
            50 => frame.ballast_kg = f32_(b, &mut i, wt)?,
            51 => frame.tc = f32_(b, &mut i, wt)?,
            52 => frame.abs = f32_(b, &mut i, wt)?,
            53 => frame.tc_in_action = varint_field(b, &mut i, wt)? != 0,
            54 => frame.abs_in_action = varint_field(b, &mut i, wt)? != 0,
            55 => frame.pit_limiter = varint_field(b, &mut i, wt)? != 0,
            56 => frame.auto_shifter = varint_field(b, &mut i, wt)? != 0,
            57 => frame.drs = f32_(b, &mut i, wt)?,
            58 => frame.drs_available = varint_field(b, &mut i, wt)? != 0,
            59 => frame.drs_enabled = varint_field(b, &mut i, wt)? != 0,
            60 => frame.brake_bias = f32_(b, &mut i, wt)?,
            61 => frame.engine_brake = varint_field(b, &mut i, wt)? as i32,
            62 => frame.kers_charge = f32_(b, &mut i, wt)?,
            63 => frame.kers_input = f32_(b, &mut i, wt)?,
            64 => frame.kers_current_kj = f32_(b, &mut i, wt)?,
            65 => frame.ers_recovery_level = varint_field(b, &mut i, wt)? as i32,
            66 => frame.ers_power_level = varint_field(b, &mut i, wt)? as i32,
            67 => frame.ers_heat_charging = varint_field(b, &mut i, wt)? != 0,
            68 => frame.ers_is_charging = varint_field(b, &mut i, wt)? != 0,
            69 => frame.p2p_activations = varint_field(b, &mut i, wt)? as i32,
            70 => frame.p2p_status = varint_field(b, &mut i, wt)? as i32,
            71 => frame.current_max_rpm = varint_field(b, &mut i, wt)? as i32,
            72 => frame.final_ff = f32_(b, &mut i, wt)?,
            73 => frame.performance_meter = f32_(b, &mut i, wt)?,
            74 => packed_f32(b, &mut i, wt, &mut frame.car_damage)?,
            75 => frame.tyres_out = varint_field(b, &mut i, wt)? as i32,
            76 => frame.is_ai_controlled = varint_field(b, &mut i, wt)? != 0,
            77 => frame.status = varint_field(b, &mut i, wt)? as i32,
            78 => frame.session_type = varint_field(b, &mut i, wt)? as i32,
            79 => frame.completed_laps = varint_field(b, &mut i, wt)? as i32,
            80 => frame.position = varint_field(b, &mut i, wt)? as i32,
            81 => frame.current_lap_ms = varint_field(b, &mut i, wt)? as i32,
            82 => frame.last_lap_ms = varint_field(b, &mut i, wt)? as i32,
            83 => frame.best_lap_ms = varint_field(b, &mut i, wt)? as i32,
            84 => frame.session_time_left_ms = f32_(b, &mut i, wt)?,
            85 => frame.distance_traveled_m = f32_(b, &mut i, wt)?,
            86 => frame.current_sector = varint_field(b, &mut i, wt)? as i32,
            87 => frame.last_sector_ms = varint_field(b, &mut i, wt)? as i32,
            88 => frame.number_of_laps = varint_field(b, &mut i, wt)? as i32,
            89 => frame.normalized_position = f32_(b, &mut i, wt)?,
            90 => frame.in_pit = varint_field(b, &mut i, wt)? != 0,
            91 => frame.in_pit_lane = varint_field(b, &mut i, wt)? != 0,
            92 => frame.flag = varint_field(b, &mut i, wt)? as i32,
            93 => frame.penalty_time_s = f32_(b, &mut i, wt)?,
            94 => frame.surface_grip = f32_(b, &mut i, wt)?,
            95 => string(b, &mut i, wt, &mut frame.tyre_compound)?,
            96 => frame.mandatory_pit_done = varint_field(b, &mut i, wt)? != 0,
            97 => frame.ideal_line_on = varint_field(b, &mut i, wt)? != 0,
            98 => frame.air_temp_c = f32_(b, &mut i, wt)?,
            99 => frame.road_temp_c = f32_(b, &mut i, wt)?,
            100 => frame.air_density = f32_(b, &mut i, wt)?,
            101 => frame.wind_speed = f32_(b, &mut i, wt)?,
            102 => frame.wind_direction_deg = f32_(b, &mut i, wt)?,
            103 => frame.replay_time_multiplier = f32_(b, &mut i, wt)?,
            _ => return None,
        }
    }
    Some(())
}

/// A base-128 varint as prost reads it: at most ten bytes, the tenth at most 1. Not prost's own
/// `encoding::decode_varint` (which `ingest::message` uses): called from here it made the whole
/// decoder take 2.7 times as long (`cargo bench -p pitwall-record -- decode/`: 4.5 ms against
/// 1.7 ms for 10,000 frames).
#[inline(always)]
fn varint(b: &[u8], i: &mut usize) -> Option<u64> {
    let first = *b.get(*i)?;
    if first < 0x80 {
        *i += 1;
        return Some(u64::from(first));
    }
    // Two bytes: every key of tag 16 and above, and most lengths.
    if let Some(&second) = b.get(*i + 1)
        && second < 0x80
    {
        *i += 2;
        return Some(u64::from(first & 0x7f) | u64::from(second) << 7);
    }
    let mut value = 0u64;
    for n in 0..10 {
        let byte = *b.get(*i + n)?;
        if n == 9 && byte > 1 {
            return None;
        }
        value |= u64::from(byte & 0x7f) << (7 * n);
        if byte < 0x80 {
            *i += n + 1;
            return Some(value);
        }
    }
    None
}

#[inline(always)]
fn varint_field(b: &[u8], i: &mut usize, wt: u32) -> Option<u64> {
    if wt != VARINT {
        return None;
    }
    varint(b, i)
}

#[inline(always)]
fn f32_(b: &[u8], i: &mut usize, wt: u32) -> Option<f32> {
    if wt != FIXED32 {
        return None;
    }
    let bytes = b.get(*i..*i + 4)?;
    *i += 4;
    Some(f32::from_le_bytes(bytes.try_into().ok()?))
}

/// The bounds of a length-delimited field's content, which must lie within `b`.
#[inline(always)]
fn delimited(b: &[u8], i: &mut usize, wt: u32) -> Option<(usize, usize)> {
    if wt != LEN {
        return None;
    }
    let len = varint(b, i)?;
    let start = *i;
    if len > (b.len() - start) as u64 {
        return None;
    }
    let end = start + len as usize;
    *i = end;
    Some((start, end))
}

fn bytes_field(buf: &Bytes, b: &[u8], i: &mut usize, wt: u32) -> Option<Bytes> {
    let (start, end) = delimited(b, i, wt)?;
    Some(buf.slice(start..end))
}

fn string(b: &[u8], i: &mut usize, wt: u32, s: &mut String) -> Option<()> {
    let (start, end) = delimited(b, i, wt)?;
    let text = std::str::from_utf8(&b[start..end]).ok()?;
    s.clear();
    s.push_str(text);
    Some(())
}

fn packed_f32(b: &[u8], i: &mut usize, wt: u32, v: &mut Vec<f32>) -> Option<()> {
    let (start, end) = delimited(b, i, wt)?;
    let body = &b[start..end];
    if body.len() % 4 != 0 {
        return None;
    }
    v.extend(body.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])));
    Some(())
}

/// The content of a nested message of fixed32 fields with tags 1..=N (single-byte keys): calls
/// `set(tag, value)` for each, in order. A field that runs past the message is prost's to
/// refuse.
#[inline(always)]
fn fixed32_fields(b: &[u8], i: &mut usize, wt: u32, max_tag: u8, mut set: impl FnMut(u8, f32)) -> Option<()> {
    let (start, end) = delimited(b, i, wt)?;
    let mut j = start;
    while j < end {
        let key = b[j];
        if key & 7 != FIXED32 as u8 || key >> 3 == 0 || key >> 3 > max_tag || end - j < 5 {
            return None;
        }
        set(key >> 3, f32::from_le_bytes([b[j + 1], b[j + 2], b[j + 3], b[j + 4]]));
        j += 5;
    }
    Some(())
}

/// The float of a fixed32 field whose key is at `at`.
#[inline(always)]
fn f32_at<const N: usize>(body: &[u8; N], at: usize) -> f32 {
    f32::from_le_bytes([body[at + 1], body[at + 2], body[at + 3], body[at + 4]])
}

/// A `Wheels` merged into `w` (prost merges a message field that comes twice).
#[inline(always)]
fn wheels(b: &[u8], i: &mut usize, wt: u32, mut w: Wheels) -> Option<Wheels> {
    // The usual case, four wheels none of them zero, as prost writes them: 20 bytes.
    if wt == LEN
        && let Some(body) = b.get(*i + 1..*i + 21)
        && b[*i] == 20
        && let Ok(body) = <&[u8; 20]>::try_from(body)
        && [body[0], body[5], body[10], body[15]] == [0x0d, 0x15, 0x1d, 0x25]
    {
        *i += 21;
        return Some(Wheels {
            fl: f32_at(body, 0),
            fr: f32_at(body, 5),
            rl: f32_at(body, 10),
            rr: f32_at(body, 15),
        });
    }
    fixed32_fields(b, i, wt, 4, |tag, v| match tag {
        1 => w.fl = v,
        2 => w.fr = v,
        3 => w.rl = v,
        _ => w.rr = v,
    })?;
    Some(w)
}

/// A `Vec3` merged into `v`.
#[inline(always)]
fn vec3(b: &[u8], i: &mut usize, wt: u32, mut v: Vec3) -> Option<Vec3> {
    if wt == LEN
        && let Some(body) = b.get(*i + 1..*i + 16)
        && b[*i] == 15
        && let Ok(body) = <&[u8; 15]>::try_from(body)
        && [body[0], body[5], body[10]] == [0x0d, 0x15, 0x1d]
    {
        *i += 16;
        return Some(Vec3 { x: f32_at(body, 0), y: f32_at(body, 5), z: f32_at(body, 10) });
    }
    fixed32_fields(b, i, wt, 3, |tag, x| match tag {
        1 => v.x = x,
        2 => v.y = x,
        _ => v.z = x,
    })?;
    Some(v)
}

#[cfg(test)]
mod tests;
