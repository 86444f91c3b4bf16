//! Bearer tokens, the loopback rule, TLS.

use proto::telemetry::v1::ResumeRequest;
use proto::telemetry::v1::telemetry_ingest_client::TelemetryIngestClient;
use tonic::Request;
use tonic::metadata::MetadataValue;
use tonic::transport::{Certificate, Channel, ClientTlsConfig};

use crate::common::*;

fn with_token(
    channel: Channel,
    token: &'static str,
) -> TelemetryIngestClient<
    tonic::service::interceptor::InterceptedService<Channel, impl tonic::service::Interceptor>,
> {
    let value: MetadataValue<_> = format!("Bearer {token}").parse().unwrap();
    TelemetryIngestClient::with_interceptor(channel, move |mut req: Request<()>| {
        req.metadata_mut().insert("authorization", value.clone());
        Ok(req)
    })
}

#[tokio::test]
async fn a_client_without_the_token_is_unauthenticated() {
    let dir = tempfile::tempdir().unwrap();
    let running = start(ingest::Config { token: Some("s3cret".into()), ..config(dir.path()) }).await;
    let s = session(60);

    let mut anonymous = client(running.local_addr()).await;
    let out = send(&mut anonymous, frames(s, 0..10)).await;
    assert_eq!(out.status.map(|st| st.code()), Some(tonic::Code::Unauthenticated));
    let err = anonymous.resume(ResumeRequest { session_ids: vec![] }).await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::Unauthenticated);

    let mut wrong = with_token(channel(running.local_addr()).await, "guess");
    let err = wrong.resume(ResumeRequest { session_ids: vec![] }).await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::Unauthenticated);

    let mut right = with_token(channel(running.local_addr()).await, "s3cret");
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    for f in frames(s, 0..10) {
        tx.send(f).await.unwrap();
    }
    drop(tx);
    let acks = right.stream_frames(tokio_stream::wrappers::ReceiverStream::new(rx)).await.unwrap();
    let out = collect(acks.into_inner()).await;
    assert!(out.status.is_none(), "{:?}", out.status);
    assert_eq!(out.acked(s), 10);
    running.shutdown().await.unwrap();
    assert_exactly_once(&wal_counts(dir.path()), s, 10);
}

#[tokio::test]
async fn listening_beyond_loopback_without_a_token_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let open = ingest::Config { listen: "0.0.0.0:0".parse().unwrap(), ..config(dir.path()) };
    let err = ingest::Server::new(open.clone()).start().await.unwrap_err();
    assert!(matches!(err, ingest::IngestError::Config(ingest::ConfigError::TokenRequired { .. })), "{err}");
    assert!(err.to_string().contains("requires a bearer token"), "{err}");
    // With a token it starts.
    let running =
        ingest::Server::new(ingest::Config { token: Some("t".into()), ..open }).start().await.unwrap();
    running.shutdown().await.unwrap();
}

#[tokio::test]
async fn tls_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let rcgen::CertifiedKey { cert, signing_key } =
        rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    let cert_pem = cert.pem();
    std::fs::write(dir.path().join("cert.pem"), &cert_pem).unwrap();
    std::fs::write(dir.path().join("key.pem"), signing_key.serialize_pem()).unwrap();
    let tls = ingest::TlsConfig { cert: dir.path().join("cert.pem"), key: dir.path().join("key.pem") };
    let data = dir.path().join("data");
    let running = start(ingest::Config { tls: Some(tls), ..config(&data) }).await;
    let port = running.local_addr().port();

    let tls_client =
        ClientTlsConfig::new().ca_certificate(Certificate::from_pem(&cert_pem)).domain_name("localhost");
    let channel = Channel::from_shared(format!("https://127.0.0.1:{port}"))
        .unwrap()
        .tls_config(tls_client)
        .unwrap()
        .connect()
        .await
        .unwrap();
    let mut c = TelemetryIngestClient::new(channel);
    let s = session(61);
    let out = send(&mut c, frames(s, 0..100)).await;
    assert!(out.status.is_none(), "{:?}", out.status);
    assert_eq!(out.acked(s), 100);
    assert_eq!(resume(&mut c, &[s]).await, vec![100]);

    // Plaintext against the TLS port does not get through.
    let plain = Channel::from_shared(format!("http://127.0.0.1:{port}")).unwrap().connect().await;
    if let Ok(plain) = plain {
        let mut c = TelemetryIngestClient::new(plain);
        assert!(c.resume(ResumeRequest { session_ids: vec![] }).await.is_err());
    }
    running.shutdown().await.unwrap();
    assert_exactly_once(&wal_counts(&data), s, 100);
}
