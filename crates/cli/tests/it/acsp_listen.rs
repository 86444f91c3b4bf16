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
