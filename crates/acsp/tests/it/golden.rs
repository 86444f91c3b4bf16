//! Golden data in `testdata/acsp/`: a short, realistic session of a stock server, as
//! - `session.bin`: the datagrams concatenated (what a tcpdump + tshark recipe leaves),
//! - `session.pcap`: the same datagrams as Ethernet/IPv4/UDP frames, 127.0.0.1:11000 → :12000,
//! - `session.jsonl`: the decoded events, one JSON object per line,
//!
//! and `vectors/`: every hand-written vector of `vectors.rs` and the quirks, one datagram per
//! file (seeds for the fuzzer, small inputs for the CLI's tests).
//!
//! The test rebuilds all three from the events below and compares them byte for byte; after a
//! deliberate change, regenerate them with `UPDATE_GOLDEN=1 cargo test -p pitwall-acsp golden`
//! and review the diff. It also decodes the checked-in files, so they stay readable by the
//! codec whatever produced them.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use acsp::{
    CarInfo, CarUpdate, Chat, ClientLoaded, CollisionWithCar, CollisionWithEnv, ConnectionInfo, EndSession,
    ErrorMessage, Event, LapCompleted, LeaderboardEntry, NO_TIME, SessionInfo, SessionType, StringWidth,
    Vec3, Version,
};

use crate::hostile;
use crate::support::{enc_event, hex};
use crate::vectors::{self, SERVER_NAME};

/// 2016-07-24 22:40:00 UTC, the day of the real capture.
const START_SECS: u64 = 1_469_400_000;
const SERVER_PORT: u16 = 11_000;
const PLUGIN_PORT: u16 = 12_000;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../testdata/acsp")
}

const DRIVERS: [(&str, &str, &str); 3] = [
    ("Jean-Éric Bernard", "76561198000000001", "00_official"),
    ("Kimi Virtanen", "76561198000000002", "01_sky_blue"),
    ("Sofia Marchetti", "0", "02_rosso"),
];

fn session(
    index: u8,
    name: &str,
    session_type: SessionType,
    laps: u16,
    wait: u16,
    elapsed: i32,
) -> SessionInfo {
    SessionInfo {
        protocol_version: 4,
        session_index: index,
        current_session_index: index,
        session_count: 3,
        server_name: SERVER_NAME.into(),
        track: "ks_red_bull_ring".into(),
        track_config: "layout_gp".into(),
        name: name.into(),
        session_type,
        time: if laps == 0 { 10 } else { 0 },
        laps,
        wait_time: wait,
        ambient_temp: 24,
        road_temp: 30,
        weather_graphics: "3_clear".into(),
        weather_encoding: StringWidth::Narrow,
        elapsed_ms: elapsed,
    }
}

fn connection(car_id: u8) -> ConnectionInfo {
    let (name, guid, skin) = DRIVERS[car_id as usize];
    ConnectionInfo {
        driver_name: name.into(),
        driver_guid: guid.into(),
        car_id,
        car_model: "rss_formula_hybrid_2021".into(),
        car_skin: skin.into(),
    }
}

/// Three cars on the main straight at 10 Hz; plain arithmetic (no libm), so the floats are the
/// same on every platform.
fn car_update(car_id: u8, tick: u16) -> CarUpdate {
    let t = f32::from(tick) * 0.1;
    let speed = 70.0 + 2.5 * f32::from(car_id);
    CarUpdate {
        car_id,
        position: Vec3::new(
            -120.0 + speed * t - 8.0 * f32::from(car_id),
            2.125,
            35.5 + 0.25 * f32::from(car_id),
        ),
        velocity: Vec3::new(speed, 0.0, 0.5),
        gear: 8,
        engine_rpm: 10_800 + 120 * u16::from(car_id) + 10 * tick,
        normalized_spline_pos: 0.95 + 0.001 * f32::from(tick),
    }
}

fn leaderboard(rows: &[(u8, u32, u16)]) -> Vec<LeaderboardEntry> {
    rows.iter()
        .map(|&(car_id, time, laps)| LeaderboardEntry { car_id, time, laps, has_completed: Some(false) })
        .collect()
}

/// The session, with each datagram's time in ms from the start.
pub fn session_events() -> Vec<(u64, Event)> {
    let mut out: Vec<(u64, Event)> = vec![
        (0, Event::Version(Version { protocol_version: 4 })),
        (1, Event::NewSession(session(1, "Qualify", SessionType::Qualify, 0, 60_000, 0))),
    ];
    for car in 0..3u8 {
        out.push((4_000 + 1_500 * u64::from(car), Event::NewConnection(connection(car))));
    }
    for car in 0..3u8 {
        out.push((12_000 + 900 * u64::from(car), Event::ClientLoaded(ClientLoaded { car_id: car })));
    }
    out.push((
        14_000,
        Event::CarInfo(CarInfo {
            car_id: 0,
            is_connected: true,
            car_model: "rss_formula_hybrid_2021".into(),
            car_skin: "00_official".into(),
            driver_name: DRIVERS[0].0.into(),
            driver_team: "Scuderia Pitwall".into(),
            driver_guid: DRIVERS[0].1.into(),
        }),
    ));
    for tick in 0..5u16 {
        for car in 0..3u8 {
            out.push((
                95_000 + 100 * u64::from(tick) + u64::from(car),
                Event::CarUpdate(car_update(car, tick)),
            ));
        }
    }
    out.push((95_600, Event::Chat(Chat { car_id: 1, message: "ciao a tutti 👋 è".into() })));
    out.push((
        96_000,
        Event::CollisionWithCar(CollisionWithCar {
            car_id: 2,
            other_car_id: 1,
            impact_speed: 6.25,
            world_position: Vec3::new(210.5, 2.0, 36.75),
            relative_position: Vec3::new(0.0, 0.125, 2.25),
        }),
    ));
    out.push((
        96_001,
        Event::CollisionWithCar(CollisionWithCar {
            car_id: 1,
            other_car_id: 2,
            impact_speed: 6.25,
            world_position: Vec3::new(210.5, 2.0, 36.75),
            relative_position: Vec3::new(0.0, 0.125, -2.25),
        }),
    ));
    out.push((
        101_500,
        Event::CollisionWithEnv(CollisionWithEnv {
            car_id: 0,
            impact_speed: 14.75,
            world_position: Vec3::new(-310.75, 4.25, 123.5),
            relative_position: Vec3::new(-0.75, -0.5, 1.0),
        }),
    ));
    out.push((
        176_902,
        Event::LapCompleted(LapCompleted {
            car_id: 0,
            lap_time: 80_902,
            cuts: 0,
            leaderboard: leaderboard(&[(0, 80_902, 1), (1, NO_TIME, 0), (2, NO_TIME, 0)]),
            grip_level: 0.98,
        }),
    ));
    out.push((
        178_337,
        Event::LapCompleted(LapCompleted {
            car_id: 1,
            lap_time: 81_337,
            cuts: 0,
            leaderboard: leaderboard(&[(0, 80_902, 1), (1, 81_337, 1), (2, NO_TIME, 0)]),
            grip_level: 0.98,
        }),
    ));
    out.push((
        179_020,
        Event::LapCompleted(LapCompleted {
            car_id: 2,
            lap_time: 84_020,
            cuts: 2,
            leaderboard: leaderboard(&[(0, 80_902, 1), (1, 81_337, 1), (2, NO_TIME, 1)]),
            grip_level: 0.98,
        }),
    ));
    out.push((180_000, Event::Error(ErrorMessage { message: "KICK_USER: car id 40 out of range".into() })));
    out.push((200_000, Event::ConnectionClosed(connection(2))));
    out.push((
        600_000,
        Event::EndSession(EndSession { filename: "results/2016_7_24_22_52_QUALIFY.json".into() }),
    ));
    out.push((600_001, Event::NewSession(session(2, "Race", SessionType::Race, 25, 40_000, -40_000))));
    out.push((600_002, Event::SessionInfo(session(2, "Race", SessionType::Race, 25, 40_000, -39_998))));
    out
}

/// One file per datagram: every message kind, and the quirks of real senders.
fn datagram_files() -> Vec<(String, Vec<u8>)> {
    let mut files = Vec::new();
    for v in vectors::events() {
        let id = match &v.value {
            Event::CollisionWithCar(_) => "130_10".to_string(),
            Event::CollisionWithEnv(_) => "130_11".to_string(),
            e => e.id().to_string(),
        };
        files.push((format!("event_{id}_{}.bin", v.name), v.bytes));
    }
    for v in vectors::commands() {
        files.push((format!("command_{}_{}.bin", v.bytes[0], v.name), v.bytes));
    }
    let mut wide_weather = match vectors::session_info().value {
        Event::SessionInfo(s) => s,
        _ => unreachable!(),
    };
    wide_weather.weather_encoding = StringWidth::Wide;
    let mut legacy = match vectors::lap_completed().value {
        Event::LapCompleted(l) => l,
        _ => unreachable!(),
    };
    legacy.leaderboard.iter_mut().for_each(|e| e.has_completed = None);
    let quirks = [
        ("quirk_acudpclient_broadcast_bom.bin", hex("cb 02 ff fe 00 00 68 00 00 00")),
        ("quirk_asm_get_session_info_without_index.bin", hex("cc")),
        ("quirk_assettoserver_end_session_str8.bin", hex("37 00")),
        ("quirk_assettoserver_wide_weather.bin", enc_event(&Event::SessionInfo(wide_weather))),
        ("quirk_lap_completed_7_byte_entries.bin", enc_event(&Event::LapCompleted(legacy))),
        ("quirk_trailing_bytes.bin", [vectors::car_update().bytes, hex("de ad")].concat()),
    ];
    files.extend(quirks.into_iter().map(|(name, bytes)| (name.to_string(), bytes)));
    // What a hostile or broken sender could send: decodes, with the damage reported.
    let hostile = [
        ("hostile_car_update_non_finite_floats.bin", hostile::car_update_with_non_finite_floats()),
        ("hostile_new_connection_invalid_text.bin", hostile::new_connection_with_bad_text()),
        (
            "hostile_chat_escapes_and_invalid_utf32.bin",
            [
                hex("39 07"),
                hostile::units(&[
                    0x1b,
                    u32::from('['),
                    u32::from('2'),
                    u32::from('J'),
                    0xDC00,
                    0x9b,
                    0x0011_0000,
                ]),
            ]
            .concat(),
        ),
    ];
    files.extend(hostile.into_iter().map(|(name, bytes)| (name.to_string(), bytes)));
    files
}

fn ones_complement_sum(data: &[u8], mut sum: u32) -> u32 {
    for pair in data.chunks(2) {
        let word = u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)]);
        sum += u32::from(word);
    }
    sum
}

fn fold(mut sum: u32) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum as u16
}

/// One Ethernet frame carrying `payload` in UDP over IPv4, loopback to loopback, with both
/// checksums filled in (RFC 791, RFC 768).
fn udp_frame(payload: &[u8], ident: u16) -> Vec<u8> {
    let src = [127, 0, 0, 1];
    let dst = [127, 0, 0, 1];
    let udp_len = u16::try_from(8 + payload.len()).unwrap();
    let ip_len = 20 + udp_len;

    let mut ip = Vec::with_capacity(20);
    ip.extend_from_slice(&[0x45, 0x00]); // IPv4, 20-byte header, no DSCP/ECN
    ip.extend_from_slice(&ip_len.to_be_bytes());
    ip.extend_from_slice(&ident.to_be_bytes());
    ip.extend_from_slice(&[0x40, 0x00]); // don't fragment, offset 0
    ip.extend_from_slice(&[64, 17]); // TTL, UDP
    ip.extend_from_slice(&[0, 0]); // checksum, filled in below
    ip.extend_from_slice(&src);
    ip.extend_from_slice(&dst);
    let ip_sum = !fold(ones_complement_sum(&ip, 0));
    ip[10..12].copy_from_slice(&ip_sum.to_be_bytes());

    let mut udp = Vec::with_capacity(8 + payload.len());
    udp.extend_from_slice(&SERVER_PORT.to_be_bytes());
    udp.extend_from_slice(&PLUGIN_PORT.to_be_bytes());
    udp.extend_from_slice(&udp_len.to_be_bytes());
    udp.extend_from_slice(&[0, 0]);
    udp.extend_from_slice(payload);
    let mut pseudo = Vec::with_capacity(12);
    pseudo.extend_from_slice(&src);
    pseudo.extend_from_slice(&dst);
    pseudo.extend_from_slice(&[0, 17]);
    pseudo.extend_from_slice(&udp_len.to_be_bytes());
    let mut udp_sum = !fold(ones_complement_sum(&udp, ones_complement_sum(&pseudo, 0)));
    if udp_sum == 0 {
        // 0 means "no checksum" in UDP over IPv4; a computed 0 is sent as all ones.
        udp_sum = 0xffff;
    }
    udp[6..8].copy_from_slice(&udp_sum.to_be_bytes());

    let mut frame = Vec::with_capacity(14 + ip.len() + udp.len());
    frame.extend_from_slice(&[0; 12]); // loopback captures carry zero MAC addresses
    frame.extend_from_slice(&[0x08, 0x00]); // IPv4
    frame.extend(ip);
    frame.extend(udp);
    frame
}

/// A classic little-endian pcap file (microsecond timestamps, link type 1 = Ethernet), written
/// by hand: 24-byte file header, then a 16-byte header before each frame.
fn pcap(datagrams: &[(u64, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    out.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
    out.extend_from_slice(&2u16.to_le_bytes());
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&0i32.to_le_bytes()); // thiszone
    out.extend_from_slice(&0u32.to_le_bytes()); // sigfigs
    out.extend_from_slice(&65_535u32.to_le_bytes()); // snaplen
    out.extend_from_slice(&1u32.to_le_bytes()); // LINKTYPE_ETHERNET
    for (i, (ms, payload)) in datagrams.iter().enumerate() {
        let frame = udp_frame(payload, 0x1000 + i as u16);
        let len = u32::try_from(frame.len()).unwrap();
        out.extend_from_slice(&u32::try_from(START_SECS + ms / 1000).unwrap().to_le_bytes());
        out.extend_from_slice(&u32::try_from((ms % 1000) * 1000).unwrap().to_le_bytes());
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&len.to_le_bytes());
        out.extend(frame);
    }
    out
}

fn jsonl(events: &[Event]) -> String {
    events.iter().map(|e| serde_json::to_string(e).unwrap() + "\n").collect()
}

/// Compares with the checked-in file, or rewrites it when `UPDATE_GOLDEN` is set.
fn golden(name: &str, actual: &[u8]) {
    let path = dir().join(name);
    if std::env::var_os("UPDATE_GOLDEN").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, actual).unwrap();
        return;
    }
    let expected = std::fs::read(&path)
        .unwrap_or_else(|e| panic!("{}: {e}; run with UPDATE_GOLDEN=1 to create it", path.display()));
    assert!(
        expected == actual,
        "{} differs from what the test produces; if the change is intended, rerun with \
         UPDATE_GOLDEN=1 and review the diff",
        path.display()
    );
}

/// Checks (or, with `UPDATE_GOLDEN`, writes) the three files, once per test run, before any
/// test reads them.
fn golden_files() {
    static DONE: OnceLock<()> = OnceLock::new();
    DONE.get_or_init(write_or_check);
}

fn write_or_check() {
    let timed = session_events();
    let events: Vec<Event> = timed.iter().map(|(_, e)| e.clone()).collect();
    let datagrams: Vec<(u64, Vec<u8>)> = timed.iter().map(|(t, e)| (*t, enc_event(e))).collect();
    golden("session.bin", &datagrams.iter().flat_map(|(_, d)| d.clone()).collect::<Vec<u8>>());
    golden("session.pcap", &pcap(&datagrams));
    golden("session.jsonl", jsonl(&events).as_bytes());

    let files = datagram_files();
    for (name, bytes) in &files {
        golden(&format!("vectors/{name}"), bytes);
    }
    if std::env::var_os("UPDATE_GOLDEN").is_none() {
        let mut on_disk: Vec<String> = std::fs::read_dir(dir().join("vectors"))
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        on_disk.sort();
        let mut expected: Vec<String> = files.into_iter().map(|(name, _)| name).collect();
        expected.sort();
        assert_eq!(on_disk, expected, "testdata/acsp/vectors holds exactly the vectors");
    }
}

#[test]
fn session_golden_files() {
    golden_files();
    let events: Vec<Event> = session_events().into_iter().map(|(_, e)| e).collect();

    // Every kind of event is in the session.
    let mut kinds: Vec<&str> = events.iter().map(Event::name).collect();
    kinds.sort_unstable();
    kinds.dedup();
    assert_eq!(kinds.len(), acsp::EVENT_NAMES.len(), "{kinds:?}");
}

/// The checked-in concatenation reads back, message by message, as the snapshot says.
#[test]
fn session_bin_decodes_to_the_snapshot() {
    golden_files();
    let bin = std::fs::read(dir().join("session.bin")).unwrap();
    let mut events = Vec::new();
    let mut pos = 0;
    while pos < bin.len() {
        let d = acsp::decode_prefix(&bin[pos..], pos).unwrap_or_else(|e| panic!("at {pos}: {e}"));
        assert_eq!(d.warnings, []);
        pos += d.len;
        events.push(d.message);
    }
    let snapshot = std::fs::read_to_string(dir().join("session.jsonl")).unwrap();
    assert_eq!(jsonl(&events), snapshot);
    assert_eq!(events.len(), session_events().len());
}

/// The checked-in pcap is a well-formed capture a standard reader accepts, with valid IPv4 and
/// UDP headers and checksums, and its payloads decode to the snapshot.
#[test]
fn session_pcap_is_valid_and_decodes_to_the_snapshot() {
    golden_files();
    let data = std::fs::read(dir().join("session.pcap")).unwrap();
    assert_eq!(data[..4], [0xd4, 0xc3, 0xb2, 0xa1], "little-endian microsecond magic");
    let mut reader = pcap_file::pcap::PcapReader::new(&data[..]).unwrap();
    assert_eq!(reader.header().datalink, pcap_file::DataLink::ETHERNET);
    let mut events = Vec::new();
    let mut last = Duration::ZERO;
    while let Some(packet) = reader.next_packet() {
        let packet = packet.unwrap();
        assert!(packet.timestamp >= last, "timestamps never go back");
        last = packet.timestamp;
        let f = &packet.data[..];
        assert_eq!(packet.orig_len as usize, f.len());
        assert_eq!(f[12..14], [0x08, 0x00], "IPv4 ethertype");
        let ip = &f[14..34];
        assert_eq!(ip[0], 0x45);
        assert_eq!(usize::from(u16::from_be_bytes([ip[2], ip[3]])), f.len() - 14, "IP total length");
        assert_eq!(ip[9], 17, "UDP");
        assert_eq!(fold(ones_complement_sum(ip, 0)), 0xffff, "IPv4 header checksum");
        assert_eq!((ip[12..16].to_vec(), ip[16..20].to_vec()), (vec![127, 0, 0, 1], vec![127, 0, 0, 1]));
        let udp = &f[34..];
        assert_eq!(u16::from_be_bytes([udp[0], udp[1]]), SERVER_PORT);
        assert_eq!(u16::from_be_bytes([udp[2], udp[3]]), PLUGIN_PORT);
        assert_eq!(usize::from(u16::from_be_bytes([udp[4], udp[5]])), udp.len(), "UDP length");
        let mut pseudo = vec![127, 0, 0, 1, 127, 0, 0, 1, 0, 17];
        pseudo.extend_from_slice(&udp[4..6]);
        assert_eq!(fold(ones_complement_sum(udp, ones_complement_sum(&pseudo, 0))), 0xffff, "UDP checksum");
        let d = acsp::decode_datagram(&udp[8..]).unwrap();
        assert_eq!(d.warnings, [], "one datagram is exactly one message");
        events.push(d.message);
    }
    let snapshot = std::fs::read_to_string(dir().join("session.jsonl")).unwrap();
    assert_eq!(jsonl(&events), snapshot);
    let first = Duration::from_secs(START_SECS);
    assert_eq!(last - first, Duration::from_millis(600_002));
}

/// The checked-in single datagrams decode: the clean ones without warnings, the quirks with the
/// warning each one is about.
#[test]
fn vector_files_decode() {
    golden_files();
    let mut seen = 0;
    for entry in std::fs::read_dir(dir().join("vectors")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        let bytes = std::fs::read(&path).unwrap();
        let warnings = if bytes[0] >= acsp::id::REALTIMEPOS_INTERVAL {
            acsp::decode_command_datagram(&bytes).map(|d| d.warnings)
        } else {
            acsp::decode_datagram(&bytes).map(|d| d.warnings)
        }
        .unwrap_or_else(|e| panic!("{name}: {e}"));
        let expected: &[acsp::Warning] = match name.as_str() {
            "quirk_acudpclient_broadcast_bom.bin" => {
                &[acsp::Warning::ByteOrderMark { field: "message", offset: 1 }]
            }
            "quirk_asm_get_session_info_without_index.bin" => &[acsp::Warning::MissingSessionIndex],
            "quirk_trailing_bytes.bin" => &[acsp::Warning::TrailingBytes { count: 2, offset: 33 }],
            "hostile_new_connection_invalid_text.bin" => &[
                acsp::Warning::InvalidText { field: "driver_name", offset: 6, replaced: 2 },
                acsp::Warning::InvalidText { field: "driver_guid", offset: 19, replaced: 1 },
                acsp::Warning::InvalidText { field: "car_model", offset: 26, replaced: 1 },
            ],
            "hostile_chat_escapes_and_invalid_utf32.bin" => {
                &[acsp::Warning::InvalidText { field: "message", offset: 19, replaced: 2 }]
            }
            _ => &[],
        };
        assert_eq!(warnings, expected, "{name}");
        seen += 1;
    }
    assert_eq!(seen, 14 + 10 + 6 + 3);
}
