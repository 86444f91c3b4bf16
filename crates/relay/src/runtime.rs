//! The thin tokio layer around [`Core`]: one socket facing the server, one per plugin, a
//! bounded send queue and a send task per plugin, and the capture file.
//!
//! The event path never waits on a plugin: the receive task takes every datagram waiting in
//! one system call, routes each with the core, and sends each recipient its share at once when
//! the socket takes it without waiting (the usual case on a LAN), in as few system calls as
//! the sizes allow ([`crate::udp`]); what the socket does not take goes on that plugin's
//! bounded queue, drained by its send task, and a full queue drops it for that plugin only
//! (counted). Commands are sent to the server from the server-facing socket, as a plugin
//! would, so that a server that checks the sender's address sees the relay.

use std::fs::File;
use std::future::Future;
use std::io::BufWriter;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::capture::CaptureWriter;
use crate::config::{Limits, PluginConfig, RelayConfig, validate_plugins};
use crate::core::{CommandOutcome, Core, CoreCounters, CoreStats, Interval, PluginId};
use crate::error::RelayError;
use crate::udp::{RecvBatch, Socket};

/// Datagrams taken from the server's socket in one receive: more than a full grid's burst of
/// car updates.
const EVENT_BATCH: usize = 32;
/// Datagrams taken from a plugin's socket in one receive (commands come seldom).
const COMMAND_BATCH: usize = 4;
/// Datagrams a send task takes from its queue at a time.
const SEND_BATCH: usize = 64;
/// The capture is flushed at least this often while datagrams come, and at the end.
const CAPTURE_FLUSH: Duration = Duration::from_secs(1);
/// At most one log line per plugin about dropped datagrams or failed sends per this long.
const LOG_EVERY_MS: u64 = 10_000;

/// Socket counters of the server side.
#[derive(Debug, Default)]
struct ServerCounters {
    datagrams_in: AtomicU64,
    commands_out: AtomicU64,
    send_errors: AtomicU64,
    rejected_source: AtomicU64,
    last_seen_ms: AtomicU64,
}

/// Socket counters of one plugin.
#[derive(Debug, Default)]
struct PluginCounters {
    datagrams_in: AtomicU64,
    datagrams_out: AtomicU64,
    dropped: AtomicU64,
    send_errors: AtomicU64,
    rejected_source: AtomicU64,
    last_seen_ms: AtomicU64,
    last_log_ms: AtomicU64,
    /// Datagrams in the queue or being sent by the send task.
    queued: AtomicU64,
}

impl PluginCounters {
    /// Whether a log line about this plugin's socket troubles is due (one per period).
    fn log_due(&self, now_ms: u64) -> bool {
        let last = self.last_log_ms.load(Ordering::Relaxed);
        (last == 0 || now_ms.saturating_sub(last) >= LOG_EVERY_MS)
            && self.last_log_ms.compare_exchange(last, now_ms, Ordering::Relaxed, Ordering::Relaxed).is_ok()
    }

    /// Counts, captures and logs the outcome of sending `run` to the plugin.
    fn sent(
        &self,
        shared: &Shared,
        config: &PluginConfig,
        local: SocketAddr,
        run: &[Bytes],
        result: &std::io::Result<()>,
    ) {
        match result {
            Ok(()) => {
                self.datagrams_out.fetch_add(run.len() as u64, Ordering::Relaxed);
                for d in run {
                    shared.capture(local, config.addr, d);
                }
            }
            Err(e) => {
                self.send_errors.fetch_add(run.len() as u64, Ordering::Relaxed);
                if self.log_due(unix_ms()) {
                    tracing::warn!(plugin = %config.name, addr = %config.addr, error = %e, "cannot send to the plugin");
                }
            }
        }
    }
}

/// One plugin's sockets and tasks; dropping it stops them.
#[derive(Debug)]
struct PluginIo {
    id: PluginId,
    config: PluginConfig,
    local: SocketAddr,
    socket: Arc<Socket>,
    queue: mpsc::Sender<Bytes>,
    counters: Arc<PluginCounters>,
    tasks: [JoinHandle<()>; 2],
}

impl PluginIo {
    /// Sends at once what the socket takes without waiting when nothing is queued before it
    /// (the usual case: no task hop, no wake-up), and queues the rest, so that datagrams keep
    /// their order.
    fn send(&self, shared: &Shared, datagrams: &[Bytes], scratch: &mut Vec<u8>) {
        let c = &self.counters;
        let mut rest = datagrams;
        if c.queued.load(Ordering::Acquire) == 0 {
            let done = self.socket.try_send_all(self.config.addr, datagrams, scratch, |run, result| {
                c.sent(shared, &self.config, self.local, run, result);
            });
            rest = &datagrams[done..];
        }
        for d in rest {
            c.queued.fetch_add(1, Ordering::AcqRel);
            if self.queue.try_send(d.clone()).is_err() {
                c.queued.fetch_sub(1, Ordering::AcqRel);
                c.dropped.fetch_add(1, Ordering::Relaxed);
                if c.log_due(unix_ms()) {
                    tracing::warn!(plugin = %self.config.name, dropped = c.dropped.load(Ordering::Relaxed),
                        "the plugin does not keep up: its queue is full, datagrams for it are dropped");
                }
            }
        }
    }
}

impl Drop for PluginIo {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

#[derive(Debug)]
struct State {
    core: Core,
    plugins: Vec<PluginIo>,
}

struct Capture {
    path: PathBuf,
    /// `None` once finished.
    writer: Option<CaptureWriter<TimedFlush>>,
    packets: u64,
    failed: bool,
}

/// A buffered file that flushes itself at least once per [`CAPTURE_FLUSH`] while written to,
/// so that a capture can be opened while the relay runs.
struct TimedFlush {
    inner: BufWriter<File>,
    flushed: Instant,
}

impl std::io::Write for TimedFlush {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        if self.flushed.elapsed() >= CAPTURE_FLUSH {
            self.flushed = Instant::now();
            self.inner.flush()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

#[derive(Debug)]
struct Shared {
    server: SocketAddr,
    listen: SocketAddr,
    socket: Socket,
    state: Mutex<State>,
    capture: Option<Mutex<Capture>>,
    counters: ServerCounters,
    limits: Limits,
    epoch: Instant,
}

impl std::fmt::Debug for Capture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Capture")
            .field("path", &self.path)
            .field("packets", &self.packets)
            .finish_non_exhaustive()
    }
}

fn unix_now() -> Duration {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default()
}

fn unix_ms() -> u64 {
    unix_now().as_millis() as u64
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while routing leaves the routing state usable: it holds no invariant across
        // the lock that a half-done update could break badly enough to stop relaying.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn now(&self) -> Duration {
        self.epoch.elapsed()
    }

    fn capture(&self, src: SocketAddr, dst: SocketAddr, payload: &[u8]) {
        let Some(capture) = &self.capture else { return };
        let mut c = capture.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(writer) = c.writer.as_mut() else { return };
        let result = writer.write(unix_now(), src, dst, payload);
        c.packets += u64::from(result.is_ok());
        if let Err(e) = result {
            if !std::mem::replace(&mut c.failed, true) {
                tracing::error!(path = %c.path.display(), error = %e, "cannot write the capture; it is incomplete from here");
            }
        }
    }

    fn finish_capture(&self) {
        if let Some(capture) = &self.capture {
            let mut c = capture.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some(Err(e)) = c.writer.take().map(CaptureWriter::finish) {
                tracing::error!(path = %c.path.display(), error = %e, "cannot finish the capture");
            }
        }
    }

    /// Sends commands to the server without waiting: a UDP send practically never blocks, and
    /// one that would is counted rather than holding up the plugin's task.
    fn send_to_server(&self, datagrams: &mut Vec<Vec<u8>>) {
        for d in datagrams.drain(..) {
            self.send_one_to_server(&d);
        }
    }

    fn send_one_to_server(&self, datagram: &[u8]) {
        match self.socket.try_send_to(datagram, self.server) {
            Ok(_) => {
                self.counters.commands_out.fetch_add(1, Ordering::Relaxed);
                self.capture(self.listen_for_capture(), self.server, datagram);
            }
            Err(e) => {
                self.counters.send_errors.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(error = %e, server = %self.server, "cannot send a command to the server");
            }
        }
    }

    /// Our address as the capture shows it: an unspecified bind address is shown as the
    /// address the server was given (the best guess of the interface it reaches).
    fn listen_for_capture(&self) -> SocketAddr {
        if self.listen.ip().is_unspecified() {
            SocketAddr::new(self.server.ip(), self.listen.port())
        } else {
            self.listen
        }
    }

    fn add_plugin(self: &Arc<Self>, config: PluginConfig) -> Result<SocketAddr, RelayError> {
        config.validate()?;
        let mut state = self.state();
        if state.plugins.iter().any(|p| p.config.name == config.name) {
            return Err(RelayError::config(format!("plugin `{}`", config.name), "the name is used twice"));
        }
        let bind = config.bind_addr();
        let socket = Socket::bind(bind).map_err(|source| RelayError::Bind {
            what: format!("plugin `{}`'s reply port", config.name),
            addr: bind,
            source,
        })?;
        let local = socket.local_addr().map_err(|source| RelayError::Bind {
            what: format!("plugin `{}`'s reply port", config.name),
            addr: bind,
            source,
        })?;
        let local =
            if local.ip().is_unspecified() { SocketAddr::new(config.addr.ip(), local.port()) } else { local };
        let socket = Arc::new(socket);
        let send_socket = socket.clone();
        let id = state.core.add_plugin(&config.name, self.now());
        let counters = Arc::new(PluginCounters::default());
        let (tx, rx) = mpsc::channel(self.limits.queue.max(1));
        let tasks = [
            tokio::spawn(send_loop(
                self.clone(),
                socket.clone(),
                local,
                config.clone(),
                rx,
                counters.clone(),
            )),
            tokio::spawn(command_loop(self.clone(), id, socket, local, config.clone(), counters.clone())),
        ];
        tracing::info!(plugin = %config.name, events_to = %config.addr, commands_on = %local, "plugin added");
        state.plugins.push(PluginIo { id, config, local, socket: send_socket, queue: tx, counters, tasks });
        Ok(local)
    }

    fn remove_plugin(&self, name: &str) -> bool {
        let (removed, mut to_server) = {
            let mut state = self.state();
            let Some(at) = state.plugins.iter().position(|p| p.config.name == name) else { return false };
            let io = state.plugins.remove(at);
            state.core.remove_plugin(io.id);
            (io, std::iter::from_fn(|| state.core.poll_to_server()).collect::<Vec<_>>())
        };
        tracing::info!(plugin = %name, "plugin removed");
        drop(removed);
        self.send_to_server(&mut to_server);
        true
    }
}

/// Receives the server's events and routes them.
async fn event_loop(shared: Arc<Shared>) {
    let mut batch = RecvBatch::new(EVENT_BATCH);
    let mut to_server = Vec::new();
    // Per plugin (in `State::plugins`' order), its datagrams of the batch.
    let mut routed: Vec<Vec<Bytes>> = Vec::new();
    let mut scratch = Vec::new();
    loop {
        if let Err(e) = batch.recv(&shared.socket).await {
            // An ICMP error reported on the socket (Windows does) or a transient failure:
            // the socket still works, so keep going, without spinning.
            tracing::debug!(error = %e, "receiving from the server failed");
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        }
        {
            let mut state = shared.state();
            let State { core, plugins } = &mut *state;
            routed.resize_with(plugins.len(), Vec::new);
            for (from, datagram) in batch.datagrams() {
                if from.ip() != shared.server.ip() {
                    shared.counters.rejected_source.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                shared.counters.datagrams_in.fetch_add(1, Ordering::Relaxed);
                shared.counters.last_seen_ms.store(unix_ms(), Ordering::Relaxed);
                let datagram = Bytes::copy_from_slice(datagram);
                shared.capture(from, shared.listen_for_capture(), &datagram);
                for id in core.handle_event(shared.now(), &datagram) {
                    if let Some(at) = plugins.iter().position(|p| p.id == *id) {
                        routed[at].push(datagram.clone());
                    }
                }
                to_server.extend(std::iter::from_fn(|| core.poll_to_server()));
            }
            for (plugin, datagrams) in plugins.iter().zip(&mut routed) {
                if !datagrams.is_empty() {
                    plugin.send(&shared, datagrams, &mut scratch);
                    datagrams.clear();
                }
            }
        }
        shared.send_to_server(&mut to_server);
    }
}

/// Sends one plugin its queued events.
async fn send_loop(
    shared: Arc<Shared>,
    socket: Arc<Socket>,
    local: SocketAddr,
    config: PluginConfig,
    mut rx: mpsc::Receiver<Bytes>,
    counters: Arc<PluginCounters>,
) {
    let mut batch = Vec::with_capacity(SEND_BATCH);
    let mut scratch = Vec::new();
    while rx.recv_many(&mut batch, SEND_BATCH).await > 0 {
        let mut done = 0;
        while done < batch.len() {
            done += socket.try_send_all(config.addr, &batch[done..], &mut scratch, |run, result| {
                counters.sent(&shared, &config, local, run, result);
            });
            if done < batch.len() {
                if let Err(e) = socket.writable().await {
                    counters.sent(&shared, &config, local, &batch[done..], &Err(e));
                    done = batch.len();
                }
            }
        }
        counters.queued.fetch_sub(batch.len() as u64, Ordering::AcqRel);
        batch.clear();
    }
}

/// Receives one plugin's commands and passes them on.
async fn command_loop(
    shared: Arc<Shared>,
    id: PluginId,
    socket: Arc<Socket>,
    local: SocketAddr,
    config: PluginConfig,
    counters: Arc<PluginCounters>,
) {
    let mut batch = RecvBatch::new(COMMAND_BATCH);
    let mut to_server = Vec::new();
    loop {
        if let Err(e) = batch.recv(&socket).await {
            tracing::debug!(plugin = %config.name, error = %e, "receiving from the plugin failed");
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        }
        for (from, datagram) in batch.datagrams() {
            // The plugin's IP, any port: plugins often send from another socket than the one
            // they listen on.
            if from.ip() != config.addr.ip() {
                counters.rejected_source.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            counters.datagrams_in.fetch_add(1, Ordering::Relaxed);
            counters.last_seen_ms.store(unix_ms(), Ordering::Relaxed);
            shared.capture(from, local, datagram);
            let outcome = {
                let now = shared.now();
                let mut state = shared.state();
                let outcome = state.core.handle_command(now, id, datagram);
                to_server.extend(std::iter::from_fn(|| state.core.poll_to_server()));
                outcome
            };
            match outcome {
                CommandOutcome::Forward => shared.send_one_to_server(datagram),
                CommandOutcome::Absorbed => {}
                CommandOutcome::Malformed { error, log } => {
                    if let Some(held) = log {
                        tracing::warn!(plugin = %config.name, error = %error, not_logged_before = held, "malformed command dropped");
                    }
                }
                CommandOutcome::RateLimited { log } => {
                    if let Some(held) = log {
                        tracing::warn!(plugin = %config.name, not_logged_before = held, "the plugin sends too many commands: dropping the excess");
                    }
                }
                CommandOutcome::UnknownPlugin => return,
            }
            shared.send_to_server(&mut to_server);
        }
    }
}

/// One plugin's figures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginStats {
    /// Its name.
    pub name: String,
    /// Where its events go.
    pub addr: SocketAddr,
    /// Where it sends commands (the relay's socket for it).
    pub reply: SocketAddr,
    /// What it asked of the car-update stream.
    pub interval: Interval,
    /// The core's counters: routed events, skipped updates, answers, commands, …
    pub core: CoreCounters,
    /// Datagrams received from it.
    pub datagrams_in: u64,
    /// Datagrams sent to it.
    pub datagrams_out: u64,
    /// Datagrams for it dropped because its queue was full.
    pub dropped: u64,
    /// Sends to it that failed.
    pub send_errors: u64,
    /// Datagrams on its port from another IP; dropped.
    pub rejected_source: u64,
    /// When it last sent anything, ms since the Unix epoch.
    pub last_seen_unix_ms: Option<u64>,
}

/// The relay's figures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelayStats {
    /// Datagrams received from the server.
    pub server_datagrams_in: u64,
    /// Commands sent to the server (passed on, and the relay's own).
    pub server_commands_out: u64,
    /// Sends to the server that failed.
    pub server_send_errors: u64,
    /// Datagrams on the server-facing port from another IP; dropped.
    pub server_rejected_source: u64,
    /// When the server last sent anything, ms since the Unix epoch.
    pub server_last_seen_unix_ms: Option<u64>,
    /// The interval last asked of the server.
    pub server_interval: Option<u16>,
    /// Asks waiting for their answer.
    pub pending_asks: usize,
    /// The core's relay-wide counters.
    pub core: CoreStats,
    /// Packets written to the capture, if one is taken.
    pub capture_packets: Option<u64>,
    /// Per plugin, in the order they were added.
    pub plugins: Vec<PluginStats>,
}

/// What a reload changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reload {
    /// Plugins added (or changed, hence re-added), with their reply address.
    pub added: Vec<(String, SocketAddr)>,
    /// Plugins removed (or changed).
    pub removed: Vec<String>,
    /// Plugins left as they were.
    pub kept: Vec<String>,
}

/// A handle on a running relay: its figures, and its plugins changed while it runs. Cheap to
/// clone.
#[derive(Debug, Clone)]
pub struct RelayHandle {
    shared: Arc<Shared>,
}

impl RelayHandle {
    /// The relay's server-facing address (where the server's `UDP_PLUGIN_ADDRESS` must point).
    pub fn listen_addr(&self) -> SocketAddr {
        self.shared.listen
    }

    /// The server's command address.
    pub fn server_addr(&self) -> SocketAddr {
        self.shared.server
    }

    /// The address a plugin must send its commands to, by name.
    pub fn reply_addr(&self, name: &str) -> Option<SocketAddr> {
        self.shared.state().plugins.iter().find(|p| p.config.name == name).map(|p| p.local)
    }

    /// Adds a plugin (it must be called within the tokio runtime); returns where it must send
    /// its commands.
    pub fn add_plugin(&self, config: PluginConfig) -> Result<SocketAddr, RelayError> {
        self.shared.add_plugin(config)
    }

    /// Removes a plugin by name; the others are not touched. Returns whether it was there.
    pub fn remove_plugin(&self, name: &str) -> bool {
        self.shared.remove_plugin(name)
    }

    /// Makes the plugins these: new names are added, missing ones removed, changed ones
    /// re-added (their counters start again), the others left running untouched. On an
    /// invalid list nothing changes; a plugin whose socket cannot be bound is reported after
    /// the others were applied.
    pub fn set_plugins(&self, plugins: &[PluginConfig]) -> Result<Reload, RelayError> {
        validate_plugins(plugins)?;
        let mut reload = Reload::default();
        let current: Vec<PluginConfig> =
            self.shared.state().plugins.iter().map(|p| p.config.clone()).collect();
        for old in &current {
            if !plugins.contains(old) {
                self.shared.remove_plugin(&old.name);
                reload.removed.push(old.name.clone());
            }
        }
        let mut first_error = None;
        for new in plugins {
            if current.contains(new) {
                reload.kept.push(new.name.clone());
                continue;
            }
            match self.shared.add_plugin(new.clone()) {
                Ok(addr) => reload.added.push((new.name.clone(), addr)),
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(reload),
        }
    }

    /// The figures now.
    pub fn stats(&self) -> RelayStats {
        let shared = &self.shared;
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let seen = |a: &AtomicU64| Some(g(a)).filter(|&ms| ms > 0);
        let state = shared.state();
        let plugins = state
            .core
            .plugins()
            .filter_map(|view| {
                let io = state.plugins.iter().find(|p| p.id == view.id)?;
                let c = &io.counters;
                Some(PluginStats {
                    name: view.name,
                    addr: io.config.addr,
                    reply: io.local,
                    interval: view.interval,
                    core: view.counters,
                    datagrams_in: g(&c.datagrams_in),
                    datagrams_out: g(&c.datagrams_out),
                    dropped: g(&c.dropped),
                    send_errors: g(&c.send_errors),
                    rejected_source: g(&c.rejected_source),
                    last_seen_unix_ms: seen(&c.last_seen_ms),
                })
            })
            .collect();
        let capture_packets =
            shared.capture.as_ref().map(|c| c.lock().unwrap_or_else(PoisonError::into_inner).packets);
        RelayStats {
            server_datagrams_in: g(&shared.counters.datagrams_in),
            server_commands_out: g(&shared.counters.commands_out),
            server_send_errors: g(&shared.counters.send_errors),
            server_rejected_source: g(&shared.counters.rejected_source),
            server_last_seen_unix_ms: seen(&shared.counters.last_seen_ms),
            server_interval: state.core.server_interval(),
            pending_asks: state.core.pending_asks(),
            core: state.core.stats(),
            capture_packets,
            plugins,
        }
    }

    /// The figures in Prometheus' text format.
    pub fn metrics_text(&self) -> String {
        crate::metrics::render(&self.stats())
    }
}

/// The relay: bound, running from [`Relay::bind`] on, until [`Relay::run_until`]'s stop (or
/// until it is dropped).
#[derive(Debug)]
pub struct Relay {
    handle: RelayHandle,
    events: JoinHandle<()>,
}

impl Relay {
    /// Binds the server-facing socket and every plugin's, opens the capture, and starts
    /// relaying. Must be called within a tokio runtime.
    pub async fn bind(config: RelayConfig) -> Result<Relay, RelayError> {
        validate_plugins(&config.plugins)?;
        let socket = Socket::bind(config.listen).map_err(|source| RelayError::Bind {
            what: "the server-facing port".into(),
            addr: config.listen,
            source,
        })?;
        let listen = socket.local_addr().map_err(|source| RelayError::Bind {
            what: "the server-facing port".into(),
            addr: config.listen,
            source,
        })?;
        let capture = match &config.capture {
            Some(path) => Some(Mutex::new(open_capture(path)?)),
            None => None,
        };
        let shared = Arc::new(Shared {
            server: config.server,
            listen,
            socket,
            state: Mutex::new(State { core: Core::new(config.limits.clone()), plugins: Vec::new() }),
            capture,
            counters: ServerCounters::default(),
            limits: config.limits,
            epoch: Instant::now(),
        });
        for plugin in config.plugins {
            if let Err(e) = shared.add_plugin(plugin) {
                // The plugins' tasks hold the shared state: stop them, or they would run on.
                shared.state().plugins.clear();
                return Err(e);
            }
        }
        let events = tokio::spawn(event_loop(shared.clone()));
        Ok(Relay { handle: RelayHandle { shared }, events })
    }

    /// A handle for figures and reloads, usable while [`Relay::run_until`] runs.
    pub fn handle(&self) -> RelayHandle {
        self.handle.clone()
    }

    /// Relays until `stop` completes, then stops every task, flushes the capture and returns
    /// the final figures.
    pub async fn run_until(self, stop: impl Future<Output = ()>) -> RelayStats {
        stop.await;
        self.events.abort();
        let mut stats = self.handle.stats();
        self.handle.shared.state().plugins.clear();
        self.handle.shared.finish_capture();
        // The plugins' last sends may have come after the figures were taken.
        stats.capture_packets = self.handle.stats().capture_packets;
        stats
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        self.events.abort();
        self.handle.shared.state().plugins.clear();
    }
}

fn open_capture(path: &Path) -> Result<Capture, RelayError> {
    let err = |source| RelayError::Capture { path: path.to_owned(), source };
    let file = File::create(path).map_err(err)?;
    let out = TimedFlush { inner: BufWriter::new(file), flushed: Instant::now() };
    let writer = CaptureWriter::new(out).map_err(err)?;
    Ok(Capture { path: path.to_owned(), writer: Some(writer), packets: 0, failed: false })
}
