//! Replaying a capture of a server's plugin traffic through the timing engine and the records,
//! as fast as it reads.
//!
//! The input is what `pitwall acsp decode` reads: a pcap or pcapng capture (one UDP datagram,
//! one message), or a raw concatenation of event datagrams whose boundaries were lost
//! ([`acsp::concatenation`] finds them again, resynchronising after damage). Each event goes
//! through a [`TimingEngine`] and, when given one, a [`Recorder`]; what could not be read is
//! counted and its place reported in the [`ReplayReport`].
//!
//! In a pcap, the plugin's own commands to the server (ids 200–209) are told apart from the
//! server's events (ids 50–60, 73, 130) by their first byte, and skipped; other UDP traffic can
//! be left out with [`ReplayConfig::port`].
//!
//! ## Clocks
//!
//! - A pcap or pcapng capture has a timestamp on every packet: the engine's clock is the time
//!   since the capture's first UDP datagram, and the records' wall-clock times are the timestamps.
//! - A raw concatenation has none, so the replay makes a clock up from what the events say:
//!   it starts at [`ReplayConfig::raw_start_unix_ms`] (the CLI passes the file's modification
//!   time), a session starts at the current time (a race after its wait: the `elapsed_ms` of
//!   NEW_SESSION is subtracted), and each car's laps follow each other from the session's
//!   start: a lap is dated when the sum of its car's lap times so far says. The clock (the
//!   engine's, and the time of every other event) is the latest of those dates and never goes
//!   back. Lap records and their dates are right; the times of other events, and sector times
//!   from car updates (which the engine times on this clock), are not.

use std::collections::HashMap;
use std::path::Path;
use std::time::{Duration, Instant, UNIX_EPOCH};

use acsp::capture::{self, Format, Link, Packet, RecordError};
use acsp::{Event, Piece};
use serde::Serialize;
use timing::{Board, Stats, TimingConfig, TimingEngine, time_from_wire};

use crate::error::ReplayError;
use crate::recorder::{Recorder, RecorderStats};

/// Places of damage kept in a report; more are counted only.
pub const MAX_DAMAGE_LISTED: usize = 100;

/// How often, on the capture's clock, the engine's timers run: they queue the commands a live
/// follower would send, and the replay drops them.
const TICK_EVERY: Duration = Duration::from_secs(1);

/// How a capture is replayed.
#[derive(Debug, Clone, Default)]
pub struct ReplayConfig {
    /// The timing engine's configuration (sector boundaries per track…).
    pub timing: TimingConfig,
    /// pcap only: keep only UDP datagrams to or from this port (`None`: every UDP datagram).
    pub port: Option<u16>,
    /// A raw concatenation's clock starts here, Unix ms (see the module docs, "Clocks").
    pub raw_start_unix_ms: i64,
}

/// One place in the input where nothing could be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DamagePlace {
    /// The packet it is in (pcap, pcapng), from 1.
    pub packet: Option<u64>,
    /// Its byte offset in the file (a raw concatenation, or a pcap record that cannot be read).
    pub offset: Option<usize>,
    /// What is wrong.
    pub reason: String,
}

/// What a replay read, fed through and stored.
#[derive(Debug, Clone, Serialize)]
pub struct ReplayReport {
    /// The input's format: `"pcap"`, `"pcapng"` or `"raw concatenation"`.
    pub format: &'static str,
    /// Packets read (pcap, pcapng).
    pub packets: u64,
    /// UDP datagrams read (pcap, pcapng): events, commands and the undecodable.
    pub datagrams: u64,
    /// Packets that are not UDP datagrams (or not to or from [`ReplayConfig::port`]), IP
    /// fragments, and packets of a link type that is not read.
    pub other_packets: u64,
    /// The plugin's commands to the server, skipped.
    pub commands: u64,
    /// Events decoded and fed through.
    pub events: u64,
    /// Events decoded with warnings (trailing bytes, byte-order marks).
    pub warnings: u64,
    /// Places where nothing decodes: a datagram, a packet, or a stretch of a raw concatenation.
    pub undecodable: u64,
    /// The first [`MAX_DAMAGE_LISTED`] of those places.
    pub damage: Vec<DamagePlace>,
    /// Sessions stored or found again (when recording).
    pub sessions: u64,
    /// Laps stored (when recording).
    pub laps_stored: u64,
    /// What the recorder stored and skipped (when recording).
    pub recorder: Option<RecorderStats>,
    /// What the engine skipped.
    pub engine: Stats,
    /// The standings at the end.
    pub board: Board,
    /// The capture's span on the engine's clock: from its start (the first UDP datagram, or
    /// the raw clock's start) to the last event.
    #[serde(rename = "capture_ms", serialize_with = "millis")]
    pub capture_span: Duration,
    /// How long the replay took.
    #[serde(rename = "elapsed_ms", serialize_with = "millis")]
    pub elapsed: Duration,
    /// Events per second of replay.
    pub events_per_s: f64,
}

fn millis<S: serde::Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// Replays the capture at `path` (see the module docs) through a timing engine and, if given,
/// `recorder`, whose store is flushed at the end.
///
/// Damage in a capture that holds events is counted, not an error. A file that cannot be read,
/// is empty, has an unreadable pcap header, holds no event, or is a raw concatenation with as
/// many damaged places as events, is an error naming the file; so is the database failing.
pub fn replay(
    path: &Path,
    recorder: Option<&mut Recorder>,
    config: &ReplayConfig,
) -> Result<ReplayReport, ReplayError> {
    let data = std::fs::read(path).map_err(|source| ReplayError::Io { path: path.to_owned(), source })?;
    replay_bytes(path, &data, recorder, config)
}

/// [`replay`] of a capture already read: `data` is the file's bytes, `path` names it in errors.
pub fn replay_bytes(
    path: &Path,
    data: &[u8],
    recorder: Option<&mut Recorder>,
    config: &ReplayConfig,
) -> Result<ReplayReport, ReplayError> {
    if data.is_empty() {
        return Err(ReplayError::Empty { path: path.to_owned() });
    }
    let started = Instant::now();
    let format = Format::detect(data);
    let mut run = Run::new(format, config, recorder);
    match format {
        Format::Pcap | Format::Pcapng => run.packets(path, data)?,
        Format::Raw => run.raw(data)?,
    }
    run.judge(path)?;
    if let Some(r) = run.recorder.as_deref_mut() {
        r.flush()?;
    }
    Ok(run.report(started.elapsed()))
}

/// The modification time of `path`, Unix ms: the start of a raw concatenation's clock, as the
/// CLI uses it. 0 when the file system does not say.
pub fn modified_unix_ms(path: &Path) -> i64 {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .and_then(|d| i64::try_from(d.as_millis()).ok())
        .unwrap_or(0)
}

/// A replay in progress.
struct Run<'a> {
    format: Format,
    port: Option<u16>,
    engine: TimingEngine,
    recorder: Option<&'a mut Recorder>,
    counts: Counts,
    /// The first UDP datagram's timestamp (pcap), and the last event's engine clock.
    first: Option<Duration>,
    last: Duration,
    ticked: Duration,
    raw: RawClock,
}

#[derive(Debug, Default)]
struct Counts {
    packets: u64,
    datagrams: u64,
    other_packets: u64,
    commands: u64,
    events: u64,
    warnings: u64,
    undecodable: u64,
    damage: Vec<DamagePlace>,
    /// Link types met that are not read, for the message when nothing decodes.
    links: Vec<u32>,
}

impl Counts {
    fn damage(&mut self, packet: Option<u64>, offset: Option<usize>, reason: String) {
        self.undecodable += 1;
        if self.damage.len() < MAX_DAMAGE_LISTED {
            self.damage.push(DamagePlace { packet, offset, reason });
        }
    }
}

/// The made-up clock of a raw concatenation (see the module docs, "Clocks"), ms from its start.
#[derive(Debug, Default)]
struct RawClock {
    start_unix_ms: i64,
    now: i64,
    /// When the current session started.
    session: i64,
    /// The current session's index, when known.
    index: Option<u8>,
    /// Each car's lap times summed, in the current session.
    cars: HashMap<u8, i64>,
}

impl RawClock {
    /// Moves the clock on for `event`; returns the time it happened: for a lap, when its car's
    /// laps say, which may be before the clock (another car's laps took it further); for any
    /// other event, the clock.
    fn advance(&mut self, event: &Event) -> i64 {
        match event {
            Event::NewSession(s) => self.start_session(s.session_index, s.elapsed_ms),
            Event::SessionInfo(s)
                if s.session_index == s.current_session_index && self.index != Some(s.session_index) =>
            {
                self.start_session(s.session_index, s.elapsed_ms)
            }
            Event::LapCompleted(l) => {
                let lap = time_from_wire(l.lap_time).filter(|&t| t > 0).unwrap_or(0);
                let total = self.cars.entry(l.car_id).or_default();
                *total = total.saturating_add(i64::from(lap));
                let at = self.session.saturating_add(*total);
                self.now = self.now.max(at);
                return at;
            }
            _ => {}
        }
        self.now
    }

    fn start_session(&mut self, index: u8, elapsed_ms: i32) {
        self.session = self.now.saturating_sub(i64::from(elapsed_ms));
        self.index = Some(index);
        self.cars.clear();
    }
}

impl<'a> Run<'a> {
    fn new(format: Format, config: &ReplayConfig, recorder: Option<&'a mut Recorder>) -> Run<'a> {
        Run {
            format,
            port: config.port,
            engine: TimingEngine::with_config(config.timing.clone()),
            recorder,
            counts: Counts::default(),
            first: None,
            last: Duration::ZERO,
            ticked: Duration::ZERO,
            raw: RawClock { start_unix_ms: config.raw_start_unix_ms, ..RawClock::default() },
        }
    }

    /// One event through the engine and the recorder, at `now` on the engine's clock and
    /// `unix_ms` on the wall clock.
    fn feed(&mut self, event: &Event, now: Duration, unix_ms: i64) -> Result<(), ReplayError> {
        self.counts.events += 1;
        let notices = self.engine.handle(now, event);
        if let Some(r) = self.recorder.as_deref_mut() {
            r.record(&self.engine, event, &notices, unix_ms)?;
        }
        self.last = self.last.max(now);
        if now.saturating_sub(self.ticked) >= TICK_EVERY {
            // Nobody to send the commands to; ticking keeps the engine's queue from growing.
            self.engine.tick(now);
            self.ticked = now;
        }
        Ok(())
    }

    fn packets(&mut self, path: &Path, data: &[u8]) -> Result<(), ReplayError> {
        let records = capture::records(data)
            .map_err(|e| ReplayError::NotACapture { path: path.to_owned(), reason: e.to_string() })?;
        for record in records {
            let record = match record {
                Ok(r) => r,
                Err(e @ RecordError::UnknownInterface { index, .. }) => {
                    self.counts.packets += 1;
                    self.counts.damage(Some(index), None, e.to_string());
                    continue;
                }
                Err(e) => {
                    let offset = match &e {
                        RecordError::Unreadable { offset, .. } => Some(*offset),
                        _ => None,
                    };
                    self.counts.damage(None, offset, e.to_string());
                    continue;
                }
            };
            self.counts.packets += 1;
            let Some(link) = Link::from_linktype(record.linktype) else {
                if !self.counts.links.contains(&record.linktype) {
                    self.counts.links.push(record.linktype);
                }
                self.counts.other_packets += 1;
                continue;
            };
            let udp = match capture::udp_datagram(link, &record.data) {
                Ok(Packet::Udp(d)) => d,
                Ok(Packet::Fragment | Packet::NotUdp) => {
                    self.counts.other_packets += 1;
                    continue;
                }
                Err(e) => {
                    self.counts.damage(Some(record.index), None, e.to_string());
                    continue;
                }
            };
            if self.port.is_some_and(|p| p != udp.src.port() && p != udp.dst.port()) {
                self.counts.other_packets += 1;
                continue;
            }
            self.counts.datagrams += 1;
            let first = *self.first.get_or_insert(record.timestamp);
            let Some(&id) = udp.payload.first() else {
                self.counts.damage(Some(record.index), None, "an empty datagram".to_owned());
                continue;
            };
            if (acsp::id::REALTIMEPOS_INTERVAL..=acsp::id::ADMIN_COMMAND).contains(&id) {
                self.counts.commands += 1;
                continue;
            }
            match acsp::decode_datagram(udp.payload) {
                Ok(d) => {
                    self.counts.warnings += u64::from(!d.warnings.is_empty());
                    let now = record.timestamp.saturating_sub(first);
                    let unix_ms = i64::try_from(record.timestamp.as_millis()).unwrap_or(i64::MAX);
                    self.feed(&d.message, now, unix_ms)?;
                }
                Err(e) => self.counts.damage(Some(record.index), None, e.to_string()),
            }
        }
        Ok(())
    }

    fn raw(&mut self, data: &[u8]) -> Result<(), ReplayError> {
        for piece in acsp::concatenation(data) {
            match piece {
                Piece::Message { decoded, .. } => {
                    self.counts.warnings += u64::from(!decoded.warnings.is_empty());
                    let at = self.raw.advance(&decoded.message);
                    // The engine's clock never goes back: it is the made-up clock, not the lap's
                    // own time.
                    let now = Duration::from_millis(u64::try_from(self.raw.now).unwrap_or(0));
                    let unix_ms = self.raw.start_unix_ms.saturating_add(at);
                    self.feed(&decoded.message, now, unix_ms)?;
                }
                Piece::Damage { offset, reason, resume_at } => self.counts.damage(
                    None,
                    Some(offset),
                    format!("{reason} (bytes {offset}..{resume_at} skipped)"),
                ),
            }
        }
        Ok(())
    }

    /// Whether the file was a capture of the plugin protocol at all: events, and (in a raw
    /// concatenation, where random bytes decode as a few messages by chance, each followed by
    /// damage) more events than damaged places.
    fn judge(&self, path: &Path) -> Result<(), ReplayError> {
        let c = &self.counts;
        let first = c.damage.first().map(|d| format!("; the first damage: {}", d.reason)).unwrap_or_default();
        let reason = if c.events == 0 {
            match self.format {
                Format::Raw => {
                    format!("nothing in the {} format decodes as an ACSP event{first}", self.format.name())
                }
                _ if c.packets == 0 => format!("no readable packet{first}"),
                _ if c.datagrams == 0 => {
                    let links: Vec<String> = c.links.iter().map(u32::to_string).collect();
                    let links = if links.is_empty() {
                        String::new()
                    } else {
                        format!(" (link types not read: {})", links.join(", "))
                    };
                    format!("none of the {} packets is a UDP datagram{links}", c.packets)
                }
                _ => {
                    format!("no ACSP event in {} UDP datagrams ({} commands){first}", c.datagrams, c.commands)
                }
            }
        } else if self.format == Format::Raw && c.undecodable >= c.events {
            format!(
                "mostly not ACSP events ({} damaged places for {} events): not a capture of the plugin \
                 protocol, or badly damaged{first}",
                c.undecodable, c.events
            )
        } else {
            return Ok(());
        };
        Err(ReplayError::NoEvents { path: path.to_owned(), reason })
    }

    fn report(self, elapsed: Duration) -> ReplayReport {
        let recorder = self.recorder.as_deref().map(Recorder::stats);
        let c = self.counts;
        let secs = elapsed.as_secs_f64();
        ReplayReport {
            format: self.format.name(),
            packets: c.packets,
            datagrams: c.datagrams,
            other_packets: c.other_packets,
            commands: c.commands,
            events: c.events,
            warnings: c.warnings,
            undecodable: c.undecodable,
            damage: c.damage,
            sessions: recorder.map_or(0, |r| r.sessions_begun + r.sessions_resumed),
            laps_stored: recorder.map_or(0, |r| r.laps_stored),
            recorder,
            engine: self.engine.stats(),
            board: self.engine.board(),
            capture_span: self.last,
            elapsed,
            events_per_s: if secs > 0.0 { c.events as f64 / secs } else { 0.0 },
        }
    }
}

#[cfg(test)]
mod tests {
    use acsp::{ConnectionInfo, LapCompleted, LeaderboardEntry, SessionInfo, SessionType};
    use proptest::prelude::*;
    use records::Store;

    use super::*;
    use crate::recorder::RecorderConfig;

    fn race(elapsed_ms: i32) -> Event {
        Event::NewSession(SessionInfo {
            protocol_version: 4,
            session_index: 0,
            current_session_index: 0,
            session_count: 1,
            server_name: "pitwall".into(),
            track: "ks_vallelunga".into(),
            track_config: String::new(),
            name: "Race".into(),
            session_type: SessionType::Race,
            time: 0,
            laps: 5,
            wait_time: 0,
            ambient_temp: 22,
            road_temp: 30,
            weather_graphics: "3_clear".into(),
            weather_encoding: Default::default(),
            elapsed_ms,
        })
    }

    fn join(car_id: u8) -> Event {
        Event::NewConnection(ConnectionInfo {
            driver_name: format!("Driver {car_id}"),
            driver_guid: format!("g-{car_id}"),
            car_id,
            car_model: "ks_mazda_mx5_cup".into(),
            car_skin: "red".into(),
        })
    }

    fn lap(car_id: u8, lap_time: u32, laps: u16) -> Event {
        Event::LapCompleted(LapCompleted {
            car_id,
            lap_time,
            cuts: 0,
            leaderboard: vec![LeaderboardEntry { car_id, time: lap_time, laps, has_completed: None }],
            grip_level: 1.0,
        })
    }

    fn concatenation(events: &[Event]) -> Vec<u8> {
        let mut data = Vec::new();
        for e in events {
            acsp::encode_event(e, &mut data).expect("encode");
        }
        data
    }

    /// A pcap of raw IPv4 packets from the server, one per event, a second apart from 1000 s.
    fn pcap(events: &[Event]) -> Vec<u8> {
        let payloads: Vec<Vec<u8>> = events
            .iter()
            .map(|e| {
                let mut payload = Vec::new();
                acsp::encode_event(e, &mut payload).expect("encode");
                payload
            })
            .collect();
        pcap_of(&payloads)
    }

    /// A pcap of raw IPv4 packets, one per payload, a second apart from 1000 s: from the
    /// server's port 11000 to the plugin's 12000, or the other way for a command (id 200 on).
    fn pcap_of(payloads: &[Vec<u8>]) -> Vec<u8> {
        use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};
        let header = PcapHeader { datalink: pcap_file::DataLink::RAW, ..Default::default() };
        let mut w = PcapWriter::with_header(Vec::new(), header).expect("header");
        for (i, payload) in payloads.iter().enumerate() {
            let ports: [u8; 4] =
                if payload[0] >= 200 { [0x2e, 0xe0, 0x2a, 0xf8] } else { [0x2a, 0xf8, 0x2e, 0xe0] };
            let mut p = vec![0x45, 0];
            p.extend_from_slice(&((28 + payload.len()) as u16).to_be_bytes());
            p.extend_from_slice(&[0, 0, 0x40, 0, 64, 17, 0, 0, 127, 0, 0, 1, 127, 0, 0, 1]);
            p.extend_from_slice(&ports);
            p.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
            p.extend_from_slice(&[0, 0]);
            p.extend_from_slice(payload);
            let at = Duration::from_secs(1000 + i as u64);
            w.write_packet(&PcapPacket::new(at, p.len() as u32, &p)).expect("packet");
        }
        w.into_writer()
    }

    fn recorder() -> (tempfile::TempDir, Recorder) {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = Store::open(&dir.path().join("records.sqlite")).expect("open");
        (dir, Recorder::new(store, RecorderConfig::default()))
    }

    /// `(lap, finished at)` of every stored lap of car `car_id`'s driver, in order.
    fn lap_times(recorder: &Recorder, car_id: u8) -> Vec<i64> {
        let mut q = records::Query::new("ks_vallelunga", "");
        q.ranking = records::Ranking::EveryLap;
        let mut at: Vec<i64> = recorder
            .store()
            .leaderboard(&q)
            .expect("leaderboard")
            .into_iter()
            .filter(|r| r.guid == format!("g-{car_id}"))
            .map(|r| r.finished_at_ms)
            .collect();
        at.sort();
        at
    }

    #[test]
    fn the_raw_clock_dates_laps_by_the_sum_of_lap_times_from_the_start() {
        // A race whose start is 10 s after NEW_SESSION; car 1's laps come in late, after car
        // 0's last one: each is still dated by its own sum.
        let events = [
            race(-10_000),
            join(0),
            join(1),
            lap(0, 90_000, 1),
            lap(0, 91_000, 2),
            lap(1, 95_000, 1),
            lap(1, 96_000, 2),
        ];
        let (_dir, mut recorder) = recorder();
        let config = ReplayConfig { raw_start_unix_ms: 1_000_000, ..ReplayConfig::default() };
        let report =
            replay_bytes(Path::new("race.bin"), &concatenation(&events), Some(&mut recorder), &config)
                .expect("replay");
        assert_eq!((report.events, report.laps_stored), (7, 4));
        let start = 1_000_000 + 10_000;
        assert_eq!(lap_times(&recorder, 0), [start + 90_000, start + 181_000]);
        assert_eq!(lap_times(&recorder, 1), [start + 95_000, start + 191_000]);
        assert_eq!(report.capture_span, Duration::from_millis(10_000 + 191_000));
    }

    #[test]
    fn pcap_timestamps_date_the_records_and_a_cut_file_keeps_what_came_before() {
        let events = [race(0), join(0), lap(0, 90_000, 1), lap(0, 91_000, 2)];
        let mut data = pcap(&events);
        // The last packet cut short.
        data.truncate(data.len() - 5);
        let (_dir, mut recorder) = recorder();
        let report =
            replay_bytes(Path::new("race.pcap"), &data, Some(&mut recorder), &ReplayConfig::default())
                .expect("replay");
        assert_eq!((report.packets, report.events, report.undecodable), (3, 3, 1));
        let damage = &report.damage[0];
        assert!(damage.offset.is_some_and(|o| o < data.len()), "{damage:?}");
        assert!(damage.reason.contains("after packet 3"), "{damage:?}");
        // The lap's packet was stamped at 1002 s.
        assert_eq!(lap_times(&recorder, 0), [1_002_000]);
        assert_eq!(report.capture_span, Duration::from_secs(2));
    }

    #[test]
    fn plugin_commands_in_a_pcap_are_skipped() {
        let mut payloads = Vec::new();
        for e in [race(0), join(0)] {
            let mut payload = Vec::new();
            acsp::encode_event(&e, &mut payload).expect("encode");
            payloads.push(payload);
        }
        // The plugin's GET_SESSION_INFO (204) to the server.
        let mut command = Vec::new();
        acsp::encode(&acsp::Command::GetSessionInfo { session_index: -1 }, &mut command).expect("encode");
        payloads.insert(1, command);
        let data = pcap_of(&payloads);
        let report =
            replay_bytes(Path::new("both.pcap"), &data, None, &ReplayConfig::default()).expect("replay");
        assert_eq!((report.datagrams, report.events, report.commands, report.undecodable), (3, 2, 1, 0));
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

        /// Any bytes, alone or after a pcap header, replay to a report or an error, never a
        /// panic; a report accounts for every datagram.
        #[test]
        fn any_bytes_replay_without_panic(
            bytes in proptest::collection::vec(any::<u8>(), 1..2048),
            as_pcap in any::<bool>(),
        ) {
            let data = if as_pcap {
                let mut d = pcap(&[race(0)]);
                d.extend_from_slice(&bytes);
                d
            } else {
                bytes
            };
            if let Ok(report) = replay_bytes(Path::new("any"), &data, None, &ReplayConfig::default()) {
                prop_assert!(report.events > 0);
                if report.format != "raw concatenation" {
                    prop_assert!(report.events + report.commands <= report.datagrams);
                }
            }
        }
    }
}
