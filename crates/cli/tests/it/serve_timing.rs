//! `pitwall serve --acsp-server`: one process on the server box follows the dedicated server
//! (here `pitwall sim server`, over real UDP) and stores its laps in DATA/records.sqlite, next
//! to the telemetry it ingests.

use std::io::{BufRead, BufReader, Read as _};
use std::process::Stdio;

use crate::procs::{free_addr, sigterm};
use crate::{pitwall, run_ok};

fn free_udp_port() -> u16 {
    std::net::UdpSocket::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// `pitwall sim server` on `sim_port`, its events to `plugin_port`: `cars` cars at `speed`× for
/// `seconds` real seconds, practice only (ten simulated minutes).
fn sim_server(sim_port: u16, plugin_port: u16, cars: u8, speed: u32, seconds: u32) -> std::process::Command {
    let mut cmd = pitwall();
    cmd.args([
        "sim",
        "server",
        "--port",
        &sim_port.to_string(),
        "--plugin",
        &format!("127.0.0.1:{plugin_port}"),
    ])
    .args(["--cars", &cars.to_string(), "--speed", &speed.to_string(), "--duration", &seconds.to_string()])
    .args(["--practice", "10", "--qualify", "0", "--race-laps", "0"]);
    cmd
}

/// Reads `stderr` into `said` until a line contains `what`; panics if the process ends first.
fn wait_for(stderr: &mut impl BufRead, said: &mut String, what: &str) {
    while !said.contains(what) {
        assert!(stderr.read_line(said).unwrap() > 0, "ended before saying {what:?}: {said}");
    }
}

#[test]
fn serve_follows_a_dedicated_server_and_keeps_its_laps() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let (sim_port, plugin_port) = (free_udp_port(), free_udp_port());
    let mut serve = pitwall()
        .args(["serve", "--listen", &free_addr().to_string(), "--data"])
        .arg(&data)
        .args(["--acsp-server", &format!("127.0.0.1:{sim_port}"), "--acsp-port", &plugin_port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Ten simulated minutes of practice in about six real seconds.
    let sim = run_ok(&mut sim_server(sim_port, plugin_port, 4, 100, 6));
    let said = String::from_utf8_lossy(&sim.stdout).to_string() + &String::from_utf8_lossy(&sim.stderr);
    sigterm(&serve);
    let status = serve.wait().unwrap();
    let mut stderr = String::new();
    serve.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    assert!(status.success(), "{stderr}");
    assert!(stderr.contains("following the AC server at"), "{stderr}");
    let laps_line =
        stderr.lines().find(|l| l.contains("timing stopped")).unwrap_or_else(|| panic!("{stderr}"));
    let db = data.join("records.sqlite");
    let out = run_ok(pitwall().arg("records").arg("--db").arg(&db).args([
        "--track",
        "ks_red_bull_ring",
        "--layout",
        "layout_gp",
        "--all-laps",
        "--include-invalid",
        "--json",
    ]));
    let rows = String::from_utf8_lossy(&out.stdout).lines().filter(|l| l.starts_with('{')).count();
    assert!(rows > 0, "laps stored: {laps_line}; simulator: {said}");
    assert!(laps_line.contains(&format!("{rows} laps stored")), "{laps_line} vs {rows} rows");
}

#[test]
fn timing_follows_a_dedicated_server_live_with_json_lines() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("records.sqlite");
    let (sim_port, plugin_port) = (free_udp_port(), free_udp_port());
    let mut timing = pitwall()
        .args(["timing", "--server", &format!("127.0.0.1:{sim_port}"), "--port", &plugin_port.to_string()])
        .args(["--json", "--board-every", "0.5", "--db"])
        .arg(&db)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The server starts once pitwall listens, so that its first events (VERSION, NEW_SESSION)
    // reach it.
    let mut stderr = BufReader::new(timing.stderr.take().unwrap());
    let mut said = String::new();
    wait_for(&mut stderr, &mut said, "following the AC server");
    run_ok(&mut sim_server(sim_port, plugin_port, 3, 100, 5));
    sigterm(&timing);
    let status = timing.wait().unwrap();
    let mut stdout = String::new();
    timing.stdout.take().unwrap().read_to_string(&mut stdout).unwrap();
    stderr.read_to_string(&mut said).unwrap();
    let stderr = said;
    assert!(status.success(), "{stderr}");
    let lines: Vec<serde_json::Value> =
        stdout.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"))).collect();
    let of = |t: &str| lines.iter().filter(|v| v["type"] == t).count();
    assert!(of("session_started") >= 1 && of("driver_joined") == 3, "{stdout}");
    let laps = of("lap_completed");
    assert!(laps > 0 && of("board") > 0, "{stdout}");
    let last_board = lines.iter().rev().find(|v| v["type"] == "board").unwrap();
    assert_eq!(last_board["rows"].as_array().map(Vec::len), Some(3), "{last_board}");
    assert!(stderr.contains(&format!("{laps} laps stored")), "{stderr}");
}

/// GET `path` from `addr` over plain HTTP/1.1; the body.
fn http_get(addr: &str, path: &str) -> String {
    use std::io::Write as _;
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    write!(s, "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").unwrap();
    let mut response = String::new();
    s.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    response.split_once("\r\n\r\n").map(|(_, b)| b.to_owned()).unwrap_or_default()
}

/// `pitwall serve` with a relay in front of its timing and the dashboard: a second plugin gets
/// the server's events through the relay, and the dashboard shows the board.
#[test]
fn serve_with_a_relay_plugin_and_the_dashboard() {
    let dir = tempfile::tempdir().unwrap();
    let (sim_port, plugin_port) = (free_udp_port(), free_udp_port());
    let other = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    other.set_read_timeout(Some(std::time::Duration::from_secs(20))).unwrap();
    let mut serve = pitwall()
        .args(["serve", "--listen", &free_addr().to_string(), "--data"])
        .arg(dir.path().join("data"))
        .args(["--acsp-server", &format!("127.0.0.1:{sim_port}"), "--acsp-port", &plugin_port.to_string()])
        .args(["--relay-plugin", &format!("other={}", other.local_addr().unwrap())])
        .args(["--http", "127.0.0.1:0"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(serve.stderr.take().unwrap());
    let mut said = String::new();
    wait_for(&mut stderr, &mut said, "dashboard: http://");
    let dashboard = said.split("dashboard: http://").nth(1).unwrap().split('/').next().unwrap().to_owned();
    let mut sim = sim_server(sim_port, plugin_port, 3, 50, 8)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    // The other plugin hears the server through the relay.
    let mut buf = [0u8; 2048];
    let (n, _) = other.recv_from(&mut buf).unwrap();
    assert!(acsp::decode(&buf[..n]).is_ok());
    // The dashboard's board fills with the server's cars.
    let mut rows = 0;
    for _ in 0..100 {
        let board: serde_json::Value = serde_json::from_str(&http_get(&dashboard, "/api/board")).unwrap();
        rows = board["rows"].as_array().map_or(0, Vec::len);
        if rows == 3 {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(rows, 3, "{said}");
    assert!(http_get(&dashboard, "/").contains("<html"));
    // The live telemetry of the ingest server is there too (no car streams in this test).
    let cars: serde_json::Value = serde_json::from_str(&http_get(&dashboard, "/api/telemetry")).unwrap();
    assert!(cars.is_array() || cars["sessions"].is_array(), "{cars}");
    sim.wait().unwrap();
    sigterm(&serve);
    assert!(serve.wait().unwrap().success());
    stderr.read_to_string(&mut said).unwrap();
    assert!(said.contains("relay plugin other"), "{said}");
    assert!(said.contains("relay stopped"), "{said}");
}

/// The same from a config file (`[timing]`, `[relay]`, `[dashboard]`), reloaded on SIGHUP (what
/// `systemctl reload pitwall-serve` sends) while the server's events flow: a plugin added to
/// the file starts hearing the server, one taken out stops, pitwall's own timing goes on; a
/// setting that needs a restart is named; a broken file changes nothing and ends nothing.
#[test]
fn serve_from_its_config_file_reloads_the_relay_plugins_on_sighup() {
    use std::net::UdpSocket;
    use std::time::Duration;
    let dir = tempfile::tempdir().unwrap();
    let (sim_port, plugin_port) = (free_udp_port(), free_udp_port());
    let (a, b) = (UdpSocket::bind("127.0.0.1:0").unwrap(), UdpSocket::bind("127.0.0.1:0").unwrap());
    for s in [&a, &b] {
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    }
    let config = dir.path().join("serve.toml");
    let head = |listen: std::net::SocketAddr| {
        format!(
            "listen = \"{listen}\"\ndata_dir = \"{}\"\n\n[timing]\nserver = \"127.0.0.1:{sim_port}\"\nport = {plugin_port}\n\n\
             [dashboard]\nlisten = \"127.0.0.1:0\"\n\n",
            dir.path().join("data").display()
        )
    };
    let plugin = |name: &str, at: &UdpSocket| {
        format!("[[relay.plugin]]\nname = \"{name}\"\naddr = \"{}\"\n", at.local_addr().unwrap())
    };
    let listen = free_addr();
    std::fs::write(&config, format!("{}{}", head(listen), plugin("a", &a))).unwrap();
    let mut serve = pitwall()
        .args(["serve", "--config"])
        .arg(&config)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(serve.stderr.take().unwrap());
    let mut said = String::new();
    wait_for(&mut stderr, &mut said, "dashboard: http://");
    assert!(said.contains("relay plugin a: events to"), "{said}");
    let dashboard = said.split("dashboard: http://").nth(1).unwrap().split('/').next().unwrap().to_owned();
    let mut sim = sim_server(sim_port, plugin_port, 3, 50, 60)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut buf = [0u8; 2048];
    let (n, _) = a.recv_from(&mut buf).expect("plugin a hears the server through the relay");
    assert!(acsp::decode(&buf[..n]).is_ok());
    let board =
        || -> serde_json::Value { serde_json::from_str(&http_get(&dashboard, "/api/board")).unwrap() };
    assert!(
        until(Duration::from_secs(20), || board()["rows"].as_array().map_or(0, Vec::len) == 3),
        "the timing sees the three cars"
    );

    // b in, a out, and another address to listen on (that one waits for a restart).
    std::fs::write(&config, format!("{}{}", head(free_addr()), plugin("b", &b))).unwrap();
    std::process::Command::new("kill").args(["-HUP", &serve.id().to_string()]).status().unwrap();
    wait_for(&mut stderr, &mut said, "relay plugins reloaded");
    assert!(said.contains("relay plugin b: added"), "{said}");
    assert!(said.contains("relay plugin a: removed"), "{said}");
    wait_for(&mut stderr, &mut said, "for the next restart: the ingest server's settings");
    let (n, _) = b.recv_from(&mut buf).expect("plugin b hears the server after the reload");
    assert!(acsp::decode(&buf[..n]).is_ok());
    a.set_nonblocking(true).unwrap();
    while a.recv_from(&mut buf).is_ok() {}
    std::thread::sleep(Duration::from_millis(1000));
    assert!(a.recv_from(&mut buf).is_err(), "plugin a still hears the server after it was taken out");
    // pitwall's own timing is still behind the relay: its board moves on.
    let before = board();
    assert!(until(Duration::from_secs(20), || board() != before), "the board stopped after the reload");

    // A file that does not parse: said, and nothing changes.
    std::fs::write(&config, "this is not toml [").unwrap();
    std::process::Command::new("kill").args(["-HUP", &serve.id().to_string()]).status().unwrap();
    wait_for(&mut stderr, &mut said, "not reloaded");
    b.recv_from(&mut buf).expect("plugin b still hears the server");
    assert!(serve.try_wait().unwrap().is_none(), "serve ended on a broken config: {said}");

    sim.kill().unwrap();
    sim.wait().unwrap();
    sigterm(&serve);
    assert!(serve.wait().unwrap().success());
    stderr.read_to_string(&mut said).unwrap();
    assert!(said.contains("relay stopped"), "{said}");
}

/// Polls `cond` every 100 ms until it holds (true) or `limit` has passed (false).
fn until(limit: std::time::Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = std::time::Instant::now() + limit;
    while !cond() {
        if std::time::Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    true
}
