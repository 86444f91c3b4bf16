//! Helpers: a server on loopback, a client, realistic frames, a stream driver, WAL counting.

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use bytes::Bytes;
use ingest::{Config, Running, SessionId, Wal, WalConfig};
use proto::RawCodec;
use proto::telemetry::v1::telemetry_ingest_client::TelemetryIngestClient;
use proto::telemetry::v1::{Ack, ResumeRequest, SessionMetadata, TelemetryFrame, Vec3, Wheels};
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::Channel;
use tonic::{Status, Streaming};

pub type Client = TelemetryIngestClient<Channel>;

/// A config for tests: loopback, port 0, `dir`, 1 ms commit interval.
pub fn config(dir: &Path) -> Config {
    Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: dir.to_owned(),
        wal: WalConfig { commit_interval_ms: 1, ..WalConfig::default() },
        shutdown_grace_ms: 5_000,
        ..Config::default()
    }
}

pub async fn start(config: Config) -> Running {
    ingest::Server::new(config).start().await.unwrap()
}

pub async fn channel(addr: std::net::SocketAddr) -> Channel {
    Channel::from_shared(format!("http://{addr}")).unwrap().connect().await.unwrap()
}

pub async fn client(addr: std::net::SocketAddr) -> Client {
    TelemetryIngestClient::new(channel(addr).await)
}

/// Session id `n`: a UUIDv7-looking 16 bytes.
pub fn session(n: u32) -> [u8; 16] {
    let mut id = [0u8; 16];
    id[..6].copy_from_slice(&[0x01, 0x93, 0x2b, 0x6e, 0x40, 0x00]);
    id[6] = 0x70;
    id[8] = 0x80;
    id[12..].copy_from_slice(&n.to_be_bytes());
    id
}

fn wheels(base: f32) -> Option<Wheels> {
    Some(Wheels { fl: base, fr: base + 0.1, rl: base + 0.2, rr: base + 0.3 })
}

fn vec3(x: f32) -> Option<Vec3> {
    Some(Vec3 { x, y: x * 0.5, z: -x })
}

/// A frame about as full as the bridge's (every wheel and vector set; ~600 bytes encoded).
pub fn frame(session: [u8; 16], seq: u64) -> TelemetryFrame {
    let t = seq as f32 * 0.003;
    TelemetryFrame {
        session_id: Bytes::copy_from_slice(&session),
        seq,
        wall_time_ns: 1_731_000_000_000_000_000 + seq as i64 * 3_003_003,
        mono_time_ns: 5_000_000_000 + seq as i64 * 3_003_003,
        physics_packet_id: 1000 + seq as i32,
        graphics_packet_id: 200 + (seq / 5) as i32,
        session: (seq == 0).then(|| SessionMetadata {
            car_model: "ks_mazda_mx5_cup".into(),
            track: "ks_vallelunga".into(),
            track_configuration: "club_circuit".into(),
            player_name: "Test".into(),
            max_rpm: 7500,
            max_fuel: 45.0,
            ..Default::default()
        }),
        throttle: (t.sin() + 1.0) / 2.0,
        brake: (t.cos() + 1.0) / 4.0,
        clutch: 0.0,
        steering: t.sin() * 0.4,
        gear: 1 + (seq % 6) as i32,
        rpm: 3000 + (seq % 4000) as i32,
        speed_kmh: 120.0 + t.sin() * 40.0,
        velocity: vec3(33.0 + t),
        local_velocity: vec3(32.0),
        acc_g: vec3(0.8),
        local_angular_velocity: vec3(0.1),
        heading_rad: t,
        pitch_rad: 0.01,
        roll_rad: -0.02,
        cg_height_m: 0.45,
        ride_height_front_m: 0.05,
        ride_height_rear_m: 0.06,
        position_m: vec3(100.0 + t),
        wheel_slip: wheels(0.1),
        wheel_load_n: wheels(3000.0),
        tyre_pressure_psi: wheels(27.0),
        wheel_angular_speed_rad_s: wheels(100.0),
        tyre_wear: wheels(99.0),
        tyre_dirt: wheels(0.0),
        tyre_core_temp_c: wheels(80.0),
        tyre_temp_inner_c: wheels(85.0),
        tyre_temp_middle_c: wheels(84.0),
        tyre_temp_outer_c: wheels(83.0),
        camber_rad: wheels(-0.03),
        suspension_travel_m: wheels(0.04),
        brake_temp_c: wheels(300.0),
        slip_ratio: wheels(0.02),
        slip_angle_rad: wheels(0.01),
        tyre_force_long_n: wheels(1000.0),
        tyre_force_lat_n: wheels(2000.0),
        self_aligning_torque_nm: wheels(30.0),
        suspension_damage: wheels(0.0),
        tyre_temp_c: wheels(82.0),
        tyre_contact_point_m: vec![Vec3 { x: 1.0, y: 0.0, z: 2.0 }; 4],
        fuel_l: 30.0 - t * 0.01,
        brake_bias: 0.55,
        car_damage: vec![0.0; 5],
        completed_laps: (seq / 30_000) as i32,
        position: 1,
        current_lap_ms: (seq % 30_000) as i32 * 3,
        normalized_position: (seq % 30_000) as f32 / 30_000.0,
        surface_grip: 0.98,
        tyre_compound: "Semislicks (SM)".into(),
        air_temp_c: 22.0,
        road_temp_c: 30.0,
        ..Default::default()
    }
}

pub fn frames(session: [u8; 16], seqs: std::ops::Range<u64>) -> Vec<TelemetryFrame> {
    seqs.map(|s| frame(session, s)).collect()
}

/// How a stream went: the last ack per session, how many acks, and the final status (`None` =
/// the server ended it with OK).
#[derive(Debug, Default)]
pub struct Outcome {
    pub acks: HashMap<[u8; 16], u64>,
    pub ack_count: usize,
    pub status: Option<Status>,
}

impl Outcome {
    pub fn acked(&self, session: [u8; 16]) -> u64 {
        self.acks.get(&session).copied().unwrap_or(0)
    }

    fn record(&mut self, ack: Ack) {
        let id: [u8; 16] = ack.session_id.as_ref().try_into().expect("16-byte session in ack");
        let e = self.acks.entry(id).or_insert(0);
        assert!(ack.next_seq >= *e, "acks must not go backwards: {} after {}", ack.next_seq, *e);
        *e = ack.next_seq;
        self.ack_count += 1;
    }
}

/// Reads acks until the server ends the call.
pub async fn collect(mut acks: Streaming<Ack>) -> Outcome {
    let mut out = Outcome::default();
    loop {
        match acks.message().await {
            Ok(Some(ack)) => out.record(ack),
            Ok(None) => return out,
            Err(status) => {
                out.status = Some(status);
                return out;
            }
        }
    }
}

/// Sends `frames` on one stream, closes it, and reads acks until the server ends the call.
pub async fn send(client: &mut Client, frames: Vec<TelemetryFrame>) -> Outcome {
    let (tx, rx) = mpsc::channel(256);
    let feeder = tokio::spawn(async move {
        for f in frames {
            if tx.send(f).await.is_err() {
                break;
            }
        }
    });
    let out = match client.stream_frames(ReceiverStream::new(rx)).await {
        Ok(resp) => collect(resp.into_inner()).await,
        Err(status) => Outcome { status: Some(status), ..Outcome::default() },
    };
    feeder.abort();
    out
}

pub async fn resume(client: &mut Client, sessions: &[[u8; 16]]) -> Vec<u64> {
    let req = ResumeRequest { session_ids: sessions.iter().map(|s| Bytes::copy_from_slice(s)).collect() };
    let reply = client.resume(req).await.unwrap().into_inner();
    assert_eq!(reply.sessions.len(), sessions.len());
    for (asked, got) in sessions.iter().zip(&reply.sessions) {
        assert_eq!(asked.as_slice(), got.session_id.as_ref(), "Resume answers in the order asked");
    }
    reply.sessions.iter().map(|a| a.next_seq).collect()
}

/// How often each (session, seq) is in the WAL under `data_dir`.
pub fn wal_counts(data_dir: &Path) -> HashMap<(SessionId, u64), usize> {
    let mut counts = HashMap::new();
    for f in Wal::read_all(data_dir.join("wal")).unwrap() {
        *counts.entry((f.session_id, f.seq)).or_insert(0) += 1;
    }
    counts
}

/// Asserts the WAL holds seqs `0..n` of `session` exactly once each, and nothing else of it.
pub fn assert_exactly_once(counts: &HashMap<(SessionId, u64), usize>, session: [u8; 16], n: u64) {
    let id = SessionId(session);
    for seq in 0..n {
        assert_eq!(counts.get(&(id, seq)).copied().unwrap_or(0), 1, "session {id} seq {seq}");
    }
    let extra = counts.keys().filter(|(s, seq)| *s == id && *seq >= n).count();
    assert_eq!(extra, 0, "session {id} has frames at or beyond {n}");
}

/// Sends raw messages on a StreamFrames call and collects the acks.
pub async fn send_raw(channel: Channel, messages: Vec<Bytes>) -> Outcome {
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.unwrap();
    let path = tonic::codegen::http::uri::PathAndQuery::from_static(proto::STREAM_FRAMES_PATH);
    let (tx, rx) = mpsc::channel(64);
    let feeder = tokio::spawn(async move {
        for m in messages {
            if tx.send(m).await.is_err() {
                break;
            }
        }
    });
    let out = match grpc.streaming(tonic::Request::new(ReceiverStream::new(rx)), path, RawCodec).await {
        Ok(resp) => collect(resp.into_inner()).await,
        Err(status) => Outcome { status: Some(status), ..Outcome::default() },
    };
    feeder.abort();
    out
}

/// Polls `cond` every 10 ms for up to `secs` seconds.
pub async fn eventually(secs: u64, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    while tokio::time::Instant::now() < deadline {
        if cond() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    cond()
}

/// The test server example (`examples/test_server.rs`), which `cargo test` builds beside the
/// test binaries: `target/<profile>/examples/`, one level up from this binary's `deps/`.
pub fn test_server_exe() -> std::path::PathBuf {
    let me = std::env::current_exe().expect("the test binary's path");
    let exe = me
        .parent()
        .and_then(Path::parent)
        .map(|profile| {
            profile
                .join("examples")
                .join(format!("pitwall-ingest-test-server{}", std::env::consts::EXE_SUFFIX))
        })
        .expect("the test binary lives in target/<profile>/deps");
    assert!(
        exe.is_file(),
        "{} is missing: `cargo test` builds it (a run limited with --test builds no examples); \
         build it with `cargo build -p pitwall-ingest --example pitwall-ingest-test-server`",
        exe.display()
    );
    exe
}
