//! Counters of a running bridge and the status built from them: the CLI's one-line status on
//! stderr and its `--json` lines on stdout.

use std::fmt;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};

use serde::Serialize;

/// Where the bridge stands with its server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionState {
    /// No server configured: recording only.
    Disabled,
    /// Connecting (and asking where to resume).
    Connecting,
    /// Streaming frames and receiving acks.
    Connected,
    /// Waiting before the next attempt, after a failure.
    Backoff,
    /// Stopped.
    Stopped,
}

impl ConnectionState {
    fn from_u8(v: u8) -> Self {
        match v {
            0 => ConnectionState::Disabled,
            1 => ConnectionState::Connecting,
            2 => ConnectionState::Connected,
            3 => ConnectionState::Backoff,
            _ => ConnectionState::Stopped,
        }
    }

    fn to_u8(self) -> u8 {
        match self {
            ConnectionState::Disabled => 0,
            ConnectionState::Connecting => 1,
            ConnectionState::Connected => 2,
            ConnectionState::Backoff => 3,
            ConnectionState::Stopped => 4,
        }
    }
}

impl fmt::Display for ConnectionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ConnectionState::Disabled => "no server",
            ConnectionState::Connecting => "connecting",
            ConnectionState::Connected => "connected",
            ConnectionState::Backoff => "reconnecting",
            ConnectionState::Stopped => "stopped",
        })
    }
}

/// Counters shared by the bridge's threads (relaxed atomics: they are figures, not locks).
#[derive(Debug, Default)]
pub struct Metrics {
    /// Frames sampled and recorded.
    pub frames: AtomicU64,
    /// Sessions started.
    pub sessions: AtomicU64,
    /// Physics steps the game wrote that the bridge never saw.
    pub missed_steps: AtomicU64,
    /// Page reads torn through every retry (skipped).
    pub torn_reads: AtomicU64,
    /// Polls of the shared memory (the `shm` source): about one per physics step once the
    /// pacer has locked onto the game's steps; each costs a wake-up of the sampling thread.
    pub polls: AtomicU64,
    /// Errors reading the source (a page file gone, a damaged replay).
    pub source_errors: AtomicU64,
    /// Frames sent to the server (a frame sent again after a reconnect counts again).
    pub frames_sent: AtomicU64,
    /// Frames the server acknowledged.
    pub frames_acked: AtomicU64,
    /// Frames sent from the recording rather than from memory.
    pub frames_from_recording: AtomicU64,
    /// Connections that failed or ended.
    pub disconnects: AtomicU64,
    /// Sampling rate over the last second, in mHz.
    pub rate_mhz: AtomicU64,
    state: AtomicU8,
}

impl Metrics {
    /// Adds `n` to a counter.
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// Sets the connection state.
    pub fn set_state(&self, state: ConnectionState) {
        self.state.store(state.to_u8(), Ordering::Relaxed);
    }

    /// The connection state.
    pub fn state(&self) -> ConnectionState {
        ConnectionState::from_u8(self.state.load(Ordering::Relaxed))
    }

    /// Sets the sampling rate.
    pub fn set_rate_hz(&self, hz: f64) {
        self.rate_mhz.store((hz * 1000.0).max(0.0) as u64, Ordering::Relaxed);
    }
}

/// A snapshot of a running bridge: what the status line and `--json` show.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Status {
    /// Seconds since the bridge started.
    pub uptime_s: f64,
    /// Sampling rate over the last second, Hz.
    pub rate_hz: f64,
    /// Frames recorded.
    pub frames: u64,
    /// Sessions started.
    pub sessions: u64,
    /// Physics steps the game wrote that the bridge never saw.
    pub missed_steps: u64,
    /// Page reads torn through every retry.
    pub torn_reads: u64,
    /// Polls of the shared memory (`shm` source only; about one per physics step).
    pub polls: u64,
    /// Errors reading the source.
    pub source_errors: u64,
    /// Frames sent (again after a reconnect counts again).
    pub frames_sent: u64,
    /// Frames acknowledged by the server.
    pub frames_acked: u64,
    /// Frames sent from the recording after an outage.
    pub frames_from_recording: u64,
    /// Frames recorded and not yet acknowledged.
    pub backlog_frames: u64,
    /// Frames held in memory.
    pub window_frames: usize,
    /// Bytes held in memory for them.
    pub window_bytes: usize,
    /// Size of the recording, bytes (complete members).
    pub record_bytes: u64,
    /// Frames the recording refused (a full disk).
    pub record_errors: u64,
    /// Sessions that cannot be sent any more (a gap in the recording).
    pub stuck_sessions: usize,
    /// Connections that failed or ended.
    pub disconnects: u64,
    /// The connection state.
    pub connection: ConnectionState,
}

impl Status {
    /// The one-line form for a terminal.
    pub fn line(&self) -> String {
        let mut line = format!(
            "{:7.1} Hz  {} frames  {} missed  backlog {}  {}  rec {}",
            self.rate_hz,
            self.frames,
            self.missed_steps,
            self.backlog_frames,
            self.connection,
            human_bytes(self.record_bytes),
        );
        if self.stuck_sessions > 0 {
            line.push_str(&format!("  {} stuck", self.stuck_sessions));
        }
        if self.record_errors > 0 {
            line.push_str(&format!("  {} unrecorded", self.record_errors));
        }
        line
    }
}

/// `1.5 MB`-style sizes.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["B", "kB", "MB", "GB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1000.0 && unit + 1 < UNITS.len() {
        v /= 1000.0;
        unit += 1;
    }
    if unit == 0 { format!("{n} B") } else { format!("{v:.1} {}", UNITS[unit]) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_like_a_human_wrote_them() {
        assert_eq!(human_bytes(999), "999 B");
        assert_eq!(human_bytes(1_500), "1.5 kB");
        assert_eq!(human_bytes(2_340_000_000), "2.3 GB");
    }

    #[test]
    fn the_state_round_trips_through_the_atomic() {
        let m = Metrics::default();
        assert_eq!(m.state(), ConnectionState::Disabled);
        for s in [ConnectionState::Connecting, ConnectionState::Connected, ConnectionState::Backoff] {
            m.set_state(s);
            assert_eq!(m.state(), s);
        }
    }
}
