//! The poller: each step once, missed steps and duplicates counted, sessions detected.

use shm::{ManualClock, Poller, PollerConfig, Sample, SessionStart, SessionType, Snapshot, Status};
use testkit::pages;

/// Feeds the poller one physics packet id per poll, 3 ms apart; returns the ids yielded.
fn feed(poller: &mut Poller<Snapshot, &ManualClock>, clock: &ManualClock, ids: &[i32]) -> Vec<i32> {
    feed_samples(poller, clock, ids).iter().map(|s| s.physics.packet_id).collect()
}

fn feed_samples(
    poller: &mut Poller<Snapshot, &ManualClock>,
    clock: &ManualClock,
    ids: &[i32],
) -> Vec<Sample> {
    let mut out = Vec::new();
    for &id in ids {
        poller.source_mut().physics.packet_id = id;
        clock.advance(3_000_000);
        if let Some(sample) = poller.poll().unwrap() {
            out.push(sample);
        }
    }
    out
}

#[test]
fn each_step_is_yielded_once_with_faults_counted() {
    let clock = ManualClock::new(0);
    let mut poller = Poller::new(pages::snapshot(), &clock);
    // Faults: 10 is read three times (two duplicates), 12 and 13 are never seen (missed), 14
    // is read twice, then 20 follows 14 (five missed).
    let yielded = feed(&mut poller, &clock, &[10, 11, 11, 11, 14, 14, 15, 20]);
    assert_eq!(yielded, [10, 11, 14, 15, 20]);
    let stats = poller.stats();
    assert_eq!(stats.polls, 8);
    assert_eq!(stats.samples, 5);
    assert_eq!(stats.duplicates, 3);
    assert_eq!(stats.missed_steps, 2 + 4);
    assert_eq!(stats.sessions, 1);
    assert_eq!(stats.static_reads, 1);
}

#[test]
fn samples_carry_the_gap_the_clock_and_the_latest_graphics() {
    let clock = ManualClock::new(5);
    let mut poller = Poller::new(pages::snapshot(), &clock);
    let first = poller.poll().unwrap().unwrap();
    assert_eq!(first.session_start, Some(SessionStart::First));
    assert_eq!((first.session, first.missed_before, first.mono_ns), (1, 0, 5));
    assert_eq!(first.graphics.packet_id, 400);

    poller.source_mut().physics.packet_id = 1003;
    poller.source_mut().graphics.packet_id = 401;
    poller.source_mut().graphics.normalized_car_position = 0.5;
    clock.advance(9_000_000);
    let next = poller.poll().unwrap().unwrap();
    assert_eq!(next.session_start, None);
    assert_eq!(next.missed_before, 2);
    assert_eq!(next.mono_ns, 9_000_005);
    assert_eq!(next.graphics.packet_id, 401);
    assert_eq!(next.graphics.normalized_car_position, 0.5);

    // Graphics moving on alone does not make a new physics sample.
    poller.source_mut().graphics.packet_id = 402;
    assert_eq!(poller.poll().unwrap(), None);
    assert_eq!(poller.stats().duplicates, 1);
}

#[test]
fn a_packet_id_restart_starts_a_session_and_rereads_static() {
    let clock = ManualClock::new(0);
    let mut poller = Poller::new(pages::snapshot(), &clock);
    feed(&mut poller, &clock, &[500, 501]);
    poller.source_mut().static_page.set_track("ks_nordschleife");
    poller.source_mut().physics.packet_id = 3;
    let sample = poller.poll().unwrap().unwrap();
    assert_eq!(sample.session_start, Some(SessionStart::PacketIdRestart { last: 501, now: 3 }));
    assert_eq!(sample.session, 2);
    assert_eq!(sample.missed_before, 0, "no gap is counted across sessions");
    assert_eq!(poller.static_page().unwrap().track(), "ks_nordschleife");
    assert_eq!(poller.stats().static_reads, 2);
    assert_eq!(poller.stats().missed_steps, 0);
}

#[test]
fn a_session_type_change_starts_a_session() {
    let clock = ManualClock::new(0);
    let mut poller = Poller::new(pages::snapshot(), &clock);
    feed(&mut poller, &clock, &[1, 2]);
    assert_eq!(poller.source_mut().graphics.session(), SessionType::Qualify);
    // The game writes the graphics page with the next packetId (docs/shm.md).
    poller.source_mut().graphics.set_session(SessionType::Race);
    poller.source_mut().graphics.packet_id += 1;
    let yielded = feed(&mut poller, &clock, &[3, 4]);
    assert_eq!(yielded, [3, 4]);
    assert_eq!(poller.session(), 2);
    assert_eq!(poller.stats().sessions, 2);
    assert_eq!(poller.stats().static_reads, 2);

    // Same type again: no new session.
    feed(&mut poller, &clock, &[5]);
    assert_eq!(poller.session(), 2);
}

#[test]
fn nothing_is_yielded_while_off_and_leaving_off_starts_a_session() {
    let clock = ManualClock::new(0);
    let mut snapshot = pages::snapshot();
    snapshot.graphics.set_status(Status::Off);
    let mut poller = Poller::new(snapshot, &clock);
    assert_eq!(feed(&mut poller, &clock, &[0, 1, 2]), Vec::<i32>::new());
    assert_eq!(poller.stats().inactive_polls, 3);
    assert_eq!(poller.session(), 0);
    assert!(poller.static_page().is_none(), "static is not read in the menus");

    poller.source_mut().graphics.set_status(Status::Live);
    poller.source_mut().graphics.packet_id += 1;
    poller.source_mut().physics.packet_id = 3;
    let first = poller.poll().unwrap().unwrap();
    assert_eq!(first.session_start, Some(SessionStart::First));

    // Back to the menus and out again, same packet id: a new session.
    poller.source_mut().graphics.set_status(Status::Off);
    poller.source_mut().graphics.packet_id += 1;
    assert_eq!(poller.poll().unwrap(), None);
    poller.source_mut().graphics.set_status(Status::Pause);
    poller.source_mut().graphics.packet_id += 1;
    let again = poller.poll().unwrap().unwrap();
    assert_eq!(again.session_start, Some(SessionStart::LeftOff));
    assert_eq!(again.session, 2);
    assert_eq!(poller.stats().inactive_polls, 4);
}

#[test]
fn a_failed_static_read_is_retried_by_the_next_poll() {
    // A source whose static page is too short: the session cannot start, and the poller
    // reports it instead of yielding a sample with no static page.
    #[derive(Debug)]
    struct NoStatic(Snapshot);
    impl shm::PageSource for NoStatic {
        fn location(&self, page: shm::Page) -> String {
            self.0.location(page)
        }
        fn page_len(&mut self, page: shm::Page) -> Result<u64, shm::ShmError> {
            match page {
                shm::Page::Static => Ok(10),
                other => self.0.page_len(other),
            }
        }
        fn read_at(&mut self, page: shm::Page, offset: u64, buf: &mut [u8]) -> Result<(), shm::ShmError> {
            self.0.read_at(page, offset, buf)
        }
    }
    let clock = ManualClock::new(0);
    let mut poller = Poller::new(NoStatic(pages::snapshot()), &clock);
    let err = poller.poll().unwrap_err();
    assert!(
        matches!(err, shm::ShmError::PageTooShort { page: shm::Page::Static, actual: 10, .. }),
        "{err:?}"
    );
    assert_eq!(poller.session(), 0);
    assert!(poller.poll().is_err(), "still failing, still no session");
    assert_eq!(poller.stats().samples, 0);
}

#[test]
fn the_rate_is_measured_on_the_injected_clock() {
    let clock = ManualClock::new(0);
    let mut poller = Poller::new(pages::snapshot(), &clock);
    assert_eq!(poller.rate_hz(), None);
    // 2 s at 250 Hz, polled twice per step (every other poll is a duplicate).
    for id in 0..500 {
        for _ in 0..2 {
            poller.source_mut().physics.packet_id = id;
            clock.advance(2_000_000);
            poller.poll().unwrap();
        }
    }
    let rate = poller.rate_hz().unwrap();
    assert!((rate - 250.0).abs() < 1e-9, "{rate}");
    assert_eq!(poller.stats().duplicates, 500);

    // Now the game drops every other step: 125 samples per second, each with one missed.
    for id in (501..1000).step_by(2) {
        poller.source_mut().physics.packet_id = id;
        clock.advance(8_000_000);
        poller.poll().unwrap();
    }
    let rate = poller.rate_hz().unwrap();
    assert!((rate - 125.0).abs() < 1e-9, "{rate}");
    assert_eq!(poller.stats().missed_steps, 250);
}

#[test]
fn a_graphics_page_with_the_same_packet_id_is_not_copied_again_until_it_is_old() {
    let clock = ManualClock::new(0);
    let mut poller = Poller::new(pages::snapshot(), &clock);
    feed(&mut poller, &clock, &[1]);
    // Changed under the same id (the game never does this): the held copy is kept…
    poller.source_mut().graphics.position = 17;
    let kept = feed_samples(&mut poller, &clock, &[2]);
    assert_eq!(kept[0].graphics.position, pages::snapshot().graphics.position);
    assert_eq!(poller.stats().graphics_kept, 1);
    // …until it is older than `graphics_refresh_ns`,
    clock.advance(PollerConfig::default().graphics_refresh_ns);
    assert_eq!(feed_samples(&mut poller, &clock, &[3])[0].graphics.position, 17);
    // and a new id is copied at once.
    poller.source_mut().graphics.position = 18;
    poller.source_mut().graphics.packet_id += 1;
    assert_eq!(feed_samples(&mut poller, &clock, &[4])[0].graphics.position, 18);
    assert_eq!(poller.stats().graphics_kept, 1);
}
