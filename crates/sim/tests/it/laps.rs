//! LAP_COMPLETED and its leaderboard, session ends.

use std::collections::HashMap;
use std::time::Duration;

use acsp::{Event, LapCompleted, NO_TIME};
use sim::server::{ServerConfig, SessionConfig};

use crate::support::{config, start};

fn slots_once(lap: &LapCompleted, slots: u8) {
    let mut ids: Vec<u8> = lap.leaderboard.iter().map(|e| e.car_id).collect();
    ids.sort_unstable();
    assert_eq!(ids, (0..slots).collect::<Vec<_>>(), "every entry-list slot exactly once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn race_leaderboard_is_by_laps_then_total_time_and_the_session_rolls_over() {
    let cfg = ServerConfig {
        cars: 5,
        speed: 250.0,
        join_interval: Duration::ZERO,
        sessions: vec![SessionConfig::race(3, 5)],
        ..config()
    };
    let mut rig = start(cfg).await;
    let (Event::NewSession(s), _) = rig.wait_for("new_session", |e| matches!(e, Event::NewSession(_))).await
    else {
        unreachable!()
    };
    assert_eq!((s.elapsed_ms, s.wait_time, s.laps), (-5000, 5000, 3), "negative elapsed during the wait");

    let (end, before) = rig.wait_for("end_session", |e| matches!(e, Event::EndSession(_))).await;
    let laps: Vec<&LapCompleted> =
        before.iter().filter_map(|e| if let Event::LapCompleted(l) = e { Some(l) } else { None }).collect();
    assert!(laps.len() >= 15, "5 cars × 3 laps, got {}", laps.len());
    let mut sums: HashMap<u8, u32> = HashMap::new();
    let mut someone_finished = false;
    for lap in &laps {
        slots_once(lap, 6);
        assert_eq!(lap.grip_level, 1.0);
        *sums.entry(lap.car_id).or_default() += lap.lap_time;
        let ranked: Vec<_> = lap.leaderboard.iter().take_while(|e| e.laps > 0).collect();
        for w in ranked.windows(2) {
            assert!(
                (w[0].laps, std::cmp::Reverse(w[0].time)) >= (w[1].laps, std::cmp::Reverse(w[1].time)),
                "{w:?}"
            );
        }
        assert!(lap.leaderboard[ranked.len()..].iter().all(|e| e.time == NO_TIME && e.laps == 0));
        let me = lap.leaderboard.iter().find(|e| e.car_id == lap.car_id).unwrap();
        assert_eq!(me.time, sums[&lap.car_id], "race time is the sum of the laps");
        if me.laps == 3 {
            someone_finished = true;
        }
        // Nobody is flagged before the leader completes the distance.
        assert_eq!(me.has_completed, Some(someone_finished), "{lap:?}");
    }
    let last = laps.last().unwrap();
    assert!(last.leaderboard[..5].iter().all(|e| e.laps == 3 && e.has_completed == Some(true)));
    let Event::EndSession(end) = end else { unreachable!() };
    assert!(end.filename.starts_with("results/") && end.filename.ends_with("_RACE.json"), "{}", end.filename);
    // END_SESSION is immediately followed by NEW_SESSION (one session: it wraps to itself).
    let Event::NewSession(next) = rig.next().await else { panic!("NEW_SESSION must follow END_SESSION") };
    assert_eq!((next.session_index, next.elapsed_ms), (0, -5000));
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn qualify_leaderboard_is_by_best_lap_with_unranked_cars_last() {
    let cfg = ServerConfig {
        speed: 400.0,
        join_interval: Duration::ZERO,
        sessions: vec![SessionConfig::qualify(6), SessionConfig::race(1, 0)],
        ..config()
    };
    let mut rig = start(cfg).await;
    let (_, before) = rig.wait_for("end_session", |e| matches!(e, Event::EndSession(_))).await;
    let laps: Vec<&LapCompleted> =
        before.iter().filter_map(|e| if let Event::LapCompleted(l) = e { Some(l) } else { None }).collect();
    assert!(laps.len() >= 8, "got {} laps", laps.len());
    let mut best: HashMap<u8, u32> = HashMap::new();
    let mut grip = 0.0;
    for lap in &laps {
        slots_once(lap, 6);
        assert!(lap.grip_level > grip && lap.grip_level < 1.0, "grip rises lap by lap: {}", lap.grip_level);
        grip = lap.grip_level;
        if lap.cuts == 0 {
            let b = best.entry(lap.car_id).or_insert(lap.lap_time);
            *b = (*b).min(lap.lap_time);
        }
        let ranked = lap.leaderboard.iter().take_while(|e| e.time != NO_TIME).count();
        assert_eq!(ranked, best.len());
        for w in lap.leaderboard[..ranked].windows(2) {
            assert!(w[0].time <= w[1].time, "{w:?}");
        }
        for e in &lap.leaderboard[..ranked] {
            assert_eq!(e.time, best[&e.car_id], "best clean lap of car {}", e.car_id);
        }
        // Slots 4 and 5 have no driver: listed, never ranked.
        let empty: Vec<_> = lap.leaderboard.iter().filter(|e| e.car_id >= 4).collect();
        assert!(empty.iter().all(|e| e.time == NO_TIME && e.laps == 0 && e.has_completed == Some(false)));
    }
    let Event::NewSession(next) = rig.next().await else { panic!("NEW_SESSION must follow END_SESSION") };
    assert_eq!(next.session_index, 1);
    rig.stop().await;
}
