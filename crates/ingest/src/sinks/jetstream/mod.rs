//! The JetStream sink (`type = "jetstream"`): frames published to a NATS JetStream stream, for
//! ingest spread over several nodes (`pitwall serve --sink nats://HOST:PORT[,…]`). Sink workers
//! (`pitwall sink --from nats://…`) then write the Parquet dataset from the stream.
//!
//! ```text
//! stream PITWALL_FRAMES (created if missing), subjects pitwall.frames.>
//!   pitwall.frames.<p>.<session uuid>  one subject per session (a session is one car); p, one
//!                                      hex digit, is the session's partition (see [`partition`])
//!     message: frames first_seq..=last_seq of the session (see `message`), headers
//!              Pitwall-Session, Pitwall-First-Seq, Pitwall-Last-Seq, Pitwall-Frames
//! ```
//!
//! **Acks follow JetStream.** `write` publishes the batch and returns once JetStream has
//! acknowledged every message (a replicated stream acknowledges once a majority of its
//! replicas has the message), so `flush` has nothing left to do. Messages of different sessions
//! are in flight together (pipelined); several frames travel in one message
//! (`frames_per_message`, measured in docs/jetstream.md). When the server builds this sink it
//! also gives it an [`AckGate`]: bridges are then acked only for frames that are both in the WAL
//! and in the stream, and `Resume` is answered from the stream, so a bridge whose node died
//! resumes on any other node from what the stream holds.
//!
//! **No frame twice in the stream, whichever node sends it.** Every publish carries
//! `Nats-Expected-Last-Subject-Sequence`: the stream sequence of the last message on the
//! session's subject, as this sink last saw it. JetStream refuses the message if anything else
//! was stored on that subject since (another node took the session over, or a publish of ours
//! whose ack was lost did land). The sink then reads the subject's last message, whose
//! `Pitwall-Last-Seq` says where the stream's copy of the session ends, drops the frames it
//! already holds and publishes the rest. So a session's messages in the stream are always
//! in seq order and never overlap, however differently two nodes cut their batches; a
//! message-id scheme could not promise that (ids are per message, and a re-sent range cut
//! differently gets different ids). The cost: one message of a session in flight at a time,
//! which is why frames travel many to a message. See docs/jetstream.md.
//!
//! **JetStream unreachable.** `write` fails (connecting, or a publish ack timing out after
//! `timeout_ms`); the pipeline logs it, counts it (`pitwall_ingest_sink_write_failures_total`)
//! and retries with backoff, its checkpoint stays put (the WAL keeps every frame not yet in the
//! stream) and no ack passes the gate. Once JetStream answers again, everything goes out.
//!
//! ```toml
//! [[sinks]]
//! name = "jetstream"
//! type = "jetstream"
//! servers = ["nats://10.0.0.5:4222", "nats://10.0.0.6:4222"]
//! # stream = "PITWALL_FRAMES"
//! # subject_prefix = "pitwall.frames"
//! # replicas = 1                   # 3 for a cluster: the stream survives a node's death
//! # storage = "file"               # or "memory"
//! # retention = "limits"           # or "interest", "work_queue"
//! # max_age_s = 0                  # 0: no limit
//! # max_bytes = 0                  # 0: no limit
//! # duplicate_window_ms = 120000
//! # frames_per_message = 1024
//! # max_message_bytes = 1000000    # before compression; below the server's max_payload (1 MiB by default)
//! # compression = "zstd"           # or "none"
//! # timeout_ms = 5000              # connect, requests, publish acks
//! ```

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, context::PublishErrorKind, stream::LastRawMessageErrorKind};
use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

use super::{Sink, SinkError, WalFrame};
use crate::gate::{AckGate, ResumeSource};
use crate::session::SessionId;

pub mod live;
pub mod message;
pub mod worker;

/// Sessions are spread over this many partitions, a token of their subject, so that sink
/// workers can share the work with one consumer per partition (JetStream 2.9 filters a
/// consumer on one subject pattern, and a session id cannot be matched by part).
pub const PARTITIONS: u8 = 16;

/// The partition of a session: from the last byte of its id, which is random in a UUIDv7.
pub fn partition(session: &SessionId) -> u8 {
    session.0[15] % PARTITIONS
}

/// Name of the stream when the config does not set one.
pub const DEFAULT_STREAM: &str = "PITWALL_FRAMES";
/// Subject prefix when the config does not set one.
pub const DEFAULT_SUBJECT_PREFIX: &str = "pitwall.frames";

/// `type = "jetstream"` settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct JetStreamConfig {
    /// NATS servers (`nats://HOST:PORT`); the client connects to one and fails over to the
    /// others.
    pub servers: Vec<String>,
    /// The stream's name.
    pub stream: String,
    /// Subjects are `<subject_prefix>.<session uuid>`; the stream takes `<subject_prefix>.>`.
    pub subject_prefix: String,
    /// Replicas of the stream when this sink creates it (1, 3 or 5 in a cluster).
    pub replicas: usize,
    /// Storage of the stream when this sink creates it.
    pub storage: Storage,
    /// Retention of the stream when this sink creates it.
    pub retention: Retention,
    /// Oldest message the stream keeps, seconds (0: no limit).
    pub max_age_s: u64,
    /// Largest the stream grows before dropping its oldest messages, bytes (0: no limit).
    pub max_bytes: u64,
    /// JetStream's de-duplication window, ms (the server's default is 2 minutes).
    pub duplicate_window_ms: u64,
    /// Most frames in one message.
    pub frames_per_message: usize,
    /// Most payload bytes in one message before compression (a frame larger than this travels
    /// alone). Compression never makes a payload larger (one that does not shrink travels
    /// plain), so below the server's `max_payload` here is below it on the wire too.
    pub max_message_bytes: usize,
    /// How each message's payload is compressed.
    pub compression: MessageCompression,
    /// Connect, request and publish-ack timeout, ms.
    pub timeout_ms: u64,
}

impl Default for JetStreamConfig {
    fn default() -> Self {
        JetStreamConfig {
            servers: Vec::new(),
            stream: DEFAULT_STREAM.into(),
            subject_prefix: DEFAULT_SUBJECT_PREFIX.into(),
            replicas: 1,
            storage: Storage::File,
            retention: Retention::Limits,
            max_age_s: 0,
            max_bytes: 0,
            duplicate_window_ms: 120_000,
            frames_per_message: 1024,
            max_message_bytes: 1_000_000,
            compression: MessageCompression::Zstd,
            timeout_ms: 5_000,
        }
    }
}

/// Where the stream keeps its messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Storage {
    /// Files (survive a restart of the server).
    File,
    /// Memory only (replicas are then the only durability).
    Memory,
}

/// How a message's payload is compressed (measured in docs/jetstream.md, "Figures").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MessageCompression {
    /// Plain frames.
    None,
    /// The frames in columns, as one zstd frame (level 1), header
    /// `Pitwall-Encoding: zstd-columns` (see [`crate::message`]).
    Zstd,
}

/// When the stream drops messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Retention {
    /// At the limits (`max_age_s`, `max_bytes`): several readers (sink workers, live views)
    /// each read everything.
    Limits,
    /// Once every consumer has acknowledged a message.
    Interest,
    /// Once one consumer has acknowledged it (one group of sink workers, nothing else).
    WorkQueue,
}

impl JetStreamConfig {
    /// A config for these servers, the rest default.
    pub fn new(servers: Vec<String>) -> Self {
        JetStreamConfig { servers, ..Default::default() }
    }

    /// Parses `nats://HOST:PORT[,nats://HOST:PORT…]` (the `--sink` value) into servers.
    pub fn servers_from_url(url: &str) -> Result<Vec<String>, String> {
        let servers: Vec<String> =
            url.split(',').map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect();
        if servers.is_empty() {
            return Err(format!("{url:?}: no server"));
        }
        for s in &servers {
            let rest = s
                .strip_prefix("nats://")
                .ok_or_else(|| format!("{s:?}: a NATS server is nats://HOST:PORT"))?;
            if rest.is_empty() || rest.contains('/') {
                return Err(format!("{s:?}: a NATS server is nats://HOST:PORT"));
            }
        }
        Ok(servers)
    }

    /// The subject of a session's messages: `<prefix>.<partition>.<session uuid>`.
    pub fn subject(&self, session: &SessionId) -> String {
        format!("{}.{:x}.{session}", self.subject_prefix, partition(session))
    }

    /// The subjects of one partition (a sink worker's consumer filter).
    pub fn partition_subjects(&self, partition: u8) -> String {
        format!("{}.{partition:x}.>", self.subject_prefix)
    }

    /// Checks what the numeric ranges of [`super::SinkConfig::validate`] cannot.
    pub(crate) fn check(&self) -> Result<(), String> {
        if self.servers.is_empty() {
            return Err("servers: at least one nats://HOST:PORT".into());
        }
        for s in &self.servers {
            Self::servers_from_url(s)?;
        }
        let token_ok = |t: &str| !t.is_empty() && !t.contains(['*', '>', ' ', '\t', '\r', '\n']);
        if !self.subject_prefix.split('.').all(token_ok) {
            return Err(format!(
                "subject_prefix {:?}: dot-separated tokens without * > or spaces",
                self.subject_prefix
            ));
        }
        if self.stream.is_empty() || self.stream.contains(['.', '*', '>', ' ', '/', '\\']) {
            return Err(format!("stream {:?}: a name without . * > / \\ or spaces", self.stream));
        }
        Ok(())
    }

    fn timeout(&self) -> Duration {
        Duration::from_millis(self.timeout_ms.max(1))
    }

    fn stream_config(&self) -> jetstream::stream::Config {
        jetstream::stream::Config {
            name: self.stream.clone(),
            subjects: vec![format!("{}.>", self.subject_prefix)],
            num_replicas: self.replicas,
            storage: match self.storage {
                Storage::File => jetstream::stream::StorageType::File,
                Storage::Memory => jetstream::stream::StorageType::Memory,
            },
            retention: match self.retention {
                Retention::Limits => jetstream::stream::RetentionPolicy::Limits,
                Retention::Interest => jetstream::stream::RetentionPolicy::Interest,
                Retention::WorkQueue => jetstream::stream::RetentionPolicy::WorkQueue,
            },
            max_age: Duration::from_secs(self.max_age_s),
            max_bytes: if self.max_bytes == 0 {
                -1
            } else {
                i64::try_from(self.max_bytes).unwrap_or(i64::MAX)
            },
            duplicate_window: Duration::from_millis(self.duplicate_window_ms),
            ..Default::default()
        }
    }
}

/// A connection to JetStream, made on first use (so a server that starts while JetStream is
/// down starts anyway, and its sink retries) and kept; the client reconnects by itself.
#[derive(Debug)]
pub struct Connection {
    config: JetStreamConfig,
    ready: Mutex<Option<(jetstream::Context, jetstream::stream::Stream)>>,
}

impl Connection {
    /// A connection that will connect to `config.servers` when first used.
    pub fn new(config: JetStreamConfig) -> Self {
        Connection { config, ready: Mutex::new(None) }
    }

    /// The settings it connects with.
    pub fn config(&self) -> &JetStreamConfig {
        &self.config
    }

    pub(crate) fn error(
        &self,
        what: impl Into<String>,
        e: impl std::error::Error + Send + Sync + 'static,
    ) -> SinkError {
        SinkError::JetStream {
            servers: self.config.servers.join(","),
            what: what.into(),
            source: Box::new(e),
        }
    }

    /// The JetStream context and the stream (created if missing), connecting first if needed.
    pub async fn get(&self) -> Result<(jetstream::Context, jetstream::stream::Stream), SinkError> {
        let mut ready = self.ready.lock().await;
        if let Some(r) = ready.as_ref() {
            return Ok(r.clone());
        }
        let c = &self.config;
        let client = async_nats::ConnectOptions::new()
            .name("pitwall")
            .connection_timeout(c.timeout())
            .request_timeout(Some(c.timeout()))
            .connect(c.servers.as_slice())
            .await
            .map_err(|e| self.error("connect", e))?;
        let context =
            jetstream::ContextBuilder::new().timeout(c.timeout()).ack_timeout(c.timeout()).build(client);
        let stream = context
            .get_or_create_stream(c.stream_config())
            .await
            .map_err(|e| self.error(format!("create or find stream {}", c.stream), e))?;
        tracing::info!(servers = %c.servers.join(","), stream = %c.stream, "connected to JetStream");
        *ready = Some((context.clone(), stream.clone()));
        Ok((context, stream))
    }

    /// Where the stream's copy of `session` ends: the stream sequence of the last message on its
    /// subject and the seq after that message's last frame; `(0, 0)` if it has none.
    pub async fn tail(&self, session: &SessionId) -> Result<Tail, SinkError> {
        let (_, stream) = self.get().await?;
        let subject = self.config.subject(session);
        match stream.get_last_raw_message_by_subject(&subject).await {
            Ok(m) => {
                let last = m
                    .headers
                    .get(message::HDR_LAST_SEQ)
                    .and_then(|v| v.as_str().parse::<u64>().ok())
                    .ok_or_else(|| {
                        SinkError::other(format!(
                            "JetStream message {} on {subject} has no {} header",
                            m.sequence,
                            message::HDR_LAST_SEQ
                        ))
                    })?;
                Ok(Tail { subject_seq: m.sequence, next_seq: last + 1 })
            }
            Err(e) if e.kind() == LastRawMessageErrorKind::NoMessageFound => Ok(Tail::default()),
            Err(e) => Err(self.error(format!("read the last message on {subject}"), e)),
        }
    }
}

/// A message read back from the stream.
#[derive(Debug, Clone)]
pub struct StoredMessage {
    /// Its stream sequence.
    pub stream_seq: u64,
    /// Its session (from the header).
    pub session: SessionId,
    /// Its frames.
    pub frames: Vec<message::MessageFrame>,
}

impl Connection {
    /// Every message the stream holds, in stream order, one request each: for tests and checks
    /// of small streams, not for reading a production stream (sink workers use a consumer).
    pub async fn read_all(&self) -> Result<Vec<StoredMessage>, SinkError> {
        let (_, mut stream) = self.get().await?;
        let name = self.config.stream.clone();
        let state =
            stream.info().await.map_err(|e| self.error(format!("info of stream {name}"), e))?.state.clone();
        let mut out = Vec::new();
        if state.messages == 0 {
            return Ok(out);
        }
        for seq in state.first_sequence..=state.last_sequence {
            let m = stream
                .get_raw_message(seq)
                .await
                .map_err(|e| self.error(format!("read message {seq} of stream {name}"), e))?;
            let what = format!("{} #{seq}", m.subject);
            let session = m
                .headers
                .get(message::HDR_SESSION)
                .and_then(|v| message::parse_session(v.as_str()))
                .ok_or_else(|| {
                    SinkError::other(format!("JetStream message {what}: no {} header", message::HDR_SESSION))
                })?;
            out.push(StoredMessage {
                stream_seq: seq,
                session,
                frames: message::decode_message(&m.payload, Some(&m.headers), &what)?,
            });
        }
        Ok(out)
    }
}

/// Where the stream's copy of a session ends.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tail {
    /// Stream sequence of the last message on the session's subject (0: none).
    pub subject_seq: u64,
    /// Every frame of the session below this seq is in the stream.
    pub next_seq: u64,
}

/// `Resume` answered from the stream.
#[derive(Debug)]
struct StreamResume(Arc<Connection>);

impl ResumeSource for StreamResume {
    fn next_seq(
        &self,
        session: SessionId,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<u64, String>> + Send + '_>> {
        Box::pin(async move {
            self.0.tail(&session).await.map(|t| t.next_seq).map_err(|e| crate::ErrorChain(&e).to_string())
        })
    }
}

/// Counters of a [`JetStreamSink`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JetStreamCounts {
    /// Messages JetStream acknowledged.
    pub messages: u64,
    /// Frames in them.
    pub frames: u64,
    /// Frames not sent because the stream already held them.
    pub skipped: u64,
    /// Publishes refused because the subject had moved on (another writer, or a lost ack).
    pub conflicts: u64,
}

/// The JetStream sink.
#[derive(Debug)]
pub struct JetStreamSink {
    conn: Arc<Connection>,
    gate: Option<AckGate>,
    /// Sessions whose tail in the stream this sink knows (learnt on first use, then kept up to
    /// date by its own publishes).
    tails: HashMap<SessionId, Tail>,
    counts: JetStreamCounts,
}

/// Publishes in a row that may meet a moved subject before the write gives up (each one means
/// another writer stored more of the session meanwhile, which cannot go on for long).
const MAX_CONFLICTS_PER_WRITE: u32 = 16;

impl JetStreamSink {
    /// A sink publishing to the servers of `config`; it connects on its first write. With a
    /// `gate`, it advances the gate after each acknowledged publish and answers `Resume`
    /// through it.
    pub fn new(config: &JetStreamConfig, gate: Option<AckGate>) -> Self {
        let conn = Arc::new(Connection::new(config.clone()));
        if let Some(g) = &gate {
            g.set_resume_source(Arc::new(StreamResume(Arc::clone(&conn))));
        }
        JetStreamSink { conn, gate, tails: HashMap::new(), counts: JetStreamCounts::default() }
    }

    /// What it has done so far.
    pub fn counts(&self) -> JetStreamCounts {
        self.counts
    }

    async fn tail(&mut self, session: SessionId) -> Result<Tail, SinkError> {
        if let Some(t) = self.tails.get(&session) {
            return Ok(*t);
        }
        let t = self.conn.tail(&session).await?;
        self.tails.insert(session, t);
        Ok(t)
    }

    /// Cuts one session's frames into messages.
    fn cut<'a>(&self, frames: &'a [WalFrame]) -> Vec<&'a [WalFrame]> {
        let c = self.conn.config();
        let (max_frames, max_bytes) = (c.frames_per_message.max(1), c.max_message_bytes.max(1));
        let mut out = Vec::new();
        let mut start = 0;
        let mut bytes = 0;
        for (i, f) in frames.iter().enumerate() {
            let len = message::frame_len(f);
            if i > start && (i - start >= max_frames || bytes + len > max_bytes) {
                out.push(&frames[start..i]);
                start = i;
                bytes = 0;
            }
            bytes += len;
        }
        if start < frames.len() {
            out.push(&frames[start..]);
        }
        out
    }
}

/// One session's share of a write.
struct Pending {
    session: SessionId,
    subject: String,
    frames: Vec<WalFrame>,
}

impl Sink for JetStreamSink {
    async fn write(&mut self, batch: &[WalFrame]) -> Result<(), SinkError> {
        if batch.is_empty() {
            return Ok(());
        }
        let (context, _) = self.conn.get().await?;
        // Per session, in the batch's (seq) order.
        let mut order: Vec<Pending> = Vec::new();
        let mut index: HashMap<SessionId, usize> = HashMap::new();
        for f in batch {
            let i = *index.entry(f.session_id).or_insert_with(|| {
                order.push(Pending {
                    session: f.session_id,
                    subject: self.conn.config().subject(&f.session_id),
                    frames: Vec::new(),
                });
                order.len() - 1
            });
            order[i].frames.push(f.clone());
        }
        let mut conflicts = 0u32;
        let result = loop {
            // Drop what the stream already holds.
            for p in &mut order {
                let tail = self.tail(p.session).await?;
                let before = p.frames.len();
                p.frames.retain(|f| f.seq >= tail.next_seq);
                self.counts.skipped += (before - p.frames.len()) as u64;
            }
            order.retain(|p| !p.frames.is_empty());
            if order.is_empty() {
                break Ok(());
            }
            match self.publish_rounds(&context, &mut order).await {
                Ok(()) => break Ok(()),
                Err(Publish::Moved(session)) => {
                    // Someone else stored more of this session: learn where it ends now.
                    self.counts.conflicts += 1;
                    conflicts += 1;
                    self.tails.remove(&session);
                    if conflicts > MAX_CONFLICTS_PER_WRITE {
                        break Err(SinkError::other(format!(
                            "JetStream subject {} kept moving under this sink ({conflicts} refused publishes)",
                            self.conn.config().subject(&session)
                        )));
                    }
                }
                Err(Publish::Failed(session, e)) => {
                    // Whether the failed message landed is unknown: ask again before the retry.
                    self.tails.remove(&session);
                    break Err(e);
                }
            }
        };
        if let Some(gate) = &self.gate {
            gate.advance_all(self.tails.iter().map(|(s, t)| (*s, t.next_seq)));
        }
        result
    }

    async fn flush(&mut self) -> Result<(), SinkError> {
        // Every write returned only once JetStream had acknowledged it.
        Ok(())
    }
}

enum Publish {
    /// The session's subject moved on (expected-last-subject-sequence refused).
    Moved(SessionId),
    /// Anything else.
    Failed(SessionId, SinkError),
}

impl JetStreamSink {
    /// Publishes every session's messages: per round, the next message of each session (all in
    /// flight together), then their acks. Frames acknowledged leave `order`.
    async fn publish_rounds(
        &mut self,
        context: &jetstream::Context,
        order: &mut Vec<Pending>,
    ) -> Result<(), Publish> {
        loop {
            order.retain(|p| !p.frames.is_empty());
            if order.is_empty() {
                return Ok(());
            }
            let mut inflight = Vec::with_capacity(order.len());
            for (i, p) in order.iter().enumerate() {
                let Some(chunk) = self.cut(&p.frames).first().map(|c| c.len()) else { continue };
                let frames = &p.frames[..chunk];
                let tail = self.tails.get(&p.session).copied().unwrap_or_default();
                let (first, last) = (frames[0].seq, frames[chunk - 1].seq);
                let compress = self.conn.config().compression == MessageCompression::Zstd;
                let (payload, encoding) = message::encode(frames, compress);
                let mut publish = jetstream::message::PublishMessage::build()
                    .payload(payload)
                    .header(message::HDR_SESSION, p.session.to_string())
                    .header(message::HDR_FIRST_SEQ, first.to_string())
                    .header(message::HDR_LAST_SEQ, last.to_string())
                    .header(message::HDR_FRAMES, chunk.to_string())
                    .expected_last_subject_sequence(tail.subject_seq);
                if let Some(encoding) = encoding {
                    publish = publish.header(message::HDR_ENCODING, encoding);
                }
                let fut = context.send_publish(p.subject.clone(), publish).await.map_err(|e| {
                    Publish::Failed(p.session, self.conn.error(format!("publish to {}", p.subject), e))
                })?;
                inflight.push((i, chunk, last, fut));
            }
            let mut moved = None;
            let mut failed = None;
            for (i, chunk, last, fut) in inflight {
                let p = &mut order[i];
                match fut.await {
                    Ok(ack) => {
                        self.tails.insert(p.session, Tail { subject_seq: ack.sequence, next_seq: last + 1 });
                        p.frames.drain(..chunk);
                        self.counts.messages += 1;
                        self.counts.frames += chunk as u64;
                    }
                    Err(e) if e.kind() == PublishErrorKind::WrongLastSequence => {
                        moved = moved.or(Some(p.session))
                    }
                    Err(e) => {
                        if failed.is_none() {
                            failed =
                                Some((p.session, self.conn.error(format!("publish to {}", p.subject), e)));
                        }
                    }
                }
            }
            if let Some((s, e)) = failed {
                return Err(Publish::Failed(s, e));
            }
            if let Some(s) = moved {
                return Err(Publish::Moved(s));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sink_urls_parse_and_bad_ones_say_why() {
        assert_eq!(
            JetStreamConfig::servers_from_url("nats://a:4222, nats://b:4223").unwrap(),
            ["nats://a:4222", "nats://b:4223"]
        );
        assert!(JetStreamConfig::servers_from_url("").unwrap_err().contains("no server"));
        assert!(JetStreamConfig::servers_from_url("http://a:1").unwrap_err().contains("nats://HOST:PORT"));
        let mut c = JetStreamConfig::new(vec!["nats://127.0.0.1:4222".into()]);
        c.check().unwrap();
        assert_eq!(
            c.subject(&SessionId([0xab; 16])),
            "pitwall.frames.b.abababab-abab-abab-abab-abababababab"
        );
        assert_eq!(c.partition_subjects(11), "pitwall.frames.b.>");
        c.subject_prefix = "a.*".into();
        assert!(c.check().is_err());
    }
}
