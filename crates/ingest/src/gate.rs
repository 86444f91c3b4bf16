//! The ack gate: where acks wait for a replicated store.
//!
//! Alone, the ingest server acks a frame once its write-ahead log is fsync'd: the frame then
//! survives a SIGKILL of the server. When the server is one of several ingest nodes in front of
//! NATS JetStream, that is not enough: a bridge whose node dies reconnects to another node,
//! which knows nothing of the dead node's disk. So a node with a JetStream sink acks a frame
//! only once it is both in the local WAL and acknowledged by JetStream; the frames a dead node
//! acked are then exactly those the stream holds, and any node can tell a bridge where to
//! resume ([`ResumeSource`]).
//!
//! The gate is a per-session "durable up to" map the sink advances after each publish
//! acknowledgement, with a change notification the streams wait on. A stream sends, per session,
//! the lower of what the WAL and the gate say.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use tokio::sync::watch;

use crate::session::SessionId;

/// Answers a `Resume` from the replicated store: the next seq the store expects of a session
/// (0 if it holds none of it).
pub trait ResumeSource: Send + Sync + std::fmt::Debug {
    /// The session's next seq in the store, or why the store could not be asked.
    fn next_seq(&self, session: SessionId) -> Pin<Box<dyn Future<Output = Result<u64, String>> + Send + '_>>;
}

/// The gate; clones share it.
#[derive(Debug, Clone)]
pub struct AckGate {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    /// Per session: every frame with a lower seq is in the replicated store.
    durable: Mutex<HashMap<SessionId, u64>>,
    /// Bumped at every advance.
    changed: watch::Sender<u64>,
    resume: OnceLock<Arc<dyn ResumeSource>>,
}

impl Default for AckGate {
    fn default() -> Self {
        AckGate {
            inner: Arc::new(Inner {
                durable: Mutex::default(),
                changed: watch::channel(0).0,
                resume: OnceLock::new(),
            }),
        }
    }
}

impl AckGate {
    /// An empty gate: nothing is durable yet.
    pub fn new() -> Self {
        AckGate::default()
    }

    /// Records that every frame of `session` below `next_seq` is in the store (a lower value
    /// than the one known is ignored).
    pub fn advance(&self, session: SessionId, next_seq: u64) {
        self.advance_all([(session, next_seq)]);
    }

    /// [`AckGate::advance`] for several sessions, with one notification.
    pub fn advance_all(&self, sessions: impl IntoIterator<Item = (SessionId, u64)>) {
        let mut moved = false;
        {
            let mut map = self.inner.durable.lock().unwrap_or_else(PoisonError::into_inner);
            for (s, n) in sessions {
                let e = map.entry(s).or_insert(0);
                if n > *e {
                    *e = n;
                    moved = true;
                }
            }
        }
        if moved {
            self.inner.changed.send_modify(|v| *v = v.wrapping_add(1));
        }
    }

    /// The session's durable next seq as far as the gate knows (0: nothing yet).
    pub fn next_seq(&self, session: &SessionId) -> u64 {
        self.inner.durable.lock().unwrap_or_else(PoisonError::into_inner).get(session).copied().unwrap_or(0)
    }

    /// A receiver that changes whenever the gate advances.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.inner.changed.subscribe()
    }

    /// Sets where `Resume` is answered from (once; later calls are ignored).
    pub fn set_resume_source(&self, source: Arc<dyn ResumeSource>) {
        let _ = self.inner.resume.set(source);
    }

    /// Where `Resume` is answered from, once the sink has said.
    pub fn resume_source(&self) -> Option<Arc<dyn ResumeSource>> {
        self.inner.resume.get().cloned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gate_only_moves_forward_and_says_so() {
        let gate = AckGate::new();
        let mut rx = gate.subscribe();
        let s = SessionId([7; 16]);
        assert_eq!(gate.next_seq(&s), 0);
        gate.advance(s, 10);
        assert!(rx.has_changed().unwrap());
        rx.borrow_and_update();
        gate.advance(s, 5);
        assert_eq!(gate.next_seq(&s), 10);
        assert!(!rx.has_changed().unwrap(), "going back is no change");
        gate.advance_all([(s, 12), (SessionId([8; 16]), 1)]);
        assert_eq!((gate.next_seq(&s), gate.next_seq(&SessionId([8; 16]))), (12, 1));
    }
}
