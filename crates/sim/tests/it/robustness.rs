//! Datagrams from the wrong place, and datagrams that are not commands.

use std::time::Duration;

use acsp::{Chat, Event};
use sim::server::ServerConfig;
use tokio::net::UdpSocket;

use crate::support::{config, loopback, start};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_client_rejects_events_that_do_not_come_from_the_server() {
    let mut rig = start(config()).await;
    rig.wait_for("new_session", |e| matches!(e, Event::NewSession(_))).await;
    let spoofer = UdpSocket::bind(loopback()).await.unwrap();
    let mut buf = Vec::new();
    acsp::encode_event(&Event::Chat(Chat { car_id: 0, message: "spoofed".into() }), &mut buf).unwrap();
    for _ in 0..3 {
        spoofer.send_to(&buf, rig.client.local_addr()).await.unwrap();
    }
    let rejected =
        |r: &crate::support::Rig| r.client.stats().rejected_source.load(std::sync::atomic::Ordering::Relaxed);
    rig.wait_until("rejected_source", rejected, 3).await;
    let events = rig.collect_for(Duration::from_millis(200)).await;
    assert!(!events.iter().any(|e| matches!(e, Event::Chat(c) if c.message == "spoofed")));
    rig.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_commands_are_counted_and_skipped() {
    let mut rig = start(config()).await;
    rig.wait_for("startup session_info", |e| matches!(e, Event::SessionInfo(_))).await;
    let raw = UdpSocket::bind(loopback()).await.unwrap();
    let server = rig.sim.local_addr();
    let garbage: [&[u8]; 6] = [
        &[],                       // not even an id
        &[0xc9],                   // GET_CAR_INFO without its car id
        &[0x05, 1, 2],             // not a command id
        &[0x38, 4],                // VERSION: an event id, not a command
        &[0xca, 1, 5, 0x41],       // SEND_CHAT whose text is cut short
        &[0xcd, 0, 0, 1, 1, 0, 0], // SET_SESSION_INFO without its time and wait
    ];
    for g in garbage {
        raw.send_to(g, server).await.unwrap();
    }
    let malformed = |r: &crate::support::Rig| r.sim.stats().malformed_commands;
    rig.wait_until("malformed_commands", malformed, 6).await;

    // The simulator is still answering, and answers go to the plugin, not to the sender.
    raw.send_to(&[0xc9, 0], server).await.unwrap();
    let (Event::CarInfo(c), skipped) = rig.wait_for("car_info", |e| matches!(e, Event::CarInfo(_))).await
    else {
        unreachable!()
    };
    assert_eq!(c.car_id, 0);
    assert!(!skipped.iter().any(|e| matches!(e, Event::Error(_))), "bad datagrams get no answer");
    let summary = rig.stop().await;
    assert_eq!(summary.stats.malformed_commands, 6);
    assert_eq!(summary.stats.commands_received, 2);
}

/// 127.0.0.2 is a loopback address on Linux without any set-up (not on macOS).
#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_from_another_ip_can_be_refused() {
    let mut rig = start(ServerConfig { commands_from_plugin_ip_only: true, ..config() }).await;
    rig.wait_for("startup session_info", |e| matches!(e, Event::SessionInfo(_))).await;
    let stranger = UdpSocket::bind("127.0.0.2:0").await.unwrap();
    stranger.send_to(&[0xcf], rig.sim.local_addr()).await.unwrap(); // NEXT_SESSION
    rig.wait_until("rejected_source", |r| r.sim.stats().rejected_source, 1).await;
    // Same IP as the plugin, other port: accepted (AssettoServer compares the IP only).
    let neighbour = UdpSocket::bind(loopback()).await.unwrap();
    neighbour.send_to(&[0xc9, 0], rig.sim.local_addr()).await.unwrap();
    let (_, skipped) = rig.wait_for("car_info", |e| matches!(e, Event::CarInfo(_))).await;
    assert!(!skipped.iter().any(|e| matches!(e, Event::EndSession(_))), "the stranger's command was applied");
    let summary = rig.stop().await;
    assert_eq!((summary.stats.rejected_source, summary.stats.commands_received), (1, 2));
}

/// A plugin address that no send can reach (the broadcast address, which a socket without
/// SO_BROADCAST may not send to) stops the simulator with an error naming it, rather than a run
/// that sends nothing and ends as if all went well.
#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_plugin_address_every_send_fails_to_stops_the_simulator() {
    let plugin = std::net::SocketAddr::from(([255, 255, 255, 255], 12000));
    let config =
        ServerConfig { plugin, realtime_interval_ms: Some(50), join_interval: Duration::ZERO, ..config() };
    let sim = sim::server::ServerSim::bind(config).await.unwrap();
    let result = tokio::time::timeout(crate::support::TIMEOUT, sim.run_until(std::future::pending())).await;
    let error = result.expect("the simulator stops by itself").expect_err("and says why");
    let sim::SimError::Send { plugin: to, failures, .. } = &error else { panic!("{error}") };
    assert_eq!(*to, plugin);
    assert!(*failures >= 2, "{failures}");
    assert!(error.to_string().contains("255.255.255.255:12000"), "{error}");
    let os = std::error::Error::source(&error).expect("the OS error is the source").to_string();
    assert!(!error.to_string().contains(&os), "the OS error is said once, by the source: {error}");
}

/// The task's failure (here a panic) is said once in the printed chain, not repeated by the
/// outer message.
#[tokio::test]
async fn a_task_error_is_said_once() {
    let join = tokio::spawn(async { panic!("the sim task blew up") }).await.unwrap_err();
    let error = sim::SimError::from(join);
    let mut chain = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(s) = source {
        chain = format!("{chain}: {s}");
        source = s.source();
    }
    assert_eq!(chain.matches("blew up").count(), 1, "{chain}");
}
