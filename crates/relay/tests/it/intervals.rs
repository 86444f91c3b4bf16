//! Car-update intervals reconciled: the server at the fastest, each plugin at its own.

use std::time::{Duration, Instant};

use acsp::{Command, Event};
use relay::{Interval, Limits};

use crate::{Rig, drain_all, free_addr, grid};

/// Updates of one car in the last `window` of a drain.
fn rate(events: &[(Instant, Event)], car: u8, from: Instant) -> usize {
    events.iter().filter(|(at, e)| *at >= from && matches!(e, Event::CarUpdate(u) if u.car_id == car)).count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plugins_get_updates_at_their_own_rate_and_the_server_the_fastest() {
    let (slow, fast, quiet, none) = (free_addr(), free_addr(), free_addr(), free_addr());
    let mut rig = Rig::new(
        grid(3, 1.0),
        &[("slow", slow), ("fast", fast), ("quiet", quiet), ("none", none)],
        None,
        Limits::default(),
    )
    .await;
    let clients = [
        rig.client("slow", slow, Some(1000)).await,
        rig.client("fast", fast, Some(100)).await,
        rig.client("quiet", quiet, None).await,
        rig.client("none", none, Some(0)).await,
    ];
    rig.start();
    let mut clients = clients;
    // The cars load within the first half second; count over the 3 s after the first.
    let from = Instant::now() + Duration::from_secs(1);
    let got = drain_all(&mut clients, Duration::from_secs(4)).await;
    let commands = rig.server.as_ref().unwrap().commands();
    rig.stop_server().await;
    let stats = rig.stop_relay().await;

    let intervals: Vec<u16> = commands
        .iter()
        .filter_map(|c| match c.command {
            Command::RealtimeposInterval { interval_ms } => Some(interval_ms),
            _ => None,
        })
        .collect();
    assert_eq!(intervals.last(), Some(&100), "the server is asked for the fastest: {intervals:?}");
    assert!(intervals.iter().all(|&ms| ms == 100 || ms == 1000), "never anyone else's: {intervals:?}");
    assert_eq!(stats.server_interval, Some(100));

    for car in 0..3 {
        let slow = rate(&got[0], car, from);
        let fast = rate(&got[1], car, from);
        let quiet = rate(&got[2], car, from);
        assert!((2..=4).contains(&slow), "car {car}: {slow} updates in 3 s at 1000 ms");
        assert!((26..=34).contains(&fast), "car {car}: {fast} updates in 3 s at 100 ms");
        assert!(
            (26..=34).contains(&quiet),
            "car {car}: {quiet}: a plugin that never asked gets the server's rate"
        );
        assert_eq!(rate(&got[3], car, from - Duration::from_secs(1)), 0, "0 means none");
    }
    let by_name = |n: &str| stats.plugins.iter().find(|p| p.name == n).unwrap().clone();
    assert_eq!(by_name("slow").interval, Interval::Every(1000));
    assert_eq!(by_name("none").interval, Interval::Off);
    assert_eq!(by_name("quiet").interval, Interval::ServerDefault);
    assert!(by_name("slow").core.updates_skipped > 0);
}
