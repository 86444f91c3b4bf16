//! `pitwall records`: the lap records of a track from the records database (the `records`
//! crate): one best lap per driver and car by default, or every lap; filtered by layout, cars,
//! session type and dates. A table by default; `--json` prints one JSON object per row, one
//! per line, and `--csv` a CSV table.
//!
//! Laps the driver also streamed telemetry of (linked by the rule of `records::telemetry`,
//! docs/join.md) name their telemetry lap: the JSON field `telemetry` (`{"session_id", "lap"}`,
//! or `null`), and a last column `Telemetry` in the table and the CSV, shown when a row has
//! one.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use records::{LeaderRow, Query, Ranking, SessionType, Store};
use serde_json::json;

use super::UsageError;
use super::text::{escape_controls, outln, print_str};

/// Arguments of `pitwall records`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The records database.
    #[arg(long, value_name = "FILE", env = "PITWALL_RECORDS_DB", default_value = "pitwall-records.sqlite")]
    db: PathBuf,
    /// Track folder, e.g. `ks_vallelunga`.
    #[arg(long)]
    track: String,
    /// Track layout, e.g. `club_circuit` (none: the track without layouts).
    #[arg(long, default_value = "")]
    layout: String,
    /// Only this car model; repeat for several.
    #[arg(long = "car", value_name = "CAR")]
    cars: Vec<String>,
    /// Only laps of this session type: practice, qualify, race or booking.
    #[arg(long, value_parser = session_type)]
    session_type: Option<SessionType>,
    /// Only laps completed on or after this UTC date (`2026-12-03`, or `2026-12-03T13:05`).
    #[arg(long, value_name = "DATE", value_parser = date)]
    since: Option<i64>,
    /// Only laps completed before this UTC date.
    #[arg(long, value_name = "DATE", value_parser = date)]
    until: Option<i64>,
    /// Every lap, not only each driver's best in each car.
    #[arg(long)]
    all_laps: bool,
    /// Laps with cuts too.
    #[arg(long)]
    include_invalid: bool,
    /// At most this many rows.
    #[arg(long, value_name = "N")]
    limit: Option<u32>,
    /// One JSON object per row, one per line.
    #[arg(long, conflicts_with = "csv")]
    json: bool,
    /// A CSV table.
    #[arg(long)]
    csv: bool,
}

fn session_type(s: &str) -> Result<SessionType, String> {
    SessionType::parse(s)
        .ok_or_else(|| format!("`{s}` is not a session type (practice, qualify, race, booking)"))
}

fn date(s: &str) -> Result<i64, String> {
    records::parse_date(s).ok_or_else(|| format!("`{s}` is not a date (YYYY-MM-DD or YYYY-MM-DDTHH:MM)"))
}

fn lap_time(ms: u32) -> String {
    timing::format_lap_time(Some(ms))
}

/// `ss.mmm`, or `m:ss.mmm` from a minute on.
fn sector(ms: u32) -> String {
    if ms >= 60_000 { lap_time(ms) } else { format!("{}.{:03}", ms / 1000, ms % 1000) }
}

fn row_json(r: &LeaderRow) -> serde_json::Value {
    json!({
        "position": r.position,
        "guid": r.guid,
        "name": r.name,
        "car": r.car,
        "time_ms": r.time_ms,
        "time": lap_time(r.time_ms),
        "gap_ms": r.gap_ms,
        "sectors_ms": r.sectors,
        "valid": r.valid,
        "cuts": r.cuts,
        "tyre": r.tyre,
        "grip": r.grip,
        "top_speed_kmh": r.top_speed_kmh,
        "finished_at_ms": r.finished_at_ms,
        "date": records::format_date(r.finished_at_ms),
        "session_id": r.session.id(),
        "session": r.session_name,
        "session_type": r.session_type,
        "server": r.server,
        "telemetry": r.telemetry,
    })
}

/// The cells of each row (the header first), text from the database escaped for a terminal.
fn cells(rows: &[LeaderRow]) -> Vec<Vec<String>> {
    let sectors = rows.iter().map(|r| r.sectors.len()).max().unwrap_or(0);
    let mut header: Vec<String> = ["Pos", "Driver", "GUID", "Car", "Time", "Gap"].map(String::from).into();
    header.extend((1..=sectors).map(|s| format!("S{s}")));
    header.extend(["Valid", "Date", "Session", "Server"].map(String::from));
    // Only a board with telemetry gets the column: others print as they always have.
    let telemetry = rows.iter().any(|r| r.telemetry.is_some());
    if telemetry {
        header.push("Telemetry".to_owned());
    }
    let mut out = vec![header];
    for r in rows {
        let mut row = vec![
            r.position.to_string(),
            escape_controls(&r.name).into_owned(),
            escape_controls(&r.guid).into_owned(),
            escape_controls(&r.car).into_owned(),
            lap_time(r.time_ms),
            if r.gap_ms == 0 {
                "-".to_owned()
            } else {
                format!("+{}.{:03}", r.gap_ms / 1000, r.gap_ms % 1000)
            },
        ];
        row.extend((0..sectors).map(|s| r.sectors.get(s).map_or("-".to_owned(), |&ms| sector(ms))));
        row.extend([
            if r.valid { "yes".to_owned() } else { format!("no ({} cuts)", r.cuts) },
            records::format_date(r.finished_at_ms),
            format!("{} {}", r.session_type, escape_controls(&r.session_name)),
            escape_controls(&r.server).into_owned(),
        ]);
        if telemetry {
            row.push(
                r.telemetry.as_ref().map_or("-".to_owned(), |t| format!("{} lap {}", t.session_id, t.lap)),
            );
        }
        out.push(row);
    }
    out
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s.to_owned() }
}

fn table(rows: &[Vec<String>]) -> String {
    let widths: Vec<usize> = (0..rows[0].len())
        .map(|c| rows.iter().map(|r| r.get(c).map_or(0, |s| s.chars().count())).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    for r in rows {
        let line: Vec<String> =
            r.iter().zip(&widths).map(|(s, w)| format!("{s}{}", " ".repeat(w - s.chars().count()))).collect();
        out.push_str(line.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// Runs `pitwall records`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    // A query must not create an empty database where a path was mistyped.
    if !args.db.is_file() {
        return Err(UsageError(format!(
            "no records database at {}",
            escape_controls(&args.db.to_string_lossy())
        ))
        .into());
    }
    let store = Store::open(&args.db).context("opening the records database")?;
    let query = Query {
        cars: args.cars,
        session_type: args.session_type,
        include_invalid: args.include_invalid,
        since_ms: args.since,
        until_ms: args.until,
        ranking: if args.all_laps { Ranking::EveryLap } else { Ranking::BestPerDriver },
        limit: args.limit,
        ..Query::new(&args.track, &args.layout)
    };
    let rows = store.leaderboard(&query).context("reading the leaderboard")?;
    if args.json {
        let mut out = super::text::Out::stdout();
        for r in &rows {
            out.json(&row_json(r))?;
        }
        out.flush()?;
    } else if args.csv {
        let mut text = String::new();
        for row in cells(&rows) {
            text.push_str(&row.iter().map(|c| csv_field(c)).collect::<Vec<_>>().join(","));
            text.push('\n');
        }
        print_str(&text)?;
    } else if rows.is_empty() {
        outln!("No laps match.")?;
    } else {
        print_str(&table(&cells(&rows)))?;
    }
    Ok(ExitCode::SUCCESS)
}
