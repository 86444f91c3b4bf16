//! End-to-end tests of the live crate: the server simulator followed over real UDP, and its
//! events written as real captures, replayed through the timing engine into a real SQLite
//! records database.

// Test helpers outside `#[test]` functions may unwrap: a failure there is a test failure.
#![allow(clippy::unwrap_used)]

mod follow;
mod replay;

use std::path::Path;
use std::time::Duration;

use acsp::{Command, Event};
use sim::server::{ServerConfig, ServerState, SessionConfig};

/// The Unix time the simulated weekend starts at, ms (2026-12-01T12:00Z).
pub const T0_UNIX_MS: u64 = 1_764_590_400_000;

/// A simulated weekend: every event the server sent, with when (since the server started).
#[derive(Debug, Clone)]
pub struct Weekend {
    pub events: Vec<(Duration, Event)>,
}

/// One lap the simulator completed, as the records should have it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TrueLap {
    pub guid: String,
    pub car: String,
    pub session_type: String,
    pub lap: u32,
    pub time_ms: u32,
    pub cuts: u32,
}

/// The simulator's grid: cars, seed and a short practice, qualifying and race, with car
/// updates from the start (as AssettoServer sends them).
pub fn weekend_config(cars: u8, seed: u64) -> ServerConfig {
    ServerConfig {
        cars,
        seed,
        sessions: vec![SessionConfig::practice(4), SessionConfig::qualify(4), SessionConfig::race(3, 20)],
        realtime_interval_ms: Some(250),
        join_interval: Duration::from_millis(500),
        load_time: Duration::from_secs(2),
        ..ServerConfig::default()
    }
}

/// Runs the simulator through its three sessions (to the third END_SESSION).
pub fn simulate(config: &ServerConfig) -> Weekend {
    let mut server = ServerState::new(config).unwrap();
    let mut events: Vec<(Duration, Event)> = server.start().into_iter().map(|e| (server.now(), e)).collect();
    let mut ends = 0;
    let step = Duration::from_millis(50);
    while ends < 3 {
        assert!(server.now() < Duration::from_secs(3 * 3600), "the weekend never ends");
        for e in server.advance(step) {
            ends += usize::from(matches!(e, Event::EndSession(_)));
            events.push((server.now(), e));
            if ends == 3 {
                break;
            }
        }
    }
    Weekend { events }
}

/// Like [`simulate`], but the plugin stops at `stop_at` and a new one starts: the capture is
/// cut in two, the second starting with what a restarted plugin gets when it asks (the
/// current session's SESSION_INFO, then CAR_INFO of every slot).
pub fn simulate_with_restart(config: &ServerConfig, stop_at: Duration) -> (Weekend, Weekend) {
    let mut server = ServerState::new(config).unwrap();
    let mut before: Vec<(Duration, Event)> = server.start().into_iter().map(|e| (server.now(), e)).collect();
    let step = Duration::from_millis(50);
    while server.now() < stop_at {
        for e in server.advance(step) {
            before.push((server.now(), e));
        }
    }
    // The restarted plugin's first seconds: it asks, the server answers.
    let mut after = Vec::new();
    for e in server.handle(&Command::GetSessionInfo { session_index: -1 }) {
        after.push((server.now(), e));
    }
    for car_id in 0..config.cars {
        for e in server.handle(&Command::GetCarInfo { car_id }) {
            after.push((server.now(), e));
        }
    }
    let mut ends = before.iter().filter(|(_, e)| matches!(e, Event::EndSession(_))).count();
    while ends < 3 {
        for e in server.advance(step) {
            ends += usize::from(matches!(e, Event::EndSession(_)));
            after.push((server.now(), e));
            if ends == 3 {
                break;
            }
        }
    }
    (Weekend { events: before }, Weekend { events: after })
}

impl Weekend {
    /// Every lap the simulator completed: the driver in the car (the last to connect to it),
    /// the session type, the lap number from the server's leaderboard, time and cuts.
    pub fn true_laps(&self) -> Vec<TrueLap> {
        let mut drivers = std::collections::HashMap::new();
        let mut session_type = String::new();
        let mut laps = Vec::new();
        for (_, e) in &self.events {
            match e {
                Event::NewSession(s) | Event::SessionInfo(s)
                    if s.session_index == s.current_session_index =>
                {
                    session_type = s.session_type.as_str().to_owned();
                }
                Event::NewConnection(c) => {
                    drivers.insert(c.car_id, (c.driver_guid.clone(), c.car_model.clone()));
                }
                Event::CarInfo(c) if c.is_connected => {
                    drivers.insert(c.car_id, (c.driver_guid.clone(), c.car_model.clone()));
                }
                Event::LapCompleted(l) => {
                    let (guid, car) = drivers[&l.car_id].clone();
                    let entry = l.leaderboard.iter().find(|e| e.car_id == l.car_id).unwrap();
                    laps.push(TrueLap {
                        guid,
                        car,
                        session_type: session_type.clone(),
                        lap: u32::from(entry.laps),
                        time_ms: l.lap_time,
                        cuts: u32::from(l.cuts),
                    });
                }
                _ => {}
            }
        }
        laps.sort();
        laps
    }

    /// The same weekend without its car updates.
    pub fn without_car_updates(&self) -> Weekend {
        let events = self.events.iter().filter(|(_, e)| !matches!(e, Event::CarUpdate(_))).cloned().collect();
        Weekend { events }
    }

    /// Writes the weekend as a pcap capture of raw IPv4 packets, server (127.0.0.1:11000) to
    /// plugin (127.0.0.1:12000), stamped from [`T0_UNIX_MS`]; with the plugin's
    /// REALTIMEPOS_INTERVAL command to the server first, as a capture of both directions has.
    pub fn write_pcap(&self, path: &Path) {
        use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};
        let file = std::fs::File::create(path).unwrap();
        let header = PcapHeader { datalink: pcap_file::DataLink::RAW, ..Default::default() };
        let mut w = PcapWriter::with_header(file, header).unwrap();
        let t0 = Duration::from_millis(T0_UNIX_MS);
        let mut command = Vec::new();
        acsp::encode(&Command::RealtimeposInterval { interval_ms: 250 }, &mut command).unwrap();
        let packet = ipv4_udp(12000, 11000, &command);
        w.write_packet(&PcapPacket::new(t0, packet.len() as u32, &packet)).unwrap();
        let mut payload = Vec::new();
        for (at, e) in &self.events {
            payload.clear();
            acsp::encode_event(e, &mut payload).unwrap();
            let packet = ipv4_udp(11000, 12000, &payload);
            w.write_packet(&PcapPacket::new(t0 + *at, packet.len() as u32, &packet)).unwrap();
        }
    }

    /// Writes the weekend as a raw concatenation of its event datagrams.
    pub fn write_raw(&self, path: &Path) {
        let mut data = Vec::new();
        for (_, e) in &self.events {
            acsp::encode_event(e, &mut data).unwrap();
        }
        std::fs::write(path, data).unwrap();
    }
}

/// A raw IPv4 + UDP packet on loopback (checksums 0: allowed for UDP over IPv4).
pub fn ipv4_udp(sport: u16, dport: u16, payload: &[u8]) -> Vec<u8> {
    let total = (20 + 8 + payload.len()) as u16;
    let mut p = vec![0x45, 0];
    p.extend_from_slice(&total.to_be_bytes());
    p.extend_from_slice(&[0, 0, 0x40, 0, 64, 17, 0, 0, 127, 0, 0, 1, 127, 0, 0, 1]);
    p.extend_from_slice(&sport.to_be_bytes());
    p.extend_from_slice(&dport.to_be_bytes());
    p.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    p.extend_from_slice(&[0, 0]);
    p.extend_from_slice(payload);
    p
}
