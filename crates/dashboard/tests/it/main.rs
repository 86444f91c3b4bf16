//! The dashboard end to end: real HTTP and WebSocket connections on loopback to a dashboard
//! following the dedicated-server simulator, and a real headless Chromium on its pages.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod api;
mod browser;
mod laps;
mod support;
mod telemetry;
mod ws;

// The raw HTTP client and the browser are the test kit's.
use testkit::browser as webdriver;
use testkit::http as client;
