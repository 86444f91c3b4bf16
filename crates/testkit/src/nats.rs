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

/// A free TCP port on 127.0.0.1 (bound, read and released; the server binds it right after).
pub fn free_port() -> u16 {
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind an ephemeral port");
    l.local_addr().expect("local address").port()
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
        let dir = tempfile::tempdir().expect("temporary folder for nats-server");
        let mut node = NatsServer::configure("n1", dir.path(), free_port(), None);
        node._dir = Some(dir);
        node.spawn();
        node.wait_ready();
        node
    }

    fn configure(name: &str, dir: &Path, port: u16, cluster: Option<(u16, Vec<u16>)>) -> NatsServer {
        NatsServer {
            name: name.to_owned(),
            port,
            monitor_port: free_port(),
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
    fn wait_ready(&mut self) {
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    panic!(
                        "nats-server {} exited with {status} at start; its log:\n{}",
                        self.name,
                        self.log_text()
                    );
                }
            }
            if self.healthy() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "nats-server {} not healthy after {READY_TIMEOUT:?}; its log:\n{}",
                self.name,
                self.log_text()
            );
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
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
        self.wait_ready();
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
        let dir = tempfile::tempdir().expect("temporary folder for the nats cluster");
        let cluster_ports: Vec<u16> = (0..3).map(|_| free_port()).collect();
        let mut nodes: Vec<NatsServer> = (0..3)
            .map(|i| {
                let others =
                    cluster_ports.iter().enumerate().filter(|(j, _)| *j != i).map(|(_, p)| *p).collect();
                NatsServer::configure(
                    &format!("n{}", i + 1),
                    dir.path(),
                    free_port(),
                    Some((cluster_ports[i], others)),
                )
            })
            .collect();
        for n in &mut nodes {
            n.spawn();
        }
        for n in &mut nodes {
            n.wait_ready();
        }
        NatsCluster { nodes, _dir: dir }
    }

    /// Every node's client URL, comma-separated (what `--sink nats://…` takes).
    pub fn urls(&self) -> String {
        self.nodes.iter().map(NatsServer::url).collect::<Vec<_>>().join(",")
    }
}
