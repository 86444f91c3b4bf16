//! The relay's figures in Prometheus' text exposition format, and a `GET /metrics` endpoint.
//!
//! | metric | type | meaning |
//! |---|---|---|
//! | `pitwall_relay_server_datagrams_in_total` | counter | datagrams from the server |
//! | `pitwall_relay_server_commands_out_total` | counter | commands sent to the server (passed on, and the relay's own intervals) |
//! | `pitwall_relay_server_send_errors_total` | counter | sends to the server that failed |
//! | `pitwall_relay_server_rejected_source_total` | counter | datagrams on the server-facing port from another IP |
//! | `pitwall_relay_server_last_seen_seconds` | gauge | Unix time of the server's last datagram |
//! | `pitwall_relay_server_interval_ms` | gauge | the car-update interval last asked of the server |
//! | `pitwall_relay_unsolicited_answers_total` | counter | answers nobody waited for (sent to all) |
//! | `pitwall_relay_expired_asks_total` | counter | asks that got no answer in time |
//! | `pitwall_relay_pending_asks` | gauge | asks waiting for their answer |
//! | `pitwall_relay_capture_packets_total` | counter | packets written to the capture |
//! | `pitwall_relay_plugins` | gauge | plugins behind the relay |
//! | `pitwall_relay_plugin_datagrams_in_total{plugin}` | counter | datagrams from the plugin |
//! | `pitwall_relay_plugin_datagrams_out_total{plugin}` | counter | datagrams sent to the plugin |
//! | `pitwall_relay_plugin_dropped_total{plugin}` | counter | datagrams for it dropped: its queue was full |
//! | `pitwall_relay_plugin_send_errors_total{plugin}` | counter | sends to it that failed |
//! | `pitwall_relay_plugin_malformed_total{plugin}` | counter | datagrams from it that are not commands |
//! | `pitwall_relay_plugin_rate_limited_total{plugin}` | counter | commands from it over its rate |
//! | `pitwall_relay_plugin_rejected_source_total{plugin}` | counter | datagrams on its port from another IP |
//! | `pitwall_relay_plugin_updates_skipped_total{plugin}` | counter | car updates held back for its interval |
//! | `pitwall_relay_plugin_answers_total{plugin}` | counter | answers routed to it alone |
//! | `pitwall_relay_plugin_last_seen_seconds{plugin}` | gauge | Unix time of its last datagram |
//! | `pitwall_relay_plugin_interval_ms{plugin}` | gauge | the interval it asked for (absent: never asked) |
//!
//! Plugin names are checked at configuration (letters, digits, `_`, `-`, `.`), so they need
//! no escaping as label values.

use std::fmt::Write as _;
use std::future::Future;

use axum::Router;
use axum::http::header::CONTENT_TYPE;
use axum::routing::get;
use tokio::net::TcpListener;

use crate::runtime::{PluginStats, RelayHandle, RelayStats};

/// The figures as Prometheus text.
pub fn render(stats: &RelayStats) -> String {
    let mut out = String::with_capacity(4096);
    let mut metric = |name: &str, kind: &str, help: &str, values: &[(String, Option<f64>)]| {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for (labels, value) in values {
            if let Some(v) = value {
                let _ = writeln!(out, "{name}{labels} {v}");
            }
        }
    };
    let one = |v: f64| [(String::new(), Some(v))];
    let seconds = |ms: Option<u64>| ms.map(|ms| ms as f64 / 1000.0);
    metric(
        "pitwall_relay_server_datagrams_in_total",
        "counter",
        "Datagrams from the server.",
        &one(stats.server_datagrams_in as f64),
    );
    metric(
        "pitwall_relay_server_commands_out_total",
        "counter",
        "Commands sent to the server.",
        &one(stats.server_commands_out as f64),
    );
    metric(
        "pitwall_relay_server_send_errors_total",
        "counter",
        "Sends to the server that failed.",
        &one(stats.server_send_errors as f64),
    );
    metric(
        "pitwall_relay_server_rejected_source_total",
        "counter",
        "Datagrams on the server-facing port from another IP.",
        &one(stats.server_rejected_source as f64),
    );
    metric(
        "pitwall_relay_server_last_seen_seconds",
        "gauge",
        "Unix time of the server's last datagram.",
        &[(String::new(), seconds(stats.server_last_seen_unix_ms))],
    );
    metric(
        "pitwall_relay_server_interval_ms",
        "gauge",
        "The car-update interval last asked of the server.",
        &[(String::new(), stats.server_interval.map(f64::from))],
    );
    metric(
        "pitwall_relay_unsolicited_answers_total",
        "counter",
        "Answers nobody waited for, sent to every plugin.",
        &one(stats.core.unsolicited_answers as f64),
    );
    metric(
        "pitwall_relay_expired_asks_total",
        "counter",
        "Asks that got no answer in time.",
        &one(stats.core.expired_asks as f64),
    );
    metric(
        "pitwall_relay_pending_asks",
        "gauge",
        "Asks waiting for their answer.",
        &one(stats.pending_asks as f64),
    );
    metric(
        "pitwall_relay_capture_packets_total",
        "counter",
        "Packets written to the capture.",
        &[(String::new(), stats.capture_packets.map(|n| n as f64))],
    );
    metric("pitwall_relay_plugins", "gauge", "Plugins behind the relay.", &one(stats.plugins.len() as f64));
    let per = |f: &dyn Fn(&PluginStats) -> Option<f64>| -> Vec<(String, Option<f64>)> {
        stats.plugins.iter().map(|p| (format!("{{plugin=\"{}\"}}", p.name), f(p))).collect()
    };
    let count = |n: u64| Some(n as f64);
    metric(
        "pitwall_relay_plugin_datagrams_in_total",
        "counter",
        "Datagrams from the plugin.",
        &per(&|p| count(p.datagrams_in)),
    );
    metric(
        "pitwall_relay_plugin_datagrams_out_total",
        "counter",
        "Datagrams sent to the plugin.",
        &per(&|p| count(p.datagrams_out)),
    );
    metric(
        "pitwall_relay_plugin_dropped_total",
        "counter",
        "Datagrams for the plugin dropped because its queue was full.",
        &per(&|p| count(p.dropped)),
    );
    metric(
        "pitwall_relay_plugin_send_errors_total",
        "counter",
        "Sends to the plugin that failed.",
        &per(&|p| count(p.send_errors)),
    );
    metric(
        "pitwall_relay_plugin_malformed_total",
        "counter",
        "Datagrams from the plugin that are not commands.",
        &per(&|p| count(p.core.malformed)),
    );
    metric(
        "pitwall_relay_plugin_rate_limited_total",
        "counter",
        "Commands from the plugin over its rate.",
        &per(&|p| count(p.core.rate_limited)),
    );
    metric(
        "pitwall_relay_plugin_rejected_source_total",
        "counter",
        "Datagrams on the plugin's port from another IP.",
        &per(&|p| count(p.rejected_source)),
    );
    metric(
        "pitwall_relay_plugin_updates_skipped_total",
        "counter",
        "Car updates held back for the plugin's interval.",
        &per(&|p| count(p.core.updates_skipped)),
    );
    metric(
        "pitwall_relay_plugin_answers_total",
        "counter",
        "Answers routed to the plugin alone.",
        &per(&|p| count(p.core.answers)),
    );
    metric(
        "pitwall_relay_plugin_last_seen_seconds",
        "gauge",
        "Unix time of the plugin's last datagram.",
        &per(&|p| seconds(p.last_seen_unix_ms)),
    );
    metric(
        "pitwall_relay_plugin_interval_ms",
        "gauge",
        "The car-update interval the plugin asked for.",
        &per(&|p| p.interval.ms().map(f64::from)),
    );
    out
}

/// Serves `GET /metrics` on `listener` until `stop` completes.
pub async fn serve(
    listener: TcpListener,
    handle: RelayHandle,
    stop: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = Router::new().route(
        "/metrics",
        get(move || {
            let text = handle.metrics_text();
            async move { ([(CONTENT_TYPE, "text/plain; version=0.0.4")], text) }
        }),
    );
    axum::serve(listener, app).with_graceful_shutdown(stop).await
}
