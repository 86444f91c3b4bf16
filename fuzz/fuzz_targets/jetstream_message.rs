//! Any bytes as a JetStream message's payload (`ingest::message`), in each encoding a message can
//! say it has (plain, `zstd`, `zstd-columns`), as the sink workers and live views read it. Beyond
//! "no panic":
//! - frames read lie within what was read, in order: encoding them again plain takes no more
//!   bytes than the plain payload (the same, but for varints written longer than needed) and
//!   reads back the same;
//! - nothing expands beyond `MAX_PLAIN_BYTES`;
//! - frames built here from the input's chunks (runs of equal and unequal lengths), encoded as
//!   the sink encodes them, read back exactly when intact, and to an error or other frames, never
//!   a panic, with a byte flipped or the end cut where the input says.
#![no_main]

use bytes::Bytes;
use ingest::message::{self, ENCODING_ZSTD, ENCODING_ZSTD_COLUMNS};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let payload = Bytes::copy_from_slice(rest);
    match mode % 5 {
        0 => check(&payload, None),
        1 => check(&payload, Some(ENCODING_ZSTD)),
        2 => check(&payload, Some(ENCODING_ZSTD_COLUMNS)),
        3 => assert!(message::read(&payload, Some("br")).is_err(), "an unknown encoding is an error"),
        _ => built(rest),
    }
});

/// Reads `payload`; the frames it gives must re-encode plain and read back the same.
fn check(payload: &Bytes, encoding: Option<&str>) {
    if let Ok(frames) = message::read(payload, encoding) {
        let again = message::encode(frames.iter().map(|f| (f.seq, &f.bytes[..])));
        assert!(again.len() <= message::MAX_PLAIN_BYTES + 10 * frames.len());
        if encoding.is_none() {
            assert!(again.len() <= payload.len());
        }
        assert_eq!(message::read(&again, None).expect("re-encoded frames read"), frames);
    }
}

fn built(input: &[u8]) {
    let Some((&damage, rest)) = input.split_first() else {
        return;
    };
    // Frames: the input cut in chunks whose length the damage byte picks (runs of one length,
    // and a shorter last one), seq counting from a base it gives.
    let size = usize::from(damage % 16) + 1;
    let frames: Vec<(u64, &[u8])> =
        rest.chunks(size).enumerate().map(|(i, c)| (u64::from(damage) * 1000 + i as u64, c)).collect();
    for compress in [false, true] {
        let (wire, encoding) = message::encode_message(frames.iter().copied(), compress);
        let read = message::read(&wire, encoding).expect("an intact message reads back");
        assert_eq!(read.len(), frames.len());
        for (r, (seq, bytes)) in read.iter().zip(&frames) {
            assert_eq!((r.seq, &r.bytes[..]), (*seq, *bytes));
        }
        if wire.is_empty() {
            continue;
        }
        let mut bad = wire.to_vec();
        let at = usize::from(damage) * 31 % bad.len();
        if damage & 1 == 0 {
            bad[at] ^= damage | 1;
        } else {
            bad.truncate(at);
        }
        check(&Bytes::from(bad), encoding);
    }
}
