//! Inputs: a recording (`.pb.gz`), one Parquet file of the frame table, or a Parquet dataset
//! folder as the ingest server writes it. Each is read as batches of frames.

use std::collections::HashMap;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use parquet::arrow::arrow_reader::{ParquetRecordBatchReader, ParquetRecordBatchReaderBuilder};
use parquet::file::metadata::KeyValue;
use prost::Message as _;
use prost::bytes::Bytes;
use proto::telemetry::v1::{SessionMetadata, TelemetryFrame};
use record::{Damage, DamageKind, ReadOptions, RecordReader};
use serde_json::Value;
use table::{TableError, file_session};

use crate::error::ConvertError;
use crate::rows::{RowReader, parse_session_id, session_metadata_from_json};

/// Key-value metadata key of the files `pitwall convert` writes: every session of the file,
/// as a JSON array of `{session_id, first_seq, last_seq, rows, metadata}`.
pub const KV_SESSIONS: &str = "pitwall.sessions";
/// Key-value metadata key of the files `pitwall convert` writes from a damaged recording: what
/// was wrong and where (the rows stop there).
pub const KV_DAMAGE: &str = "pitwall.damage";

/// What an input is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    /// A recording: gzip members of length-delimited frames.
    Recording,
    /// One Parquet file of the frame table.
    ParquetFile,
    /// A folder of Parquet files: the ingest server's dataset (`session=…/car=…/part-N.parquet`)
    /// or any folder of frame-table files.
    ParquetDataset,
}

impl InputKind {
    /// Tells an input's kind: a folder is a dataset, a file starting with `PAR1` is Parquet,
    /// anything else is read as a recording (which names what is wrong if it is not one).
    pub fn detect(path: &Path) -> Result<InputKind, ConvertError> {
        let meta = std::fs::metadata(path).map_err(ConvertError::io(path, "open"))?;
        if meta.is_dir() {
            return Ok(InputKind::ParquetDataset);
        }
        let mut magic = [0u8; 4];
        let mut file = File::open(path).map_err(ConvertError::io(path, "open"))?;
        let mut got = 0;
        while got < 4 {
            match file.read(&mut magic[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(ConvertError::io(path, "read")(e)),
            }
        }
        Ok(if got == 4 && &magic == b"PAR1" { InputKind::ParquetFile } else { InputKind::Recording })
    }
}

/// A batch of frames passed between the pipeline's threads. The frames are reused from batch
/// to batch (decoding merges into a cleared frame, keeping its allocations), so only
/// `frames[..len]` are this batch's.
#[derive(Debug, Default)]
pub(crate) struct Batch {
    pub frames: Vec<TelemetryFrame>,
    pub len: usize,
    /// Progress of the input after this batch (bytes or rows, see [`Source::total`]).
    pub position: u64,
}

impl Batch {
    /// An empty batch with room for `frames` frames (growing it would move them all).
    pub fn with_capacity(frames: usize) -> Batch {
        Batch { frames: Vec::with_capacity(frames), ..Batch::default() }
    }

    pub fn frames(&self) -> &[TelemetryFrame] {
        &self.frames[..self.len]
    }

    /// The next frame slot, cleared.
    fn slot(&mut self) -> &mut TelemetryFrame {
        if self.len == self.frames.len() {
            self.frames.push(TelemetryFrame::default());
        }
        let f = &mut self.frames[self.len];
        f.clear();
        self.len += 1;
        f
    }
}

/// Why a source stopped filling a batch.
#[derive(Debug)]
pub(crate) enum Fill {
    /// The batch is full; there is more.
    More,
    /// The input ended cleanly.
    End,
    /// The input is damaged here; reading goes on after it (see [`Damage::resumed_at`]). The
    /// batch holds the frames read before it.
    Damage(Damage),
}

/// An input being read.
pub(crate) enum Source {
    Recording(Box<RecordReader>),
    Parquet(Box<ParquetSource>),
}

impl Source {
    pub fn open(path: &Path, kind: InputKind) -> Result<Source, ConvertError> {
        Ok(match kind {
            InputKind::Recording => {
                // Damage is skipped and reported; the frames after it are converted too.
                let options = ReadOptions { resync: true, ..ReadOptions::default() };
                Source::Recording(Box::new(RecordReader::open_with(path, options)?))
            }
            InputKind::ParquetFile => {
                Source::Parquet(Box::new(ParquetSource::open(vec![path.to_owned()], false)?))
            }
            InputKind::ParquetDataset => {
                Source::Parquet(Box::new(ParquetSource::open(dataset_files(path)?, true)?))
            }
        })
    }

    /// The size of the input in its progress unit: bytes of a recording, rows of Parquet.
    pub fn total(&self) -> u64 {
        match self {
            Source::Recording(r) => std::fs::metadata(r.path()).map_or(0, |m| m.len()),
            Source::Parquet(p) => p.total_rows,
        }
    }

    /// Warnings about the input (columns a Parquet input lacks).
    pub fn warnings(&mut self) -> Vec<String> {
        match self {
            Source::Recording(_) => Vec::new(),
            Source::Parquet(p) => std::mem::take(&mut p.warnings),
        }
    }

    /// Fills `batch` (emptied first) with up to `max` frames.
    pub fn fill(&mut self, batch: &mut Batch, max: usize) -> Result<Fill, ConvertError> {
        batch.len = 0;
        match self {
            Source::Recording(r) => fill_recording(r, batch, max),
            Source::Parquet(p) => p.fill(batch, max),
        }
    }
}

fn fill_recording(r: &mut RecordReader, batch: &mut Batch, max: usize) -> Result<Fill, ConvertError> {
    let fill = loop {
        if batch.len >= max {
            break Fill::More;
        }
        match r.next_raw() {
            Some(Ok(bytes)) => {
                let frame = batch.slot();
                if let Err(e) = proto::decode_frame_into(frame, bytes) {
                    // A frame inside a member whose CRC checked that still does not decode: the
                    // writer wrote it so. The reader would report it as corrupt; so do we,
                    // at the member's offset (the end of the last complete member), and skip
                    // it alone.
                    batch.len -= 1;
                    let offset = r.complete_end();
                    break Fill::Damage(Damage {
                        offset,
                        detected_at: offset,
                        kind: DamageKind::BadFrame(e.to_string()),
                        frames_before: r.frames_read().saturating_sub(1),
                        frames_salvaged: 0,
                        resumed_at: Some(offset),
                    });
                }
            }
            Some(Err(e)) => match r.damages().last() {
                Some(d) if e.is_damage() => break Fill::Damage(d.clone()),
                _ => return Err(e.into()),
            },
            None => break Fill::End,
        }
    };
    batch.position = r.complete_end();
    Ok(fill)
}

/// The Parquet files of a dataset folder, in order: by folder (`session=<uuid>` sorts by time,
/// the bridge's ids being UUIDv7), then by part number. Hidden files (`.part-….inprogress`,
/// `_catalogue.sqlite`) are skipped.
pub fn dataset_files(root: &Path) -> Result<Vec<PathBuf>, ConvertError> {
    let mut files = Vec::new();
    let mut dirs = vec![root.to_owned()];
    while let Some(dir) = dirs.pop() {
        let entries = std::fs::read_dir(&dir).map_err(ConvertError::io(&dir, "list"))?;
        for entry in entries {
            let entry = entry.map_err(ConvertError::io(&dir, "list"))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || name.starts_with('_') {
                continue;
            }
            let path = entry.path();
            let ty = entry.file_type().map_err(ConvertError::io(&path, "stat"))?;
            if ty.is_dir() {
                dirs.push(path);
            } else if name.ends_with(".parquet") {
                files.push(path);
            }
        }
    }
    if files.is_empty() {
        return Err(ConvertError::EmptyDataset(root.to_owned()));
    }
    let key = |p: &PathBuf| {
        let part = p
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_prefix("part-")?.strip_suffix(".parquet")?.parse::<u64>().ok());
        (p.parent().map(Path::to_path_buf), part, p.clone())
    };
    files.sort_by_key(key);
    Ok(files)
}

/// Parquet files read one after the other, rows turned back into frames.
pub(crate) struct ParquetSource {
    files: std::vec::IntoIter<PathBuf>,
    current: Option<Open>,
    total_rows: u64,
    rows_read: u64,
    /// Session metadata by session id, from the files' key-value metadata.
    metadata: HashMap<Vec<u8>, SessionMetadata>,
    /// The session of the last frame made, to put the metadata on each session's first frame.
    last_session: Option<Bytes>,
    warnings: Vec<String>,
    /// Frames read from the current record batch but not yet handed out.
    pending: std::collections::VecDeque<TelemetryFrame>,
    /// A dataset folder: a part file that does not read is skipped with a warning (the others
    /// are converted), rather than ending the conversion.
    skip_damaged: bool,
}

struct Open {
    path: PathBuf,
    reader: ParquetRecordBatchReader,
    rows: RowReader,
    row: u64,
}

impl ParquetSource {
    fn open(files: Vec<PathBuf>, skip_damaged: bool) -> Result<ParquetSource, ConvertError> {
        let mut total_rows = 0;
        let mut readable = Vec::with_capacity(files.len());
        let mut warnings = Vec::new();
        let mut first_error = None;
        for path in files {
            let footer = File::open(&path).map_err(ConvertError::io(&path, "open")).and_then(|file| {
                ParquetRecordBatchReaderBuilder::try_new(file)
                    .map_err(|source| ConvertError::ParquetRead { path: path.clone(), source })
            });
            match footer {
                Ok(builder) => {
                    total_rows += u64::try_from(builder.metadata().file_metadata().num_rows()).unwrap_or(0);
                    readable.push(path);
                }
                Err(e) if skip_damaged => {
                    warnings.push(format!("skipped {}", crate::error::chain(&e)));
                    first_error.get_or_insert(e);
                }
                Err(e) => return Err(e),
            }
        }
        if readable.is_empty() {
            if let Some(e) = first_error {
                // Not one part file reads: that is an error, not an empty output.
                return Err(e);
            }
        }
        Ok(ParquetSource {
            skip_damaged,
            files: readable.into_iter(),
            current: None,
            total_rows,
            rows_read: 0,
            metadata: HashMap::new(),
            last_session: None,
            warnings,
            pending: std::collections::VecDeque::new(),
        })
    }

    /// Opens the next file; in a dataset, one that does not open is skipped with a warning.
    fn next_file(&mut self) -> Result<bool, ConvertError> {
        loop {
            let Some(path) = self.files.next() else { return Ok(false) };
            match self.open_file(path) {
                Ok(open) => {
                    self.current = Some(open);
                    return Ok(true);
                }
                Err(e) if self.skip_damaged => {
                    self.warnings.push(format!("skipped {}", crate::error::chain(&e)))
                }
                Err(e) => return Err(e),
            }
        }
    }

    fn open_file(&mut self, path: PathBuf) -> Result<Open, ConvertError> {
        let file = File::open(&path).map_err(ConvertError::io(&path, "open"))?;
        let parquet = |source| ConvertError::ParquetRead { path: path.clone(), source };
        let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(parquet)?;
        let kv = builder.metadata().file_metadata().key_value_metadata().map_or(&[][..], Vec::as_slice);
        self.learn_metadata(&path, kv)?;
        let rows = RowReader::new(builder.schema().as_ref(), &path)?;
        if !rows.missing().is_empty() {
            self.warnings.push(format!(
                "{}: no column {} (left at the default)",
                path.display(),
                rows.missing().join(", ")
            ));
        }
        let reader = builder.with_batch_size(4096).build().map_err(parquet)?;
        Ok(Open { path, reader, rows, row: 0 })
    }

    /// Reads the sessions' metadata: the ingest sink's `pitwall.session_id` + `pitwall.session`,
    /// or the converter's `pitwall.sessions`.
    fn learn_metadata(&mut self, path: &Path, kv: &[KeyValue]) -> Result<(), ConvertError> {
        let bad = |key: &str, problem: String| ConvertError::BadMetadata {
            path: path.to_owned(),
            key: key.to_owned(),
            problem,
        };
        match file_session(kv) {
            Ok(Some((id, m))) => {
                self.metadata.entry(id.to_vec()).or_insert(m);
            }
            Ok(None) => {}
            Err(TableError::BadMetadata { key, problem }) => return Err(bad(key, problem)),
            Err(e) => return Err(bad(table::KV_SESSION, e.to_string())),
        }
        // The last entry of a key wins, as in the file writer.
        if let Some(json) = kv.iter().rev().filter(|e| e.key == KV_SESSIONS).find_map(|e| e.value.as_ref()) {
            let v: Value = serde_json::from_str(json).map_err(|e| bad(KV_SESSIONS, e.to_string()))?;
            for s in v.as_array().ok_or_else(|| bad(KV_SESSIONS, "not a JSON array".into()))? {
                let id = s.get("session_id").and_then(Value::as_str).and_then(parse_session_id);
                let meta = s.get("metadata").filter(|m| !m.is_null());
                if let (Some(id), Some(meta)) = (id, meta) {
                    let m = session_metadata_from_json(meta).map_err(|e| bad(KV_SESSIONS, e))?;
                    self.metadata.entry(id.to_vec()).or_insert(m);
                }
            }
        }
        Ok(())
    }

    fn fill(&mut self, batch: &mut Batch, max: usize) -> Result<Fill, ConvertError> {
        while batch.len < max {
            if !self.pending.is_empty() {
                let take = self.pending.len().min(max - batch.len);
                for f in self.pending.drain(..take) {
                    let slot = batch.slot();
                    *slot = f;
                    if self.last_session.as_ref() != Some(&slot.session_id) {
                        self.last_session = Some(slot.session_id.clone());
                        if slot.session.is_none() {
                            slot.session = self.metadata.get(slot.session_id.as_ref()).cloned();
                        }
                    }
                }
                continue;
            }
            let Some(open) = self.current.as_mut() else {
                if !self.next_file()? {
                    batch.position = self.rows_read;
                    return Ok(Fill::End);
                }
                continue;
            };
            match open.reader.next() {
                Some(Ok(rb)) => {
                    let mut frames = Vec::with_capacity(rb.num_rows());
                    open.rows.read(&rb, open.row, &mut frames)?;
                    self.pending.extend(frames);
                    open.row += rb.num_rows() as u64;
                    self.rows_read += rb.num_rows() as u64;
                }
                Some(Err(source)) => {
                    let e = ConvertError::ArrowRead { path: open.path.clone(), source };
                    if !self.skip_damaged {
                        return Err(e);
                    }
                    // The rows before the damage are converted; the rest of this file is lost
                    // to it, and the dataset's other files are read on.
                    self.warnings.push(format!(
                        "skipped the rest of {} after row {}",
                        crate::error::chain(&e),
                        open.row
                    ));
                    self.current = None;
                }
                None => self.current = None,
            }
        }
        batch.position = self.rows_read;
        Ok(Fill::More)
    }
}
