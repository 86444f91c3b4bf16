//! Windows only: plays the game's part for the named mappings. Creates `Local\acpmf_physics`,
//! `_graphics` and `_static` with `MappingWriter`, writes the sample pages (`testkit::pages`)
//! and prints them, decoded, as one line of JSON. Then it waits for a line on stdin, and from
//! then on publishes a new physics step every `--interval-ms` (graphics every second step)
//! until stdin closes or `--seconds` pass; it ends by printing `{"steps":N,"last_packet_id":ID}`.
//!
//! Run under Wine next to `win_reader` by scripts/interop/shm_windows.sh.
//!
//! Usage: `win_writer [--seconds S] [--interval-ms MS]` (defaults: 60 s, 3 ms).

#[cfg(windows)]
fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("win_writer: error: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(windows)]
fn run() -> Result<(), Box<dyn std::error::Error>> {
    use std::io::{BufRead, Write};
    use std::sync::atomic::{AtomicU8, Ordering};
    use std::sync::{Arc, mpsc};
    use std::time::{Duration, Instant};

    let mut seconds = 60.0_f64;
    let mut interval_ms = 3_u64;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args.next().ok_or_else(|| format!("{arg} needs a value"))?;
        match arg.as_str() {
            "--seconds" => seconds = value.parse()?,
            "--interval-ms" => interval_ms = value.parse()?,
            _ => return Err(format!("unknown argument {arg}").into()),
        }
    }

    use testkit::pages;

    let mut writer = shm::MappingWriter::create()?;
    let first = pages::snapshot();
    writer.write_static(&first.static_page)?;
    writer.write_graphics(&first.graphics)?;
    writer.write_physics(&first.physics)?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", serde_json::to_string(&first.decode())?)?;
    out.flush()?;

    // stdin: the first line means "start stepping", its end means "stop".
    const WAITING: u8 = 0;
    const STEPPING: u8 = 1;
    const STOP: u8 = 2;
    let state = Arc::new(AtomicU8::new(WAITING));
    let (started_tx, started_rx) = mpsc::channel();
    let input_state = Arc::clone(&state);
    std::thread::spawn(move || {
        let mut lines = std::io::stdin().lock().lines();
        let first = lines.next();
        let eof = !matches!(first, Some(Ok(_)));
        input_state.store(if eof { STOP } else { STEPPING }, Ordering::SeqCst);
        let _ = started_tx.send(());
        if !eof {
            for line in lines {
                if line.is_err() {
                    break;
                }
            }
            input_state.store(STOP, Ordering::SeqCst);
        }
    });
    let deadline = Instant::now() + Duration::from_secs_f64(seconds);
    let _ = started_rx.recv_timeout(Duration::from_secs_f64(seconds));

    let mut steps = 0_u32;
    let mut last_id = first.physics.packet_id;
    while state.load(Ordering::SeqCst) == STEPPING && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(interval_ms));
        steps += 1;
        let physics = pages::physics_at(steps);
        // The game writes physics, then graphics; readers must cope with either being newer.
        writer.write_physics(&physics)?;
        writer.write_graphics(&pages::graphics_at(steps))?;
        last_id = physics.packet_id;
    }
    writeln!(out, "{{\"steps\":{steps},\"last_packet_id\":{last_id}}}")?;
    Ok(())
}

#[cfg(not(windows))]
fn main() -> std::process::ExitCode {
    eprintln!("win_writer: Windows only (build for x86_64-pc-windows-gnu and run it under Wine)");
    std::process::ExitCode::from(2)
}
