//! The member index: for each gzip member of a recording, where it lies in the file and which
//! frames it holds. The writer keeps it as it writes; [`crate::scan`] rebuilds it from a file.
//! The bridge uses it to re-read unacknowledged frames from the right member instead of from
//! the start of the file.

use prost::bytes::Bytes;

/// A frame's identity, the dedupe key everywhere: `(session_id, seq)`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FrameId {
    /// Session id (16 bytes for the bridge's UUIDv7 ids; any length is kept as is).
    pub session_id: Bytes,
    /// Frame number within the session.
    pub seq: u64,
}

/// A run of consecutive frames of one session inside a member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionSpan {
    /// The session.
    pub session_id: Bytes,
    /// `seq` of the run's first frame.
    pub first_seq: u64,
    /// `seq` of the run's last frame.
    pub last_seq: u64,
    /// Frames in the run.
    pub frames: u64,
}

/// One complete gzip member of a recording.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberInfo {
    /// File offset of the member's first byte (its gzip header).
    pub offset: u64,
    /// Compressed length, header and trailer included.
    pub len: u64,
    /// Inflated length: the frames and their length prefixes.
    pub raw_len: u64,
    /// Frames in the member.
    pub frames: u64,
    /// The member's frames as runs of one session each, in file order. Usually one; two or more
    /// where the session changed inside the member.
    pub sessions: Vec<SessionSpan>,
}

impl MemberInfo {
    /// File offset just past the member: where the next one starts.
    pub fn end(&self) -> u64 {
        self.offset + self.len
    }

    /// The member's first frame, if it has any.
    pub fn first(&self) -> Option<FrameId> {
        self.sessions.first().map(|s| FrameId { session_id: s.session_id.clone(), seq: s.first_seq })
    }

    /// The member's last frame, if it has any.
    pub fn last(&self) -> Option<FrameId> {
        self.sessions.last().map(|s| FrameId { session_id: s.session_id.clone(), seq: s.last_seq })
    }

    /// Whether a run of `session_id` in this member spans `seq` (between its first and last
    /// frame: with gap-free seqs, the member holds that frame).
    pub fn contains(&self, session_id: &[u8], seq: u64) -> bool {
        self.sessions.iter().any(|s| s.session_id == session_id && s.first_seq <= seq && seq <= s.last_seq)
    }
}

/// The members of a recording (or of the part of it that was read), in file order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemberIndex {
    members: Vec<MemberInfo>,
}

impl MemberIndex {
    /// An empty index.
    pub fn new() -> Self {
        Self::default()
    }

    /// The members, in file order.
    pub fn members(&self) -> &[MemberInfo] {
        &self.members
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Whether there are no members.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// Frames in all members.
    pub fn frames(&self) -> u64 {
        self.members.iter().map(|m| m.frames).sum()
    }

    /// File offset just past the last member (0 when there is none).
    pub fn end(&self) -> u64 {
        self.members.last().map_or(0, MemberInfo::end)
    }

    /// The last frame of the last member that has frames: where a restarted writer continues
    /// counting.
    pub fn last_frame(&self) -> Option<FrameId> {
        self.members.iter().rev().find_map(MemberInfo::last)
    }

    /// The member holding frame `(session_id, seq)`, if any member does. Linear in the number
    /// of members (a few thousand per hour of recording), which is cheap next to reading one.
    pub fn find(&self, session_id: &[u8], seq: u64) -> Option<&MemberInfo> {
        self.members.iter().find(|m| m.contains(session_id, seq))
    }

    /// Where to start reading to get every frame of `session_id` with a seq of `seq` or more:
    /// the first member with such a frame. This is the resume point after the server acked
    /// everything below `seq`; it is [`MemberIndex::find`]'s member when that frame exists.
    /// `None` when no member holds such a frame (all of them are acked, or still in the
    /// writer's open member).
    pub fn resume_point(&self, session_id: &[u8], seq: u64) -> Option<&MemberInfo> {
        self.members
            .iter()
            .find(|m| m.sessions.iter().any(|s| s.session_id == session_id && s.last_seq >= seq))
    }

    pub(crate) fn push(&mut self, member: MemberInfo) {
        self.members.push(member);
    }
}

impl<'a> IntoIterator for &'a MemberIndex {
    type Item = &'a MemberInfo;
    type IntoIter = std::slice::Iter<'a, MemberInfo>;

    fn into_iter(self) -> Self::IntoIter {
        self.members.iter()
    }
}

/// Accumulates one member's index entry as its frames go by.
#[derive(Debug, Default)]
pub(crate) struct MemberTally {
    pub raw_len: u64,
    pub frames: u64,
    pub sessions: Vec<SessionSpan>,
}

impl MemberTally {
    /// Counts one frame of `raw_len` bytes (prefix included).
    pub fn add(&mut self, session_id: &[u8], seq: u64, raw_len: u64) {
        self.raw_len += raw_len;
        self.frames += 1;
        match self.sessions.last_mut() {
            Some(span) if span.session_id == session_id => {
                span.last_seq = seq;
                span.frames += 1;
            }
            // The id is copied: a slice of the reader's member buffer would keep the whole
            // buffer alive for as long as the index lives.
            _ => self.sessions.push(SessionSpan {
                session_id: Bytes::copy_from_slice(session_id),
                first_seq: seq,
                last_seq: seq,
                frames: 1,
            }),
        }
    }

    pub fn finish(self, offset: u64, len: u64) -> MemberInfo {
        MemberInfo { offset, len, raw_len: self.raw_len, frames: self.frames, sessions: self.sessions }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(offset: u64, runs: &[(&[u8], u64, u64)]) -> MemberInfo {
        let mut tally = MemberTally::default();
        for &(sid, first, last) in runs {
            for seq in first..=last {
                tally.add(sid, seq, 10);
            }
        }
        tally.finish(offset, 100)
    }

    #[test]
    fn a_session_change_starts_a_new_span() {
        let m = member(0, &[(b"a", 5, 9), (b"b", 0, 2)]);
        assert_eq!(m.frames, 8);
        assert_eq!(m.raw_len, 80);
        assert_eq!(m.sessions.len(), 2);
        assert_eq!(m.first(), Some(FrameId { session_id: Bytes::from_static(b"a"), seq: 5 }));
        assert_eq!(m.last(), Some(FrameId { session_id: Bytes::from_static(b"b"), seq: 2 }));
        assert!(m.contains(b"a", 7) && m.contains(b"b", 0));
        assert!(!m.contains(b"a", 10) && !m.contains(b"c", 0));
    }

    #[test]
    fn find_and_resume_point() {
        let mut index = MemberIndex::new();
        index.push(member(0, &[(b"a", 0, 9)]));
        index.push(member(100, &[(b"a", 10, 19), (b"b", 0, 4)]));
        index.push(member(200, &[(b"b", 5, 20)]));
        assert_eq!(index.frames(), 10 + 10 + 5 + 16);
        assert_eq!(index.end(), 300);
        assert_eq!(index.find(b"a", 15).map(|m| m.offset), Some(100));
        assert_eq!(index.find(b"b", 5).map(|m| m.offset), Some(200));
        assert_eq!(index.find(b"b", 21), None);
        assert_eq!(index.resume_point(b"a", 0).map(|m| m.offset), Some(0));
        assert_eq!(index.resume_point(b"b", 3).map(|m| m.offset), Some(100));
        assert_eq!(index.resume_point(b"a", 20), None);
        assert_eq!(index.last_frame().map(|id| id.seq), Some(20));
    }
}
