//! Recording → CSV.

use proto::telemetry::v1::{TelemetryFrame, Wheels};
use record::{RecordOptions, RecordWriter};
use table::{FrameSchema, Variant};

use crate::{convert, derived, recording};

/// Splits one CSV record (RFC 4180 quoting) into its fields.
fn fields(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            ('"', _) => quoted = !quoted,
            (',', false) => out.push(std::mem::take(&mut field)),
            (c, _) => field.push(c),
        }
    }
    out.push(field);
    out
}

#[test]
fn a_simulated_recording_converts_to_csv_with_units_in_the_header_and_the_frames_values() {
    let dir = tempfile::tempdir().unwrap();
    let (input, frames, _) = recording(dir.path(), "run.pb.gz", 30, &[]);
    let output = dir.path().join("run.csv");
    let report = convert(&input, &output);
    assert_eq!(report.rows, frames.len() as u64);

    let text = std::fs::read_to_string(&output).unwrap();
    assert!(text.ends_with("\r\n"));
    let lines: Vec<&str> = text.split_terminator("\r\n").collect();
    assert_eq!(lines.len(), frames.len() + 1, "a header and one row per frame");

    // The header: every column of the table, with its unit.
    let header = fields(lines[0]);
    let schema = FrameSchema::new(Variant::FramesWithDerived);
    assert_eq!(header.len(), schema.columns().len());
    for (h, c) in header.iter().zip(schema.columns()) {
        let expected = if c.unit.is_empty() { c.name.clone() } else { format!("{} [{}]", c.name, c.unit) };
        assert_eq!(h, &expected);
    }
    assert!(header.contains(&"speed_kmh [km/h]".to_owned()));
    assert!(header.contains(&"tyre_core_temp_c_fl [°C]".to_owned()));
    assert!(header.contains(&"lap".to_owned()));
    let col =
        |name: &str| header.iter().position(|h| h == name || h.starts_with(&format!("{name} ["))).unwrap();

    let expected = derived(&frames);
    for (i, f) in frames.iter().enumerate().step_by(997) {
        let row = fields(lines[i + 1]);
        assert_eq!(row.len(), header.len(), "row {i}");
        assert_eq!(row[col("session_id")], table::session_id_text(&f.session_id));
        assert_eq!(row[col("seq")].parse::<u64>().unwrap(), f.seq);
        assert_eq!(row[col("speed_kmh")].parse::<f32>().unwrap(), f.speed_kmh, "floats read back exactly");
        assert_eq!(row[col("rpm")].parse::<i32>().unwrap(), f.rpm);
        assert_eq!(row[col("tyre_temp_inner_c_rl")].parse::<f32>().unwrap(), f.tyre_temp_inner_c.unwrap().rl);
        assert_eq!(row[col("status")], table::fields::GAME_STATUS.name(f.status));
        assert_eq!(row[col("in_pit_lane")], f.in_pit_lane.to_string());
        assert_eq!(row[col("lap")].parse::<u32>().unwrap(), expected[i].lap);
        assert_eq!(row[col("session_time_s")].parse::<f64>().unwrap(), expected[i].session_time_s);
    }
}

#[test]
fn csv_quotes_text_as_rfc_4180_says_and_leaves_absent_values_empty() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("odd.pb.gz");
    let mut writer = RecordWriter::create(&input, RecordOptions::default()).unwrap();
    let odd = ["Soft, \"C5\"", "two\nlines", "plain"];
    for (seq, compound) in odd.iter().enumerate() {
        writer
            .append(&TelemetryFrame {
                session_id: vec![3; 16].into(),
                seq: seq as u64,
                tyre_compound: (*compound).into(),
                tyre_pressure_psi: (seq == 2).then_some(Wheels { fl: 1.5, fr: 2.0, rl: 3.0, rr: 4.0 }),
                ..Default::default()
            })
            .unwrap();
    }
    writer.close().unwrap();
    let output = dir.path().join("odd.csv");
    assert_eq!(convert(&input, &output).rows, 3);
    let text = std::fs::read_to_string(&output).unwrap();
    assert!(text.contains(",\"Soft, \"\"C5\"\"\","), "{text}");
    assert!(text.contains(",\"two\nlines\","));
    // Records, split where a CRLF is outside quotes (the embedded LF is not one).
    let records: Vec<&str> = text.split_terminator("\r\n").collect();
    assert_eq!(records.len(), 4);
    let header = fields(records[0]);
    let fl = header.iter().position(|h| h == "tyre_pressure_psi_fl [psi]").unwrap();
    let compound = header.iter().position(|h| h == "tyre_compound").unwrap();
    let rows: Vec<Vec<String>> = records[1..].iter().map(|r| fields(r)).collect();
    assert_eq!(rows[0][compound], odd[0]);
    assert_eq!(rows[1][compound], odd[1]);
    assert_eq!((rows[0][fl].as_str(), rows[1][fl].as_str(), rows[2][fl].as_str()), ("", "", "1.5"));
}
