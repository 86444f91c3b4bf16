//! How each kind of field becomes columns and comes back. Per kind there is a buffer, which
//! appends the field of each frame to the field's columns (frames → columns, for
//! [`FrameBuilder`](crate::FrameBuilder)), and a filler, which sets the field of each frame
//! from its columns (columns → frames, for [`FrameReader`](crate::FrameReader)).
//!
//! Both are generic over the field's getter and setter, the closures `|f| &f.name` and
//! `|f| &mut f.name` that the table in [`fields`](crate::fields) writes for each field. Every
//! field thus gets its own compiled loops with the field access inlined: building or reading a
//! chunk of rows costs one dynamic call per field, and none per value. (A table of function
//! pointers would cost an indirect call per value: about 190 per row.)
//!
//! The conventions are the table's (see the crate's docs): an optional message is a group of
//! columns null together; a repeated field is one group per slot, kept up to the first null
//! one; enums are their names, the session id its UUID text.

use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::Arc;

use arrow_array::cast::AsArray;
use arrow_array::types::{Float32Type, Int8Type, Int32Type};
use arrow_array::{
    Array, ArrayRef, ArrowPrimitiveType, BooleanArray, DictionaryArray, Float32Array, Int8Array, Int32Array,
    PrimitiveArray, StringArray,
};
use arrow_buffer::{BooleanBufferBuilder, NullBuffer, NullBufferBuilder, ScalarBuffer};
use arrow_schema::ArrowError;
use bytes::Bytes;
use proto::telemetry::v1::{TelemetryFrame, Vec3, Wheels};

use crate::fields::Enum;
use crate::read::TextColumn;
use crate::session::{parse_session_id, session_id_text};

/// One field's way into columns and back.
pub(crate) trait FieldCodec: Sync {
    /// Empty buffers for the field's columns.
    fn buffer(&self) -> Box<dyn Buffer>;

    /// A filler of the field from `columns`, its columns in one batch, in schema order (`None`
    /// where the batch lacks one). A column of another type than the table's counts as lacking
    /// (the reader checks the types before).
    fn filler<'a>(&self, columns: &[Option<&'a ArrayRef>]) -> Box<dyn Filler + 'a>;
}

/// A field's column buffers (frames → columns).
pub(crate) trait Buffer: Send + Sync {
    /// Appends the field of each frame.
    fn extend(&mut self, frames: &[TelemetryFrame]);

    /// Moves the `rows` values appended since the last call into arrays, pushed onto `out` in
    /// schema order. The buffers are then empty, with room for `rows` again.
    fn finish(&mut self, rows: usize, out: &mut Vec<ArrayRef>) -> Result<(), ArrowError>;
}

/// Sets a field from its columns (columns → frames).
pub(crate) trait Filler {
    /// Sets the field of `frames[i]` from row `first + i` of the batch. A null scalar leaves
    /// the field as it is.
    fn fill(&mut self, first: usize, frames: &mut [TelemetryFrame]) -> Result<(), BadValue>;
}

/// A value that cannot become its field.
#[derive(Debug)]
pub(crate) struct BadValue {
    /// Row within the batch.
    pub row: usize,
    /// What is wrong.
    pub problem: String,
}

/// A generated getter, `|f| &f.name`.
pub(crate) trait Get<T>: Fn(&TelemetryFrame) -> &T + Copy + Send + Sync + 'static {}
impl<T, F: Fn(&TelemetryFrame) -> &T + Copy + Send + Sync + 'static> Get<T> for F {}

/// A generated setter, `|f| &mut f.name`.
pub(crate) trait Set<T>: Fn(&mut TelemetryFrame) -> &mut T + Copy + Sync + 'static {}
impl<T, F: Fn(&mut TelemetryFrame) -> &mut T + Copy + Sync + 'static> Set<T> for F {}

/// The first of a field's columns (the only one of a scalar field).
fn first<'a>(columns: &[Option<&'a ArrayRef>]) -> Option<&'a ArrayRef> {
    columns.first().copied().flatten()
}

/// Column `i` of a field as floats.
fn floats<'a>(columns: &[Option<&'a ArrayRef>], i: usize) -> Option<&'a Float32Array> {
    columns.get(i).copied().flatten().and_then(|a| a.as_primitive_opt::<Float32Type>())
}

/// Empties `v`, leaving room for `rows`, and returns what it held.
fn take<T>(v: &mut Vec<T>, rows: usize) -> Vec<T> {
    std::mem::replace(v, Vec::with_capacity(rows))
}

// ── scalars

/// A scalar field: one column of Arrow type `A`, never null.
pub(crate) struct Prim<A, G, M> {
    get: G,
    set: M,
    arrow: PhantomData<fn() -> A>,
}

impl<A: ArrowPrimitiveType, G, M> Prim<A, G, M> {
    pub(crate) const fn new(get: G, set: M) -> Self
    where
        G: Fn(&TelemetryFrame) -> &A::Native,
        M: Fn(&mut TelemetryFrame) -> &mut A::Native,
    {
        Prim { get, set, arrow: PhantomData }
    }
}

impl<A: ArrowPrimitiveType, G: Get<A::Native>, M: Set<A::Native>> FieldCodec for Prim<A, G, M> {
    fn buffer(&self) -> Box<dyn Buffer> {
        Box::new(PrimBuffer::<A, G> { get: self.get, values: Vec::new() })
    }

    fn filler<'a>(&self, columns: &[Option<&'a ArrayRef>]) -> Box<dyn Filler + 'a> {
        Box::new(PrimFiller { column: first(columns).and_then(|a| a.as_primitive_opt::<A>()), set: self.set })
    }
}

struct PrimBuffer<A: ArrowPrimitiveType, G> {
    get: G,
    values: Vec<A::Native>,
}

impl<A: ArrowPrimitiveType, G: Get<A::Native>> Buffer for PrimBuffer<A, G> {
    fn extend(&mut self, frames: &[TelemetryFrame]) {
        self.values.extend(frames.iter().map(|f| *(self.get)(f)));
    }

    fn finish(&mut self, rows: usize, out: &mut Vec<ArrayRef>) -> Result<(), ArrowError> {
        let values = ScalarBuffer::from(take(&mut self.values, rows));
        out.push(Arc::new(PrimitiveArray::<A>::try_new(values, None)?));
        Ok(())
    }
}

struct PrimFiller<'a, A: ArrowPrimitiveType, M> {
    column: Option<&'a PrimitiveArray<A>>,
    set: M,
}

impl<A: ArrowPrimitiveType, M: Set<A::Native>> Filler for PrimFiller<'_, A, M> {
    fn fill(&mut self, first: usize, frames: &mut [TelemetryFrame]) -> Result<(), BadValue> {
        let Some(a) = self.column else { return Ok(()) };
        let Some(values) = a.values().get(first..first + frames.len()) else { return Ok(()) };
        match a.nulls() {
            None => {
                for (f, v) in frames.iter_mut().zip(values) {
                    *(self.set)(f) = *v;
                }
            }
            Some(nulls) => {
                for (i, (f, v)) in frames.iter_mut().zip(values).enumerate() {
                    if nulls.is_valid(first + i) {
                        *(self.set)(f) = *v;
                    }
                }
            }
        }
        Ok(())
    }
}

/// A `bool` field: one `Boolean` column, never null (a null reads as `false`).
pub(crate) struct Bool<G, M> {
    get: G,
    set: M,
}

impl<G, M> Bool<G, M> {
    pub(crate) const fn new(get: G, set: M) -> Self
    where
        G: Fn(&TelemetryFrame) -> &bool,
        M: Fn(&mut TelemetryFrame) -> &mut bool,
    {
        Bool { get, set }
    }
}

impl<G: Get<bool>, M: Set<bool>> FieldCodec for Bool<G, M> {
    fn buffer(&self) -> Box<dyn Buffer> {
        Box::new(BoolBuffer { get: self.get, values: BooleanBufferBuilder::new(0) })
    }

    fn filler<'a>(&self, columns: &[Option<&'a ArrayRef>]) -> Box<dyn Filler + 'a> {
        Box::new(BoolFiller { column: first(columns).and_then(|a| a.as_boolean_opt()), set: self.set })
    }
}

struct BoolBuffer<G> {
    get: G,
    values: BooleanBufferBuilder,
}

impl<G: Get<bool>> Buffer for BoolBuffer<G> {
    fn extend(&mut self, frames: &[TelemetryFrame]) {
        for f in frames {
            self.values.append(*(self.get)(f));
        }
    }

    fn finish(&mut self, _rows: usize, out: &mut Vec<ArrayRef>) -> Result<(), ArrowError> {
        out.push(Arc::new(BooleanArray::new(self.values.finish(), None)));
        Ok(())
    }
}

struct BoolFiller<'a, M> {
    column: Option<&'a BooleanArray>,
    set: M,
}

impl<M: Set<bool>> Filler for BoolFiller<'_, M> {
    fn fill(&mut self, first: usize, frames: &mut [TelemetryFrame]) -> Result<(), BadValue> {
        let Some(a) = self.column else { return Ok(()) };
        if first + frames.len() > a.len() {
            return Ok(());
        }
        for (i, f) in frames.iter_mut().enumerate() {
            *(self.set)(f) = a.is_valid(first + i) && a.value(first + i);
        }
        Ok(())
    }
}

// ── enums and text

/// An enum field: one dictionary column of the value's name ([`Enum`]).
pub(crate) struct Enumerated<G, M> {
    get: G,
    set: M,
    names: Enum,
}

impl<G, M> Enumerated<G, M> {
    pub(crate) const fn new(get: G, set: M, names: Enum) -> Self
    where
        G: Fn(&TelemetryFrame) -> &i32,
        M: Fn(&mut TelemetryFrame) -> &mut i32,
    {
        Enumerated { get, set, names }
    }
}

impl<G: Get<i32>, M: Set<i32>> FieldCodec for Enumerated<G, M> {
    fn buffer(&self) -> Box<dyn Buffer> {
        Box::new(EnumBuffer { get: self.get, dict: EnumDict::new(self.names) })
    }

    fn filler<'a>(&self, columns: &[Option<&'a ArrayRef>]) -> Box<dyn Filler + 'a> {
        let text = first(columns).and_then(|a| TextColumn::of(a.as_ref()));
        Box::new(EnumFiller { text, names: self.names, set: self.set, last: None })
    }
}

struct EnumBuffer<G> {
    get: G,
    dict: EnumDict,
}

impl<G: Get<i32>> Buffer for EnumBuffer<G> {
    fn extend(&mut self, frames: &[TelemetryFrame]) {
        for f in frames {
            self.dict.push(*(self.get)(f));
        }
    }

    fn finish(&mut self, rows: usize, out: &mut Vec<ArrayRef>) -> Result<(), ArrowError> {
        out.push(self.dict.finish(rows)?);
        Ok(())
    }
}

struct EnumFiller<'a, M> {
    text: Option<TextColumn<'a>>,
    names: Enum,
    set: M,
    /// The previous row's name and value: an enum column rarely changes from row to row.
    last: Option<(&'a str, i32)>,
}

impl<M: Set<i32>> Filler for EnumFiller<'_, M> {
    fn fill(&mut self, first: usize, frames: &mut [TelemetryFrame]) -> Result<(), BadValue> {
        let Some(text) = self.text else { return Ok(()) };
        for (i, f) in frames.iter_mut().enumerate() {
            let Some(name) = text.get(first + i) else { continue };
            let value = match self.last {
                Some((last, value)) if last == name => value,
                _ => {
                    let value = self.names.value(name).ok_or_else(|| BadValue {
                        row: first + i,
                        problem: format!("`{name}` is not a {} name", self.names.proto_name),
                    })?;
                    self.last = Some((name, value));
                    value
                }
            };
            *(self.set)(f) = value;
        }
        Ok(())
    }
}

/// A `string` field: one dictionary column (a null reads as the empty string).
pub(crate) struct Text<G, M> {
    get: G,
    set: M,
}

impl<G, M> Text<G, M> {
    pub(crate) const fn new(get: G, set: M) -> Self
    where
        G: Fn(&TelemetryFrame) -> &String,
        M: Fn(&mut TelemetryFrame) -> &mut String,
    {
        Text { get, set }
    }
}

impl<G: Get<String>, M: Set<String>> FieldCodec for Text<G, M> {
    fn buffer(&self) -> Box<dyn Buffer> {
        Box::new(TextBuffer { get: self.get, dict: StrDict::default() })
    }

    fn filler<'a>(&self, columns: &[Option<&'a ArrayRef>]) -> Box<dyn Filler + 'a> {
        Box::new(TextFiller { text: first(columns).and_then(|a| TextColumn::of(a.as_ref())), set: self.set })
    }
}

struct TextBuffer<G> {
    get: G,
    dict: StrDict,
}

impl<G: Get<String>> Buffer for TextBuffer<G> {
    fn extend(&mut self, frames: &[TelemetryFrame]) {
        for f in frames {
            self.dict.push_str((self.get)(f));
        }
    }

    fn finish(&mut self, rows: usize, out: &mut Vec<ArrayRef>) -> Result<(), ArrowError> {
        out.push(self.dict.finish(rows)?);
        Ok(())
    }
}

struct TextFiller<'a, M> {
    text: Option<TextColumn<'a>>,
    set: M,
}

impl<M: Set<String>> Filler for TextFiller<'_, M> {
    fn fill(&mut self, first: usize, frames: &mut [TelemetryFrame]) -> Result<(), BadValue> {
        let Some(text) = self.text else { return Ok(()) };
        for (i, f) in frames.iter_mut().enumerate() {
            let s = (self.set)(f);
            s.clear();
            s.push_str(text.get(first + i).unwrap_or(""));
        }
        Ok(())
    }
}

/// The session id: one dictionary column of its UUID text ([`session_id_text`]).
pub(crate) struct SessionId<G, M> {
    get: G,
    set: M,
}

impl<G, M> SessionId<G, M> {
    pub(crate) const fn new(get: G, set: M) -> Self
    where
        G: Fn(&TelemetryFrame) -> &Bytes,
        M: Fn(&mut TelemetryFrame) -> &mut Bytes,
    {
        SessionId { get, set }
    }
}

impl<G: Get<Bytes>, M: Set<Bytes>> FieldCodec for SessionId<G, M> {
    fn buffer(&self) -> Box<dyn Buffer> {
        Box::new(SessionIdBuffer { get: self.get, dict: StrDict::default() })
    }

    fn filler<'a>(&self, columns: &[Option<&'a ArrayRef>]) -> Box<dyn Filler + 'a> {
        let text = first(columns).and_then(|a| TextColumn::of(a.as_ref()));
        Box::new(SessionIdFiller { text, set: self.set, last: None })
    }
}

struct SessionIdBuffer<G> {
    get: G,
    dict: StrDict,
}

impl<G: Get<Bytes>> Buffer for SessionIdBuffer<G> {
    fn extend(&mut self, frames: &[TelemetryFrame]) {
        for f in frames {
            self.dict.push_session((self.get)(f));
        }
    }

    fn finish(&mut self, rows: usize, out: &mut Vec<ArrayRef>) -> Result<(), ArrowError> {
        out.push(self.dict.finish(rows)?);
        Ok(())
    }
}

struct SessionIdFiller<'a, M> {
    text: Option<TextColumn<'a>>,
    set: M,
    /// The previous row's text and id: a batch is usually one session, parsed once.
    last: Option<(&'a str, Bytes)>,
}

impl<M: Set<Bytes>> Filler for SessionIdFiller<'_, M> {
    fn fill(&mut self, first: usize, frames: &mut [TelemetryFrame]) -> Result<(), BadValue> {
        let Some(text) = self.text else { return Ok(()) };
        for (i, f) in frames.iter_mut().enumerate() {
            let s = text.get(first + i).unwrap_or("");
            let id = match &self.last {
                Some((last, id)) if *last == s => id.clone(),
                _ => {
                    let id = parse_session_id(s).ok_or_else(|| BadValue {
                        row: first + i,
                        problem: format!("`{s}` is not a session id (UUID or hex)"),
                    })?;
                    self.last = Some((s, id.clone()));
                    id
                }
            };
            *(self.set)(f) = id;
        }
        Ok(())
    }
}

// ── messages and repeated fields

/// A message stored as `N` float columns.
pub(crate) trait Parts<const N: usize>: Copy + Send + Sync + 'static {
    /// The values, in column order.
    fn parts(&self) -> [f32; N];
    /// The message from its values.
    fn from_parts(parts: [f32; N]) -> Self;
}

impl Parts<4> for Wheels {
    fn parts(&self) -> [f32; 4] {
        [self.fl, self.fr, self.rl, self.rr]
    }

    fn from_parts([fl, fr, rl, rr]: [f32; 4]) -> Self {
        Wheels { fl, fr, rl, rr }
    }
}

impl Parts<3> for Vec3 {
    fn parts(&self) -> [f32; 3] {
        [self.x, self.y, self.z]
    }

    fn from_parts([x, y, z]: [f32; 3]) -> Self {
        Vec3 { x, y, z }
    }
}

impl Parts<1> for f32 {
    fn parts(&self) -> [f32; 1] {
        [*self]
    }

    fn from_parts([x]: [f32; 1]) -> Self {
        x
    }
}

/// `N` float columns that are null together: the parts of one optional message, or one slot of
/// a repeated field.
struct Floats<const N: usize> {
    columns: [Vec<f32>; N],
    valid: NullBufferBuilder,
}

impl<const N: usize> Floats<N> {
    fn new() -> Self {
        Floats { columns: std::array::from_fn(|_| Vec::new()), valid: NullBufferBuilder::new(0) }
    }

    #[inline]
    fn push(&mut self, values: Option<[f32; N]>) {
        match values {
            Some(vs) => {
                for (c, v) in self.columns.iter_mut().zip(vs) {
                    c.push(v);
                }
                self.valid.append_non_null();
            }
            None => {
                for c in &mut self.columns {
                    c.push(0.0);
                }
                self.valid.append_null();
            }
        }
    }

    /// Appends `n` valid rows, column `c` taking the values `column(c)` yields (`n` of them).
    #[inline]
    fn extend_valid<I: Iterator<Item = f32>>(&mut self, n: usize, column: impl Fn(usize) -> I) {
        for (c, values) in self.columns.iter_mut().enumerate() {
            values.extend(column(c));
        }
        self.valid.append_n_non_nulls(n);
    }

    fn finish(&mut self, rows: usize, out: &mut Vec<ArrayRef>) -> Result<(), ArrowError> {
        let nulls: Option<NullBuffer> = self.valid.finish();
        for c in &mut self.columns {
            let values = ScalarBuffer::from(take(c, rows));
            out.push(Arc::new(Float32Array::try_new(values, nulls.clone())?));
        }
        Ok(())
    }
}

/// The values of `N` columns null together at `row`; `None` when every column present is null
/// there (or none is present). A null or lacking column among valid ones reads as 0.
#[inline]
fn group<const N: usize>(columns: &[Option<&Float32Array>; N], row: usize) -> Option<[f32; N]> {
    let mut any = false;
    let mut values = [0.0; N];
    for (v, c) in values.iter_mut().zip(columns) {
        if let Some(a) = c {
            if row < a.len() && a.is_valid(row) {
                any = true;
                *v = a.value(row);
            }
        }
    }
    any.then_some(values)
}

/// An optional message (`Wheels`, `Vec3`): `N` float columns, null when the frame lacks it.
pub(crate) struct Group<T, const N: usize, G, M> {
    get: G,
    set: M,
    message: PhantomData<fn() -> T>,
}

impl<T: Parts<N>, const N: usize, G, M> Group<T, N, G, M> {
    pub(crate) const fn new(get: G, set: M) -> Self
    where
        G: Fn(&TelemetryFrame) -> &Option<T>,
        M: Fn(&mut TelemetryFrame) -> &mut Option<T>,
    {
        Group { get, set, message: PhantomData }
    }
}

impl<T: Parts<N>, const N: usize, G: Get<Option<T>>, M: Set<Option<T>>> FieldCodec for Group<T, N, G, M> {
    fn buffer(&self) -> Box<dyn Buffer> {
        Box::new(GroupBuffer::<T, N, G> { get: self.get, floats: Floats::new(), message: PhantomData })
    }

    fn filler<'a>(&self, columns: &[Option<&'a ArrayRef>]) -> Box<dyn Filler + 'a> {
        Box::new(GroupFiller::<T, N, M> {
            columns: std::array::from_fn(|i| floats(columns, i)),
            set: self.set,
            message: PhantomData,
        })
    }
}

struct GroupBuffer<T, const N: usize, G> {
    get: G,
    floats: Floats<N>,
    message: PhantomData<fn() -> T>,
}

impl<T: Parts<N>, const N: usize, G: Get<Option<T>>> Buffer for GroupBuffer<T, N, G> {
    fn extend(&mut self, frames: &[TelemetryFrame]) {
        let get = self.get;
        if frames.iter().all(|f| get(f).is_some()) {
            // The usual case, every frame has the message: column by column, each an extend
            // of known length (one capacity check, no per-value branch on the validity).
            self.floats.extend_valid(frames.len(), |c| {
                frames.iter().map(move |f| get(f).as_ref().map_or(0.0, |m| m.parts()[c]))
            });
        } else {
            for f in frames {
                self.floats.push(get(f).as_ref().map(Parts::parts));
            }
        }
    }

    fn finish(&mut self, rows: usize, out: &mut Vec<ArrayRef>) -> Result<(), ArrowError> {
        self.floats.finish(rows, out)
    }
}

struct GroupFiller<'a, T, const N: usize, M> {
    columns: [Option<&'a Float32Array>; N],
    set: M,
    message: PhantomData<fn() -> T>,
}

impl<T: Parts<N>, const N: usize, M: Set<Option<T>>> Filler for GroupFiller<'_, T, N, M> {
    fn fill(&mut self, first: usize, frames: &mut [TelemetryFrame]) -> Result<(), BadValue> {
        for (i, f) in frames.iter_mut().enumerate() {
            *(self.set)(f) = group(&self.columns, first + i).map(T::from_parts);
        }
        Ok(())
    }
}

/// A repeated field with named slots (contact points per wheel, `car_damage`): `slots` groups
/// of `N` float columns, a slot null when the frame has fewer values. Values past the last slot
/// have no column.
pub(crate) struct Repeated<T, const N: usize, G, M> {
    get: G,
    set: M,
    slots: usize,
    value: PhantomData<fn() -> T>,
}

impl<T: Parts<N>, const N: usize, G, M> Repeated<T, N, G, M> {
    pub(crate) const fn new(get: G, set: M, slots: usize) -> Self
    where
        G: Fn(&TelemetryFrame) -> &Vec<T>,
        M: Fn(&mut TelemetryFrame) -> &mut Vec<T>,
    {
        Repeated { get, set, slots, value: PhantomData }
    }
}

impl<T: Parts<N>, const N: usize, G: Get<Vec<T>>, M: Set<Vec<T>>> FieldCodec for Repeated<T, N, G, M> {
    fn buffer(&self) -> Box<dyn Buffer> {
        Box::new(RepeatedBuffer::<T, N, G> {
            get: self.get,
            slots: (0..self.slots).map(|_| Floats::new()).collect(),
            value: PhantomData,
        })
    }

    fn filler<'a>(&self, columns: &[Option<&'a ArrayRef>]) -> Box<dyn Filler + 'a> {
        let slots = (0..self.slots).map(|s| std::array::from_fn(|i| floats(columns, s * N + i))).collect();
        Box::new(RepeatedFiller::<T, N, M> { slots, set: self.set, value: PhantomData })
    }
}

struct RepeatedBuffer<T, const N: usize, G> {
    get: G,
    slots: Vec<Floats<N>>,
    value: PhantomData<fn() -> T>,
}

impl<T: Parts<N>, const N: usize, G: Get<Vec<T>>> Buffer for RepeatedBuffer<T, N, G> {
    fn extend(&mut self, frames: &[TelemetryFrame]) {
        let get = self.get;
        let slots = self.slots.len();
        if frames.iter().all(|f| get(f).len() >= slots) {
            // The usual case, every frame fills every slot: see `GroupBuffer::extend`.
            for (i, slot) in self.slots.iter_mut().enumerate() {
                slot.extend_valid(frames.len(), |c| {
                    frames.iter().map(move |f| get(f).get(i).map_or(0.0, |v| v.parts()[c]))
                });
            }
        } else {
            for f in frames {
                let values = get(f);
                for (i, slot) in self.slots.iter_mut().enumerate() {
                    slot.push(values.get(i).map(Parts::parts));
                }
            }
        }
    }

    fn finish(&mut self, rows: usize, out: &mut Vec<ArrayRef>) -> Result<(), ArrowError> {
        self.slots.iter_mut().try_for_each(|s| s.finish(rows, out))
    }
}

struct RepeatedFiller<'a, T, const N: usize, M> {
    slots: Vec<[Option<&'a Float32Array>; N]>,
    set: M,
    value: PhantomData<fn() -> T>,
}

impl<T: Parts<N>, const N: usize, M: Set<Vec<T>>> Filler for RepeatedFiller<'_, T, N, M> {
    fn fill(&mut self, first: usize, frames: &mut [TelemetryFrame]) -> Result<(), BadValue> {
        for (i, f) in frames.iter_mut().enumerate() {
            let values = (self.set)(f);
            values.clear();
            for slot in &self.slots {
                match group(slot, first + i) {
                    Some(parts) => values.push(T::from_parts(parts)),
                    None => break,
                }
            }
        }
        Ok(())
    }
}

// ── dictionaries

/// Most distinct unknown enum values named in one batch; any further ones share one name,
/// `value_other` (which does not read back: there is no one value to give it).
const MAX_UNKNOWN: usize = 64;

/// An enum column: one-byte keys into the value names (all known names, in value order, then
/// the unknown values met in this batch).
struct EnumDict {
    names: Enum,
    keys: Vec<i8>,
    unknown: Vec<Option<i32>>,
}

impl EnumDict {
    fn new(names: Enum) -> Self {
        EnumDict { names, keys: Vec::new(), unknown: Vec::new() }
    }

    #[inline]
    fn push(&mut self, value: i32) {
        let known = self.names.names.len();
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

    fn finish(&mut self, rows: usize) -> Result<ArrayRef, ArrowError> {
        let keys = take(&mut self.keys, rows);
        let mut names: Vec<String> = self.names.names.iter().map(|n| (*n).to_owned()).collect();
        for u in self.unknown.drain(..) {
            names.push(match u {
                Some(v) => self.names.name(v).into_owned(),
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
#[derive(Default)]
struct StrDict {
    keys: Vec<i32>,
    values: Vec<String>,
    index: HashMap<String, i32>,
    /// Raw bytes and key of the previous row's value (session ids are compared as bytes, before
    /// formatting); no previous value when `None`.
    last_raw: Vec<u8>,
    last: Option<i32>,
}

impl StrDict {
    #[inline]
    fn push_str(&mut self, s: &str) {
        match self.last {
            Some(key) if self.last_raw == s.as_bytes() => self.keys.push(key),
            _ => {
                let key = self.intern(s);
                self.remember(s.as_bytes(), key);
            }
        }
    }

    #[inline]
    fn push_session(&mut self, id: &[u8]) {
        match self.last {
            Some(key) if self.last_raw == id => self.keys.push(key),
            _ => {
                let key = self.intern(&session_id_text(id));
                self.remember(id, key);
            }
        }
    }

    fn remember(&mut self, raw: &[u8], key: i32) {
        self.last_raw.clear();
        self.last_raw.extend_from_slice(raw);
        self.last = Some(key);
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

    fn finish(&mut self, rows: usize) -> Result<ArrayRef, ArrowError> {
        let keys = take(&mut self.keys, rows);
        let values = StringArray::from_iter_values(self.values.drain(..));
        self.index.clear();
        self.last = None;
        let dict = DictionaryArray::<Int32Type>::try_new(
            Int32Array::new(ScalarBuffer::from(keys), None),
            Arc::new(values),
        )?;
        Ok(Arc::new(dict))
    }
}
