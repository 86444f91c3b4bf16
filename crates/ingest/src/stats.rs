//! Counters, updated with relaxed atomics on the hot path and read as a [`StatsSnapshot`]. A
//! Prometheus `/metrics` endpoint ([`crate::metrics`]) exposes the same numbers.

use std::sync::atomic::{AtomicU64, Ordering};

/// Live counters of a running server.
#[derive(Debug, Default)]
pub(crate) struct Stats {
    pub(crate) frames_received: AtomicU64,
    pub(crate) frames_stored: AtomicU64,
    pub(crate) duplicates: AtomicU64,
    pub(crate) invalid_frames: AtomicU64,
    pub(crate) gaps: AtomicU64,
    pub(crate) commits: AtomicU64,
    pub(crate) bytes_committed: AtomicU64,
    pub(crate) acks_sent: AtomicU64,
    pub(crate) streams_opened: AtomicU64,
    pub(crate) streams_closed: AtomicU64,
    pub(crate) sink_frames: AtomicU64,
    pub(crate) sink_write_failures: AtomicU64,
    pub(crate) sink_flush_failures: AtomicU64,
    pub(crate) segments_deleted: AtomicU64,
    pub(crate) sink_flushes: AtomicU64,
    pub(crate) sink_flush_ns: AtomicU64,
    pub(crate) sink_flush_ns_max: AtomicU64,
    pub(crate) wal_damaged_regions: AtomicU64,
    pub(crate) wal_damaged_bytes: AtomicU64,
    pub(crate) wal_write_failures: AtomicU64,
    /// A gauge: 1 while the WAL cannot be written, else 0.
    pub(crate) wal_write_failing: AtomicU64,
    pub(crate) streams_refused: AtomicU64,
    pub(crate) throttled: AtomicU64,
    pub(crate) throttled_ns: AtomicU64,
}

/// A copy of the counters at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatsSnapshot {
    /// Frames decoded from streams.
    pub frames_received: u64,
    /// Frames appended to the WAL and committed.
    pub frames_stored: u64,
    /// Frames dropped because their (session, seq) was already stored or in flight.
    pub duplicates: u64,
    /// Frames rejected by validation (each ends its stream).
    pub invalid_frames: u64,
    /// Streams ended because a seq jumped ahead.
    pub gaps: u64,
    /// Group commits (one write + one fdatasync each).
    pub commits: u64,
    /// Bytes written to the WAL.
    pub bytes_committed: u64,
    /// Acks sent.
    pub acks_sent: u64,
    /// StreamFrames calls accepted.
    pub streams_opened: u64,
    /// StreamFrames calls finished.
    pub streams_closed: u64,
    /// Frames written to sinks (summed over sinks).
    pub sink_frames: u64,
    /// Failed sink writes (each retried).
    pub sink_write_failures: u64,
    /// Failed sink flushes (each retried).
    pub sink_flush_failures: u64,
    /// WAL segments deleted after every sink covered them.
    pub segments_deleted: u64,
    /// Successful sink flushes (summed over sinks).
    pub sink_flushes: u64,
    /// Time spent in successful sink flushes, ns (summed over sinks).
    pub sink_flush_ns: u64,
    /// Longest successful sink flush, ns.
    pub sink_flush_ns_max: u64,
    /// Damaged stretches of the WAL that replay skipped at start-up (intact records after them
    /// were kept).
    pub wal_damaged_regions: u64,
    /// Bytes in those stretches.
    pub wal_damaged_bytes: u64,
    /// Failed attempts to write (or fsync) the WAL: the failed commits and the retries after
    /// them.
    pub wal_write_failures: u64,
    /// Whether the WAL cannot be written now (nothing is acked meanwhile).
    pub wal_write_failing: bool,
    /// StreamFrames calls refused because `max_streams` were open.
    pub streams_refused: u64,
    /// Times a stream was held back by its frame-rate limit.
    pub throttled: u64,
    /// Time streams spent held back by their frame-rate limit, ns (summed over streams).
    pub throttled_ns: u64,
}

impl Stats {
    pub(crate) fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> StatsSnapshot {
        let g = |c: &AtomicU64| c.load(Ordering::Relaxed);
        StatsSnapshot {
            frames_received: g(&self.frames_received),
            frames_stored: g(&self.frames_stored),
            duplicates: g(&self.duplicates),
            invalid_frames: g(&self.invalid_frames),
            gaps: g(&self.gaps),
            commits: g(&self.commits),
            bytes_committed: g(&self.bytes_committed),
            acks_sent: g(&self.acks_sent),
            streams_opened: g(&self.streams_opened),
            streams_closed: g(&self.streams_closed),
            sink_frames: g(&self.sink_frames),
            sink_write_failures: g(&self.sink_write_failures),
            sink_flush_failures: g(&self.sink_flush_failures),
            segments_deleted: g(&self.segments_deleted),
            sink_flushes: g(&self.sink_flushes),
            sink_flush_ns: g(&self.sink_flush_ns),
            sink_flush_ns_max: g(&self.sink_flush_ns_max),
            wal_damaged_regions: g(&self.wal_damaged_regions),
            wal_damaged_bytes: g(&self.wal_damaged_bytes),
            wal_write_failures: g(&self.wal_write_failures),
            wal_write_failing: g(&self.wal_write_failing) != 0,
            streams_refused: g(&self.streams_refused),
            throttled: g(&self.throttled),
            throttled_ns: g(&self.throttled_ns),
        }
    }
}
