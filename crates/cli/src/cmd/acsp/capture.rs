//! `pitwall acsp decode`: decode a capture.
//!
//! Two inputs. A pcap or pcapng file keeps datagram boundaries: each UDP payload is one message.
//! A raw concatenation of payloads (the seed's `tcpdump` + `tshark -e data` recipe) has lost them,
//! so messages are read one after another, each by its own length ([`acsp::decode_prefix`]).

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::PathBuf;
use std::process::ExitCode;

use acsp::Piece;
use acsp::capture::{self, Format, Link, Packet, RecordError};
use anyhow::Context as _;

use crate::cmd::text::{Out, escape_controls, format_in_parallel};

/// A decoded message, for printing.
enum Item {
    Event(acsp::Event),
    Command(acsp::Command),
}

impl Item {
    fn print<W: std::io::Write>(&self, out: &mut Out<W>, json: bool) -> anyhow::Result<()> {
        match self {
            Item::Event(e) => super::print_event(out, e, json),
            Item::Command(c) => print_command(out, c, json),
        }
    }
}

/// Where a decoding loop hands what it decoded.
type Emit<'a> = dyn FnMut(Item) -> anyhow::Result<()> + 'a;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// A pcap/pcapng capture, or a raw concatenation of UDP payloads.
    file: PathBuf,
    /// One JSON object per line instead of text.
    #[arg(long)]
    json: bool,
    /// pcap only: keep UDP datagrams to or from this port (default: every UDP datagram).
    #[arg(long)]
    port: Option<u16>,
}

/// What was seen, for the closing summary.
#[derive(Debug, Default)]
struct Tally {
    per_type: BTreeMap<&'static str, u64>,
    malformed: u64,
    warnings: u64,
    skipped_bytes: u64,
    /// Packets read from a pcap or pcapng file.
    packets: u64,
    datagrams: u64,
    /// Packets whose link, IP or UDP headers are damaged (cut short, lengths out of range).
    bad_packets: u64,
    not_udp: u64,
    fragments: u64,
    /// Link types met that are not read, for the message when nothing decodes.
    unsupported_links: BTreeSet<u32>,
    /// Where the first damage was, and what, for the message when the file is rejected.
    first_damage: Option<String>,
}

impl Tally {
    fn count(&mut self, name: &'static str) {
        *self.per_type.entry(name).or_default() += 1;
    }

    /// Reports one place where the input is damaged, on stderr, as it is found.
    fn damage(&mut self, what: String) {
        eprintln!("{what}");
        self.first_damage.get_or_insert(what);
    }
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let name = args.file.display().to_string();
    let mut file = BufReader::new(File::open(&args.file).with_context(|| format!("cannot open {name}"))?);
    let mut data = Vec::new();
    file.read_to_end(&mut data).with_context(|| format!("cannot read {name}"))?;
    if data.is_empty() {
        anyhow::bail!("{name} is empty: there is nothing to decode");
    }
    let mut tally = Tally::default();
    let format = Format::detect(&data);
    let mut out = Out::stdout();
    let json = args.json;
    let mut decode = |emit: &mut Emit<'_>| match format {
        Format::Pcap | Format::Pcapng => decode_packets(emit, &data, &args, &mut tally),
        Format::Raw => decode_stream(emit, &data, &mut tally),
    };
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    let decoded = if out.is_live() || workers < 2 {
        // A person reads it as it comes (or there is one core): one thread, each line at once.
        decode(&mut |item| item.print(&mut out, json))
    } else {
        // Formatting costs more than decoding: it runs on every core, the decoding beside it.
        format_in_parallel(&mut out, workers, decode, |buf, item: &Item| item.print(buf, json))
    };
    // The events before the summary: both may go to the same terminal.
    match decoded.and_then(|()| out.flush()) {
        Ok(()) => {}
        // A reader that went away (`| head`) is a normal way to stop.
        Err(e) if e.is::<super::BrokenPipe>() => return Ok(ExitCode::SUCCESS),
        Err(e) => return Err(e),
    }
    summary(&name, format, &tally);
    judge(&name, format, data.len(), args.port, &tally)?;
    Ok(ExitCode::SUCCESS)
}

fn summary(name: &str, format: Format, tally: &Tally) {
    let total: u64 = tally.per_type.values().sum();
    let counts: Vec<String> = tally.per_type.iter().map(|(k, v)| format!("{k} {v}")).collect();
    eprintln!("{name}: {}, {total} messages", format.name());
    if !counts.is_empty() {
        eprintln!("  {}", counts.join(", "));
    }
    if format != Format::Raw {
        eprintln!(
            "  {} UDP datagrams, {} other packets skipped, {} IP fragments skipped, {} malformed packets",
            tally.datagrams, tally.not_udp, tally.fragments, tally.bad_packets
        );
    }
    eprintln!(
        "  {} malformed messages, {} with warnings, {} bytes skipped to resynchronise",
        tally.malformed, tally.warnings, tally.skipped_bytes
    );
}

/// Decides whether the file was a capture of ACSP at all. Damage in a capture that also holds
/// messages is reported (on stderr, above) and is not an error; a file in which nothing decodes,
/// or a raw concatenation with as many damaged places as messages, is: the exit status must tell
/// a script that it decoded the wrong file. (A pcap is not judged by its damage: without
/// `--port`, other UDP flows count as malformed datagrams.)
fn judge(name: &str, format: Format, len: usize, port: Option<u16>, tally: &Tally) -> anyhow::Result<()> {
    let total: u64 = tally.per_type.values().sum();
    let first = tally.first_damage.as_deref().map(|d| format!("; the first damage: {d}")).unwrap_or_default();
    if format == Format::Raw {
        if total == 0 {
            anyhow::bail!("nothing in the {len} bytes of {name} decodes as an ACSP message{first}");
        }
        // Random bytes decode as a few messages by chance (a fifth of all byte values are ids,
        // and some messages are two bytes long), but a chance message is almost always followed
        // by damage. A real capture with some damage has many more messages than damaged places.
        if tally.malformed >= total {
            anyhow::bail!(
                "{name} is mostly not ACSP messages ({} damaged places for {total} messages decoded): \
                 not a capture of the plugin protocol, or badly damaged{first}",
                tally.malformed
            );
        }
        return Ok(());
    }
    if total > 0 {
        return Ok(());
    }
    if tally.packets == 0 {
        anyhow::bail!("{name} holds no readable packet{first}");
    }
    if tally.datagrams == 0 && tally.bad_packets == 0 {
        let filter = port.map(|p| format!(" to or from port {p}")).unwrap_or_default();
        let links = if tally.unsupported_links.is_empty() {
            String::new()
        } else {
            let l: Vec<String> = tally.unsupported_links.iter().map(u32::to_string).collect();
            format!(
                " (link types not read: {}; Ethernet, Linux cooked, loopback and raw IP are)",
                l.join(", ")
            )
        };
        anyhow::bail!("none of the {} packets of {name} is a UDP datagram{filter}{links}", tally.packets);
    }
    anyhow::bail!(
        "no ACSP message decodes in {name}: {} UDP datagrams, {} malformed packets{first}",
        tally.datagrams,
        tally.bad_packets
    )
}

fn decode_packets(emit: &mut Emit<'_>, data: &[u8], args: &Args, tally: &mut Tally) -> anyhow::Result<()> {
    for record in capture::records(data)? {
        let record = match record {
            Ok(r) => r,
            Err(e @ RecordError::UnknownInterface { .. }) => {
                tally.packets += 1;
                tally.bad_packets += 1;
                tally.damage(e.to_string());
                continue;
            }
            Err(e) => {
                tally.malformed += 1;
                tally.damage(e.to_string());
                continue;
            }
        };
        tally.packets += 1;
        let Some(link) = Link::from_linktype(record.linktype) else {
            tally.unsupported_links.insert(record.linktype);
            tally.not_udp += 1;
            continue;
        };
        let index = record.index;
        let udp = match capture::udp_datagram(link, &record.data) {
            Ok(Packet::Udp(d)) => d,
            Ok(Packet::Fragment) => {
                tally.fragments += 1;
                continue;
            }
            Ok(Packet::NotUdp) => {
                tally.not_udp += 1;
                continue;
            }
            Err(e) => {
                tally.bad_packets += 1;
                tally.damage(format!("packet {index}: {e}"));
                continue;
            }
        };
        if args.port.is_some_and(|p| p != udp.src.port() && p != udp.dst.port()) {
            tally.not_udp += 1;
            continue;
        }
        tally.datagrams += 1;
        let at = || format!("packet {index} ({} -> {})", udp.src, udp.dst);
        decode_datagram(emit, udp.payload, tally, at)?;
    }
    Ok(())
}

/// Decodes one datagram in either direction: ids ≥ 200 are plugin commands. `at` names the
/// place for a message about it, made only when there is one to print.
fn decode_datagram(
    emit: &mut Emit<'_>,
    payload: &[u8],
    tally: &mut Tally,
    at: impl Fn() -> String,
) -> anyhow::Result<()> {
    if payload.first().is_some_and(|&b| b >= acsp::id::REALTIMEPOS_INTERVAL) {
        match acsp::decode_command_datagram(payload) {
            Ok(d) => {
                note_warnings(&d.warnings, d.message.name(), at, tally);
                tally.count(d.message.name());
                emit(Item::Command(d.message))?;
            }
            Err(e) => {
                tally.malformed += 1;
                tally.damage(format!("{}: {e}", at()));
            }
        }
        return Ok(());
    }
    match acsp::decode_datagram(payload) {
        Ok(d) => {
            note_warnings(&d.warnings, d.message.name(), at, tally);
            tally.count(d.message.name());
            emit(Item::Event(d.message))?;
        }
        Err(e) => {
            tally.malformed += 1;
            tally.damage(format!("{}: {e}", at()));
        }
    }
    Ok(())
}

fn note_warnings(warnings: &[acsp::Warning], name: &str, at: impl Fn() -> String, tally: &mut Tally) {
    if !warnings.is_empty() {
        tally.warnings += 1;
        let at = at();
        for w in warnings {
            eprintln!("{at}: {name}: {w}");
        }
    }
}

fn print_command<W: std::io::Write>(
    out: &mut Out<W>,
    command: &acsp::Command,
    json: bool,
) -> anyhow::Result<()> {
    if json {
        return out.json(command);
    }
    let body = serde_json::to_string(command)?;
    // JSON escapes C0 controls but not DEL or C1 (U+0080..U+009F, CSI among them), which a chat
    // command can carry to the terminal.
    out.line(&format!("{:<18} {}", command.name(), escape_controls(&body)))
}

/// Reads a raw concatenation: messages one after another, damage reported where it is and
/// skipped ([`acsp::concatenation`] finds where reading resumes).
fn decode_stream(emit: &mut Emit<'_>, data: &[u8], tally: &mut Tally) -> anyhow::Result<()> {
    for piece in acsp::concatenation(data) {
        match piece {
            Piece::Message { offset, decoded } => {
                note_warnings(
                    &decoded.warnings,
                    decoded.message.name(),
                    || format!("offset {offset}"),
                    tally,
                );
                tally.count(decoded.message.name());
                emit(Item::Event(decoded.message))?;
            }
            Piece::Damage { offset, reason, resume_at } => {
                tally.malformed += 1;
                tally.damage(format!("offset {offset}: {reason}"));
                tally.skipped_bytes += (resume_at - offset) as u64;
                eprintln!(
                    "offset {offset}: skipped {} bytes, resuming at offset {resume_at}",
                    resume_at - offset
                );
            }
        }
    }
    Ok(())
}
