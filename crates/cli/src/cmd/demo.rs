//! `pitwall demo`: the main job, on the simulators, in one process.
//!
//! - **Server side:** a simulated dedicated server runs a grid through practice, qualifying and
//!   a race; pitwall follows it over the real UDP plugin protocol and keeps a live timing board.
//! - **Car side:** an ingest server (write-ahead log, Parquet sink, catalogue) and, for each of a
//!   few cars, the game simulator and a bridge that samples every physics step, records it and
//!   streams it over gRPC, loss-free.
//!
//! At the end it prints where the data landed and the commands to look at it.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use acsp::client::{Client, ClientConfig};
use acsp::{
    CarUpdate, Chat, CollisionWithCar, CollisionWithEnv, ConnectionInfo, LapCompleted, NO_TIME, SessionInfo,
    Subscriber,
};
use anyhow::Context as _;
use sim::server::{ServerConfig, ServerSim};

use super::acsp::format::lap_time;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Cars on the simulated server's grid.
    #[arg(long, default_value_t = 10)]
    cars: u8,
    /// Simulator seed: the same seed plays the same sessions.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Time acceleration of the server simulator.
    #[arg(long, default_value_t = 60.0)]
    speed: f64,
    /// How long to run, in real seconds.
    #[arg(long, default_value_t = 40.0)]
    duration: f64,
    /// Seconds between timing boards.
    #[arg(long, default_value_t = 5.0)]
    board_every: f64,
    /// Cars with a simulated game and a bridge streaming telemetry (0: server side only).
    #[arg(long, default_value_t = 3)]
    telemetry_cars: u8,
    /// Time acceleration of the simulated games (physics steps at 333 Hz × this).
    #[arg(long, default_value_t = 8.0)]
    game_speed: f64,
    /// Where the data goes: DIR/server (the ingest server's WAL and Parquet dataset) and
    /// DIR/recordings (each bridge's recording).
    #[arg(long, value_name = "DIR", default_value = "pitwall-demo")]
    data: PathBuf,
}

/// Drivers of the telemetry cars, with their nicknames.
const DRIVERS: [(&str, &str, &str); 6] = [
    ("Ayrton", "Moreira", "AYR"),
    ("Käthe", "Lindqvist", "KAT"),
    ("Juan", "Fangio", "JMF"),
    ("Mika", "Hakkarainen", "MIK"),
    ("Sofía", "Núñez", "SOF"),
    ("Niki", "Lauder", "NIK"),
];

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the tokio runtime")?
        .block_on(demo(args))
}

async fn demo(args: Args) -> anyhow::Result<ExitCode> {
    if !(args.game_speed > 0.0 && args.game_speed <= 100.0) {
        anyhow::bail!(
            "--game-speed {} is out of range: give a factor above 0 and at most 100",
            args.game_speed
        );
    }
    let duration = Duration::try_from_secs_f64(args.duration.max(1.0))
        .with_context(|| format!("--duration {} is not a number of seconds", args.duration))?;
    let car_side = if args.telemetry_cars > 0 { Some(CarSide::start(&args, duration).await?) } else { None };

    let loopback = SocketAddr::from(([127, 0, 0, 1], 0));
    // The simulator binds its command port first; the client then listens on a port of its own
    // and the simulator is pointed at it (a real server has both in server_cfg.ini).
    let mut server = ServerSim::bind(ServerConfig {
        cars: args.cars,
        seed: args.seed,
        speed: args.speed,
        bind: loopback,
        plugin: loopback,
        ..ServerConfig::default()
    })
    .await
    .context("cannot start the dedicated-server simulator")?;
    let mut config = ClientConfig::new(loopback, server.local_addr());
    config.realtime_interval_ms = Some(1000);
    let mut client = Client::bind(config).await.context("cannot start the ACSP client")?;
    server.set_plugin_addr(client.local_addr());
    let server = server.spawn();
    println!(
        "pitwall demo: a simulated AC server ({} cars, seed {}, {}× time) on {}, followed over UDP on {}",
        args.cars,
        args.seed,
        args.speed,
        server.local_addr(),
        client.local_addr()
    );
    println!("(the same as `pitwall sim server` + `pitwall acsp listen`; Ctrl-C stops)\n");
    client.broadcast_chat("pitwall is watching: good luck everybody").await?;

    let mut board = Timing::default();
    let end = tokio::time::Instant::now() + duration;
    let mut tick = tokio::time::interval(Duration::from_secs_f64(args.board_every.max(0.5)));
    tick.tick().await;
    loop {
        tokio::select! {
            event = client.next_event() => {
                let event = event?;
                acsp::dispatch(&event, &mut board);
                // Ask who is in each car as it joins: the answer (CAR_INFO) carries the team.
                if let acsp::Event::NewConnection(c) = &event {
                    client.get_car_info(c.car_id).await?;
                }
            }
            _ = tick.tick() => {
                board.print();
                if let Some(c) = &car_side {
                    c.print_status();
                }
            }
            () = tokio::time::sleep_until(end) => break,
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    board.print();
    let summary = server.shutdown().await.context("the simulator failed")?;
    let s = client.stats().snapshot();
    let counts: Vec<String> =
        s.per_type.iter().filter(|(_, n)| *n > 0).map(|(k, n)| format!("{k} {n}")).collect();
    println!(
        "\n{} events over UDP in {:.0} simulated seconds ({} malformed, {} rejected): {}",
        s.events,
        summary.sim_time.as_secs_f64(),
        s.malformed,
        s.rejected_source,
        counts.join(", ")
    );
    if let Some(c) = car_side {
        c.finish().await?;
    }
    println!("\nNext: `pitwall sim server` and `pitwall acsp listen` in two terminals (see README).");
    Ok(ExitCode::SUCCESS)
}

/// The car side: an ingest server, and per car a simulated game with its bridge.
struct CarSide {
    server: ingest::Running,
    bridges: Vec<(String, bridge::Running)>,
    data: PathBuf,
    parquet: PathBuf,
}

impl CarSide {
    async fn start(args: &Args, duration: Duration) -> anyhow::Result<CarSide> {
        let server_dir = args.data.join("server");
        let recordings = args.data.join("recordings");
        std::fs::create_dir_all(&recordings)
            .with_context(|| format!("cannot create {}", recordings.display()))?;
        let config = ingest::Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            data_dir: server_dir.clone(),
            ..ingest::Config::serve_default()
        };
        let parquet = server_dir.join("sinks").join("parquet");
        let server = ingest::Server::new(config).start().await.context("cannot start the ingest server")?;
        let url = format!("http://{}", server.local_addr());
        println!(
            "pitwall demo: ingest server on {} (WAL and Parquet in {}); {} simulated cars with bridges at {}× real time",
            server.local_addr(),
            server_dir.display(),
            args.telemetry_cars,
            args.game_speed,
        );
        let mut bridges = Vec::new();
        for i in 0..usize::from(args.telemetry_cars) {
            let (name, surname, nick) = DRIVERS[i % DRIVERS.len()];
            let game = sim::game::GameConfig {
                seed: args.seed.wrapping_add(i as u64),
                player_name: name.to_owned(),
                player_surname: surname.to_owned(),
                player_nick: nick.to_owned(),
                cars: i32::from(args.telemetry_cars),
                position: i as i32 + 1,
                ..sim::game::GameConfig::default()
            };
            let mut config = bridge::BridgeConfig::new(bridge::SourceConfig::Sim {
                game,
                speed: bridge::Speed::Factor(args.game_speed),
            });
            config.record = recordings.join(format!("car-{}.pb.gz", i + 1));
            config.server = Some(bridge::ServerConfig::new(&url));
            config.duration = Some(duration);
            let label = format!("car-{} {name} {surname}", i + 1);
            let running = bridge::Bridge::start(config)
                .with_context(|| format!("cannot start the bridge of {label}"))?;
            bridges.push((label, running));
        }
        Ok(CarSide { server, bridges, data: args.data.clone(), parquet })
    }

    fn print_status(&self) {
        for (label, b) in &self.bridges {
            let s = b.status();
            println!(
                "  telemetry {label:<26} {:>6.0} Hz  {:>8} frames  {:>8} acked  backlog {:>5}  {}",
                s.rate_hz, s.frames, s.frames_acked, s.backlog_frames, s.connection
            );
        }
        let st = self.server.stats();
        println!(
            "  ingest server: {} frames durable, {} duplicates dropped\n",
            st.frames_stored, st.duplicates
        );
    }

    async fn finish(self) -> anyhow::Result<()> {
        let CarSide { server, bridges, data, parquet } = self;
        let mut recordings = Vec::new();
        let mut sent = 0u64;
        for (label, b) in bridges {
            b.stop();
            let summary = tokio::task::spawn_blocking(move || b.wait())
                .await
                .context("a bridge thread failed")?
                .with_context(|| format!("the bridge of {label} failed"))?;
            let s = &summary.status;
            println!(
                "telemetry {label}: {} frames in {} session(s), {} acked by the server, {} missed physics steps; recorded in {}",
                s.frames,
                s.sessions,
                s.frames_acked,
                s.missed_steps,
                summary.record.display()
            );
            sent += s.frames;
            recordings.push(summary.record);
        }
        let stats = server.shutdown().await.context("the ingest server failed")?;
        println!(
            "ingest server: {} frames stored exactly once (of {} recorded by the bridges; {} duplicates dropped)",
            stats.frames_stored, sent, stats.duplicates
        );
        match ingest::sinks::parquet::list_sessions(&parquet) {
            Ok(sessions) => {
                for s in sessions {
                    println!(
                        "  session {} — {} on {}{}, {}: {} frames, {} laps, {} missed steps",
                        s.session_id,
                        s.driver,
                        s.track,
                        if s.layout.is_empty() { String::new() } else { format!(" ({})", s.layout) },
                        s.car,
                        s.frames,
                        s.laps,
                        s.missed_steps
                    );
                }
            }
            Err(e) => println!("  (cannot read the Parquet catalogue: {e})"),
        }
        print_next_steps(&data, &parquet, &recordings);
        Ok(())
    }
}

fn print_next_steps(data: &Path, parquet: &Path, recordings: &[PathBuf]) {
    let first = recordings.first().map_or_else(|| data.join("recordings/car-1.pb.gz"), Clone::clone);
    println!("\nThe data is in {}:", data.display());
    println!("  {}/session=…/car=…/part-N.parquet   the ingest server's dataset", parquet.display());
    println!("  {}   each bridge's recording (gzip, length-delimited TelemetryFrame)", first.display());
    println!("Look at it:");
    println!("  pitwall laps {}", first.display());
    println!(
        "  pitwall convert {} car-1.parquet      (or car-1.csv, car-1.ld for MoTeC i2)",
        first.display()
    );
    println!(
        "  python3 -c \"import pandas as pd; print(pd.read_parquet('{}').describe())\"",
        parquet.display()
    );
}

/// A live timing board, fed as an ACSP subscriber.
#[derive(Debug, Default)]
struct Timing {
    session: Option<SessionInfo>,
    cars: BTreeMap<u8, Car>,
    /// Car ids in standing order, from the last LAP_COMPLETED.
    order: Vec<u8>,
    grip: f32,
}

#[derive(Debug, Default)]
struct Car {
    driver: String,
    model: String,
    connected: bool,
    laps: u16,
    last: Option<u32>,
    best: Option<u32>,
    total: Option<u32>,
    spline: f32,
    speed_kmh: f32,
    incidents: u32,
}

impl Timing {
    fn print(&self) {
        let Some(s) = &self.session else { return };
        let clock = if s.elapsed_ms < 0 {
            format!("start in {:.0} s", -f64::from(s.elapsed_ms) / 1000.0)
        } else {
            format!("{} min", s.time)
        };
        println!("\n── {} · {} · {} · {} · grip {:.3}", s.name, s.session_type, s.track, clock, self.grip);
        println!(
            "{:>3}  {:>3}  {:<22} {:<18} {:>4} {:>9} {:>9} {:>6} {:>6} {:>3}",
            "pos", "car", "driver", "model", "laps", "last", "best", "km/h", "track", "inc"
        );
        let mut shown: Vec<u8> = self.order.iter().copied().filter(|id| self.cars.contains_key(id)).collect();
        shown.extend(self.cars.keys().filter(|id| !self.order.contains(id)));
        for (pos, id) in shown.iter().enumerate() {
            let c = &self.cars[id];
            if !c.connected && c.laps == 0 {
                continue;
            }
            println!(
                "{:>3}  {:>3}  {:<22} {:<18} {:>4} {:>9} {:>9} {:>6.0} {:>5.0}% {:>3}",
                pos + 1,
                id,
                truncate(&c.driver, 22),
                truncate(&c.model, 18),
                c.laps,
                c.last.map_or("-".into(), lap_time),
                c.best.map_or("-".into(), lap_time),
                c.speed_kmh,
                c.spline * 100.0,
                c.incidents
            );
        }
    }
}

fn truncate(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

impl Subscriber for Timing {
    fn on_new_session(&mut self, s: &SessionInfo) {
        println!(
            "\n▶ new session: {} ({}) at {}, {} min / {} laps",
            s.name, s.session_type, s.track, s.time, s.laps
        );
        self.session = Some(s.clone());
        self.order.clear();
        for c in self.cars.values_mut() {
            (c.laps, c.last, c.best, c.total, c.incidents) = (0, None, None, None, 0);
        }
    }
    fn on_session_info(&mut self, s: &SessionInfo) {
        if s.session_index == s.current_session_index {
            self.session = Some(s.clone());
        }
    }
    fn on_new_connection(&mut self, c: &ConnectionInfo) {
        println!("  + {} joins in car {} ({})", c.driver_name, c.car_id, c.car_model);
        let car = self.cars.entry(c.car_id).or_default();
        (car.driver, car.model, car.connected) = (c.driver_name.clone(), c.car_model.clone(), true);
    }
    fn on_connection_closed(&mut self, c: &ConnectionInfo) {
        println!("  - {} leaves car {}", c.driver_name, c.car_id);
        if let Some(car) = self.cars.get_mut(&c.car_id) {
            car.connected = false;
        }
    }
    fn on_car_update(&mut self, u: &CarUpdate) {
        let car = self.cars.entry(u.car_id).or_default();
        (car.spline, car.speed_kmh) = (u.normalized_spline_pos, u.speed_kmh());
    }
    fn on_lap_completed(&mut self, l: &LapCompleted) {
        let driver = self.cars.get(&l.car_id).map_or(String::new(), |c| c.driver.clone());
        let cut = if l.cuts > 0 { format!(" ({} cuts: not counted)", l.cuts) } else { String::new() };
        println!("  ⏱ car {} {}: {}{}", l.car_id, driver, lap_time(l.lap_time), cut);
        self.grip = l.grip_level;
        let race = self.session.as_ref().is_some_and(|s| s.session_type == acsp::SessionType::Race);
        self.order = l.leaderboard.iter().map(|e| e.car_id).collect();
        for e in &l.leaderboard {
            let car = self.cars.entry(e.car_id).or_default();
            car.laps = e.laps;
            let time = (e.time != NO_TIME).then_some(e.time);
            if race { car.total = time } else { car.best = time }
        }
        if let Some(car) = self.cars.get_mut(&l.car_id) {
            car.last = Some(l.lap_time);
            if race && l.cuts == 0 {
                car.best = Some(car.best.map_or(l.lap_time, |b| b.min(l.lap_time)));
            }
        }
    }
    fn on_collision_with_car(&mut self, c: &CollisionWithCar) {
        println!(
            "  ✖ car {} and car {} collide at {:.0} km/h",
            c.car_id,
            c.other_car_id,
            c.impact_speed * 3.6
        );
        for id in [c.car_id, c.other_car_id] {
            self.cars.entry(id).or_default().incidents += 1;
        }
    }
    fn on_collision_with_env(&mut self, c: &CollisionWithEnv) {
        println!("  ✖ car {} hits the wall at {:.0} km/h", c.car_id, c.impact_speed * 3.6);
        self.cars.entry(c.car_id).or_default().incidents += 1;
    }
    fn on_chat(&mut self, c: &Chat) {
        println!("  💬 car {}: {}", c.car_id, c.message);
    }
    fn on_end_session(&mut self, e: &acsp::EndSession) {
        self.print();
        println!("\n■ session over; the server wrote {}", e.filename);
    }
    fn on_error(&mut self, e: &acsp::ErrorMessage) {
        println!("  ! server error: {}", e.message);
    }
    fn on_car_info(&mut self, i: &acsp::CarInfo) {
        if !i.driver_team.is_empty() {
            println!("    car {}: {} drives for {}", i.car_id, i.driver_name, i.driver_team);
        }
    }
}
