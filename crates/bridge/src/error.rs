//! The bridge's errors. Only start-up and configuration problems stop it; trouble while running
//! (a torn page, a lost connection, a refused frame) is counted, logged and retried.

use std::path::PathBuf;

/// What went wrong, with what and where.
#[derive(Debug, thiserror::Error)]
pub enum BridgeError {
    /// The shared-memory pages could not be opened or read.
    #[error("shared memory: {0}")]
    Shm(#[from] shm::ShmError),
    /// The recording (the spool) could not be opened, written or read.
    #[error("recording: {0}")]
    Record(#[from] record::RecordError),
    /// A setting is unusable; `what` names it.
    #[error("{what}: {reason}")]
    Config {
        /// The setting, e.g. `--server`.
        what: &'static str,
        /// Why it is refused.
        reason: String,
    },
    /// A file given in the configuration could not be read.
    #[error("cannot read {path}: {source}")]
    File {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// A thread or runtime of the bridge could not be started or ended abnormally.
    #[error("{0}")]
    Runtime(String),
}

impl BridgeError {
    pub(crate) fn config(what: &'static str, reason: impl Into<String>) -> Self {
        BridgeError::Config { what, reason: reason.into() }
    }
}
