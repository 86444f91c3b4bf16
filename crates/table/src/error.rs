//! The crate's error type.

/// What can go wrong building or writing the table.
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
}
