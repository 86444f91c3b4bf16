//! Percentiles of measured samples, and the ack-latency summary a load run reports.

use std::time::Duration;

/// The `p` quantile (`0.0..=1.0`) of `sorted` (ascending): the sample at index
/// `round((len - 1) × p)`, so 0 is the smallest sample, 1 the largest and 0.5 the median of an
/// odd count. `None` for no samples, or a `p` outside `0..=1` (NaN included).
///
/// ```
/// let sorted = [10, 20, 30, 40, 50];
/// assert_eq!(loadgen::stats::percentile(&sorted, 0.5), Some(30));
/// assert_eq!(loadgen::stats::percentile(&sorted, 1.0), Some(50));
/// assert_eq!(loadgen::stats::percentile::<u32>(&[], 0.5), None);
/// ```
pub fn percentile<T: Copy>(sorted: &[T], p: f64) -> Option<T> {
    if !(0.0..=1.0).contains(&p) {
        return None;
    }
    let last = sorted.len().checked_sub(1)?;
    sorted.get((last as f64 * p).round() as usize).copied()
}

/// Ack latency of a run: how many samples, and the median, 99th percentile and largest of them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Latency {
    /// Samples taken.
    pub samples: usize,
    /// Median.
    pub p50: Duration,
    /// 99th percentile.
    pub p99: Duration,
    /// The largest sample.
    pub max: Duration,
}

impl Latency {
    /// The summary of samples in microseconds, in any order; all zero when there are none.
    pub fn from_micros(mut samples: Vec<u32>) -> Latency {
        samples.sort_unstable();
        let at = |p| Duration::from_micros(percentile(&samples, p).map_or(0, u64::from));
        Latency { samples: samples.len(), p50: at(0.50), p99: at(0.99), max: at(1.0) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_known_data() {
        let data: Vec<u32> = (0..=100).collect();
        assert_eq!(percentile(&data, 0.0), Some(0));
        assert_eq!(percentile(&data, 0.5), Some(50));
        assert_eq!(percentile(&data, 0.99), Some(99));
        assert_eq!(percentile(&data, 1.0), Some(100));
        // 1,000 samples: p99 is the sample at round(999 × 0.99) = round(989.01) = 989.
        let data: Vec<u32> = (1..=1_000).collect();
        assert_eq!(percentile(&data, 0.99), Some(990));
        assert_eq!(percentile(&data, 0.5), Some(501));
        assert_eq!(percentile(&[7u8], 0.99), Some(7));
    }

    #[test]
    fn no_samples_or_a_p_outside_0_to_1_give_none() {
        assert_eq!(percentile::<u32>(&[], 0.5), None);
        for p in [-0.1, 1.01, f64::NAN, f64::INFINITY] {
            assert_eq!(percentile(&[1, 2, 3], p), None, "p = {p}");
        }
    }

    #[test]
    fn latency_sorts_its_samples_and_converts_microseconds() {
        // 200 samples: 1..=198 ms, then two outliers, shuffled by reversing.
        let mut samples: Vec<u32> = (1..=198).map(|ms| ms * 1_000).collect();
        samples.extend([900_000, 5_000_000]);
        samples.reverse();
        let l = Latency::from_micros(samples);
        assert_eq!(l.samples, 200);
        // round(199 × 0.5) = 100 (half away from zero): the 101st sample, 101 ms.
        assert_eq!(l.p50, Duration::from_millis(101));
        // round(199 × 0.99) = 197: the 198th sample.
        assert_eq!(l.p99, Duration::from_millis(198));
        assert_eq!(l.max, Duration::from_secs(5));
        assert_eq!(Latency::from_micros(Vec::new()), Latency::default());
    }
}
