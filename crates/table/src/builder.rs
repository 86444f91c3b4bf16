//! [`FrameBuilder`]: appends frames into typed column buffers and hands them out as Arrow
//! record batches.
//!
//! It fills columns column by column over small chunks of frames: for each column the getter is
//! chosen once per chunk and the inner loop only reads one field of each frame and pushes it,
//! while the chunk of frames stays in the CPU cache. Buffers are plain `Vec`s moved into the
//! Arrow arrays without a copy; validity bitmaps are only materialised when a null appears.
//! Dictionary columns remember the previous row's value, so a batch of one session (the usual
//! case) costs one comparison per row.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_array::types::{Int8Type, Int32Type};
use arrow_array::{
    ArrayRef, BooleanArray, DictionaryArray, Float32Array, Float64Array, Int8Array, Int32Array, Int64Array,
    RecordBatch, StringArray, UInt32Array, UInt64Array,
};
use arrow_buffer::{BooleanBufferBuilder, NullBuffer, NullBufferBuilder, ScalarBuffer};
use proto::telemetry::v1::{TelemetryFrame, Vec3, Wheels};

use crate::error::TableError;
use crate::fields::{Enum, FIELDS, Get, Kind};
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
#[derive(Debug)]
pub struct FrameBuilder {
    schema: FrameSchema,
    bufs: Vec<Buf>,
    derived: Option<DerivedBufs>,
    rows: usize,
}

impl FrameBuilder {
    /// An empty builder for `variant`.
    pub fn new(variant: Variant) -> Self {
        let schema = FrameSchema::new(variant);
        let bufs = FIELDS.iter().map(|f| Buf::new(f.kind, 0)).collect();
        let derived = variant.has_derived().then(|| DerivedBufs::with_capacity(0));
        FrameBuilder { schema, bufs, derived, rows: 0 }
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
            for buf in &mut self.bufs {
                buf.extend(chunk);
            }
        }
        self.rows += frames.len();
    }

    /// The rows appended since the last call, as a record batch; the builder is then empty (and
    /// keeps its capacity).
    pub fn finish(&mut self) -> Result<RecordBatch, TableError> {
        let rows = std::mem::take(&mut self.rows);
        let mut arrays: Vec<ArrayRef> = Vec::with_capacity(self.schema.columns().len());
        for buf in &mut self.bufs {
            buf.finish(rows, &mut arrays)?;
        }
        if let Some(d) = self.derived.as_mut() {
            d.finish(rows, &mut arrays);
        }
        Ok(RecordBatch::try_new(Arc::clone(self.schema.arrow()), arrays)?)
    }
}

/// The session id as text: UUID form for 16 bytes, plain hex otherwise (never a valid frame, but
/// a converter reading an odd recording must not fail on it).
pub fn session_id_text(bytes: &[u8]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(36);
    for (i, b) in bytes.iter().enumerate() {
        if bytes.len() == 16 && matches!(i, 4 | 6 | 8 | 10) {
            s.push('-');
        }
        s.push(HEX[usize::from(b >> 4)] as char);
        s.push(HEX[usize::from(b & 0xf)] as char);
    }
    s
}

type StrGet = for<'a> fn(&'a TelemetryFrame) -> &'a str;

/// One proto field's buffers.
enum Buf {
    F32(Get<f32>, Vec<f32>),
    I32(Get<i32>, Vec<i32>),
    U32(Get<u32>, Vec<u32>),
    I64(Get<i64>, Vec<i64>),
    U64(Get<u64>, Vec<u64>),
    Bool(Get<bool>, BooleanBufferBuilder),
    Enum(Get<i32>, EnumDict),
    Str(StrGet, StrDict),
    Session(StrDict),
    Wheels(for<'a> fn(&'a TelemetryFrame) -> Option<&'a Wheels>, Group<4>),
    Vec3(for<'a> fn(&'a TelemetryFrame) -> Option<&'a Vec3>, Group<3>),
    Vec3PerWheel(for<'a> fn(&'a TelemetryFrame) -> &'a [Vec3], Slots),
    Floats(for<'a> fn(&'a TelemetryFrame) -> &'a [f32], Slots),
}

impl std::fmt::Debug for Buf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Buf")
    }
}

impl Buf {
    fn new(kind: Kind, cap: usize) -> Buf {
        match kind {
            Kind::F32(g) => Buf::F32(g, Vec::with_capacity(cap)),
            Kind::I32(g) => Buf::I32(g, Vec::with_capacity(cap)),
            Kind::U32(g) => Buf::U32(g, Vec::with_capacity(cap)),
            Kind::I64(g) => Buf::I64(g, Vec::with_capacity(cap)),
            Kind::U64(g) => Buf::U64(g, Vec::with_capacity(cap)),
            Kind::Bool(g) => Buf::Bool(g, BooleanBufferBuilder::new(cap)),
            Kind::Enum(g, e) => Buf::Enum(g, EnumDict::new(e, cap)),
            Kind::Str(g) => Buf::Str(g, StrDict::with_capacity(cap)),
            Kind::SessionId => Buf::Session(StrDict::with_capacity(cap)),
            Kind::Wheels(g) => Buf::Wheels(g, Group::with_capacity(cap)),
            Kind::Vec3(g) => Buf::Vec3(g, Group::with_capacity(cap)),
            Kind::Vec3PerWheel(g) => Buf::Vec3PerWheel(g, Slots::with_capacity(12, cap)),
            Kind::Slots(g, names) => Buf::Floats(g, Slots::with_capacity(names.len(), cap)),
        }
    }

    fn extend(&mut self, frames: &[TelemetryFrame]) {
        match self {
            Buf::F32(g, v) => v.extend(frames.iter().map(*g)),
            Buf::I32(g, v) => v.extend(frames.iter().map(*g)),
            Buf::U32(g, v) => v.extend(frames.iter().map(*g)),
            Buf::I64(g, v) => v.extend(frames.iter().map(*g)),
            Buf::U64(g, v) => v.extend(frames.iter().map(*g)),
            Buf::Bool(g, b) => {
                for f in frames {
                    b.append(g(f));
                }
            }
            Buf::Enum(g, d) => {
                for f in frames {
                    d.push(g(f));
                }
            }
            Buf::Str(g, d) => {
                for f in frames {
                    d.push_str(g(f));
                }
            }
            Buf::Session(d) => {
                for f in frames {
                    d.push_session(&f.session_id);
                }
            }
            Buf::Wheels(g, grp) => {
                for f in frames {
                    grp.push(g(f).map(|w| [w.fl, w.fr, w.rl, w.rr]));
                }
            }
            Buf::Vec3(g, grp) => {
                for f in frames {
                    grp.push(g(f).map(|v| [v.x, v.y, v.z]));
                }
            }
            Buf::Vec3PerWheel(g, s) => {
                for f in frames {
                    let points = g(f);
                    for wheel in 0..4 {
                        match points.get(wheel) {
                            Some(p) => {
                                s.push(wheel * 3, Some(p.x));
                                s.push(wheel * 3 + 1, Some(p.y));
                                s.push(wheel * 3 + 2, Some(p.z));
                            }
                            None => {
                                for axis in 0..3 {
                                    s.push(wheel * 3 + axis, None);
                                }
                            }
                        }
                    }
                }
            }
            Buf::Floats(g, s) => {
                for f in frames {
                    let values = g(f);
                    for slot in 0..s.cols.len() {
                        s.push(slot, values.get(slot).copied());
                    }
                }
            }
        }
    }

    fn finish(&mut self, rows: usize, out: &mut Vec<ArrayRef>) -> Result<(), TableError> {
        fn take<T>(v: &mut Vec<T>, rows: usize) -> Vec<T> {
            std::mem::replace(v, Vec::with_capacity(rows))
        }
        match self {
            Buf::F32(_, v) => out.push(Arc::new(Float32Array::new(ScalarBuffer::from(take(v, rows)), None))),
            Buf::I32(_, v) => out.push(Arc::new(Int32Array::new(ScalarBuffer::from(take(v, rows)), None))),
            Buf::U32(_, v) => out.push(Arc::new(UInt32Array::new(ScalarBuffer::from(take(v, rows)), None))),
            Buf::I64(_, v) => out.push(Arc::new(Int64Array::new(ScalarBuffer::from(take(v, rows)), None))),
            Buf::U64(_, v) => out.push(Arc::new(UInt64Array::new(ScalarBuffer::from(take(v, rows)), None))),
            Buf::Bool(_, b) => out.push(Arc::new(BooleanArray::new(b.finish(), None))),
            Buf::Enum(_, d) => out.push(d.finish(rows)?),
            Buf::Str(_, d) | Buf::Session(d) => out.push(d.finish(rows)?),
            Buf::Wheels(_, g) => g.finish(rows, out),
            Buf::Vec3(_, g) => g.finish(rows, out),
            Buf::Vec3PerWheel(_, s) | Buf::Floats(_, s) => s.finish(rows, out),
        }
        Ok(())
    }
}

/// `N` float columns that are null together (the parts of one optional message).
struct Group<const N: usize> {
    cols: [Vec<f32>; N],
    valid: NullBufferBuilder,
}

impl<const N: usize> Group<N> {
    fn with_capacity(cap: usize) -> Self {
        Group { cols: std::array::from_fn(|_| Vec::with_capacity(cap)), valid: NullBufferBuilder::new(cap) }
    }

    #[inline]
    fn push(&mut self, values: Option<[f32; N]>) {
        match values {
            Some(vs) => {
                for (c, v) in self.cols.iter_mut().zip(vs) {
                    c.push(v);
                }
                self.valid.append_non_null();
            }
            None => {
                for c in &mut self.cols {
                    c.push(0.0);
                }
                self.valid.append_null();
            }
        }
    }

    fn finish(&mut self, rows: usize, out: &mut Vec<ArrayRef>) {
        let nulls: Option<NullBuffer> = self.valid.finish();
        for c in &mut self.cols {
            let values = std::mem::replace(c, Vec::with_capacity(rows));
            out.push(Arc::new(Float32Array::new(ScalarBuffer::from(values), nulls.clone())));
        }
    }
}

/// Float columns each with its own validity (slots of a repeated field).
struct Slots {
    cols: Vec<Vec<f32>>,
    valid: Vec<NullBufferBuilder>,
}

impl Slots {
    fn with_capacity(n: usize, cap: usize) -> Self {
        Slots {
            cols: (0..n).map(|_| Vec::with_capacity(cap)).collect(),
            valid: (0..n).map(|_| NullBufferBuilder::new(cap)).collect(),
        }
    }

    #[inline]
    fn push(&mut self, col: usize, value: Option<f32>) {
        if let (Some(c), Some(v)) = (self.cols.get_mut(col), self.valid.get_mut(col)) {
            c.push(value.unwrap_or(0.0));
            match value {
                Some(_) => v.append_non_null(),
                None => v.append_null(),
            }
        }
    }

    fn finish(&mut self, rows: usize, out: &mut Vec<ArrayRef>) {
        for (c, v) in self.cols.iter_mut().zip(&mut self.valid) {
            let values = std::mem::replace(c, Vec::with_capacity(rows));
            out.push(Arc::new(Float32Array::new(ScalarBuffer::from(values), v.finish())));
        }
    }
}

/// Most distinct unknown enum values named in one batch; any further ones share one name.
const MAX_UNKNOWN: usize = 64;

/// An enum column: one-byte keys into the value names (all known names, in value order, then
/// the unknown values met in this batch).
struct EnumDict {
    e: Enum,
    keys: Vec<i8>,
    unknown: Vec<Option<i32>>,
}

impl EnumDict {
    fn new(e: Enum, cap: usize) -> Self {
        EnumDict { e, keys: Vec::with_capacity(cap), unknown: Vec::new() }
    }

    #[inline]
    fn push(&mut self, value: i32) {
        let known = self.e.names.len();
        let key = match usize::try_from(value) {
            Ok(v) if v < known => v,
            _ => {
                let slot = Some(value);
                let i = match self.unknown.iter().position(|u| *u == slot) {
                    Some(i) => i,
                    None if self.unknown.len() < MAX_UNKNOWN => {
                        self.unknown.push(slot);
                        self.unknown.len() - 1
                    }
                    None => match self.unknown.iter().position(Option::is_none) {
                        Some(i) => i,
                        None => {
                            self.unknown.push(None);
                            self.unknown.len() - 1
                        }
                    },
                };
                known + i
            }
        };
        // known + MAX_UNKNOWN + 1 < 128: the key fits.
        self.keys.push(key as i8);
    }

    fn finish(&mut self, rows: usize) -> Result<ArrayRef, TableError> {
        let keys = std::mem::replace(&mut self.keys, Vec::with_capacity(rows));
        let mut names: Vec<String> = self.e.names.iter().map(|n| (*n).to_owned()).collect();
        for u in self.unknown.drain(..) {
            names.push(match u {
                Some(v) => self.e.name(v).into_owned(),
                None => "value_other".to_owned(),
            });
        }
        let dict = DictionaryArray::<Int8Type>::try_new(
            Int8Array::new(ScalarBuffer::from(keys), None),
            Arc::new(StringArray::from_iter_values(names)),
        )?;
        Ok(Arc::new(dict))
    }
}

/// A string column: keys into the distinct values of this batch. The previous row's key is
/// tried first.
struct StrDict {
    keys: Vec<i32>,
    values: Vec<String>,
    index: HashMap<String, i32>,
    /// Raw bytes and key of the previous row's value (session ids are compared as bytes, before
    /// formatting).
    last_raw: Vec<u8>,
    last: i32,
}

impl StrDict {
    fn with_capacity(cap: usize) -> Self {
        StrDict {
            keys: Vec::with_capacity(cap),
            values: Vec::new(),
            index: HashMap::new(),
            last_raw: Vec::new(),
            last: -1,
        }
    }

    #[inline]
    fn push_str(&mut self, s: &str) {
        if self.last >= 0 && self.last_raw == s.as_bytes() {
            self.keys.push(self.last);
            return;
        }
        let key = self.intern(s);
        self.last_raw.clear();
        self.last_raw.extend_from_slice(s.as_bytes());
        self.last = key;
        self.keys.push(key);
    }

    #[inline]
    fn push_session(&mut self, id: &[u8]) {
        if self.last >= 0 && self.last_raw == id {
            self.keys.push(self.last);
            return;
        }
        let key = self.intern(&session_id_text(id));
        self.last_raw.clear();
        self.last_raw.extend_from_slice(id);
        self.last = key;
        self.keys.push(key);
    }

    fn intern(&mut self, s: &str) -> i32 {
        if let Some(k) = self.index.get(s) {
            return *k;
        }
        // A batch never holds 2^31 rows, so never as many distinct values.
        let k = self.values.len() as i32;
        self.values.push(s.to_owned());
        self.index.insert(s.to_owned(), k);
        k
    }

    fn finish(&mut self, rows: usize) -> Result<ArrayRef, TableError> {
        let keys = std::mem::replace(&mut self.keys, Vec::with_capacity(rows));
        let values = StringArray::from_iter_values(self.values.drain(..));
        self.index.clear();
        self.last = -1;
        let dict = DictionaryArray::<Int32Type>::try_new(
            Int32Array::new(ScalarBuffer::from(keys), None),
            Arc::new(values),
        )?;
        Ok(Arc::new(dict))
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
