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

use acsp::capture::{Link, Packet};
use anyhow::Context as _;

use crate::cmd::text::{escape_controls, json_controls};

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
    let kind = match data.get(..4) {
        Some(
            [0xd4, 0xc3, 0xb2, 0xa1]
            | [0xa1, 0xb2, 0xc3, 0xd4]
            | [0x4d, 0x3c, 0xb2, 0xa1]
            | [0xa1, 0xb2, 0x3c, 0x4d],
        ) => Kind::Pcap,
        Some([0x0a, 0x0d, 0x0d, 0x0a]) => Kind::Pcapng,
        _ => Kind::Raw,
    };
    let decoded = match kind {
        Kind::Pcap => decode_pcap(&data, &args, &mut tally),
        Kind::Pcapng => decode_pcapng(&data, &args, &mut tally),
        Kind::Raw => decode_stream(&data, args.json, &mut tally),
    };
    match decoded {
        Ok(()) => {}
        // A reader that went away (`| head`) is a normal way to stop.
        Err(e) if e.is::<super::BrokenPipe>() => return Ok(ExitCode::SUCCESS),
        Err(e) => return Err(e),
    }
    summary(&name, kind, &tally);
    judge(&name, kind, data.len(), args.port, &tally)?;
    Ok(ExitCode::SUCCESS)
}

/// What the file turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Pcap,
    Pcapng,
    Raw,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Pcap => "pcap",
            Kind::Pcapng => "pcapng",
            Kind::Raw => "raw concatenation",
        }
    }
}

fn summary(name: &str, kind: Kind, tally: &Tally) {
    let total: u64 = tally.per_type.values().sum();
    let counts: Vec<String> = tally.per_type.iter().map(|(k, v)| format!("{k} {v}")).collect();
    eprintln!("{name}: {}, {total} messages", kind.name());
    if !counts.is_empty() {
        eprintln!("  {}", counts.join(", "));
    }
    if kind != Kind::Raw {
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
fn judge(name: &str, kind: Kind, len: usize, port: Option<u16>, tally: &Tally) -> anyhow::Result<()> {
    let total: u64 = tally.per_type.values().sum();
    let first = tally.first_damage.as_deref().map(|d| format!("; the first damage: {d}")).unwrap_or_default();
    if kind == Kind::Raw {
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
        anyhow::bail!("{name} holds no packets");
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

fn decode_pcap(data: &[u8], args: &Args, tally: &mut Tally) -> anyhow::Result<()> {
    let mut reader = pcap_file::pcap::PcapReader::new(data).context("not a readable pcap file")?;
    let link = u32::from(reader.header().datalink);
    let mut index = 0u64;
    while let Some(packet) = reader.next_packet() {
        index += 1;
        let packet = match packet {
            Ok(p) => p,
            Err(e) => {
                tally.damage(format!("pcap packet {index}: {e}; the rest of the file is unreadable"));
                tally.malformed += 1;
                break;
            }
        };
        handle_frame(link, &packet.data, args, tally, index)?;
    }
    Ok(())
}

fn decode_pcapng(data: &[u8], args: &Args, tally: &mut Tally) -> anyhow::Result<()> {
    use pcap_file::pcapng::Block;
    let mut reader = pcap_file::pcapng::PcapNgReader::new(data).context("not a readable pcapng file")?;
    let mut index = 0u64;
    // Link types of the interfaces described so far, in order: packets refer to them by index.
    let mut links = Vec::new();
    while let Some(block) = reader.next_block() {
        let block = match block {
            Ok(b) => b,
            Err(e) => {
                tally.damage(format!(
                    "pcapng block after packet {index}: {e}; the rest of the file is unreadable"
                ));
                tally.malformed += 1;
                break;
            }
        };
        let (interface, frame) = match &block {
            Block::EnhancedPacket(p) => (p.interface_id as usize, &p.data),
            Block::SimplePacket(p) => (0, &p.data),
            Block::Packet(p) => (p.interface_id as usize, &p.data),
            Block::InterfaceDescription(i) => {
                links.push(u32::from(i.linktype));
                continue;
            }
            _ => continue,
        };
        index += 1;
        let Some(link) = links.get(interface).copied() else {
            tally.packets += 1;
            tally.bad_packets += 1;
            tally.damage(format!("pcapng packet {index}: interface {interface} was never described"));
            continue;
        };
        handle_frame(link, frame, args, tally, index)?;
    }
    Ok(())
}

fn handle_frame(
    linktype: u32,
    frame: &[u8],
    args: &Args,
    tally: &mut Tally,
    index: u64,
) -> anyhow::Result<()> {
    tally.packets += 1;
    let Some(link) = Link::from_linktype(linktype) else {
        tally.unsupported_links.insert(linktype);
        tally.not_udp += 1;
        return Ok(());
    };
    let udp = match acsp::capture::udp_datagram(link, frame) {
        Ok(Packet::Udp(d)) => d,
        Ok(Packet::Fragment) => {
            tally.fragments += 1;
            return Ok(());
        }
        Ok(Packet::NotUdp) => {
            tally.not_udp += 1;
            return Ok(());
        }
        Err(e) => {
            tally.bad_packets += 1;
            tally.damage(format!("packet {index}: {e}"));
            return Ok(());
        }
    };
    if args.port.is_some_and(|p| p != udp.src.port() && p != udp.dst.port()) {
        tally.not_udp += 1;
        return Ok(());
    }
    tally.datagrams += 1;
    decode_datagram(udp.payload, args.json, tally, &format!("packet {index} ({} -> {})", udp.src, udp.dst))
}

/// Decodes one datagram in either direction: ids ≥ 200 are plugin commands.
fn decode_datagram(payload: &[u8], json: bool, tally: &mut Tally, at: &str) -> anyhow::Result<()> {
    if payload.first().is_some_and(|&b| b >= acsp::id::REALTIMEPOS_INTERVAL) {
        match acsp::decode_command_datagram(payload) {
            Ok(d) => {
                note_warnings(&d.warnings, d.message.name(), at, tally);
                *tally.per_type.entry(d.message.name()).or_default() += 1;
                print_command(&d.message, json)?;
            }
            Err(e) => {
                tally.malformed += 1;
                tally.damage(format!("{at}: {e}"));
            }
        }
        return Ok(());
    }
    match acsp::decode_datagram(payload) {
        Ok(d) => {
            note_warnings(&d.warnings, d.message.name(), at, tally);
            *tally.per_type.entry(d.message.name()).or_default() += 1;
            super::print_event(&d.message, json)?;
        }
        Err(e) => {
            tally.malformed += 1;
            tally.damage(format!("{at}: {e}"));
        }
    }
    Ok(())
}

fn note_warnings(warnings: &[acsp::Warning], name: &str, at: &str, tally: &mut Tally) {
    if !warnings.is_empty() {
        tally.warnings += 1;
        for w in warnings {
            eprintln!("{at}: {name}: {w}");
        }
    }
}

fn print_command(command: &acsp::Command, json: bool) -> anyhow::Result<()> {
    let body = serde_json::to_string(command)?;
    let line = if json {
        json_controls(&body).into_owned()
    } else {
        // JSON escapes C0 controls but not DEL or C1 (U+0080..U+009F, CSI among them), which a
        // chat command can carry to the terminal.
        format!("{:<18} {}", command.name(), escape_controls(&body))
    };
    super::print_line(&line)
}

/// Reads a raw concatenation. After a message that cannot be decoded, the boundaries are lost:
/// skip ahead byte by byte to the next position where a whole message decodes.
fn decode_stream(data: &[u8], json: bool, tally: &mut Tally) -> anyhow::Result<()> {
    let mut pos = 0;
    // A message decodes "fine" from damaged bytes when it swallows the start of the next one;
    // the byte after it then is not a message id. Treat that as damage too.
    let followed_well = |p: usize, len: usize| data.get(p + len).is_none_or(|&b| acsp::is_event_id(b));
    while pos < data.len() {
        let error = match acsp::decode_prefix(&data[pos..], pos) {
            Ok(d) if followed_well(pos, d.len) => {
                note_warnings(&d.warnings, d.message.name(), &format!("offset {pos}"), tally);
                *tally.per_type.entry(d.message.name()).or_default() += 1;
                super::print_event(&d.message, json)?;
                pos += d.len.max(1);
                continue;
            }
            Ok(d) => format!(
                "{} of {} bytes is followed by 0x{:02x}, not a message id: the input is damaged here",
                d.message.name(),
                d.len,
                data[pos + d.len]
            ),
            Err(e) => e.to_string(),
        };
        tally.malformed += 1;
        tally.damage(format!("offset {pos}: {error}"));
        let resume = (pos + 1..data.len())
            .find(|&p| acsp::decode_prefix(&data[p..], p).is_ok_and(|d| followed_well(p, d.len)));
        let next = resume.unwrap_or(data.len());
        tally.skipped_bytes += (next - pos) as u64;
        eprintln!("offset {pos}: skipped {} bytes, resuming at offset {next}", next - pos);
        pos = next;
    }
    Ok(())
}
