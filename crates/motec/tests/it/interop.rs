//! Our files read by an independent implementation: the `motec-i2` crate's reader, which was
//! written against a real MoTeC ADL logger's file.

use std::io::Cursor;

use motec::{ChannelSpec, Device, LdDateTime, LdHeader, LdWriter, Scaling};
use motec_i2::{Datatype, LDReader, Sample};

#[test]
fn the_motec_i2_crate_reads_our_header_blocks_channels_and_samples() {
    // ASCII text only: that reader takes text as UTF-8, not as the 8-bit text i2 reads.
    let header = LdHeader {
        driver: "Juergen Odegard".into(),
        vehicle_id: "ks_mazda_mx5_cup".into(),
        venue: "ks_nurburgring".into(),
        event: "Test day".into(),
        session: "Practice".into(),
        short_comment: "pitwall".into(),
        event_comment: "long comment".into(),
        vehicle_type: "GT3".into(),
        vehicle_comment: "white".into(),
        vehicle_weight: 1290,
        date_time: LdDateTime::from_unix(1_700_000_000, 0),
        device: Device::default(),
    };
    let channels = vec![
        ChannelSpec::i32("Ground Speed", "Speed", "km/h", 333, 2),
        ChannelSpec::i16("Gear", "Gear", "", 60, 0),
        ChannelSpec::f32("G Force Lat", "GLat", "G", 333),
        ChannelSpec {
            scaling: Scaling { shift: 0, multiplier: 5, scale: 2, decimal_places: 1 },
            ..ChannelSpec::i16("Scaled", "Sc", "x", 10, 0)
        },
    ];
    let speed: Vec<f64> = (0..2000).map(|i| 80.0 + f64::from(i) * 0.05).collect();
    let gear: Vec<f64> = (0..360).map(|i| f64::from(i / 60 + 1)).collect();
    let lat: Vec<f64> = (0..2000).map(|i| (f64::from(i) * 0.01).sin()).collect();
    let scaled = [12.5, -3.0, 100.25];
    let mut out = Vec::new();
    let mut w =
        LdWriter::new(&mut out, Cursor::new(Vec::new()), header, channels).unwrap().with_chunk_bytes(256);
    for (i, v) in [&speed[..], &gear[..], &lat[..], &scaled[..]].into_iter().enumerate() {
        w.push_slice(i, v).unwrap();
    }
    w.finish().unwrap();

    let mut cursor = Cursor::new(out);
    let mut reader = LDReader::new(&mut cursor);
    let h = reader.read_header().unwrap();
    assert_eq!(
        (h.driver.as_str(), h.vehicleid.as_str(), h.venue.as_str()),
        ("Juergen Odegard", "ks_mazda_mx5_cup", "ks_nurburgring")
    );
    assert_eq!((h.session.as_str(), h.short_comment.as_str()), ("Practice", "pitwall"));
    assert_eq!((h.date_string.as_str(), h.time_string.as_str()), ("14/11/2023", "22:13:20"));
    assert_eq!((h.device_serial, h.device_type.as_str(), h.device_version), (12007, "ADL", 420));
    assert_eq!(h.num_channels, 4);
    let event = reader.read_event().unwrap().unwrap();
    assert_eq!(
        (event.name.as_str(), event.session.as_str(), event.comment.as_str()),
        ("Test day", "Practice", "long comment")
    );
    assert_eq!(reader.read_venue().unwrap().unwrap().name, "ks_nurburgring");
    let vehicle = reader.read_vehicle().unwrap().unwrap();
    assert_eq!(
        (vehicle.id.as_str(), vehicle.weight, vehicle._type.as_str(), vehicle.comment.as_str()),
        ("ks_mazda_mx5_cup", 1290, "GT3", "white")
    );

    let metas = reader.read_channels().unwrap();
    let summary: Vec<_> = metas
        .iter()
        .map(|m| (m.name.as_str(), m.short_name.as_str(), m.unit.as_str(), m.sample_rate, m.datatype.clone()))
        .collect();
    assert_eq!(
        summary,
        [
            ("Ground Speed", "Speed", "km/h", 333, Datatype::I32),
            ("Gear", "Gear", "", 60, Datatype::I16),
            ("G Force Lat", "GLat", "G", 333, Datatype::F32),
            ("Scaled", "Sc", "x", 10, Datatype::I16),
        ]
    );
    for (meta, want) in metas.iter().zip([&speed[..], &gear[..], &lat[..], &scaled[..]]) {
        let samples = reader.channel_data(meta).unwrap();
        assert_eq!(samples.len(), want.len(), "{}", meta.name);
        for (s, &w) in samples.iter().zip(want) {
            let got = s.decode_f64(meta);
            let tolerance = if matches!(s, Sample::F32(_)) {
                1e-6
            } else {
                0.5 * f64::from(meta.mul) / f64::from(meta.scale) / 10f64.powi(i32::from(meta.dec_places))
                    + 1e-9
            };
            assert!((got - w).abs() <= tolerance, "{}: wrote {w}, motec-i2 reads {got}", meta.name);
        }
    }
}
