//! Live telemetry: the ingest server's live tap ([`ingest::live::LiveTap`]) decoded once, and
//! handed to browsers decimated.
//!
//! One task (the [`Hub`]'s) reads the tap, decodes each frame and keeps, per session, the car
//! (driver, model, track, from the frame's `session` metadata, which comes on a session's first
//! frame and whenever it changes), the latest [`Sample`] and a frame rate. Each WebSocket on
//! `/ws/telemetry` then samples its session's latest sample every [`SAMPLE_EVERY`] (at most
//! 30 a second; a sample not newer than the last one sent is not sent again), and the tyres
//! every [`TYRES_EVERY`].
//!
//! Nothing here can slow ingest or another browser: the tap is a `broadcast` that overwrites
//! what the hub has not read yet (the frames it skipped are counted), the hub never waits for
//! a browser (it only replaces the latest sample under a short lock), and a browser only ever
//! gets the latest sample, never a queue of them; one that takes nothing for
//! [`SEND_TIMEOUT`](crate::SEND_TIMEOUT) is closed like on `/ws/timing`.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use ingest::live::LiveFrame;
use prost::Message as _;
use proto::telemetry::v1::{SessionMetadata, TelemetryFrame, Wheels};
use serde::Serialize;
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::sync::watch;
use tokio::time::Instant;

use crate::Counters;

/// How often, at most, a WebSocket sends its car's inputs: the latest sample each time (30 Hz).
pub const SAMPLE_EVERY: Duration = Duration::from_micros(33_333);

/// How often a WebSocket sends its car's tyre temperatures and pressures (2 Hz).
pub const TYRES_EVERY: Duration = Duration::from_millis(500);

/// A session not seen for this long is forgotten (and leaves `/api/telemetry`).
pub const FORGET_AFTER: Duration = Duration::from_secs(60);

/// One frame's worth of what the telemetry page shows.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct Sample {
    pub(crate) seq: u64,
    /// The frame's wall clock (bridge host), ms since the Unix epoch.
    pub(crate) unix_ms: i64,
    pub(crate) speed_kmh: f32,
    pub(crate) throttle: f32,
    pub(crate) brake: f32,
    pub(crate) steering: f32,
    pub(crate) gear: i32,
    pub(crate) rpm: i32,
    /// Tyre core temperatures, °C: FL, FR, RL, RR.
    pub(crate) tyre_core_c: [f32; 4],
    /// Tyre pressures, psi: FL, FR, RL, RR.
    pub(crate) tyre_psi: [f32; 4],
}

impl Sample {
    fn of(frame: &TelemetryFrame) -> Sample {
        let wheels = |w: Option<&Wheels>| w.map_or([0.0; 4], |w| [w.fl, w.fr, w.rl, w.rr]);
        Sample {
            seq: frame.seq,
            unix_ms: frame.wall_time_ns / 1_000_000,
            speed_kmh: frame.speed_kmh,
            throttle: frame.throttle,
            brake: frame.brake,
            steering: frame.steering,
            gear: frame.gear,
            rpm: frame.rpm,
            tyre_core_c: wheels(frame.tyre_core_temp_c.as_ref()),
            tyre_psi: wheels(frame.tyre_pressure_psi.as_ref()),
        }
    }

    /// The inputs as the WebSocket sends them: `{"s":[seq, unix_ms, speed_kmh, throttle,
    /// brake, steering, gear, rpm]}`, rounded to what a trace can show.
    pub(crate) fn inputs_json(&self) -> String {
        format!(
            r#"{{"s":[{},{},{},{},{},{},{},{}]}}"#,
            self.seq,
            self.unix_ms,
            round(self.speed_kmh, 10.0),
            round(self.throttle, 1000.0),
            round(self.brake, 1000.0),
            round(self.steering, 1000.0),
            self.gear,
            self.rpm
        )
    }

    /// The tyres as the WebSocket sends them: `{"t":[seq, [core °C FL, FR, RL, RR],
    /// [psi FL, FR, RL, RR]]}`.
    pub(crate) fn tyres_json(&self) -> String {
        let four = |v: [f32; 4]| v.map(|x| round(x, 10.0));
        let [a, b, c, d] = four(self.tyre_core_c);
        let [e, f, g, h] = four(self.tyre_psi);
        format!(r#"{{"t":[{},[{a},{b},{c},{d}],[{e},{f},{g},{h}]]}}"#, self.seq)
    }
}

/// `x` rounded to `1 / per` (in f64, so that it prints short), and 0 when it is not finite
/// (JSON has no NaN).
fn round(x: f32, per: f64) -> f64 {
    let x = f64::from(x);
    if x.is_finite() { (x * per).round() / per } else { 0.0 }
}

/// A live session as `/api/telemetry` lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct SessionInfo {
    /// The session id, lowercase hex (what `/ws/telemetry?session=` takes).
    pub(crate) session: String,
    pub(crate) player: String,
    pub(crate) car_model: String,
    pub(crate) track: String,
    pub(crate) track_config: String,
    /// The rev limit, for the rpm trace's scale; 0 when unknown.
    pub(crate) max_rpm: i32,
    /// When the dashboard last had a frame of it, ms since the Unix epoch (dashboard clock).
    pub(crate) last_seen_unix_ms: i64,
    /// Frames a second over the last full second (0 once it has gone quiet).
    pub(crate) frames_per_second: u32,
    /// The last frame's seq.
    pub(crate) seq: u64,
}

/// One session the hub follows.
#[derive(Debug)]
struct Car {
    info: SessionInfo,
    latest: Sample,
    last_seen: Instant,
    /// The frame-rate window: since when, and how many frames.
    window_start: Instant,
    window_frames: u32,
}

/// The live sessions, shared between the hub's task (which writes) and the handlers.
#[derive(Debug, Default)]
pub(crate) struct Hub {
    cars: Mutex<HashMap<[u8; 16], Car>>,
    /// The metadata of sessions that started before the dashboard subscribed (their first
    /// frames, kept by the tap): who drives what, for when their frames come.
    known: Mutex<HashMap<[u8; 16], SessionMetadata>>,
}

impl Hub {
    /// Learns the metadata of sessions from their first frames (`LiveTap::first_frames`).
    pub(crate) fn know_sessions(&self, firsts: &[LiveFrame]) {
        let mut known = self.known.lock().unwrap_or_else(PoisonError::into_inner);
        for f in firsts {
            if let Ok(TelemetryFrame { session: Some(meta), .. }) = TelemetryFrame::decode(f.raw.clone()) {
                known.insert(f.session, meta);
            }
        }
    }

    /// The latest sample of `session`, if it is live.
    pub(crate) fn latest(&self, session: &[u8; 16]) -> Option<Sample> {
        self.lock().get(session).map(|car| car.latest)
    }

    /// The live sessions, most recently seen first.
    pub(crate) fn sessions(&self) -> Vec<SessionInfo> {
        let now = Instant::now();
        let mut out: Vec<SessionInfo> = self
            .lock()
            .values()
            .map(|car| {
                let mut info = car.info.clone();
                if now.saturating_duration_since(car.last_seen) > Duration::from_secs(2) {
                    info.frames_per_second = 0;
                }
                info
            })
            .collect();
        out.sort_by(|a, b| b.last_seen_unix_ms.cmp(&a.last_seen_unix_ms).then(a.session.cmp(&b.session)));
        out
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<[u8; 16], Car>> {
        // The map is replaced entry by entry: a panic elsewhere cannot leave it half-changed.
        self.cars.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Takes in one decoded frame.
    fn absorb(&self, session: [u8; 16], frame: &TelemetryFrame, now: Instant, unix_ms: i64) {
        let mut cars = self.lock();
        let created = !cars.contains_key(&session);
        let car = cars.entry(session).or_insert_with(|| Car {
            info: SessionInfo {
                session: proto::hex(&session),
                player: String::new(),
                car_model: String::new(),
                track: String::new(),
                track_config: String::new(),
                max_rpm: 0,
                last_seen_unix_ms: unix_ms,
                frames_per_second: 0,
                seq: frame.seq,
            },
            latest: Sample::default(),
            last_seen: now,
            window_start: now,
            window_frames: 0,
        });
        // A resent frame (after a bridge reconnects) is older than what the page has shown.
        if frame.seq < car.latest.seq {
            return;
        }
        let remembered = if created && frame.session.is_none() {
            self.known.lock().unwrap_or_else(PoisonError::into_inner).get(&session).cloned()
        } else {
            None
        };
        if let Some(meta) = frame.session.as_ref().or(remembered.as_ref()) {
            let name = [meta.player_name.as_str(), meta.player_surname.as_str()]
                .into_iter()
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(" ");
            car.info.player = if name.is_empty() { meta.player_nick.clone() } else { name };
            car.info.car_model.clone_from(&meta.car_model);
            car.info.track.clone_from(&meta.track);
            car.info.track_config.clone_from(&meta.track_configuration);
            car.info.max_rpm = meta.max_rpm;
        }
        car.latest = Sample::of(frame);
        car.info.seq = frame.seq;
        car.info.last_seen_unix_ms = unix_ms;
        car.last_seen = now;
        // The first frame opens the first window: the rate counts the frames after it.
        if !created {
            car.window_frames += 1;
        }
        let window = now.saturating_duration_since(car.window_start);
        if window >= Duration::from_secs(1) {
            let fps = f64::from(car.window_frames) / window.as_secs_f64();
            car.info.frames_per_second = fps.round() as u32;
            car.window_start = now;
            car.window_frames = 0;
        }
    }

    /// Forgets the sessions not seen for [`FORGET_AFTER`].
    fn forget_stale(&self, now: Instant) {
        self.lock().retain(|_, car| now.saturating_duration_since(car.last_seen) < FORGET_AFTER);
    }

    /// Reads the tap until it closes or the dashboard stops.
    pub(crate) async fn run(
        &self,
        mut frames: broadcast::Receiver<LiveFrame>,
        mut shutdown: watch::Receiver<bool>,
        counters: &Counters,
    ) {
        // Decoded into the same frame every time: prost's `clear` keeps its allocations.
        let mut scratch = TelemetryFrame::default();
        let mut tidy = tokio::time::interval(Duration::from_secs(1));
        tidy.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                biased;
                _ = shutdown.changed() => return,
                _ = tidy.tick() => self.forget_stale(Instant::now()),
                frame = frames.recv() => match frame {
                    Ok(frame) => {
                        if let Err(e) = proto::decode_frame_into(&mut scratch, frame.raw) {
                            Counters::add(&counters.telemetry_bad_frames, 1);
                            tracing::warn!(error = %e, session = %proto::hex(&frame.session), seq = frame.seq,
                                "live frame does not decode; skipped");
                            continue;
                        }
                        self.absorb(frame.session, &scratch, Instant::now(), unix_ms_now());
                    }
                    Err(RecvError::Lagged(missed)) => Counters::add(&counters.telemetry_skipped, missed),
                    Err(RecvError::Closed) => return,
                },
            }
        }
    }
}

fn unix_ms_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// A session id from its hex form (32 hex digits, either case).
pub(crate) fn parse_session(hex: &str) -> Option<[u8; 16]> {
    // `from_str_radix` would take a sign too: only digits pass.
    if hex.len() != 32 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto::telemetry::v1::SessionMetadata;

    #[test]
    fn session_ids_parse_from_hex() {
        let id = [0x01, 0x8b, 0xff, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 0xab];
        assert_eq!(parse_session(&proto::hex(&id)), Some(id));
        assert_eq!(parse_session(&proto::hex(&id).to_uppercase()), Some(id));
        for bad in ["", "018b", &"g".repeat(32), &"0".repeat(33), "+1".repeat(16).as_str(), &"é".repeat(16)]
        {
            assert_eq!(parse_session(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn samples_are_compact_and_rounded() {
        let s = Sample {
            seq: 7,
            unix_ms: 1_796_119_200_000,
            speed_kmh: 212.345,
            throttle: 0.1,
            brake: f32::NAN,
            steering: -0.25,
            gear: 4,
            rpm: 7100,
            tyre_core_c: [80.04, 81.0, 79.96, 80.5],
            tyre_psi: [27.1, 27.3, 26.8, 26.9],
        };
        assert_eq!(s.inputs_json(), r#"{"s":[7,1796119200000,212.3,0.1,0,-0.25,4,7100]}"#);
        assert_eq!(s.tyres_json(), r#"{"t":[7,[80,81,80,80.5],[27.1,27.3,26.8,26.9]]}"#);
    }

    #[test]
    fn the_hub_keeps_the_car_and_the_latest_sample() {
        let hub = Hub::default();
        let id = [3; 16];
        let t0 = Instant::now();
        let meta = SessionMetadata {
            player_name: "Ada".into(),
            player_surname: "Rossi".into(),
            car_model: "ks_mazda_mx5_cup".into(),
            max_rpm: 7500,
            ..Default::default()
        };
        let first = TelemetryFrame { seq: 0, session: Some(meta), speed_kmh: 10.0, ..Default::default() };
        hub.absorb(id, &first, t0, 1000);
        for seq in 1..=100 {
            let f = TelemetryFrame { seq, speed_kmh: seq as f32, ..Default::default() };
            hub.absorb(id, &f, t0 + Duration::from_millis(seq * 10), 1000 + seq as i64 * 10);
        }
        // A resent old frame changes nothing.
        hub.absorb(id, &TelemetryFrame { seq: 5, ..Default::default() }, t0, 0);
        assert_eq!(hub.latest(&id).map(|s| (s.seq, s.speed_kmh)), Some((100, 100.0)));
        let sessions = hub.sessions();
        assert_eq!(sessions.len(), 1);
        let info = &sessions[0];
        assert_eq!(
            (info.player.as_str(), info.car_model.as_str(), info.max_rpm),
            ("Ada Rossi", "ks_mazda_mx5_cup", 7500)
        );
        assert_eq!(info.last_seen_unix_ms, 2000);
        assert_eq!(info.frames_per_second, 100, "100 frames in the first second");
        hub.forget_stale(t0 + FORGET_AFTER + Duration::from_secs(2));
        assert!(hub.sessions().is_empty());
    }
}
