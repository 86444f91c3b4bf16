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

/// A classic pcap file of `frames` on `link`.
fn pcap_file(path: &std::path::Path, link: pcap_file::DataLink, frames: &[Vec<u8>]) {
    use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};
    let file = std::fs::File::create(path).unwrap();
    let mut w = PcapWriter::with_header(file, PcapHeader { datalink: link, ..Default::default() }).unwrap();
    for (i, f) in frames.iter().enumerate() {
        w.write_packet(&PcapPacket::new(Duration::from_millis(i as u64), f.len() as u32, f)).unwrap();
    }
}

/// A pcapng file of `frames` on one interface of type `link`.
fn pcapng_file(path: &std::path::Path, link: pcap_file::DataLink, frames: &[Vec<u8>]) {
    use pcap_file::pcapng::PcapNgWriter;
    use pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketBlock;
    use pcap_file::pcapng::blocks::interface_description::InterfaceDescriptionBlock;
    let file = std::fs::File::create(path).unwrap();
    let mut w = PcapNgWriter::new(file).unwrap();
    w.write_pcapng_block(InterfaceDescriptionBlock { linktype: link, snaplen: 0, options: vec![] }).unwrap();
    for (i, f) in frames.iter().enumerate() {
        w.write_pcapng_block(EnhancedPacketBlock {
            interface_id: 0,
            timestamp: Duration::from_millis(i as u64),
            original_len: f.len() as u32,
            data: Cow::Borrowed(f),
            options: vec![],
        })
        .unwrap();
    }
}

/// A raw IPv6 + UDP packet on loopback.
fn ipv6_udp(payload: &[u8]) -> Vec<u8> {
    let udp_len = (8 + payload.len()) as u16;
    let mut p = vec![0x60, 0, 0, 0];
    p.extend_from_slice(&udp_len.to_be_bytes());
    p.extend_from_slice(&[17, 64]);
    p.extend_from_slice(&std::net::Ipv6Addr::LOCALHOST.octets());
    p.extend_from_slice(&std::net::Ipv6Addr::LOCALHOST.octets());
    p.extend_from_slice(&11000u16.to_be_bytes());
    p.extend_from_slice(&12000u16.to_be_bytes());
    p.extend_from_slice(&udp_len.to_be_bytes());
    p.extend_from_slice(&[0, 0]);
    p.extend_from_slice(payload);
    p
}

fn version() -> Vec<u8> {
    encode_all(&[Event::Version(Version { protocol_version: 4 })]).remove(0)
}

fn decode(path: &std::path::Path) -> std::process::Output {
    pitwall().args(["acsp", "decode"]).arg(path).output().unwrap()
}

/// Hostile testing found the packet parser panicking on an IPv4 total length (or an IPv6
/// payload length) that leaves 6 or 7 bytes for the 8-byte UDP header. Such a packet is now
/// damage, reported with the packet and the byte; a file holding nothing else is an error.
#[test]
fn a_udp_header_cut_short_by_the_ip_length_is_damage_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let mut short_v4 = ethernet_udp(11000, 12000, &version());
    short_v4[16..18].copy_from_slice(&26u16.to_be_bytes()); // 20 (IPv4) + 6
    let mut short_v6 = ipv6_udp(&version());
    short_v6[4..6].copy_from_slice(&7u16.to_be_bytes());

    let pcap = dir.path().join("short.pcap");
    pcap_file(&pcap, pcap_file::DataLink::ETHERNET, std::slice::from_ref(&short_v4));
    let pcapng = dir.path().join("short.pcapng");
    pcapng_file(&pcapng, pcap_file::DataLink::RAW, std::slice::from_ref(&short_v6));
    for (path, at, left) in [(&pcap, 34, 6), (&pcapng, 40, 7)] {
        let out = decode(path);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "a data error: {err}");
        assert!(!err.contains("panicked"), "{err}");
        assert!(
            err.contains(&format!(
                "packet 1: the UDP header at byte {at} needs 8 bytes, but only {left} remain"
            )),
            "{err}"
        );
        assert!(err.contains(&format!("no ACSP message decodes in {}", path.display())), "{err}");
    }

    // With a good datagram beside it, the file decodes, and the damage is still reported.
    let mixed = dir.path().join("mixed.pcap");
    pcap_file(&mixed, pcap_file::DataLink::ETHERNET, &[ethernet_udp(11000, 12000, &version()), short_v4]);
    let out = run_ok(pitwall().args(["acsp", "decode", "--json"]).arg(&mixed));
    assert_eq!(types(&out.stdout), ["version"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("packet 2: the UDP header at byte 34"), "{err}");
    assert!(
        err.contains("1 UDP datagrams, 0 other packets skipped, 0 IP fragments skipped, 1 malformed packets"),
        "{err}"
    );
}

/// A pcap record whose length field says more than the file holds (a file cut short, or a
/// hostile length): the packets before it decode, the record is named with its byte, and a file
/// with no readable packet at all is an error saying why.
#[test]
fn a_pcap_record_longer_than_the_file_is_reported_and_what_precedes_it_decodes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cut.pcap");
    pcap_file(&path, pcap_file::DataLink::ETHERNET, &vec![ethernet_udp(11000, 12000, &version()); 2]);
    let mut bytes = std::fs::read(&path).unwrap();
    let second = 24 + 16 + ethernet_udp(11000, 12000, &version()).len();
    bytes[second + 8..second + 12].copy_from_slice(&0x7fff_ffffu32.to_le_bytes());
    std::fs::write(&path, &bytes).unwrap();
    let out = run_ok(pitwall().args(["acsp", "decode", "--json"]).arg(&path));
    assert_eq!(types(&out.stdout), ["version"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("pcap record after packet 1 (byte {second}): cut short")), "{err}");

    bytes[24 + 8..24 + 12].copy_from_slice(&0x7fff_ffffu32.to_le_bytes());
    std::fs::write(&path, &bytes).unwrap();
    let out = decode(&path);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("holds no readable packet; the first damage: pcap record after packet 0 (byte 24)"),
        "{err}"
    );
}

/// Bytes in which nothing is a message are an error (exit 1, a data error) naming the file and
/// the first damage; a usage error stays clap's exit 2.
#[test]
fn a_file_that_is_not_acsp_is_an_error_and_usage_errors_differ() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk");
    std::fs::write(&junk, [0xffu8; 100]).unwrap();
    let out = decode(&junk);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!(
            "pitwall: error: nothing in the 100 bytes of {} decodes as an ACSP message; the first damage: \
             offset 0: unknown message id 255 (0xff) at offset 0",
            junk.display()
        )),
        "{err}"
    );

    // Random bytes decode as a few messages by chance, each followed by damage.
    let random = dir.path().join("random");
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let bytes: Vec<u8> = (0..4096)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect();
    std::fs::write(&random, bytes).unwrap();
    let out = decode(&random);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains(&format!("{} is mostly not ACSP messages", random.display())), "{err}");

    let empty = dir.path().join("empty");
    std::fs::write(&empty, []).unwrap();
    let out = decode(&empty);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("is empty"));

    // A pcap of other traffic only.
    let other = dir.path().join("other.pcap");
    pcap_file(&other, pcap_file::DataLink::ETHERNET, &[ethernet_udp(5353, 5353, b"mdns")]);
    let out = pitwall().args(["acsp", "decode", "--port", "12000"]).arg(&other).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("none of the 1 packets of"), "{err}");
    assert!(err.contains("is a UDP datagram to or from port 12000"), "{err}");

    let out = pitwall().args(["acsp", "decode"]).output().unwrap();
    assert_eq!(out.status.code(), Some(2), "a missing argument is a usage error");
}

/// Names and chat lines are typed by players: in text output, their control characters (escape
/// sequences among them) are escaped, never sent raw to the terminal. JSON keeps the exact text.
#[test]
fn text_output_escapes_control_characters() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("evil.pcap");
    let evil = "hi \u{1b}[31mred\u{1b}]0;title\u{7} \u{9b}2J\u{7f}";
    let events = [
        Event::Chat(Chat { car_id: 1, message: evil.into() }),
        Event::NewConnection(acsp::ConnectionInfo {
            driver_name: evil.into(),
            driver_guid: "76561190000000001".into(),
            car_id: 1,
            car_model: "ks_mazda_mx5_cup".into(),
            car_skin: evil.into(),
        }),
    ];
    let mut payloads = encode_all(&events);
    let mut command = Vec::new();
    acsp::encode(&acsp::Command::BroadcastChat { message: evil.into() }, &mut command).unwrap();
    payloads.push(command);
    let frames: Vec<Vec<u8>> = payloads.iter().map(|p| ethernet_udp(11000, 12000, p)).collect();
    pcap_file(&path, pcap_file::DataLink::ETHERNET, &frames);

    let out = run_ok(pitwall().args(["acsp", "decode"]).arg(&path));
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), 3, "{text}");
    assert!(!text.contains('\u{1b}'), "a raw ESC reached the terminal: {text:?}");
    assert!(!text.chars().any(|c| c.is_control() && c != '\n'), "{text:?}");
    assert!(text.contains("hi \\u{1b}[31mred\\u{1b}]0;title\\u{7} \\u{9b}2J\\u{7f}"), "{text}");

    let out = run_ok(pitwall().args(["acsp", "decode", "--json"]).arg(&path));
    let first: serde_json::Value =
        serde_json::from_str(String::from_utf8_lossy(&out.stdout).lines().next().unwrap()).unwrap();
    assert_eq!(first["message"], evil, "JSON keeps the exact text");
}

/// Output is buffered (many lines per write): a capture far larger than the buffer comes out
/// whole and in order, with a chat line holding DEL and C1 controls escaped as before.
#[test]
fn a_large_capture_is_printed_whole_and_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("large");
    let mut events = events();
    events.push(Event::Chat(Chat { car_id: 2, message: "a\u{7f}b\u{9b}2Jc".into() }));
    let once = encode_all(&events).concat();
    let copies = 5_000; // about 1.7 MB of JSON: many times the 64 KiB buffer
    std::fs::write(&path, once.repeat(copies)).unwrap();
    let out = run_ok(pitwall().args(["acsp", "decode", "--json"]).arg(&path));
    let types = types(&out.stdout);
    assert_eq!(types.len(), copies * events.len());
    let expected: Vec<String> = events.iter().map(|e| e.name().to_owned()).collect();
    for chunk in types.chunks(events.len()) {
        assert_eq!(chunk, expected.as_slice());
    }
    let text = String::from_utf8(out.stdout).unwrap();
    let chat = text.lines().nth(events.len() - 1).unwrap();
    assert_eq!(chat, r#"{"type":"chat","car_id":2,"message":"a\u007fb\u009b2Jc"}"#);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("raw concatenation, {} messages", copies * events.len())), "{err}");
}

/// A reader that stops early (`| head`) ends the command quietly: status 0, no panic, no error.
#[test]
fn a_reader_that_goes_away_ends_the_decode_quietly() {
    use std::io::{BufRead as _, BufReader};
    use std::process::Stdio;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("large");
    std::fs::write(&path, encode_all(&events()).concat().repeat(20_000)).unwrap();
    let mut child = pitwall()
        .args(["acsp", "decode", "--json"])
        .arg(&path)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    assert_eq!(lines.next().unwrap().unwrap(), r#"{"type":"version","protocol_version":4}"#);
    drop(lines);
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "status {:?}: {err}", out.status);
    assert!(!err.contains("panic") && !err.contains("error"), "{err}");
}
