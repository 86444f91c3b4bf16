//! What `pitwall timing --server` and `pitwall serve --acsp-server` share: following a live
//! dedicated server with the timing engine, lap records kept in a database, chat commands
//! answered (`live::follow`).

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;

use anyhow::Context as _;
use live::follow::{FollowConfig, Follower};
use live::recorder::{Recorder, RecorderConfig};

/// The port a plugin conventionally listens on (`UDP_PLUGIN_ADDRESS=127.0.0.1:12000`).
pub(crate) const DEFAULT_PLUGIN_PORT: u16 = 12000;

/// How to follow one server.
#[derive(Debug, Clone)]
pub(crate) struct Follow {
    /// The server's command port: its address and `UDP_PLUGIN_LOCAL_PORT`.
    pub server: SocketAddr,
    /// Our port: the port of the server's `UDP_PLUGIN_ADDRESS`.
    pub port: u16,
    /// Accept events from the server's IP on any port.
    pub any_port: bool,
    /// Car-update interval to ask for, ms.
    pub interval_ms: Option<u16>,
    /// Driver GUIDs allowed the admin chat commands.
    pub admins: Vec<String>,
}

impl Follow {
    /// Where to listen: loopback for a server on loopback (nothing else can reach the port),
    /// every interface otherwise.
    pub fn listen(&self) -> SocketAddr {
        let ip: IpAddr = if self.server.ip().is_loopback() {
            self.server.ip()
        } else if self.server.is_ipv6() {
            IpAddr::from([0u16; 8])
        } else {
            IpAddr::V4(Ipv4Addr::UNSPECIFIED)
        };
        SocketAddr::new(ip, self.port)
    }

    /// The follower, bound, with the records database at `db` (created if missing); without
    /// one, timing only.
    pub async fn bind(&self, db: Option<&Path>) -> anyhow::Result<Follower> {
        let mut config = FollowConfig::new(self.listen(), self.server);
        config.any_port = self.any_port;
        if let Some(ms) = self.interval_ms {
            config.timing.realtime_interval_ms = Some(ms);
        }
        config.chat.admins = self.admins.clone();
        let recorder = match db {
            Some(db) => {
                let store = records::Store::open(db)
                    .with_context(|| format!("opening the records database {}", db.display()))?;
                Some(Recorder::new(store, RecorderConfig::default()))
            }
            None => None,
        };
        Follower::bind(config, recorder)
            .await
            .with_context(|| format!("cannot listen for the server's events on {}", self.listen()))
    }
}

/// The name pitwall's own follower has among a relay's plugins.
pub(crate) const SELF_PLUGIN: &str = "pitwall";

/// A relay bound in front of the server (listening where `follow` would, on the port of the
/// server's UDP_PLUGIN_ADDRESS) with `plugins` behind it, and the follower bound as one more
/// plugin of it, on loopback: the server sees one plugin, every plugin sees the server.
pub(crate) async fn behind_relay(
    follow: &Follow,
    plugins: Vec<relay::PluginConfig>,
    capture: Option<std::path::PathBuf>,
    db: &Path,
) -> anyhow::Result<(Follower, relay::Relay)> {
    if plugins.iter().any(|p| p.name == SELF_PLUGIN) {
        return Err(super::UsageError(format!(
            "--relay-plugin {SELF_PLUGIN}=…: that name is pitwall's own timing; name the plugin otherwise"
        ))
        .into());
    }
    let config = relay::RelayConfig {
        server: follow.server,
        listen: follow.listen(),
        plugins,
        capture,
        limits: relay::Limits::default(),
    };
    let relay = relay::Relay::bind(config).await.context("starting the relay")?;
    // The follower's ports, on loopback: where its events go, and where it sends commands (the
    // relay's socket for it). The reply port is picked free first, since each end must know the
    // other's before it binds.
    let reply = std::net::UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|s| s.local_addr())
        .context("cannot find a free loopback port for the relay")?
        .port();
    let inner = Follow {
        server: SocketAddr::from((Ipv4Addr::LOCALHOST, reply)),
        port: 0,
        any_port: false,
        interval_ms: follow.interval_ms,
        admins: follow.admins.clone(),
    };
    let follower = inner.bind(Some(db)).await?;
    relay
        .handle()
        .add_plugin(relay::PluginConfig {
            name: SELF_PLUGIN.to_owned(),
            addr: follower.local_addr(),
            reply: Some(reply),
        })
        .context("adding pitwall's timing to the relay")?;
    Ok((follower, relay))
}
