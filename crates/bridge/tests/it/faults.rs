//! Network faults between the bridge and the server: a TCP proxy on loopback that passes bytes,
//! drops them (a network that swallows everything, the connection left open), stalls (stops
//! reading: the sender's windows fill), and resets connections (RST, and new connections reset
//! at once). Through every fault, each frame reaches the server exactly once.

use std::net::SocketAddr;
use std::time::Duration;

use testkit::wait::eventually;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

use crate::common::{assert_server_has_recording_exactly_once, server, sim_config};

/// What the proxy does to the bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Forwards them.
    Pass,
    /// Reads and discards them, both ways: the connection stays open, nothing arrives.
    Drop,
    /// Stops reading (nothing is lost: what was read is forwarded when the stall ends).
    Stall,
    /// Resets every connection (RST), and every new one at once.
    Reset,
}

/// A TCP proxy in front of `upstream`, whose mode the test switches.
struct Proxy {
    addr: SocketAddr,
    mode: watch::Sender<Mode>,
}

impl Proxy {
    async fn start(upstream: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (mode, rx) = watch::channel(Mode::Pass);
        tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else { return };
                let rx = rx.clone();
                tokio::spawn(async move {
                    // Linger 0: closing a socket sends RST, which is what Reset is for. (Tokio
                    // deprecates SO_LINGER because a non-zero linger blocks on drop; zero
                    // does not.)
                    #[allow(deprecated)]
                    let _ = client.set_linger(Some(Duration::ZERO));
                    if *rx.borrow() == Mode::Reset {
                        return;
                    }
                    let Ok(server) = TcpStream::connect(upstream).await else { return };
                    #[allow(deprecated)]
                    let _ = server.set_linger(Some(Duration::ZERO));
                    let (cr, cw) = client.into_split();
                    let (sr, sw) = server.into_split();
                    let up = tokio::spawn(pump(cr, sw, rx.clone()));
                    let down = tokio::spawn(pump(sr, cw, rx));
                    let _ = tokio::join!(up, down);
                });
            }
        });
        Proxy { addr, mode }
    }

    fn set(&self, mode: Mode) {
        self.mode.send_replace(mode);
    }
}

/// Copies `from` to `to` as the mode says, until either side closes or the mode is Reset.
async fn pump(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    mut mode: watch::Receiver<Mode>,
) {
    let mut buf = vec![0u8; 64 << 10];
    loop {
        let now = *mode.borrow_and_update();
        match now {
            Mode::Reset => return,
            Mode::Stall => {
                if mode.changed().await.is_err() {
                    return;
                }
            }
            Mode::Pass | Mode::Drop => {
                tokio::select! {
                    read = from.read(&mut buf) => {
                        let n = match read {
                            Ok(0) | Err(_) => return,
                            Ok(n) => n,
                        };
                        // The mode read before the bytes arrived decides their fate, unless it
                        // changed meanwhile to Reset.
                        let current = *mode.borrow();
                        match current {
                            Mode::Reset => return,
                            Mode::Drop if now == Mode::Drop => {}
                            _ => {
                                if to.write_all(&buf[..n]).await.is_err() {
                                    return;
                                }
                            }
                        }
                    }
                    changed = mode.changed() => if changed.is_err() { return },
                }
            }
        }
    }
}

/// The bridge streams a simulated session through the proxy while it drops, stalls and resets
/// the connection; at the end the server holds every recorded frame exactly once, and the
/// bridge saw the connection fail and come back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drops_stalls_and_resets_lose_nothing_and_store_nothing_twice() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let record = dir.path().join("rec.pb.gz");
    let ingest = server(&data, "127.0.0.1:0".parse().unwrap()).await;
    let proxy = Proxy::start(ingest.local_addr()).await;
    let mut config = sim_config(&record, Some(proxy.addr), 10.0, 12.0);
    if let Some(s) = &mut config.server {
        // A dead connection is noticed within 1.5 s rather than 15.
        s.keepalive_interval = Duration::from_millis(500);
        s.keepalive_timeout = Duration::from_secs(1);
    }
    let running = bridge::Bridge::start(config).unwrap();
    assert!(eventually(10, || running.status().frames_acked > 500).await, "{:?}", running.status());

    let schedule = [
        (Mode::Drop, 3_000),
        (Mode::Pass, 1_000),
        (Mode::Stall, 2_000),
        (Mode::Pass, 800),
        (Mode::Reset, 300),
        (Mode::Pass, 500),
        (Mode::Reset, 100),
        (Mode::Pass, 100),
        (Mode::Reset, 100),
        (Mode::Pass, 0),
    ];
    let mut acked_during_faults = Vec::new();
    for (mode, ms) in schedule {
        proxy.set(mode);
        tokio::time::sleep(Duration::from_millis(ms)).await;
        acked_during_faults.push((mode, running.status().frames_acked));
    }
    let summary = tokio::task::spawn_blocking(move || running.wait().unwrap()).await.unwrap();
    ingest.shutdown().await.unwrap();
    let s = &summary.status;
    assert!(s.disconnects >= 3, "drop, resets: {s:?} {acked_during_faults:?}");
    assert_eq!(s.backlog_frames, 0, "{s:?}");
    assert_eq!(s.frames_acked, s.frames, "{s:?}");
    assert_server_has_recording_exactly_once(&data, &record);
}
