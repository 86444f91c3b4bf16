//! The null sink: accepts every batch and keeps nothing. For benchmarks (the server's cost
//! without an output format's), and for running with the WAL alone while it is trimmed.

use serde::{Deserialize, Serialize};

use super::{Sink, SinkError, WalFrame};

/// `type = "null"`: no settings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NullConfig {}

/// Discards frames; counts them.
#[derive(Debug, Default)]
pub struct NullSink {
    frames: u64,
}

impl NullSink {
    /// A null sink.
    pub fn new(_config: &NullConfig) -> Self {
        NullSink::default()
    }

    /// Frames received so far.
    pub fn frames(&self) -> u64 {
        self.frames
    }
}

impl Sink for NullSink {
    async fn write(&mut self, batch: &[WalFrame]) -> Result<(), SinkError> {
        self.frames += batch.len() as u64;
        Ok(())
    }

    async fn flush(&mut self) -> Result<(), SinkError> {
        Ok(())
    }
}
