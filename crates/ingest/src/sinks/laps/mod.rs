//! The laps sink (`type = "laps"`): the telemetry laps of every session, in the records
//! database, where the store links each to the server lap of the same drive (the rule:
//! `records::telemetry`, docs/join.md).
//!
//! ```text
//! DATA/records.sqlite               (or `path`): the records database, shared with the timing
//!                                   engine that stores the server's laps
//! ```
//!
//! Frames are decoded and fed to one [`analysis::LapTracker`] per session (the tracker follows
//! one session at a time, and sessions of different cars interleave in the WAL). A session's
//! metadata (car, track, the player's names), which rides only on its first frames, is stored
//! with the session; each lap that reaches the line is stored with it, its time (the game's
//! when the game counted it), why it is invalid, its end on the car PC's wall clock and the
//! seqs it spans. A lap that never reached the line (the stream ended first) is not stored:
//! the server has no lap to match it with.
//!
//! Laps found by [`Sink::write`] wait in memory; [`Sink::flush`] stores them in one
//! transaction and commits, so the database's write lock, which the timing engine shares, is
//! held for one short transaction per flush interval. Decoding and SQLite run on tokio's
//! blocking pool; the sink has its own pipeline, so it never holds the Parquet sink back (it
//! only keeps WAL segments until it has passed them).
//!
//! **Exactly once.** A telemetry lap is keyed by (session, lap number) in the database, and a
//! lap stored again is ignored. After a restart the pipeline delivers the frames since the
//! checkpoint again; the sink skips, per session, every lap that does not end after the last
//! seq the database holds for it, so no lap is stored twice even where the detector's numbers
//! would differ. What a restart costs: the lap running at the checkpoint is seen from the
//! middle, so it is stored marked `partial` (its time is still the game's, so it still links),
//! and the session's metadata is read back from the database.
//!
//! Frames that do not decode are counted and skipped (the server validated them on the way in,
//! so this means a damaged WAL record).
//!
//! ```toml
//! [[sinks]]
//! name = "laps"
//! type = "laps"
//! # path = "/var/lib/pitwall/records.sqlite"   # default: DATA/records.sqlite
//! ```

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::path::PathBuf;

use analysis::{Lap, LapTracker};
use proto::telemetry::v1::{SessionMetadata, TelemetryFrame};
use records::{GameIdentity, LinkOutcome, Store, TelemetryLapInput, TelemetrySessionInput};
use serde::{Deserialize, Serialize};

use super::{Sink, SinkContext, SinkError, WalFrame};
use crate::session::SessionId;

/// The records database's file name in the data directory, when `path` is not set.
pub const DEFAULT_DB: &str = "records.sqlite";

/// Flushes without a frame after which a session's lap tracker is dropped (its open lap can no
/// longer reach the line in this run). At the default flush interval, 10 minutes: longer than
/// a game left paused in the pits.
const IDLE_FLUSHES: u32 = 600;

/// `type = "laps"` settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LapsConfig {
    /// The records database; default `DATA/records.sqlite`.
    pub path: Option<PathBuf>,
}

impl LapsConfig {
    /// The records database for a sink built in `ctx`.
    pub fn db_path(&self, ctx: &SinkContext) -> PathBuf {
        self.path.clone().unwrap_or_else(|| ctx.data_dir.join(DEFAULT_DB))
    }
}

/// What the sink has done since it was opened.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LapsStats {
    /// Frames decoded and tracked.
    pub frames: u64,
    /// Frames that did not decode (skipped).
    pub undecodable: u64,
    /// Telemetry laps stored.
    pub laps_stored: u64,
    /// Laps skipped because the database held them already (a re-delivery after a restart).
    pub laps_skipped: u64,
    /// Laps that did not reach the line (not stored).
    pub laps_unfinished: u64,
    /// Stored laps linked to a server lap as they were stored (a lap stored later may still
    /// undo a link, by the rule's "one candidate each way").
    pub linked: u64,
    /// Stored laps left unlinked because two or more server laps match.
    pub ambiguous: u64,
}

/// One session's tracking.
#[derive(Debug)]
struct Tracked {
    tracker: LapTracker,
    game: GameIdentity,
    /// Laps ending at or before this seq are in the database already (from an earlier run).
    stored_up_to: Option<u64>,
    idle_flushes: u32,
}

/// The laps sink.
#[derive(Debug)]
pub struct LapsSink {
    inner: Option<Inner>,
}

#[derive(Debug)]
struct Inner {
    store: Store,
    sessions: HashMap<SessionId, Tracked>,
    /// Session metadata not stored yet.
    new_sessions: Vec<TelemetrySessionInput>,
    /// Laps not stored yet.
    laps: Vec<TelemetryLapInput>,
    stats: LapsStats,
    /// Every frame is decoded into this one ([`WalFrame::decode_into`]): the tracker
    /// only reads a frame, and a fresh `TelemetryFrame` per frame cost more than its decoding.
    scratch: TelemetryFrame,
}

impl LapsSink {
    /// Opens (creating or migrating) the records database at `path`.
    pub fn open(path: impl Into<PathBuf>, _config: &LapsConfig) -> Result<Self, SinkError> {
        let path = path.into();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| SinkError::io("create", dir, e))?;
        }
        let store = Store::open(&path).map_err(SinkError::other)?;
        Ok(LapsSink {
            inner: Some(Inner {
                store,
                sessions: HashMap::new(),
                new_sessions: Vec::new(),
                laps: Vec::new(),
                stats: LapsStats::default(),
                scratch: TelemetryFrame::default(),
            }),
        })
    }

    /// What the sink has done since it was opened.
    pub fn stats(&self) -> LapsStats {
        self.inner.as_ref().map_or_else(LapsStats::default, |i| i.stats)
    }

    async fn run<T: Send + 'static>(
        &mut self,
        f: impl FnOnce(&mut Inner) -> Result<T, SinkError> + Send + 'static,
    ) -> Result<T, SinkError> {
        let Some(mut inner) = self.inner.take() else {
            return Err(SinkError::other("the laps sink lost its state to a panic; restart the server"));
        };
        let (inner, result) = tokio::task::spawn_blocking(move || {
            let r = f(&mut inner);
            (inner, r)
        })
        .await
        .map_err(|e| SinkError::other(format!("laps sink task: {e}")))?;
        self.inner = Some(inner);
        result
    }
}

fn identity(m: &SessionMetadata) -> GameIdentity {
    GameIdentity {
        car_model: m.car_model.clone(),
        track: m.track.clone(),
        layout: m.track_configuration.clone(),
        player_name: m.player_name.clone(),
        player_surname: m.player_surname.clone(),
        player_nick: m.player_nick.clone(),
    }
}

impl Inner {
    /// Session `id`'s tracking, set up from the database the first time this run sees it.
    fn tracked<'a>(
        sessions: &'a mut HashMap<SessionId, Tracked>,
        store: &Store,
        id: SessionId,
    ) -> Result<&'a mut Tracked, SinkError> {
        match sessions.entry(id) {
            Entry::Occupied(e) => Ok(e.into_mut()),
            Entry::Vacant(e) => {
                let known = store.telemetry_session(&id.0).map_err(SinkError::other)?;
                let stored_up_to = store.telemetry_last_seq(&id.0).map_err(SinkError::other)?;
                let game = known.map(|s| s.game).unwrap_or_default();
                Ok(e.insert(Tracked { tracker: LapTracker::new(), game, stored_up_to, idle_flushes: 0 }))
            }
        }
    }

    fn write(&mut self, batch: &[WalFrame]) -> Result<(), SinkError> {
        // A failed write must leave the sink as if the batch had not been written: the work is
        // done on copies of the touched trackers and kept only when the whole batch went in.
        let mut touched: HashMap<SessionId, Tracked> = HashMap::new();
        let mut new_sessions = Vec::new();
        let mut laps = Vec::new();
        let mut stats = self.stats;
        let frame = &mut self.scratch;
        for f in batch {
            match f.decode_into(frame) {
                Ok(()) => {}
                Err(e) => {
                    tracing::warn!(error = %crate::ErrorChain(&e), "laps sink: a frame that does not decode is skipped");
                    stats.undecodable += 1;
                    continue;
                }
            };
            let t = match touched.entry(f.session_id) {
                Entry::Occupied(e) => e.into_mut(),
                Entry::Vacant(e) => {
                    let t = Self::tracked(&mut self.sessions, &self.store, f.session_id)?;
                    e.insert(Tracked {
                        tracker: t.tracker.clone(),
                        game: t.game.clone(),
                        stored_up_to: t.stored_up_to,
                        idle_flushes: 0,
                    })
                }
            };
            stats.frames += 1;
            if let Some(m) = &frame.session {
                t.game = identity(m);
                new_sessions.push(TelemetrySessionInput {
                    session_id: f.session_id.0,
                    game: t.game.clone(),
                    started_at_ms: m.started_unix_ns / 1_000_000,
                });
            }
            t.tracker.push(frame);
            take_laps(f.session_id, t, &mut laps, &mut stats);
        }
        self.sessions.extend(touched);
        self.new_sessions.append(&mut new_sessions);
        self.laps.append(&mut laps);
        self.stats = stats;
        Ok(())
    }

    fn flush(&mut self) -> Result<(), SinkError> {
        // Sessions quiet for long: their last laps (one awaiting the count's confirmation) are
        // released, and the tracker dropped.
        let mut idle = Vec::new();
        for (id, t) in &mut self.sessions {
            t.idle_flushes += 1;
            if t.idle_flushes > IDLE_FLUSHES {
                idle.push(*id);
            }
        }
        for id in idle {
            if let Some(mut t) = self.sessions.remove(&id) {
                t.tracker.finish();
                take_laps(id, &mut t, &mut self.laps, &mut self.stats);
            }
        }
        for s in &self.new_sessions {
            self.store.add_telemetry_session(s).map_err(SinkError::other)?;
        }
        let mut outcomes = Vec::with_capacity(self.laps.len());
        for l in &self.laps {
            outcomes.push(self.store.add_telemetry_lap(l).map_err(SinkError::other)?);
        }
        self.store.flush().map_err(SinkError::other)?;
        // Counted once committed: a failed flush is retried whole, and a lap stored again by the
        // retry is `AlreadyStored`.
        let before = self.stats;
        for o in outcomes {
            match o {
                LinkOutcome::Linked => {
                    self.stats.laps_stored += 1;
                    self.stats.linked += 1;
                }
                LinkOutcome::Ambiguous { .. } => {
                    self.stats.laps_stored += 1;
                    self.stats.ambiguous += 1;
                }
                LinkOutcome::NoCandidate => self.stats.laps_stored += 1,
                LinkOutcome::AlreadyStored => self.stats.laps_skipped += 1,
            }
        }
        let stored = self.stats.laps_stored - before.laps_stored;
        if stored > 0 {
            tracing::info!(
                laps = stored,
                linked = self.stats.linked - before.linked,
                ambiguous = self.stats.ambiguous - before.ambiguous,
                "telemetry laps stored in the records database"
            );
        }
        self.new_sessions.clear();
        self.laps.clear();
        Ok(())
    }
}

/// Moves the laps `t`'s tracker has finished into `out`: those that reached the line and are
/// not in the database yet.
fn take_laps(id: SessionId, t: &mut Tracked, out: &mut Vec<TelemetryLapInput>, stats: &mut LapsStats) {
    while let Some(lap) = t.tracker.pop_lap() {
        if !lap.crossed_line || lap.time_ms <= 0 {
            stats.laps_unfinished += 1;
            continue;
        }
        if t.stored_up_to.is_some_and(|s| lap.end_seq <= s) {
            stats.laps_skipped += 1;
            continue;
        }
        out.push(lap_input(id, &t.game, &lap));
    }
}

fn lap_input(id: SessionId, game: &GameIdentity, lap: &Lap) -> TelemetryLapInput {
    TelemetryLapInput {
        session_id: id.0,
        lap: lap.number,
        game: game.clone(),
        time_ms: u32::try_from(lap.time_ms).unwrap_or(u32::MAX),
        invalid: lap.invalid.iter().map(ToString::to_string).collect(),
        finished_at_ms: lap.end_wall_ns / 1_000_000,
        first_seq: lap.start_seq,
        last_seq: lap.end_seq,
        frames: lap.frames,
        missed_steps: lap.missed_steps,
        // Negative sector times (none the lap detector gives) would not be times.
        sectors_ms: lap.sectors_ms.iter().map(|&s| u32::try_from(s).unwrap_or(0)).collect(),
    }
}

impl Sink for LapsSink {
    async fn write(&mut self, batch: &[WalFrame]) -> Result<(), SinkError> {
        if batch.is_empty() {
            return Ok(());
        }
        let batch = batch.to_vec();
        self.run(move |inner| inner.write(&batch)).await
    }

    async fn flush(&mut self) -> Result<(), SinkError> {
        self.run(Inner::flush).await
    }
}

/// `frames` as the pipeline delivers them: WAL records one after the other.
#[cfg(test)]
fn wal_frames(frames: &[TelemetryFrame]) -> Vec<WalFrame> {
    use prost::Message as _;

    use crate::wal::WalPosition;

    let mut pos = WalPosition { segment: 1, offset: crate::wal::format::SEGMENT_HEADER_LEN };
    frames
        .iter()
        .map(|f| {
            let w = WalFrame {
                position: pos,
                session_id: SessionId::from_slice(&f.session_id).unwrap_or_default(),
                seq: f.seq,
                bytes: f.encode_to_vec().into(),
            };
            pos = w.end();
            w
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    /// Laps of 1000 frames (3 s) for session `sid`: `laps` of them and part of the next, with
    /// the metadata on the first frame and a cut on the second lap.
    fn session_frames(sid: u8, laps: u64) -> Vec<TelemetryFrame> {
        (0..laps * 1000 + 500)
            .map(|seq| TelemetryFrame {
                session_id: vec![sid; 16].into(),
                seq,
                wall_time_ns: 1_700_000_000_000_000_000 + seq as i64 * 3_000_000,
                mono_time_ns: seq as i64 * 3_000_000,
                completed_laps: (seq / 1000) as i32,
                last_lap_ms: if seq >= 1000 { 3000 } else { 0 },
                normalized_position: (seq % 1000) as f32 / 1000.0,
                tyres_out: if seq == 1500 { 3 } else { 0 },
                session: (seq == 0).then(|| SessionMetadata {
                    car_model: "ks_mazda_mx5_cup".into(),
                    player_name: "Ada".into(),
                    started_unix_ns: 1_700_000_000_000_000_000,
                    ..Default::default()
                }),
                ..Default::default()
            })
            .collect()
    }

    /// Two sessions' frames interleaved a frame at a time.
    fn interleaved(a: &[TelemetryFrame], b: &[TelemetryFrame]) -> Vec<TelemetryFrame> {
        let mut out = Vec::new();
        for i in 0..a.len().max(b.len()) {
            out.extend(a.get(i).cloned());
            out.extend(b.get(i).cloned());
        }
        out
    }

    #[tokio::test]
    async fn interleaved_sessions_each_get_their_laps_and_a_restart_stores_none_twice() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("records.sqlite");
        let frames = wal_frames(&interleaved(&session_frames(1, 4), &session_frames(2, 3)));
        let cut = frames.len() / 2;

        let mut sink = LapsSink::open(&db, &LapsConfig::default()).unwrap();
        sink.write(&frames[..cut]).await.unwrap();
        sink.flush().await.unwrap();
        let first = sink.stats();
        assert!(first.laps_stored >= 2, "{first:?}");
        // A crash after the flush; the pipeline re-delivers from an earlier checkpoint.
        std::mem::forget(sink);
        let mut sink = LapsSink::open(&db, &LapsConfig::default()).unwrap();
        sink.write(&frames[cut / 4..]).await.unwrap();
        sink.flush().await.unwrap();
        assert!(sink.stats().laps_skipped > 0, "{:?}", sink.stats());
        let stored = sink.stats().laps_stored;
        sink.flush().await.unwrap();
        assert_eq!(sink.stats().laps_stored, stored, "a second flush stores nothing again");
        drop(sink);

        let store = Store::open(&db).unwrap();
        for (sid, n) in [(1u8, 4usize), (2, 3)] {
            let laps = store.telemetry_laps(&[sid; 16]).unwrap();
            let numbers: Vec<u32> = laps.iter().map(|l| l.lap).collect();
            assert_eq!(numbers, (1..=n as u32).collect::<Vec<_>>(), "session {sid}");
            assert!(laps.iter().all(|l| l.time_ms == 3000 && l.game.car_model == "ks_mazda_mx5_cup"));
            assert_eq!(laps[1].invalid, ["cut"]);
            assert!(laps[0].invalid.is_empty() && laps[2].invalid.is_empty(), "{laps:?}");
            // Each lap ends at the crossing: 3 s after its start.
            assert_eq!(laps[0].finished_at_ms, 1_700_000_000_000 + 3_000);
            let game = store.telemetry_session(&[sid; 16]).unwrap().unwrap().game;
            assert_eq!(game.player_name, "Ada");
        }
    }

    #[tokio::test]
    async fn a_lap_whose_server_lap_is_stored_already_links_as_it_is_stored() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("records.sqlite");
        let mut store = Store::open(&db).unwrap();
        let session = store
            .begin_session(&records::SessionInput {
                server: "test".into(),
                track: String::new(),
                layout: String::new(),
                session_type: records::SessionType::Practice,
                name: "Practice".into(),
                started_at_ms: 1_700_000_000_000,
                laps_limit: None,
                time_limit_s: None,
            })
            .unwrap();
        let entry = store
            .add_entry(
                session,
                &records::EntryInput {
                    guid: "g".into(),
                    name: "ADA".into(),
                    team: String::new(),
                    car_id: 0,
                    car_model: "ks_mazda_mx5_cup".into(),
                    skin: String::new(),
                },
            )
            .unwrap();
        // The server's lap 1: 2 ms longer, stored by a clock 1 s ahead.
        let lap = records::LapInput {
            lap: 1,
            time_ms: 3002,
            sectors: Vec::new(),
            cuts: 0,
            grip: None,
            top_speed_kmh: None,
            tyre: None,
            finished_at_ms: 1_700_000_004_000,
        };
        store.add_lap(entry, &lap).unwrap();
        store.flush().unwrap();

        let mut sink = LapsSink::open(&db, &LapsConfig::default()).unwrap();
        // One lap: these laps of 3 s would all fall in one another's 10 s window (no real lap
        // is that short), and a second would make the server lap ambiguous.
        sink.write(&wal_frames(&session_frames(4, 1))).await.unwrap();
        sink.flush().await.unwrap();
        assert_eq!((sink.stats().laps_stored, sink.stats().linked), (1, 1), "{:?}", sink.stats());
        assert_eq!(store.linked_telemetry(entry).unwrap().len(), 1);
        let t = store.telemetry_lap(&[4; 16], 1).unwrap().unwrap();
        assert_eq!(t.server.map(|s| s.lap), Some(1));
    }
}
