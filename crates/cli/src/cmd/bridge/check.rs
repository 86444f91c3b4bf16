//! `pitwall bridge --check`: the first thing a driver runs when something does not work. It
//! looks at what a bridge started now would need (the game's shared memory, the server, the
//! token) and says what it found in sentences a sim racer can act on, on stdout. The exit
//! status names the first problem, so that a launcher script can tell them apart.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use bridge::check::{GameSeen, ServerCheck};
use shm::Status;

use super::{Settings, Source};
use crate::cmd::text::{escape_controls, outln};

/// The game's shared memory is not visible.
pub const NO_SHARED_MEMORY: u8 = 10;
/// Nothing answers at the server's address.
pub const SERVER_UNREACHABLE: u8 = 11;
/// The server refused the token (or asked for one and none is set).
pub const TOKEN_REFUSED: u8 = 12;
/// Something answered at the address, but not as a pitwall server does.
pub const NOT_PITWALL: u8 = 13;

/// Every exit status of `--check`, for `--help` (and the docs say the same).
pub const EXIT_CODES: [(u8, &str); 6] = [
    (0, "ready: the game's shared memory is visible and the server accepts the token"),
    (2, "the settings cannot work (a bad flag, or a bad value in the settings file)"),
    (NO_SHARED_MEMORY, "the game's shared memory is not visible (is Assetto Corsa running?)"),
    (SERVER_UNREACHABLE, "the server cannot be reached"),
    (TOKEN_REFUSED, "the server refused the token, or asks for one and none is set"),
    (NOT_PITWALL, "something answered at the server's address, but not a pitwall server"),
];

/// How long the check waits for the connection, and then for the answer.
const TIMEOUT: Duration = Duration::from_secs(5);

/// Runs the checks, prints the findings, and returns the exit status of the first problem.
pub fn run(settings: &Settings) -> anyhow::Result<ExitCode> {
    let mut first_problem: Option<u8> = None;
    let mut problem = |code: u8| {
        first_problem.get_or_insert(code);
    };
    match &settings.file {
        Some(path) => outln!("Settings: {}", path.display())?,
        None => outln!("Settings: no bridge.toml found; using the command line and the defaults")?,
    }

    match &settings.source {
        Source::Shm => match bridge::check::shared_memory(settings.shm_dir.as_deref()) {
            Ok(seen) => outln!("OK       the game's shared memory is visible ({})", describe(&seen))?,
            Err(e) => {
                problem(NO_SHARED_MEMORY);
                outln!(
                    "PROBLEM  the game's shared memory is not visible: {}.\n         \
                     Start Assetto Corsa (the game creates it as it starts; a session need not be \
                     loaded yet), then run this check again.{}",
                    escape_controls(&e.to_string()),
                    match &settings.shm_dir {
                        Some(dir) => format!(" The pages are looked for in {}.", dir.display()),
                        None => String::new(),
                    }
                )?;
            }
        },
        Source::Sim => outln!("OK       the source is the game simulator: no shared memory to look at")?,
        Source::Replay(path) => {
            outln!("OK       the source is a replay of {}: no shared memory to look at", path.display())?
        }
    }

    match &settings.server {
        None => outln!("OK       record only: no server to reach")?,
        Some(server) => {
            let url = &server.url;
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("cannot start the tokio runtime")?;
            let found = runtime
                .block_on(bridge::check::server(server, TIMEOUT))
                .map_err(|e| anyhow::Error::new(crate::cmd::UsageError(e.to_string())))?;
            match found {
                ServerCheck::Accepted if server.token.is_some() => {
                    outln!("OK       the server at {url} is reachable and accepts your token")?
                }
                ServerCheck::Accepted => {
                    outln!("OK       the server at {url} is reachable and asks for no token")?
                }
                ServerCheck::Unreachable(why) => {
                    problem(SERVER_UNREACHABLE);
                    outln!(
                        "PROBLEM  the server at {url} cannot be reached: {}.\n         \
                         Check the address and port in `server` (your league admin has them), that \
                         the server is running, and that no firewall is in the way.",
                        escape_controls(&why)
                    )?;
                }
                ServerCheck::TokenRefused { sent: true, message } => {
                    problem(TOKEN_REFUSED);
                    outln!(
                        "PROBLEM  the server at {url} is reachable but refused your token ({}).\n         \
                         Copy the token your league admin gave you into `token`, exactly.",
                        escape_controls(&message)
                    )?;
                }
                ServerCheck::TokenRefused { sent: false, message } => {
                    problem(TOKEN_REFUSED);
                    outln!(
                        "PROBLEM  the server at {url} is reachable but asks for a token, and none is \
                         set ({}).\n         Put the token your league admin gave you in `token`.",
                        escape_controls(&message)
                    )?;
                }
                ServerCheck::Failed(why) => {
                    problem(NOT_PITWALL);
                    outln!(
                        "PROBLEM  something answered at {url}, but not as a pitwall server does: {}.\n         \
                         Check the port in `server`: it is the server's gRPC port (50051 unless your \
                         admin changed it), not the game's or the dashboard's.",
                        escape_controls(&why)
                    )?;
                }
            }
        }
    }

    match first_problem {
        None => {
            outln!("Ready: start the bridge (`pitwall bridge`) and drive.")?;
            Ok(ExitCode::SUCCESS)
        }
        Some(code) => {
            outln!("Not ready: fix the first problem above, then run `pitwall bridge --check` again.")?;
            Ok(ExitCode::from(code))
        }
    }
}

/// What the pages say, in words: the game's state, and the car and track once a session loaded.
fn describe(seen: &GameSeen) -> String {
    let state = match seen.status {
        Status::Off => "the game is in its menus",
        Status::Replay => "the game is showing a replay",
        Status::Live => "you are on track",
        Status::Pause => "the game is paused",
        _ => "the game's state is unknown",
    };
    let mut text = format!("at {}: {state}", seen.location);
    if !seen.car.is_empty() && !seen.track.is_empty() {
        text.push_str(&format!(", {} at {}", escape_controls(&seen.car), escape_controls(&seen.track)));
    }
    text
}
