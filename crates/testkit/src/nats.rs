//! A real NATS server with JetStream on loopback: Debian's `nats-server` (2.9 or later), one node
//! ([`NatsServer`]) or a cluster of three whose routes run on loopback too ([`NatsCluster`]), for
//! streams with three replicas.
//!
//! Each node gets free ports (client, cluster, monitoring) and a store folder in a temporary
//! directory; it is SIGKILLed when dropped. [`NatsServer::kill`] and [`NatsServer::restart`]
//! stop and start it again on the same ports and store, as an outage would. A test that needs
//! the server fails, with a message saying how to install it, when the binary is missing: it
//! never skips (`scripts/test` installs the package).
//!
//! ```no_run
//! let nats = testkit::nats::NatsServer::start();
//! println!("JetStream at {}", nats.url());
//! ```

use std::io::{Read as _, Write as _};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long a node may take to answer its health check (JetStream enabled, and in a cluster a
/// meta leader elected).
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// Starts tried before a test gives up (see [`NatsServer::start`]).
const START_ATTEMPTS: usize = 3;

/// The `nats-server` binary: `$PITWALL_NATS_SERVER`, else the first found on `PATH`, else
/// Debian's `/usr/sbin/nats-server` (root's `PATH` has it; other users' often do not).
///
/// # Panics
/// When none exists: tests that need JetStream fail rather than skip.
pub fn binary() -> PathBuf {
    if let Some(p) = std::env::var_os("PITWALL_NATS_SERVER") {
        return PathBuf::from(p);
    }
    let on_path = std::env::var_os("PATH")
        .map(|paths| std::env::split_paths(&paths).map(|d| d.join("nats-server")).collect::<Vec<_>>())
        .unwrap_or_default();
    on_path
        .into_iter()
        .chain([PathBuf::from("/usr/sbin/nats-server"), PathBuf::from("/usr/bin/nats-server")])
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "nats-server not found (PATH, /usr/sbin, $PITWALL_NATS_SERVER): this test needs a \
                 real JetStream server; install it with `apt-get install nats-server` \
                 (scripts/test does)"
            )
        })
}

/// `n` distinct free TCP ports on 127.0.0.1: bound together (so no two are the same), read and
/// released; the servers bind them right after.
///
/// They are taken below the kernel's ephemeral range (32768 and up on Linux): a node killed and
/// started again binds its ports a second time, and an ephemeral port freed by the kill could
/// meanwhile be handed to another test's connection, which the kernel never does with these.
pub fn free_ports(n: usize) -> Vec<u16> {
    use std::sync::atomic::{AtomicU32, Ordering};
    const FIRST: u32 = 20_000;
    const COUNT: u32 = 12_000;
    // Where the next call starts looking: past the ports handed out before, so that two tests
    // asking at once never get the same ones (they are released before the servers bind them);
    // from the process id at first, so that two test processes start apart.
    static NEXT: AtomicU32 = AtomicU32::new(u32::MAX);
    let _ = NEXT.compare_exchange(u32::MAX, std::process::id() % COUNT, Ordering::Relaxed, Ordering::Relaxed);
    let mut held = Vec::with_capacity(n);
    for _ in 0..COUNT {
        let i = NEXT.fetch_add(1, Ordering::Relaxed) % COUNT;
        let port = u16::try_from(FIRST + i).expect("a port number");
        if let Ok(listener) = TcpListener::bind((Ipv4Addr::LOCALHOST, port)) {
            held.push(listener);
            if held.len() == n {
                break;
            }
        }
    }
    assert_eq!(held.len(), n, "{n} free ports from {FIRST} to {}", FIRST + COUNT - 1);
    held.iter().map(|l| l.local_addr().expect("local address").port()).collect()
}

/// One `nats-server -js` process.
#[derive(Debug)]
pub struct NatsServer {
    name: String,
    port: u16,
    monitor_port: u16,
    /// `(this node's cluster port, the other nodes' cluster ports)` when clustered.
    cluster: Option<(u16, Vec<u16>)>,
    store: PathBuf,
    log: PathBuf,
    child: Option<Child>,
    // Owns the store and log; removed with the server.
    _dir: Option<tempfile::TempDir>,
}

impl NatsServer {
    /// Starts a single node with JetStream (file storage in a temporary folder) and waits until
    /// it is healthy.
    pub fn start() -> NatsServer {
        let mut failures = Vec::new();
        // The free ports are picked, released, then bound by the server: another process may
        // take one in between. A node that exits at start gets fresh ports.
        for _ in 0..START_ATTEMPTS {
            let dir = tempfile::tempdir().expect("temporary folder for nats-server");
            let ports = free_ports(2);
            let mut node = NatsServer::configure("n1", dir.path(), (ports[0], ports[1]), None);
            node._dir = Some(dir);
            node.spawn();
            match node.wait_ready() {
                Ok(()) => return node,
                Err(e) => failures.push(e),
            }
        }
        panic!("nats-server did not start:\n{}", failures.join("\n"))
    }

    fn configure(
        name: &str,
        dir: &Path,
        (port, monitor_port): (u16, u16),
        cluster: Option<(u16, Vec<u16>)>,
    ) -> NatsServer {
        NatsServer {
            name: name.to_owned(),
            port,
            monitor_port,
            cluster,
            store: dir.join(format!("{name}-store")),
            log: dir.join(format!("{name}.log")),
            child: None,
            _dir: None,
        }
    }

    fn spawn(&mut self) {
        assert!(self.child.is_none(), "nats-server {} already runs", self.name);
        let mut cmd = Command::new(binary());
        cmd.args(["-js", "-a", "127.0.0.1", "-n", &self.name])
            .arg("-p")
            .arg(self.port.to_string())
            .arg("-m")
            .arg(self.monitor_port.to_string())
            .arg("-sd")
            .arg(&self.store)
            .arg("-l")
            .arg(&self.log);
        if let Some((own, others)) = &self.cluster {
            let routes: Vec<String> = others.iter().map(|p| format!("nats://127.0.0.1:{p}")).collect();
            cmd.args(["--cluster_name", "pitwall-test"])
                .arg("--cluster")
                .arg(format!("nats://127.0.0.1:{own}"))
                .arg("--routes")
                .arg(routes.join(","));
        }
        cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::null());
        let child = cmd.spawn().unwrap_or_else(|e| panic!("starting {}: {e}", binary().display()));
        self.child = Some(child);
    }

    /// Polls the monitoring endpoint's `/healthz` until it answers 200 (JetStream up and, in a
    /// cluster, current with the meta leader).
    fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    self.child = None;
                    let log = self.log_text();
                    return Err(format!(
                        "nats-server {} exited with {status} at start; its log:\n{log}",
                        self.name
                    ));
                }
            }
            if self.healthy() {
                return Ok(());
            }
            if Instant::now() >= deadline {
                self.kill();
                let log = self.log_text();
                return Err(format!(
                    "nats-server {} not healthy after {READY_TIMEOUT:?}; its log:\n{log}",
                    self.name
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Whether `/healthz` answers 200 now.
    pub fn healthy(&self) -> bool {
        let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, self.monitor_port));
        let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else { return false };
        let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
        let req = "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
        if s.write_all(req.as_bytes()).is_err() {
            return false;
        }
        let mut answer = String::new();
        let _ = s.read_to_string(&mut answer);
        answer.starts_with("HTTP/1.1 200")
    }

    /// The client URL, `nats://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    /// The server's name (`n1`…; what JetStream's cluster info calls it).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The client port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server's log so far (for failure messages).
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Whether the process runs (started and not killed).
    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// SIGKILLs the server and waits for it to be gone; the store stays.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same ports and store (after [`NatsServer::kill`]) and
    /// waits until it is healthy.
    ///
    /// # Panics
    /// When it does not come back (its ports taken meanwhile, say).
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
        if let Err(e) = self.wait_ready() {
            panic!("restarting: {e}");
        }
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Three `nats-server -js` nodes clustered on loopback (routes between them), for replicated
/// (R3) streams.
#[derive(Debug)]
pub struct NatsCluster {
    /// The nodes; kill and restart them one by one.
    pub nodes: Vec<NatsServer>,
    _dir: tempfile::TempDir,
}

impl NatsCluster {
    /// Starts three nodes and waits until every one is healthy (a meta leader elected).
    pub fn start() -> NatsCluster {
        let mut failures = Vec::new();
        // As for one node: ports taken between picking and binding mean a fresh start.
        'attempt: for _ in 0..START_ATTEMPTS {
            let dir = tempfile::tempdir().expect("temporary folder for the nats cluster");
            // Per node: client and monitoring ports, then the three cluster ports.
            let ports = free_ports(9);
            let cluster_ports = &ports[6..];
            let mut nodes: Vec<NatsServer> = (0..3)
                .map(|i| {
                    let others =
                        cluster_ports.iter().enumerate().filter(|(j, _)| *j != i).map(|(_, p)| *p).collect();
                    let name = format!("n{}", i + 1);
                    let client = (ports[2 * i], ports[2 * i + 1]);
                    NatsServer::configure(&name, dir.path(), client, Some((cluster_ports[i], others)))
                })
                .collect();
            for n in &mut nodes {
                n.spawn();
            }
            for n in &mut nodes {
                if let Err(e) = n.wait_ready() {
                    failures.push(e);
                    continue 'attempt;
                }
            }
            return NatsCluster { nodes, _dir: dir };
        }
        panic!("the nats cluster did not start:\n{}", failures.join("\n"))
    }

    /// Every node's client URL, comma-separated (what `--sink nats://…` takes).
    pub fn urls(&self) -> String {
        self.nodes.iter().map(NatsServer::url).collect::<Vec<_>>().join(",")
    }
}
