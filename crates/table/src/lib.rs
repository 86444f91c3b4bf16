//! # pitwall-table: one Arrow/Parquet schema for telemetry frames (being built)
