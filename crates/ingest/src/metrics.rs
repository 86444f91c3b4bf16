//! Prometheus metrics: `GET /metrics` in the text exposition format, on its own address
//! (`metrics = "127.0.0.1:9464"` in the config, `pitwall serve --metrics ADDR`), apart from the
//! gRPC port so that a scraper needs neither HTTP/2 nor the bearer token.
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
//! | `pitwall_ingest_rejected_frames_total` | counter | frames refused by validation |
//! | `pitwall_ingest_gaps_total` | counter | streams ended by a seq gap |
//! | `pitwall_ingest_commits_total` | counter | group commits |
//! | `pitwall_ingest_acks_total` | counter | acks sent |
//! | `pitwall_ingest_streams_active` | gauge | StreamFrames calls open now |
//! | `pitwall_ingest_streams_opened_total` | counter | StreamFrames calls accepted |
//! | `pitwall_ingest_sink_frames_total` | counter | frames written to sinks |
//! | `pitwall_ingest_sink_write_failures_total` | counter | failed sink writes (retried) |
//! | `pitwall_ingest_sink_flush_failures_total` | counter | failed sink flushes (retried) |
//! | `pitwall_ingest_sink_flush_seconds` | summary (sum, count) | sink flush latency |
//! | `pitwall_ingest_sink_flush_seconds_max` | gauge | longest sink flush so far |
//! | `pitwall_ingest_sink_backlog_bytes{sink}` | gauge | committed WAL bytes the sink's checkpoint has not passed |
//! | `pitwall_ingest_wal_bytes` | gauge | size of the WAL segments on disk |
//! | `pitwall_ingest_wal_segments` | gauge | WAL segments on disk |
//! | `pitwall_ingest_wal_segments_deleted_total` | counter | segments deleted once materialised |

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
        let flush_s = |ns: u64| (ns as f64 / 1e9).to_string();
        // Single-valued series, in exposition order: name, type, help, value.
        let series: [(&str, &str, &str, String); 17] = [
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
                "Frames refused by validation (each ends its stream).",
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
                flush_s(s.sink_flush_ns_max),
            ),
            (
                "pitwall_ingest_wal_segments_deleted_total",
                "counter",
                "WAL segments deleted once every sink had materialised them.",
                s.segments_deleted.to_string(),
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
            flush_s(s.sink_flush_ns),
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

/// Serves `GET /metrics` on `listener` until `stop` fires.
pub(crate) async fn serve(
    listener: tokio::net::TcpListener,
    source: MetricsSource,
    stop: CancellationToken,
) -> std::io::Result<()> {
    use axum::http::header::CONTENT_TYPE;
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let source = source.clone();
            async move { ([(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], source.render()) }
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
