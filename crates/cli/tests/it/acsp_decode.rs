//! `pitwall acsp decode`: pcap, pcapng-free raw concatenations, damage in the middle.

use std::borrow::Cow;
use std::time::Duration;

use acsp::{Chat, ClientLoaded, Event, LapCompleted, LeaderboardEntry, Vec3, Version};

use crate::{pitwall, run_ok};

fn events() -> Vec<Event> {
    vec![
        Event::Version(Version { protocol_version: 4 }),
        Event::ClientLoaded(ClientLoaded { car_id: 1 }),
        Event::CarUpdate(acsp::CarUpdate {
            car_id: 1,
            position: Vec3::new(10.0, 1.0, -5.0),
            velocity: Vec3::new(30.0, 0.0, 40.0),
            gear: 4,
            engine_rpm: 7200,
            normalized_spline_pos: 0.25,
        }),
        Event::LapCompleted(LapCompleted {
            car_id: 1,
            lap_time: 80_902,
            cuts: 0,
            leaderboard: (0..24)
                .map(|i| LeaderboardEntry {
                    car_id: i,
                    time: if i == 1 { 80_902 } else { acsp::NO_TIME },
                    laps: u16::from(i == 1),
                    has_completed: None,
                })
                .collect(),
            grip_level: 0.97,
        }),
        Event::Chat(Chat { car_id: 1, message: "/next_session".into() }),
    ]
}

fn encode_all(events: &[Event]) -> Vec<Vec<u8>> {
    events
        .iter()
        .map(|e| {
            let mut v = Vec::new();
            acsp::encode_event(e, &mut v).unwrap();
            v
        })
        .collect()
}

fn types(stdout: &[u8]) -> Vec<String> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["type"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn raw_concatenation_decodes_message_after_message() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ac_out");
    // Old 7-byte leaderboard entries: only the next message's id tells the layout apart.
    std::fs::write(&path, encode_all(&events()).concat()).unwrap();
    let out = run_ok(pitwall().args(["acsp", "decode", "--json"]).arg(&path));
    assert_eq!(types(&out.stdout), ["version", "client_loaded", "car_update", "lap_completed", "chat"]);
    let lap: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().nth(3).unwrap()).unwrap();
    assert_eq!(lap["leaderboard"].as_array().unwrap().len(), 24);
    assert_eq!(lap["lap_time"], 80_902);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("raw concatenation, 5 messages"), "{err}");
    assert!(err.contains("lap_completed 1"), "{err}");
}

#[test]
fn raw_concatenation_resynchronises_after_damage() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("damaged");
    let parts = encode_all(&events());
    let mut data = parts[0].clone();
    data.extend_from_slice(&[0x35, 0x01, 0x02]); // a CAR_UPDATE cut short
    for p in &parts[1..] {
        data.extend_from_slice(p);
    }
    std::fs::write(&path, data).unwrap();
    let out = run_ok(pitwall().args(["acsp", "decode", "--json"]).arg(&path));
    // Only the damaged bytes are lost: every intact message after them is found again.
    assert_eq!(types(&out.stdout), ["version", "client_loaded", "car_update", "lap_completed", "chat"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("offset 2: car_update of 33 bytes is followed by"), "{err}");
    assert!(err.contains("skipped 3 bytes, resuming at offset 5"), "{err}");
    assert!(err.contains("1 malformed"), "{err}");
}

#[test]
fn pcap_keeps_datagram_boundaries_and_both_directions() {
    use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ac.pcap");
    let mut payloads = encode_all(&events());
    // A command from the plugin, and a datagram with two trailing bytes.
    payloads.push(vec![0xcc, 0xff, 0xff]);
    let mut v = Vec::new();
    acsp::encode_event(&Event::ClientLoaded(ClientLoaded { car_id: 9 }), &mut v).unwrap();
    v.extend_from_slice(&[0, 0]);
    payloads.push(v);
    let file = std::fs::File::create(&path).unwrap();
    let header = PcapHeader { datalink: pcap_file::DataLink::ETHERNET, ..Default::default() };
    let mut w = PcapWriter::with_header(file, header).unwrap();
    for (i, p) in payloads.iter().enumerate() {
        let (sport, dport) = if p[0] >= 200 { (12000, 11000) } else { (11000, 12000) };
        let frame = ethernet_udp(sport, dport, p);
        let pkt = PcapPacket::new(Duration::from_millis(i as u64), frame.len() as u32, &frame);
        w.write_packet(&pkt).unwrap();
    }
    // Another UDP flow the --port filter leaves out.
    let other = ethernet_udp(5353, 5353, b"mdns");
    w.write_packet(&PcapPacket {
        timestamp: Duration::ZERO,
        orig_len: other.len() as u32,
        data: Cow::Borrowed(&other),
    })
    .unwrap();
    drop(w);
    let out = run_ok(pitwall().args(["acsp", "decode", "--json", "--port", "12000"]).arg(&path));
    assert_eq!(
        types(&out.stdout),
        [
            "version",
            "client_loaded",
            "car_update",
            "lap_completed",
            "chat",
            "get_session_info",
            "client_loaded"
        ]
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("pcap, 7 messages"), "{err}");
    assert!(err.contains("2 trailing bytes"), "{err}");
    assert!(err.contains("7 UDP datagrams, 1 other packets skipped"), "{err}");
}

/// An Ethernet + IPv4 + UDP frame on loopback addresses (checksums 0: allowed for UDP/IPv4).
fn ethernet_udp(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![0u8; 12];
    f.extend_from_slice(&0x0800u16.to_be_bytes());
    let total = (20 + 8 + payload.len()) as u16;
    f.extend_from_slice(&[0x45, 0]);
    f.extend_from_slice(&total.to_be_bytes());
    f.extend_from_slice(&[0, 0, 0x40, 0, 64, 17, 0, 0, 127, 0, 0, 1, 127, 0, 0, 1]);
    f.extend_from_slice(&sport.to_be_bytes());
    f.extend_from_slice(&dport.to_be_bytes());
    f.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    f.extend_from_slice(&[0, 0]);
    f.extend_from_slice(payload);
    f
}
