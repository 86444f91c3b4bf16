//! Injected time: anything with rates or timestamps asks a [`Clock`], so the simulator and the
//! tests can drive time themselves.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// A monotonic clock in nanoseconds. The origin is arbitrary; only differences matter.
pub trait Clock {
    /// Nanoseconds since the clock's origin; never decreases.
    fn now_ns(&self) -> u64;
}

impl<C: Clock + ?Sized> Clock for &C {
    fn now_ns(&self) -> u64 {
        (**self).now_ns()
    }
}

impl<C: Clock + ?Sized> Clock for Arc<C> {
    fn now_ns(&self) -> u64 {
        (**self).now_ns()
    }
}

impl<C: Clock + ?Sized> Clock for Box<C> {
    fn now_ns(&self) -> u64 {
        (**self).now_ns()
    }
}

/// The host's monotonic clock ([`Instant`]), counted from when it was created.
#[derive(Debug, Clone, Copy)]
pub struct MonotonicClock {
    origin: Instant,
}

impl MonotonicClock {
    /// A clock whose origin is now.
    pub fn new() -> Self {
        MonotonicClock { origin: Instant::now() }
    }
}

impl Default for MonotonicClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for MonotonicClock {
    fn now_ns(&self) -> u64 {
        // u64 nanoseconds last 584 years.
        self.origin.elapsed().as_nanos() as u64
    }
}

/// A clock that moves only when told to: for tests and the simulator. Share it by reference
/// (or `Arc`) between the code that advances it and the code that reads it.
#[derive(Debug, Default)]
pub struct ManualClock {
    now: AtomicU64,
}

impl ManualClock {
    /// A clock reading `start_ns`.
    pub fn new(start_ns: u64) -> Self {
        ManualClock { now: AtomicU64::new(start_ns) }
    }

    /// Moves the clock forward by `ns`.
    pub fn advance(&self, ns: u64) {
        self.now.fetch_add(ns, Ordering::Relaxed);
    }

    /// Sets the clock. Going backwards is ignored, because a monotonic clock never does.
    pub fn set(&self, now_ns: u64) {
        self.now.fetch_max(now_ns, Ordering::Relaxed);
    }
}

impl Clock for ManualClock {
    fn now_ns(&self) -> u64 {
        self.now.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_forward() {
        let clock = ManualClock::new(10);
        clock.advance(5);
        assert_eq!(clock.now_ns(), 15);
        clock.set(12);
        assert_eq!(clock.now_ns(), 15);
        clock.set(100);
        // Through the blanket impl for references, as a poller borrowing it sees it.
        fn read(clock: impl Clock) -> u64 {
            clock.now_ns()
        }
        assert_eq!(read(&clock), 100);
    }

    #[test]
    fn monotonic_clock_does_not_go_back() {
        let clock = MonotonicClock::new();
        let a = clock.now_ns();
        let b = clock.now_ns();
        assert!(b >= a);
    }
}
