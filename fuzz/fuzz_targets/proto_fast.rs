//! `proto::decode_frame_into` against prost's own decoder (`clear` + `merge`) on the same bytes:
//! the same frame or the same error, always, whatever the frame held before. `Debug` compares
//! floats exactly enough (it tells -0.0 from 0.0, which `==` does not).
//!
//! The first byte picks how the rest is used: as the message itself, or (so that the fuzzer
//! reaches the fast path's every arm without having to find valid frames) as the values of a
//! frame built here, encoded by prost, then damaged where the input's last bytes say.
#![no_main]

use libfuzzer_sys::fuzz_target;
use prost::Message as _;
use prost::bytes::Bytes;
use proto::telemetry::v1::{TelemetryFrame, Vec3, Wheels};

/// Reads the input a few bytes at a time, zeros once it is used up.
struct Input<'a>(&'a [u8]);

impl Input<'_> {
    fn byte(&mut self) -> u8 {
        let Some((&b, rest)) = self.0.split_first() else { return 0 };
        self.0 = rest;
        b
    }
    fn f32(&mut self) -> f32 {
        // Small integers often (they encode short and zero is left out), any bits otherwise.
        match self.byte() {
            0..=63 => 0.0,
            64..=127 => f32::from(self.byte()) / 4.0,
            _ => f32::from_le_bytes([self.byte(), self.byte(), self.byte(), self.byte()]),
        }
    }
    fn wheels(&mut self) -> Option<Wheels> {
        (self.byte() & 1 == 1).then(|| Wheels { fl: self.f32(), fr: self.f32(), rl: self.f32(), rr: self.f32() })
    }
    fn vec3(&mut self) -> Vec3 {
        Vec3 { x: self.f32(), y: self.f32(), z: self.f32() }
    }
}

fn built(data: &[u8]) -> Vec<u8> {
    let mut input = Input(data);
    let id_len = usize::from(input.byte() % 20);
    let session_id: Vec<u8> = (0..id_len).map(|_| input.byte()).collect();
    let compound_len = usize::from(input.byte() % 8);
    let compound: Vec<u8> = (0..compound_len).map(|_| input.byte()).collect();
    let mut frame = TelemetryFrame {
        session_id: session_id.into(),
        seq: u64::from_le_bytes(std::array::from_fn(|_| input.byte())),
        wall_time_ns: i64::from(input.byte()) << 40,
        gear: i32::from(input.byte() as i8),
        rpm: i32::from(input.byte()) * 40,
        status: i32::from(input.byte() as i8),
        in_pit: input.byte() & 1 == 1,
        throttle: input.f32(),
        speed_kmh: input.f32(),
        velocity: Some(input.vec3()),
        acc_g: (input.byte() & 1 == 1).then(|| input.vec3()),
        tyre_pressure_psi: input.wheels(),
        tyre_core_temp_c: input.wheels(),
        camber_rad: input.wheels(),
        tyre_contact_point_m: (0..input.byte() % 5).map(|_| input.vec3()).collect(),
        car_damage: (0..input.byte() % 6).map(|_| input.f32()).collect(),
        tyre_compound: String::from_utf8_lossy(&compound).into_owned(),
        replay_time_multiplier: input.f32(),
        ..Default::default()
    };
    if input.byte() == 0xa5 {
        frame.session = Some(Default::default());
    }
    let mut wire = frame.encode_to_vec();
    // Then the damage: (position, xor) pairs, and where to cut.
    while input.0.len() >= 2 && !wire.is_empty() {
        let at = usize::from(input.byte()) * 7 % wire.len();
        wire[at] ^= input.byte();
    }
    if input.byte() & 1 == 1 {
        let cut = usize::from(input.byte()) % (wire.len() + 1);
        wire.truncate(cut);
    }
    wire
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let wire = if mode & 1 == 0 { rest.to_vec() } else { built(rest) };

    let mut want = TelemetryFrame::default();
    let want = want.merge(wire.as_slice()).map(|()| want).map_err(|e| e.to_string());
    // Into a frame that held something else, as the servers' reused frames do.
    let mut got = TelemetryFrame {
        seq: 99,
        tyre_compound: "M".into(),
        car_damage: vec![1.0; 3],
        tyre_contact_point_m: vec![Vec3::default(); 2],
        tyre_wear: Some(Wheels { fl: 1.0, fr: 1.0, rl: 1.0, rr: 1.0 }),
        ..Default::default()
    };
    let got = proto::decode_frame_into(&mut got, Bytes::from(wire)).map(|()| got).map_err(|e| e.to_string());
    assert_eq!(format!("{got:?}"), format!("{want:?}"));
});
