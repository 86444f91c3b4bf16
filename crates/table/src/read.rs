//! Rows of the frame table back into frames: what lets a Parquet dataset written by the ingest
//! server (or a file written by `pitwall convert`) become a MoTeC log, a CSV file or a lap
//! table again.
//!
//! [`FrameReader`] is driven by the same [`FIELDS`] as the builder: each field's setter is
//! generated beside its getter, so a column cannot be written without being read back. The
//! conventions undone are the table's: a group of per-wheel or vector columns that is null is
//! an absent message; per-wheel contact points and `car_damage` slots are kept up to the first
//! null one; enum names (and `value_<n>`) become their numbers; the session id text becomes
//! its bytes ([`parse_session_id`](crate::parse_session_id)). The session's metadata, which is
//! not per row, is read from a file's key-value metadata by
//! [`file_session`](crate::file_session).

use arrow_array::cast::AsArray;
use arrow_array::types::{Int8Type, Int16Type, Int32Type};
use arrow_array::{Array, ArrayRef, PrimitiveArray, RecordBatch, StringArray};
use arrow_buffer::ArrowNativeType;
use arrow_schema::{DataType, Fields, Schema};
use proto::telemetry::v1::TelemetryFrame;

use crate::error::TableError;
use crate::fields::{FIELDS, Field};
use crate::schema::{FrameSchema, Variant};

/// Rows per chunk of the field-by-field fill: small enough that the chunk's frames (about 1.5
/// KB each) stay in the L1/L2 cache while every field walks over them.
const CHUNK: usize = 32;

/// Columns without which rows are not frames.
const REQUIRED: [&str; 2] = ["session_id", "seq"];

/// Turns record batches of the frame table back into frames.
///
/// Columns the rows lack (a file written before a column was added) leave their field as it is
/// (the default, for new frames) and are listed by [`FrameReader::missing`]; `session_id` and
/// `seq` are required. Columns the table does not have, such as the derived ones, are ignored.
///
/// ```
/// use proto::telemetry::v1::{TelemetryFrame, Wheels};
/// use table::{FrameBuilder, FrameReader, Variant};
///
/// let frames = vec![TelemetryFrame {
///     session_id: vec![7; 16].into(),
///     seq: 42,
///     speed_kmh: 201.5,
///     tyre_pressure_psi: Some(Wheels { fl: 27.0, fr: 27.5, rl: 26.0, rr: 26.5 }),
///     ..Default::default()
/// }];
/// let mut builder = FrameBuilder::new(Variant::Frames);
/// builder.append(&frames)?;
/// let batch = builder.finish()?;
///
/// let reader = FrameReader::new(batch.schema().as_ref())?;
/// let mut back = Vec::new();
/// reader.read(&batch, &mut back)?;
/// assert_eq!(back, frames);
/// # Ok::<(), table::TableError>(())
/// ```
#[derive(Debug, Clone)]
pub struct FrameReader {
    /// The columns of the schema the reader was made for, to check each batch against.
    fields: Fields,
    /// The fields to set, those with at least one column in the rows.
    plans: Vec<Plan>,
    missing: Vec<String>,
}

/// One field to set and where its columns are.
#[derive(Debug, Clone)]
struct Plan {
    field: &'static Field,
    /// Index of each of the field's columns in the rows, in the table's order (`None`: lacking).
    columns: Vec<Option<usize>>,
}

impl FrameReader {
    /// A reader of batches with `schema`. Fails if a column has a type the table never writes,
    /// or `session_id` or `seq` is missing.
    pub fn new(schema: &Schema) -> Result<FrameReader, TableError> {
        let table = FrameSchema::new(Variant::Frames);
        let mut columns = table.columns().iter().peekable();
        let mut plans = Vec::with_capacity(FIELDS.len());
        let mut missing = Vec::new();
        for field in FIELDS {
            let mut indices = Vec::new();
            while let Some(c) = columns.next_if(|c| c.proto_field == Some(field.proto)) {
                let index = match schema.index_of(&c.name) {
                    Ok(i) => {
                        check_type(&c.name, schema.field(i).data_type(), &c.data_type)?;
                        Some(i)
                    }
                    Err(_) => {
                        missing.push(c.name.clone());
                        None
                    }
                };
                indices.push(index);
            }
            if indices.iter().any(Option::is_some) {
                plans.push(Plan { field, columns: indices });
            }
        }
        if let Some(column) = REQUIRED.into_iter().find(|r| missing.iter().any(|m| m == r)) {
            return Err(TableError::MissingColumn { column });
        }
        Ok(FrameReader { fields: schema.fields().clone(), plans, missing })
    }

    /// Columns of the table the rows lack (their fields are left as they are).
    pub fn missing(&self) -> &[String] {
        &self.missing
    }

    /// Appends one frame per row of `batch` to `out`.
    pub fn read(&self, batch: &RecordBatch, out: &mut Vec<TelemetryFrame>) -> Result<(), TableError> {
        let start = out.len();
        out.resize_with(start + batch.num_rows(), TelemetryFrame::default);
        let result = self.fill(batch, &mut out[start..]);
        if result.is_err() {
            out.truncate(start);
        }
        result
    }

    /// Sets every field of `frames[i]` that has a column from row `i` of `batch` (up to the
    /// shorter of the two). Fields are assigned, so frames reused from an earlier batch should be
    /// cleared first, or fields the rows lack keep the earlier values.
    pub fn fill(&self, batch: &RecordBatch, frames: &mut [TelemetryFrame]) -> Result<(), TableError> {
        if batch.schema_ref().fields() != &self.fields {
            let theirs = batch.schema_ref().fields();
            let column = (0..self.fields.len().max(theirs.len()))
                .find(|&i| theirs.get(i) != self.fields.get(i))
                .and_then(|i| self.fields.get(i).or(theirs.get(i)))
                .map_or_else(String::new, |f| f.name().clone());
            return Err(TableError::OtherSchema { column });
        }
        let rows = batch.num_rows().min(frames.len());
        let frames = &mut frames[..rows];
        let mut fillers = Vec::with_capacity(self.plans.len());
        let mut columns: Vec<Option<&ArrayRef>> = Vec::new();
        for plan in &self.plans {
            columns.clear();
            columns.extend(plan.columns.iter().map(|i| i.and_then(|i| batch.columns().get(i))));
            fillers.push((plan.field.proto, plan.field.codec.filler(&columns)));
        }
        for (n, chunk) in frames.chunks_mut(CHUNK).enumerate() {
            for (column, filler) in &mut fillers {
                filler.fill(n * CHUNK, chunk).map_err(|e| TableError::BadValue {
                    row: e.row,
                    column: (*column).to_owned(),
                    problem: e.problem,
                })?;
            }
        }
        Ok(())
    }
}

/// Whether a column type of the rows can be read as the table's: text columns may be plain or
/// dictionary-encoded with any signed key up to 32 bits (as other writers may store them); any
/// other column must have the table's type.
fn check_type(column: &str, found: &DataType, expected: &DataType) -> Result<(), TableError> {
    let text = |t: &DataType| {
        matches!(t, DataType::Utf8)
            || matches!(t, DataType::Dictionary(k, v)
            if matches!(**k, DataType::Int8 | DataType::Int16 | DataType::Int32) && **v == DataType::Utf8)
    };
    let ok = if text(expected) { text(found) } else { found == expected };
    if ok {
        Ok(())
    } else {
        Err(TableError::ColumnType {
            column: column.to_owned(),
            found: found.to_string(),
            expected: expected.to_string(),
        })
    }
}

/// A text column of a batch: dictionary-encoded, as the table writes it, or plain `Utf8`, as
/// other writers may.
///
/// ```
/// use arrow_array::{ArrayRef, StringArray};
/// use table::TextColumn;
///
/// let plain: ArrayRef = std::sync::Arc::new(StringArray::from(vec![Some("soft"), None]));
/// let text = TextColumn::of(plain.as_ref()).expect("a text column");
/// assert_eq!((text.get(0), text.get(1), text.get(2)), (Some("soft"), None, None));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct TextColumn<'a> {
    keys: Keys<'a>,
    values: &'a StringArray,
}

/// The keys of a dictionary column, or none for a plain one.
#[derive(Debug, Clone, Copy)]
enum Keys<'a> {
    Plain,
    I8(&'a PrimitiveArray<Int8Type>),
    I16(&'a PrimitiveArray<Int16Type>),
    I32(&'a PrimitiveArray<Int32Type>),
}

impl<'a> TextColumn<'a> {
    /// The column as text; `None` when it is not `Utf8` or a dictionary of `Utf8` with `Int8`,
    /// `Int16` or `Int32` keys.
    pub fn of(array: &'a dyn Array) -> Option<TextColumn<'a>> {
        if let Some(values) = array.as_string_opt::<i32>() {
            return Some(TextColumn { keys: Keys::Plain, values });
        }
        let (keys, values) = match array.data_type() {
            DataType::Dictionary(k, _) => match **k {
                DataType::Int8 => {
                    let d = array.as_dictionary_opt::<Int8Type>()?;
                    (Keys::I8(d.keys()), d.values())
                }
                DataType::Int16 => {
                    let d = array.as_dictionary_opt::<Int16Type>()?;
                    (Keys::I16(d.keys()), d.values())
                }
                DataType::Int32 => {
                    let d = array.as_dictionary_opt::<Int32Type>()?;
                    (Keys::I32(d.keys()), d.values())
                }
                _ => return None,
            },
            _ => return None,
        };
        Some(TextColumn { keys, values: values.as_string_opt::<i32>()? })
    }

    /// The text of row `row`; `None` when it is null (or past the end).
    #[inline]
    pub fn get(&self, row: usize) -> Option<&'a str> {
        let index = match self.keys {
            Keys::Plain => row,
            Keys::I8(k) => key(k, row)?,
            Keys::I16(k) => key(k, row)?,
            Keys::I32(k) => key(k, row)?,
        };
        (index < self.values.len() && self.values.is_valid(index)).then(|| self.values.value(index))
    }
}

/// The dictionary key of `row`; `None` when null or past the end. A negative key becomes an
/// index past the values' end, which [`TextColumn::get`] rejects.
#[inline]
fn key<K: arrow_array::ArrowPrimitiveType>(keys: &PrimitiveArray<K>, row: usize) -> Option<usize> {
    (row < keys.len() && keys.is_valid(row)).then(|| keys.value(row).as_usize())
}
