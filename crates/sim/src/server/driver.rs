//! The UDP face of [`ServerState`]: one socket bound to the command port, from which events are
//! also sent (our client, like a careful plugin, accepts datagrams only from the server's
//! address), and a tick that turns real time into simulated time.

use std::collections::VecDeque;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use acsp::{Command, EVENT_NAMES, Event};
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};
use tokio::time::{Instant, MissedTickBehavior};

use super::config::ServerConfig;
use super::state::{EntrySlot, ExternalDrive, ServerState, SessionResult};
use crate::error::SimError;

/// Largest datagram read; no command comes close (the longest is about 1 KiB).
const MAX_DATAGRAM: usize = 64 * 1024;
/// Commands kept in the log; older ones are dropped (a long demo must not grow without bound).
const COMMAND_LOG: usize = 10_000;
/// Sends to the plugin that may fail in a row (not counting "nobody listening") before the
/// simulator gives up: enough to ride out a brief hiccup of the network, few enough that an
/// address no send can reach ends the run within its first second.
const SEND_FAILURES_TO_STOP: u32 = 10;
/// Most real time one tick accounts for: after the process was suspended, the simulation
/// resumes instead of replaying the gap in one burst.
const MAX_TICK_GAP: Duration = Duration::from_millis(250);
/// Inputs for outside cars queued before the simulator takes them: a few seconds' worth of
/// 50 Hz feeds for a dozen cars, so that a sender never waits in practice.
const EXTERNAL_QUEUE: usize = 4096;

/// A command the simulator received and accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandRecord {
    /// Simulated server time when it was applied.
    pub sim_time: Duration,
    /// Who sent it.
    pub from: SocketAddr,
    /// The command.
    pub command: Command,
}

/// Counters of a running simulator, totals since start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerStats {
    /// Events sent to the plugin.
    pub events_sent: u64,
    /// Bytes in those datagrams.
    pub bytes_sent: u64,
    /// Events that could not be sent (the plugin's port closed, buffers full, …); skipped.
    pub send_errors: u64,
    /// Events that could not be encoded; skipped (should stay 0: the config is validated).
    pub encode_errors: u64,
    /// Commands decoded and applied.
    pub commands_received: u64,
    /// Datagrams that were not a valid command; skipped.
    pub malformed_commands: u64,
    /// Datagrams from an address other than the plugin's IP (only counted when
    /// [`ServerConfig::commands_from_plugin_ip_only`] is set); skipped.
    pub rejected_source: u64,
    /// Inputs for outside cars taken ([`ServerSim::external_input`]).
    pub external_inputs: u64,
    /// Events sent per type, named like [`acsp::EVENT_NAMES`].
    pub per_event: Vec<(&'static str, u64)>,
}

impl ServerStats {
    /// Events of one type sent, by its name (e.g. `lap_completed`); 0 for unknown names.
    pub fn sent(&self, name: &str) -> u64 {
        self.per_event.iter().find(|(n, _)| *n == name).map_or(0, |(_, c)| *c)
    }
}

#[derive(Debug, Default)]
struct Counters {
    events_sent: AtomicU64,
    bytes_sent: AtomicU64,
    send_errors: AtomicU64,
    encode_errors: AtomicU64,
    commands_received: AtomicU64,
    malformed_commands: AtomicU64,
    rejected_source: AtomicU64,
    external_inputs: AtomicU64,
    per_event: [AtomicU64; EVENT_NAMES.len()],
    sim_ms: AtomicU64,
}

#[derive(Debug, Default)]
struct Shared {
    counters: Counters,
    log: Mutex<VecDeque<CommandRecord>>,
    results: Mutex<Vec<SessionResult>>,
}

/// A read-only view of a simulator (counters, command log, simulated time), cheap to clone and
/// usable while it runs.
#[derive(Debug, Clone, Default)]
pub struct ServerMonitor {
    shared: Arc<Shared>,
}

impl ServerMonitor {
    /// A copy of the counters.
    pub fn stats(&self) -> ServerStats {
        let c = &self.shared.counters;
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        ServerStats {
            events_sent: g(&c.events_sent),
            bytes_sent: g(&c.bytes_sent),
            send_errors: g(&c.send_errors),
            encode_errors: g(&c.encode_errors),
            commands_received: g(&c.commands_received),
            malformed_commands: g(&c.malformed_commands),
            rejected_source: g(&c.rejected_source),
            external_inputs: g(&c.external_inputs),
            per_event: EVENT_NAMES.iter().zip(&c.per_event).map(|(n, a)| (*n, g(a))).collect(),
        }
    }

    /// The commands received so far (the last 10 000), oldest first.
    pub fn commands(&self) -> Vec<CommandRecord> {
        self.log().iter().cloned().collect()
    }

    /// The final standings of every session the simulator has ended, oldest first: the truth
    /// to check a plugin's timing against.
    pub fn results(&self) -> Vec<SessionResult> {
        self.shared.results.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// Simulated time since the server started, as of the last tick.
    pub fn sim_time(&self) -> Duration {
        Duration::from_millis(self.shared.counters.sim_ms.load(Ordering::Relaxed))
    }

    fn log(&self) -> std::sync::MutexGuard<'_, VecDeque<CommandRecord>> {
        // A poisoned lock only means a panic elsewhere while pushing; the log itself is fine.
        self.shared.log.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn record(&self, record: CommandRecord) {
        let mut log = self.log();
        if log.len() == COMMAND_LOG {
            log.pop_front();
        }
        log.push_back(record);
    }
}

/// What a simulator did, returned when it stops.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerSummary {
    /// The final counters.
    pub stats: ServerStats,
    /// Simulated time covered.
    pub sim_time: Duration,
    /// Index of the session running at the end.
    pub session: usize,
}

/// A bound, not yet running, simulated server. [`run_until`](Self::run_until) drives it on
/// the current task; [`spawn`](Self::spawn) on a task of its own.
#[derive(Debug)]
pub struct ServerSim {
    socket: UdpSocket,
    local: SocketAddr,
    plugin: SocketAddr,
    state: ServerState,
    speed: f64,
    tick: Duration,
    plugin_ip_only: bool,
    monitor: ServerMonitor,
    /// Sends that failed in a row, for a reason other than nobody listening.
    failed_sends: u32,
    /// Inputs for the outside cars; the sender is kept so that handing out more is possible.
    external_tx: mpsc::Sender<(u8, ExternalDrive)>,
    external_rx: mpsc::Receiver<(u8, ExternalDrive)>,
}

impl ServerSim {
    /// Validates `config` and binds the command socket (`config.bind`; port 0 picks a free
    /// one). Nothing is sent before the simulator runs.
    pub async fn bind(config: ServerConfig) -> Result<Self, SimError> {
        let state = ServerState::new(&config)?;
        let socket = UdpSocket::bind(config.bind)
            .await
            .map_err(|source| SimError::Bind { addr: config.bind, source })?;
        let local = socket.local_addr().map_err(|source| SimError::Bind { addr: config.bind, source })?;
        let (external_tx, external_rx) = mpsc::channel(EXTERNAL_QUEUE);
        Ok(ServerSim {
            socket,
            local,
            plugin: config.plugin,
            state,
            speed: config.speed,
            tick: config.tick,
            plugin_ip_only: config.commands_from_plugin_ip_only,
            monitor: ServerMonitor::default(),
            failed_sends: 0,
            external_tx,
            external_rx,
        })
    }

    /// The bound command address (where plugins send commands, and events come from).
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Where events are sent.
    pub fn plugin_addr(&self) -> SocketAddr {
        self.plugin
    }

    /// Changes where events are sent. Tests bind the simulator on port 0, then the client with
    /// the simulator's address, then tell the simulator the client's.
    pub fn set_plugin_addr(&mut self, plugin: SocketAddr) {
        self.plugin = plugin;
    }

    /// The state machine (for inspection before running).
    pub fn state(&self) -> &ServerState {
        &self.state
    }

    /// A view of the counters and the command log that stays valid while the simulator runs.
    pub fn monitor(&self) -> ServerMonitor {
        self.monitor.clone()
    }

    /// The entry list: who drives which car (see [`ServerState::entry_list`]).
    pub fn entry_list(&self) -> Vec<EntrySlot> {
        self.state.entry_list()
    }

    /// Where to send the state of the cars driven from outside
    /// ([`ServerConfig::external_cars`]) while the simulator runs: each `(car id, input)` is
    /// applied as it arrives, at the simulated time then, as
    /// [`ServerState::drive_external`] does, and what it causes (a LAP_COMPLETED) is sent at
    /// once. Take it before [`spawn`](Self::spawn) or [`run_until`](Self::run_until); the
    /// simulator stops taking input when it stops.
    pub fn external_input(&self) -> mpsc::Sender<(u8, ExternalDrive)> {
        self.external_tx.clone()
    }

    /// Runs the server until `shutdown` completes: VERSION and NEW_SESSION first, then
    /// simulated time at `speed ×` real time, and an answer to every command. Only a failing
    /// socket stops it early: one that cannot receive, or one from which many sends in a row
    /// fail for another reason than nobody listening ([`SimError::Send`]). Bad datagrams and
    /// other failed sends are counted and skipped.
    pub async fn run_until<F>(mut self, shutdown: F) -> Result<ServerSummary, SimError>
    where
        F: Future<Output = ()>,
    {
        tokio::pin!(shutdown);
        let mut buf = vec![0u8; MAX_DATAGRAM];
        let mut wire = Vec::with_capacity(2048);
        let start = self.state.start();
        self.send_all(&start, &mut wire).await?;
        let mut ticker = tokio::time::interval(self.tick);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut last = Instant::now();
        loop {
            tokio::select! {
                // Shutdown first so that a flood of commands cannot keep the simulator alive,
                // then commands, so that answers are not delayed behind a tick's burst.
                biased;
                () = &mut shutdown => break,
                received = self.socket.recv_from(&mut buf) => match received {
                    Ok((n, from)) => {
                        let events = self.on_datagram(&buf[..n], from);
                        self.send_all(&events, &mut wire).await?;
                    }
                    // ICMP errors about earlier sends (the plugin is not listening yet) surface
                    // here on some platforms; they say nothing about incoming commands.
                    Err(e) if is_transient(&e) => {}
                    Err(source) => return Err(SimError::Socket { addr: self.local, source }),
                },
                // The simulator holds a sender itself, so the channel never closes under it.
                Some((car_id, drive)) = self.external_rx.recv() => {
                    self.monitor.shared.counters.external_inputs.fetch_add(1, Ordering::Relaxed);
                    let events = self.state.drive_external(car_id, drive);
                    self.send_all(&events, &mut wire).await?;
                }
                _ = ticker.tick() => {
                    let now = Instant::now();
                    let real = now.saturating_duration_since(last).min(MAX_TICK_GAP);
                    last = now;
                    let dt = Duration::try_from_secs_f64(real.as_secs_f64() * self.speed).unwrap_or_default();
                    let events = self.state.advance(dt);
                    self.publish_time();
                    self.send_all(&events, &mut wire).await?;
                }
            }
        }
        self.publish_time();
        Ok(ServerSummary {
            stats: self.monitor.stats(),
            sim_time: self.state.now(),
            session: self.state.current_session(),
        })
    }

    /// Runs the server on a new task until the handle is shut down or dropped.
    pub fn spawn(self) -> ServerHandle {
        let (tx, rx) = oneshot::channel::<()>();
        let local = self.local;
        let plugin = self.plugin;
        let monitor = self.monitor.clone();
        // A dropped handle drops the sender, which also completes `rx`: the task stops.
        let task = tokio::spawn(self.run_until(async move {
            let _ = rx.await;
        }));
        ServerHandle { local, plugin, monitor, shutdown: tx, task }
    }

    fn on_datagram(&mut self, data: &[u8], from: SocketAddr) -> Vec<Event> {
        let counters = &self.monitor.shared.counters;
        if self.plugin_ip_only && from.ip() != self.plugin.ip() {
            counters.rejected_source.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(%from, len = data.len(), "command from an unexpected address ignored");
            return Vec::new();
        }
        match acsp::decode_command_datagram(data) {
            Ok(decoded) => {
                counters.commands_received.fetch_add(1, Ordering::Relaxed);
                for w in &decoded.warnings {
                    tracing::debug!(command = decoded.message.name(), %w, "command decoded with a warning");
                }
                let events = self.state.handle(&decoded.message);
                // A command may end the session: its result is published before its events go.
                self.publish_time();
                self.monitor.record(CommandRecord {
                    sim_time: self.state.now(),
                    from,
                    command: decoded.message,
                });
                events
            }
            Err(e) => {
                counters.malformed_commands.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(%from, len = data.len(), error = %e, "malformed command skipped");
                Vec::new()
            }
        }
    }

    async fn send_all(&mut self, events: &[Event], wire: &mut Vec<u8>) -> Result<(), SimError> {
        let counters = &self.monitor.shared.counters;
        for event in events {
            wire.clear();
            if let Err(e) = acsp::encode_event(event, wire) {
                counters.encode_errors.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(error = %e, "event could not be encoded; skipped");
                continue;
            }
            match self.socket.send_to(wire, self.plugin).await {
                Ok(n) => {
                    counters.events_sent.fetch_add(1, Ordering::Relaxed);
                    counters.bytes_sent.fetch_add(n as u64, Ordering::Relaxed);
                    counters.per_event[event.index()].fetch_add(1, Ordering::Relaxed);
                    self.failed_sends = 0;
                }
                // Nobody listening is normal for a server: events are fire-and-forget.
                Err(e) if is_transient(&e) => {
                    counters.send_errors.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(plugin = %self.plugin, error = %e, "event not sent");
                }
                // Anything else (no route, an address the socket may not send to) says the
                // plugin cannot be reached; if it persists, the run is pointless.
                Err(source) => {
                    counters.send_errors.fetch_add(1, Ordering::Relaxed);
                    self.failed_sends += 1;
                    tracing::debug!(plugin = %self.plugin, error = %source, "event not sent");
                    if self.failed_sends >= SEND_FAILURES_TO_STOP {
                        return Err(SimError::Send {
                            plugin: self.plugin,
                            failures: self.failed_sends,
                            source,
                        });
                    }
                }
            }
        }
        Ok(())
    }

    fn publish_time(&self) {
        let ms = u64::try_from(self.state.now().as_millis()).unwrap_or(u64::MAX);
        self.monitor.shared.counters.sim_ms.store(ms, Ordering::Relaxed);
        let ended = self.state.results();
        let mut results = self.monitor.shared.results.lock().unwrap_or_else(PoisonError::into_inner);
        let known = results.len();
        if known < ended.len() {
            results.extend_from_slice(&ended[known..]);
        }
    }
}

fn is_transient(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(e.kind(), ConnectionRefused | ConnectionReset | Interrupted | WouldBlock)
}

/// A simulator running on its own task. Dropping the handle stops it too; use
/// [`shutdown`](Self::shutdown) to wait for it and get the summary.
#[derive(Debug)]
pub struct ServerHandle {
    local: SocketAddr,
    plugin: SocketAddr,
    monitor: ServerMonitor,
    shutdown: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Result<ServerSummary, SimError>>,
}

impl ServerHandle {
    /// The command address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Where events go.
    pub fn plugin_addr(&self) -> SocketAddr {
        self.plugin
    }

    /// A copy of the counters.
    pub fn stats(&self) -> ServerStats {
        self.monitor.stats()
    }

    /// The commands received so far, oldest first.
    pub fn commands(&self) -> Vec<CommandRecord> {
        self.monitor.commands()
    }

    /// Simulated time, as of the last tick.
    pub fn sim_time(&self) -> Duration {
        self.monitor.sim_time()
    }

    /// The monitor, to keep after the handle is consumed.
    pub fn monitor(&self) -> ServerMonitor {
        self.monitor.clone()
    }

    /// Whether the task has stopped (only a socket failure stops it on its own).
    pub fn is_finished(&self) -> bool {
        self.task.is_finished()
    }

    /// Stops the simulator and waits for it.
    pub async fn shutdown(self) -> Result<ServerSummary, SimError> {
        // The task may already have stopped on a socket error, and then the send fails; its
        // result below says why.
        let _ = self.shutdown.send(());
        self.task.await?
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use acsp::Event;
    use tokio::time::timeout;

    use super::*;
    use crate::server::{ExternalLap, SessionConfig};

    /// The next event the simulator sends to `plugin` that `pick` accepts.
    async fn next_event<T>(plugin: &UdpSocket, mut pick: impl FnMut(Event) -> Option<T>) -> T {
        let mut buf = vec![0u8; MAX_DATAGRAM];
        timeout(Duration::from_secs(5), async {
            loop {
                let (n, _) = plugin.recv_from(&mut buf).await.expect("the plugin socket receives");
                if let Some(found) = acsp::decode(&buf[..n]).ok().and_then(&mut pick) {
                    return found;
                }
            }
        })
        .await
        .expect("the event within 5 s")
    }

    #[tokio::test]
    async fn outside_input_becomes_laps_on_the_wire() {
        let loopback = SocketAddr::from((Ipv4Addr::LOCALHOST, 0));
        let plugin = UdpSocket::bind(loopback).await.unwrap();
        let config = ServerConfig {
            cars: 2,
            external_cars: vec![1],
            speed: 50.0,
            bind: loopback,
            plugin: plugin.local_addr().unwrap(),
            join_interval: Duration::ZERO,
            load_time: Duration::from_millis(500),
            sessions: vec![SessionConfig::practice(30)],
            ..ServerConfig::default()
        };
        let sim = ServerSim::bind(config).await.unwrap();
        let entries = sim.entry_list();
        assert_eq!(entries.len(), 2);
        assert_eq!((entries[1].car_id, entries[1].driver_name.as_str()), (1, "Bea Lindqvist"));
        let input = sim.external_input();
        let handle = sim.spawn();
        next_event(&plugin, |e| matches!(e, Event::ClientLoaded(c) if c.car_id == 1).then_some(())).await;

        let lap = ExternalLap { time_ms: 87_654, cuts: 1 };
        let drive = ExternalDrive { spline_pos: 0.01, speed_ms: 40.0, completed_lap: Some(lap) };
        input.send((1, drive)).await.unwrap();
        let got = next_event(&plugin, |e| match e {
            Event::LapCompleted(l) if l.car_id == 1 => Some(l),
            _ => None,
        })
        .await;
        assert_eq!((got.lap_time, got.cuts), (87_654, 1));
        let me = got.leaderboard.iter().find(|e| e.car_id == 1).unwrap();
        assert_eq!(me.laps, 1);
        let summary = handle.shutdown().await.unwrap();
        assert_eq!(summary.stats.external_inputs, 1);
        assert!(summary.stats.sent("lap_completed") >= 1);
    }
}
