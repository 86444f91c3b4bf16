//! `pitwall demo`: the README's main command runs on the simulators and shows live timing.

use crate::{pitwall, run_ok};

#[test]
fn demo_follows_a_simulated_server_live() {
    let out = run_ok(pitwall().args([
        "demo",
        "--duration",
        "4",
        "--speed",
        "200",
        "--cars",
        "6",
        "--board-every",
        "2",
    ]));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("new session: Practice"), "{text}");
    assert_eq!(text.matches(" joins in car ").count(), 6, "{text}");
    assert!(text.matches("⏱ car ").count() >= 6, "laps completed: {text}");
    assert!(text.contains("pos  car  driver"), "timing board: {text}");
    let summary = text.lines().find(|l| l.contains("events over UDP")).expect("summary line");
    assert!(summary.contains("(0 malformed, 0 rejected)"), "{summary}");
    assert!(summary.contains("lap_completed"), "{summary}");
}
