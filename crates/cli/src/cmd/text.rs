//! What the commands' text output shares: the escapes of `pitwall-text` (strings from outside
//! made safe for a terminal), the page lap times of `shm` and `sim game`, and [`Out`], the
//! buffered stdout of the commands that print per event or per row.

use std::io::Write as _;

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
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Err(anyhow::Error::new(BrokenPipe)),
        Err(e) => Err(e).context("cannot write to stdout"),
    }
}

/// Buffered stdout, for the commands that print a line per event or per row.
///
/// Rust's own stdout is line-buffered: one `write` system call per line, which costs more than
/// decoding the event and encoding it as JSON together. `Out` gathers lines into 64 KiB writes.
/// What must be seen as it happens is flushed by its writer, with [`Out::flush`] (a live timing
/// board after each update, `acsp listen` after each burst of events); on a terminal every line
/// is flushed, since a person reads it there and the terminal is slower than the system call.
///
/// A closed pipe (`| head`) comes back as [`BrokenPipe`], for the command to end quietly. What
/// is still buffered when `Out` is dropped (an error ended the command early) is written then, so
/// that the lines before an error are not lost; the command's normal end flushes explicitly, to
/// see the error of that last write.
#[derive(Debug)]
pub(crate) struct Out {
    w: std::io::BufWriter<std::io::Stdout>,
    /// Flush after each line: stdout is a terminal.
    each_line: bool,
}

impl Out {
    pub(crate) fn stdout() -> Self {
        use std::io::IsTerminal as _;
        let stdout = std::io::stdout();
        let each_line = stdout.is_terminal();
        // Not a `StdoutLock`: it would be held for the whole command, and a line printed from
        // another thread (a tokio worker) would then wait for the command to end.
        Out { w: std::io::BufWriter::with_capacity(64 * 1024, stdout), each_line }
    }

    /// Writes `line` and a line end.
    pub(crate) fn line(&mut self, line: &str) -> anyhow::Result<()> {
        self.w.write_all(line.as_bytes()).map_err(write_error)?;
        self.end_line()
    }

    /// Writes one line with `write` (which writes no line end).
    pub(crate) fn line_with(
        &mut self,
        write: impl FnOnce(&mut std::io::BufWriter<std::io::Stdout>) -> std::io::Result<()>,
    ) -> anyhow::Result<()> {
        write(&mut self.w).map_err(write_error)?;
        self.end_line()
    }

    /// Writes `value` as one line of JSON, encoded straight into the buffer (no string per
    /// line), with DEL and the C1 controls escaped as [`json_controls`] does.
    pub(crate) fn json<T: serde::Serialize + ?Sized>(&mut self, value: &T) -> anyhow::Result<()> {
        let mut ser = serde_json::Serializer::with_formatter(&mut self.w, SafeJson);
        if let Err(e) = value.serialize(&mut ser) {
            return Err(match e.io_error_kind() {
                Some(kind) => write_error(std::io::Error::from(kind)),
                None => anyhow::Error::new(e).context("cannot encode as JSON"),
            });
        }
        self.end_line()
    }

    fn end_line(&mut self) -> anyhow::Result<()> {
        self.w.write_all(b"\n").map_err(write_error)?;
        if self.each_line { self.flush() } else { Ok(()) }
    }

    /// Writes out what is buffered.
    pub(crate) fn flush(&mut self) -> anyhow::Result<()> {
        self.w.flush().map_err(write_error)
    }
}

fn write_error(e: std::io::Error) -> anyhow::Error {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        anyhow::Error::new(BrokenPipe)
    } else {
        anyhow::Error::new(e).context("cannot write to stdout")
    }
}

/// serde_json's compact output, with DEL and the C1 controls in strings written as `\u00XX`: the
/// same document [`json_controls`] makes of the encoder's output, without a second pass over it.
/// (Outside strings, compact JSON has no control characters at all.)
#[derive(Debug)]
struct SafeJson;

impl serde_json::ser::Formatter for SafeJson {
    fn write_string_fragment<W: ?Sized + std::io::Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> std::io::Result<()> {
        // DEL is the byte 0x7f, and a C1 control the two bytes 0xc2 0x80..=0x9f, so a fragment
        // of bytes below 0x7f (nearly all: keys, numbers as text, names) is written as it is.
        // Fragments are short (a key, a name): a branch-free pass over the bytes costs less than
        // an early exit or a memchr call.
        let bytes = fragment.as_bytes();
        if bytes.iter().fold(0u8, |high, &b| high | u8::from(b >= 0x7f)) == 0 {
            return w.write_all(bytes);
        }
        let mut start = 0;
        for (i, c) in fragment.char_indices() {
            if c.is_control() {
                w.write_all(&bytes[start..i])?;
                write!(w, "\\u{:04x}", u32::from(c))?;
                start = i + c.len_utf8();
            }
        }
        w.write_all(&bytes[start..])
    }
}

#[cfg(test)]
mod tests {
    use serde::Serialize as _;

    use super::*;

    /// What `Out::json` writes is exactly what `json_controls` made of serde_json's output.
    #[test]
    fn safe_json_is_the_json_controls_document() {
        let texts = [
            "plain",
            "Jürgen 🏁 ½",
            "a\u{1b}[2J\u{9b}31m\u{7f}é\n",
            "\u{80}\u{9f}\u{a0}\u{85}",
            "\u{7f}",
            "",
            "tab\tquote\"back\\slash",
        ];
        for text in texts {
            let value = serde_json::json!({ "m": text, text: [1.5, -2], "n": null });
            let expected = json_controls(&serde_json::to_string(&value).unwrap()).into_owned();
            let mut got = Vec::new();
            value.serialize(&mut serde_json::Serializer::with_formatter(&mut got, SafeJson)).unwrap();
            assert_eq!(String::from_utf8(got).unwrap(), expected, "{text:?}");
        }
    }
}
