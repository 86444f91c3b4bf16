//! The relay's UDP sockets, with batched system calls: every datagram waiting is taken in one
//! `recvmmsg`, and a plugin's datagrams of one size go out in one segmented send (UDP GSO,
//! `UDP_SEGMENT`), which the kernel splits into the same datagrams again. Both come from
//! `quinn-udp`; where the platform has neither, it falls back to one datagram per call.
//!
//! A burst of car updates from the server (one per car, every interval, all of one size) thus
//! costs one receive and one send per plugin instead of one receive and one send per plugin
//! for every car, and wakes each plugin once.

use std::io::{self, IoSliceMut};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use bytes::Bytes;
use quinn_udp::{RecvMeta, Transmit, UdpSockRef, UdpSocketState};
use tokio::io::Interest;
use tokio::net::UdpSocket;

/// Largest datagram read: far above any ACSP message.
const MAX_DATAGRAM: usize = 64 * 1024;
/// Kernel receive buffer asked for: a full grid's LAP_COMPLETED burst must fit.
const RECV_BUFFER: usize = 8 << 20;
/// Datagrams sent as segments of one send are at most this large. Every segment must fit the
/// path's MTU (the kernel refuses the whole send otherwise); 1200 bytes fit any IPv4 or IPv6
/// path. Car updates are about 60 bytes; a larger datagram goes on its own.
const MAX_SEGMENT: usize = 1200;
/// And one segmented send carries at most this many bytes (a UDP datagram's limit, less room
/// for the headers).
const MAX_SEGMENTED: usize = 60 * 1024;

/// A bound UDP socket and what the platform lets it batch.
#[derive(Debug)]
pub(crate) struct Socket {
    io: UdpSocket,
    state: UdpSocketState,
}

impl Socket {
    /// Binds a non-blocking socket with a large receive buffer (a smaller one than asked only
    /// means less room for bursts).
    pub(crate) fn bind(addr: SocketAddr) -> io::Result<Socket> {
        use socket2::{Domain, Protocol, Type};
        let domain = Domain::for_address(addr);
        let socket = socket2::Socket::new(domain, Type::DGRAM, Some(Protocol::UDP))?;
        let _ = socket.set_recv_buffer_size(RECV_BUFFER);
        socket.set_nonblocking(true)?;
        socket.bind(&addr.into())?;
        // quinn-udp configures the socket it is handed for QUIC: don't-fragment, GRO and
        // packet info. The relay keeps the kernel's defaults instead, so that an event larger
        // than a remote plugin's MTU is still fragmented on its way, as it always was; the
        // state is therefore made on a socket of the same family that is then closed. It holds
        // only what the kernel can do (how many segments one send may carry, whether sendmsg
        // takes its control messages), which is the same for every socket, and its send and
        // receive take the socket to use as an argument. The probe is bound (to any address
        // of the family, any port) because Windows cannot name an unbound socket's address.
        let probe = socket2::Socket::new(domain, Type::DGRAM, Some(Protocol::UDP))?;
        let any: IpAddr =
            if addr.is_ipv4() { Ipv4Addr::UNSPECIFIED.into() } else { Ipv6Addr::UNSPECIFIED.into() };
        probe.bind(&SocketAddr::new(any, 0).into())?;
        let state = UdpSocketState::new(UdpSockRef::from(&probe))?;
        Ok(Socket { io: UdpSocket::from_std(socket.into())?, state })
    }

    pub(crate) fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.local_addr()
    }

    /// Sends one datagram without waiting.
    pub(crate) fn try_send_to(&self, datagram: &[u8], to: SocketAddr) -> io::Result<usize> {
        self.io.try_send_to(datagram, to)
    }

    /// Waits until the socket may take a datagram again.
    pub(crate) async fn writable(&self) -> io::Result<()> {
        self.io.writable().await
    }

    /// Sends `datagrams` to `to`, in order, without waiting: runs of one size in one segmented
    /// send each. `sent` is told of each run's outcome (a failed run is tried again one
    /// datagram at a time, each with its own outcome). Returns how many datagrams were dealt
    /// with before the socket would have blocked: the rest are still to send.
    pub(crate) fn try_send_all(
        &self,
        to: SocketAddr,
        datagrams: &[Bytes],
        scratch: &mut Vec<u8>,
        mut sent: impl FnMut(&[Bytes], &io::Result<()>),
    ) -> usize {
        let mut done = 0;
        let mut one_by_one = 0;
        while done < datagrams.len() {
            let rest = &datagrams[done..];
            let n = if one_by_one > 0 { 1 } else { run_len(rest, self.state.max_gso_segments()) };
            let run = &rest[..n];
            let result = self.try_send_run(to, run, scratch);
            match &result {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return done,
                // A segmented send the path refused (GSO missing after all, or an MTU below
                // MAX_SEGMENT): the same datagrams one at a time.
                Err(_) if n > 1 => {
                    one_by_one = n;
                    continue;
                }
                _ => {}
            }
            sent(run, &result);
            done += n;
            one_by_one = one_by_one.saturating_sub(1);
        }
        done
    }

    fn try_send_run(&self, to: SocketAddr, run: &[Bytes], scratch: &mut Vec<u8>) -> io::Result<()> {
        let (contents, segment_size) = match run {
            [one] => (&one[..], None),
            _ => {
                scratch.clear();
                run.iter().for_each(|d| scratch.extend_from_slice(d));
                (&scratch[..], Some(run[0].len()))
            }
        };
        let transmit = Transmit { destination: to, ecn: None, contents, segment_size, src_ip: None };
        self.io.try_io(Interest::WRITABLE, || self.state.try_send(UdpSockRef::from(&self.io), &transmit))
    }
}

/// How many of `datagrams`, from the first, go in one segmented send: those of the first's
/// size, as many as the kernel takes in one send.
fn run_len(datagrams: &[Bytes], max_segments: usize) -> usize {
    let Some(first) = datagrams.first() else { return 0 };
    let size = first.len();
    if size == 0 || size > MAX_SEGMENT {
        return 1;
    }
    let limit = max_segments.min(MAX_SEGMENTED / size).max(1);
    datagrams.iter().take(limit).take_while(|d| d.len() == size).count()
}

/// Buffers for batched receives.
#[derive(Debug)]
pub(crate) struct RecvBatch {
    buf: Vec<u8>,
    meta: Vec<RecvMeta>,
    /// Datagrams in the buffers from the last receive.
    filled: usize,
}

impl RecvBatch {
    /// Room for `slots` datagrams of any size per receive.
    pub(crate) fn new(slots: usize) -> RecvBatch {
        RecvBatch { buf: vec![0; slots * MAX_DATAGRAM], meta: vec![RecvMeta::default(); slots], filled: 0 }
    }

    /// Waits for datagrams and takes every one waiting, up to the batch's size.
    pub(crate) async fn recv(&mut self, socket: &Socket) -> io::Result<()> {
        self.filled = 0;
        let mut bufs: Vec<IoSliceMut<'_>> = self.buf.chunks_mut(MAX_DATAGRAM).map(IoSliceMut::new).collect();
        let meta = &mut self.meta;
        let n = socket
            .io
            .async_io(Interest::READABLE, || socket.state.recv(UdpSockRef::from(&socket.io), &mut bufs, meta))
            .await?;
        self.filled = n;
        Ok(())
    }

    /// The datagrams of the last receive, in the order they came, with their sender.
    pub(crate) fn datagrams(&self) -> impl Iterator<Item = (SocketAddr, &[u8])> {
        self.meta[..self.filled].iter().zip(self.buf.chunks(MAX_DATAGRAM)).flat_map(|(meta, buf)| {
            // The relay's sockets do not ask for GRO, so each buffer holds one datagram; the
            // stride would split several received as one.
            let data = &buf[..meta.len.min(buf.len())];
            let stride = if meta.stride == 0 { data.len().max(1) } else { meta.stride };
            data.chunks(stride).map(move |d| (meta.addr, d))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sizes(sizes: &[usize]) -> Vec<Bytes> {
        sizes.iter().map(|&n| Bytes::from(vec![7u8; n])).collect()
    }

    #[test]
    fn a_run_is_the_datagrams_of_the_first_size_up_to_the_kernel_limit() {
        assert_eq!(run_len(&sizes(&[60, 60, 60, 80, 60]), 64), 3);
        assert_eq!(run_len(&sizes(&[60; 100]), 64), 64);
        assert_eq!(run_len(&sizes(&[60; 100]), 1), 1);
        assert_eq!(run_len(&sizes(&[1000; 100]), 64), MAX_SEGMENTED / 1000);
        assert_eq!(run_len(&sizes(&[2000, 2000]), 64), 1, "larger than a segment may be");
        assert_eq!(run_len(&sizes(&[0, 0]), 64), 1);
        assert_eq!(run_len(&[], 64), 0);
    }

    /// A burst of datagrams of mixed sizes arrives as sent, one datagram each, in order, and
    /// a batched receive takes them as they were sent.
    #[tokio::test]
    async fn a_batch_goes_out_and_comes_back_datagram_by_datagram() {
        let local: SocketAddr = "127.0.0.1:0".parse().expect("address");
        let (a, b) = (Socket::bind(local).expect("bind"), Socket::bind(local).expect("bind"));
        let to = b.local_addr().expect("address");
        let mut lens: Vec<usize> = vec![60; 40];
        lens.extend([60, 61, 61, 1500, 5000, 3, 3, 3, 1200, 1200]);
        lens.extend(vec![100; 70]);
        let out: Vec<Bytes> = lens.iter().enumerate().map(|(i, &n)| Bytes::from(vec![i as u8; n])).collect();
        let mut runs = Vec::new();
        let mut done = 0;
        while done < out.len() {
            // Until the runtime has seen the socket writable, a send without waiting waits.
            a.writable().await.expect("writable");
            done += a.try_send_all(to, &out[done..], &mut Vec::new(), |run, result| {
                assert!(result.is_ok(), "{result:?}");
                runs.push(run.len());
            });
        }
        assert_eq!(runs.iter().sum::<usize>(), out.len());
        if a.state.max_gso_segments() > 1 {
            assert_eq!(runs, [41, 2, 1, 1, 3, 2, 64, 6], "runs of one size, in order");
        }
        let mut batch = RecvBatch::new(32);
        let mut got = Vec::new();
        while got.len() < out.len() {
            tokio::time::timeout(std::time::Duration::from_secs(5), batch.recv(&b))
                .await
                .expect("the datagrams came")
                .expect("receive");
            got.extend(batch.datagrams().map(|(from, d)| {
                assert_eq!(from, a.local_addr().expect("address"));
                Bytes::copy_from_slice(d)
            }));
        }
        assert_eq!(got, out);
    }
}
