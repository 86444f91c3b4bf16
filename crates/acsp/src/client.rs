//! A thin tokio client over the codec: one UDP socket, one receive task, typed commands.
//!
//! The receive task drains the socket as fast as datagrams arrive (a full grid's LAP_COMPLETED
//! burst must not overflow the kernel buffer while the application is busy), decodes each
//! datagram as one message, and queues the events. Datagrams from any address other than the
//! configured server are counted and dropped: the protocol has no authentication.
//!
//! No loss is silent. An event is lost in one of two places, and each has its counter in
//! [`Stats`]: the queue to the application, when the application does not keep up
//! ([`Stats::queue_overflow`]), and the kernel's receive buffer, when the receive task itself
//! does not keep up ([`Stats::kernel_drops`], read from the kernel's own per-socket counter on
//! Linux). So, once the socket is drained, the events the application read, plus those two, make
//! up every valid event datagram the server sent.

use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use thiserror::Error;
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

use crate::command::{Command, encode};
use crate::error::EncodeError;
use crate::event::{EVENT_NAMES, Event, decode_datagram};
use crate::subscriber::{Subscriber, dispatch};
use crate::types::SessionType;

/// Largest datagram we accept; larger than any ACSP message (a LAP_COMPLETED for 255 cars is
/// 2052 bytes, a session info with four 255-character strings about 2 KiB).
const MAX_DATAGRAM: usize = 64 * 1024;

/// How often, at most, the receive task reads the kernel's drop counter. Once a second is cheap
/// (one small read of `/proc`) and soon enough for a warning a person reads.
const KERNEL_DROPS_EVERY: Duration = Duration::from_secs(1);

/// Where to listen and whom to talk to. The defaults match the conventional `server_cfg.ini`:
/// `UDP_PLUGIN_ADDRESS=127.0.0.1:12000` (we listen there) and `UDP_PLUGIN_LOCAL_PORT=11000`
/// (the server listens there for our commands).
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// Local address to bind (the port of `UDP_PLUGIN_ADDRESS`).
    pub bind: SocketAddr,
    /// The server's command endpoint (its IP and `UDP_PLUGIN_LOCAL_PORT`).
    pub server: SocketAddr,
    /// Accept events only from this address. Defaults to `server`; set to `None` to accept
    /// from anywhere (only sensible behind a trusted relay).
    pub accept_from: Option<SourceFilter>,
    /// Requested kernel receive buffer, bytes (the kernel may cap it: see [`Stats::recv_buffer`]).
    pub recv_buffer: usize,
    /// Events queued between the receive task and the application before new ones are dropped
    /// (and counted).
    pub queue: usize,
    /// Send GET_SESSION_INFO(-1) at start-up, so a plugin started after the server still learns
    /// the session.
    pub request_session_info: bool,
    /// If set, ask for CAR_UPDATE at this interval at start-up and again after every
    /// NEW_SESSION (the stock server forgets it between sessions).
    pub realtime_interval_ms: Option<u16>,
}

/// Which senders are accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceFilter {
    /// Exactly this IP and port.
    Exact(SocketAddr),
    /// This IP, any port (a server whose send socket differs from its command port).
    Ip(std::net::IpAddr),
}

impl SourceFilter {
    fn accepts(&self, from: SocketAddr) -> bool {
        match self {
            SourceFilter::Exact(a) => *a == from,
            SourceFilter::Ip(ip) => *ip == from.ip(),
        }
    }
}

impl Default for ClientConfig {
    fn default() -> Self {
        let server = SocketAddr::from((Ipv4Addr::LOCALHOST, 11000));
        ClientConfig {
            bind: SocketAddr::from((Ipv4Addr::UNSPECIFIED, 12000)),
            server,
            accept_from: Some(SourceFilter::Exact(server)),
            recv_buffer: 8 << 20,
            queue: 65_536,
            request_session_info: true,
            realtime_interval_ms: None,
        }
    }
}

impl ClientConfig {
    /// A config for `server`, listening on `bind`, accepting events only from `server`.
    pub fn new(bind: SocketAddr, server: SocketAddr) -> Self {
        ClientConfig { bind, server, accept_from: Some(SourceFilter::Exact(server)), ..Default::default() }
    }
}

/// Errors of the client.
#[derive(Debug, Error)]
pub enum ClientError {
    /// Binding or configuring the socket failed.
    #[error("cannot bind the ACSP socket on {addr}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// Sending a command failed.
    #[error("cannot send {command} to {server}")]
    Send {
        /// Command name.
        command: &'static str,
        /// Server address.
        server: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// A command could not be encoded.
    #[error(transparent)]
    Encode(#[from] EncodeError),
    /// The receive task stopped (socket error); no more events will come.
    #[error("the ACSP receive task has stopped")]
    Closed,
}

/// Counters, updated by the receive task. All are totals since start.
#[derive(Debug, Default)]
pub struct Stats {
    /// Datagrams received from the server.
    pub datagrams: AtomicU64,
    /// Bytes in those datagrams.
    pub bytes: AtomicU64,
    /// Events decoded.
    pub events: AtomicU64,
    /// Datagrams that could not be decoded (skipped).
    pub malformed: AtomicU64,
    /// Datagrams decoded with a warning (trailing bytes, BOM, …).
    pub warnings: AtomicU64,
    /// Datagrams from other addresses (dropped).
    pub rejected_source: AtomicU64,
    /// Events dropped because the application did not keep up with the queue.
    pub queue_overflow: AtomicU64,
    /// Datagrams the kernel dropped because the socket's receive buffer was full (the receive
    /// task did not keep up with a burst). Read from the kernel's per-socket counter (Linux:
    /// the `drops` column of `/proc/net/udp`) by the receive task at most once a second while
    /// datagrams come, and at every [`Client::stats`], which is exact; it stays 0 where the OS keeps no such counter (see
    /// [`Client::kernel_drops_counted`]).
    pub kernel_drops: AtomicU64,
    /// Kernel receive buffer actually granted, bytes.
    pub recv_buffer: AtomicU64,
    /// Events per type, indexed like [`EVENT_NAMES`].
    pub per_type: [AtomicU64; EVENT_NAMES.len()],
}

impl Stats {
    /// A plain copy of the counters.
    pub fn snapshot(&self) -> StatsSnapshot {
        let g = |a: &AtomicU64| a.load(Ordering::Relaxed);
        StatsSnapshot {
            datagrams: g(&self.datagrams),
            bytes: g(&self.bytes),
            events: g(&self.events),
            malformed: g(&self.malformed),
            warnings: g(&self.warnings),
            rejected_source: g(&self.rejected_source),
            queue_overflow: g(&self.queue_overflow),
            kernel_drops: g(&self.kernel_drops),
            recv_buffer: g(&self.recv_buffer),
            per_type: EVENT_NAMES.iter().zip(&self.per_type).map(|(n, c)| (*n, g(c))).collect(),
        }
    }
}

/// A copy of [`Stats`] at one moment.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct StatsSnapshot {
    /// See [`Stats::datagrams`].
    pub datagrams: u64,
    /// See [`Stats::bytes`].
    pub bytes: u64,
    /// See [`Stats::events`].
    pub events: u64,
    /// See [`Stats::malformed`].
    pub malformed: u64,
    /// See [`Stats::warnings`].
    pub warnings: u64,
    /// See [`Stats::rejected_source`].
    pub rejected_source: u64,
    /// See [`Stats::queue_overflow`].
    pub queue_overflow: u64,
    /// See [`Stats::kernel_drops`].
    pub kernel_drops: u64,
    /// See [`Stats::recv_buffer`].
    pub recv_buffer: u64,
    /// Events per type name.
    pub per_type: Vec<(&'static str, u64)>,
}

/// Sends commands to the server from a [`Client`]'s socket: see [`Client::sender`].
#[derive(Debug, Clone)]
pub struct CommandSender {
    socket: Arc<UdpSocket>,
    server: SocketAddr,
}

impl CommandSender {
    /// Sends any command, as [`Client::send`].
    pub async fn send(&self, command: &Command) -> Result<(), ClientError> {
        send_to(&self.socket, self.server, command).await
    }
}

async fn send_to(socket: &UdpSocket, server: SocketAddr, command: &Command) -> Result<(), ClientError> {
    let mut buf = Vec::with_capacity(64);
    encode(command, &mut buf)?;
    socket.send_to(&buf, server).await.map_err(|source| ClientError::Send {
        command: command.name(),
        server,
        source,
    })?;
    Ok(())
}

/// Identifies a subscriber registered with [`Client::subscribe`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SubscriberId(u64);

/// The ACSP client. Create it with [`Client::bind`]; read events with [`Client::next_event`] /
/// [`Client::try_next_event`] (which also call the registered subscribers); send commands with
/// the typed methods.
pub struct Client {
    socket: Arc<UdpSocket>,
    server: SocketAddr,
    local: SocketAddr,
    events: mpsc::Receiver<Event>,
    stats: Arc<Stats>,
    kernel_drops: Arc<KernelDrops>,
    subscribers: Vec<(SubscriberId, Box<dyn Subscriber>)>,
    next_subscriber: u64,
    realtime_interval_ms: Option<u16>,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("local", &self.local)
            .field("server", &self.server)
            .field("subscribers", &self.subscribers.len())
            .finish_non_exhaustive()
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Client {
    /// Binds the local port, starts the receive task and, if configured, asks the server for the
    /// current session (and for real-time updates).
    pub async fn bind(config: ClientConfig) -> Result<Client, ClientError> {
        let socket = bind_socket(config.bind, config.recv_buffer)
            .map_err(|source| ClientError::Bind { addr: config.bind, source })?;
        let local = socket.local_addr().map_err(|source| ClientError::Bind { addr: config.bind, source })?;
        let stats = Arc::new(Stats::default());
        let granted = socket2::SockRef::from(&socket).recv_buffer_size().unwrap_or(0);
        stats.recv_buffer.store(granted as u64, Ordering::Relaxed);
        if granted < config.recv_buffer {
            tracing::debug!(
                requested = config.recv_buffer,
                granted,
                "kernel capped the receive buffer (raise net.core.rmem_max for bigger bursts)"
            );
        }
        let kernel_drops = Arc::new(KernelDrops::of(&socket, local));
        if !kernel_drops.counted() {
            tracing::debug!(
                "the kernel's drop counter of the socket cannot be read: kernel drops are not counted"
            );
        }
        let socket = Arc::new(socket);
        let (tx, rx) = mpsc::channel(config.queue.max(1));
        let task = tokio::spawn(receive_loop(
            socket.clone(),
            config.accept_from,
            tx,
            stats.clone(),
            kernel_drops.clone(),
        ));
        let client = Client {
            socket,
            server: config.server,
            local,
            events: rx,
            stats,
            kernel_drops,
            subscribers: Vec::new(),
            next_subscriber: 0,
            realtime_interval_ms: config.realtime_interval_ms,
            task,
        };
        if let Some(ms) = config.realtime_interval_ms {
            client.realtimepos_interval(ms).await?;
        }
        if config.request_session_info {
            client.get_session_info(-1).await?;
        }
        Ok(client)
    }

    /// The bound local address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The server's command address.
    pub fn server_addr(&self) -> SocketAddr {
        self.server
    }

    /// The live counters. [`Stats::kernel_drops`] is read from the kernel first, so it is
    /// current.
    pub fn stats(&self) -> &Stats {
        self.kernel_drops.refresh(&self.stats);
        &self.stats
    }

    /// Whether [`Stats::kernel_drops`] is counted: the OS keeps a drop counter per socket and it
    /// can be read (Linux with `/proc` mounted). Where it is not, a burst that overflows the
    /// kernel's receive buffer loses datagrams that no counter shows.
    pub fn kernel_drops_counted(&self) -> bool {
        self.kernel_drops.counted()
    }

    /// Registers a subscriber; its `on_*` methods are called for every event returned by
    /// [`next_event`](Self::next_event) / [`try_next_event`](Self::try_next_event).
    pub fn subscribe(&mut self, subscriber: Box<dyn Subscriber>) -> SubscriberId {
        let id = SubscriberId(self.next_subscriber);
        self.next_subscriber += 1;
        self.subscribers.push((id, subscriber));
        id
    }

    /// Removes a subscriber and gives it back; `None` if it was not registered.
    pub fn unsubscribe(&mut self, id: SubscriberId) -> Option<Box<dyn Subscriber>> {
        let at = self.subscribers.iter().position(|(i, _)| *i == id)?;
        Some(self.subscribers.remove(at).1)
    }

    /// The next event, waiting for it. Subscribers are called before it is returned.
    pub async fn next_event(&mut self) -> Result<Event, ClientError> {
        let event = self.events.recv().await.ok_or(ClientError::Closed)?;
        self.after_receive(&event).await;
        Ok(event)
    }

    /// The next event if one is queued, without waiting (acudpclient's non-blocking
    /// `get_next_event`). Subscribers are called before it is returned.
    pub fn try_next_event(&mut self) -> Option<Event> {
        let event = self.events.try_recv().ok()?;
        for (_, s) in &mut self.subscribers {
            dispatch(&event, s.as_mut());
        }
        if let (Event::NewSession(_), Some(ms)) = (&event, self.realtime_interval_ms) {
            // Not awaited: a non-blocking call must not wait for the socket. UDP sends are
            // practically never blocked, and a failure is logged.
            let mut buf = Vec::with_capacity(3);
            if encode(&Command::RealtimeposInterval { interval_ms: ms }, &mut buf).is_ok() {
                if let Err(e) = self.socket.try_send_to(&buf, self.server) {
                    tracing::warn!(error = %e, "could not re-send realtimepos_interval");
                }
            }
        }
        Some(event)
    }

    async fn after_receive(&mut self, event: &Event) {
        for (_, s) in &mut self.subscribers {
            dispatch(event, s.as_mut());
        }
        if let (Event::NewSession(_), Some(ms)) = (event, self.realtime_interval_ms) {
            // Through a clone of the socket, not `&self`: a `&Client` held across the await
            // would make `next_event`'s future not `Send` (subscribers are `Send`, not `Sync`).
            let socket = Arc::clone(&self.socket);
            if let Err(e) =
                send_to(&socket, self.server, &Command::RealtimeposInterval { interval_ms: ms }).await
            {
                tracing::warn!(error = %e, "could not re-send realtimepos_interval");
            }
        }
    }

    /// Sends any command.
    pub async fn send(&self, command: &Command) -> Result<(), ClientError> {
        send_to(&self.socket, self.server, command).await
    }

    /// A handle that sends commands from this client's socket, for another task (it can be
    /// cloned and moved; the client keeps receiving).
    pub fn sender(&self) -> CommandSender {
        CommandSender { socket: Arc::clone(&self.socket), server: self.server }
    }

    /// REALTIMEPOS_INTERVAL (200): CAR_UPDATE for every car every `interval_ms`.
    pub async fn realtimepos_interval(&self, interval_ms: u16) -> Result<(), ClientError> {
        self.send(&Command::RealtimeposInterval { interval_ms }).await
    }
    /// GET_CAR_INFO (201).
    pub async fn get_car_info(&self, car_id: u8) -> Result<(), ClientError> {
        self.send(&Command::GetCarInfo { car_id }).await
    }
    /// SEND_CHAT (202): private message to one car.
    pub async fn send_chat(&self, car_id: u8, message: &str) -> Result<(), ClientError> {
        self.send(&Command::SendChat { car_id, message: message.to_owned() }).await
    }
    /// BROADCAST_CHAT (203).
    pub async fn broadcast_chat(&self, message: &str) -> Result<(), ClientError> {
        self.send(&Command::BroadcastChat { message: message.to_owned() }).await
    }
    /// GET_SESSION_INFO (204); -1 for the current session.
    pub async fn get_session_info(&self, session_index: i16) -> Result<(), ClientError> {
        self.send(&Command::GetSessionInfo { session_index }).await
    }
    /// SET_SESSION_INFO (205). `time` and `wait_time` are in seconds.
    pub async fn set_session_info(
        &self,
        session_index: u8,
        name: &str,
        session_type: SessionType,
        laps: u32,
        time: u32,
        wait_time: u32,
    ) -> Result<(), ClientError> {
        self.send(&Command::SetSessionInfo {
            session_index,
            name: name.to_owned(),
            session_type,
            laps,
            time,
            wait_time,
        })
        .await
    }
    /// KICK_USER (206).
    pub async fn kick_user(&self, car_id: u8) -> Result<(), ClientError> {
        self.send(&Command::KickUser { car_id }).await
    }
    /// NEXT_SESSION (207).
    pub async fn next_session(&self) -> Result<(), ClientError> {
        self.send(&Command::NextSession).await
    }
    /// RESTART_SESSION (208).
    pub async fn restart_session(&self) -> Result<(), ClientError> {
        self.send(&Command::RestartSession).await
    }
    /// ADMIN_COMMAND (209), e.g. `/ballast 3 50`.
    pub async fn admin_command(&self, command: &str) -> Result<(), ClientError> {
        self.send(&Command::AdminCommand { command: command.to_owned() }).await
    }
}

fn bind_socket(addr: SocketAddr, recv_buffer: usize) -> std::io::Result<UdpSocket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    // A failure here only means a smaller buffer; the receive task still drains it quickly.
    let _ = socket.set_recv_buffer_size(recv_buffer);
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    UdpSocket::from_std(socket.into())
}

async fn receive_loop(
    socket: Arc<UdpSocket>,
    accept_from: Option<SourceFilter>,
    tx: mpsc::Sender<Event>,
    stats: Arc<Stats>,
    kernel_drops: Arc<KernelDrops>,
) {
    let mut buf = vec![0u8; MAX_DATAGRAM];
    // The kernel's drop counter is read on the way, at most once a second, when a datagram
    // comes: drops happen only while datagrams come faster than this loop takes them, so there
    // is always a next one soon after, and an idle socket costs nothing. (A tokio timer would
    // also read it when idle, but it would make the client panic on a runtime without timers.)
    // `Client::stats` reads it too, so the totals it gives are always current.
    let mut next_refresh = Instant::now() + KERNEL_DROPS_EVERY;
    loop {
        let received = socket.recv_from(&mut buf).await;
        if kernel_drops.counted() {
            let now = Instant::now();
            if now >= next_refresh {
                kernel_drops.refresh(&stats);
                next_refresh = now + KERNEL_DROPS_EVERY;
            }
        }
        let (n, from) = match received {
            Ok(r) => r,
            // ICMP port-unreachable from an earlier send surfaces here on some platforms;
            // it says nothing about incoming data, so keep going.
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => continue,
            Err(e) => {
                tracing::error!(error = %e, "ACSP socket failed; receive task stops");
                return;
            }
        };
        if accept_from.is_some_and(|f| !f.accepts(from)) {
            stats.rejected_source.fetch_add(1, Ordering::Relaxed);
            tracing::debug!(%from, len = n, "datagram from an unexpected address dropped");
            continue;
        }
        stats.datagrams.fetch_add(1, Ordering::Relaxed);
        stats.bytes.fetch_add(n as u64, Ordering::Relaxed);
        match decode_datagram(&buf[..n]) {
            Ok(d) => {
                if !d.warnings.is_empty() {
                    stats.warnings.fetch_add(1, Ordering::Relaxed);
                    for w in &d.warnings {
                        tracing::debug!(event = d.message.name(), %w, "ACSP decode warning");
                    }
                }
                stats.events.fetch_add(1, Ordering::Relaxed);
                stats.per_type[d.message.index()].fetch_add(1, Ordering::Relaxed);
                match tx.try_send(d.message) {
                    Ok(()) => {}
                    Err(mpsc::error::TrySendError::Full(_)) => {
                        stats.queue_overflow.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(mpsc::error::TrySendError::Closed(_)) => return,
                }
            }
            Err(e) => {
                stats.malformed.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(%from, len = n, error = %e, "malformed ACSP datagram skipped");
            }
        }
    }
}

/// The kernel's count of datagrams it dropped for our socket, and what of it is already in
/// [`Stats::kernel_drops`].
#[derive(Debug)]
struct KernelDrops {
    /// Where to read the count; `None` where it cannot be read.
    counter: Option<DropCounter>,
    /// The kernel's raw count at the last refresh. The kernel keeps a 32-bit counter that
    /// wraps; the stats add up the differences, so they do not.
    last: Mutex<u32>,
}

impl KernelDrops {
    fn of(socket: &UdpSocket, local: SocketAddr) -> Self {
        KernelDrops { counter: DropCounter::of(socket, local), last: Mutex::new(0) }
    }

    fn counted(&self) -> bool {
        self.counter.is_some()
    }

    /// Reads the kernel's count and adds what is new to `stats`, with a warning when it grew.
    fn refresh(&self, stats: &Stats) {
        let Some(now) = self.counter.as_ref().and_then(DropCounter::read) else { return };
        // A poisoned lock only means another refresh panicked; the number in it is still good.
        let mut last = self.last.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let new = now.wrapping_sub(*last);
        *last = now;
        drop(last);
        if new > 0 {
            let total = stats.kernel_drops.fetch_add(u64::from(new), Ordering::Relaxed) + u64::from(new);
            tracing::warn!(
                dropped = new,
                total,
                recv_buffer = stats.recv_buffer.load(Ordering::Relaxed),
                "the kernel dropped ACSP datagrams: the socket's receive buffer overflowed \
                 (raise net.core.rmem_max for bigger bursts)"
            );
        }
    }
}

/// A socket's line in `/proc/net/udp` (or `udp6`), found by the socket's inode.
#[derive(Debug)]
struct DropCounter {
    #[cfg(target_os = "linux")]
    inode: u64,
    #[cfg(target_os = "linux")]
    table: &'static str,
}

#[cfg(target_os = "linux")]
impl DropCounter {
    /// The inode of the socket comes from its `/proc/self/fd` entry: a `stat` through that link
    /// describes the socket itself. The table is the one of the socket's address family.
    fn of(socket: &UdpSocket, local: SocketAddr) -> Option<Self> {
        use std::os::fd::AsRawFd as _;
        use std::os::unix::fs::MetadataExt as _;
        let meta = std::fs::metadata(format!("/proc/self/fd/{}", socket.as_raw_fd())).ok()?;
        let table = if local.is_ipv4() { "/proc/net/udp" } else { "/proc/net/udp6" };
        let counter = DropCounter { inode: meta.ino(), table };
        // Only a counter that can be read now is one: otherwise say at once that there is none.
        counter.read().map(|_| counter)
    }

    /// The `drops` column of the socket's line: the datagrams the kernel threw away for it
    /// (receive buffer full, or out of memory).
    fn read(&self) -> Option<u32> {
        use std::io::BufRead as _;
        let file = std::fs::File::open(self.table).ok()?;
        // Line by line, stopping at ours: a busy host can have thousands of sockets.
        for line in std::io::BufReader::new(file).lines().skip(1) {
            let line = line.ok()?;
            // sl local rem st tx:rx tr:when retrnsmt uid timeout inode ref pointer drops
            let mut fields = line.split_ascii_whitespace();
            if fields.nth(9).and_then(|f| f.parse::<u64>().ok()) == Some(self.inode) {
                // The kernel prints the counter as an unsigned 32-bit number.
                return fields.nth(2).and_then(|f| f.parse().ok());
            }
        }
        None
    }
}

#[cfg(not(target_os = "linux"))]
impl DropCounter {
    fn of(_: &UdpSocket, _: SocketAddr) -> Option<Self> {
        None
    }

    fn read(&self) -> Option<u32> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn send<T: Send>(_: &T) {}

    /// A client's futures can be spawned on a multi-threaded runtime: none holds a `&Client`
    /// (not `Sync`, since subscribers need not be) across an await.
    #[tokio::test]
    async fn the_clients_futures_are_send() {
        let mut client = Client::bind(ClientConfig::new(
            SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            SocketAddr::from((Ipv4Addr::LOCALHOST, 9)),
        ))
        .await
        .unwrap();
        let sender = client.sender();
        send(&sender.send(&Command::NextSession));
        send(&client.next_event());
    }
}
