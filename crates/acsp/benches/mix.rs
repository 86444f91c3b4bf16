//! Ten seconds of a full 24-car server, as the decode bench and the `bench_capture` example
//! (the capture `scripts/bench` feeds to `pitwall acsp decode` and to acudpclient) both use it:
//! one definition, so that the bench's bytes per second and the CLI's are of the same traffic.

use acsp::{
    CarUpdate, Chat, ClientLoaded, CollisionWithCar, CollisionWithEnv, ConnectionInfo, Event, LapCompleted,
    LeaderboardEntry, NO_TIME, SessionInfo, SessionType, StringWidth, Vec3,
};

pub const CARS: u8 = 24;

pub fn car_update(car_id: u8, tick: u32) -> Event {
    let t = tick as f32 * 0.1;
    let c = f32::from(car_id);
    Event::CarUpdate(CarUpdate {
        car_id,
        position: Vec3::new(-120.0 + 70.0 * t - 8.0 * c, 2.125 + 0.01 * t, 35.5 + 0.25 * c),
        velocity: Vec3::new(70.0 + c, 0.1, 0.5 - 0.01 * c),
        gear: 2 + (tick % 6) as u8,
        engine_rpm: 9_000 + (tick % 40) as u16 * 50,
        normalized_spline_pos: (t * 0.0125 + c / 24.0) % 1.0,
    })
}

pub fn leaderboard() -> Vec<LeaderboardEntry> {
    (0..CARS)
        .map(|car_id| LeaderboardEntry {
            car_id,
            time: if car_id < 20 { 80_902 + 311 * u32::from(car_id) } else { NO_TIME },
            laps: if car_id < 20 { 12 } else { 0 },
            has_completed: Some(false),
        })
        .collect()
}

pub fn session_info() -> Event {
    Event::SessionInfo(SessionInfo {
        protocol_version: 4,
        session_index: 2,
        current_session_index: 2,
        session_count: 3,
        server_name: "ACRL Sunday Cup #3 | Red Bull Ring | 24 cars".into(),
        track: "ks_red_bull_ring".into(),
        track_config: "layout_gp".into(),
        name: "Race".into(),
        session_type: SessionType::Race,
        time: 0,
        laps: 25,
        wait_time: 40_000,
        ambient_temp: 24,
        road_temp: 30,
        weather_graphics: "3_clear".into(),
        weather_encoding: StringWidth::Narrow,
        elapsed_ms: 905_112,
    })
}

pub fn connection(car_id: u8) -> ConnectionInfo {
    ConnectionInfo {
        driver_name: "Jean-Éric Bernard".into(),
        driver_guid: "76561198000000001".into(),
        car_id,
        car_model: "rss_formula_hybrid_2021".into(),
        car_skin: "00_official".into(),
    }
}

/// Ten seconds of a 24-car server, in arrival order.
pub fn ten_seconds() -> Vec<Event> {
    let mut events = Vec::new();
    for tick in 0..100u32 {
        for car in 0..CARS {
            events.push(car_update(car, tick));
        }
        // A 24-car field at ~81 s a lap completes about three laps in ten seconds.
        if tick % 33 == 5 {
            let car_id = (tick % CARS as u32) as u8;
            events.push(Event::LapCompleted(LapCompleted {
                car_id,
                lap_time: 81_250 + tick,
                cuts: 0,
                leaderboard: leaderboard(),
                grip_level: 0.98,
            }));
        }
        match tick {
            10 => events.push(Event::CollisionWithCar(CollisionWithCar {
                car_id: 4,
                other_car_id: 5,
                impact_speed: 6.25,
                world_position: Vec3::new(210.5, 2.0, 36.75),
                relative_position: Vec3::new(0.0, 0.125, 2.25),
            })),
            20 => events.push(Event::Chat(Chat { car_id: 7, message: "sorry, my fault".into() })),
            40 => events.push(Event::CollisionWithEnv(CollisionWithEnv {
                car_id: 9,
                impact_speed: 14.75,
                world_position: Vec3::new(-310.75, 4.25, 123.5),
                relative_position: Vec3::new(-0.75, -0.5, 1.0),
            })),
            50 => events.push(session_info()),
            60 => events.push(Event::ConnectionClosed(connection(23))),
            70 => events.push(Event::NewConnection(connection(23))),
            80 => events.push(Event::Chat(Chat { car_id: 0, message: "gg è, box this lap".into() })),
            95 => events.push(Event::ClientLoaded(ClientLoaded { car_id: 23 })),
            _ => {}
        }
    }
    events
}
