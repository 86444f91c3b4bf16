//! `pitwall demo`: the main job, on the simulators. A simulated dedicated server runs a grid of
//! cars through practice, qualifying and a race; pitwall follows it over the real UDP plugin
//! protocol and keeps a live timing board.
//!
//! The car side (game simulator → bridge → ingest server) joins this demo as it is built.

use std::collections::BTreeMap;
use std::net::SocketAddr;
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
    /// Cars on the grid.
    #[arg(long, default_value_t = 10)]
    cars: u8,
    /// Simulator seed: the same seed plays the same sessions.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Time acceleration of the simulator.
    #[arg(long, default_value_t = 60.0)]
    speed: f64,
    /// How long to run, in real seconds.
    #[arg(long, default_value_t = 40.0)]
    duration: f64,
    /// Seconds between timing boards.
    #[arg(long, default_value_t = 5.0)]
    board_every: f64,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the tokio runtime")?
        .block_on(demo(args))
}

async fn demo(args: Args) -> anyhow::Result<ExitCode> {
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
    let end = tokio::time::Instant::now() + Duration::from_secs_f64(args.duration.max(1.0));
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
            _ = tick.tick() => board.print(),
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
    println!("Next: `pitwall sim server` and `pitwall acsp listen` in two terminals (see README).");
    Ok(ExitCode::SUCCESS)
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
