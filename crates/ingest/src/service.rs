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
//! `StreamFrames` is served through a hand-written route with its own codec ([`FrameCodec`])
//! rather than the generated one: the codec keeps each message's raw bytes next to the decoded
//! frame, so the WAL stores exactly what the bridge sent without re-encoding ~100 fields per
//! frame (the bytes are a zero-copy slice of tonic's buffer). `Resume`, and `StreamFrames` for a
//! caller that mounts the generated server, go through the generated [`TelemetryIngest`]
//! implementation.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::future::poll_fn;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::{Buf as _, Bytes, BytesMut};
use prost::Message as _;
use proto::telemetry::v1::telemetry_ingest_server::{SERVICE_NAME, TelemetryIngest, TelemetryIngestServer};
use proto::telemetry::v1::{Ack, ResumeReply, ResumeRequest, TelemetryFrame};
use tokio::sync::{mpsc, oneshot};
use tokio_stream::Stream;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::codegen::{BoxFuture, Service, StdError, http};
use tonic::server::NamedService;
use tonic::{Request, Response, Status, Streaming};

use crate::session::{SessionId, hex};
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
}

impl Default for StreamLimits {
    fn default() -> Self {
        StreamLimits {
            batch_frames: 1024,
            batch_bytes: 1 << 20,
            inflight_batches: 8,
            max_frame_bytes: 4 << 20,
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
    /// Cancelled at graceful shutdown: streams stop reading, drain their acks and end.
    shutdown: CancellationToken,
}

impl IngestService {
    pub(crate) fn new(
        writer: WalWriter,
        stats: Arc<Stats>,
        limits: StreamLimits,
        shutdown: CancellationToken,
    ) -> Self {
        IngestService { inner: Arc::new(Inner { writer, stats, limits, shutdown }) }
    }

    /// The service as a tower service for tonic's router, with the raw-bytes `StreamFrames`.
    pub fn into_server(self) -> IngestServer {
        let generated = TelemetryIngestServer::new(self.clone())
            .max_decoding_message_size(self.inner.limits.max_frame_bytes);
        IngestServer { service: self, generated }
    }

    fn start_stream<S>(&self, input: S) -> ReceiverStream<Result<Ack, Status>>
    where
        S: Stream<Item = Result<Incoming, Status>> + Send + Unpin + 'static,
    {
        // Acks are coalesced per drain of completed batches, so a handful of slots is plenty; a
        // client that does not read its acks fills them and its stream stops being read.
        let (tx, rx) = mpsc::channel(16);
        Stats::add(&self.inner.stats.streams_opened, 1);
        tokio::spawn(run_stream(Arc::clone(&self.inner), input, tx));
        ReceiverStream::new(rx)
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
        Ok(Response::new(self.start_stream(Box::pin(input))))
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
            let next_seq = self.inner.writer.durable_next_seq(&session);
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

/// Reads whatever frames are ready, up to the batch limits; waits only for the first one.
async fn next_frames<S>(input: &mut S, limits: &StreamLimits, out: &mut Vec<Incoming>) -> Option<End>
where
    S: Stream<Item = Result<Incoming, Status>> + Unpin,
{
    let mut bytes = 0usize;
    poll_fn(|cx: &mut Context<'_>| {
        loop {
            if out.len() >= limits.batch_frames || bytes >= limits.batch_bytes {
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

/// One stream, from first frame to final status.
async fn run_stream<S>(inner: Arc<Inner>, mut input: S, acks: mpsc::Sender<Result<Ack, Status>>)
where
    S: Stream<Item = Result<Incoming, Status>> + Send + Unpin + 'static,
{
    let limits = inner.limits;
    let mut inflight: VecDeque<oneshot::Receiver<Reply>> = VecDeque::new();
    let mut reading = true;
    let mut end: Option<Status> = None;
    // The last frame accepted from this stream, to say where an undecodable one came.
    let mut last: Option<(SessionId, u64)> = None;
    let mut frames: Vec<Incoming> = Vec::with_capacity(limits.batch_frames.min(1024));

    while reading || !inflight.is_empty() {
        tokio::select! {
            biased;
            first = async {
                match inflight.front_mut() {
                    Some(rx) => rx.await,
                    None => std::future::pending().await,
                }
            }, if !inflight.is_empty() => {
                inflight.pop_front();
                let mut merged = AckSet::default();
                let mut outcome: Option<Reply> = first.ok();
                loop {
                    match outcome {
                        Some(Ok(o)) => absorb(&inner, o, &mut merged, &mut end, &mut reading),
                        Some(Err(stopped)) => stop(&mut end, &mut reading, Status::unavailable(format!(
                            "{}; frames after the last ack were not stored: resume from the acked point",
                            stopped.0
                        ))),
                        None => stop(&mut end, &mut reading, Status::unavailable(
                            "the WAL writer stopped; frames after the last ack were not stored",
                        )),
                    }
                    // Batches that became durable in the same commit get one ack between them.
                    match inflight.front_mut().map(|rx| rx.try_recv()) {
                        Some(Ok(next)) => {
                            inflight.pop_front();
                            outcome = Some(next);
                        }
                        Some(Err(oneshot::error::TryRecvError::Closed)) => {
                            inflight.pop_front();
                            outcome = None;
                        }
                        Some(Err(oneshot::error::TryRecvError::Empty)) | None => break,
                    }
                }
                for (session, next_seq) in merged.0 {
                    let ack = Ack { session_id: Bytes::copy_from_slice(&session.0), next_seq };
                    // A client that went away no longer reads acks; its frames are stored anyway.
                    if acks.send(Ok(ack)).await.is_ok() {
                        Stats::add(&inner.stats.acks_sent, 1);
                    }
                }
            }
            _ = inner.shutdown.cancelled(), if reading => {
                stop(&mut end, &mut reading, Status::unavailable(
                    "the server is shutting down: reconnect, call Resume and send from next_seq",
                ));
            }
            stop_reason = next_frames(&mut input, &limits, &mut frames),
                if reading && inflight.len() < limits.inflight_batches =>
            {
                Stats::add(&inner.stats.frames_received, frames.len() as u64);
                let (batch, invalid) = build_batch(&mut frames, &mut last);
                if let Some(status) = invalid {
                    Stats::add(&inner.stats.invalid_frames, 1);
                    stop(&mut end, &mut reading, status);
                }
                match stop_reason {
                    Some(End::Eof) => reading = false,
                    Some(End::Status(status)) => stop(&mut end, &mut reading, input_error(status, last)),
                    None => {}
                }
                if !batch.records.is_empty() {
                    match inner.writer.submit(batch).await {
                        Ok(rx) => inflight.push_back(rx),
                        Err(stopped) => stop(&mut end, &mut reading, Status::unavailable(stopped.0)),
                    }
                }
            }
        }
    }
    if let Some(status) = end {
        tracing::debug!(code = ?status.code(), message = status.message(), "stream ended");
        let _ = acks.send(Err(status)).await;
    }
    Stats::add(&inner.stats.streams_closed, 1);
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
        self.scratch.clear();
        self.scratch.merge(raw.clone()).map_err(|e| {
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

const STREAM_FRAMES_PATH: &str = "/telemetry.v1.TelemetryIngest/StreamFrames";

struct StreamFramesSvc(IngestService);

impl tonic::server::StreamingService<Incoming> for StreamFramesSvc {
    type Response = Ack;
    type ResponseStream = ReceiverStream<Result<Ack, Status>>;
    type Future = BoxFuture<Response<Self::ResponseStream>, Status>;

    fn call(&mut self, request: Request<Streaming<Incoming>>) -> Self::Future {
        let service = self.0.clone();
        Box::pin(async move { Ok(Response::new(service.start_stream(request.into_inner()))) })
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
        if req.uri().path() != STREAM_FRAMES_PATH {
            return self.generated.call(req);
        }
        let service = self.service.clone();
        Box::pin(async move {
            let max = service.inner.limits.max_frame_bytes;
            let mut grpc =
                tonic::server::Grpc::new(FrameCodec).apply_max_message_size_config(Some(max), None);
            Ok(grpc.streaming(StreamFramesSvc(service), req).await)
        })
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
        let (w, task) = writer::start(wal, cfg, Arc::clone(&stats), stop.clone()).unwrap();
        let service = IngestService::new(w, stats, StreamLimits::default(), CancellationToken::new());
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
