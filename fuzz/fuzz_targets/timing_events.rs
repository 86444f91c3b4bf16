//! Any bytes as a stream of server datagrams fed to the timing engine (`timing::TimingEngine`).
//! Beyond "no panic", it checks the board's promises after every event:
//! - positions run 1..=n without gaps or repeats;
//! - only the first row leads (gap `Leader`), and it has no interval; no interval is `Leader`;
//! - every row has one last and one best time per sector, and the theoretical best is the sum
//!   of the best sectors when every sector has one;
//! - the board's clock never runs backwards, and every event is counted once;
//! - the board prints as text.
//!
//! The input is a sequence of records: a length byte, then that many bytes of datagram, decoded
//! with `acsp::decode` (one that does not decode is skipped, as the client would). Each datagram
//! arrives 100 ms after the one before; a length of 0 is a second of silence instead, so that
//! the engine's timers (car and server silence) are reached too. The engine's `tick` runs after
//! every record.
#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use timing::{Gap, TimingEngine};

fuzz_target!(|data: &[u8]| {
    let mut engine = TimingEngine::new();
    let mut now = Duration::ZERO;
    let mut events = 0u64;
    let mut at = Duration::ZERO;
    let mut rest = data;
    while let Some((&len, tail)) = rest.split_first() {
        let len = usize::from(len).min(tail.len());
        let (datagram, tail) = tail.split_at(len);
        rest = tail;
        if len == 0 {
            now += Duration::from_secs(1);
        } else {
            now += Duration::from_millis(100);
            let Ok(event) = acsp::decode(datagram) else { continue };
            engine.handle(now, &event);
            events += 1;
        }
        engine.tick(now);
        assert_eq!(engine.stats().events, events);
        check(&engine, &mut at);
    }
});

fn check(engine: &TimingEngine, at: &mut Duration) {
    let board = engine.board();
    assert!(board.at >= *at, "the board's clock ran backwards");
    *at = board.at;
    let sectors = board.sectors.len() + 1;
    for (i, r) in board.rows.iter().enumerate() {
        assert_eq!(r.position, i + 1, "positions run 1..=n");
        if i == 0 {
            assert!(matches!(r.gap, None | Some(Gap::Leader)), "{r:?}");
            assert_eq!(r.interval, None, "{r:?}");
        } else {
            assert_ne!(r.gap, Some(Gap::Leader), "only the first leads: {r:?}");
        }
        assert_ne!(r.interval, Some(Gap::Leader), "{r:?}");
        assert_eq!((r.last_sectors_ms.len(), r.best_sectors_ms.len()), (sectors, sectors), "{r:?}");
        let best: Option<Vec<u32>> = r.best_sectors_ms.iter().copied().collect();
        let sum = best.map(|b| b.iter().fold(0u32, |a, &s| a.saturating_add(s)));
        assert_eq!(r.theoretical_best_ms, sum, "{r:?}");
        assert!(r.spline.is_finite() && r.speed_kmh.is_finite(), "{r:?}");
    }
    let _ = timing::text::board(&board);
}
