//! Hostile and damaged `.ld` input: clear errors naming the offset, never a panic.

use std::io::Cursor;

use motec::read;
use motec::{ChannelSpec, LdHeader, LdWriter, MotecError};

fn sample() -> Vec<u8> {
    let channels =
        vec![ChannelSpec::f32("Speed", "Spd", "km/h", 10), ChannelSpec::i16("Gear", "Gear", "", 5, 0)];
    let mut out = Vec::new();
    let mut w = LdWriter::new(&mut out, Cursor::new(Vec::new()), LdHeader::default(), channels).unwrap();
    for i in 0..20 {
        w.push(0, f64::from(i)).unwrap();
        if i % 2 == 0 {
            w.push(1, 3.0).unwrap();
        }
    }
    w.finish().unwrap();
    out
}

const FIRST: usize = 0x10B4;
const SECOND: usize = 0x10B4 + 124;

fn put_u32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

#[test]
fn every_truncation_of_a_file_is_an_error() {
    let full = sample();
    assert!(read::parse(&full).is_ok());
    for len in 0..full.len() {
        match read::parse(&full[..len]) {
            Err(MotecError::Truncated { offset, need, len: got, .. }) => {
                assert_eq!(got, len as u64);
                assert!(offset + need > got, "cut at {len}: the error must name what does not fit");
            }
            other => panic!("cut at {len}: expected a truncation error, got {other:?}"),
        }
    }
}

#[test]
fn a_cut_in_the_samples_names_the_channel_and_its_offset() {
    let full = sample();
    let err = read::parse(&full[..full.len() - 3]).unwrap_err();
    let data = SECOND + 124 + 20 * 4;
    assert_eq!(
        err.to_string(),
        format!(
            "truncated .ld: data of channel 1 (\"Gear\") at offset {data:#x} needs 20 bytes, but the file has {}",
            full.len() - 3
        )
    );
}

#[test]
fn a_wrong_marker_is_not_an_ld_file() {
    let mut b = sample();
    b[0] = 0x41;
    assert_eq!(
        read::parse(&b).unwrap_err().to_string(),
        "not a MoTeC .ld file: the word at offset 0x0 is 0x41, expected 0x40"
    );
}

#[test]
fn a_descriptor_pointer_past_the_end_is_named() {
    let mut b = sample();
    put_u32(&mut b, FIRST + 4, 0xFFFF_FFF0);
    let err = read::parse(&b).unwrap_err();
    assert_eq!(
        err.to_string(),
        format!(
            "truncated .ld: channel descriptor 1 at offset 0xfffffff0 needs 124 bytes, but the file has {}",
            b.len()
        )
    );
}

#[test]
fn a_looping_channel_list_is_caught() {
    let mut b = sample();
    put_u32(&mut b, SECOND + 4, FIRST as u32);
    let err = read::parse(&b).unwrap_err();
    assert!(
        matches!(err, MotecError::ChannelLoop { index: 1, offset, target } if offset == SECOND as u64 && target == FIRST as u64),
        "{err}"
    );
}

#[test]
fn unknown_types_and_zero_scales_name_the_channel() {
    let mut b = sample();
    b[SECOND + 0x12] = 9;
    assert_eq!(
        read::parse(&b).unwrap_err().to_string(),
        format!("channel \"Gear\" (descriptor at offset {SECOND:#x}): unknown data type 9 of 2 bytes")
    );
    let mut b = sample();
    b[FIRST + 0x1C] = 0;
    assert_eq!(
        read::parse(&b).unwrap_err().to_string(),
        format!("channel \"Speed\" (descriptor at offset {FIRST:#x}): its scale is 0")
    );
}

#[test]
fn channels_claiming_more_samples_than_the_file_holds_are_refused() {
    // Two descriptors pointing at the same (whole-file) data: each fits, together they cannot.
    let mut b = sample();
    let len = b.len() as u32;
    for d in [FIRST, SECOND] {
        put_u32(&mut b, d + 8, 0);
        b[d + 0x12] = 3;
        b[d + 0x14] = 2;
        put_u32(&mut b, d + 0x0C, len / 2);
    }
    let err = read::parse(&b).unwrap_err();
    assert!(err.to_string().contains("the channels' samples together"), "{err}");
}

#[test]
fn a_bad_event_pointer_is_named() {
    let mut b = sample();
    put_u32(&mut b, 0x24, 0x7FFF_0000);
    let err = read::parse(&b).unwrap_err();
    assert!(
        err.to_string().starts_with("truncated .ld: event block at offset 0x7fff0000 needs 1154 bytes"),
        "{err}"
    );
}
