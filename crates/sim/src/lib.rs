//! # pitwall-sim: deterministic simulators of Assetto Corsa
//!
//! What our tests and `pitwall demo` talk to instead of a real game or server.
//!
//! - [`server`]: the dedicated server's UDP plugin interface (ACSP). [`server::ServerState`] is
//!   a pure state machine (simulated time and commands in, [`acsp::Event`]s out);
//!   [`server::ServerSim`] runs it on a real UDP socket with accelerated time, configured by a
//!   [`server::ServerConfig`], and [`server::ServerHandle`] watches and stops it.
//! - [`game`]: the game's shared memory. [`game::GameSim`] is a pure state machine (one 3 ms
//!   physics step in, the pages the game writes out); [`game::GameRunner`] writes them to page
//!   files at an accelerated real time, with injectable faults.
//!
//! Both follow the workspace rule that time and randomness are injected: the same seed and
//! configuration give the same events, and nothing needs a real clock to be tested.
//! Errors are [`SimError`]s; only configuration, socket set-up and a socket that stops working
//! (it cannot receive, or cannot reach the plugin at all) fail, bad input is counted.
//!
//! ```
//! use std::time::Duration;
//!
//! use acsp::{Command, Event};
//! use sim::server::{ServerConfig, ServerState};
//!
//! let config = ServerConfig { cars: 4, seed: 7, ..ServerConfig::default() };
//! let mut server = ServerState::new(&config)?;
//!
//! // The plugin interface starts with VERSION, then NEW_SESSION.
//! let start = server.start();
//! assert!(matches!(start[..], [Event::Version(_), Event::NewSession(_)]));
//!
//! // A minute of simulated time: the four drivers join and load.
//! let events = server.advance(Duration::from_secs(60));
//! let loaded = events.iter().filter(|e| matches!(e, Event::ClientLoaded(_))).count();
//! assert_eq!(loaded, 4);
//!
//! // Commands get the stock server's answers.
//! let answer = server.handle(&Command::GetSessionInfo { session_index: 9 });
//! assert!(matches!(&answer[..], [Event::Error(e)] if e.message.contains("out of bounds: 9")));
//! # Ok::<(), sim::SimError>(())
//! ```
//!
//! Over UDP, with the simulator on its own task (`cargo test` runs this too):
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use sim::server::{ServerConfig, ServerSim};
//!
//! let plugin = tokio::net::UdpSocket::bind("127.0.0.1:0").await?;
//! let config = ServerConfig {
//!     bind: "127.0.0.1:0".parse()?,
//!     plugin: plugin.local_addr()?,
//!     speed: 50.0,
//!     ..ServerConfig::default()
//! };
//! let server = ServerSim::bind(config).await?.spawn();
//!
//! let mut buf = [0u8; 2048];
//! let (n, from) = plugin.recv_from(&mut buf).await?;
//! assert_eq!(from, server.local_addr()); // events come from the command port
//! assert_eq!(acsp::decode(&buf[..n])?, acsp::Event::Version(acsp::Version { protocol_version: 4 }));
//!
//! let summary = server.shutdown().await?;
//! assert!(summary.stats.events_sent >= 2);
//! # Ok(())
//! # }
//! ```

mod error;
pub mod game;
pub mod server;

pub use error::SimError;
