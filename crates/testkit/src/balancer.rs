//! A TCP load balancer on loopback, as small as one can be and still behave like the real ones
//! in front of pitwall's ingest nodes: each client connection goes to the next backend in
//! round-robin order that accepts it (a backend that refuses, or does not answer within a
//! second, is skipped), and the two sockets are spliced both ways. When either side closes or
//! fails, both connections are shut down, so a client whose backend died sees its connection
//! end and reconnects, through the balancer, to a live one.
//!
//! Plain threads (two per connection), no async runtime: the tests that use it run processes
//! and hold a handful of connections.
//!
//! ```no_run
//! let a: std::net::SocketAddr = "127.0.0.1:50051".parse().unwrap();
//! let b: std::net::SocketAddr = "127.0.0.1:50052".parse().unwrap();
//! let lb = testkit::balancer::Balancer::start(vec![a, b]);
//! println!("clients connect to {}", lb.addr());
//! ```

use std::io::{ErrorKind, Read as _, Write as _};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

/// How long the balancer waits for a backend to accept before trying the next.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// A running balancer; it stops accepting when dropped (spliced connections run to their end).
#[derive(Debug)]
pub struct Balancer {
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    counts: Arc<Counts>,
}

#[derive(Debug, Default)]
struct Counts {
    accepted: AtomicU64,
    /// Per backend, connections spliced to it.
    per_backend: Vec<AtomicU64>,
    /// Client connections closed because no backend accepted them.
    unplaced: AtomicU64,
}

impl Balancer {
    /// Listens on a free loopback port and spreads connections over `backends`.
    ///
    /// # Panics
    /// When it cannot bind a loopback port, or `backends` is empty.
    pub fn start(backends: Vec<SocketAddr>) -> Balancer {
        assert!(!backends.is_empty(), "a balancer needs at least one backend");
        let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port for the balancer");
        let addr = listener.local_addr().expect("the balancer's address");
        // Non-blocking accepts, polled, so that dropping the balancer stops the thread.
        listener.set_nonblocking(true).expect("a non-blocking listener");
        let stop = Arc::new(AtomicBool::new(false));
        let counts = Arc::new(Counts {
            per_backend: backends.iter().map(|_| AtomicU64::new(0)).collect(),
            ..Counts::default()
        });
        let (stop2, counts2) = (Arc::clone(&stop), Arc::clone(&counts));
        std::thread::spawn(move || {
            let next = AtomicUsize::new(0);
            while !stop2.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((client, _)) => {
                        counts2.accepted.fetch_add(1, Ordering::Relaxed);
                        let start = next.fetch_add(1, Ordering::Relaxed);
                        let placed =
                            (0..backends.len()).map(|i| (start + i) % backends.len()).find_map(|i| {
                                TcpStream::connect_timeout(&backends[i], CONNECT_TIMEOUT).ok().map(|s| (i, s))
                            });
                        match placed {
                            Some((i, backend)) => {
                                counts2.per_backend[i].fetch_add(1, Ordering::Relaxed);
                                splice(client, backend);
                            }
                            None => {
                                counts2.unplaced.fetch_add(1, Ordering::Relaxed);
                                let _ = client.shutdown(Shutdown::Both);
                            }
                        }
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(10));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        Balancer { addr, stop, counts }
    }

    /// Where clients connect.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Connections spliced to each backend so far, in the order of the backends given.
    pub fn per_backend(&self) -> Vec<u64> {
        self.counts.per_backend.iter().map(|c| c.load(Ordering::Relaxed)).collect()
    }

    /// Client connections accepted so far.
    pub fn accepted(&self) -> u64 {
        self.counts.accepted.load(Ordering::Relaxed)
    }

    /// Client connections closed because no backend accepted them.
    pub fn unplaced(&self) -> u64 {
        self.counts.unplaced.load(Ordering::Relaxed)
    }
}

impl Drop for Balancer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Copies both ways on two threads; the first direction to end shuts both sockets down.
fn splice(client: TcpStream, backend: TcpStream) {
    let _ = client.set_nodelay(true);
    let _ = backend.set_nodelay(true);
    let (Ok(client2), Ok(backend2)) = (client.try_clone(), backend.try_clone()) else {
        let _ = client.shutdown(Shutdown::Both);
        let _ = backend.shutdown(Shutdown::Both);
        return;
    };
    std::thread::spawn(move || pump(client, backend));
    std::thread::spawn(move || pump(backend2, client2));
}

fn pump(mut from: TcpStream, mut to: TcpStream) {
    let mut buf = vec![0u8; 64 << 10];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = from.shutdown(Shutdown::Both);
    let _ = to.shutdown(Shutdown::Both);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn echo_server(tag: u8) -> (SocketAddr, std::thread::JoinHandle<()>) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        let t = std::thread::spawn(move || {
            for s in l.incoming().take(2) {
                let mut s = s.unwrap();
                let mut b = [0u8; 1];
                while matches!(s.read(&mut b), Ok(1)) {
                    s.write_all(&[tag, b[0]]).unwrap();
                }
            }
        });
        (addr, t)
    }

    fn ask(addr: SocketAddr, byte: u8) -> Option<[u8; 2]> {
        let mut s = TcpStream::connect(addr).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s.write_all(&[byte]).ok()?;
        let mut out = [0u8; 2];
        s.read_exact(&mut out).ok()?;
        Some(out)
    }

    #[test]
    fn connections_alternate_and_a_dead_backend_is_skipped() {
        let (a, _ta) = echo_server(b'a');
        let (b, _tb) = echo_server(b'b');
        // A port nothing listens on: refused, skipped.
        let dead = TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
        let lb = Balancer::start(vec![a, dead, b]);
        let answers: Vec<u8> = (0..3).map(|i| ask(lb.addr(), i).unwrap()[0]).collect();
        // Round robin from a, dead (skipped: b), b.
        assert_eq!(answers, [b'a', b'b', b'b']);
        assert_eq!(lb.per_backend(), [1, 0, 2]);
        assert_eq!(lb.accepted(), 3);
    }
}
