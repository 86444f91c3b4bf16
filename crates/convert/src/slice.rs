//! One stretch of one session from the ingest server's Parquet dataset, read without the rest:
//! the frames of a lap for the dashboard's lap page and its downloads.
//!
//! A session's frames are in `session=<uuid>/car=<car>/part-N.parquet`, in `seq` order, in row
//! groups of up to 128 Ki rows whose footers carry the min and max `seq` (chunk statistics).
//! [`read_slice`] opens only that session's folder, reads only the row groups whose `seq` range
//! meets the one asked for, and, given a column list, only those columns (the other fields of
//! the frames stay at their defaults). A 90 s lap is 30 000 rows out of a part file's million.

use std::fs::File;
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};

use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::file::statistics::Statistics;
use proto::telemetry::v1::{SessionMetadata, TelemetryFrame};
use table::{file_session, session_id_text};

use crate::error::ConvertError;
use crate::rows::RowReader;

/// The columns every slice reads whatever is asked: what identifies a frame.
const IDENTITY: [&str; 2] = ["session_id", "seq"];

/// What [`read_slice`] found.
#[derive(Debug, Clone, Default)]
pub struct Slice {
    /// The frames of the session with `seq` in the range, in `seq` order, each once.
    pub frames: Vec<TelemetryFrame>,
    /// The session's metadata, from the part files' key-value metadata (`None` if no file
    /// had it).
    pub metadata: Option<SessionMetadata>,
    /// Part files of the session (all of them were looked at; only their footers, unless a
    /// row group was needed).
    pub files: usize,
    /// Row groups read.
    pub row_groups_read: usize,
}

/// The part files of one session in a dataset, in name order (hidden and unfinished ones
/// left out).
pub fn session_files(dataset: &Path, session: &[u8; 16]) -> Result<Vec<PathBuf>, ConvertError> {
    let folder = dataset.join(format!("session={}", session_id_text(session)));
    let mut files = Vec::new();
    let cars = match std::fs::read_dir(&folder) {
        Ok(cars) => cars,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(files),
        Err(e) => return Err(ConvertError::io(&folder, "list")(e)),
    };
    for car in cars {
        let car = car.map_err(ConvertError::io(&folder, "list"))?.path();
        if !car.is_dir() || hidden(&car) {
            continue;
        }
        for part in std::fs::read_dir(&car).map_err(ConvertError::io(&car, "list"))? {
            let part = part.map_err(ConvertError::io(&car, "list"))?.path();
            if part.extension().is_some_and(|e| e == "parquet") && !hidden(&part) && part.is_file() {
                files.push(part);
            }
        }
    }
    files.sort();
    Ok(files)
}

fn hidden(path: &Path) -> bool {
    path.file_name().and_then(|n| n.to_str()).is_none_or(|n| n.starts_with('.') || n.starts_with('_'))
}

/// Reads the frames of `session` with `seq` in `seqs` from the dataset folder `dataset`; with
/// `columns`, only those columns (names of the frame table, e.g. `speed_kmh`, `position_m_x`;
/// `session_id` and `seq` always). A session with no files gives an empty slice.
pub fn read_slice(
    dataset: &Path,
    session: &[u8; 16],
    seqs: RangeInclusive<u64>,
    columns: Option<&[&str]>,
) -> Result<Slice, ConvertError> {
    let files = session_files(dataset, session)?;
    let mut slice = Slice { files: files.len(), ..Slice::default() };
    for path in &files {
        read_file(path, session, &seqs, columns, &mut slice)?;
    }
    slice.frames.sort_by_key(|f| f.seq);
    slice.frames.dedup_by_key(|f| f.seq);
    Ok(slice)
}

fn read_file(
    path: &Path,
    session: &[u8; 16],
    seqs: &RangeInclusive<u64>,
    columns: Option<&[&str]>,
    slice: &mut Slice,
) -> Result<(), ConvertError> {
    let file = File::open(path).map_err(ConvertError::io(path, "open"))?;
    let parquet = |source| ConvertError::ParquetRead { path: path.to_path_buf(), source };
    let builder = ParquetRecordBatchReaderBuilder::try_new(file).map_err(parquet)?;
    let meta = builder.metadata().clone();
    if slice.metadata.is_none() {
        let kv = meta.file_metadata().key_value_metadata().map_or(&[][..], Vec::as_slice);
        // Metadata that does not read costs the slice its car and track length, not its
        // frames.
        slice.metadata = file_session(kv).ok().flatten().map(|(_, m)| m);
    }
    let schema = meta.file_metadata().schema_descr();
    let seq_column = (0..schema.num_columns()).find(|&i| schema.column(i).name() == "seq");
    // Row groups whose seq statistics meet the range; one without statistics is read.
    let groups: Vec<usize> = (0..meta.num_row_groups())
        .filter(|&g| {
            let Some(stats) = seq_column.and_then(|c| meta.row_group(g).column(c).statistics()) else {
                return true;
            };
            match stats {
                Statistics::Int64(s) => match (s.min_opt(), s.max_opt()) {
                    // seq is unsigned, stored as INT64: the bits are the number.
                    (Some(&min), Some(&max)) => (min as u64) <= *seqs.end() && (max as u64) >= *seqs.start(),
                    _ => true,
                },
                _ => true,
            }
        })
        .collect();
    if groups.is_empty() {
        return Ok(());
    }
    let mut builder = builder.with_row_groups(groups.clone()).with_batch_size(8192);
    if let Some(columns) = columns {
        let names = IDENTITY.iter().chain(columns).copied();
        let mask = ProjectionMask::columns(schema, names);
        builder = builder.with_projection(mask);
    }
    let reader = builder.build().map_err(parquet)?;
    slice.row_groups_read += groups.len();
    // Made from the first batch: its schema is the projected one, not the file's.
    let mut rows: Option<RowReader> = None;
    let mut batch_frames = Vec::new();
    let mut row = 0u64;
    for batch in reader {
        let batch = batch.map_err(|source| ConvertError::ArrowRead { path: path.to_path_buf(), source })?;
        let rows = match &mut rows {
            Some(rows) => rows,
            None => rows.insert(RowReader::new(batch.schema_ref(), path)?),
        };
        batch_frames.clear();
        rows.read(&batch, row, &mut batch_frames)?;
        row += batch.num_rows() as u64;
        slice.frames.extend(
            batch_frames
                .drain(..)
                .filter(|f| seqs.contains(&f.seq) && f.session_id.as_ref() == session.as_slice()),
        );
    }
    Ok(())
}
