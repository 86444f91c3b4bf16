//! Torn reads: the game writes a page while we copy it.

use shm::{
    GraphicsPage, ManualClock, Page, PageSource, PhysicsPage, Poller, PollerConfig, ShmError, read_page,
};
use testkit::pages;

use crate::support::{Tear, TearingSource};

#[test]
fn a_torn_copy_is_retried_until_consistent() {
    for k in 0..4u32 {
        let mut source = TearingSource::new(pages::snapshot(), Tear::AfterCopy, k, 0);
        let mut physics = PhysicsPage::new();
        let info = source.read_physics(&mut physics).unwrap();
        assert_eq!(info.retries, k, "{k} tears");
        assert_eq!(source.full_copies[0], 2 * (k + 1), "two copies per attempt");
        // The copy kept is the page as it stands after the k writes.
        assert_eq!(physics.packet_id, 1000 + k as i32);
        assert_eq!(physics, source.inner.physics);
    }
}

#[test]
fn a_write_just_before_the_copy_is_a_consistent_read() {
    // The step written before the first copy is whole in both copies: kept, no retry, and it
    // is the new step.
    let mut source = TearingSource::new(pages::snapshot(), Tear::BeforeCopy, 1, 0);
    let mut physics = PhysicsPage::new();
    let info = source.read_physics(&mut physics).unwrap();
    assert_eq!(info.retries, 0);
    assert_eq!(source.full_copies[0], 2);
    assert_eq!(physics.packet_id, 1001);
    assert_eq!(physics, source.inner.physics);
}

#[test]
fn a_copy_whose_own_id_disagrees_is_retried() {
    let mut source = TearingSource::new(pages::snapshot(), Tear::InCopyOnly, 2, 0);
    let mut physics = PhysicsPage::new();
    let info = source.read_physics(&mut physics).unwrap();
    assert_eq!(info.retries, 2);
    assert_eq!(physics.packet_id, 1000, "the page itself never changed");
}

#[test]
fn a_page_whose_content_changes_under_a_stable_id_is_retried() {
    let mut source = TearingSource::new(pages::snapshot(), Tear::ContentOnly, 3, 2);
    let mut physics = PhysicsPage::new();
    let info = source.read_physics(&mut physics).unwrap();
    assert_eq!(info.retries, 3, "the id check alone would have accepted the first copy");
    assert_eq!(physics, source.inner.physics, "the copy kept is the settled page");
    let mut graphics = GraphicsPage::new();
    assert_eq!(source.read_graphics(&mut graphics).unwrap().retries, 2);
    assert_eq!(graphics, source.inner.graphics);
}

#[test]
fn graphics_is_guarded_too() {
    let mut source = TearingSource::new(pages::snapshot(), Tear::AfterCopy, 0, 2);
    let mut graphics = GraphicsPage::new();
    assert_eq!(source.read_graphics(&mut graphics).unwrap().retries, 2);
    assert_eq!(graphics.packet_id, 402);
}

#[test]
fn retries_are_bounded() {
    let mut source = TearingSource::new(pages::snapshot(), Tear::AfterCopy, 100, 0);
    let mut physics = PhysicsPage::new();
    let err = read_page(&mut source, Page::Physics, physics.as_mut_bytes(), 3).unwrap_err();
    assert!(matches!(err, ShmError::Torn { page: Page::Physics, attempts: 4 }), "{err:?}");
    assert_eq!(source.full_copies[0], 8, "one attempt and three retries of two copies, no more");
    assert!(err.to_string().contains("physics"));
}

#[test]
fn the_static_page_is_copied_once() {
    let mut source = TearingSource::new(pages::snapshot(), Tear::AfterCopy, 100, 100);
    let mut statics = shm::StaticPage::new();
    assert_eq!(source.read_static(&mut statics).unwrap().retries, 0);
    assert_eq!(statics.track(), "ks_nürburgring");
}

#[test]
fn the_poller_counts_retries_and_skips_hopeless_polls() {
    let clock = ManualClock::new(0);
    let config = PollerConfig { max_retries: 2, ..PollerConfig::default() };
    // The first poll sees one physics and one graphics tear and retries each once.
    let source = TearingSource::new(pages::snapshot(), Tear::AfterCopy, 1, 1);
    let mut poller = Poller::with_config(source, &clock, config);

    let first = poller.poll().unwrap().expect("a sample after one retry");
    assert_eq!(first.physics.packet_id, 1001);
    assert_eq!(poller.stats().retries, 2, "one physics retry and one graphics retry");

    // The second sees three physics tears in a row: with two retries allowed, it gives up.
    poller.source_mut().left[0] = 3;
    assert_eq!(poller.poll().unwrap(), None);
    assert_eq!(poller.stats().torn_reads, 1);
    assert_eq!(poller.stats().retries, 4, "two more retries before giving up");

    // The game moved on by 3 steps during the failed poll; the next poll sees 1004.
    let next = poller.poll().unwrap().expect("a clean read");
    assert_eq!(next.physics.packet_id, 1004);
    assert_eq!(next.missed_before, 2);
    assert_eq!(poller.stats().samples, 2);
    assert_eq!(poller.stats().torn_reads, 1);
}
