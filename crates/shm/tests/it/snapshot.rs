//! The snapshot file format: round trips, bad headers, and the golden fixture.

use std::path::PathBuf;

use shm::{Page, PageSource, PhysicsPage, SNAPSHOT_MAGIC, ShmError, Snapshot};

use crate::support;

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
    let snapshot = support::snapshot();
    snapshot.save(&path).unwrap();
    let bytes = std::fs::read(&path).unwrap();
    assert_eq!(bytes.len(), 24 + 712 + 296 + 684);
    assert_eq!(&bytes[..12], b"PWSHMSNP\x01\x00\x00\x00");
    assert_eq!(bytes[12..24], header(1, [712, 296, 684])[12..]);
    assert_eq!(&bytes[24..24 + 712], snapshot.physics.as_bytes());

    let loaded = Snapshot::load(&path).unwrap();
    assert_eq!(loaded, snapshot);
    assert_eq!(loaded.static_page.track_configuration(), "Nürburgring GP");
    assert_eq!(loaded.static_page.player_name(), "Jürgen");
}

#[test]
fn a_snapshot_is_a_page_source() {
    let mut snapshot = support::snapshot();
    let mut physics = PhysicsPage::new();
    snapshot.read_physics(&mut physics).unwrap();
    assert_eq!(physics, support::physics(1000));
    assert!(snapshot.location(Page::Graphics).contains("snapshot"));
    let err = snapshot.read_at(Page::Static, 680, &mut [0u8; 8]).unwrap_err();
    assert!(matches!(err, ShmError::PageTooShort { actual: 684, needed: 688, .. }), "{err:?}");
    assert!(snapshot.read_at(Page::Static, u64::MAX, &mut [0u8; 1]).is_err());
}

#[test]
fn pages_of_other_lengths_load() {
    let snapshot = support::snapshot();
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
    let good = support::snapshot().to_bytes();

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

    // A page shorter than its minimum is refused before its bytes are looked at.
    for (page, lens) in
        [(Page::Physics, [579, 296, 684]), (Page::Graphics, [712, 295, 684]), (Page::Static, [712, 296, 0])]
    {
        let err = Snapshot::from_bytes(&header(1, lens)).unwrap_err();
        assert!(
            matches!(&err, ShmError::PageTooShort { page: p, location, .. } if *p == page && location == "snapshot"),
            "{err:?}"
        );
    }

    // Huge lengths in the header are a truncation error, not an allocation.
    let err = Snapshot::from_bytes(&header(1, [u32::MAX; 3])).unwrap_err();
    assert!(matches!(err, ShmError::SnapshotTruncated { part: "pages", .. }), "{err:?}");
}

#[test]
fn loading_a_missing_file_names_it() {
    let err = Snapshot::load("/nonexistent/pitwall.pwshm").unwrap_err();
    assert!(err.to_string().contains("/nonexistent/pitwall.pwshm"), "{err}");
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
    let snapshot = support::snapshot();
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
    assert_eq!(parsed.static_page.track, "鈴鹿");
}

/// Every truncation, and every single-byte corruption of the header, is an error value: never
/// a panic, and never a silently misread snapshot.
#[test]
fn truncated_or_corrupted_snapshots_are_refused() {
    let good = support::snapshot().to_bytes();
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
