//! A plugin that stops reading, floods or sends garbage costs the others nothing.

use std::net::UdpSocket as StdUdpSocket;
use std::time::{Duration, Instant};

use acsp::{Command, Event};
use relay::Limits;

use crate::{Rig, drain, free_addr, grid};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_and_a_flooding_plugin_cost_the_others_nothing() {
    let (good, stalled, flood) = (free_addr(), free_addr(), free_addr());
    let limits = Limits { commands_per_second: 50.0, command_burst: 20.0, ..Limits::default() };
    let mut rig =
        Rig::new(grid(8, 1.0), &[("good", good), ("stalled", stalled), ("flood", flood)], None, limits).await;
    // The stalled plugin binds its port and never reads it.
    let stalled_socket = StdUdpSocket::bind(stalled).unwrap();
    let mut client = rig.client("good", good, Some(10)).await;
    rig.start();

    // The flood: as fast as one thread can send, garbage and valid commands alternately.
    let flood_socket = StdUdpSocket::bind(flood).unwrap();
    let reply = rig.relay.reply_addr("flood").unwrap();
    let mut get_car_info = Vec::new();
    acsp::encode(&Command::GetCarInfo { car_id: 2 }, &mut get_car_info).unwrap();
    let flooder = std::thread::spawn(move || {
        let end = Instant::now() + Duration::from_secs(2);
        let mut sent = 0u64;
        while Instant::now() < end {
            let garbage = [0x01u8, 2, 3];
            let _ = flood_socket.send_to(if sent % 2 == 0 { &garbage } else { &get_car_info }, reply);
            sent += 1;
        }
        sent
    });
    let got = drain(&mut client, Duration::from_secs(3)).await;
    let flooded = flooder.join().unwrap();
    let commands = rig.server.as_ref().unwrap().commands();
    rig.stop_server().await;
    let rest = drain(&mut client, Duration::from_millis(300)).await;
    let stats = rig.stop_relay().await;
    drop(stalled_socket);

    let by_name = |n: &str| stats.plugins.iter().find(|p| p.name == n).unwrap().clone();
    let (g, s, f) = (by_name("good"), by_name("stalled"), by_name("flood"));
    assert!(flooded > 1000, "the flood sent {flooded}");
    // The kernel may drop some of the flood before the relay reads it: that is the flood's loss.
    assert!(
        f.datagrams_in <= flooded && f.datagrams_in > flooded / 2,
        "{} of {flooded} read",
        f.datagrams_in
    );
    assert!(f.core.rate_limited > f.datagrams_in / 2, "{f:?}");
    assert!(f.core.malformed > 0, "{f:?}");
    let asks = commands.iter().filter(|c| matches!(c.command, Command::GetCarInfo { .. })).count() as u64;
    assert_eq!(asks, f.core.commands, "only commands within the rate reach the server");
    assert!(asks <= 20 + 3 * 50, "{asks} asks in about 2 s at 50/s with a burst of 20");

    // The good plugin got every datagram routed to it, at its 10 ms interval for 8 cars.
    assert_eq!(g.dropped, 0);
    assert_eq!(g.datagrams_out, g.core.events);
    assert_eq!(
        (got.len() + rest.len()) as u64,
        g.datagrams_out,
        "nothing lost on the way to the good plugin"
    );
    let updates = got.iter().filter(|(_, e)| matches!(e, Event::CarUpdate(_))).count();
    assert!(updates > 8 * 100 * 2, "{updates} car updates in 3 s for 8 cars at 10 ms");
    // The stalled plugin was sent the same stream: the kernel, not the relay, drops it.
    // (Less its own answer, plus the updates held back for its interval.)
    assert_eq!(s.datagrams_out + s.dropped, g.datagrams_out - g.core.answers + g.core.updates_skipped);
    // The flood's answers went to the flood, not to the good plugin.
    assert!(got.iter().all(|(_, e)| !matches!(e, Event::CarInfo(_))));
}
