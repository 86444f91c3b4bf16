//! Sinks: where frames go after the WAL has made them durable (Parquet, recordings, …).
//!
//! Every sink has the same shape (after vector):
//! - a config variant in [`SinkKind`] (TOML: `[[sinks]]` with `type = "…"`) that builds it;
//! - an implementation of the small async trait [`Sink`]: `write` a batch, `flush` (= everything
//!   written so far is durable);
//! - one folder, `sinks/<name>/`;
//! - a pass of the [`conformance`] test.
//!
//! The pipeline (one task per configured sink) reads committed frames back from the WAL, writes
//! them in batches, retries failed writes and flushes with backoff, and after each successful
//! flush stores the sink's checkpoint: the WAL position its output is durable up to. A WAL
//! segment is deleted once every sink's checkpoint is past it. After a restart each sink resumes
//! from its checkpoint, so frames the sink had not made durable are written again; a sink that
//! records WAL positions in its own output can report them through [`Sink::durable_position`]
//! so that nothing is written twice.
//!
//! A sink that needs the decoded frame calls [`WalFrame::decode`]; one that stores bytes as they
//! came uses [`WalFrame::bytes`].
//!
//! ```
//! use ingest::sinks::{Sink, WalFrame};
//! use ingest::SinkError;
//!
//! /// Counts frames; "durable" trivially.
//! #[derive(Debug, Default)]
//! struct Count(u64);
//!
//! impl Sink for Count {
//!     async fn write(&mut self, batch: &[WalFrame]) -> Result<(), SinkError> {
//!         self.0 += batch.len() as u64;
//!         Ok(())
//!     }
//!     async fn flush(&mut self) -> Result<(), SinkError> {
//!         Ok(())
//!     }
//! }
//! ```

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;

use serde::{Deserialize, Serialize};

pub use crate::error::SinkError;
pub use crate::wal::{WalFrame, WalPosition};

pub(crate) mod checkpoint;
pub mod conformance;
pub mod jetstream;
pub mod laps;
pub mod null;
pub mod parquet;
pub(crate) mod pipeline;
pub mod recording;

pub use checkpoint::load_checkpoint;
pub use pipeline::Backoff;

/// A destination for stored frames.
///
/// Contract (checked by [`conformance::run`]):
/// - `write` may buffer; `flush` returns only once everything written before it is durable
///   (survives a SIGKILL of the server and a power cut, as far as the storage allows);
/// - a failed `write` leaves the sink as if the batch had not been written (the pipeline writes
///   the same batch again), and a failed `flush` may be retried;
/// - errors are returned, never panics; frames arrive in WAL order, each once per run, but after
///   a restart the frames since the last checkpoint arrive again unless
///   [`Sink::durable_position`] says they are already in;
/// - a sink that a failure leaves unable to go on where it was may instead say so from
///   [`Sink::recover`]: the frames since its last checkpoint are then delivered again, as after
///   a restart.
pub trait Sink: Send + 'static {
    /// Writes a batch of frames (possibly only into a buffer).
    fn write(&mut self, batch: &[WalFrame]) -> impl Future<Output = Result<(), SinkError>> + Send;

    /// Makes everything written so far durable.
    fn flush(&mut self) -> impl Future<Output = Result<(), SinkError>> + Send;

    /// Where this sink's durable output ends, if the sink records WAL positions in its output
    /// ([`WalFrame::end`] of the last frame it holds). Asked once, after opening; the pipeline
    /// then starts from the later of this and the stored checkpoint. The default, `None`, means
    /// "rely on the checkpoint".
    fn durable_position(&mut self) -> impl Future<Output = Result<Option<WalPosition>, SinkError>> + Send {
        async { Ok(None) }
    }

    /// The seq this sink expects next of `session`: every lower seq of it is in its output
    /// (durable, or written since the last flush). A reader of a stream that may deliver a
    /// session's frames out of order (a sink worker) holds back frames beyond it. The default,
    /// `None`, means "not known".
    fn next_seq(&self, _session: &crate::SessionId) -> Option<u64> {
        None
    }

    /// Called by the pipeline after a `write` or `flush` failed, before it tries again. A sink
    /// that the failure left unable to go on where it was (a half-written file it must throw
    /// away, and with it the frames it took since its last flush) gets back to its last durable
    /// state here, as a restart would, and returns [`Recovery::Redeliver`]: the pipeline then
    /// delivers again every frame after the later of its checkpoint and
    /// [`Sink::durable_position`] (asked again), and the sink skips those its durable output
    /// already holds. An error is logged and the pipeline tries again after a backoff. The
    /// default, [`Recovery::Retry`], retries the failed call as it was.
    fn recover(&mut self) -> impl Future<Output = Result<Recovery, SinkError>> + Send {
        async { Ok(Recovery::Retry) }
    }
}

/// What [`Sink::recover`] asks of the pipeline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recovery {
    /// Call the failed `write` or `flush` again, as it was.
    Retry,
    /// The sink is back at its last durable state: deliver every frame after it again.
    Redeliver,
}

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The object-safe twin of [`Sink`], implemented for every sink, so the pipeline can hold sinks
/// of different types (built from config) behind one [`BoxSink`].
trait DynSink: Send {
    fn write_dyn<'a>(&'a mut self, batch: &'a [WalFrame]) -> BoxFuture<'a, Result<(), SinkError>>;
    fn flush_dyn(&mut self) -> BoxFuture<'_, Result<(), SinkError>>;
    fn durable_position_dyn(&mut self) -> BoxFuture<'_, Result<Option<WalPosition>, SinkError>>;
    fn recover_dyn(&mut self) -> BoxFuture<'_, Result<Recovery, SinkError>>;
}

impl<S: Sink> DynSink for S {
    fn write_dyn<'a>(&'a mut self, batch: &'a [WalFrame]) -> BoxFuture<'a, Result<(), SinkError>> {
        Box::pin(self.write(batch))
    }

    fn flush_dyn(&mut self) -> BoxFuture<'_, Result<(), SinkError>> {
        Box::pin(self.flush())
    }

    fn durable_position_dyn(&mut self) -> BoxFuture<'_, Result<Option<WalPosition>, SinkError>> {
        Box::pin(self.durable_position())
    }

    fn recover_dyn(&mut self) -> BoxFuture<'_, Result<Recovery, SinkError>> {
        Box::pin(self.recover())
    }
}

/// Any sink, boxed.
pub struct BoxSink(Box<dyn DynSink>);

impl BoxSink {
    /// Boxes a sink.
    pub fn new(sink: impl Sink) -> Self {
        BoxSink(Box::new(sink))
    }
}

impl std::fmt::Debug for BoxSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BoxSink")
    }
}

impl Sink for BoxSink {
    async fn write(&mut self, batch: &[WalFrame]) -> Result<(), SinkError> {
        self.0.write_dyn(batch).await
    }

    fn flush(&mut self) -> impl Future<Output = Result<(), SinkError>> + Send {
        self.0.flush_dyn()
    }

    fn durable_position(&mut self) -> impl Future<Output = Result<Option<WalPosition>, SinkError>> + Send {
        self.0.durable_position_dyn()
    }

    fn recover(&mut self) -> impl Future<Output = Result<Recovery, SinkError>> + Send {
        self.0.recover_dyn()
    }
}

/// One `[[sinks]]` entry of the config file.
///
/// ```toml
/// [[sinks]]
/// name = "bench"        # unique; names the checkpoint and the sink's data folder
/// type = "null"
/// flush_interval_ms = 1000
/// ```
///
/// The sinks of this crate (each module documents its settings):
///
/// ```toml
/// [[sinks]]
/// name = "parquet"      # the default when the config lists no sinks
/// type = "parquet"      # DATA/sinks/parquet/session=<uuid>/car=<car>/part-N.parquet + catalogue
///
/// [[sinks]]
/// name = "recordings"
/// type = "recording"    # DATA/sinks/recordings/<uuid>.pb.gz, the bridge's recording format
///
/// [[sinks]]
/// name = "laps"         # a default sink too
/// type = "laps"         # telemetry laps into DATA/records.sqlite, linked to server laps
///
/// [[sinks]]
/// name = "jetstream"
/// type = "jetstream"    # a NATS JetStream stream; bridges acked once it has their frames
/// servers = ["nats://127.0.0.1:4222"]
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(from = "RawSinkConfig")]
pub struct SinkConfig {
    /// Unique name: letters, digits, `-` and `_`.
    pub name: String,
    /// How often the pipeline flushes the sink and stores its checkpoint. Longer means fewer,
    /// larger output files and more WAL kept around. Default: the sink type's
    /// ([`SinkKind::default_flush_interval_ms`]).
    pub flush_interval_ms: u64,
    /// Most frames per `write` call.
    pub batch_max_frames: usize,
    /// The sink type and its settings.
    #[serde(flatten)]
    pub kind: SinkKind,
}

/// [`SinkConfig`] as written in TOML: the intervals may be left out, and then depend on the
/// sink type.
#[derive(Deserialize)]
struct RawSinkConfig {
    name: String,
    flush_interval_ms: Option<u64>,
    batch_max_frames: Option<usize>,
    #[serde(flatten)]
    kind: SinkKind,
}

impl From<RawSinkConfig> for SinkConfig {
    fn from(raw: RawSinkConfig) -> Self {
        SinkConfig {
            flush_interval_ms: raw.flush_interval_ms.unwrap_or_else(|| raw.kind.default_flush_interval_ms()),
            batch_max_frames: raw.batch_max_frames.unwrap_or_else(default_batch_max_frames),
            name: raw.name,
            kind: raw.kind,
        }
    }
}

fn default_flush_interval_ms() -> u64 {
    1000
}

fn default_batch_max_frames() -> usize {
    4096
}

impl SinkConfig {
    /// A sink of `kind` named `name` with the default intervals.
    pub fn new(name: impl Into<String>, kind: SinkKind) -> Self {
        SinkConfig {
            name: name.into(),
            flush_interval_ms: kind.default_flush_interval_ms(),
            batch_max_frames: default_batch_max_frames(),
            kind,
        }
    }
}

impl SinkConfig {
    /// Checks the ranges of the numeric settings: the pipeline's and the sink type's.
    pub fn validate(&self) -> Result<(), crate::ConfigError> {
        use crate::config::check_range;
        let section = format!("[[sinks]] {:?}", self.name);
        let at = Some(section.as_str());
        check_range(at, "flush_interval_ms", self.flush_interval_ms, 1..=86_400_000)?;
        check_range(at, "batch_max_frames", self.batch_max_frames, 1..=1 << 20)?;
        match &self.kind {
            SinkKind::Null(_) => {}
            SinkKind::Parquet(c) => {
                check_range(at, "max_file_rows", c.max_file_rows, 1..=1 << 32)?;
                check_range(at, "max_file_bytes", c.max_file_bytes, 64 << 10..=1 << 40)?;
                // A row group is buffered in memory until it is written.
                check_range(at, "row_group_rows", c.row_group_rows, 1..=1 << 20)?;
                // Parquet's zstd levels; checked whatever the compression, so that switching
                // it on later cannot fail at the first write.
                check_range(at, "zstd_level", c.zstd_level, 1..=22)?;
                check_range(at, "encode_threads", c.encode_threads, 1..=256)?;
            }
            SinkKind::Recording(c) => {
                check_range(at, "level", c.level, 0..=9)?;
                check_range(at, "close_after_flushes", c.close_after_flushes, 1..=1_000_000)?;
            }
            SinkKind::Laps(_) => {}
            SinkKind::JetStream(c) => {
                check_range(at, "replicas", c.replicas, 1..=5)?;
                check_range(at, "frames_per_message", c.frames_per_message, 1..=65_536)?;
                // JetStream's max_payload is 1 MiB by default and at most 64 MiB.
                check_range(at, "max_message_bytes", c.max_message_bytes, 1024..=64 << 20)?;
                check_range(at, "timeout_ms", c.timeout_ms, 10..=600_000)?;
                check_range(at, "duplicate_window_ms", c.duplicate_window_ms, 0..=86_400_000)?;
                c.check()
                    .map_err(|e| crate::ConfigError::Invalid(format!("[[sinks]] {:?}: {e}", self.name)))?;
            }
        }
        Ok(())
    }
}

/// The sink types. Adding one: a variant here, a folder `sinks/<type>/` with its config struct
/// and [`Sink`] implementation, an arm in [`SinkKind::build`], and a conformance test.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SinkKind {
    /// Discards everything: for benchmarks, and to let the WAL be trimmed when no other sink is
    /// wanted.
    Null(null::NullConfig),
    /// The frame table as Parquet files, one folder per session and car, with a catalogue
    /// ([`parquet`]).
    Parquet(parquet::ParquetConfig),
    /// One recording (`.pb.gz`, the bridge's format) per session ([`recording`]).
    Recording(recording::RecordingConfig),
    /// Telemetry laps into the records database, linked there to the server's laps ([`laps`]).
    Laps(laps::LapsConfig),
    /// Frames published to a NATS JetStream stream, for ingest over several nodes and sink
    /// workers ([`jetstream`]). Bridges are then acked only once JetStream has their frames.
    #[serde(rename = "jetstream")]
    JetStream(jetstream::JetStreamConfig),
}

/// What a sink gets to build itself.
#[derive(Debug, Clone)]
pub struct SinkContext {
    /// The sink's configured name.
    pub name: String,
    /// A folder of its own under the data directory (`DATA/sinks/<name>`); created on demand by
    /// the sink.
    pub dir: PathBuf,
    /// The server's data directory (`DATA`), for a sink whose output is shared (the laps
    /// sink's records database).
    pub data_dir: PathBuf,
    /// The ack gate of the server, for a sink whose acknowledgements bridges' acks wait for
    /// (the JetStream sink); `None` outside a server.
    pub gate: Option<crate::gate::AckGate>,
}

impl SinkKind {
    /// Builds the sink (blocking file I/O for sinks that open files).
    pub fn build(&self, ctx: &SinkContext) -> Result<BoxSink, SinkError> {
        match self {
            SinkKind::Null(config) => Ok(BoxSink::new(null::NullSink::new(config))),
            SinkKind::Parquet(config) => {
                Ok(BoxSink::new(parquet::ParquetSink::open(config.root(ctx), config)?))
            }
            SinkKind::Recording(config) => {
                Ok(BoxSink::new(recording::RecordingSink::open(config.root(ctx), config)?))
            }
            SinkKind::Laps(config) => Ok(BoxSink::new(laps::LapsSink::open(config.db_path(ctx), config)?)),
            SinkKind::JetStream(config) => {
                Ok(BoxSink::new(jetstream::JetStreamSink::new(config, ctx.gate.clone())))
            }
        }
    }

    /// The flush interval used when a sink's config does not set one, ms.
    pub fn default_flush_interval_ms(&self) -> u64 {
        match self {
            SinkKind::Parquet(_) => parquet::DEFAULT_FLUSH_INTERVAL_MS,
            SinkKind::Null(_) | SinkKind::Recording(_) | SinkKind::Laps(_) => default_flush_interval_ms(),
            // Every write is durable when it returns; a flush only moves the checkpoint (and
            // lets the WAL be trimmed), which costs an fsync.
            SinkKind::JetStream(_) => default_flush_interval_ms(),
        }
    }
}
