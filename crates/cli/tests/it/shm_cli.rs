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
    assert_eq!(out.status.code(), Some(1), "a data error");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("acpmf_physics"), "{err}");

    for file in ["acpmf_physics", "acpmf_graphics", "acpmf_static"] {
        std::fs::write(dir.path().join(file), [0u8; 100]).unwrap();
    }
    let out = pitwall().args(["shm", "dump", "--shm-dir"]).arg(dir.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "a data error");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("acpmf_physics") && err.contains("100 bytes") && err.contains("580"), "{err}");

    let out =
        pitwall().args(["shm", "dump", "--snapshot"]).arg(dir.path().join("acpmf_static")).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "a data error");
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

/// A page file that is a FIFO makes `shm dump` fail at once with an error naming the file,
/// instead of waiting forever for a writer.
#[cfg(unix)]
#[test]
fn dump_refuses_a_fifo_page_file_without_blocking() {
    use std::time::{Duration, Instant};
    let dir = tempfile::tempdir().unwrap();
    simulate(dir.path(), &[]);
    let fifo = dir.path().join("acpmf_static");
    std::fs::remove_file(&fifo).unwrap();
    assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());

    let mut child = pitwall()
        .args(["shm", "dump", "--shm-dir"])
        .arg(dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("shm dump blocked on a FIFO page file");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!("the static page file {} is a FIFO, not a regular file", fifo.display())),
        "{err}"
    );
}

/// Runs `pitwall` with `args` and a deadline: a hang is a test failure, not a stuck test run.
fn run_bounded(args: &[&std::ffi::OsStr]) -> Output {
    use std::time::{Duration, Instant};
    let mut child = pitwall()
        .args(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            child.kill().unwrap();
            child.wait().unwrap();
            panic!("pitwall {args:?} hung");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

/// `units` as a fixed UTF-16 field, without a NUL when they fill it.
fn utf16_field<const N: usize>(units: &[u16]) -> [u16; N] {
    let mut field = [0u16; N];
    field[..units.len()].copy_from_slice(units);
    field
}

/// Pages no game writes (see `dump_shows_hostile_pages_as_values`), in `dir`.
fn write_hostile_pages(dir: &Path) {
    let mut physics = vec![0xffu8; 2048];
    let gear = std::mem::offset_of!(shm::PhysicsPage, gear);
    physics[gear..gear + 4].copy_from_slice(&i32::MIN.to_le_bytes());
    std::fs::write(dir.join("acpmf_physics"), physics).unwrap();

    let mut graphics = shm::GraphicsPage::new();
    graphics.packet_id = i32::MIN;
    graphics.status = 9;
    graphics.session = -7;
    graphics.completed_laps = i32::MAX;
    graphics.current_sector_index = i32::MAX;
    graphics.i_best_time = i32::MAX;
    graphics.normalized_car_position = f32::NAN;
    graphics.car_coordinates = [f32::INFINITY, f32::NEG_INFINITY, -0.0];
    graphics.current_time = [u16::from(b'9'); 15]; // no NUL
    graphics.tyre_compound =
        utf16_field(&[0xD800, 0x1b, u16::from(b'['), u16::from(b'2'), u16::from(b'J'), 0x9b]);
    let path = dir.join("acpmf_graphics");
    std::fs::write(&path, graphics.as_bytes()).unwrap();
    std::fs::File::options().write(true).open(&path).unwrap().set_len(1 << 20).unwrap();

    let mut statics = shm::StaticPage::new();
    statics.track = [u16::from(b'Z'); 33]; // no NUL
    statics.car_model = utf16_field(&[u16::from(b'f'), 0xDC00, u16::from(b'1')]);
    statics.player_name = utf16_field(&[0x1b, u16::from(b']'), u16::from(b'0'), u16::from(b';'), 0x07]);
    statics.max_fuel = f32::NEG_INFINITY;
    statics.max_rpm = i32::MIN;
    std::fs::write(dir.join("acpmf_static"), statics.as_bytes()).unwrap();
}

/// Pages no game writes, each read and shown as it is: a physics page of all 0xff bytes (NaN
/// floats, -1 ints, a tail that is not zeros) but for a gear of `i32::MIN`, a graphics page with
/// NaN and infinities, extreme ints, enum codes that name nothing and a string without a NUL, in
/// a file of 1 MiB, and a static page whose names have no NUL, lone surrogates and escape
/// sequences. Text shows NaN as NaN (JSON would say null, as for an absent field) and escapes
/// every control character; JSON stays valid (NaN as null) and holds no raw control character.
#[test]
fn dump_shows_hostile_pages_as_values() {
    let dir = tempfile::tempdir().unwrap();
    write_hostile_pages(dir.path());

    let dump = |json: bool| {
        let mut args: Vec<&std::ffi::OsStr> = vec!["shm".as_ref(), "dump".as_ref(), "--shm-dir".as_ref()];
        args.push(dir.path().as_os_str());
        if json {
            args.push("--json".as_ref());
        }
        let out = run_bounded(&args);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let stdout = String::from_utf8(out.stdout).unwrap();
        assert!(!stdout.chars().any(|c| c.is_control() && c != '\n'), "a raw control character: {stdout:?}");
        stdout
    };
    let text = dump(false);
    let line = |name: &str| {
        text.lines()
            .find(|l| l.trim_start().starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("no {name} in {text}"))
            .split_once(name)
            .unwrap()
            .1
            .trim()
            .to_owned()
    };
    assert_eq!(line("speed_kmh"), "NaN");
    assert_eq!(line("gear"), "-2147483648");
    assert_eq!(line("rpms"), "-1");
    assert_eq!(line("tyre_temp"), "[NaN, NaN, NaN, NaN]", "the all-0xff tail is there");
    assert_eq!(line("normalized_car_position"), "NaN");
    assert_eq!(line("car_coordinates"), "[inf, -inf, -0.0]");
    assert_eq!(line("status"), "{unknown: 9}");
    assert_eq!(line("session"), "{unknown: -7}");
    assert_eq!(line("current_time"), format!("\"{}\"", "9".repeat(15)));
    assert_eq!(line("tyre_compound"), "\"\u{fffd}\\u{1b}[2J\\u{9b}\"");
    assert_eq!(line("track"), format!("\"{}\"", "Z".repeat(33)));
    assert_eq!(line("car_model"), "\"f\u{fffd}1\"");
    assert_eq!(line("player_name"), "\"\\u{1b}]0;\\u{7}\"");
    assert_eq!(line("max_fuel"), "-inf");

    let json: serde_json::Value = serde_json::from_str(&dump(true)).unwrap();
    assert!(json["physics"]["speed_kmh"].is_null(), "JSON has no NaN: null");
    assert_eq!(json["physics"]["packet_id"], -1);
    assert_eq!(json["graphics"]["packet_id"], i32::MIN);
    assert_eq!(json["graphics"]["status"]["unknown"], 9);
    assert_eq!(json["graphics"]["tyre_compound"], "\u{fffd}\u{1b}[2J\u{9b}");
    assert_eq!(json["static"]["player_name"], "\u{1b}]0;\u{7}");
}

/// A damaged snapshot file is an error (exit 1) that names the file and says what is wrong and
/// where; a flipped byte inside a page is shown as the odd value it makes; a FIFO is refused at
/// once; contradicting arguments are a usage error (exit 2).
#[test]
fn dump_of_damaged_snapshots_says_which_file_and_what() {
    let dir = tempfile::tempdir().unwrap();
    simulate(dir.path(), &[]);
    let good_path = dir.path().join("good.pwshm");
    run_ok(pitwall().args(["shm", "dump", "--shm-dir"]).arg(dir.path()).arg("--save").arg(&good_path));
    let good = std::fs::read(&good_path).unwrap();

    let mut version = good.clone();
    version[8] = 7;
    let mut length = good.clone();
    length[14] = 0x7f; // the physics page length becomes 8 MiB and more
    let random: Vec<u8> = (0..3000u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    let cases: [(&str, Vec<u8>, &str); 5] = [
        ("truncated.pwshm", good[..900].to_vec(), "snapshot is 900 bytes, but 1716 are needed for its pages"),
        ("header.pwshm", good[..11].to_vec(), "snapshot is 11 bytes, but 24 are needed for its header"),
        ("version.pwshm", version, "snapshot format version 7 (at offset 8)"),
        ("length.pwshm", length, "physics page length (at offset 12) is"),
        ("random.pwshm", random, "not a pitwall page snapshot"),
    ];
    for (name, bytes, expected) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let out = run_bounded(&["shm".as_ref(), "dump".as_ref(), "--snapshot".as_ref(), path.as_os_str()]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{name}: {err}");
        assert!(out.stdout.is_empty(), "{name}: nothing is dumped");
        assert!(err.contains(&format!("{} is not a usable page snapshot", path.display())), "{name}: {err}");
        assert!(err.contains(expected), "{name}: {err}");
    }

    // A flipped byte in the graphics page's status: a decoded page, with the odd value shown.
    let mut flipped = good.clone();
    flipped[24 + 712 + 4] ^= 0x10;
    let path = dir.path().join("flipped.pwshm");
    std::fs::write(&path, flipped).unwrap();
    let out = run_bounded(&["shm".as_ref(), "dump".as_ref(), "--snapshot".as_ref(), path.as_os_str()]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.lines().any(|l| l.trim_start().starts_with("status") && l.ends_with("{unknown: 18}")),
        "{text}"
    );

    #[cfg(unix)]
    {
        let fifo = dir.path().join("fifo.pwshm");
        assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
        let out = run_bounded(&["shm".as_ref(), "dump".as_ref(), "--snapshot".as_ref(), fifo.as_os_str()]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(
            err.contains(&format!("the snapshot {} is a FIFO, not a regular file", fifo.display())),
            "{err}"
        );
    }

    // Usage errors: contradicting sources, a negative duration.
    for args in [
        vec!["shm", "dump", "--snapshot", "x.pwshm", "--shm-dir", "/tmp"],
        vec!["shm", "watch", "--duration", "-1"],
        vec!["shm", "dump", "--bogus"],
    ] {
        let out = pitwall().args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
    }
}

/// `sim game` refuses a page file that is not a regular file (a FIFO would block its writes, a
/// device would be written to), at once, naming it; exit 1.
#[cfg(unix)]
#[test]
fn sim_game_refuses_special_page_files() {
    type Make = fn(&Path);
    let cases: [(&str, Make); 2] = [
        ("a FIFO", |p| assert!(std::process::Command::new("mkfifo").arg(p).status().unwrap().success())),
        ("a device", |p| std::os::unix::fs::symlink("/dev/null", p).unwrap()),
    ];
    for (kind, make) in cases {
        let dir = tempfile::tempdir().unwrap();
        let special = dir.path().join("acpmf_static");
        make(&special);
        let out = run_bounded(&[
            "sim".as_ref(),
            "game".as_ref(),
            "--duration".as_ref(),
            "1".as_ref(),
            "--shm-dir".as_ref(),
            dir.path().as_os_str(),
        ]);
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{kind}: {err}");
        assert!(
            err.contains(&format!(
                "the static page file {} is {kind}, not a regular file",
                special.display()
            )),
            "{kind}: {err}"
        );
    }
}

/// `shm watch` on the same pages: a line a second, the odd values shown, no overflow in the
/// arithmetic on them (laps + 1, gear - 1 of the extreme ints), no control character.
#[test]
fn watch_survives_hostile_pages() {
    let dir = tempfile::tempdir().unwrap();
    write_hostile_pages(dir.path());
    let out = run_bounded(&[
        "shm".as_ref(),
        "watch".as_ref(),
        "--duration".as_ref(),
        "1.5".as_ref(),
        "--shm-dir".as_ref(),
        dir.path().as_os_str(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.chars().any(|c| c.is_control() && c != '\n'), "{text:?}");
    let first = text.lines().next().unwrap_or_else(|| panic!("no line: {stderr}"));
    assert!(first.contains("status=status 9") && first.contains("lap=2147483648"), "{first}");
    assert!(first.contains("gear=-2147483649") && first.contains("speed=NaN"), "{first}");
}
