//! The relay's errors: configuration and start-up only. Bad datagrams at work are counted and
//! skipped, never an error.

use std::net::SocketAddr;
use std::path::PathBuf;

use thiserror::Error;

/// Errors of the relay.
#[derive(Debug, Error)]
pub enum RelayError {
    /// A plugin specification or a config value is wrong.
    #[error("invalid relay configuration: {what}: {why}")]
    Config {
        /// What is wrong (a flag, a key, a plugin's name).
        what: String,
        /// Why.
        why: String,
    },
    /// The TOML config file cannot be read or parsed.
    #[error("cannot read the relay config {path}")]
    ConfigFile {
        /// The file.
        path: PathBuf,
        /// Why.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
    /// A socket cannot be bound.
    #[error("cannot bind {what} on {addr}")]
    Bind {
        /// Which socket (the server side, or a plugin's name).
        what: String,
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The capture file cannot be created or written.
    #[error("cannot write the capture {path}")]
    Capture {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

impl RelayError {
    pub(crate) fn config(what: impl Into<String>, why: impl Into<String>) -> Self {
        RelayError::Config { what: what.into(), why: why.into() }
    }
}
