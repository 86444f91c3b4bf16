//! `pitwall sim game` and `pitwall shm dump` / `watch`: the simulator writes page files into
//! a temporary directory, the reader commands read them back.

use std::path::Path;
use std::process::Output;

use crate::{pitwall, run_ok};

/// Runs the game simulator for one real second at 5× into `dir`.
fn simulate(dir: &Path, extra: &[&str]) -> Output {
    run_ok(
        pitwall()
            .args(["sim", "game", "--shm-dir"])
            .arg(dir)
            .args(["--duration", "1", "--speed", "5"])
            .args(extra),
    )
}

fn dump_json(dir: &Path) -> serde_json::Value {
    let out = run_ok(pitwall().args(["shm", "dump", "--shm-dir"]).arg(dir).arg("--json"));
    serde_json::from_slice(&out.stdout).expect("dump --json prints one JSON document")
}

#[test]
fn dump_json_reads_what_the_simulator_wrote() {
    let dir = tempfile::tempdir().unwrap();
    let sim = simulate(dir.path(), &[]);
    let err = String::from_utf8_lossy(&sim.stderr);
    assert!(err.contains("pitwall sim game: writing"), "{err}");
    assert!(err.contains("stopped"), "{err}");
    for file in ["acpmf_physics", "acpmf_graphics", "acpmf_static"] {
        assert_eq!(std::fs::metadata(dir.path().join(file)).unwrap().len(), 2048, "{file}");
    }

    let json = dump_json(dir.path());
    let (physics, graphics, statics) = (&json["physics"], &json["graphics"], &json["static"]);
    // One real second at 5× is about 1667 physics steps of 3 ms.
    let packet_id = physics["packet_id"].as_i64().unwrap();
    assert!((300..=1700).contains(&packet_id), "{packet_id}");
    assert!(physics["speed_kmh"].as_f64().unwrap() >= 0.0);
    assert_eq!(physics["wheels_pressure"].as_array().unwrap().len(), 4);
    assert!(physics["tyre_temp"].is_array(), "the simulator writes the physics tail");
    assert_eq!(graphics["status"], "live");
    assert_eq!(graphics["session"], "practice");
    assert!(graphics["packet_id"].as_i64().unwrap() > 10);
    let position = graphics["normalized_car_position"].as_f64().unwrap();
    assert!((0.0..1.0).contains(&position), "{position}");
    assert_eq!(
        graphics["is_in_pit_lane"], true,
        "five simulated seconds in, the car is still in the pit lane"
    );
    assert_eq!(statics["track"], "pitwall_ring");
    assert_eq!(statics["track_configuration"], "gp");
    assert_eq!(statics["sm_version"], "1.7");
    assert_eq!(statics["player_name"], "Jürgen");
    assert_eq!(statics["max_rpm"], 9250);
    assert_eq!(statics["sector_count"], 3);
}

#[test]
fn dump_text_lists_every_field_in_the_specs_order() {
    let dir = tempfile::tempdir().unwrap();
    simulate(dir.path(), &["--track", "pitwall_kurs", "--seed", "3"]);
    let out = run_ok(pitwall().args(["shm", "dump", "--shm-dir"]).arg(dir.path()));
    let text = String::from_utf8(out.stdout).unwrap();
    let json = dump_json(dir.path());
    for page in ["physics", "graphics", "static"] {
        assert!(text.contains(&format!("{page}:\n")), "{text}");
        // Every field of the JSON view is listed.
        for key in json[page].as_object().unwrap().keys() {
            assert!(
                text.lines().any(|l| l.trim_start().starts_with(&format!("{key} "))),
                "{page}.{key} missing"
            );
        }
    }
    assert!(text.find("packet_id").unwrap() < text.find("speed_kmh").unwrap());
    assert!(text.contains("\"Südschleife\""), "{text}");
    assert!(text.contains("\"pitwall_kurs\""));
}

#[test]
fn a_saved_snapshot_dumps_the_same() {
    let dir = tempfile::tempdir().unwrap();
    simulate(dir.path(), &["--faults", "drop=0.1,tear=0.1"]);
    let file = dir.path().join("pages.snap");
    let saved = run_ok(
        pitwall().args(["shm", "dump", "--json", "--shm-dir"]).arg(dir.path()).arg("--save").arg(&file),
    );
    assert!(String::from_utf8_lossy(&saved.stderr).contains("snapshot saved"));
    let loaded = run_ok(pitwall().args(["shm", "dump", "--json", "--snapshot"]).arg(&file));
    let a: serde_json::Value = serde_json::from_slice(&saved.stdout).unwrap();
    let b: serde_json::Value = serde_json::from_slice(&loaded.stdout).unwrap();
    assert_eq!(a, b);
    assert_eq!(std::fs::metadata(&file).unwrap().len(), 24 + 712 + 296 + 684);
}

#[test]
fn missing_or_short_page_files_are_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let out = pitwall().args(["shm", "dump", "--shm-dir"]).arg(dir.path()).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("acpmf_physics"), "{err}");

    for file in ["acpmf_physics", "acpmf_graphics", "acpmf_static"] {
        std::fs::write(dir.path().join(file), [0u8; 100]).unwrap();
    }
    let out = pitwall().args(["shm", "dump", "--shm-dir"]).arg(dir.path()).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("acpmf_physics") && err.contains("100 bytes") && err.contains("580"), "{err}");

    let out =
        pitwall().args(["shm", "dump", "--snapshot"]).arg(dir.path().join("acpmf_static")).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("snapshot"));
}

#[test]
fn watch_prints_a_line_a_second_into_a_pipe() {
    let dir = tempfile::tempdir().unwrap();
    simulate(dir.path(), &[]);
    let out = run_ok(pitwall().args(["shm", "watch", "--duration", "2.5", "--shm-dir"]).arg(dir.path()));
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!((2..=4).contains(&lines.len()), "{text}");
    for line in &lines {
        assert!(
            line.contains("status=live") && line.contains("samples=") && line.contains("missed="),
            "{line}"
        );
        assert!(!line.contains('\x1b'), "no escape codes outside a terminal");
    }
}

#[test]
fn bad_simulator_arguments_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    for (args, needle) in [
        (&["--track", "monza"][..], "pitwall_ring"),
        (&["--faults", "smoke=1"][..], "smoke"),
        (&["--speed", "0"][..], "speed"),
    ] {
        let out = pitwall()
            .args(["sim", "game", "--duration", "0.1", "--shm-dir"])
            .arg(dir.path())
            .args(args)
            .output()
            .unwrap();
        assert!(!out.status.success(), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle), "{args:?}: {err}");
    }
}
