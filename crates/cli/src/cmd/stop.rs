//! How every command stops on request: SIGINT (Ctrl-C) or SIGTERM (a service manager, `kill`).
//! Async loops wait on [`requested`]; blocking loops look at the flag of [`flag`] between rounds.
//! And the one reload request, SIGHUP ([`Hangup`]), for the commands that re-read their config.

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

/// SIGHUP, taken over from its default action (which ends the process): take it before the
/// command says it is up, so that a reload asked for as soon as it is cannot end it.
pub(crate) struct Hangup(#[cfg(unix)] Option<tokio::signal::unix::Signal>);

impl Hangup {
    /// Listens for SIGHUP (inside a tokio runtime). Where it cannot, says so: no reloads.
    #[cfg(unix)]
    pub fn take() -> Hangup {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::hangup()) {
            Ok(s) => Hangup(Some(s)),
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGHUP: no reloads");
                Hangup(None)
            }
        }
    }

    #[cfg(not(unix))]
    pub fn take() -> Hangup {
        Hangup()
    }

    /// The next SIGHUP; never, where there are none.
    pub async fn next(&mut self) {
        #[cfg(unix)]
        if let Some(s) = &mut self.0 {
            if s.recv().await.is_some() {
                return;
            }
        }
        std::future::pending::<()>().await
    }
}
