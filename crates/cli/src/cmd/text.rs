//! What the commands' text output shares: the escapes of `pitwall-text` (strings from outside
//! made safe for a terminal) and the page lap times of `shm` and `sim game`.

use anyhow::Context as _;

pub(crate) use ::text::{escape_controls, json_controls, quoted};

/// A lap or sector time as the game's pages hold it (milliseconds; 0 or less when there is
/// none), as a timing screen shows it.
pub(crate) fn page_lap_time(ms: i32) -> String {
    timing::format_lap_time(u32::try_from(ms).ok().filter(|&ms| ms > 0))
}

/// Prints one line on stdout. A closed pipe (`| head`) is a normal way to stop reading: it is
/// returned as [`BrokenPipe`], for the caller to end quietly.
pub(crate) fn print_line(line: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{line}") {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Err(anyhow::Error::new(BrokenPipe)),
        Err(e) => Err(e).context("cannot write to stdout"),
    }
}

/// Marker error: stdout was closed by the reader.
#[derive(Debug)]
pub(crate) struct BrokenPipe;

impl std::fmt::Display for BrokenPipe {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("stdout closed")
    }
}

impl std::error::Error for BrokenPipe {}

/// `println!` that does not panic when stdout is closed (`pitwall demo | head`): it returns
/// [`BrokenPipe`] for `?`, and `main` ends quietly with status 0.
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::cmd::text::print_line(&format!($($arg)*))
    };
}
pub(crate) use outln;

/// Prints `text` as it is (its own line ends) on stdout, as [`print_line`] does.
pub(crate) fn print_str(text: &str) -> anyhow::Result<()> {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Err(anyhow::Error::new(BrokenPipe)),
        Err(e) => Err(e).context("cannot write to stdout"),
    }
}
