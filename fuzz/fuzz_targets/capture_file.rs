//! Any bytes as the file `pitwall acsp decode` reads: a pcap or pcapng file (its records, then
//! each record's link, IP and UDP headers, then the datagram), or a raw concatenation of
//! messages. Beyond "no panic", it checks the promises of `acsp::capture::records` and
//! `acsp::concatenation`:
//! - records are numbered 1, 2, … in order; an unreadable record is the last item and points
//!   inside the file;
//! - the pieces of a concatenation cover the input exactly, in order: each message or damaged
//!   stretch starts where the previous one ended, and every piece moves forward.
#![no_main]

use acsp::capture::{self, Format, Link, RecordError};
use acsp::Piece;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match Format::detect(data) {
        Format::Pcap | Format::Pcapng => records(data),
        Format::Raw => concatenation(data),
    }
    // The same bytes behind each magic number, so that the fuzzer reaches the record readers
    // without having to find a magic number first.
    for magic in [&[0xd4, 0xc3, 0xb2, 0xa1][..], &[0x0a, 0x0d, 0x0d, 0x0a]] {
        let mut file = magic.to_vec();
        file.extend_from_slice(data);
        records(&file);
    }
});

fn records(data: &[u8]) {
    let Ok(records) = capture::records(data) else { return };
    let mut last = 0;
    let mut ended = false;
    for item in records {
        assert!(!ended, "nothing follows an unreadable record");
        match item {
            Ok(r) => {
                assert_eq!(r.index, last + 1, "records are numbered in order");
                last = r.index;
                if let Some(link) = Link::from_linktype(r.linktype) {
                    let _ = capture::udp_datagram(link, &r.data).map(|p| {
                        if let capture::Packet::Udp(d) = p {
                            let _ = acsp::decode_datagram(d.payload);
                        }
                    });
                }
            }
            Err(RecordError::UnknownInterface { index, .. }) => {
                assert_eq!(index, last + 1);
                last = index;
            }
            Err(RecordError::Unreadable { after, offset, .. }) => {
                assert_eq!(after, last);
                assert!(offset <= data.len());
                ended = true;
            }
            Err(e @ RecordError::Header { .. }) => panic!("a header error after the header: {e}"),
        }
    }
}

fn concatenation(data: &[u8]) {
    let mut pos = 0;
    for piece in acsp::concatenation(data) {
        match piece {
            Piece::Message { offset, decoded } => {
                assert_eq!(offset, pos, "pieces follow each other");
                assert!(decoded.len > 0 || offset < data.len());
                pos = offset + decoded.len.max(1);
            }
            Piece::Damage { offset, resume_at, reason } => {
                assert_eq!(offset, pos, "pieces follow each other");
                assert!(resume_at > offset && resume_at <= data.len(), "damage moves forward");
                assert!(!reason.to_string().is_empty());
                pos = resume_at;
            }
        }
    }
    assert!(pos >= data.len(), "the pieces cover the input");
}
