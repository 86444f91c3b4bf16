//! `pitwall convert` and `pitwall laps` on recordings of simulated sessions.

use std::path::{Path, PathBuf};
use std::time::Duration;

use testkit::sim::{Recorded, Run, oval};

use crate::{pitwall, run_ok};

fn recording(dir: &Path, name: &str, secs: u64, restarts: &[Duration]) -> (PathBuf, Recorded) {
    let path = dir.join(name);
    let recorded = Run::new(oval(5), Duration::from_secs(secs)).restart_at(restarts).record(&path);
    (path, recorded)
}

fn stdout(out: &std::process::Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8(out.stderr.clone()).unwrap()
}

#[test]
fn convert_writes_parquet_and_csv_and_says_how_many_rows() {
    let dir = tempfile::tempdir().unwrap();
    let (input, recorded) = recording(dir.path(), "run.pb.gz", 20, &[]);
    let parquet = dir.path().join("run.parquet");
    let out = run_ok(pitwall().arg("convert").arg(&input).arg(&parquet));
    assert_eq!(stdout(&out), format!("Wrote {} with {} rows\n", parquet.display(), recorded.frames));
    assert!(stderr(&out).is_empty(), "no progress bar or warning off a terminal: {}", stderr(&out));
    assert_eq!(&std::fs::read(&parquet).unwrap()[..4], b"PAR1");

    // The Parquet file converts on to the same CSV as the recording does.
    let (a, b) = (dir.path().join("a.csv"), dir.path().join("b.csv"));
    run_ok(pitwall().arg("convert").arg(&input).arg(&a));
    let out = run_ok(pitwall().arg("convert").arg(&parquet).arg(&b));
    assert!(stdout(&out).ends_with(&format!("with {} rows\n", recorded.frames)));
    let text = std::fs::read_to_string(&a).unwrap();
    assert!(text == std::fs::read_to_string(&b).unwrap(), "the two CSV files differ");
    assert!(text.starts_with("session_id,seq,wall_time_ns [ns],mono_time_ns [ns],"));
    assert_eq!(text.matches("\r\n").count() as u64, recorded.frames + 1);

    // --to overrides the extension.
    let odd = dir.path().join("run.data");
    run_ok(pitwall().arg("convert").arg(&input).arg(&odd).args(["--to", "csv"]));
    assert!(std::fs::read_to_string(&odd).unwrap() == text);
}

#[test]
fn convert_of_a_truncated_recording_warns_with_the_offset_and_exits_0_unless_strict() {
    let dir = tempfile::tempdir().unwrap();
    let (input, _) = recording(dir.path(), "run.pb.gz", 20, &[]);
    let bytes = std::fs::read(&input).unwrap();
    let cut = dir.path().join("cut.pb.gz");
    std::fs::write(&cut, &bytes[..bytes.len() * 2 / 3]).unwrap();
    let mut reader = record::RecordReader::open(&cut).unwrap();
    let good = reader.by_ref().filter(Result::is_ok).count();
    let offset = reader.damage().unwrap().offset;

    let output = dir.path().join("cut.parquet");
    let out = run_ok(pitwall().arg("convert").arg(&cut).arg(&output));
    assert_eq!(stdout(&out), format!("Wrote {} with {good} rows\n", output.display()));
    let err = stderr(&out);
    assert!(err.contains(&format!("damaged at byte {offset}")), "{err}");
    assert!(err.contains("nothing readable follows"), "{err}");

    // --strict: exit status 3, apart from errors (1) and usage errors (2).
    let strict = pitwall().arg("convert").arg(&cut).arg(&output).arg("--strict").output().unwrap();
    assert_eq!(strict.status.code(), Some(3));
    assert!(output.exists(), "the frames before the damage are still written");
    let usage = pitwall().arg("convert").arg(&cut).output().unwrap();
    assert_eq!(usage.status.code(), Some(2));
}

/// The defect: `pitwall convert IN IN` (or OUT a link to IN) overwrote the recording with a
/// header-only CSV and said "Wrote … with 0 rows" (exit 0), or truncated and then deleted it.
#[test]
fn convert_refuses_an_output_that_is_the_input_and_keeps_the_input() {
    let dir = tempfile::tempdir().unwrap();
    let (input, recorded) = recording(dir.path(), "run.pb.gz", 5, &[]);
    let original = std::fs::read(&input).unwrap();
    let link = dir.path().join("link.parquet");
    std::os::unix::fs::symlink(&input, &link).unwrap();
    for (output, to) in [(&input, "csv"), (&input, "parquet"), (&input, "motec"), (&link, "parquet")] {
        let out = pitwall().arg("convert").arg(&input).arg(output).args(["--to", to]).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{to}");
        let err = stderr(&out);
        assert!(err.contains("refusing to write over the input"), "{err}");
        assert!(stdout(&out).is_empty(), "{}", stdout(&out));
        assert!(std::fs::read(&input).unwrap() == original, "--to {to} changed the input");
    }
    // The input still converts whole.
    let out = run_ok(pitwall().arg("convert").arg(&input).arg(dir.path().join("ok.csv")));
    assert!(stdout(&out).ends_with(&format!("with {} rows\n", recorded.frames)));
}

/// The defect: the same flipped byte stopped `convert` and `laps` at the damaged member (950 of
/// 1970 frames lost, exit 0). Now only that member's frames are missing, and it is reported.
#[test]
fn convert_and_laps_read_on_after_a_damaged_member() {
    let dir = tempfile::tempdir().unwrap();
    let (input, recorded) = recording(dir.path(), "run.pb.gz", 20, &[]);
    let index = record::scan(&input).unwrap().index;
    let fourth = index.members()[3].clone();
    let mut bytes = std::fs::read(&input).unwrap();
    bytes[(fourth.offset + fourth.len / 2) as usize] ^= 0x40;
    std::fs::write(&input, &bytes).unwrap();
    let output = dir.path().join("run.csv");
    let out = run_ok(pitwall().arg("convert").arg(&input).arg(&output));
    let rows = recorded.frames - fourth.frames;
    assert_eq!(stdout(&out), format!("Wrote {} with {rows} rows\n", output.display()));
    let err = stderr(&out);
    assert!(err.contains(&format!("damaged at byte {}", fourth.offset)), "{err}");
    assert!(err.contains(&format!("read on from byte {}", fourth.end())), "{err}");
    let out = run_ok(pitwall().arg("laps").arg(&input));
    assert!(stderr(&out).contains(&format!("damaged at byte {}", fourth.offset)), "{}", stderr(&out));
    // A file of noise is an error, and no output is written.
    let noise = dir.path().join("noise.pb.gz");
    std::fs::write(&noise, [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff, 0x63, 0x60].repeat(50)).unwrap();
    let out = pitwall().arg("convert").arg(&noise).arg(dir.path().join("n.parquet")).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("nothing readable"), "{}", stderr(&out));
    assert!(!dir.path().join("n.parquet").exists());
}

#[test]
fn convert_to_motec_writes_one_log_per_session() {
    let dir = tempfile::tempdir().unwrap();
    let (input, recorded) = recording(dir.path(), "two.pb.gz", 30, &[Duration::from_secs(15)]);
    let out = run_ok(pitwall().arg("convert").arg(&input).arg(dir.path().join("two.ld")));
    let names = ["two-1.ld", "two-1.ldx", "two-2.ld", "two-2.ldx"];
    let listed: Vec<String> = names.iter().map(|n| dir.path().join(n).display().to_string()).collect();
    assert_eq!(stdout(&out), format!("Wrote {} with {} rows\n", listed.join(", "), recorded.frames));
    for n in names {
        assert!(dir.path().join(n).metadata().unwrap().len() > 0, "{n}");
    }
}

#[test]
fn convert_reads_a_parquet_dataset_folder() {
    let dir = tempfile::tempdir().unwrap();
    let (input, recorded) = recording(dir.path(), "run.pb.gz", 20, &[]);
    // A dataset laid out as the ingest server's (one session, one part), made by the converter.
    let part =
        dir.path().join("data/session=018bd37e-1001-7142-8001-264b7095badf/car=ks_mx5/part-000000.parquet");
    std::fs::create_dir_all(part.parent().unwrap()).unwrap();
    run_ok(pitwall().arg("convert").arg(&input).arg(&part));
    std::fs::write(part.with_file_name(".part-000001.parquet.inprogress"), b"partial").unwrap();
    let (a, b) = (dir.path().join("a.csv"), dir.path().join("b.csv"));
    run_ok(pitwall().arg("convert").arg(&input).arg(&a));
    let out = run_ok(pitwall().arg("convert").arg(dir.path().join("data")).arg(&b));
    assert!(stdout(&out).ends_with(&format!("with {} rows\n", recorded.frames)));
    assert!(std::fs::read(&a).unwrap() == std::fs::read(&b).unwrap());
}

#[test]
fn convert_of_something_that_is_not_a_recording_fails_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("notes.txt");
    std::fs::write(&input, b"these are not frames").unwrap();
    let out = pitwall().arg("convert").arg(&input).arg(dir.path().join("x.parquet")).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("notes.txt") && err.contains("not a recording"), "{err}");
    assert!(!dir.path().join("x.parquet").exists(), "no output is left behind");
    let out = pitwall().arg("convert").arg(dir.path().join("missing.pb.gz")).arg("x.csv").output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("missing.pb.gz"), "{}", stderr(&out));
}

#[test]
fn laps_prints_the_simulators_lap_times_as_a_table_and_as_json() {
    let dir = tempfile::tempdir().unwrap();
    let (input, recorded) = recording(dir.path(), "run.pb.gz", 130, &[]);
    assert!(recorded.laps.len() >= 2, "{:?}", recorded.laps);

    let out = run_ok(pitwall().arg("laps").arg(&input).arg("--json"));
    let laps: Vec<serde_json::Value> =
        stdout(&out).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(laps.len(), recorded.laps.len() + 1, "the simulator's laps and the unfinished one");
    for (lap, record) in laps.iter().zip(&recorded.laps) {
        assert_eq!(lap["lap"], record.lap);
        assert_eq!(lap["time_ms"], record.time_ms);
        assert_eq!(lap["sectors_ms"], serde_json::json!(record.sectors_ms));
    }
    assert_eq!(laps[0]["invalid"], serde_json::json!(["out-lap"]));
    assert_eq!(laps[1]["valid"], true);
    assert!(laps[1]["top_speed_kmh"].as_f64().unwrap() > 150.0);
    assert!(laps[1]["fuel_used_l"].as_f64().unwrap() > 0.0);
    assert_eq!(laps.last().unwrap()["invalid"], serde_json::json!(["unfinished"]));

    let out = run_ok(pitwall().arg("laps").arg(&input));
    let text = stdout(&out);
    assert!(text.contains("Lap") && text.contains("S1") && text.contains("Valid"), "{text}");
    let t = recorded.laps[1].time_ms;
    let shown = format!("{}:{:02}.{:03}", t / 60_000, t / 1000 % 60, t % 1000);
    assert!(text.contains(&shown), "lap 2's time {shown} in\n{text}");
    assert!(text.contains("no: out-lap") && text.contains("no: unfinished"), "{text}");
}

/// A file name with a terminal escape in it is printed escaped, in errors and in the summary.
#[test]
fn control_characters_in_paths_are_escaped_in_what_convert_prints() {
    let dir = tempfile::tempdir().unwrap();
    let noise = dir.path().join("noise\u{1b}[31m.bin");
    std::fs::write(&noise, b"not a recording at all").unwrap();
    let out = pitwall()
        .arg("convert")
        .arg(&noise)
        .arg(dir.path().join("x\u{1b}]0;title\u{7}.csv"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(!err.contains('\u{1b}') && !err.contains('\u{7}'), "{err:?}");
    assert!(err.contains("noise\\u{1b}[31m.bin"), "{err}");
    let (input, _) = recording(dir.path(), "run.pb.gz", 2, &[]);
    let out = run_ok(pitwall().arg("convert").arg(&input).arg(dir.path().join("out\u{1b}[2J.csv")));
    assert!(
        !stdout(&out).contains('\u{1b}') && stdout(&out).contains("out\\u{1b}[2J.csv"),
        "{}",
        stdout(&out)
    );
}
