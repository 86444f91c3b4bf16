//! CSV from record batches of the frame table (RFC 4180).
//!
//! - **Header**: one row of column names, each followed by its unit in brackets when it has one
//!   (`speed_kmh [km/h]`, `tyre_core_temp_c_fl [°C]`; the unit is the column's `unit` field
//!   metadata, the table's). One header row keeps the file readable by every tool as is
//!   (pandas, spreadsheets, DuckDB) while the units stay in sight.
//! - **Values**: integers in decimal; floats in the shortest text that reads back to the same
//!   `f32`/`f64` (Rust's `Display`; `NaN`, `inf` and `-inf` as such); booleans `true`/`false`;
//!   enums, the session id and strings as text; a null (an absent message) is an empty field.
//! - **Quoting**: a field is quoted only when it holds a comma, a double quote, CR or LF; a
//!   double quote inside is doubled. Lines end with CRLF, as RFC 4180 says. UTF-8, no BOM.

use std::io::Write;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type, UInt8Type, UInt16Type, UInt32Type,
    UInt64Type,
};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::{DataType, Schema};

/// Writes record batches as CSV rows.
///
/// ```
/// use convert::csv::CsvWriter;
/// use proto::telemetry::v1::TelemetryFrame;
/// use table::{FrameBuilder, Variant};
///
/// let mut builder = FrameBuilder::new(Variant::Frames);
/// builder.append(&[TelemetryFrame { seq: 3, speed_kmh: 88.5, tyre_compound: "Soft, \"new\"".into(), ..Default::default() }])?;
/// let batch = builder.finish()?;
/// let mut out = Vec::new();
/// let mut csv = CsvWriter::new(&mut out);
/// csv.write_header(&batch.schema())?;
/// csv.write_batch(&batch)?;
/// let text = String::from_utf8(out)?;
/// assert!(text.starts_with("session_id,seq,wall_time_ns [ns],"));
/// assert!(text.contains(",88.5,"));
/// assert!(text.contains(",\"Soft, \"\"new\"\"\","));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct CsvWriter<W: Write> {
    out: W,
    line: Vec<u8>,
    rows: u64,
}

/// One column of a batch, typed once per batch.
enum Col<'a> {
    F32(&'a arrow_array::Float32Array),
    F64(&'a arrow_array::Float64Array),
    Int(Box<dyn Fn(usize) -> i64 + 'a>, &'a dyn Array),
    U64(&'a arrow_array::UInt64Array),
    Bool(&'a arrow_array::BooleanArray),
    Text(table::TextColumn<'a>),
}

impl<'a> Col<'a> {
    fn of(a: &'a ArrayRef) -> Result<Col<'a>, String> {
        fn int<'a, T>(a: &'a ArrayRef) -> Col<'a>
        where
            T: arrow_array::ArrowPrimitiveType,
            T::Native: Into<i64>,
        {
            let p = a.as_primitive::<T>();
            Col::Int(Box::new(move |i| p.value(i).into()), a.as_ref())
        }
        Ok(match a.data_type() {
            DataType::Float32 => Col::F32(a.as_primitive::<Float32Type>()),
            DataType::Float64 => Col::F64(a.as_primitive::<Float64Type>()),
            DataType::Int8 => int::<Int8Type>(a),
            DataType::Int16 => int::<Int16Type>(a),
            DataType::Int32 => int::<Int32Type>(a),
            DataType::Int64 => int::<Int64Type>(a),
            DataType::UInt8 => int::<UInt8Type>(a),
            DataType::UInt16 => int::<UInt16Type>(a),
            DataType::UInt32 => int::<UInt32Type>(a),
            DataType::UInt64 => Col::U64(a.as_primitive::<UInt64Type>()),
            DataType::Boolean => Col::Bool(a.as_boolean()),
            other => match table::TextColumn::of(a.as_ref()) {
                Some(text) => Col::Text(text),
                None => return Err(format!("no CSV form for a {other} column")),
            },
        })
    }
}

impl<W: Write> CsvWriter<W> {
    /// A writer to `out` (buffer it: rows are written one `write_all` each).
    pub fn new(out: W) -> CsvWriter<W> {
        CsvWriter { out, line: Vec::with_capacity(4096), rows: 0 }
    }

    /// Writes the header row: column names, with `[unit]` after those that have a unit.
    pub fn write_header(&mut self, schema: &Schema) -> std::io::Result<()> {
        self.line.clear();
        for (i, f) in schema.fields().iter().enumerate() {
            if i > 0 {
                self.line.push(b',');
            }
            let unit = f.metadata().get(table::META_UNIT).map_or("", String::as_str);
            let name = if unit.is_empty() { f.name().clone() } else { format!("{} [{unit}]", f.name()) };
            push_text(&mut self.line, &name);
        }
        self.line.extend_from_slice(b"\r\n");
        self.out.write_all(&self.line)
    }

    /// Writes one row per row of `batch`.
    pub fn write_batch(&mut self, batch: &RecordBatch) -> std::io::Result<()> {
        let cols = batch
            .columns()
            .iter()
            .map(Col::of)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
        for row in 0..batch.num_rows() {
            self.line.clear();
            for (i, col) in cols.iter().enumerate() {
                if i > 0 {
                    self.line.push(b',');
                }
                let line = &mut self.line;
                // Writing into a Vec cannot fail.
                let _ = match col {
                    Col::F32(a) if a.is_valid(row) => write!(line, "{}", a.value(row)),
                    Col::F64(a) if a.is_valid(row) => write!(line, "{}", a.value(row)),
                    Col::Int(get, a) if a.is_valid(row) => write!(line, "{}", get(row)),
                    Col::U64(a) if a.is_valid(row) => write!(line, "{}", a.value(row)),
                    Col::Bool(a) if a.is_valid(row) => {
                        line.extend_from_slice(if a.value(row) { b"true" } else { b"false" });
                        Ok(())
                    }
                    Col::Text(s) => {
                        if let Some(t) = s.get(row) {
                            push_text(line, t);
                        }
                        Ok(())
                    }
                    _ => Ok(()),
                };
            }
            self.line.extend_from_slice(b"\r\n");
            self.out.write_all(&self.line)?;
        }
        self.rows += batch.num_rows() as u64;
        Ok(())
    }

    /// Data rows written.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// Flushes and returns the output.
    pub fn into_inner(mut self) -> std::io::Result<W> {
        self.out.flush()?;
        Ok(self.out)
    }
}

/// Appends a text field, quoted when RFC 4180 requires it.
fn push_text(line: &mut Vec<u8>, text: &str) {
    if text.bytes().any(|b| matches!(b, b',' | b'"' | b'\r' | b'\n')) {
        line.push(b'"');
        for b in text.bytes() {
            if b == b'"' {
                line.push(b'"');
            }
            line.push(b);
        }
        line.push(b'"');
    } else {
        line.extend_from_slice(text.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::push_text;

    #[test]
    fn fields_are_quoted_only_when_rfc_4180_requires_it() {
        let quoted = |s: &str| {
            let mut v = Vec::new();
            push_text(&mut v, s);
            String::from_utf8(v).unwrap()
        };
        assert_eq!(quoted("soft"), "soft");
        assert_eq!(quoted("a,b"), "\"a,b\"");
        assert_eq!(quoted("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(quoted("two\nlines"), "\"two\nlines\"");
        assert_eq!(quoted("cr\r"), "\"cr\r\"");
        assert_eq!(quoted(""), "");
    }
}
