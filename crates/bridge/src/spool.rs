//! The recording as the bridge's spool: every frame goes to disk first, and what the server has
//! not acknowledged is sent from a small in-memory window or, after an outage, re-read from the
//! recording.
//!
//! Frames are appended to the [`RecordWriter`] and, when a server is configured, to the window
//! (their encoded bytes, in append order). The window keeps:
//! - every frame not yet in a complete gzip member (those cannot be re-read yet), and
//! - the most recent unacknowledged frames, up to [`SpoolConfig::window_frames`].
//!
//! Anything older is dropped from memory once it is in the file, so memory stays bounded however
//! long the server is away; what the window lost is found again through the recording's
//! [`MemberIndex`](record::MemberIndex) ([`Spool::plan_catch_up`]).
//!
//! Per session the spool tracks four numbers: `appended_next` (frames recorded), `acked_next`
//! (the server's cumulative ack: everything below is durable there), `sent_next` (what this
//! connection sent) and whether it is `stuck` (a gap no one can fill). [`Spool::decide`] is the
//! one rule for sending: a frame goes out only if it is exactly the session's next one, so the
//! server sees every session gap-free, and never once it was acked.

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::{Path, PathBuf};

use bytes::Bytes;
use proto::hex;
use record::{RecordError, RecordOptions, RecordWriter, Repair};

/// Sizing of a [`Spool`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpoolConfig {
    /// Unacknowledged frames kept in memory beyond those not yet in a complete member. 2048 is
    /// six seconds at 333 Hz, about 2 MB: enough to ride out a short hiccup without reading
    /// the file back.
    pub window_frames: usize,
    /// Keep the window at all: false when there is no server (record only).
    pub keep_window: bool,
}

impl Default for SpoolConfig {
    fn default() -> Self {
        SpoolConfig { window_frames: 2048, keep_window: true }
    }
}

/// One session as the spool sees it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SessionState {
    /// One past the highest seq recorded.
    pub appended_next: u64,
    /// The server's cumulative ack: every seq below is durable there.
    pub acked_next: u64,
    /// One past the highest seq sent on the current connection (at least `acked_next`).
    pub sent_next: u64,
    /// Frames the server needs next are neither in memory nor in the recording (lost in a
    /// crash, or a replayed file with a gap): the server would refuse everything after them,
    /// so the session is not sent any more.
    pub stuck: bool,
}

impl SessionState {
    fn next_unsent(&self) -> u64 {
        self.acked_next.max(self.sent_next)
    }

    fn pending(&self) -> bool {
        !self.stuck && self.next_unsent() < self.appended_next
    }
}

/// What to do with a frame on the current connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Send it: it is the session's next frame (now counted as sent).
    Send,
    /// Skip it: acked, already sent, stuck or unknown.
    Skip,
    /// It lies beyond the session's next frame, which must come first (from the recording).
    Gap,
}

/// The result of [`Spool::take_live`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Live {
    /// Frames were taken; call again.
    More,
    /// Frames the server needs are no longer in memory: run [`Spool::plan_catch_up`].
    NeedCatchUp,
    /// Nothing to send now; wait for new frames.
    Idle,
    /// The input is closed and everything has been sent.
    Done,
}

/// A pass over the recording to send what memory no longer holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatchUp {
    /// The recording.
    pub path: PathBuf,
    /// File offset of the first member to read.
    pub start: u64,
    /// File offset to stop at: the end of the complete members when planned.
    pub end: u64,
    /// Sessions the pass is for, with the seq each needs next.
    pub sessions: Vec<(Bytes, u64)>,
}

/// Figures for the status line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SpoolStatus {
    /// Frames recorded but not acknowledged by the server (stuck sessions excluded).
    pub backlog_frames: u64,
    /// Frames held in memory.
    pub window_frames: usize,
    /// Bytes of frames held in memory.
    pub window_bytes: usize,
    /// Size of the recording's complete members, bytes.
    pub record_bytes: u64,
    /// Sessions that cannot be sent any more.
    pub stuck_sessions: usize,
    /// Frames appended by this run.
    pub appended: u64,
    /// Frames the recording refused (a full disk): they may still be sent from memory, but are
    /// lost if they are not acked before memory must drop them.
    pub record_errors: u64,
}

#[derive(Debug)]
struct Entry {
    /// Position in this run's append order.
    pos: u64,
    /// Position among the frames the recording accepted; `None` if it refused this one.
    recorded: Option<u64>,
    session: Bytes,
    seq: u64,
    bytes: Bytes,
}

/// The recording, the in-memory window and the per-session send state. Shared by the sampler
/// (which appends) and the network task (which sends and acks) behind one mutex; every method is
/// short, and file reads for a catch-up happen outside it.
#[derive(Debug)]
pub struct Spool {
    writer: RecordWriter,
    config: SpoolConfig,
    window: VecDeque<Entry>,
    window_bytes: usize,
    next_pos: u64,
    recorded: u64,
    record_errors: u64,
    /// Next window position the live sender looks at.
    cursor: u64,
    sessions: HashMap<Bytes, SessionState>,
    closed: bool,
}

impl Spool {
    /// Opens (or creates) the recording at `path` to append to it. Sessions already in it are
    /// registered with everything unacknowledged, so that a restarted bridge asks the server
    /// about them and sends what it lacks.
    pub fn open(
        path: impl AsRef<Path>,
        options: RecordOptions,
        config: SpoolConfig,
    ) -> Result<(Spool, Option<Repair>), RecordError> {
        let (writer, repair) = RecordWriter::open_append(path, options)?;
        let mut sessions: HashMap<Bytes, SessionState> = HashMap::new();
        for member in writer.index() {
            for span in &member.sessions {
                let s = sessions.entry(span.session_id.clone()).or_default();
                s.appended_next = s.appended_next.max(span.last_seq + 1);
            }
        }
        let spool = Spool {
            writer,
            config,
            window: VecDeque::new(),
            window_bytes: 0,
            next_pos: 0,
            recorded: 0,
            record_errors: 0,
            cursor: 0,
            sessions,
            closed: false,
        };
        Ok((spool, repair))
    }

    /// Records a frame (its encoded bytes, `session`, `seq`) and keeps it for sending. A frame
    /// the recording refuses is still kept in memory (and returned as the error).
    pub fn append(&mut self, bytes: Bytes, session: &Bytes, seq: u64) -> Result<(), RecordError> {
        // The sampler encoded the frame from a TelemetryFrame with this session and seq.
        let result = self.writer.append_encoded_as(&bytes, session, seq);
        let recorded = match result {
            Ok(()) => {
                self.recorded += 1;
                Some(self.recorded - 1)
            }
            Err(_) => {
                self.record_errors += 1;
                None
            }
        };
        let state = self.sessions.entry(session.clone()).or_default();
        state.appended_next = state.appended_next.max(seq + 1);
        if self.config.keep_window {
            self.window_bytes += bytes.len();
            self.window.push_back(Entry {
                pos: self.next_pos,
                recorded,
                session: session.clone(),
                seq,
                bytes,
            });
        }
        self.next_pos += 1;
        self.trim();
        result
    }

    /// Tells the recording the time (monotonic ns), finishing a member that is old enough.
    pub fn tick(&mut self, now_ns: u64) -> Result<bool, RecordError> {
        let finished = self.writer.tick(now_ns)?;
        if finished {
            self.trim();
        }
        Ok(finished)
    }

    /// Finishes the open member and fsyncs the recording.
    pub fn sync(&mut self) -> Result<(), RecordError> {
        self.writer.sync()?;
        self.trim();
        Ok(())
    }

    /// No more frames will be appended.
    pub fn close_input(&mut self) {
        self.closed = true;
    }

    /// Whether [`close_input`](Self::close_input) was called.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// The server acked `session` up to `next_seq` (cumulative). Returns how many frames this
    /// newly acknowledged.
    pub fn ack(&mut self, session: &[u8], next_seq: u64) -> u64 {
        let Some(state) = self.sessions.get_mut(session) else {
            return 0;
        };
        let before = state.acked_next;
        state.acked_next = before.max(next_seq);
        state.sent_next = state.sent_next.max(state.acked_next);
        let newly = state.acked_next.min(state.appended_next).saturating_sub(before.min(state.appended_next));
        self.trim();
        newly
    }

    /// Sessions to ask the server about on (re)connect: those with frames not yet acked.
    pub fn resume_sessions(&self) -> Vec<Bytes> {
        let mut ids: Vec<Bytes> = self
            .sessions
            .iter()
            .filter(|(_, s)| !s.stuck && s.acked_next < s.appended_next)
            .map(|(id, _)| id.clone())
            .collect();
        ids.sort();
        ids
    }

    /// A new connection: nothing is sent on it yet, so everything unacked is sent again, from
    /// the oldest frame in memory on.
    pub fn reset_for_connect(&mut self) {
        for s in self.sessions.values_mut() {
            s.sent_next = s.acked_next;
        }
        self.cursor = self.front_pos();
    }

    /// The rule for sending `(session, seq)` on the current connection; marks it sent when the
    /// answer is [`Decision::Send`].
    pub fn decide(&mut self, session: &[u8], seq: u64) -> Decision {
        let Some(state) = self.sessions.get_mut(session) else {
            return Decision::Skip;
        };
        if state.stuck {
            return Decision::Skip;
        }
        let next = state.next_unsent();
        match seq.cmp(&next) {
            std::cmp::Ordering::Less => Decision::Skip,
            std::cmp::Ordering::Equal => {
                state.sent_next = seq + 1;
                Decision::Send
            }
            std::cmp::Ordering::Greater => Decision::Gap,
        }
    }

    /// Takes up to `max` frames to send from memory into `out`.
    pub fn take_live(&mut self, out: &mut Vec<Bytes>, max: usize) -> Live {
        let front = self.front_pos();
        // Frames dropped from memory before this connection got to them were acked, or are
        // in the recording: a session missing some shows a gap below (its first frame in
        // memory is beyond its next), which asks for a catch-up.
        self.cursor = self.cursor.max(front);
        let mut taken = 0;
        while taken < max {
            let Some(entry) = self.window.get((self.cursor - front) as usize) else {
                break;
            };
            match self.sessions.get_mut(&entry.session) {
                Some(state) if !state.stuck => {
                    let next = state.next_unsent();
                    if entry.seq > next {
                        return if taken > 0 { Live::More } else { Live::NeedCatchUp };
                    }
                    if entry.seq == next {
                        state.sent_next = entry.seq + 1;
                        out.push(entry.bytes.clone());
                        taken += 1;
                    }
                }
                _ => {}
            }
            self.cursor += 1;
        }
        if taken > 0 {
            Live::More
        } else if self.closed && !self.sessions.values().any(SessionState::pending) {
            Live::Done
        } else if self.sessions.values().any(SessionState::pending) && self.cursor >= self.next_pos {
            // Something unsent is not in memory at all (an outage longer than the window, or
            // sessions from before a restart).
            Live::NeedCatchUp
        } else {
            Live::Idle
        }
    }

    /// Where to read the recording from to send frames that memory no longer holds, or `None`
    /// when memory has everything the server still needs. Sessions whose next frame is in
    /// neither are marked stuck (logged by the caller through [`Spool::stuck_sessions`]).
    pub fn plan_catch_up(&mut self) -> Option<CatchUp> {
        // Exact presence, not a range: a replayed file may have holes in a session.
        let in_memory: HashSet<(&[u8], u64)> =
            self.window.iter().map(|e| (e.session.as_ref(), e.seq)).collect();
        let mut start: Option<u64> = None;
        let mut wanted = Vec::new();
        let mut stuck = Vec::new();
        for (id, state) in &self.sessions {
            if !state.pending() {
                continue;
            }
            let next = state.next_unsent();
            if in_memory.contains(&(id.as_ref(), next)) {
                continue;
            }
            match self.writer.index().resume_point(id, next) {
                Some(member) => {
                    start = Some(start.map_or(member.offset, |s| s.min(member.offset)));
                    wanted.push((id.clone(), next));
                }
                // Not in memory from `next` on, not in any complete member: nowhere.
                None => stuck.push(id.clone()),
            }
        }
        for id in stuck {
            if let Some(s) = self.sessions.get_mut(&id) {
                tracing::error!(
                    session = %hex(&id),
                    next_seq = s.next_unsent(),
                    "frames the server needs are in neither memory nor the recording; the session cannot be sent any further"
                );
                s.stuck = true;
            }
        }
        // The live sender looks at all of memory again (it only costs a rescan: `decide`
        // skips what was sent), so nothing in memory can be left behind its cursor.
        self.cursor = self.front_pos();
        let start = start?;
        wanted.sort();
        Some(CatchUp {
            path: self.writer.path().to_owned(),
            start,
            end: self.writer.end_offset(),
            sessions: wanted,
        })
    }

    /// After reading a catch-up pass: a session the pass did not move forward has a gap in the
    /// recording and is marked stuck (otherwise the same pass would be planned forever). The
    /// live sender then looks at everything in memory again.
    pub fn after_catch_up(&mut self, pass: &CatchUp) {
        for (id, next) in &pass.sessions {
            if let Some(s) = self.sessions.get_mut(id) {
                if s.pending() && s.next_unsent() == *next {
                    tracing::error!(
                        session = %hex(id),
                        next_seq = next,
                        "the recording has a gap where the server needs frames; the session cannot be sent any further"
                    );
                    s.stuck = true;
                }
            }
        }
        self.cursor = self.front_pos();
    }

    /// Stops sending `session`: the server refused one of its frames (`reason`), so it would
    /// refuse everything after it too.
    pub fn mark_stuck(&mut self, session: &[u8], reason: &str) {
        if let Some(s) = self.sessions.get_mut(session) {
            if !s.stuck {
                tracing::error!(session = %hex(session), reason, "the session cannot be sent any further");
                s.stuck = true;
            }
        }
        self.trim();
    }

    /// Whether every frame recorded has been acked (stuck sessions aside).
    pub fn all_acked(&self) -> bool {
        self.sessions.values().all(|s| s.stuck || s.acked_next >= s.appended_next)
    }

    /// The state of `session`.
    pub fn session(&self, session: &[u8]) -> Option<SessionState> {
        self.sessions.get(session).copied()
    }

    /// Sessions marked stuck.
    pub fn stuck_sessions(&self) -> Vec<Bytes> {
        self.sessions.iter().filter(|(_, s)| s.stuck).map(|(id, _)| id.clone()).collect()
    }

    /// Figures for the status line.
    pub fn status(&self) -> SpoolStatus {
        SpoolStatus {
            backlog_frames: self
                .sessions
                .values()
                .filter(|s| !s.stuck)
                .map(|s| s.appended_next.saturating_sub(s.acked_next))
                .sum(),
            window_frames: self.window.len(),
            window_bytes: self.window_bytes,
            record_bytes: self.writer.end_offset(),
            stuck_sessions: self.sessions.values().filter(|s| s.stuck).count(),
            appended: self.next_pos,
            record_errors: self.record_errors,
        }
    }

    /// The recording's path.
    pub fn path(&self) -> &Path {
        self.writer.path()
    }

    /// Finishes the recording (last member, fsync) and returns its index.
    pub fn close(self) -> Result<record::MemberIndex, RecordError> {
        self.writer.close()
    }

    fn front_pos(&self) -> u64 {
        self.window.front().map_or(self.next_pos, |e| e.pos)
    }

    /// Drops from the front of the window what is acked, and what is over the cap and safely
    /// in a complete member.
    fn trim(&mut self) {
        let in_file = self.recorded.saturating_sub(self.writer.pending_frames());
        while let Some(front) = self.window.front() {
            let done = self.sessions.get(&front.session).is_none_or(|s| s.stuck || front.seq < s.acked_next);
            let over = self.window.len() > self.config.window_frames;
            // A frame the recording refused can only be dropped when over the cap: it is lost
            // then (counted in record_errors, logged when it was refused).
            let droppable = front.recorded.is_none_or(|r| r < in_file);
            if done || (over && droppable) {
                self.window_bytes -= front.bytes.len();
                self.window.pop_front();
            } else {
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message as _;
    use proto::telemetry::v1::TelemetryFrame;
    use std::time::Duration;

    fn frame(session: &Bytes, seq: u64) -> Bytes {
        let f =
            TelemetryFrame { session_id: session.clone(), seq, speed_kmh: seq as f32, ..Default::default() };
        Bytes::from(f.encode_to_vec())
    }

    fn options() -> RecordOptions {
        // Members by size only (the tests tick no clock): 40 small frames each.
        RecordOptions {
            member_max_age: Duration::from_secs(3600),
            member_max_bytes: 40 * 30,
            ..Default::default()
        }
    }

    fn spool(dir: &tempfile::TempDir, window: usize) -> Spool {
        let path = dir.path().join("rec.pb.gz");
        Spool::open(path, options(), SpoolConfig { window_frames: window, keep_window: true }).unwrap().0
    }

    fn sid(n: u8) -> Bytes {
        Bytes::from(vec![n; 16])
    }

    fn seqs(bytes: &[Bytes]) -> Vec<u64> {
        bytes.iter().map(|b| TelemetryFrame::decode(b.clone()).unwrap().seq).collect()
    }

    #[test]
    fn the_window_is_bounded_by_its_cap_plus_the_open_member() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = spool(&dir, 100);
        let a = sid(1);
        for seq in 0..10_000 {
            s.append(frame(&a, seq), &a, seq).unwrap();
            // Never more than the cap plus one member's frames, however long the server is away.
            assert!(s.status().window_frames <= 100 + 45, "{} at {seq}", s.status().window_frames);
        }
        assert_eq!(s.status().backlog_frames, 10_000);
        // Acks release memory.
        s.ack(&a, 10_000);
        assert_eq!(s.status().window_frames, 0);
        assert_eq!(s.status().window_bytes, 0);
        assert!(s.all_acked());
    }

    #[test]
    fn frames_not_in_a_complete_member_stay_in_memory_whatever_the_cap() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = spool(&dir, 0);
        let a = sid(1);
        for seq in 0..10 {
            s.append(frame(&a, seq), &a, seq).unwrap();
        }
        assert_eq!(s.status().window_frames, 10, "the open member cannot be re-read yet");
        s.sync().unwrap();
        assert_eq!(s.status().window_frames, 0, "in the file now: memory lets go");
    }

    #[test]
    fn live_sending_skips_acked_frames_and_never_repeats() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = spool(&dir, 1000);
        let a = sid(1);
        for seq in 0..10 {
            s.append(frame(&a, seq), &a, seq).unwrap();
        }
        s.reset_for_connect();
        s.ack(&a, 4);
        let mut out = Vec::new();
        assert_eq!(s.take_live(&mut out, 3), Live::More);
        assert_eq!(s.take_live(&mut out, 100), Live::More);
        assert_eq!(seqs(&out), [4, 5, 6, 7, 8, 9]);
        out.clear();
        assert_eq!(s.take_live(&mut out, 100), Live::Idle);
        s.close_input();
        assert_eq!(s.take_live(&mut out, 100), Live::Done);
        assert!(out.is_empty());
        // A reconnect resends what was sent but not acked, never what was acked.
        s.ack(&a, 7);
        s.reset_for_connect();
        assert_eq!(s.take_live(&mut out, 100), Live::More);
        assert_eq!(seqs(&out), [7, 8, 9]);
    }

    #[test]
    fn after_an_outage_longer_than_the_window_the_recording_fills_in() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = spool(&dir, 50);
        let a = sid(1);
        for seq in 0..1000 {
            s.append(frame(&a, seq), &a, seq).unwrap();
        }
        // The server had 0..300 before the outage.
        s.ack(&a, 300);
        s.reset_for_connect();
        let mut out = Vec::new();
        assert_eq!(s.take_live(&mut out, 100), Live::NeedCatchUp);
        let pass = s.plan_catch_up().expect("frames 300.. are only in the file");
        assert_eq!(pass.sessions, vec![(a.clone(), 300)]);
        assert!(pass.start > 0, "it starts at the member holding seq 300, not at the file's start");
        // What a catch-up pass does: read the members, send what `decide` allows.
        let reader = record::RecordReader::open_with(
            &pass.path,
            record::ReadOptions { start: pass.start, end: Some(pass.end), ..Default::default() },
        )
        .unwrap();
        let mut sent = Vec::new();
        for f in reader {
            let f = f.unwrap();
            match s.decide(&f.session_id, f.seq) {
                Decision::Send => sent.push(f.seq),
                Decision::Skip => assert!(f.seq < 300),
                Decision::Gap => panic!("no gap in a good recording"),
            }
        }
        s.after_catch_up(&pass);
        assert_eq!(sent.first(), Some(&300));
        assert!(s.plan_catch_up().is_none(), "memory holds the rest");
        while s.take_live(&mut out, 100) == Live::More {}
        sent.extend(seqs(&out));
        assert_eq!(sent, (300..1000).collect::<Vec<_>>(), "every frame once, in order");
        assert!(s.session(&a).unwrap().sent_next == 1000);
    }

    #[test]
    fn a_restarted_spool_knows_the_sessions_of_its_recording() {
        let dir = tempfile::tempdir().unwrap();
        let a = sid(1);
        let b = sid(2);
        {
            let mut s = spool(&dir, 10);
            for seq in 0..100 {
                s.append(frame(&a, seq), &a, seq).unwrap();
            }
            for seq in 0..5 {
                s.append(frame(&b, seq), &b, seq).unwrap();
            }
            s.close().unwrap();
        }
        let mut s = spool(&dir, 10);
        assert_eq!(s.resume_sessions(), vec![a.clone(), b.clone()]);
        assert_eq!(s.session(&a).unwrap().appended_next, 100);
        s.ack(&a, 100);
        s.ack(&b, 2);
        assert_eq!(s.resume_sessions(), vec![b.clone()]);
        s.reset_for_connect();
        let mut out = Vec::new();
        assert_eq!(s.take_live(&mut out, 10), Live::NeedCatchUp);
        let pass = s.plan_catch_up().unwrap();
        assert_eq!(pass.sessions, vec![(b.clone(), 2)]);
    }

    #[test]
    fn a_gap_no_one_can_fill_marks_the_session_stuck_instead_of_looping() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = spool(&dir, 1000);
        let a = sid(1);
        // A replayed file that starts at seq 5: the server needs 0 first.
        for seq in 5..10 {
            s.append(frame(&a, seq), &a, seq).unwrap();
        }
        s.reset_for_connect();
        let mut out = Vec::new();
        assert_eq!(s.take_live(&mut out, 10), Live::NeedCatchUp);
        assert_eq!(s.plan_catch_up(), None);
        assert!(s.session(&a).unwrap().stuck);
        assert_eq!(s.stuck_sessions(), vec![a.clone()]);
        assert_eq!(s.take_live(&mut out, 10), Live::Idle);
        assert_eq!(s.status().backlog_frames, 0);
        assert!(s.all_acked(), "a stuck session does not hold up shutdown");
    }

    #[test]
    fn decide_sends_each_frame_once_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = spool(&dir, 10);
        let a = sid(1);
        for seq in 0..3 {
            s.append(frame(&a, seq), &a, seq).unwrap();
        }
        s.reset_for_connect();
        assert_eq!(s.decide(&a, 1), Decision::Gap);
        assert_eq!(s.decide(&a, 0), Decision::Send);
        assert_eq!(s.decide(&a, 0), Decision::Skip);
        assert_eq!(s.decide(&a, 1), Decision::Send);
        assert_eq!(s.decide(b"unknown", 0), Decision::Skip);
        assert_eq!(s.ack(&a, 2), 2);
        assert_eq!(s.ack(&a, 1), 0, "acks never go back");
        assert_eq!(s.decide(&a, 1), Decision::Skip);
    }
}
