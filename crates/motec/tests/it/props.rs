//! Properties: whatever the channels and values, the reader gets back what the writer stored.

use std::io::Cursor;

use motec::read;
use motec::{ChannelSpec, LdHeader, LdWriter, SampleType, Scaling};
use proptest::prelude::*;

fn spec() -> impl Strategy<Value = ChannelSpec> {
    (
        prop_oneof![Just(SampleType::I16), Just(SampleType::I32), Just(SampleType::F32)],
        1u16..1000,
        0i16..4,
        -50i16..50,
    )
        .prop_map(|(sample_type, rate_hz, decimal_places, shift)| ChannelSpec {
            name: format!("C{rate_hz}"),
            short_name: "c".into(),
            unit: "u".into(),
            rate_hz,
            sample_type,
            scaling: Scaling { shift, multiplier: 1, scale: 1, decimal_places },
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn written_values_read_back_within_the_channels_resolution(
        channels in proptest::collection::vec((spec(), proptest::collection::vec(-300.0f64..300.0, 0..200)), 0..6),
        chunk in 64usize..512,
    ) {
        let specs: Vec<_> = channels.iter().map(|(s, _)| s.clone()).collect();
        let mut out = Vec::new();
        let mut w = LdWriter::new(&mut out, Cursor::new(Vec::new()), LdHeader::default(), specs).unwrap().with_chunk_bytes(chunk);
        for (i, (_, values)) in channels.iter().enumerate() {
            w.push_slice(i, values).unwrap();
        }
        let summary = w.finish().unwrap();
        prop_assert_eq!(summary.bytes, out.len() as u64);
        let log = read::parse(&out).unwrap();
        prop_assert_eq!(log.channels.len(), channels.len());
        for ((spec, values), got) in channels.iter().zip(&log.channels) {
            let back = got.values();
            prop_assert_eq!(back.len(), values.len());
            for (&want, &have) in values.iter().zip(&back) {
                let step = 10f64.powi(-i32::from(spec.scaling.decimal_places));
                let expected = match spec.sample_type {
                    SampleType::F32 => f64::from(((want - f64::from(spec.scaling.shift)) * 10f64.powi(i32::from(spec.scaling.decimal_places))) as f32) * step + f64::from(spec.scaling.shift),
                    SampleType::I16 => {
                        let raw = ((want - f64::from(spec.scaling.shift)) / step).round().clamp(-32768.0, 32767.0);
                        raw * step + f64::from(spec.scaling.shift)
                    }
                    SampleType::I32 => ((want - f64::from(spec.scaling.shift)) / step).round() * step + f64::from(spec.scaling.shift),
                };
                prop_assert!((expected - have).abs() <= 1e-9 * expected.abs().max(1.0), "{} wrote {} expected {} read {}", spec.name, want, expected, have);
            }
        }
    }
}
