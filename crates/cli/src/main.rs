//! `pitwall`: Assetto Corsa telemetry and live timing. Thin glue: one module per subcommand.
//!
//! Exit status: 0 when the command did its job; 1 when it failed at work (an input with nothing
//! to decode in it, a file that cannot be read, a socket that fails); 2 for a usage error, a
//! command line that cannot work (clap's own errors, and [`cmd::UsageError`] found later); 3 for
//! `convert --strict` when the output was written from a damaged input.

use std::io::IsTerminal as _;
use std::process::ExitCode;

use clap::{CommandFactory as _, FromArgMatches as _, Parser, Subcommand};

mod cmd;

/// See the `mimalloc` entry of Cargo.toml: `pitwall serve`'s memory stays level under load.
#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `pitwall --version`: the version, the commit and the build date (from build.rs), and the
/// target, so that a bug report says exactly which build it is about.
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("PITWALL_COMMIT"),
    ", built ",
    env!("PITWALL_BUILD_DATE"),
    ", ",
    env!("PITWALL_TARGET"),
    ")"
);

/// Assetto Corsa telemetry and live timing.
#[derive(Debug, Parser)]
#[command(name = "pitwall", version = VERSION, about, propagate_version = true)]
struct Cli {
    /// Log filter (tracing's EnvFilter syntax), e.g. `info` or `acsp=debug`.
    #[arg(long, global = true, env = "PITWALL_LOG", default_value = "warn")]
    log: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// The dedicated server's UDP plugin protocol: listen, send commands, decode captures.
    Acsp(cmd::acsp::Args),
    /// The bridge: shared memory (or the simulator, or a recording) → gRPC, loss-free, recorded.
    Bridge(cmd::bridge::Args),
    /// The ingest server: telemetry frames in over gRPC, durable acks out.
    Serve(cmd::serve::Args),
    /// AC's shared-memory pages: dump a snapshot, or watch them live.
    Shm(cmd::shm::ShmArgs),
    /// A sink worker: frames from NATS JetStream into the Parquet dataset (or recordings).
    Sink(cmd::sink::Args),
    /// Simulators of the game and of the dedicated server.
    Sim(cmd::sim::Args),
    /// The main job on the simulators: a simulated server and grid, followed live.
    Demo(cmd::demo::Args),
    /// Convert a recording (or a Parquet dataset) to Parquet, CSV or MoTeC i2.
    Convert(cmd::convert::Args),
    /// The lap table of a recording (or a Parquet dataset): times, sectors, validity, speeds.
    Laps(cmd::laps::Args),
    /// Lap records from the records database: each driver's best per car, or every lap.
    Records(cmd::records::Args),
    /// A relay between one server and several plugins: answers to the asker, intervals reconciled.
    Relay(cmd::relay::Args),
    /// Live timing of a server's plugin events, lap records kept: a capture replayed.
    Timing(cmd::timing::Args),
    /// Load generators: measure the ingest server (and a baseline server) under load.
    Bench(cmd::bench::Args),
}

fn main() -> ExitCode {
    // `bridge --help` lists where this user's settings file is looked for: known only now.
    let matches =
        Cli::command().mut_subcommand("bridge", |c| c.after_help(cmd::bridge::after_help())).get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_new(&cli.log).unwrap_or_else(|_| "warn".into()))
        .with_writer(std::io::stderr)
        // Colours only for a person at a terminal: under systemd stderr goes to the journal,
        // where escape sequences would show as garbage (and NO_COLOR is honoured as well).
        .with_ansi(std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none())
        .init();
    let result = match cli.command {
        Command::Acsp(args) => cmd::acsp::run(args),
        Command::Bridge(args) => cmd::bridge::run(args),
        Command::Serve(args) => cmd::serve::run(args),
        Command::Shm(args) => cmd::shm::run(args),
        Command::Sink(args) => cmd::sink::run(args),
        Command::Sim(args) => cmd::sim::run(args),
        Command::Demo(args) => cmd::demo::run(args),
        Command::Bench(args) => cmd::bench::run(args),
        Command::Convert(args) => cmd::convert::run(args),
        Command::Laps(args) => cmd::laps::run(args),
        Command::Records(args) => cmd::records::run(args),
        Command::Relay(args) => cmd::relay::run(args),
        Command::Timing(args) => cmd::timing::run(args),
    };
    match result {
        Ok(code) => code,
        // The reader of stdout went away (`| head`): a normal way to stop reading.
        Err(e) if e.is::<cmd::text::BrokenPipe>() => ExitCode::SUCCESS,
        Err(e) => {
            // A path or a name in the message may hold control characters: escaped, so that
            // an error cannot drive the terminal.
            eprintln!("pitwall: error: {}", cmd::text::escape_controls(&format!("{e:#}")));
            if e.chain().any(|cause| cause.is::<cmd::UsageError>()) {
                ExitCode::from(2)
            } else {
                ExitCode::FAILURE
            }
        }
    }
}
