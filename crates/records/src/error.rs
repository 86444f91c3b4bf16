//! The crate's one error type.

use std::path::PathBuf;

/// What went wrong, and with which file.
#[derive(Debug, thiserror::Error)]
pub enum RecordsError {
    /// SQLite refused an operation on the records database.
    #[error("records database {}: {what}", .path.display())]
    Db {
        /// The database file.
        path: PathBuf,
        /// What the store was doing (`"open"`, `"migrate to version 1"`, `"add lap"`, …).
        what: &'static str,
        /// SQLite's error.
        #[source]
        source: rusqlite::Error,
    },
    /// The database was written by a newer pitwall: its schema is not one this build knows.
    #[error(
        "records database {}: schema version {found} is newer than this build knows ({known})",
        .path.display()
    )]
    TooNew {
        /// The database file.
        path: PathBuf,
        /// `PRAGMA user_version` of the file.
        found: i64,
        /// The newest version this build migrates to.
        known: i64,
    },
    /// A results file could not be read or is not a results file.
    #[error("results file {}: {message}", .path.display())]
    Results {
        /// The results file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
    /// A caller's input that cannot be stored (an empty GUID, a key of another database).
    #[error("records database {}: {message}", .path.display())]
    Invalid {
        /// The database file.
        path: PathBuf,
        /// What is wrong with the input.
        message: String,
    },
}
