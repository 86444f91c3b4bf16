//! End-to-end tests of the relay: the simulated server, the relay and ACSP clients over UDP on
//! loopback.

// Test helpers outside `#[test]` functions may unwrap: a failure there is a test failure.
#![allow(clippy::unwrap_used)]

mod bursts;
mod capture;
mod intervals;
mod isolation;
mod reload;
mod routing;

use std::net::{SocketAddr, UdpSocket as StdUdpSocket};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use acsp::Event;
use acsp::client::{Client, ClientConfig};
use relay::{Limits, PluginConfig, Relay, RelayConfig, RelayHandle, RelayStats};
use sim::server::{ServerConfig, ServerHandle, ServerSim};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A loopback address with a port nobody uses right now.
pub fn free_addr() -> SocketAddr {
    StdUdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap()
}

/// The simulator (not yet started), the relay in front of it, running.
#[allow(missing_debug_implementations)]
pub struct Rig {
    pub sim: Option<ServerSim>,
    pub server: Option<ServerHandle>,
    pub relay: RelayHandle,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<RelayStats>>,
}

impl Rig {
    /// Binds the simulator and a relay with these plugins (name, where it listens).
    pub async fn new(
        server: ServerConfig,
        plugins: &[(&str, SocketAddr)],
        capture: Option<PathBuf>,
        limits: Limits,
    ) -> Rig {
        let sim = ServerSim::bind(ServerConfig {
            bind: "127.0.0.1:0".parse().unwrap(),
            plugin: "127.0.0.1:9".parse().unwrap(),
            ..server
        })
        .await
        .unwrap();
        let mut config = RelayConfig::new(sim.local_addr(), "127.0.0.1:0".parse().unwrap());
        config.plugins = plugins
            .iter()
            .map(|(name, addr)| PluginConfig { name: (*name).into(), addr: *addr, reply: None })
            .collect();
        config.capture = capture;
        config.limits = limits;
        let relay = Relay::bind(config).await.unwrap();
        let handle = relay.handle();
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(relay.run_until(async move {
            let _ = stopped.await;
        }));
        let mut sim = sim;
        sim.set_plugin_addr(handle.listen_addr());
        Rig { sim: Some(sim), server: None, relay: handle, stop: Some(stop), task: Some(task) }
    }

    /// A pitwall client as the plugin `name`, listening on `addr`, talking to the relay.
    pub async fn client(&self, name: &str, addr: SocketAddr, interval_ms: Option<u16>) -> Client {
        let reply = self.relay.reply_addr(name).unwrap();
        let mut config = ClientConfig::new(addr, reply);
        config.realtime_interval_ms = interval_ms;
        Client::bind(config).await.unwrap()
    }

    /// Starts the simulator.
    pub fn start(&mut self) {
        self.server = Some(self.sim.take().unwrap().spawn());
    }

    /// Stops the simulator (its last datagrams are let through first).
    pub async fn stop_server(&mut self) {
        if let Some(server) = self.server.take() {
            server.shutdown().await.unwrap();
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    /// Stops the relay; its final figures.
    pub async fn stop_relay(&mut self) -> RelayStats {
        let _ = self.stop.take().unwrap().send(());
        self.task.take().unwrap().await.unwrap()
    }
}

/// Every event a client gets within `d`, with when it got it.
pub async fn drain(client: &mut Client, d: Duration) -> Vec<(Instant, Event)> {
    let end = tokio::time::Instant::now() + d;
    let mut out = Vec::new();
    while let Ok(Ok(e)) = tokio::time::timeout_at(end, client.next_event()).await {
        out.push((Instant::now(), e));
    }
    out
}

/// Drains several clients at once for `d`.
pub async fn drain_all(clients: &mut [Client], d: Duration) -> Vec<Vec<(Instant, Event)>> {
    let futures = clients.iter_mut().map(|c| drain(c, d));
    let mut out = Vec::new();
    // Joined on one task: each future waits on its own client's queue.
    let joined = futures_join(futures.collect()).await;
    out.extend(joined);
    out
}

async fn futures_join<F: Future>(futures: Vec<F>) -> Vec<F::Output> {
    let mut pinned: Vec<_> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = pinned.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (f, out) in pinned.iter_mut().zip(outputs.iter_mut()) {
            if out.is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => *out = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending { std::task::Poll::Pending } else { std::task::Poll::Ready(()) }
    })
    .await;
    outputs.into_iter().map(|o| o.unwrap()).collect()
}

/// The events that are not car updates nor answers: what every plugin must see alike.
pub fn broadcast_only(events: &[(Instant, Event)]) -> Vec<Event> {
    events
        .iter()
        .map(|(_, e)| e.clone())
        .filter(|e| {
            !matches!(e, Event::CarUpdate(_) | Event::CarInfo(_) | Event::SessionInfo(_) | Event::Error(_))
        })
        .collect()
}

/// A simulator grid that joins and loads at once.
pub fn grid(cars: u8, speed: f64) -> ServerConfig {
    ServerConfig {
        cars,
        speed,
        join_interval: Duration::ZERO,
        load_time: Duration::from_millis(200),
        ..ServerConfig::default()
    }
}
