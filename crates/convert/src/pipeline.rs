//! The two-thread pipeline: a reader thread inflates and decodes the input into batches of
//! frames, the calling thread derives the laps and builds and encodes the output. Batches go
//! through a bounded channel and come back empty through another, so at most
//! [`IN_FLIGHT`] + 1 batches exist and their frames' allocations are reused: memory stays
//! constant whatever the input's size.
//!
//! Why this split: on realistic frames (see `examples/stages.rs`), inflating and decoding cost
//! about as much CPU per row as building the Arrow columns and encoding Parquet, so the two
//! halves keep two cores about equally busy.

use std::sync::mpsc::sync_channel;

use proto::telemetry::v1::TelemetryFrame;
use record::Damage;

use crate::error::ConvertError;
use crate::source::{Batch, Fill, Source};

/// Frames per batch.
pub(crate) const BATCH: usize = 2048;
/// Full batches waiting for the consumer at most.
const IN_FLIGHT: usize = 4;

/// How reading ended.
#[derive(Debug, Default)]
pub(crate) struct Ended {
    /// Frames handed to the consumer.
    pub frames: u64,
    /// The damaged stretches of the input, in order (each skipped).
    pub damages: Vec<Damage>,
    /// Warnings about the input.
    pub warnings: Vec<String>,
}

/// Reads `source` on a thread of its own and hands each batch of frames to `consume` on this
/// one, then `progress` with the input's position after it.
pub(crate) fn run(
    mut source: Source,
    mut progress: impl FnMut(u64, u64),
    mut consume: impl FnMut(&[TelemetryFrame]) -> Result<(), ConvertError>,
) -> Result<Ended, ConvertError> {
    let (full_tx, full_rx) = sync_channel::<Batch>(IN_FLIGHT);
    let (empty_tx, empty_rx) = sync_channel::<Batch>(IN_FLIGHT + 1);
    for _ in 0..=IN_FLIGHT {
        // The channel has room for all of them: this never blocks or fails.
        let _ = empty_tx.send(Batch::with_capacity(BATCH));
    }
    std::thread::scope(|scope| {
        let producer = std::thread::Builder::new()
            .name("convert-read".into())
            .spawn_scoped(scope, move || -> Result<(Vec<Damage>, Vec<String>), ConvertError> {
                let mut damages = Vec::new();
                // A batch that damage left empty, used again rather than sent.
                let mut spare = None;
                loop {
                    let mut batch = match spare.take() {
                        Some(batch) => batch,
                        // The consumer stopped (it failed): nothing more to do.
                        None => match empty_rx.recv() {
                            Ok(batch) => batch,
                            Err(_) => return Ok((damages, source.warnings())),
                        },
                    };
                    let fill = source.fill(&mut batch, BATCH)?;
                    if batch.len > 0 {
                        if full_tx.send(batch).is_err() {
                            return Ok((damages, source.warnings()));
                        }
                    } else {
                        spare = Some(batch);
                    }
                    match fill {
                        Fill::More => {}
                        Fill::End => return Ok((damages, source.warnings())),
                        Fill::Damage(d) => {
                            let goes_on = d.resumed_at.is_some();
                            damages.push(d);
                            if !goes_on {
                                return Ok((damages, source.warnings()));
                            }
                        }
                    }
                }
            })
            .map_err(|_| ConvertError::Thread("reader"))?;
        let mut frames = 0u64;
        let mut result = Ok(());
        for batch in full_rx.iter() {
            result = consume(batch.frames());
            if result.is_err() {
                break;
            }
            frames += batch.len as u64;
            progress(batch.position, frames);
            let _ = empty_tx.send(batch);
        }
        drop(full_rx);
        drop(empty_tx);
        let produced = producer.join().map_err(|_| ConvertError::Thread("reader"))?;
        result?;
        let (damages, warnings) = produced?;
        Ok(Ended { frames, damages, warnings })
    })
}
