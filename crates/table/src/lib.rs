//! # pitwall-table: the one table schema for telemetry frames
//!
//! The single Rust definition of how a `TelemetryFrame` becomes a row and a row becomes a
//! frame again, shared by the ingest server's Parquet sink and `pitwall convert`, so the two can
//! never drift (DESIGN.md, "one schema"). [`FIELDS`] lists every proto field once, in proto
//! order, with its unit, its description, its kind, and the getter and setter made from its
//! name ([`fields`]); everything else is generated from it:
//!
//! - [`FrameSchema`]: the Arrow schema ([`Variant::Frames`], or [`Variant::FramesWithDerived`]
//!   with the converter's [`DERIVED_COLUMNS`]: `lap`, `lap_time_ms`, `lap_distance_m`,
//!   `session_time_s`, filled from a [`Derived`] per row). Every column carries field metadata
//!   `unit` and `description`, which pyarrow, polars and DuckDB show.
//! - [`FrameBuilder`]: appends `&[TelemetryFrame]` into typed column buffers and returns Arrow
//!   record batches.
//! - [`FrameReader`]: the way back, record batches (of a Parquet file, say) into frames; it
//!   tolerates files written before a column was added.
//! - [`FrameFileWriter`] and [`writer_properties`]: Parquet with zstd (or [`Codec::Lz4Raw`],
//!   faster), row groups of 128 Ki rows, chunk statistics and dictionaries for the string
//!   columns; the session's metadata goes into the file's key-value metadata ([`KV_SESSION`],
//!   [`session_metadata_json`]). [`WriteOptions::threads`] encodes columns on several threads.
//!
//! ## Column conventions
//!
//! - **Flat primitive columns only.** Per-wheel values are four columns `<field>_fl`, `_fr`,
//!   `_rl`, `_rr` (always that order); vectors are `<field>_x`, `_y`, `_z`; the four tyre
//!   contact points are `tyre_contact_point_m_fl_x` … `_rr_z`; `car_damage` is
//!   `car_damage_front`, `_rear`, `_left`, `_right`, `_centre`. pandas, polars and DuckDB read
//!   flat primitive columns natively and fast; an Arrow `FixedSizeList` would become a column of
//!   Python objects (one NumPy array per row) in pandas.
//! - **Nulls mean "absent", never "zero".** Columns of optional proto messages (wheels,
//!   vectors, the physics tail, repeated slots) are null when the frame did not carry the
//!   message; scalar proto fields are never null (proto3 has no "unset" for them).
//! - **Enums are their value's name**, lower case without the prefix (`session_type` is
//!   `"race"`, `flag` is `"yellow"`, `status` is `"live"`), dictionary-encoded with one-byte
//!   keys: as small as the number, and readable without a mapping table (a pandas `category`).
//!   The description of each enum column lists its names; an unknown value is `value_<n>`.
//! - **`session_id`** is the UUID text (36 characters), dictionary-encoded, as is
//!   `tyre_compound`.
//! - Names are the proto's (snake_case, unit suffixes as in the proto); units follow the proto
//!   (SI, except km/h, psi and °C).
//!
//! `SessionMetadata` (car, track, driver, …) is not per row: it goes into the file's key-value
//! metadata and the catalogue as JSON ([`session_metadata_json`]), and comes back with
//! [`session_metadata_from_json`] or, from a file's key-value metadata, [`file_session`].
//!
//! ```
//! use proto::telemetry::v1::{TelemetryFrame, Wheels};
//! use table::{FrameFileWriter, FrameSchema, Variant, WriteOptions};
//!
//! let schema = FrameSchema::new(Variant::Frames);
//! let pressure = schema.arrow().field_with_name("tyre_pressure_psi_fl")?;
//! assert_eq!(pressure.metadata()["unit"], "psi");
//!
//! let frame = TelemetryFrame {
//!     seq: 1,
//!     tyre_pressure_psi: Some(Wheels { fl: 27.1, fr: 27.2, rl: 26.4, rr: 26.5 }),
//!     ..Default::default()
//! };
//! let mut file = Vec::new();
//! let mut writer = FrameFileWriter::new(&mut file, Variant::Frames, &WriteOptions::default())?;
//! writer.append(&[frame])?;
//! writer.finish()?;
//! drop(writer);
//! assert_eq!(&file[..4], b"PAR1");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod builder;
mod error;
mod field_codec;
pub mod fields;
mod read;
mod schema;
mod session;
mod write;

pub use builder::FrameBuilder;
pub use error::TableError;
pub use fields::{FIELDS, Field, Kind, NOT_COLUMNS};
pub use read::{FrameReader, TextColumn};
pub use schema::{
    Column, DERIVED_COLUMNS, Derived, FrameSchema, META_DESCRIPTION, META_UNIT, SCHEMA_VERSION, Variant,
    enum_type, string_type,
};
pub use session::{
    file_session, parse_session_id, session_id_text, session_metadata_from_json, session_metadata_json,
};
pub use write::{
    Codec, FrameFileWriter, KV_SCHEMA_VERSION, KV_SESSION, KV_SESSION_ID, WriteOptions, writer_properties,
};

#[cfg(test)]
mod tests;
