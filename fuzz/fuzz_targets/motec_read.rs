//! Any bytes as a MoTeC `.ld` file, read by the motec crate's reader. Beyond "no panic", it
//! checks the reader's promises:
//! - every channel read has its descriptor and its samples inside the input;
//! - the channels' sample bytes together never exceed the input (what bounds the memory a
//!   hostile file can make the reader allocate);
//! - every channel's physical values are as many as its stored samples.
//!
//! The first byte picks how the rest is used: as the file itself, or (so that the fuzzer gets
//! past the 1762-byte header and into the channel list without having to find it) as bytes
//! overwriting a valid file written here, at an offset the input names.
#![no_main]

use std::io::Cursor;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use motec::{ChannelSpec, LdHeader, LdWriter, read};

/// A small valid file: three channels of the three written types.
fn template() -> &'static [u8] {
    static TEMPLATE: OnceLock<Vec<u8>> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        let channels = vec![
            ChannelSpec::f32("Speed", "Spd", "km/h", 10),
            ChannelSpec::i16("Gear", "Gear", "", 5, 0),
            ChannelSpec::i32("Lap Time", "LapT", "s", 10, 3),
        ];
        let mut out = Vec::new();
        let mut w = LdWriter::new(&mut out, Cursor::new(Vec::new()), LdHeader::default(), channels)
            .expect("valid channels");
        for i in 0..8 {
            w.push_row(&[f64::from(i), 2.0, f64::from(i) * 0.1]).expect("in range");
        }
        w.finish().expect("in memory");
        out
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    if mode & 1 == 0 {
        check(rest);
    } else if rest.len() >= 2 {
        let mut file = template().to_vec();
        let at = usize::from(u16::from_le_bytes([rest[0], rest[1]])) % file.len();
        let patch = &rest[2..];
        let end = (at + patch.len()).min(file.len());
        file[at..end].copy_from_slice(&patch[..end - at]);
        // With bit 1 of the mode set, the file is also cut where the patch ends.
        if mode & 2 != 0 {
            file.truncate(end);
        }
        check(&file);
    }
});

fn check(bytes: &[u8]) {
    let Ok(log) = read::parse(bytes) else {
        return;
    };
    let len = bytes.len() as u64;
    let mut claimed = 0u64;
    for c in &log.channels {
        assert!(c.descriptor_at + 124 <= len, "descriptor outside the input");
        let size = match c.raw {
            read::Raw::I16(_) | read::Raw::F16(_) => 2,
            read::Raw::I32(_) | read::Raw::F32(_) => 4,
        };
        let bytes = c.raw.len() as u64 * size;
        if bytes > 0 {
            assert!(c.data_at + bytes <= len, "samples outside the input");
        }
        claimed += bytes;
        assert_eq!(c.values().len(), c.raw.len());
    }
    assert!(claimed <= len, "channels claim {claimed} sample bytes of a {len}-byte input");
}
