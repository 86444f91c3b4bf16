//! The UDP datagram inside one captured packet: the link, IP and UDP headers of a pcap or pcapng
//! record, peeled off without I/O, so that a capture of a server's plugin traffic can be decoded
//! datagram by datagram (behind the `capture` feature).
//!
//! [`udp_datagram`] takes the link type of the capture ([`Link`]) and the bytes of one packet, and
//! says what the packet is: a [`Datagram`] (addresses, ports and the UDP payload, borrowed from
//! the packet), an IP fragment, or something other than UDP. A header that is cut short, or a
//! length field that points outside the packet or inside its own header, is a [`CaptureError`]
//! naming the header or field and the byte where it starts: every length read from the packet is
//! checked before it is used.
//!
//! Only what captures of a plugin's traffic hold is understood: Ethernet (with 802.1Q/802.1ad
//! tags), Linux cooked captures (v1 and v2), BSD loopback, and raw IP; IPv4, and IPv6 with its
//! hop-by-hop, routing, fragment and destination-options extension headers.
//!
//! ```
//! use acsp::capture::{Link, Packet};
//!
//! // A raw IPv4 packet from 127.0.0.1:11000 to 127.0.0.1:12000 holding VERSION (56), protocol 4.
//! let mut packet = vec![0x45, 0, 0, 30, 0, 0, 0x40, 0, 64, 17, 0, 0, 127, 0, 0, 1, 127, 0, 0, 1];
//! packet.extend_from_slice(&[0x2a, 0xf8, 0x2e, 0xe0, 0, 10, 0, 0, 56, 4]);
//! let Packet::Udp(d) = acsp::capture::udp_datagram(Link::Raw, &packet).unwrap() else { panic!() };
//! assert_eq!((d.src.port(), d.dst.port()), (11000, 12000));
//! assert_eq!(d.payload, [56, 4]);
//! assert_eq!(acsp::decode(d.payload).unwrap().name(), "version");
//!
//! // The same packet claiming a UDP length of 6 (less than the UDP header itself) is an error
//! // that says so, and where.
//! packet[25] = 6;
//! let e = acsp::capture::udp_datagram(Link::Raw, &packet).unwrap_err();
//! assert_eq!(e.to_string(), "UDP length at byte 24 is 6, less than 8 (the UDP header)");
//! ```

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

pub use crate::error::CaptureError;

/// The link-layer header type of a capture: what comes before the IP header in each packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Link {
    /// Ethernet II (`LINKTYPE_ETHERNET`, 1), possibly with 802.1Q / 802.1ad VLAN tags.
    Ethernet,
    /// Linux "cooked" capture v1 (`LINKTYPE_LINUX_SLL`, 113): `tcpdump -i any`.
    LinuxSll,
    /// Linux "cooked" capture v2 (`LINKTYPE_LINUX_SLL2`, 276).
    LinuxSll2,
    /// BSD loopback (`LINKTYPE_NULL`, 0): a 4-byte address family in the capturing host's order.
    Null,
    /// OpenBSD loopback (`LINKTYPE_LOOP`, 108): a 4-byte address family in network order.
    Loop,
    /// Raw IP, v4 or v6 (`LINKTYPE_RAW`, 101).
    Raw,
    /// Raw IPv4 (`LINKTYPE_IPV4`, 228).
    Ipv4,
    /// Raw IPv6 (`LINKTYPE_IPV6`, 229).
    Ipv6,
}

impl Link {
    /// The link types this module reads, for callers that try each one (tests, fuzzing).
    pub const ALL: [Link; 8] = [
        Link::Ethernet,
        Link::LinuxSll,
        Link::LinuxSll2,
        Link::Null,
        Link::Loop,
        Link::Raw,
        Link::Ipv4,
        Link::Ipv6,
    ];

    /// The link for a pcap/pcapng `LINKTYPE_*` number, or `None` for a link this module does not
    /// read.
    pub fn from_linktype(linktype: u32) -> Option<Link> {
        Some(match linktype {
            1 => Link::Ethernet,
            113 => Link::LinuxSll,
            276 => Link::LinuxSll2,
            0 => Link::Null,
            108 => Link::Loop,
            101 => Link::Raw,
            228 => Link::Ipv4,
            229 => Link::Ipv6,
            _ => return None,
        })
    }

    /// The `LINKTYPE_*` number.
    pub fn linktype(self) -> u32 {
        match self {
            Link::Ethernet => 1,
            Link::LinuxSll => 113,
            Link::LinuxSll2 => 276,
            Link::Null => 0,
            Link::Loop => 108,
            Link::Raw => 101,
            Link::Ipv4 => 228,
            Link::Ipv6 => 229,
        }
    }
}

/// One UDP datagram found in a packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Datagram<'a> {
    /// Source address and port.
    pub src: SocketAddr,
    /// Destination address and port.
    pub dst: SocketAddr,
    /// The UDP payload: exactly the UDP length field minus the 8-byte UDP header. Whatever follows
    /// it in the packet (Ethernet padding) is not part of it.
    pub payload: &'a [u8],
    /// Where the payload starts in the packet (the UDP header is the 8 bytes before it).
    pub offset: usize,
}

/// What a packet holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packet<'a> {
    /// A whole UDP datagram.
    Udp(Datagram<'a>),
    /// A fragment of an IP packet. Plugin datagrams are far below any MTU, so fragments are not
    /// reassembled: they are counted by callers, and would belong to another protocol.
    Fragment,
    /// Anything else: not IP (ARP, LLDP…), or IP carrying another protocol than UDP.
    NotUdp,
}

const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86dd;
const IPPROTO_UDP: u8 = 17;
const UDP_HEADER: usize = 8;

/// Finds the UDP datagram in one captured packet of a capture whose link type is `link`.
///
/// Offsets in errors count from the start of `packet`.
pub fn udp_datagram(link: Link, packet: &[u8]) -> Result<Packet<'_>, CaptureError> {
    let b = Bytes(packet);
    let (ip_at, version) = match link {
        Link::Ethernet => {
            b.need("Ethernet header", 0, 14)?;
            let mut at = 12;
            let mut ethertype = b.be16(at);
            // 802.1Q and 802.1ad VLAN tags: 4 bytes each, then the real ethertype.
            while matches!(ethertype, 0x8100 | 0x88a8) {
                at += 4;
                b.need("802.1Q VLAN tag", at - 2, 6)?;
                ethertype = b.be16(at);
            }
            match ethertype {
                ETHERTYPE_IPV4 => (at + 2, Some(4)),
                ETHERTYPE_IPV6 => (at + 2, Some(6)),
                _ => return Ok(Packet::NotUdp),
            }
        }
        Link::LinuxSll => {
            b.need("Linux cooked header", 0, 16)?;
            match b.be16(14) {
                ETHERTYPE_IPV4 => (16, Some(4)),
                ETHERTYPE_IPV6 => (16, Some(6)),
                _ => return Ok(Packet::NotUdp),
            }
        }
        Link::LinuxSll2 => {
            b.need("Linux cooked v2 header", 0, 20)?;
            match b.be16(0) {
                ETHERTYPE_IPV4 => (20, Some(4)),
                ETHERTYPE_IPV6 => (20, Some(6)),
                _ => return Ok(Packet::NotUdp),
            }
        }
        // The address family's value differs between systems (AF_INET6 is 10, 24, 28 or 30), so
        // the IP header's own version tells v4 from v6.
        Link::Null | Link::Loop => {
            b.need("loopback header", 0, 4)?;
            (4, None)
        }
        Link::Raw => (0, None),
        Link::Ipv4 => (0, Some(4)),
        Link::Ipv6 => (0, Some(6)),
    };
    // 20 bytes: the smallest IP header of either version.
    b.need("IP header", ip_at, 20)?;
    let found = packet[ip_at] >> 4;
    if let Some(expected) = version
        && found != expected
    {
        return Err(CaptureError::IpVersion { offset: ip_at, found, expected: Some(expected) });
    }
    match found {
        4 => ipv4(b, ip_at),
        6 => ipv6(b, ip_at),
        _ => Err(CaptureError::IpVersion { offset: ip_at, found, expected: None }),
    }
}

fn ipv4(b: Bytes<'_>, at: usize) -> Result<Packet<'_>, CaptureError> {
    b.need("IPv4 header", at, 20)?;
    let ihl = usize::from(b.0[at] & 0x0f) * 4;
    if ihl < 20 {
        return Err(CaptureError::LengthTooSmall {
            field: "IPv4 header length",
            offset: at,
            value: ihl,
            min: 20,
            min_is: "the smallest IPv4 header",
        });
    }
    b.need("IPv4 header", at, ihl)?;
    let total = usize::from(b.be16(at + 2));
    if total < ihl {
        return Err(CaptureError::LengthTooSmall {
            field: "IPv4 total length",
            offset: at + 2,
            value: total,
            min: ihl,
            min_is: "the IPv4 header length",
        });
    }
    b.within("IPv4 total length", at + 2, at, total)?;
    if b.0[at + 9] != IPPROTO_UDP {
        return Ok(Packet::NotUdp);
    }
    // More-fragments flag, or a fragment offset: part of a larger packet.
    if b.be16(at + 6) & 0x3fff != 0 {
        return Ok(Packet::Fragment);
    }
    let src = IpAddr::from(Ipv4Addr::new(b.0[at + 12], b.0[at + 13], b.0[at + 14], b.0[at + 15]));
    let dst = IpAddr::from(Ipv4Addr::new(b.0[at + 16], b.0[at + 17], b.0[at + 18], b.0[at + 19]));
    udp(b, src, dst, at + ihl, at + total)
}

fn ipv6(b: Bytes<'_>, at: usize) -> Result<Packet<'_>, CaptureError> {
    b.need("IPv6 header", at, 40)?;
    let payload_len = usize::from(b.be16(at + 4));
    // A payload length of 0 announces a jumbogram (a hop-by-hop option carries the length):
    // never a plugin datagram, so it is not read.
    if payload_len == 0 {
        return Err(CaptureError::Jumbogram { offset: at + 4 });
    }
    b.within("IPv6 payload length", at + 4, at + 40, payload_len)?;
    let end = at + 40 + payload_len;
    let mut src = [0u8; 16];
    let mut dst = [0u8; 16];
    src.copy_from_slice(&b.0[at + 8..at + 24]);
    dst.copy_from_slice(&b.0[at + 24..at + 40]);
    let (src, dst) = (IpAddr::from(Ipv6Addr::from(src)), IpAddr::from(Ipv6Addr::from(dst)));

    // Walk the extension headers to the UDP header. Each one is checked to lie within the
    // payload before its length is read, and each step moves forward by at least 8 bytes, so the
    // walk ends.
    let mut next = b.0[at + 6];
    let mut pos = at + 40;
    loop {
        match next {
            IPPROTO_UDP => return udp(b, src, dst, pos, end),
            // Hop-by-hop options, routing, destination options: length in 8-byte units, not
            // counting the first 8.
            0 | 43 | 60 => {
                Bytes(&b.0[..end]).need("IPv6 extension header", pos, 8)?;
                let len = (usize::from(b.0[pos + 1]) + 1) * 8;
                Bytes(&b.0[..end]).need("IPv6 extension header", pos, len)?;
                next = b.0[pos];
                pos += len;
            }
            44 => {
                Bytes(&b.0[..end]).need("IPv6 fragment header", pos, 8)?;
                // Offset 0 and no more fragments: an "atomic" fragment, a whole packet.
                if b.be16(pos + 2) & 0xfff9 != 0 {
                    return Ok(Packet::Fragment);
                }
                next = b.0[pos];
                pos += 8;
            }
            _ => return Ok(Packet::NotUdp),
        }
    }
}

/// The UDP header at `at`, in an IP payload that ends at `end` (already checked to lie within
/// the packet).
fn udp(b: Bytes<'_>, src: IpAddr, dst: IpAddr, at: usize, end: usize) -> Result<Packet<'_>, CaptureError> {
    Bytes(&b.0[..end]).need("UDP header", at, UDP_HEADER)?;
    let len = usize::from(b.be16(at + 4));
    if len < UDP_HEADER {
        return Err(CaptureError::LengthTooSmall {
            field: "UDP length",
            offset: at + 4,
            value: len,
            min: UDP_HEADER,
            min_is: "the UDP header",
        });
    }
    // The UDP length may be shorter than the IP payload (whatever follows is padding), never
    // longer.
    Bytes(&b.0[..end]).within("UDP length", at + 4, at, len)?;
    Ok(Packet::Udp(Datagram {
        src: SocketAddr::new(src, b.be16(at)),
        dst: SocketAddr::new(dst, b.be16(at + 2)),
        payload: &b.0[at + UDP_HEADER..at + len],
        offset: at + UDP_HEADER,
    }))
}

/// The packet (or the part of it that a header's length allows), with checked reads.
#[derive(Clone, Copy)]
struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    /// Checks that `len` bytes of `what` are present at `at`.
    fn need(self, what: &'static str, at: usize, len: usize) -> Result<(), CaptureError> {
        let available = self.0.len().saturating_sub(at);
        if available < len {
            return Err(CaptureError::Truncated { what, offset: at, needed: len, available });
        }
        Ok(())
    }

    /// Checks that `len` bytes from `from`, as a length field at `field_at` says, are present.
    fn within(
        self,
        field: &'static str,
        field_at: usize,
        from: usize,
        len: usize,
    ) -> Result<(), CaptureError> {
        let available = self.0.len().saturating_sub(from);
        if len > available {
            return Err(CaptureError::LengthBeyondPacket { field, offset: field_at, value: len, available });
        }
        Ok(())
    }

    /// A big-endian u16 at `at`. Callers check with [`need`](Self::need) first; a read past the
    /// end would be a bug here, and gives 0 rather than a panic.
    fn be16(self, at: usize) -> u16 {
        match self.0.get(at..at + 2) {
            Some(&[hi, lo]) => u16::from_be_bytes([hi, lo]),
            _ => 0,
        }
    }
}

/// What a capture file is, by its first bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// pcap (any byte order, micro- or nanosecond timestamps).
    Pcap,
    /// pcapng.
    Pcapng,
    /// Anything else: read as a raw concatenation of payloads ([`crate::concatenation`]).
    Raw,
}

impl Format {
    /// Tells a pcap or pcapng file from anything else by its magic number.
    pub fn detect(data: &[u8]) -> Format {
        match data.get(..4) {
            Some(
                [0xd4, 0xc3, 0xb2, 0xa1]
                | [0xa1, 0xb2, 0xc3, 0xd4]
                | [0x4d, 0x3c, 0xb2, 0xa1]
                | [0xa1, 0xb2, 0x3c, 0x4d],
            ) => Format::Pcap,
            Some([0x0a, 0x0d, 0x0d, 0x0a]) => Format::Pcapng,
            _ => Format::Raw,
        }
    }

    /// The format's name, for messages.
    pub fn name(self) -> &'static str {
        match self {
            Format::Pcap => "pcap",
            Format::Pcapng => "pcapng",
            Format::Raw => "raw concatenation",
        }
    }
}

/// One packet record of a pcap or pcapng file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record<'a> {
    /// 1 for the file's first packet, and so on.
    pub index: u64,
    /// The `LINKTYPE_*` of the packet's interface ([`Link::from_linktype`] says whether it is
    /// read).
    pub linktype: u32,
    /// When it was captured, since the Unix epoch (zero for pcapng's simple packets, which carry
    /// no time).
    pub timestamp: std::time::Duration,
    /// The captured bytes (the link-layer header first), borrowed from the file.
    pub data: std::borrow::Cow<'a, [u8]>,
}

/// A place in a pcap or pcapng file that holds no readable packet record.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    /// The file's header cannot be read: the file is not a capture of that format.
    #[error("not a readable {format} file: {reason}")]
    Header {
        /// "pcap" or "pcapng".
        format: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// The record after packet `after` cannot be read (cut short, or a length out of range);
    /// nothing after it can be found again, so reading ends here.
    #[error(
        "{format} record after packet {after} (byte {offset}): {reason}; the rest of the file is unreadable"
    )]
    Unreadable {
        /// "pcap" or "pcapng".
        format: &'static str,
        /// The number of the last packet read.
        after: u64,
        /// Where the record starts in the file.
        offset: usize,
        /// What is wrong.
        reason: String,
    },
    /// A pcapng packet names an interface that no interface description block described, so its
    /// link type is unknown. Reading goes on.
    #[error("pcapng packet {index}: interface {interface} was never described")]
    UnknownInterface {
        /// The packet's number.
        index: u64,
        /// The interface it names.
        interface: u32,
    },
}

/// The packet records of a pcap or pcapng file, in order, borrowed from `data`.
///
/// A header that does not read is an error at once. After that, the iterator yields each record,
/// or a [`RecordError`]: [`RecordError::UnknownInterface`] skips one packet,
/// [`RecordError::Unreadable`] is the last item (a record's length is what finds the next one).
/// For a file that is neither ([`Format::Raw`]), it is an error too.
pub fn records(data: &[u8]) -> Result<Records<'_>, RecordError> {
    let inner = match Format::detect(data) {
        Format::Pcap => {
            let (rest, parser) = pcap_file::pcap::PcapParser::new(data)
                .map_err(|e| RecordError::Header { format: "pcap", reason: reason(&e) })?;
            Inner::Pcap { parser, rest }
        }
        Format::Pcapng => {
            let (rest, parser) = pcap_file::pcapng::PcapNgParser::new(data)
                .map_err(|e| RecordError::Header { format: "pcapng", reason: reason(&e) })?;
            Inner::Pcapng { parser: Box::new(parser), rest }
        }
        Format::Raw => {
            return Err(RecordError::Header {
                format: "pcap",
                reason: "the file starts with neither a pcap nor a pcapng magic number".into(),
            });
        }
    };
    Ok(Records { inner, len: data.len(), index: 0, done: false })
}

/// What pcap-file's error means, in our words where its own are terse.
fn reason(e: &pcap_file::PcapError) -> String {
    match e {
        // pcap-file says "Need more bytes".
        pcap_file::PcapError::IncompleteBuffer => {
            "cut short: it (or a length field in it) says more bytes than the file holds".to_owned()
        }
        e => e.to_string(),
    }
}

/// The iterator of [`records`].
pub struct Records<'a> {
    inner: Inner<'a>,
    /// The whole file's length, for offsets.
    len: usize,
    index: u64,
    done: bool,
}

enum Inner<'a> {
    Pcap { parser: pcap_file::pcap::PcapParser, rest: &'a [u8] },
    Pcapng { parser: Box<pcap_file::pcapng::PcapNgParser>, rest: &'a [u8] },
}

impl std::fmt::Debug for Records<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Records")
            .field("index", &self.index)
            .field("done", &self.done)
            .finish_non_exhaustive()
    }
}

impl Records<'_> {
    fn unreadable(&mut self, format: &'static str, rest: usize, e: pcap_file::PcapError) -> RecordError {
        self.done = true;
        RecordError::Unreadable { format, after: self.index, offset: self.len - rest, reason: reason(&e) }
    }
}

impl<'a> Iterator for Records<'a> {
    type Item = Result<Record<'a>, RecordError>;

    fn next(&mut self) -> Option<Self::Item> {
        use pcap_file::pcapng::Block;
        if self.done {
            return None;
        }
        match &mut self.inner {
            Inner::Pcap { parser, rest } => {
                if rest.is_empty() {
                    return None;
                }
                let linktype = u32::from(parser.header().datalink);
                match parser.next_packet(rest) {
                    Ok((remaining, packet)) => {
                        *rest = remaining;
                        self.index += 1;
                        Some(Ok(Record {
                            index: self.index,
                            linktype,
                            timestamp: packet.timestamp,
                            data: packet.data,
                        }))
                    }
                    Err(e) => {
                        let left = rest.len();
                        Some(Err(self.unreadable("pcap", left, e)))
                    }
                }
            }
            Inner::Pcapng { parser, rest } => loop {
                if rest.is_empty() {
                    return None;
                }
                let block = match parser.next_block(rest) {
                    Ok((remaining, block)) => {
                        *rest = remaining;
                        block
                    }
                    Err(e) => {
                        let left = rest.len();
                        return Some(Err(self.unreadable("pcapng", left, e)));
                    }
                };
                let (interface, timestamp, data) = match block {
                    Block::EnhancedPacket(p) => (p.interface_id, p.timestamp, p.data),
                    Block::SimplePacket(p) => (0, std::time::Duration::ZERO, p.data),
                    // The obsolete packet block: microseconds, as its writers used.
                    Block::Packet(p) => {
                        (u32::from(p.interface_id), std::time::Duration::from_micros(p.timestamp), p.data)
                    }
                    _ => continue,
                };
                self.index += 1;
                let Some(idb) = parser.interfaces().get(interface as usize) else {
                    return Some(Err(RecordError::UnknownInterface { index: self.index, interface }));
                };
                let linktype = u32::from(idb.linktype);
                return Some(Ok(Record { index: self.index, linktype, timestamp, data }));
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAYLOAD: &[u8] = &[56, 4]; // VERSION, protocol 4

    fn udp_header(payload: &[u8]) -> Vec<u8> {
        let mut u = Vec::new();
        u.extend_from_slice(&11000u16.to_be_bytes());
        u.extend_from_slice(&12000u16.to_be_bytes());
        u.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
        u.extend_from_slice(&[0, 0]);
        u.extend_from_slice(payload);
        u
    }

    fn ipv4(payload: &[u8]) -> Vec<u8> {
        let udp = udp_header(payload);
        let mut p = vec![0x45, 0];
        p.extend_from_slice(&((20 + udp.len()) as u16).to_be_bytes());
        p.extend_from_slice(&[0, 0, 0x40, 0, 64, 17, 0, 0, 127, 0, 0, 1, 10, 0, 0, 2]);
        p.extend(udp);
        p
    }

    fn ipv6(ext: &[u8], first: u8, payload: &[u8]) -> Vec<u8> {
        let udp = udp_header(payload);
        let mut p = vec![0x60, 0, 0, 0];
        p.extend_from_slice(&((ext.len() + udp.len()) as u16).to_be_bytes());
        p.extend_from_slice(&[first, 64]);
        p.extend_from_slice(&Ipv6Addr::LOCALHOST.octets());
        p.extend_from_slice(&Ipv6Addr::LOCALHOST.octets());
        p.extend_from_slice(ext);
        p.extend(udp);
        p
    }

    fn ethernet(ethertype: u16, ip: &[u8]) -> Vec<u8> {
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&ethertype.to_be_bytes());
        f.extend_from_slice(ip);
        f
    }

    fn datagram(link: Link, packet: &[u8]) -> Datagram<'_> {
        match udp_datagram(link, packet) {
            Ok(Packet::Udp(d)) => d,
            other => panic!("{link:?}: {other:?}"),
        }
    }

    #[test]
    fn every_link_finds_the_payload() {
        let v4 = ipv4(PAYLOAD);
        let v6 = ipv6(&[], 17, PAYLOAD);
        let mut sll = vec![0u8; 14];
        sll.extend_from_slice(&0x0800u16.to_be_bytes());
        sll.extend_from_slice(&v4);
        let mut sll2 = 0x86ddu16.to_be_bytes().to_vec();
        sll2.extend_from_slice(&[0; 18]);
        sll2.extend_from_slice(&v6);
        let mut null = 2u32.to_le_bytes().to_vec();
        null.extend_from_slice(&v4);
        let mut lo = 24u32.to_be_bytes().to_vec();
        lo.extend_from_slice(&v6);
        let mut vlan = vec![0u8; 12];
        vlan.extend_from_slice(&[0x88, 0xa8, 0, 1, 0x81, 0x00, 0, 2, 0x08, 0x00]);
        vlan.extend_from_slice(&v4);
        let cases = [
            (Link::Ethernet, ethernet(0x0800, &v4)),
            (Link::Ethernet, ethernet(0x86dd, &v6)),
            (Link::Ethernet, vlan),
            (Link::LinuxSll, sll),
            (Link::LinuxSll2, sll2),
            (Link::Null, null),
            (Link::Loop, lo),
            (Link::Raw, v4.clone()),
            (Link::Raw, v6.clone()),
            (Link::Ipv4, v4.clone()),
            (Link::Ipv6, v6.clone()),
        ];
        for (link, packet) in &cases {
            let d = datagram(*link, packet);
            assert_eq!(d.payload, PAYLOAD, "{link:?}");
            assert_eq!(&packet[d.offset..], PAYLOAD, "{link:?}");
            assert_eq!((d.src.port(), d.dst.port()), (11000, 12000));
            assert_eq!(Link::from_linktype(link.linktype()), Some(*link));
        }
        assert_eq!(datagram(Link::Raw, &v4).dst.ip(), IpAddr::from([10, 0, 0, 2]));
        assert_eq!(datagram(Link::Raw, &v6).src.ip(), IpAddr::from(Ipv6Addr::LOCALHOST));
        assert_eq!(Link::from_linktype(147), None);
    }

    #[test]
    fn ethernet_padding_is_not_payload() {
        let mut frame = ethernet(0x0800, &ipv4(PAYLOAD));
        frame.resize(60, 0xee);
        assert_eq!(datagram(Link::Ethernet, &frame).payload, PAYLOAD);
    }

    /// The hostile-testing case: an IPv4 total length leaving 6 bytes of UDP (less than its
    /// header) once panicked the CLI's parser. Now it is an error naming the header and byte.
    #[test]
    fn a_udp_segment_shorter_than_its_header_is_an_error() {
        let mut p = ipv4(PAYLOAD);
        p[2..4].copy_from_slice(&26u16.to_be_bytes());
        let e = udp_datagram(Link::Raw, &p).unwrap_err();
        assert_eq!(e, CaptureError::Truncated { what: "UDP header", offset: 20, needed: 8, available: 6 });
        assert_eq!(e.to_string(), "the UDP header at byte 20 needs 8 bytes, but only 6 remain");
        assert_eq!(e.offset(), 20);

        let mut p = ipv6(&[], 17, PAYLOAD);
        p[4..6].copy_from_slice(&7u16.to_be_bytes());
        let e = udp_datagram(Link::Ipv6, &p).unwrap_err();
        assert_eq!(e, CaptureError::Truncated { what: "UDP header", offset: 40, needed: 8, available: 7 });
    }

    #[test]
    fn lengths_outside_the_packet_are_errors_naming_the_field() {
        let mut p = ipv4(PAYLOAD);
        p[2..4].copy_from_slice(&1500u16.to_be_bytes());
        let e = udp_datagram(Link::Raw, &p).unwrap_err();
        assert_eq!(
            e.to_string(),
            "IPv4 total length at byte 2 is 1500, but the packet holds only 30 bytes from there"
        );

        let mut p = ipv4(PAYLOAD);
        p[2..4].copy_from_slice(&12u16.to_be_bytes());
        let e = udp_datagram(Link::Raw, &p).unwrap_err();
        assert_eq!(e.to_string(), "IPv4 total length at byte 2 is 12, less than 20 (the IPv4 header length)");

        let mut p = ipv4(PAYLOAD);
        p[0] = 0x44;
        assert_eq!(
            udp_datagram(Link::Raw, &p).unwrap_err(),
            CaptureError::LengthTooSmall {
                field: "IPv4 header length",
                offset: 0,
                value: 16,
                min: 20,
                min_is: "the smallest IPv4 header"
            }
        );

        let mut p = ipv4(PAYLOAD);
        p[24..26].copy_from_slice(&11u16.to_be_bytes());
        let e = udp_datagram(Link::Raw, &p).unwrap_err();
        assert_eq!(
            e.to_string(),
            "UDP length at byte 24 is 11, but the packet holds only 10 bytes from there"
        );

        let mut p = ipv6(&[], 17, PAYLOAD);
        p[4..6].copy_from_slice(&0u16.to_be_bytes());
        assert_eq!(udp_datagram(Link::Raw, &p), Err(CaptureError::Jumbogram { offset: 4 }));
    }

    #[test]
    fn every_cut_of_a_good_packet_is_an_error_never_a_wrong_payload() {
        let v6 = ipv6(&[17, 0, 1, 4, 0, 0, 0, 0], 60, PAYLOAD);
        for (link, packet) in [(Link::Ethernet, ethernet(0x0800, &ipv4(PAYLOAD))), (Link::Raw, v6)] {
            assert_eq!(datagram(link, &packet).payload, PAYLOAD);
            for cut in 0..packet.len() {
                let e = udp_datagram(link, &packet[..cut]).unwrap_err();
                assert!(e.offset() <= cut, "{link:?} cut at {cut}: {e}");
            }
        }
    }

    #[test]
    fn extension_headers_fragments_and_other_protocols() {
        // Hop-by-hop (16 bytes), then destination options (8 bytes), then UDP.
        let mut ext = vec![60, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
        ext.extend_from_slice(&[17, 0, 1, 4, 0, 0, 0, 0]);
        assert_eq!(datagram(Link::Raw, &ipv6(&ext, 0, PAYLOAD)).payload, PAYLOAD);
        // An atomic fragment is a whole packet; a real fragment is not read.
        assert_eq!(datagram(Link::Raw, &ipv6(&[17, 0, 0, 0, 0, 0, 0, 1], 44, PAYLOAD)).payload, PAYLOAD);
        assert_eq!(
            udp_datagram(Link::Raw, &ipv6(&[17, 0, 0, 1, 0, 0, 0, 1], 44, PAYLOAD)),
            Ok(Packet::Fragment)
        );
        // An extension header running past the payload.
        let e = udp_datagram(Link::Raw, &ipv6(&[17, 200, 0, 0, 0, 0, 0, 0], 0, PAYLOAD)).unwrap_err();
        assert_eq!(
            e,
            CaptureError::Truncated {
                what: "IPv6 extension header",
                offset: 40,
                needed: 1608,
                available: 18
            }
        );
        assert_eq!(udp_datagram(Link::Raw, &ipv6(&[], 6, PAYLOAD)), Ok(Packet::NotUdp));

        let mut p = ipv4(PAYLOAD);
        p[6] = 0x20; // more fragments
        assert_eq!(udp_datagram(Link::Raw, &p), Ok(Packet::Fragment));
        p[6] = 0x40;
        p[9] = 6; // TCP
        assert_eq!(udp_datagram(Link::Raw, &p), Ok(Packet::NotUdp));
        assert_eq!(udp_datagram(Link::Ethernet, &ethernet(0x0806, &[0; 28])), Ok(Packet::NotUdp));
    }

    #[test]
    fn the_ip_version_must_match_the_link() {
        let v6 = ipv6(&[], 17, PAYLOAD);
        assert_eq!(
            udp_datagram(Link::Ethernet, &ethernet(0x0800, &v6)).unwrap_err().to_string(),
            "the IP header at byte 14 is version 6, but its link says version 4"
        );
        assert_eq!(
            udp_datagram(Link::Raw, &[0x50; 30]).unwrap_err().to_string(),
            "the IP header at byte 0 is version 5, neither 4 nor 6"
        );
        assert_eq!(
            udp_datagram(Link::Loop, &[0, 0, 0, 2]).unwrap_err().to_string(),
            "the IP header at byte 4 needs 20 bytes, but only 0 remain"
        );
    }

    /// The fuzz seeds in `testdata/capture/vectors` are what their names say (see the README
    /// there): each good packet's payload is an ACSP message.
    #[test]
    fn seed_vectors_read_as_named() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/capture/vectors");
        let mut seen = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_stem().unwrap().to_str().unwrap().to_owned();
            let data = std::fs::read(&path).unwrap();
            let (&selector, packet) = data.split_first().unwrap();
            let link = Link::ALL[usize::from(selector)];
            let result = udp_datagram(link, packet);
            match name.as_str() {
                "ipv4_udp_length_6" | "ipv6_payload_length_7" => assert!(
                    matches!(result, Err(CaptureError::Truncated { what: "UDP header", needed: 8, .. })),
                    "{name}: {result:?}"
                ),
                "raw_ipv6_fragment" => assert_eq!(result, Ok(Packet::Fragment), "{name}"),
                _ => {
                    let Ok(Packet::Udp(d)) = result else { panic!("{name}: {result:?}") };
                    let decoded = if d.payload[0] >= 200 {
                        crate::decode_command_datagram(d.payload).map(|d| d.len)
                    } else {
                        crate::decode_datagram(d.payload).map(|d| d.len)
                    };
                    assert_eq!(decoded, Ok(d.payload.len()), "{name}");
                }
            }
            seen += 1;
        }
        assert_eq!(seen, 10);
    }

    /// A pcap file (little-endian, microseconds, raw IP) holding `packets`.
    fn pcap(packets: &[Vec<u8>]) -> Vec<u8> {
        let mut f = Vec::new();
        f.extend_from_slice(&0xa1b2_c3d4u32.to_le_bytes());
        f.extend_from_slice(&[2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
        f.extend_from_slice(&65535u32.to_le_bytes());
        f.extend_from_slice(&101u32.to_le_bytes());
        for (i, p) in packets.iter().enumerate() {
            f.extend_from_slice(&(1_700_000_000 + i as u32).to_le_bytes());
            f.extend_from_slice(&250u32.to_le_bytes());
            f.extend_from_slice(&(p.len() as u32).to_le_bytes());
            f.extend_from_slice(&(p.len() as u32).to_le_bytes());
            f.extend_from_slice(p);
        }
        f
    }

    #[test]
    fn pcap_records_come_back_in_order_with_their_time() {
        let file = pcap(&[ipv4(PAYLOAD), ipv4(&[56, 5])]);
        assert_eq!(Format::detect(&file), Format::Pcap);
        let records: Vec<Record<'_>> = records(&file).unwrap().map(Result::unwrap).collect();
        assert_eq!(records.len(), 2);
        assert_eq!((records[0].index, records[1].index), (1, 2));
        assert_eq!(records[1].linktype, 101);
        assert_eq!(records[1].timestamp, std::time::Duration::new(1_700_000_001, 250_000));
        assert_eq!(datagram(Link::Raw, &records[1].data).payload, [56, 5]);
    }

    #[test]
    fn a_pcap_cut_short_ends_with_an_error_after_the_intact_packets() {
        let file = pcap(&[ipv4(PAYLOAD), ipv4(PAYLOAD), ipv4(PAYLOAD)]);
        let cut = &file[..file.len() - 5];
        let items: Vec<_> = records(cut).unwrap().collect();
        assert_eq!(items.len(), 3, "{items:?}");
        assert!(items[..2].iter().all(Result::is_ok));
        let Err(RecordError::Unreadable { format: "pcap", after: 2, offset, .. }) = &items[2] else {
            panic!("{:?}", items[2])
        };
        assert_eq!(*offset, 24 + 2 * (16 + 30), "the third record's start");
    }

    #[test]
    fn a_record_whose_length_is_absurd_is_an_error_not_a_panic() {
        let mut file = pcap(&[ipv4(PAYLOAD)]);
        file[24 + 8..24 + 12].copy_from_slice(&u32::MAX.to_le_bytes());
        let items: Vec<_> = records(&file).unwrap().collect();
        assert!(matches!(items.as_slice(), [Err(RecordError::Unreadable { after: 0, .. })]), "{items:?}");
    }

    #[test]
    fn a_file_that_is_no_capture_is_refused() {
        assert_eq!(Format::detect(&[56, 4]), Format::Raw);
        assert!(matches!(records(&[56, 4]), Err(RecordError::Header { .. })));
        let e = records(&[0xd4, 0xc3, 0xb2, 0xa1, 2]).unwrap_err();
        assert!(e.to_string().starts_with("not a readable pcap file"), "{e}");
    }

    #[test]
    fn pcapng_packets_name_their_interface_and_an_undescribed_one_is_skipped() {
        use pcap_file::pcapng::blocks::enhanced_packet::EnhancedPacketBlock;
        use pcap_file::pcapng::blocks::interface_description::InterfaceDescriptionBlock;
        let mut w = pcap_file::pcapng::PcapNgWriter::new(Vec::new()).unwrap();
        let packet = ipv4(PAYLOAD);
        let epb = |interface_id| EnhancedPacketBlock {
            interface_id,
            timestamp: std::time::Duration::from_secs(1),
            original_len: packet.len() as u32,
            data: std::borrow::Cow::Borrowed(&packet[..]),
            options: vec![],
        };
        w.write_pcapng_block(InterfaceDescriptionBlock {
            linktype: pcap_file::DataLink::RAW,
            snaplen: 0,
            options: vec![],
        })
        .unwrap();
        w.write_pcapng_block(epb(0)).unwrap();
        let mut file = w.into_inner();
        // A second packet naming interface 1, which the writer would refuse: patch the id.
        let first = file.len() - (28 + packet.len().next_multiple_of(4) + 4);
        let mut second = file[first..].to_vec();
        second[8..12].copy_from_slice(&1u32.to_le_bytes());
        file.extend_from_slice(&second);
        file.extend_from_within(first..first + second.len());
        let items: Vec<_> = records(&file).unwrap().collect();
        assert_eq!(items.len(), 3, "{items:?}");
        assert_eq!(items[0].as_ref().unwrap().linktype, 101);
        assert_eq!(items[1], Err(RecordError::UnknownInterface { index: 2, interface: 1 }));
        assert_eq!(items[2].as_ref().unwrap().index, 3);
    }
}
