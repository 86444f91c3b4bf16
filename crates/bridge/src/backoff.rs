//! Reconnection delays: exponential backoff with jitter.
//!
//! After a failed connection the delay doubles from [`BackoffConfig::initial`] up to
//! [`BackoffConfig::max`]; each delay is drawn uniformly from its upper half ("equal jitter"),
//! so a fleet of bridges that lost the same server does not come back in lockstep, while no
//! bridge waits less than half the nominal delay. A connection that worked resets it. The
//! random source is a seeded ChaCha generator, so tests see the same delays every run.

use std::time::Duration;

use rand::{Rng as _, SeedableRng as _};
use rand_chacha::ChaCha8Rng;

/// How [`Backoff`] grows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BackoffConfig {
    /// Nominal delay after the first failure.
    pub initial: Duration,
    /// Largest nominal delay.
    pub max: Duration,
    /// Growth per failure (2 doubles).
    pub factor: f64,
}

impl Default for BackoffConfig {
    fn default() -> Self {
        BackoffConfig { initial: Duration::from_millis(100), max: Duration::from_secs(5), factor: 2.0 }
    }
}

/// The delay before each reconnection attempt.
#[derive(Debug, Clone)]
pub struct Backoff {
    config: BackoffConfig,
    failures: u32,
    rng: ChaCha8Rng,
}

impl Backoff {
    /// A backoff with its jitter seeded by `seed`.
    pub fn new(config: BackoffConfig, seed: u64) -> Self {
        Backoff { config, failures: 0, rng: ChaCha8Rng::seed_from_u64(seed) }
    }

    /// The nominal (jitter-free) delay after `failures` failures in a row.
    pub fn nominal(&self, failures: u32) -> Duration {
        if failures == 0 {
            return Duration::ZERO;
        }
        let max = self.config.max.as_secs_f64();
        let grown =
            self.config.initial.as_secs_f64() * self.config.factor.max(1.0).powf(f64::from(failures - 1));
        // `min` also tames an infinite `grown` after very many failures.
        Duration::from_secs_f64(grown.min(max).max(0.0))
    }

    /// Counts a failure and returns how long to wait before the next attempt.
    pub fn next_delay(&mut self) -> Duration {
        self.failures = self.failures.saturating_add(1);
        let nominal = self.nominal(self.failures).as_secs_f64();
        let jittered = nominal / 2.0 + self.rng.random::<f64>() * nominal / 2.0;
        Duration::from_secs_f64(jittered)
    }

    /// A connection worked: the next failure starts again from the initial delay.
    pub fn reset(&mut self) {
        self.failures = 0;
    }

    /// Failures in a row so far.
    pub fn failures(&self) -> u32 {
        self.failures
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_up_to_the_cap_and_stay_in_the_upper_half() {
        let config = BackoffConfig::default();
        let mut b = Backoff::new(config, 1);
        let mut nominals = Vec::new();
        for _ in 0..12 {
            let d = b.next_delay();
            let nominal = b.nominal(b.failures());
            assert!(d >= nominal / 2 && d <= nominal, "{d:?} outside {nominal:?}/2..{nominal:?}");
            nominals.push(nominal.as_millis());
        }
        assert_eq!(&nominals[..7], &[100, 200, 400, 800, 1600, 3200, 5000]);
        assert!(nominals[7..].iter().all(|&n| n == 5000), "{nominals:?}");
    }

    #[test]
    fn a_success_resets_the_delay() {
        let mut b = Backoff::new(BackoffConfig::default(), 2);
        for _ in 0..5 {
            b.next_delay();
        }
        assert!(b.nominal(b.failures()) >= Duration::from_millis(1600));
        b.reset();
        assert_eq!(b.failures(), 0);
        assert!(b.next_delay() <= Duration::from_millis(100));
    }

    #[test]
    fn jitter_is_seeded_and_spreads_bridges_apart() {
        let delays = |seed| {
            let mut b = Backoff::new(BackoffConfig::default(), seed);
            (0..8).map(|_| b.next_delay()).collect::<Vec<_>>()
        };
        assert_eq!(delays(7), delays(7), "same seed, same delays");
        assert_ne!(delays(7), delays(8), "different bridges wait differently");
    }

    #[test]
    fn many_failures_never_overflow() {
        let mut b = Backoff::new(BackoffConfig { factor: 10.0, ..BackoffConfig::default() }, 3);
        for _ in 0..10_000 {
            assert!(b.next_delay() <= Duration::from_secs(5));
        }
    }
}
