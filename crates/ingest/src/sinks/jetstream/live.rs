//! Live frames from the stream: every frame that any ingest node published, into a
//! [`LiveTap`], so that the dashboard of any node shows every car, whichever node its bridge
//! streams to (`pitwall serve --sink nats://… --http …`).
//!
//! An ordered consumer (ephemeral, no acks, one replica; the client re-creates it from where it
//! was when it sees a gap) delivers the messages stored from now on, on every session's
//! subject; each frame of each message goes to the tap in stream order, which per session is
//! seq order, each frame once (the stream holds every session as an in-order prefix, see
//! [`super`]). The node's own ingest then does not feed the tap: one source, no frame twice.
//!
//! A session that was already streaming when the reader started has its first frame (seq 0,
//! the only one carrying the driver, car and track) far back in the stream: when the reader
//! meets a session for the first time in the middle, it reads that session's first message and
//! keeps its first frame for viewers ([`LiveTap::keep_first`]), without broadcasting it again.
//!
//! What it costs: this node receives every frame of every car (about 1 KB each), whether
//! anybody watches or not. That is right for a league's handful of dashboards; see
//! docs/jetstream.md for the arithmetic at scale.

use std::collections::HashSet;

use async_nats::jetstream::{self, consumer::pull};
use tokio_stream::StreamExt as _;
use tokio_util::sync::CancellationToken;

use super::{Connection, JetStreamConfig, message};
use crate::error::ErrorChain;
use crate::live::{LiveFrame, LiveTap};
use crate::session::SessionId;
use crate::sinks::SinkError;
use crate::sinks::pipeline::Backoff;

/// Sessions whose first frame the reader remembers having looked for; past this, it forgets
/// them all (a forgotten session only costs one more read of its first message).
const KNOWN_SESSIONS: usize = 16 << 10;

/// What the reader did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LiveReport {
    /// Messages read from the stream.
    pub messages: u64,
    /// Frames published to the tap.
    pub frames: u64,
    /// Sessions met in the middle whose first frame was read back from the stream.
    pub firsts_fetched: u64,
    /// Times the consumer was created again after an error.
    pub resubscribed: u64,
}

/// Feeds `tap` with the stream's new frames until `stop`. Errors of JetStream (down, not yet
/// there) are logged and retried with a backoff; a message that does not decode is logged and
/// skipped (live views are best effort: the sink workers are the ones that must not skip).
pub async fn feed(config: JetStreamConfig, tap: LiveTap, stop: CancellationToken) -> LiveReport {
    let conn = Connection::new(config);
    let backoff = Backoff::default();
    let mut report = LiveReport::default();
    let mut known: HashSet<SessionId> = HashSet::new();
    // Where to start: new messages at first; after an error, right after the last one read.
    let mut next: Option<u64> = None;
    let mut streak = 0u32;
    loop {
        let messages = tokio::select! {
            m = subscribe(&conn, next) => m,
            _ = stop.cancelled() => return report,
        };
        let mut messages = match messages {
            Ok(m) => {
                streak = 0;
                m
            }
            Err(e) => {
                streak = streak.saturating_add(1);
                let delay = backoff.delay(streak);
                tracing::warn!(error = %ErrorChain(&e), retry_in = ?delay, "live frames from JetStream");
                tokio::select! {
                    _ = tokio::time::sleep(delay) => continue,
                    _ = stop.cancelled() => return report,
                }
            }
        };
        loop {
            let msg = tokio::select! {
                m = messages.next() => m,
                _ = stop.cancelled() => return report,
            };
            let msg = match msg {
                Some(Ok(m)) => m,
                Some(Err(e)) => {
                    tracing::warn!(error = %e, "live frames from JetStream: reading; subscribing again");
                    break;
                }
                None => break,
            };
            let Ok(info) = msg.info() else { continue };
            let stream_seq = info.stream_sequence;
            next = Some(stream_seq + 1);
            report.messages += 1;
            let what = format!("{} #{stream_seq}", msg.subject);
            let Some(session) = msg
                .headers
                .as_ref()
                .and_then(|h| h.get(message::HDR_SESSION))
                .and_then(|v| message::parse_session(v.as_str()))
            else {
                tracing::warn!(message = %what, "live frames: a message without its session header, skipped");
                continue;
            };
            let frames = match message::decode_message(&msg.payload, msg.headers.as_ref(), &what) {
                Ok(f) => f,
                Err(e) => {
                    tracing::warn!(error = %ErrorChain(&e), "live frames: a message that does not decode, skipped");
                    continue;
                }
            };
            if known.len() >= KNOWN_SESSIONS {
                known.clear();
            }
            if known.insert(session) && frames.first().is_some_and(|f| f.seq > 0) {
                match first_frame(&conn, &session).await {
                    Ok(Some(first)) => {
                        report.firsts_fetched += 1;
                        tap.keep_first(first);
                    }
                    Ok(None) => {}
                    Err(e) => {
                        tracing::debug!(error = %ErrorChain(&e), %session, "live frames: the session's first frame")
                    }
                }
            }
            for f in frames {
                report.frames += 1;
                tap.publish(LiveFrame { session: session.0, seq: f.seq, raw: f.bytes });
            }
        }
        report.resubscribed += 1;
        tokio::select! {
            _ = tokio::time::sleep(backoff.delay(1)) => {}
            _ = stop.cancelled() => return report,
        }
    }
}

async fn subscribe(conn: &Connection, next: Option<u64>) -> Result<pull::Ordered, SinkError> {
    let (_, stream) = conn.get().await?;
    let config = conn.config();
    let deliver_policy = match next {
        Some(start_sequence) => jetstream::consumer::DeliverPolicy::ByStartSequence { start_sequence },
        None => jetstream::consumer::DeliverPolicy::New,
    };
    let consumer = stream
        .create_consumer(pull::OrderedConfig {
            filter_subject: format!("{}.>", config.subject_prefix),
            deliver_policy,
            ..Default::default()
        })
        .await
        .map_err(|e| conn.error("create the live frames' ordered consumer", e))?;
    let messages = consumer.messages().await.map_err(|e| conn.error("consume live frames", e))?;
    tracing::info!(stream = %config.stream, "live frames from JetStream");
    Ok(messages)
}

/// The frame of seq 0 of `session`, from the first message on its subject (`None` when the
/// stream no longer holds it, or the first message does not start at 0).
async fn first_frame(conn: &Connection, session: &SessionId) -> Result<Option<LiveFrame>, SinkError> {
    let (_, stream) = conn.get().await?;
    let subject = conn.config().subject(session);
    let m = match stream.get_first_raw_message_by_subject(&subject, 1).await {
        Ok(m) => m,
        Err(e) => return Err(conn.error(format!("first message on {subject}"), e)),
    };
    let what = format!("{subject} #{}", m.sequence);
    Ok(message::decode_message(&m.payload, Some(&m.headers), &what)?
        .into_iter()
        .next()
        .filter(|f| f.seq == 0)
        .map(|f| LiveFrame { session: session.0, seq: 0, raw: f.bytes }))
}
