//! Server configuration: a TOML file, with command-line flags on top (the CLI applies those).
//!
//! ```toml
//! listen = "0.0.0.0:50051"
//! data_dir = "/var/lib/pitwall"
//! token = "s3cret"                 # required unless listen is a loopback address
//! metrics = "127.0.0.1:9464"       # Prometheus GET /metrics (optional); beyond loopback it
//!                                  # requires the token too (`Authorization: Bearer <token>`)
//!
//! [tls]                            # optional
//! cert = "/etc/pitwall/cert.pem"
//! key = "/etc/pitwall/key.pem"
//!
//! [wal]
//! segment_bytes = 67108864         # rotate segments at 64 MiB
//! commit_interval_ms = 2           # at most one group commit (write + fdatasync) per 2 ms
//! group_max_bytes = 4194304        # commit early once 4 MiB are waiting; stop taking more
//!
//! [streams]
//! max_streams = 256                # concurrent StreamFrames calls; more are RESOURCE_EXHAUSTED
//! max_frames_per_second = 10000    # per stream; unset (the default): no limit. A stream
//!                                  # over it is not read for a while (backpressure), never cut
//! max_frame_bytes = 4194304        # a larger frame ends its stream with OUT_OF_RANGE
//!
//! [[sinks]]
//! name = "bench"
//! type = "null"
//! ```
//!
//! `[timing]`, `[relay]` and `[dashboard]` are `pitwall serve`'s, not the ingest server's: the
//! server keeps them as written, and the command reads and checks them.
//!
//! Every numeric setting has a range, checked at start-up by [`Config::validate`]; a value
//! outside it stops the server with an error naming the key and the range (a frame limit of 0
//! would refuse every frame, an HTTP/2 window of 0 would never let a frame in, a huge interval
//! would overflow a deadline).
//!
//! A config file without `[[sinks]]` gets the default sinks ([`default_sinks`]): Parquet,
//! named `parquet` (`DATA/sinks/parquet/`), and the telemetry laps, named `laps`
//! (`DATA/records.sqlite`, where they are linked to the server's laps). `sinks = []` asks for
//! none (the WAL is then kept whole). The sink types and their settings are in [`crate::sinks`].

use std::fmt::Display;
use std::net::{Ipv4Addr, SocketAddr};
use std::ops::RangeInclusive;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::ConfigError;
use crate::service::StreamLimits;
use crate::sinks::SinkConfig;
use crate::wal::writer::WriterConfig;

/// Everything the server needs to start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Data directory: `wal/`, `checkpoints/`, `sinks/<name>/`.
    pub data_dir: PathBuf,
    /// Bearer token clients must send (`authorization: Bearer <token>`). Required when `listen`
    /// is not a loopback address.
    pub token: Option<String>,
    /// TLS certificate and key; plaintext HTTP/2 without it.
    pub tls: Option<TlsConfig>,
    /// Write-ahead log tuning.
    pub wal: WalConfig,
    /// Per-stream tuning.
    pub streams: StreamConfig,
    /// How long graceful shutdown waits for streams to drain and sinks to flush, ms.
    pub shutdown_grace_ms: u64,
    /// Sinks that materialise the log. Left out of a config file: [`default_sinks`]. The
    /// programmatic default ([`Config::default`], for embedders and tests) has none; see
    /// [`Config::serve_default`].
    #[serde(default = "default_sinks")]
    pub sinks: Vec<SinkConfig>,
    /// Address of the Prometheus `/metrics` endpoint (plain HTTP/1.1); none when unset. Beyond
    /// loopback it requires the token as gRPC does (`Authorization: Bearer <token>`, else 401);
    /// on loopback it is open, so that a scraper on the same host needs no secret.
    pub metrics: Option<SocketAddr>,
    /// `[timing]`: the dedicated server `pitwall serve` follows. Not the ingest server's: kept
    /// as written, read and checked by the command that runs the server beside the timing.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timing: Option<toml::Table>,
    /// `[relay]`: the plugins behind `pitwall serve`'s relay. Kept as written, like `[timing]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub relay: Option<toml::Table>,
    /// `[dashboard]`: where `pitwall serve` serves the web dashboard. Kept as written, like
    /// `[timing]`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dashboard: Option<toml::Table>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from((Ipv4Addr::LOCALHOST, 50051)),
            data_dir: PathBuf::from("pitwall-data"),
            token: None,
            tls: None,
            wal: WalConfig::default(),
            streams: StreamConfig::default(),
            shutdown_grace_ms: 10_000,
            sinks: Vec::new(),
            metrics: None,
            timing: None,
            relay: None,
            dashboard: None,
        }
    }
}

/// The sinks of a config that lists none: a Parquet sink named `parquet` with its default
/// settings (`DATA/sinks/parquet/`, flushed every 30 s), and a laps sink named `laps`
/// (`DATA/records.sqlite`, flushed every second). Each has its own pipeline: the laps sink
/// never holds the Parquet sink back.
pub fn default_sinks() -> Vec<SinkConfig> {
    vec![
        SinkConfig::new("parquet", crate::sinks::SinkKind::Parquet(Default::default())),
        SinkConfig::new("laps", crate::sinks::SinkKind::Laps(Default::default())),
    ]
}

/// PEM files of the server's certificate (chain) and private key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsConfig {
    /// Certificate chain, PEM.
    pub cert: PathBuf,
    /// Private key, PEM (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
}

/// Write-ahead log tuning.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WalConfig {
    /// Start a new segment once the current one reaches this size, bytes.
    pub segment_bytes: u64,
    /// Shortest time between the starts of two group commits, ms. Bounds the fsync rate when
    /// many slow streams each send a little; 0 commits as soon as the previous commit is done.
    pub commit_interval_ms: u64,
    /// Commit without waiting for the interval once this many bytes are waiting, and take no
    /// more batches until the commit in progress is done (backpressure), bytes.
    pub group_max_bytes: usize,
    /// Batches queued between the streams and the writer.
    pub queue_batches: usize,
}

impl Default for WalConfig {
    fn default() -> Self {
        WalConfig {
            segment_bytes: 64 << 20,
            commit_interval_ms: 2,
            group_max_bytes: 4 << 20,
            queue_batches: 64,
        }
    }
}

/// Per-stream tuning.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StreamConfig {
    /// Most frames a stream hands to the WAL writer at once.
    pub batch_frames: usize,
    /// Batches a stream may have waiting for their commit.
    pub inflight_batches: usize,
    /// Largest frame accepted, bytes.
    pub max_frame_bytes: usize,
    /// HTTP/2 flow-control window per stream, bytes. The default 64 KiB of HTTP/2 caps a stream
    /// far below what one bridge can send on a fast link.
    pub http2_stream_window: u32,
    /// HTTP/2 flow-control window per connection, bytes.
    pub http2_connection_window: u32,
    /// Most StreamFrames calls open at once; one more is refused with RESOURCE_EXHAUSTED (and
    /// its bridge retries with backoff).
    pub max_streams: usize,
    /// Most frames a second one stream may send (a token bucket holding one second's worth);
    /// `None`: no limit. A stream over it is simply not read until it is within it again, so
    /// HTTP/2 flow control slows its bridge down: nothing is refused or lost. A bridge samples
    /// 333 frames a second; it sends faster only while catching up after an outage.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_frames_per_second: Option<u32>,
}

impl Default for StreamConfig {
    fn default() -> Self {
        StreamConfig {
            batch_frames: 1024,
            inflight_batches: 8,
            max_frame_bytes: 4 << 20,
            http2_stream_window: 4 << 20,
            http2_connection_window: 16 << 20,
            max_streams: 256,
            max_frames_per_second: None,
        }
    }
}

impl Config {
    /// The folder of the first Parquet sink's dataset (its `path`, or `DATA/sinks/<name>`), if
    /// the config has a Parquet sink: where a reader finds the frames this server stores.
    pub fn parquet_dataset(&self) -> Option<PathBuf> {
        self.sinks.iter().find_map(|sc| match &sc.kind {
            crate::sinks::SinkKind::Parquet(p) => {
                Some(p.path.clone().unwrap_or_else(|| self.data_dir.join("sinks").join(&sc.name)))
            }
            _ => None,
        })
    }

    /// The configuration of a server started without a config file (`pitwall serve` with
    /// flags only): the defaults, with [`default_sinks`].
    pub fn serve_default() -> Config {
        Config { sinks: default_sinks(), ..Config::default() }
    }

    /// Parses a config from TOML text; `origin` names it in errors.
    pub fn from_toml(text: &str, origin: &Path) -> Result<Config, ConfigError> {
        toml::from_str(text)
            .map_err(|e| ConfigError::Parse { path: origin.to_owned(), message: e.to_string() })
    }

    /// Reads and parses a config file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path)
            .map_err(|source| ConfigError::Read { path: path.to_owned(), source })?;
        Config::from_toml(&text, path)
    }

    /// Checks settings that cannot work or may not be combined.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let has_token = self.token.as_deref().is_some_and(|t| !t.is_empty());
        if !self.listen.ip().is_loopback() && !has_token {
            return Err(ConfigError::TokenRequired { listen: self.listen });
        }
        if let Some(metrics) = self.metrics.filter(|m| !m.ip().is_loopback()) {
            if !has_token {
                return Err(ConfigError::MetricsTokenRequired { metrics });
            }
        }
        if let Some(t) = &self.token {
            if t.is_empty() || t.chars().any(|c| c.is_control() || c.is_whitespace()) {
                return Err(ConfigError::Invalid(
                    "token must be non-empty, without spaces or control characters".into(),
                ));
            }
        }
        // The ranges: what the server can work with, not what it was tuned for. Upper bounds
        // keep memory bounded (replay reads a segment whole) and deadlines from overflowing.
        check_range(None, "shutdown_grace_ms", self.shutdown_grace_ms, 1..=3_600_000)?;
        let wal = Some("[wal]");
        check_range(wal, "segment_bytes", self.wal.segment_bytes, 4096..=1 << 30)?;
        check_range(wal, "commit_interval_ms", self.wal.commit_interval_ms, 0..=1000)?;
        check_range(wal, "group_max_bytes", self.wal.group_max_bytes, 4096..=1 << 30)?;
        check_range(wal, "queue_batches", self.wal.queue_batches, 1..=65_536)?;
        let streams = Some("[streams]");
        check_range(streams, "batch_frames", self.streams.batch_frames, 1..=65_536)?;
        check_range(streams, "inflight_batches", self.streams.inflight_batches, 1..=1024)?;
        // A bridge's frame is under 1 KiB; the WAL takes records up to 256 MiB.
        check_range(streams, "max_frame_bytes", self.streams.max_frame_bytes, 4096..=64 << 20)?;
        // HTTP/2 allows windows up to 2^31 - 1; below its default of 65 535 only slows streams.
        let window = 65_535..=(1u32 << 31) - 1;
        check_range(streams, "http2_stream_window", self.streams.http2_stream_window, window.clone())?;
        check_range(streams, "http2_connection_window", self.streams.http2_connection_window, window)?;
        check_range(streams, "max_streams", self.streams.max_streams, 1..=65_536)?;
        if let Some(fps) = self.streams.max_frames_per_second {
            check_range(streams, "max_frames_per_second", fps, 1..=10_000_000)?;
        }
        let mut names = std::collections::BTreeSet::new();
        for sink in &self.sinks {
            let ok = !sink.name.is_empty()
                && sink.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
            if !ok {
                return Err(ConfigError::Invalid(format!(
                    "sink name {:?}: use letters, digits, '-' and '_' (it names files)",
                    sink.name
                )));
            }
            if !names.insert(sink.name.as_str()) {
                return Err(ConfigError::Invalid(format!("two sinks are named {:?}", sink.name)));
            }
            sink.validate()?;
        }
        Ok(())
    }

    pub(crate) fn writer_config(&self) -> WriterConfig {
        WriterConfig {
            segment_bytes: self.wal.segment_bytes,
            commit_interval: Duration::from_millis(self.wal.commit_interval_ms),
            group_max_bytes: self.wal.group_max_bytes,
            queue_batches: self.wal.queue_batches,
        }
    }

    pub(crate) fn stream_limits(&self) -> StreamLimits {
        StreamLimits {
            batch_frames: self.streams.batch_frames,
            batch_bytes: 1 << 20,
            inflight_batches: self.streams.inflight_batches,
            max_frame_bytes: self.streams.max_frame_bytes,
            max_streams: self.streams.max_streams,
            max_frames_per_second: self.streams.max_frames_per_second,
        }
    }
}

/// `value` of `key` (in `section`, `None` at the top level) must lie in `allowed`.
pub(crate) fn check_range<T: PartialOrd + Display>(
    section: Option<&str>,
    key: &'static str,
    value: T,
    allowed: RangeInclusive<T>,
) -> Result<(), ConfigError> {
    if allowed.contains(&value) {
        return Ok(());
    }
    Err(ConfigError::OutOfRange {
        section: section.map(str::to_owned),
        key,
        value: value.to_string(),
        allowed: format!("{}..={}", allowed.start(), allowed.end()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sinks::SinkKind;

    #[test]
    fn parses_the_documented_example() {
        let text = r#"
            listen = "0.0.0.0:50051"
            data_dir = "/var/lib/pitwall"
            token = "s3cret"
            [tls]
            cert = "c.pem"
            key = "k.pem"
            [wal]
            segment_bytes = 1048576
            commit_interval_ms = 5
            [[sinks]]
            name = "bench"
            type = "null"
            flush_interval_ms = 250
        "#;
        let c = Config::from_toml(text, Path::new("test.toml")).unwrap();
        assert_eq!(c.listen, "0.0.0.0:50051".parse().unwrap());
        assert_eq!(c.wal.segment_bytes, 1 << 20);
        assert_eq!(c.wal.group_max_bytes, WalConfig::default().group_max_bytes);
        assert_eq!(c.sinks.len(), 1);
        assert_eq!(c.sinks[0].flush_interval_ms, 250);
        assert!(matches!(c.sinks[0].kind, SinkKind::Null(_)));
        c.validate().unwrap();
    }

    #[test]
    fn rejects_unknown_keys_and_open_listeners_without_token() {
        let e = Config::from_toml("lisen = \"127.0.0.1:1\"", Path::new("x.toml")).unwrap_err();
        assert!(e.to_string().contains("lisen"), "{e}");
        let c = Config { listen: "0.0.0.0:50051".parse().unwrap(), ..Config::default() };
        assert!(matches!(c.validate(), Err(ConfigError::TokenRequired { .. })));
        let c = Config { listen: "[::1]:50051".parse().unwrap(), ..Config::default() };
        c.validate().unwrap();
        let e = Config::from_toml("[[sinks]]\nname = \"x\"\ntype = \"parquet-ish\"", Path::new("x.toml"))
            .unwrap_err();
        assert!(e.to_string().contains("parquet-ish"), "{e}");
    }

    #[test]
    fn metrics_beyond_loopback_need_the_token_and_the_stream_limits_parse() {
        let open = Config { metrics: Some("0.0.0.0:9464".parse().unwrap()), ..Config::default() };
        let e = open.validate().unwrap_err();
        assert!(matches!(e, ConfigError::MetricsTokenRequired { .. }), "{e}");
        assert!(e.to_string().contains("0.0.0.0:9464") && e.to_string().contains("bearer token"), "{e}");
        Config { token: Some("t".into()), ..open }.validate().unwrap();
        Config { metrics: Some("127.0.0.1:9464".parse().unwrap()), ..Config::default() }.validate().unwrap();

        let c = Config::default();
        assert_eq!((c.streams.max_streams, c.streams.max_frames_per_second), (256, None));
        let text = "[streams]\nmax_streams = 8\nmax_frames_per_second = 500";
        let c = Config::from_toml(text, Path::new("x.toml")).unwrap();
        assert_eq!((c.streams.max_streams, c.streams.max_frames_per_second), (8, Some(500)));
        c.validate().unwrap();
    }

    /// Validates `text` (a whole config file) and returns the error's text.
    fn rejected(text: &str) -> String {
        let c = Config::from_toml(text, Path::new("x.toml")).unwrap();
        match c.validate() {
            Err(e @ ConfigError::OutOfRange { .. }) => e.to_string(),
            other => panic!("{text:?} must be out of range, got {other:?}"),
        }
    }

    #[test]
    fn every_numeric_setting_is_range_checked_and_the_error_names_the_key_and_the_range() {
        let cases: &[(&str, &str, &str)] = &[
            ("shutdown_grace_ms = 0", "`shutdown_grace_ms`", "1..=3600000"),
            ("shutdown_grace_ms = 18446744073709551615", "`shutdown_grace_ms`", "1..=3600000"),
            ("[wal]\nsegment_bytes = 0", "`segment_bytes` in [wal]", "4096..=1073741824"),
            ("[wal]\nsegment_bytes = 4294967296", "`segment_bytes` in [wal]", "4096..=1073741824"),
            ("[wal]\ncommit_interval_ms = 100000", "`commit_interval_ms` in [wal]", "0..=1000"),
            ("[wal]\ngroup_max_bytes = 0", "`group_max_bytes` in [wal]", "4096..=1073741824"),
            ("[wal]\nqueue_batches = 0", "`queue_batches` in [wal]", "1..=65536"),
            ("[streams]\nbatch_frames = 0", "`batch_frames` in [streams]", "1..=65536"),
            ("[streams]\ninflight_batches = 0", "`inflight_batches` in [streams]", "1..=1024"),
            ("[streams]\nmax_frame_bytes = 0", "`max_frame_bytes` in [streams]", "4096..=67108864"),
            ("[streams]\nmax_frame_bytes = 1073741824", "`max_frame_bytes` in [streams]", "4096..=67108864"),
            (
                "[streams]\nhttp2_stream_window = 0",
                "`http2_stream_window` in [streams]",
                "65535..=2147483647",
            ),
            (
                "[streams]\nhttp2_stream_window = 4294967295",
                "`http2_stream_window` in [streams]",
                "65535..=2147483647",
            ),
            (
                "[streams]\nhttp2_connection_window = 0",
                "`http2_connection_window` in [streams]",
                "65535..=2147483647",
            ),
            ("[streams]\nmax_streams = 0", "`max_streams` in [streams]", "1..=65536"),
            ("[streams]\nmax_frames_per_second = 0", "`max_frames_per_second` in [streams]", "1..=10000000"),
            (
                "[[sinks]]\nname = \"n\"\ntype = \"null\"\nflush_interval_ms = 0",
                "`flush_interval_ms` in [[sinks]] \"n\"",
                "1..=86400000",
            ),
            (
                "[[sinks]]\nname = \"n\"\ntype = \"null\"\nbatch_max_frames = 0",
                "`batch_max_frames` in [[sinks]] \"n\"",
                "1..=1048576",
            ),
            (
                "[[sinks]]\nname = \"pq\"\ntype = \"parquet\"\nrow_group_rows = 0",
                "`row_group_rows` in [[sinks]] \"pq\"",
                "1..=1048576",
            ),
            (
                "[[sinks]]\nname = \"pq\"\ntype = \"parquet\"\nmax_file_rows = 0",
                "`max_file_rows` in [[sinks]] \"pq\"",
                "1..=4294967296",
            ),
            (
                "[[sinks]]\nname = \"pq\"\ntype = \"parquet\"\nmax_file_bytes = 0",
                "`max_file_bytes` in [[sinks]] \"pq\"",
                "65536..=1099511627776",
            ),
            (
                "[[sinks]]\nname = \"pq\"\ntype = \"parquet\"\nencode_threads = 0",
                "`encode_threads` in [[sinks]] \"pq\"",
                "1..=256",
            ),
            (
                "[[sinks]]\nname = \"pq\"\ntype = \"parquet\"\ncompression = \"zstd\"\nzstd_level = 0",
                "`zstd_level` in [[sinks]] \"pq\"",
                "1..=22",
            ),
            (
                "[[sinks]]\nname = \"pq\"\ntype = \"parquet\"\nzstd_level = 99",
                "`zstd_level` in [[sinks]] \"pq\"",
                "1..=22",
            ),
            (
                "[[sinks]]\nname = \"r\"\ntype = \"recording\"\nlevel = 10",
                "`level` in [[sinks]] \"r\"",
                "0..=9",
            ),
            (
                "[[sinks]]\nname = \"r\"\ntype = \"recording\"\nclose_after_flushes = 0",
                "`close_after_flushes` in [[sinks]] \"r\"",
                "1..=1000000",
            ),
        ];
        for (text, key, range) in cases {
            let e = rejected(text);
            assert!(e.contains(key), "{text:?}: {e}");
            assert!(e.contains(&format!("allowed: {range}")), "{text:?}: {e}");
        }
        // The bounds themselves are allowed, and so are the defaults.
        let ok = "shutdown_grace_ms = 1\n[wal]\nsegment_bytes = 4096\ncommit_interval_ms = 0\n\
                  [streams]\nmax_frame_bytes = 67108864\nhttp2_stream_window = 65535\n\
                  http2_connection_window = 2147483647\n\
                  [[sinks]]\nname = \"r\"\ntype = \"recording\"\nlevel = 0\nflush_interval_ms = 86400000";
        Config::from_toml(ok, Path::new("x.toml")).unwrap().validate().unwrap();
        Config::default().validate().unwrap();
        Config::serve_default().validate().unwrap();
    }

    #[test]
    fn a_config_without_sinks_gets_parquet_and_sink_types_have_their_own_flush_intervals() {
        let c = Config::from_toml("listen = \"127.0.0.1:1\"", Path::new("x.toml")).unwrap();
        assert_eq!(c.sinks, default_sinks());
        assert!(matches!(c.sinks[0].kind, SinkKind::Parquet(_)));
        assert_eq!(c.sinks[0].name, "parquet");
        assert_eq!(c.sinks[0].flush_interval_ms, crate::sinks::parquet::DEFAULT_FLUSH_INTERVAL_MS);
        assert_eq!(Config::serve_default().sinks, default_sinks());
        assert!(Config::default().sinks.is_empty(), "embedders list their sinks");
        let c = Config::from_toml("sinks = []", Path::new("x.toml")).unwrap();
        assert!(c.sinks.is_empty(), "an explicit empty list means no sink");

        let text = r#"
            [[sinks]]
            name = "pq"
            type = "parquet"
            path = "/srv/telemetry"
            max_file_rows = 1000
            encode_threads = 2
            [[sinks]]
            name = "rec"
            type = "recording"
            flush_interval_ms = 250
            [[sinks]]
            name = "pq2"
            type = "parquet"
            flush_interval_ms = 5000
        "#;
        let c = Config::from_toml(text, Path::new("x.toml")).unwrap();
        let SinkKind::Parquet(pq) = &c.sinks[0].kind else { panic!("{:?}", c.sinks[0]) };
        assert_eq!(pq.path.as_deref(), Some(Path::new("/srv/telemetry")));
        assert_eq!(pq.max_file_rows, 1000);
        assert_eq!(pq.zstd_level, 1);
        assert_eq!(pq.encode_threads, 2);
        assert_eq!(c.sinks[0].flush_interval_ms, 30_000);
        assert!(matches!(c.sinks[1].kind, SinkKind::Recording(_)));
        assert_eq!((c.sinks[1].flush_interval_ms, c.sinks[2].flush_interval_ms), (250, 5000));
        let e = Config::from_toml(
            "[[sinks]]\nname = \"x\"\ntype = \"parquet\"\nmax_rows = 3",
            Path::new("x.toml"),
        )
        .unwrap_err();
        assert!(e.to_string().contains("max_rows"), "{e}");
    }
}
