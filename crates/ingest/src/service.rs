//! The gRPC service: `StreamFrames` (frames in, acks out) and `Resume`.
//!
//! The codec decodes each frame once and validates it right there; one task per stream collects
//! whatever frames are ready (up to a batch), frames the valid ones as WAL records and hands the
//! batch to the WAL writer; up to a few batches per stream are in flight. When a batch's group
//! commit is durable, the writer answers with each session's durable next_seq, and the stream
//! sends one cumulative ack per session for all the batches that became durable together. Acks
//! are never sent on receipt. An invalid frame stops the reading; the frames before it are still
//! stored and acked, then the call ends with INVALID_ARGUMENT.
//!
//! Limits: at most `max_streams` calls are open at once (one more is refused with
//! RESOURCE_EXHAUSTED, naming the setting); a frame over `max_frame_bytes` ends its call with
//! OUT_OF_RANGE, naming the limit (tonic refuses it from its length prefix, before buffering
//! it); and with `max_frames_per_second` a stream over its rate is not read until it is within
//! it again. That last one is backpressure, not refusal: the protocol is loss-free and a bridge
//! resends whatever was not acked, so cutting a fast stream would only make it send everything
//! again; not reading lets HTTP/2 flow control slow it down instead.
//!
//! `StreamFrames` is served through a hand-written route with its own codec ([`FrameCodec`])
//! rather than the generated one: the codec keeps each message's raw bytes next to the decoded
//! frame, so the WAL stores exactly what the bridge sent without re-encoding ~100 fields per
//! frame (the bytes are a zero-copy slice of tonic's buffer). `Resume` has a route of its own too
//! ([`ResumeCodec`]), so that a request that does not decode is answered INVALID_ARGUMENT (the
//! caller's fault) rather than tonic-prost's INTERNAL. Both routes call the generated
//! [`TelemetryIngest`] implementation, which also serves a caller that mounts the generated
//! server.

use std::collections::{HashMap, VecDeque};
use std::convert::Infallible;
use std::future::poll_fn;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Buf as _, Bytes, BytesMut};
use prost::Message as _;
use proto::hex;
use proto::telemetry::v1::telemetry_ingest_server::{SERVICE_NAME, TelemetryIngest, TelemetryIngestServer};
use proto::telemetry::v1::{Ack, ResumeReply, ResumeRequest, TelemetryFrame};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, oneshot};
use tokio::time::Instant;
use tokio_stream::Stream;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::codegen::{BoxFuture, Service, StdError, http};
use tonic::server::NamedService;
use tonic::{Request, Response, Status, Streaming};

use crate::gate::AckGate;
use crate::live::{LiveFrame, LiveTap};
use crate::session::SessionId;
use crate::stats::Stats;
use crate::validate::validate;
use crate::wal::format;
use crate::wal::writer::{Batch, BatchOutcome, RecordMeta, Reply, WalWriter};

/// Per-stream limits: how much a stream buffers before the WAL writer has taken it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct StreamLimits {
    /// Most frames in one batch.
    pub(crate) batch_frames: usize,
    /// Most bytes in one batch (checked after each frame).
    pub(crate) batch_bytes: usize,
    /// Batches submitted to the writer and not yet durable.
    pub(crate) inflight_batches: usize,
    /// Largest frame accepted, bytes (gRPC's decode limit).
    pub(crate) max_frame_bytes: usize,
    /// Most streams open at once.
    pub(crate) max_streams: usize,
    /// Most frames a second per stream, if limited.
    pub(crate) max_frames_per_second: Option<u32>,
}

impl Default for StreamLimits {
    fn default() -> Self {
        StreamLimits {
            batch_frames: 1024,
            batch_bytes: 1 << 20,
            inflight_batches: 8,
            max_frame_bytes: 4 << 20,
            max_streams: 256,
            max_frames_per_second: None,
        }
    }
}

/// The `TelemetryIngest` service. Clone it freely: clones share the writer and counters.
#[derive(Debug, Clone)]
pub struct IngestService {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    writer: WalWriter,
    stats: Arc<Stats>,
    limits: StreamLimits,
    /// One permit per open stream, `max_streams` in all.
    streams: Arc<Semaphore>,
    /// Cancelled at graceful shutdown: streams stop reading, drain their acks and end.
    shutdown: CancellationToken,
    /// Where streams publish their frames once durable.
    live: LiveTap,
    /// With a JetStream sink: acks wait for the stream too, and `Resume` asks the stream.
    gate: Option<AckGate>,
}

impl IngestService {
    pub(crate) fn new(
        writer: WalWriter,
        stats: Arc<Stats>,
        limits: StreamLimits,
        shutdown: CancellationToken,
        live: LiveTap,
        gate: Option<AckGate>,
    ) -> Self {
        let streams = Arc::new(Semaphore::new(limits.max_streams.max(1)));
        IngestService { inner: Arc::new(Inner { writer, stats, limits, streams, shutdown, live, gate }) }
    }

    /// The service as a tower service for tonic's router, with the raw-bytes `StreamFrames`.
    pub fn into_server(self) -> IngestServer {
        let generated = TelemetryIngestServer::new(self.clone())
            .max_decoding_message_size(self.inner.limits.max_frame_bytes);
        IngestServer { service: self, generated }
    }

    /// Starts a stream's task, or refuses the stream when `max_streams` are open.
    fn start_stream<S>(&self, input: S) -> Result<ReceiverStream<Result<Ack, Status>>, Status>
    where
        S: Stream<Item = Result<Incoming, Status>> + Send + Unpin + 'static,
    {
        let Ok(permit) = Arc::clone(&self.inner.streams).try_acquire_owned() else {
            Stats::add(&self.inner.stats.streams_refused, 1);
            let max = self.inner.limits.max_streams;
            tracing::warn!(
                max_streams = max,
                "stream refused: the server has as many streams open as it takes"
            );
            return Err(Status::resource_exhausted(format!(
                "the server has {max} streams open, as many as it takes (`max_streams` in [streams] of its \
                 config); retry later: nothing was stored from this call"
            )));
        };
        // Acks are coalesced per drain of completed batches, so a handful of slots is plenty; a
        // client that does not read its acks fills them and its stream stops being read.
        let (tx, rx) = mpsc::channel(16);
        Stats::add(&self.inner.stats.streams_opened, 1);
        tokio::spawn(run_stream(Arc::clone(&self.inner), input, tx, permit));
        Ok(ReceiverStream::new(rx))
    }
}

/// A frame off the wire, already checked: its key and bytes, or why it was rejected. The decoded
/// `TelemetryFrame` (over a kilobyte of struct) is not kept: validating it where it is decoded
/// keeps it from being moved around per frame.
#[derive(Debug)]
pub(crate) struct Incoming {
    raw: Bytes,
    session: SessionId,
    seq: u64,
    /// Why the frame failed validation, when it did.
    invalid: Option<Box<Refusal>>,
}

/// A refused frame: the INVALID_ARGUMENT message, and the frame's session id as sent (hex).
#[derive(Debug)]
struct Refusal {
    message: String,
    session_hex: String,
}

impl Refusal {
    /// The status that ends the call: the message for people, the frame's identity as metadata
    /// for programs ([`proto::REFUSED_SESSION_ID`], [`proto::REFUSED_SEQ`]).
    fn status(self, seq: u64) -> Status {
        let mut status = Status::invalid_argument(self.message);
        if let Ok(session) = self.session_hex.parse() {
            status.metadata_mut().insert(proto::REFUSED_SESSION_ID, session);
        }
        if let Ok(seq) = seq.to_string().parse() {
            status.metadata_mut().insert(proto::REFUSED_SEQ, seq);
        }
        status
    }
}

impl Incoming {
    fn check(frame: &TelemetryFrame, raw: Bytes) -> Self {
        match (validate(frame), SessionId::from_slice(&frame.session_id)) {
            (Ok(()), Some(session)) => Incoming { raw, session, seq: frame.seq, invalid: None },
            (result, _) => {
                let session = SessionId::from_slice(&frame.session_id)
                    .map_or_else(|| hex(&frame.session_id), |s| s.to_string());
                let why = result.err().map_or_else(|| "bad session id".to_owned(), |e| e.to_string());
                let message = format!(
                    "invalid frame (session {session}, seq {}): {why}; frames acked before it stay stored",
                    frame.seq
                );
                let refusal = Refusal { message, session_hex: hex(&frame.session_id) };
                Incoming {
                    raw,
                    session: SessionId::default(),
                    seq: frame.seq,
                    invalid: Some(Box::new(refusal)),
                }
            }
        }
    }
}

#[tonic::async_trait]
impl TelemetryIngest for IngestService {
    type StreamFramesStream = ReceiverStream<Result<Ack, Status>>;

    /// The generated server's path: frames arrive decoded, so they are re-encoded for the WAL.
    /// [`IngestServer`] avoids that; this exists so the service also works when mounted through
    /// the generated `TelemetryIngestServer`.
    async fn stream_frames(
        &self,
        request: Request<Streaming<TelemetryFrame>>,
    ) -> Result<Response<Self::StreamFramesStream>, Status> {
        let input = tokio_stream::StreamExt::map(request.into_inner(), |r| {
            r.map(|frame| {
                let raw = Bytes::from(frame.encode_to_vec());
                Incoming::check(&frame, raw)
            })
        });
        Ok(Response::new(self.start_stream(Box::pin(input))?))
    }

    async fn resume(&self, request: Request<ResumeRequest>) -> Result<Response<ResumeReply>, Status> {
        let ids = request.into_inner().session_ids;
        let mut sessions = Vec::with_capacity(ids.len());
        for id in ids {
            let Some(session) = SessionId::from_slice(&id) else {
                return Err(Status::invalid_argument(format!(
                    "Resume: session id {} is {} bytes, must be 16",
                    hex(&id),
                    id.len()
                )));
            };
            let next_seq = match self.inner.gate.as_ref().and_then(AckGate::resume_source) {
                // Behind JetStream the stream is the truth: this node may never have seen the
                // session (its bridge came from a node that died), or have less of it than
                // the stream. Frames below are stored; the WAL takes the next one as no gap.
                Some(source) => {
                    let next = source.next_seq(session).await.map_err(|e| {
                        Status::unavailable(format!("Resume: JetStream cannot be asked ({e}); try again"))
                    })?;
                    self.inner.writer.raise_floor(session, next);
                    if let Some(g) = &self.inner.gate {
                        g.advance(session, next);
                    }
                    next
                }
                None => self.inner.writer.durable_next_seq(&session),
            };
            sessions.push(Ack { session_id: id, next_seq });
        }
        Ok(Response::new(ResumeReply { sessions }))
    }
}

/// Why a stream stops reading.
enum End {
    /// The client closed its side.
    Eof,
    /// The stream ends with this status once everything in flight is acked.
    Status(Status),
}

/// Reads whatever frames are ready, up to `max` and the batch's byte limit; waits only for the
/// first one.
async fn next_frames<S>(
    input: &mut S,
    limits: &StreamLimits,
    max: usize,
    out: &mut Vec<Incoming>,
) -> Option<End>
where
    S: Stream<Item = Result<Incoming, Status>> + Unpin,
{
    let mut bytes = 0usize;
    poll_fn(|cx: &mut Context<'_>| {
        loop {
            if out.len() >= max || bytes >= limits.batch_bytes {
                return Poll::Ready(None);
            }
            match Pin::new(&mut *input).poll_next(cx) {
                Poll::Ready(Some(Ok(m))) => {
                    bytes += m.raw.len();
                    out.push(m);
                }
                Poll::Ready(Some(Err(status))) => return Poll::Ready(Some(End::Status(status))),
                Poll::Ready(None) => return Poll::Ready(Some(End::Eof)),
                Poll::Pending if out.is_empty() => return Poll::Pending,
                Poll::Pending => return Poll::Ready(None),
            }
        }
    })
    .await
}

/// Sends one ack; a client that went away no longer reads acks, and its frames are stored anyway.
async fn send_ack(
    inner: &Inner,
    acks: &mpsc::Sender<Result<Ack, Status>>,
    session: SessionId,
    next_seq: u64,
) {
    let ack = Ack { session_id: Bytes::copy_from_slice(&session.0), next_seq };
    if acks.send(Ok(ack)).await.is_ok() {
        Stats::add(&inner.stats.acks_sent, 1);
    }
}

/// Sends, per session held, the lower of what the WAL and the gate say is durable, if that moved
/// since the last ack; a session leaves `held` once the gate has caught up with its WAL ack.
async fn send_held(
    inner: &Inner,
    gate: &AckGate,
    acks: &mpsc::Sender<Result<Ack, Status>>,
    held: &mut AckSet,
    sent: &mut HashMap<SessionId, u64>,
) {
    let mut out = Vec::new();
    held.0.retain(|&(session, wal_next)| {
        let next = wal_next.min(gate.next_seq(&session));
        let last = sent.entry(session).or_insert(0);
        if next > *last {
            *last = next;
            out.push((session, next));
        }
        next < wal_next
    });
    for (session, next) in out {
        send_ack(inner, acks, session, next).await;
    }
}

/// Acks merged over the batches that became durable together: one per session, highest wins.
#[derive(Default)]
struct AckSet(Vec<(SessionId, u64)>);

impl AckSet {
    fn merge(&mut self, acks: &[(SessionId, u64)]) {
        for &(s, n) in acks {
            match self.0.iter_mut().find(|(t, _)| *t == s) {
                Some(e) => e.1 = e.1.max(n),
                None => self.0.push((s, n)),
            }
        }
    }
}

/// A stream's frame-rate limit: a token bucket of `rate` frames a second holding up to one
/// second's worth. The clock is the caller's (`now` everywhere), so it is tested without one.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RateLimit {
    rate: f64,
    tokens: f64,
    at: Instant,
}

impl RateLimit {
    /// A full bucket at `now`.
    pub(crate) fn new(per_second: u32, now: Instant) -> Self {
        let rate = f64::from(per_second.max(1));
        RateLimit { rate, tokens: rate, at: now }
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.rate);
        self.at = now;
    }

    /// How many frames may be read now.
    pub(crate) fn available(&mut self, now: Instant) -> usize {
        self.refill(now);
        self.tokens.floor() as usize
    }

    /// `n` frames were read (at most [`RateLimit::available`]).
    pub(crate) fn take(&mut self, n: usize) {
        self.tokens = (self.tokens - n as f64).max(0.0);
    }

    /// When the next frame may be read.
    pub(crate) fn ready_at(&self) -> Instant {
        let missing = (1.0 - self.tokens).max(0.0);
        self.at + Duration::from_secs_f64(missing / self.rate)
    }
}

/// One stream, from first frame to final status. The permit is its place among `max_streams`.
async fn run_stream<S>(
    inner: Arc<Inner>,
    mut input: S,
    acks: mpsc::Sender<Result<Ack, Status>>,
    _permit: OwnedSemaphorePermit,
) where
    S: Stream<Item = Result<Incoming, Status>> + Send + Unpin + 'static,
{
    let limits = inner.limits;
    // Each batch in flight, with its frames for the live tap (none when nobody watches).
    let mut inflight: VecDeque<(oneshot::Receiver<Reply>, Vec<LiveFrame>)> = VecDeque::new();
    let mut reading = true;
    let mut end: Option<Status> = None;
    // The last frame accepted from this stream, to say where an undecodable one came.
    let mut last: Option<(SessionId, u64)> = None;
    let mut frames: Vec<Incoming> = Vec::with_capacity(limits.batch_frames.min(1024));
    let mut rate = limits.max_frames_per_second.map(|fps| RateLimit::new(fps, Instant::now()));
    // Since when the rate limit has held the stream back, if it does.
    let mut throttled_since: Option<Instant> = None;
    // Whether the client may still be sending: its side has not ended and not failed.
    let mut input_open = true;
    // With a gate (JetStream): acks durable in the WAL, waiting for the stream, and what each
    // session was last acked.
    let gate = inner.gate.clone();
    let mut gate_rx = gate.as_ref().map(AckGate::subscribe);
    let mut held = AckSet::default();
    let mut sent: HashMap<SessionId, u64> = HashMap::new();

    while reading || !inflight.is_empty() || !held.0.is_empty() {
        // How many frames the stream may read now: a batch, or less under its rate limit.
        let can_read = reading && inflight.len() < limits.inflight_batches;
        let now = Instant::now();
        let allowed =
            rate.as_mut().map_or(limits.batch_frames, |r| r.available(now).min(limits.batch_frames));
        match (can_read && allowed == 0, throttled_since) {
            (true, None) => {
                throttled_since = Some(now);
                Stats::add(&inner.stats.throttled, 1);
            }
            (false, Some(since)) => {
                throttled_since = None;
                Stats::add(&inner.stats.throttled_ns, nanos(now.saturating_duration_since(since)));
            }
            _ => {}
        }
        let ready_at = rate.as_ref().map_or(now, RateLimit::ready_at);
        tokio::select! {
            biased;
            first = async {
                match inflight.front_mut() {
                    Some((rx, _)) => rx.await,
                    None => std::future::pending().await,
                }
            }, if !inflight.is_empty() => {
                let mut live = inflight.pop_front().map(|(_, live)| live).unwrap_or_default();
                let mut merged = AckSet::default();
                let mut outcome: Option<Reply> = first.ok();
                loop {
                    match outcome {
                        Some(Ok(o)) => {
                            publish(&inner.live, &o, std::mem::take(&mut live));
                            absorb(&inner, o, &mut merged, &mut end, &mut reading);
                        }
                        Some(Err(stopped)) => stop(&mut end, &mut reading, Status::unavailable(format!(
                            "{}; frames after the last ack were not stored: resume from the acked point",
                            stopped.0
                        ))),
                        None => stop(&mut end, &mut reading, Status::unavailable(
                            "the WAL writer stopped; frames after the last ack were not stored",
                        )),
                    }
                    // Batches that became durable in the same commit get one ack between them.
                    match inflight.front_mut().map(|(rx, _)| rx.try_recv()) {
                        Some(Ok(next)) => {
                            live = inflight.pop_front().map(|(_, live)| live).unwrap_or_default();
                            outcome = Some(next);
                        }
                        Some(Err(oneshot::error::TryRecvError::Closed)) => {
                            inflight.pop_front();
                            outcome = None;
                        }
                        Some(Err(oneshot::error::TryRecvError::Empty)) | None => break,
                    }
                }
                match &gate {
                    None => {
                        for (session, next_seq) in merged.0 {
                            send_ack(&inner, &acks, session, next_seq).await;
                        }
                    }
                    Some(g) => {
                        held.merge(&merged.0);
                        send_held(&inner, g, &acks, &mut held, &mut sent).await;
                    }
                }
            }
            changed = async {
                match gate_rx.as_mut() {
                    Some(rx) => rx.changed().await.is_ok(),
                    None => std::future::pending().await,
                }
            }, if !held.0.is_empty() => {
                match (changed, &gate) {
                    (true, Some(g)) => send_held(&inner, g, &acks, &mut held, &mut sent).await,
                    _ => held.0.clear(),
                }
            }
            _ = inner.shutdown.cancelled(), if reading || inflight.is_empty() => {
                if reading {
                    stop(&mut end, &mut reading, Status::unavailable(
                        "the server is shutting down: reconnect, call Resume and send from next_seq",
                    ));
                } else {
                    // Acks still waiting for JetStream are not sent: the bridge resumes from what
                    // the stream holds, on this node or another.
                    held.0.clear();
                }
            }
            // The client went away: nobody reads the acks still waiting for JetStream.
            _ = acks.closed(), if !reading && inflight.is_empty() => held.0.clear(),
            // Over its rate limit, the stream is not read: HTTP/2 flow control then slows the
            // bridge down, and nothing is refused.
            _ = tokio::time::sleep_until(ready_at), if can_read && allowed == 0 => {}
            stop_reason = next_frames(&mut input, &limits, allowed, &mut frames),
                if can_read && allowed > 0 =>
            {
                if let Some(r) = rate.as_mut() {
                    r.take(frames.len());
                }
                Stats::add(&inner.stats.frames_received, frames.len() as u64);
                let (batch, invalid) = build_batch(&mut frames, &mut last);
                // Unwatched, only a session's first frame goes to the tap, which keeps it.
                let live = live_frames(&batch, inner.live.is_watched());
                if let Some(status) = invalid {
                    Stats::add(&inner.stats.invalid_frames, 1);
                    stop(&mut end, &mut reading, status);
                }
                match stop_reason {
                    Some(End::Eof) => {
                        reading = false;
                        input_open = false;
                    }
                    Some(End::Status(status)) => {
                        input_open = false;
                        let status = match too_large(status, limits.max_frame_bytes) {
                            Ok(refused) => {
                                Stats::add(&inner.stats.invalid_frames, 1);
                                refused
                            }
                            Err(other) => other,
                        };
                        stop(&mut end, &mut reading, input_error(status, last));
                    }
                    None => {}
                }
                if !batch.records.is_empty() {
                    match inner.writer.submit(batch).await {
                        Ok(rx) => inflight.push_back((rx, live)),
                        Err(stopped) => stop(&mut end, &mut reading, Status::unavailable(stopped.0)),
                    }
                }
            }
        }
    }
    if let Some(since) = throttled_since {
        Stats::add(&inner.stats.throttled_ns, nanos(since.elapsed()));
    }
    if let Some(status) = end {
        tracing::debug!(code = ?status.code(), message = status.message(), "stream ended");
        let _ = acks.send(Err(status)).await;
    }
    drop(acks);
    if input_open {
        linger(&mut input).await;
    }
    Stats::add(&inner.stats.streams_closed, 1);
}

/// How long a stream that ended while its client was still sending keeps reading (and
/// discarding) what arrives, so that its final status reaches the client.
const LINGER: Duration = Duration::from_secs(1);

/// Reads and discards the client's frames until it ends its side, fails, or [`LINGER`] passes.
///
/// Dropping the request stream while the client still sends makes HTTP/2 reset the stream
/// (RST_STREAM NO_ERROR), and during a graceful shutdown the connection then counts the stream
/// as finished and may close before the queued trailers (the final status) are written: the
/// client would see a broken connection instead of UNAVAILABLE. Holding the stream open until
/// the client has the trailers and stops, or briefly, lets them out first.
async fn linger<S>(input: &mut S)
where
    S: Stream<Item = Result<Incoming, Status>> + Unpin,
{
    let drain = async { while let Some(Ok(_)) = tokio_stream::StreamExt::next(input).await {} };
    let _ = tokio::time::timeout(LINGER, drain).await;
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// tonic's refusal of a message over the decode limit (OUT_OF_RANGE, "decoded message length
/// too large"), told in the server's terms: `Ok` with the limit and the setting named, `Err`
/// with any other status unchanged.
fn too_large(status: Status, max_frame_bytes: usize) -> Result<Status, Status> {
    if status.code() != tonic::Code::OutOfRange || !status.message().contains("too large") {
        return Err(status);
    }
    Ok(Status::out_of_range(format!(
        "frame refused: larger than this server's limit of {max_frame_bytes} bytes (`max_frame_bytes` in \
         [streams] of its config): {}",
        status.message()
    )))
}

fn stop(end: &mut Option<Status>, reading: &mut bool, status: Status) {
    *reading = false;
    // The first reason is the one the client needs; later ones follow from it.
    end.get_or_insert(status);
}

fn absorb(inner: &Inner, o: BatchOutcome, merged: &mut AckSet, end: &mut Option<Status>, reading: &mut bool) {
    merged.merge(&o.acks);
    if let Some(gap) = o.gap {
        Stats::add(&inner.stats.gaps, 1);
        stop(
            end,
            reading,
            Status::failed_precondition(format!(
                "gap in session {}: got seq {}, expected seq {}; call Resume and send from next_seq {}",
                gap.session, gap.seq, gap.expected, gap.expected
            )),
        );
    }
}

/// A batch's frames for the live tap: each frame's bytes sliced out of the batch's buffer (a
/// frame record ends with the frame as sent), so nothing is copied.
fn live_frames(batch: &Batch, watched: bool) -> Vec<LiveFrame> {
    let mut at = 0usize;
    let mut out = Vec::with_capacity(if watched { batch.records.len() } else { 0 });
    for r in &batch.records {
        let end = at + r.len as usize;
        let start = at + format::frame_record_len(0);
        // Always true for a batch `build_batch` made; checked rather than trusted.
        if (watched || r.seq == 0) && start <= end && end <= batch.buf.len() {
            out.push(LiveFrame { session: r.session.0, seq: r.seq, raw: batch.buf.slice(start..end) });
        }
        at = end;
    }
    out
}

/// Publishes a batch's frames that the writer made durable: for each session, those below its
/// durable next_seq (a frame at or after a gap was not stored).
fn publish(tap: &LiveTap, outcome: &BatchOutcome, frames: Vec<LiveFrame>) {
    for frame in frames {
        let durable = outcome.acks.iter().find(|(s, _)| s.0 == frame.session).map(|(_, next)| *next);
        if durable.is_some_and(|next| frame.seq < next) {
            tap.publish(frame);
        }
    }
}

/// Frames the valid prefix of `frames` as WAL records. Returns the batch and, when a frame was
/// invalid, the status that ends the stream (the frames before it are kept).
fn build_batch(frames: &mut Vec<Incoming>, last: &mut Option<(SessionId, u64)>) -> (Batch, Option<Status>) {
    let bytes: usize = frames.iter().map(|f| format::frame_record_len(f.raw.len())).sum();
    let mut buf = BytesMut::with_capacity(bytes);
    let mut records = Vec::with_capacity(frames.len());
    let mut invalid = None;
    for Incoming { raw, session, seq, invalid: rejected } in frames.drain(..) {
        if invalid.is_some() {
            continue;
        }
        if let Some(refusal) = rejected {
            invalid = Some(refusal.status(seq));
            continue;
        }
        let start = buf.len();
        format::put_frame_record(&mut buf, &session, seq, &raw);
        records.push(RecordMeta { session, seq, len: (buf.len() - start) as u32 });
        *last = Some((session, seq));
    }
    (Batch { buf: buf.freeze(), records }, invalid)
}

/// The status for an error on the input stream (an undecodable frame, a transport error): kept
/// as is, with where in the stream it happened.
fn input_error(status: Status, last: Option<(SessionId, u64)>) -> Status {
    let after = match last {
        Some((s, seq)) => format!("after session {s} seq {seq}"),
        None => "before any valid frame".into(),
    };
    Status::new(status.code(), format!("{} ({after}); frames acked before it stay stored", status.message()))
}

/// Codec of the raw-bytes route: decodes and validates each frame once and keeps its bytes.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct FrameCodec;

#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct AckEncoder;

/// One per stream. Decodes into the same `TelemetryFrame` every time: prost's `clear` keeps the
/// capacity of its vectors and strings, so a frame costs no allocation.
#[derive(Debug, Default)]
pub(crate) struct FrameDecoder {
    scratch: TelemetryFrame,
}

impl Codec for FrameCodec {
    type Encode = Ack;
    type Decode = Incoming;
    type Encoder = AckEncoder;
    type Decoder = FrameDecoder;

    fn encoder(&mut self) -> AckEncoder {
        AckEncoder
    }

    fn decoder(&mut self) -> FrameDecoder {
        FrameDecoder::default()
    }
}

impl Encoder for AckEncoder {
    type Item = Ack;
    type Error = Status;

    fn encode(&mut self, item: Ack, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        item.encode(dst).map_err(|e| Status::internal(format!("encoding an ack: {e}")))
    }
}

impl Decoder for FrameDecoder {
    type Item = Incoming;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Incoming>, Status> {
        // tonic hands over exactly one message; taking it as `Bytes` splits tonic's buffer
        // without copying, and prost slices `session_id` out of it.
        let raw = src.copy_to_bytes(src.remaining());
        proto::decode_frame_into(&mut self.scratch, raw.clone()).map_err(|e| {
            Status::invalid_argument(format!("a message of {} bytes is not a TelemetryFrame: {e}", raw.len()))
        })?;
        Ok(Some(Incoming::check(&self.scratch, raw)))
    }
}

/// The service as tonic mounts it: `StreamFrames` through [`FrameCodec`], everything else through
/// the generated server.
#[derive(Debug, Clone)]
pub struct IngestServer {
    service: IngestService,
    generated: TelemetryIngestServer<IngestService>,
}

use proto::{RESUME_PATH, STREAM_FRAMES_PATH};

/// Codec of the `Resume` route: prost both ways, but a request that is not a `ResumeRequest` is
/// INVALID_ARGUMENT.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ResumeCodec;

#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ResumeReplyEncoder;

#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ResumeRequestDecoder;

impl Codec for ResumeCodec {
    type Encode = ResumeReply;
    type Decode = ResumeRequest;
    type Encoder = ResumeReplyEncoder;
    type Decoder = ResumeRequestDecoder;

    fn encoder(&mut self) -> ResumeReplyEncoder {
        ResumeReplyEncoder
    }

    fn decoder(&mut self) -> ResumeRequestDecoder {
        ResumeRequestDecoder
    }
}

impl Encoder for ResumeReplyEncoder {
    type Item = ResumeReply;
    type Error = Status;

    fn encode(&mut self, item: ResumeReply, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        item.encode(dst).map_err(|e| Status::internal(format!("encoding a Resume reply: {e}")))
    }
}

impl Decoder for ResumeRequestDecoder {
    type Item = ResumeRequest;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<ResumeRequest>, Status> {
        let len = src.remaining();
        ResumeRequest::decode(src).map(Some).map_err(|e| {
            Status::invalid_argument(format!("Resume: a message of {len} bytes is not a ResumeRequest: {e}"))
        })
    }
}

struct ResumeSvc(IngestService);

impl tonic::server::UnaryService<ResumeRequest> for ResumeSvc {
    type Response = ResumeReply;
    type Future = BoxFuture<Response<ResumeReply>, Status>;

    fn call(&mut self, request: Request<ResumeRequest>) -> Self::Future {
        let service = self.0.clone();
        Box::pin(async move { TelemetryIngest::resume(&service, request).await })
    }
}

struct StreamFramesSvc(IngestService);

impl tonic::server::StreamingService<Incoming> for StreamFramesSvc {
    type Response = Ack;
    type ResponseStream = ReceiverStream<Result<Ack, Status>>;
    type Future = BoxFuture<Response<Self::ResponseStream>, Status>;

    fn call(&mut self, request: Request<Streaming<Incoming>>) -> Self::Future {
        let service = self.0.clone();
        Box::pin(async move { Ok(Response::new(service.start_stream(request.into_inner())?)) })
    }
}

impl<B> Service<http::Request<B>> for IngestServer
where
    B: tonic::codegen::Body + Send + 'static,
    B::Error: Into<StdError> + Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = Infallible;
    type Future = BoxFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let service = self.service.clone();
        let max = service.inner.limits.max_frame_bytes;
        match req.uri().path() {
            STREAM_FRAMES_PATH => Box::pin(async move {
                let mut grpc =
                    tonic::server::Grpc::new(FrameCodec).apply_max_message_size_config(Some(max), None);
                Ok(grpc.streaming(StreamFramesSvc(service), req).await)
            }),
            RESUME_PATH => Box::pin(async move {
                let mut grpc =
                    tonic::server::Grpc::new(ResumeCodec).apply_max_message_size_config(Some(max), None);
                Ok(grpc.unary(ResumeSvc(service), req).await)
            }),
            _ => self.generated.call(req),
        }
    }
}

impl NamedService for IngestServer {
    const NAME: &'static str = SERVICE_NAME;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wal::Wal;
    use crate::wal::writer::{self, WriterConfig};
    use proto::telemetry::v1::telemetry_ingest_client::TelemetryIngestClient;
    use std::time::Duration;

    #[test]
    fn the_rate_limit_is_a_bucket_of_one_seconds_frames() {
        let t0 = Instant::now();
        let ms = |n: u64| t0 + Duration::from_millis(n);
        let mut r = RateLimit::new(100, t0);
        assert_eq!(r.available(t0), 100, "a full second's worth at the start");
        r.take(100);
        assert_eq!(r.available(t0), 0);
        assert_eq!(r.ready_at(), ms(10), "one frame per 10 ms");
        assert_eq!(r.available(ms(5)), 0);
        assert_eq!(r.available(ms(250)), 25);
        r.take(25);
        assert_eq!(r.available(ms(10_000)), 100, "never more than one second's worth");
        assert!(r.ready_at() <= ms(10_000));
    }

    #[test]
    fn a_frame_over_the_limit_is_refused_in_the_servers_terms() {
        let tonic_says = Status::out_of_range(
            "Error, decoded message length too large: found 5000000 bytes, the limit is: 4194304 bytes",
        );
        let s = too_large(tonic_says, 4_194_304).unwrap();
        assert_eq!(s.code(), tonic::Code::OutOfRange);
        assert!(s.message().contains("`max_frame_bytes`") && s.message().contains("4194304 bytes"), "{s:?}");
        assert!(s.message().contains("found 5000000 bytes"), "{s:?}");
        assert!(too_large(Status::cancelled("x"), 1).is_err());
    }

    /// The generated server's path (frames re-encoded for the WAL) stores and acks like the
    /// raw-bytes route the server uses.
    #[tokio::test]
    async fn the_generated_route_stores_and_acks_too() {
        let dir = tempfile::tempdir().unwrap();
        let wal = Wal::open(dir.path()).unwrap();
        let cfg = WriterConfig {
            segment_bytes: 1 << 20,
            commit_interval: Duration::from_millis(1),
            group_max_bytes: 1 << 20,
            queue_batches: 8,
        };
        let stats = Arc::new(Stats::default());
        let stop = CancellationToken::new();
        let (w, task) = writer::start(wal, cfg, Arc::clone(&stats), stop.clone(), None).unwrap();
        let service = IngestService::new(
            w,
            stats,
            StreamLimits::default(),
            CancellationToken::new(),
            LiveTap::new(),
            None,
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(TelemetryIngestServer::new(service))
                .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener)),
        );
        let channel = tonic::transport::Channel::from_shared(format!("http://{addr}"))
            .unwrap()
            .connect()
            .await
            .unwrap();
        let mut client = TelemetryIngestClient::new(channel);
        let id = [7u8; 16];
        let frames: Vec<TelemetryFrame> = (0..100)
            .map(|seq| TelemetryFrame { session_id: Bytes::copy_from_slice(&id), seq, ..Default::default() })
            .collect();
        let mut acks = client.stream_frames(tokio_stream::iter(frames.clone())).await.unwrap().into_inner();
        let mut last = 0;
        while let Some(ack) = acks.message().await.unwrap() {
            last = ack.next_seq;
        }
        assert_eq!(last, 100);
        server.abort();
        stop.cancel();
        task.await.unwrap().unwrap();
        let stored = Wal::read_all(dir.path()).unwrap();
        assert_eq!(stored.len(), 100);
        assert!(stored.iter().zip(&frames).all(|(s, f)| s.decode().unwrap() == *f));
    }
}
