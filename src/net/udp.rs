//! UDP: asyncio's `loop.create_datagram_endpoint` with `loop.sock_sendto` /
//! `loop.sock_recvfrom`.
//!
//! A datagram socket has no stream and no connection handshake: each `send_to` is one
//! datagram, each `recv_from` takes one whole datagram (the part that does not fit in the
//! buffer is discarded by the OS). `connect` only fixes a default peer and filters what
//! `recv` receives. All methods take `&self`, so tasks can share one socket (`Rc`).
//!
//! Empty buffers keep the datagram meaning, as std's do (unlike a stream, where a zero-byte
//! read or write completes at once): `send_to(&[], addr)` sends an empty datagram, which is
//! valid UDP, and `recv_from(&mut [])` waits for the next datagram and takes it whole (its
//! bytes do not fit and are discarded), returning 0.

use std::fmt;
use std::io;
use std::net::SocketAddr;

use mio::Interest;

use super::addr::{no_addresses, ToSocketAddrs};
use super::registered::Registered;
use crate::runtime::reactor::Direction;

/// A UDP socket.
///
/// asyncio: the socket behind `loop.create_datagram_endpoint`, driven with
/// `loop.sock_sendto` / `loop.sock_recvfrom`.
///
/// ```
/// use tinyloop::net::UdpSocket;
///
/// tinyloop::run(async {
///     let server = UdpSocket::bind("127.0.0.1:0")?;
///     let client = UdpSocket::bind("127.0.0.1:0")?;
///     client.send_to(b"ping", server.local_addr()?).await?;
///     let mut buf = [0; 16];
///     let (n, from) = server.recv_from(&mut buf).await?;
///     assert_eq!((&buf[..n], from), (&b"ping"[..], client.local_addr()?));
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
///
#[doc(alias = "create_datagram_endpoint")]
#[doc(alias = "DatagramTransport")]
pub struct UdpSocket {
    io: Registered<mio::net::UdpSocket>,
}

impl UdpSocket {
    /// Binds a UDP socket to `addr` (port 0 picks a free port). Host names are resolved
    /// on the calling thread, as std does.
    ///
    /// asyncio: `create_datagram_endpoint(local_addr=...)`.
    ///
    /// # Panics
    ///
    /// Outside a running loop (start one with `tinyloop::run`).
    #[track_caller]
    pub fn bind(addr: impl ToSocketAddrs) -> io::Result<UdpSocket> {
        let core = crate::runtime::context::current("UdpSocket::bind");
        let addrs = addr.to_target().resolve_blocking()?;
        let socket = std::net::UdpSocket::bind(&addrs[..])?;
        socket.set_nonblocking(true)?;
        let socket = mio::net::UdpSocket::from_std(socket);
        let interest = Interest::READABLE | Interest::WRITABLE;
        Ok(UdpSocket {
            io: Registered::new(&core, socket, interest)?,
        })
    }

    /// Sends one datagram to `target` and returns the number of bytes sent. A host name
    /// is resolved on the thread pool and the first address is used.
    ///
    /// asyncio: `transport.sendto(data, addr)` / `loop.sock_sendto`.
    #[doc(alias = "sendto")]
    #[doc(alias = "sock_sendto")]
    pub async fn send_to(&self, buf: &[u8], target: impl ToSocketAddrs) -> io::Result<usize> {
        let target = target.to_target().resolve().await?;
        let addr = *target.first().ok_or_else(no_addresses)?;
        self.io
            .async_io(Direction::Write, |s| s.send_to(buf, addr))
            .await
    }

    /// Waits for one datagram; returns its length and sender.
    ///
    /// asyncio: `protocol.datagram_received(data, addr)` / `loop.sock_recvfrom`.
    /// Cancel-safe: dropping the future loses no datagram.
    #[doc(alias = "recvfrom")]
    #[doc(alias = "sock_recvfrom")]
    #[doc(alias = "datagram_received")]
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        self.io
            .async_io(Direction::Read, |s| s.recv_from(buf))
            .await
    }

    /// Sets the default peer for [`send`](Self::send) and [`recv`](Self::recv); datagrams
    /// from other addresses are then dropped by the OS. Each resolved address is tried in
    /// turn.
    ///
    /// asyncio: `create_datagram_endpoint(remote_addr=...)`.
    #[doc(alias = "remote_addr")]
    pub async fn connect(&self, addr: impl ToSocketAddrs) -> io::Result<()> {
        let mut last_error = None;
        for addr in addr.to_target().resolve().await? {
            match self.io.get_ref().connect(addr) {
                Ok(()) => return Ok(()),
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.unwrap_or_else(no_addresses))
    }

    /// Sends one datagram to the connected peer.
    ///
    /// asyncio: `transport.sendto(data)` on a connected endpoint.
    pub async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        self.io.async_io(Direction::Write, |s| s.send(buf)).await
    }

    /// Waits for one datagram from the connected peer.
    ///
    /// asyncio: `datagram_received` on a connected endpoint.
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.io.async_io(Direction::Read, |s| s.recv(buf)).await
    }

    /// The address this socket is bound to.
    ///
    /// asyncio: `transport.get_extra_info("sockname")`.
    #[doc(alias = "sockname")]
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }

    /// The connected peer's address (an error if not connected).
    ///
    /// asyncio: `transport.get_extra_info("peername")`.
    #[doc(alias = "peername")]
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().peer_addr()
    }

    /// Allows sending to broadcast addresses (`SO_BROADCAST`).
    ///
    /// asyncio: `create_datagram_endpoint(allow_broadcast=True)`.
    #[doc(alias = "allow_broadcast")]
    pub fn set_broadcast(&self, on: bool) -> io::Result<()> {
        self.io.get_ref().set_broadcast(on)
    }
}

impl fmt::Debug for UdpSocket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UdpSocket")
            .field("local_addr", &self.local_addr().ok())
            .field("io", &self.io)
            .finish()
    }
}
