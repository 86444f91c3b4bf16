//! A raw `StreamFrames` client: K concurrent streams of pre-encoded frames for a fixed time,
//! with acks read and timed.
//!
//! Each stream is its own connection and session and keeps at most [`Load::window`] frames
//! unacknowledged, as a bridge does. Frames are [`Template`] bytes (a car's consecutive frames,
//! in turn) with `seq` patched in, sent
//! through [`proto::RawCodec`], so encoding costs the client next to nothing and the figures are
//! the server's. One frame in 16 is timed from its send to the ack that covers it.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use proto::RawCodec;
use proto::telemetry::v1::Ack;
use tokio_stream::Stream;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Streaming;
use tonic::transport::Channel;

use crate::frames::{Template, session_id};
use crate::stats::Latency;
use crate::{Error, procstat};

/// Frames sent per latency sample: one in 16 is plenty, and keeps the client cheap.
const SAMPLE_EVERY: u64 = 16;

/// The load to put on a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Load {
    /// Concurrent streams, one connection and one session each (sessions
    /// [`session_id`]`(0..streams)`).
    pub streams: u32,
    /// How long the streams send; then each waits for its last ack.
    pub duration: Duration,
    /// Most frames unacknowledged per stream (a bridge's in-flight window).
    pub window: u64,
}

/// What a load run measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Report {
    /// Frames sent and acknowledged, all streams.
    pub frames: u64,
    /// Mean size of a frame, bytes (they differ with their values and `seq`'s varint).
    pub frame_len: usize,
    /// From the first stream's start to the last stream's final ack.
    pub elapsed: Duration,
    /// Ack latency of the sampled frames.
    pub latency: Latency,
    /// CPU time this process used meanwhile (the clients, and anything else it runs), seconds;
    /// `None` where `/proc` cannot say.
    pub client_cpu_s: Option<f64>,
}

impl Report {
    /// Frames acknowledged per second.
    pub fn frames_per_s(&self) -> f64 {
        self.frames as f64 / self.elapsed.as_secs_f64().max(f64::MIN_POSITIVE)
    }

    /// Frame bytes acknowledged per second.
    pub fn bytes_per_s(&self) -> f64 {
        self.frames_per_s() * self.frame_len as f64
    }
}

/// A channel to the server at `addr` (`HOST:PORT`, plain HTTP/2), with flow-control windows
/// large enough (4 MiB a stream, 16 MiB the connection) that they do not limit the rate.
pub async fn connect(addr: &str) -> Result<Channel, Error> {
    Channel::from_shared(format!("http://{addr}"))
        .map_err(|source| Error::BadAddress { addr: addr.to_owned(), source })?
        .initial_stream_window_size(Some(4 << 20))
        .initial_connection_window_size(Some(16 << 20))
        .connect()
        .await
        .map_err(|source| Error::Connect { addr: addr.to_owned(), source })
}

/// Opens a `StreamFrames` call on `channel` that sends `frames` as they are (each one an
/// encoded `TelemetryFrame`, or any bytes at all: the server judges them) and returns the acks.
/// A status instead of acks is [`Error::Refused`].
pub async fn stream_frames<S>(channel: Channel, frames: S) -> Result<Streaming<Ack>, Error>
where
    S: Stream<Item = Bytes> + Send + 'static,
{
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.map_err(Error::NotReady)?;
    let path = tonic::codegen::http::uri::PathAndQuery::from_static(proto::STREAM_FRAMES_PATH);
    match grpc.streaming(tonic::Request::new(frames), path, RawCodec).await {
        Ok(response) => Ok(response.into_inner()),
        Err(status) => Err(Error::Refused(Box::new(status))),
    }
}

/// Runs `load` against the server at `addr` and reports what it measured. Fails if a stream
/// cannot connect, the server ends a call with an error, or a call ends with frames unacked.
pub async fn run(addr: &str, load: &Load) -> Result<Report, Error> {
    if load.streams == 0 {
        return Err(Error::InvalidLoad("no streams"));
    }
    if load.window == 0 {
        return Err(Error::InvalidLoad("a window of 0 frames"));
    }
    if load.duration.is_zero() {
        return Err(Error::InvalidLoad("a duration of 0"));
    }
    // The frames' mean length: seq's varint grows a byte at 2^7, 2^14, …; at a few million
    // frames it is 4 bytes long.
    // Made before the clock starts: a template is thousands of frames.
    let templates: Vec<Template> = (0..load.streams).map(|n| Template::new(session_id(n))).collect();
    let frame_len = templates[0].mean_len(1_000_000).round() as usize;
    let me = std::process::id();
    let client_cpu_start = procstat::cpu_seconds(me).ok();
    let started = Instant::now();
    let deadline = started + load.duration;
    let tasks: Vec<_> = (0..load.streams)
        .zip(templates)
        .map(|(n, template)| {
            let addr = addr.to_owned();
            let window = load.window;
            tokio::spawn(async move { stream(&addr, n, template, window, deadline).await })
        })
        .collect();
    let mut frames = 0;
    let mut samples = Vec::new();
    for (n, task) in (0..).zip(tasks) {
        let outcome = task.await.map_err(|source| Error::Task { stream: n, source })??;
        frames += outcome.acked;
        samples.extend(outcome.latencies_us);
    }
    let elapsed = started.elapsed();
    Ok(Report {
        frames,
        frame_len,
        elapsed,
        latency: Latency::from_micros(samples),
        client_cpu_s: match (procstat::cpu_seconds(me).ok(), client_cpu_start) {
            (Some(end), Some(start)) => Some(end - start),
            _ => None,
        },
    })
}

/// One stream's result: frames acked, and latency samples (µs).
struct Outcome {
    acked: u64,
    latencies_us: Vec<u32>,
}

/// Stream `n`: sends frames until `deadline` with at most `window` unacked, then waits for the
/// final ack. Latency is measured per sampled frame from its send to the ack covering it.
async fn stream(
    addr: &str,
    n: u32,
    template: Template,
    window: u64,
    deadline: Instant,
) -> Result<Outcome, Error> {
    let channel = connect(addr).await?;
    let origin = Instant::now();
    // Send times (ns since origin) of the frames in flight; at most `window` are, so a ring of
    // `window` slots indexed by seq never overwrites one still waiting for its ack.
    let ring: Arc<Vec<AtomicU64>> = Arc::new((0..window).map(|_| AtomicU64::new(0)).collect());
    let (acked_tx, mut acked_rx) = tokio::sync::watch::channel(0u64);
    let (tx, rx) = tokio::sync::mpsc::channel::<Bytes>(1024);
    let sent = Arc::new(AtomicU64::new(0));
    let producer = {
        let ring = ring.clone();
        let sent = sent.clone();
        tokio::spawn(async move {
            let mut seq = 0u64;
            loop {
                // Reading the clock for every frame would cost more than building it.
                if seq % 256 == 0 && Instant::now() >= deadline {
                    break;
                }
                while seq >= *acked_rx.borrow() + window {
                    if acked_rx.changed().await.is_err() {
                        return;
                    }
                }
                ring[(seq % window) as usize].store(origin.elapsed().as_nanos() as u64, Ordering::Relaxed);
                if tx.send(template.frame(seq)).await.is_err() {
                    return;
                }
                seq += 1;
                sent.store(seq, Ordering::Relaxed);
            }
        })
    };
    let mut acks = stream_frames(channel, ReceiverStream::new(rx)).await?;
    let mut acked = 0u64;
    let mut latencies_us = Vec::new();
    loop {
        let ack = match acks.message().await {
            Ok(Some(ack)) => ack,
            Ok(None) => break,
            Err(status) => return Err(Error::Acks { stream: n, status: Box::new(status) }),
        };
        let now = origin.elapsed().as_nanos() as u64;
        // No more than `window` frames can be newly covered; a server acking frames never sent
        // must not make this loop run for ever (the count check below reports it).
        for s in acked..ack.next_seq.min(acked.saturating_add(window)) {
            if s % SAMPLE_EVERY == 0 {
                let at = ring[(s % window) as usize].load(Ordering::Relaxed);
                latencies_us.push((now.saturating_sub(at) / 1000).min(u64::from(u32::MAX)) as u32);
            }
        }
        acked = acked.max(ack.next_seq);
        let _ = acked_tx.send(acked);
    }
    // The server ended the call. Normally the producer has finished (the call ends after the
    // frames do); a server that ended it early leaves the producer waiting for acks or for room
    // to send, so it is stopped here. Its count of frames sent is exact either way.
    drop(acked_tx);
    producer.abort();
    match producer.await {
        Err(e) if !e.is_cancelled() => return Err(Error::Task { stream: n, source: e }),
        _ => {}
    }
    let sent = sent.load(Ordering::Relaxed);
    if acked != sent {
        return Err(Error::Unacked { stream: n, sent, acked });
    }
    Ok(Outcome { acked, latencies_us })
}

#[cfg(test)]
mod tests {
    use proto::telemetry::v1::telemetry_ingest_server::{TelemetryIngest, TelemetryIngestServer};
    use proto::telemetry::v1::{ResumeReply, ResumeRequest, TelemetryFrame};
    use tonic::{Request, Response, Status};

    use super::*;
    use crate::frames::{TEMPLATE_FRAMES, TEMPLATE_SEQ, realistic};

    /// How the test server answers.
    #[derive(Debug, Clone, Copy)]
    enum Mode {
        /// Acks every frame as it arrives, after checking it is its stream's template frame.
        AckAll,
        /// Acks the first `n` frames, then ends the call with OK.
        EndAfter(u64),
        /// Refuses the call.
        Refuse,
    }

    struct TestServer(Mode);

    #[tonic::async_trait]
    impl TelemetryIngest for TestServer {
        type StreamFramesStream = ReceiverStream<Result<Ack, Status>>;

        async fn stream_frames(
            &self,
            request: Request<Streaming<TelemetryFrame>>,
        ) -> Result<Response<Self::StreamFramesStream>, Status> {
            let mode = self.0;
            if let Mode::Refuse = mode {
                return Err(Status::unavailable("refused by the test"));
            }
            let mut frames = request.into_inner();
            let (tx, rx) = tokio::sync::mpsc::channel(1024);
            tokio::spawn(async move {
                let mut next = 0u64;
                while let Ok(Some(f)) = frames.message().await {
                    let id = f.session_id.as_ref().try_into().expect("a 16-byte session id");
                    let want = realistic(id, TEMPLATE_SEQ + f.seq % TEMPLATE_FRAMES);
                    let bad = if f.seq != next {
                        Some(format!("seq {} after {}", f.seq, next))
                    } else if f != (TelemetryFrame { seq: f.seq, ..want.clone() }) {
                        Some(format!("seq {} is not the template frame", f.seq))
                    } else {
                        None
                    };
                    if let Some(bad) = bad {
                        let _ = tx.send(Err(Status::invalid_argument(bad))).await;
                        return;
                    }
                    next += 1;
                    if tx.send(Ok(Ack { session_id: f.session_id, next_seq: next })).await.is_err() {
                        return;
                    }
                    if let Mode::EndAfter(n) = mode
                        && next == n
                    {
                        return;
                    }
                }
            });
            Ok(Response::new(ReceiverStream::new(rx)))
        }

        async fn resume(&self, _: Request<ResumeRequest>) -> Result<Response<ResumeReply>, Status> {
            Err(Status::unimplemented("not in the test server"))
        }
    }

    /// Serves `mode` on a loopback port; returns the address.
    async fn serve(mode: Mode) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
        let addr = listener.local_addr().expect("its address").to_string();
        tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(TelemetryIngestServer::new(TestServer(mode)))
                .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
        );
        addr
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn streams_template_frames_and_times_their_acks() {
        let addr = serve(Mode::AckAll).await;
        let load = Load { streams: 3, duration: Duration::from_millis(400), window: 64 };
        let r = run(&addr, &load).await.expect("the run succeeds");
        assert!(r.frames >= 3 * SAMPLE_EVERY, "{r:?}");
        assert_eq!(r.frame_len, Template::new(session_id(0)).mean_len(1_000_000).round() as usize);
        assert!(r.elapsed >= load.duration && r.elapsed < Duration::from_secs(30), "{r:?}");
        // One sample per 16 frames of each stream, from seq 0.
        let l = r.latency;
        assert!(
            l.samples as u64 >= r.frames / SAMPLE_EVERY && l.samples as u64 <= r.frames / SAMPLE_EVERY + 3
        );
        assert!(l.p50 <= l.p99 && l.p99 <= l.max && l.max < Duration::from_secs(30), "{l:?}");
        assert!(r.frames_per_s() > 0.0 && r.bytes_per_s() > r.frames_per_s());
        if cfg!(target_os = "linux") {
            assert!(r.client_cpu_s.is_some_and(|c| c >= 0.0), "{r:?}");
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_server_that_ends_the_call_early_or_refuses_it_fails_the_run() {
        let addr = serve(Mode::EndAfter(500)).await;
        let load = Load { streams: 1, duration: Duration::from_secs(2), window: 64 };
        match run(&addr, &load).await {
            Err(Error::Unacked { stream: 0, sent, acked: 500 }) => assert!(sent > 500, "{sent}"),
            other => panic!("expected frames unacked, got {other:?}"),
        }

        let addr = serve(Mode::Refuse).await;
        let e = run(&addr, &load).await.expect_err("refused");
        match &e {
            Error::Refused(status) => assert_eq!(status.message(), "refused by the test"),
            other => panic!("expected a refusal, got {other:?}"),
        }

        let e = run("127.0.0.1:1", &load).await.expect_err("nothing listens on port 1");
        assert_eq!(e.to_string(), "cannot connect to 127.0.0.1:1");
        let e = run(&addr, &Load { streams: 0, ..load }).await.expect_err("no streams");
        assert_eq!(e.to_string(), "invalid load: no streams");
    }
}
