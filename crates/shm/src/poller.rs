//! Sampling: turn repeated page reads into a stream of physics steps, each seen once.
//!
//! The [`Poller`] is pure logic over a [`PageSource`] and a [`Clock`]: it never sleeps. The
//! caller paces it (polling faster than the game's 333 Hz physics is normal and cheap: polls
//! that find no new step return `None`).

use std::collections::VecDeque;

use serde::Serialize;

use crate::clock::Clock;
use crate::enums::{SessionType, Status};
use crate::error::ShmError;
use crate::layout::{GraphicsPage, PhysicsPage, StaticPage};
use crate::page::Page;
use crate::source::{DEFAULT_MAX_RETRIES, PageSource, ReadInfo, read_id, read_page};

/// Settings of a [`Poller`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PollerConfig {
    /// Retries of a torn physics or graphics copy before the poll gives up (and counts a
    /// torn read).
    pub max_retries: u32,
    /// Window over which [`Poller::rate_hz`] is measured, in nanoseconds.
    pub rate_window_ns: u64,
    /// The game writes the graphics page at its frame rate (about 60 Hz), physics at 333 Hz,
    /// and its `packetId` goes up by one on every write of the page (docs/shm.md): a poll that
    /// finds the graphics `packetId` of the copy it holds keeps that copy instead of copying
    /// the page again (two copies and two id reads with the torn-read guard; most of a poll's
    /// reads). The copy is refreshed anyway once it is this old (ns), in case a restarted game
    /// reuses an id.
    pub graphics_refresh_ns: u64,
}

impl Default for PollerConfig {
    fn default() -> Self {
        PollerConfig {
            max_retries: DEFAULT_MAX_RETRIES,
            rate_window_ns: 1_000_000_000,
            graphics_refresh_ns: 100_000_000,
        }
    }
}

/// Why the poller started a new session (and re-read the static page).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionStart {
    /// The first session this poller saw.
    First,
    /// The game's status left `Off` (the player went from the menus to the track).
    LeftOff,
    /// The graphics page's session type changed.
    SessionType {
        /// The previous session type.
        from: SessionType,
        /// The new one.
        to: SessionType,
    },
    /// The physics `packetId` went backwards: the game restarted its counter.
    PacketIdRestart {
        /// The last id seen.
        last: i32,
        /// The new, lower, id.
        now: i32,
    },
}

/// One physics step, paired with the latest graphics page.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    /// The physics page of this step.
    pub physics: PhysicsPage,
    /// The graphics page read right after it.
    pub graphics: GraphicsPage,
    /// When the step was read, from the poller's clock (monotonic ns).
    pub mono_ns: u64,
    /// Which session this step belongs to: 1 for the first the poller saw, +1 per change.
    pub session: u64,
    /// Set on the first step of a session, with the reason; the static page of the new
    /// session is then in [`Poller::static_page`].
    pub session_start: Option<SessionStart>,
    /// Physics steps the game wrote between the previous sample and this one that we never
    /// saw (the `packetId` jumped by more than 1).
    pub missed_before: u64,
}

/// Counters of a [`Poller`], since it was created.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PollStats {
    /// Calls to [`Poller::poll`].
    pub polls: u64,
    /// Samples yielded: each physics step seen, once.
    pub samples: u64,
    /// Physics steps never seen, from `packetId` jumps greater than 1.
    pub missed_steps: u64,
    /// Polls that found the physics `packetId` already yielded (not yielded again). Normal
    /// when polling faster than the game writes.
    pub duplicates: u64,
    /// Copies thrown away because a page changed while it was copied.
    pub retries: u64,
    /// Polls skipped because a page stayed torn through every retry.
    pub torn_reads: u64,
    /// Polls made while the game's status was `Off` (nothing yielded).
    pub inactive_polls: u64,
    /// Sessions started.
    pub sessions: u64,
    /// Reads of the static page.
    pub static_reads: u64,
    /// Polls that kept the graphics copy they held (its `packetId` unchanged).
    pub graphics_kept: u64,
}

/// Reads a [`PageSource`] repeatedly and yields each new physics step exactly once.
///
/// On each [`poll`](Self::poll) it copies the physics page, then the graphics page (both with
/// the torn-read guard), and then:
/// - while the game's status is `Off` (menus), yields nothing;
/// - starts a new session, re-reading the static page, on the first active poll, when the
///   status leaves `Off`, when the graphics session type changes, or when the physics
///   `packetId` goes backwards;
/// - otherwise yields the step if its `packetId` is new, counting the steps skipped since the
///   last one, or counts a duplicate.
#[derive(Debug)]
pub struct Poller<S, C> {
    source: S,
    clock: C,
    config: PollerConfig,
    stats: PollStats,
    physics: PhysicsPage,
    graphics: GraphicsPage,
    /// The `packetId` of the graphics copy held, and when (clock ns) it was copied.
    graphics_read: Option<(i32, u64)>,
    static_page: Option<StaticPage>,
    session: u64,
    /// The session type and last yielded physics id of the current session; `None` when no
    /// session is active (before the first poll, or while the status is `Off`).
    current: Option<(SessionType, i32)>,
    rate: RateMeter,
}

impl<S: PageSource, C: Clock> Poller<S, C> {
    /// A poller with the default configuration.
    pub fn new(source: S, clock: C) -> Self {
        Self::with_config(source, clock, PollerConfig::default())
    }

    /// A poller with the given configuration.
    pub fn with_config(source: S, clock: C, config: PollerConfig) -> Self {
        Poller {
            source,
            clock,
            config,
            stats: PollStats::default(),
            physics: PhysicsPage::new(),
            graphics: GraphicsPage::new(),
            graphics_read: None,
            static_page: None,
            session: 0,
            current: None,
            rate: RateMeter::new(config.rate_window_ns),
        }
    }

    /// Reads the pages once. Returns the new physics step, if there is one.
    ///
    /// A page torn through every retry is counted and the poll returns `Ok(None)`; errors of
    /// the source itself (a file gone, a mapping closed) are returned.
    pub fn poll(&mut self) -> Result<Option<Sample>, ShmError> {
        self.stats.polls += 1;
        let now = self.clock.now_ns();
        let retries = self.config.max_retries;
        let physics = read_page(&mut self.source, Page::Physics, self.physics.as_mut_bytes(), retries);
        if !self.count_read(physics)? {
            return Ok(None);
        }
        let kept = match self.graphics_read {
            Some((id, at)) if now.saturating_sub(at) < self.config.graphics_refresh_ns => {
                read_id(&mut self.source, Page::Graphics, 0)? == id
            }
            _ => false,
        };
        if kept {
            self.stats.graphics_kept += 1;
        } else {
            self.graphics_read = None;
            let graphics = read_page(&mut self.source, Page::Graphics, self.graphics.as_mut_bytes(), retries);
            if !self.count_read(graphics)? {
                return Ok(None);
            }
            self.graphics_read = Some((self.graphics.packet_id, now));
        }

        if self.graphics.status() == Status::Off {
            self.stats.inactive_polls += 1;
            self.current = None;
            return Ok(None);
        }
        let session_type = self.graphics.session();
        let id = self.physics.packet_id;
        // `last` is the previous step's id when this step continues the current session.
        let (start, last) = match self.current {
            None if self.session == 0 => (Some(SessionStart::First), None),
            None => (Some(SessionStart::LeftOff), None),
            Some((from, _)) if from != session_type => {
                (Some(SessionStart::SessionType { from, to: session_type }), None)
            }
            Some((_, last)) if id < last => (Some(SessionStart::PacketIdRestart { last, now: id }), None),
            Some((_, last)) => (None, Some(last)),
        };
        let missed_before = match last {
            None => {
                let mut page = StaticPage::new();
                // The state is updated only once the static page is in hand, so a failed read
                // is retried by the next poll.
                self.source.read_static(&mut page)?;
                self.stats.static_reads += 1;
                self.stats.sessions += 1;
                self.static_page = Some(page);
                self.session += 1;
                0
            }
            Some(last) if id == last => {
                self.stats.duplicates += 1;
                return Ok(None);
            }
            // `id > last` here; i64 keeps the difference exact for any two i32s.
            Some(last) => (i64::from(id) - i64::from(last) - 1) as u64,
        };
        self.current = Some((session_type, id));
        self.stats.missed_steps += missed_before;
        self.stats.samples += 1;
        self.rate.record(now);
        Ok(Some(Sample {
            physics: self.physics,
            graphics: self.graphics,
            mono_ns: now,
            session: self.session,
            session_start: start,
            missed_before,
        }))
    }

    /// Counts a page read; `Ok(false)` when it was torn through every retry (counted, skip).
    fn count_read(&mut self, result: Result<ReadInfo, ShmError>) -> Result<bool, ShmError> {
        match result {
            Ok(info) => {
                self.stats.retries += u64::from(info.retries);
                Ok(true)
            }
            Err(ShmError::Torn { attempts, .. }) => {
                self.stats.retries += u64::from(attempts.saturating_sub(1));
                self.stats.torn_reads += 1;
                Ok(false)
            }
            Err(e) => Err(e),
        }
    }

    /// The counters so far.
    pub fn stats(&self) -> &PollStats {
        &self.stats
    }

    /// The static page of the current (or last) session, once one has started.
    pub fn static_page(&self) -> Option<&StaticPage> {
        self.static_page.as_ref()
    }

    /// The current session number (0 before the first session).
    pub fn session(&self) -> u64 {
        self.session
    }

    /// Samples yielded per second over the configured window ending now (or since the first
    /// sample, when that is shorter). `None` before there is a time span to divide by.
    pub fn rate_hz(&self) -> Option<f64> {
        self.rate.rate_hz(self.clock.now_ns())
    }

    /// The source, e.g. to capture a snapshot of it.
    pub fn source_mut(&mut self) -> &mut S {
        &mut self.source
    }

    /// Gives the source back.
    pub fn into_source(self) -> S {
        self.source
    }
}

/// Counts events in a sliding time window.
#[derive(Debug)]
struct RateMeter {
    window_ns: u64,
    /// Times of the events in the window, oldest first.
    times: VecDeque<u64>,
    first_ns: Option<u64>,
}

impl RateMeter {
    fn new(window_ns: u64) -> Self {
        RateMeter { window_ns: window_ns.max(1), times: VecDeque::new(), first_ns: None }
    }

    fn record(&mut self, now: u64) {
        self.first_ns.get_or_insert(now);
        self.times.push_back(now);
        // Events at or before `now - window` can never count again, since time only grows:
        // dropping them bounds memory to one window's worth.
        if let Some(start) = now.checked_sub(self.window_ns) {
            while self.times.front().is_some_and(|&t| t <= start) {
                self.times.pop_front();
            }
        }
    }

    fn rate_hz(&self, now: u64) -> Option<f64> {
        let first = self.first_ns?;
        // Until a whole window has passed, measure over the time since the first event, so
        // the rate is right from the second sample on.
        let span = self.window_ns.min(now.saturating_sub(first));
        if span == 0 {
            return None;
        }
        let start = now - span;
        let in_window = self.times.len() - self.times.partition_point(|&t| t <= start);
        Some(in_window as f64 * 1e9 / span as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_meter_counts_a_window() {
        let mut meter = RateMeter::new(1_000_000_000);
        assert_eq!(meter.rate_hz(0), None);
        // 250 Hz: an event every 4 ms for 3 s.
        for i in 0..=750u64 {
            meter.record(i * 4_000_000);
        }
        let rate = meter.rate_hz(3_000_000_000).unwrap();
        assert!((rate - 250.0).abs() < 1e-9, "{rate}");
        assert!(meter.times.len() <= 251, "old events are dropped");
        // Half a second of silence halves the rate; a whole one empties the window.
        let rate = meter.rate_hz(3_500_000_000).unwrap();
        assert!((rate - 125.0).abs() < 1e-9, "{rate}");
        assert_eq!(meter.rate_hz(4_000_000_000), Some(0.0));
    }

    #[test]
    fn rate_meter_is_right_before_a_full_window() {
        let mut meter = RateMeter::new(1_000_000_000);
        for i in 0..=10u64 {
            meter.record(i * 3_000_000);
        }
        let rate = meter.rate_hz(30_000_000).unwrap();
        assert!((rate - 1000.0 / 3.0).abs() < 1e-6, "{rate}");
    }
}
