//! `pitwall relay` between the simulated server and three plugins: two pitwall ACSP clients and
//! Python's acudpclient 1.1.0 (scripts/interop/relay_acudpclient.py, from the project's .venv,
//! which scripts/test fills). Every plugin sees every event, answers go to the asker only, the
//! two clients get updates at the 1000 ms and 100 ms they asked for while the server is asked
//! for 100 ms, the metrics show it, and the capture decodes to what the plugins saw.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use acsp::Event;
use acsp::client::{Client, ClientConfig};
use sim::server::{ServerConfig, ServerSim};

use crate::pitwall;
use crate::procs::sigterm;

fn free_udp() -> SocketAddr {
    UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap()
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The project's Python with acudpclient, or why not.
fn python() -> Result<PathBuf, String> {
    let python = repo_root().join(".venv/bin/python");
    let ok = Command::new(&python)
        .args([
            "-c",
            "import acudpclient, importlib.metadata as m; assert m.version('acudpclient') == '1.1.0'",
        ])
        .status()
        .map(|s| s.success());
    match ok {
        Ok(true) => Ok(python),
        _ => Err(format!("{} has no acudpclient 1.1.0 (scripts/test installs it)", python.display())),
    }
}

/// Updates of one car a client got after `from`.
fn updates(events: &[(Instant, Event)], car: u8, from: Instant) -> usize {
    events.iter().filter(|(at, e)| *at >= from && matches!(e, Event::CarUpdate(u) if u.car_id == car)).count()
}

fn names(events: &[(Instant, Event)]) -> Vec<String> {
    events
        .iter()
        .filter(|(_, e)| !matches!(e, Event::CarUpdate(_)))
        .map(|(_, e)| format!("ACSP_{}", e.name().to_uppercase()))
        .collect()
}

async fn drain(client: &mut Client, d: Duration) -> Vec<(Instant, Event)> {
    let end = tokio::time::Instant::now() + d;
    let mut out = Vec::new();
    while let Ok(Ok(e)) = tokio::time::timeout_at(end, client.next_event()).await {
        out.push((Instant::now(), e));
    }
    out
}

fn metrics(addr: SocketAddr) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
    let mut body = String::new();
    s.read_to_string(&mut body).unwrap();
    body
}

struct Relay(Child);

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn three_plugins_behind_the_relay() {
    let dir = tempfile::tempdir().unwrap();
    let capture = dir.path().join("relay.pcap");
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let sim = runtime
        .block_on(ServerSim::bind(ServerConfig {
            cars: 3,
            join_interval: Duration::ZERO,
            load_time: Duration::from_millis(200),
            bind: "127.0.0.1:0".parse().unwrap(),
            plugin: "127.0.0.1:9".parse().unwrap(),
            ..ServerConfig::default()
        }))
        .unwrap();
    let (listen, metrics_addr) = (free_udp(), crate::procs::free_addr());
    let (slow, slow_reply, fast, fast_reply, py, py_reply) =
        (free_udp(), free_udp(), free_udp(), free_udp(), free_udp(), free_udp());
    let plugin =
        |name: &str, at: SocketAddr, reply: SocketAddr| format!("{name}={at},reply={}", reply.port());
    let mut child = pitwall()
        .args(["relay", "--server", &sim.local_addr().to_string(), "--listen", &listen.to_string()])
        .args(["--plugin", &plugin("slow", slow, slow_reply), "--plugin", &plugin("fast", fast, fast_reply)])
        .args(["--plugin", &plugin("py", py, py_reply), "--metrics", &metrics_addr.to_string(), "--capture"])
        .arg(&capture)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut said = String::new();
    while !said.contains("metrics on") {
        let mut line = String::new();
        assert!(stdout.read_line(&mut line).unwrap() > 0, "pitwall relay ended early: {said}");
        said.push_str(&line);
    }
    let mut stderr = child.stderr.take().unwrap();
    let relay = Relay(child);
    assert!(
        said.contains(&format!("plugin slow: events to {slow}, commands on 127.0.0.1:{}", slow_reply.port())),
        "{said}"
    );

    // The Python plugin, if acudpclient is there; loudly skipped otherwise.
    let python_plugin = match python() {
        Ok(python) => {
            let mut p = Command::new(python)
                .arg(repo_root().join("scripts/interop/relay_acudpclient.py"))
                .args([py.port().to_string(), py_reply.port().to_string(), "5".into(), "2".into()])
                .stdout(Stdio::piped())
                .spawn()
                .unwrap();
            let mut out = BufReader::new(p.stdout.take().unwrap());
            let mut line = String::new();
            out.read_line(&mut line).unwrap();
            assert_eq!(line.trim(), "ready");
            Some((p, out))
        }
        Err(why) => {
            eprintln!("\n!!!!!!!! SKIPPED the acudpclient plugin of the relay test: {why} !!!!!!!!\n");
            None
        }
    };

    let (got_slow, got_fast, commands) = runtime.block_on(async {
        let bind = |at: SocketAddr, reply: SocketAddr, ms: u16| {
            let mut c = ClientConfig::new(at, reply);
            c.realtime_interval_ms = Some(ms);
            Client::bind(c)
        };
        let mut slow = bind(slow, slow_reply, 1000).await.unwrap();
        let mut fast = bind(fast, fast_reply, 100).await.unwrap();
        let mut sim = sim;
        sim.set_plugin_addr(listen);
        let server = sim.spawn();
        tokio::time::sleep(Duration::from_millis(500)).await;
        fast.get_car_info(1).await.unwrap();
        let from = Instant::now() + Duration::from_millis(500);
        let (a, b) =
            tokio::join!(drain(&mut slow, Duration::from_secs(4)), drain(&mut fast, Duration::from_secs(4)));
        let commands = server.commands();
        server.shutdown().await.unwrap();
        // The rates are counted over the 3.5 s after `from`.
        ((a, from), (b, from), commands)
    });
    let text = metrics(metrics_addr);
    let python_said = python_plugin.map(|(mut p, mut out)| {
        let mut line = String::new();
        out.read_line(&mut line).unwrap();
        assert!(p.wait().unwrap().success());
        serde_json::from_str::<serde_json::Value>(&line).unwrap()
    });
    sigterm(&relay.0);
    let mut relay = relay;
    assert!(relay.0.wait().unwrap().success());
    let mut summary = String::new();
    stderr.read_to_string(&mut summary).unwrap();

    // Rates: 1000 ms and 100 ms, the server asked for 100 ms.
    let ((slow_events, from), (fast_events, _)) = (got_slow, got_fast);
    for car in 0..3 {
        let s = updates(&slow_events, car, from);
        let f = updates(&fast_events, car, from);
        assert!((2..=5).contains(&s), "car {car}: {s} updates at 1000 ms in 3.5 s");
        assert!((30..=38).contains(&f), "car {car}: {f} updates at 100 ms in 3.5 s");
    }
    let intervals: Vec<u16> = commands
        .iter()
        .filter_map(|c| match c.command {
            acsp::Command::RealtimeposInterval { interval_ms } => Some(interval_ms),
            _ => None,
        })
        .collect();
    assert_eq!(intervals.last(), Some(&100), "{intervals:?}");
    assert!(text.contains("pitwall_relay_server_interval_ms 100\n"), "{text}");
    assert!(text.contains("pitwall_relay_plugin_interval_ms{plugin=\"slow\"} 1000\n"), "{text}");
    assert!(text.contains("pitwall_relay_plugin_dropped_total{plugin=\"fast\"} 0\n"), "{text}");

    // Every event to everyone; the CAR_INFO only to `fast`, which asked.
    let (slow_names, fast_names) = (names(&slow_events), names(&fast_events));
    let without = |v: &[String], what: &str| v.iter().filter(|n| *n != what).cloned().collect::<Vec<_>>();
    assert!(!slow_names.contains(&"ACSP_CAR_INFO".to_owned()));
    assert_eq!(fast_names.iter().filter(|n| *n == "ACSP_CAR_INFO").count(), 1);
    // The two drains end on their own clocks: an event the server sent as they ended can reach
    // one and not the other. Each saw the same events in the same order up to there.
    let fast_names = without(&fast_names, "ACSP_CAR_INFO");
    let common = slow_names.len().min(fast_names.len());
    assert_eq!(slow_names[..common], fast_names[..common]);
    assert!(slow_names.len().abs_diff(fast_names.len()) <= 2, "{slow_names:?}\n{fast_names:?}");
    assert!(slow_names.starts_with(&["ACSP_VERSION".into(), "ACSP_NEW_SESSION".into()]), "{slow_names:?}");
    assert_eq!(slow_names.iter().filter(|n| *n == "ACSP_CLIENT_LOADED").count(), 3);
    if let Some(py) = python_said {
        assert_eq!(py["errors"], serde_json::json!([]), "{py}");
        assert_eq!(py["car_info"], serde_json::json!([2]), "acudpclient got the car it asked for: {py}");
        let py_names: Vec<String> = serde_json::from_value(py["names"].clone()).unwrap();
        assert_eq!(without(&py_names, "ACSP_CAR_INFO"), slow_names, "acudpclient saw the same events");
        let py_updates: u64 = py["updates"]["0"].as_u64().unwrap();
        assert!(py_updates > 30, "acudpclient never asked: the server's 100 ms rate ({py_updates})");
    }

    // The capture decodes (with `pitwall acsp decode`) to what the plugins saw: the datagrams
    // to and from `slow`'s port are its events and its own commands.
    let decoded = crate::run_ok(
        pitwall().args(["acsp", "decode", "--json", "--port", &slow.port().to_string()]).arg(&capture),
    )
    .stdout;
    let types: Vec<String> = String::from_utf8(decoded)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["type"].as_str().unwrap().to_owned())
        .collect();
    let count = |t: &str| types.iter().filter(|x| *x == t).count();
    assert_eq!(
        count("realtimepos_interval"),
        1 + count("new_session"),
        "at start and after each NEW_SESSION"
    );
    let events: Vec<String> = types
        .iter()
        .filter(|t| !matches!(t.as_str(), "car_update" | "realtimepos_interval" | "get_session_info"))
        .map(|t| format!("ACSP_{}", t.to_uppercase()))
        .collect();
    assert_eq!(events, slow_names, "the capture holds what `slow` saw");
    assert_eq!(
        count("car_update"),
        slow_events.iter().filter(|(_, e)| matches!(e, Event::CarUpdate(_))).count()
    );
    assert!(summary.contains("datagrams from the server"), "{summary}");
}

#[test]
fn sighup_reloads_the_plugins_of_the_config_file() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("relay.toml");
    let server = UdpSocket::bind("127.0.0.1:0").unwrap();
    let (a, b, listen, metrics_addr) = (free_udp(), free_udp(), free_udp(), crate::procs::free_addr());
    let plugin = |name: &str, at: SocketAddr| format!("[[plugin]]\nname = \"{name}\"\naddr = \"{at}\"\n");
    let head = format!(
        "server = \"{}\"\nlisten = \"{listen}\"\nmetrics = \"{metrics_addr}\"\n",
        server.local_addr().unwrap()
    );
    std::fs::write(&config, format!("{head}{}", plugin("a", a))).unwrap();
    let mut child = pitwall()
        .args(["relay", "--config"])
        .arg(&config)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    let mut said = String::new();
    while !said.contains("metrics on") {
        let mut line = String::new();
        assert!(stdout.read_line(&mut line).unwrap() > 0, "pitwall relay ended early: {said}");
        said.push_str(&line);
    }
    let relay = Relay(child);
    assert!(metrics(metrics_addr).contains("pitwall_relay_plugin_datagrams_out_total{plugin=\"a\"} 0"));

    // b comes, a goes: the relay says so on stdout, and the metrics follow.
    std::fs::write(&config, format!("{head}{}", plugin("b", b))).unwrap();
    Command::new("kill").args(["-HUP", &relay.0.id().to_string()]).status().unwrap();
    let mut lines = String::new();
    while !(lines.contains("plugin b: added") && lines.contains("plugin a: removed")) {
        let mut line = String::new();
        assert!(stdout.read_line(&mut line).unwrap() > 0, "pitwall relay ended: {lines}");
        lines.push_str(&line);
    }
    let text = metrics(metrics_addr);
    assert!(text.contains("plugin=\"b\""), "{text}");
    assert!(!text.contains("plugin=\"a\""), "{text}");

    // A file that does not parse changes nothing.
    std::fs::write(&config, "this is not toml [").unwrap();
    Command::new("kill").args(["-HUP", &relay.0.id().to_string()]).status().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    assert!(metrics(metrics_addr).contains("plugin=\"b\""));
    sigterm(&relay.0);
    let mut relay = relay;
    assert!(relay.0.wait().unwrap().success());
}
