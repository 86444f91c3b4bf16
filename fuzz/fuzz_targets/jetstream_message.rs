//! Any bytes as a JetStream message's payload (`ingest::message`), plain or zstd, as the sink
//! workers and live views read it. Beyond "no panic":
//! - frames read from a plain payload lie within it, in order: encoding them again takes no more
//!   bytes (the same, but for varints written longer than needed) and reads back the same;
//! - a zstd payload never expands beyond `MAX_PLAIN_BYTES`;
//! - a payload built here from the input's chunks (encoded, compressed when that shrinks it, then
//!   some bytes flipped or the end cut where the input says) decodes to exactly the frames built
//!   when it is intact, and to an error or other frames, never a panic, when it is not.
#![no_main]

use bytes::Bytes;
use ingest::message::{self, ENCODING_ZSTD, MAX_PLAIN_BYTES};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    match mode % 4 {
        0 => plain(&Bytes::copy_from_slice(rest)),
        1 => {
            if let Ok(p) = message::plain(&Bytes::copy_from_slice(rest), Some(ENCODING_ZSTD)) {
                assert!(p.len() <= MAX_PLAIN_BYTES);
                plain(&p);
            }
        }
        2 => {
            // An unknown encoding is an error, never a guess.
            assert!(message::plain(&Bytes::copy_from_slice(rest), Some("br")).is_err());
        }
        _ => built(rest),
    }
});

/// Reads `payload` as plain frames; what it returns must re-encode within `payload`'s length
/// and read back the same.
fn plain(payload: &Bytes) {
    if let Ok(frames) = message::frames(payload) {
        let again = message::encode(frames.iter().map(|f| (f.seq, &f.bytes[..])));
        assert!(again.len() <= payload.len());
        assert_eq!(message::frames(&again).expect("re-encoded frames decode"), frames);
    }
}

fn built(input: &[u8]) {
    let Some((&damage, rest)) = input.split_first() else {
        return;
    };
    // Frames: the input cut in chunks of up to 64 bytes, seq counting from a base it gives.
    let frames: Vec<(u64, &[u8])> =
        rest.chunks(64).enumerate().map(|(i, c)| (u64::from(damage) * 1000 + i as u64, c)).collect();
    let payload = message::encode(frames.iter().copied());
    let (wire, encoding) = message::compress(payload.clone());
    assert!(wire.len() <= payload.len());
    let back = message::plain(&wire, encoding).expect("an intact payload reads back");
    assert_eq!(back, payload);
    let read = message::frames(&back).expect("intact frames decode");
    assert_eq!(read.len(), frames.len());
    for (r, (seq, bytes)) in read.iter().zip(&frames) {
        assert_eq!((r.seq, &r.bytes[..]), (*seq, *bytes));
    }
    if wire.is_empty() {
        return;
    }
    // Damaged: a byte flipped, or the end cut.
    let mut bad = wire.to_vec();
    let at = usize::from(damage) * 31 % bad.len();
    if damage & 1 == 0 {
        bad[at] ^= damage | 1;
    } else {
        bad.truncate(at);
    }
    if let Ok(p) = message::plain(&Bytes::from(bad), encoding) {
        assert!(p.len() <= MAX_PLAIN_BYTES);
        plain(&p);
    }
}
