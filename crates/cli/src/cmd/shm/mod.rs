//! `pitwall shm …`: look at AC's shared-memory pages. `dump` prints one snapshot of all three
//! pages, every field (text, as `shm::listing` writes it, or JSON), and can save or load a
//! snapshot file; `watch` is a live one-screen dashboard driven by the sampling poller, its
//! screen drawn by [`watch`].

use std::io::{IsTerminal as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use ::shm::{DirSource, MonotonicClock, PageSource, Poller, ShmError, Snapshot};
use anyhow::Context as _;

use super::text::json_controls;

mod watch;

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
    #[arg(long, value_name = "SECS", allow_negative_numbers = true, value_parser = crate::cmd::seconds)]
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
        ::shm::listing::to_text(&pages).context("cannot list the pages")?
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

/// Runs `pitwall shm watch`: polls the pages and redraws [`watch::screen`] (a terminal) or
/// writes a [`watch::line`] (a pipe or a file) until Ctrl-C or `--duration`.
fn watch(args: WatchArgs) -> anyhow::Result<ExitCode> {
    let limit = args.duration;
    let location =
        args.shm_dir.as_ref().map_or_else(|| "the live game".to_owned(), |d| d.display().to_string());
    let source = open(args.shm_dir.as_deref())?;
    let mut poller = Poller::new(source, MonotonicClock::new());
    let stop = crate::cmd::stop::flag();
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
                        let screen = watch::screen(view, stats, rate, &location).replace('\n', "\x1b[K\n");
                        write!(out, "\x1b[H{screen}\x1b[J")?;
                    } else {
                        writeln!(out, "{}", watch::line(view, stats, rate, started.elapsed()))?;
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
