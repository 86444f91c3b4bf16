//! Damaged recordings convert every good member, say where each damaged stretch is, and never
//! turn into an empty output; no output is ever opened over the input.

use record::RecordReader;

use crate::parquet::{read_parquet, without_metadata};
use crate::recording;

/// Frames a reader gets from `path` before the damage, and the damage's offset.
fn readable(path: &std::path::Path) -> (Vec<proto::telemetry::v1::TelemetryFrame>, u64) {
    let mut reader = RecordReader::open(path).unwrap();
    let frames: Vec<_> = reader.by_ref().filter_map(Result::ok).collect();
    (frames, reader.damage().expect("the file is damaged").offset)
}

#[test]
fn a_recording_cut_in_the_middle_converts_the_frames_before_the_cut_and_names_its_offset() {
    let dir = tempfile::tempdir().unwrap();
    let (full, frames, _) = recording(dir.path(), "full.pb.gz", 40, &[]);
    let bytes = std::fs::read(&full).unwrap();
    let cut = dir.path().join("cut.pb.gz");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let (before, offset) = readable(&cut);
    assert!(!before.is_empty() && before.len() < frames.len() / 2 + 1000);

    let output = dir.path().join("cut.parquet");
    let report = crate::convert(&cut, &output);
    assert_eq!(report.rows, before.len() as u64);
    assert_eq!(report.damages.len(), 1);
    let damage = report.damages[0].clone();
    assert_eq!(damage.offset, offset);
    assert!(damage.kind.is_truncation(), "{:?}", damage.kind);
    assert!(damage.offset > 0 && damage.offset < bytes.len() as u64 / 2);

    // A complete Parquet file of exactly those frames, saying where the input stopped.
    let (batch, kv) = read_parquet(&output);
    let reader = convert::rows::RowReader::new(batch.schema().as_ref(), &output).unwrap();
    let mut back = Vec::new();
    reader.read(&batch, 0, &mut back).unwrap();
    assert_eq!(back, without_metadata(&frames[..before.len()]));
    let note: serde_json::Value = serde_json::from_str(&kv[convert::KV_DAMAGE]).unwrap();
    assert_eq!(note[0]["offset"], offset);
    assert_eq!(note[0]["resumed_at"], serde_json::Value::Null);
}

/// The defect: one flipped byte in a middle member stopped the conversion there (950 of 1970
/// frames lost, exit 0). Now the damaged member alone is skipped, and reported.
#[test]
fn a_corrupt_member_is_skipped_and_the_members_after_it_converted() {
    let dir = tempfile::tempdir().unwrap();
    let (full, frames, _) = recording(dir.path(), "full.pb.gz", 20, &[]);
    let index = record::scan(&full).unwrap().index;
    assert!(index.len() >= 6, "{} members", index.len());
    let fourth = index.members()[3].clone();
    let mut bytes = std::fs::read(&full).unwrap();
    bytes[(fourth.offset + fourth.len / 2) as usize] ^= 0x5a;
    let bad = dir.path().join("bad.pb.gz");
    std::fs::write(&bad, &bytes).unwrap();
    let (before, offset) = readable(&bad);
    assert_eq!(offset, fourth.offset);

    let output = dir.path().join("bad.parquet");
    let report = crate::convert(&bad, &output);
    assert_eq!(report.rows, frames.len() as u64 - fourth.frames, "every frame but the damaged member's");
    assert_eq!(report.damages.len(), 1);
    let damage = &report.damages[0];
    assert_eq!((damage.offset, damage.resumed_at), (fourth.offset, Some(fourth.end())));
    assert!(!damage.kind.is_truncation());
    assert_eq!(damage.frames_before, before.len() as u64);
    let (batch, _) = read_parquet(&output);
    let reader = convert::rows::RowReader::new(batch.schema().as_ref(), &output).unwrap();
    let mut back = Vec::new();
    reader.read(&batch, 0, &mut back).unwrap();
    let skipped = before.len()..before.len() + fourth.frames as usize;
    let expected: Vec<_> =
        frames.iter().enumerate().filter(|(i, _)| !skipped.contains(i)).map(|(_, f)| f.clone()).collect();
    assert_eq!(back, without_metadata(&expected));
}

/// A file in which nothing is readable is an error, and leaves no output: random bytes, and a
/// valid gzip file of random bytes (which used to give a 0-row Parquet file and success).
#[test]
fn a_file_with_nothing_readable_is_an_error_not_an_empty_output() {
    use std::io::Write as _;
    let dir = tempfile::tempdir().unwrap();
    let mut noise = vec![0u8; 100_000];
    let mut x = 0x2545_f491_4f6c_dd1du64;
    for b in &mut noise {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = x as u8;
    }
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&noise).unwrap();
    let gz = gz.finish().unwrap();
    for (name, bytes) in [("noise.bin", &noise), ("noise.gz", &gz)] {
        let input = dir.path().join(name);
        std::fs::write(&input, bytes).unwrap();
        for out in ["out.parquet", "out.csv", "out.ld"] {
            let output = dir.path().join(out);
            let err = convert::convert(&input, &output, &convert::ConvertOptions::default(), &mut |_| {})
                .expect_err(name);
            let text = err.to_string();
            assert!(
                text.contains(name)
                    && (text.contains("nothing readable") || text.contains("not a recording")),
                "{text}"
            );
            assert!(!output.exists(), "{name} -> {out}: no output left behind");
        }
    }
}

/// The defect: `convert IN IN.csv`-style mistakes with OUT the input itself (or a link to it)
/// overwrote the recording. Every format refuses before opening anything, and the input is
/// untouched.
#[test]
fn an_output_that_is_the_input_is_refused_and_the_input_kept() {
    let dir = tempfile::tempdir().unwrap();
    let (input, _, _) = recording(dir.path(), "run.pb.gz", 5, &[]);
    let original = std::fs::read(&input).unwrap();
    let link = dir.path().join("link.csv");
    #[cfg(unix)]
    std::os::unix::fs::symlink(&input, &link).unwrap();
    #[cfg(not(unix))]
    std::fs::hard_link(&input, &link).unwrap();
    let hard = dir.path().join("hard.parquet");
    std::fs::hard_link(&input, &hard).unwrap();
    for (output, format) in [
        (input.clone(), convert::Format::Csv),
        (input.clone(), convert::Format::Parquet),
        (input.clone(), convert::Format::Motec),
        (link.clone(), convert::Format::Csv),
        (hard.clone(), convert::Format::Parquet),
    ] {
        let options = convert::ConvertOptions { format: Some(format), ..Default::default() };
        let err = convert::convert(&input, &output, &options, &mut |_| {}).expect_err("refused");
        assert!(matches!(err, convert::ConvertError::OutputIsInput { .. }), "{err}");
        assert!(err.to_string().contains("refusing to write over the input"), "{err}");
        assert!(
            std::fs::read(&input).unwrap() == original,
            "{} ({format:?}) changed the input",
            output.display()
        );
    }
    // A MoTeC log whose .ldx companion would be the input.
    let ldx_input = dir.path().join("run.ldx");
    std::fs::copy(&input, &ldx_input).unwrap();
    let err = convert::convert(&ldx_input, &dir.path().join("run.ld"), &Default::default(), &mut |_| {})
        .expect_err("refused");
    assert!(matches!(err, convert::ConvertError::OutputIsInput { .. }), "{err}");
    assert!(std::fs::read(&ldx_input).unwrap() == original);

    // A dataset folder: no output inside it.
    let part = dir.path().join("data/session=018bd37e-1001-7142-8001-264b7095badf/car=x/part-000000.parquet");
    std::fs::create_dir_all(part.parent().unwrap()).unwrap();
    crate::convert(&input, &part);
    let before = std::fs::read(&part).unwrap();
    for inside in [dir.path().join("data/all.parquet"), part.with_file_name("x.csv"), part.clone()] {
        let err = convert::convert(&dir.path().join("data"), &inside, &Default::default(), &mut |_| {})
            .expect_err("refused");
        assert!(
            matches!(
                err,
                convert::ConvertError::OutputInsideInput { .. } | convert::ConvertError::OutputIsInput { .. }
            ),
            "{err}"
        );
        assert!(!inside.exists() || inside == part);
    }
    assert!(std::fs::read(&part).unwrap() == before);
}

/// A dataset folder with a damaged part file among good ones: the damaged file is skipped with
/// a warning naming it, every other file converted. A dataset with nothing readable is an error.
#[test]
fn a_damaged_part_file_in_a_dataset_is_skipped_and_the_others_converted() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let car = |s: &str| data.join(format!("session=018bd37e-1001-7142-8001-{s}/car=x"));
    let mut rows = 0;
    for (n, s) in ["000000000001", "000000000002"].iter().enumerate() {
        let (rec, frames, _) = recording(dir.path(), &format!("r{n}.pb.gz"), 3, &[]);
        std::fs::create_dir_all(car(s)).unwrap();
        crate::convert(&rec, &car(s).join("part-000000.parquet"));
        rows += frames.len() as u64;
    }
    // A truncated copy of a good part file, and random bytes between Parquet magics.
    let good = std::fs::read(car("000000000001").join("part-000000.parquet")).unwrap();
    std::fs::create_dir_all(car("000000000003")).unwrap();
    std::fs::write(car("000000000003").join("part-000000.parquet"), &good[..good.len() / 2]).unwrap();
    let fake = [&b"PAR1"[..], &[0x5a; 3000], b"PAR1"].concat();
    std::fs::write(car("000000000003").join("part-000001.parquet"), fake).unwrap();

    let report = crate::convert(&data, &dir.path().join("all.csv"));
    assert_eq!(report.rows, rows);
    let skipped: Vec<_> = report.warnings.iter().filter(|w| w.starts_with("skipped")).collect();
    assert_eq!(skipped.len(), 2, "{:?}", report.warnings);
    assert!(skipped.iter().all(|w| w.contains("000000000003")), "{skipped:?}");

    // Only the damaged files: nothing readable, an error.
    let bad = dir.path().join("bad");
    std::fs::create_dir_all(&bad).unwrap();
    std::fs::rename(car("000000000003"), bad.join("car=x")).unwrap();
    let out = dir.path().join("none.csv");
    let err =
        convert::convert(&bad, &out, &convert::ConvertOptions::default(), &mut |_| {}).expect_err("nothing");
    assert!(err.to_string().contains("part-00000"), "{err}");
    assert!(!out.exists());
}
