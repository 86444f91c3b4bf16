//! The dashboard's errors: only start-up and configuration stop it; bad requests are answered
//! (400, 404, …) and logged, never returned here.

use std::net::SocketAddr;
use std::path::PathBuf;

/// Why a dashboard could not start or stopped serving.
#[derive(Debug, thiserror::Error)]
pub enum DashboardError {
    /// The dashboard listens beyond loopback without a token: anyone on the network could read
    /// the timing and the records.
    #[error("the dashboard listens on {listen}, which is not loopback: it needs a token")]
    TokenRequired {
        /// The address asked for.
        listen: SocketAddr,
    },
    /// The token is unusable in a URL or a header.
    #[error("the dashboard's token must be 8 to 256 characters of A-Z, a-z, 0-9, '-', '_' or '.'")]
    BadToken,
    /// The records database named does not exist: the dashboard only reads, it never creates one.
    #[error("records database {path} does not exist")]
    RecordsDbMissing {
        /// The path given.
        path: PathBuf,
    },
    /// The records database could not be opened.
    #[error("records database {path}")]
    Records {
        /// The path given.
        path: PathBuf,
        /// What failed.
        #[source]
        source: records::RecordsError,
    },
    /// The listening socket could not be bound.
    #[error("binding the dashboard to {listen}")]
    Bind {
        /// The address asked for.
        listen: SocketAddr,
        /// What failed.
        #[source]
        source: std::io::Error,
    },
    /// The server stopped on a socket error.
    #[error("serving the dashboard")]
    Serve(#[source] std::io::Error),
}
