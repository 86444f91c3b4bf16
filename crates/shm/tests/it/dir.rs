//! Page files in a directory (the Proton bridges' `/dev/shm` layout).

use std::fs;

use shm::{
    DirSource, DirWriter, GraphicsPage, Page, PageSource, PhysicsPage, ShmError, Snapshot, StaticPage,
};
use testkit::pages;

use crate::support;

#[test]
fn round_trip_through_bridge_sized_files() {
    let dir = tempfile::tempdir().unwrap();
    let expected = pages::snapshot();
    support::write_all(dir.path(), &expected);
    for page in Page::ALL {
        let len = fs::metadata(dir.path().join(page.file_name())).unwrap().len();
        assert_eq!(len, 2048, "{page}: files keep the bridge's size, larger than the page");
    }

    let mut source = DirSource::open(dir.path()).unwrap();
    let mut physics = PhysicsPage::new();
    let mut graphics = GraphicsPage::new();
    let mut statics = StaticPage::new();
    assert_eq!(source.read_physics(&mut physics).unwrap().retries, 0);
    source.read_graphics(&mut graphics).unwrap();
    source.read_static(&mut statics).unwrap();
    assert_eq!(physics, expected.physics);
    assert_eq!(graphics, expected.graphics);
    assert_eq!(statics, expected.static_page);
    assert_eq!(physics.speed_kmh, 212.3);
    assert_eq!(physics.wheels_pressure, [27.6, 27.4, 26.9, 26.8]);
    assert_eq!(graphics.normalized_car_position, 0.63);
    // Non-ASCII names survive the files.
    assert_eq!(statics.track(), "ks_nürburgring");
    assert_eq!(statics.track_configuration(), "gp_日本_layout");
    assert_eq!(statics.player_surname(), "Ångström-Łukasz");
    assert_eq!(statics.car_skin(), "00_официальный_マンタイ");
    // A surrogate pair in UTF-16, too.
    assert_eq!(statics.player_nick(), "🏎 Kimi");

    // Snapshot::capture over the files gives the same pages.
    assert_eq!(Snapshot::capture(&mut source).unwrap(), expected);
}

#[test]
fn writes_in_place_are_seen_by_an_open_reader() {
    let dir = tempfile::tempdir().unwrap();
    support::write_all(dir.path(), &pages::snapshot());
    let mut source = DirSource::open(dir.path()).unwrap();
    let mut writer = DirWriter::create(dir.path(), 0).unwrap();
    writer.write_physics(&pages::physics(1001)).unwrap();
    let mut physics = PhysicsPage::new();
    source.read_physics(&mut physics).unwrap();
    assert_eq!(physics.packet_id, 1001);
    assert_eq!(fs::metadata(source.path(Page::Physics)).unwrap().len(), 2048, "never truncated");
}

#[test]
fn a_580_byte_physics_file_reads_without_its_tail() {
    let dir = tempfile::tempdir().unwrap();
    let snapshot = pages::snapshot();
    support::write_all(dir.path(), &snapshot);
    // Exactly the documented size: what a reader that trusts the AC doc would create.
    fs::write(dir.path().join("acpmf_physics"), &snapshot.physics.as_bytes()[..580]).unwrap();

    // Read with system calls, and through a map where the OS has them.
    let mut sources: Vec<Box<dyn PageSource>> = Vec::new();
    sources.push(Box::new(DirSource::open(dir.path()).unwrap()));
    #[cfg(unix)]
    sources.push(Box::new(shm::MappedDir::open(dir.path()).unwrap()));
    for mut source in sources {
        let mut physics = pages::physics(1); // stale tail data must be cleared by the read
        let info = source.read_physics(&mut physics).unwrap();
        assert_eq!(info.source_len, 580);
        assert!(!physics.has_tail());
        assert_eq!(physics.local_velocity, snapshot.physics.local_velocity);
        assert_eq!(physics.tyre_temp, [0.0; 4]);
        assert_eq!(physics.decode().tyre_temp, None);
    }
}

#[test]
fn missing_files_name_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let err = DirSource::open(dir.path()).unwrap_err();
    assert!(matches!(err, ShmError::Open { page: Page::Physics, .. }), "{err:?}");
    let message = err.to_string();
    assert!(message.contains(&dir.path().join("acpmf_physics").display().to_string()), "{message}");

    // With physics present, the next missing one is named.
    fs::write(dir.path().join("acpmf_physics"), vec![0u8; 2048]).unwrap();
    let message = DirSource::open(dir.path()).unwrap_err().to_string();
    assert!(message.contains("acpmf_graphics") && message.contains("graphics page"), "{message}");
}

#[test]
fn short_files_name_the_file_and_the_sizes() {
    let cases =
        [("acpmf_physics", 579u64, 580usize), ("acpmf_graphics", 100, 296), ("acpmf_static", 683, 684)];
    for (name, len, needed) in cases {
        let dir = tempfile::tempdir().unwrap();
        support::write_all(dir.path(), &pages::snapshot());
        let path = dir.path().join(name);
        fs::File::options().write(true).open(&path).unwrap().set_len(len).unwrap();
        let err = DirSource::open(dir.path()).unwrap_err();
        match &err {
            ShmError::PageTooShort { location, actual, needed: n, .. } => {
                assert_eq!(location, &path.display().to_string());
                assert_eq!((*actual, *n), (len, needed));
            }
            other => panic!("{name}: expected PageTooShort, got {other:?}"),
        }
        let message = err.to_string();
        assert!(
            message.contains(&path.display().to_string())
                && message.contains(&len.to_string())
                && message.contains(&needed.to_string()),
            "{message}"
        );
    }
}

#[test]
fn a_file_truncated_after_opening_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    support::write_all(dir.path(), &pages::snapshot());
    let mut source = DirSource::open(dir.path()).unwrap();
    let path = dir.path().join("acpmf_graphics");
    fs::File::options().write(true).open(&path).unwrap().set_len(10).unwrap();
    let err = source.read_graphics(&mut GraphicsPage::new()).unwrap_err();
    assert!(
        matches!(&err, ShmError::PageTooShort { page: Page::Graphics, actual: 10, needed: 296, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("acpmf_graphics"));
    // A read past the end through the raw interface is also an error.
    let err = source.read_at(Page::Physics, 2040, &mut [0u8; 16]).unwrap_err();
    assert!(matches!(err, ShmError::PageTooShort { actual: 2048, needed: 2056, .. }), "{err:?}");
}

#[test]
fn polling_files_end_to_end() {
    let dir = tempfile::tempdir().unwrap();
    let mut snapshot = pages::snapshot();
    support::write_all(dir.path(), &snapshot);
    let clock = shm::ManualClock::new(0);
    let mut poller = shm::Poller::new(DirSource::open(dir.path()).unwrap(), &clock);
    let mut writer = DirWriter::create(dir.path(), 0).unwrap();
    let mut seen = Vec::new();
    for id in [1000, 1001, 1001, 1004, 1005] {
        snapshot.physics.packet_id = id;
        writer.write_physics(&snapshot.physics).unwrap();
        clock.advance(3_000_000);
        if let Some(sample) = poller.poll().unwrap() {
            seen.push((sample.physics.packet_id, sample.missed_before));
        }
    }
    assert_eq!(seen, [(1000, 0), (1001, 0), (1004, 2), (1005, 0)]);
    assert_eq!(poller.static_page().unwrap().track(), "ks_nürburgring");
}

/// A page file that is a FIFO (or any other non-regular file) is an error naming it, at once:
/// opening a FIFO for reading would otherwise wait for a writer that never comes.
#[cfg(unix)]
#[test]
fn a_page_file_that_is_a_fifo_is_an_error_not_a_hang() {
    let dir = tempfile::tempdir().unwrap();
    support::write_all(dir.path(), &pages::snapshot());
    let fifo = dir.path().join("acpmf_graphics");
    fs::remove_file(&fifo).unwrap();
    let made = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap();
    assert!(made.success(), "mkfifo");

    type Open = fn(&std::path::Path) -> Result<(), ShmError>;
    let openers: [(&str, Open); 2] = [
        ("DirSource", |d| DirSource::open(d).map(drop)),
        ("MappedDir", |d| shm::MappedDir::open(d).map(drop)),
    ];
    for (name, open) in openers {
        let (tx, rx) = std::sync::mpsc::channel();
        let path = dir.path().to_owned();
        std::thread::spawn(move || tx.send(open(&path)));
        let result = rx.recv_timeout(std::time::Duration::from_secs(5));
        let Ok(result) = result else {
            // Release the blocked open before failing, so the thread ends.
            let _ = fs::OpenOptions::new().write(true).open(&fifo);
            panic!("{name}: opening a FIFO page file blocked");
        };
        let error = result.expect_err("a FIFO is not a page file");
        assert!(matches!(error, ShmError::NotAFile { .. }), "{name}: {error:?}");
        let text = error.to_string();
        assert!(text.contains(&fifo.display().to_string()), "{name}: {text}");
        assert!(text.contains("graphics") && text.contains("FIFO"), "{name}: {text}");
    }
}

/// The writer (the game simulator's) refuses a page file that is not a regular file: a FIFO, a
/// link to a device, a directory. Each is an error naming the file and what it is, at once.
#[cfg(unix)]
#[test]
fn the_writer_refuses_special_page_files() {
    type Make = fn(&std::path::Path);
    let cases: [(&str, Make); 3] = [
        ("a FIFO", |p| assert!(std::process::Command::new("mkfifo").arg(p).status().unwrap().success())),
        ("a device", |p| std::os::unix::fs::symlink("/dev/null", p).unwrap()),
        ("a directory", |p| fs::create_dir(p).unwrap()),
    ];
    for (kind, make) in cases {
        let dir = tempfile::tempdir().unwrap();
        let special = dir.path().join("acpmf_graphics");
        make(&special);
        let (tx, rx) = std::sync::mpsc::channel();
        let path = dir.path().to_owned();
        std::thread::spawn(move || tx.send(DirWriter::create(&path, 2048).map(drop)));
        let result = rx.recv_timeout(std::time::Duration::from_secs(5)).expect("creating the writer blocked");
        let err = result.expect_err("a special file is not a page file");
        assert!(
            matches!(&err, ShmError::NotAFile { page: Page::Graphics, kind: k, .. } if *k == kind),
            "{kind}: {err:?}"
        );
        let text = err.to_string();
        assert!(text.contains(&special.display().to_string()) && text.contains(kind), "{text}");
        // The regular file before it was made as usual; nothing was written through the link.
        assert_eq!(fs::metadata(dir.path().join("acpmf_physics")).unwrap().len(), 2048);
    }
}
