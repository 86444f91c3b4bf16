//! Errors of the simulators. Only start-up and configuration problems, and a socket that stops
//! working, are errors: bad input on the wire is counted and skipped, never fatal.

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
    /// Every send to the plugin's address failed, many times in a row, for a reason other than
    /// nobody listening (which is normal): the address cannot be reached from the socket, so
    /// the simulator would run without effect.
    #[error("{failures} events in a row could not be sent to the plugin address {plugin}")]
    Send {
        /// The plugin's address.
        plugin: SocketAddr,
        /// Sends that failed in a row.
        failures: u32,
        /// Why the last one failed.
        source: std::io::Error,
    },
    /// The task running a spawned simulator panicked or was cancelled.
    // The join error is the source: the printed chain says it, so the message does not.
    #[error("the simulator task ended abnormally")]
    Task(#[from] tokio::task::JoinError),
}

impl SimError {
    pub(crate) fn config(field: &'static str, reason: impl Into<String>) -> Self {
        SimError::Config { field, reason: reason.into() }
    }
}
