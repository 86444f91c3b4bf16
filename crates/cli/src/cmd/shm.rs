//! `pitwall shm …`: look at AC's shared-memory pages. `dump` prints one snapshot of all three
//! pages, every field (text or JSON), and can save or load a snapshot file; `watch` is a live
//! one-screen dashboard driven by the sampling poller.

use std::fmt::Write as _;
use std::io::{IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use ::shm::{
    DirSource, FlagType, MonotonicClock, PageSource, PollStats, Poller, SessionType, ShmError, Snapshot,
    Status,
};
use anyhow::Context as _;
use serde::ser;

use super::text::{escape_controls, json_controls, page_lap_time, quoted};

/// Arguments of `pitwall shm`.
#[derive(Debug, clap::Args)]
pub struct ShmArgs {
    #[command(subcommand)]
    command: ShmCommand,
}

#[derive(Debug, clap::Subcommand)]
enum ShmCommand {
    /// Print one snapshot of the physics, graphics and static pages, every field.
    Dump(DumpArgs),
    /// A live view of the pages, refreshed ten times a second, until Ctrl-C.
    Watch(WatchArgs),
}

#[derive(Debug, clap::Args)]
struct DumpArgs {
    /// Read the page files (acpmf_physics, acpmf_graphics, acpmf_static) in DIR. Default: the
    /// live game (/dev/shm on Linux, the named mappings on Windows).
    #[arg(long, value_name = "DIR", conflicts_with = "snapshot")]
    shm_dir: Option<PathBuf>,
    /// JSON (the decoded pages, spec field names in snake_case) instead of text.
    #[arg(long)]
    json: bool,
    /// Read a snapshot file (from --save) instead of the live pages.
    #[arg(long, value_name = "FILE")]
    snapshot: Option<PathBuf>,
    /// Also write the snapshot to FILE (raw pages; load it again with --snapshot).
    #[arg(long, value_name = "FILE")]
    save: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
struct WatchArgs {
    /// Read the page files in DIR. Default: the live game (/dev/shm on Linux, the named
    /// mappings on Windows).
    #[arg(long, value_name = "DIR")]
    shm_dir: Option<PathBuf>,
    /// Stop after this many seconds instead of waiting for Ctrl-C.
    #[arg(long, value_name = "SECS", allow_negative_numbers = true, value_parser = super::seconds)]
    duration: Option<Duration>,
}

/// Runs `pitwall shm …`.
pub fn run(args: ShmArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        ShmCommand::Dump(args) => dump(args),
        ShmCommand::Watch(args) => watch(args),
    }
}

/// Opens the pages: the files in `dir`, or the live game's.
fn open(dir: Option<&Path>) -> anyhow::Result<Box<dyn PageSource + Send>> {
    match dir {
        // The error names the page file, and so the directory: no context to add.
        Some(dir) => Ok(Box::new(DirSource::open(dir)?)),
        None => ::shm::open_live()
            .context("cannot read the game's pages (is AC, or `pitwall sim game`, running? --shm-dir picks a directory)"),
    }
}

fn dump(args: DumpArgs) -> anyhow::Result<ExitCode> {
    let snapshot = match &args.snapshot {
        Some(file) => Snapshot::load(file).context("cannot load the snapshot")?,
        None => {
            let mut source = open(args.shm_dir.as_deref())?;
            Snapshot::capture(&mut source).context("cannot copy the pages")?
        }
    };
    if let Some(file) = &args.save {
        snapshot.save(file).context("cannot save the snapshot")?;
        eprintln!("pitwall shm dump: snapshot saved to {}", file.display());
    }
    let pages = snapshot.decode();
    let text = if args.json {
        // Straight from the view structs: serde_json prints each f32 in its shortest form.
        // Strings from the pages may hold C1 controls, which JSON leaves raw: escaped too.
        json_controls(&serde_json::to_string_pretty(&pages).context("cannot encode the pages as JSON")?)
            .into_owned()
            + "\n"
    } else {
        listing(&to_node(&pages).context("cannot list the pages")?)
    };
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        // A reader that went away (`| head`) is not an error.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(ExitCode::SUCCESS),
        result => {
            result.context("cannot write to stdout")?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The decoded pages as an ordered tree, built straight from the view structs by [`NodeSerializer`]:
/// it keeps the structs' field order (the spec's), and floats as they are — NaN and infinities
/// included, which a detour through JSON would turn into `null`, the same as an absent field.
#[derive(Debug)]
enum Node {
    /// A number, string, bool or null, already formatted.
    Leaf(String),
    List(Vec<Node>),
    Map(Vec<(String, Node)>),
}

/// The tree of `value`.
fn to_node<T: serde::Serialize + ?Sized>(value: &T) -> Result<Node, NodeError> {
    value.serialize(NodeSerializer)
}

/// Why a value has no tree: only for shapes the page views do not have.
#[derive(Debug)]
struct NodeError(String);

impl std::fmt::Display for NodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for NodeError {}

impl ser::Error for NodeError {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        NodeError(msg.to_string())
    }
}

/// A serde serializer whose output is a [`Node`].
struct NodeSerializer;

fn leaf(s: impl ToString) -> Result<Node, NodeError> {
    Ok(Node::Leaf(s.to_string()))
}

impl ser::Serializer for NodeSerializer {
    type Ok = Node;
    type Error = NodeError;
    type SerializeSeq = ListBuilder;
    type SerializeTuple = ListBuilder;
    type SerializeTupleStruct = ListBuilder;
    type SerializeTupleVariant = ser::Impossible<Node, NodeError>;
    type SerializeMap = MapBuilder;
    type SerializeStruct = MapBuilder;
    type SerializeStructVariant = ser::Impossible<Node, NodeError>;

    fn serialize_bool(self, v: bool) -> Result<Node, NodeError> {
        leaf(v)
    }
    fn serialize_i8(self, v: i8) -> Result<Node, NodeError> {
        leaf(v)
    }
    fn serialize_i16(self, v: i16) -> Result<Node, NodeError> {
        leaf(v)
    }
    fn serialize_i32(self, v: i32) -> Result<Node, NodeError> {
        leaf(v)
    }
    fn serialize_i64(self, v: i64) -> Result<Node, NodeError> {
        leaf(v)
    }
    fn serialize_u8(self, v: u8) -> Result<Node, NodeError> {
        leaf(v)
    }
    fn serialize_u16(self, v: u16) -> Result<Node, NodeError> {
        leaf(v)
    }
    fn serialize_u32(self, v: u32) -> Result<Node, NodeError> {
        leaf(v)
    }
    fn serialize_u64(self, v: u64) -> Result<Node, NodeError> {
        leaf(v)
    }
    fn serialize_f32(self, v: f32) -> Result<Node, NodeError> {
        // `{:?}` is the shortest form that reads back as the same f32 (`0.1`, not
        // `0.10000000149011612`), and writes `NaN`, `inf` and `-inf` as such.
        leaf(format!("{v:?}"))
    }
    fn serialize_f64(self, v: f64) -> Result<Node, NodeError> {
        leaf(format!("{v:?}"))
    }
    fn serialize_char(self, v: char) -> Result<Node, NodeError> {
        self.serialize_str(v.encode_utf8(&mut [0; 4]))
    }
    fn serialize_str(self, v: &str) -> Result<Node, NodeError> {
        // Quoted and escaped: the game's strings are whatever a mod or a player put there.
        leaf(quoted(v))
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<Node, NodeError> {
        Ok(Node::List(v.iter().map(|b| Node::Leaf(b.to_string())).collect()))
    }
    fn serialize_none(self) -> Result<Node, NodeError> {
        leaf("null")
    }
    fn serialize_some<T: serde::Serialize + ?Sized>(self, value: &T) -> Result<Node, NodeError> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<Node, NodeError> {
        leaf("null")
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<Node, NodeError> {
        leaf("null")
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<Node, NodeError> {
        // As JSON writes it: `"live"`.
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: serde::Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<Node, NodeError> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: serde::Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<Node, NodeError> {
        // As JSON writes it: `{unknown: 9}`.
        Ok(Node::Map(vec![(variant.to_owned(), to_node(value)?)]))
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<ListBuilder, NodeError> {
        Ok(ListBuilder(Vec::with_capacity(len.unwrap_or(0))))
    }
    fn serialize_tuple(self, len: usize) -> Result<ListBuilder, NodeError> {
        Ok(ListBuilder(Vec::with_capacity(len)))
    }
    fn serialize_tuple_struct(self, _: &'static str, len: usize) -> Result<ListBuilder, NodeError> {
        Ok(ListBuilder(Vec::with_capacity(len)))
    }
    fn serialize_tuple_variant(
        self,
        name: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, NodeError> {
        Err(NodeError(format!("{name}::{variant}: tuple variants are not listed")))
    }
    fn serialize_map(self, len: Option<usize>) -> Result<MapBuilder, NodeError> {
        Ok(MapBuilder { entries: Vec::with_capacity(len.unwrap_or(0)), key: None })
    }
    fn serialize_struct(self, _: &'static str, len: usize) -> Result<MapBuilder, NodeError> {
        Ok(MapBuilder { entries: Vec::with_capacity(len), key: None })
    }
    fn serialize_struct_variant(
        self,
        name: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, NodeError> {
        Err(NodeError(format!("{name}::{variant}: struct variants are not listed")))
    }
}

/// The items of a list (a sequence or a tuple, such as `[f32; 4]`).
struct ListBuilder(Vec<Node>);

impl ser::SerializeSeq for ListBuilder {
    type Ok = Node;
    type Error = NodeError;
    fn serialize_element<T: serde::Serialize + ?Sized>(&mut self, value: &T) -> Result<(), NodeError> {
        self.0.push(to_node(value)?);
        Ok(())
    }
    fn end(self) -> Result<Node, NodeError> {
        Ok(Node::List(self.0))
    }
}

impl ser::SerializeTuple for ListBuilder {
    type Ok = Node;
    type Error = NodeError;
    fn serialize_element<T: serde::Serialize + ?Sized>(&mut self, value: &T) -> Result<(), NodeError> {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result<Node, NodeError> {
        ser::SerializeSeq::end(self)
    }
}

impl ser::SerializeTupleStruct for ListBuilder {
    type Ok = Node;
    type Error = NodeError;
    fn serialize_field<T: serde::Serialize + ?Sized>(&mut self, value: &T) -> Result<(), NodeError> {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result<Node, NodeError> {
        ser::SerializeSeq::end(self)
    }
}

/// The entries of a map or the fields of a struct, in order.
struct MapBuilder {
    entries: Vec<(String, Node)>,
    key: Option<String>,
}

impl ser::SerializeMap for MapBuilder {
    type Ok = Node;
    type Error = NodeError;
    fn serialize_key<T: serde::Serialize + ?Sized>(&mut self, key: &T) -> Result<(), NodeError> {
        self.key = Some(match to_node(key)? {
            Node::Leaf(text) => text,
            _ => return Err(NodeError("a map key that is not a plain value".to_owned())),
        });
        Ok(())
    }
    fn serialize_value<T: serde::Serialize + ?Sized>(&mut self, value: &T) -> Result<(), NodeError> {
        let key = self.key.take().ok_or_else(|| NodeError("a map value without a key".to_owned()))?;
        self.entries.push((key, to_node(value)?));
        Ok(())
    }
    fn end(self) -> Result<Node, NodeError> {
        Ok(Node::Map(self.entries))
    }
}

impl ser::SerializeStruct for MapBuilder {
    type Ok = Node;
    type Error = NodeError;
    fn serialize_field<T: serde::Serialize + ?Sized>(
        &mut self,
        name: &'static str,
        value: &T,
    ) -> Result<(), NodeError> {
        self.entries.push((name.to_owned(), to_node(value)?));
        Ok(())
    }
    fn end(self) -> Result<Node, NodeError> {
        Ok(Node::Map(self.entries))
    }
}

/// One line per field, grouped by page: `name   value`.
fn listing(tree: &Node) -> String {
    let mut out = String::new();
    let Node::Map(pages) = tree else { return out };
    for (page, fields) in pages {
        let _ = writeln!(out, "{page}:");
        let Node::Map(fields) = fields else { continue };
        let width = fields.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
        for (name, value) in fields {
            let _ = writeln!(out, "  {name:<width$}  {}", inline(value));
        }
    }
    out
}

/// A value on one line: `[1.0, 2.0]`, `{unknown: 9}`.
fn inline(node: &Node) -> String {
    match node {
        Node::Leaf(s) => s.clone(),
        Node::List(items) => format!("[{}]", items.iter().map(inline).collect::<Vec<_>>().join(", ")),
        Node::Map(entries) => {
            let parts: Vec<String> = entries.iter().map(|(k, v)| format!("{k}: {}", inline(v))).collect();
            format!("{{{}}}", parts.join(", "))
        }
    }
}

fn watch(args: WatchArgs) -> anyhow::Result<ExitCode> {
    let limit = args.duration;
    let location =
        args.shm_dir.as_ref().map_or_else(|| "the live game".to_owned(), |d| d.display().to_string());
    let source = open(args.shm_dir.as_deref())?;
    let mut poller = Poller::new(source, MonotonicClock::new());
    let stop = super::stop::flag();
    let tty = std::io::stdout().is_terminal();
    // A terminal gets a redrawn screen ten times a second; a pipe or a file, a line a second.
    let every = if tty { Duration::from_millis(100) } else { Duration::from_secs(1) };
    let started = Instant::now();
    let mut next_draw = started;
    let mut view: Option<Snapshot> = None;
    let mut out = std::io::stdout();
    if tty {
        // Clear the screen and hide the cursor while we redraw.
        write!(out, "\x1b[2J\x1b[?25l")?;
    }
    // Two kinds of failure: the outer one is stdout's (a closed pipe ends the watch quietly),
    // the inner one the pages' (an error to report).
    let result = (|| -> std::io::Result<anyhow::Result<()>> {
        while !stop.load(Ordering::Relaxed) && limit.is_none_or(|l| started.elapsed() < l) {
            if let Err(e) = poller.poll() {
                return Ok(Err(
                    anyhow::Error::new(e).context(format!("reading the pages of {location} failed"))
                ));
            }
            let now = Instant::now();
            if now >= next_draw {
                match Snapshot::capture(poller.source_mut()) {
                    Ok(s) => view = Some(s),
                    // The game kept writing while we copied: show the last good copy.
                    Err(ShmError::Torn { .. }) => {}
                    Err(e) => {
                        return Ok(Err(
                            anyhow::Error::new(e).context(format!("reading the pages of {location} failed"))
                        ));
                    }
                }
                if let Some(view) = &view {
                    let rate = poller.rate_hz();
                    let stats = poller.stats();
                    if tty {
                        // Home, then each line cleared to its end, then the rest of the screen.
                        let screen = screen(view, stats, rate, &location).replace('\n', "\x1b[K\n");
                        write!(out, "\x1b[H{screen}\x1b[J")?;
                    } else {
                        writeln!(out, "{}", line(view, stats, rate, started.elapsed()))?;
                    }
                    out.flush()?;
                }
                next_draw += every;
                if next_draw < now {
                    next_draw = now + every;
                }
            }
            // About 1 kHz: three times the game's physics rate, so no step is missed.
            std::thread::sleep(Duration::from_millis(1));
        }
        Ok(Ok(()))
    })();
    if tty {
        // Show the cursor again, whatever happened.
        let _ = writeln!(out, "\x1b[?25h").and_then(|()| out.flush());
    }
    match result {
        // A reader that went away (`| head`) ends the watch quietly.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(ExitCode::SUCCESS),
        Err(e) => Err(anyhow::Error::new(e).context("cannot write to stdout")),
        Ok(polled) => polled.map(|()| ExitCode::SUCCESS),
    }
}

fn gear(g: i32) -> String {
    match g {
        0 => "R".to_owned(),
        1 => "N".to_owned(),
        // In i64: a page's `gear` can be any i32, `i32::MIN` too.
        n => (i64::from(n) - 1).to_string(),
    }
}

fn status_name(s: Status) -> String {
    match s {
        Status::Off => "OFF".to_owned(),
        Status::Replay => "REPLAY".to_owned(),
        Status::Live => "LIVE".to_owned(),
        Status::Pause => "PAUSE".to_owned(),
        Status::Unknown(c) => format!("status {c}"),
    }
}

fn session_name(s: SessionType) -> String {
    match s {
        SessionType::Unknown(c) => format!("session {c}"),
        other => format!("{other:?}").to_uppercase(),
    }
}

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
fn screen(view: &Snapshot, stats: &PollStats, rate: Option<f64>, location: &str) -> String {
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
fn line(view: &Snapshot, stats: &PollStats, rate: Option<f64>, elapsed: Duration) -> String {
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
    fn the_listing_keeps_the_spec_order_and_shortest_floats() {
        let mut snapshot = Snapshot::default();
        snapshot.physics.packet_id = 7;
        snapshot.physics.gas = 0.1;
        snapshot.static_page.set_track_configuration("Südschleife");
        let text = listing(&to_node(&snapshot.decode()).unwrap());
        let packet = text.find("packet_id").unwrap();
        let gas = text.find("gas").unwrap();
        assert!(packet < gas, "struct order, not alphabetical");
        assert!(text.contains("  gas "), "{text}");
        assert!(text.lines().any(|l| l.starts_with("  gas") && l.ends_with(" 0.1")), "{text}");
        assert!(text.contains("\"Südschleife\""));
        assert!(text.contains("[0.0, 0.0, 0.0]"));
        assert!(text.starts_with("physics:\n"));
        assert!(text.contains("\nstatic:\n"));
        assert!(text.contains("  tyre_temp") && text.contains("null"), "absent tail fields are null");
    }

    /// NaN and infinities are listed as such, not as the `null` of an absent field; codes that
    /// name no enum value are listed with their number.
    #[test]
    fn the_listing_shows_non_finite_floats_and_unknown_codes() {
        let mut snapshot = Snapshot::default();
        snapshot.physics.speed_kmh = f32::NAN;
        snapshot.physics.velocity = [f32::INFINITY, f32::NEG_INFINITY, -0.0];
        snapshot.graphics.status = 9;
        let text = listing(&to_node(&snapshot.decode()).unwrap());
        assert!(text.lines().any(|l| l.starts_with("  speed_kmh") && l.ends_with(" NaN")), "{text}");
        assert!(text.contains("[inf, -inf, -0.0]"), "{text}");
        assert!(text.lines().any(|l| l.starts_with("  status") && l.ends_with(" {unknown: 9}")), "{text}");
    }

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
