//! The sink pipeline: one task per sink that follows the committed WAL, writes batches, retries,
//! flushes and checkpoints.
//!
//! It reads the WAL files rather than taking frames from the writer in memory: replay after a
//! restart and live delivery are then one code path, a slow sink never holds the writer back
//! (it only keeps more WAL on disk), and the data it reads is what the acks promised.
//!
//! Failures: a failed write or flush is retried with a backoff that grows until the next good
//! flush; a sink that the failure cost what it had buffered ([`Sink::recover`]) gets every frame
//! since its checkpoint again. The checkpoint only moves after a good flush, so the WAL
//! segments a failing sink still needs are never deleted.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::checkpoint::Checkpoints;
use super::{BoxSink, Recovery, Sink, SinkError, WalFrame, WalPosition};
use crate::error::ErrorChain;
use crate::stats::Stats;
use crate::wal::WalCursor;

/// Retry schedule for failed writes and flushes: the delay doubles from `initial` up to `max`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// Delay after the first failure.
    pub initial: Duration,
    /// Longest delay.
    pub max: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff { initial: Duration::from_millis(50), max: Duration::from_secs(5) }
    }
}

impl Backoff {
    /// Delay after `failures` consecutive failures (1 = the first).
    pub fn delay(&self, failures: u32) -> Duration {
        let doublings = failures.saturating_sub(1).min(20);
        self.initial.saturating_mul(1 << doublings).min(self.max)
    }
}

/// How a retried `write` or `flush` ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Retried {
    /// It succeeded, after this many failed attempts.
    Done(u32),
    /// The sink went back to its last durable state ([`Recovery::Redeliver`]): the frames
    /// after it must be delivered again.
    Redeliver,
    /// `abort` fired first.
    Aborted,
}

/// Writes `batch`, retrying with backoff until it succeeds, `abort` fires, or the sink asks for
/// its frames again. Each failure is logged and counted, and [`Sink::recover`] is asked what to
/// do about it. `streak` counts the failures since the caller last saw the sink work (the
/// pipeline: since its last good flush) and sets the delay, so that a sink that fails again
/// after every re-delivery still backs off.
pub(crate) async fn write_with_retry<S: Sink>(
    sink: &mut S,
    name: &str,
    batch: &[WalFrame],
    backoff: Backoff,
    streak: &mut u32,
    abort: &CancellationToken,
    stats: &Stats,
) -> Retried {
    let mut failures = 0u32;
    loop {
        match sink.write(batch).await {
            Ok(()) => return Retried::Done(failures),
            Err(e) => {
                failures += 1;
                *streak = streak.saturating_add(1);
                Stats::add(&stats.sink_write_failures, 1);
                let delay = backoff.delay(*streak);
                tracing::warn!(sink = name, error = %ErrorChain(&e), failures, retry_in = ?delay, frames = batch.len(), "sink write failed");
                if let Some(end) = after_failure(sink, name, delay, abort).await {
                    return end;
                }
            }
        }
    }
}

/// Flushes, retrying with backoff until it succeeds; like [`write_with_retry`].
pub(crate) async fn flush_with_retry<S: Sink>(
    sink: &mut S,
    name: &str,
    backoff: Backoff,
    streak: &mut u32,
    abort: &CancellationToken,
    stats: &Stats,
) -> Retried {
    let mut failures = 0u32;
    loop {
        let started = std::time::Instant::now();
        match sink.flush().await {
            Ok(()) => {
                let ns = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
                Stats::add(&stats.sink_flushes, 1);
                Stats::add(&stats.sink_flush_ns, ns);
                stats.sink_flush_ns_max.fetch_max(ns, std::sync::atomic::Ordering::Relaxed);
                return Retried::Done(failures);
            }
            Err(e) => {
                failures += 1;
                *streak = streak.saturating_add(1);
                Stats::add(&stats.sink_flush_failures, 1);
                let delay = backoff.delay(*streak);
                tracing::warn!(sink = name, error = %ErrorChain(&e), failures, retry_in = ?delay, "sink flush failed");
                if let Some(end) = after_failure(sink, name, delay, abort).await {
                    return end;
                }
            }
        }
    }
}

/// After a failed call: lets the sink recover, then waits `delay`. `Some` ends the retrying.
async fn after_failure<S: Sink>(
    sink: &mut S,
    name: &str,
    delay: Duration,
    abort: &CancellationToken,
) -> Option<Retried> {
    let recovery = match sink.recover().await {
        Ok(r) => r,
        Err(e) => {
            // The failed call is tried again after the delay, and fails again (then recovery
            // is tried again) as long as whatever broke is still broken.
            tracing::warn!(sink = name, error = %ErrorChain(&e), "sink recovery failed");
            Recovery::Retry
        }
    };
    tokio::select! {
        _ = tokio::time::sleep(delay) => {}
        _ = abort.cancelled() => return Some(Retried::Aborted),
    }
    (recovery == Recovery::Redeliver).then_some(Retried::Redeliver)
}

/// Pipeline settings of one sink.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Settings {
    pub(crate) flush_interval: Duration,
    pub(crate) batch_max_frames: usize,
    pub(crate) backoff: Backoff,
}

/// One sink's pipeline.
#[derive(Debug)]
pub(crate) struct Pipeline {
    pub(crate) name: String,
    pub(crate) sink: BoxSink,
    pub(crate) settings: Settings,
    pub(crate) wal_dir: PathBuf,
    /// Where reading starts: the later of the stored checkpoint and the sink's own durable point.
    pub(crate) start: WalPosition,
    pub(crate) committed: watch::Receiver<WalPosition>,
    pub(crate) checkpoints: Arc<Checkpoints>,
    pub(crate) stats: Arc<Stats>,
}

impl Pipeline {
    /// Runs until `stop` (catch up with the final committed end, flush, checkpoint, return) or
    /// `abort` (return now; the WAL still holds whatever was not checkpointed).
    pub(crate) async fn run(
        self,
        stop: CancellationToken,
        abort: CancellationToken,
    ) -> Result<(), SinkError> {
        let Pipeline { name, mut sink, settings, wal_dir, start, mut committed, checkpoints, stats } = self;
        let mut cursor = Some(WalCursor::new(&wal_dir, start));
        let mut checkpointed = start;
        let mut dirty = false;
        let mut last_flush = Instant::now();
        let mut writer_gone = false;
        // Failures since the last good flush: the retry delay grows with them.
        let mut streak = 0u32;
        tracing::info!(sink = %name, from = %start, "sink pipeline started");
        loop {
            // Read `stop` before the committed end: once the writer has finished, its last end
            // is then seen before the pipeline decides it has caught up for good.
            let stopping = stop.is_cancelled();
            let end = *committed.borrow_and_update();
            let Some(mut c) = cursor.take() else { return Ok(()) };
            let max = settings.batch_max_frames.max(1);
            let (c, read) = tokio::task::spawn_blocking(move || {
                let r = c.read(end, max);
                (c, r)
            })
            .await
            .map_err(|e| SinkError::other(format!("WAL reader task: {e}")))?;
            let frames = read.map_err(|e| {
                tracing::error!(sink = %name, error = %ErrorChain(&e), "reading the WAL failed; this sink stops (the WAL is kept)");
                SinkError::other(e)
            })?;
            let consumed = c.position();
            cursor = Some(c);

            if !frames.is_empty() {
                match write_with_retry(
                    &mut sink,
                    &name,
                    &frames,
                    settings.backoff,
                    &mut streak,
                    &abort,
                    &stats,
                )
                .await
                {
                    Retried::Done(_) => {}
                    Retried::Aborted => return Ok(()),
                    Retried::Redeliver => {
                        cursor = Some(redeliver(&mut sink, &name, &wal_dir, checkpointed).await);
                        dirty = false;
                        continue;
                    }
                }
                Stats::add(&stats.sink_frames, frames.len() as u64);
                dirty = true;
            }

            let caught_up = consumed >= end;
            let due = last_flush.elapsed() >= settings.flush_interval || (stopping && caught_up);
            if consumed > checkpointed && due {
                if dirty {
                    match flush_with_retry(&mut sink, &name, settings.backoff, &mut streak, &abort, &stats)
                        .await
                    {
                        Retried::Done(_) => streak = 0,
                        Retried::Aborted => return Ok(()),
                        Retried::Redeliver => {
                            cursor = Some(redeliver(&mut sink, &name, &wal_dir, checkpointed).await);
                            dirty = false;
                            continue;
                        }
                    }
                }
                dirty = false;
                last_flush = Instant::now();
                let cp = Arc::clone(&checkpoints);
                let n = name.clone();
                let stored = tokio::task::spawn_blocking(move || cp.store(&n, consumed))
                    .await
                    .map_err(|e| SinkError::other(format!("checkpoint task: {e}")))?;
                match stored {
                    Ok(()) => checkpointed = consumed,
                    Err(e) => {
                        // The output is durable; only the record of it is not. Frames since the
                        // old checkpoint are written again after a restart, the WAL is kept.
                        tracing::warn!(sink = %name, error = %ErrorChain(&e), "storing the sink checkpoint failed");
                        if stopping {
                            return Err(e);
                        }
                    }
                }
            }

            if caught_up {
                if stopping && consumed <= checkpointed {
                    tracing::info!(sink = %name, at = %checkpointed, "sink pipeline stopped");
                    return Ok(());
                }
                let flush_at = last_flush + settings.flush_interval;
                let pending = consumed > checkpointed;
                tokio::select! {
                    changed = committed.changed(), if !writer_gone => {
                        if changed.is_err() {
                            writer_gone = true;
                        }
                    }
                    _ = tokio::time::sleep_until(flush_at), if pending => {}
                    _ = stop.cancelled(), if !stopping => {}
                    _ = abort.cancelled() => return Ok(()),
                }
            }
        }
    }
}

/// A cursor from where a sink that went back to its last durable state needs its frames again:
/// the later of the pipeline's checkpoint and the sink's own durable position. The WAL still
/// holds everything after the checkpoint (segments are deleted only behind every checkpoint).
async fn redeliver(
    sink: &mut BoxSink,
    name: &str,
    wal_dir: &std::path::Path,
    checkpointed: WalPosition,
) -> WalCursor {
    let own = match sink.durable_position().await {
        Ok(own) => own,
        Err(e) => {
            tracing::warn!(sink = name, error = %ErrorChain(&e), "asking the sink where its output ends");
            None
        }
    };
    let from = own.map_or(checkpointed, |p| p.max(checkpointed));
    tracing::info!(sink = name, %from, "sink recovered; delivering the frames since its last durable point again");
    WalCursor::new(wal_dir, from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let b = Backoff { initial: Duration::from_millis(10), max: Duration::from_millis(100) };
        assert_eq!(b.delay(1), Duration::from_millis(10));
        assert_eq!(b.delay(2), Duration::from_millis(20));
        assert_eq!(b.delay(4), Duration::from_millis(80));
        assert_eq!(b.delay(5), Duration::from_millis(100));
        assert_eq!(b.delay(1000), Duration::from_millis(100));
    }
}
