//! # pitwall-testkit: the helpers pitwall's test suites share
//!
//! One copy of each helper that tests, examples and benchmarks of more than one crate need, so
//! that they cannot drift apart. A dev-dependency only: no production binary carries it, and
//! its helpers panic (with a message) where a test would fail anyway.
//!
//! - [`sim`] (feature `sim`): the game simulator's pages turned into `TelemetryFrame`s by the
//!   bridge's own page-to-frame mapping, as a [`sim::Run`] (frames, laps, a recording), and the
//!   simulator as the bridge's source ([`sim::Game`], [`sim::bridge_config`]).
//! - [`pages`] (feature `pages`): realistic shared-memory pages, a different value in nearly
//!   every field, and the pages a writer publishes step by step.
//! - [`nats`] (feature `nats`): a real `nats-server -js` on loopback, one node or a cluster of
//!   three, killed on drop.
//! - [`balancer`] (feature `balancer`): a round-robin TCP load balancer on loopback that skips
//!   backends refusing connections, for ingest nodes behind one address.
//! - [`disk`]: a size-limited tmpfs that a test fills up, for real `ENOSPC`.
//! - [`wait`] (feature `wait`): polling a condition from an async test.
//! - [`http`] (feature `http`): a raw HTTP/1.1 client that sends exactly the bytes given.
//! - [`browser`] (feature `browser`): a headless Chromium through chromedriver, driven by
//!   fantoccini (WebDriver), for the dashboard's pages.
//!
//! A crate names the features it needs (the workspace dependency turns the defaults off):
//! `testkit = { workspace = true, features = ["sim"] }`.
//!
//! ```
//! use std::time::Duration;
//!
//! // Ten simulated seconds on the short oval: about 3 300 frames of one session.
//! let (frames, laps) = testkit::sim::Run::new(testkit::sim::oval(1), Duration::from_secs(10)).frames();
//! assert!(frames.len() > 3_000 && laps.is_empty());
//! assert_eq!(frames[0].session_id, testkit::sim::session_id(1));
//! assert!(frames[0].session.is_some(), "the first frame carries the session's metadata");
//! ```

#[cfg(feature = "balancer")]
pub mod balancer;
#[cfg(feature = "browser")]
pub mod browser;
pub mod disk;
#[cfg(feature = "http")]
pub mod http;
#[cfg(feature = "nats")]
pub mod nats;
#[cfg(feature = "pages")]
pub mod pages;
#[cfg(feature = "sim")]
pub mod sim;
#[cfg(feature = "wait")]
pub mod wait;
