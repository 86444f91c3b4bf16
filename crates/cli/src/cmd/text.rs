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
pub(crate) struct Out<W: std::io::Write = std::io::BufWriter<std::io::Stdout>> {
    w: W,
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

    /// Whether each line is flushed as it is written (stdout is a terminal).
    pub(crate) fn is_live(&self) -> bool {
        self.each_line
    }
}

impl Out<Vec<u8>> {
    /// Lines gathered in memory, for [`format_in_parallel`].
    pub(crate) fn buffer(capacity: usize) -> Self {
        Out { w: Vec::with_capacity(capacity), each_line: false }
    }
}

impl<W: std::io::Write> Out<W> {
    /// Writes lines made elsewhere ([`Out::buffer`]) as they are.
    pub(crate) fn lines(&mut self, lines: &[u8]) -> anyhow::Result<()> {
        self.w.write_all(lines).map_err(write_error)?;
        if self.each_line { self.flush() } else { Ok(()) }
    }

    /// Writes `line` and a line end.
    pub(crate) fn line(&mut self, line: &str) -> anyhow::Result<()> {
        self.w.write_all(line.as_bytes()).map_err(write_error)?;
        self.end_line()
    }

    /// Writes one line with `write` (which writes no line end).
    pub(crate) fn line_with(
        &mut self,
        write: impl FnOnce(&mut W) -> std::io::Result<()>,
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

/// Items (events, rows) made by `produce` on a thread of its own, formatted by `format` as lines
/// on `workers` threads, written to `out` in the order they were made: the formatting, which
/// costs most (JSON numbers), spread over the cores.
///
/// `produce` hands each item to the function it is given, which fails once the output has
/// stopped (a closed pipe, a write error): `produce` should then return that error. Items go in
/// batches of [`PARALLEL_BATCH`], batch `i` to worker `i % workers`, and the writer takes the
/// workers' output in the same turn, so order is kept with no reordering; a few batches per
/// worker are in flight at most, so memory stays bounded. What `produce` returns is returned
/// once every line it made is written; an error of `produce` comes back after the lines made
/// before it are written, and a write error (a closed pipe: [`BrokenPipe`]) before anything else.
pub(crate) fn format_in_parallel<T: Send, R: Send, W: std::io::Write>(
    out: &mut Out<W>,
    workers: usize,
    produce: impl FnOnce(&mut dyn FnMut(T) -> anyhow::Result<()>) -> anyhow::Result<R> + Send,
    format: impl Fn(&mut Out<Vec<u8>>, &T) -> anyhow::Result<()> + Sync,
) -> anyhow::Result<R> {
    use std::sync::mpsc::sync_channel;
    let workers = workers.max(1);
    std::thread::scope(|scope| {
        let format = &format;
        let mut inputs = Vec::with_capacity(workers);
        let mut outputs = Vec::with_capacity(workers);
        for k in 0..workers {
            let (in_tx, in_rx) = sync_channel::<Vec<T>>(2);
            let (out_tx, out_rx) = sync_channel::<anyhow::Result<Vec<u8>>>(2);
            inputs.push(in_tx);
            outputs.push(out_rx);
            std::thread::Builder::new()
                .name(format!("format-{k}"))
                .spawn_scoped(scope, move || {
                    for batch in in_rx {
                        let mut buf = Out::buffer(batch.len() * 200);
                        let formatted = batch.iter().try_for_each(|item| format(&mut buf, item));
                        // The writer stopped: nothing more to do.
                        if out_tx.send(formatted.map(|()| buf.w)).is_err() {
                            return;
                        }
                    }
                })
                .context("cannot start a formatting thread")?;
        }
        let producer = std::thread::Builder::new()
            .name("produce".into())
            .spawn_scoped(scope, move || {
                let mut batch = Vec::with_capacity(PARALLEL_BATCH);
                let mut next = 0usize;
                let stopped = || anyhow::anyhow!("the output stopped");
                let result = produce(&mut |item| {
                    batch.push(item);
                    if batch.len() == PARALLEL_BATCH {
                        let full = std::mem::replace(&mut batch, Vec::with_capacity(PARALLEL_BATCH));
                        inputs[next % workers].send(full).map_err(|_| stopped())?;
                        next += 1;
                    }
                    Ok(())
                });
                if !batch.is_empty() {
                    // A send that fails means the writer stopped, which it reports itself.
                    let _ = inputs[next % workers].send(batch);
                }
                result
            })
            .context("cannot start the producing thread")?;
        let mut written: anyhow::Result<()> = Ok(());
        for i in 0.. {
            // A worker whose input is done and drained: batch `i` was never made, so all were.
            let Ok(lines) = outputs[i % workers].recv() else { break };
            if let Err(e) = lines.and_then(|lines| out.lines(&lines)) {
                written = Err(e);
                break;
            }
        }
        // Stops the workers, and through them the producer, if the writer stopped early.
        drop(outputs);
        let produced =
            producer.join().unwrap_or_else(|_| Err(anyhow::anyhow!("the producing thread panicked")));
        written?;
        produced
    })
}

/// Items per batch of [`format_in_parallel`]: enough that a batch's hand-over costs nothing
/// beside its formatting, few enough that the first lines are out soon.
pub(crate) const PARALLEL_BATCH: usize = 1024;

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

    /// A writer that takes `room` bytes, then fails as a closed pipe does.
    struct Pipe {
        got: Vec<u8>,
        room: usize,
    }

    impl std::io::Write for Pipe {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            if self.got.len() + b.len() > self.room {
                return Err(std::io::ErrorKind::BrokenPipe.into());
            }
            self.got.extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn pipe(room: usize) -> Out<Pipe> {
        Out { w: Pipe { got: Vec::new(), room }, each_line: false }
    }

    fn numbered(out: &mut Out<Vec<u8>>, n: &u64) -> anyhow::Result<()> {
        out.line(&format!("line {n}"))
    }

    #[test]
    fn lines_formatted_in_parallel_come_out_in_order_whatever_the_workers() {
        let n = 10 * PARALLEL_BATCH as u64 + 17;
        let expected: String = (0..n).map(|i| format!("line {i}\n")).collect();
        for workers in [1, 2, 3, 8] {
            let mut out = pipe(usize::MAX);
            let made = format_in_parallel(
                &mut out,
                workers,
                |emit| {
                    (0..n).try_for_each(&mut *emit)?;
                    Ok(n)
                },
                numbered,
            )
            .unwrap();
            assert_eq!(made, n);
            assert_eq!(String::from_utf8(out.w.got).unwrap(), expected, "{workers} workers");
        }
        // Nothing made, nothing written.
        let mut out = pipe(usize::MAX);
        format_in_parallel(&mut out, 2, |_| Ok(()), numbered).unwrap();
        assert!(out.w.got.is_empty());
    }

    #[test]
    fn an_error_of_the_producer_comes_after_the_lines_made_before_it() {
        let mut out = pipe(usize::MAX);
        let made = 3 * PARALLEL_BATCH as u64 + 5;
        let e = format_in_parallel(
            &mut out,
            2,
            |emit| -> anyhow::Result<()> {
                (0..made).try_for_each(&mut *emit)?;
                anyhow::bail!("damaged at offset 7")
            },
            numbered,
        )
        .unwrap_err();
        assert_eq!(e.to_string(), "damaged at offset 7");
        let text = String::from_utf8(out.w.got).unwrap();
        assert_eq!(text.lines().count() as u64, made);
        assert_eq!(text.lines().last(), Some(format!("line {}", made - 1).as_str()));
    }

    #[test]
    fn a_closed_pipe_stops_the_producer_and_comes_back_as_broken_pipe() {
        let mut out = pipe(5_000);
        let mut tried = 0u64;
        let e = format_in_parallel(
            &mut out,
            2,
            |emit| -> anyhow::Result<()> {
                for i in 0..u64::MAX {
                    tried = i;
                    emit(i)?;
                }
                Ok(())
            },
            numbered,
        )
        .unwrap_err();
        assert!(e.is::<BrokenPipe>(), "{e:#}");
        // Stopped within the batches in flight, not at the end of an endless input.
        assert!(tried < 20 * PARALLEL_BATCH as u64, "{tried}");
        // A formatting error stops it the same way.
        let mut out = pipe(usize::MAX);
        let e = format_in_parallel(
            &mut out,
            2,
            |emit| (0..u64::MAX).try_for_each(&mut *emit),
            |buf, n: &u64| if *n == 2500 { anyhow::bail!("cannot encode {n}") } else { numbered(buf, n) },
        )
        .unwrap_err();
        assert_eq!(e.to_string(), "cannot encode 2500");
        assert_eq!(String::from_utf8(out.w.got).unwrap().lines().count(), 2 * PARALLEL_BATCH);
    }
}
