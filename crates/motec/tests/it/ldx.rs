//! `.ldx` lap-marker files.

use motec::{FastestLap, Ldx};

#[test]
fn markers_and_details_read_back() {
    let ldx = Ldx {
        beacons_us: vec![95_123_000, 186_373_000, 277_001_500],
        total_laps: Some(4),
        fastest: Some(FastestLap { lap: 3, time_ms: 90_628 }),
    };
    let text = ldx.to_xml();
    assert!(text.starts_with("<?xml version=\"1.0\"?>\n<LDXFile "));
    assert!(text.contains("<MarkerGroup Name=\"Beacons\" Index=\"2\">"));
    assert!(text.contains("Name=\"Manual.1\" Flags=\"77\" Time=\"95123000\"/>"));
    assert!(text.contains("<String Id=\"Fastest Time\" Value=\"1:30.628\"/>"));
    assert!(text.contains("<String Id=\"Total Laps\" Value=\"4\"/>"));
    assert_eq!(Ldx::parse(&text).unwrap(), ldx);

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.ldx");
    ldx.write(&path).unwrap();
    assert_eq!(Ldx::parse(&std::fs::read_to_string(&path).unwrap()).unwrap(), ldx);
}

#[test]
fn a_log_without_laps_has_an_empty_marker_group() {
    let text = Ldx::default().to_xml();
    assert!(text.contains("<MarkerGroup Name=\"Beacons\" Index=\"0\">\n    </MarkerGroup>"));
    assert_eq!(Ldx::parse(&text).unwrap(), Ldx::default());
}

#[test]
fn bad_ldx_text_names_the_offset() {
    assert_eq!(Ldx::parse("<xml/>").unwrap_err().to_string(), "bad .ldx at byte 0: no <LDXFile> element");
    let text = "<LDXFile>\n<Marker Name=\"x\" Time=\"12s\"/>";
    assert_eq!(
        Ldx::parse(text).unwrap_err().to_string(),
        "bad .ldx at byte 10: marker Time \"12s\" is not a whole number of µs"
    );
}
