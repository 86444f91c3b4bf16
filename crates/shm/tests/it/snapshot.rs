//! The snapshot file format: round trips, bad headers, and the golden fixture.

use std::path::PathBuf;

use shm::{Page, PageSource, PhysicsPage, SNAPSHOT_MAGIC, ShmError, Snapshot};
use testkit::pages;

fn header(version: u32, lens: [u32; 3]) -> Vec<u8> {
    let mut out = SNAPSHOT_MAGIC.to_vec();
    out.extend_from_slice(&version.to_le_bytes());
    for len in lens {
        out.extend_from_slice(&len.to_le_bytes());
    }
    out
}

#[test]
fn round_trip_through_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("pages.pwshm");
    let snapshot = pages::snapshot();
    snapshot.save(&path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(bytes.len(), 24 + 712 + 296 + 684);
    assert_eq!(&bytes[..12], b"PWSHMSNP\x01\x00\x00\x00");
    assert_eq!(bytes[12..24], header(1, [712, 296, 684])[12..]);
    assert_eq!(&bytes[24..24 + 712], snapshot.physics.as_bytes());

    let loaded = Snapshot::load(&path).unwrap();
    assert_eq!(loaded, snapshot);
    assert_eq!(loaded.static_page.track_configuration(), "gp_日本_layout");
    assert_eq!(loaded.static_page.player_name(), "Zoë");
}

#[test]
fn a_snapshot_is_a_page_source() {
    let mut snapshot = pages::snapshot();
    let mut physics = PhysicsPage::new();
    snapshot.read_physics(&mut physics).unwrap();
    assert_eq!(physics, pages::physics(1000));
    assert!(snapshot.location(Page::Graphics).contains("snapshot"));
    let err = snapshot.read_at(Page::Static, 680, &mut [0u8; 8]).unwrap_err();
    assert!(matches!(err, ShmError::PageTooShort { actual: 684, needed: 688, .. }), "{err:?}");
    assert!(snapshot.read_at(Page::Static, u64::MAX, &mut [0u8; 1]).is_err());
}

#[test]
fn pages_of_other_lengths_load() {
    let snapshot = pages::snapshot();
    // A physics page without the tail (580 bytes) and one longer than ours (ACC's 800).
    for physics_len in [580usize, 800] {
        let mut bytes = header(1, [physics_len as u32, 296, 684]);
        let mut physics = snapshot.physics.as_bytes().to_vec();
        physics.resize(physics_len, 0x5a);
        bytes.extend_from_slice(&physics);
        bytes.extend_from_slice(snapshot.graphics.as_bytes());
        bytes.extend_from_slice(snapshot.static_page.as_bytes());
        let loaded = Snapshot::from_bytes(&bytes).unwrap();
        assert_eq!(loaded.physics.local_velocity, snapshot.physics.local_velocity);
        assert_eq!(loaded.physics.has_tail(), physics_len > 580, "{physics_len}");
        assert_eq!(loaded.graphics, snapshot.graphics);
        assert_eq!(loaded.static_page, snapshot.static_page);
    }
}

#[test]
fn bad_headers_are_clear_errors() {
    let good = pages::snapshot().to_bytes();

    let err = Snapshot::from_bytes(b"GIF89a\x01\x00 and more bytes than a header").unwrap_err();
    assert!(matches!(&err, ShmError::SnapshotMagic { found, .. } if found == b"GIF89a\x01\x00"), "{err:?}");
    assert!(err.to_string().contains("not a pitwall page snapshot"));

    let err = Snapshot::from_bytes(&[]).unwrap_err();
    assert!(matches!(err, ShmError::SnapshotMagic { .. }), "{err:?}");

    let err = Snapshot::from_bytes(&good[..10]).unwrap_err();
    assert!(matches!(err, ShmError::SnapshotTruncated { part: "header", needed: 24, actual: 10 }), "{err:?}");
    let err = Snapshot::from_bytes(&good[..5]).unwrap_err();
    assert!(matches!(err, ShmError::SnapshotTruncated { part: "header", .. }), "{err:?}");

    let mut bytes = good.clone();
    bytes[8] = 2;
    let err = Snapshot::from_bytes(&bytes).unwrap_err();
    assert!(matches!(err, ShmError::SnapshotVersion { found: 2, supported: 1 }), "{err:?}");
    assert!(err.to_string().contains("version 2"));

    let err = Snapshot::from_bytes(&good[..good.len() - 1]).unwrap_err();
    assert!(
        matches!(err, ShmError::SnapshotTruncated { part: "pages", needed: 1716, actual: 1715 }),
        "{err:?}"
    );

    let mut bytes = good.clone();
    bytes.extend_from_slice(b"xyz");
    let err = Snapshot::from_bytes(&bytes).unwrap_err();
    assert!(matches!(err, ShmError::SnapshotTrailing { extra: 3, expected: 1716 }), "{err:?}");

    // A page shorter than its minimum, or longer than any page, is refused before its bytes are
    // looked at, with the offset of its length.
    for (page, lens, offset, len) in [
        (Page::Physics, [579, 296, 684], 12, 579),
        (Page::Graphics, [712, 295, 684], 16, 295),
        (Page::Static, [712, 296, 0], 20, 0),
        (Page::Graphics, [712, 65_537, 684], 16, 65_537),
        // Huge lengths in the header are refused, not read or allocated.
        (Page::Physics, [u32::MAX; 3], 12, u32::MAX),
    ] {
        let err = Snapshot::from_bytes(&header(1, lens)).unwrap_err();
        assert!(
            matches!(&err, ShmError::SnapshotPageLength { page: p, offset: o, len: l, max: 65_536, .. }
                if *p == page && *o == offset && *l == len),
            "{err:?}"
        );
        assert!(err.to_string().contains(&format!("at offset {offset}")), "{err}");
    }
    // The longest pages load.
    let longest = shm::SNAPSHOT_MAX_PAGE_LEN;
    let mut bytes = header(1, [longest; 3]);
    bytes.resize(shm::SNAPSHOT_MAX_LEN as usize, 0);
    assert!(Snapshot::from_bytes(&bytes).is_ok());
}

#[test]
fn loading_a_missing_file_names_it() {
    let err = Snapshot::load("/nonexistent/pitwall.pwshm").unwrap_err();
    assert!(err.to_string().contains("/nonexistent/pitwall.pwshm"), "{err}");
}

/// The whole chain of an error, as the CLI prints it.
fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(e) = source {
        text.push_str(": ");
        text.push_str(&e.to_string());
        source = e.source();
    }
    text
}

/// A damaged snapshot file is an error that names the file, then says what is wrong and where;
/// a flipped byte inside a page is no error (the format has no checksum) but an odd value.
#[test]
fn damaged_snapshot_files_are_errors_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let good = pages::snapshot().to_bytes();
    let path = dir.path().join("pages.pwshm");
    let mut random = Vec::with_capacity(4096);
    let mut x = 0x2545_f491_4f6c_dd1du64;
    while random.len() < 4096 {
        // xorshift64: random bytes without a dependency, the same on every run.
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        random.extend_from_slice(&x.to_le_bytes());
    }
    let mut bad_version = good.clone();
    bad_version[8] ^= 0x40;
    let mut bad_length = good.clone();
    bad_length[16] ^= 0x01; // graphics: 296 -> 297 bytes, one more than the file has
    let mut huge_length = good.clone();
    huge_length[15] ^= 0x80; // physics: 712 -> 2^31 + 712 bytes
    let cases: [(&str, Vec<u8>, &str); 7] = [
        ("empty", Vec::new(), "magic is []"),
        ("truncated header", good[..20].to_vec(), "snapshot is 20 bytes, but 24 are needed for its header"),
        (
            "truncated pages",
            good[..1000].to_vec(),
            "snapshot is 1000 bytes, but 1716 are needed for its pages",
        ),
        ("random", random, "not a pitwall page snapshot"),
        ("flipped version bit", bad_version, "version 65 (at offset 8)"),
        ("flipped length bit", bad_length, "snapshot is 1716 bytes, but 1717 are needed for its pages"),
        ("flipped high length bit", huge_length, "physics page length (at offset 12) is 2147484360 bytes"),
    ];
    for (what, bytes, expected) in cases {
        std::fs::write(&path, &bytes).unwrap();
        let err = Snapshot::load(&path).unwrap_err();
        assert!(matches!(err, ShmError::Snapshot { .. }), "{what}: {err:?}");
        let text = chain(&err);
        assert!(
            text.starts_with(&format!("{} is not a usable page snapshot: ", path.display())),
            "{what}: {text}"
        );
        assert!(text.contains(expected), "{what}: {text}");
    }

    // A flipped byte inside the physics page: it loads, and the value shows the damage.
    let mut flipped = good.clone();
    let speed = 24 + std::mem::offset_of!(PhysicsPage, speed_kmh) + 3;
    flipped[speed] ^= 0x80;
    std::fs::write(&path, &flipped).unwrap();
    let loaded = Snapshot::load(&path).unwrap();
    assert_eq!(loaded.physics.speed_kmh, -pages::snapshot().physics.speed_kmh);
}

/// A file far longer than any snapshot is refused after reading no more than the longest one,
/// and the message gives the file's real length.
#[test]
fn an_endless_or_huge_file_is_not_read_to_its_end() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.pwshm");
    let file = std::fs::File::create(&path).unwrap();
    std::fs::write(&path, pages::snapshot().to_bytes()).unwrap();
    // Sparse: 64 GiB on the books, nothing on the disk.
    file.set_len(64 << 30).unwrap();
    let err = Snapshot::load(&path).unwrap_err();
    assert!(
        chain(&err).contains(&format!("{} unexpected bytes after its pages", (64u64 << 30) - 1716)),
        "{err}"
    );

    #[cfg(unix)]
    {
        // A device that never ends: refused before any read.
        let err = Snapshot::load("/dev/zero").unwrap_err();
        assert!(matches!(err, ShmError::SnapshotNotAFile { kind: "a device", .. }), "{err:?}");
        assert!(err.to_string().contains("/dev/zero is a device, not a regular file"), "{err}");
    }
    let err = Snapshot::load(dir.path()).unwrap_err();
    assert!(err.to_string().contains("is a directory"), "{err}");
}

/// A snapshot path that is a FIFO is refused at once instead of waiting for a writer.
#[cfg(unix)]
#[test]
fn a_snapshot_that_is_a_fifo_is_an_error_not_a_hang() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pages.pwshm");
    assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let (tx, rx) = std::sync::mpsc::channel();
    let path = fifo.clone();
    std::thread::spawn(move || tx.send(Snapshot::load(&path).map(drop)));
    let Ok(result) = rx.recv_timeout(std::time::Duration::from_secs(5)) else {
        // Release the blocked open before failing, so the thread ends.
        let _ = std::fs::OpenOptions::new().write(true).open(&fifo);
        panic!("loading a FIFO snapshot blocked");
    };
    let err = result.unwrap_err();
    assert!(matches!(err, ShmError::SnapshotNotAFile { kind: "a FIFO", .. }), "{err:?}");
    assert!(err.to_string().contains(&fifo.display().to_string()), "{err}");
}

fn testdata() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/shm")
}

/// The committed fixture is the sample pages' snapshot, and its decoded form is the committed
/// JSON. Set `PITWALL_BLESS=1` to rewrite both after an intended change.
#[test]
fn golden_snapshot_and_its_decoded_json() {
    let snapshot_path = testdata().join("sample.pwshm");
    let json_path = testdata().join("sample.json");
    let snapshot = pages::snapshot();
    let json = serde_json::to_string_pretty(&snapshot.decode()).unwrap() + "\n";
    if std::env::var_os("PITWALL_BLESS").is_some() {
        snapshot.save(&snapshot_path).unwrap();
        std::fs::write(&json_path, &json).unwrap();
    }
    let loaded = Snapshot::load(&snapshot_path).unwrap();
    assert_eq!(loaded, snapshot, "testdata/shm/sample.pwshm no longer matches the sample pages");
    let expected = std::fs::read_to_string(&json_path).unwrap();
    assert_eq!(json, expected, "testdata/shm/sample.json no longer matches the decoded pages");
    let parsed: shm::Pages = serde_json::from_str(&expected).unwrap();
    assert_eq!(parsed, loaded.decode());
    assert_eq!(parsed.static_page.track, "ks_nürburgring");
}

/// Every truncation, and every single-byte corruption of the header, is an error value: never
/// a panic, and never a silently misread snapshot.
#[test]
fn truncated_or_corrupted_snapshots_are_refused() {
    let good = pages::snapshot().to_bytes();
    for len in 0..good.len() {
        assert!(Snapshot::from_bytes(&good[..len]).is_err(), "truncated to {len} bytes");
    }
    for at in 0..shm::SNAPSHOT_HEADER_LEN {
        for value in [0x00, 0x01, 0x7f, 0x80, 0xff] {
            let mut bytes = good.clone();
            bytes[at] = value;
            // A changed magic or version is refused; a changed length no longer adds up to
            // the file's size.
            assert_eq!(Snapshot::from_bytes(&bytes).is_ok(), bytes == good, "byte {at} = {value:#x}");
        }
    }
}
