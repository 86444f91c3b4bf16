//! Files written by the writer, read back channel by channel by the independent reader.

use std::io::Cursor;

use motec::read::{self, Raw};
use motec::{ChannelSpec, Device, LdDateTime, LdHeader, LdWriter, SampleType, Scaling};

fn header() -> LdHeader {
    LdHeader {
        driver: "Jürgen Ødegård".into(),
        vehicle_id: "ks_mazda_mx5_cup".into(),
        venue: "ks_nurburgring-layout_gp".into(),
        event: "pitwall test day".into(),
        session: "Practice".into(),
        short_comment: "sim seed 7".into(),
        event_comment: "a long comment ".repeat(20),
        vehicle_type: "GT3".into(),
        vehicle_comment: "spec car".into(),
        vehicle_weight: 1300,
        date_time: LdDateTime::from_unix(1_718_000_000, 2 * 3600),
        device: Device { serial: 4242, kind: "PWL".into(), version: 101 },
    }
}

/// Writes `channels` with `values[i]` pushed to channel i, through an in-memory output and
/// spill, with small chunks so that most samples go through the spill file.
fn write(header: LdHeader, channels: Vec<ChannelSpec>, values: &[Vec<f64>]) -> (Vec<u8>, motec::LdSummary) {
    let mut out = Vec::new();
    let mut writer =
        LdWriter::new(&mut out, Cursor::new(Vec::new()), header, channels).unwrap().with_chunk_bytes(64);
    // Interleave the pushes as a converter does: one sample of each channel in turn.
    let longest = values.iter().map(Vec::len).max().unwrap_or(0);
    for k in 0..longest {
        for (i, v) in values.iter().enumerate() {
            if let Some(&x) = v.get(k) {
                writer.push(i, x).unwrap();
            }
        }
    }
    let summary = writer.finish().unwrap();
    (out, summary)
}

#[test]
fn every_sample_type_and_rate_reads_back() {
    let channels = vec![
        ChannelSpec::f32("G Force Lat", "GLat", "G", 333),
        ChannelSpec::i16("Gear", "Gear", "", 60, 0),
        ChannelSpec::i32("Ground Speed", "Speed", "km/h", 333, 3),
        ChannelSpec::i16("Throttle Pos", "Thr", "%", 100, 1),
        ChannelSpec {
            scaling: Scaling { shift: -40, multiplier: 2, scale: 5, decimal_places: 2 },
            ..ChannelSpec::i32("Oil Temp", "OilT", "C", 10, 0)
        },
        ChannelSpec::f32("Empty", "Empty", "", 1),
    ];
    let n = 1000;
    let values = vec![
        (0..n).map(|i| (f64::from(i) * 0.013).sin() * 2.5).collect::<Vec<_>>(),
        (0..n / 5).map(|i| f64::from(i % 7) - 1.0).collect(),
        (0..n).map(|i| 100.0 + f64::from(i) * 0.1234).collect(),
        (0..n / 3).map(|i| f64::from(i % 1001) / 10.0).collect(),
        (0..34).map(|i| 70.0 + f64::from(i) * 1.37).collect(),
        vec![],
    ];
    let (bytes, summary) = write(header(), channels.clone(), &values);
    assert_eq!(summary.samples, values.iter().map(|v| v.len() as u64).collect::<Vec<_>>());
    assert_eq!(summary.bytes, bytes.len() as u64);
    assert_eq!(summary.clipped, 0);

    let log = read::parse(&bytes).unwrap();
    assert_eq!(log.channels.len(), channels.len());
    assert_eq!(log.header.channel_count, channels.len() as u32);
    for ((spec, expected), got) in channels.iter().zip(&values).zip(&log.channels) {
        assert_eq!(got.name, spec.name);
        assert_eq!(got.short_name, spec.short_name);
        assert_eq!(got.unit, spec.unit);
        assert_eq!(got.rate_hz, spec.rate_hz);
        assert_eq!(got.raw.len(), expected.len(), "{}", spec.name);
        let values = got.values();
        for (k, (&want, &have)) in expected.iter().zip(&values).enumerate() {
            let tolerance = match spec.sample_type {
                SampleType::F32 => f64::from(f32::EPSILON) * want.abs().max(1.0),
                // Integer channels hold the value rounded to their resolution (plus the
                // float error of the conversion).
                _ => {
                    let s = spec.scaling;
                    0.5 * f64::from(s.multiplier)
                        / f64::from(s.scale)
                        / 10f64.powi(i32::from(s.decimal_places))
                        + 1e-9
                }
            };
            assert!((want - have).abs() <= tolerance, "{} sample {k}: wrote {want}, read {have}", spec.name);
        }
    }
    // Storage types as declared.
    assert!(matches!(log.channels[0].raw, Raw::F32(_)));
    assert!(matches!(log.channels[1].raw, Raw::I16(_)));
    assert!(matches!(log.channels[2].raw, Raw::I32(_)));
    assert_eq!([log.channels[1].type_code, log.channels[2].type_code, log.channels[0].type_code], [3, 5, 7]);
    // Exact integers: 100.1234 km/h at 3 decimals is stored as 100123.
    match &log.channels[2].raw {
        Raw::I32(raw) => assert_eq!(raw[1], 100_123),
        other => panic!("unexpected {other:?}"),
    }
}

#[test]
fn header_fields_and_blocks_read_back() {
    let (bytes, summary) =
        write(header(), vec![ChannelSpec::f32("Speed", "Spd", "km/h", 10)], &[vec![1.0, 2.0]]);
    assert!(summary.altered_text.is_empty(), "{:?}", summary.altered_text);
    let h = read::parse(&bytes).unwrap().header;
    assert_eq!(h.driver, "Jürgen Ødegård");
    assert_eq!(h.vehicle_id, "ks_mazda_mx5_cup");
    assert_eq!(h.venue, "ks_nurburgring-layout_gp");
    assert_eq!(h.session, "Practice");
    assert_eq!(h.short_comment, "sim seed 7");
    // 1_718_000_000 is 2024-06-10 06:13:20 UTC; shown at UTC+2.
    assert_eq!((h.date.as_str(), h.time.as_str()), ("10/06/2024", "08:13:20"));
    assert_eq!((h.device_serial, h.device_type.as_str(), h.device_version), (4242, "PWL", 101));
    // The words i2 wants, and the pointers.
    assert_eq!(h.fixed_words, (0, 1_000_000, 0x0080));
    assert_eq!(h.pro_logging, 0, "we do not claim MoTeC's Pro Logging option");
    assert_eq!(h.event_at, 0x6E2);
    assert_eq!(h.first_descriptor, 0x10B4);
    assert_eq!(h.first_data, 0x10B4 + 124);
    let event = h.event.unwrap();
    assert_eq!(event.name, "pitwall test day");
    assert_eq!(event.session, "Practice");
    assert_eq!(event.comment, "a long comment ".repeat(20));
    assert_eq!(event.venue.as_deref(), Some("ks_nurburgring-layout_gp"));
    let vehicle = event.vehicle.unwrap();
    assert_eq!(
        (vehicle.id.as_str(), vehicle.weight, vehicle.kind.as_str()),
        ("ks_mazda_mx5_cup", 1300, "GT3")
    );
    assert_eq!(vehicle.comment, "spec car");
}

#[test]
fn descriptors_form_a_doubly_linked_list_with_running_ids() {
    let channels: Vec<_> = (0..4).map(|i| ChannelSpec::f32(&format!("C{i}"), "", "", 1)).collect();
    let (bytes, _) = write(LdHeader::default(), channels, &[vec![1.0], vec![], vec![2.0, 3.0], vec![4.0]]);
    let log = read::parse(&bytes).unwrap();
    let at: Vec<u64> = log.channels.iter().map(|c| c.descriptor_at).collect();
    assert_eq!(at, [0x10B4, 0x10B4 + 124, 0x10B4 + 248, 0x10B4 + 372]);
    assert_eq!(log.channels.iter().map(|c| c.id).collect::<Vec<_>>(), [0x2EE1, 0x2EE2, 0x2EE3, 0x2EE4]);
    for (i, &d) in at.iter().enumerate() {
        let prev = u32::from_le_bytes(bytes[d as usize..d as usize + 4].try_into().unwrap());
        assert_eq!(u64::from(prev), if i == 0 { 0 } else { at[i - 1] });
    }
    // Data follows the descriptors, channel after channel; an empty channel points nowhere.
    let data: Vec<u64> = log.channels.iter().map(|c| c.data_at).collect();
    assert_eq!(data, [0x10B4 + 496, 0, 0x10B4 + 500, 0x10B4 + 508]);
}

#[test]
fn a_channel_without_samples_and_a_log_without_channels_are_valid() {
    let (bytes, summary) =
        write(LdHeader::default(), vec![ChannelSpec::i16("Nothing", "", "", 20, 0)], &[vec![]]);
    assert_eq!(summary.samples, [0]);
    let log = read::parse(&bytes).unwrap();
    assert!(log.channels[0].raw.is_empty());
    assert_eq!(log.channels[0].data_at, 0);

    let (bytes, summary) = write(LdHeader::default(), vec![], &[]);
    assert_eq!(summary.bytes, 0x10B4);
    let log = read::parse(&bytes).unwrap();
    assert!(log.channels.is_empty());
    assert_eq!((log.header.first_descriptor, log.header.first_data), (0, 0));
}

#[test]
fn long_and_non_ascii_names_are_cut_by_the_documented_rule() {
    let channels = vec![ChannelSpec::f32(
        "A channel name far longer than thirty-one bytes",
        "Shortname",
        "m/s² über",
        10,
    )];
    let header =
        LdHeader { venue: "鈴鹿サーキット".into(), driver: "x".repeat(100), ..LdHeader::default() };
    let (bytes, summary) = write(header, channels, &[vec![1.0]]);
    assert_eq!(summary.altered_text, ["driver", "venue", "channel 0 name", "channel 0 short name"]);
    let log = read::parse(&bytes).unwrap();
    let c = &log.channels[0];
    assert_eq!(c.name, "A channel name far longer than ");
    assert_eq!(c.name.len(), 31);
    assert_eq!(c.short_name, "Shortna");
    assert_eq!(c.unit, "m/s² über", "Latin-1 characters are kept");
    assert_eq!(log.header.venue, "???????");
    assert_eq!(log.header.driver, "x".repeat(63));
    assert_eq!(motec::fit("鈴鹿サーキット", 64), log.header.venue);
}

#[test]
fn out_of_range_values_saturate_and_are_counted() {
    let channels = vec![ChannelSpec::i16("Small", "", "", 10, 2)];
    let (bytes, summary) =
        write(LdHeader::default(), channels, &[vec![1.0, 400.0, -400.0, f64::NAN, 327.67]]);
    assert_eq!(summary.clipped, 3);
    let log = read::parse(&bytes).unwrap();
    assert_eq!(log.channels[0].values(), [1.0, 327.67, -327.68, 0.0, 327.67]);
}

#[test]
fn bad_channel_definitions_and_pushes_are_errors() {
    let spill = || Cursor::new(Vec::new());
    let zero_rate = ChannelSpec::f32("Speed", "", "", 0);
    let err = LdWriter::new(Vec::new(), spill(), LdHeader::default(), vec![zero_rate]).unwrap_err();
    assert_eq!(err.to_string(), "channel 0 (\"Speed\"): the sample rate is 0 Hz");
    let zero_scale = ChannelSpec {
        scaling: Scaling { scale: 0, ..Scaling::IDENTITY },
        ..ChannelSpec::f32("A", "", "", 1)
    };
    assert!(LdWriter::new(Vec::new(), spill(), LdHeader::default(), vec![zero_scale]).is_err());

    let mut w =
        LdWriter::new(Vec::new(), spill(), LdHeader::default(), vec![ChannelSpec::f32("A", "", "", 1)])
            .unwrap();
    assert_eq!(w.push(1, 0.0).unwrap_err().to_string(), "no channel 1: the log has 1 channels");
    assert_eq!(
        w.push_row(&[1.0, 2.0]).unwrap_err().to_string(),
        "a row has 2 values but the log has 1 channels"
    );
    w.push_row(&[1.0]).unwrap();
    assert_eq!(w.sample_count(0), 1);
}

#[test]
fn create_writes_a_file_and_leaves_no_spill_behind() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("log.ld");
    let mut w =
        LdWriter::create(&path, header(), vec![ChannelSpec::i32("Ground Speed", "Spd", "km/h", 333, 2)])
            .unwrap()
            .with_chunk_bytes(1024);
    for i in 0..100_000 {
        w.push(0, f64::from(i % 30_000) / 100.0).unwrap();
    }
    w.header_mut().short_comment = "set late".into();
    let summary = w.finish().unwrap();
    assert_eq!(std::fs::metadata(&path).unwrap().len(), summary.bytes);
    let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert_eq!(names, ["log.ld"]);
    let log = read::read_file(&path).unwrap();
    assert_eq!(log.header.short_comment, "set late");
    let v = log.channels[0].values();
    assert_eq!(v.len(), 100_000);
    assert_eq!(v[99_999], 99.99);
}
