//! The relay under a full grid: 24 cars at a 10 ms interval (2400 datagrams/s from the
//! server) and 4 plugins that each ask for 10 ms. Prints datagrams forwarded per second, the
//! latency the relay adds (server send to plugin receive, against the same path without the
//! relay, and through a bare forwarding thread: what a second hop costs at all), the median
//! latency of a burst's first and last update, and the CPU the relay's threads used.
//!
//! `cargo run --release -p pitwall-relay --example relay_bench [-- SECONDS [spread]]` (default 10 s
//! per path, the two paths taking turns a second at a time; Linux for the CPU figure, read from
//! /proc). `spread` sends the cars evenly over the interval instead of in one burst, which
//! shows the relay's own cost apart from a burst's queueing.
//!
//! The server is a plain UDP socket on a thread of its own, sending one burst of 24
//! CAR_UPDATEs per 10 ms tick; each carries a sequence number in its x position, so that a
//! plugin finds when it was sent. Plugins are plain sockets read by threads of their own.
//!
//! Each copy a plugin receives is timed from the send that made it. Through the relay, that is
//! the server's one send of the update (the relay's four sends are what is measured). Without
//! the relay, the server sends the four copies itself, and each is timed from its own send: a
//! copy timed from the first of the four would count the server's own sends of the copies
//! before it, which the relayed path does not have, and so understate what the relay adds.

use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use acsp::{CarUpdate, Command, Event, Vec3};
use relay::{PluginConfig, Relay, RelayConfig};

const CARS: u8 = 24;
const INTERVAL: Duration = Duration::from_millis(10);
const PLUGINS: usize = 4;
/// How long each path runs at a time.
const ROUND: Duration = Duration::from_secs(1);

fn main() {
    let seconds: u64 = std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(10);
    let spread = std::env::args().nth(2).is_some_and(|s| s == "spread");
    let run = Duration::from_secs(seconds);
    println!(
        "relay bench: {CARS} cars every {} ms ({}), {PLUGINS} plugins asking the same, {seconds} s",
        INTERVAL.as_millis(),
        if spread { "spread over the interval" } else { "in one burst per interval" }
    );

    // The paths take turns, a second each, so that all see the same load from the rest of the
    // machine: one after the other, a busy spell in either made the difference meaningless (a
    // negative p99 "added" was common on a shared machine).
    let (mut direct, mut bare, mut relayed) = (Run::default(), Run::default(), Run::default());
    for _ in 0..seconds {
        direct.add(measure(ROUND, Path::Direct, spread));
        bare.add(measure(ROUND, Path::Bare, spread));
        relayed.add(measure(ROUND, Path::Relay, spread));
    }
    let (direct, bare, relayed) = (direct.figures(), bare.figures(), relayed.figures());
    let sent_per_s = relayed.sent as f64 / run.as_secs_f64();
    println!("server sent          {:>10.0} datagrams/s", sent_per_s);
    println!(
        "relay forwarded      {:>10.0} datagrams/s ({} of {} expected, {} held back by the interval rule, {} dropped)",
        relayed.received as f64 / run.as_secs_f64(),
        relayed.received,
        relayed.sent * PLUGINS as u64,
        relayed.skipped,
        relayed.dropped,
    );
    println!(
        "latency, direct      p50 {:>7.1} µs  p99 {:>7.1} µs  max {:>8.1} µs",
        direct.p50_us, direct.p99_us, direct.max_us
    );
    println!(
        "latency, bare hop    p50 {:>7.1} µs  p99 {:>7.1} µs  max {:>8.1} µs",
        bare.p50_us, bare.p99_us, bare.max_us
    );
    println!(
        "latency, relayed     p50 {:>7.1} µs  p99 {:>7.1} µs  max {:>8.1} µs",
        relayed.p50_us, relayed.p99_us, relayed.max_us
    );
    println!(
        "burst's first, last  p50 direct {:.0}, {:.0} µs; bare hop {:.0}, {:.0} µs; relayed {:.0}, {:.0} µs",
        direct.first_p50_us,
        direct.last_p50_us,
        bare.first_p50_us,
        bare.last_p50_us,
        relayed.first_p50_us,
        relayed.last_p50_us,
    );
    println!(
        "added by a bare hop  p50 {:>7.1} µs  p99 {:>7.1} µs  ({} of {} received)",
        bare.p50_us - direct.p50_us,
        bare.p99_us - direct.p99_us,
        bare.received,
        bare.sent * PLUGINS as u64,
    );
    println!(
        "added by the relay   p50 {:>7.1} µs  p99 {:>7.1} µs",
        relayed.p50_us - direct.p50_us,
        relayed.p99_us - direct.p99_us
    );
    match relayed.cpu_s {
        Some(cpu) => println!(
            "relay CPU            {:.2} s in {:.1} s = {:.1} % of one core",
            cpu,
            run.as_secs_f64(),
            100.0 * cpu / run.as_secs_f64()
        ),
        None => println!("relay CPU            (not measured: no /proc)"),
    }
}

/// The way from the server to the plugins.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Path {
    /// The server sends each plugin its copy.
    Direct,
    /// Through the least a relay can be that takes datagrams one at a time: a thread that
    /// receives each with a blocking read and sends it to each plugin, nothing else. What it
    /// adds is the cost of a second hop on this machine at this time.
    Bare,
    /// Through the relay.
    Relay,
}

/// What one or more rounds of a path measured.
#[derive(Default)]
struct Run {
    sent: u64,
    skipped: u64,
    dropped: u64,
    /// Per datagram received, ns.
    latencies: Vec<u64>,
    /// The same, of the first and of the last car update of each burst (each tick's first and
    /// last car in `spread` mode).
    first: Vec<u64>,
    last: Vec<u64>,
    cpu_s: Option<f64>,
}

impl Run {
    fn add(&mut self, round: Run) {
        self.sent += round.sent;
        self.skipped += round.skipped;
        self.dropped += round.dropped;
        self.latencies.extend(round.latencies);
        self.first.extend(round.first);
        self.last.extend(round.last);
        self.cpu_s = match (self.cpu_s, round.cpu_s) {
            (Some(a), Some(b)) => Some(a + b),
            (a, b) => a.or(b),
        };
    }

    fn figures(mut self) -> Figures {
        let median = |v: &mut Vec<u64>| {
            v.sort_unstable();
            v.get(v.len() / 2).copied().unwrap_or(0) as f64 / 1000.0
        };
        let (first_p50_us, last_p50_us) = (median(&mut self.first), median(&mut self.last));
        let latencies = &mut self.latencies;
        latencies.sort_unstable();
        let pct = |p: f64| {
            latencies
                .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
                .copied()
                .unwrap_or(0) as f64
                / 1000.0
        };
        Figures {
            sent: self.sent,
            received: latencies.len() as u64,
            skipped: self.skipped,
            dropped: self.dropped,
            p50_us: pct(0.50),
            p99_us: pct(0.99),
            max_us: latencies.last().copied().unwrap_or(0) as f64 / 1000.0,
            first_p50_us,
            last_p50_us,
            cpu_s: self.cpu_s,
        }
    }
}

struct Figures {
    sent: u64,
    received: u64,
    skipped: u64,
    dropped: u64,
    p50_us: f64,
    p99_us: f64,
    max_us: f64,
    first_p50_us: f64,
    last_p50_us: f64,
    cpu_s: Option<f64>,
}

fn measure(run: Duration, path: Path, spread: bool) -> Run {
    let through_relay = path == Path::Relay;
    let done = Arc::new(AtomicBool::new(false));
    let start = Instant::now();
    let server = UdpSocket::bind("127.0.0.1:0").expect("bind the server");
    let server_addr = server.local_addr().expect("server address");
    let plugin_sockets: Vec<UdpSocket> =
        (0..PLUGINS).map(|_| UdpSocket::bind("127.0.0.1:0").expect("bind a plugin")).collect();
    let plugin_addrs: Vec<SocketAddr> =
        plugin_sockets.iter().map(|s| s.local_addr().expect("plugin address")).collect();

    // The relay, on a runtime whose threads are named, so that their CPU time can be read.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("relay-bench")
        .enable_all()
        .build()
        .expect("tokio runtime");
    let (targets, handle, relay) = if through_relay {
        let mut config = RelayConfig::new(server_addr, "127.0.0.1:0".parse().expect("address"));
        config.plugins = plugin_addrs
            .iter()
            .enumerate()
            .map(|(i, a)| PluginConfig { name: format!("p{i}"), addr: *a, reply: None })
            .collect();
        let relay = runtime.block_on(Relay::bind(config)).expect("bind the relay");
        let handle = relay.handle();
        // Each plugin asks for 10 ms, as a timing plugin would.
        let mut ask = Vec::new();
        acsp::encode(&Command::RealtimeposInterval { interval_ms: INTERVAL.as_millis() as u16 }, &mut ask)
            .expect("encode");
        for (i, s) in plugin_sockets.iter().enumerate() {
            let reply = handle.reply_addr(&format!("p{i}")).expect("plugin added");
            s.send_to(&ask, reply).expect("send the interval");
        }
        (vec![handle.listen_addr()], Some(handle), Some(relay))
    } else if path == Path::Bare {
        (vec![bare_hop(plugin_addrs.clone(), done.clone())], None, None)
    } else {
        (plugin_addrs.clone(), None, None)
    };
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let relay_task = relay.map(|r| {
        runtime.spawn(r.run_until(async move {
            let _ = stop_rx.await;
        }))
    });
    std::thread::sleep(Duration::from_millis(200));

    let total = (run.as_millis() / INTERVAL.as_millis()) as usize * usize::from(CARS);
    // When each copy was sent, at `seq * PLUGINS + plugin`.
    let sent_at: Arc<Vec<AtomicU64>> = Arc::new((0..total * PLUGINS).map(|_| AtomicU64::new(0)).collect());
    let receivers: Vec<_> = plugin_sockets
        .into_iter()
        .enumerate()
        .map(|(plugin, s)| {
            let (sent_at, done) = (sent_at.clone(), done.clone());
            std::thread::spawn(move || receive(s, plugin, start, &sent_at, &done))
        })
        .collect();

    let cpu_before = cpu_seconds("relay-bench");
    let mut buf = Vec::with_capacity(64);
    let mut seq = 0usize;
    let mut next = Instant::now();
    while seq < total {
        for car in 0..CARS {
            buf.clear();
            let update = Event::CarUpdate(CarUpdate {
                car_id: car,
                position: Vec3 { x: seq as f32, y: 0.0, z: 0.0 },
                velocity: Vec3::default(),
                gear: 3,
                engine_rpm: 7000,
                normalized_spline_pos: 0.5,
            });
            acsp::encode_event(&update, &mut buf).expect("encode");
            if path != Path::Direct {
                // One send carries the update to every plugin.
                let at = start.elapsed().as_nanos() as u64;
                for slot in &sent_at[seq * PLUGINS..(seq + 1) * PLUGINS] {
                    slot.store(at, Ordering::Relaxed);
                }
            }
            for (plugin, t) in targets.iter().enumerate() {
                if path == Path::Direct {
                    sent_at[seq * PLUGINS + plugin]
                        .store(start.elapsed().as_nanos() as u64, Ordering::Relaxed);
                }
                let _ = server.send_to(&buf, t);
            }
            seq += 1;
            if spread {
                next += INTERVAL / u32::from(CARS);
                if let Some(wait) = next.checked_duration_since(Instant::now()) {
                    std::thread::sleep(wait);
                }
            }
        }
        if spread {
            continue;
        }
        next += INTERVAL;
        if let Some(wait) = next.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
    }
    std::thread::sleep(Duration::from_millis(300));
    let cpu_after = cpu_seconds("relay-bench");
    done.store(true, Ordering::Relaxed);
    let mut round = Run::default();
    for r in receivers {
        round.add(r.join().expect("receiver"));
    }
    let (skipped, dropped) = handle
        .map(|h| {
            let s = h.stats();
            (
                s.plugins.iter().map(|p| p.core.updates_skipped).sum(),
                s.plugins.iter().map(|p| p.dropped).sum(),
            )
        })
        .unwrap_or((0, 0));
    let _ = stop_tx.send(());
    if let Some(t) = relay_task {
        let _ = runtime.block_on(t);
    }
    Run {
        sent: total as u64,
        skipped,
        dropped,
        cpu_s: cpu_before.zip(cpu_after).map(|(b, a)| a - b),
        ..round
    }
}

/// Starts a bare forwarding thread to `plugins`, until `done`; its address.
fn bare_hop(plugins: Vec<SocketAddr>, done: Arc<AtomicBool>) -> SocketAddr {
    let socket = UdpSocket::bind("127.0.0.1:0").expect("bind the bare hop");
    socket.set_read_timeout(Some(Duration::from_millis(50))).expect("timeout");
    let addr = socket.local_addr().expect("bare hop address");
    std::thread::spawn(move || {
        let mut buf = [0u8; 2048];
        while !done.load(Ordering::Relaxed) {
            let Ok(n) = socket.recv(&mut buf) else { continue };
            for p in &plugins {
                let _ = socket.send_to(&buf[..n], p);
            }
        }
    });
    addr
}

/// Reads plugin number `plugin`'s datagrams until `done`; the latency of each, ns.
fn receive(
    socket: UdpSocket,
    plugin: usize,
    start: Instant,
    sent_at: &[AtomicU64],
    done: &AtomicBool,
) -> Run {
    socket.set_read_timeout(Some(Duration::from_millis(50))).expect("timeout");
    let mut out = Run { latencies: Vec::with_capacity(sent_at.len() / PLUGINS), ..Run::default() };
    let mut buf = [0u8; 2048];
    while !done.load(Ordering::Relaxed) {
        let Ok(n) = socket.recv(&mut buf) else { continue };
        let now = start.elapsed().as_nanos() as u64;
        if let Ok(Event::CarUpdate(u)) = acsp::decode(&buf[..n]) {
            let seq = u.position.x as usize;
            if let Some(at) = sent_at.get(seq * PLUGINS + plugin) {
                let latency = now.saturating_sub(at.load(Ordering::Relaxed));
                out.latencies.push(latency);
                match seq % usize::from(CARS) {
                    0 => out.first.push(latency),
                    car if car == usize::from(CARS) - 1 => out.last.push(latency),
                    _ => {}
                }
            }
        }
    }
    out
}

/// CPU time (user + system) of this process' threads whose name starts with `prefix`, from
/// /proc (Linux); `None` elsewhere.
fn cpu_seconds(prefix: &str) -> Option<f64> {
    // Clock ticks per second: 100 on every Linux configuration in practice (USER_HZ).
    const TICKS: f64 = 100.0;
    let mut total = 0u64;
    for task in std::fs::read_dir("/proc/self/task").ok()? {
        let path = task.ok()?.path();
        let comm = std::fs::read_to_string(path.join("comm")).unwrap_or_default();
        if !comm.starts_with(prefix) {
            continue;
        }
        let stat = std::fs::read_to_string(path.join("stat")).ok()?;
        // Fields after the `(comm)`, which may hold spaces: state is the 3rd field, utime the
        // 14th and stime the 15th of the whole line.
        let rest = &stat[stat.rfind(')')? + 2..];
        let fields: Vec<&str> = rest.split(' ').collect();
        let utime: u64 = fields.get(11)?.parse().ok()?;
        let stime: u64 = fields.get(12)?.parse().ok()?;
        total += utime + stime;
    }
    Some(total as f64 / TICKS)
}
