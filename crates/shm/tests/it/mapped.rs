//! Page files read through memory maps (`MappedDir`), as Linux apps read a Proton bridge's.

use std::fs;
use std::time::Duration;

use shm::{DirWriter, GraphicsPage, MappedDir, Page, PageSource, PhysicsPage, ShmError, StaticPage};
use testkit::pages;

use crate::support;

#[test]
fn reads_the_pages_and_sees_writes_in_place_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let expected = pages::snapshot();
    support::write_all(dir.path(), &expected);
    let mut source = MappedDir::open(dir.path()).unwrap();
    let mut physics = PhysicsPage::new();
    let mut graphics = GraphicsPage::new();
    let mut statics = StaticPage::new();
    assert_eq!(source.read_physics(&mut physics).unwrap().source_len, shm::BRIDGE_FILE_LEN);
    source.read_graphics(&mut graphics).unwrap();
    source.read_static(&mut statics).unwrap();
    assert_eq!((physics, graphics, statics), (expected.physics, expected.graphics, expected.static_page));

    // The game writes in place; the map shows it without any re-open.
    let mut writer = DirWriter::create(dir.path(), 0).unwrap();
    for id in 1001..1004 {
        writer.write_physics(&pages::physics(id)).unwrap();
        source.read_physics(&mut physics).unwrap();
        assert_eq!(physics, pages::physics(id));
    }
}

#[test]
fn missing_and_short_files_name_the_file_and_the_sizes() {
    let dir = tempfile::tempdir().unwrap();
    let err = MappedDir::open(dir.path()).unwrap_err();
    assert!(matches!(err, ShmError::Open { page: Page::Physics, .. }), "{err:?}");
    assert!(err.to_string().contains("acpmf_physics"), "{err}");

    support::write_all(dir.path(), &pages::snapshot());
    let path = dir.path().join("acpmf_graphics");
    fs::File::options().write(true).open(&path).unwrap().set_len(100).unwrap();
    let err = MappedDir::open(dir.path()).unwrap_err();
    assert!(
        matches!(&err, ShmError::PageTooShort { page: Page::Graphics, actual: 100, needed: 296, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains(&path.display().to_string()), "{err}");
}

#[test]
fn a_read_past_the_map_is_an_error_not_a_fault() {
    let dir = tempfile::tempdir().unwrap();
    support::write_all(dir.path(), &pages::snapshot());
    let mut source = MappedDir::open(dir.path()).unwrap();
    let err = source.read_at(Page::Physics, 2040, &mut [0u8; 16]).unwrap_err();
    assert!(matches!(err, ShmError::PageTooShort { actual: 2048, needed: 2056, .. }), "{err:?}");
    let err = source.read_at(Page::Static, u64::MAX, &mut [0u8; 4]).unwrap_err();
    assert!(matches!(err, ShmError::PageTooShort { page: Page::Static, .. }), "{err:?}");
}

#[test]
fn a_file_replaced_or_resized_is_mapped_again_at_the_next_check() {
    let dir = tempfile::tempdir().unwrap();
    support::write_all(dir.path(), &pages::snapshot());
    let mut source = MappedDir::open_checking_every(dir.path(), Duration::ZERO).unwrap();
    let mut physics = PhysicsPage::new();

    // A bridge restarted: the file is removed and created anew with the game's next step.
    let path = dir.path().join("acpmf_physics");
    fs::remove_file(&path).unwrap();
    let mut writer = DirWriter::create(dir.path(), shm::BRIDGE_FILE_LEN).unwrap();
    writer.write_physics(&pages::physics(4242)).unwrap();
    source.read_physics(&mut physics).unwrap();
    assert_eq!(physics.packet_id, 4242, "the new file is read, not the old one");

    // Shrunk in place but still long enough: mapped again at its new size.
    fs::File::options().write(true).open(&path).unwrap().set_len(712).unwrap();
    assert_eq!(source.read_physics(&mut physics).unwrap().source_len, 712);
    assert_eq!(physics.packet_id, 4242);

    // Shrunk below the page: an error naming it, then fine again once it is restored.
    fs::File::options().write(true).open(&path).unwrap().set_len(10).unwrap();
    let err = source.read_physics(&mut physics).unwrap_err();
    assert!(matches!(&err, ShmError::PageTooShort { page: Page::Physics, actual: 10, .. }), "{err:?}");
    fs::File::options().write(true).open(&path).unwrap().set_len(2048).unwrap();
    writer.write_physics(&pages::physics(4243)).unwrap();
    source.read_physics(&mut physics).unwrap();
    assert_eq!(physics.packet_id, 4243);
}
