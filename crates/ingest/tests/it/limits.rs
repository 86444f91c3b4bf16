//! The server's limits, over real loopback connections: concurrent streams, a stream's frame
//! rate, a frame's size, and the token on a metrics endpoint beyond loopback.

use std::io::{Read as _, Write as _};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use prost::Message as _;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;

use crate::common::*;

/// A stream that has sent `n` frames of `s` and stays open until the sender is dropped.
async fn open_stream(
    c: &mut Client,
    s: [u8; 16],
    n: u64,
) -> (mpsc::Sender<proto::telemetry::v1::TelemetryFrame>, tonic::Streaming<proto::telemetry::v1::Ack>) {
    let (tx, rx) = mpsc::channel(16);
    for f in frames(s, 0..n) {
        tx.send(f).await.unwrap();
    }
    let mut acks = c.stream_frames(ReceiverStream::new(rx)).await.unwrap().into_inner();
    let ack = acks.message().await.unwrap().unwrap();
    assert_eq!(ack.next_seq, n);
    (tx, acks)
}

#[tokio::test]
async fn a_stream_beyond_max_streams_is_refused_with_resource_exhausted() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.streams.max_streams = 2;
    let running = start(cfg).await;
    let mut c = client(running.local_addr()).await;
    let (tx1, acks1) = open_stream(&mut c, session(70), 5).await;
    let (_tx2, _acks2) = open_stream(&mut c, session(71), 5).await;

    let out = send(&mut c, frames(session(72), 0..5)).await;
    let status = out.status.clone().expect("the third stream is refused");
    assert_eq!(status.code(), tonic::Code::ResourceExhausted, "{status:?}");
    assert!(status.message().contains("2 streams open"), "{}", status.message());
    assert!(status.message().contains("`max_streams`"), "names the setting: {}", status.message());
    assert_eq!(out.acked(session(72)), 0);
    assert!(
        running.metrics().contains("\npitwall_ingest_streams_refused_total 1\n"),
        "{}",
        running.metrics()
    );

    // A stream that ends gives its place back.
    drop(tx1);
    assert!(collect(acks1).await.status.is_none());
    let out = send(&mut c, frames(session(72), 0..5)).await;
    assert!(out.status.is_none(), "{:?}", out.status);
    assert_eq!(out.acked(session(72)), 5);
    let stats = running.shutdown().await.unwrap();
    assert_eq!(stats.streams_refused, 1);
    assert_exactly_once(&wal_counts(dir.path()), session(72), 5);
}

/// Over its frame rate a stream is not cut, only read more slowly: every frame is acked, and
/// the time taken is what the limit allows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_over_its_frame_rate_is_slowed_down_not_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.streams.max_frames_per_second = Some(1_000);
    cfg.metrics = Some("127.0.0.1:0".parse().unwrap());
    let running = start(cfg).await;
    let mut c = client(running.local_addr()).await;
    let s = session(73);
    let started = Instant::now();
    // One second's worth at once, then 2 000 more at 1 000 a second.
    let out = send(&mut c, frames(s, 0..3_000)).await;
    let took = started.elapsed();
    assert!(out.status.is_none(), "{:?}", out.status);
    assert_eq!(out.acked(s), 3_000);
    assert!(took >= Duration::from_millis(1_800), "the limit holds the stream back: {took:?}");
    assert!(took < Duration::from_secs(10), "{took:?}");
    let stats = running.stats();
    assert!(stats.throttled >= 1, "{stats:?}");
    // Time counts as throttled only while the stream could otherwise read (its batches not all
    // waiting on the WAL): on a loaded machine fsyncs take part of the two seconds, so only
    // "some" is certain here; the elapsed time above is what the limit guarantees.
    assert!(stats.throttled_ns > 0, "{stats:?}");
    let maddr = running.metrics_addr().unwrap();
    let (code, body) = tokio::task::spawn_blocking(move || get_metrics(maddr, None)).await.unwrap();
    assert_eq!(code, 200);
    assert!(body.contains("\npitwall_ingest_streams_throttled_total "), "{body}");
    running.shutdown().await.unwrap();
    assert_exactly_once(&wal_counts(dir.path()), s, 3_000);
}

#[tokio::test]
async fn a_frame_over_max_frame_bytes_is_refused_with_the_limit_named() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.streams.max_frame_bytes = 4096;
    let running = start(cfg).await;
    let s = session(74);
    let mut messages: Vec<Bytes> = frames(s, 0..10).iter().map(|f| Bytes::from(f.encode_to_vec())).collect();
    let mut big = frame(s, 10);
    big.tyre_compound = "x".repeat(10_000);
    messages.push(Bytes::from(big.encode_to_vec()));
    let out = send_raw(channel(running.local_addr()).await, messages).await;
    let status = out.status.clone().expect("the stream is refused");
    assert_eq!(status.code(), tonic::Code::OutOfRange, "{status:?}");
    let msg = status.message();
    assert!(msg.contains("`max_frame_bytes`") && msg.contains("4096 bytes"), "names the limit: {msg}");
    assert!(msg.contains("seq 9"), "says where: {msg}");
    assert_eq!(out.acked(s), 10, "the frames before it are stored");
    let stats = running.shutdown().await.unwrap();
    assert_eq!(stats.invalid_frames, 1);
    assert_exactly_once(&wal_counts(dir.path()), s, 10);
}

/// `GET /metrics` with an optional `Authorization` header; the status code and the body.
fn get_metrics(addr: SocketAddr, auth: Option<&str>) -> (u16, String) {
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    let header = auth.map(|a| format!("authorization: {a}\r\n")).unwrap_or_default();
    write!(s, "GET /metrics HTTP/1.1\r\nhost: localhost\r\n{header}connection: close\r\n\r\n").unwrap();
    let mut text = String::new();
    s.read_to_string(&mut text).unwrap();
    let code = text.split(' ').nth(1).unwrap().parse().unwrap();
    (code, text.split_once("\r\n\r\n").unwrap().1.to_owned())
}

#[tokio::test]
async fn metrics_beyond_loopback_require_the_token() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.metrics = Some("0.0.0.0:0".parse().unwrap());
    // Without a token the server does not start.
    let err = ingest::Server::new(cfg.clone()).start().await.unwrap_err();
    assert!(
        matches!(err, ingest::IngestError::Config(ingest::ConfigError::MetricsTokenRequired { .. })),
        "{err}"
    );
    assert!(err.to_string().contains("requires a bearer token"), "{err}");

    cfg.token = Some("s3cret".into());
    let running = start(cfg).await;
    let port = running.metrics_addr().unwrap().port();
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let scrape =
        move |auth: Option<&'static str>| tokio::task::spawn_blocking(move || get_metrics(addr, auth));
    let (code, body) = scrape(None).await.unwrap();
    assert_eq!(code, 401, "{body}");
    assert!(body.contains("Authorization: Bearer"), "{body}");
    assert_eq!(scrape(Some("Bearer guess")).await.unwrap().0, 401);
    assert_eq!(scrape(Some("s3cret")).await.unwrap().0, 401);
    let (code, body) = scrape(Some("Bearer s3cret")).await.unwrap();
    assert_eq!(code, 200, "{body}");
    assert!(body.contains("pitwall_ingest_frames_stored_total 0"), "{body}");
    running.shutdown().await.unwrap();

    // On loopback a scraper on the same host needs no secret, token or not.
    let mut cfg = config(dir.path());
    cfg.metrics = Some("127.0.0.1:0".parse().unwrap());
    cfg.token = Some("s3cret".into());
    let running = start(cfg).await;
    let maddr = running.metrics_addr().unwrap();
    assert_eq!(tokio::task::spawn_blocking(move || get_metrics(maddr, None)).await.unwrap().0, 200);
    running.shutdown().await.unwrap();
}

/// Hostile HTTP on the metrics endpoint: bytes that are not HTTP, a request line of 100 KB, a
/// header section that never ends, other methods and paths, a connection that sends half a
/// request and stops. Each gets an error status or is closed; none stops the endpoint or the
/// server, and a proper scrape still answers afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_http_on_the_metrics_endpoint_costs_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.metrics = Some("127.0.0.1:0".parse().unwrap());
    let running = start(cfg).await;
    let maddr = running.metrics_addr().unwrap();
    let status = move |request: Vec<u8>| {
        tokio::task::spawn_blocking(move || {
            let mut s = std::net::TcpStream::connect(maddr).unwrap();
            s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            // The server may close before reading everything: a failed write is an answer too.
            let _ = s.write_all(&request);
            let mut text = Vec::new();
            let _ = s.read_to_end(&mut text);
            String::from_utf8_lossy(&text).split(' ').nth(1).map(str::to_owned)
        })
    };
    let long_path = format!("GET /{} HTTP/1.1\r\nhost: x\r\n\r\n", "a".repeat(100_000)).into_bytes();
    let endless_headers =
        [&b"GET /metrics HTTP/1.1\r\n"[..], &b"x-pad: aaaaaaaaaaaaaaaaaaaa\r\n".repeat(20_000)].concat();
    for (what, request, allowed) in [
        ("not HTTP", b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03 binary".to_vec(), &["400", ""][..]),
        ("a 100 KB path", long_path, &["414", "400", "404", "431", ""][..]),
        ("headers without end", endless_headers, &["431", "400", ""][..]),
        (
            "POST",
            b"POST /metrics HTTP/1.1\r\nhost: x\r\ncontent-length: 3\r\n\r\nabc".to_vec(),
            &["405", "404"][..],
        ),
        ("another path", b"GET /../../etc/passwd HTTP/1.1\r\nhost: x\r\n\r\n".to_vec(), &["404", "400"][..]),
        ("half a request", b"GET /met".to_vec(), &["", "400", "408"][..]),
    ] {
        let got = status(request).await.unwrap().unwrap_or_default();
        assert!(allowed.contains(&got.as_str()), "{what}: status {got:?}");
    }
    let (code, body) = tokio::task::spawn_blocking(move || get_metrics(maddr, None)).await.unwrap();
    assert_eq!(code, 200);
    assert!(body.contains("pitwall_ingest_frames_stored_total"), "{body}");
    // And the gRPC side never noticed.
    let s = session(75);
    let out = send(&mut client(running.local_addr()).await, frames(s, 0..20)).await;
    assert_eq!(out.acked(s), 20);
    running.shutdown().await.unwrap();
}
