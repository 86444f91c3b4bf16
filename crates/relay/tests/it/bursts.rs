//! A server's bursts (a grid's car updates at once, with datagrams of other sizes between)
//! reach every plugin whole, byte for byte and in order, and the capture holds each datagram
//! both ways: what the relay's batched receives and segmented sends must keep.

use std::net::UdpSocket as StdUdpSocket;
use std::time::Duration;

use acsp::capture::{Link, Packet};
use acsp::{CarUpdate, Event, Vec3};
use relay::{PluginConfig, Relay, RelayConfig};
use tokio::net::UdpSocket;

/// The datagrams of burst `n`: 24 car updates (one size), then datagrams the relay cannot
/// decode, which go to every plugin as they are, of other sizes (one too large to be a
/// segment, one smaller than the updates), then 8 more updates.
fn burst(n: usize) -> Vec<Vec<u8>> {
    let update = |car: u8| {
        let mut buf = Vec::new();
        let event = Event::CarUpdate(CarUpdate {
            car_id: car,
            position: Vec3 { x: n as f32, y: f32::from(car), z: 0.0 },
            velocity: Vec3::default(),
            gear: 3,
            engine_rpm: 7000,
            normalized_spline_pos: 0.5,
        });
        acsp::encode_event(&event, &mut buf).unwrap();
        buf
    };
    let mut out: Vec<Vec<u8>> = (0..24).map(update).collect();
    out.push(vec![0xfe, n as u8, 1]);
    out.push(vec![0xfe; 100 + n]);
    out.push(vec![0xfe; 100 + n]);
    out.push(vec![0xfd; 3000]);
    out.extend((0..8).map(update));
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bursts_reach_every_plugin_whole_and_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("relay.pcap");
    let server = StdUdpSocket::bind("127.0.0.1:0").unwrap();
    let mut plugins = Vec::new();
    for _ in 0..3 {
        plugins.push(UdpSocket::bind("127.0.0.1:0").await.unwrap());
    }
    let mut config = RelayConfig::new(server.local_addr().unwrap(), "127.0.0.1:0".parse().unwrap());
    config.plugins = plugins
        .iter()
        .enumerate()
        .map(|(i, p)| PluginConfig { name: format!("p{i}"), addr: p.local_addr().unwrap(), reply: None })
        .collect();
    config.capture = Some(path.clone());
    let relay = Relay::bind(config).await.unwrap();
    let listen = relay.handle().listen_addr();

    // One burst at a time, each waited for whole, so that no kernel buffer overflows on a
    // busy machine; each one sent as fast as the server's socket goes.
    let mut sent = Vec::new();
    let mut buf = vec![0u8; 65536];
    for n in 0..20 {
        let datagrams = burst(n);
        for d in &datagrams {
            server.send_to(d, listen).unwrap();
        }
        for (i, plugin) in plugins.iter().enumerate() {
            for (k, want) in datagrams.iter().enumerate() {
                let got = tokio::time::timeout(Duration::from_secs(5), plugin.recv(&mut buf))
                    .await
                    .unwrap_or_else(|_| panic!("plugin {i}: datagram {k} of burst {n} never came"))
                    .unwrap();
                assert_eq!(&buf[..got], &want[..], "plugin {i}: datagram {k} of burst {n}");
            }
        }
        sent.extend(datagrams);
    }
    let stats = relay.run_until(async {}).await;
    for p in &stats.plugins {
        assert_eq!(p.datagrams_out, sent.len() as u64, "{}", p.name);
        assert_eq!((p.dropped, p.send_errors), (0, 0), "{}", p.name);
    }

    // The capture: what came from the server, and what went to each plugin, in order.
    let data = std::fs::read(&path).unwrap();
    let mut from_server = Vec::new();
    let mut to_plugin = vec![Vec::new(); plugins.len()];
    let mut last_ts = Duration::ZERO;
    for record in acsp::capture::records(&data).unwrap() {
        let record = record.unwrap();
        assert!(record.timestamp >= last_ts, "records in time order");
        last_ts = record.timestamp;
        let link = Link::from_linktype(record.linktype).unwrap();
        let Packet::Udp(d) = acsp::capture::udp_datagram(link, &record.data).unwrap() else {
            panic!("not UDP")
        };
        if d.src == server.local_addr().unwrap() {
            from_server.push(d.payload.to_vec());
        } else if let Some(i) = plugins.iter().position(|p| p.local_addr().unwrap() == d.dst) {
            to_plugin[i].push(d.payload.to_vec());
        } else {
            panic!("a datagram between strangers: {} -> {}", d.src, d.dst);
        }
    }
    assert_eq!(from_server, sent);
    for (i, got) in to_plugin.iter().enumerate() {
        assert_eq!(got, &sent, "the capture of plugin {i}");
    }
}
