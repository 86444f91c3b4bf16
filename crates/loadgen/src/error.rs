//! Errors of the load generator, each naming what failed and where (the server's address, the
//! stream, the file under `/proc`, the server's command line).

use std::io;
use std::path::PathBuf;

/// What went wrong while generating load or measuring a server.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A load that cannot run (no streams, a window of 0, no time).
    #[error("invalid load: {0}")]
    InvalidLoad(&'static str),
    /// The server's address is not a valid URI authority.
    #[error("`{addr}` is not a server address (HOST:PORT)")]
    BadAddress {
        /// The address as given.
        addr: String,
        /// Why it is not one.
        #[source]
        source: tonic::codegen::http::uri::InvalidUri,
    },
    /// Connecting to the server failed.
    #[error("cannot connect to {addr}")]
    Connect {
        /// The server's address.
        addr: String,
        /// The transport's error.
        #[source]
        source: tonic::transport::Error,
    },
    /// The connection did not become ready for a call.
    #[error("the server is not ready for a call")]
    NotReady(#[source] tonic::transport::Error),
    /// The server answered the `StreamFrames` call with an error status instead of acks.
    #[error("the server refused the StreamFrames call")]
    Refused(#[source] Box<tonic::Status>),
    /// The ack stream of a load stream ended with an error status.
    #[error("the ack stream of stream {stream} failed")]
    Acks {
        /// The stream, from 0.
        stream: u32,
        /// The status the server ended the call with.
        #[source]
        status: Box<tonic::Status>,
    },
    /// The server ended a stream's call before acknowledging every frame sent on it.
    #[error("stream {stream}: {sent} frames sent but {acked} acked when the server ended the stream")]
    Unacked {
        /// The stream, from 0.
        stream: u32,
        /// Frames sent.
        sent: u64,
        /// Frames acknowledged.
        acked: u64,
    },
    /// A client task panicked or was cancelled.
    #[error("the client task of stream {stream} failed")]
    Task {
        /// The stream, from 0.
        stream: u32,
        /// The runtime's report.
        #[source]
        source: tokio::task::JoinError,
    },
    /// A file under `/proc` could not be read (most often: the process has ended).
    #[error("cannot read {}", path.display())]
    ProcRead {
        /// The file.
        path: PathBuf,
        /// The read's error.
        #[source]
        source: io::Error,
    },
    /// A file under `/proc` does not hold what it should.
    #[error("{} has no readable {what}", path.display())]
    ProcFormat {
        /// The file.
        path: PathBuf,
        /// What is missing, e.g. `VmHWM`.
        what: &'static str,
    },
    /// This system has no `/proc` to read process figures from.
    #[error("{what} is read from /proc, which only Linux has (this is {})", std::env::consts::OS)]
    ProcUnsupported {
        /// The figure asked for.
        what: &'static str,
    },
    /// A server's command line is empty.
    #[error("the command line of the {name} server is empty")]
    EmptyCommand {
        /// The server's name.
        name: String,
    },
    /// A server process could not be started.
    #[error("cannot start the {name} server ({command})")]
    Spawn {
        /// The server's name.
        name: String,
        /// Its command line, as Rust shows a `Command`.
        command: String,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// A server process did not print `listening on ADDR` in time.
    #[error("the {name} server did not print `listening on ADDR` within {secs} s")]
    NotListening {
        /// The server's name.
        name: String,
        /// How long it was given, seconds.
        secs: f64,
    },
    /// A server process ended before it printed `listening on ADDR`.
    #[error("the {name} server ended before it printed `listening on ADDR` ({status})")]
    Exited {
        /// The server's name.
        name: String,
        /// How it ended, e.g. `exit status: 2`.
        status: String,
    },
    /// Waiting for a server process failed.
    #[error("cannot wait for the {name} server (pid {pid})")]
    Wait {
        /// The server's name.
        name: String,
        /// Its process id.
        pid: u32,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
}
