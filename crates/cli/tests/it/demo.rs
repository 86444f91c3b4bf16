//! `pitwall demo`: the README's main command runs on the simulators and shows live timing.

use crate::{pitwall, run_ok};

#[test]
fn demo_follows_a_simulated_server_live_and_stores_every_telemetry_frame() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("demo");
    let out = run_ok(
        pitwall()
            .args(["demo", "--telemetry-cars", "2", "--game-speed", "10"])
            .arg("--data")
            .arg(&data)
            .args(["--duration", "4", "--speed", "200", "--cars", "6", "--board-every", "2"]),
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("new session: Practice"), "{text}");
    assert_eq!(text.matches(" joins in car ").count(), 6, "{text}");
    assert!(text.matches("⏱ car ").count() >= 6, "laps completed: {text}");
    assert!(text.contains("pos  car  driver"), "timing board: {text}");
    let summary = text.lines().find(|l| l.contains("events over UDP")).expect("summary line");
    assert!(summary.contains("(0 malformed, 0 rejected)"), "{summary}");
    assert!(summary.contains("lap_completed"), "{summary}");

    // The car side: both bridges' frames acked, and stored exactly once by the server.
    let acked: Vec<(u64, u64)> = text
        .lines()
        .filter(|l| l.starts_with("telemetry car-") && l.contains("acked by the server"))
        .map(|l| {
            let n = |after: &str| -> u64 {
                l.split(after).next().unwrap().split_whitespace().last().unwrap().parse().unwrap()
            };
            (n(" frames in "), n(" acked by the server"))
        })
        .collect();
    assert_eq!(acked.len(), 2, "{text}");
    for (frames, acked) in &acked {
        assert!(*frames > 1000, "{text}");
        assert_eq!(frames, acked, "every recorded frame acked: {text}");
    }
    let total: u64 = acked.iter().map(|(f, _)| f).sum();
    assert!(
        text.contains(&format!(
            "{total} frames stored exactly once (of {total} recorded by the bridges; 0 duplicates"
        )),
        "{text}"
    );
    assert_eq!(text.matches("  session ").count(), 2, "two sessions in the catalogue: {text}");
    assert!(data.join("recordings/car-1.pb.gz").is_file());
    assert!(data.join("server/sinks/parquet").is_dir());
}
