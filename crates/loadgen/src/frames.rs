//! The realistic frame: what a bridge sends for a Formula 1 car racing at the Red Bull Ring.
//!
//! [`realistic`] builds frame `seq` of a session as a structured [`TelemetryFrame`]. It is
//! deterministic (the same arguments give the same frame) and cheap, and its values move the
//! way a car's do: lap by lap ([`LAP_FRAMES`] frames each), braking zones, corners and
//! straights, a pit stop at the end of lap [`PIT_LAP`], tyres warming and wearing, fuel going
//! down. Every field of the message is assigned (the constructor names them all, so a field
//! added to the proto breaks the build here until someone gives it a value), and every field
//! takes a value other than its default on some frame of the first laps, so that a converter or
//! a sink that drops a field is caught; four stay at zero because they do not apply:
//! `is_ai_controlled` (a person drives), `p2p_activations` and `p2p_status` (the car has no
//! push-to-pass) and `session.is_timed_race` (a race of 20 laps). `session` is set on seq 0
//! only, as a bridge sends it.
//!
//! [`Template`] is the fast path of a load generator: [`TEMPLATE_FRAMES`] consecutive frames
//! encoded once, then sent in turn again and again with only `seq` in front of the bytes.
//! Protobuf accepts fields in any order, so the result decodes to the template's frame with that
//! `seq`. The frames differ as a car's consecutive frames do, so what compresses them (Parquet's
//! zstd, a JetStream message, a recording's gzip) meets the work a real car gives it, not one
//! frame repeated.

use std::f64::consts::TAU;

use bytes::{BufMut as _, Bytes, BytesMut};
use prost::Message as _;
use proto::telemetry::v1::{Flag, GameStatus, SessionMetadata, SessionType, TelemetryFrame, Vec3, Wheels};

/// Physics steps per second in Assetto Corsa; a bridge sends one frame per step.
pub const FRAMES_PER_SECOND: u64 = 333;

/// Frames per lap: 75 s at 333 Hz, a Formula 1 lap of the Red Bull Ring.
pub const LAP_FRAMES: u64 = 25_000;

/// The lap (0-based) at whose end the car stops in the pit box, inside the race's pit window.
pub const PIT_LAP: u64 = 2;

/// Wall clock of frame 0, ns since the Unix epoch: 2024-11-07 17:20:00 UTC.
pub const WALL0_NS: i64 = 1_731_000_000_000_000_000;

/// The first frame a [`Template`] made by [`Template::new`] holds: mid-lap at speed on the fourth
/// lap, after the pit stop, with no metadata (a frame like almost every other a bridge sends).
pub const TEMPLATE_SEQ: u64 = 3 * LAP_FRAMES + LAP_FRAMES * 61 / 100;

/// How many consecutive frames a [`Template`] made by [`Template::new`] holds: 12 s of driving
/// (straights, braking zones and corners), more than a JetStream message or a Parquet page
/// holds, 4 MB per stream.
pub const TEMPLATE_FRAMES: u64 = 4096;

/// Time between two frames, ns (1/333 s).
const STEP_NS: i64 = 3_003_003;

/// Track length, m.
const TRACK_M: f64 = 4_318.0;

/// Where on the lap (normalized position) the pit lane starts and ends, and the car stands in
/// its box, on lap [`PIT_LAP`].
const PIT_LANE: (f64, f64) = (0.95, 1.0);
const PIT_BOX: (f64, f64) = (0.97, 0.975);

/// Where on lap 1 the car runs wide (two tyres off track) and earns a 5 s penalty, and where the
/// yellow flag is out on that lap.
const OFF_TRACK: (f64, f64) = (0.70, 0.703);
const YELLOW: (f64, f64) = (0.40, 0.43);

/// Where on lap 1 the car touches another: light body and suspension damage from there on.
const CONTACT: f64 = 0.30;

/// A 16-byte session id shaped like the bridge's UUIDv7s (version and variant bits set),
/// distinct per `n`.
pub fn session_id(n: u32) -> [u8; 16] {
    let mut id = [0u8; 16];
    id[..6].copy_from_slice(&[0x01, 0x93, 0x2b, 0x6e, 0x40, 0x00]);
    id[6] = 0x70;
    id[8] = 0x80;
    id[12..].copy_from_slice(&n.to_be_bytes());
    id
}

/// What the static page says about the session of [`realistic`]'s frames; every field set.
pub fn metadata() -> SessionMetadata {
    SessionMetadata {
        car_model: "ks_ferrari_sf15t".into(),
        car_skin: "scuderia_ferrari_05".into(),
        track: "ks_red_bull_ring".into(),
        track_configuration: "layout_gp".into(),
        player_name: "Ayrton".into(),
        player_surname: "Pitwall".into(),
        player_nick: "APW".into(),
        session_type: SessionType::Race as i32,
        sector_count: 3,
        max_rpm: 15_000,
        max_fuel: 135.0,
        max_torque_nm: 600.0,
        max_power_w: 670_000.0,
        suspension_max_travel_m: wheels4(0.045, 0.045, 0.06, 0.06),
        tyre_radius_m: wheels4(0.33, 0.33, 0.335, 0.335),
        max_turbo_boost: 3.5,
        track_spline_length_m: TRACK_M as f32,
        sm_version: "1.7".into(),
        ac_version: "1.16".into(),
        number_of_sessions: 3,
        num_cars: 20,
        penalties_enabled: true,
        aid_fuel_rate: 1.0,
        aid_tire_rate: 1.0,
        aid_mechanical_damage: 0.5,
        aid_allow_tyre_blankets: true,
        aid_stability: 0.1,
        aid_auto_clutch: true,
        aid_auto_blip: true,
        has_drs: true,
        has_ers: true,
        has_kers: true,
        kers_max_j: 4_000_000.0,
        ers_max_j: 4_000_000.0,
        engine_brake_settings_count: 11,
        ers_power_controller_count: 6,
        is_timed_race: false,
        // The server's setting, reported as configured even for a race of laps.
        has_extra_lap: true,
        reversed_grid_positions: 8,
        pit_window_start: 2,
        pit_window_end: 4,
        source: concat!("pitwall-loadgen ", env!("CARGO_PKG_VERSION")).into(),
        started_unix_ns: WALL0_NS,
    }
}

fn wheels4(fl: f32, fr: f32, rl: f32, rr: f32) -> Option<Wheels> {
    Some(Wheels { fl, fr, rl, rr })
}

/// Four values around `base`, apart by up to `spread`, moving with `phase`.
fn wheels(base: f64, spread: f64, phase: f64) -> Option<Wheels> {
    wheels4(
        (base + spread * phase.sin()) as f32,
        (base + spread * (phase + 0.4).sin()) as f32,
        (base - spread * (phase + 0.8).cos()) as f32,
        (base - spread * (phase + 1.2).cos()) as f32,
    )
}

fn vec3(x: f64, y: f64, z: f64) -> Option<Vec3> {
    Some(Vec3 { x: x as f32, y: y as f32, z: z as f32 })
}

fn within(x: f64, (from, to): (f64, f64)) -> bool {
    (from..to).contains(&x)
}

/// Frame `seq` of session `session_id`: every field set, values as a bridge would send them for
/// a Formula 1 car racing (see the [module docs](self)). `session` is set on seq 0 only.
///
/// ```
/// let id = loadgen::frames::session_id(1);
/// let first = loadgen::frames::realistic(id, 0);
/// assert_eq!(first.session.unwrap().car_model, "ks_ferrari_sf15t");
/// let later = loadgen::frames::realistic(id, 40_000);
/// assert_eq!((later.seq, later.completed_laps, later.session), (40_000, 1, None));
/// assert!(later.speed_kmh > 80.0 && later.tyre_pressure_psi.is_some());
/// ```
pub fn realistic(session_id: [u8; 16], seq: u64) -> TelemetryFrame {
    let lap = seq / LAP_FRAMES;
    let pos = (seq % LAP_FRAMES) as f64 / LAP_FRAMES as f64;
    // Seconds since the session started; f64 keeps the phases exact for any seq a test uses.
    let t = seq as f64 / FRAMES_PER_SECOND as f64;
    let laps = lap as f64 + pos;
    let seq_i64 = i64::try_from(seq).unwrap_or(i64::MAX);
    let wall_ns = |base: i64| base.saturating_add(seq_i64.saturating_mul(STEP_NS));

    let pitting = lap == PIT_LAP;
    let in_pit_lane = pitting && within(pos, PIT_LANE);
    let in_pit = pitting && within(pos, PIT_BOX);
    let stopped_once = lap > PIT_LAP || (pitting && pos >= PIT_BOX.1);
    let damaged = lap > 1 || (lap == 1 && pos >= CONTACT);
    let penalised = lap > 1 || (lap == 1 && pos >= OFF_TRACK.1);
    // Laps on the tyres fitted at the stop (or at the start).
    let stint = if stopped_once { laps - (PIT_LAP as f64 + PIT_BOX.1) } else { laps };

    // Three corners and three straights a lap; `accel` > 0 where the car speeds up.
    let phase = TAU * 3.0 * pos;
    let racing_speed = 205.0 + 85.0 * phase.sin() + 15.0 * (TAU * (7.0 * pos + 0.1)).cos();
    let accel = phase.cos();
    let corner = (1.0 - phase.sin()) / 2.0;
    let speed = if in_pit {
        0.0
    } else if in_pit_lane {
        80.0
    } else {
        racing_speed
    };
    let (throttle, brake) = if in_pit {
        (0.0, 0.0)
    } else if in_pit_lane {
        (0.35, 0.0)
    } else if accel > -0.3 {
        ((0.6 + 0.6 * accel).clamp(0.0, 1.0), 0.0)
    } else {
        (0.0, ((-accel - 0.3) * 1.4).clamp(0.0, 1.0))
    };
    let steering = if in_pit { 0.0 } else { 0.35 * corner * (TAU * 2.0 * pos + 0.7).sin() };
    let band = ((speed - 60.0) / 35.0).max(0.0);
    let gear = if in_pit { 0 } else { (1 + band as i32).clamp(1, 8) };
    let rpm = if in_pit { 4_000 } else { 10_500 + (band.fract() * 4_300.0) as i32 };
    let v = speed / 3.6;
    let heading = TAU * pos - std::f64::consts::PI;
    let lat_g = 3.2 * steering / 0.35;
    let long_g = 0.8 * throttle - 4.5 * brake;
    let drs_enabled = lap >= 2 && !in_pit_lane;
    let drs_available = drs_enabled && pos < 0.12;
    let drs_open = drs_available && accel > -0.3;
    let (px, pz) = (700.0 * (TAU * pos).cos(), 450.0 * (TAU * pos).sin());

    TelemetryFrame {
        session_id: Bytes::copy_from_slice(&session_id),
        seq,
        wall_time_ns: wall_ns(WALL0_NS),
        mono_time_ns: wall_ns(5_000_000_000),
        // The game skips a step now and then (every 997th frame here): the packet id jumps.
        physics_packet_id: 1_000i32.wrapping_add(seq.wrapping_add(seq.wrapping_add(1) / 997) as i32),
        missed_steps: u32::from(seq % 997 == 996),
        graphics_packet_id: 400i32.wrapping_add((seq / 5) as i32),
        session: (seq == 0).then(metadata),
        throttle: throttle as f32,
        brake: brake as f32,
        clutch: if in_pit { 1.0 } else { 0.0 },
        steering: steering as f32,
        gear,
        rpm,
        speed_kmh: speed as f32,
        velocity: vec3(v * heading.cos(), 0.02 * (t * 0.7).sin(), v * heading.sin()),
        local_velocity: vec3(0.4 * steering * v / 10.0, 0.01, v),
        acc_g: vec3(lat_g, 0.05 * (t * 9.0).sin(), long_g),
        local_angular_velocity: vec3(0.01 * (t * 3.0).sin(), steering * v / 40.0, 0.02 * (t * 2.0).cos()),
        heading_rad: heading as f32,
        pitch_rad: (0.004 + 0.01 * brake - 0.003 * throttle) as f32,
        roll_rad: (-0.02 * lat_g / 3.2 + 0.001) as f32,
        cg_height_m: (0.28 + 0.003 * (t * 5.0).sin()) as f32,
        ride_height_front_m: (0.032 - 0.00004 * speed.min(300.0) / 3.0 + 0.002 * (t * 4.0).sin()) as f32,
        ride_height_rear_m: (0.058 - 0.00003 * speed.min(300.0) / 3.0 + 0.002 * (t * 4.1).cos()) as f32,
        position_m: vec3(px, 680.0 + 25.0 * (TAU * pos).sin(), pz),
        wheel_slip: wheels(0.04 + 0.12 * throttle * corner, 0.01, t * 3.0),
        wheel_load_n: wheels(3_500.0 + 9.0 * speed, 400.0 + 300.0 * lat_g.abs(), t * 0.9),
        tyre_pressure_psi: wheels(21.2 + 0.6 * stint.min(2.0) / 2.0, 0.3, t * 0.02),
        wheel_angular_speed_rad_s: wheels(v / 0.33, 0.4, t * 2.0),
        tyre_wear: wheels(99.9 - 0.9 * stint, 0.1, t * 0.01),
        tyre_dirt: wheels(if penalised { 0.3 } else { 0.02 }, 0.01, t * 0.1),
        tyre_core_temp_c: wheels(88.0 + 12.0 * stint.min(1.0), 3.0, t * 0.05),
        tyre_temp_inner_c: wheels(98.0 + 8.0 * corner, 4.0, t * 0.2),
        tyre_temp_middle_c: wheels(95.0 + 6.0 * corner, 4.0, t * 0.21),
        tyre_temp_outer_c: wheels(91.0 + 5.0 * corner, 4.0, t * 0.22),
        camber_rad: wheels4(-0.061, -0.059, -0.031, -0.029),
        suspension_travel_m: wheels(0.022 + 0.00004 * speed, 0.004, t * 6.0),
        brake_temp_c: wheels(420.0 + 500.0 * brake, 40.0, t * 0.3),
        slip_ratio: wheels(0.01 + 0.05 * throttle - 0.08 * brake, 0.005, t * 1.3),
        slip_angle_rad: wheels(0.005 + 0.06 * corner, 0.004, t * 0.45),
        tyre_force_long_n: wheels(3_000.0 * throttle - 9_000.0 * brake + 50.0, 200.0, t * 0.31),
        tyre_force_lat_n: wheels(2_400.0 * lat_g + 30.0, 300.0, t * 0.45),
        self_aligning_torque_nm: wheels(90.0 * steering / 0.35 + 2.0, 5.0, t * 0.45),
        // The contact bent the front left; the others took a trace of it.
        suspension_damage: if damaged {
            wheels4(0.02, 0.003, 0.001, 0.001)
        } else {
            wheels4(0.0, 0.0, 0.0, 0.0)
        },
        tyre_temp_c: wheels(95.0 + 6.0 * corner, 4.0, t * 0.21),
        tyre_contact_point_m: [(-0.8, 1.6), (0.8, 1.6), (-0.8, -1.9), (0.8, -1.9)]
            .iter()
            .map(|&(side, ahead)| Vec3 {
                x: (px + side * heading.sin() + ahead * heading.cos()) as f32,
                y: (680.0 + 25.0 * (TAU * pos).sin() - 0.3) as f32,
                z: (pz - side * heading.cos() + ahead * heading.sin()) as f32,
            })
            .collect(),
        fuel_l: (105.0 - 1.6 * laps) as f32,
        turbo_boost: (0.5 + 2.5 * throttle) as f32,
        ballast_kg: 10.0,
        tc: 0.1,
        abs: 0.15,
        tc_in_action: throttle > 0.0 && (-0.3..0.4).contains(&accel) && seq % 13 < 4,
        abs_in_action: brake > 0.7 && seq % 11 < 3,
        pit_limiter: in_pit_lane,
        auto_shifter: true,
        drs: if drs_open { 1.0 } else { 0.0 },
        drs_available,
        drs_enabled,
        brake_bias: 0.57,
        engine_brake: 6,
        kers_charge: (0.5 + 0.4 * (TAU * pos).sin()) as f32,
        kers_input: if accel > 0.0 { throttle as f32 } else { 0.0 },
        kers_current_kj: (2_000.0 * pos) as f32,
        ers_recovery_level: 3,
        ers_power_level: 2,
        ers_heat_charging: true,
        ers_is_charging: brake > 0.0,
        p2p_activations: 0,
        p2p_status: 0,
        current_max_rpm: 15_000,
        final_ff: (0.05 + 0.8 * steering / 0.35).clamp(-1.0, 1.0) as f32,
        performance_meter: (-0.35 + 0.2 * (TAU * pos).sin()) as f32,
        car_damage: if damaged { vec![4.5, 0.0, 0.0, 1.2, 0.0] } else { vec![0.0; 5] },
        tyres_out: if lap == 1 && within(pos, OFF_TRACK) { 2 } else { 0 },
        is_ai_controlled: false,
        status: GameStatus::Live as i32,
        session_type: SessionType::Race as i32,
        completed_laps: lap as i32,
        position: if stopped_once { 5 } else { 3 },
        current_lap_ms: ((seq % LAP_FRAMES) * 1_000 / FRAMES_PER_SECOND) as i32,
        last_lap_ms: if lap == 0 { 0 } else { (LAP_FRAMES * 1_000 / FRAMES_PER_SECOND) as i32 },
        best_lap_ms: if lap == 0 { 0 } else { (LAP_FRAMES * 1_000 / FRAMES_PER_SECOND) as i32 },
        session_time_left_ms: (5_400_000.0 - t * 1_000.0).max(0.0) as f32,
        distance_traveled_m: (laps * TRACK_M) as f32,
        current_sector: (pos * 3.0) as i32,
        last_sector_ms: if seq < LAP_FRAMES / 3 {
            0
        } else {
            (LAP_FRAMES * 1_000 / 3 / FRAMES_PER_SECOND) as i32
        },
        number_of_laps: 20,
        normalized_position: pos as f32,
        in_pit,
        in_pit_lane,
        flag: if lap == 1 && within(pos, YELLOW) { Flag::Yellow } else { Flag::None } as i32,
        penalty_time_s: if penalised { 5.0 } else { 0.0 },
        surface_grip: (0.96 + 0.005 * laps).min(1.0) as f32,
        tyre_compound: if stopped_once { "Medium (M)" } else { "Soft (S)" }.into(),
        mandatory_pit_done: stopped_once,
        ideal_line_on: true,
        air_temp_c: 24.0,
        road_temp_c: (36.0 + 0.02 * laps) as f32,
        air_density: 1.12,
        wind_speed: 2.5,
        wind_direction_deg: 135.0,
        replay_time_multiplier: 1.0,
    }
}

/// Frames encoded once, re-sent in turn with any `seq`: the load generator's fast path, the way a
/// bridge sends the bytes it already encoded for its recording.
///
/// The bytes are the frames without `seq`; [`Template::frame`] writes `seq` (field 2) in front
/// of the bytes of frame `seq % len`. Protobuf accepts fields in any order, so they decode to
/// that frame with that `seq`.
///
/// ```
/// use prost::Message as _;
/// use loadgen::frames::{Template, TEMPLATE_FRAMES, TEMPLATE_SEQ, realistic, session_id};
/// use proto::telemetry::v1::TelemetryFrame;
///
/// let template = Template::new(session_id(7));
/// let bytes = template.frame(12);
/// let decoded = TelemetryFrame::decode(bytes.as_ref())?;
/// assert_eq!(decoded, TelemetryFrame { seq: 12, ..realistic(session_id(7), TEMPLATE_SEQ + 12) });
/// assert!(bytes.len() <= template.encoded_len(12));
/// // Frame TEMPLATE_FRAMES + 12 is the same car frame again.
/// let again = TelemetryFrame::decode(template.frame(TEMPLATE_FRAMES + 12).as_ref())?;
/// assert_eq!(again, TelemetryFrame { seq: TEMPLATE_FRAMES + 12, ..decoded });
/// # Ok::<(), prost::DecodeError>(())
/// ```
#[derive(Debug, Clone)]
pub struct Template {
    /// The frames encoded with `seq` 0, which protobuf leaves out.
    bodies: Vec<Bytes>,
    /// The longest of them.
    longest: usize,
}

impl Template {
    /// The template of session `session_id`: [`realistic`]'s frames from [`TEMPLATE_SEQ`] on,
    /// [`TEMPLATE_FRAMES`] of them.
    pub fn new(session_id: [u8; 16]) -> Template {
        Template::from_frames((0..TEMPLATE_FRAMES).map(|i| realistic(session_id, TEMPLATE_SEQ + i)))
    }

    /// The template of one frame (its own `seq` is ignored), sent again and again.
    pub fn of(frame: &TelemetryFrame) -> Template {
        Template::from_frames(std::iter::once(frame.clone()))
    }

    fn from_frames(frames: impl Iterator<Item = TelemetryFrame>) -> Template {
        let bodies: Vec<Bytes> =
            frames.map(|f| TelemetryFrame { seq: 0, ..f }.encode_to_vec().into()).collect();
        let longest = bodies.iter().map(Bytes::len).max().unwrap_or(0);
        Template { bodies, longest }
    }

    /// Frame `seq`'s bytes: the template's frame `seq % len` with `seq`.
    pub fn frame(&self, seq: u64) -> Bytes {
        let body = &self.bodies[(seq % self.bodies.len() as u64) as usize];
        let mut b = BytesMut::with_capacity(1 + prost::encoding::encoded_len_varint(seq) + body.len());
        b.put_u8(0x10); // Field 2 (seq), wire type 0 (varint).
        prost::encoding::encode_varint(seq, &mut b);
        b.put_slice(body);
        b.freeze()
    }

    /// Length of the longest frame with `seq`, bytes.
    pub fn encoded_len(&self, seq: u64) -> usize {
        1 + prost::encoding::encoded_len_varint(seq) + self.longest
    }

    /// Mean length of its frames with `seq`, bytes.
    pub fn mean_len(&self, seq: u64) -> f64 {
        let total: usize = self.bodies.iter().map(Bytes::len).sum();
        (1 + prost::encoding::encoded_len_varint(seq)) as f64 + total as f64 / self.bodies.len().max(1) as f64
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    use super::*;

    /// The fields (number → wire type and bytes) of one protobuf message, walked by hand so that
    /// the test sees what is on the wire rather than what prost decodes.
    fn fields(mut b: &[u8]) -> Vec<(u32, Option<&[u8]>)> {
        let mut out = Vec::new();
        while !b.is_empty() {
            let key = prost::encoding::decode_varint(&mut b).expect("a field key");
            let (number, wire) = ((key >> 3) as u32, key & 7);
            match wire {
                0 => {
                    prost::encoding::decode_varint(&mut b).expect("a varint");
                    out.push((number, None));
                }
                1 => {
                    b = &b[8..];
                    out.push((number, None));
                }
                2 => {
                    let len = prost::encoding::decode_varint(&mut b).expect("a length") as usize;
                    out.push((number, Some(&b[..len])));
                    b = &b[len..];
                }
                5 => {
                    b = &b[4..];
                    out.push((number, None));
                }
                other => panic!("field {number}: wire type {other}"),
            }
        }
        out
    }

    /// Nested messages: for a field number of `TelemetryFrame`, how many fields its message
    /// has (all scalars, but for SessionMetadata's two Wheels: 14 and 15).
    fn nested(n: u32) -> u32 {
        match n {
            8 => 43,
            16..=19 | 26 | 47 => 3,
            27..=46 => 4,
            _ => 0,
        }
    }

    /// A field's path: frame field, field inside it, field inside that (0 = none), e.g.
    /// `(8, 14, 3)` = `session.suspension_max_travel_m.rl`.
    type Path = (u32, u32, u32);

    /// The fields present on the wire in `frame`.
    fn present(frame: &TelemetryFrame, into: &mut BTreeSet<Path>) {
        let bytes = frame.encode_to_vec();
        for (n, body) in fields(&bytes) {
            into.insert((n, 0, 0));
            let Some(body) = body.filter(|_| nested(n) > 0) else { continue };
            for (m, inner) in fields(body) {
                into.insert((n, m, 0));
                if let (8, 14 | 15, Some(inner)) = (n, m, inner) {
                    into.extend(fields(inner).into_iter().map(|(w, _)| (n, m, w)));
                }
            }
        }
    }

    #[test]
    fn every_field_is_on_the_wire_in_the_first_laps_but_the_four_that_do_not_apply() {
        let mut seen = BTreeSet::new();
        // A step prime to the 11 and 13 of the ABS and TC bursts, and shorter than the briefest
        // window (75 frames off track).
        for seq in (0..5 * LAP_FRAMES).step_by(61) {
            present(&realistic(session_id(1), seq), &mut seen);
        }
        let mut expected = BTreeSet::new();
        for n in 1..=103 {
            expected.insert((n, 0, 0));
            expected.extend((1..=nested(n)).map(|m| (n, m, 0)));
        }
        expected.extend([14, 15].into_iter().flat_map(|m| (1..=4).map(move |w| (8, m, w))));
        // is_ai_controlled, p2p_activations, p2p_status, session.is_timed_race.
        for absent in [(76, 0, 0), (69, 0, 0), (70, 0, 0), (8, 37, 0)] {
            assert!(expected.remove(&absent));
        }
        let missing: Vec<_> = expected.difference(&seen).collect();
        assert!(missing.is_empty(), "fields never set: {missing:?}");
        let unexpected: Vec<_> = seen.difference(&expected).collect();
        assert!(unexpected.is_empty(), "fields set that should stay at 0: {unexpected:?}");
    }

    #[test]
    fn metadata_rides_on_the_first_frame_only() {
        let id = session_id(3);
        assert_eq!(realistic(id, 0).session, Some(metadata()));
        assert!((1..2_000).all(|seq| realistic(id, seq).session.is_none()));
    }

    #[test]
    fn frames_are_deterministic_and_carry_their_identity() {
        let id = session_id(9);
        for seq in [0, 1, 996, 997, TEMPLATE_SEQ, u64::from(u32::MAX) + 5, u64::MAX] {
            let f = realistic(id, seq);
            assert_eq!(f, realistic(id, seq), "seq {seq}");
            assert_eq!((f.seq, f.session_id.as_ref()), (seq, &id[..]));
        }
        assert_ne!(realistic(id, 10).speed_kmh, realistic(id, 5_000).speed_kmh, "values move");
        // A skipped step shows as a jump of the physics packet id.
        let ids: Vec<_> = (995..=998).map(|s| realistic(id, s).physics_packet_id).collect();
        assert_eq!(ids, [1995, 1997, 1998, 1999]);
        assert_eq!(realistic(id, 996).missed_steps, 1);
    }

    #[test]
    fn values_stay_within_their_documented_ranges_for_a_race() {
        let id = session_id(2);
        let mut per_lap: BTreeMap<i32, u64> = BTreeMap::new();
        for seq in (0..6 * LAP_FRAMES).step_by(3) {
            let f = realistic(id, seq);
            let ctx = format!("seq {seq}");
            for (v, lo, hi) in [(f.throttle, 0.0, 1.0), (f.brake, 0.0, 1.0), (f.clutch, 0.0, 1.0)] {
                assert!((lo..=hi).contains(&v), "{ctx}: {v}");
            }
            assert!((-1.0..=1.0).contains(&f.steering), "{ctx}: steering {}", f.steering);
            assert!(f.throttle == 0.0 || f.brake == 0.0, "{ctx}: throttle and brake at once");
            assert!((0..=8).contains(&f.gear) && (0..=15_000).contains(&f.rpm), "{ctx}");
            assert!((0.0..=330.0).contains(&f.speed_kmh), "{ctx}: {} km/h", f.speed_kmh);
            assert!((0.0..1.0).contains(&f.normalized_position), "{ctx}");
            assert!((0..=4).contains(&f.tyres_out) && f.car_damage.len() == 5, "{ctx}");
            assert_eq!(f.tyre_contact_point_m.len(), 4, "{ctx}");
            assert!(f.fuel_l > 0.0 && f.tyre_wear.is_some_and(|w| w.fl > 90.0), "{ctx}");
            assert!(!f.in_pit || f.speed_kmh == 0.0, "{ctx}: moving in the pit box");
            *per_lap.entry(f.completed_laps).or_default() += 1;
        }
        assert_eq!(per_lap.keys().copied().collect::<Vec<_>>(), [0, 1, 2, 3, 4, 5]);
    }

    #[test]
    fn a_template_frame_decodes_to_the_structured_frame_with_its_seq() {
        let id = session_id(4);
        let template = Template::new(id);
        let first = realistic(id, TEMPLATE_SEQ);
        assert!(first.session.is_none() && first.speed_kmh > 100.0, "mid-lap at speed");
        // About 960 bytes: every field of a racing car's step, as the load generator's figures
        // (frames/s, MB/s) assume.
        let len = template.encoded_len(1_000_000);
        assert!((900..=1_000).contains(&len), "{len} bytes");
        let mean = template.mean_len(1_000_000);
        assert!(mean <= len as f64 && mean > len as f64 - 20.0, "{mean} bytes");
        for seq in [0, 1, 127, 128, 300_000, u64::from(u32::MAX), u64::MAX] {
            let bytes = template.frame(seq);
            assert!(bytes.len() <= template.encoded_len(seq), "seq {seq}");
            let decoded = TelemetryFrame::decode(bytes.as_ref()).expect("the template's bytes decode");
            let expected = realistic(id, TEMPLATE_SEQ + seq % TEMPLATE_FRAMES);
            assert_eq!(decoded, TelemetryFrame { seq, ..expected }, "seq {seq}");
        }
        // Consecutive frames differ, as a moving car's do.
        assert_ne!(template.frame(1).slice(2..), template.frame(2).slice(2..));
        // Any frame works, seq 0's metadata included; its own seq is replaced.
        let first = realistic(id, 0);
        let decoded = TelemetryFrame::decode(Template::of(&first).frame(9).as_ref()).expect("decodes");
        assert_eq!(decoded, TelemetryFrame { seq: 9, ..first });
    }
}
