//! `pitwall acsp listen`: events from the server are printed, spoofed ones are not.

use std::io::Read as _;
use std::net::UdpSocket;
use std::process::Stdio;
use std::time::Duration;

use acsp::{Chat, Event, Version};

use crate::pitwall;

fn encoded(e: &Event) -> Vec<u8> {
    let mut v = Vec::new();
    acsp::encode_event(e, &mut v).unwrap();
    v
}

#[test]
fn listen_prints_server_events_as_json_and_rejects_spoofed_ones() {
    let server = UdpSocket::bind("127.0.0.1:0").unwrap();
    server.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let port = UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut child = pitwall()
        .args(["acsp", "listen", "--bind", "127.0.0.1", "--port", &port.to_string()])
        .args([
            "--server",
            &server.local_addr().unwrap().to_string(),
            "--json",
            "--count",
            "2",
            "--duration",
            "20",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The listener asks for the current session first: that also tells us it is bound.
    let mut buf = [0u8; 64];
    let (n, listener) = server.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], &[0xcc, 0xff, 0xff], "GET_SESSION_INFO(-1) at start-up");

    let spoof = UdpSocket::bind("127.0.0.1:0").unwrap();
    let fake = Event::Chat(Chat { car_id: 0, message: "spoofed".into() });
    spoof.send_to(&encoded(&fake), listener).unwrap();
    std::thread::sleep(Duration::from_millis(100));
    server.send_to(&[0xff, 1, 2], listener).unwrap(); // malformed: unknown id
    server.send_to(&encoded(&Event::Version(Version { protocol_version: 4 })), listener).unwrap();
    let chat = Event::Chat(Chat { car_id: 2, message: "grazie è 🏁".into() });
    server.send_to(&encoded(&chat), listener).unwrap();

    let status = child.wait().unwrap();
    let mut stdout = String::new();
    let mut stderr = String::new();
    child.stdout.take().unwrap().read_to_string(&mut stdout).unwrap();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    assert!(status.success(), "{stderr}");
    let lines: Vec<serde_json::Value> = stdout.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 2, "{stdout}");
    assert_eq!(lines[0]["type"], "version");
    assert_eq!(lines[0]["protocol_version"], 4);
    assert_eq!(lines[1]["type"], "chat");
    assert_eq!(lines[1]["car_id"], 2);
    assert_eq!(lines[1]["message"], "grazie è 🏁");
    assert!(stderr.contains("1 malformed"), "{stderr}");
    assert!(stderr.contains("1 from other addresses rejected"), "{stderr}");
}

/// In text output a chat line's escape sequences are escaped: the terminal never gets a raw ESC
/// (or any other control character) from the network.
#[test]
fn listen_text_output_escapes_control_characters() {
    let server = UdpSocket::bind("127.0.0.1:0").unwrap();
    server.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let port = UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = pitwall()
        .args(["acsp", "listen", "--bind", "127.0.0.1", "--port", &port.to_string()])
        .args(["--server", &server.local_addr().unwrap().to_string(), "--count", "1", "--duration", "20"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut buf = [0u8; 64];
    let (_, listener) = server.recv_from(&mut buf).unwrap();
    let chat =
        Event::Chat(Chat { car_id: 2, message: "\u{1b}]0;pwned\u{7}\u{1b}[2J\u{9b}31mhello\r".into() });
    server.send_to(&encoded(&chat), listener).unwrap();

    let out = child.wait_with_output().unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!stdout.contains('\u{1b}'), "a raw ESC reached the terminal: {stdout:?}");
    assert!(!stdout.chars().any(|c| c.is_control() && c != '\n'), "{stdout:?}");
    assert_eq!(
        stdout.trim_end(),
        format!("{:<18} car 2: \\u{{1b}}]0;pwned\\u{{7}}\\u{{1b}}[2J\\u{{9b}}31mhello\\r", "chat")
    );
}

/// Starts `acsp listen` on a free loopback port for events from `server`, and waits for its
/// GET_SESSION_INFO, which says it is bound. Returns the child and the address it listens on.
fn start_listen(server: &UdpSocket, extra: &[&str]) -> (std::process::Child, std::net::SocketAddr) {
    server.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let port = UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let child = pitwall()
        .args(["acsp", "listen", "--bind", "127.0.0.1", "--port", &port.to_string()])
        .args(["--server", &server.local_addr().unwrap().to_string()])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut buf = [0u8; 64];
    let (_, listener) = server.recv_from(&mut buf).unwrap();
    (child, listener)
}

/// The number just before `label` in `text`, e.g. `12` in "12 dropped (queue full)".
fn count_before(text: &str, label: &str) -> u64 {
    let at = text.find(label).unwrap_or_else(|| panic!("no {label:?} in {text}"));
    let digits: String = text[..at]
        .trim_end()
        .chars()
        .rev()
        .take_while(char::is_ascii_digit)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    digits.parse().unwrap_or_else(|_| panic!("no number before {label:?} in {text}"))
}

/// A burst of tens of thousands of CAR_UPDATEs (a full grid, over and over) while the listener
/// cannot print: its stdout is a pipe nobody reads yet, so it blocks on a write and reads nothing
/// from its socket. The losses, in its small queue and in the kernel's small buffer, are on
/// stderr, and with the events printed they add up to what was sent.
#[cfg(target_os = "linux")]
#[test]
fn listen_counts_every_loss_of_a_burst() {
    use acsp::{CarUpdate, Vec3};
    let server = UdpSocket::bind("127.0.0.1:0").unwrap();
    let (mut child, listener) =
        start_listen(&server, &["--json", "--queue", "32", "--recv-buffer", "65536", "--duration", "6"]);
    const SENT: usize = 30_000;
    for i in 0..SENT {
        let update = Event::CarUpdate(CarUpdate {
            car_id: (i % 64) as u8,
            position: Vec3::new(i as f32, 0.0, 0.0),
            velocity: Vec3::new(60.0, 0.0, 0.0),
            gear: 5,
            engine_rpm: 9000,
            normalized_spline_pos: 0.5,
        });
        server.send_to(&encoded(&update), listener).unwrap();
    }
    // Only now is stdout read, to the end: the listener stops after --duration.
    let mut stdout = String::new();
    child.stdout.take().unwrap().read_to_string(&mut stdout).unwrap();
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    assert!(child.wait().unwrap().success(), "{stderr}");

    let printed = stdout.lines().count() as u64;
    assert!(stdout.lines().all(|l| l.starts_with(r#"{"type":"car_update""#)));
    assert_eq!(count_before(&stderr, "events printed"), printed, "{stderr}");
    let queue = count_before(&stderr, "dropped (queue full)");
    let kernel = count_before(&stderr, "dropped by the kernel");
    assert!(queue > 0 && kernel > 0, "both the queue and the kernel buffer overflowed: {stderr}");
    assert_eq!(printed + queue + kernel, SENT as u64, "{stderr}");
    // Said as warnings too: the client's log line, and the summary's with the way out.
    assert!(stderr.contains("the kernel dropped ACSP datagrams"), "{stderr}");
    assert!(stderr.contains(&format!("warning: {} events lost", queue + kernel)), "{stderr}");
    assert!(stderr.contains("--queue") && stderr.contains("--recv-buffer"), "{stderr}");
}

/// With nothing lost, no warning; the counters are still there, at zero.
#[test]
fn listen_reports_zero_losses_without_a_warning() {
    let server = UdpSocket::bind("127.0.0.1:0").unwrap();
    let (child, listener) = start_listen(&server, &["--count", "1", "--duration", "20"]);
    server.send_to(&encoded(&Event::Version(Version { protocol_version: 4 })), listener).unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("1 events printed") && stderr.contains("0 dropped (queue full)"), "{stderr}");
    if cfg!(target_os = "linux") {
        assert!(stderr.contains("0 dropped by the kernel"), "{stderr}");
    }
    assert!(!stderr.contains("lost"), "{stderr}");
}

/// Hostile values reach the output as values, never as raw control characters: NaN and
/// infinite floats are shown as such in text (null in JSON), car ids beyond a grid as they are,
/// invalid UTF-32 as U+FFFD, and escape sequences escaped.
#[test]
fn listen_shows_hostile_values_safely() {
    let vectors = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/acsp/vectors");
    let datagrams: Vec<Vec<u8>> = [
        "hostile_car_update_non_finite_floats.bin",
        "hostile_new_connection_invalid_text.bin",
        "hostile_chat_escapes_and_invalid_utf32.bin",
    ]
    .iter()
    .map(|name| std::fs::read(vectors.join(name)).unwrap())
    .collect();
    for json in [false, true] {
        let server = UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut extra = vec!["--count", "3", "--duration", "20"];
        if json {
            extra.push("--json");
        }
        let (child, listener) = start_listen(&server, &extra);
        for d in &datagrams {
            server.send_to(d, listener).unwrap();
        }
        let out = child.wait_with_output().unwrap();
        let stdout = String::from_utf8(out.stdout).unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{stderr}");
        assert!(!stdout.chars().any(|c| c.is_control() && c != '\n'), "{stdout:?}");
        assert!(stderr.contains("2 with warnings"), "invalid text is counted as damage: {stderr}");
        let lines: Vec<&str> = stdout.lines().collect();
        assert_eq!(lines.len(), 3, "{stdout}");
        if json {
            let v: Vec<serde_json::Value> = lines.iter().map(|l| serde_json::from_str(l).unwrap()).collect();
            assert!(v[0]["position"]["x"].is_null() && v[0]["normalized_spline_pos"].is_null());
            assert_eq!(v[0]["car_id"], 255);
            assert_eq!(v[1]["car_id"], 64);
            assert_eq!(v[1]["driver_name"], "N\u{fffd}i\u{fffd}");
            assert_eq!(v[2]["message"], "\u{1b}[2J\u{fffd}\u{9b}\u{fffd}");
            assert!(lines[2].contains("\\u001b[2J\u{fffd}\\u009b"), "C1 escaped too: {}", lines[2]);
        } else {
            assert!(
                lines[0].contains("car 255 pos (NaN, inf, -inf)") && lines[0].contains("spline inf"),
                "{}",
                lines[0]
            );
            assert!(lines[1].contains("car 64 driver \"N\u{fffd}i\u{fffd}\""), "{}", lines[1]);
            assert!(lines[2].ends_with("car 7: \\u{1b}[2J\u{fffd}\\u{9b}\u{fffd}"), "{}", lines[2]);
        }
    }
}

/// A negative, infinite or non-numeric --duration is a usage error that says what a duration
/// must be (exit 2): before, `-1` was an unknown argument to clap and `inf` a panic.
#[test]
fn listen_refuses_durations_that_are_not_seconds() {
    for bad in ["-1", "-0.5", "inf", "NaN", "1e400", "soon"] {
        let out = pitwall().args(["acsp", "listen", "--port", "0", "--duration", bad]).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "--duration {bad}: {err}");
        assert!(err.contains("--duration") && err.contains("not a number of seconds"), "{bad}: {err}");
        assert!(!err.contains("unexpected argument") && !err.contains("panicked"), "{bad}: {err}");
    }
    for (flag, bad) in [("--queue", "0"), ("--queue", "-5"), ("--recv-buffer", "-1"), ("--recv-buffer", "0")]
    {
        let out = pitwall().args(["acsp", "listen", "--port", "0", flag, bad]).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{flag} {bad}: {err}");
        assert!(err.contains(flag), "{flag} {bad}: {err}");
    }
}
