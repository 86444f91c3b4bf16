//! The crate's errors. Each variant carries what an operator needs to act: the path, the byte
//! offset, the sink's name, the offending value.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Errors of the write-ahead log: reading, replaying, writing.
#[derive(Debug, thiserror::Error)]
pub enum WalError {
    /// A file operation failed.
    #[error("WAL {op} {path}: {source}")]
    Io {
        /// What was being done ("open", "write", "fsync", …).
        op: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// A segment does not start with the WAL header.
    #[error("WAL segment {path}: bad header: {reason}")]
    BadHeader {
        /// The segment file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A record that is not the torn tail of the last segment failed its length or CRC check.
    /// Replay stops rather than skipping it: the frames in and after it were acked, so dropping
    /// them silently would break the durability promise. An operator has to look.
    #[error("WAL segment {path} is corrupt at byte {offset}: {reason}")]
    Corrupt {
        /// The segment file.
        path: PathBuf,
        /// Byte offset of the bad record in the file.
        offset: u64,
        /// Which check failed.
        reason: String,
    },
    /// The writer task has stopped (after an I/O error or at shutdown); nothing more is stored.
    #[error("the WAL writer has stopped: {reason}")]
    WriterStopped {
        /// Why it stopped.
        reason: String,
    },
}

impl WalError {
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        WalError::Io { op, path: path.into(), source }
    }
}

/// Errors a sink reports. Every sink maps its own failures onto these; the pipeline logs them,
/// counts them and retries with backoff.
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// A file operation failed.
    #[error("{op} {path}: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// A stored frame could not be decoded (should not happen: frames are validated before they
    /// reach the WAL, and the WAL checks a CRC per record).
    #[error("frame of session {session} seq {seq} does not decode: {source}")]
    Decode {
        /// The frame's session, as text.
        session: String,
        /// The frame's seq.
        seq: u64,
        /// prost's error.
        #[source]
        source: prost::DecodeError,
    },
    /// The sink's configuration is unusable.
    #[error("sink configuration: {0}")]
    Config(String),
    /// Anything else, with the sink's own error inside.
    #[error("{0}")]
    Other(#[source] Box<dyn std::error::Error + Send + Sync + 'static>),
}

impl SinkError {
    /// An I/O error on `path` while doing `op`.
    pub fn io(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        SinkError::Io { op, path: path.into(), source }
    }

    /// Wraps any error.
    pub fn other(e: impl Into<Box<dyn std::error::Error + Send + Sync + 'static>>) -> Self {
        SinkError::Other(e.into())
    }
}

/// Configuration errors: reading and parsing the TOML file, and settings that may not be combined.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("reading config {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The file is not valid TOML for [`crate::Config`].
    #[error("parsing config {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// toml's message, with line and column.
        message: String,
    },
    /// Listening beyond loopback without a token would let anyone on the network write data.
    #[error(
        "listening on {listen} (not a loopback address) requires a bearer token (--token or `token` in the config)"
    )]
    TokenRequired {
        /// The listen address.
        listen: SocketAddr,
    },
    /// A TLS certificate was given without its key, or the other way round.
    #[error("TLS needs both a certificate and a key (got only the {given})")]
    TlsIncomplete {
        /// Which half was given.
        given: &'static str,
    },
    /// A setting is out of range or two settings conflict.
    #[error("config: {0}")]
    Invalid(String),
}

/// Errors that stop the server: at start-up (configuration, replay, bind, TLS) or later (the WAL
/// writer failed, the transport failed).
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// Bad configuration.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The WAL could not be replayed or written.
    #[error(transparent)]
    Wal(#[from] WalError),
    /// A sink could not be built or its checkpoint could not be read.
    #[error("sink {name}: {source}")]
    Sink {
        /// The sink's configured name.
        name: String,
        /// What went wrong.
        #[source]
        source: SinkError,
    },
    /// Creating a data directory failed.
    #[error("creating {path}: {source}")]
    DataDir {
        /// The directory.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The listen address could not be bound.
    #[error("binding {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The TLS certificate or key could not be read or used.
    #[error("TLS: {0}")]
    Tls(String),
    /// The gRPC transport failed.
    #[error("gRPC transport: {0}")]
    Transport(#[from] tonic::transport::Error),
    /// A background task panicked or was cancelled.
    #[error("{task} task ended abnormally: {message}")]
    Task {
        /// Which task.
        task: &'static str,
        /// The join error.
        message: String,
    },
}
