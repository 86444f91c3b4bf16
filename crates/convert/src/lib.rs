//! # pitwall-convert: recordings and Parquet datasets to Parquet, CSV and MoTeC i2
//!
//! What `pitwall convert` and `pitwall laps` do, as a library. Inputs ([`InputKind`]): a
//! recording (`.pb.gz`, read with [`record::RecordReader`]), one Parquet file of the frame
//! table, or a Parquet dataset folder as the ingest server writes it
//! (`session=…/car=…/part-N.parquet`). Outputs ([`Format`]):
//!
//! - **Parquet**: the frame table of [`table`] (the one schema shared with the ingest server's
//!   sink) with the derived columns `lap`, `lap_time_ms`, `lap_distance_m`, `session_time_s`
//!   from [`analysis::LapTracker`] ([`table::Variant::FramesWithDerived`]). The key-value
//!   metadata has every session of the file ([`KV_SESSIONS`]; with one session also the sink's
//!   `pitwall.session_id` and `pitwall.session`) and, for a damaged input, the damaged
//!   stretches that were skipped ([`KV_DAMAGE`]).
//! - **CSV**: the same columns, see [`csv`] for the header and quoting.
//! - **MoTeC i2**: `OUT.ld` + `OUT.ldx` through [`analysis::MotecExporter`]; an input with
//!   several sessions gives one log per session, `OUT-1.ld`, `OUT-2.ld`, … (MoTeC logs hold one
//!   session; numbering them keeps them together and in order).
//!
//! Everything streams in constant memory, on up to three threads ([`pipeline`](crate) docs):
//! one inflates and decodes, the caller's derives laps and builds columns, and for Parquet a
//! third encodes. Parquet inputs are turned back
//! into frames by [`rows::RowReader`], which is [`table::FrameReader`]: the writer's table of
//! fields read the other way, so the two cannot drift.
//!
//! **Damaged recordings.** A recording cut by a crash, or with corrupt bytes anywhere, converts
//! every frame of every good member: a damaged stretch is skipped, and reading goes on at the
//! next good member ([`record::ReadOptions::resync`]). The output is a complete, valid file,
//! and [`ConvertReport::damages`] names each damaged stretch's byte offsets. That is success,
//! not failure, because a torn tail is the normal result of a crash and bit rot must not cost
//! the laps around it; the CLI warns on stderr, and `--strict` makes it an error. A file in
//! which nothing at all is readable is an error ([`ConvertError::NothingReadable`]).
//!
//! **Never over the input.** An output that is the input (the same file, or a link to it), or
//! lies inside an input dataset folder, is refused before anything is opened for writing.
//!
//! ```
//! use convert::{ConvertOptions, Format, convert};
//! use proto::telemetry::v1::TelemetryFrame;
//! use record::{RecordOptions, RecordWriter};
//!
//! let dir = tempfile::tempdir()?;
//! let input = dir.path().join("run.pb.gz");
//! let mut writer = RecordWriter::create(&input, RecordOptions::default())?;
//! for seq in 0..1000u64 {
//!     writer.append(&TelemetryFrame {
//!         session_id: vec![1; 16].into(),
//!         seq,
//!         mono_time_ns: seq as i64 * 3_000_000,
//!         speed_kmh: 150.0,
//!         ..Default::default()
//!     })?;
//! }
//! writer.close()?;
//!
//! let output = dir.path().join("run.parquet");
//! let report = convert(&input, &output, &ConvertOptions::default(), &mut |_| {})?;
//! assert_eq!((report.rows, report.format), (1000, Format::Parquet));
//! assert!(report.damages.is_empty());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod csv;
mod error;
mod output;
mod pipeline;
pub mod rows;
pub mod slice;
mod source;

use std::path::{Path, PathBuf};

use analysis::{ExportOptions, LapTracker};
use proto::telemetry::v1::TelemetryFrame;
use table::WriteOptions;

pub use analysis::{Invalid, Lap};
pub use error::{ConvertError, chain as error_chain};
pub use record::Damage;
pub use source::{InputKind, KV_DAMAGE, KV_SESSIONS, dataset_files};
pub use table::session_id_text;

use crate::output::{CsvOut, MotecOut, Output, ParquetOut};
use crate::pipeline::Ended;
use crate::source::Source;

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// Parquet: the frame table with derived columns.
    Parquet,
    /// CSV: the same columns.
    Csv,
    /// MoTeC i2: `.ld` and `.ldx`.
    Motec,
}

impl Format {
    /// The format an output's extension names: `.parquet`, `.csv`, `.ld` (any case).
    pub fn from_path(path: &Path) -> Option<Format> {
        let ext = path.extension()?.to_str()?.to_ascii_lowercase();
        match ext.as_str() {
            "parquet" | "pq" => Some(Format::Parquet),
            "csv" => Some(Format::Csv),
            "ld" => Some(Format::Motec),
            _ => None,
        }
    }

    /// The format's name as the CLI's `--to` takes it.
    pub fn name(self) -> &'static str {
        match self {
            Format::Parquet => "parquet",
            Format::Csv => "csv",
            Format::Motec => "motec",
        }
    }
}

impl std::str::FromStr for Format {
    type Err = String;

    fn from_str(s: &str) -> Result<Format, String> {
        match s.to_ascii_lowercase().as_str() {
            "parquet" => Ok(Format::Parquet),
            "csv" => Ok(Format::Csv),
            "motec" | "ld" => Ok(Format::Motec),
            _ => Err(format!("`{s}` is not a format: use parquet, csv or motec")),
        }
    }
}

/// How to convert.
#[derive(Debug, Clone, Default)]
pub struct ConvertOptions {
    /// The output format; `None`: from the output's extension.
    pub format: Option<Format>,
    /// Parquet writing (row groups, zstd level); also the CSV writer's batch size.
    pub write: WriteOptions,
    /// MoTeC export (channel rates, event name).
    pub motec: ExportOptions,
}

/// Where reading stands, for a progress bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Input consumed so far, in `unit`s.
    pub done: u64,
    /// The input's size in `unit`s (0 when unknown).
    pub total: u64,
    /// What `done` and `total` count.
    pub unit: ProgressUnit,
    /// Frames read so far.
    pub frames: u64,
}

/// What [`Progress`] counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProgressUnit {
    /// Bytes of a recording (compressed).
    Bytes,
    /// Rows of Parquet files.
    Rows,
}

/// What a conversion did.
#[derive(Debug, Clone)]
pub struct ConvertReport {
    /// What the input was.
    pub input: InputKind,
    /// The format written.
    pub format: Format,
    /// Rows (frames) written.
    pub rows: u64,
    /// Files written, in order.
    pub outputs: Vec<PathBuf>,
    /// The damaged stretches of a recording, each skipped (rows resume after them).
    pub damages: Vec<Damage>,
    /// Other things worth telling (columns a Parquet input lacked, MoTeC channels left at 0).
    pub warnings: Vec<String>,
}

/// Converts `input` to `output`. `progress` is called on the calling thread after each batch.
/// On error the files written so far are removed.
pub fn convert(
    input: &Path,
    output: &Path,
    options: &ConvertOptions,
    progress: &mut dyn FnMut(Progress),
) -> Result<ConvertReport, ConvertError> {
    let format = match options.format {
        Some(f) => f,
        None => Format::from_path(output).ok_or_else(|| ConvertError::UnknownFormat(output.to_owned()))?,
    };
    let kind = InputKind::detect(input)?;
    let inputs = Inputs::new(input, kind)?;
    inputs.check(output)?;
    let source = Source::open(input, kind)?;
    let mut out: Box<dyn Output> = match format {
        Format::Parquet => Box::new(ParquetOut::create(output, &options.write)?),
        Format::Csv => Box::new(CsvOut::create(output, &options.write)?),
        Format::Motec => Box::new(MotecOut::create(output, options.motec.clone(), inputs)?),
    };
    let total = source.total();
    let unit = if kind == InputKind::Recording { ProgressUnit::Bytes } else { ProgressUnit::Rows };
    let result = pipeline::run(
        source,
        |done, frames| progress(Progress { done, total, unit, frames }),
        |frames| out.write(frames),
    );
    let ended = match result.and_then(|ended| nothing_readable(input, ended)) {
        Ok(ended) => ended,
        Err(e) => {
            remove_all(&out.paths());
            return Err(e);
        }
    };
    if format == Format::Motec && ended.frames == 0 {
        remove_all(&out.paths());
        return Err(ConvertError::NoFrames(input.to_owned()));
    }
    let paths = out.paths();
    let (outputs, mut warnings) = out.finish(&ended).inspect_err(|_| remove_all(&paths))?;
    let Ended { frames, damages, warnings: input_warnings } = ended;
    warnings.splice(0..0, input_warnings);
    Ok(ConvertReport { input: kind, format, rows: frames, outputs, damages, warnings })
}

/// A damaged input in which no frame at all could be read is an error, not an empty output: a
/// file whose very first bytes are not a gzip member is not a recording at all, and any other
/// is a recording with nothing readable left.
fn nothing_readable(input: &Path, ended: Ended) -> Result<Ended, ConvertError> {
    match ended.damages.first() {
        Some(d) if ended.frames == 0 => {
            if d.offset == 0
                && matches!(d.kind, record::DamageKind::NotGzip { .. } | record::DamageKind::BadHeader(_))
                && d.resumed_at.is_none()
            {
                Err(ConvertError::NotARecording { path: input.to_owned(), kind: d.kind.clone() })
            } else {
                Err(ConvertError::NothingReadable {
                    path: input.to_owned(),
                    offset: d.offset,
                    kind: d.kind.clone(),
                    damages: ended.damages.len(),
                })
            }
        }
        _ => Ok(ended),
    }
}

/// The files a conversion reads, so that no output is ever opened over one of them.
#[derive(Debug, Clone)]
pub(crate) struct Inputs {
    files: Vec<PathBuf>,
    /// A dataset folder (canonical): no output may be written inside it, where the dataset's
    /// own listing would find it.
    dir: Option<PathBuf>,
}

impl Inputs {
    fn new(input: &Path, kind: InputKind) -> Result<Inputs, ConvertError> {
        Ok(match kind {
            InputKind::ParquetDataset => Inputs {
                files: dataset_files(input)?,
                dir: Some(std::fs::canonicalize(input).map_err(ConvertError::io(input, "resolve"))?),
            },
            _ => Inputs { files: vec![input.to_owned()], dir: None },
        })
    }

    /// Refuses `output` if it is an input file (the same file, or a link to it) or lies inside
    /// an input folder.
    pub(crate) fn check(&self, output: &Path) -> Result<(), ConvertError> {
        if std::fs::metadata(output).is_ok() {
            for input in &self.files {
                if same_file::is_same_file(input, output).unwrap_or(false) {
                    return Err(ConvertError::OutputIsInput {
                        output: output.to_owned(),
                        input: input.clone(),
                    });
                }
            }
        }
        if let Some(dir) = &self.dir {
            let parent = match output.parent() {
                Some(p) if !p.as_os_str().is_empty() => p,
                _ => Path::new("."),
            };
            if std::fs::canonicalize(parent).is_ok_and(|p| p.starts_with(dir)) {
                return Err(ConvertError::OutputInsideInput {
                    output: output.to_owned(),
                    input: dir.clone(),
                });
            }
        }
        Ok(())
    }
}

fn remove_all(paths: &[PathBuf]) {
    for p in paths {
        // Best effort: the error being reported matters more than a leftover file.
        let _ = std::fs::remove_file(p);
    }
}

/// Streams every frame of `input` (a recording, a Parquet file or dataset) in batches to
/// `each`, on the same reader thread as [`convert`]. Returns the frame count, the damaged
/// stretches of a recording (skipped), and warnings.
pub fn for_each_frames(
    input: &Path,
    progress: &mut dyn FnMut(Progress),
    mut each: impl FnMut(&[TelemetryFrame]) -> Result<(), ConvertError>,
) -> Result<InputSummary, ConvertError> {
    let kind = InputKind::detect(input)?;
    let source = Source::open(input, kind)?;
    let total = source.total();
    let unit = if kind == InputKind::Recording { ProgressUnit::Bytes } else { ProgressUnit::Rows };
    let ended =
        pipeline::run(source, |done, frames| progress(Progress { done, total, unit, frames }), &mut each)
            .and_then(|ended| nothing_readable(input, ended))?;
    Ok(InputSummary { input: kind, frames: ended.frames, damages: ended.damages, warnings: ended.warnings })
}

/// What reading an input found.
#[derive(Debug, Clone)]
pub struct InputSummary {
    /// What the input was.
    pub input: InputKind,
    /// Frames read.
    pub frames: u64,
    /// The damaged stretches of a recording, each skipped.
    pub damages: Vec<Damage>,
    /// Other things worth telling.
    pub warnings: Vec<String>,
}

/// The lap table of an input (every session, in order), with what reading it found.
pub fn lap_table(
    input: &Path,
    progress: &mut dyn FnMut(Progress),
) -> Result<(Vec<Lap>, InputSummary), ConvertError> {
    let mut tracker = LapTracker::new();
    let mut laps = Vec::new();
    let summary = for_each_frames(input, progress, |frames| {
        for f in frames {
            tracker.push(f);
            laps.extend(std::iter::from_fn(|| tracker.pop_lap()));
        }
        Ok(())
    })?;
    tracker.finish();
    laps.extend(std::iter::from_fn(|| tracker.pop_lap()));
    Ok((laps, summary))
}
