//! Waiting, from an async test, for something another task or thread does.

use std::time::Duration;

/// Polls `cond` every 10 ms for up to `secs` seconds, sleeping on tokio's clock in between
/// (so the runtime's other tasks run meanwhile). Returns whether it held, checking once more
/// at the deadline.
pub async fn eventually(secs: u64, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while tokio::time::Instant::now() < deadline {
        if cond() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    cond()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_condition_that_comes_true_is_seen_and_one_that_does_not_times_out() {
        let start = tokio::time::Instant::now();
        let mut calls = 0;
        assert!(
            eventually(5, || {
                calls += 1;
                calls == 3
            })
            .await
        );
        assert_eq!(calls, 3);
        assert!(!eventually(0, || false).await);
        assert!(start.elapsed() < Duration::from_secs(5));
    }
}
