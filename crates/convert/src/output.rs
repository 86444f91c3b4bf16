//! The outputs: Parquet (frame table with derived columns), CSV (the same columns), MoTeC i2
//! (one log per session).

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::mpsc::{SyncSender, sync_channel};
use std::thread::JoinHandle;

use analysis::{ExportOptions, LapTracker, MotecExporter};
use parquet::arrow::ArrowWriter;
use parquet::file::metadata::KeyValue;
use prost::bytes::Bytes;
use proto::telemetry::v1::{SessionMetadata, TelemetryFrame};
use serde_json::{Value, json};
use table::{FrameBuilder, Variant, WriteOptions};

use crate::Inputs;
use crate::error::ConvertError;
use crate::pipeline::Ended;
use crate::source::{KV_DAMAGE, KV_SESSIONS};

/// An output being written.
pub(crate) trait Output {
    /// Takes the next frames, in order.
    fn write(&mut self, frames: &[TelemetryFrame]) -> Result<(), ConvertError>;
    /// Finishes the files; returns their paths and any warnings.
    fn finish(self: Box<Self>, ended: &Ended) -> Result<(Vec<PathBuf>, Vec<String>), ConvertError>;
    /// The files written so far (removed when the conversion fails).
    fn paths(&self) -> Vec<PathBuf>;
}

/// The derived columns of each frame, from the lap tracker.
#[derive(Debug, Default)]
struct Deriver {
    tracker: LapTracker,
    derived: Vec<table::Derived>,
}

impl Deriver {
    fn derive(&mut self, frames: &[TelemetryFrame]) -> &[table::Derived] {
        self.derived.clear();
        for f in frames {
            let d = self.tracker.push(f);
            // Laps are not kept: only the per-frame columns matter here.
            while self.tracker.pop_lap().is_some() {}
            self.derived.push(table::Derived {
                lap: d.lap,
                lap_time_ms: d.lap_time_ms,
                lap_distance_m: d.lap_distance_m,
                session_time_s: d.session_time_s,
            });
        }
        &self.derived
    }
}

/// One session seen in the input.
#[derive(Debug)]
struct SessionInfo {
    id: Bytes,
    first_seq: u64,
    last_seq: u64,
    rows: u64,
    metadata: Option<SessionMetadata>,
}

/// The sessions of the input, in order of appearance.
#[derive(Debug, Default)]
struct Sessions(Vec<SessionInfo>);

impl Sessions {
    fn note(&mut self, frames: &[TelemetryFrame]) {
        for f in frames {
            let known = self.0.last().is_some_and(|s| s.id == f.session_id);
            if !known {
                self.0.push(SessionInfo {
                    id: f.session_id.clone(),
                    first_seq: f.seq,
                    last_seq: f.seq,
                    rows: 0,
                    metadata: None,
                });
            }
            if let Some(s) = self.0.last_mut() {
                s.last_seq = f.seq;
                s.rows += 1;
                if s.metadata.is_none() {
                    s.metadata = f.session.clone();
                }
            }
        }
    }

    fn json(&self) -> Value {
        Value::Array(
            self.0
                .iter()
                .map(|s| {
                    json!({
                        "session_id": table::session_id_text(&s.id),
                        "first_seq": s.first_seq,
                        "last_seq": s.last_seq,
                        "rows": s.rows,
                        "metadata": s.metadata.as_ref().map(table::session_metadata_json),
                    })
                })
                .collect(),
        )
    }
}

fn create(path: &Path) -> Result<File, ConvertError> {
    File::create(path).map_err(ConvertError::io(path, "create"))
}

/// What the Parquet encoder thread is sent.
enum Encode {
    Batch(arrow_array::RecordBatch),
    Finish(Vec<KeyValue>),
}

/// The Parquet encoder thread; it ends with the file written and synced.
type Encoder = JoinHandle<Result<(), ConvertError>>;

/// The frame table with derived columns, in one Parquet file.
///
/// Three stages run at once here: the pipeline's reader thread decodes, this (the calling)
/// thread derives the laps and builds Arrow batches with [`FrameBuilder`], and an encoder
/// thread of its own runs the Parquet writer (column encoding and zstd) on the finished batches.
/// The file is what [`table::FrameFileWriter`] writes (the table's schema, its
/// [`table::writer_properties`] and schema version), with the batching split off.
pub(crate) struct ParquetOut {
    path: PathBuf,
    builder: FrameBuilder,
    batch_rows: usize,
    deriver: Deriver,
    sessions: Sessions,
    encoder: Option<(SyncSender<Encode>, Encoder)>,
}

impl ParquetOut {
    pub fn create(path: &Path, options: &WriteOptions) -> Result<ParquetOut, ConvertError> {
        let builder = FrameBuilder::new(Variant::FramesWithDerived);
        let props = table::writer_properties(builder.schema(), options)?;
        // The Parquet writer buffers its output itself (and writes a row group at a time).
        let mut writer =
            ArrowWriter::try_new(create(path)?, Arc::clone(builder.schema().arrow()), Some(props))
                .map_err(table::TableError::from)?;
        writer.append_key_value_metadata(KeyValue::new(
            table::KV_SCHEMA_VERSION.to_owned(),
            table::SCHEMA_VERSION.to_string(),
        ));
        // Two batches in flight: one being encoded, one waiting; the builder fills the next.
        let (tx, rx) = sync_channel::<Encode>(2);
        let synced = path.to_owned();
        let encoder = std::thread::Builder::new()
            .name("convert-encode".into())
            .spawn(move || -> Result<(), ConvertError> {
                for msg in rx {
                    match msg {
                        Encode::Batch(batch) => writer.write(&batch).map_err(table::TableError::from)?,
                        Encode::Finish(kv) => {
                            for e in kv {
                                writer.append_key_value_metadata(e);
                            }
                            writer.finish().map_err(table::TableError::from)?;
                            return writer.inner().sync_all().map_err(ConvertError::io(&synced, "sync"));
                        }
                    }
                }
                Err(ConvertError::Thread("Parquet encoder's input"))
            })
            .map_err(ConvertError::io(path, "start the encoder thread"))?;
        Ok(ParquetOut {
            path: path.to_owned(),
            builder,
            batch_rows: options.batch_rows.max(1),
            deriver: Deriver::default(),
            sessions: Sessions::default(),
            encoder: Some((tx, encoder)),
        })
    }

    /// Sends a message to the encoder; if it has stopped, its error.
    fn send(&mut self, msg: Encode) -> Result<(), ConvertError> {
        let Some((tx, _)) = &self.encoder else { return Err(ConvertError::Thread("Parquet encoder")) };
        if tx.send(msg).is_ok() {
            return Ok(());
        }
        Err(self.join().err().unwrap_or(ConvertError::Thread("Parquet encoder")))
    }

    fn join(&mut self) -> Result<(), ConvertError> {
        let Some((tx, handle)) = self.encoder.take() else {
            return Err(ConvertError::Thread("Parquet encoder"));
        };
        drop(tx);
        handle.join().map_err(|_| ConvertError::Thread("Parquet encoder"))?
    }

    fn flush_batch(&mut self) -> Result<(), ConvertError> {
        if !self.builder.is_empty() {
            let batch = self.builder.finish()?;
            self.send(Encode::Batch(batch))?;
        }
        Ok(())
    }
}

impl Output for ParquetOut {
    fn write(&mut self, frames: &[TelemetryFrame]) -> Result<(), ConvertError> {
        self.sessions.note(frames);
        let derived = self.deriver.derive(frames);
        self.builder.append_with_derived(frames, derived)?;
        if self.builder.len() >= self.batch_rows {
            self.flush_batch()?;
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>, ended: &Ended) -> Result<(Vec<PathBuf>, Vec<String>), ConvertError> {
        self.flush_batch()?;
        let kv = |k: &str, v: String| KeyValue::new(k.to_owned(), v);
        let mut meta = Vec::new();
        if let [one] = self.sessions.0.as_slice() {
            meta.push(kv(table::KV_SESSION_ID, table::session_id_text(&one.id)));
            if let Some(m) = &one.metadata {
                meta.push(kv(table::KV_SESSION, table::session_metadata_json(m).to_string()));
            }
        }
        meta.push(kv(KV_SESSIONS, self.sessions.json().to_string()));
        if !ended.damages.is_empty() {
            let notes: Vec<_> = ended
                .damages
                .iter()
                .map(|d| {
                    json!({ "offset": d.offset, "detected_at": d.detected_at, "kind": d.kind.to_string(),
                        "resumed_at": d.resumed_at })
                })
                .collect();
            meta.push(kv(KV_DAMAGE, Value::Array(notes).to_string()));
        }
        self.send(Encode::Finish(meta))?;
        self.join()?;
        Ok((vec![self.path.clone()], Vec::new()))
    }

    fn paths(&self) -> Vec<PathBuf> {
        vec![self.path.clone()]
    }
}

/// The same columns as the Parquet output, as CSV.
pub(crate) struct CsvOut {
    path: PathBuf,
    writer: crate::csv::CsvWriter<BufWriter<File>>,
    builder: FrameBuilder,
    deriver: Deriver,
    batch_rows: usize,
}

impl CsvOut {
    pub fn create(path: &Path, options: &WriteOptions) -> Result<CsvOut, ConvertError> {
        let builder = FrameBuilder::new(Variant::FramesWithDerived);
        let mut writer = crate::csv::CsvWriter::new(BufWriter::with_capacity(1 << 20, create(path)?));
        writer.write_header(builder.schema().arrow()).map_err(ConvertError::io(path, "write"))?;
        Ok(CsvOut {
            path: path.to_owned(),
            writer,
            builder,
            deriver: Deriver::default(),
            batch_rows: options.batch_rows.max(1),
        })
    }

    fn flush_batch(&mut self) -> Result<(), ConvertError> {
        if !self.builder.is_empty() {
            let batch = self.builder.finish()?;
            self.writer.write_batch(&batch).map_err(ConvertError::io(&self.path, "write"))?;
        }
        Ok(())
    }
}

impl Output for CsvOut {
    fn write(&mut self, frames: &[TelemetryFrame]) -> Result<(), ConvertError> {
        let derived = self.deriver.derive(frames);
        self.builder.append_with_derived(frames, derived)?;
        if self.builder.len() >= self.batch_rows {
            self.flush_batch()?;
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>, _ended: &Ended) -> Result<(Vec<PathBuf>, Vec<String>), ConvertError> {
        self.flush_batch()?;
        let path = self.path;
        let file = self
            .writer
            .into_inner()
            .map_err(ConvertError::io(&path, "write"))?
            .into_inner()
            .map_err(|e| ConvertError::io(&path, "write")(e.into_error()))?;
        file.sync_all().map_err(ConvertError::io(&path, "sync"))?;
        Ok((vec![path], Vec::new()))
    }

    fn paths(&self) -> Vec<PathBuf> {
        vec![self.path.clone()]
    }
}

/// MoTeC i2 logs, one per session: `OUT.ld` (+ `OUT.ldx`) for one session; `OUT-1.ld`,
/// `OUT-2.ld`, … when the input holds several (the first log is renamed when the second
/// session starts, so a one-session input keeps the name asked for).
pub(crate) struct MotecOut {
    path: PathBuf,
    /// Checked before each log is created: several sessions make new names.
    inputs: Inputs,
    options: ExportOptions,
    current: Option<MotecExporter>,
    /// Logs finished so far.
    done: Vec<PathBuf>,
    /// Sessions started so far.
    sessions: u32,
    reports: Vec<analysis::ExportReport>,
}

impl MotecOut {
    pub fn create(path: &Path, options: ExportOptions, inputs: Inputs) -> Result<MotecOut, ConvertError> {
        inputs.check(&path.with_extension("ldx"))?;
        // Fail on a bad path before reading anything: create (and remove) the file now.
        create(path)?;
        std::fs::remove_file(path).map_err(ConvertError::io(path, "remove"))?;
        Ok(MotecOut {
            path: path.to_owned(),
            inputs,
            options,
            current: None,
            done: Vec::new(),
            sessions: 0,
            reports: Vec::new(),
        })
    }

    /// The `.ld` of the `n`th session (from 1) when there are several.
    pub fn numbered(path: &Path, n: u32) -> PathBuf {
        let stem = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let ext = path.extension().map(|e| e.to_string_lossy().into_owned()).unwrap_or_else(|| "ld".into());
        path.with_file_name(format!("{stem}-{n}.{ext}"))
    }

    fn finish_current(&mut self) -> Result<(), ConvertError> {
        let Some(exporter) = self.current.take() else { return Ok(()) };
        let report = exporter.finish()?;
        let ld =
            if self.sessions == 1 { self.path.clone() } else { Self::numbered(&self.path, self.sessions) };
        self.done.push(ld);
        self.reports.push(report);
        Ok(())
    }

    fn start(&mut self) -> Result<(), ConvertError> {
        self.sessions += 1;
        if self.sessions == 2 {
            // A second session: the first log becomes OUT-1.
            let first = Self::numbered(&self.path, 1);
            self.inputs.check(&first)?;
            self.inputs.check(&first.with_extension("ldx"))?;
            for (from, to) in [
                (self.path.clone(), first.clone()),
                (self.path.with_extension("ldx"), first.with_extension("ldx")),
            ] {
                std::fs::rename(&from, &to).map_err(ConvertError::io(&from, "rename"))?;
            }
            if let Some(p) = self.done.first_mut() {
                *p = first;
            }
        }
        let ld =
            if self.sessions == 1 { self.path.clone() } else { Self::numbered(&self.path, self.sessions) };
        self.inputs.check(&ld)?;
        self.inputs.check(&ld.with_extension("ldx"))?;
        self.current = Some(MotecExporter::create(&ld, self.options.clone())?);
        Ok(())
    }
}

impl Output for MotecOut {
    fn write(&mut self, frames: &[TelemetryFrame]) -> Result<(), ConvertError> {
        for f in frames {
            let same = self
                .current
                .as_ref()
                .is_some_and(|e| e.session_id().is_none_or(|id| id == f.session_id.as_ref()));
            if !same {
                self.finish_current()?;
                self.start()?;
            }
            if let Some(e) = self.current.as_mut() {
                e.push(f)?;
            }
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>, _ended: &Ended) -> Result<(Vec<PathBuf>, Vec<String>), ConvertError> {
        self.finish_current()?;
        let mut out = Vec::new();
        let mut warnings = Vec::new();
        for (ld, report) in self.done.iter().zip(&self.reports) {
            out.push(ld.clone());
            out.push(ld.with_extension("ldx"));
            warnings.extend(report.warnings.iter().map(|w| format!("{}: {w}", ld.display())));
        }
        Ok((out, warnings))
    }

    fn paths(&self) -> Vec<PathBuf> {
        let mut out = Vec::new();
        let mut lds = self.done.clone();
        if self.current.is_some() {
            lds.push(if self.sessions <= 1 {
                self.path.clone()
            } else {
                Self::numbered(&self.path, self.sessions)
            });
        }
        for ld in lds {
            out.push(ld.with_extension("ldx"));
            out.push(ld);
        }
        out
    }
}
