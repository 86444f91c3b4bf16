//! # pitwall-ingest: the gRPC ingest server
//!
//! Bridges stream `TelemetryFrame`s over `TelemetryIngest.StreamFrames`; the server stores each
//! frame exactly once and acks it only once it is durable, so a bridge can drop everything the
//! server acked and resend everything else after any crash on either side.
//!
//! ```text
//!  bridge ──frames──▶ stream task ──batch──▶ WAL writer ──write+fdatasync──▶ DATA/wal/*.wal
//!         ◀──acks───  (decode,      (bounded  (dedupe by (session, seq),        │
//!                      validate,     queue)    group commit, one ack per        │ read back
//!                      frame)                  session per commit)              ▼
//!                                                              sink pipelines ──▶ sinks
//!                                                              (retry, flush, checkpoint;
//!                                                               segments deleted behind them)
//! ```
//!
//! - [`service`]: the tonic service. One task per stream decodes and validates frames
//!   ([`validate`]) and hands batches to the writer; acks are cumulative per session
//!   (`Ack { session_id, next_seq }`: every frame with a lower seq is durable) and follow the
//!   group commit. `Resume` answers each session's durable next_seq.
//! - [`wal`]: the write-ahead log — segment format, group-committing writer (the one place
//!   that dedupes), replay that skips and reports damage and cuts a torn tail, [`Wal::read_all`]
//!   for tools and tests.
//! - [`sinks`]: the [`sinks::Sink`] trait, sink configs, the pipeline that feeds sinks from the
//!   log and keeps their checkpoints, and the [`sinks::conformance`] test.
//! - [`Server`] / [`Running`]: start-up (replay, writer, sinks, listener with bearer-token auth
//!   and optional TLS) and graceful shutdown (drain streams, commit, ack, flush sinks).
//! - [`Config`]: the TOML configuration.
//!
//! - [`live`]: the live tap ([`Running::live_tap`]): every frame once durable, on a broadcast
//!   channel that never makes ingest wait (a slow viewer skips).
//! - [`metrics`]: Prometheus `GET /metrics` on its own address.
//! - Sinks shipped: `parquet` (the embedded default: `DATA/sinks/parquet/session=…/car=…/
//!   part-N.parquet` with the `table` crate's schema, and `_catalogue.sqlite`), `recording`
//!   (one `.pb.gz` per session, the bridge's format) and `null`.
//!
//! ```no_run
//! # async fn demo() -> Result<(), ingest::IngestError> {
//! let config = ingest::Config { data_dir: "/tmp/pitwall".into(), ..Default::default() };
//! let running = ingest::Server::new(config).start().await?;
//! println!("listening on {}", running.local_addr());
//! let stats = running.run_until(ingest::shutdown_signal()).await?;
//! println!("{} frames stored", stats.frames_stored);
//! # Ok(())
//! # }
//! ```

// Without the `server` feature only the WAL's byte format and the session id are built (for the
// fuzz target of the WAL reader); everything else is the server.
#[cfg(feature = "server")]
pub mod config;
#[cfg(feature = "server")]
pub mod error;
#[cfg(feature = "server")]
pub mod gate;
#[cfg(feature = "live")]
pub mod live;
#[cfg(feature = "message")]
pub mod message;
#[cfg(feature = "server")]
pub mod metrics;
#[cfg(feature = "server")]
mod server;
#[cfg(feature = "server")]
pub mod service;
mod session;
#[cfg(feature = "server")]
pub mod sinks;
#[cfg(feature = "server")]
mod stats;
#[cfg(feature = "server")]
pub mod validate;
pub mod wal;

#[cfg(feature = "server")]
pub use config::{Config, StreamConfig, TlsConfig, WalConfig};
#[cfg(feature = "server")]
pub use error::{ConfigError, ErrorChain, IngestError, SinkError, WalError};
#[cfg(feature = "server")]
pub use metrics::MetricsSource;
#[cfg(feature = "server")]
pub use server::{Running, Server, ShutdownHandle, shutdown_signal};
#[cfg(feature = "server")]
pub use service::{IngestServer, IngestService};
pub use session::SessionId;
#[cfg(feature = "server")]
pub use stats::StatsSnapshot;
#[cfg(feature = "server")]
pub use validate::{Invalid, validate};
#[cfg(feature = "server")]
#[doc(hidden)]
pub use wal::writer::WalFaults;
#[cfg(feature = "server")]
pub use wal::{ReplayReport, TornTail, Wal, WalDamage, WalFrame, WalPosition};
