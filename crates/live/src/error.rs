//! The errors of a replay.

use std::path::PathBuf;

/// Why a capture could not be replayed. Damage inside a capture that holds events is not an
/// error: it is counted in the [`ReplayReport`](crate::replay::ReplayReport).
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// The capture cannot be opened or read.
    #[error("cannot read {}", .path.display())]
    Io {
        /// The capture.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },
    /// The file is empty.
    #[error("{} is empty: there is nothing to replay", .path.display())]
    Empty {
        /// The capture.
        path: PathBuf,
    },
    /// A pcap or pcapng file whose header cannot be read.
    #[error("{}: {reason}", .path.display())]
    NotACapture {
        /// The capture.
        path: PathBuf,
        /// What is wrong with its header.
        reason: String,
    },
    /// Nothing in the file decodes as plugin events, or a raw concatenation is mostly damage:
    /// it is not a capture of the plugin protocol.
    #[error("{}: {reason}", .path.display())]
    NoEvents {
        /// The capture.
        path: PathBuf,
        /// What was found instead (the first damage, the packets that are not UDP…).
        reason: String,
    },
    /// The records database failed.
    #[error(transparent)]
    Records(#[from] records::RecordsError),
}
