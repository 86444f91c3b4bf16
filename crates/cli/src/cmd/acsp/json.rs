//! The JSON line of a CAR_UPDATE, written by hand.
//!
//! Car updates are nearly every event of a capture (a 24-car server sends 240 a second at a
//! 100 ms interval, and a few other events a minute), and serde's derived form spends most of its
//! time on the keys: each is a string that serde_json scans for characters to escape, then our
//! formatter scans again for DEL and C1. Here the keys are constant bytes, and numbers go through
//! serde_json's own formatter, so the line is byte for byte what `serde_json::to_writer` writes
//! for `Event::CarUpdate` (a test checks that over many values, odd floats included). Every other
//! event takes the serde path.

use std::io::{self, Write};

use acsp::{CarUpdate, Vec3};
use serde_json::ser::{CompactFormatter, Formatter as _};

/// Writes `{"type":"car_update",…}` (no line end).
pub(crate) fn car_update<W: Write + ?Sized>(w: &mut W, u: &CarUpdate) -> io::Result<()> {
    let mut f = CompactFormatter;
    w.write_all(b"{\"type\":\"car_update\",\"car_id\":")?;
    f.write_u8(w, u.car_id)?;
    w.write_all(b",\"position\":")?;
    vec3(w, &u.position)?;
    w.write_all(b",\"velocity\":")?;
    vec3(w, &u.velocity)?;
    w.write_all(b",\"gear\":")?;
    f.write_u8(w, u.gear)?;
    w.write_all(b",\"engine_rpm\":")?;
    f.write_u16(w, u.engine_rpm)?;
    w.write_all(b",\"normalized_spline_pos\":")?;
    f32(w, u.normalized_spline_pos)?;
    w.write_all(b"}")
}

fn vec3<W: Write + ?Sized>(w: &mut W, v: &Vec3) -> io::Result<()> {
    w.write_all(b"{\"x\":")?;
    f32(w, v.x)?;
    w.write_all(b",\"y\":")?;
    f32(w, v.y)?;
    w.write_all(b",\"z\":")?;
    f32(w, v.z)?;
    w.write_all(b"}")
}

/// As serde_json writes an `f32`: `null` when it is not finite (JSON has no NaN or infinity).
fn f32<W: Write + ?Sized>(w: &mut W, v: f32) -> io::Result<()> {
    if v.is_finite() { CompactFormatter.write_f32(w, v) } else { w.write_all(b"null") }
}

#[cfg(test)]
mod tests {
    use acsp::Event;

    use super::*;

    /// Byte for byte the serde form, over f32 values spread across every bit pattern (NaNs,
    /// infinities, subnormals, -0.0 and the extremes among them) and every gear and car id.
    #[test]
    fn the_line_is_the_serde_line() {
        let mut bits = 0u32;
        let mut next = || {
            // A stride prime to 2^32 visits the bit patterns in a scattered order.
            bits = bits.wrapping_add(0x9E37_79B1);
            f32::from_bits(bits)
        };
        let specials = [
            0.0,
            -0.0,
            f32::MIN,
            f32::MAX,
            f32::MIN_POSITIVE,
            f32::EPSILON,
            1e-45,
            f32::NAN,
            f32::INFINITY,
            f32::NEG_INFINITY,
            0.1,
            70.0,
            1e7,
            1e-7,
        ];
        for i in 0..60_000u32 {
            let s = specials[i as usize % specials.len()];
            let u = CarUpdate {
                car_id: i as u8,
                position: Vec3::new(next(), s, next()),
                velocity: Vec3::new(next(), next(), (i as f32) * 0.01),
                gear: (i / 256) as u8,
                engine_rpm: (i * 7) as u16,
                normalized_spline_pos: if i % 3 == 0 { s } else { next() },
            };
            let mut ours = Vec::new();
            car_update(&mut ours, &u).unwrap();
            let serde = serde_json::to_vec(&Event::CarUpdate(u)).unwrap();
            assert_eq!(String::from_utf8(ours).unwrap(), String::from_utf8(serde).unwrap(), "{u:?}");
        }
    }
}
