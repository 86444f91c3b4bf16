//! `pitwall convert IN OUT`: a recording (or a Parquet dataset or file) to Parquet, CSV or MoTeC
//! i2, streaming on up to three threads (see the `convert` crate). The format comes from OUT's
//! extension (`.parquet`, `.csv`, `.ld`) or `--to`.
//!
//! A damaged recording converts every good member: each damaged stretch is skipped and named
//! in a warning with its byte offsets, the output is complete and valid, and the exit status is
//! 0 (a torn tail is the normal result of a crash). `--strict` makes damage exit with status 3,
//! the output still written, for scripts that must not accept a short conversion silently. A
//! file in which nothing is readable, or an output that is the input, is an error (status 1);
//! usage errors are status 2.

use crate::cmd::text::outln;
use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use convert::{ConvertOptions, Format, Progress, ProgressUnit};

/// Arguments of `pitwall convert`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The input: a recording (.pb.gz), a Parquet file, or a Parquet dataset folder as the
    /// ingest server writes it (session=…/car=…/part-N.parquet).
    #[arg(value_name = "IN")]
    input: PathBuf,
    /// The output. MoTeC writes OUT and OUT with the extension .ldx; an input with several
    /// sessions gives OUT-1.ld, OUT-2.ld, … (one log per session).
    #[arg(value_name = "OUT")]
    output: PathBuf,
    /// The output format; default: from OUT's extension (.parquet, .csv, .ld).
    #[arg(long, value_name = "FORMAT", value_parser = parse_format)]
    to: Option<Format>,
    /// A damaged input (a torn tail, corrupt bytes anywhere) exits with status 3 rather than
    /// 0; every readable frame is still written.
    #[arg(long)]
    strict: bool,
    /// No progress bar, even on a terminal.
    #[arg(long, short)]
    quiet: bool,
}

fn parse_format(s: &str) -> Result<Format, String> {
    s.parse()
}

/// Runs `pitwall convert`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let options = ConvertOptions { format: args.to, ..ConvertOptions::default() };
    let bar = (!args.quiet && std::io::stderr().is_terminal()).then(progress_bar);
    let mut on_progress = |p: Progress| {
        if let Some(bar) = &bar {
            update(bar, p);
        }
    };
    let report = convert::convert(&args.input, &args.output, &options, &mut on_progress)
        .with_context(|| format!("converting {} to {}", args.input.display(), args.output.display()))?;
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    for w in &report.warnings {
        eprintln!("pitwall convert: warning: {}", super::text::escape_controls(w));
    }
    for d in &report.damages {
        eprintln!("pitwall convert: warning: {}", describe_damage(&args.input, d));
    }
    let written = match report.outputs.as_slice() {
        [one] => one.display().to_string(),
        many => many.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "),
    };
    outln!("Wrote {} with {} rows", super::text::escape_controls(&written), report.rows)?;
    Ok(if !report.damages.is_empty() && args.strict {
        ExitCode::from(EXIT_DAMAGED)
    } else {
        ExitCode::SUCCESS
    })
}

/// Exit status of `--strict` when the input was damaged (the output is still written): apart
/// from 1 (an error, nothing written) and 2 (a usage error).
pub(crate) const EXIT_DAMAGED: u8 = 3;

/// One line on a damaged stretch of `input`: where, what, and where reading went on.
pub(crate) fn describe_damage(input: &std::path::Path, d: &convert::Damage) -> String {
    let after = match d.resumed_at {
        Some(at) if at == d.offset => "that frame was skipped".to_owned(),
        Some(at) => format!("skipped {} bytes, read on from byte {at}", at - d.offset),
        None => "nothing readable follows".to_owned(),
    };
    let input = input.display().to_string();
    format!("{} is damaged at byte {}: {}; {after}", super::text::escape_controls(&input), d.offset, d.kind)
}

pub(crate) fn progress_bar() -> indicatif::ProgressBar {
    let bar = indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr());
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

pub(crate) fn update(bar: &indicatif::ProgressBar, p: Progress) {
    if bar.length() != Some(p.total) && p.total > 0 {
        bar.set_length(p.total);
        let template = match p.unit {
            ProgressUnit::Bytes => "{bar:40} {bytes}/{total_bytes} {msg} ({eta})",
            ProgressUnit::Rows => "{bar:40} {pos}/{len} rows {msg} ({eta})",
        };
        if let Ok(style) = indicatif::ProgressStyle::with_template(template) {
            bar.set_style(style);
        }
    }
    bar.set_position(p.done);
    bar.set_message(format!("{} frames", p.frames));
}
