//! Errors of the simulators. Only start-up and configuration problems are errors: bad input on
//! the wire is counted and skipped, never fatal.

use std::net::SocketAddr;

use thiserror::Error;

/// Why a simulator could not start or stopped.
#[derive(Debug, Error)]
pub enum SimError {
    /// A configuration value is out of range or inconsistent with another.
    #[error("invalid simulator configuration: `{field}` {reason}")]
    Config {
        /// The offending field, e.g. `cars`.
        field: &'static str,
        /// What is wrong with it, e.g. `is 0; at least 1 car is needed`.
        reason: String,
    },
    /// The command socket could not be bound.
    #[error("cannot bind the simulator's command socket on {addr}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The socket failed in a way that is not about one datagram (the simulator stops).
    #[error("the simulator's socket on {addr} failed")]
    Socket {
        /// The bound address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// The task running a spawned simulator panicked or was cancelled.
    #[error("the simulator task ended abnormally: {0}")]
    Task(#[from] tokio::task::JoinError),
}

impl SimError {
    pub(crate) fn config(field: &'static str, reason: impl Into<String>) -> Self {
        SimError::Config { field, reason: reason.into() }
    }
}
