//! Running a bridge: the sampler thread, the network thread, and a graceful stop.
//!
//! ```text
//!  source ──▶ sampler thread ──append──▶ Spool (recording + window) ◀──acks── network thread
//!             (poll, sessions,            behind one mutex              (tokio, current-thread:
//!              frame, encode)                    │                        connect, Resume, stream)
//!                                                └────frames (memory or recording)────▶ server
//! ```
//!
//! The sampler is a plain thread that sleeps between polls (the tightest timing in the bridge,
//! kept away from any async scheduler); the network side is a single-threaded tokio runtime
//! on its own thread. They meet only in the [`Spool`] and a [`Notify`](tokio::sync::Notify),
//! which the `state` module holds.
//!
//! Stopping ([`Running::stop`], a `--duration`, or a replay reaching its end): the sampler
//! finishes the recording's member and fsyncs it, closes the spool's input, and the network
//! thread gets [`BridgeConfig::ack_grace`] to send the rest and collect the acks. Whatever is
//! unacked then stays in the recording, and the next run sends it.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use record::{RecordOptions, Repair};

use crate::client::{Client, ServerConfig};
use crate::error::BridgeError;
use crate::metrics::{ConnectionState, Status};
use crate::source::{Input, SourceConfig};
use crate::spool::{Spool, SpoolConfig};
use crate::state::{Sampling, Shared};

/// Default recording file, as the original bridge names it.
pub const DEFAULT_RECORD: &str = "telemetry_record.pb.gz";
/// Default server, as the original bridge's.
pub const DEFAULT_SERVER: &str = "http://127.0.0.1:50051";

/// Everything a bridge needs.
#[derive(Debug)]
pub struct BridgeConfig {
    /// Where frames come from.
    pub source: SourceConfig,
    /// The recording (appended to if it exists).
    pub record: PathBuf,
    /// How the recording is cut into members.
    pub record_options: RecordOptions,
    /// The ingest server; `None` records only.
    pub server: Option<ServerConfig>,
    /// Unacked frames kept in memory beyond the recording's open member.
    pub window_frames: usize,
    /// Stop after this long (of real time).
    pub duration: Option<Duration>,
    /// On stop, how long to wait for the server to ack the last frames.
    pub ack_grace: Duration,
    /// The name the driver races under on the server, when the game's player settings say
    /// another: sent as each session's `player_nick`, one of the names the server's laps are
    /// matched against (docs/join.md). `None`: the game's names as they are.
    pub driver_name: Option<String>,
}

impl BridgeConfig {
    /// A bridge from `source`, recording to [`DEFAULT_RECORD`], streaming to
    /// [`DEFAULT_SERVER`].
    pub fn new(source: SourceConfig) -> Self {
        BridgeConfig {
            source,
            record: PathBuf::from(DEFAULT_RECORD),
            record_options: RecordOptions::default(),
            server: Some(ServerConfig::new(DEFAULT_SERVER)),
            window_frames: SpoolConfig::default().window_frames,
            duration: None,
            ack_grace: Duration::from_secs(5),
            driver_name: None,
        }
    }
}

/// Starts bridges.
#[derive(Debug)]
pub struct Bridge;

impl Bridge {
    /// Opens the source and the recording, checks the server settings, and starts the sampler
    /// and network threads. Errors here are configuration or start-up errors.
    pub fn start(config: BridgeConfig) -> Result<Running, BridgeError> {
        let input = Input::open(config.source, &config.record)?;
        let client = config.server.as_ref().map(Client::new).transpose()?;
        let spool_config = SpoolConfig { window_frames: config.window_frames, keep_window: client.is_some() };
        let (spool, repair) = Spool::open(&config.record, config.record_options.clone(), spool_config)?;
        if let Some(r) = &repair {
            tracing::warn!(path = %config.record.display(), repair = %r, "the recording was damaged (nothing intact was removed)");
        }
        let shared = Arc::new(Shared::new(spool));
        let stop = Arc::new(AtomicBool::new(false));
        let started = Instant::now();

        let net = match client {
            Some(client) => {
                shared.metrics.set_state(ConnectionState::Connecting);
                let rt = tokio::runtime::Builder::new_current_thread()
                    .thread_name("bridge-net")
                    .enable_all()
                    .build()
                    .map_err(|e| BridgeError::Runtime(format!("cannot start the network runtime: {e}")))?;
                let shared = shared.clone();
                let handle = std::thread::Builder::new()
                    .name("bridge-net".into())
                    .spawn(move || rt.block_on(client.run(shared)))
                    .map_err(|e| BridgeError::Runtime(format!("cannot start the network thread: {e}")))?;
                Some(handle)
            }
            None => None,
        };

        let sampler = {
            let shared = shared.clone();
            let stop = stop.clone();
            let until = config.duration.map(|d| started + d);
            let driver_name = config.driver_name.clone();
            let grace = config.ack_grace;
            std::thread::Builder::new()
                .name("bridge-sampler".into())
                .spawn(move || {
                    let mut ctx = Sampling::new(&shared, &stop, until, started);
                    ctx.driver_name = driver_name;
                    input.run(&mut ctx);
                    ctx.flush();
                    let synced = shared.spool().sync();
                    if let Err(e) = &synced {
                        tracing::error!(error = %e, "finishing the recording");
                    }
                    shared.close_input(grace);
                    synced
                })
                .map_err(|e| BridgeError::Runtime(format!("cannot start the sampler thread: {e}")))?
        };
        Ok(Running { shared, stop, sampler: Some(sampler), net, started, repair, record: config.record })
    }
}

/// A running bridge.
#[derive(Debug)]
pub struct Running {
    shared: Arc<Shared>,
    stop: Arc<AtomicBool>,
    sampler: Option<JoinHandle<Result<(), record::RecordError>>>,
    net: Option<JoinHandle<()>>,
    started: Instant,
    repair: Option<Repair>,
    record: PathBuf,
}

/// Stops a running bridge from anywhere (a signal handler's task, another thread).
#[derive(Debug, Clone)]
pub struct StopHandle(Arc<AtomicBool>);

impl StopHandle {
    /// Asks the bridge to stop: it finishes the recording's member, waits (bounded) for the
    /// last acks, and ends.
    pub fn stop(&self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

/// How a bridge ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    /// The last status.
    pub status: Status,
    /// The recording.
    pub record: PathBuf,
}

impl Running {
    /// A snapshot of the counters and the spool.
    pub fn status(&self) -> Status {
        let spool = self.shared.spool().status();
        let m = &self.shared.metrics;
        let get = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);
        Status {
            uptime_s: self.started.elapsed().as_secs_f64(),
            rate_hz: get(&m.rate_mhz) as f64 / 1000.0,
            frames: get(&m.frames),
            sessions: get(&m.sessions),
            missed_steps: get(&m.missed_steps),
            torn_reads: get(&m.torn_reads),
            polls: get(&m.polls),
            source_errors: get(&m.source_errors),
            frames_sent: get(&m.frames_sent),
            frames_acked: get(&m.frames_acked),
            frames_from_recording: get(&m.frames_from_recording),
            // Without a server nothing is ever acked: there is no backlog to speak of.
            backlog_frames: if m.state() == ConnectionState::Disabled { 0 } else { spool.backlog_frames },
            window_frames: spool.window_frames,
            window_bytes: spool.window_bytes,
            record_bytes: spool.record_bytes,
            record_errors: spool.record_errors,
            stuck_sessions: spool.stuck_sessions,
            disconnects: get(&m.disconnects),
            connection: m.state(),
        }
    }

    /// A handle that stops the bridge.
    pub fn stop_handle(&self) -> StopHandle {
        StopHandle(self.stop.clone())
    }

    /// Asks the bridge to stop (see [`StopHandle::stop`]).
    pub fn stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    /// Whether both threads have ended (the source ended or the bridge was stopped, and the
    /// last acks are in or the grace period is over).
    pub fn is_finished(&self) -> bool {
        self.sampler.as_ref().is_none_or(JoinHandle::is_finished)
            && self.net.as_ref().is_none_or(JoinHandle::is_finished)
    }

    /// What `open_append` cut off a damaged recording at start-up.
    pub fn repair(&self) -> Option<&Repair> {
        self.repair.as_ref()
    }

    /// Waits for the bridge to end (call [`stop`](Self::stop) first, or rely on a duration or
    /// a replay's end) and returns how it went.
    pub fn wait(mut self) -> Result<Summary, BridgeError> {
        let sampled = self.sampler.take().map(JoinHandle::join);
        if let Some(net) = self.net.take() {
            net.join().map_err(|_| BridgeError::Runtime("the network thread panicked".into()))?;
        }
        match sampled {
            Some(Ok(Ok(()))) | None => {}
            Some(Ok(Err(e))) => return Err(e.into()),
            Some(Err(_)) => return Err(BridgeError::Runtime("the sampler thread panicked".into())),
        }
        let status = self.status();
        if status.backlog_frames > 0 && status.connection != ConnectionState::Disabled {
            tracing::warn!(
                frames = status.backlog_frames,
                "frames not acknowledged by the server when stopping; they are in the recording and the next run sends them"
            );
        }
        Ok(Summary { status, record: self.record.clone() })
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // A bridge dropped without `wait` still stops its threads rather than running on.
        self.stop.store(true, Ordering::Relaxed);
    }
}
