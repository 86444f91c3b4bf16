//! Following a live server: the ACSP client, the timing engine on the real clock, the records
//! kept, chat commands answered, and the standings published for whoever watches (a terminal,
//! the dashboard).
//!
//! [`Follower::bind`] opens the plugin socket; [`Follower::feed`] hands out a [`Feed`] (the
//! latest [`Board`] and the [`Notice`]s as they happen); [`Follower::run_until`] runs until a
//! stop signal, or until the socket fails.
//!
//! The engine's timers (a car silent for 5 s, the interval asked again, the server down after
//! 15 s) run on the real clock: [`Follower::run_until`] calls [`TimingEngine::tick`] every
//! [`TICK`] and sends what it returns.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use acsp::client::{Client, ClientConfig, ClientError, CommandSender, SourceFilter};
use acsp::{Command, Event};
use timing::{Board, Notice, TimingConfig, TimingEngine, TrackOutline};
use tokio::sync::{broadcast, watch};

use crate::chat::{self, ChatConfig};
use crate::recorder::{Recorder, RecorderStats};

/// How often the engine's timers are run and the board is published between events.
pub const TICK: Duration = Duration::from_millis(250);

/// How often, at most, the board is published while events stream in.
pub const BOARD_EVERY: Duration = Duration::from_millis(100);

/// Notices kept for a feed that reads late; one that falls further behind misses the oldest.
const NOTICE_BACKLOG: usize = 1024;

/// What to follow and how.
#[derive(Debug, Clone)]
pub struct FollowConfig {
    /// Where to listen for the server's events: the address in its `UDP_PLUGIN_ADDRESS`.
    pub listen: SocketAddr,
    /// The server's command port: its address and `UDP_PLUGIN_LOCAL_PORT`.
    pub server: SocketAddr,
    /// Accept events from the server's IP on any port (a server whose events leave from
    /// another port than its command port), not only from `server`.
    pub any_port: bool,
    /// The timing engine's settings (sectors, interval, timeouts).
    pub timing: TimingConfig,
    /// Chat commands: who is an admin.
    pub chat: ChatConfig,
    /// How fast the server's clock runs against the real one: 1 for a real server; a
    /// simulator running N times faster than real time needs N, so that lap times, gaps and
    /// timeouts (and the times stored with the records) are in the server's time.
    pub clock_rate: f64,
    /// With a `clock_rate` other than 1, where the server's clock meets the real one: an
    /// instant and its Unix time, ms. Unix times stored with the records are then this plus
    /// the scaled time since that instant, so followers of the same simulator given the same
    /// origin agree on them (one restarted mid-session finds the session stored before).
    /// `None`: the records get real Unix times, as a real server's drivers' telemetry has
    /// (their laps are joined by time). Simulated games stamp their frames on their own
    /// scaled clock: a simulator running with them gives their start as the origin.
    pub clock_origin: Option<(Instant, i64)>,
}

impl FollowConfig {
    /// Following the server whose command port is `server`, listening on `listen`, with the
    /// default timing and no admins.
    pub fn new(listen: SocketAddr, server: SocketAddr) -> FollowConfig {
        FollowConfig {
            listen,
            server,
            any_port: false,
            timing: TimingConfig::default(),
            chat: ChatConfig::default(),
            clock_rate: 1.0,
            clock_origin: None,
        }
    }
}

/// A notice, when it happened, and the standings right after it, for a feed.
#[derive(Debug, Clone, PartialEq)]
pub struct TimedNotice {
    /// On the engine's clock (time since the follower started).
    pub at: Duration,
    /// Unix time, ms.
    pub unix_ms: i64,
    /// What happened.
    pub notice: Notice,
    /// The board once the event that caused the notice was handled (the one published then).
    pub board: Arc<Board>,
}

/// What a follower publishes: the latest board, and the notices as they happen.
#[derive(Debug)]
pub struct Feed {
    /// The standings, replaced at most every [`BOARD_EVERY`] while events come and every
    /// [`TICK`] otherwise.
    pub board: watch::Receiver<Arc<Board>>,
    /// Every notice, in order. A reader that falls more than 1024 behind is told how many it
    /// missed (`RecvError::Lagged`) and goes on from the oldest kept.
    pub notices: broadcast::Receiver<Arc<TimedNotice>>,
    /// The outline of the session's track learned from the car updates' positions
    /// ([`timing::outline`]), replaced at most every [`OUTLINE_EVERY`] while it changes; `None`
    /// until enough of the lap has been seen.
    pub outline: watch::Receiver<Option<Arc<TrackOutline>>>,
}

impl Feed {
    /// A second reader of the same feed: the latest board and outline, and the notices from
    /// now on.
    pub fn resubscribe(&self) -> Feed {
        Feed { board: self.board.clone(), notices: self.notices.resubscribe(), outline: self.outline.clone() }
    }
}

/// How often, at most, the track outline of a [`Feed`] is replaced.
pub const OUTLINE_EVERY: Duration = Duration::from_secs(1);

/// Errors of a follower.
#[derive(Debug, thiserror::Error)]
pub enum FollowError {
    /// The ACSP socket failed (bind, or the receive task stopped).
    #[error(transparent)]
    Client(#[from] ClientError),
    /// The records database failed.
    #[error("records database")]
    Records(#[from] records::RecordsError),
}

/// Counters of a follower's run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FollowReport {
    /// Events handled.
    pub events: u64,
    /// Commands sent to the server (engine requests and chat answers).
    pub commands_sent: u64,
    /// Commands that could not be sent.
    pub send_failures: u64,
    /// Chat commands answered.
    pub chat_answered: u64,
    /// What the recorder stored and skipped, when there was one.
    pub recorder: Option<RecorderStats>,
    /// The UDP client's counters at the end (datagrams, malformed ones, drops).
    pub udp: Option<acsp::client::StatsSnapshot>,
}

/// A live server followed by the timing engine.
#[derive(Debug)]
pub struct Follower {
    client: Client,
    sender: CommandSender,
    engine: TimingEngine,
    recorder: Option<Recorder>,
    chat: ChatConfig,
    started: Instant,
    origin: Option<(Instant, i64)>,
    clock_rate: f64,
    board_tx: watch::Sender<Arc<Board>>,
    notice_tx: broadcast::Sender<Arc<TimedNotice>>,
    outline_tx: watch::Sender<Option<Arc<TrackOutline>>>,
    /// When the outline was last published, and from how many positions.
    outline_published: Option<(Instant, u64)>,
    report: FollowReport,
}

impl Follower {
    /// Binds the plugin socket and asks the server what it runs (GET_SESSION_INFO), so a
    /// follower started mid-session catches up. `recorder` keeps the records; without one,
    /// timing is live only.
    pub async fn bind(config: FollowConfig, recorder: Option<Recorder>) -> Result<Follower, FollowError> {
        let mut client_config = ClientConfig::new(config.listen, config.server);
        if config.any_port {
            client_config.accept_from = Some(SourceFilter::Ip(config.server.ip()));
        }
        // The engine asks for the interval itself (after each new session and after silence).
        client_config.realtime_interval_ms = None;
        client_config.request_session_info = true;
        let client = Client::bind(client_config).await?;
        let engine = TimingEngine::with_config(config.timing);
        let (board_tx, _) = watch::channel(Arc::new(engine.board()));
        let (notice_tx, _) = broadcast::channel(NOTICE_BACKLOG);
        let (outline_tx, _) = watch::channel(None);
        Ok(Follower {
            sender: client.sender(),
            client,
            engine,
            recorder,
            chat: config.chat,
            started: Instant::now(),
            origin: config.clock_origin,
            clock_rate: if config.clock_rate.is_finite() && config.clock_rate > 0.0 {
                config.clock_rate
            } else {
                1.0
            },
            board_tx,
            notice_tx,
            outline_tx,
            outline_published: None,
            report: FollowReport::default(),
        })
    }

    /// The address the server's events must be sent to (this follower's socket).
    pub fn local_addr(&self) -> SocketAddr {
        self.client.local_addr()
    }

    /// Sends commands to the server from the follower's socket (a broadcast chat, an admin's
    /// command), from any task.
    pub fn sender(&self) -> CommandSender {
        self.sender.clone()
    }

    /// A new reader of the board and the notices.
    pub fn feed(&self) -> Feed {
        Feed {
            board: self.board_tx.subscribe(),
            notices: self.notice_tx.subscribe(),
            outline: self.outline_tx.subscribe(),
        }
    }

    /// The ACSP client's counters (datagrams, undecodable ones, drops).
    pub fn client_stats(&self) -> acsp::client::StatsSnapshot {
        self.client.stats().snapshot()
    }

    /// Follows the server until `stop` completes, then flushes the records. Returns the
    /// counters, or the error that stopped it (the receive socket failing, the records database
    /// failing).
    pub async fn run_until(mut self, stop: impl Future<Output = ()>) -> Result<FollowReport, FollowError> {
        let mut stop = std::pin::pin!(stop);
        let mut ticker = tokio::time::interval(TICK);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut published = Instant::now();
        let result = loop {
            tokio::select! {
                _ = &mut stop => break Ok(()),
                event = self.client.next_event() => match event {
                    Ok(event) => {
                        if let Err(e) = self.handle(&event).await {
                            break Err(e);
                        }
                        if published.elapsed() >= BOARD_EVERY {
                            self.publish();
                            published = Instant::now();
                        }
                    }
                    Err(e) => break Err(FollowError::from(e)),
                },
                _ = ticker.tick() => {
                    self.tick().await;
                    self.publish();
                    published = Instant::now();
                    // What was recorded since the last tick is committed: a crash loses at
                    // most a tick's worth.
                    if let Some(r) = self.recorder.as_mut() {
                        if let Err(e) = r.flush() {
                            break Err(e.into());
                        }
                    }
                }
            }
        };
        // Events that arrived before the stop are handled, not dropped.
        if result.is_ok() {
            while let Some(event) = self.client.try_next_event() {
                self.handle(&event).await?;
            }
        }
        self.publish();
        self.report.udp = Some(self.client.stats().snapshot());
        if let Some(r) = self.recorder.as_mut() {
            r.flush()?;
            self.report.recorder = Some(r.stats());
        }
        result.map(|()| self.report)
    }

    /// The engine's clock: the time since this follower started, in the server's time.
    fn now(&self) -> Duration {
        self.scaled(self.started.elapsed())
    }

    fn scaled(&self, real: Duration) -> Duration {
        if self.clock_rate == 1.0 {
            real
        } else {
            Duration::try_from_secs_f64(real.as_secs_f64() * self.clock_rate).unwrap_or(real)
        }
    }

    /// Unix time now, ms: real, or on the server's scaled clock from the configured origin.
    fn unix_ms(&self) -> i64 {
        match self.origin {
            Some((at, unix_ms)) if self.clock_rate != 1.0 => {
                let since = self.scaled(at.elapsed());
                unix_ms.saturating_add(i64::try_from(since.as_millis()).unwrap_or(i64::MAX))
            }
            _ => unix_ms_now(),
        }
    }

    async fn handle(&mut self, event: &Event) -> Result<(), FollowError> {
        self.report.events += 1;
        let now = self.now();
        let notices = self.engine.handle(now, event);
        let unix_ms = self.unix_ms();
        if let Some(r) = self.recorder.as_mut() {
            r.record(&self.engine, event, &notices, unix_ms)?;
        }
        if let Event::Chat(c) = event {
            let answer = chat::answer(
                &self.chat,
                &self.engine,
                self.recorder.as_ref().map(Recorder::store),
                c.car_id,
                &c.message,
            );
            if !answer.is_empty() {
                self.report.chat_answered += 1;
                self.send_all(&answer).await;
            }
        }
        self.emit(now, unix_ms, notices);
        // Requests the engine decided on while handling (session info for a late start…).
        let tick = self.engine.tick(now);
        self.send_all(&tick.commands).await;
        self.emit(now, unix_ms, tick.notices);
        Ok(())
    }

    async fn tick(&mut self) {
        let now = self.now();
        let tick = self.engine.tick(now);
        self.send_all(&tick.commands).await;
        let unix_ms = self.unix_ms();
        self.emit(now, unix_ms, tick.notices);
        self.publish_outline();
    }

    /// Replaces the feed's outline when positions came since it was last published, at most
    /// every [`OUTLINE_EVERY`] (a new track's first outline, or none, at once).
    fn publish_outline(&mut self) {
        let samples = self.engine.outline_samples();
        let due = match self.outline_published {
            None => true,
            Some((at, published)) => {
                samples < published || (samples > published && at.elapsed() >= OUTLINE_EVERY)
            }
        };
        if due {
            let outline = self.engine.outline().map(Arc::new);
            self.outline_tx.send_replace(outline);
            self.outline_published = Some((Instant::now(), samples));
        }
    }

    async fn send_all(&mut self, commands: &[Command]) {
        for command in commands {
            match self.sender.send(command).await {
                Ok(()) => self.report.commands_sent += 1,
                Err(e) => {
                    self.report.send_failures += 1;
                    tracing::warn!(error = %e, "command not sent to the server");
                }
            }
        }
    }

    /// Publishes the board and then the notices, each with that board.
    fn emit(&self, at: Duration, unix_ms: i64, notices: Vec<Notice>) {
        if notices.is_empty() {
            return;
        }
        let board = self.publish();
        for notice in notices {
            // No reader is not an error: the notices are in the records and the board anyway.
            let _ =
                self.notice_tx.send(Arc::new(TimedNotice { at, unix_ms, notice, board: Arc::clone(&board) }));
        }
    }

    fn publish(&self) -> Arc<Board> {
        let board = Arc::new(self.engine.board());
        self.board_tx.send_replace(Arc::clone(&board));
        board
    }
}

fn unix_ms_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
