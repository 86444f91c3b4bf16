//! The live tap: every frame the server has made durable, for whoever watches live (the
//! dashboard's telemetry page), without ever slowing ingest down.
//!
//! A [`LiveTap`] is a [`tokio::sync::broadcast`] channel of [`LiveFrame`]s. A stream publishes
//! its frames once their batch is **durable** (when the WAL writer answers the batch, right
//! before the stream acks it), not when they are read: what a viewer sees is then exactly what
//! the server stored, never a frame that a crash or a gap refusal would take back, and it costs
//! the viewer only the group commit's few milliseconds.
//!
//! Publishing never blocks and never fails: `broadcast::Sender::send` overwrites the oldest
//! frame when the ring ([`CAPACITY`] frames) is full, and a receiver that fell behind gets
//! `RecvError::Lagged(n)` and goes on from the oldest frame still there. Skipping is the
//! decimation floor: a slow viewer loses frames, ingest never waits for it. When nobody
//! subscribes, streams skip the tap entirely (no clone, no send).
//!
//! A frame's bytes are a slice of its batch's WAL buffer (no copy): the ring holds at most
//! [`CAPACITY`] frames, so it keeps at most the few batches those frames came in alive.
//!
//! A frame a bridge resends after a reconnect (the server already had it) is published again
//! when its new batch is durable; a viewer that cares keeps the last seq per session.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let tap = ingest::live::LiveTap::new();
//! let mut frames = tap.subscribe();
//! tap.publish(ingest::live::LiveFrame { session: [7; 16], seq: 0, raw: bytes::Bytes::new() });
//! assert_eq!(frames.recv().await.unwrap().seq, 0);
//! # }
//! ```

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use tokio::sync::broadcast;

/// Frames the tap's ring holds: at ~1 KB a frame, a few MB; at AC's 333 Hz physics, over
/// 12 s of one car, or half a second of 24.
pub const CAPACITY: usize = 4096;

/// Sessions whose first frame the tap keeps (the latest ones).
pub const FIRST_FRAMES: usize = 1024;

/// One durable frame: its key and the encoded `telemetry.v1.TelemetryFrame` as the bridge sent
/// it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveFrame {
    /// The frame's `session_id`.
    pub session: [u8; 16],
    /// The frame's `seq` within its session.
    pub seq: u64,
    /// The encoded frame (decode it with `proto::telemetry::v1::TelemetryFrame`).
    pub raw: Bytes,
}

/// The server's live frames. Clones share one channel: [`Running::live_tap`] hands one out.
///
/// [`Running::live_tap`]: crate::Running::live_tap
#[derive(Debug, Clone)]
pub struct LiveTap {
    tx: broadcast::Sender<LiveFrame>,
    /// The first frame (seq 0) of the latest sessions, kept whether anyone watches or not: it
    /// alone carries a session's metadata (driver, car, track), which a viewer that starts
    /// later needs.
    firsts: Arc<Mutex<VecDeque<LiveFrame>>>,
}

impl Default for LiveTap {
    fn default() -> LiveTap {
        LiveTap::new()
    }
}

impl LiveTap {
    /// A tap with a ring of [`CAPACITY`] frames.
    pub fn new() -> LiveTap {
        LiveTap::with_capacity(CAPACITY)
    }

    /// A tap with a ring of `capacity` frames (at least 1).
    pub fn with_capacity(capacity: usize) -> LiveTap {
        let (tx, _) = broadcast::channel(capacity.max(1));
        LiveTap { tx, firsts: Arc::default() }
    }

    /// A receiver of the frames published from now on. A receiver that falls more than the
    /// ring behind gets `RecvError::Lagged` with how many it missed, then the oldest kept.
    pub fn subscribe(&self) -> broadcast::Receiver<LiveFrame> {
        self.tx.subscribe()
    }

    /// Whether anyone subscribes: when not, streams do not even collect their frames.
    pub fn is_watched(&self) -> bool {
        self.tx.receiver_count() > 0
    }

    /// Publishes a frame to every subscriber; never waits, and drops it when nobody listens.
    pub fn publish(&self, frame: LiveFrame) {
        if frame.seq == 0 {
            self.keep_first(frame.clone());
        }
        // An error only says that there is no receiver: nothing to do.
        let _ = self.tx.send(frame);
    }

    /// Keeps a session's first frame (seq 0) for viewers that subscribe later, without
    /// broadcasting it: for a feeder that learns it after the session's later frames (the
    /// JetStream reader meeting a session mid-stream). A frame of another seq is ignored.
    pub fn keep_first(&self, frame: LiveFrame) {
        if frame.seq != 0 {
            return;
        }
        let mut firsts = self.firsts.lock().unwrap_or_else(PoisonError::into_inner);
        firsts.retain(|f| f.session != frame.session);
        if firsts.len() == FIRST_FRAMES {
            firsts.pop_front();
        }
        firsts.push_back(frame);
    }

    /// The first frame (seq 0) of each of the latest sessions, oldest first: a viewer that
    /// subscribes after a session started reads its metadata from here.
    pub fn first_frames(&self) -> Vec<LiveFrame> {
        self.firsts.lock().unwrap_or_else(PoisonError::into_inner).iter().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::sync::broadcast::error::TryRecvError;

    fn frame(seq: u64) -> LiveFrame {
        LiveFrame { session: [1; 16], seq, raw: Bytes::new() }
    }

    #[test]
    fn the_first_frame_of_each_session_is_kept_unwatched() {
        let tap = LiveTap::with_capacity(4);
        let of = |session: u8, seq: u64| LiveFrame { session: [session; 16], seq, raw: Bytes::new() };
        for session in 0..3 {
            for seq in 0..5 {
                tap.publish(of(session, seq));
            }
        }
        // A session started again from 0 (a bridge resending) replaces its first frame.
        tap.publish(of(1, 0));
        let kept: Vec<(u8, u64)> = tap.first_frames().iter().map(|f| (f.session[0], f.seq)).collect();
        assert_eq!(kept, [(0, 0), (2, 0), (1, 0)]);
        for session in 0..FIRST_FRAMES {
            tap.publish(LiveFrame {
                session: (session as u128 + 10).to_be_bytes(),
                seq: 0,
                raw: Bytes::new(),
            });
        }
        assert_eq!(tap.first_frames().len(), FIRST_FRAMES, "only the latest sessions");
    }

    #[test]
    fn a_lagging_receiver_skips_and_the_sender_never_waits() {
        let tap = LiveTap::with_capacity(4);
        assert!(!tap.is_watched());
        tap.publish(frame(0));
        let mut rx = tap.subscribe();
        assert!(tap.is_watched());
        for seq in 1..=10 {
            tap.publish(frame(seq));
        }
        assert_eq!(rx.try_recv(), Err(TryRecvError::Lagged(6)));
        let seqs: Vec<u64> = std::iter::from_fn(|| rx.try_recv().ok()).map(|f| f.seq).collect();
        assert_eq!(seqs, [7, 8, 9, 10]);
    }
}
