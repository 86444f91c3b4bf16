//! `pitwall acsp decode`: decode a capture.
//!
//! Two inputs. A pcap or pcapng file keeps datagram boundaries: each UDP payload is one message.
//! A raw concatenation of payloads (the seed's `tcpdump` + `tshark -e data` recipe) has lost them,
//! so messages are read one after another, each by its own length ([`acsp::decode_prefix`]).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, Read};
use std::net::IpAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use pcap_file::DataLink;

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
    datagrams: u64,
    not_udp: u64,
    fragments: u64,
}

pub fn run(args: Args) -> anyhow::Result<ExitCode> {
    let mut file = BufReader::new(
        File::open(&args.file).with_context(|| format!("cannot open {}", args.file.display()))?,
    );
    let mut data = Vec::new();
    file.read_to_end(&mut data).with_context(|| format!("cannot read {}", args.file.display()))?;
    let mut tally = Tally::default();
    let kind = match data.get(..4) {
        Some(
            [0xd4, 0xc3, 0xb2, 0xa1]
            | [0xa1, 0xb2, 0xc3, 0xd4]
            | [0x4d, 0x3c, 0xb2, 0xa1]
            | [0xa1, 0xb2, 0x3c, 0x4d],
        ) => {
            decode_pcap(&data, &args, &mut tally)?;
            "pcap"
        }
        Some([0x0a, 0x0d, 0x0d, 0x0a]) => {
            decode_pcapng(&data, &args, &mut tally)?;
            "pcapng"
        }
        _ => {
            decode_stream(&data, args.json, &mut tally)?;
            "raw concatenation"
        }
    };
    let total: u64 = tally.per_type.values().sum();
    let counts: Vec<String> = tally.per_type.iter().map(|(k, v)| format!("{k} {v}")).collect();
    eprintln!("{}: {kind}, {total} messages", args.file.display());
    if !counts.is_empty() {
        eprintln!("  {}", counts.join(", "));
    }
    if kind != "raw concatenation" {
        eprintln!(
            "  {} UDP datagrams, {} other packets skipped, {} IP fragments skipped",
            tally.datagrams, tally.not_udp, tally.fragments
        );
    }
    eprintln!(
        "  {} malformed, {} with warnings, {} bytes skipped to resynchronise",
        tally.malformed, tally.warnings, tally.skipped_bytes
    );
    Ok(if total == 0 && tally.malformed > 0 { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

fn decode_pcap(data: &[u8], args: &Args, tally: &mut Tally) -> anyhow::Result<()> {
    let mut reader = pcap_file::pcap::PcapReader::new(data).context("not a readable pcap file")?;
    let link = reader.header().datalink;
    let mut index = 0u64;
    while let Some(packet) = reader.next_packet() {
        index += 1;
        let packet = match packet {
            Ok(p) => p,
            Err(e) => {
                eprintln!("pcap packet {index}: {e}; the rest of the file is unreadable");
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
                eprintln!("pcapng block after packet {index}: {e}; the rest of the file is unreadable");
                tally.malformed += 1;
                break;
            }
        };
        let (interface, frame) = match &block {
            Block::EnhancedPacket(p) => (p.interface_id as usize, &p.data),
            Block::SimplePacket(p) => (0, &p.data),
            Block::Packet(p) => (p.interface_id as usize, &p.data),
            Block::InterfaceDescription(i) => {
                links.push(i.linktype);
                continue;
            }
            _ => continue,
        };
        index += 1;
        let Some(link) = links.get(interface).copied() else {
            eprintln!("pcapng packet {index}: unknown interface {interface}; skipped");
            tally.not_udp += 1;
            continue;
        };
        handle_frame(link, frame, args, tally, index)?;
    }
    Ok(())
}

fn handle_frame(
    link: DataLink,
    frame: &[u8],
    args: &Args,
    tally: &mut Tally,
    index: u64,
) -> anyhow::Result<()> {
    let udp = match udp_payload(link, frame) {
        Frame::Udp(u) => u,
        Frame::Fragment => {
            tally.fragments += 1;
            return Ok(());
        }
        Frame::Other => {
            tally.not_udp += 1;
            return Ok(());
        }
    };
    if args.port.is_some_and(|p| p != udp.src_port && p != udp.dst_port) {
        tally.not_udp += 1;
        return Ok(());
    }
    tally.datagrams += 1;
    decode_datagram(
        udp.payload,
        args.json,
        tally,
        &format!("packet {index} ({}:{} -> {}:{})", udp.src, udp.src_port, udp.dst, udp.dst_port),
    )
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
                eprintln!("{at}: {e}");
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
            eprintln!("{at}: {e}");
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
    let line = if json {
        serde_json::to_string(command)?
    } else {
        format!("{:<18} {}", command.name(), serde_json::to_string(command)?)
    };
    println!("{line}");
    Ok(())
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
        eprintln!("offset {pos}: {error}");
        let resume = (pos + 1..data.len())
            .find(|&p| acsp::decode_prefix(&data[p..], p).is_ok_and(|d| followed_well(p, d.len)));
        let next = resume.unwrap_or(data.len());
        tally.skipped_bytes += (next - pos) as u64;
        eprintln!("offset {pos}: skipped {} bytes, resuming at offset {next}", next - pos);
        pos = next;
    }
    Ok(())
}

struct Udp<'a> {
    src: IpAddr,
    dst: IpAddr,
    src_port: u16,
    dst_port: u16,
    payload: &'a [u8],
}

enum Frame<'a> {
    Udp(Udp<'a>),
    Fragment,
    Other,
}

/// Finds the UDP payload in a link-layer frame. Only what loopback and Ethernet captures hold is
/// handled; anything else counts as "other".
fn udp_payload(link: DataLink, frame: &[u8]) -> Frame<'_> {
    let ip = match link {
        DataLink::ETHERNET => {
            let mut off = 12;
            let mut ethertype = be16(frame, off);
            // 802.1Q / 802.1ad VLAN tags.
            while matches!(ethertype, Some(0x8100 | 0x88a8)) {
                off += 4;
                ethertype = be16(frame, off);
            }
            match ethertype {
                Some(0x0800 | 0x86dd) => frame.get(off + 2..),
                _ => None,
            }
        }
        DataLink::LINUX_SLL => match be16(frame, 14) {
            Some(0x0800 | 0x86dd) => frame.get(16..),
            _ => None,
        },
        DataLink::LINUX_SLL2 => match be16(frame, 0) {
            Some(0x0800 | 0x86dd) => frame.get(20..),
            _ => None,
        },
        // BSD loopback: a 4-byte address family (host order for NULL, network order for LOOP).
        DataLink::NULL | DataLink::LOOP => frame.get(4..),
        DataLink::RAW | DataLink::IPV4 | DataLink::IPV6 => Some(frame),
        _ => None,
    };
    let Some(ip) = ip else { return Frame::Other };
    match ip.first().map(|b| b >> 4) {
        Some(4) => {
            let Some(&vihl) = ip.first() else { return Frame::Other };
            let ihl = usize::from(vihl & 0x0f) * 4;
            if ihl < 20 || ip.len() < ihl || ip.get(9) != Some(&17) {
                return Frame::Other;
            }
            let frag = be16(ip, 6).unwrap_or(0);
            if frag & 0x3fff != 0 {
                return Frame::Fragment;
            }
            let total = usize::from(be16(ip, 2).unwrap_or(0)).clamp(ihl, ip.len());
            let src = IpAddr::from([ip[12], ip[13], ip[14], ip[15]]);
            let dst = IpAddr::from([ip[16], ip[17], ip[18], ip[19]]);
            udp(src, dst, &ip[ihl..total])
        }
        Some(6) => {
            if ip.len() < 40 || ip[6] != 17 {
                return Frame::Other;
            }
            let mut s = [0u8; 16];
            let mut d = [0u8; 16];
            s.copy_from_slice(&ip[8..24]);
            d.copy_from_slice(&ip[24..40]);
            let total = (40 + usize::from(be16(ip, 4).unwrap_or(0))).min(ip.len());
            udp(IpAddr::from(s), IpAddr::from(d), &ip[40..total])
        }
        _ => Frame::Other,
    }
}

fn udp(src: IpAddr, dst: IpAddr, seg: &[u8]) -> Frame<'_> {
    let (Some(src_port), Some(dst_port), Some(len)) = (be16(seg, 0), be16(seg, 2), be16(seg, 4)) else {
        return Frame::Other;
    };
    let end = usize::from(len).clamp(8, seg.len());
    Frame::Udp(Udp { src, dst, src_port, dst_port, payload: &seg[8..end] })
}

fn be16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}
