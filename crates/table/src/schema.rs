//! The Arrow schema generated from [`FIELDS`](crate::FIELDS), with or without the derived
//! columns.

use std::collections::HashMap;
use std::sync::Arc;

use arrow_schema::{DataType, Field as ArrowField, Schema, SchemaRef};

use crate::fields::{AXIS_SUFFIXES, FIELDS, Kind, WHEEL_SUFFIXES};

/// Version of the table layout, in every file's key-value metadata (`pitwall.schema_version`).
/// Bumped when a column changes meaning or type (adding a column to the end does not).
pub const SCHEMA_VERSION: u32 = 1;

/// Field metadata key holding a column's unit (empty when unitless).
pub const META_UNIT: &str = "unit";
/// Field metadata key holding a column's description.
pub const META_DESCRIPTION: &str = "description";

/// The derived columns the converter fills, in schema order: name, type, unit, description.
pub const DERIVED_COLUMNS: [(&str, DataType, &str, &str); 4] = [
    (
        "lap",
        DataType::UInt32,
        "",
        "Lap the frame belongs to, 1 = the first lap of the session, as the game counts (derived)",
    ),
    ("lap_time_ms", DataType::Int64, "ms", "Time into that lap, from the monotonic clock (derived)"),
    ("lap_distance_m", DataType::Float32, "m", "Distance into that lap along the track (derived)"),
    (
        "session_time_s",
        DataType::Float64,
        "s",
        "Time since the session's first frame, from the monotonic clock (derived)",
    ),
];

/// Values of the derived columns for one row (see [`DERIVED_COLUMNS`]).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Derived {
    /// Lap the frame belongs to, 1 = the first lap of the session, as the game counts.
    pub lap: u32,
    /// Time into that lap, ms.
    pub lap_time_ms: i64,
    /// Distance into that lap, m.
    pub lap_distance_m: f32,
    /// Time since the session's first frame, s.
    pub session_time_s: f64,
}

/// Which columns a table has.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub enum Variant {
    /// Every frame field (what the ingest server stores).
    #[default]
    Frames,
    /// Every frame field, then [`DERIVED_COLUMNS`] (what `pitwall convert` writes).
    FramesWithDerived,
}

impl Variant {
    /// Whether the derived columns are included.
    pub fn has_derived(self) -> bool {
        self == Variant::FramesWithDerived
    }
}

/// One column of the table.
#[derive(Debug, Clone, PartialEq)]
pub struct Column {
    /// Column name.
    pub name: String,
    /// Arrow type.
    pub data_type: DataType,
    /// Whether it may be null (only the parts of optional proto messages may).
    pub nullable: bool,
    /// Unit, empty when unitless.
    pub unit: &'static str,
    /// Description.
    pub description: String,
    /// The proto field it comes from (`None` for a derived column).
    pub proto_field: Option<&'static str>,
}

/// The table's schema: its columns and the Arrow schema made from them.
#[derive(Debug, Clone)]
pub struct FrameSchema {
    variant: Variant,
    columns: Vec<Column>,
    arrow: SchemaRef,
}

/// Type of the dictionary columns of enums: few values, one-byte keys.
pub fn enum_type() -> DataType {
    DataType::Dictionary(Box::new(DataType::Int8), Box::new(DataType::Utf8))
}

/// Type of the dictionary columns of strings (session id, tyre compound).
pub fn string_type() -> DataType {
    DataType::Dictionary(Box::new(DataType::Int32), Box::new(DataType::Utf8))
}

impl FrameSchema {
    /// The schema of `variant`.
    pub fn new(variant: Variant) -> Self {
        let mut columns = Vec::with_capacity(192);
        for f in FIELDS {
            let one = |data_type: DataType| Column {
                name: f.proto.to_owned(),
                data_type,
                nullable: false,
                unit: f.unit,
                description: f.description.to_owned(),
                proto_field: Some(f.proto),
            };
            let part = |suffix: &str, what: &str| Column {
                name: format!("{}_{suffix}", f.proto),
                data_type: DataType::Float32,
                nullable: true,
                unit: f.unit,
                description: format!("{}, {what}", f.description),
                proto_field: Some(f.proto),
            };
            match f.kind {
                Kind::F32 => columns.push(one(DataType::Float32)),
                Kind::I32 => columns.push(one(DataType::Int32)),
                Kind::U32 => columns.push(one(DataType::UInt32)),
                Kind::I64 => columns.push(one(DataType::Int64)),
                Kind::U64 => columns.push(one(DataType::UInt64)),
                Kind::Bool => columns.push(one(DataType::Boolean)),
                Kind::Enum(e) => {
                    let mut c = one(enum_type());
                    c.description = format!("{} (one of: {})", f.description, e.names.join(", "));
                    columns.push(c);
                }
                Kind::Str | Kind::SessionId => columns.push(one(string_type())),
                Kind::Wheels => {
                    for (s, what) in WHEEL_SUFFIXES.iter().zip(WHEEL_NAMES) {
                        columns.push(part(s, what));
                    }
                }
                Kind::Vec3 => {
                    for s in AXIS_SUFFIXES {
                        columns.push(part(s, s));
                    }
                }
                Kind::Vec3PerWheel => {
                    for (w, what) in WHEEL_SUFFIXES.iter().zip(WHEEL_NAMES) {
                        for a in AXIS_SUFFIXES {
                            columns.push(part(&format!("{w}_{a}"), &format!("{what}, {a}")));
                        }
                    }
                }
                Kind::Slots(slots) => {
                    for s in slots {
                        columns.push(part(s, s));
                    }
                }
            }
        }
        if variant.has_derived() {
            for (name, data_type, unit, description) in DERIVED_COLUMNS {
                columns.push(Column {
                    name: name.to_owned(),
                    data_type,
                    nullable: false,
                    unit,
                    description: description.to_owned(),
                    proto_field: None,
                });
            }
        }
        let fields: Vec<ArrowField> = columns
            .iter()
            .map(|c| {
                ArrowField::new(&c.name, c.data_type.clone(), c.nullable).with_metadata(HashMap::from([
                    (META_UNIT.to_owned(), c.unit.to_owned()),
                    (META_DESCRIPTION.to_owned(), c.description.clone()),
                ]))
            })
            .collect();
        let metadata = HashMap::from([("pitwall.schema_version".to_owned(), SCHEMA_VERSION.to_string())]);
        let arrow = Arc::new(Schema::new_with_metadata(fields, metadata));
        FrameSchema { variant, columns, arrow }
    }

    /// Which variant this is.
    pub fn variant(&self) -> Variant {
        self.variant
    }

    /// The columns, in order.
    pub fn columns(&self) -> &[Column] {
        &self.columns
    }

    /// The Arrow schema (field metadata: [`META_UNIT`], [`META_DESCRIPTION`]).
    pub fn arrow(&self) -> &SchemaRef {
        &self.arrow
    }
}

const WHEEL_NAMES: [&str; 4] = ["front left", "front right", "rear left", "rear right"];
