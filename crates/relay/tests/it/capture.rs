//! The relay's capture decodes to the events the plugins saw.

use std::time::Duration;

use acsp::Event;
use acsp::capture::{Link, Packet};
use relay::Limits;

use crate::{Rig, drain, free_addr, grid};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_capture_decodes_to_the_events_the_plugin_saw() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("relay.pcap");
    let a = free_addr();
    let mut rig = Rig::new(grid(4, 30.0), &[("a", a)], Some(path.clone()), Limits::default()).await;
    let mut client = rig.client("a", a, Some(200)).await;
    rig.start();
    let mut got = drain(&mut client, Duration::from_secs(2)).await;
    let server = rig.server.as_ref().unwrap().local_addr();
    rig.stop_server().await;
    got.extend(drain(&mut client, Duration::from_millis(300)).await);
    let stats = rig.stop_relay().await;

    let data = std::fs::read(&path).unwrap();
    let (mut to_plugin, mut from_server, mut to_server, mut from_plugin) = (Vec::new(), 0u64, 0u64, 0u64);
    let reply = stats.plugins[0].reply;
    for record in acsp::capture::records(&data).unwrap() {
        let record = record.unwrap();
        let link = Link::from_linktype(record.linktype).unwrap();
        let Packet::Udp(d) = acsp::capture::udp_datagram(link, &record.data).unwrap() else {
            panic!("not UDP")
        };
        if d.dst == a {
            assert_eq!(d.src, reply, "events come from the plugin's reply port");
            to_plugin.push(acsp::decode(d.payload).unwrap());
        } else if d.src == server {
            from_server += 1;
        } else if d.dst == server {
            acsp::decode_command(d.payload).unwrap();
            to_server += 1;
        } else if d.dst == reply {
            acsp::decode_command(d.payload).unwrap();
            from_plugin += 1;
        } else {
            panic!("a datagram between strangers: {} -> {}", d.src, d.dst);
        }
    }
    let seen: Vec<Event> = got.into_iter().map(|(_, e)| e).collect();
    assert!(seen.len() > 50, "{}: {:?}", seen.len(), seen.iter().map(Event::name).collect::<Vec<_>>());
    assert_eq!(to_plugin, seen, "the capture holds exactly what the plugin got");
    assert_eq!(from_server, stats.server_datagrams_in);
    assert_eq!(to_server, stats.server_commands_out);
    assert_eq!(from_plugin, stats.plugins[0].datagrams_in);
    assert_eq!(stats.capture_packets, Some(to_plugin.len() as u64 + from_server + to_server + from_plugin));
}
