//! `BufWriter`: the write buffer asyncio's transports keep internally, made explicit.
//!
//! ```text
//!   buf: [ already sent | waiting to be sent       | free ]
//!          0            written                    buf.len()   capacity
//! ```
//!
//! - A write that fits is copied into the buffer and succeeds at once (asyncio's
//!   `transport.write` never waits either).
//! - A write that does not fit first sends the buffer; one at least as large as the whole
//!   buffer then goes straight to the inner writer, skipping the copy.
//! - `flush` sends the buffer, then flushes the inner writer: asyncio's `drain()`.
//!
//! `written` survives a `Pending` (or a dropped `flush`), so no byte is sent twice or
//! skipped. Dropping a `BufWriter` does not flush (it cannot wait): call `flush` first,
//! or take the unsent bytes with [`BufWriter::into_parts`].

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use futures_io::{AsyncBufRead, AsyncRead, AsyncWrite};

use super::DEFAULT_CAPACITY;

/// Adds a write buffer to a writer.
///
/// asyncio: the transport's write buffer; [`flush`](Self::flush) is `await writer.drain()`.
///
/// ```no_run
/// use tinyloop::io::BufWriter;
/// use tinyloop::net::TcpStream;
///
/// # tinyloop::run(async {
/// let mut writer = BufWriter::new(TcpStream::connect("127.0.0.1:8080").await?);
/// for i in 0..100 {
///     writer.write_all(format!("line {i}\n").as_bytes()).await?; // no syscall yet
/// }
/// writer.flush().await?; // one or two send(2) calls
/// # Ok::<(), std::io::Error>(()) }).unwrap();
/// ```
pub struct BufWriter<W> {
    inner: W,
    buf: Vec<u8>,
    written: usize,
}

impl<W> BufWriter<W> {
    /// Wraps `inner` with an 8 KiB buffer.
    pub fn new(inner: W) -> BufWriter<W> {
        BufWriter::with_capacity(DEFAULT_CAPACITY, inner)
    }

    /// Wraps `inner` with a buffer of `capacity` bytes.
    pub fn with_capacity(capacity: usize, inner: W) -> BufWriter<W> {
        BufWriter {
            inner,
            buf: Vec::with_capacity(capacity),
            written: 0,
        }
    }

    /// The wrapped writer.
    pub fn get_ref(&self) -> &W {
        &self.inner
    }

    /// The wrapped writer, mutably. Writing to it directly jumps ahead of the buffered
    /// bytes.
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.inner
    }

    /// The bytes written but not yet sent.
    pub fn buffer(&self) -> &[u8] {
        &self.buf[self.written..]
    }

    /// Gives back the wrapped writer, dropping unsent bytes: call
    /// [`flush`](Self::flush) first, or use [`into_parts`](Self::into_parts).
    pub fn into_inner(self) -> W {
        self.inner
    }

    /// Gives back the wrapped writer and the bytes not yet sent.
    pub fn into_parts(mut self) -> (W, Vec<u8>) {
        self.buf.drain(..self.written);
        (self.inner, self.buf)
    }
}

impl<W: AsyncWrite + Unpin> BufWriter<W> {
    /// Sends the whole buffer to the inner writer.
    fn poll_flush_buf(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.written < self.buf.len() {
            let n = ready!(Pin::new(&mut self.inner).poll_write(cx, &self.buf[self.written..]))?;
            if n == 0 {
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::WriteZero,
                    "the writer accepted no bytes of the buffered data",
                )));
            }
            self.written += n;
        }
        self.buf.clear();
        self.written = 0;
        Poll::Ready(Ok(()))
    }

    /// Buffers (or, when large, sends) some of `buf`; returns how many bytes it took.
    ///
    /// asyncio: `transport.write(data)`.
    pub async fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        poll_fn(|cx| Pin::new(&mut *self).poll_write(cx, buf)).await
    }

    /// Buffers (or sends) all of `buf`. Bytes only reach the peer once the buffer fills
    /// up or [`flush`](Self::flush) runs.
    ///
    /// asyncio: `writer.write(data)`.
    pub async fn write_all(&mut self, mut buf: &[u8]) -> io::Result<()> {
        while !buf.is_empty() {
            match self.write(buf).await? {
                0 => {
                    return Err(io::Error::new(
                        io::ErrorKind::WriteZero,
                        "the writer accepted no bytes",
                    ))
                }
                n => buf = &buf[n..],
            }
        }
        Ok(())
    }

    /// Sends everything buffered and flushes the inner writer.
    ///
    /// asyncio: `await writer.drain()`. Cancel-safe: a dropped flush resumes where it
    /// stopped.
    #[doc(alias = "drain")]
    pub async fn flush(&mut self) -> io::Result<()> {
        poll_fn(|cx| Pin::new(&mut *self).poll_flush(cx)).await
    }

    /// Flushes, then closes the inner writer (for a socket: shuts down the sending side).
    ///
    /// asyncio: `writer.close()` after `drain()`.
    pub async fn close(&mut self) -> io::Result<()> {
        poll_fn(|cx| Pin::new(&mut *self).poll_close(cx)).await
    }
}

impl<W: AsyncWrite + Unpin> AsyncWrite for BufWriter<W> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.buf.len() + buf.len() > this.buf.capacity() {
            ready!(this.poll_flush_buf(cx))?;
        }
        if buf.len() >= this.buf.capacity() {
            Pin::new(&mut this.inner).poll_write(cx, buf)
        } else {
            this.buf.extend_from_slice(buf);
            Poll::Ready(Ok(buf.len()))
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_flush_buf(cx))?;
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        ready!(this.poll_flush_buf(cx))?;
        Pin::new(&mut this.inner).poll_close(cx)
    }
}

/// Reads pass straight through, so a `BufWriter<TcpStream>` can still read replies.
impl<W: AsyncRead + Unpin> AsyncRead for BufWriter<W> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_read(cx, buf)
    }
}

impl<W: AsyncBufRead + Unpin> AsyncBufRead for BufWriter<W> {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        Pin::new(&mut self.get_mut().inner).poll_fill_buf(cx)
    }

    fn consume(self: Pin<&mut Self>, amt: usize) {
        Pin::new(&mut self.get_mut().inner).consume(amt)
    }
}

impl<W: fmt::Debug> fmt::Debug for BufWriter<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BufWriter")
            .field("buffered", &(self.buf.len() - self.written))
            .field("capacity", &self.buf.capacity())
            .field("inner", &self.inner)
            .finish()
    }
}
