use bytes::Bytes;
use prost::Message as _;

use super::{decode_frame_into, fast};
use crate::telemetry::v1::{SessionMetadata, TelemetryFrame, Vec3, Wheels};

/// A frame with every field set to something other than its default, the session metadata
/// aside. Written without `..Default::default()`: a field added to the proto stops this from
/// compiling until the fast decoder and this frame know it.
fn full_frame() -> TelemetryFrame {
    TelemetryFrame {
        session_id: Bytes::from_static(&[
            0x01, 0x93, 0x7a, 0x2c, 0x55, 0x10, 0x7b, 0x3d, 0x8e, 0x21, 0x44, 0x9a, 0x0f, 0xc3, 0x6d, 0xe1,
        ]),
        seq: 123_456_789_012,
        wall_time_ns: 1_764_800_000_123_456_789,
        mono_time_ns: -4_700_000_000_001,
        physics_packet_id: 5007,
        graphics_packet_id: -6,
        missed_steps: 300,
        session: None,
        throttle: 9.125,
        brake: -10.5,
        clutch: 11.125,
        steering: -12.5,
        gear: 13007,
        rpm: 14007,
        speed_kmh: 15.125,
        velocity: Some(Vec3 { x: 16.5, y: -16.25, z: 0.16 }),
        local_velocity: Some(Vec3 { x: 17.5, y: -17.25, z: 0.17 }),
        acc_g: Some(Vec3 { x: 18.5, y: -18.25, z: 0.18 }),
        local_angular_velocity: Some(Vec3 { x: 19.5, y: -19.25, z: 0.19 }),
        heading_rad: -20.5,
        pitch_rad: 21.125,
        roll_rad: -22.5,
        cg_height_m: 23.125,
        ride_height_front_m: -24.5,
        ride_height_rear_m: 25.125,
        position_m: Some(Vec3 { x: 26.5, y: -26.25, z: 0.26 }),
        wheel_slip: Some(Wheels { fl: 27.25, fr: -27.5, rl: 27.0e3, rr: 1.0e-28 }),
        wheel_load_n: Some(Wheels { fl: 28.25, fr: -28.5, rl: 28.0e3, rr: 1.0e-29 }),
        tyre_pressure_psi: Some(Wheels { fl: 29.25, fr: -29.5, rl: 29.0e3, rr: 1.0e-30 }),
        wheel_angular_speed_rad_s: Some(Wheels { fl: 30.25, fr: -30.5, rl: 30.0e3, rr: 1.0e-1 }),
        tyre_wear: Some(Wheels { fl: 31.25, fr: -31.5, rl: 31.0e3, rr: 1.0e-2 }),
        tyre_dirt: Some(Wheels { fl: 32.25, fr: -32.5, rl: 32.0e3, rr: 1.0e-3 }),
        tyre_core_temp_c: Some(Wheels { fl: 33.25, fr: -33.5, rl: 33.0e3, rr: 1.0e-4 }),
        tyre_temp_inner_c: Some(Wheels { fl: 34.25, fr: -34.5, rl: 34.0e3, rr: 1.0e-5 }),
        tyre_temp_middle_c: Some(Wheels { fl: 35.25, fr: -35.5, rl: 35.0e3, rr: 1.0e-6 }),
        tyre_temp_outer_c: Some(Wheels { fl: 36.25, fr: -36.5, rl: 36.0e3, rr: 1.0e-7 }),
        camber_rad: Some(Wheels { fl: 37.25, fr: -37.5, rl: 37.0e3, rr: 1.0e-8 }),
        suspension_travel_m: Some(Wheels { fl: 38.25, fr: -38.5, rl: 38.0e3, rr: 1.0e-9 }),
        brake_temp_c: Some(Wheels { fl: 39.25, fr: -39.5, rl: 39.0e3, rr: 1.0e-10 }),
        slip_ratio: Some(Wheels { fl: 40.25, fr: -40.5, rl: 40.0e3, rr: 1.0e-11 }),
        slip_angle_rad: Some(Wheels { fl: 41.25, fr: -41.5, rl: 41.0e3, rr: 1.0e-12 }),
        tyre_force_long_n: Some(Wheels { fl: 42.25, fr: -42.5, rl: 42.0e3, rr: 1.0e-13 }),
        tyre_force_lat_n: Some(Wheels { fl: 43.25, fr: -43.5, rl: 43.0e3, rr: 1.0e-14 }),
        self_aligning_torque_nm: Some(Wheels { fl: 44.25, fr: -44.5, rl: 44.0e3, rr: 1.0e-15 }),
        suspension_damage: Some(Wheels { fl: 45.25, fr: -45.5, rl: 45.0e3, rr: 1.0e-16 }),
        tyre_temp_c: Some(Wheels { fl: 46.25, fr: -46.5, rl: 46.0e3, rr: 1.0e-17 }),
        tyre_contact_point_m: vec![
            Vec3 { x: 0.11, y: -0.2, z: 1.5 },
            Vec3 { x: 0.12, y: -0.21, z: 1.6 },
            Vec3 { x: -0.0, y: 3.0, z: 0.0 },
            Vec3 { x: 0.5, y: 0.5, z: -2.5 },
        ],
        fuel_l: -48.5,
        turbo_boost: 49.125,
        ballast_kg: -50.5,
        tc: 51.125,
        abs: -52.5,
        tc_in_action: true,
        abs_in_action: true,
        pit_limiter: true,
        auto_shifter: true,
        drs: 57.125,
        drs_available: true,
        drs_enabled: true,
        brake_bias: -60.5,
        engine_brake: 61007,
        kers_charge: -62.5,
        kers_input: 63.125,
        kers_current_kj: -64.5,
        ers_recovery_level: 65007,
        ers_power_level: -66,
        ers_heat_charging: true,
        ers_is_charging: true,
        p2p_activations: -69,
        p2p_status: 70007,
        current_max_rpm: 71007,
        final_ff: -72.5,
        performance_meter: 73.125,
        car_damage: vec![0.0, 0.25, 1.0, 12.5, 0.75],
        tyres_out: -75,
        is_ai_controlled: true,
        status: 77007,
        session_type: -78,
        completed_laps: 79007,
        position: 80007,
        current_lap_ms: -81,
        last_lap_ms: 82007,
        best_lap_ms: 83007,
        session_time_left_ms: -84.5,
        distance_traveled_m: 85.125,
        current_sector: 86007,
        last_sector_ms: -87,
        number_of_laps: 88007,
        normalized_position: 89.125,
        in_pit: true,
        in_pit_lane: true,
        flag: 92007,
        penalty_time_s: 93.125,
        surface_grip: -94.5,
        tyre_compound: "Soft (S) — médium".to_owned(),
        mandatory_pit_done: true,
        ideal_line_on: true,
        air_temp_c: -98.5,
        road_temp_c: 99.125,
        air_density: -100.5,
        wind_speed: 101.125,
        wind_direction_deg: -102.5,
        replay_time_multiplier: 103.125,
    }
}

/// What prost makes of `bytes`: the frame, or the error's text.
fn prost_decode(bytes: &[u8]) -> Result<TelemetryFrame, String> {
    let mut frame = TelemetryFrame::default();
    frame.merge(bytes).map(|()| frame).map_err(|e| e.to_string())
}

/// What [`decode_frame_into`] makes of `bytes`, decoding into `into`.
fn fast_decode(bytes: &[u8], mut into: TelemetryFrame) -> Result<TelemetryFrame, String> {
    decode_frame_into(&mut into, Bytes::copy_from_slice(bytes)).map(|()| into).map_err(|e| e.to_string())
}

/// Same frame (`Debug` tells -0.0 from 0.0, which `==` does not) or same error.
fn assert_same(bytes: &[u8], what: &str) {
    let want = prost_decode(bytes);
    let got = fast_decode(bytes, full_frame());
    assert_eq!(format!("{got:?}"), format!("{want:?}"), "{what}");
}

#[test]
fn every_field_takes_the_fast_path() {
    let sent = full_frame();
    let wire = Bytes::from(sent.encode_to_vec());
    let mut frame = TelemetryFrame::default();
    assert!(fast(&mut frame, &wire).is_some(), "a field fell back to prost");
    // As prost decodes it: -0.0 is not sent (prost leaves out a float equal to 0), so it comes
    // back 0.0.
    assert_eq!(format!("{frame:?}"), format!("{:?}", prost_decode(&wire).unwrap()));
    assert_eq!(frame.tyre_contact_point_m[2], sent.tyre_contact_point_m[2]);
}

#[test]
fn a_frame_decodes_as_prost_decodes_it_whatever_the_frame_held() {
    let loaded = full_frame();
    let small = TelemetryFrame { seq: 3, speed_kmh: 1.0, ..Default::default() };
    for sent in [TelemetryFrame::default(), small, loaded] {
        let wire = sent.encode_to_vec();
        let got = fast_decode(&wire, full_frame()).unwrap();
        assert_eq!(got, sent);
        assert_same(&wire, "a frame decoded into a full one");
    }
}

#[test]
fn session_metadata_is_decoded_by_prost_and_comes_out_the_same() {
    let sent = TelemetryFrame {
        session: Some(SessionMetadata {
            car_model: "ks_ferrari_488_gt3".into(),
            max_rpm: 7800,
            ..Default::default()
        }),
        ..full_frame()
    };
    let wire = Bytes::from(sent.encode_to_vec());
    assert!(fast(&mut TelemetryFrame::default(), &wire).is_none());
    let mut frame = TelemetryFrame::default();
    decode_frame_into(&mut frame, wire).unwrap();
    assert_eq!(frame, sent);
}

#[test]
fn fields_that_come_twice_merge_as_prost_merges_them() {
    // The same frame twice, then a second message with other values: scalars take the last
    // value, messages merge member by member, repeated fields append.
    let first = full_frame();
    let second = TelemetryFrame {
        seq: 9,
        tyre_pressure_psi: Some(Wheels { fl: 0.0, fr: 30.0, rl: 0.0, rr: 31.0 }),
        velocity: Some(Vec3 { x: 0.0, y: 0.0, z: 7.0 }),
        tyre_compound: "H".into(),
        car_damage: vec![9.0],
        tyre_contact_point_m: vec![Vec3 { x: 1.0, y: 2.0, z: 3.0 }],
        ..Default::default()
    };
    let mut wire = first.encode_to_vec();
    wire.extend(first.encode_to_vec());
    wire.extend(second.encode_to_vec());
    let mut frame = TelemetryFrame::default();
    assert!(fast(&mut frame, &Bytes::from(wire.clone())).is_some());
    assert_same(&wire, "merged messages");
    assert_eq!(frame.tyre_pressure_psi.unwrap().fl, first.tyre_pressure_psi.unwrap().fl);
    assert_eq!(frame.tyre_pressure_psi.unwrap().fr, 30.0);
    assert_eq!(frame.tyre_contact_point_m.len(), 9);
    assert_eq!(frame.car_damage.len(), 11);
}

#[test]
fn every_cut_and_every_flipped_byte_gives_prosts_answer() {
    let wire = full_frame().encode_to_vec();
    for len in 0..wire.len() {
        assert_same(&wire[..len], &format!("cut at {len}"));
    }
    for at in 0..wire.len() {
        for bit in [0x01, 0x04, 0x08, 0x40, 0x80] {
            let mut bad = wire.clone();
            bad[at] ^= bit;
            assert_same(&bad, &format!("byte {at} ^ {bit:#04x}"));
        }
    }
}

#[test]
fn unusual_but_valid_encodings_are_prosts_to_decode() {
    let mut unknown = full_frame().encode_to_vec();
    unknown.extend([0xf8, 0x07, 0x01]); // field 127, varint 1: skipped by prost
    let unpacked = [0xd5, 0x04, 0, 0, 0x80, 0x3f]; // car_damage (74) as one fixed32
    let long_key = [0x95, 0x80, 0x00, 0, 0, 0x80, 0x3f]; // seq as a padded varint key
    let long_varint = [0x10, 0x85, 0x80, 0x80, 0x00]; // seq 5 in four bytes
    let ten_bytes = [0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
    let eleven = [0x10, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02];
    let bad_utf8 = [0xfa, 0x05, 0x02, 0xc3, 0x28];
    let wheels_unknown = [0xda, 0x01, 0x07, 0x0d, 0, 0, 0x80, 0x3f, 0x28, 0x01]; // Wheels + field 5
    let wheels_over = [0xda, 0x01, 0x03, 0x0d, 0, 0, 0x80, 0x3f];
    let odd_packed = [0xd2, 0x04, 0x03, 0, 0, 0x80];
    for (wire, what) in [
        (&unknown[..], "an unknown field"),
        (&unpacked[..], "an unpacked repeated float"),
        (&long_key[..], "a padded key"),
        (&long_varint[..], "a padded varint"),
        (&ten_bytes[..], "a ten-byte varint"),
        (&eleven[..], "a ten-byte varint ending in 2"),
        (&bad_utf8[..], "invalid UTF-8"),
        (&wheels_unknown[..], "an unknown field in Wheels"),
        (&wheels_over[..], "a Wheels member past its message"),
        (&odd_packed[..], "packed floats of 3 bytes"),
    ] {
        assert_same(wire, what);
    }
}
