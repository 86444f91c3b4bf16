//! Frames of one session → a MoTeC i2 log (`.ld`) and its lap markers (`.ldx`).
//!
//! ## Channels
//!
//! MoTeC-style names and units (the ones i2's default workbooks and maths look for), see
//! [`channel_names`]. Integer channels carry their resolution as decimal places (i2 shows that
//! many decimals); G forces, yaw rate and car coordinates are `f32`.
//!
//! Units are AC's where an engineer expects them (km/h, psi, °C) and converted where MoTeC's
//! convention differs (pedals 0–100 %, suspension and ride height in mm). Two are not what the
//! names promise in every MoTeC setup, and say so in their unit: "Steered Angle" is AC's
//! normalised steering input in % of full lock (AC does not tell the lock in degrees), and
//! the G force signs are AC's (a left turn gives a negative lateral G).
//!
//! ## Time base
//!
//! A `.ld` channel has one fixed rate, while frames come at the game's physics rate (3 ms
//! steps, 333.3 Hz, not a whole number) with gaps where steps were skipped. So every channel
//! is resampled onto a uniform grid from the frames' **monotonic** time, starting at the first
//! frame: the physics grid ([`ExportOptions::physics_rate_hz`], 333 Hz by default) for what
//! changes every step, the graphics grid (60 Hz) for what the game updates with its graphics
//! page (lap distance, car position, sector, race position). Continuous channels are
//! interpolated linearly between the two frames around a grid instant; discrete ones (gear,
//! lap number, flags) hold the last frame's value. A grid sample that falls between two frames
//! separated by skipped steps (`missed_steps > 0`, or more than two steps apart) is counted in
//! [`ExportReport::filled_samples`].
//!
//! ## Laps
//!
//! The frames also go through a [`LapTracker`]: each line crossing becomes an `.ldx` beacon
//! marker (µs since the log's first sample) and a 1 on the "Beacon" channel; the lap table is
//! in the report, and its fastest valid lap in the `.ldx` details.
//!
//! ## Header
//!
//! Driver, vehicle and venue come from the session metadata (the latest seen), the date and time
//! from the first frame's wall clock (UTC, or shifted by [`ExportOptions::utc_offset_s`]).

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use motec::{ChannelSpec, FastestLap, LdDateTime, LdHeader, LdSummary, LdWriter, Ldx};
use proto::hex;
use proto::telemetry::v1::{SessionMetadata, SessionType, TelemetryFrame, Vec3, Wheels};

use crate::error::AnalysisError;
use crate::laps::{Derived, Lap, LapTracker};

/// How to export.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportOptions {
    /// Rate of the physics channels, Hz (the game steps at 333.3 Hz).
    pub physics_rate_hz: u16,
    /// Rate of the graphics-page channels, Hz (the game updates the page at 60 Hz).
    pub graphics_rate_hz: u16,
    /// Added to the first frame's UTC wall clock for the header's date and time, s.
    pub utc_offset_s: i32,
    /// The header's event name.
    pub event: String,
}

impl Default for ExportOptions {
    fn default() -> ExportOptions {
        ExportOptions {
            physics_rate_hz: 333,
            graphics_rate_hz: 60,
            utc_offset_s: 0,
            event: "Assetto Corsa".to_owned(),
        }
    }
}

/// What an export wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct ExportReport {
    /// The session exported (empty when there were no frames).
    pub session_id: Vec<u8>,
    /// Frames read.
    pub frames: u64,
    /// `seq` of the first and last frame.
    pub seq_range: Option<(u64, u64)>,
    /// Samples per physics-rate channel.
    pub physics_samples: u64,
    /// Samples per graphics-rate channel.
    pub graphics_samples: u64,
    /// Physics-grid samples that fell in a gap of skipped steps (interpolated or held).
    pub filled_samples: u64,
    /// Physics steps the game skipped, summed over the frames.
    pub missed_steps: u64,
    /// The lap table.
    pub laps: Vec<Lap>,
    /// What the `.ld` holds.
    pub ld: LdSummary,
    /// Where the `.ldx` went.
    pub ldx_path: PathBuf,
    /// What it holds.
    pub ldx: Ldx,
    /// Things the export could not do as asked (e.g. wheel speeds without tyre radii).
    pub warnings: Vec<String>,
}

/// Exports `frames` (one session) to `out_ld` and, beside it, the `.ldx` of the same name.
///
/// ```
/// use analysis::{ExportOptions, motec_export};
/// use proto::telemetry::v1::TelemetryFrame;
///
/// let dir = tempfile::tempdir()?;
/// let frames = (0..1000u64).map(|seq| TelemetryFrame {
///     session_id: vec![9; 16].into(),
///     seq,
///     mono_time_ns: seq as i64 * 3_000_000,
///     speed_kmh: 100.0,
///     ..Default::default()
/// });
/// let report = motec_export(frames, &dir.path().join("run.ld"), &ExportOptions::default())?;
/// assert_eq!(report.physics_samples, 999); // 2.997 s at 333 Hz, both ends included
/// let log = motec::read::read_file(&dir.path().join("run.ld"))?;
/// assert_eq!(log.channel("Ground Speed").unwrap().values()[500], 100.0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn motec_export(
    frames: impl IntoIterator<Item = TelemetryFrame>,
    out_ld: &Path,
    options: &ExportOptions,
) -> Result<ExportReport, AnalysisError> {
    let mut exporter = MotecExporter::create(out_ld, options.clone())?;
    for frame in frames {
        exporter.push(&frame)?;
    }
    exporter.finish()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Interp {
    Linear,
    Hold,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Grid {
    Physics,
    Graphics,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ty {
    I16,
    I32,
    F32,
}

type WheelsOf = fn(&TelemetryFrame) -> Option<&Wheels>;

#[derive(Clone, Copy)]
enum Source {
    Frame(fn(&TelemetryFrame, &Derived) -> f64),
    Wheel(WheelsOf, usize, f64),
    WheelSpeed(usize),
    Beacon,
}

struct Mapping {
    name: String,
    short: String,
    unit: &'static str,
    ty: Ty,
    decimals: i16,
    interp: Interp,
    grid: Grid,
    source: Source,
}

const WHEELS: [&str; 4] = ["FL", "FR", "RL", "RR"];

fn wheel(w: Option<&Wheels>, i: usize) -> f64 {
    w.map_or(0.0, |w| f64::from([w.fl, w.fr, w.rl, w.rr][i]))
}

fn vec3(v: Option<&Vec3>) -> [f64; 3] {
    v.map_or([0.0; 3], |v| [f64::from(v.x), f64::from(v.y), f64::from(v.z)])
}

fn core(f: &TelemetryFrame) -> Option<&Wheels> {
    f.tyre_core_temp_c.as_ref()
}
fn inner(f: &TelemetryFrame) -> Option<&Wheels> {
    f.tyre_temp_inner_c.as_ref()
}
fn middle(f: &TelemetryFrame) -> Option<&Wheels> {
    f.tyre_temp_middle_c.as_ref()
}
fn outer(f: &TelemetryFrame) -> Option<&Wheels> {
    f.tyre_temp_outer_c.as_ref()
}
fn pressure(f: &TelemetryFrame) -> Option<&Wheels> {
    f.tyre_pressure_psi.as_ref()
}
fn travel(f: &TelemetryFrame) -> Option<&Wheels> {
    f.suspension_travel_m.as_ref()
}
fn brake_temp(f: &TelemetryFrame) -> Option<&Wheels> {
    f.brake_temp_c.as_ref()
}
fn load(f: &TelemetryFrame) -> Option<&Wheels> {
    f.wheel_load_n.as_ref()
}

fn mappings() -> Vec<Mapping> {
    use Grid::{Graphics, Physics};
    use Interp::{Hold, Linear};
    let one = |name: &str, short: &str, unit, ty, decimals, interp, grid, source| Mapping {
        name: name.to_owned(),
        short: short.to_owned(),
        unit,
        ty,
        decimals,
        interp,
        grid,
        source,
    };
    let mut m = vec![
        one(
            "Ground Speed",
            "Speed",
            "km/h",
            Ty::I32,
            2,
            Linear,
            Physics,
            Source::Frame(|f, _| f64::from(f.speed_kmh)),
        ),
        one(
            "Throttle Pos",
            "Thr",
            "%",
            Ty::I16,
            1,
            Linear,
            Physics,
            Source::Frame(|f, _| f64::from(f.throttle) * 100.0),
        ),
        one(
            "Brake Pos",
            "Brk",
            "%",
            Ty::I16,
            1,
            Linear,
            Physics,
            Source::Frame(|f, _| f64::from(f.brake) * 100.0),
        ),
        one(
            "Clutch Pos",
            "Clutch",
            "%",
            Ty::I16,
            1,
            Linear,
            Physics,
            Source::Frame(|f, _| f64::from(f.clutch) * 100.0),
        ),
        one(
            "Steered Angle",
            "Steer",
            "%",
            Ty::I16,
            1,
            Linear,
            Physics,
            Source::Frame(|f, _| f64::from(f.steering) * 100.0),
        ),
        one("Engine RPM", "RPM", "rpm", Ty::I32, 0, Linear, Physics, Source::Frame(|f, _| f64::from(f.rpm))),
        one("Gear", "Gear", "", Ty::I16, 0, Hold, Physics, Source::Frame(|f, _| f64::from(f.gear))),
        one(
            "G Force Lat",
            "GLat",
            "G",
            Ty::F32,
            0,
            Linear,
            Physics,
            Source::Frame(|f, _| vec3(f.acc_g.as_ref())[0]),
        ),
        one(
            "G Force Long",
            "GLong",
            "G",
            Ty::F32,
            0,
            Linear,
            Physics,
            Source::Frame(|f, _| vec3(f.acc_g.as_ref())[2]),
        ),
        one(
            "G Force Vert",
            "GVert",
            "G",
            Ty::F32,
            0,
            Linear,
            Physics,
            Source::Frame(|f, _| vec3(f.acc_g.as_ref())[1]),
        ),
        one(
            "Yaw Rate",
            "Yaw",
            "deg/s",
            Ty::F32,
            0,
            Linear,
            Physics,
            Source::Frame(|f, _| vec3(f.local_angular_velocity.as_ref())[1].to_degrees()),
        ),
        one(
            "Fuel Level",
            "Fuel",
            "l",
            Ty::I32,
            2,
            Linear,
            Physics,
            Source::Frame(|f, _| f64::from(f.fuel_l)),
        ),
        one(
            "Ride Height Front",
            "RH F",
            "mm",
            Ty::I32,
            1,
            Linear,
            Physics,
            Source::Frame(|f, _| f64::from(f.ride_height_front_m) * 1000.0),
        ),
        one(
            "Ride Height Rear",
            "RH R",
            "mm",
            Ty::I32,
            1,
            Linear,
            Physics,
            Source::Frame(|f, _| f64::from(f.ride_height_rear_m) * 1000.0),
        ),
        one(
            "TC Active",
            "TC",
            "",
            Ty::I16,
            0,
            Hold,
            Physics,
            Source::Frame(|f, _| f64::from(u8::from(f.tc_in_action))),
        ),
        one(
            "ABS Active",
            "ABS",
            "",
            Ty::I16,
            0,
            Hold,
            Physics,
            Source::Frame(|f, _| f64::from(u8::from(f.abs_in_action))),
        ),
        one(
            "Lap Time",
            "LapTime",
            "s",
            Ty::I32,
            3,
            Hold,
            Physics,
            Source::Frame(|_, d| d.lap_time_ms as f64 / 1000.0),
        ),
        one("Lap Number", "Lap", "", Ty::I16, 0, Hold, Physics, Source::Frame(|_, d| f64::from(d.lap))),
        one("Beacon", "Beacon", "", Ty::I16, 0, Hold, Physics, Source::Beacon),
        one(
            "Lap Distance",
            "LapDist",
            "m",
            Ty::I32,
            1,
            Hold,
            Graphics,
            Source::Frame(|_, d| f64::from(d.lap_distance_m)),
        ),
        one(
            "Car Coord X",
            "CoordX",
            "m",
            Ty::F32,
            0,
            Hold,
            Graphics,
            Source::Frame(|f, _| vec3(f.position_m.as_ref())[0]),
        ),
        one(
            "Car Coord Y",
            "CoordY",
            "m",
            Ty::F32,
            0,
            Hold,
            Graphics,
            Source::Frame(|f, _| vec3(f.position_m.as_ref())[1]),
        ),
        one(
            "Car Coord Z",
            "CoordZ",
            "m",
            Ty::F32,
            0,
            Hold,
            Graphics,
            Source::Frame(|f, _| vec3(f.position_m.as_ref())[2]),
        ),
        one(
            "Sector",
            "Sector",
            "",
            Ty::I16,
            0,
            Hold,
            Graphics,
            Source::Frame(|f, _| f64::from(f.current_sector) + 1.0),
        ),
        one("Position", "Pos", "", Ty::I16, 0, Hold, Graphics, Source::Frame(|f, _| f64::from(f.position))),
        one(
            "In Pit Lane",
            "PitLane",
            "",
            Ty::I16,
            0,
            Hold,
            Graphics,
            Source::Frame(|f, _| f64::from(u8::from(f.in_pit_lane))),
        ),
    ];
    let per_wheel: [(&str, &str, &str, i16, WheelsOf, f64); 8] = [
        ("Tyre Temp {}", "TT{}", "C", 1, core, 1.0),
        ("Tyre Temp {} Inner", "TTI{}", "C", 1, inner, 1.0),
        ("Tyre Temp {} Centre", "TTC{}", "C", 1, middle, 1.0),
        ("Tyre Temp {} Outer", "TTO{}", "C", 1, outer, 1.0),
        ("Tyre Pres {}", "TP{}", "psi", 2, pressure, 1.0),
        ("Susp Pos {}", "SP{}", "mm", 2, travel, 1000.0),
        ("Brake Temp {}", "BT{}", "C", 1, brake_temp, 1.0),
        ("Tyre Load {}", "TL{}", "N", 0, load, 1.0),
    ];
    for (name, short, unit, decimals, of, factor) in per_wheel {
        for (i, w) in WHEELS.iter().enumerate() {
            m.push(one(
                &name.replace("{}", w),
                &short.replace("{}", w),
                unit,
                Ty::I32,
                decimals,
                Linear,
                Physics,
                Source::Wheel(of, i, factor),
            ));
        }
    }
    for (i, w) in WHEELS.iter().enumerate() {
        m.push(one(
            &format!("Wheel Speed {w}"),
            &format!("WS{w}"),
            "km/h",
            Ty::I32,
            2,
            Linear,
            Physics,
            Source::WheelSpeed(i),
        ));
    }
    m
}

/// The channels an export writes, as (name, unit, rate Hz) with the default options.
pub fn channel_names() -> Vec<(String, &'static str, u16)> {
    let o = ExportOptions::default();
    mappings()
        .into_iter()
        .map(|m| {
            (m.name, m.unit, if m.grid == Grid::Physics { o.physics_rate_hz } else { o.graphics_rate_hz })
        })
        .collect()
}

/// The previous frame's instant and values, for interpolation.
struct Prev {
    t: i64,
    values: Vec<f64>,
}

/// A push-style exporter, for a streaming converter: [`create`](Self::create), then
/// [`push`](Self::push) every frame of one session in `seq` order, then
/// [`finish`](Self::finish). Memory stays constant (see [`motec::LdWriter`]).
pub struct MotecExporter {
    out_ld: PathBuf,
    options: ExportOptions,
    writer: LdWriter<BufWriter<File>, File>,
    maps: Vec<Mapping>,
    tracker: LapTracker,
    laps: Vec<Lap>,
    session_id: Option<Vec<u8>>,
    t0: i64,
    prev: Option<Prev>,
    values: Vec<f64>,
    next_physics: u64,
    next_graphics: u64,
    beacon_at: Option<i64>,
    beacons_ns: Vec<i64>,
    radius: Option<[f64; 4]>,
    frames: u64,
    seq_range: Option<(u64, u64)>,
    filled: u64,
    missed: u64,
    warnings: Vec<String>,
}

impl std::fmt::Debug for MotecExporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MotecExporter")
            .field("out_ld", &self.out_ld)
            .field("frames", &self.frames)
            .field("laps", &self.laps.len())
            .finish_non_exhaustive()
    }
}

impl MotecExporter {
    /// Creates the `.ld` file (and its spill file) now, so a bad path fails before any frame.
    pub fn create(out_ld: &Path, options: ExportOptions) -> Result<MotecExporter, AnalysisError> {
        if options.physics_rate_hz == 0 || options.graphics_rate_hz == 0 {
            return Err(AnalysisError::Options("the channel rates must be at least 1 Hz".into()));
        }
        let maps = mappings();
        let specs = maps
            .iter()
            .map(|m| {
                let rate =
                    if m.grid == Grid::Physics { options.physics_rate_hz } else { options.graphics_rate_hz };
                match m.ty {
                    Ty::I16 => ChannelSpec::i16(&m.name, &m.short, m.unit, rate, m.decimals),
                    Ty::I32 => ChannelSpec::i32(&m.name, &m.short, m.unit, rate, m.decimals),
                    Ty::F32 => ChannelSpec::f32(&m.name, &m.short, m.unit, rate),
                }
            })
            .collect();
        let header = LdHeader { event: options.event.clone(), ..LdHeader::default() };
        let writer = LdWriter::create(out_ld, header, specs)?;
        let values = vec![0.0; maps.len()];
        Ok(MotecExporter {
            out_ld: out_ld.to_path_buf(),
            options,
            writer,
            maps,
            tracker: LapTracker::new(),
            laps: Vec::new(),
            session_id: None,
            t0: 0,
            prev: None,
            values,
            next_physics: 0,
            next_graphics: 0,
            beacon_at: None,
            beacons_ns: Vec::new(),
            radius: None,
            frames: 0,
            seq_range: None,
            filled: 0,
            missed: 0,
            warnings: Vec::new(),
        })
    }

    /// The session being exported, once a frame has been pushed.
    pub fn session_id(&self) -> Option<&[u8]> {
        self.session_id.as_deref()
    }

    /// Takes the next frame. A frame of another session is an error (one session per file:
    /// split the stream where `session_id` changes).
    pub fn push(&mut self, f: &TelemetryFrame) -> Result<(), AnalysisError> {
        match &self.session_id {
            Some(id) if id.as_slice() != f.session_id.as_ref() => {
                return Err(AnalysisError::SessionChanged {
                    expected: hex(id),
                    found: hex(&f.session_id),
                    seq: f.seq,
                });
            }
            Some(_) => {}
            None => {
                self.session_id = Some(f.session_id.to_vec());
                self.t0 = f.mono_time_ns;
                let wall_s = f.wall_time_ns.div_euclid(1_000_000_000);
                let header = self.writer.header_mut();
                header.date_time = LdDateTime::from_unix(wall_s, self.options.utc_offset_s);
                header.event_comment = format!("pitwall session {}", hex(&f.session_id));
            }
        }
        if let Some(meta) = &f.session {
            self.apply_metadata(meta);
        }
        self.frames += 1;
        self.seq_range = Some(self.seq_range.map_or((f.seq, f.seq), |(a, _)| (a, f.seq)));
        if self.frames > 1 {
            self.missed += u64::from(f.missed_steps);
        }

        let derived = self.tracker.push(f);
        self.laps.extend(std::iter::from_fn(|| self.tracker.pop_lap()));
        if derived.crossed_line {
            self.beacon_at = Some(f.mono_time_ns);
            self.beacons_ns.push(f.mono_time_ns);
        }

        for (value, m) in self.values.iter_mut().zip(&self.maps) {
            *value = match m.source {
                Source::Frame(get) => get(f, &derived),
                Source::Wheel(of, i, factor) => wheel(of(f), i) * factor,
                Source::WheelSpeed(i) => match self.radius {
                    // rad/s × m = m/s; × 3.6 = km/h.
                    Some(r) => wheel(f.wheel_angular_speed_rad_s.as_ref(), i) * r[i] * 3.6,
                    None => 0.0,
                },
                Source::Beacon => 0.0,
            };
        }
        self.emit(f)
    }

    fn apply_metadata(&mut self, meta: &SessionMetadata) {
        let h = self.writer.header_mut();
        h.driver = [meta.player_name.trim(), meta.player_surname.trim()].join(" ").trim().to_owned();
        h.vehicle_id = meta.car_model.clone();
        h.vehicle_comment = meta.car_skin.clone();
        h.venue = if meta.track_configuration.is_empty() {
            meta.track.clone()
        } else {
            format!("{} {}", meta.track, meta.track_configuration)
        };
        h.session = session_name(meta.session_type()).to_owned();
        if let Some(r) = &meta.tyre_radius_m {
            if [r.fl, r.fr, r.rl, r.rr].iter().all(|&x| x > 0.0) {
                self.radius = Some([f64::from(r.fl), f64::from(r.fr), f64::from(r.rl), f64::from(r.rr)]);
            }
        }
    }

    /// Writes the grid samples up to this frame's instant.
    fn emit(&mut self, f: &TelemetryFrame) -> Result<(), AnalysisError> {
        let t = f.mono_time_ns;
        let step_ns = 3_000_000;
        let gap = self.prev.as_ref().is_some_and(|p| f.missed_steps > 0 || t - p.t > 2 * step_ns);
        for grid in [Grid::Physics, Grid::Graphics] {
            let rate = if grid == Grid::Physics {
                self.options.physics_rate_hz
            } else {
                self.options.graphics_rate_hz
            };
            loop {
                let k = if grid == Grid::Physics { self.next_physics } else { self.next_graphics };
                let tk = self.t0 + (i128::from(k) * 1_000_000_000 / i128::from(rate)) as i64;
                if tk > t {
                    break;
                }
                for (i, m) in self.maps.iter().enumerate() {
                    if m.grid != grid {
                        continue;
                    }
                    let cur = self.values[i];
                    let v = match (&self.prev, m.source) {
                        (_, Source::Beacon) => match self.beacon_at {
                            Some(b) if tk >= b => {
                                self.beacon_at = None;
                                1.0
                            }
                            _ => 0.0,
                        },
                        (None, _) => cur,
                        (Some(_), _) if tk == t => cur,
                        (Some(p), _) if m.interp == Interp::Hold || t <= p.t => p.values[i],
                        (Some(p), _) => {
                            let a = (tk - p.t) as f64 / (t - p.t) as f64;
                            p.values[i] + (cur - p.values[i]) * a.clamp(0.0, 1.0)
                        }
                    };
                    self.writer.push(i, v)?;
                }
                if grid == Grid::Physics {
                    self.next_physics += 1;
                    if gap && tk < t {
                        self.filled += 1;
                    }
                } else {
                    self.next_graphics += 1;
                }
            }
        }
        // A frame whose clock went backwards keeps the previous instant, so the grid never
        // runs back; its values still become the ones to interpolate from.
        let keep_t = self.prev.as_ref().map_or(t, |p| p.t.max(t));
        match &mut self.prev {
            Some(p) => {
                p.t = keep_t;
                p.values.copy_from_slice(&self.values);
            }
            None => self.prev = Some(Prev { t: keep_t, values: self.values.clone() }),
        }
        Ok(())
    }

    /// Closes the lap table, writes the `.ld` and the `.ldx`, and reports.
    pub fn finish(mut self) -> Result<ExportReport, AnalysisError> {
        self.tracker.finish();
        self.laps.extend(std::iter::from_fn(|| self.tracker.pop_lap()));
        if self.radius.is_none() && self.frames > 0 {
            self.warnings
                .push("no tyre radii in the session metadata: the Wheel Speed channels are 0".into());
        }
        let physics =
            self.maps.iter().position(|m| m.grid == Grid::Physics).map_or(0, |i| self.writer.sample_count(i));
        let graphics = self
            .maps
            .iter()
            .position(|m| m.grid == Grid::Graphics)
            .map_or(0, |i| self.writer.sample_count(i));
        let ld = self.writer.finish()?;

        let fastest = self
            .laps
            .iter()
            .enumerate()
            .filter(|(_, l)| l.is_valid() && l.time_ms > 0)
            .min_by_key(|(_, l)| l.time_ms)
            .map(|(i, l)| FastestLap {
                lap: i as u32 + 1,
                time_ms: u32::try_from(l.time_ms).unwrap_or(u32::MAX),
            });
        let ldx = Ldx {
            beacons_us: self
                .beacons_ns
                .iter()
                .map(|&b| u64::try_from((b - self.t0) / 1000).unwrap_or(0))
                .collect(),
            total_laps: Some(self.laps.len() as u32),
            fastest,
        };
        let ldx_path = self.out_ld.with_extension("ldx");
        ldx.write(&ldx_path)?;
        Ok(ExportReport {
            session_id: self.session_id.unwrap_or_default(),
            frames: self.frames,
            seq_range: self.seq_range,
            physics_samples: physics,
            graphics_samples: graphics,
            filled_samples: self.filled,
            missed_steps: self.missed,
            laps: self.laps,
            ld,
            ldx_path,
            ldx,
            warnings: self.warnings,
        })
    }
}

fn session_name(t: SessionType) -> &'static str {
    match t {
        SessionType::Unknown => "",
        SessionType::Practice => "Practice",
        SessionType::Qualify => "Qualify",
        SessionType::Race => "Race",
        SessionType::Hotlap => "Hotlap",
        SessionType::TimeAttack => "Time Attack",
        SessionType::Drift => "Drift",
        SessionType::Drag => "Drag",
        SessionType::HotStint => "Hot Stint",
        SessionType::HotlapSuperpole => "Superpole",
    }
}
