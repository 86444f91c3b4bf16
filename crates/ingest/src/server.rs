//! Putting it together: replay, writer, sink pipelines, the gRPC listener (auth, TLS), and the
//! graceful shutdown that drains them in order.

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tonic::service::Interceptor;
use tonic::transport::server::TcpIncoming;
use tonic::transport::{Identity, ServerTlsConfig};
use tonic::{Request, Status};

use crate::config::Config;
use crate::error::{ErrorChain, IngestError, SinkError, WalError};
use crate::live::LiveTap;
use crate::metrics::{self, MetricsSource};
use crate::service::IngestService;
use crate::sinks::checkpoint::Checkpoints;
use crate::sinks::pipeline::{Pipeline, Settings};
use crate::sinks::{BoxSink, Sink as _, SinkConfig, SinkContext, WalPosition};
use crate::stats::{Stats, StatsSnapshot};
use crate::wal::writer::WalFaults;
use crate::wal::{ReplayReport, Wal, writer};

/// A server to be started: the config plus any sinks built by the caller.
#[derive(Debug)]
pub struct Server {
    config: Config,
    extra_sinks: Vec<(SinkConfig, BoxSink)>,
    wal_faults: Option<Arc<WalFaults>>,
}

impl Server {
    /// A server with this configuration.
    pub fn new(config: Config) -> Self {
        Server { config, extra_sinks: Vec::new(), wal_faults: None }
    }

    /// Fault injection for tests that cannot fill a real disk: see [`WalFaults`].
    #[doc(hidden)]
    pub fn with_wal_faults(mut self, faults: Arc<WalFaults>) -> Self {
        self.wal_faults = Some(faults);
        self
    }

    /// Adds a sink built by the caller (tests, embedders); `config` gives its name and pipeline
    /// settings (its `kind` is ignored).
    pub fn with_sink(mut self, config: SinkConfig, sink: BoxSink) -> Self {
        self.extra_sinks.push((config, sink));
        self
    }

    /// Replays the WAL, starts the writer and the sinks, binds the listener and starts serving.
    pub async fn start(self) -> Result<Running, IngestError> {
        let Server { config, extra_sinks, wal_faults } = self;
        config.validate()?;
        let names: Vec<&str> = config
            .sinks
            .iter()
            .map(|s| s.name.as_str())
            .chain(extra_sinks.iter().map(|(c, _)| c.name.as_str()))
            .collect();
        if let Some(dup) = names.iter().enumerate().find(|(i, n)| names[..*i].contains(n)).map(|(_, n)| n) {
            return Err(crate::error::ConfigError::Invalid(format!("two sinks are named {dup:?}")).into());
        }
        for (sc, _) in &extra_sinks {
            sc.validate()?;
        }
        let data_dir = config.data_dir.clone();
        let wal_dir = data_dir.join("wal");
        std::fs::create_dir_all(&wal_dir)
            .map_err(|source| IngestError::DataDir { path: wal_dir.clone(), source })?;

        // Replay: blocking file I/O, possibly gigabytes.
        let dir = wal_dir.clone();
        let wal = tokio::task::spawn_blocking(move || Wal::open(dir))
            .await
            .map_err(|e| IngestError::Task { task: "replay", message: e.to_string() })??;
        let replay = wal.report().clone();
        if let Some(torn) = &replay.torn_tail {
            tracing::warn!(
                segment = %torn.path.display(),
                offset = torn.offset,
                dropped_bytes = torn.dropped_bytes,
                reason = %torn.reason,
                "torn tail of the last WAL segment cut off (never acked)"
            );
        }
        tracing::info!(
            segments = replay.segments,
            frames = replay.frames,
            sessions = replay.sessions,
            damaged = replay.damaged.len(),
            "WAL replayed"
        );
        let first_segment = wal.segments().first().copied();

        let stats = Arc::new(Stats::default());
        Stats::add(&stats.wal_damaged_regions, replay.damaged.len() as u64);
        Stats::add(&stats.wal_damaged_bytes, replay.damaged.iter().map(|d| d.skipped_bytes).sum());
        let writer_stop = CancellationToken::new();
        let (wal_writer, writer_task) =
            writer::start(wal, config.writer_config(), Arc::clone(&stats), writer_stop.clone(), wal_faults)?;
        let committed = wal_writer.committed();
        let first = first_segment.unwrap_or(committed.borrow().segment);

        // Sinks, each from its checkpoint (or the oldest segment for a new sink).
        let checkpoints = Arc::new(
            Checkpoints::new(&data_dir, &wal_dir, Arc::clone(&stats))
                .map_err(|source| IngestError::Sink { name: "checkpoints".into(), source })?,
        );
        let sinks_stop = CancellationToken::new();
        let sinks_abort = CancellationToken::new();
        // A sink that bridges' acks must wait for (JetStream) gets the gate, and so do the streams.
        let gated = config.sinks.iter().any(|s| matches!(s.kind, crate::sinks::SinkKind::JetStream(_)));
        let gate = gated.then(crate::gate::AckGate::new);
        let mut built = Vec::new();
        for sc in &config.sinks {
            let ctx = SinkContext {
                name: sc.name.clone(),
                dir: data_dir.join("sinks").join(&sc.name),
                data_dir: data_dir.clone(),
                gate: gate.clone(),
            };
            let sink =
                sc.kind.build(&ctx).map_err(|source| IngestError::Sink { name: sc.name.clone(), source })?;
            built.push((sc.clone(), sink));
        }
        built.extend(extra_sinks);
        let mut pipelines = Vec::new();
        for (sc, mut sink) in built {
            let sink_err = |source: SinkError| IngestError::Sink { name: sc.name.clone(), source };
            let stored = checkpoints.load(&sc.name).map_err(sink_err)?;
            let oldest = WalPosition { segment: first, offset: 0 };
            let mut start = stored.map_or(oldest, |p| p.max(oldest));
            if let Some(own) = sink.durable_position().await.map_err(sink_err)? {
                start = start.max(own);
            }
            checkpoints.register(&sc.name, start);
            let pipeline = Pipeline {
                name: sc.name.clone(),
                sink,
                settings: Settings {
                    flush_interval: Duration::from_millis(sc.flush_interval_ms),
                    batch_max_frames: sc.batch_max_frames,
                    backoff: Default::default(),
                },
                wal_dir: wal_dir.clone(),
                start,
                committed: committed.clone(),
                checkpoints: Arc::clone(&checkpoints),
                stats: Arc::clone(&stats),
            };
            let task = tokio::spawn(pipeline.run(sinks_stop.clone(), sinks_abort.clone()));
            pipelines.push((sc.name.clone(), task));
        }

        // The listener.
        let listener = tokio::net::TcpListener::bind(config.listen)
            .await
            .map_err(|source| IngestError::Bind { addr: config.listen, source })?;
        let local_addr =
            listener.local_addr().map_err(|source| IngestError::Bind { addr: config.listen, source })?;
        let shutdown = CancellationToken::new();
        let live = LiveTap::new();
        let service = IngestService::new(
            wal_writer,
            Arc::clone(&stats),
            config.stream_limits(),
            shutdown.clone(),
            live.clone(),
            gate,
        );
        let auth = BearerAuth::new(config.token.as_deref());
        let svc = tonic::service::interceptor::InterceptedService::new(service.into_server(), auth);

        let mut builder = tonic::transport::Server::builder()
            .initial_stream_window_size(config.streams.http2_stream_window)
            .initial_connection_window_size(config.streams.http2_connection_window)
            // A bridge whose link died without a FIN would hold its stream (and its place in
            // the session) forever; keepalive pings find it.
            .http2_keepalive_interval(Some(Duration::from_secs(20)))
            .http2_keepalive_timeout(Some(Duration::from_secs(20)));
        if let Some(tls) = &config.tls {
            let read = |p: &PathBuf| {
                std::fs::read(p).map_err(|e| IngestError::Tls(format!("reading {}: {e}", p.display())))
            };
            let identity = Identity::from_pem(read(&tls.cert)?, read(&tls.key)?);
            builder = builder
                .tls_config(ServerTlsConfig::new().identity(identity))
                .map_err(|e| IngestError::Tls(e.to_string()))?;
        }
        let metrics_source = MetricsSource {
            stats: Arc::clone(&stats),
            checkpoints: Arc::clone(&checkpoints),
            committed: committed.clone(),
            wal_dir: wal_dir.clone(),
        };
        let metrics_stop = CancellationToken::new();
        let (metrics_addr, metrics_task) = match config.metrics {
            Some(addr) => {
                let l = metrics::bind(addr).await?;
                let bound = l.local_addr().map_err(|source| IngestError::Bind { addr, source })?;
                // Beyond loopback the figures need the token (the config check made sure there
                // is one); on loopback a local scraper needs no secret.
                let token = if bound.ip().is_loopback() { None } else { config.token.clone() };
                let auth = token.is_some();
                let stop = metrics_stop.clone();
                let source = metrics_source.clone();
                let task =
                    tokio::spawn(async move { metrics::serve(l, source, token.as_deref(), stop).await });
                tracing::info!(metrics = %bound, auth, "Prometheus metrics at http://{bound}/metrics");
                (Some(bound), Some(task))
            }
            None => (None, None),
        };
        let incoming = TcpIncoming::from(listener).with_nodelay(Some(true));
        let serve = tokio::spawn(
            builder
                .add_service(svc)
                .serve_with_incoming_shutdown(incoming, shutdown.clone().cancelled_owned()),
        );
        tracing::info!(
            listen = %local_addr,
            tls = config.tls.is_some(),
            auth = config.token.is_some(),
            sinks = pipelines.len(),
            "ingest server listening"
        );
        Ok(Running {
            local_addr,
            metrics_addr,
            metrics_source,
            metrics_stop,
            metrics_task,
            replay,
            stats,
            shutdown,
            writer_stop,
            sinks_stop,
            sinks_abort,
            serve,
            writer: writer_task,
            pipelines,
            grace: Duration::from_millis(config.shutdown_grace_ms),
            live,
        })
    }
}

/// A started server.
#[derive(Debug)]
pub struct Running {
    local_addr: SocketAddr,
    metrics_addr: Option<SocketAddr>,
    metrics_source: MetricsSource,
    metrics_stop: CancellationToken,
    metrics_task: Option<JoinHandle<std::io::Result<()>>>,
    replay: ReplayReport,
    stats: Arc<Stats>,
    shutdown: CancellationToken,
    writer_stop: CancellationToken,
    sinks_stop: CancellationToken,
    sinks_abort: CancellationToken,
    serve: JoinHandle<Result<(), tonic::transport::Error>>,
    writer: JoinHandle<Result<(), WalError>>,
    pipelines: Vec<(String, JoinHandle<Result<(), SinkError>>)>,
    grace: Duration,
    live: LiveTap,
}

/// Triggers a graceful shutdown of a [`Running`] server from elsewhere.
#[derive(Debug, Clone)]
pub struct ShutdownHandle(CancellationToken);

impl ShutdownHandle {
    /// Starts the graceful shutdown.
    pub fn shutdown(&self) {
        self.0.cancel();
    }
}

impl Running {
    /// The address the server listens on (with the real port when configured with port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The address of the `/metrics` endpoint, when configured.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_addr
    }

    /// The metrics now, as `/metrics` serves them.
    pub fn metrics(&self) -> String {
        self.metrics_source.render()
    }

    /// What the WAL replay at start-up found.
    pub fn replay_report(&self) -> &ReplayReport {
        &self.replay
    }

    /// The counters now.
    pub fn stats(&self) -> StatsSnapshot {
        self.stats.snapshot()
    }

    /// The live tap: every frame once durable (see [`crate::live`]). Subscribe before frames
    /// arrive to see them; a subscriber that never reads costs ingest nothing.
    pub fn live_tap(&self) -> LiveTap {
        self.live.clone()
    }

    /// A handle that starts the graceful shutdown.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        ShutdownHandle(self.shutdown.clone())
    }

    /// Serves until `signal` completes (or a [`ShutdownHandle`] fires, or the WAL writer's task
    /// or the transport fails), then shuts down gracefully: streams stop reading and get their
    /// last acks, the writer commits what is queued, sinks catch up, flush and checkpoint. A
    /// WAL that cannot be written (a full disk) does not stop the server: the writer retries and
    /// acks resume once it can write again; only if it still cannot at shutdown is that the
    /// error returned. Returns the final counters, or the error that stopped the server.
    pub async fn run_until(mut self, signal: impl Future<Output = ()>) -> Result<StatsSnapshot, IngestError> {
        let mut failure: Option<IngestError> = None;
        let mut serve_done = false;
        let mut writer_done = false;
        tokio::select! {
            _ = signal => tracing::info!("shutdown requested"),
            _ = self.shutdown.cancelled() => tracing::info!("shutdown requested"),
            r = &mut self.serve => {
                serve_done = true;
                failure = serve_failure(r);
            }
            r = &mut self.writer => {
                writer_done = true;
                failure = writer_failure(r);
            }
        }

        // 1. Streams stop reading, wait for their in-flight batches and send the final acks;
        //    the listener stops accepting.
        self.shutdown.cancel();
        if !serve_done {
            match tokio::time::timeout(self.grace, &mut self.serve).await {
                Ok(r) => {
                    if let Some(e) = serve_failure(r) {
                        failure.get_or_insert(e);
                    }
                }
                Err(_) => {
                    tracing::warn!(grace = ?self.grace, "streams did not drain in time; closing connections");
                    self.serve.abort();
                }
            }
        }
        // 2. The writer commits whatever is queued and stops.
        self.writer_stop.cancel();
        if !writer_done {
            if let Some(e) = writer_failure((&mut self.writer).await) {
                failure.get_or_insert(e);
            }
        }
        // 3. Sinks catch up with the final log, flush and store their checkpoints.
        self.sinks_stop.cancel();
        let deadline = tokio::time::Instant::now() + self.grace;
        for (name, task) in &mut self.pipelines {
            let r = match tokio::time::timeout_at(deadline, &mut *task).await {
                Ok(r) => r,
                Err(_) => {
                    tracing::warn!(sink = %name, "sink did not finish in time; the WAL keeps its frames");
                    self.sinks_abort.cancel();
                    task.await
                }
            };
            match r {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    tracing::warn!(sink = %name, error = %ErrorChain(&e), "sink stopped with an error")
                }
                Err(e) => tracing::warn!(sink = %name, error = %e, "sink task failed"),
            }
        }
        // 4. The metrics endpoint last, so a scrape during the shutdown still answers.
        self.metrics_stop.cancel();
        if let Some(task) = self.metrics_task.take() {
            match task.await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => tracing::warn!(error = %e, "metrics endpoint failed"),
                Err(e) => tracing::warn!(error = %e, "metrics task failed"),
            }
        }
        let stats = self.stats.snapshot();
        tracing::info!(
            frames_stored = stats.frames_stored,
            duplicates = stats.duplicates,
            commits = stats.commits,
            "ingest server stopped"
        );
        match failure {
            Some(e) => Err(e),
            None => Ok(stats),
        }
    }

    /// Shuts down gracefully now.
    pub async fn shutdown(self) -> Result<StatsSnapshot, IngestError> {
        self.run_until(std::future::ready(())).await
    }
}

fn serve_failure(
    r: Result<Result<(), tonic::transport::Error>, tokio::task::JoinError>,
) -> Option<IngestError> {
    match r {
        Ok(Ok(())) => None,
        Ok(Err(e)) => Some(IngestError::Transport(e)),
        Err(e) => Some(IngestError::Task { task: "gRPC server", message: e.to_string() }),
    }
}

fn writer_failure(r: Result<Result<(), WalError>, tokio::task::JoinError>) -> Option<IngestError> {
    match r {
        Ok(Ok(())) => None,
        Ok(Err(e)) => Some(IngestError::Wal(e)),
        Err(e) => Some(IngestError::Task { task: "WAL writer", message: e.to_string() }),
    }
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM. Where no handler can be installed, it says so and
/// never resolves: stopping at once would be a surprise, and the process can still be killed.
pub async fn shutdown_signal() {
    async fn ctrl_c() {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::warn!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    }
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    () = ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM; only Ctrl-C stops");
                ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        ctrl_c().await;
    }
}

/// Checks `authorization: Bearer <token>` on every call when a token is configured.
#[derive(Debug, Clone)]
struct BearerAuth {
    expected: Option<Arc<[u8]>>,
}

impl BearerAuth {
    fn new(token: Option<&str>) -> Self {
        BearerAuth { expected: token.map(|t| Arc::from(format!("Bearer {t}").into_bytes())) }
    }
}

impl Interceptor for BearerAuth {
    fn call(&mut self, req: Request<()>) -> Result<Request<()>, Status> {
        let Some(expected) = &self.expected else { return Ok(req) };
        match req.metadata().get("authorization") {
            Some(v) if constant_time_eq(v.as_bytes(), expected) => Ok(req),
            Some(_) => Err(Status::unauthenticated("bearer token rejected")),
            None => Err(Status::unauthenticated("missing `authorization: Bearer <token>` metadata")),
        }
    }
}

/// Compares without an early exit, so the time taken does not tell how much of a guess matched.
pub(crate) fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_auth() {
        let mut auth = BearerAuth::new(Some("s3cret"));
        let mut req = Request::new(());
        assert_eq!(auth.call(Request::new(())).unwrap_err().code(), tonic::Code::Unauthenticated);
        req.metadata_mut().insert("authorization", "Bearer s3cret".parse().unwrap());
        assert!(auth.call(req).is_ok());
        let mut bad = Request::new(());
        bad.metadata_mut().insert("authorization", "Bearer s3creT".parse().unwrap());
        assert_eq!(auth.call(bad).unwrap_err().code(), tonic::Code::Unauthenticated);
        assert!(BearerAuth::new(None).call(Request::new(())).is_ok());
    }
}
