//! The screen of `pitwall shm watch`, drawn from a snapshot of the pages and the poller's
//! counters: pure functions that return text, printed by the command's loop.

use std::fmt::Write as _;
use std::time::Duration;

use ::shm::{FlagType, PollStats, SessionType, Snapshot, Status};

use crate::cmd::text::{escape_controls, page_lap_time};

/// The gear as a dashboard shows it: the page's 0 is reverse and 1 neutral.
fn gear(g: i32) -> String {
    match g {
        0 => "R".to_owned(),
        1 => "N".to_owned(),
        // In i64: a page's `gear` can be any i32, `i32::MIN` too.
        n => (i64::from(n) - 1).to_string(),
    }
}

/// The game's state, in capitals: `LIVE`, or the code when it names no state.
fn status_name(s: Status) -> String {
    match s {
        Status::Off => "OFF".to_owned(),
        Status::Replay => "REPLAY".to_owned(),
        Status::Live => "LIVE".to_owned(),
        Status::Pause => "PAUSE".to_owned(),
        Status::Unknown(c) => format!("status {c}"),
    }
}

/// The session type, in capitals: `QUALIFY`, or the code when it names no type.
fn session_name(s: SessionType) -> String {
    match s {
        SessionType::Unknown(c) => format!("session {c}"),
        other => format!("{other:?}").to_uppercase(),
    }
}

/// The flag shown to the driver: `yellow flag`, or the code when it names no flag.
fn flag_name(f: FlagType) -> String {
    match f {
        FlagType::NoFlag => "no flag".to_owned(),
        FlagType::Unknown(c) => format!("flag {c}"),
        other => format!("{other:?} flag").to_lowercase(),
    }
}

/// A horizontal bar of `width` cells filled to `fraction` (0..1).
fn bar(fraction: f32, width: usize) -> String {
    let filled = ((fraction.clamp(0.0, 1.0) * width as f32).round() as usize).min(width);
    format!("{}{}", "█".repeat(filled), "░".repeat(width - filled))
}

/// A bar centred on 0 for a value in -1..1 (steering).
fn centred_bar(value: f32, half: usize) -> String {
    let cells = ((value.clamp(-1.0, 1.0).abs() * half as f32).round() as usize).min(half);
    let (left, right) = if value < 0.0 { (cells, 0) } else { (0, cells) };
    format!(
        "{}{}|{}{}",
        "░".repeat(half - left),
        "█".repeat(left),
        "█".repeat(right),
        "░".repeat(half - right)
    )
}

/// The full-screen view.
pub(super) fn screen(view: &Snapshot, stats: &PollStats, rate: Option<f64>, location: &str) -> String {
    let (p, g, s) = (&view.physics, &view.graphics, &view.static_page);
    let mut o = String::new();
    let _ = writeln!(o, "pitwall shm watch — {location}   (Ctrl-C quits)");
    let config = s.track_configuration();
    let _ = writeln!(
        o,
        "{} on {}{}   driver {} {} ({})",
        escape_controls(&s.car_model()),
        escape_controls(&s.track()),
        if config.is_empty() { String::new() } else { format!(" [{}]", escape_controls(&config)) },
        escape_controls(&s.player_name()),
        escape_controls(&s.player_surname()),
        escape_controls(&s.player_nick())
    );
    let _ = writeln!(
        o,
        "{}   {}   {}   position {}/{}",
        status_name(g.status()),
        session_name(g.session()),
        flag_name(g.flag()),
        g.position,
        s.num_cars
    );
    let _ = writeln!(o);
    let max_rpm = if s.max_rpm > 0 { s.max_rpm } else { 10_000 };
    let _ = writeln!(
        o,
        "speed {:6.1} km/h   gear {:>2}   rpm {:5} / {max_rpm}  {}",
        p.speed_kmh,
        gear(p.gear),
        p.rpms,
        bar(p.rpms as f32 / max_rpm as f32, 30)
    );
    let _ = writeln!(o, "throttle {}  {:4.2}", bar(p.gas, 30), p.gas);
    let _ = writeln!(o, "brake    {}  {:4.2}", bar(p.brake, 30), p.brake);
    let _ = writeln!(o, "clutch   {}  {:4.2}", bar(p.clutch, 30), p.clutch);
    let _ = writeln!(o, "steer    {}  {:+5.2}", centred_bar(p.steer_angle, 15), p.steer_angle);
    let _ = writeln!(o, "g        lateral {:+5.2}   longitudinal {:+5.2}", p.acc_g[0], p.acc_g[2]);
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "lap {}   current {}   last {}   best {}   sector {}/{}   position on lap {:.4}",
        i64::from(g.completed_laps) + 1,
        page_lap_time(g.i_current_time),
        page_lap_time(g.i_last_time),
        page_lap_time(g.i_best_time),
        i64::from(g.current_sector_index) + 1,
        s.sector_count,
        g.normalized_car_position
    );
    let _ = writeln!(
        o,
        "fuel {:5.1} / {:.0} l   distance {:.1} km   {}",
        p.fuel,
        s.max_fuel,
        g.distance_traveled / 1000.0,
        if g.is_in_pit() {
            "in the pit box"
        } else if g.is_in_pit_lane() {
            "in the pit lane"
        } else {
            "on track"
        }
    );
    let _ = writeln!(o);
    let row = |name: &str, v: [f32; 4], prec: usize| {
        format!("{name:<12}{}", v.iter().map(|x| format!("{x:>8.prec$}")).collect::<String>())
    };
    let _ = writeln!(o, "{:<12}{:>8}{:>8}{:>8}{:>8}", "tyres", "FL", "FR", "RL", "RR");
    let _ = writeln!(o, "{}", row("core °C", p.tyre_core_temperature, 1));
    let _ = writeln!(o, "{}", row("inner °C", p.tyre_temp_i, 1));
    let _ = writeln!(o, "{}", row("middle °C", p.tyre_temp_m, 1));
    let _ = writeln!(o, "{}", row("outer °C", p.tyre_temp_o, 1));
    let _ = writeln!(o, "{}", row("psi", p.wheels_pressure, 1));
    let _ = writeln!(o, "{}", row("wear %", p.tyre_wear, 2));
    let _ = writeln!(o, "{}", row("brakes °C", p.brake_temp, 0));
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "poller {}   samples {}   missed steps {}   duplicates {}   torn retries {}   torn reads {}   sessions {}",
        rate.map_or_else(|| "-".to_owned(), |r| format!("{r:.1} Hz")),
        stats.samples,
        stats.missed_steps,
        stats.duplicates,
        stats.retries,
        stats.torn_reads,
        stats.sessions
    );
    let _ = writeln!(o, "physics #{}   graphics #{}", p.packet_id, g.packet_id);
    o
}

/// The one-line-per-second form, for pipes and files.
pub(super) fn line(view: &Snapshot, stats: &PollStats, rate: Option<f64>, elapsed: Duration) -> String {
    let (p, g) = (&view.physics, &view.graphics);
    format!(
        "t={:.0}s status={} lap={} current={} last={} best={} pos={:.4} speed={:.1} gear={} rpm={} fuel={:.1} \
         physics={} graphics={} rate={} samples={} missed={} duplicates={} retries={} torn={}",
        elapsed.as_secs_f64(),
        status_name(g.status()).to_lowercase(),
        i64::from(g.completed_laps) + 1,
        page_lap_time(g.i_current_time),
        page_lap_time(g.i_last_time),
        page_lap_time(g.i_best_time),
        g.normalized_car_position,
        p.speed_kmh,
        gear(p.gear),
        p.rpms,
        p.fuel,
        p.packet_id,
        g.packet_id,
        rate.map_or_else(|| "-".to_owned(), |r| format!("{r:.1}Hz")),
        stats.samples,
        stats.missed_steps,
        stats.duplicates,
        stats.retries,
        stats.torn_reads
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_fill_and_centre() {
        assert_eq!(bar(0.5, 4), "██░░");
        assert_eq!(bar(2.0, 2), "██");
        assert_eq!(centred_bar(-1.0, 2), "██|░░");
        assert_eq!(centred_bar(0.0, 2), "░░|░░");
        assert_eq!(centred_bar(0.5, 2), "░░|█░");
        assert_eq!(gear(1), "N");
        assert_eq!(gear(4), "3");
        assert_eq!(page_lap_time(83_456), "1:23.456");
        assert_eq!(page_lap_time(0), "-");
        assert_eq!(page_lap_time(-1), "-");
        // Any i32 from a page, without overflow.
        assert_eq!(gear(i32::MIN), "-2147483649");
        assert_eq!(page_lap_time(i32::MAX), "35791:23.647");
        assert_eq!(bar(f32::NAN, 3), "░░░");
        assert_eq!(centred_bar(f32::NAN, 1), "░|░");
    }
}
