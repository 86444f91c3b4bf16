//! `pitwall acsp send`: every command arrives byte-exact at a real UDP socket.

use std::net::UdpSocket;
use std::time::Duration;

use acsp::{Command, SessionType};

use crate::{pitwall, run_ok};

#[test]
fn send_puts_every_command_on_the_wire() {
    let server = UdpSocket::bind("127.0.0.1:0").unwrap();
    server.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let addr = server.local_addr().unwrap().to_string();
    let cases: Vec<(Vec<&str>, Command)> = vec![
        (vec!["realtimepos-interval", "250"], Command::RealtimeposInterval { interval_ms: 250 }),
        (vec!["get-car-info", "5"], Command::GetCarInfo { car_id: 5 }),
        (
            vec!["send-chat", "3", "box this lap è"],
            Command::SendChat { car_id: 3, message: "box this lap è".into() },
        ),
        (vec!["broadcast-chat", "hi"], Command::BroadcastChat { message: "hi".into() }),
        (vec!["get-session-info"], Command::GetSessionInfo { session_index: -1 }),
        (vec!["get-session-info", "2"], Command::GetSessionInfo { session_index: 2 }),
        (
            vec![
                "set-session-info",
                "1",
                "--name",
                "Qualify",
                "--type",
                "qualify",
                "--time",
                "600",
                "--laps",
                "0",
            ],
            Command::SetSessionInfo {
                session_index: 1,
                name: "Qualify".into(),
                session_type: SessionType::Qualify,
                laps: 0,
                time: 600,
                wait_time: 0,
            },
        ),
        (vec!["kick-user", "7"], Command::KickUser { car_id: 7 }),
        (vec!["next-session"], Command::NextSession),
        (vec!["restart-session"], Command::RestartSession),
        (vec!["admin-command", "/ballast 3 50"], Command::AdminCommand { command: "/ballast 3 50".into() }),
    ];
    let mut buf = [0u8; 2048];
    for (args, expected) in cases {
        run_ok(pitwall().args(["acsp", "send", "--server", &addr]).args(&args));
        let (n, _) = server.recv_from(&mut buf).unwrap();
        let mut want = Vec::new();
        acsp::encode(&expected, &mut want).unwrap();
        assert_eq!(&buf[..n], &want[..], "bytes of {args:?}");
        assert_eq!(acsp::decode_command(&buf[..n]).unwrap(), expected);
    }
    // The byte-exact examples of docs/acsp.md, through the binary.
    run_ok(pitwall().args(["acsp", "send", "--server", &addr, "get-session-info", "-1"]));
    let (n, _) = server.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], &[0xcc, 0xff, 0xff]);
}

#[test]
fn send_refuses_a_message_too_long_for_the_protocol() {
    let long = "x".repeat(256);
    let out = pitwall()
        .args(["acsp", "send", "--server", "127.0.0.1:9", "broadcast-chat", &long])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("256 characters") && err.contains("at most 255"), "{err}");
}

/// A negative or infinite --wait is a usage error that says why (exit 2), wherever it stands on
/// the command line; before, clap took `-1` for an unknown argument.
#[test]
fn send_refuses_waits_that_are_not_seconds() {
    for args in [
        &["--wait", "-1", "next-session"][..],
        &["next-session", "--wait", "-1"],
        &["--wait", "inf", "get-session-info", "-1"],
        &["--wait", "-0.001", "kick-user", "3"],
    ] {
        let out = pitwall().args(["acsp", "send", "--server", "127.0.0.1:9"]).args(args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(err.contains("--wait") && err.contains("not a number of seconds"), "{args:?}: {err}");
    }
    // Zero is a wait of no time: sent, nothing awaited.
    let server = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = server.local_addr().unwrap().to_string();
    run_ok(pitwall().args(["acsp", "send", "--server", &addr, "--wait", "0", "next-session"]));
}
