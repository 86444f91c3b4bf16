//! Every event to every plugin; answers to the asker only.

use std::time::Duration;

use acsp::Event;
use relay::Limits;

use crate::{Rig, broadcast_only, drain_all, free_addr, grid};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_plugin_sees_every_event_and_answers_go_to_the_asker() {
    let (a, b) = (free_addr(), free_addr());
    let mut config = grid(4, 100.0);
    config.sessions = vec![sim::server::SessionConfig::practice(3), sim::server::SessionConfig::qualify(3)];
    let mut rig = Rig::new(config, &[("a", a), ("b", b)], None, Limits::default()).await;
    let ca = rig.client("a", a, None).await;
    let cb = rig.client("b", b, None).await;
    rig.start();
    tokio::time::sleep(Duration::from_millis(500)).await;
    ca.get_car_info(1).await.unwrap();
    ca.kick_user(200).await.unwrap();
    cb.get_session_info(9).await.unwrap();
    cb.get_session_info(0).await.unwrap();
    let mut clients = [ca, cb];
    let got = drain_all(&mut clients, Duration::from_secs(4)).await;
    rig.stop_server().await;
    let stats = rig.stop_relay().await;

    let count = |events: &[(std::time::Instant, Event)], f: fn(&Event) -> bool| {
        events.iter().filter(|(_, e)| f(e)).count()
    };
    let (ga, gb) = (&got[0], &got[1]);
    // Each client asked the current session at start-up; b asked session 0 too.
    assert_eq!(count(ga, |e| matches!(e, Event::SessionInfo(_))), 1, "a: its own session info only");
    assert_eq!(count(gb, |e| matches!(e, Event::SessionInfo(_))), 2, "b: its own two");
    assert_eq!(count(ga, |e| matches!(e, Event::CarInfo(c) if c.car_id == 1)), 1);
    assert_eq!(count(gb, |e| matches!(e, Event::CarInfo(_))), 0, "b never asked for a car");
    let errors = |events: &[(std::time::Instant, Event)]| -> Vec<String> {
        events
            .iter()
            .filter_map(|(_, e)| if let Event::Error(m) = e { Some(m.message.clone()) } else { None })
            .collect()
    };
    assert_eq!(errors(ga), ["ERROR: ACSP_KICK_USER index 200 out of bound"]);
    assert_eq!(errors(gb), ["ERROR: ACSP_GET_SESSION_INFO out of bounds: 9"]);

    let (ba, bb) = (broadcast_only(ga), broadcast_only(gb));
    assert_eq!(ba, bb, "both plugins see the same events, in the same order");
    let kinds = |k: fn(&Event) -> bool| ba.iter().filter(|e| k(e)).count();
    assert!(kinds(|e| matches!(e, Event::NewSession(_))) >= 2, "the session changed at least once");
    assert_eq!(kinds(|e| matches!(e, Event::NewConnection(_))), 4);
    assert_eq!(kinds(|e| matches!(e, Event::ClientLoaded(_))), 4);
    assert!(
        kinds(|e| matches!(e, Event::LapCompleted(_))) > 0,
        "{:?}",
        ba.iter().map(Event::name).collect::<Vec<_>>()
    );
    // Nothing lost on the way: the relay passed on all the server sent.
    let total = stats.server_datagrams_in;
    for p in &stats.plugins {
        assert_eq!(p.dropped, 0);
        assert_eq!(p.datagrams_out, p.core.events);
    }
    let a_total = ga.len() as u64;
    assert_eq!(stats.plugins[0].datagrams_out, a_total);
    assert_eq!(total, a_total + 2 + 1, "b's answers (2 session infos, 1 error) did not go to a");
    assert_eq!(stats.core.unsolicited_answers, 0);
}
