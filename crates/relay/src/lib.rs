//! # pitwall-relay: one dedicated server, several plugins
//!
//! acServer sends its plugin events to one address (`UDP_PLUGIN_ADDRESS`) and takes commands
//! on one port (`UDP_PLUGIN_LOCAL_PORT`). The relay stands in that one place: to the server it
//! is the plugin, to each plugin behind it it is the server, with a socket of its own per
//! plugin (the port that plugin sends its commands to).
//!
//! - Every event goes to every plugin; every valid command goes to the server.
//! - Answers go to the plugin that asked: CAR_INFO, SESSION_INFO, and an ERROR naming a command.
//! - Car-update intervals are reconciled: the server is asked for the fastest any plugin wants,
//!   and each plugin gets updates at the rate it asked for.
//! - A plugin that vanishes, floods or sends garbage costs the others nothing: bounded send
//!   queues, a command rate per plugin, malformed datagrams counted and dropped.
//!
//! The parts:
//! - [`Core`] is the routing state, sans IO: datagrams and the time in, recipients and
//!   commands out. Its module docs hold every rule.
//! - [`Relay`] runs a [`Core`] on tokio UDP sockets, configured by a [`RelayConfig`] of
//!   [`PluginConfig`]s; a [`RelayHandle`] gives its figures ([`RelayStats`], [`metrics`]) and
//!   adds or removes plugins while it runs ([`RelayHandle::set_plugins`]).
//! - [`capture`] writes every datagram, both ways, to a pcap file.
//! - [`FileConfig`] is the TOML config file.
//!
//! The default `runtime` feature brings [`Relay`] and [`metrics`] (tokio, axum); without it the
//! crate is the core, the config and the capture writer, which is what the fuzz target builds.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! use relay::{Relay, RelayConfig};
//!
//! // The server's UDP_PLUGIN_LOCAL_PORT is 11000; its UDP_PLUGIN_ADDRESS points at us (here
//! // any free port; 12000 by convention).
//! let mut config = RelayConfig::new("127.0.0.1:11000".parse()?, "127.0.0.1:0".parse()?);
//! // stracker listens on 12001; the relay picks the port it must send its commands to.
//! config.plugins.push("stracker=127.0.0.1:12001".parse()?);
//! let relay = Relay::bind(config).await?;
//! let handle = relay.handle();
//! let reply = handle.reply_addr("stracker").expect("added");
//! assert_ne!(reply.port(), 0, "stracker must send its commands here");
//! let stats = relay.run_until(async {}).await;
//! assert_eq!(stats.plugins[0].name, "stracker");
//! # Ok(())
//! # }
//! ```

pub mod capture;
mod config;
mod core;
mod error;
#[cfg(feature = "runtime")]
pub mod metrics;
#[cfg(feature = "runtime")]
mod runtime;
#[cfg(feature = "runtime")]
mod udp;

pub use crate::config::{
    FileConfig, Limits, Listen, PluginConfig, RelayConfig, bind_ip_for, merge_plugins, validate_plugins,
};
pub use crate::core::{CommandOutcome, Core, CoreCounters, CoreStats, Interval, PluginId, PluginView};
pub use crate::error::RelayError;
#[cfg(feature = "runtime")]
pub use crate::runtime::{PluginStats, Relay, RelayHandle, RelayStats, Reload};
