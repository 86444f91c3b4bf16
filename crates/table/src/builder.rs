//! [`FrameBuilder`]: appends frames into typed column buffers and hands them out as Arrow
//! record batches.
//!
//! It fills columns field by field over small chunks of frames: each field's buffer (see
//! [`field_codec`](crate::field_codec)) is called once per chunk, and its inner loop, compiled for that
//! field, only reads the field of each frame and pushes it, while the chunk of frames stays in
//! the CPU cache. Buffers are plain `Vec`s moved into the Arrow arrays without a copy; validity
//! bitmaps are only materialised when a null appears. Dictionary columns remember the previous
//! row's value, so a batch of one session (the usual case) costs one comparison per row.

use std::sync::Arc;

use arrow_array::{ArrayRef, Float32Array, Float64Array, Int64Array, RecordBatch, UInt32Array};
use arrow_buffer::ScalarBuffer;
use proto::telemetry::v1::TelemetryFrame;

use crate::error::TableError;
use crate::field_codec::Buffer;
use crate::fields::FIELDS;
use crate::schema::{Derived, FrameSchema, Variant};

/// Frames per chunk of the column-by-column fill: small enough that the chunk's frames stay in
/// the L1/L2 cache while every column walks over them.
const CHUNK: usize = 32;

/// Builds Arrow record batches of the frame table.
///
/// ```
/// use proto::telemetry::v1::TelemetryFrame;
/// use table::{FrameBuilder, Variant};
///
/// let mut builder = FrameBuilder::new(Variant::Frames);
/// let frames: Vec<TelemetryFrame> =
///     (0..10).map(|seq| TelemetryFrame { seq, speed_kmh: 100.0, ..Default::default() }).collect();
/// builder.append(&frames)?;
/// let batch = builder.finish()?;
/// assert_eq!(batch.num_rows(), 10);
/// assert_eq!(batch.num_columns(), builder.schema().columns().len());
/// # Ok::<(), table::TableError>(())
/// ```
pub struct FrameBuilder {
    schema: FrameSchema,
    /// One per field of [`FIELDS`], in order.
    buffers: Vec<Box<dyn Buffer>>,
    derived: Option<DerivedBufs>,
    rows: usize,
}

impl std::fmt::Debug for FrameBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FrameBuilder")
            .field("variant", &self.schema.variant())
            .field("rows", &self.rows)
            .finish_non_exhaustive()
    }
}

impl FrameBuilder {
    /// An empty builder for `variant`.
    pub fn new(variant: Variant) -> Self {
        let schema = FrameSchema::new(variant);
        let buffers = FIELDS.iter().map(|f| f.codec.buffer()).collect();
        let derived = variant.has_derived().then(|| DerivedBufs::with_capacity(0));
        FrameBuilder { schema, buffers, derived, rows: 0 }
    }

    /// The schema of the batches this builder makes.
    pub fn schema(&self) -> &FrameSchema {
        &self.schema
    }

    /// Rows appended since the last [`FrameBuilder::finish`].
    pub fn len(&self) -> usize {
        self.rows
    }

    /// Whether no rows were appended since the last [`FrameBuilder::finish`].
    pub fn is_empty(&self) -> bool {
        self.rows == 0
    }

    /// Appends one row per frame. For [`Variant::FramesWithDerived`] use
    /// [`FrameBuilder::append_with_derived`].
    pub fn append(&mut self, frames: &[TelemetryFrame]) -> Result<(), TableError> {
        if self.derived.is_some() {
            return Err(TableError::DerivedMismatch { frames: frames.len(), derived: 0 });
        }
        self.append_frames(frames);
        Ok(())
    }

    /// Appends one row per frame with its derived values (`derived[i]` goes with `frames[i]`).
    pub fn append_with_derived(
        &mut self,
        frames: &[TelemetryFrame],
        derived: &[Derived],
    ) -> Result<(), TableError> {
        let Some(d) = self.derived.as_mut() else {
            return Err(TableError::NoDerivedColumns);
        };
        if frames.len() != derived.len() {
            return Err(TableError::DerivedMismatch { frames: frames.len(), derived: derived.len() });
        }
        d.extend(derived);
        self.append_frames(frames);
        Ok(())
    }

    fn append_frames(&mut self, frames: &[TelemetryFrame]) {
        for chunk in frames.chunks(CHUNK) {
            for buffer in &mut self.buffers {
                buffer.extend(chunk);
            }
        }
        self.rows += frames.len();
    }

    /// The rows appended since the last call, as a record batch; the builder is then empty (and
    /// keeps its capacity).
    pub fn finish(&mut self) -> Result<RecordBatch, TableError> {
        let rows = std::mem::take(&mut self.rows);
        let mut arrays: Vec<ArrayRef> = Vec::with_capacity(self.schema.columns().len());
        for buffer in &mut self.buffers {
            buffer.finish(rows, &mut arrays)?;
        }
        if let Some(d) = self.derived.as_mut() {
            d.finish(rows, &mut arrays);
        }
        Ok(RecordBatch::try_new(Arc::clone(self.schema.arrow()), arrays)?)
    }
}

/// Buffers of the derived columns.
struct DerivedBufs {
    lap: Vec<u32>,
    lap_time_ms: Vec<i64>,
    lap_distance_m: Vec<f32>,
    session_time_s: Vec<f64>,
}

impl std::fmt::Debug for DerivedBufs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DerivedBufs")
    }
}

impl DerivedBufs {
    fn with_capacity(cap: usize) -> Self {
        DerivedBufs {
            lap: Vec::with_capacity(cap),
            lap_time_ms: Vec::with_capacity(cap),
            lap_distance_m: Vec::with_capacity(cap),
            session_time_s: Vec::with_capacity(cap),
        }
    }

    fn extend(&mut self, derived: &[Derived]) {
        for d in derived {
            self.lap.push(d.lap);
            self.lap_time_ms.push(d.lap_time_ms);
            self.lap_distance_m.push(d.lap_distance_m);
            self.session_time_s.push(d.session_time_s);
        }
    }

    fn finish(&mut self, rows: usize, out: &mut Vec<ArrayRef>) {
        let d = std::mem::replace(self, DerivedBufs::with_capacity(rows));
        out.push(Arc::new(UInt32Array::new(ScalarBuffer::from(d.lap), None)));
        out.push(Arc::new(Int64Array::new(ScalarBuffer::from(d.lap_time_ms), None)));
        out.push(Arc::new(Float32Array::new(ScalarBuffer::from(d.lap_distance_m), None)));
        out.push(Arc::new(Float64Array::new(ScalarBuffer::from(d.session_time_s), None)));
    }
}
