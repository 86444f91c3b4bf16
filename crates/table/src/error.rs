//! The crate's error type.

/// What can go wrong building, writing or reading back the table.
#[derive(Debug, thiserror::Error)]
pub enum TableError {
    /// Rows of a table with derived columns were appended without their derived values, or the
    /// two slices differ in length.
    #[error("{frames} frames but {derived} derived rows: a table with derived columns needs one per frame")]
    DerivedMismatch {
        /// Frames given.
        frames: usize,
        /// Derived rows given.
        derived: usize,
    },
    /// Derived values were given to a table without derived columns.
    #[error("derived values given, but the table was made without derived columns (Variant::Frames)")]
    NoDerivedColumns,
    /// Arrow refused the arrays (a bug in the builder: every column has a fixed type).
    #[error("building the Arrow batch: {0}")]
    Arrow(#[from] arrow_schema::ArrowError),
    /// The Parquet writer failed (often an I/O error of the output underneath).
    #[error("writing Parquet: {0}")]
    Parquet(#[from] parquet::errors::ParquetError),
    /// Rows to read back lack a column without which no frame can be made.
    #[error("no column `{column}`: not a pitwall frame table")]
    MissingColumn {
        /// The column.
        column: &'static str,
    },
    /// A column of rows to read back has a type the table never writes.
    #[error("column `{column}` is {found}, but the frame table has it as {expected}")]
    ColumnType {
        /// The column.
        column: String,
        /// Its type in the rows.
        found: String,
        /// Its type in the table.
        expected: String,
    },
    /// A batch given to a [`FrameReader`](crate::FrameReader) does not have the schema the
    /// reader was made for.
    #[error("the batch's columns are not those the reader was made for (column `{column}`)")]
    OtherSchema {
        /// The first column that differs.
        column: String,
    },
    /// A value cannot become its frame field.
    #[error("row {row}, column `{column}`: {problem}")]
    BadValue {
        /// Row within the batch, from 0.
        row: usize,
        /// The column.
        column: String,
        /// What is wrong.
        problem: String,
    },
    /// A file's key-value metadata entry does not read.
    #[error("key-value metadata `{key}`: {problem}")]
    BadMetadata {
        /// The key.
        key: &'static str,
        /// What is wrong.
        problem: String,
    },
}
