//! Errors of the analysis crate.

use motec::MotecError;

/// What can go wrong exporting frames.
#[derive(Debug, thiserror::Error)]
pub enum AnalysisError {
    /// Writing the `.ld` or `.ldx` failed.
    #[error(transparent)]
    Motec(#[from] MotecError),
    /// A frame of another session reached a one-session export.
    #[error(
        "frame seq {seq} is of session {found}, but this export is of session {expected}: \
         export one session per file"
    )]
    SessionChanged {
        /// The session being exported, hex.
        expected: String,
        /// The frame's session, hex.
        found: String,
        /// The frame's seq.
        seq: u64,
    },
    /// Export options that cannot work.
    #[error("bad export options: {0}")]
    Options(String),
}
