//! Invalid input ends the stream with a status naming the problem; what was acked stays.

use bytes::Bytes;
use prost::Message as _;
use proto::telemetry::v1::TelemetryFrame;

use crate::common::*;

async fn rejects(n: u32, field: &str, spoil: impl Fn(&mut TelemetryFrame)) {
    let dir = tempfile::tempdir().unwrap();
    let running = start(config(dir.path())).await;
    let mut c = client(running.local_addr()).await;
    let s = session(n);
    let mut fs = frames(s, 0..300);
    spoil(&mut fs[200]);
    let refused_session = fs[200].session_id.clone();
    let out = send(&mut c, fs).await;
    let status = out.status.clone().expect("the stream must fail");
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    let msg = status.message();
    assert!(msg.contains(&format!("`{field}`")), "names the field: {msg}");
    assert!(msg.contains("seq 200"), "names the seq: {msg}");
    // …and so does the metadata, for programs (over the real connection, in the trailers): the
    // session id as sent, even when it is not a valid one.
    let meta = |key: &str| status.metadata().get(key).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let hex: String = refused_session.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(meta(proto::REFUSED_SESSION_ID), Some(hex));
    assert_eq!(meta(proto::REFUSED_SEQ).as_deref(), Some("200"));
    assert_eq!(out.acked(s), 200, "the frames before the bad one are acked");
    assert_eq!(resume(&mut c, &[s]).await, vec![200]);
    let stats = running.shutdown().await.unwrap();
    assert_eq!(stats.invalid_frames, 1);
    assert_exactly_once(&wal_counts(dir.path()), s, 200);
}

#[tokio::test]
async fn nan_speed_is_rejected() {
    rejects(40, "speed_kmh", |f| f.speed_kmh = f32::NAN).await;
}

#[tokio::test]
async fn throttle_of_three_is_rejected_with_its_value() {
    let dir = tempfile::tempdir().unwrap();
    let running = start(config(dir.path())).await;
    let mut c = client(running.local_addr()).await;
    let s = session(41);
    let mut f = frame(s, 0);
    f.throttle = 3.0;
    let status = send(&mut c, vec![f]).await.status.expect("the stream must fail");
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    let sid = ingest::SessionId(s).to_string();
    assert!(status.message().contains("field `throttle` = 3 must be within 0..1"), "{}", status.message());
    assert!(status.message().contains(&sid), "names the session: {}", status.message());
    running.shutdown().await.unwrap();
    rejects(42, "throttle", |f| f.throttle = 3.0).await;
}

#[tokio::test]
async fn five_byte_session_id_is_rejected() {
    rejects(43, "session_id", |f| f.session_id = Bytes::from_static(b"short")).await;
}

#[tokio::test]
async fn garbage_bytes_are_rejected_after_the_frames_before_them_are_acked() {
    let dir = tempfile::tempdir().unwrap();
    let running = start(config(dir.path())).await;
    let s = session(44);
    let mut msgs: Vec<Bytes> = (0..10).map(|seq| Bytes::from(frame(s, seq).encode_to_vec())).collect();
    // Field 31, wire type 7: no such wire type, so not a protobuf message at all.
    msgs.push(Bytes::from_static(&[0xff, 0xff, 0xff, 0xff, 0x0f, 0x42, 0x42]));
    msgs.extend((10..20).map(|seq| Bytes::from(frame(s, seq).encode_to_vec())));
    let out = send_raw(channel(running.local_addr()).await, msgs).await;
    let status = out.status.clone().expect("the stream must fail");
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    assert!(status.message().contains("not a TelemetryFrame"), "{}", status.message());
    let sid = ingest::SessionId(s).to_string();
    assert!(status.message().contains(&format!("after session {sid} seq 9")), "{}", status.message());
    assert_eq!(out.acked(s), 10);
    running.shutdown().await.unwrap();
    assert_exactly_once(&wal_counts(dir.path()), s, 10);
}

#[tokio::test]
async fn raw_frames_are_stored_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let running = start(config(dir.path())).await;
    let s = session(45);
    let sent: Vec<Bytes> = (0..50).map(|seq| Bytes::from(frame(s, seq).encode_to_vec())).collect();
    let out = send_raw(channel(running.local_addr()).await, sent.clone()).await;
    assert!(out.status.is_none(), "{:?}", out.status);
    assert_eq!(out.acked(s), 50);
    running.shutdown().await.unwrap();
    let stored = ingest::Wal::read_all(dir.path().join("wal")).unwrap();
    assert_eq!(stored.len(), 50);
    for (f, raw) in stored.iter().zip(&sent) {
        assert_eq!(&f.bytes, raw, "seq {}", f.seq);
        assert_eq!(f.decode().unwrap(), frame(s, f.seq));
    }
}

#[tokio::test]
async fn garbage_resume_requests_are_invalid_argument() {
    let dir = tempfile::tempdir().unwrap();
    let running = start(config(dir.path())).await;
    let mut c = client(running.local_addr()).await;

    // A session id of the wrong length.
    let req = proto::telemetry::v1::ResumeRequest {
        session_ids: vec![Bytes::copy_from_slice(&session(46)), Bytes::from_static(b"short")],
    };
    let status = c.resume(req).await.unwrap_err();
    assert_eq!(status.code(), tonic::Code::InvalidArgument, "{status:?}");
    assert!(status.message().contains("5 bytes, must be 16"), "{}", status.message());

    // Bytes that are not a ResumeRequest at all, and a field of the wrong wire type.
    let path = tonic::codegen::http::uri::PathAndQuery::from_static(proto::RESUME_PATH);
    for garbage in [&[0xff, 0xff, 0xff, 0xff, 0x0f, 0x42][..], &[0x08, 0x01], &[0x0a, 0x40, 0x01]] {
        let mut grpc = tonic::client::Grpc::new(channel(running.local_addr()).await);
        grpc.ready().await.unwrap();
        let status = grpc
            .unary(tonic::Request::new(Bytes::from_static(garbage)), path.clone(), proto::RawCodec)
            .await
            .unwrap_err();
        assert_eq!(status.code(), tonic::Code::InvalidArgument, "{garbage:?}: {status:?}");
        assert!(status.message().contains("not a ResumeRequest"), "{}", status.message());
    }

    // The server is unharmed: a good request still works.
    assert_eq!(resume(&mut c, &[session(46)]).await, vec![0]);
    running.shutdown().await.unwrap();
}
