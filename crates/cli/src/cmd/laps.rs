//! `pitwall laps FILE`: the lap table of a recording (or a Parquet dataset or file), from the
//! `analysis` crate's lap tracker: number, lap time, sector times, valid or why not, top and
//! minimum speed, fuel used, average tyre core temperatures, missed physics steps. A human
//! table by default (one block per session); `--json` prints one JSON object per lap, one per
//! line.
//!
//! With `--db FILE` (a records database), each lap also shows the server lap of the same drive:
//! the one the database links to it (the laps sink stored the telemetry lap), or, for a lap the
//! database does not hold (a recording that never went through `pitwall serve`), the one the
//! same rule matches (`records::telemetry`, docs/join.md); with its validity, cuts and
//! collisions as the server saw them.

use crate::cmd::text::outln;
use crate::cmd::text::print_str;
use std::collections::HashMap;
use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use analysis::LapTracker;
use anyhow::Context as _;
use convert::Lap;
use records::{GameIdentity, ServerLap, Store};
use serde_json::json;

use super::UsageError;

use super::convert::{progress_bar, update};

/// Arguments of `pitwall laps`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A recording (.pb.gz), a Parquet file, or a Parquet dataset folder.
    #[arg(value_name = "FILE")]
    input: PathBuf,
    /// One JSON object per lap, one per line.
    #[arg(long)]
    json: bool,
    /// A records database: show the server lap linked to (or matched with) each lap.
    #[arg(long, value_name = "FILE")]
    db: Option<PathBuf>,
}

/// The server lap of a telemetry lap, and how it was found: `"linked"` in the database, or
/// `"matched"` by the rule on the spot.
type ServerOf = Option<(ServerLap, &'static str)>;

/// The game's identity (car, track, names) of each session, by session id.
type Games = HashMap<Vec<u8>, GameIdentity>;

/// The lap table of `input` (as `convert::lap_table`), with each session's game identity from
/// its metadata.
fn read_laps(
    input: &Path,
    progress: &mut dyn FnMut(convert::Progress),
) -> anyhow::Result<(Vec<Lap>, Games, convert::InputSummary)> {
    let mut tracker = LapTracker::new();
    let mut laps = Vec::new();
    let mut games = HashMap::new();
    let summary = convert::for_each_frames(input, progress, |frames| {
        for f in frames {
            if let Some(m) = &f.session {
                let game = GameIdentity {
                    car_model: m.car_model.clone(),
                    track: m.track.clone(),
                    layout: m.track_configuration.clone(),
                    player_name: m.player_name.clone(),
                    player_surname: m.player_surname.clone(),
                    player_nick: m.player_nick.clone(),
                };
                games.insert(f.session_id.to_vec(), game);
            }
            tracker.push(f);
            laps.extend(std::iter::from_fn(|| tracker.pop_lap()));
        }
        Ok(())
    })?;
    tracker.finish();
    laps.extend(std::iter::from_fn(|| tracker.pop_lap()));
    Ok((laps, games, summary))
}

/// The server lap of each lap in `db`.
fn server_laps(db: &Path, laps: &[Lap], games: &Games) -> anyhow::Result<Vec<ServerOf>> {
    // A look-up must not create an empty database where a path was mistyped.
    if !db.is_file() {
        return Err(UsageError(format!(
            "no records database at {}",
            super::text::escape_controls(&db.to_string_lossy())
        ))
        .into());
    }
    let store = Store::open(db).context("opening the records database")?;
    let mut out = Vec::with_capacity(laps.len());
    for l in laps {
        let Ok(sid) = <[u8; 16]>::try_from(l.session_id.as_slice()) else {
            out.push(None);
            continue;
        };
        let found = match store.telemetry_lap(&sid, l.number).context("reading the records database")? {
            Some(t) => t.server.map(|s| (s, "linked")),
            None => match games.get(&l.session_id) {
                Some(game) if l.crossed_line && l.time_ms > 0 => store
                    .match_server_lap(
                        game,
                        u32::try_from(l.time_ms).unwrap_or(u32::MAX),
                        l.end_wall_ns / 1_000_000,
                    )
                    .context("reading the records database")?
                    .map(|s| (s, "matched")),
                _ => None,
            },
        };
        out.push(found);
    }
    Ok(out)
}

/// The server lap as a table cell: `lap 4, valid` or `lap 4, 2 cuts, 1 collision`.
fn server_cell(s: &ServerOf) -> String {
    let Some((s, _)) = s else { return "-".to_owned() };
    let mut text = format!("lap {}", s.lap);
    match s.cuts {
        0 => text.push_str(", valid"),
        1 => text.push_str(", 1 cut"),
        n => text.push_str(&format!(", {n} cuts")),
    }
    match s.collisions {
        0 => {}
        1 => text.push_str(", 1 collision"),
        n => text.push_str(&format!(", {n} collisions")),
    }
    text
}

fn server_json(s: &ServerOf) -> serde_json::Value {
    let Some((s, how)) = s else { return serde_json::Value::Null };
    json!({
        "found": how,
        "server": s.server,
        "session": s.session.id(),
        "guid": s.guid,
        "name": s.name,
        "car": s.car_model,
        "lap": s.lap,
        "time_ms": s.time_ms,
        "sectors_ms": s.sectors,
        "valid": s.valid,
        "cuts": s.cuts,
        "collisions": s.collisions,
        "finished_at_ms": s.finished_at_ms,
    })
}

/// `m:ss.mmm`.
fn time(ms: i64) -> String {
    if ms < 0 {
        return "-".to_owned();
    }
    format!("{}:{:02}.{:03}", ms / 60_000, ms / 1000 % 60, ms % 1000)
}

/// `ss.mmm` (or `m:ss.mmm` past a minute).
fn sector(ms: i32) -> String {
    if ms >= 60_000 { time(i64::from(ms)) } else { format!("{}.{:03}", ms / 1000, ms % 1000) }
}

fn lap_json(l: &Lap) -> serde_json::Value {
    json!({
        "session_id": convert::session_id_text(&l.session_id),
        "lap": l.number,
        "time_ms": l.time_ms,
        "time": time(l.time_ms),
        "game_time_ms": l.game_time_ms,
        "computed_time_ms": l.computed_time_ms,
        "sectors_ms": l.sectors_ms,
        "valid": l.is_valid(),
        "invalid": l.invalid.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "crossed_line": l.crossed_line,
        "out_lap": l.out_lap,
        "in_lap": l.in_lap,
        "top_speed_kmh": l.top_speed_kmh,
        "min_speed_kmh": l.min_speed_kmh,
        "fuel_used_l": l.fuel_used_l,
        "avg_tyre_core_c": { "fl": l.avg_tyre_core_c[0], "fr": l.avg_tyre_core_c[1], "rl": l.avg_tyre_core_c[2], "rr": l.avg_tyre_core_c[3] },
        "missed_steps": l.missed_steps,
        "frames": l.frames,
        "start_seq": l.start_seq,
        "end_seq": l.end_seq,
        "start_wall_ns": l.start_wall_ns,
        "end_wall_ns": l.end_wall_ns,
    })
}

/// The human table of one session's laps, with a server lap column when `servers` is given
/// (one per lap).
fn table_text(laps: &[&Lap], servers: Option<&[&ServerOf]>) -> String {
    let sectors = laps.iter().map(|l| l.sectors_ms.len()).max().unwrap_or(0);
    let mut header = vec!["Lap".to_owned(), "Time".to_owned()];
    header.extend((1..=sectors).map(|s| format!("S{s}")));
    header.extend(
        ["Valid", "Top km/h", "Min km/h", "Fuel l", "Tyre core °C FL/FR/RL/RR", "Missed"].map(String::from),
    );
    if servers.is_some() {
        header.push("Server lap".to_owned());
    }
    let server_column = header.len() - 1;
    let mut rows = vec![header];
    for (i, l) in laps.iter().enumerate() {
        let mut row = vec![l.number.to_string(), time(l.time_ms)];
        row.extend((0..sectors).map(|s| l.sectors_ms.get(s).map_or("-".to_owned(), |&ms| sector(ms))));
        let valid = if l.is_valid() {
            "yes".to_owned()
        } else {
            format!("no: {}", l.invalid.iter().map(ToString::to_string).collect::<Vec<_>>().join(", "))
        };
        let t = l.avg_tyre_core_c;
        row.extend([
            valid,
            format!("{:.1}", l.top_speed_kmh),
            format!("{:.1}", l.min_speed_kmh),
            format!("{:.2}", l.fuel_used_l),
            format!("{:.1}/{:.1}/{:.1}/{:.1}", t[0], t[1], t[2], t[3]),
            l.missed_steps.to_string(),
        ]);
        if let Some(servers) = servers {
            row.push(servers.get(i).map_or("-".to_owned(), |s| server_cell(s)));
        }
        rows.push(row);
    }
    let widths: Vec<usize> = (0..rows[0].len())
        .map(|c| rows.iter().map(|r| r.get(c).map_or(0, |s| s.chars().count())).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for r in &rows {
        let cells: Vec<String> = r
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(i, (s, w))| {
                let pad = w.saturating_sub(s.chars().count());
                // Text columns (validity, the server lap) left-aligned, numbers right-aligned.
                if i == sectors + 2 || (servers.is_some() && i == server_column) {
                    format!("{s}{}", " ".repeat(pad))
                } else {
                    format!("{}{s}", " ".repeat(pad))
                }
            })
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// Runs `pitwall laps`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let bar = (!args.json && std::io::stderr().is_terminal()).then(progress_bar);
    let mut on_progress = |p: convert::Progress| {
        if let Some(bar) = &bar {
            update(bar, p);
        }
    };
    let (laps, games, summary) = read_laps(&args.input, &mut on_progress)
        .with_context(|| format!("reading the laps of {}", args.input.display()))?;
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    for w in &summary.warnings {
        eprintln!("pitwall laps: warning: {}", super::text::escape_controls(w));
    }
    for d in &summary.damages {
        eprintln!("pitwall laps: warning: {}", super::convert::describe_damage(&args.input, d));
    }
    let servers = match &args.db {
        Some(db) => Some(server_laps(db, &laps, &games)?),
        None => None,
    };
    if args.json {
        let mut out = super::text::Out::stdout();
        for (i, l) in laps.iter().enumerate() {
            let mut value = lap_json(l);
            if let (Some(servers), Some(object)) = (&servers, value.as_object_mut()) {
                object.insert(
                    "server_lap".to_owned(),
                    servers.get(i).map_or(serde_json::Value::Null, server_json),
                );
            }
            out.json(&value)?;
        }
        out.flush()?;
        return Ok(ExitCode::SUCCESS);
    }
    if laps.is_empty() {
        outln!("No laps: {} holds {} frames.", args.input.display(), summary.frames)?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut start = 0;
    while start < laps.len() {
        let id = &laps[start].session_id;
        let end = laps[start..].iter().position(|l| l.session_id != *id).map_or(laps.len(), |n| start + n);
        let session: Vec<&Lap> = laps[start..end].iter().collect();
        let session_servers: Option<Vec<&ServerOf>> =
            servers.as_ref().map(|s| s[start..end].iter().collect());
        let best = session.iter().filter(|l| l.is_valid()).map(|l| l.time_ms).min();
        if start > 0 {
            outln!("")?;
        }
        outln!(
            "Session {}: {} laps, best valid {}",
            convert::session_id_text(id),
            session.len(),
            best.map_or("none".to_owned(), time)
        )?;
        print_str(&table_text(&session, session_servers.as_deref()))?;
        start = end;
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lap_and_sector_times_read_as_engineers_write_them() {
        assert_eq!(time(83_456), "1:23.456");
        assert_eq!(time(5_007), "0:05.007");
        assert_eq!(sector(28_123), "28.123");
        assert_eq!(sector(61_000), "1:01.000");
    }
}
