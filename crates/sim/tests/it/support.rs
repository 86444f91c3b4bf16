//! The rig: a simulator and a client bound on ephemeral loopback ports, wired to each other.

use std::net::{Ipv4Addr, SocketAddr};
use std::time::Duration;

use acsp::Event;
use acsp::client::{Client, ClientConfig};
use sim::server::{CommandRecord, ServerConfig, ServerHandle, ServerSim, SessionConfig};
use tokio::time::{Instant, timeout};

/// Longest real time any single wait may take.
pub const TIMEOUT: Duration = Duration::from_secs(5);

pub fn loopback() -> SocketAddr {
    SocketAddr::from((Ipv4Addr::LOCALHOST, 0))
}

/// A small, fast server: 4 drivers in 6 slots, joining quickly, 50× real time.
pub fn config() -> ServerConfig {
    ServerConfig {
        cars: 4,
        entry_list: Some(6),
        seed: 11,
        speed: 50.0,
        bind: loopback(),
        // Replaced by the client's address once it is bound.
        plugin: loopback(),
        join_interval: Duration::from_millis(500),
        load_time: Duration::from_secs(1),
        sessions: vec![SessionConfig::practice(10), SessionConfig::race(5, 30)],
        ..ServerConfig::default()
    }
}

#[derive(Debug)]
pub struct Rig {
    pub client: Client,
    pub sim: ServerHandle,
}

/// Binds the simulator, then the client aimed at it, then points the simulator at the client
/// and starts it. The client's start-up GET_SESSION_INFO waits in the simulator's socket
/// buffer until the simulator runs.
pub async fn start(config: ServerConfig) -> Rig {
    let mut sim = ServerSim::bind(config).await.expect("simulator binds");
    let client = Client::bind(ClientConfig::new(loopback(), sim.local_addr())).await.expect("client binds");
    sim.set_plugin_addr(client.local_addr());
    Rig { client, sim: sim.spawn() }
}

impl Rig {
    /// The next event; fails the test after [`TIMEOUT`].
    pub async fn next(&mut self) -> Event {
        timeout(TIMEOUT, self.client.next_event())
            .await
            .expect("no event within the timeout")
            .expect("client receive task stopped")
    }

    /// Skips events until one matches `pred`; returns it and the events skipped.
    pub async fn wait_for(&mut self, what: &str, pred: impl Fn(&Event) -> bool) -> (Event, Vec<Event>) {
        let deadline = Instant::now() + TIMEOUT;
        let mut skipped = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let event = match timeout(left, self.client.next_event()).await {
                Ok(e) => e.expect("client receive task stopped"),
                Err(_) => panic!("timed out waiting for {what}; got {} other events", skipped.len()),
            };
            if pred(&event) {
                return (event, skipped);
            }
            skipped.push(event);
        }
    }

    /// Everything that arrives during `window` of real time.
    pub async fn collect_for(&mut self, window: Duration) -> Vec<Event> {
        let deadline = Instant::now() + window;
        let mut events = Vec::new();
        while let Ok(Ok(e)) = tokio::time::timeout_at(deadline, self.client.next_event()).await {
            events.push(e);
        }
        events
    }

    /// Waits until all `n` drivers have loaded; returns the events seen on the way.
    pub async fn wait_loaded(&mut self, n: usize) -> Vec<Event> {
        let mut seen = Vec::new();
        let mut loaded = 0;
        while loaded < n {
            let (e, skipped) = self.wait_for("client_loaded", |e| matches!(e, Event::ClientLoaded(_))).await;
            seen.extend(skipped);
            seen.push(e);
            loaded += 1;
        }
        seen
    }

    /// Polls the simulator's command log until a record matches.
    pub async fn wait_for_command(&self, pred: impl Fn(&CommandRecord) -> bool) -> CommandRecord {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            if let Some(r) = self.sim.commands().into_iter().find(&pred) {
                return r;
            }
            assert!(Instant::now() < deadline, "command not recorded: {:?}", self.sim.commands());
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// Polls a counter until it reaches `at_least`.
    pub async fn wait_until(&self, what: &str, f: impl Fn(&Rig) -> u64, at_least: u64) {
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let v = f(self);
            if v >= at_least {
                return;
            }
            assert!(Instant::now() < deadline, "{what} is {v}, expected at least {at_least}");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    pub async fn stop(self) -> sim::server::ServerSummary {
        drop(self.client);
        self.sim.shutdown().await.expect("simulator stops cleanly")
    }
}
