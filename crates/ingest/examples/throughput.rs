//! Throughput of the ingest server with durable acks: K streams of realistic frames into one
//! in-process server (null sink), on the same machine as the clients.
//!
//! ```text
//! cargo run --release -p pitwall-ingest --example throughput -- [STREAMS] [FRAMES_PER_STREAM] [DATA_DIR]
//! ```
//!
//! Each client sends pre-encoded frames (a template plus the seq field in front: protobuf lets
//! fields come in any order), the way a bridge sends the bytes it already encoded for its
//! recording, so the figure is dominated by the server's cost. The clock stops when every
//! stream has its final ack, i.e. when every frame is fsync'd.

use std::time::Instant;

use bytes::{BufMut as _, Bytes, BytesMut};
use prost::Message as _;
use proto::telemetry::v1::{Ack, TelemetryFrame, Vec3, Wheels};
use tonic::Status;
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};

#[derive(Debug, Clone, Copy, Default)]
struct RawCodec;
#[derive(Debug, Clone, Copy, Default)]
struct RawEncoder;
#[derive(Debug, Clone, Copy, Default)]
struct AckDecoder;

impl Codec for RawCodec {
    type Encode = Bytes;
    type Decode = Ack;
    type Encoder = RawEncoder;
    type Decoder = AckDecoder;
    fn encoder(&mut self) -> RawEncoder {
        RawEncoder
    }
    fn decoder(&mut self) -> AckDecoder {
        AckDecoder
    }
}

impl Encoder for RawEncoder {
    type Item = Bytes;
    type Error = Status;
    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for AckDecoder {
    type Item = Ack;
    type Error = Status;
    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Ack>, Status> {
        Ack::decode(src).map(Some).map_err(|e| Status::internal(e.to_string()))
    }
}

fn template(session: [u8; 16]) -> Bytes {
    let w = |b: f32| Some(Wheels { fl: b, fr: b + 0.1, rl: b + 0.2, rr: b + 0.3 });
    let v = |x: f32| Some(Vec3 { x, y: 0.5 * x, z: -x });
    let f = TelemetryFrame {
        session_id: session.to_vec().into(),
        wall_time_ns: 1_731_000_000_000_000_000,
        mono_time_ns: 5_000_000_000,
        physics_packet_id: 123_456,
        graphics_packet_id: 23_456,
        throttle: 0.8,
        brake: 0.1,
        steering: -0.2,
        gear: 4,
        rpm: 6_500,
        speed_kmh: 181.5,
        velocity: v(50.1),
        local_velocity: v(50.0),
        acc_g: v(0.9),
        local_angular_velocity: v(0.2),
        heading_rad: 1.2,
        pitch_rad: 0.01,
        roll_rad: 0.02,
        cg_height_m: 0.4,
        ride_height_front_m: 0.05,
        ride_height_rear_m: 0.06,
        position_m: v(312.0),
        wheel_slip: w(0.1),
        wheel_load_n: w(3_100.0),
        tyre_pressure_psi: w(27.3),
        wheel_angular_speed_rad_s: w(150.0),
        tyre_wear: w(98.0),
        tyre_dirt: w(0.1),
        tyre_core_temp_c: w(81.0),
        tyre_temp_inner_c: w(86.0),
        tyre_temp_middle_c: w(84.0),
        tyre_temp_outer_c: w(82.0),
        camber_rad: w(-0.04),
        suspension_travel_m: w(0.03),
        brake_temp_c: w(420.0),
        slip_ratio: w(0.03),
        slip_angle_rad: w(0.02),
        tyre_force_long_n: w(900.0),
        tyre_force_lat_n: w(2_100.0),
        self_aligning_torque_nm: w(25.0),
        suspension_damage: w(0.0),
        tyre_temp_c: w(83.0),
        tyre_contact_point_m: vec![Vec3 { x: 1.0, y: 0.0, z: 2.0 }; 4],
        fuel_l: 31.2,
        brake_bias: 0.56,
        car_damage: vec![0.0; 5],
        completed_laps: 3,
        position: 2,
        current_lap_ms: 61_234,
        last_lap_ms: 101_234,
        best_lap_ms: 100_987,
        normalized_position: 0.61,
        surface_grip: 0.98,
        tyre_compound: "Semislicks (SM)".into(),
        air_temp_c: 22.0,
        road_temp_c: 31.0,
        ..Default::default()
    };
    f.encode_to_vec().into()
}

fn frame(template: &[u8], seq: u64) -> Bytes {
    let mut b = BytesMut::with_capacity(template.len() + 11);
    b.put_u8(0x10); // field 2 (seq), varint
    prost::encoding::encode_varint(seq, &mut b);
    b.put_slice(template);
    b.freeze()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let streams: u32 = args.next().map(|a| a.parse()).transpose()?.unwrap_or(4);
    let per_stream: u64 = args.next().map(|a| a.parse()).transpose()?.unwrap_or(250_000);
    let data = args
        .next()
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::env::temp_dir().join(format!("pitwall-throughput-{}", std::process::id())));
    let _ = std::fs::remove_dir_all(&data);

    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    rt.block_on(async {
        let mut config = ingest::Config {
            listen: "127.0.0.1:0".parse()?,
            data_dir: data.clone(),
            ..ingest::Config::default()
        };
        config.sinks.push(ingest::sinks::SinkConfig::new(
            "null",
            ingest::sinks::SinkKind::Null(ingest::sinks::null::NullConfig::default()),
        ));
        let running = ingest::Server::new(config).start().await?;
        let addr = running.local_addr();
        let frame_len = frame(&template([0; 16]), per_stream).len();

        let started = Instant::now();
        let mut tasks = Vec::new();
        for n in 0..streams {
            tasks.push(tokio::spawn(async move {
                let mut session = [0x01u8; 16];
                session[12..].copy_from_slice(&n.to_be_bytes());
                let t = template(session);
                let channel = tonic::transport::Channel::from_shared(format!("http://{addr}"))?
                    .initial_stream_window_size(Some(4 << 20))
                    .initial_connection_window_size(Some(16 << 20))
                    .connect()
                    .await?;
                let mut grpc = tonic::client::Grpc::new(channel);
                grpc.ready().await?;
                let input = tokio_stream::iter((0..per_stream).map(move |seq| frame(&t, seq)));
                let path = tonic::codegen::http::uri::PathAndQuery::from_static(
                    "/telemetry.v1.TelemetryIngest/StreamFrames",
                );
                let mut acks = grpc.streaming(tonic::Request::new(input), path, RawCodec).await?.into_inner();
                let mut last = 0;
                while let Some(ack) = acks.message().await? {
                    last = ack.next_seq;
                }
                Ok::<u64, Box<dyn std::error::Error + Send + Sync>>(last)
            }));
        }
        for t in tasks {
            let acked = t.await?.map_err(|e| e.to_string())?;
            assert_eq!(acked, per_stream, "every frame acked");
        }
        let secs = started.elapsed().as_secs_f64();
        let stats = running.shutdown().await?;
        let total = u64::from(streams) * per_stream;
        println!(
            "{streams} streams x {per_stream} frames ({frame_len} B each): {total} frames durable and acked in {secs:.2} s \
             = {:.0} frames/s, {:.0} MB/s; {} group commits ({:.0} frames each), {} acks",
            total as f64 / secs,
            (total * frame_len as u64) as f64 / secs / 1e6,
            stats.commits,
            stats.frames_stored as f64 / stats.commits.max(1) as f64,
            stats.acks_sent,
        );
        Ok::<(), Box<dyn std::error::Error>>(())
    })?;
    let _ = std::fs::remove_dir_all(&data);
    Ok(())
}
