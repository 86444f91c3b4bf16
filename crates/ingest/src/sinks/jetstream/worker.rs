//! Sink workers: frames from the JetStream stream into a sink (the Parquet dataset, or
//! recordings), the other half of ingest over several nodes (`pitwall sink --from nats://…`).
//!
//! A worker owns a share of the stream's partitions ([`super::PARTITIONS`], a token of every
//! subject): partition `p` belongs to worker `k` of `m` when `p % m == k`. For each partition it
//! has a durable pull consumer (`<name>-p<p>`, filtered on the partition's subjects, explicit
//! acks), so workers with disjoint shares never see each other's sessions and can write one
//! dataset side by side (the Parquet sink opened with a scope leaves other workers' files alone).
//!
//! **Acks after the file is durable.** Messages are written into the sink as they come and
//! acknowledged to JetStream only after the sink's next `flush` returned, i.e. once their rows
//! are in finished, fsync'd part files recorded in the catalogue. A worker killed mid-batch
//! leaves them unacknowledged; they are delivered again.
//!
//! **Nothing twice, in order.** On start (and after a failure that cost the sink its buffered
//! rows) each consumer is re-created to deliver from its acknowledgement floor onwards, in
//! stream order; the stream holds every session as an in-order prefix (see [`super`]), so each
//! session's frames arrive in seq order, and those the dataset holds already are skipped by the
//! sink (it knows each session's stored seqs from its files). Re-creating the consumer, rather
//! than waiting for JetStream's redelivery timer, is what keeps the order: redeliveries after
//! `ack_wait` would come after newer messages.
//!
//! A message can still come early: a worker that vanished without closing its connection (a
//! network partition, or a crash the kernel has not yet noticed) may keep pulling for a while
//! and hold messages until JetStream's `ack_wait` gives them back. So a message whose first
//! frame is beyond the seq the sink expects of its session is not written: it is handed back
//! (NAK with a delay) until the frames before it have come.
//!
//! One share must be run by one worker at a time: two workers with the same share would split
//! its messages between them and write the same sessions.

use std::time::Duration;

use async_nats::jetstream::{self, consumer::pull, context::ConsumerInfoErrorKind};
use bytes::Bytes;
use tokio::time::Instant;
use tokio_stream::{StreamExt as _, StreamMap};
use tokio_util::sync::CancellationToken;

use super::{Connection, JetStreamConfig, PARTITIONS, message};
use crate::error::ErrorChain;
use crate::sinks::pipeline::{Backoff, Retried, flush_with_retry, write_with_retry};
use crate::sinks::{Sink, SinkError, WalFrame, WalPosition};
use crate::stats::Stats;

/// A worker's settings.
#[derive(Debug, Clone)]
pub struct WorkerConfig {
    /// The stream to read (created if missing, with these settings).
    pub jetstream: JetStreamConfig,
    /// Prefix of the durable consumers' names; workers writing the same output share it.
    pub name: String,
    /// This worker's share: `(k, m)`, worker `k` (0-based) of `m`.
    pub share: (u8, u8),
    /// How often the sink is flushed and the messages written since acknowledged.
    pub flush_interval: Duration,
    /// Flush early once this many frames were written since the last flush.
    pub flush_frames: usize,
    /// JetStream's redelivery timer for a message not acknowledged (a worker that vanished
    /// without closing its connection: see the module docs).
    pub ack_wait: Duration,
}

impl WorkerConfig {
    /// Defaults: consumer prefix `pitwall-parquet`, all partitions, a flush every 5 s or 256 Ki
    /// frames.
    pub fn new(jetstream: JetStreamConfig) -> Self {
        WorkerConfig {
            jetstream,
            name: "pitwall-parquet".into(),
            share: (0, 1),
            flush_interval: Duration::from_secs(5),
            flush_frames: 256 << 10,
            ack_wait: Duration::from_secs(60),
        }
    }

    /// The partitions of this worker's share.
    pub fn partitions(&self) -> Vec<u8> {
        let (k, m) = (self.share.0, self.share.1.max(1));
        (0..PARTITIONS).filter(|p| p % m == k).collect()
    }

    /// Whether a session belongs to this worker's share.
    pub fn owns(&self, session: &crate::SessionId) -> bool {
        self.partitions().contains(&super::partition(session))
    }

    fn consumer_name(&self, p: u8) -> String {
        format!("{}-p{p}", self.name)
    }
}

/// What a worker did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WorkerReport {
    /// Messages acknowledged to JetStream after a flush.
    pub messages: u64,
    /// Frames handed to the sink (frames it already held are skipped by the sink).
    pub frames: u64,
    /// Times the consumers were re-created after the sink lost its buffered rows.
    pub restarts: u64,
    /// Messages held back because they came before earlier frames of their session.
    pub held: u64,
    /// Messages delivered more than once (JetStream's timer, or a hold).
    pub redelivered: u64,
}

/// Deliveries of a message ahead of its session before it is written anyway (the frames it
/// waits for are then presumed gone from the stream, e.g. by its age limit).
const MAX_HOLDS: i64 = 30;
/// Messages a consumer's pull asks for at once.
const PULL_BATCH: usize = 8;
/// How long a message held back waits before JetStream delivers it again.
const HOLD_DELAY: Duration = Duration::from_millis(500);

/// Runs a worker until `stop`: then it flushes, acknowledges and returns. Errors only for what
/// retrying cannot fix (a message that does not decode, JetStream refusing the consumer).
pub async fn run<S: Sink>(
    config: WorkerConfig,
    mut sink: S,
    stop: CancellationToken,
) -> Result<WorkerReport, SinkError> {
    let conn = Connection::new(config.jetstream.clone());
    let stats = Stats::default();
    let backoff = Backoff::default();
    let mut report = WorkerReport::default();
    let mut streak = 0u32;
    let never = CancellationToken::new();
    'consume: loop {
        let mut streams = loop {
            match subscribe(&conn, &config).await {
                Ok(s) => break s,
                Err(e) => {
                    streak = streak.saturating_add(1);
                    let delay = backoff.delay(streak);
                    tracing::warn!(error = %ErrorChain(&e), retry_in = ?delay, "sink worker: JetStream consumers");
                    tokio::select! {
                        _ = tokio::time::sleep(delay) => {}
                        _ = stop.cancelled() => return Ok(report),
                    }
                }
            }
        };
        let mut pending: Vec<jetstream::message::Acker> = Vec::new();
        let mut since_flush = 0usize;
        let mut last_flush = Instant::now();
        loop {
            let due = last_flush + config.flush_interval;
            let stopping = stop.is_cancelled();
            let flush_now = !pending.is_empty()
                && (stopping || since_flush >= config.flush_frames || Instant::now() >= due);
            if flush_now {
                match flush_with_retry(&mut sink, "worker", backoff, &mut streak, &never, &stats).await {
                    Retried::Done(_) => {
                        streak = 0;
                        for acker in pending.drain(..) {
                            // A lost ack only means the message comes again, and is skipped.
                            if let Err(e) = acker.ack().await {
                                tracing::warn!(error = %e, "sink worker: acknowledging a message");
                            } else {
                                report.messages += 1;
                            }
                        }
                        since_flush = 0;
                        last_flush = Instant::now();
                    }
                    Retried::Redeliver | Retried::Aborted => {
                        report.restarts += 1;
                        continue 'consume;
                    }
                }
            }
            if stopping {
                return Ok(report);
            }
            let next = tokio::select! {
                m = streams.next() => m,
                _ = tokio::time::sleep_until(due), if !pending.is_empty() => continue,
                _ = stop.cancelled() => continue,
            };
            let Some((p, msg)) = next else {
                // Every partition's stream ended (the client gave up): subscribe again.
                continue 'consume;
            };
            let msg = match msg {
                Ok(m) => m,
                Err(e) => {
                    tracing::warn!(partition = p, error = %e, "sink worker: reading the stream; subscribing again");
                    tokio::time::sleep(backoff.delay(1)).await;
                    continue 'consume;
                }
            };
            let stream_seq = msg
                .info()
                .map_err(|e| SinkError::other(format!("JetStream message info: {e}")))?
                .stream_sequence;
            let delivered = msg.info().map(|i| i.delivered).unwrap_or(1);
            if delivered > 1 {
                report.redelivered += 1;
            }
            let (msg, acker) = msg.split();
            let frames = frames_of(&msg.subject, msg.headers.as_ref(), &msg.payload, stream_seq)?;
            if let Some(first) = frames.first() {
                let expected = sink.next_seq(&first.session_id);
                if let Some(next) = expected.filter(|n| first.seq > *n) {
                    if delivered < MAX_HOLDS {
                        // Frames before this message are still out (held by a worker that
                        // vanished, until JetStream's timer gives them back): writing this one
                        // now would make the sink skip them later. It comes back after them.
                        report.held += 1;
                        tracing::debug!(session = %first.session_id, seq = first.seq, expected = next, "sink worker: message ahead of its session, held back");
                        let _ = acker.ack_with(jetstream::AckKind::Nak(Some(HOLD_DELAY))).await;
                        continue;
                    }
                    tracing::error!(session = %first.session_id, seq = first.seq, expected = next, delivered,
                        "sink worker: the frames before this message never came (gone from the stream?); writing it anyway");
                }
            }
            match write_with_retry(&mut sink, "worker", &frames, backoff, &mut streak, &never, &stats).await {
                Retried::Done(_) => {}
                Retried::Redeliver | Retried::Aborted => {
                    report.restarts += 1;
                    continue 'consume;
                }
            }
            report.frames += frames.len() as u64;
            since_flush += frames.len();
            pending.push(acker);
        }
    }
}

/// The frames of one message as the sink takes them. Their positions are the stream sequence
/// (as the segment) and the byte offset in the message: in stream order, as the sink expects
/// of WAL positions, and what the Parquet footers and catalogue then record as `wal_end`.
fn frames_of(
    subject: &str,
    headers: Option<&async_nats::HeaderMap>,
    payload: &Bytes,
    stream_seq: u64,
) -> Result<Vec<WalFrame>, SinkError> {
    let what = format!("{subject} #{stream_seq}");
    let session = headers
        .and_then(|h| h.get(message::HDR_SESSION))
        .and_then(|v| message::parse_session(v.as_str()))
        .ok_or_else(|| {
            SinkError::other(format!("JetStream message {what}: no {} header", message::HDR_SESSION))
        })?;
    let mut offset = 0u64;
    let mut out = Vec::new();
    for f in message::decode_message(payload, headers, &what)? {
        let position = WalPosition { segment: stream_seq, offset };
        offset += crate::wal::format::frame_record_len(f.bytes.len()) as u64;
        out.push(WalFrame { position, session_id: session, seq: f.seq, bytes: f.bytes });
    }
    Ok(out)
}

/// One durable consumer per partition of the share, each re-created to deliver from its
/// acknowledgement floor on (see the module docs), merged into one stream of messages. The
/// partitions are set up together: on a replicated stream each consumer's deletion and creation
/// goes through the cluster's consensus, and one after the other they took seconds.
async fn subscribe(
    conn: &Connection,
    config: &WorkerConfig,
) -> Result<StreamMap<u8, pull::Stream>, SinkError> {
    let (_, stream) = conn.get().await?;
    let mut set = tokio::task::JoinSet::new();
    for p in config.partitions() {
        let consumer = PartitionConsumer {
            stream: stream.clone(),
            servers: conn.config().servers.join(","),
            name: config.consumer_name(p),
            filter: config.jetstream.partition_subjects(p),
            // Well beyond a flush: the timer only brings back what a vanished worker held.
            ack_wait: config.ack_wait.max(config.flush_interval * 3),
        };
        set.spawn(async move { (p, consumer.open().await) });
    }
    let mut map = StreamMap::new();
    while let Some(done) = set.join_next().await {
        let (p, messages) = done.map_err(|e| SinkError::other(format!("setting up a consumer: {e}")))?;
        map.insert(p, messages?);
    }
    tracing::info!(partitions = ?config.partitions(), consumer = %config.name, "sink worker consuming");
    Ok(map)
}

/// What setting up one partition's consumer takes (owned: it runs as a task of its own).
struct PartitionConsumer {
    stream: jetstream::stream::Stream,
    servers: String,
    name: String,
    filter: String,
    ack_wait: Duration,
}

impl PartitionConsumer {
    fn error(&self, what: String, e: impl std::error::Error + Send + Sync + 'static) -> SinkError {
        SinkError::JetStream { servers: self.servers.clone(), what, source: Box::new(e) }
    }

    async fn open(self) -> Result<pull::Stream, SinkError> {
        let name = &self.name;
        let floor = match self.stream.consumer_info(name).await {
            Ok(info) => Some(info.ack_floor.stream_sequence),
            Err(e) if e.kind() == ConsumerInfoErrorKind::NotFound => None,
            Err(e) => return Err(self.error(format!("consumer {name}"), e)),
        };
        if floor.is_some() {
            self.stream
                .delete_consumer(name)
                .await
                .map_err(|e| self.error(format!("delete consumer {name}"), e))?;
        }
        let deliver_policy = match floor {
            Some(f) if f > 0 => jetstream::consumer::DeliverPolicy::ByStartSequence { start_sequence: f + 1 },
            _ => jetstream::consumer::DeliverPolicy::All,
        };
        let consumer = self
            .stream
            .create_consumer(pull::Config {
                durable_name: Some(name.clone()),
                filter_subject: self.filter.clone(),
                deliver_policy,
                ack_policy: jetstream::consumer::AckPolicy::Explicit,
                ack_wait: self.ack_wait,
                max_ack_pending: 100_000,
                ..Default::default()
            })
            .await
            .map_err(|e| self.error(format!("create consumer {name}"), e))?;
        // A few messages per pull: each holds up to `max_message_bytes`, and a message waiting
        // in the client's buffer still runs down its `ack_wait`.
        consumer
            .stream()
            .max_messages_per_batch(PULL_BATCH)
            .heartbeat(Duration::from_secs(5))
            .expires(Duration::from_secs(10))
            .messages()
            .await
            .map_err(|e| self.error(format!("consume {name}"), e))
    }
}
