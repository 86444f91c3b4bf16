//! The gRPC side: connect, ask where to resume, stream frames, apply acks, reconnect.
//!
//! One connection at a time. On each (re)connect the client calls `Resume` for every session
//! with unacknowledged frames, takes the server's durable `next_seq` as acked, and then streams
//! from there: first whatever only the recording still holds (a catch-up pass over its
//! members), then the in-memory window, then new frames as they come. Acks are cumulative per
//! session; the spool drops acked frames from memory and never sends them again. A failed or
//! ended connection is retried after an exponential backoff with jitter.
//!
//! Frames travel as the bytes the sampler encoded (and the recording stores): the stream uses a
//! codec that writes them as they are, so a frame is encoded once, whether it is sent from
//! memory or read back from the recording.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use prost::Message as _;
pub use proto::RawCodec;
use proto::telemetry::v1::telemetry_ingest_client::TelemetryIngestClient;
use proto::telemetry::v1::{Ack, ResumeRequest, TelemetryFrame};
use record::{ReadOptions, RecordReader};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint};
use tonic::{Request, Status, Streaming};

use crate::backoff::{Backoff, BackoffConfig};
use crate::error::BridgeError;
use crate::metrics::{ConnectionState, Metrics};
use crate::spool::{CatchUp, Decision, Live};
use crate::state::Shared;

/// Frames taken from the spool per lock.
const BATCH: usize = 256;
/// Frames queued between the spool and the HTTP/2 stream.
const QUEUE: usize = 512;

/// Where and how to reach the ingest server.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerConfig {
    /// `http://host:port` or `https://host:port`.
    pub url: String,
    /// Bearer token, sent as `authorization: Bearer <token>`.
    pub token: Option<String>,
    /// A PEM certificate (or several) to trust for `https://`, besides the system's roots: for
    /// a server with a self-signed certificate.
    pub ca_cert: Option<PathBuf>,
    /// Reconnection delays.
    pub backoff: BackoffConfig,
    /// Seed of the backoff's jitter.
    pub backoff_seed: u64,
    /// Longest wait for a TCP (and TLS) connection.
    pub connect_timeout: Duration,
    /// HTTP/2 pings this often, also while idle, so that a half-dead connection (a server
    /// whose host vanished, a network that drops everything) is noticed within
    /// `keepalive_interval + keepalive_timeout`, not when the kernel's TCP timeout gives up
    /// minutes later.
    pub keepalive_interval: Duration,
    /// How long a ping may go unanswered before the connection is given up.
    pub keepalive_timeout: Duration,
}

impl ServerConfig {
    /// A server at `url` with default settings.
    pub fn new(url: impl Into<String>) -> Self {
        ServerConfig {
            url: url.into(),
            token: None,
            ca_cert: None,
            backoff: BackoffConfig::default(),
            backoff_seed: seed_from_time(),
            connect_timeout: Duration::from_secs(5),
            keepalive_interval: Duration::from_secs(5),
            keepalive_timeout: Duration::from_secs(10),
        }
    }
}

fn seed_from_time() -> u64 {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    now.as_nanos() as u64 ^ u64::from(std::process::id()).rotate_left(32)
}

type NetError = Box<dyn std::error::Error + Send + Sync>;

/// The connection loop of one bridge.
#[derive(Debug)]
pub(crate) struct Client {
    endpoint: Endpoint,
    auth: Option<MetadataValue<Ascii>>,
    backoff: Backoff,
}

impl Client {
    /// Checks the configuration (URL, token, certificate) without connecting.
    pub(crate) fn new(config: &ServerConfig) -> Result<Client, BridgeError> {
        let https = if config.url.starts_with("https://") {
            true
        } else if config.url.starts_with("http://") {
            false
        } else {
            return Err(BridgeError::config(
                "--server",
                format!("`{}` must start with http:// or https://", config.url),
            ));
        };
        let mut endpoint = Endpoint::from_shared(config.url.clone())
            .map_err(|e| BridgeError::config("--server", format!("`{}`: {e}", config.url)))?
            .connect_timeout(config.connect_timeout)
            .tcp_nodelay(true)
            .http2_keep_alive_interval(config.keepalive_interval)
            .keep_alive_timeout(config.keepalive_timeout)
            .keep_alive_while_idle(true)
            .initial_stream_window_size(Some(4 << 20))
            .initial_connection_window_size(Some(8 << 20));
        if https {
            let mut tls = ClientTlsConfig::new().with_native_roots();
            if let Some(path) = &config.ca_cert {
                let pem =
                    std::fs::read(path).map_err(|source| BridgeError::File { path: path.clone(), source })?;
                tls = tls.ca_certificate(Certificate::from_pem(pem));
            }
            endpoint =
                endpoint.tls_config(tls).map_err(|e| BridgeError::config("--server", e.to_string()))?;
        } else if config.ca_cert.is_some() {
            return Err(BridgeError::config("--ca", "is only used with an https:// server"));
        }
        let auth = match &config.token {
            Some(token) if token.is_empty() || !token.bytes().all(|b| b.is_ascii_graphic()) => {
                return Err(BridgeError::config("--token", "must be printable ASCII without spaces"));
            }
            Some(token) => Some(
                format!("Bearer {token}")
                    .parse::<MetadataValue<Ascii>>()
                    .map_err(|_| BridgeError::config("--token", "must be printable ASCII"))?,
            ),
            None => None,
        };
        Ok(Client { endpoint, auth, backoff: Backoff::new(config.backoff, config.backoff_seed) })
    }

    /// One connection and one call that changes nothing on the server (`Resume` of no session),
    /// with the token: what `pitwall bridge --check` asks. Each outcome is one [`Probe`].
    pub(crate) async fn probe(&self, timeout: Duration) -> Probe {
        let channel = match tokio::time::timeout(timeout, self.endpoint.connect()).await {
            Err(_) => return Probe::Unreachable(format!("no answer within {} s", timeout.as_secs_f64())),
            Ok(Err(e)) => return Probe::Unreachable(error_chain(&e)),
            Ok(Ok(channel)) => channel,
        };
        let mut client = TelemetryIngestClient::new(channel);
        let call = client.resume(self.request(ResumeRequest { session_ids: Vec::new() }));
        match tokio::time::timeout(timeout, call).await {
            Err(_) => Probe::Failed(format!("the server did not answer within {} s", timeout.as_secs_f64())),
            Ok(Ok(_)) => Probe::Accepted,
            Ok(Err(status)) if status.code() == tonic::Code::Unauthenticated => {
                Probe::TokenRefused { sent: self.auth.is_some(), message: status.message().to_owned() }
            }
            // A connection that opened but broke before an answer (not a gRPC server, a TLS
            // mismatch) comes back as UNAVAILABLE or UNKNOWN with a transport error inside.
            Ok(Err(status)) if status.code() == tonic::Code::Unavailable => {
                Probe::Unreachable(error_chain(&status))
            }
            Ok(Err(status)) => Probe::Failed(format!("{:?}: {}", status.code(), status.message())),
        }
    }

    fn request<T>(&self, message: T) -> Request<T> {
        let mut request = Request::new(message);
        if let Some(auth) = &self.auth {
            request.metadata_mut().insert("authorization", auth.clone());
        }
        request
    }

    /// Connects, streams and reconnects until the input is closed and everything is acked, or
    /// until the deadline that closing the input set.
    pub(crate) async fn run(mut self, shared: Arc<Shared>) {
        loop {
            if shared.finished() {
                break;
            }
            shared.metrics.set_state(ConnectionState::Connecting);
            let outcome = tokio::select! {
                r = self.connection(&shared) => r,
                () = shared.deadline() => break,
            };
            if shared.finished() {
                break;
            }
            if let Err(e) = &outcome {
                if let Some((session, seq, reason)) = e.downcast_ref::<Status>().and_then(refused_frame) {
                    // Sending it again would be refused again, forever, and hold up every
                    // session behind it: that session stops here, the others go on.
                    shared.spool().mark_stuck(&session, &format!("the server refused seq {seq}: {reason}"));
                }
            }
            Metrics::add(&shared.metrics.disconnects, 1);
            let delay = self.backoff.next_delay();
            // The first failure after a working connection is a warning; the retries that
            // follow (every few seconds for as long as the server is away) are debug noise.
            match outcome {
                Ok(()) => tracing::info!(retry_in = ?delay, "the server ended the stream"),
                Err(e) if self.backoff.failures() == 1 => {
                    tracing::warn!(error = %e, url = %self.endpoint.uri(), "connection failed; retrying with backoff")
                }
                Err(e) => tracing::debug!(error = %e, retry_in = ?delay, "connection failed again"),
            }
            shared.metrics.set_state(ConnectionState::Backoff);
            tokio::select! {
                () = tokio::time::sleep(delay) => {}
                () = shared.deadline() => break,
            }
        }
        shared.metrics.set_state(ConnectionState::Stopped);
    }

    /// One connection, from connect to its end.
    async fn connection(&mut self, shared: &Arc<Shared>) -> Result<(), NetError> {
        let channel = self.endpoint.connect().await?;
        self.resume(shared, channel.clone()).await?;
        self.backoff.reset();
        shared.metrics.set_state(ConnectionState::Connected);
        tracing::info!(url = %self.endpoint.uri(), "connected");

        let (tx, rx) = mpsc::channel(QUEUE);
        let feeder = tokio::spawn(feed(shared.clone(), tx));
        let mut grpc = tonic::client::Grpc::new(channel);
        grpc.ready().await?;
        let path = tonic::codegen::http::uri::PathAndQuery::from_static(proto::STREAM_FRAMES_PATH);
        let response = grpc.streaming(self.request(ReceiverStream::new(rx)), path, RawCodec).await;
        let result = match response {
            Ok(response) => read_acks(shared, response.into_inner()).await,
            Err(status) => Err(status.into()),
        };
        feeder.abort();
        result
    }

    /// Asks the server where each unfinished session stands and takes its answer as acked.
    async fn resume(&self, shared: &Arc<Shared>, channel: Channel) -> Result<(), NetError> {
        let ids = shared.spool().resume_sessions();
        if !ids.is_empty() {
            let mut client = TelemetryIngestClient::new(channel);
            let asked = ids.len();
            let reply = client.resume(self.request(ResumeRequest { session_ids: ids })).await?.into_inner();
            if reply.sessions.len() != asked {
                return Err(
                    format!("Resume answered {} sessions for {asked} asked", reply.sessions.len()).into()
                );
            }
            let mut spool = shared.spool();
            for ack in reply.sessions {
                let newly = spool.ack(&ack.session_id, ack.next_seq);
                Metrics::add(&shared.metrics.frames_acked, newly);
            }
        }
        shared.spool().reset_for_connect();
        Ok(())
    }
}

/// What one probe of the server found (see [`Client::probe`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Probe {
    /// Connected, and the call with the token was answered.
    Accepted,
    /// No connection: nothing listening, a wrong address, a firewall, a TLS failure.
    Unreachable(String),
    /// Connected, but the server refused the token (`sent`: whether one was sent at all).
    TokenRefused { sent: bool, message: String },
    /// Connected, but the call failed otherwise (not a pitwall server?).
    Failed(String),
}

/// An error and its causes on one line: tonic's transport errors say only "transport error"
/// at the top, and the useful part (connection refused, certificate unknown) is below.
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        let more = c.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        cause = c.source();
    }
    text
}

/// The frame the server refused as invalid, from its INVALID_ARGUMENT status: `invalid frame
/// (session <uuid>, seq <n>): <why>`.
fn refused_frame(status: &Status) -> Option<(Bytes, u64, String)> {
    if status.code() != tonic::Code::InvalidArgument {
        return None;
    }
    let message = status.message();
    // The identity as metadata (proto::REFUSED_*); the message is for people.
    let meta = status.metadata();
    let session = meta.get(proto::REFUSED_SESSION_ID).and_then(|v| v.to_str().ok());
    let seq = meta.get(proto::REFUSED_SEQ).and_then(|v| v.to_str().ok());
    if let (Some(session), Some(seq)) = (session, seq) {
        // Our session ids are UUIDs, whose 32-digit hex form uuid parses.
        let session = uuid::Uuid::try_parse(session).ok()?;
        let why = message.split_once("): ").map_or(message, |(_, why)| why);
        return Some((Bytes::copy_from_slice(session.as_bytes()), seq.parse().ok()?, why.to_owned()));
    }
    // A server without the metadata: the identity from the message.
    let rest = message.split_once("invalid frame (session ")?.1;
    let (session, rest) = rest.split_once(", seq ")?;
    let (seq, why) = rest.split_once(')')?;
    let session = uuid::Uuid::parse_str(session).ok()?;
    let why = why.trim_start_matches(':').trim();
    Some((Bytes::copy_from_slice(session.as_bytes()), seq.parse().ok()?, why.to_owned()))
}

async fn read_acks(shared: &Arc<Shared>, mut acks: Streaming<Ack>) -> Result<(), NetError> {
    loop {
        match acks.message().await? {
            Some(ack) => {
                let newly = shared.spool().ack(&ack.session_id, ack.next_seq);
                Metrics::add(&shared.metrics.frames_acked, newly);
            }
            None => return Ok(()),
        }
    }
}

/// The connection's queue closed: the call ended.
#[derive(Debug)]
struct Closed;

/// Moves frames from the spool (memory or recording) into the call, until the input is closed
/// and everything is sent (then the request stream ends, and the server acks and ends the call).
async fn feed(shared: Arc<Shared>, tx: mpsc::Sender<Bytes>) -> Result<(), Closed> {
    let mut batch = Vec::with_capacity(BATCH);
    loop {
        loop {
            let plan = shared.spool().plan_catch_up();
            let Some(pass) = plan else { break };
            tracing::info!(
                from = pass.start,
                to = pass.end,
                sessions = pass.sessions.len(),
                "sending from the recording"
            );
            catch_up(&shared, &tx, &pass).await?;
            shared.spool().after_catch_up(&pass);
        }
        loop {
            let live = shared.spool().take_live(&mut batch, BATCH);
            let n = batch.len() as u64;
            for frame in batch.drain(..) {
                tx.send(frame).await.map_err(|_| Closed)?;
            }
            Metrics::add(&shared.metrics.frames_sent, n);
            match live {
                Live::More => {}
                Live::NeedCatchUp => break,
                Live::Idle => {
                    // The sampler hands frames over in batches (up to a quarter second of
                    // them) and notifies: one wake-up and one write per batch. The timeout is
                    // only a safety net; shorter, its timer woke this thread besides the batch
                    // (18 wake-ups a second at 250 ms, 12 at 1 s, measured in the bench).
                    let _ = tokio::time::timeout(Duration::from_secs(1), shared.notify.notified()).await;
                }
                Live::Done => return Ok(()),
            }
        }
    }
}

/// One frame read back from the recording: its bytes and identity.
type ReadFrame = (Bytes, Bytes, u64);

/// Sends what `pass` finds in the recording and the spool allows.
async fn catch_up(shared: &Arc<Shared>, tx: &mpsc::Sender<Bytes>, pass: &CatchUp) -> Result<(), Closed> {
    let (btx, mut brx) = mpsc::channel::<Vec<ReadFrame>>(4);
    let reading = pass.clone();
    let reader = tokio::task::spawn_blocking(move || read_pass(&reading, &btx));
    while let Some(frames) = brx.recv().await {
        let mut send = Vec::with_capacity(frames.len());
        {
            let mut spool = shared.spool();
            for (bytes, session, seq) in frames {
                if spool.decide(&session, seq) == Decision::Send {
                    send.push(bytes);
                }
            }
        }
        let n = send.len() as u64;
        for frame in send {
            tx.send(frame).await.map_err(|_| Closed)?;
        }
        Metrics::add(&shared.metrics.frames_sent, n);
        Metrics::add(&shared.metrics.frames_from_recording, n);
    }
    if let Err(e) = reader.await {
        tracing::error!(error = %e, "the recording reader failed");
    }
    Ok(())
}

/// Reads the members of `pass` (on a blocking thread) into `out`, in batches.
fn read_pass(pass: &CatchUp, out: &mpsc::Sender<Vec<ReadFrame>>) {
    // Damage is skipped, not a reason to stop: frames after it are sent (the spool tells
    // whether the frames lost in it leave a session with a gap).
    let options =
        ReadOptions { start: pass.start, end: Some(pass.end), resync: true, ..ReadOptions::default() };
    let mut reader = match RecordReader::open_with(&pass.path, options) {
        Ok(r) => r,
        Err(e) => {
            tracing::error!(error = %e, "cannot read the recording back");
            return;
        }
    };
    let mut batch = Vec::with_capacity(64);
    while let Some(raw) = reader.next_raw() {
        let raw = match raw {
            Ok(raw) => raw,
            Err(e) if e.is_damage() => {
                tracing::error!(error = %e, "the recording is damaged; the frames in the damaged part cannot be re-sent");
                continue;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot read the recording back");
                break;
            }
        };
        // The identity is all we need, but a full decode is the one way to read it that
        // protobuf guarantees (fields may come in any order); it costs microseconds.
        let frame = match TelemetryFrame::decode(raw.clone()) {
            Ok(f) => f,
            Err(e) => {
                tracing::error!(error = %e, offset = reader.complete_end(), "a frame in the recording does not decode");
                break;
            }
        };
        // Copied: the raw bytes share the member's whole buffer.
        batch.push((Bytes::copy_from_slice(&raw), frame.session_id, frame.seq));
        if batch.len() == 64 && out.blocking_send(std::mem::take(&mut batch)).is_err() {
            return;
        }
    }
    if !batch.is_empty() {
        let _ = out.blocking_send(batch);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_frame_is_read_from_the_servers_status() {
        let message = "invalid frame (session 01932b6e-4000-7000-8000-000000000007, seq 42): field `throttle` = NaN \
                       must be finite; frames acked before it stay stored (after session x seq 41)";
        let (session, seq, why) = refused_frame(&Status::invalid_argument(message)).unwrap();
        assert_eq!(
            session.as_ref(),
            uuid::Uuid::parse_str("01932b6e-4000-7000-8000-000000000007").unwrap().as_bytes()
        );
        assert_eq!(seq, 42);
        assert!(why.starts_with("field `throttle` = NaN must be finite"), "{why}");
        assert_eq!(refused_frame(&Status::unavailable(message)), None, "only INVALID_ARGUMENT means refused");
        assert_eq!(
            refused_frame(&Status::invalid_argument("a message of 3 bytes is not a TelemetryFrame")),
            None
        );
    }

    #[test]
    fn a_refused_frame_is_read_from_the_status_metadata_first() {
        // The metadata names the frame even where the message says something else entirely.
        let mut status =
            Status::invalid_argument("invalid frame (session x, seq 1): field `gear` is out of range");
        status
            .metadata_mut()
            .insert(proto::REFUSED_SESSION_ID, "01932b6e400070008000000000000007".parse().unwrap());
        status.metadata_mut().insert(proto::REFUSED_SEQ, "9".parse().unwrap());
        let (session, seq, why) = refused_frame(&status).unwrap();
        assert_eq!(
            session.as_ref(),
            uuid::Uuid::parse_str("01932b6e-4000-7000-8000-000000000007").unwrap().as_bytes()
        );
        assert_eq!((seq, why.as_str()), (9, "field `gear` is out of range"));
        status.metadata_mut().insert(proto::REFUSED_SEQ, "nine".parse().unwrap());
        assert_eq!(refused_frame(&status), None, "garbage metadata is not a frame");
    }

    #[test]
    fn urls_tokens_and_certificates_are_checked_before_connecting() {
        let err = |c: ServerConfig| Client::new(&c).unwrap_err().to_string();
        assert!(err(ServerConfig::new("127.0.0.1:50051")).contains("http://"));
        assert!(err(ServerConfig::new("ftp://x")).contains("--server"));
        let mut c = ServerConfig::new("http://127.0.0.1:50051");
        c.token = Some("é".into());
        assert!(err(c).contains("--token"));
        let mut c = ServerConfig::new("https://localhost:50051");
        c.ca_cert = Some("/nonexistent/ca.pem".into());
        assert!(err(c).contains("/nonexistent/ca.pem"));
        let mut c = ServerConfig::new("http://localhost:50051");
        c.ca_cert = Some("/x.pem".into());
        assert!(err(c).contains("--ca"));
        assert!(Client::new(&ServerConfig::new("https://localhost:50051")).is_ok());
        let mut c = ServerConfig::new("http://[::1]:50051");
        c.token = Some("secret".into());
        assert!(Client::new(&c).is_ok());
    }
}
