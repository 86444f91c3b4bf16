//! The crate's error type. Every variant names what failed and where: the file, and for data
//! the column or row. An underlying error is the variant's `source()`, not repeated in its
//! message (print the chain, as `anyhow`'s `{:#}` does).

use std::io;
use std::path::PathBuf;

use record::RecordError;

/// What can go wrong converting.
#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    /// A file or folder operation failed.
    #[error("{path}: {op}")]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// What was being done, e.g. "create".
        op: &'static str,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// Reading a recording failed (not damage: damage ends the input and is reported in the
    /// [`ConvertReport`](crate::ConvertReport)).
    #[error(transparent)]
    Record(#[from] RecordError),
    /// Reading a Parquet file failed.
    #[error("{path}: reading Parquet")]
    ParquetRead {
        /// The file.
        path: PathBuf,
        /// What the Parquet reader said.
        #[source]
        source: parquet::errors::ParquetError,
    },
    /// A Parquet file's batch did not read (Arrow).
    #[error("{path}: reading Parquet rows")]
    ArrowRead {
        /// The file.
        path: PathBuf,
        /// What Arrow said.
        #[source]
        source: arrow_schema::ArrowError,
    },
    /// A column of a Parquet input has a type the frame table never writes.
    #[error("{path}: column `{column}` is {found}, but the frame table has it as {expected}")]
    ColumnType {
        /// The file.
        path: PathBuf,
        /// The column.
        column: String,
        /// Its type in the file.
        found: String,
        /// Its type in the frame table.
        expected: String,
    },
    /// A Parquet input lacks a column without which no frame can be made.
    #[error("{path}: no column `{column}`: not a pitwall frame table")]
    MissingColumn {
        /// The file.
        path: PathBuf,
        /// The column.
        column: &'static str,
    },
    /// A value of a Parquet input cannot become a frame field.
    #[error("{path}: row {row}, column `{column}`: {problem}")]
    BadValue {
        /// The file.
        path: PathBuf,
        /// Row within the file, from 0.
        row: u64,
        /// The column.
        column: String,
        /// What is wrong.
        problem: String,
    },
    /// The session metadata in a Parquet file's key-value metadata does not read.
    #[error("{path}: key-value metadata `{key}`: {problem}")]
    BadMetadata {
        /// The file.
        path: PathBuf,
        /// The key.
        key: String,
        /// What is wrong.
        problem: String,
    },
    /// The input is neither a recording nor Parquet: its first bytes are not a gzip member.
    #[error("{path}: not a recording (no gzip member at byte 0: {kind}) nor a Parquet file or folder")]
    NotARecording {
        /// The file.
        path: PathBuf,
        /// What the recording reader found.
        kind: record::DamageKind,
    },
    /// A recording in which no frame at all could be read.
    #[error(
        "{path}: nothing readable: damaged at byte {offset} ({kind}){}",
        if *.damages > 1 { format!(" and in {} more places", .damages - 1) } else { String::new() }
    )]
    NothingReadable {
        /// The file.
        path: PathBuf,
        /// Where the first damage starts.
        offset: u64,
        /// What it is.
        kind: record::DamageKind,
        /// Damaged stretches found.
        damages: usize,
    },
    /// An output is an input file, or a link to it.
    #[error("{output} is the input {input} (or a link to it): refusing to write over the input")]
    OutputIsInput {
        /// The output asked for.
        output: PathBuf,
        /// The input file it is.
        input: PathBuf,
    },
    /// An output lies inside the input dataset folder.
    #[error("{output} lies inside the input dataset folder {input}: write it elsewhere")]
    OutputInsideInput {
        /// The output asked for.
        output: PathBuf,
        /// The dataset folder.
        input: PathBuf,
    },
    /// A folder given as input holds no Parquet file.
    #[error("{0}: no .parquet file in this folder (expected a dataset: session=…/car=…/part-N.parquet)")]
    EmptyDataset(PathBuf),
    /// The output format cannot be told from the output's name.
    #[error(
        "{0}: cannot tell the output format from the extension (.parquet, .csv or .ld): say it with --to"
    )]
    UnknownFormat(PathBuf),
    /// The input holds no frame, and the output cannot be empty (a MoTeC log needs a first
    /// frame for its time base and header).
    #[error("{0}: no frames to convert: a MoTeC log needs at least one")]
    NoFrames(PathBuf),
    /// Rows of a Parquet file did not become frames for another reason than the ones above
    /// (a batch whose columns are not the file's).
    #[error("{path}: reading rows into frames")]
    Rows {
        /// The file.
        path: PathBuf,
        /// What the table's reader said.
        #[source]
        source: table::TableError,
    },
    /// Building or writing the table failed.
    #[error(transparent)]
    Table(#[from] table::TableError),
    /// Writing the MoTeC log failed.
    #[error(transparent)]
    Analysis(#[from] analysis::AnalysisError),
    /// A pipeline thread stopped unexpectedly (a bug: the other thread's error says more).
    #[error("the {0} thread stopped unexpectedly")]
    Thread(&'static str),
}

impl ConvertError {
    pub(crate) fn io(path: impl Into<PathBuf>, op: &'static str) -> impl FnOnce(io::Error) -> ConvertError {
        let path = path.into();
        move |source| ConvertError::Io { path, op, source }
    }
}

/// An error with its causes, on one line (for a warning or a log line).
pub fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
