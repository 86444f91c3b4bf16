//! # pitwall-analysis: laps and derived columns from telemetry frames (being built)
