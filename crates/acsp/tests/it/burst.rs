//! The client under bursts, on real UDP sockets on loopback: every datagram the server sent is
//! either read by the application or counted as lost, in the queue or in the kernel; none is lost
//! silently. With room enough and an application that keeps up, none is lost at all.

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use acsp::client::{Client, ClientConfig};
use acsp::{CarUpdate, Event, Vec3};

/// A full grid: the most cars a server has.
const GRID: u8 = 64;

fn car_update(i: usize) -> Vec<u8> {
    let event = Event::CarUpdate(CarUpdate {
        car_id: (i % usize::from(GRID)) as u8,
        position: Vec3::new(i as f32, 0.5, -(i as f32)),
        velocity: Vec3::new(50.0, 0.0, 10.0),
        gear: 4,
        engine_rpm: 8000,
        normalized_spline_pos: (i % 1000) as f32 / 1000.0,
    });
    let mut out = Vec::new();
    acsp::encode_event(&event, &mut out).unwrap();
    out
}

/// A client on a free loopback port that accepts events from `server` only and sends nothing at
/// start-up (the test's server socket then receives nothing it did not ask for).
async fn client(server: SocketAddr, queue: usize, recv_buffer: usize) -> Client {
    let mut config = ClientConfig::new("127.0.0.1:0".parse().unwrap(), server);
    config.request_session_info = false;
    config.queue = queue;
    config.recv_buffer = recv_buffer;
    Client::bind(config).await.unwrap()
}

/// Reads events until none has come for a while; returns how many.
async fn drain(client: &mut Client) -> u64 {
    let mut read = 0;
    while let Ok(event) = tokio::time::timeout(Duration::from_millis(500), client.next_event()).await {
        assert!(matches!(event.unwrap(), Event::CarUpdate(_)));
        read += 1;
    }
    read
}

/// Tens of thousands of CAR_UPDATEs for a full grid, sent as fast as a real socket sends them,
/// while the application is busy: the runtime thread sleeps, so neither the application nor the
/// receive task reads, the kernel's buffer overflows, and then the small queue does. Once the
/// application reads again, what it reads plus the two loss counters is exactly what was sent.
#[cfg(target_os = "linux")]
#[test]
fn a_burst_while_the_application_is_busy_loses_nothing_silently() {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let server = UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut client = client(server.local_addr().unwrap(), 16, 64 * 1024).await;
        assert!(client.kernel_drops_counted(), "Linux counts the kernel's drops");
        let to = client.local_addr();

        const SENT: u64 = 30_000;
        let sender = std::thread::spawn(move || {
            for i in 0..SENT as usize {
                server.send_to(&car_update(i), to).unwrap();
            }
        });
        // Busy: a blocking wait on the runtime's only thread, as an application stuck in a
        // slow write would be.
        sender.join().unwrap();
        std::thread::sleep(Duration::from_millis(100));

        let read = drain(&mut client).await;
        let s = client.stats().snapshot();
        assert_eq!((s.malformed, s.rejected_source), (0, 0), "{s:?}");
        assert!(s.kernel_drops > 0, "the small buffer overflowed: {s:?}");
        assert!(s.queue_overflow > 0, "the small queue overflowed: {s:?}");
        assert_eq!(s.datagrams, s.events);
        assert_eq!(read + s.queue_overflow, s.events, "{s:?}");
        assert_eq!(read + s.queue_overflow + s.kernel_drops, SENT, "read {read}; {s:?}");
    });
}

/// The same on a multi-threaded runtime, where the receive task keeps draining the socket while
/// the application is busy, so most of the loss moves into the queue; the sum is still exact.
#[cfg(target_os = "linux")]
#[test]
fn a_burst_while_the_receive_task_runs_on_is_counted_too() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    runtime.block_on(async {
        let server = UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut client = client(server.local_addr().unwrap(), 1_000, 64 * 1024).await;
        let to = client.local_addr();
        const SENT: u64 = 30_000;
        let sender = std::thread::spawn(move || {
            for i in 0..SENT as usize {
                server.send_to(&car_update(i), to).unwrap();
            }
        });
        // The application does not read while the burst lasts.
        tokio::task::spawn_blocking(move || sender.join().unwrap()).await.unwrap();
        let read = drain(&mut client).await;
        let s = client.stats().snapshot();
        assert!(s.queue_overflow > 0, "{s:?}");
        assert_eq!(read + s.queue_overflow + s.kernel_drops, SENT, "read {read}; {s:?}");
    });
}

/// A full grid at a 10 ms real-time interval, with the client's default (generous) queue and
/// buffer and an application that reads as events come: nothing is lost, nothing is counted lost.
#[test]
fn a_full_grid_at_a_fast_interval_loses_nothing() {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        let server = UdpSocket::bind("127.0.0.1:0").unwrap();
        let defaults = ClientConfig::default();
        let mut client = client(server.local_addr().unwrap(), defaults.queue, defaults.recv_buffer).await;
        let to = client.local_addr();
        const ROUNDS: u64 = 100;
        let sender = std::thread::spawn(move || {
            let start = Instant::now();
            for round in 0..ROUNDS {
                // One CAR_UPDATE per car, back to back, then wait for the next interval.
                for car in 0..usize::from(GRID) {
                    server.send_to(&car_update(round as usize * usize::from(GRID) + car), to).unwrap();
                }
                let next = start + Duration::from_millis(10 * (round + 1));
                std::thread::sleep(next.saturating_duration_since(Instant::now()));
            }
        });
        let sent = ROUNDS * u64::from(GRID);
        let mut read = 0u64;
        let mut cars = [0u64; GRID as usize];
        while read < sent {
            match tokio::time::timeout(Duration::from_secs(5), client.next_event()).await {
                Ok(Ok(Event::CarUpdate(c))) => {
                    cars[usize::from(c.car_id)] += 1;
                    read += 1;
                }
                Ok(other) => panic!("{other:?}"),
                Err(_) => break,
            }
        }
        sender.join().unwrap();
        let s = client.stats().snapshot();
        assert_eq!(read, sent, "{s:?}");
        assert_eq!((s.queue_overflow, s.kernel_drops, s.malformed), (0, 0, 0), "{s:?}");
        assert!(cars.iter().all(|&n| n == ROUNDS), "every car, every round: {cars:?}");
    });
}

/// The kernel's counter is found for a socket of either family (`/proc/net/udp` and `udp6`).
#[cfg(target_os = "linux")]
#[test]
fn the_kernel_drop_counter_is_found_for_both_address_families() {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        for (bind, server) in [("127.0.0.1:0", "127.0.0.1:9"), ("[::1]:0", "[::1]:9")] {
            let mut config = ClientConfig::new(bind.parse().unwrap(), server.parse().unwrap());
            config.request_session_info = false;
            let client = match Client::bind(config).await {
                Ok(c) => c,
                // A host without IPv6 on loopback: nothing to look at.
                Err(_) if bind.starts_with('[') => continue,
                Err(e) => panic!("{e}"),
            };
            assert!(client.kernel_drops_counted(), "{bind}");
            assert_eq!(client.stats().snapshot().kernel_drops, 0, "{bind}");
        }
    });
}
