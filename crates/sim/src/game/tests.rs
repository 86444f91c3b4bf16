//! Unit tests of the whole simulator: plausibility of the model, the timing, the `packetId`
//! semantics, the faults and determinism.

use std::time::Duration;

use shm::{GraphicsPage, PhysicsPage, Status};

use super::*;

fn game(track: &str, seed: u64) -> GameSim {
    GameSim::new(GameConfig { seed, track: track.into(), ..GameConfig::default() }).unwrap()
}

/// Runs until `laps` laps are complete, collecting every frame's pages.
fn run_laps(sim: &mut GameSim, laps: usize) -> (Vec<PhysicsPage>, Vec<GraphicsPage>) {
    let (mut physics, mut graphics) = (Vec::new(), Vec::new());
    // Until the graphics page has shown the last lap complete too: it updates at 60 Hz, so a
    // few steps after the physics step that crossed the line.
    while sim.laps().len() < laps || sim.graphics().completed_laps < laps as i32 {
        let frame = sim.step();
        physics.extend(frame.physics);
        graphics.extend(frame.graphics);
        assert!(sim.sim_time() < Duration::from_secs(600), "{laps} laps take too long");
    }
    (physics, graphics)
}

#[test]
fn speeds_rpm_gears_and_forces_stay_plausible() {
    for name in TRACK_NAMES {
        let mut sim = game(name, 1);
        let (physics, _) = run_laps(&mut sim, 3);
        let mut gears = std::collections::BTreeSet::new();
        let mut fuel = f32::MAX;
        for p in &physics {
            // Every 4-byte word of the page is a float or a small non-negative int, whose bits
            // read as a float are a tiny subnormal: a non-finite word is a NaN or inf we wrote.
            for word in p.as_bytes().chunks_exact(4) {
                let x = f32::from_le_bytes([word[0], word[1], word[2], word[3]]);
                assert!(x.is_finite(), "{name}: non-finite field in step {}", p.packet_id);
            }
            assert!((0.0..320.0).contains(&p.speed_kmh), "{name}: {} km/h", p.speed_kmh);
            assert!((1000..=9250).contains(&p.rpms), "{name}: {} rpm", p.rpms);
            assert!((1..=7).contains(&p.gear), "{name}: gear {}", p.gear);
            gears.insert(p.gear);
            assert!(p.acc_g[0].abs() < 2.5 && (-3.0..1.6).contains(&p.acc_g[2]), "{name}: {:?} g", p.acc_g);
            assert!(
                (0.0..=1.0).contains(&p.gas)
                    && (0.0..=1.0).contains(&p.brake)
                    && (0.0..=1.0).contains(&p.clutch)
            );
            assert!((-1.0..=1.0).contains(&p.steer_angle));
            for i in 0..4 {
                assert!(
                    (20.0..150.0).contains(&p.tyre_core_temperature[i]),
                    "{name}: {:?}",
                    p.tyre_core_temperature
                );
                assert!(
                    (15.0..150.0).contains(&p.tyre_temp_i[i]) && (15.0..150.0).contains(&p.tyre_temp_o[i])
                );
                assert!((15.0..40.0).contains(&p.wheels_pressure[i]), "{name}: {:?}", p.wheels_pressure);
                assert!((0.0..1000.0).contains(&p.brake_temp[i]), "{name}: {:?}", p.brake_temp);
                assert!((0.0..=0.12).contains(&p.suspension_travel[i]));
                assert!(p.wheel_load[i] > 0.0 && p.wheel_load[i] < 15_000.0);
                assert!((90.0..=100.0).contains(&p.tyre_wear[i]));
            }
            assert!(p.fuel <= fuel, "{name}: fuel went up");
            fuel = p.fuel;
        }
        // Neutral in the pit box, then at least five of the six gears (the oval is too short
        // for sixth).
        assert!(gears.first() == Some(&1) && gears.len() >= 6, "{name}: gears {gears:?}");
        if name == "pitwall_ring" {
            assert_eq!(gears.len(), 7, "the main straight needs sixth");
        }
        let top = physics.iter().map(|p| p.speed_kmh).fold(0.0, f32::max);
        assert!(top > 200.0, "{name}: top speed {top} km/h");
        assert!(fuel < 60.0 - 2.0, "{name}: {fuel} l left after 3 laps");
        let hot = physics.last().unwrap().tyre_core_temperature;
        assert!(hot.iter().all(|&t| t > 45.0), "{name}: tyres warm up: {hot:?}");
    }
}

#[test]
fn the_driver_brakes_for_corners_and_accelerates_out() {
    let mut sim = game("pitwall_ring", 2);
    run_laps(&mut sim, 1);
    let (physics, graphics) = run_laps(&mut sim, 2);
    // The slowest point of the second lap is a corner: braking before it, throttle after it.
    let (slowest, _) =
        physics.iter().enumerate().min_by(|a, b| a.1.speed_kmh.total_cmp(&b.1.speed_kmh)).unwrap();
    assert!(physics[slowest].speed_kmh < 130.0);
    let before = &physics[slowest.saturating_sub(1500)..slowest];
    let after = &physics[slowest..(slowest + 1500).min(physics.len())];
    assert!(before.iter().any(|p| p.brake > 0.5), "hard braking in the 4.5 s before the corner");
    assert!(after.iter().any(|p| p.gas > 0.95), "full throttle in the 4.5 s after it");
    assert!(after.iter().any(|p| p.acc_g[2] > 0.5));
    assert!(before.iter().any(|p| p.acc_g[2] < -1.2));
    let corner_g = physics[slowest].acc_g[0].abs();
    assert!(corner_g > 1.0, "{corner_g} g at the apex");
    // The graphics timing advanced meanwhile.
    assert_eq!(graphics.last().unwrap().completed_laps, 2);
}

#[test]
fn laps_are_the_sum_of_their_sectors_and_the_graphics_page_agrees() {
    let mut sim = game("pitwall_oval", 3);
    let (_, graphics) = run_laps(&mut sim, 4);
    let laps = sim.laps();
    assert_eq!(laps.len(), 4);
    for (i, lap) in laps.iter().enumerate() {
        assert_eq!(lap.lap as usize, i + 1);
        assert_eq!(lap.session, 1);
        assert_eq!(lap.sectors_ms.len(), 3);
        assert_eq!(lap.sectors_ms.iter().sum::<i32>(), lap.time_ms);
    }
    // Lap 1 starts in the pit box; the flying laps are quicker and all different.
    assert!(laps[0].time_ms > laps[1].time_ms);
    assert!(laps[1].time_ms != laps[2].time_ms || laps[2].time_ms != laps[3].time_ms);
    assert!((25_000..60_000).contains(&laps[2].time_ms), "{} ms", laps[2].time_ms);

    // Every graphics page's lap fields agree with the record.
    let mut best = i32::MAX;
    for g in &graphics {
        let done = g.completed_laps as usize;
        assert_eq!(g.current_time(), format_lap_time(g.i_current_time));
        if done == 0 {
            assert_eq!((g.i_last_time, g.i_best_time, g.last_time().as_str()), (0, 0, "-:--.---"));
            continue;
        }
        let last = &laps[done - 1];
        best = best.min(laps[..done].iter().map(|l| l.time_ms).min().unwrap());
        assert_eq!(g.i_last_time, last.time_ms);
        assert_eq!(g.last_time(), format_lap_time(last.time_ms));
        assert_eq!(g.i_best_time, best);
        assert_eq!(g.best_time(), format_lap_time(best));
    }
}

#[test]
fn sector_index_and_last_sector_time_follow_the_record() {
    let mut sim = game("pitwall_kurs", 4);
    let (_, graphics) = run_laps(&mut sim, 2);
    let laps = sim.laps().to_vec();
    let mut seen = Vec::new();
    for w in graphics.windows(2) {
        let (a, b) = (&w[0], &w[1]);
        if b.current_sector_index != a.current_sector_index {
            // A sector ended: its time is the last sector time from now on.
            let lap = b.completed_laps as usize - usize::from(b.current_sector_index == 0);
            let sector = if b.current_sector_index == 0 { 2 } else { b.current_sector_index as usize - 1 };
            assert_eq!(b.last_sector_time, laps[lap].sectors_ms[sector]);
            assert_eq!(b.split(), format_lap_time(b.last_sector_time));
            seen.push(b.current_sector_index);
        }
    }
    assert_eq!(seen, [1, 2, 0, 1, 2, 0]);
}

#[test]
fn normalized_position_wraps_exactly_when_completed_laps_increments() {
    let mut sim = game("pitwall_oval", 5);
    let mut last: Option<(i32, f32)> = None;
    let mut wraps = 0;
    while wraps < 3 {
        assert!(sim.sim_time() < Duration::from_secs(300));
        let Some(g) = sim.step().graphics else { continue };
        let now = (g.completed_laps, g.normalized_car_position);
        assert!((0.0..1.0).contains(&now.1), "{now:?}");
        if let Some(before) = last {
            let wrapped = now.1 < before.1;
            assert_eq!(wrapped, now.0 == before.0 + 1, "{before:?} -> {now:?}");
            assert!(now.0 == before.0 || now.0 == before.0 + 1);
            wraps += usize::from(wrapped);
        }
        last = Some(now);
    }
    assert_eq!(wraps, 3);
}

#[test]
fn distance_and_coordinates_follow_the_car() {
    let mut sim = game("pitwall_ring", 6);
    let mut prev: Option<GraphicsPage> = None;
    for _ in 0..20_000 {
        let frame = sim.step();
        if let Some(p) = frame.physics {
            // The velocity vector points along the heading.
            if p.speed_kmh > 20.0 {
                let dir = p.velocity[2].atan2(p.velocity[0]);
                let diff = (dir - p.heading + std::f32::consts::PI).rem_euclid(std::f32::consts::TAU)
                    - std::f32::consts::PI;
                assert!(diff.abs() < 1e-3, "velocity {:?} vs heading {}", p.velocity, p.heading);
                let speed = p.velocity.iter().map(|v| v * v).sum::<f32>().sqrt() * 3.6;
                assert!((speed - p.speed_kmh).abs() < 0.01);
            }
        }
        let Some(g) = frame.graphics else { continue };
        if let Some(before) = &prev {
            let moved: f32 = (0..3)
                .map(|k| (g.car_coordinates[k] - before.car_coordinates[k]).powi(2))
                .sum::<f32>()
                .sqrt();
            let travelled = g.distance_traveled - before.distance_traveled;
            assert!(travelled >= 0.0);
            assert!((moved - travelled).abs() < 0.05, "moved {moved} m, travelled {travelled} m");
        }
        prev = Some(g);
    }
    let g = prev.unwrap();
    assert!(g.distance_traveled > 1000.0);
}

#[test]
fn a_session_starts_in_the_pit_box_then_the_pit_lane() {
    let mut sim = game("pitwall_ring", 7);
    let first = sim.step();
    let (p, g) = (first.physics.unwrap(), first.graphics.unwrap());
    assert!(g.is_in_pit() && g.is_in_pit_lane() && p.pit_limiter_on());
    assert_eq!((p.speed_kmh, p.gear), (0.0, 1));
    let mut phases = Vec::new();
    for _ in 0..(40_000 / 3) {
        let frame = sim.step();
        if let (Some(p), Some(g)) = (frame.physics, frame.graphics) {
            let phase = (g.is_in_pit(), g.is_in_pit_lane());
            if phases.last() != Some(&phase) {
                phases.push(phase);
            }
            if g.is_in_pit_lane() {
                assert!(p.speed_kmh < 81.0, "{} km/h in the pit lane", p.speed_kmh);
                assert!(p.pit_limiter_on());
            } else {
                assert!(!p.pit_limiter_on());
            }
        }
    }
    assert_eq!(phases, [(true, true), (false, true), (false, false)]);
}

#[test]
fn the_static_page_describes_the_car_and_track() {
    let sim = game("pitwall_kurs", 8);
    let s = sim.static_page();
    assert_eq!(s.sm_version(), "1.7");
    assert_eq!(s.track(), "pitwall_kurs");
    assert_eq!(s.track_configuration(), "Südschleife");
    assert_eq!(s.car_model(), "ks_porsche_911_gt3_r_2016");
    assert_eq!((s.player_name(), s.player_nick()), ("Jürgen".into(), "JÖD".into()));
    assert_eq!(s.sector_count, 3);
    assert_eq!(s.max_rpm, 9250);
    assert_eq!(s.max_fuel, 120.0);
    assert_eq!(s.num_cars, 1);
    assert!(s.tyre_radius.iter().all(|&r| r > 0.3));
    assert!((f64::from(s.track_spline_length) - sim.track().length()).abs() < 0.01);
    assert!(s.max_power > 300_000.0 && s.max_torque > 400.0);
}

#[test]
fn packet_ids_count_written_updates_at_the_games_rates() {
    let mut sim = game("pitwall_oval", 9);
    let mut physics_ids = Vec::new();
    let mut graphics_ids = Vec::new();
    let mut statics = 0;
    // Ten simulated seconds.
    for _ in 0..3334 {
        let frame = sim.step();
        statics += usize::from(frame.static_page.is_some());
        physics_ids.extend(frame.physics.map(|p| p.packet_id));
        graphics_ids.extend(frame.graphics.map(|g| g.packet_id));
    }
    assert_eq!(statics, 1, "the static page is written once per session");
    assert_eq!(physics_ids, (1..=3334).collect::<Vec<_>>(), "physics: +1 every 3 ms step");
    assert_eq!(graphics_ids, (1..=graphics_ids.len() as i32).collect::<Vec<_>>());
    assert!((599..=602).contains(&graphics_ids.len()), "{} graphics updates in 10 s", graphics_ids.len());
    assert_eq!(sim.sim_time(), Duration::from_millis(3334 * 3));
    assert_eq!(sim.stats().physics_writes, 3334);
}

#[test]
fn advance_runs_whole_steps_and_carries_the_rest() {
    let mut sim = game("pitwall_oval", 10);
    assert!(sim.advance(Duration::from_millis(2)).is_none());
    let frame = sim.advance(Duration::from_millis(2)).unwrap();
    assert_eq!(frame.step, 0);
    assert!(frame.static_page.is_some(), "merged frames keep the session's static page");
    let frame = sim.advance(Duration::from_millis(1000)).unwrap();
    assert_eq!(sim.stats().steps, 334);
    assert_eq!(frame.physics.unwrap().packet_id, 334);
    assert!(frame.static_page.is_none());
}

#[test]
fn pausing_stops_physics_and_the_session_clock_but_not_graphics() {
    let mut sim = game("pitwall_ring", 11);
    sim.advance(Duration::from_secs(5));
    let (id, clock) = (sim.physics().packet_id, sim.graphics().i_current_time);
    sim.set_paused(true);
    let mut graphics = Vec::new();
    for _ in 0..1000 {
        let frame = sim.step();
        assert!(frame.physics.is_none());
        graphics.extend(frame.graphics);
    }
    assert!(graphics.len() > 150);
    for g in &graphics {
        assert_eq!(g.status(), Status::Pause);
        assert!((clock..clock + 20).contains(&g.i_current_time), "the lap clock stopped");
    }
    assert!(graphics.windows(2).all(|w| w[1].packet_id == w[0].packet_id + 1));
    sim.set_paused(false);
    let frame = sim.step();
    assert_eq!(frame.physics.unwrap().packet_id, id + 1, "physics resumes where it stopped");
    assert_eq!(sim.stats().pauses, 1);
    assert_eq!(sim.stats().paused_steps, 1000);
}

#[test]
fn dropped_steps_make_the_packet_id_jump_by_what_was_dropped() {
    let faults = Faults { drop_rate: 0.05, ..Faults::none() };
    let mut sim = GameSim::new(GameConfig { seed: 12, faults, ..GameConfig::default() }).unwrap();
    let mut last = 0;
    let mut jumped = 0;
    for _ in 0..20_000 {
        let frame = sim.step();
        if let Some(p) = frame.physics {
            assert!(!frame.dropped);
            jumped += (p.packet_id - last - 1) as u64;
            last = p.packet_id;
        }
    }
    let stats = sim.stats();
    assert_eq!(jumped, stats.dropped_steps);
    assert!((700..1300).contains(&stats.dropped_steps), "{stats:?}");
    assert_eq!(stats.physics_writes + stats.dropped_steps, stats.steps);
    assert_eq!(sim.physics().packet_id, last, "the simulator reports the last page written");
}

#[test]
fn faults_never_change_the_driving() {
    let clean = {
        let mut sim = game("pitwall_oval", 13);
        run_laps(&mut sim, 2);
        sim.laps().to_vec()
    };
    let faults = "drop=0.2,tear=0.3".parse().unwrap();
    let mut sim =
        GameSim::new(GameConfig { seed: 13, track: "pitwall_oval".into(), faults, ..GameConfig::default() })
            .unwrap();
    run_laps(&mut sim, 2);
    assert_eq!(sim.laps(), clean);
    assert!(sim.stats().torn_writes > 0 && sim.stats().dropped_steps > 0);
}

#[test]
fn pause_faults_come_and_go() {
    let faults = "pause=2/0.5".parse().unwrap();
    let mut sim = GameSim::new(GameConfig { seed: 14, faults, ..GameConfig::default() }).unwrap();
    let mut statuses = Vec::new();
    for _ in 0..(30_000 / 3) {
        if let Some(g) = sim.step().graphics {
            if statuses.last() != Some(&g.status()) {
                statuses.push(g.status());
            }
        }
    }
    let stats = sim.stats();
    assert!((8..25).contains(&stats.pauses), "{stats:?}");
    assert_eq!(stats.paused_steps, stats.pauses * 167, "each pause lasts 0.5 s: 167 steps");
    assert_eq!(statuses.iter().filter(|&&s| s == Status::Pause).count() as u64, stats.pauses);
    assert_eq!(sim.session_time() + Duration::from_millis(stats.paused_steps * 3), sim.sim_time());
}

#[test]
fn a_restart_writes_the_static_page_and_starts_the_ids_again() {
    let faults = "restart=50".parse().unwrap();
    let mut sim =
        GameSim::new(GameConfig { seed: 15, track: "pitwall_oval".into(), faults, ..GameConfig::default() })
            .unwrap();
    let mut starts = Vec::new();
    for _ in 0..(110_000 / 3) {
        let frame = sim.step();
        if frame.static_page.is_some() {
            let (p, g) = (frame.physics.unwrap(), frame.graphics.unwrap());
            starts.push((frame.sim_time, p.packet_id, g.packet_id, g.completed_laps, g.is_in_pit()));
        }
    }
    let at = |ms| Duration::from_millis(ms);
    assert_eq!(starts, [(at(3), 1, 1, 0, true), (at(50_001), 1, 1, 0, true), (at(100_002), 1, 1, 0, true)]);
    assert_eq!(sim.session(), 3);
    assert_eq!(sim.stats().sessions, 3);
    assert!(sim.laps().iter().any(|l| l.session == 2), "a 50 s session completes a lap of the oval");
}

#[test]
fn torn_frames_are_marked_at_about_the_rate_asked() {
    let faults = "tear=0.1".parse().unwrap();
    let mut sim = GameSim::new(GameConfig { seed: 16, faults, ..GameConfig::default() }).unwrap();
    let mut torn = 0u64;
    for _ in 0..10_000 {
        let frame = sim.step();
        assert!(!frame.torn || frame.physics.is_some());
        torn += u64::from(frame.torn);
    }
    assert_eq!(torn, sim.stats().torn_writes);
    assert!((800..1200).contains(&torn), "{torn}");
}

#[test]
fn the_same_seed_gives_the_same_pages_and_another_seed_others() {
    let pages = |seed| {
        let mut sim = game("pitwall_kurs", seed);
        (0..5000).map(|_| sim.step()).collect::<Vec<_>>()
    };
    let (a, b, c) = (pages(42), pages(42), pages(43));
    assert_eq!(a.len(), b.len());
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.physics.map(|p| p.as_bytes().to_vec()), y.physics.map(|p| p.as_bytes().to_vec()));
        assert_eq!(x.graphics.map(|g| g.as_bytes().to_vec()), y.graphics.map(|g| g.as_bytes().to_vec()));
        assert_eq!(
            x.static_page.map(|s| s.as_bytes().to_vec()),
            y.static_page.map(|s| s.as_bytes().to_vec())
        );
    }
    let differ = a.iter().zip(&c).filter(|(x, y)| x.physics != y.physics).count();
    assert!(differ > 4000, "only {differ} of 5000 physics pages differ between seeds");
}

#[test]
fn merging_keeps_the_latest_of_each_page() {
    let mut sim = game("pitwall_oval", 17);
    let first = sim.step();
    let mut merged = first.clone();
    let mut last_graphics = None;
    for _ in 0..10 {
        let frame = sim.step();
        last_graphics = frame.graphics.or(last_graphics);
        merged.merge(frame);
    }
    assert_eq!(merged.step, 10);
    assert_eq!(merged.static_page, first.static_page, "the session's static page is kept");
    assert_eq!(merged.physics.unwrap().packet_id, 11);
    assert_eq!(merged.graphics, last_graphics);
}

#[test]
fn bad_configurations_are_refused_with_the_field_named() {
    for (config, field) in [
        (GameConfig { track: "nowhere".into(), ..GameConfig::default() }, "track"),
        (GameConfig { fuel: 0.0, ..GameConfig::default() }, "fuel"),
        (GameConfig { fuel: f64::NAN, ..GameConfig::default() }, "fuel"),
        (GameConfig { cars: 0, ..GameConfig::default() }, "cars"),
        (GameConfig { position: 2, ..GameConfig::default() }, "position"),
        (GameConfig { car_model: " ".into(), ..GameConfig::default() }, "car_model"),
        (GameConfig { session_length: Duration::ZERO, ..GameConfig::default() }, "session_length"),
        (
            GameConfig { faults: Faults { tear_rate: 1.0, ..Faults::none() }, ..GameConfig::default() },
            "tear_rate",
        ),
    ] {
        let err = GameSim::new(config).unwrap_err().to_string();
        assert!(err.contains(field), "{err}");
    }
}

#[test]
fn the_static_page_reports_the_configured_car() {
    let mut sim = GameSim::new(GameConfig {
        car_model: "ks_mclaren_650_gt3".into(),
        car_skin: "02_blue_sky".into(),
        ..GameConfig::default()
    })
    .unwrap();
    let page = sim.step().static_page.unwrap();
    assert_eq!((page.car_model(), page.car_skin()), ("ks_mclaren_650_gt3".into(), "02_blue_sky".into()));
    let default = game(DEFAULT_TRACK, 1).step().static_page.unwrap();
    assert_eq!(default.car_model(), "ks_porsche_911_gt3_r_2016");
}
