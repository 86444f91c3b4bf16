//! Prometheus metrics: `GET /metrics` in the text exposition format, on its own address
//! (`metrics = "127.0.0.1:9464"` in the config, `pitwall serve --metrics ADDR`), apart from the
//! gRPC port so that a scraper needs neither HTTP/2 nor the bearer token — on loopback. Bound
//! beyond loopback the endpoint requires the server's token as gRPC does (start-up fails
//! without one; a request without `Authorization: Bearer <token>` gets 401), since the figures
//! tell anyone who can reach them who streams what and when.
//!
//! Counters only grow; rates (frames/s, bytes/s) are Prometheus' `rate()` of them. The gauges
//! are read at scrape time: active streams, the WAL on disk, and each sink's backlog (the
//! committed WAL bytes its checkpoint has not passed yet).
//!
//! | metric | type | meaning |
//! |---|---|---|
//! | `pitwall_ingest_frames_received_total` | counter | frames decoded from streams |
//! | `pitwall_ingest_frames_stored_total` | counter | frames committed (fsync'd) to the WAL |
//! | `pitwall_ingest_bytes_stored_total` | counter | bytes committed to the WAL |
//! | `pitwall_ingest_duplicates_total` | counter | frames dropped as already stored |
//! | `pitwall_ingest_rejected_frames_total` | counter | frames refused (invalid, or over `max_frame_bytes`) |
//! | `pitwall_ingest_gaps_total` | counter | streams ended by a seq gap |
//! | `pitwall_ingest_commits_total` | counter | group commits |
//! | `pitwall_ingest_acks_total` | counter | acks sent |
//! | `pitwall_ingest_streams_active` | gauge | StreamFrames calls open now |
//! | `pitwall_ingest_streams_opened_total` | counter | StreamFrames calls accepted |
//! | `pitwall_ingest_streams_refused_total` | counter | StreamFrames calls refused: `max_streams` open |
//! | `pitwall_ingest_streams_throttled_total` | counter | times a stream was held back by `max_frames_per_second` |
//! | `pitwall_ingest_streams_throttled_seconds_total` | counter | time streams spent held back by it |
//! | `pitwall_ingest_sink_frames_total` | counter | frames written to sinks |
//! | `pitwall_ingest_sink_write_failures_total` | counter | failed sink writes (retried) |
//! | `pitwall_ingest_sink_flush_failures_total` | counter | failed sink flushes (retried) |
//! | `pitwall_ingest_sink_flush_seconds` | summary (sum, count) | sink flush latency |
//! | `pitwall_ingest_sink_flush_seconds_max` | gauge | longest sink flush so far |
//! | `pitwall_ingest_sink_backlog_bytes{sink}` | gauge | committed WAL bytes the sink's checkpoint has not passed |
//! | `pitwall_ingest_wal_bytes` | gauge | size of the WAL segments on disk |
//! | `pitwall_ingest_wal_segments` | gauge | WAL segments on disk |
//! | `pitwall_ingest_wal_segments_deleted_total` | counter | segments deleted once materialised |
//! | `pitwall_ingest_wal_damaged_regions_total` | counter | damaged WAL stretches replay skipped (intact records after them kept) |
//! | `pitwall_ingest_wal_damaged_bytes_total` | counter | bytes in those stretches |
//! | `pitwall_ingest_wal_write_failing` | gauge | 1 while the WAL cannot be written (a full disk): nothing is acked meanwhile |
//! | `pitwall_ingest_wal_write_failures_total` | counter | failed WAL writes or fsyncs (the first of an outage and each retry) |

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use crate::sinks::checkpoint::Checkpoints;
use crate::stats::Stats;
use crate::wal::{self, WalPosition};

/// What a scrape reads: shared with the running server.
#[derive(Debug, Clone)]
pub struct MetricsSource {
    pub(crate) stats: Arc<Stats>,
    pub(crate) checkpoints: Arc<Checkpoints>,
    pub(crate) committed: watch::Receiver<WalPosition>,
    pub(crate) wal_dir: PathBuf,
}

impl MetricsSource {
    /// The metrics now, in Prometheus' text exposition format (version 0.0.4).
    pub fn render(&self) -> String {
        let s = self.stats.snapshot();
        let sizes = segment_sizes(&self.wal_dir);
        let secs = |ns: u64| (ns as f64 / 1e9).to_string();
        // Single-valued series, in exposition order: name, type, help, value.
        let series: [(&str, &str, &str, String); 24] = [
            (
                "pitwall_ingest_frames_received_total",
                "counter",
                "Frames decoded from streams.",
                s.frames_received.to_string(),
            ),
            (
                "pitwall_ingest_frames_stored_total",
                "counter",
                "Frames committed (fsync'd) to the write-ahead log.",
                s.frames_stored.to_string(),
            ),
            (
                "pitwall_ingest_bytes_stored_total",
                "counter",
                "Bytes committed to the write-ahead log.",
                s.bytes_committed.to_string(),
            ),
            (
                "pitwall_ingest_duplicates_total",
                "counter",
                "Frames dropped because their (session, seq) was already stored.",
                s.duplicates.to_string(),
            ),
            (
                "pitwall_ingest_rejected_frames_total",
                "counter",
                "Frames refused: invalid, or larger than max_frame_bytes (each ends its stream).",
                s.invalid_frames.to_string(),
            ),
            ("pitwall_ingest_gaps_total", "counter", "Streams ended by a seq gap.", s.gaps.to_string()),
            ("pitwall_ingest_commits_total", "counter", "Group commits.", s.commits.to_string()),
            ("pitwall_ingest_acks_total", "counter", "Acks sent.", s.acks_sent.to_string()),
            (
                "pitwall_ingest_streams_active",
                "gauge",
                "StreamFrames calls open now.",
                s.streams_opened.saturating_sub(s.streams_closed).to_string(),
            ),
            (
                "pitwall_ingest_streams_opened_total",
                "counter",
                "StreamFrames calls accepted.",
                s.streams_opened.to_string(),
            ),
            (
                "pitwall_ingest_streams_refused_total",
                "counter",
                "StreamFrames calls refused with RESOURCE_EXHAUSTED because max_streams were open.",
                s.streams_refused.to_string(),
            ),
            (
                "pitwall_ingest_streams_throttled_total",
                "counter",
                "Times a stream was held back (not read) by its max_frames_per_second limit.",
                s.throttled.to_string(),
            ),
            (
                "pitwall_ingest_streams_throttled_seconds_total",
                "counter",
                "Time streams spent held back by their max_frames_per_second limit.",
                secs(s.throttled_ns),
            ),
            (
                "pitwall_ingest_sink_frames_total",
                "counter",
                "Frames written to sinks (summed over sinks).",
                s.sink_frames.to_string(),
            ),
            (
                "pitwall_ingest_sink_write_failures_total",
                "counter",
                "Failed sink writes (each retried).",
                s.sink_write_failures.to_string(),
            ),
            (
                "pitwall_ingest_sink_flush_failures_total",
                "counter",
                "Failed sink flushes (each retried).",
                s.sink_flush_failures.to_string(),
            ),
            (
                "pitwall_ingest_sink_flush_seconds_max",
                "gauge",
                "Longest sink flush so far.",
                secs(s.sink_flush_ns_max),
            ),
            (
                "pitwall_ingest_wal_segments_deleted_total",
                "counter",
                "WAL segments deleted once every sink had materialised them.",
                s.segments_deleted.to_string(),
            ),
            (
                "pitwall_ingest_wal_damaged_regions_total",
                "counter",
                "Damaged write-ahead log stretches replay skipped at start-up (the intact records after them were kept).",
                s.wal_damaged_regions.to_string(),
            ),
            (
                "pitwall_ingest_wal_damaged_bytes_total",
                "counter",
                "Bytes in the damaged write-ahead log stretches replay skipped.",
                s.wal_damaged_bytes.to_string(),
            ),
            (
                "pitwall_ingest_wal_write_failing",
                "gauge",
                "1 while the write-ahead log cannot be written (a full disk, an I/O error): no frame is acked meanwhile.",
                u8::from(s.wal_write_failing).to_string(),
            ),
            (
                "pitwall_ingest_wal_write_failures_total",
                "counter",
                "Failed write-ahead log writes or fsyncs: the first of each outage and every retry.",
                s.wal_write_failures.to_string(),
            ),
            (
                "pitwall_ingest_wal_bytes",
                "gauge",
                "Size of the write-ahead log segments on disk.",
                sizes.values().sum::<u64>().to_string(),
            ),
            (
                "pitwall_ingest_wal_segments",
                "gauge",
                "Write-ahead log segments on disk.",
                sizes.len().to_string(),
            ),
        ];
        let mut out = String::with_capacity(4096);
        for (name, kind, help, value) in series {
            let _ = write!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}\n");
        }
        let _ = write!(
            out,
            "# HELP pitwall_ingest_sink_flush_seconds Sink flush latency.\n\
             # TYPE pitwall_ingest_sink_flush_seconds summary\n\
             pitwall_ingest_sink_flush_seconds_sum {}\n\
             pitwall_ingest_sink_flush_seconds_count {}\n",
            secs(s.sink_flush_ns),
            s.sink_flushes,
        );
        // Each sink's distance behind the committed end.
        let committed = *self.committed.borrow();
        let _ = write!(
            out,
            "# HELP pitwall_ingest_sink_backlog_bytes Committed WAL bytes the sink's checkpoint has not passed.\n\
             # TYPE pitwall_ingest_sink_backlog_bytes gauge\n"
        );
        for (name, pos) in self.checkpoints.positions() {
            let _ = writeln!(
                out,
                "pitwall_ingest_sink_backlog_bytes{{sink=\"{}\"}} {}",
                escape_label(&name),
                backlog(pos, committed, &sizes)
            );
        }
        out
    }
}

/// Bytes between a checkpoint and the committed end, using the segments' sizes on disk.
fn backlog(from: WalPosition, to: WalPosition, sizes: &BTreeMap<u64, u64>) -> u64 {
    if from >= to {
        return 0;
    }
    if from.segment == to.segment {
        return to.offset - from.offset;
    }
    let mut total = sizes.get(&from.segment).copied().unwrap_or(from.offset).saturating_sub(from.offset);
    total += sizes.range(from.segment + 1..to.segment).map(|(_, s)| *s).sum::<u64>();
    total + to.offset
}

fn segment_sizes(dir: &std::path::Path) -> BTreeMap<u64, u64> {
    let Ok(list) = wal::list_segments(dir) else { return BTreeMap::new() };
    list.into_iter()
        .filter_map(|i| std::fs::metadata(wal::segment_path(dir, i)).ok().map(|m| (i, m.len())))
        .collect()
}

fn escape_label(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// Serves `GET /metrics` on `listener` until `stop` fires. With `token`, a request must carry
/// `Authorization: Bearer <token>`, or it is answered 401.
pub(crate) async fn serve(
    listener: tokio::net::TcpListener,
    source: MetricsSource,
    token: Option<&str>,
    stop: CancellationToken,
) -> std::io::Result<()> {
    use axum::http::header::{AUTHORIZATION, CONTENT_TYPE, WWW_AUTHENTICATE};
    use axum::http::{HeaderMap, StatusCode};
    use axum::response::IntoResponse as _;
    let expected: Option<Arc<[u8]>> = token.map(|t| Arc::from(format!("Bearer {t}").into_bytes()));
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move |headers: HeaderMap| {
            let source = source.clone();
            let expected = expected.clone();
            async move {
                if let Some(expected) = expected {
                    let given = headers.get(AUTHORIZATION).map(|v| v.as_bytes());
                    if !given.is_some_and(|g| crate::server::constant_time_eq(g, &expected)) {
                        let why = if given.is_some() {
                            "bearer token rejected\n"
                        } else {
                            "this endpoint requires `Authorization: Bearer <token>` (the server's token)\n"
                        };
                        return (StatusCode::UNAUTHORIZED, [(WWW_AUTHENTICATE, "Bearer")], why)
                            .into_response();
                    }
                }
                ([(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], source.render())
                    .into_response()
            }
        }),
    );
    axum::serve(listener, app).with_graceful_shutdown(stop.cancelled_owned()).await
}

/// Binds the metrics address; an error names it.
pub(crate) async fn bind(addr: SocketAddr) -> Result<tokio::net::TcpListener, crate::IngestError> {
    tokio::net::TcpListener::bind(addr).await.map_err(|source| crate::IngestError::Bind { addr, source })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pos(segment: u64, offset: u64) -> WalPosition {
        WalPosition { segment, offset }
    }

    #[test]
    fn backlog_counts_bytes_across_segments() {
        let sizes = BTreeMap::from([(1, 1000), (2, 500), (3, 200)]);
        assert_eq!(backlog(pos(3, 50), pos(3, 200), &sizes), 150);
        assert_eq!(backlog(pos(1, 900), pos(3, 120), &sizes), 100 + 500 + 120);
        assert_eq!(backlog(pos(3, 200), pos(3, 200), &sizes), 0);
        assert_eq!(backlog(pos(4, 0), pos(3, 200), &sizes), 0);
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape_label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
