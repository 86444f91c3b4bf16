//! Writes the sample pages (`testkit::pages`) as page files into a directory, the way a
//! Proton bridge's files in /dev/shm hold them, and prints the decoded pages as JSON (the shape
//! of `pitwall shm dump --json`), read back through `DirSource`.
//!
//! A stand-in for `pitwall sim game` + `pitwall shm dump --json` in
//! scripts/interop/shm_racetelemetry.sh.
//!
//! Usage: `cargo run -p pitwall-shm --example write_pages -- DIR`

use std::io::Write;
use std::process::ExitCode;

use shm::{BRIDGE_FILE_LEN, DirSource, DirWriter, Snapshot};
use testkit::pages;

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let (Some(dir), None) = (args.next(), args.next()) else {
        eprintln!("usage: write_pages DIR");
        return ExitCode::from(2);
    };
    match run(&dir) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("write_pages: error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(dir: &std::ffi::OsStr) -> Result<(), Box<dyn std::error::Error>> {
    std::fs::create_dir_all(dir)?;
    let written = pages::snapshot();
    let mut writer = DirWriter::create(dir, BRIDGE_FILE_LEN)?;
    writer.write_static(&written.static_page)?;
    writer.write_graphics(&written.graphics)?;
    writer.write_physics(&written.physics)?;
    // Print what a reader gets back, not what we meant to write: that is what a dump shows.
    let read = Snapshot::capture(&mut DirSource::open(dir)?)?;
    if read != written {
        return Err("the pages read back differ from the pages written".into());
    }
    writeln!(std::io::stdout().lock(), "{}", serde_json::to_string_pretty(&read.decode())?)?;
    Ok(())
}
