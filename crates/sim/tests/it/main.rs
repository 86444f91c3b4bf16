//! End-to-end: the real ACSP client (`acsp::client::Client`) and the simulated server over
//! loopback UDP, with accelerated time. Every wait has a timeout, so nothing can hang.

mod commands;
mod game;
mod laps;
mod lifecycle;
mod robustness;
mod support;
