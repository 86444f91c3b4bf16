//! Any bytes as a captured packet: the first byte picks the link type, the rest is the packet.
//! Beyond "no panic", it checks the promises of `acsp::capture::udp_datagram`:
//! - a payload it returns lies inside the packet, where `offset` says, right after an 8-byte UDP
//!   header whose length field is the payload's length plus 8 and whose ports are the ones
//!   returned;
//! - an error points inside the packet (or just past its end);
//! - the whole input, wrapped as the payload of a well-formed IPv4 and IPv6 packet on every link,
//!   comes back exactly; Ethernet padding after it changes nothing; and the same packet cut short
//!   anywhere is an error, never a datagram with another payload.
#![no_main]

use acsp::capture::{Link, Packet, udp_datagram};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, packet)) = data.split_first() else { return };
    let link = Link::ALL[usize::from(selector) % Link::ALL.len()];
    check(link, packet);
    round_trip(data);
});

/// The properties every answer must have, whatever the packet.
fn check(link: Link, packet: &[u8]) {
    match udp_datagram(link, packet) {
        Ok(Packet::Udp(d)) => {
            let range = packet.as_ptr_range();
            let start = d.payload.as_ptr();
            assert!(range.start <= start && start <= range.end, "the payload lies in the packet");
            assert!(d.offset >= 8 && d.offset + d.payload.len() <= packet.len());
            assert_eq!(start, packet[d.offset..].as_ptr(), "offset says where the payload is");
            let udp = &packet[d.offset - 8..d.offset];
            let be16 = |at: usize| u16::from_be_bytes([udp[at], udp[at + 1]]);
            assert_eq!(usize::from(be16(4)), d.payload.len() + 8, "the UDP length field is honoured");
            assert_eq!((be16(0), be16(2)), (d.src.port(), d.dst.port()));
            assert_eq!(d.src.is_ipv4(), d.dst.is_ipv4());
        }
        Ok(Packet::Fragment | Packet::NotUdp) => {}
        Err(e) => {
            assert!(e.offset() <= packet.len(), "{e} points outside the {}-byte packet", packet.len());
            assert!(!e.to_string().is_empty());
        }
    }
}

/// Wraps `payload` in UDP, then IPv4 or IPv6, then the link's header, and reads it back.
fn round_trip(payload: &[u8]) {
    if payload.len() > 65_000 {
        return;
    }
    // A cut position taken from the input, so that the fuzzer explores them.
    let cut_seed = payload.iter().fold(0usize, |a, &b| a.wrapping_mul(31).wrapping_add(usize::from(b)));
    for v6 in [false, true] {
        let ip = if v6 { ipv6(payload) } else { ipv4(payload) };
        for link in Link::ALL {
            let Some(packet) = frame(link, v6, &ip) else { continue };
            let Ok(Packet::Udp(d)) = udp_datagram(link, &packet) else {
                panic!("{link:?} (IPv6 {v6}): a well-formed packet is not read back");
            };
            assert_eq!(d.payload, payload);
            assert_eq!(d.offset, packet.len() - payload.len());
            check(link, &packet);

            if link == Link::Ethernet {
                let mut padded = packet.clone();
                padded.extend_from_slice(&[0xee; 17]);
                let Ok(Packet::Udp(p)) = udp_datagram(link, &padded) else { panic!("padding breaks it") };
                assert_eq!(p.payload, payload, "padding is not payload");
            }

            let cut = cut_seed % packet.len();
            match udp_datagram(link, &packet[..cut]) {
                Err(e) => assert!(e.offset() <= cut),
                other => panic!("{link:?}: the packet cut at {cut} of {} reads as {other:?}", packet.len()),
            }
        }
    }
}

fn udp(payload: &[u8]) -> Vec<u8> {
    let mut u = Vec::with_capacity(8 + payload.len());
    u.extend_from_slice(&11000u16.to_be_bytes());
    u.extend_from_slice(&12000u16.to_be_bytes());
    u.extend_from_slice(&((8 + payload.len()) as u16).to_be_bytes());
    u.extend_from_slice(&[0, 0]);
    u.extend_from_slice(payload);
    u
}

fn ipv4(payload: &[u8]) -> Vec<u8> {
    let udp = udp(payload);
    let mut p = vec![0x45, 0];
    p.extend_from_slice(&((20 + udp.len()) as u16).to_be_bytes());
    p.extend_from_slice(&[0, 0, 0x40, 0, 64, 17, 0, 0, 127, 0, 0, 1, 127, 0, 0, 1]);
    p.extend(udp);
    p
}

fn ipv6(payload: &[u8]) -> Vec<u8> {
    let udp = udp(payload);
    let mut p = vec![0x60, 0, 0, 0];
    p.extend_from_slice(&(udp.len() as u16).to_be_bytes());
    p.extend_from_slice(&[17, 64]);
    p.extend_from_slice(&[0; 15]);
    p.push(1);
    p.extend_from_slice(&[0; 15]);
    p.push(1);
    p.extend(udp);
    p
}

/// `ip` behind the link's header; `None` where the link cannot carry that IP version.
fn frame(link: Link, v6: bool, ip: &[u8]) -> Option<Vec<u8>> {
    let ethertype: [u8; 2] = if v6 { [0x86, 0xdd] } else { [0x08, 0x00] };
    let mut f = match link {
        Link::Ethernet => {
            let mut f = vec![0u8; 12];
            f.extend_from_slice(&[0x81, 0x00, 0, 7]); // one VLAN tag
            f.extend_from_slice(&ethertype);
            f
        }
        Link::LinuxSll => {
            let mut f = vec![0u8; 14];
            f.extend_from_slice(&ethertype);
            f
        }
        Link::LinuxSll2 => {
            let mut f = ethertype.to_vec();
            f.extend_from_slice(&[0; 18]);
            f
        }
        Link::Null => (if v6 { 30u32 } else { 2 }).to_le_bytes().to_vec(),
        Link::Loop => (if v6 { 24u32 } else { 2 }).to_be_bytes().to_vec(),
        Link::Raw => Vec::new(),
        Link::Ipv4 if !v6 => Vec::new(),
        Link::Ipv6 if v6 => Vec::new(),
        _ => return None,
    };
    f.extend_from_slice(ip);
    Some(f)
}
