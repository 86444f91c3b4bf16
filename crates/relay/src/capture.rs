//! A pcap file of every datagram through the relay, both ways. Each record is a whole Ethernet
//! frame whose IPv4 (or IPv6) and UDP headers are made up from the real addresses and ports, so
//! that Wireshark shows who talked to whom and `pitwall acsp decode` reads it back.
//!
//! The frame is built here (sans IO: [`frame`]); [`CaptureWriter`] only appends it to a file.

use std::io::Write;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use pcap_file::DataLink;
use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};

const ETHERTYPE_IPV4: u16 = 0x0800;
const ETHERTYPE_IPV6: u16 = 0x86dd;
const IPPROTO_UDP: u8 = 17;
/// Locally administered MAC addresses: the two ends are not real interfaces.
const MAC_SRC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x01];
const MAC_DST: [u8; 6] = [0x02, 0, 0, 0, 0, 0x02];

/// The Ethernet frame of one UDP datagram from `src` to `dst`. Addresses of different families
/// are written as IPv6, the IPv4 one mapped. The UDP checksum is left 0 ("none", allowed over
/// IPv4); over IPv6 it is computed, as IPv6 requires.
pub fn frame(src: SocketAddr, dst: SocketAddr, payload: &[u8]) -> Vec<u8> {
    let udp_len = 8 + payload.len();
    let mut f = Vec::with_capacity(14 + 40 + udp_len);
    f.extend_from_slice(&MAC_DST);
    f.extend_from_slice(&MAC_SRC);
    match (src.ip(), dst.ip()) {
        (IpAddr::V4(s), IpAddr::V4(d)) => {
            f.extend_from_slice(&ETHERTYPE_IPV4.to_be_bytes());
            let total = (20 + udp_len) as u16;
            let mut ip = [0u8; 20];
            ip[0] = 0x45;
            ip[2..4].copy_from_slice(&total.to_be_bytes());
            // Don't fragment, TTL 64.
            ip[6] = 0x40;
            ip[8] = 64;
            ip[9] = IPPROTO_UDP;
            ip[12..16].copy_from_slice(&s.octets());
            ip[16..20].copy_from_slice(&d.octets());
            let sum = checksum(0, &ip);
            ip[10..12].copy_from_slice(&sum.to_be_bytes());
            f.extend_from_slice(&ip);
            udp(&mut f, src.port(), dst.port(), payload, None);
        }
        (s, d) => {
            let (s, d) = (v6(s), v6(d));
            f.extend_from_slice(&ETHERTYPE_IPV6.to_be_bytes());
            f.extend_from_slice(&[0x60, 0, 0, 0]);
            f.extend_from_slice(&(udp_len as u16).to_be_bytes());
            f.extend_from_slice(&[IPPROTO_UDP, 64]);
            f.extend_from_slice(&s);
            f.extend_from_slice(&d);
            // The pseudo-header: both addresses, the UDP length and the protocol.
            let mut pseudo = checksum_add(0, &s);
            pseudo = checksum_add(pseudo, &d);
            pseudo = checksum_add(pseudo, &(udp_len as u32).to_be_bytes());
            pseudo = checksum_add(pseudo, &[0, 0, 0, IPPROTO_UDP]);
            udp(&mut f, src.port(), dst.port(), payload, Some(pseudo));
        }
    }
    f
}

fn v6(ip: IpAddr) -> [u8; 16] {
    match ip {
        IpAddr::V4(v4) => v4.to_ipv6_mapped().octets(),
        IpAddr::V6(v6) => v6.octets(),
    }
}

/// Appends the UDP header and payload; `pseudo` is the folded sum of the pseudo-header when a
/// checksum is computed.
fn udp(f: &mut Vec<u8>, src: u16, dst: u16, payload: &[u8], pseudo: Option<u16>) {
    let at = f.len();
    let len = (8 + payload.len()) as u16;
    f.extend_from_slice(&src.to_be_bytes());
    f.extend_from_slice(&dst.to_be_bytes());
    f.extend_from_slice(&len.to_be_bytes());
    f.extend_from_slice(&[0, 0]);
    f.extend_from_slice(payload);
    if let Some(pseudo) = pseudo {
        let sum = checksum_add(pseudo, &f[at..]);
        // 0 means "no checksum": a computed 0 is sent as all ones.
        let sum = match !sum {
            0 => 0xffff,
            s => s,
        };
        f[at + 6..at + 8].copy_from_slice(&sum.to_be_bytes());
    }
}

/// The Internet checksum (RFC 1071) of `data`, started from the folded sum `start`, complemented.
fn checksum(start: u16, data: &[u8]) -> u16 {
    !checksum_add(start, data)
}

/// The folded one's-complement sum of `start` and `data` (not complemented).
fn checksum_add(start: u16, data: &[u8]) -> u16 {
    let mut sum = u32::from(start);
    for pair in data.chunks(2) {
        let word = u16::from_be_bytes([pair[0], pair.get(1).copied().unwrap_or(0)]);
        sum += u32::from(word);
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum as u16
}

/// Appends frames to a pcap file (Ethernet link type, microsecond timestamps).
pub struct CaptureWriter<W: Write> {
    writer: PcapWriter<W>,
    packets: u64,
}

impl<W: Write> std::fmt::Debug for CaptureWriter<W> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaptureWriter").field("packets", &self.packets).finish_non_exhaustive()
    }
}

impl<W: Write> CaptureWriter<W> {
    /// Writes the file header.
    pub fn new(out: W) -> std::io::Result<Self> {
        let header = PcapHeader { datalink: DataLink::ETHERNET, ..PcapHeader::default() };
        let writer = PcapWriter::with_header(out, header).map_err(std::io::Error::other)?;
        Ok(CaptureWriter { writer, packets: 0 })
    }

    /// Appends one datagram, `at` being the time since the Unix epoch.
    pub fn write(
        &mut self,
        at: Duration,
        src: SocketAddr,
        dst: SocketAddr,
        payload: &[u8],
    ) -> std::io::Result<()> {
        let data = frame(src, dst, payload);
        let packet = PcapPacket::new(at, data.len() as u32, &data);
        self.writer.write_packet(&packet).map_err(std::io::Error::other)?;
        self.packets += 1;
        Ok(())
    }

    /// Packets written.
    pub fn packets(&self) -> u64 {
        self.packets
    }

    /// Ends the capture: the underlying writer, flushed.
    pub fn finish(self) -> std::io::Result<W> {
        let mut out = self.writer.into_writer();
        out.flush()?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn ipv4_headers_carry_the_real_ends_and_a_valid_header_checksum() {
        let src: SocketAddr = "127.0.0.1:11000".parse().unwrap();
        let dst: SocketAddr = "10.1.2.3:12000".parse().unwrap();
        let f = frame(src, dst, &[0x38, 4]);
        assert_eq!(f.len(), 14 + 20 + 8 + 2);
        assert_eq!(checksum(0, &f[14..34]), 0, "a header with its checksum sums to 0");
        assert_eq!(&f[26..30], &[127, 0, 0, 1]);
        assert_eq!(&f[30..34], &[10, 1, 2, 3]);
        assert_eq!(u16::from_be_bytes([f[34], f[35]]), 11000);
        assert_eq!(u16::from_be_bytes([f[36], f[37]]), 12000);
        assert_eq!(&f[42..], &[0x38, 4]);
    }

    #[test]
    fn frames_read_back_with_their_ends_and_payload() {
        use acsp::capture::{Link, Packet, udp_datagram};
        for (src, dst) in
            [("127.0.0.1:11000", "127.0.0.1:12000"), ("[::1]:5", "[fe80::1]:6"), ("10.0.0.1:1", "[::1]:2")]
        {
            let (src, dst): (SocketAddr, SocketAddr) = (src.parse().unwrap(), dst.parse().unwrap());
            let payload = [0xc8, 0x64, 0x00];
            let f = frame(src, dst, &payload);
            let Packet::Udp(d) = udp_datagram(Link::Ethernet, &f).unwrap() else { panic!("not UDP") };
            assert_eq!(d.payload, payload);
            let v6 = |a: SocketAddr| match a.ip() {
                IpAddr::V4(ip) if src.is_ipv6() || dst.is_ipv6() => {
                    SocketAddr::new(ip.to_ipv6_mapped().into(), a.port())
                }
                _ => a,
            };
            assert_eq!((d.src, d.dst), (v6(src), v6(dst)));
        }
    }

    #[test]
    fn ipv6_frames_have_a_udp_checksum() {
        let src: SocketAddr = "[::1]:1".parse().unwrap();
        let dst: SocketAddr = "127.0.0.1:2".parse().unwrap();
        let f = frame(src, dst, &[1, 2, 3]);
        assert_eq!(f.len(), 14 + 40 + 8 + 3);
        assert_ne!(&f[14 + 40 + 6..14 + 40 + 8], &[0, 0]);
        // The pseudo-header and the segment, checksum included, sum to all ones.
        let udp = &f[54..];
        let mut sum = checksum_add(0, &f[22..54]);
        sum = checksum_add(sum, &(udp.len() as u32).to_be_bytes());
        sum = checksum_add(sum, &[0, 0, 0, IPPROTO_UDP]);
        assert_eq!(checksum_add(sum, udp), 0xffff);
    }
}
