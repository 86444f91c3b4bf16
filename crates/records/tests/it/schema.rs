//! Migrations: from an empty file, on re-open, and a file from a newer build.

use records::{RecordsError, Store};

use crate::store;

#[test]
fn migrates_an_empty_file_and_reopens_without_change() {
    let (_dir, path, store) = store();
    assert_eq!(store.schema_version().unwrap(), 3);
    drop(store);
    let store = Store::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), 3);
    drop(store);
    // WAL mode is stored in the file.
    assert_eq!(journal_mode_in_header(&path), "wal");
}

/// The journal mode the file's header records: its bytes 18 and 19 (the read and write format
/// versions) are 2 in WAL mode.
fn journal_mode_in_header(path: &std::path::Path) -> &'static str {
    let bytes = std::fs::read(path).unwrap();
    if bytes[18] == 2 && bytes[19] == 2 { "wal" } else { "rollback" }
}

#[test]
fn a_newer_schema_is_refused_with_the_file_named() {
    let (_dir, path, store) = store();
    drop(store);
    // A future build's file: bump user_version behind the store's back (offset 60 of the
    // header, big-endian).
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[60..64].copy_from_slice(&99u32.to_be_bytes());
    std::fs::write(&path, bytes).unwrap();
    let err = Store::open(&path).unwrap_err();
    assert!(matches!(err, RecordsError::TooNew { found: 99, known: 3, .. }), "{err:?}");
    assert!(err.to_string().contains(&path.display().to_string()), "{err}");
}

#[test]
fn a_file_that_is_not_a_database_is_an_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("not-a-db.sqlite");
    std::fs::write(&path, b"this is not SQLite, just text that goes on long enough to be read").unwrap();
    let err = Store::open(&path).unwrap_err();
    assert!(err.to_string().contains("not-a-db.sqlite"), "{err}");
}
