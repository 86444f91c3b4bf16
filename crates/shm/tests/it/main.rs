//! Integration tests of `pitwall-shm`, one module per topic.

// Test helpers outside `#[test]` functions may unwrap: a failure there is a test failure.
#![allow(clippy::unwrap_used)]

mod dir;
mod layout;
#[cfg(unix)]
mod mapped;
mod poller;
mod snapshot;
mod support;
mod torn;
