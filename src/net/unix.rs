//! Unix domain stream sockets: asyncio's `asyncio.start_unix_server` and
//! `asyncio.open_unix_connection`.
//!
//! They behave like TCP streams without addresses and ports: a listener bound to a path
//! in the file system, streams with the same read/write methods and split halves as
//! [`TcpStream`](super::TcpStream) (the halves are even the same types).
//!
//! The socket file is not removed when the listener is dropped (std and asyncio behave
//! alike); remove it yourself, or bind to a fresh path.

use std::fmt;
use std::io;
use std::os::unix::net::SocketAddr;
use std::path::Path;
use std::rc::Rc;

use mio::Interest;

use super::registered::Registered;
use super::split::{OwnedReadHalf, OwnedWriteHalf, ReadHalf, WriteHalf};
use super::stream::{
    impl_async_read, impl_async_write, stream_read_methods, stream_write_methods, Stream,
};
use crate::runtime::context;
use crate::runtime::core::Core;
use crate::runtime::reactor::Direction;

/// A Unix domain socket listening for connections at a path.
///
/// asyncio: the listening socket of `asyncio.start_unix_server`.
#[doc(alias = "start_unix_server")]
#[doc(alias = "create_unix_server")]
pub struct UnixListener {
    io: Registered<mio::net::UnixListener>,
}

impl UnixListener {
    /// Creates the socket file at `path` and listens on it. Fails with `AddrInUse` if the
    /// file exists.
    ///
    /// asyncio: `loop.create_unix_server(path=...)`.
    ///
    /// # Panics
    ///
    /// Outside a running loop (start one with `tinyloop::run`).
    #[track_caller]
    pub fn bind(path: impl AsRef<Path>) -> io::Result<UnixListener> {
        let core = context::current("UnixListener::bind");
        let listener = mio::net::UnixListener::bind(path)?;
        Ok(UnixListener {
            io: Registered::new(&core, listener, Interest::READABLE)?,
        })
    }

    /// Waits for a connection. Cancel-safe; errors (`EMFILE`, ...) are returned and the
    /// listener keeps working.
    ///
    /// asyncio: `loop.sock_accept(sock)`.
    #[doc(alias = "sock_accept")]
    pub async fn accept(&self) -> io::Result<(UnixStream, SocketAddr)> {
        let (stream, peer) = self.io.async_io(Direction::Read, |l| l.accept()).await?;
        let core = context::current("UnixListener::accept");
        Ok((UnixStream::from_mio(&core, stream)?, peer))
    }

    /// The address (path) this listener is bound to.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().local_addr()
    }
}

impl fmt::Debug for UnixListener {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixListener")
            .field("local_addr", &self.local_addr().ok())
            .field("io", &self.io)
            .finish()
    }
}

/// A Unix domain stream connection; the same methods as
/// [`TcpStream`](super::TcpStream) minus the TCP options. Its inherent `read`, `write_all` and
/// friends take precedence over `AsyncReadExt` / `AsyncWriteExt` methods of the same name,
/// and behave the same ([details](crate::net#inherent-methods-and-asyncreadext--asyncwriteext)).
///
/// asyncio: the `(reader, writer)` pair of `asyncio.open_unix_connection`.
#[doc(alias = "open_unix_connection")]
pub struct UnixStream {
    io: Registered<Stream<mio::net::UnixStream>>,
}

impl UnixStream {
    /// Connects to the listener at `path`.
    ///
    /// asyncio: `asyncio.open_unix_connection(path)`.
    ///
    /// # Panics
    ///
    /// When polled outside a running loop.
    #[doc(alias = "open_unix_connection")]
    pub async fn connect(path: impl AsRef<Path>) -> io::Result<UnixStream> {
        let core = context::current("UnixStream::connect");
        let stream = UnixStream::from_mio(&core, mio::net::UnixStream::connect(path)?)?;
        stream
            .io
            .async_io(Direction::Write, |s| match s.sock().take_error()? {
                Some(e) => Err(e),
                None => match s.sock().peer_addr() {
                    Ok(_) => Ok(()),
                    Err(e) if e.kind() == io::ErrorKind::NotConnected => {
                        Err(io::ErrorKind::WouldBlock.into())
                    }
                    Err(e) => Err(e),
                },
            })
            .await?;
        Ok(stream)
    }

    /// A connected pair of unnamed sockets (`socketpair(2)`): handy for tests and for
    /// talking to a child process.
    ///
    /// ```
    /// use tinyloop::net::UnixStream;
    ///
    /// tinyloop::run(async {
    ///     let (mut a, mut b) = UnixStream::pair()?;
    ///     a.write_all(b"over here").await?;
    ///     let mut buf = [0; 9];
    ///     b.read_exact(&mut buf).await?;
    ///     assert_eq!(&buf, b"over here");
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    ///
    /// # Panics
    ///
    /// Outside a running loop.
    #[track_caller]
    #[doc(alias = "socketpair")]
    pub fn pair() -> io::Result<(UnixStream, UnixStream)> {
        let core = context::current("UnixStream::pair");
        let (a, b) = mio::net::UnixStream::pair()?;
        Ok((
            UnixStream::from_mio(&core, a)?,
            UnixStream::from_mio(&core, b)?,
        ))
    }

    fn from_mio(core: &Rc<Core>, stream: mio::net::UnixStream) -> io::Result<UnixStream> {
        let interest = Interest::READABLE | Interest::WRITABLE;
        Ok(UnixStream {
            io: Registered::new(core, Stream::new(stream), interest)?,
        })
    }

    fn io(&self) -> &Registered<Stream<mio::net::UnixStream>> {
        &self.io
    }

    stream_read_methods!();
    stream_write_methods!();

    /// The address of the other end (often unnamed).
    ///
    /// asyncio: `writer.get_extra_info("peername")`.
    #[doc(alias = "peername")]
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().sock().peer_addr()
    }

    /// The address of this end (often unnamed).
    ///
    /// asyncio: `writer.get_extra_info("sockname")`.
    #[doc(alias = "sockname")]
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io.get_ref().sock().local_addr()
    }

    /// Borrows the stream as a read half and a write half (see
    /// [`TcpStream::split`](super::TcpStream::split)).
    pub fn split(&mut self) -> (ReadHalf<'_>, WriteHalf<'_>) {
        ReadHalf::pair(&self.io)
    }

    /// Splits the stream into owned halves (see
    /// [`TcpStream::into_split`](super::TcpStream::into_split)).
    pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        OwnedReadHalf::pair(Rc::new(self.io))
    }
}

impl_async_read!(UnixStream);
impl_async_write!(UnixStream);

impl fmt::Debug for UnixStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UnixStream")
            .field("peer_addr", &self.peer_addr().ok())
            .field("io", &self.io)
            .finish()
    }
}
