//! # pitwall-dashboard: live timing, telemetry and lap analysis in a browser
//!
//! An HTTP server (axum) with five pages and the JSON and WebSocket APIs behind them, every page,
//! script and style embedded in the binary (no file is ever read to answer a request):
//!
//! - `/`: live timing, fed over the WebSocket `/ws/timing` by a [`live::follow::Feed`]: the
//!   [`timing::Board`] at most [`BOARD_EVERY`] (latest wins, stale boards are skipped) and
//!   every [`timing::Notice`] as it happens; beside it the track map, the feed's outline
//!   (`/api/map`, learned by the timing engine from the car updates) with a dot per car.
//! - `/records`: the leaderboards of a records database ([`records::Store`]), filtered.
//! - `/telemetry`: one live car's inputs and tyres, from an ingest server's live tap
//!   ([`ingest::live::LiveTap`], given with [`Dashboard::with_telemetry`]), over the WebSocket
//!   `/ws/telemetry`: at most 30 samples a second ([`SAMPLE_EVERY`], the latest of each slot)
//!   and the tyres at 2 Hz ([`TYRES_EVERY`]).
//! - `/sessions`: the catalogue of the records database (server and telemetry sessions, their
//!   laps, frames and missed physics steps), from `/api/sessions` and `/api/session/laps`.
//! - `/lap`: stored telemetry laps overlaid against lap distance, with the delta to a reference,
//!   one cursor for every chart and the map, sectors, the server's events, and downloads; a lap's
//!   frames are read from the ingest server's Parquet dataset ([`DashboardConfig::dataset`]) by
//!   `/api/lap` and `/api/lap/download`.
//! - `/api/board`, `/api/map`, `/api/records`, `/api/tracks`, `/api/telemetry`: the same data as JSON.
//!
//! [`DashboardConfig`] says where to listen, the access token (required beyond loopback), the
//! records database and the Parquet dataset; [`Dashboard::bind`] binds the socket with an optional live feed, and
//! [`Dashboard::run_until`] serves until a stop signal. Nothing the dashboard serves changes
//! anything: every endpoint reads. `docs/dashboard.md` describes the pages and the APIs.
//!
//! ```
//! use dashboard::{Dashboard, DashboardConfig};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), dashboard::DashboardError> {
//! // `pitwall serve --http` passes its follower's feed (`Follower::feed`) and records file,
//! // and its ingest server's live tap (`Running::live_tap`).
//! let feed: Option<live::follow::Feed> = None;
//! let tap = ingest::live::LiveTap::new();
//! let config = DashboardConfig { listen: "127.0.0.1:0".parse().expect("an address"), ..DashboardConfig::default() };
//! let dashboard = Dashboard::bind(config, feed).await?.with_telemetry(tap);
//! println!("dashboard on http://{}/", dashboard.local_addr());
//! let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
//! let server = tokio::spawn(dashboard.run_until(async move {
//!     let _ = stopped.await;
//! }));
//! // … until Ctrl-C, in the CLI.
//! let _ = stop.send(());
//! let stats = server.await.expect("the dashboard task")?;
//! assert_eq!(stats.sockets_opened, 0);
//! # Ok(())
//! # }
//! ```

mod assets;
mod error;
mod http;
mod lap_routes;
mod laps;
mod params;
mod telemetry;
mod ws;

use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use ingest::live::{LiveFrame, LiveTap};
use live::follow::{Feed, TimedNotice};
use timing::{Board, TrackOutline};
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, broadcast, watch};

pub use error::DashboardError;
pub use telemetry::{FORGET_AFTER, SAMPLE_EVERY, TYRES_EVERY};

/// How often, at most, a WebSocket sends the board: the latest one each time, the ones in
/// between skipped.
pub const BOARD_EVERY: Duration = Duration::from_millis(250);

/// WebSockets open at once; one more is refused with 503.
pub const MAX_SOCKETS: usize = 64;

/// The largest message a browser may send on a WebSocket, bytes; a larger one closes it with
/// code 1009 (message too big). Browsers have nothing to say on the timing feed.
pub const MAX_INBOUND_MESSAGE: usize = 4096;

/// How long one message to a browser may take to go out before the browser is taken for gone
/// and its WebSocket closed (code 1013, try again later).
pub const SEND_TIMEOUT: Duration = Duration::from_secs(5);

/// Where the dashboard listens, who may read it, and the records it shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DashboardConfig {
    /// The address to listen on; port 0 picks a free one ([`Dashboard::local_addr`] tells).
    pub listen: SocketAddr,
    /// The access token: when set, every request must carry it as `?token=` or as
    /// `Authorization: Bearer`. Required when `listen` is not a loopback address.
    pub token: Option<String>,
    /// The records database for `/records`, `/api/records` and `/api/tracks`; it must exist
    /// (the dashboard never creates one). `None`: those answer 503.
    pub records_db: Option<PathBuf>,
    /// The ingest server's Parquet dataset (`DATA/sinks/parquet`), where the lap page reads
    /// the frames of the records' telemetry laps. `None`: `/api/lap` answers 503.
    pub dataset: Option<PathBuf>,
}

impl Default for DashboardConfig {
    /// `127.0.0.1:8080`, no token, no records.
    fn default() -> DashboardConfig {
        DashboardConfig {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 8080)),
            token: None,
            records_db: None,
            dataset: None,
        }
    }
}

/// What a dashboard counted while it ran.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DashboardStats {
    /// WebSockets opened.
    pub sockets_opened: u64,
    /// WebSockets open now.
    pub sockets_open: u64,
    /// WebSockets refused because [`MAX_SOCKETS`] were open.
    pub sockets_refused: u64,
    /// Boards sent on WebSockets.
    pub boards_sent: u64,
    /// Notices sent on WebSockets.
    pub notices_sent: u64,
    /// Notices a WebSocket could not send in time (its browser read too slowly) and dropped.
    pub notices_dropped: u64,
    /// WebSockets closed because their browser did not read for [`SEND_TIMEOUT`].
    pub sockets_timed_out: u64,
    /// WebSockets closed because their browser sent more than [`MAX_INBOUND_MESSAGE`] bytes.
    pub oversized_messages: u64,
    /// Requests refused as malformed (400).
    pub bad_requests: u64,
    /// Requests refused for a missing or wrong token (401).
    pub unauthorized: u64,
    /// Telemetry samples (a car's inputs) sent on `/ws/telemetry`.
    pub telemetry_sent: u64,
    /// Live frames the telemetry hub skipped because it read the ingest tap too slowly.
    pub telemetry_skipped: u64,
    /// Live frames that did not decode as a `TelemetryFrame` (skipped).
    pub telemetry_bad_frames: u64,
}

/// The dashboard's counters, shared by its tasks.
#[derive(Debug, Default)]
struct Counters {
    sockets_opened: AtomicU64,
    sockets_open: AtomicU64,
    sockets_refused: AtomicU64,
    boards_sent: AtomicU64,
    notices_sent: AtomicU64,
    notices_dropped: AtomicU64,
    sockets_timed_out: AtomicU64,
    oversized_messages: AtomicU64,
    bad_requests: AtomicU64,
    unauthorized: AtomicU64,
    telemetry_sent: AtomicU64,
    telemetry_skipped: AtomicU64,
    telemetry_bad_frames: AtomicU64,
}

impl Counters {
    fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    fn snapshot(&self) -> DashboardStats {
        let get = |c: &AtomicU64| c.load(Ordering::Relaxed);
        DashboardStats {
            sockets_opened: get(&self.sockets_opened),
            sockets_open: get(&self.sockets_open),
            sockets_refused: get(&self.sockets_refused),
            boards_sent: get(&self.boards_sent),
            notices_sent: get(&self.notices_sent),
            notices_dropped: get(&self.notices_dropped),
            sockets_timed_out: get(&self.sockets_timed_out),
            oversized_messages: get(&self.oversized_messages),
            bad_requests: get(&self.bad_requests),
            unauthorized: get(&self.unauthorized),
            telemetry_sent: get(&self.telemetry_sent),
            telemetry_skipped: get(&self.telemetry_skipped),
            telemetry_bad_frames: get(&self.telemetry_bad_frames),
        }
    }
}

/// A handle on a running dashboard's counters (for a status line or a test).
#[derive(Debug, Clone)]
pub struct StatsHandle(Arc<Shared>);

impl StatsHandle {
    /// The counters now.
    pub fn snapshot(&self) -> DashboardStats {
        self.0.counters.snapshot()
    }
}

/// The live timing a dashboard shows: the feed's board, and a receiver that each WebSocket
/// resubscribes from (so it sees the notices from when it opened).
#[derive(Debug)]
struct LiveSource {
    board: watch::Receiver<Arc<Board>>,
    notices: broadcast::Receiver<Arc<TimedNotice>>,
    outline: watch::Receiver<Option<Arc<TrackOutline>>>,
}

/// What every request handler shares.
#[derive(Debug)]
struct Shared {
    token: Option<String>,
    live: Option<LiveSource>,
    records_db: Option<PathBuf>,
    dataset: Option<PathBuf>,
    /// One connection for the leaderboards, used on a blocking thread (rusqlite is sync).
    records: Option<Mutex<records::Store>>,
    /// The live telemetry, once [`Dashboard::with_telemetry`] gave a tap.
    telemetry: OnceLock<telemetry::Hub>,
    sockets: Arc<Semaphore>,
    /// Turns true when the dashboard stops: open WebSockets close (code 1001).
    shutdown: watch::Receiver<bool>,
    counters: Counters,
}

/// A bound dashboard, ready to serve.
#[derive(Debug)]
pub struct Dashboard {
    listener: TcpListener,
    addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: watch::Sender<bool>,
    /// The ingest server's live frames, read by the telemetry hub once the dashboard runs.
    telemetry: Option<broadcast::Receiver<LiveFrame>>,
}

impl Dashboard {
    /// Checks the configuration, opens the records database and binds the socket. `live` is
    /// the timing to show on `/` (without it the page says there is none and `/api/board`
    /// answers 503).
    pub async fn bind(config: DashboardConfig, live: Option<Feed>) -> Result<Dashboard, DashboardError> {
        if let Some(token) = &config.token {
            let allowed = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.');
            if !(8..=256).contains(&token.len()) || !token.bytes().all(allowed) {
                return Err(DashboardError::BadToken);
            }
        } else if !config.listen.ip().is_loopback() {
            return Err(DashboardError::TokenRequired { listen: config.listen });
        }
        let records = match &config.records_db {
            Some(path) if !path.exists() => {
                return Err(DashboardError::RecordsDbMissing { path: path.clone() });
            }
            Some(path) => Some(Mutex::new(
                records::Store::open(path)
                    .map_err(|source| DashboardError::Records { path: path.clone(), source })?,
            )),
            None => None,
        };
        let listener = TcpListener::bind(config.listen)
            .await
            .map_err(|source| DashboardError::Bind { listen: config.listen, source })?;
        let addr =
            listener.local_addr().map_err(|source| DashboardError::Bind { listen: config.listen, source })?;
        let (shutdown, shutdown_rx) = watch::channel(false);
        let shared = Arc::new(Shared {
            token: config.token,
            live: live.map(|feed| LiveSource {
                board: feed.board,
                notices: feed.notices,
                outline: feed.outline,
            }),
            records_db: config.records_db,
            dataset: config.dataset,
            records,
            telemetry: OnceLock::new(),
            sockets: Arc::new(Semaphore::new(MAX_SOCKETS)),
            shutdown: shutdown_rx,
            counters: Counters::default(),
        });
        Ok(Dashboard { listener, addr, shared, shutdown, telemetry: None })
    }

    /// Shows the live telemetry of an ingest server (`ingest::Running::live_tap`): the
    /// `/telemetry` page, `/api/telemetry` and `/ws/telemetry`, which answer 503 without it.
    /// The dashboard subscribes to the tap here, so it sees the frames made durable from now on;
    /// it reads them only once [`run_until`](Self::run_until) runs, and never slows ingest (a
    /// tap that the dashboard reads too slowly skips frames, counted in
    /// [`DashboardStats::telemetry_skipped`]).
    #[must_use]
    pub fn with_telemetry(mut self, tap: LiveTap) -> Dashboard {
        self.shared.telemetry.get_or_init(telemetry::Hub::default);
        self.telemetry = Some(tap.subscribe());
        if let Some(hub) = self.shared.telemetry.get() {
            hub.know_sessions(&tap.first_frames());
        }
        self
    }

    /// The address the dashboard listens on (with the port picked when the config said 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// A handle on the counters, which keeps working while [`run_until`](Self::run_until) runs.
    pub fn stats(&self) -> StatsHandle {
        StatsHandle(Arc::clone(&self.shared))
    }

    /// Serves until `stop` completes, then closes the open WebSockets and lets the requests
    /// in progress finish; returns the counters.
    pub async fn run_until(
        self,
        stop: impl Future<Output = ()> + Send + 'static,
    ) -> Result<DashboardStats, DashboardError> {
        let Dashboard { listener, shared, shutdown, telemetry, .. } = self;
        let hub = telemetry.map(|frames| {
            let shared = Arc::clone(&shared);
            tokio::spawn(async move {
                if let Some(hub) = shared.telemetry.get() {
                    hub.run(frames, shared.shutdown.clone(), &shared.counters).await;
                }
            })
        });
        let router = http::router(Arc::clone(&shared));
        let served = axum::serve(listener, router)
            .with_graceful_shutdown(async move {
                stop.await;
                // WebSockets would hold the graceful shutdown open forever: tell them to close.
                let _ = shutdown.send(true);
            })
            .await
            .map_err(DashboardError::Serve);
        // The hub stops on the shutdown signal; after a failure it is stopped here.
        if let Some(hub) = hub {
            hub.abort();
            let _ = hub.await;
        }
        served?;
        Ok(shared.counters.snapshot())
    }
}
