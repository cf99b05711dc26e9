//! The byte-stream engine shared by TCP and Unix streams and their split halves: asyncio's
//! `_SelectorSocketTransport` read/write paths together with `StreamReader.read` /
//! `StreamWriter.write` + `drain`.
//!
//! asyncio's transport keeps a write buffer and a reader callback; here there is no hidden
//! write buffer at all: `write` hands bytes straight to the kernel (`send`) and returns how
//! many it took, like a raw socket. Buffering, when wanted, is explicit: `io::BufWriter`.
//!
//! One engine serves every stream type: `Registered<Stream<dyn ByteStream>>`. A `TcpStream`
//! owns a `Registered<Stream<mio::net::TcpStream>>`, and its halves borrow (or share,
//! through `Rc`) the same value viewed through `dyn ByteStream`. Read and write readiness
//! and their waiters are separate in the reactor, so one task can read while another writes.
//!
//! Writes go through `send(2)`, which std calls with `MSG_NOSIGNAL` on Linux: writing to
//! a peer that has gone away returns `EPIPE`/`ECONNRESET` as an `io::Error` instead of
//! raising `SIGPIPE`. (Vectored writes would use `writev`, which has no such flag, so this
//! engine does not offer them.)
//!
//! # Reading one byte ahead
//!
//! With edge-triggered polling a reader may only wait for the next event once it knows the
//! socket is empty. A read that fills the caller's buffer exactly does not tell: the next
//! read has to ask, and gets `WouldBlock` back (a system call for nothing, 0.5 µs here).
//! A protocol that reads exact lengths (`read_exact` of a header, then of a body) pays that
//! on every message. So a read asks the kernel for one byte more than the buffer holds
//! (`readv` into the buffer and a one-byte spare):
//!
//! - fewer bytes than asked: the receive queue is empty, readiness is cleared, and the next
//!   read waits for the next event without a system call;
//! - all of them: the spare byte is kept in the stream ([`Ahead`]) and is the first byte
//!   the next read returns, before anything newer from the kernel.
//!
//! Nothing is lost or reordered: the kept byte always goes out first, and an error the
//! kernel reports while a kept byte is being returned waits its turn behind it. Dropping
//! the stream drops the byte, as closing a socket drops what the kernel still holds.

use std::cell::Cell;
use std::future::Future;
use std::io::{self, IoSliceMut, Read, Write};
use std::net::Shutdown;
use std::pin::Pin;
use std::task::{Context, Poll};

use mio::event::Source;
use mio::{Interest, Registry, Token};

use super::registered::{Moved, Registered, WaitLabel};
use crate::runtime::reactor::Direction;

/// What a stream socket can do without waiting; implemented by mio's TCP and Unix streams.
/// `WaitLabel` comes along so that a wait through `dyn ByteStream` still names its type.
pub(crate) trait ByteStream: Source + WaitLabel {
    fn read_vectored(&self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize>;
    fn write_some(&self, buf: &[u8]) -> io::Result<usize>;
    fn shutdown(&self, how: Shutdown) -> io::Result<()>;
}

impl ByteStream for mio::net::TcpStream {
    fn read_vectored(&self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        (&mut &*self).read_vectored(bufs)
    }
    fn write_some(&self, buf: &[u8]) -> io::Result<usize> {
        (&mut &*self).write(buf)
    }
    fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        mio::net::TcpStream::shutdown(self, how)
    }
}

impl ByteStream for mio::net::UnixStream {
    fn read_vectored(&self, bufs: &mut [IoSliceMut<'_>]) -> io::Result<usize> {
        (&mut &*self).read_vectored(bufs)
    }
    fn write_some(&self, buf: &[u8]) -> io::Result<usize> {
        (&mut &*self).write(buf)
    }
    fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        mio::net::UnixStream::shutdown(self, how)
    }
}

/// A stream socket and what it read ahead of its reader (see [the module](self)).
pub(crate) struct Stream<S: ?Sized> {
    ahead: Cell<Ahead>,
    sock: S, // last, so that `Stream<TcpStream>` coerces to `Stream<dyn ByteStream>`
}

/// What the next read returns before asking the kernel again.
#[derive(Debug, Default)]
enum Ahead {
    #[default]
    Nothing,
    /// The spare byte of a read that filled its buffer.
    Byte(u8),
    /// An error the kernel reported while a kept byte was being returned.
    Error(io::Error),
}

impl<S> Stream<S> {
    pub(crate) fn new(sock: S) -> Stream<S> {
        Stream {
            ahead: Cell::new(Ahead::Nothing),
            sock,
        }
    }
}

impl<S: ?Sized> Stream<S> {
    /// The socket, for calls that read no bytes (addresses, options, connect's check).
    pub(crate) fn sock(&self) -> &S {
        &self.sock
    }
}

impl<S: ByteStream + ?Sized> Stream<S> {
    /// One read into `buf` (not empty): the kept byte if there is one, then as much as the
    /// kernel has, asking it for one byte more than fits (see [the module](self)).
    pub(crate) fn read_some(&self, buf: &mut [u8]) -> io::Result<Moved> {
        let kept = match self.ahead.take() {
            Ahead::Nothing => 0,
            Ahead::Byte(byte) => {
                buf[0] = byte;
                1
            }
            Ahead::Error(e) => return Err(e),
        };
        let rest = &mut buf[kept..];
        if rest.is_empty() {
            return Ok(Moved {
                n: kept,
                drained: false,
            });
        }
        let room = rest.len();
        let mut spare = [0u8; 1];
        let got = match self
            .sock
            .read_vectored(&mut [IoSliceMut::new(rest), IoSliceMut::new(&mut spare)])
        {
            Ok(got) => got,
            Err(e) if kept == 0 => return Err(e), // `WouldBlock` included: the engine waits
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                return Ok(Moved {
                    n: kept,
                    drained: true,
                });
            }
            Err(e) => {
                self.ahead.set(Ahead::Error(e)); // after the kept byte, as the kernel said
                return Ok(Moved {
                    n: kept,
                    drained: false,
                });
            }
        };
        if got > room {
            self.ahead.set(Ahead::Byte(spare[0]));
        }
        Ok(Moved {
            n: kept + got.min(room),
            drained: got > 0 && got <= room, // 0 is end of stream: it must stay readable
        })
    }

    fn write_some(&self, buf: &[u8]) -> io::Result<Moved> {
        let n = self.sock.write_some(buf)?;
        Ok(Moved {
            n,
            drained: n > 0 && n < buf.len(), // the send buffer is full
        })
    }
}

impl<S: Source + ?Sized> Source for Stream<S> {
    fn register(
        &mut self,
        registry: &Registry,
        token: Token,
        interest: Interest,
    ) -> io::Result<()> {
        self.sock.register(registry, token, interest)
    }
    fn reregister(
        &mut self,
        registry: &Registry,
        token: Token,
        interest: Interest,
    ) -> io::Result<()> {
        self.sock.reregister(registry, token, interest)
    }
    fn deregister(&mut self, registry: &Registry) -> io::Result<()> {
        self.sock.deregister(registry)
    }
}

impl<S: WaitLabel + ?Sized> WaitLabel for Stream<S> {
    #[inline]
    fn wait_label(&self, dir: Direction) -> &'static str {
        self.sock.wait_label(dir)
    }
}

/// The engine behind every stream type's read and write methods.
impl<S: ByteStream + ?Sized> Registered<Stream<S>> {
    pub(crate) fn poll_read(
        &self,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        if buf.is_empty() {
            return Poll::Ready(Ok(0)); // as std: nothing asked, nothing to wait for
        }
        self.poll_transfer(cx, Direction::Read, |s| s.read_some(buf))
            .map_ok(|moved| moved.n)
    }

    pub(crate) fn poll_write(&self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        self.poll_transfer(cx, Direction::Write, |s| s.write_some(buf))
            .map_ok(|moved| moved.n)
    }

    pub(crate) fn read<'a>(
        &'a self,
        buf: &'a mut [u8],
    ) -> impl Future<Output = io::Result<usize>> + 'a {
        let len = buf.len();
        NonEmpty((len > 0).then(|| self.transfer(Direction::Read, move |s| s.read_some(buf))))
    }

    pub(crate) async fn read_exact(&self, mut buf: &mut [u8]) -> io::Result<()> {
        while !buf.is_empty() {
            match self.read(buf).await? {
                0 => return Err(early_eof()),
                n => buf = &mut buf[n..],
            }
        }
        Ok(())
    }

    pub(crate) fn write<'a>(
        &'a self,
        buf: &'a [u8],
    ) -> impl Future<Output = io::Result<usize>> + 'a {
        NonEmpty(
            (!buf.is_empty()).then(|| self.transfer(Direction::Write, move |s| s.write_some(buf))),
        )
    }

    pub(crate) async fn write_all(&self, mut buf: &[u8]) -> io::Result<()> {
        while !buf.is_empty() {
            match self.write(buf).await? {
                0 => {
                    return Err(io::Error::new(
                        io::ErrorKind::WriteZero,
                        "the socket accepted no bytes",
                    ))
                }
                n => buf = &buf[n..],
            }
        }
        Ok(())
    }

    pub(crate) fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        match self.get_ref().sock().shutdown(how) {
            // The peer already closed: the stream is as shut as it can get.
            Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(()),
            other => other,
        }
    }
}

/// A transfer of `len > 0` bytes, or `None` for an empty buffer: a read or write of zero
/// bytes completes at once with `Ok(0)`, as std's does, instead of waiting for readiness
/// (a read would otherwise wait for the peer to send, then report `Ok(0)`, which callers
/// take for end of stream). `Option` keeps the pending future as small as the bare one.
struct NonEmpty<F>(Option<F>);

impl<F: Future<Output = io::Result<Moved>> + Unpin> Future for NonEmpty<F> {
    type Output = io::Result<usize>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        match &mut self.get_mut().0 {
            Some(transfer) => Pin::new(transfer).poll(cx).map_ok(|moved| moved.n),
            None => Poll::Ready(Ok(0)),
        }
    }
}

pub(crate) fn early_eof() -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        "the stream ended before the buffer was filled",
    )
}

/// Inherent async read methods for a stream type with a private `fn io(&self)` returning
/// its `Registered<..>` engine.
macro_rules! stream_read_methods {
    () => {
        /// Reads at least one byte into `buf`, waiting until some arrive, and returns how
        /// many; `Ok(0)` means the peer closed its side (end of stream), or that `buf` is
        /// empty: a zero-byte read completes at once, as std's does.
        ///
        /// asyncio: `StreamReader.read(n)`. Cancel-safe: if the future is dropped, no
        /// bytes were taken from the socket.
        ///
        /// This inherent method is what `stream.read(..)` runs even where
        /// `futures::AsyncReadExt` is imported; the trait's `read` behaves the same (see
        /// [the `net` module](crate::net#inherent-methods-and-asyncreadext--asyncwriteext)).
        #[doc(alias = "recv")]
        pub fn read<'io>(
            &'io mut self,
            buf: &'io mut [u8],
        ) -> impl std::future::Future<Output = std::io::Result<usize>> + 'io {
            self.io().read(buf)
        }

        /// Reads exactly `buf.len()` bytes; the stream ending first is an
        /// `UnexpectedEof` error.
        ///
        /// asyncio: `StreamReader.readexactly(n)`. Not cancel-safe: bytes already read
        /// into `buf` are lost if the future is dropped (use `io::BufReader::read_exact`
        /// when that matters).
        #[doc(alias = "readexactly")]
        // A plain `fn` handing out the engine's future, like `read`: an `async fn` here
        // would wrap it in one more state machine for every poll to pass through.
        pub fn read_exact<'io>(
            &'io mut self,
            buf: &'io mut [u8],
        ) -> impl std::future::Future<Output = std::io::Result<()>> + 'io {
            self.io().read_exact(buf)
        }
    };
}

/// Inherent async write methods, as `stream_read_methods!`.
macro_rules! stream_write_methods {
    () => {
        /// Writes some of `buf` to the socket, waiting until it can take at least one
        /// byte, and returns how many it took. An empty `buf` completes at once with
        /// `Ok(0)`.
        ///
        /// asyncio: `transport.write(data)` without the transport's hidden buffer.
        #[doc(alias = "send")]
        pub fn write<'io>(
            &'io mut self,
            buf: &'io [u8],
        ) -> impl std::future::Future<Output = std::io::Result<usize>> + 'io {
            self.io().write(buf)
        }

        /// Writes all of `buf`, waiting for the socket as often as needed.
        ///
        /// asyncio: `writer.write(data); await writer.drain()`. Not cancel-safe: if
        /// dropped part-way, an unknown prefix of `buf` has been sent.
        ///
        /// This inherent method is what `stream.write_all(..)` runs even where
        /// `futures::AsyncWriteExt` is imported; the trait's `write_all` behaves the same
        /// (see [the `net` module](crate::net#inherent-methods-and-asyncreadext--asyncwriteext)).
        #[doc(alias = "drain")]
        // A plain `fn`, as `read_exact`.
        pub fn write_all<'io>(
            &'io mut self,
            buf: &'io [u8],
        ) -> impl std::future::Future<Output = std::io::Result<()>> + 'io {
            self.io().write_all(buf)
        }

        /// Does nothing and succeeds: writes go straight to the kernel, there is no
        /// user-space buffer to flush (use `io::BufWriter` for one).
        ///
        /// asyncio: `StreamWriter.drain()`.
        pub async fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }

        /// Shuts down the read half, the write half (sends FIN: the peer reads end of
        /// stream) or both. The socket stays open until dropped.
        ///
        /// asyncio: `StreamWriter.write_eof()` for `Shutdown::Write`.
        #[doc(alias = "write_eof")]
        pub async fn shutdown(&mut self, how: std::net::Shutdown) -> std::io::Result<()> {
            self.io().shutdown(how)
        }
    };
}

/// `futures_io::AsyncRead` for a stream type (same requirement as the macros above).
macro_rules! impl_async_read {
    ($ty:ty) => {
        impl futures_io::AsyncRead for $ty {
            fn poll_read(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &mut [u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.io().poll_read(cx, buf)
            }
        }
    };
}

/// `futures_io::AsyncWrite` for a stream type; `poll_close` shuts down the write half.
macro_rules! impl_async_write {
    ($ty:ty) => {
        impl futures_io::AsyncWrite for $ty {
            fn poll_write(
                self: std::pin::Pin<&mut Self>,
                cx: &mut std::task::Context<'_>,
                buf: &[u8],
            ) -> std::task::Poll<std::io::Result<usize>> {
                self.io().poll_write(cx, buf)
            }

            fn poll_flush(
                self: std::pin::Pin<&mut Self>,
                _cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::task::Poll::Ready(Ok(()))
            }

            fn poll_close(
                self: std::pin::Pin<&mut Self>,
                _cx: &mut std::task::Context<'_>,
            ) -> std::task::Poll<std::io::Result<()>> {
                std::task::Poll::Ready(self.io().shutdown(std::net::Shutdown::Write))
            }
        }
    };
}

pub(crate) use {impl_async_read, impl_async_write, stream_read_methods, stream_write_methods};
