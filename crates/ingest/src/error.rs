//! The crate's errors. Each variant carries what an operator needs to act: the path, the byte
//! offset, the sink's name, the offending value.
//!
//! A variant that wraps another error returns it from `source()` and leaves it out of its own
//! message, so that printing the chain (anyhow's `{:#}`, or [`ErrorChain`] in logs) says each
//! thing once: `sink parquet: create /data/x: Permission denied (os error 13)`.

use std::io;
use std::net::SocketAddr;
use std::path::PathBuf;

/// Errors of the write-ahead log: reading, replaying, writing.
#[derive(Debug, thiserror::Error)]
pub enum WalError {
    /// A file operation failed.
    #[error("WAL {op} {path}")]
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
    /// A record in the live segment failed its checks while a sink read it back (replay skips
    /// and reports damage in older segments; see [`crate::wal::format`]).
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
    #[error("{op} {path}")]
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
    #[error("frame of session {session} seq {seq} does not decode")]
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
    /// NATS JetStream did not do what was asked (unreachable, timed out, refused).
    #[error("JetStream at {servers}: {what}")]
    JetStream {
        /// The servers the sink connects to.
        servers: String,
        /// What was being done ("connect", "publish to pitwall.frames.…", …).
        what: String,
        /// The client's error.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync + 'static>,
    },
    /// Anything else: the sink's own error, shown as it is.
    #[error(transparent)]
    Other(Box<dyn std::error::Error + Send + Sync + 'static>),
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
    #[error("reading config {path}")]
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
    /// A metrics endpoint beyond loopback without a token would show anyone on the network
    /// who streams what.
    #[error(
        "serving metrics on {metrics} (not a loopback address) requires a bearer token (--token or `token` in the config), which scrapers then send as `Authorization: Bearer <token>`"
    )]
    MetricsTokenRequired {
        /// The metrics address.
        metrics: SocketAddr,
    },
    /// A TLS certificate was given without its key, or the other way round.
    #[error("TLS needs both a certificate and a key (got only the {given})")]
    TlsIncomplete {
        /// Which half was given.
        given: &'static str,
    },
    /// A numeric setting is outside the range the server can work with.
    #[error("config: `{key}`{} = {value} is out of range (allowed: {allowed})", section_text(.section.as_deref()))]
    OutOfRange {
        /// Where the key is: `[wal]`, `[[sinks]] "name"`; `None` at the top level.
        section: Option<String>,
        /// The key, as written in the file.
        key: &'static str,
        /// The value given.
        value: String,
        /// The allowed range, `min..=max`.
        allowed: String,
    },
    /// A setting is invalid or two settings conflict.
    #[error("config: {0}")]
    Invalid(String),
}

fn section_text(section: Option<&str>) -> String {
    section.map_or_else(String::new, |s| format!(" in {s}"))
}

/// Errors that stop the server: at start-up (configuration, replay, bind, TLS) or later (the WAL
/// writer's task failed, the WAL could still not be written at shutdown, the transport failed).
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// Bad configuration.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The WAL could not be replayed or written.
    #[error(transparent)]
    Wal(#[from] WalError),
    /// A sink could not be built or its checkpoint could not be read.
    #[error("sink {name}")]
    Sink {
        /// The sink's configured name.
        name: String,
        /// What went wrong.
        #[source]
        source: SinkError,
    },
    /// Creating a data directory failed.
    #[error("creating {path}")]
    DataDir {
        /// The directory.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// The listen address could not be bound.
    #[error("binding {addr}")]
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
    #[error("gRPC transport")]
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

/// Displays an error and its sources, `outer: inner: os error`, each once: what logs and
/// messages built from an error should print, since the variants above leave their source out
/// of their own text.
#[derive(Debug, Clone, Copy)]
pub struct ErrorChain<'a>(pub &'a (dyn std::error::Error + 'static));

impl std::fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(e) = source {
            write!(f, ": {e}")?;
            source = e.source();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The whole chain as anyhow's `{:#}` prints it.
    fn chain(e: &(dyn std::error::Error + 'static)) -> String {
        ErrorChain(e).to_string()
    }

    #[test]
    fn each_fact_is_printed_once_in_the_chain() {
        let os = || io::Error::from_raw_os_error(13);
        let os_text = os().to_string();
        let errors: Vec<Box<dyn std::error::Error + 'static>> = vec![
            Box::new(WalError::io("create", "/data/wal", os())),
            Box::new(IngestError::Wal(WalError::io("create", "/data/wal", os()))),
            Box::new(IngestError::DataDir { path: "/data/wal".into(), source: os() }),
            Box::new(IngestError::Bind { addr: "127.0.0.1:1".parse().unwrap(), source: os() }),
            Box::new(IngestError::Sink {
                name: "pq".into(),
                source: SinkError::io("create", "/data/x", os()),
            }),
            Box::new(IngestError::Sink {
                name: "pq".into(),
                source: SinkError::other(WalError::io("read", "/w", os())),
            }),
            Box::new(IngestError::Config(ConfigError::Read { path: "/etc/p.toml".into(), source: os() })),
        ];
        for e in &errors {
            let text = chain(e.as_ref());
            assert_eq!(text.matches(&os_text).count(), 1, "{text}");
            for path in ["/data/wal", "/data/x", "/etc/p.toml", "127.0.0.1:1", "/w"] {
                assert!(text.matches(path).count() <= 1, "{text}");
            }
        }
        assert_eq!(
            chain(&IngestError::Sink { name: "pq".into(), source: SinkError::io("create", "/data/x", os()) }),
            format!("sink pq: create /data/x: {os_text}")
        );
    }
}
