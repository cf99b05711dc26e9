//! TCP: asyncio's `loop.create_server` / `loop.sock_accept` and `open_connection` /
//! `loop.sock_connect`, as a listener and a stream.
//!
//! # Connecting without blocking
//!
//! A non-blocking `connect(2)` returns `EINPROGRESS` at once; the handshake finishes in the
//! background and the socket becomes *writable* when it is done, well or badly. asyncio's
//! `_sock_connect_cb` then reads `SO_ERROR`. [`TcpStream::connect`] does the same: wait for
//! writability, fetch `SO_ERROR` (`take_error`), and ask for the peer address — "not
//! connected" there means the wake-up was early, so it waits again.
//!
//! # Accepting
//!
//! `accept` is a read-direction operation on the listening socket. When it fails for a
//! reason other than `WouldBlock` — `EMFILE` (out of file descriptors) is the famous one —
//! the error goes to the caller and the listener's readiness is *kept*: the pending
//! connection is still in the kernel's backlog, and the next `accept` retries at once.
//! A server loop should log the error and pause briefly before accepting again, as
//! asyncio's `_accept_connection` does (`loop.call_later(ACCEPT_RETRY_DELAY, ...)`).

use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::rc::Rc;

use mio::Interest;

use super::addr::{no_addresses, ToSocketAddrs};
use super::registered::Registered;
use super::split::{OwnedReadHalf, OwnedWriteHalf, ReadHalf, WriteHalf};
use super::stream::{
    impl_async_read, impl_async_write, stream_read_methods, stream_write_methods, Stream,
};
use crate::runtime::context;
use crate::runtime::core::Core;
use crate::runtime::reactor::Direction;

/// A TCP socket listening for connections.
///
/// asyncio: the listening socket behind `asyncio.start_server` / `loop.create_server`,
/// driven with `loop.sock_accept`.
///
/// An echo server, one task per connection, and a client to try it:
///
/// ```
/// use tinyloop::net::{TcpListener, TcpStream};
///
/// async fn serve(listener: TcpListener) -> std::io::Result<()> {
///     loop {
///         let (mut stream, _peer) = listener.accept().await?;
///         tinyloop::spawn(async move {
///             let mut buf = [0; 1024];
///             while let Ok(n @ 1..) = stream.read(&mut buf).await {
///                 if stream.write_all(&buf[..n]).await.is_err() {
///                     break;
///                 }
///             }
///         });
///     }
/// }
///
/// tinyloop::run(async {
///     let listener = TcpListener::bind("127.0.0.1:0")?; // "0.0.0.0:8080" for a real one
///     let addr = listener.local_addr()?;
///     drop(tinyloop::spawn(serve(listener))); // detached: serves until `run` returns
///
///     let mut client = TcpStream::connect(addr).await?;
///     client.write_all(b"ping").await?;
///     let mut reply = [0; 4];
///     client.read_exact(&mut reply).await?;
///     assert_eq!(&reply, b"ping");
///     Ok::<(), std::io::Error>(())
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[doc(alias = "start_server")]
#[doc(alias = "create_server")]
pub struct TcpListener {
    io: Registered<mio::net::TcpListener>,
}

impl TcpListener {
    /// Binds a listening socket to `addr` (each resolved address is tried in turn).
    ///
    /// Host names are resolved on the calling thread, as `std` does, because `bind` is not
    /// async; pass a numeric address (`"0.0.0.0:8080"`) to avoid that. Port 0 picks a free
    /// port: read it back with [`local_addr`](Self::local_addr).
    ///
    /// asyncio: `loop.create_server(host=..., port=...)`.
    ///
    /// # Panics
    ///
    /// Outside a running loop (start one with `tinyloop::run`).
    #[track_caller]
    #[doc(alias = "create_server")]
    pub fn bind(addr: impl ToSocketAddrs) -> io::Result<TcpListener> {
        let core = context::current("TcpListener::bind");
        let addrs = addr.to_target().resolve_blocking()?;
        let listener = std::net::TcpListener::bind(&addrs[..])?;
        listener.set_nonblocking(true)?;
        let listener = mio::net::TcpListener::from_std(listener);
        Ok(TcpListener {
            io: Registered::new(&core, listener, Interest::READABLE)?,
        })
    }

    /// Waits for a connection and returns it with the peer's address.
    ///
    /// Errors such as `EMFILE` are returned as they are (see the module docs); the
    /// listener keeps working afterwards. Cancel-safe: dropping the future loses no
    /// connection. Several tasks may accept on one listener at once.
    ///
    /// asyncio: `loop.sock_accept(sock)`.
    ///
    /// ```
    /// use tinyloop::net::{TcpListener, TcpStream};
    ///
    /// tinyloop::run(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0")?;
    ///     let client = tinyloop::spawn(TcpStream::connect(listener.local_addr()?));
    ///     let (_conn, peer) = listener.accept().await?;
    ///     assert_eq!(peer, client.await.unwrap()?.local_addr()?);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    #[doc(alias = "sock_accept")]
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let (stream, peer) = self.io.async_io(Direction::Read, |l| l.accept()).await?;
        let core = context::current("TcpListener::accept");
        Ok((TcpStream::from_mio(&core, stream)?, peer))
    }

    /// The address this listener is bound to.
    ///
    /// asyncio: `server.sockets[0].getsockname()`.
    #[doc(alias = "getsockname")]
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }
}

impl fmt::Debug for TcpListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpListener")
            .field("local_addr", &self.local_addr().ok())
            .field("io", &self.io)
            .finish()
    }
}

/// A TCP connection.
///
/// asyncio: the `(StreamReader, StreamWriter)` pair of `asyncio.open_connection`, as one
/// value. Reading and writing take `&mut self`; to read in one task and write in another,
/// [`split`](Self::split) or [`into_split`](Self::into_split) it. It also implements
/// `futures_io::AsyncRead` and `AsyncWrite`, so `io::BufReader` and `io::BufWriter` wrap it.
/// Its inherent `read`, `write_all` and friends take precedence over `AsyncReadExt` /
/// `AsyncWriteExt` methods of the same name, and behave the same
/// ([details](crate::net#inherent-methods-and-asyncreadext--asyncwriteext)).
///
/// Dropping the stream closes the socket (after taking it out of the poller).
///
/// [`connect`](Self::connect) has a client and server to run; [`TcpListener`] an echo server.
#[doc(alias = "open_connection")]
#[doc(alias = "StreamReader")]
#[doc(alias = "StreamWriter")]
pub struct TcpStream {
    io: Registered<Stream<mio::net::TcpStream>>,
}

impl TcpStream {
    /// Opens a connection to `addr`.
    ///
    /// Host names are resolved on the loop's thread pool (asyncio's `getaddrinfo`);
    /// numeric addresses skip it. Each resolved address is tried in turn and the last
    /// error is returned if none connects (`ConnectionRefused` when nothing listens).
    ///
    /// asyncio: `asyncio.open_connection(host, port)`.
    ///
    /// ```
    /// use tinyloop::net::{TcpListener, TcpStream};
    ///
    /// tinyloop::run(async {
    ///     let listener = TcpListener::bind("127.0.0.1:0")?; // port 0: any free port
    ///     let addr = listener.local_addr()?;
    ///     let server = tinyloop::spawn(async move {
    ///         let (mut conn, _peer) = listener.accept().await?;
    ///         let mut buf = [0; 5];
    ///         conn.read_exact(&mut buf).await?;
    ///         conn.write_all(&buf).await // echo
    ///     });
    ///     let mut stream = TcpStream::connect(addr).await?;
    ///     stream.write_all(b"hello").await?;
    ///     let mut reply = [0; 5];
    ///     stream.read_exact(&mut reply).await?;
    ///     assert_eq!(&reply, b"hello");
    ///     server.await.unwrap()
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    ///
    /// # Panics
    ///
    /// When polled outside a running loop.
    #[doc(alias = "open_connection")]
    #[doc(alias = "sock_connect")]
    pub async fn connect(addr: impl ToSocketAddrs) -> io::Result<TcpStream> {
        let target = addr.to_target();
        let core = context::current("TcpStream::connect");
        let mut last_error = None;
        for addr in target.resolve().await? {
            match TcpStream::connect_one(&core, addr).await {
                Ok(stream) => return Ok(stream),
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.unwrap_or_else(no_addresses))
    }

    async fn connect_one(core: &Rc<Core>, addr: SocketAddr) -> io::Result<TcpStream> {
        let stream = mio::net::TcpStream::connect(addr)?;
        let stream = TcpStream::from_mio(core, stream)?;
        stream
            .io
            .async_io(Direction::Write, |s| {
                let s = s.sock();
                if let Some(e) = s.take_error()? {
                    return Err(e);
                }
                match s.peer_addr() {
                    Ok(_) => Ok(()),
                    // Still in progress: the wake-up was early (or the first, optimistic try).
                    Err(e) if e.kind() == io::ErrorKind::NotConnected => {
                        Err(io::ErrorKind::WouldBlock.into())
                    }
                    Err(e) => Err(e),
                }
            })
            .await?;
        Ok(stream)
    }

    pub(crate) fn from_mio(core: &Rc<Core>, stream: mio::net::TcpStream) -> io::Result<TcpStream> {
        let interest = Interest::READABLE | Interest::WRITABLE;
        Ok(TcpStream {
            io: Registered::new(core, Stream::new(stream), interest)?,
        })
    }

    fn io(&self) -> &Registered<Stream<mio::net::TcpStream>> {
        &self.io
    }

    stream_read_methods!();
    stream_write_methods!();

    /// The address of the other end.
    ///
    /// asyncio: `writer.get_extra_info("peername")`.
    #[doc(alias = "peername")]
    #[doc(alias = "getpeername")]
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().sock().peer_addr()
    }

    /// The address of this end.
    ///
    /// asyncio: `writer.get_extra_info("sockname")`.
    #[doc(alias = "sockname")]
    #[doc(alias = "getsockname")]
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().sock().local_addr()
    }

    /// Turns Nagle's algorithm off (`true`) or on: small writes go out at once instead of
    /// waiting to be batched. asyncio turns it off for every TCP transport
    /// (`_set_nodelay`); tinyloop leaves the OS default and lets you choose.
    #[doc(alias = "TCP_NODELAY")]
    pub fn set_nodelay(&self, nodelay: bool) -> io::Result<()> {
        self.io.get_ref().sock().set_nodelay(nodelay)
    }

    /// Whether Nagle's algorithm is off (see [`set_nodelay`](Self::set_nodelay)).
    pub fn nodelay(&self) -> io::Result<bool> {
        self.io.get_ref().sock().nodelay()
    }

    /// Borrows the stream as a read half and a write half, usable at the same time (for
    /// example in the two branches of a `gather!`).
    ///
    /// asyncio: the separate `StreamReader` and `StreamWriter` of `open_connection`.
    pub fn split(&mut self) -> (ReadHalf<'_>, WriteHalf<'_>) {
        ReadHalf::pair(&self.io)
    }

    /// Splits the stream into owned halves that can move into different tasks. Dropping
    /// the write half shuts down the sending direction; the socket closes when both
    /// halves are gone.
    ///
    /// asyncio: handing `reader` and `writer` to different tasks.
    pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        OwnedReadHalf::pair(Rc::new(self.io))
    }
}

impl_async_read!(TcpStream);
impl_async_write!(TcpStream);

impl fmt::Debug for TcpStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TcpStream")
            .field("local_addr", &self.local_addr().ok())
            .field("peer_addr", &self.peer_addr().ok())
            .field("io", &self.io)
            .finish()
    }
}
