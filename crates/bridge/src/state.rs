//! What the sampler and network threads share: the spool, the counters and the stop deadline
//! ([`Shared`]), and the sampler's side of it ([`Sampling`]), which gathers frames into batches.
//!
//! The runner creates them; the sources write through [`Sampling`], the client reads and acks
//! through [`Shared`]. Neither knows the other, nor the runner.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use prost::Message as _;
use proto::hex;
use proto::telemetry::v1::TelemetryFrame;
use tokio::sync::Notify;

use crate::metrics::Metrics;
use crate::spool::Spool;

/// State shared by the sampler and network threads.
#[derive(Debug)]
pub(crate) struct Shared {
    spool: Mutex<Spool>,
    pub(crate) notify: Notify,
    pub(crate) metrics: Metrics,
    /// Set when the input closes: the network side gives up waiting for acks then.
    deadline: Mutex<Option<Instant>>,
    /// Woken when the deadline is set.
    deadline_set: Notify,
}

impl Shared {
    /// The state around `spool`, with zeroed counters and no deadline yet.
    pub(crate) fn new(spool: Spool) -> Shared {
        Shared {
            spool: Mutex::new(spool),
            notify: Notify::new(),
            metrics: Metrics::default(),
            deadline: Mutex::new(None),
            deadline_set: Notify::new(),
        }
    }

    /// The spool. A panic elsewhere while holding it leaves consistent counters (every method
    /// is short and panic-free), so a poisoned lock is taken over rather than propagated.
    pub(crate) fn spool(&self) -> MutexGuard<'_, Spool> {
        self.spool.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn deadline_at(&self) -> Option<Instant> {
        *self.deadline.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Closes the spool's input and gives the network side `grace` from now to send the rest
    /// and collect the acks.
    pub(crate) fn close_input(&self, grace: Duration) {
        self.spool().close_input();
        *self.deadline.lock().unwrap_or_else(PoisonError::into_inner) = Some(Instant::now() + grace);
        self.deadline_set.notify_waiters();
        self.notify.notify_one();
    }

    /// Input closed and everything acked, or the grace period over.
    pub(crate) fn finished(&self) -> bool {
        if self.deadline_at().is_some_and(|d| Instant::now() >= d) {
            return true;
        }
        let spool = self.spool();
        spool.is_closed() && spool.all_acked()
    }

    /// Resolves once the deadline has passed (never before the input closes). Waits for the
    /// deadline to be set rather than polling for it: every wake-up of the network thread
    /// counts in the bridge's CPU.
    pub(crate) async fn deadline(&self) {
        loop {
            // Registered before the check, so a deadline set in between still wakes it.
            let set = self.deadline_set.notified();
            if let Some(d) = self.deadline_at() {
                tokio::time::sleep_until(d.into()).await;
                return;
            }
            set.await;
        }
    }
}

/// What the sampler loop uses: stop checks, emitting frames, the recording's clock.
#[derive(Debug)]
pub(crate) struct Sampling<'a> {
    shared: &'a Shared,
    stop: &'a AtomicBool,
    until: Option<Instant>,
    recorder_clock: Instant,
    rate_window: (Instant, u64),
    frames: u64,
    record_error_logged: bool,
    batch: Vec<(Bytes, Bytes, u64)>,
    batch_started: Instant,
    /// The driver's name for the sessions' metadata, when the configuration gives one.
    pub(crate) driver_name: Option<String>,
}

/// Frames gathered before they go to the spool together.
const BATCH_FRAMES: usize = 128;
/// Longest a frame waits in a batch. Each batch wakes the network thread, which sends it and
/// later reads its ack (it wakes about five times per batch): at 20 ms that was half the
/// bridge's network CPU, at 100 ms 0.4 % of a core, at 250 ms 0.2 % (measured with the bridge's
/// bench). A quarter second (about 83 frames at 333 Hz) still keeps live views fresh, and adds
/// nothing that matters to the crash loss window, which the recording's open member (1 s) sets.
pub(crate) const BATCH_AGE: Duration = Duration::from_millis(250);

impl<'a> Sampling<'a> {
    /// The sampler's side of `shared`: it stops when `stop` is set or at `until`, and the
    /// recording's clock starts at `started`.
    pub(crate) fn new(
        shared: &'a Shared,
        stop: &'a AtomicBool,
        until: Option<Instant>,
        started: Instant,
    ) -> Sampling<'a> {
        Sampling {
            shared,
            stop,
            until,
            recorder_clock: started,
            rate_window: (Instant::now(), 0),
            frames: 0,
            record_error_logged: false,
            batch: Vec::with_capacity(BATCH_FRAMES),
            batch_started: Instant::now(),
            driver_name: None,
        }
    }

    pub(crate) fn should_stop(&self) -> bool {
        self.stop.load(Ordering::Relaxed) || self.until.is_some_and(|u| Instant::now() >= u)
    }

    pub(crate) fn metrics(&self) -> &Metrics {
        &self.shared.metrics
    }

    /// Sleeps up to `d`, less when the stop time comes first.
    pub(crate) fn sleep(&self, d: Duration) {
        let d = match self.until {
            Some(u) => d.min(u.saturating_duration_since(Instant::now())),
            None => d,
        };
        if !d.is_zero() {
            std::thread::sleep(d);
        }
    }

    pub(crate) fn new_session(&self, frame: &TelemetryFrame, why: &str) {
        Metrics::add(&self.shared.metrics.sessions, 1);
        let track = frame.session.as_ref().map(|m| m.track.as_str()).unwrap_or_default();
        let car = frame.session.as_ref().map(|m| m.car_model.as_str()).unwrap_or_default();
        tracing::info!(session = %hex(&frame.session_id), track, car, why, "new session");
    }

    /// Encodes and records a frame, and hands it to the network side.
    pub(crate) fn emit(&mut self, frame: &TelemetryFrame) {
        let bytes = Bytes::from(frame.encode_to_vec());
        self.emit_encoded(bytes, &frame.session_id, frame.seq);
    }

    pub(crate) fn emit_encoded(&mut self, bytes: Bytes, session: &Bytes, seq: u64) {
        if self.batch.is_empty() {
            self.batch_started = Instant::now();
        }
        self.batch.push((bytes, session.clone(), seq));
        self.frames += 1;
        if self.batch.len() >= BATCH_FRAMES {
            self.flush();
        }
    }

    /// Hands the frames gathered so far to the spool: one lock, one wake-up of the network
    /// side, and the compressor's tables still warm from one frame to the next. Batches are
    /// [`BATCH_AGE`] old at most, a small addition to the crash loss window (the open member).
    pub(crate) fn flush(&mut self) {
        if self.batch.is_empty() {
            return;
        }
        let n = self.batch.len() as u64;
        {
            let mut spool = self.shared.spool();
            for (bytes, session, seq) in self.batch.drain(..) {
                if let Err(e) = spool.append(bytes, &session, seq) {
                    if !self.record_error_logged {
                        tracing::error!(error = %e, "the recording refused a frame; it is kept in memory for the server only");
                        self.record_error_logged = true;
                    }
                }
            }
        }
        Metrics::add(&self.shared.metrics.frames, n);
        self.shared.notify.notify_one();
    }

    /// Flushes a batch that is old enough, lets the recording finish a member by age, and
    /// updates the rate.
    pub(crate) fn housekeeping(&mut self, now: Instant) {
        if now.saturating_duration_since(self.batch_started) >= BATCH_AGE {
            self.flush();
        }
        let ns = now.saturating_duration_since(self.recorder_clock).as_nanos() as u64;
        let ticked = self.shared.spool().tick(ns);
        if let Err(e) = ticked {
            if !self.record_error_logged {
                tracing::error!(error = %e, "writing the recording");
                self.record_error_logged = true;
            }
        }
        let (since, frames) = self.rate_window;
        let span = now.saturating_duration_since(since);
        if span >= Duration::from_secs(1) {
            self.shared.metrics.set_rate_hz((self.frames - frames) as f64 / span.as_secs_f64());
            self.rate_window = (now, self.frames);
        }
    }
}
