//! `pitwall timing`: live timing of a server's plugin events, with the lap records kept.
//!
//! `--server ADDR` follows a live dedicated server as its plugin (the `live` crate's follower:
//! timing engine, records, chat commands) and shows the standings as they change, until Ctrl-C.
//!
//! `--replay CAPTURE` feeds a capture (pcap, pcapng, or a raw concatenation of event datagrams:
//! what `pitwall acsp decode` reads) through the timing engine and into the records database
//! as fast as it reads (the `live` crate's `replay`), then prints the final standings and a
//! summary. Exactly one of the two is given.

use std::io::IsTerminal as _;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context as _;
use live::recorder::{Recorder, RecorderConfig};
use live::replay::{ReplayConfig, ReplayReport, modified_unix_ms, replay_bytes};
use records::Store;

use super::text::{escape_controls, json_controls, outln, print_str};

/// Arguments of `pitwall timing`.
#[derive(Debug, clap::Args)]
#[command(group(clap::ArgGroup::new("source").required(true).multiple(false)))]
pub struct Args {
    /// Follow this dedicated server live: its IP and UDP_PLUGIN_LOCAL_PORT (where it listens
    /// for plugin commands), e.g. 127.0.0.1:11000.
    #[arg(long, value_name = "ADDR", group = "source")]
    server: Option<SocketAddr>,
    /// Replay this capture (pcap, pcapng, or a raw concatenation of event datagrams) as fast
    /// as it reads.
    #[arg(long, value_name = "CAPTURE", group = "source")]
    replay: Option<PathBuf>,
    /// The records database (created if needed).
    #[arg(long, value_name = "FILE", env = "PITWALL_RECORDS_DB", default_value = "pitwall-records.sqlite")]
    db: PathBuf,
    /// Keep no records: timing only (`--db` is not opened).
    #[arg(long)]
    no_records: bool,
    /// The plugin's port. Live: where the server sends its events, the port of its
    /// UDP_PLUGIN_ADDRESS [default: 12000]. Replay of a pcap: keep UDP datagrams to or from
    /// this port only [default: every UDP datagram].
    #[arg(long)]
    port: Option<u16>,
    /// Live: accept the server's events from any port of its IP, not only from its command port.
    #[arg(long, requires = "server")]
    any_port: bool,
    /// Live: the car-update interval to ask the server for, ms [default: 100].
    #[arg(long, value_name = "MS", requires = "server")]
    interval: Option<u16>,
    /// Live: a driver GUID allowed the admin chat commands (/next, /restart, /kick,
    /// /pwadmin); repeat for several.
    #[arg(long = "admin", value_name = "GUID", requires = "server")]
    admins: Vec<String>,
    /// Live: seconds between boards when the output is not a terminal (a terminal is redrawn
    /// every second).
    #[arg(long, default_value_t = 5.0, value_name = "SECS", requires = "server")]
    board_every: f64,
    /// JSON instead of a table. Replay: the final standings (the board a live feed sends), the
    /// summary on stderr. Live: one object per line, each notice (`"type"`: `lap_completed`…)
    /// and every board (`"type": "board"`).
    #[arg(long)]
    json: bool,
}

/// Runs `pitwall timing`.
pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    if let Some(server) = args.server {
        return live(&args, server);
    }
    let Some(capture) = args.replay.as_deref() else {
        return Err(super::UsageError("give a source: --server ADDR or --replay CAPTURE".to_owned()).into());
    };
    // Read first: a capture that is not there must not leave an empty database behind.
    let data = std::fs::read(capture).with_context(|| format!("cannot read {}", capture.display()))?;
    let mut recorder = if args.no_records {
        None
    } else {
        let store = Store::open(&args.db).context("opening the records database")?;
        Some(Recorder::new(store, RecorderConfig::default()))
    };
    let config =
        ReplayConfig { port: args.port, raw_start_unix_ms: modified_unix_ms(capture), ..Default::default() };
    let report = replay_bytes(capture, &data, recorder.as_mut(), &config).context("replaying the capture")?;
    for d in &report.damage {
        let at = match (d.packet, d.offset) {
            (Some(p), _) => format!("packet {p}"),
            (None, Some(o)) => format!("offset {o}"),
            (None, None) => "somewhere".to_owned(),
        };
        eprintln!("{}: {at}: {}", escape_controls(&capture.to_string_lossy()), escape_controls(&d.reason));
    }
    if args.json {
        let board = serde_json::to_string(&report.board).context("writing the board as JSON")?;
        outln!("{}", json_controls(&board))?;
        eprintln!("{}", summary(&report));
    } else {
        print_str(&timing::text::board(&report.board))?;
        outln!("{}", summary(&report))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `--server`: follows the server until Ctrl-C or SIGTERM.
fn live(args: &Args, server: SocketAddr) -> anyhow::Result<ExitCode> {
    let follow = super::follow::Follow {
        server,
        port: args.port.unwrap_or(super::follow::DEFAULT_PLUGIN_PORT),
        any_port: args.any_port,
        interval_ms: args.interval,
        admins: args.admins.clone(),
    };
    let board_every = Duration::try_from_secs_f64(args.board_every.max(0.2)).map_err(|_| {
        super::UsageError(format!("--board-every {} is not a number of seconds", args.board_every))
    })?;
    let db = (!args.no_records).then_some(args.db.as_path());
    let json = args.json;
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the tokio runtime")?
        .block_on(async move {
            let follower = follow.bind(db).await?;
            eprintln!(
                "pitwall timing: following the AC server at {} (its events to {}){}",
                follow.server,
                follower.local_addr(),
                db.map(|d| format!("; records in {}", d.display())).unwrap_or_default()
            );
            let feed = follower.feed();
            let (mut board, mut notices) = (feed.board, feed.notices);
            let mut task = tokio::spawn(follower.run_until(super::stop::requested()));
            // A terminal gets the board redrawn in place every second; a pipe gets notices as
            // lines and a board every --board-every.
            let redraw = !json && std::io::stdout().is_terminal();
            let every = if redraw { Duration::from_secs(1) } else { board_every };
            let mut tick = tokio::time::interval(every);
            let mut recent: std::collections::VecDeque<String> = std::collections::VecDeque::new();
            let result = loop {
                tokio::select! {
                    done = &mut task => break done,
                    notice = notices.recv() => match notice {
                        Ok(n) => {
                            if json {
                                let line = serde_json::to_string(&timing::StampedNotice { at: n.at, notice: &n.notice })
                                    .context("writing a notice as JSON")?;
                                outln!("{}", json_controls(&line))?;
                            } else if redraw {
                                recent.push_back(timing::text::notice(&n.notice));
                                if recent.len() > 12 {
                                    recent.pop_front();
                                }
                            } else {
                                outln!("{}", timing::text::notice(&n.notice))?;
                            }
                        }
                        Err(tokio::sync::broadcast::error::RecvError::Lagged(missed)) => {
                            eprintln!("pitwall timing: the output fell behind; {missed} notices not shown");
                        }
                        Err(tokio::sync::broadcast::error::RecvError::Closed) => {}
                    },
                    _ = tick.tick() => {
                        let now = board.borrow_and_update().clone();
                        if json {
                            let line = serde_json::to_string(&BoardLine { kind: "board", board: &now })
                                .context("writing the board as JSON")?;
                            outln!("{}", json_controls(&line))?;
                        } else if redraw {
                            let mut screen = String::from("\x1b[H\x1b[2J");
                            screen.push_str(&timing::text::board(&now));
                            screen.push('\n');
                            for line in &recent {
                                screen.push_str(line);
                                screen.push('\n');
                            }
                            print_str(&screen)?;
                        } else {
                            print_str(&timing::text::board(&now))?;
                        }
                    }
                }
            };
            let report = result.context("the timing task failed")?.context("following the server")?;
            let stored = report.recorder.map(|r| format!(", {} laps stored", r.laps_stored)).unwrap_or_default();
            eprintln!(
                "pitwall timing: stopped; {} events, {} chat commands answered{stored}",
                report.events, report.chat_answered
            );
            Ok(ExitCode::SUCCESS)
        })
}

/// A board as a line of the live `--json` feed: `{"type":"board","at_ms":…,…}`.
#[derive(serde::Serialize)]
struct BoardLine<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(flatten)]
    board: &'a timing::Board,
}

/// One line: what was read, stored and how fast.
fn summary(r: &ReplayReport) -> String {
    let stored = match &r.recorder {
        Some(s) => format!(
            ", {} sessions, {} laps stored ({} already stored, {} skipped)",
            r.sessions, r.laps_stored, s.laps_repeated, s.laps_skipped
        ),
        None => String::new(),
    };
    let skipped =
        if r.commands > 0 { format!(", {} plugin commands skipped", r.commands) } else { String::new() };
    format!(
        "{} events ({}){stored}, {} undecodable{skipped}; {:.0} events/s in {:.2} s",
        r.events,
        r.format,
        r.undecodable,
        r.events_per_s,
        r.elapsed.as_secs_f64()
    )
}
