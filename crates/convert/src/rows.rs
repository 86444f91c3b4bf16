//! Rows of the frame table back into frames: [`table::FrameReader`], driven by the same table
//! of fields as the writer, with the file's path and row numbers in its errors.
//!
//! The session's [`SessionMetadata`](proto::telemetry::v1::SessionMetadata), which the table
//! keeps in the file's key-value metadata, is read back by [`session_metadata_from_json`] and
//! [`table::file_session`].

use std::path::PathBuf;

use arrow_array::RecordBatch;
use arrow_schema::Schema;
use proto::telemetry::v1::TelemetryFrame;
use table::{FrameReader, TableError};

pub use table::{parse_session_id, session_metadata_from_json};

use crate::error::ConvertError;

/// Turns record batches of the frame table, read from one file, back into frames.
///
/// ```
/// use convert::rows::RowReader;
/// use proto::telemetry::v1::{TelemetryFrame, Wheels};
/// use table::{FrameBuilder, Variant};
///
/// let frames = vec![TelemetryFrame {
///     session_id: vec![7; 16].into(),
///     seq: 42,
///     speed_kmh: 201.5,
///     tyre_pressure_psi: Some(Wheels { fl: 27.0, fr: 27.5, rl: 26.0, rr: 26.5 }),
///     ..Default::default()
/// }];
/// let mut builder = FrameBuilder::new(Variant::Frames);
/// builder.append(&frames)?;
/// let batch = builder.finish()?;
///
/// let reader = RowReader::new(batch.schema().as_ref(), "memory")?;
/// let mut back = Vec::new();
/// reader.read(&batch, 0, &mut back)?;
/// assert_eq!(back, frames);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone)]
pub struct RowReader {
    path: PathBuf,
    reader: FrameReader,
}

impl RowReader {
    /// A reader of batches with `schema` (a file's Arrow schema; extra columns such as the
    /// derived ones are ignored). `path` names the source in errors.
    pub fn new(schema: &Schema, path: impl Into<PathBuf>) -> Result<RowReader, ConvertError> {
        let path = path.into();
        match FrameReader::new(schema) {
            Ok(reader) => Ok(RowReader { path, reader }),
            Err(e) => Err(located(path, 0, e)),
        }
    }

    /// Columns of the table the file lacks (their fields stay at their defaults).
    pub fn missing(&self) -> &[String] {
        self.reader.missing()
    }

    /// Appends one frame per row of `batch` to `out`. `first_row` is the batch's first row's
    /// number in the file, for errors.
    pub fn read(
        &self,
        batch: &RecordBatch,
        first_row: u64,
        out: &mut Vec<TelemetryFrame>,
    ) -> Result<(), ConvertError> {
        self.reader.read(batch, out).map_err(|e| located(self.path.clone(), first_row, e))
    }

    /// Sets every field of `frames[i]` from row `i` of `batch` (`frames` as long as the batch;
    /// fields are assigned, so frames reused from an earlier batch should be cleared first).
    pub fn fill(
        &self,
        batch: &RecordBatch,
        first_row: u64,
        frames: &mut [TelemetryFrame],
    ) -> Result<(), ConvertError> {
        self.reader.fill(batch, frames).map_err(|e| located(self.path.clone(), first_row, e))
    }
}

/// The table's error with the file and the row within it.
fn located(path: PathBuf, first_row: u64, e: TableError) -> ConvertError {
    match e {
        TableError::MissingColumn { column } => ConvertError::MissingColumn { path, column },
        TableError::ColumnType { column, found, expected } => {
            ConvertError::ColumnType { path, column, found, expected }
        }
        TableError::BadValue { row, column, problem } => {
            ConvertError::BadValue { path, row: first_row + row as u64, column, problem }
        }
        other => ConvertError::Rows { path, source: other },
    }
}
