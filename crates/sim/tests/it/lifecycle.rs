//! Start-up, connections and the CAR_UPDATE stream.

use std::collections::HashMap;
use std::time::Duration;

use acsp::{CarUpdate, Event, SessionType, Version};

use crate::support::{config, start};

/// The default track's length (the simulator's circuit is scaled to it exactly).
const TRACK_M: f64 = 4318.0;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn starts_with_version_then_session_and_answers_the_startup_request() {
    let mut rig = start(config()).await;
    assert_eq!(rig.next().await, Event::Version(Version { protocol_version: 4 }));
    let Event::NewSession(new) = rig.next().await else { panic!("NEW_SESSION expected second") };
    assert_eq!((new.session_index, new.session_count, new.session_type), (0, 2, SessionType::Practice));
    assert_eq!((new.time, new.laps, new.elapsed_ms), (10, 0, 0));
    assert_eq!(new.server_name, "pitwall sim");
    // The client asked for the current session while the simulator was not yet running.
    let Event::SessionInfo(info) = rig.next().await else { panic!("SESSION_INFO expected third") };
    assert_eq!(info.session_index, new.session_index);
    assert_eq!((info.name, info.track, info.time), (new.name, new.track, new.time));
    let summary = rig.stop().await;
    assert_eq!(summary.stats.commands_received, 1);
    assert!(summary.stats.sent("version") == 1 && summary.stats.sent("session_info") == 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drivers_connect_then_load() {
    let mut rig = start(config()).await;
    let events = rig.wait_loaded(4).await;
    let mut connected = HashMap::new();
    for (i, e) in events.iter().enumerate() {
        match e {
            Event::NewConnection(c) => {
                assert!(connected.insert(c.car_id, (i, c.clone())).is_none());
            }
            Event::ClientLoaded(l) => {
                let (at, _) = connected.get(&l.car_id).expect("CLIENT_LOADED without NEW_CONNECTION");
                assert!(*at < i);
            }
            Event::CarUpdate(_) => panic!("CAR_UPDATE before REALTIMEPOS_INTERVAL (stock server behaviour)"),
            _ => {}
        }
    }
    let mut ids: Vec<u8> = connected.keys().copied().collect();
    ids.sort_unstable();
    assert_eq!(ids, [0, 1, 2, 3]);
    // CAR_INFO agrees with NEW_CONNECTION.
    rig.client.get_car_info(3).await.unwrap();
    let (Event::CarInfo(info), _) = rig.wait_for("car_info", |e| matches!(e, Event::CarInfo(_))).await else {
        unreachable!()
    };
    let (_, conn) = &connected[&3];
    assert!(info.is_connected);
    assert_eq!(
        (&info.driver_name, &info.driver_guid, &info.car_model),
        (&conn.driver_name, &conn.driver_guid, &conn.car_model)
    );
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn car_updates_come_at_the_requested_interval_only_after_asking() {
    let mut rig = start(sim::server::ServerConfig { speed: 20.0, ..config() }).await;
    let before = rig.wait_loaded(4).await;
    assert!(!before.iter().any(|e| matches!(e, Event::CarUpdate(_))));

    rig.client.realtimepos_interval(100).await.unwrap();
    rig.wait_for("car_update", |e| matches!(e, Event::CarUpdate(_))).await;
    let events = rig.collect_for(Duration::from_millis(800)).await;
    let mut per_car: HashMap<u8, Vec<CarUpdate>> = HashMap::new();
    for e in &events {
        if let Event::CarUpdate(u) = e {
            per_car.entry(u.car_id).or_default().push(*u);
            assert!((0.0..1.0).contains(&u.normalized_spline_pos), "{u:?}");
            assert!(u.position.x.is_finite() && u.position.y.is_finite() && u.position.z.is_finite());
            assert!(u.gear >= 1 && u.gear <= 7, "gear {u:?}");
            if u.speed_kmh() > 5.0 {
                assert!(u.gear >= 2 && u.engine_rpm > 1000, "moving in neutral: {u:?}");
            }
        }
    }
    assert_eq!(per_car.len(), 4, "every loaded car is reported");

    // The interval is in simulated time: between two consecutive updates a car covers what its
    // speed gives in 100 ms. This holds however late the datagrams are read.
    let mut ratios = Vec::new();
    for updates in per_car.values() {
        for w in updates.windows(2) {
            let v = f64::from(w[0].speed_kmh() + w[1].speed_kmh()) / 2.0 / 3.6;
            let ds = f64::from(w[1].normalized_spline_pos - w[0].normalized_spline_pos) * TRACK_M;
            if v > 20.0 && ds > 0.0 {
                ratios.push(ds / (v * 0.1));
            }
        }
    }
    assert!(ratios.len() > 50, "only {} samples of cars at speed", ratios.len());
    ratios.sort_by(f64::total_cmp);
    let median = ratios[ratios.len() / 2];
    assert!((0.95..1.05).contains(&median), "cars move {median}× the distance expected in 100 ms");

    // And one update per car per interval: the server reports every car at each interval, so in
    // the order they arrive the updates go round the cars, each car once per round. (Counting
    // updates in a wall-clock window instead would depend on the machine's load.)
    let order: Vec<u8> = events
        .iter()
        .filter_map(|e| if let Event::CarUpdate(u) = e { Some(u.car_id) } else { None })
        .collect();
    let cars = per_car.len();
    let whole_rounds = &order[..order.len() - order.len() % cars];
    for (i, round) in whole_rounds.chunks(cars).enumerate() {
        let distinct: std::collections::HashSet<u8> = round.iter().copied().collect();
        assert_eq!(distinct.len(), cars, "round {i} of car updates is not one per car: {round:?}");
    }
    assert!(whole_rounds.len() / cars >= 5, "only {} rounds in 800 ms", whole_rounds.len() / cars);

    // 0 switches the stream off. The server handles commands in order and answers
    // GET_SESSION_INFO, so once that answer arrives the interval is 0: no update may follow it.
    rig.client.realtimepos_interval(0).await.unwrap();
    rig.client.get_session_info(-1).await.unwrap();
    rig.wait_for("session_info", |e| matches!(e, Event::SessionInfo(_))).await;
    let after = rig.collect_for(Duration::from_millis(300)).await;
    assert!(!after.iter().any(|e| matches!(e, Event::CarUpdate(_))), "updates after interval 0");
    rig.stop().await;
}
