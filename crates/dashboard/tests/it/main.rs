//! The dashboard end to end: real HTTP and WebSocket connections on loopback to a dashboard
//! following the dedicated-server simulator, and a real headless Chromium on its pages.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod api;
mod browser;
mod client;
mod laps;
mod support;
mod telemetry;
mod webdriver;
mod ws;
