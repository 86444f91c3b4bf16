//! The Parquet sink (`type = "parquet"`, the default sink): the frame table of `pitwall-table`,
//! one folder per session and car, a catalogue beside it.
//!
//! ```text
//! DATA/sinks/<name>/                        (or `path`)
//!   _catalogue.sqlite                       sessions and files (see [`catalogue`])
//!   session=<uuid>/car=<car model>/
//!     part-000000.parquet                   finished part files
//!     .part-000001.parquet.inprogress       the part being written (hidden from readers)
//! ```
//!
//! The folders are hive partitions, so every reader opens the whole dataset at once:
//! `pyarrow.dataset.dataset(root, partitioning="hive")`, `pl.scan_parquet(f"{root}/**/*.parquet")`,
//! DuckDB's `read_parquet('root/*/*/*.parquet', hive_partitioning = true)`. Columns, units and
//! the enum and null conventions are `pitwall-table`'s (one schema for the sink and
//! `pitwall convert`); the session's metadata (car, track, driver, …) is in each file's
//! key-value metadata (`pitwall.session`, JSON) and in the catalogue, not in the rows.
//!
//! **Part files and flushes.** Each session writes into one part file at a time, written under
//! a hidden name. [`Sink::flush`] finishes every open part file: footer, fsync, rename to
//! `part-N.parquet`, fsync of the folder; then the catalogue records the files in one
//! transaction. So a part file holds at most one flush interval of a session, and the sink's
//! flush interval sets file sizes: 30 s by default for this sink (10 000 rows per car at
//! 333 Hz); a part file is also finished early once it holds `max_file_rows` rows or
//! `max_file_bytes` bytes.
//!
//! **Exactly once.** Every part file's footer records its rows' seq range and the WAL position
//! of its last row (`pitwall.file`). At open the sink reconciles the catalogue with the files
//! (finished files the catalogue missed are read from their footers and added; half-written
//! ones are removed: their rows are still in the WAL), learns each session's highest stored
//! seq, and skips re-delivered frames below it; [`Sink::durable_position`] is the position the
//! last completed flush committed. See `writer.rs` for why a session's stored rows are always a
//! prefix of it, which is what makes this exact.
//!
//! **Failures.** A part file that cannot be written (a full disk) takes the rows of the open
//! parts with it. The sink then reopens its dataset as a restart would ([`Sink::recover`]) and
//! the pipeline delivers the frames since its last flush again from the WAL; meanwhile its
//! checkpoint stays put, so the WAL segments it has not made durable are kept.
//!
//! ```toml
//! [[sinks]]
//! name = "parquet"
//! type = "parquet"
//! flush_interval_ms = 30000        # each flush ends the part files
//! # path = "/srv/telemetry"        # default: DATA/sinks/<name>
//! # max_file_rows = 1048576        # finish a part file early at this many rows…
//! # max_file_bytes = 268435456     # …or this many bytes
//! # row_group_rows = 131072
//! # compression = "lz4_raw"       # or "zstd" (smaller files, slower to write)
//! # zstd_level = 1
//! ```

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::{Recovery, Sink, SinkContext, SinkError, WalFrame, WalPosition};

pub mod catalogue;
mod writer;

pub use catalogue::{CATALOGUE_FILE, FileEntry, SessionEntry, SessionSummary, catalogue_path, list_sessions};
pub use writer::{KV_FILE, OpenReport, Scope, car_dir};

/// Flush interval of a Parquet sink whose config does not set one: every flush ends the part
/// files, so this is the longest a part file spans.
pub const DEFAULT_FLUSH_INTERVAL_MS: u64 = 30_000;

/// `type = "parquet"` settings.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ParquetConfig {
    /// Dataset folder; default `DATA/sinks/<name>`.
    pub path: Option<PathBuf>,
    /// Finish a part file once it holds this many rows.
    pub max_file_rows: u64,
    /// Finish a part file once it is about this large, bytes.
    pub max_file_bytes: u64,
    /// Most rows per row group.
    pub row_group_rows: usize,
    /// Compression of the column chunks: `lz4_raw` (default: the fastest to write, files
    /// about 10 % larger than zstd 1; pyarrow, polars and DuckDB read it) or `zstd`.
    pub compression: Compression,
    /// zstd level, when `compression = "zstd"`.
    pub zstd_level: i32,
    /// Threads that encode a batch's columns (1: the sink's own blocking task). More lets the
    /// sink keep up with more frames per second where cores are free; on a machine the acks
    /// and the streams already keep busy it only moves the work around.
    pub encode_threads: usize,
}

/// Compression of the Parquet sink's column chunks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Compression {
    /// `LZ4_RAW`: cheapest to write. The ingest server's CPU is shared with the ack path, so the
    /// sink takes the fast codec by default.
    #[default]
    Lz4Raw,
    /// zstd at `zstd_level`: the smallest files.
    Zstd,
}

impl Default for ParquetConfig {
    fn default() -> Self {
        ParquetConfig {
            path: None,
            max_file_rows: 1 << 20,
            max_file_bytes: 256 << 20,
            row_group_rows: 128 * 1024,
            compression: Compression::default(),
            zstd_level: 1,
            encode_threads: 1,
        }
    }
}

impl ParquetConfig {
    /// The dataset folder for a sink built in `ctx`.
    pub fn root(&self, ctx: &SinkContext) -> PathBuf {
        self.path.clone().unwrap_or_else(|| ctx.dir.clone())
    }
}

/// The Parquet sink. Its file work runs on tokio's blocking pool, so a large batch never holds
/// up the server's other tasks.
pub struct ParquetSink {
    core: Option<writer::Core>,
    report: OpenReport,
    root: PathBuf,
    config: ParquetConfig,
    scope: Option<Scope>,
}

impl std::fmt::Debug for ParquetSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParquetSink")
            .field("root", &self.root)
            .field("core", &self.core)
            .field("scoped", &self.scope.is_some())
            .finish_non_exhaustive()
    }
}

impl ParquetSink {
    /// Opens (creating) the dataset in `root`, repairing what a crash left (see
    /// [`ParquetSink::open_report`]). Blocking file I/O.
    pub fn open(root: impl Into<PathBuf>, config: &ParquetConfig) -> Result<Self, SinkError> {
        Self::open_scoped(root, config, None)
    }

    /// Like [`ParquetSink::open`], for a writer that shares the dataset with others: with a
    /// `scope`, the sink reads, repairs and writes only the sessions it says yes to (a sink
    /// worker's share), and leaves other writers' files alone.
    pub fn open_scoped(
        root: impl Into<PathBuf>,
        config: &ParquetConfig,
        scope: Option<Scope>,
    ) -> Result<Self, SinkError> {
        let root = root.into();
        let core = writer::Core::open(root.clone(), config.clone(), scope.clone())?;
        let report = core.report().clone();
        Ok(ParquetSink { core: Some(core), report, root, config: config.clone(), scope })
    }

    /// What opening found and repaired.
    pub fn open_report(&self) -> &OpenReport {
        &self.report
    }

    /// Frames skipped because the dataset already held them (re-delivered after a restart).
    pub fn skipped(&self) -> u64 {
        self.core.as_ref().map_or(0, |c| c.skipped)
    }

    async fn run<T: Send + 'static>(
        &mut self,
        f: impl FnOnce(&mut writer::Core) -> Result<T, SinkError> + Send + 'static,
    ) -> Result<T, SinkError> {
        let Some(mut core) = self.core.take() else {
            return Err(SinkError::other("the Parquet sink lost its state to a panic; restart the server"));
        };
        let (core, result) = tokio::task::spawn_blocking(move || {
            let r = f(&mut core);
            (core, r)
        })
        .await
        .map_err(|e| SinkError::other(format!("Parquet sink task: {e}")))?;
        self.core = Some(core);
        result
    }
}

impl Sink for ParquetSink {
    async fn write(&mut self, batch: &[WalFrame]) -> Result<(), SinkError> {
        if batch.is_empty() {
            return Ok(());
        }
        let batch = batch.to_vec();
        self.run(move |core| core.write(&batch)).await
    }

    async fn flush(&mut self) -> Result<(), SinkError> {
        self.run(|core| core.flush()).await
    }

    async fn durable_position(&mut self) -> Result<Option<WalPosition>, SinkError> {
        Ok(self.core.as_ref().and_then(|c| c.committed()))
    }

    /// Every session of the dataset (of its scope) is known from the files at open: one it has
    /// no file of expects seq 0.
    fn next_seq(&self, session: &crate::SessionId) -> Option<u64> {
        self.core.as_ref().map(|c| c.next_seq(session))
    }

    /// After a part file failed (a full disk, an I/O error) the rows taken since the last
    /// flush are gone with it, so the sink reopens its dataset as a restart would: half-written
    /// part files are removed, finished ones the catalogue lacks are adopted, and each
    /// session's stored seqs are learnt again. The pipeline then delivers the frames after the
    /// last durable point again, and those already stored are skipped. A failure that left the
    /// sink intact (the catalogue's commit, say) is simply retried.
    async fn recover(&mut self) -> Result<Recovery, SinkError> {
        if self.core.as_ref().is_some_and(|c| !c.is_poisoned()) {
            return Ok(Recovery::Retry);
        }
        let old = self.core.take();
        let (root, config, scope) = (self.root.clone(), self.config.clone(), self.scope.clone());
        let core = tokio::task::spawn_blocking(move || {
            // The old state's files are closed before the dataset is read again.
            drop(old);
            writer::Core::open(root, config, scope)
        })
        .await
        .map_err(|e| SinkError::other(format!("Parquet sink task: {e}")))??;
        tracing::info!(
            root = %self.root.display(),
            removed = core.report().removed_in_progress.len(),
            adopted = core.report().adopted.len(),
            "Parquet sink reopened after a failure; the frames since its last flush are written again"
        );
        self.core = Some(core);
        Ok(Recovery::Redeliver)
    }
}
