//! Writing the table to Parquet: writer properties, the file writer, and the keys of a file's
//! key-value metadata.

use std::io::Write;

use arrow_array::RecordBatch;
use arrow_schema::{DataType, SchemaRef};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_writer::{
    ArrowColumnChunk, ArrowColumnWriter, ArrowLeafColumn, ArrowRowGroupWriterFactory, compute_leaves,
};
use parquet::basic::{Compression, Encoding, ZstdLevel};
use parquet::errors::ParquetError;
use parquet::file::metadata::{KeyValue, ParquetMetaData};
use parquet::file::properties::{EnabledStatistics, WriterProperties, WriterVersion};
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::ColumnPath;
use proto::telemetry::v1::TelemetryFrame;

use crate::builder::FrameBuilder;
use crate::error::TableError;
use crate::schema::{Derived, FrameSchema, SCHEMA_VERSION, Variant};

/// Key-value metadata key: the table layout version ([`SCHEMA_VERSION`]).
pub const KV_SCHEMA_VERSION: &str = "pitwall.schema_version";
/// Key-value metadata key: the session id (UUID text) of the file's rows.
pub const KV_SESSION_ID: &str = "pitwall.session_id";
/// Key-value metadata key: the session's metadata as JSON
/// ([`session_metadata_json`](crate::session_metadata_json)).
pub const KV_SESSION: &str = "pitwall.session";

/// How the Parquet files are written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WriteOptions {
    /// Most rows per row group. 128 Ki rows (about 6.5 minutes of one car at 333 Hz) is large
    /// enough for efficient scans and small enough that readers can skip by statistics.
    pub row_group_rows: usize,
    /// Rows the builder collects before they are handed to the Parquet writer as one batch.
    pub batch_rows: usize,
    /// zstd level (1 is the fastest; higher levels gain little on telemetry floats).
    pub zstd_level: i32,
    /// The compression codec.
    pub codec: Codec,
    /// Threads that encode and compress the columns of each batch (1: on the caller's thread).
    /// Column chunks are independent in Parquet, so with `n` threads each encodes a share of
    /// the columns (scoped threads per batch, the documented way to parallelise arrow-rs
    /// writing); the file is the same as with one thread.
    pub threads: usize,
}

impl Default for WriteOptions {
    fn default() -> Self {
        WriteOptions {
            row_group_rows: 128 * 1024,
            batch_rows: 8192,
            zstd_level: 1,
            codec: Codec::Zstd,
            threads: 1,
        }
    }
}

/// The compression codec of the column chunks.
///
/// Measured on realistic frames (`TABLE_BENCH_QUICK=1 cargo bench -p pitwall-table`, write
/// only, per CPU second): zstd 1 about 0.36–0.39 M rows/s at 235 bytes per row, `LZ4_RAW`
/// about 0.53 M rows/s (1.4–1.5x) at 259 bytes per row (+10%); uncompressed 0.6–0.7 M rows/s
/// at 693 bytes. pyarrow, polars and DuckDB read both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Codec {
    /// zstd at [`WriteOptions::zstd_level`]: the smallest files.
    #[default]
    Zstd,
    /// `LZ4_RAW`: the fastest writing, files about 10% larger than zstd 1.
    Lz4Raw,
}

/// Parquet writer properties for `schema`: zstd, row groups of `row_group_rows`, chunk-level
/// statistics (min/max per row group, what readers use to skip), dictionary encoding only for
/// the dictionary columns (session id, enums, tyre compound), and `BYTE_STREAM_SPLIT` for the
/// floats.
///
/// Measured on realistic frames (`cargo bench -p pitwall-table`, which prints each choice
/// against these): dictionaries for every column make the writer 3x slower and the files 50%
/// larger (telemetry floats rarely repeat: the writer builds dictionaries only to drop them);
/// byte-stream-split floats (the bytes of each float regrouped by significance before zstd,
/// which pyarrow, polars and DuckDB all read) make files about 40% smaller at the same speed.
pub fn writer_properties(
    schema: &FrameSchema,
    options: &WriteOptions,
) -> Result<WriterProperties, TableError> {
    let level = ZstdLevel::try_new(options.zstd_level)?;
    let compression = match options.codec {
        Codec::Zstd => Compression::ZSTD(level),
        Codec::Lz4Raw => Compression::LZ4_RAW,
    };
    let mut b = WriterProperties::builder()
        .set_writer_version(WriterVersion::PARQUET_1_0)
        .set_compression(compression)
        .set_max_row_group_row_count(Some(options.row_group_rows.max(1)))
        .set_statistics_enabled(EnabledStatistics::Chunk)
        .set_dictionary_enabled(false)
        .set_created_by(format!("pitwall-table {} (parquet-rs)", env!("CARGO_PKG_VERSION")));
    for c in schema.columns() {
        let path = ColumnPath::from(c.name.as_str());
        match c.data_type {
            DataType::Dictionary(..) => b = b.set_column_dictionary_enabled(path, true),
            DataType::Float32 | DataType::Float64 => {
                b = b.set_column_encoding(path, Encoding::BYTE_STREAM_SPLIT)
            }
            _ => {}
        }
    }
    Ok(b.build())
}

/// Writes frames to one Parquet file.
///
/// ```
/// use proto::telemetry::v1::TelemetryFrame;
/// use table::{FrameFileWriter, Variant, WriteOptions};
///
/// let mut out = Vec::new();
/// let mut w = FrameFileWriter::new(&mut out, Variant::Frames, &WriteOptions::default())?;
/// let frames: Vec<TelemetryFrame> = (0..1000).map(|seq| TelemetryFrame { seq, ..Default::default() }).collect();
/// w.append(&frames)?;
/// w.add_metadata("note", "example");
/// let meta = w.finish()?;
/// assert_eq!(meta.file_metadata().num_rows(), 1000);
/// # Ok::<(), table::TableError>(())
/// ```
#[derive(Debug)]
pub struct FrameFileWriter<W: Write + Send> {
    writer: Sink<W>,
    builder: FrameBuilder,
    batch_rows: usize,
    rows: u64,
}

/// Where finished batches go: arrow-rs's writer on this thread, or column writers driven by
/// several threads.
#[derive(Debug)]
enum Sink<W: Write + Send> {
    Single(Box<ArrowWriter<W>>),
    Parallel(Box<Parallel<W>>),
}

/// The parallel path: the file writer, the open row group's column writers (one per leaf
/// column, which here is one per Arrow column: the schema is flat) and its rows so far.
#[derive(Debug)]
struct Parallel<W: Write + Send> {
    file: SerializedFileWriter<W>,
    factory: ArrowRowGroupWriterFactory,
    schema: SchemaRef,
    columns: Vec<ArrowColumnWriter>,
    threads: usize,
    row_group_rows: usize,
    rows: usize,
    row_groups: usize,
}

impl<W: Write + Send> Parallel<W> {
    fn write(&mut self, batch: &RecordBatch) -> Result<(), TableError> {
        let mut offset = 0;
        while offset < batch.num_rows() {
            if self.columns.is_empty() {
                self.columns = self.factory.create_column_writers(self.row_groups)?;
            }
            let n = (batch.num_rows() - offset).min(self.row_group_rows - self.rows);
            self.encode(&batch.slice(offset, n))?;
            self.rows += n;
            offset += n;
            if self.rows >= self.row_group_rows {
                self.flush()?;
            }
        }
        Ok(())
    }

    /// Encodes the batch's columns on `threads` scoped threads, each taking every
    /// `threads`-th column (neighbouring columns differ in cost, so striding balances).
    fn encode(&mut self, batch: &RecordBatch) -> Result<(), TableError> {
        let mut leaves = Vec::with_capacity(self.columns.len());
        for (field, array) in self.schema.fields().iter().zip(batch.columns()) {
            leaves.extend(compute_leaves(field, array)?);
        }
        let threads = self.threads;
        let mut shares: Vec<Vec<(&mut ArrowColumnWriter, &ArrowLeafColumn)>> =
            (0..threads).map(|_| Vec::new()).collect();
        for (i, pair) in self.columns.iter_mut().zip(&leaves).enumerate() {
            if let Some(share) = shares.get_mut(i % threads) {
                share.push(pair);
            }
        }
        let results: Vec<Result<(), ParquetError>> = std::thread::scope(|scope| {
            let handles: Vec<_> = shares
                .into_iter()
                .map(|share| scope.spawn(move || share.into_iter().try_for_each(|(w, leaf)| w.write(leaf))))
                .collect();
            handles.into_iter().map(join).collect()
        });
        results.into_iter().try_for_each(|r| r.map_err(TableError::from))
    }

    /// Closes the open row group (its columns' last pages are compressed on the threads) and
    /// appends it to the file.
    fn flush(&mut self) -> Result<(), TableError> {
        if self.columns.is_empty() {
            return Ok(());
        }
        let threads = self.threads;
        let mut shares: Vec<Vec<(usize, ArrowColumnWriter)>> = (0..threads).map(|_| Vec::new()).collect();
        for (i, w) in std::mem::take(&mut self.columns).into_iter().enumerate() {
            if let Some(share) = shares.get_mut(i % threads) {
                share.push((i, w));
            }
        }
        let results: Vec<Result<Vec<(usize, ArrowColumnChunk)>, ParquetError>> =
            std::thread::scope(|scope| {
                let handles: Vec<_> = shares
                    .into_iter()
                    .map(|share| {
                        scope.spawn(move || {
                            share.into_iter().map(|(i, w)| Ok((i, w.close()?))).collect::<Result<Vec<_>, _>>()
                        })
                    })
                    .collect();
                handles.into_iter().map(join).collect()
            });
        let mut chunks = Vec::new();
        for r in results {
            chunks.extend(r?);
        }
        chunks.sort_unstable_by_key(|(i, _)| *i);
        let mut group = self.file.next_row_group()?;
        for (_, chunk) in chunks {
            chunk.append_to_row_group(&mut group)?;
        }
        group.close()?;
        self.rows = 0;
        self.row_groups += 1;
        Ok(())
    }

    fn in_progress_size(&self) -> usize {
        self.columns.iter().map(ArrowColumnWriter::get_estimated_total_bytes).sum()
    }
}

/// A scoped thread's result; a panic on it becomes an error rather than a second panic.
fn join<T>(h: std::thread::ScopedJoinHandle<'_, Result<T, ParquetError>>) -> Result<T, ParquetError> {
    h.join().unwrap_or_else(|_| Err(ParquetError::General("a column encoding thread panicked".into())))
}

impl<W: Write + Send> FrameFileWriter<W> {
    /// A writer of `variant` rows to `out`; the file starts with the schema version in its
    /// key-value metadata.
    pub fn new(out: W, variant: Variant, options: &WriteOptions) -> Result<Self, TableError> {
        let builder = FrameBuilder::new(variant);
        let props = writer_properties(builder.schema(), options)?;
        let mut writer =
            ArrowWriter::try_new(out, std::sync::Arc::clone(builder.schema().arrow()), Some(props))?;
        writer.append_key_value_metadata(KeyValue::new(
            KV_SCHEMA_VERSION.to_owned(),
            SCHEMA_VERSION.to_string(),
        ));
        let writer = if options.threads > 1 {
            let (file, factory) = writer.into_serialized_writer()?;
            Sink::Parallel(Box::new(Parallel {
                file,
                factory,
                schema: std::sync::Arc::clone(builder.schema().arrow()),
                columns: Vec::new(),
                threads: options.threads,
                row_group_rows: options.row_group_rows.max(1),
                rows: 0,
                row_groups: 0,
            }))
        } else {
            Sink::Single(Box::new(writer))
        };
        Ok(FrameFileWriter { writer, builder, batch_rows: options.batch_rows.max(1), rows: 0 })
    }

    /// Appends frames (schema without derived columns).
    pub fn append(&mut self, frames: &[TelemetryFrame]) -> Result<(), TableError> {
        self.builder.append(frames)?;
        self.rows += frames.len() as u64;
        self.write_full()
    }

    /// Appends frames with their derived values.
    pub fn append_with_derived(
        &mut self,
        frames: &[TelemetryFrame],
        derived: &[Derived],
    ) -> Result<(), TableError> {
        self.builder.append_with_derived(frames, derived)?;
        self.rows += frames.len() as u64;
        self.write_full()
    }

    fn write_full(&mut self) -> Result<(), TableError> {
        if self.builder.len() >= self.batch_rows {
            self.write_batch()?;
        }
        Ok(())
    }

    fn write_batch(&mut self) -> Result<(), TableError> {
        if !self.builder.is_empty() {
            let batch = self.builder.finish()?;
            match &mut self.writer {
                Sink::Single(w) => w.write(&batch)?,
                Sink::Parallel(p) => p.write(&batch)?,
            }
        }
        Ok(())
    }

    /// Rows appended so far.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Bytes written to the output so far plus an estimate of what is buffered.
    pub fn size_estimate(&self) -> usize {
        match &self.writer {
            Sink::Single(w) => w.bytes_written() + w.in_progress_size(),
            Sink::Parallel(p) => p.file.bytes_written() + p.in_progress_size(),
        }
    }

    /// Adds (or, written later, overrides) a key-value metadata entry of the file's footer.
    pub fn add_metadata(&mut self, key: &str, value: impl Into<String>) {
        let kv = KeyValue::new(key.to_owned(), value.into());
        match &mut self.writer {
            Sink::Single(w) => w.append_key_value_metadata(kv),
            Sink::Parallel(p) => p.file.append_key_value_metadata(kv),
        }
    }

    /// Writes what is buffered and the footer. The output is then a complete Parquet file (not
    /// yet fsync'd: see [`FrameFileWriter::inner`]).
    pub fn finish(&mut self) -> Result<ParquetMetaData, TableError> {
        self.write_batch()?;
        match &mut self.writer {
            Sink::Single(w) => Ok(w.finish()?),
            Sink::Parallel(p) => {
                p.flush()?;
                Ok(p.file.finish()?)
            }
        }
    }

    /// The output.
    pub fn inner(&self) -> &W {
        match &self.writer {
            Sink::Single(w) => w.inner(),
            Sink::Parallel(p) => p.file.inner(),
        }
    }
}
