//! The few protobuf wire primitives the recording needs without decoding whole frames: the varint
//! length prefix in front of each frame, and a walk over a frame's top-level fields that picks
//! out its identity `(session_id, seq)` for the member index.
//!
//! Walking the fields instead of decoding with prost keeps [`crate::RecordWriter::append_encoded`]
//! and index scans cheap: no allocation, no nested messages visited.

use std::ops::Range;

/// A varint takes at most 10 bytes for a u64.
pub(crate) const MAX_VARINT_LEN: usize = 10;

/// Field numbers of `TelemetryFrame.session_id` and `TelemetryFrame.seq`.
const SESSION_ID_FIELD: u64 = 1;
const SEQ_FIELD: u64 = 2;

/// The result of reading a varint from the front of a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Varint {
    /// The value and how many bytes it took.
    Value(u64, usize),
    /// The buffer ends inside the varint.
    Incomplete,
    /// More than 10 bytes, or a value past u64.
    Overflow,
}

/// Reads a varint from the front of `buf`.
pub(crate) fn get_varint(buf: &[u8]) -> Varint {
    let mut value: u64 = 0;
    for (i, &byte) in buf.iter().take(MAX_VARINT_LEN).enumerate() {
        let bits = u64::from(byte & 0x7f);
        // The tenth byte may only hold the top bit of a u64.
        if i == MAX_VARINT_LEN - 1 && bits > 1 {
            return Varint::Overflow;
        }
        value |= bits << (7 * i);
        if byte & 0x80 == 0 {
            return Varint::Value(value, i + 1);
        }
    }
    if buf.len() >= MAX_VARINT_LEN { Varint::Overflow } else { Varint::Incomplete }
}

/// `value` as a varint in a fixed array, and its length.
pub(crate) fn varint_array(mut value: u64) -> ([u8; MAX_VARINT_LEN], usize) {
    let mut out = [0u8; MAX_VARINT_LEN];
    let mut n = 0;
    while value >= 0x80 {
        out[n] = (value as u8) | 0x80;
        value >>= 7;
        n += 1;
    }
    out[n] = value as u8;
    (out, n + 1)
}

/// Where a frame's identity lies in its encoded bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RawId {
    /// The bytes of `session_id` within the frame (empty when the field is absent).
    pub session_id: Range<usize>,
    /// `seq` (0 when absent, as proto3 decodes it).
    pub seq: u64,
}

/// Walks the top-level fields of an encoded `TelemetryFrame` and returns its identity. Like a
/// protobuf decoder, a repeated occurrence of a field replaces the earlier one. Fails when the
/// top level is not well-formed protobuf (a truncated field, a bad wire type, `session_id` or
/// `seq` with the wrong wire type, or a deprecated group); nested messages are not checked.
pub(crate) fn frame_id(frame: &[u8]) -> Result<RawId, String> {
    let mut id = RawId { session_id: 0..0, seq: 0 };
    let mut pos = 0;
    while pos < frame.len() {
        let key = match get_varint(&frame[pos..]) {
            Varint::Value(v, n) => {
                pos += n;
                v
            }
            _ => return Err(format!("bad field key at byte {pos}")),
        };
        let field = key >> 3;
        if field == 0 || field > u64::from(u32::MAX >> 3) {
            return Err(format!("invalid field number {field} at byte {pos}"));
        }
        match key & 7 {
            0 => {
                let Varint::Value(v, n) = get_varint(&frame[pos..]) else {
                    return Err(format!("bad varint of field {field} at byte {pos}"));
                };
                pos += n;
                if field == SEQ_FIELD {
                    id.seq = v;
                } else if field == SESSION_ID_FIELD {
                    return Err("session_id (field 1) is not length-delimited".into());
                }
            }
            1 | 5 => {
                let width = if key & 7 == 1 { 8 } else { 4 };
                if frame.len() - pos < width {
                    return Err(format!("field {field} runs past the frame's end"));
                }
                if field == SEQ_FIELD || field == SESSION_ID_FIELD {
                    return Err(format!("field {field} has a fixed-width wire type"));
                }
                pos += width;
            }
            2 => {
                let Varint::Value(len, n) = get_varint(&frame[pos..]) else {
                    return Err(format!("bad length of field {field} at byte {pos}"));
                };
                pos += n;
                let available = (frame.len() - pos) as u64;
                if len > available {
                    return Err(format!("field {field} claims {len} bytes, {available} remain in the frame"));
                }
                let range = pos..pos + len as usize;
                pos = range.end;
                if field == SESSION_ID_FIELD {
                    id.session_id = range;
                } else if field == SEQ_FIELD {
                    // A packed single varint would be legal protobuf for a repeated field, but
                    // seq is a scalar: prost rejects it, and so do we.
                    return Err("seq (field 2) is length-delimited".into());
                }
            }
            wire_type => {
                return Err(format!("unsupported wire type {wire_type} of field {field}"));
            }
        }
    }
    Ok(id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message as _;
    use proto::telemetry::v1::{TelemetryFrame, Wheels};

    #[test]
    fn varints_round_trip_at_every_width() {
        for shift in 0..64 {
            for value in [1u64 << shift, (1u64 << shift) - 1, u64::MAX >> shift] {
                let (array, n) = varint_array(value);
                let buf = &array[..n];
                assert_eq!(get_varint(buf), Varint::Value(value, n));
                assert_eq!(get_varint(&buf[..n - 1]), Varint::Incomplete);
                // Same bytes as prost's encoder.
                let mut prost_buf = Vec::new();
                prost::encoding::encode_varint(value, &mut prost_buf);
                assert_eq!(buf, &prost_buf[..]);
            }
        }
    }

    #[test]
    fn overlong_varints_are_rejected() {
        assert_eq!(get_varint(&[0xff; 11]), Varint::Overflow);
        // Ten bytes whose last one carries more than u64's top bit.
        let mut buf = vec![0xff; 9];
        buf.push(0x02);
        assert_eq!(get_varint(&buf), Varint::Overflow);
    }

    #[test]
    fn frame_id_finds_session_and_seq_among_other_fields() {
        let frame = TelemetryFrame {
            session_id: vec![7u8; 16].into(),
            seq: 123_456_789,
            speed_kmh: 201.5,
            tyre_pressure_psi: Some(Wheels { fl: 1.0, fr: 2.0, rl: 3.0, rr: 4.0 }),
            tyre_compound: "Semislicks".into(),
            wall_time_ns: -5,
            ..Default::default()
        };
        let bytes = frame.encode_to_vec();
        let id = frame_id(&bytes).unwrap();
        assert_eq!(&bytes[id.session_id], &[7u8; 16]);
        assert_eq!(id.seq, 123_456_789);
    }

    #[test]
    fn an_empty_frame_has_the_default_identity() {
        assert_eq!(frame_id(&[]).unwrap(), RawId { session_id: 0..0, seq: 0 });
    }

    #[test]
    fn malformed_top_levels_are_rejected() {
        // Truncated length-delimited field, wrong wire type for seq, a group, field 0.
        for bad in [&[0x0a, 0x05, 1, 2][..], &[0x12, 0x01, 0x00], &[0x0b], &[0x00, 0x00], &[0x08]] {
            assert!(frame_id(bad).is_err(), "{bad:?}");
        }
    }
}
