//! What the relay is told: the server, its own port, the plugins, and the limits that keep one
//! plugin from costing the others anything.
//!
//! A plugin is given on the command line as `NAME=ADDR:PORT[,reply=PORT]`, or in the TOML file:
//!
//! ```toml
//! server = "127.0.0.1:11000"     # acServer's IP and UDP_PLUGIN_LOCAL_PORT
//! listen = "127.0.0.1:12000"     # the port of acServer's UDP_PLUGIN_ADDRESS
//! capture = "relay.pcap"         # optional
//! metrics = "127.0.0.1:9466"     # optional
//!
//! [[plugin]]
//! name = "stracker"
//! addr = "127.0.0.1:12001"       # where the plugin listens for events
//! reply = 11001                  # where it sends its commands (optional: one is picked)
//! ```

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::time::Duration;

use serde::Deserialize;

use crate::error::RelayError;

/// Longest plugin name: it is a label in logs and metrics, not prose.
pub const MAX_NAME: usize = 64;

/// One plugin behind the relay.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginConfig {
    /// Its name in logs and metrics: letters, digits, `_`, `-` and `.`.
    pub name: String,
    /// Where it listens for events (its own "UDP_PLUGIN_ADDRESS").
    pub addr: SocketAddr,
    /// The relay's port it sends commands to (its own "UDP_PLUGIN_LOCAL_PORT"); `None` picks a
    /// free one.
    #[serde(default)]
    pub reply: Option<u16>,
}

impl PluginConfig {
    /// Checks the name (it becomes a Prometheus label value and a log field).
    pub fn validate(&self) -> Result<(), RelayError> {
        let ok = |c: char| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.');
        if self.name.is_empty() || self.name.len() > MAX_NAME || !self.name.chars().all(ok) {
            return Err(RelayError::config(
                format!("plugin `{}`", self.name.escape_debug()),
                format!("a name is 1 to {MAX_NAME} letters, digits, `_`, `-` or `.`"),
            ));
        }
        if self.addr.port() == 0 {
            return Err(RelayError::config(format!("plugin `{}`", self.name), "its port is 0"));
        }
        if self.addr.ip().is_unspecified() {
            // Its commands would come from a real address, never from 0.0.0.0.
            return Err(RelayError::config(
                format!("plugin `{}`", self.name),
                format!("{} is no address to send to; give the plugin's IP", self.addr.ip()),
            ));
        }
        Ok(())
    }

    /// The local address of the relay's socket for this plugin: loopback for a plugin on
    /// loopback (nothing else needs to reach the port), every interface otherwise.
    pub fn bind_addr(&self) -> SocketAddr {
        SocketAddr::new(bind_ip_for(self.addr.ip()), self.reply.unwrap_or(0))
    }
}

/// `NAME=ADDR:PORT[,reply=PORT]`, the `--plugin` flag.
impl FromStr for PluginConfig {
    type Err = RelayError;

    fn from_str(s: &str) -> Result<Self, RelayError> {
        let bad = |why: &str| RelayError::config(format!("--plugin `{s}`"), why.to_owned());
        let (name, rest) = s.split_once('=').ok_or_else(|| bad("expected NAME=ADDR:PORT[,reply=PORT]"))?;
        let mut parts = rest.split(',');
        let addr = parts.next().unwrap_or_default();
        let addr: SocketAddr =
            addr.parse().map_err(|_| bad("ADDR:PORT is not an address such as 127.0.0.1:12001"))?;
        let mut reply = None;
        for part in parts {
            match part.split_once('=') {
                Some(("reply", port)) => {
                    let port: u16 = port.parse().map_err(|_| bad("reply=PORT needs a port number"))?;
                    if port == 0 {
                        return Err(bad("reply=0: leave reply out to have a port picked"));
                    }
                    reply = Some(port);
                }
                _ => return Err(bad("after the address only `reply=PORT` is understood")),
            }
        }
        let plugin = PluginConfig { name: name.to_owned(), addr, reply };
        plugin.validate()?;
        Ok(plugin)
    }
}

/// Checks that names and fixed reply ports are unique.
pub fn validate_plugins(plugins: &[PluginConfig]) -> Result<(), RelayError> {
    for (i, p) in plugins.iter().enumerate() {
        p.validate()?;
        if plugins[..i].iter().any(|q| q.name == p.name) {
            return Err(RelayError::config(format!("plugin `{}`", p.name), "the name is used twice"));
        }
        if let Some(port) = p.reply {
            if let Some(q) = plugins[..i].iter().find(|q| q.reply == Some(port)) {
                return Err(RelayError::config(
                    format!("plugin `{}`", p.name),
                    format!("reply port {port} is also `{}`'s", q.name),
                ));
            }
        }
    }
    Ok(())
}

/// Loopback for a peer on loopback, the unspecified address of the same family otherwise.
pub fn bind_ip_for(peer: IpAddr) -> IpAddr {
    if peer.is_loopback() {
        peer
    } else if peer.is_ipv6() {
        IpAddr::from([0u16; 8])
    } else {
        IpAddr::V4(Ipv4Addr::UNSPECIFIED)
    }
}

/// The bounds that isolate plugins from one another. The defaults suit a full grid at a 10 ms
/// interval with room to spare.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// Datagrams queued for one plugin before new ones are dropped (and counted).
    pub queue: usize,
    /// How long an ask (GET_CAR_INFO, GET_SESSION_INFO, …) waits for its answer; after that
    /// an answer is treated as unsolicited and goes to every plugin.
    pub answer_timeout: Duration,
    /// Asks remembered at most, all plugins together; the oldest goes first.
    pub max_pending: usize,
    /// Commands accepted per second from one plugin, on average (a token bucket).
    pub commands_per_second: f64,
    /// Commands one plugin may send in a burst above that rate.
    pub command_burst: f64,
    /// At most one log line per plugin and kind of trouble per this long (the others are
    /// counted, and the count is in the next line).
    pub log_every: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            queue: 4096,
            answer_timeout: Duration::from_secs(2),
            max_pending: 1024,
            commands_per_second: 200.0,
            command_burst: 400.0,
            log_every: Duration::from_secs(10),
        }
    }
}

/// Everything the relay needs to start.
#[derive(Debug, Clone)]
pub struct RelayConfig {
    /// The server's command endpoint: its IP and `UDP_PLUGIN_LOCAL_PORT`.
    pub server: SocketAddr,
    /// Where the relay receives events: the server's `UDP_PLUGIN_ADDRESS`.
    pub listen: SocketAddr,
    /// The plugins.
    pub plugins: Vec<PluginConfig>,
    /// Write every datagram, both ways, to this pcap file.
    pub capture: Option<PathBuf>,
    /// Isolation limits.
    pub limits: Limits,
}

impl RelayConfig {
    /// A relay for `server`, listening on `listen`, with no plugin yet.
    pub fn new(server: SocketAddr, listen: SocketAddr) -> Self {
        RelayConfig { server, listen, plugins: Vec::new(), capture: None, limits: Limits::default() }
    }
}

/// One list from two: the `first` plugins (command-line flags), then those of `then` (a config
/// file) that `first` does not name.
pub fn merge_plugins(first: &[PluginConfig], then: &[PluginConfig]) -> Vec<PluginConfig> {
    let mut all = first.to_vec();
    all.extend(then.iter().filter(|p| !first.iter().any(|f| f.name == p.name)).cloned());
    all
}

/// The TOML config file (`pitwall relay --config relay.toml`). Every key is optional, so that
/// the file can hold only the plugins and the rest come from flags.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileConfig {
    /// See [`RelayConfig::server`].
    pub server: Option<SocketAddr>,
    /// See [`RelayConfig::listen`]: `"ADDR:PORT"`, or a port alone.
    pub listen: Option<Listen>,
    /// See [`RelayConfig::capture`].
    pub capture: Option<PathBuf>,
    /// Where to serve `GET /metrics`.
    pub metrics: Option<SocketAddr>,
    /// The plugins (`[[plugin]]` tables).
    #[serde(default, rename = "plugin")]
    pub plugins: Vec<PluginConfig>,
}

/// The relay's listening address as written in the file: a port or a whole address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum Listen {
    /// A port; the IP follows the server's (loopback for a server on loopback).
    Port(u16),
    /// An address.
    Addr(SocketAddr),
}

impl Listen {
    /// The address to bind, given the server's.
    pub fn resolve(self, server: SocketAddr) -> SocketAddr {
        match self {
            Listen::Port(port) => SocketAddr::new(bind_ip_for(server.ip()), port),
            Listen::Addr(addr) => addr,
        }
    }
}

impl FromStr for Listen {
    type Err = RelayError;

    fn from_str(s: &str) -> Result<Self, RelayError> {
        if let Ok(port) = s.parse::<u16>() {
            return Ok(Listen::Port(port));
        }
        s.parse::<SocketAddr>()
            .map(Listen::Addr)
            .map_err(|_| RelayError::config(format!("listen `{s}`"), "expected a port or ADDR:PORT"))
    }
}

impl FileConfig {
    /// Parses a config file's text.
    pub fn parse(text: &str) -> Result<Self, toml::de::Error> {
        toml::from_str(text)
    }

    /// Reads and parses a config file, and checks its plugins.
    pub fn read(path: &Path) -> Result<Self, RelayError> {
        let err = |source: Box<dyn std::error::Error + Send + Sync>| RelayError::ConfigFile {
            path: path.to_owned(),
            source,
        };
        let text = std::fs::read_to_string(path).map_err(|e| err(e.into()))?;
        let config = FileConfig::parse(&text).map_err(|e| err(e.into()))?;
        validate_plugins(&config.plugins)?;
        Ok(config)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn merged_plugins_take_the_first_lists_name_over_the_seconds() {
        let p = |s: &str| s.parse::<PluginConfig>().unwrap();
        let all = merge_plugins(&[p("a=127.0.0.1:1")], &[p("a=127.0.0.1:2"), p("b=127.0.0.1:3")]);
        assert_eq!(all, vec![p("a=127.0.0.1:1"), p("b=127.0.0.1:3")]);
    }

    #[test]
    fn plugin_flags_parse_and_bad_ones_say_why() {
        let p: PluginConfig = "stracker=127.0.0.1:12001,reply=11001".parse().unwrap();
        assert_eq!(
            p,
            PluginConfig {
                name: "stracker".into(),
                addr: "127.0.0.1:12001".parse().unwrap(),
                reply: Some(11001)
            }
        );
        let p: PluginConfig = "kmr=10.0.0.2:13000".parse().unwrap();
        assert_eq!(p.reply, None);
        assert_eq!(p.bind_addr(), "0.0.0.0:0".parse().unwrap());
        for bad in [
            "nameonly",
            "x=1.2.3.4",
            "x=127.0.0.1:1,port=3",
            "x=127.0.0.1:1,reply=0",
            "a b=127.0.0.1:1",
            "=127.0.0.1:1",
        ] {
            let e = bad.parse::<PluginConfig>().unwrap_err().to_string();
            assert!(e.contains(bad) || e.contains("name"), "{bad}: {e}");
        }
        let e = "x=0.0.0.0:1".parse::<PluginConfig>().unwrap_err().to_string();
        assert!(e.contains("0.0.0.0 is no address"), "{e}");
    }

    #[test]
    fn duplicate_names_and_reply_ports_are_refused() {
        let a: PluginConfig = "a=127.0.0.1:1,reply=5".parse().unwrap();
        let b: PluginConfig = "b=127.0.0.1:2,reply=5".parse().unwrap();
        assert!(validate_plugins(&[a.clone(), b]).unwrap_err().to_string().contains("reply port 5"));
        assert!(validate_plugins(&[a.clone(), a]).unwrap_err().to_string().contains("twice"));
    }

    #[test]
    fn the_file_names_plugins_and_the_rest_is_optional() {
        let f = FileConfig::parse(
            r#"
            server = "127.0.0.1:11000"
            listen = 12000
            [[plugin]]
            name = "stracker"
            addr = "127.0.0.1:12001"
            reply = 11001
            [[plugin]]
            name = "kmr"
            addr = "127.0.0.1:12002"
            "#,
        )
        .unwrap();
        assert_eq!(f.plugins.len(), 2);
        assert_eq!(f.listen.unwrap().resolve(f.server.unwrap()), "127.0.0.1:12000".parse().unwrap());
        assert_eq!(FileConfig::parse("").unwrap(), FileConfig::default());
        assert!(FileConfig::parse("plugins = 3").is_err(), "unknown keys are refused");
    }
}
