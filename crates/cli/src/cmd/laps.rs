//! `pitwall laps FILE`: the lap table of a recording (or a Parquet dataset or file), from the
//! `analysis` crate's lap tracker: number, lap time, sector times, valid or why not, top and
//! minimum speed, fuel used, average tyre core temperatures, missed physics steps. A human
//! table by default (one block per session); `--json` prints one JSON object per lap, one per
//! line.

use crate::cmd::text::outln;
use crate::cmd::text::print_str;
use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use convert::Lap;
use serde_json::json;

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

/// The human table of one session's laps.
fn table_text(laps: &[&Lap]) -> String {
    let sectors = laps.iter().map(|l| l.sectors_ms.len()).max().unwrap_or(0);
    let mut header = vec!["Lap".to_owned(), "Time".to_owned()];
    header.extend((1..=sectors).map(|s| format!("S{s}")));
    header.extend(
        ["Valid", "Top km/h", "Min km/h", "Fuel l", "Tyre core °C FL/FR/RL/RR", "Missed"].map(String::from),
    );
    let mut rows = vec![header];
    for l in laps {
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
                // Text columns (validity) left-aligned, numbers right-aligned.
                if i == sectors + 2 {
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
    let (laps, summary) = convert::lap_table(&args.input, &mut on_progress)
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
    if args.json {
        for l in &laps {
            outln!("{}", lap_json(l))?;
        }
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
        print_str(&table_text(&session))?;
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
