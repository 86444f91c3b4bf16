//! Session identity: which session a sampled step belongs to, and its `seq` in it.
//!
//! Following the design notes, a session is one continuous stint as the game's pages describe
//! it. The [`Sessionizer`] starts a new one (a fresh UUIDv7, `seq` from 0) when:
//! - the [`Poller`](shm::Poller) reports a session start: the first step seen, the status
//!   leaving `Off` (menus → track), the graphics session type changing, or the physics
//!   `packetId` going backwards (a restart);
//! - the static page changed under a running session (another car or track loaded without the
//!   status passing through `Off`), which the sampler detects by re-reading it periodically.
//!
//! A step the game skipped is not a gap in `seq`: it is the frame's `missed_steps`. The
//! session's [`SessionMetadata`](pb::SessionMetadata) goes on its first frame; since every
//! change of what the metadata holds (static page, session type) starts a new session, that is
//! also "on every change".
//!
//! A bridge that restarts starts new sessions even if the game kept running: ids are never
//! reused across bridge runs, so two runs can never both claim `(session_id, seq)`.

use bytes::Bytes;
use proto::telemetry::v1 as pb;
use shm::{Sample, StaticPage};

use crate::frame::{self, FrameIds};

/// Why a new session started, for logs and counters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NewSession {
    /// The poller started one (see [`shm::SessionStart`]).
    Poller(shm::SessionStart),
    /// The static page changed under a running session.
    StaticChanged,
}

/// Assigns session ids and seqs to sampled steps and builds their frames.
#[derive(Debug)]
pub struct Sessionizer {
    source: String,
    current: Option<Current>,
    sessions: u64,
    compound: frame::CompoundText,
    driver_name: Option<String>,
}

#[derive(Debug)]
struct Current {
    id: Bytes,
    next_seq: u64,
    static_page: StaticPage,
}

impl Sessionizer {
    /// A sessionizer; `source` goes into each session's metadata (e.g. `pitwall-bridge 0.1.0
    /// (shm)`).
    pub fn new(source: impl Into<String>) -> Self {
        Sessionizer {
            source: source.into(),
            current: None,
            sessions: 0,
            compound: frame::CompoundText::default(),
            driver_name: None,
        }
    }

    /// Puts `name` (when given) in each session's metadata as the player's nickname, in place
    /// of the game's: the name the driver races under on the server, so that the server links
    /// the laps (it matches its driver name against the game's name, full name and nickname).
    pub fn with_driver_name(mut self, name: Option<String>) -> Self {
        self.driver_name = name.filter(|n| !n.trim().is_empty());
        self
    }

    /// The frame for `sample`. `static_page` is the page of the sample's session (the poller's,
    /// or a newer one read by the caller); `static_changed` forces a new session because it
    /// differs from the one the current session started with. `wall_ns` is the wall clock at
    /// sampling (ns since the Unix epoch). Returns the frame and, when it starts a session,
    /// why.
    pub fn frame(
        &mut self,
        sample: &Sample,
        static_page: &StaticPage,
        static_changed: bool,
        wall_ns: i64,
    ) -> (pb::TelemetryFrame, Option<NewSession>) {
        let reason = match (&self.current, sample.session_start) {
            (_, Some(start)) => Some(NewSession::Poller(start)),
            (None, None) => Some(NewSession::Poller(shm::SessionStart::First)),
            (Some(_), None) if static_changed => Some(NewSession::StaticChanged),
            (Some(_), None) => None,
        };
        let mut metadata = None;
        let current = match (reason, self.current.as_mut()) {
            (None, Some(current)) => current,
            _ => {
                self.sessions += 1;
                let id = Bytes::copy_from_slice(uuid::Uuid::now_v7().as_bytes());
                let mut meta =
                    frame::session_metadata(static_page, sample.graphics.session(), &self.source, wall_ns);
                if let Some(name) = &self.driver_name {
                    meta.player_nick.clone_from(name);
                }
                metadata = Some(meta);
                self.current.insert(Current { id, next_seq: 0, static_page: *static_page })
            }
        };
        let ids = FrameIds {
            session_id: current.id.clone(),
            seq: current.next_seq,
            wall_time_ns: wall_ns,
            mono_time_ns: i64::try_from(sample.mono_ns).unwrap_or(i64::MAX),
            missed_steps: u32::try_from(sample.missed_before).unwrap_or(u32::MAX),
        };
        current.next_seq += 1;
        let compound = self.compound.get(&sample.graphics);
        (frame::frame(&sample.physics, &sample.graphics, ids, metadata, compound), reason)
    }

    /// Whether `page` differs from the static page the current session started with (false
    /// before any session).
    pub fn static_differs(&self, page: &StaticPage) -> bool {
        self.current.as_ref().is_some_and(|c| c.static_page.as_bytes() != page.as_bytes())
    }

    /// The current session's id and the seq its next frame gets.
    pub fn current(&self) -> Option<(&Bytes, u64)> {
        self.current.as_ref().map(|c| (&c.id, c.next_seq))
    }

    /// Sessions started so far.
    pub fn sessions(&self) -> u64 {
        self.sessions
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shm::{GraphicsPage, PhysicsPage, SessionStart, SessionType, Status};

    fn sample(packet_id: i32, start: Option<SessionStart>, missed: u64) -> Sample {
        let mut physics = PhysicsPage::new();
        physics.packet_id = packet_id;
        let mut graphics = GraphicsPage::new();
        graphics.set_status(Status::Live);
        graphics.set_session(SessionType::Race);
        Sample {
            physics,
            graphics,
            mono_ns: packet_id as u64 * 3_000_000,
            session: 1,
            session_start: start,
            missed_before: missed,
        }
    }

    fn statics(track: &str) -> StaticPage {
        let mut s = StaticPage::new();
        s.set_track(track);
        s
    }

    #[test]
    fn seq_counts_frames_and_missed_steps_are_not_gaps() {
        let mut z = Sessionizer::new("test");
        let s = statics("monza");
        let (f0, why) = z.frame(&sample(1, Some(SessionStart::First), 0), &s, false, 10);
        assert_eq!(why, Some(NewSession::Poller(SessionStart::First)));
        let meta = f0.session.as_ref().expect("metadata on the first frame");
        assert_eq!((meta.track.as_str(), meta.source.as_str(), meta.started_unix_ns), ("monza", "test", 10));
        assert_eq!(meta.session_type(), pb::SessionType::Race);
        assert_eq!(f0.session_id.len(), 16);
        assert_eq!(uuid::Uuid::from_slice(&f0.session_id).unwrap().get_version_num(), 7);

        let (f1, why) = z.frame(&sample(2, None, 0), &s, false, 11);
        let (f2, _) = z.frame(&sample(7, None, 4), &s, false, 12);
        assert_eq!(why, None);
        assert_eq!((f1.seq, f2.seq), (1, 2), "seq has no gap where the game skipped steps");
        assert_eq!((f1.missed_steps, f2.missed_steps), (0, 4));
        assert!(f1.session.is_none() && f2.session.is_none(), "metadata only when a session starts");
        assert_eq!(f1.session_id, f0.session_id);
        assert_eq!(f2.mono_time_ns, 21_000_000);
    }

    #[test]
    fn every_session_change_gets_a_new_id_and_seq_from_zero() {
        let mut z = Sessionizer::new("test");
        let s = statics("spa");
        let (a, _) = z.frame(&sample(1, Some(SessionStart::First), 0), &s, false, 0);
        z.frame(&sample(2, None, 0), &s, false, 0);
        let restart = SessionStart::PacketIdRestart { last: 2, now: 1 };
        let (b, why) = z.frame(&sample(1, Some(restart), 0), &s, false, 0);
        assert_eq!(why, Some(NewSession::Poller(restart)));
        assert_ne!(a.session_id, b.session_id);
        assert_eq!(b.seq, 0);
        assert!(b.session.is_some());

        let typed = SessionStart::SessionType { from: SessionType::Practice, to: SessionType::Race };
        let (c, _) = z.frame(&sample(5, Some(typed), 0), &s, false, 0);
        let (d, _) = z.frame(&sample(1, Some(SessionStart::LeftOff), 0), &s, false, 0);
        assert_eq!((c.seq, d.seq), (0, 0));
        assert_eq!(z.sessions(), 4);
        let ids: std::collections::HashSet<_> =
            [&a, &b, &c, &d].iter().map(|f| f.session_id.clone()).collect();
        assert_eq!(ids.len(), 4, "ids are unique");
    }

    #[test]
    fn a_new_static_page_starts_a_new_session() {
        let mut z = Sessionizer::new("test");
        let spa = statics("spa");
        let monza = statics("monza");
        assert!(!z.static_differs(&monza), "no session yet");
        let (a, _) = z.frame(&sample(1, Some(SessionStart::First), 0), &spa, false, 0);
        assert!(!z.static_differs(&spa));
        assert!(z.static_differs(&monza));
        let (b, why) = z.frame(&sample(2, None, 0), &monza, true, 0);
        assert_eq!(why, Some(NewSession::StaticChanged));
        assert_ne!(a.session_id, b.session_id);
        assert_eq!(b.session.as_ref().map(|m| m.track.as_str()), Some("monza"));
        assert!(!z.static_differs(&monza));
        assert_eq!(z.current().map(|(_, next)| next), Some(1));
    }

    #[test]
    fn a_driver_name_becomes_every_sessions_nickname() {
        let spa = statics("spa");
        let monza = statics("monza");
        let mut plain = Sessionizer::new("test");
        let (f, _) = plain.frame(&sample(1, Some(SessionStart::First), 0), &spa, false, 0);
        let game_nick = f.session.map(|m| m.player_nick).unwrap_or_default();

        let mut z = Sessionizer::new("test").with_driver_name(Some("A. Lovelace".into()));
        let (a, _) = z.frame(&sample(1, Some(SessionStart::First), 0), &spa, false, 0);
        let (b, _) = z.frame(&sample(2, None, 0), &monza, true, 0);
        for f in [a, b] {
            assert_eq!(f.session.map(|m| m.player_nick).as_deref(), Some("A. Lovelace"));
        }
        // A blank name changes nothing.
        let mut blank = Sessionizer::new("test").with_driver_name(Some("  ".into()));
        let (c, _) = blank.frame(&sample(1, Some(SessionStart::First), 0), &spa, false, 0);
        assert_eq!(c.session.map(|m| m.player_nick).unwrap_or_default(), game_nick);
    }
}
