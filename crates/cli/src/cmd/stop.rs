//! How every command stops on request: SIGINT (Ctrl-C) or SIGTERM (a service manager, `kill`).
//! Async loops wait on [`requested`]; blocking loops look at the flag of [`flag`] between rounds.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Completes on the first SIGINT or SIGTERM (`ingest::shutdown_signal`, the one implementation).
pub(crate) async fn requested() {
    ingest::shutdown_signal().await;
}

/// A flag set by the first SIGINT or SIGTERM. The handler runs on a small thread of its own, so
/// blocking loops (the game simulator, the page watcher) only look at the flag between rounds.
pub(crate) fn flag() -> Arc<AtomicBool> {
    let stop = Arc::new(AtomicBool::new(false));
    let set = Arc::clone(&stop);
    match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => {
            std::thread::spawn(move || {
                runtime.block_on(async move {
                    requested().await;
                    set.store(true, Ordering::Relaxed);
                });
            });
        }
        // Without our handler the default one stays: Ctrl-C still ends the process, just
        // without the final summary.
        Err(e) => tracing::warn!(error = %e, "cannot listen for Ctrl-C"),
    }
    stop
}
