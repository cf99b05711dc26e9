//! `BufReader`: asyncio's `StreamReader` buffer over any `futures_io::AsyncRead`.
//!
//! # The buffer
//!
//! ```text
//!   buf: [ consumed | unread bytes        | free space            ]
//!          0        pos                   filled                  buf.len()
//! ```
//!
//! - A read request first looks at `buf[pos..filled]`; if that is not enough it reads more
//!   from the inner reader into `buf[filled..]`.
//! - When the free space runs out, unread bytes move to the front; when there is no
//!   consumed space either (one line longer than the buffer), the buffer doubles. So a
//!   request is always satisfied from one contiguous slice.
//! - `pos` only moves when a request completes. That is what makes `read_line`,
//!   `read_until` and `read_exact` cancel-safe, as asyncio's are: a dropped request leaves
//!   every byte it saw in the buffer for the next one.
//!
//! The buffer never shrinks: a single very long line leaves it large. asyncio bounds
//! lines with its `limit` argument (64 KiB) and raises `LimitOverrunError`; here there is
//! no limit, so a server reading lines from strangers should wrap reads in a `timeout` or
//! check `buffer().len()`.

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use futures_io::{AsyncBufRead, AsyncRead, AsyncWrite};

use super::DEFAULT_CAPACITY;

/// Adds a buffer to a reader, with line and exact reads.
///
/// asyncio: `StreamReader` (`readline`, `readuntil`, `readexactly`).
///
/// ```no_run
/// use tinyloop::io::BufReader;
/// use tinyloop::net::TcpStream;
///
/// # tinyloop::run(async {
/// let mut reader = BufReader::new(TcpStream::connect("127.0.0.1:8080").await?);
/// let mut line = String::new();
/// while reader.read_line(&mut line).await? != 0 {
///     print!("{line}");
///     line.clear();
/// }
/// # Ok::<(), std::io::Error>(()) }).unwrap();
/// ```
#[doc(alias = "StreamReader")]
pub struct BufReader<R> {
    inner: R,
    buf: Vec<u8>,
    pos: usize,
    filled: usize,
}

impl<R> BufReader<R> {
    /// Wraps `inner` with an 8 KiB buffer.
    pub fn new(inner: R) -> BufReader<R> {
        BufReader::with_capacity(DEFAULT_CAPACITY, inner)
    }

    /// Wraps `inner` with a buffer of `capacity` bytes (at least 1; it grows when a
    /// request needs more).
    ///
    /// asyncio: `StreamReader(limit=...)`, without the limit.
    pub fn with_capacity(capacity: usize, inner: R) -> BufReader<R> {
        BufReader {
            inner,
            buf: vec![0; capacity.max(1)],
            pos: 0,
            filled: 0,
        }
    }

    /// The wrapped reader.
    pub fn get_ref(&self) -> &R {
        &self.inner
    }

    /// The wrapped reader, mutably: write through it (a `TcpStream` is both), but reading
    /// from it directly skips the bytes already buffered here.
    pub fn get_mut(&mut self) -> &mut R {
        &mut self.inner
    }

    /// Gives back the wrapped reader. Bytes still buffered are dropped; take them with
    /// [`buffer`](Self::buffer) first if they matter.
    pub fn into_inner(self) -> R {
        self.inner
    }

    /// The bytes read from the inner reader but not yet handed out.
    pub fn buffer(&self) -> &[u8] {
        &self.buf[self.pos..self.filled]
    }

    fn consume_to(&mut self, end: usize) {
        self.pos = end;
        if self.pos == self.filled {
            self.pos = 0;
            self.filled = 0;
        }
    }
}

impl<R: AsyncRead + Unpin> BufReader<R> {
    /// Reads more bytes from the inner reader after `filled`, making room first (see the
    /// module docs). `Ok(0)` means end of stream.
    fn poll_fill_more(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        if self.filled == self.buf.len() {
            if self.pos > 0 {
                self.buf.copy_within(self.pos..self.filled, 0);
                self.filled -= self.pos;
                self.pos = 0;
            } else {
                self.buf.resize(self.buf.len() * 2, 0);
            }
        }
        let n = ready!(Pin::new(&mut self.inner).poll_read(cx, &mut self.buf[self.filled..]))?;
        self.filled += n;
        Poll::Ready(Ok(n))
    }

    /// Waits until the unread bytes contain `byte` or the stream ends; returns the end
    /// (exclusive) of the chunk to hand out, without consuming it.
    async fn find(&mut self, byte: u8) -> io::Result<usize> {
        let mut scanned = 0; // unread bytes already searched (stable across compaction)
        poll_fn(|cx| loop {
            let unread = &self.buf[self.pos..self.filled];
            if let Some(i) = unread[scanned..].iter().position(|&b| b == byte) {
                return Poll::Ready(Ok(self.pos + scanned + i + 1));
            }
            scanned = unread.len();
            if ready!(self.poll_fill_more(cx))? == 0 {
                return Poll::Ready(Ok(self.filled));
            }
        })
        .await
    }

    /// Waits until at least `n` unread bytes are buffered; `false` if the stream ended
    /// first.
    async fn fill_to(&mut self, n: usize) -> io::Result<bool> {
        poll_fn(|cx| {
            while self.filled - self.pos < n {
                if ready!(self.poll_fill_more(cx))? == 0 {
                    return Poll::Ready(Ok(false));
                }
            }
            Poll::Ready(Ok(true))
        })
        .await
    }

    /// Reads up to and including `byte` (or to the end of the stream) and appends it to
    /// `out`; returns the number of bytes appended, 0 at end of stream.
    ///
    /// asyncio: `StreamReader.readuntil(separator)`, except that the end of the stream
    /// hands over the partial chunk instead of raising `IncompleteReadError`.
    /// Cancel-safe.
    #[doc(alias = "readuntil")]
    pub async fn read_until(&mut self, byte: u8, out: &mut Vec<u8>) -> io::Result<usize> {
        let end = self.find(byte).await?;
        let start = self.pos;
        out.extend_from_slice(&self.buf[start..end]);
        self.consume_to(end);
        Ok(end - start)
    }

    /// Reads one line, including its `\n`, and appends it to `line`; returns the number
    /// of bytes appended, 0 at end of stream. The last line may lack the `\n`.
    ///
    /// A line that is not valid UTF-8 is an `InvalidData` error and stays in the buffer
    /// (read it with [`read_until`](Self::read_until) instead); nothing is lost.
    ///
    /// asyncio: `StreamReader.readline()`. Cancel-safe.
    ///
    /// ```
    /// use tinyloop::io::BufReader;
    /// use tinyloop::net::UnixStream;
    ///
    /// tinyloop::run(async {
    ///     let (mut writer, reader) = UnixStream::pair()?;
    ///     writer.write_all(b"first\nsecond\n").await?;
    ///     drop(writer); // end of stream after the two lines
    ///     let mut reader = BufReader::new(reader);
    ///     let mut lines = Vec::new();
    ///     let mut line = String::new();
    ///     while reader.read_line(&mut line).await? != 0 {
    ///         lines.push(std::mem::take(&mut line));
    ///     }
    ///     assert_eq!(lines, ["first\n", "second\n"]);
    ///     Ok::<(), std::io::Error>(())
    /// })?;
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    #[doc(alias = "readline")]
    pub async fn read_line(&mut self, line: &mut String) -> io::Result<usize> {
        let end = self.find(b'\n').await?;
        let start = self.pos;
        match std::str::from_utf8(&self.buf[start..end]) {
            Ok(text) => line.push_str(text),
            Err(_) => {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    "the line is not valid UTF-8; it is still buffered, read it with read_until",
                ))
            }
        }
        self.consume_to(end);
        Ok(end - start)
    }

    /// Fills `buf` completely. If the stream ends first, that is an `UnexpectedEof` error
    /// and the bytes that did arrive stay buffered.
    ///
    /// asyncio: `StreamReader.readexactly(n)`. Cancel-safe: the bytes are taken only once
    /// all of them are there (the buffer grows to `buf.len()` if needed).
    #[doc(alias = "readexactly")]
    pub async fn read_exact(&mut self, buf: &mut [u8]) -> io::Result<()> {
        if !self.fill_to(buf.len()).await? {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the stream ended before the buffer was filled",
            ));
        }
        let start = self.pos;
        buf.copy_from_slice(&self.buf[start..start + buf.len()]);
        self.consume_to(start + buf.len());
        Ok(())
    }

    /// Reads at least one byte into `buf` (from the buffer if it has some); returns how
    /// many, 0 at end of stream.
    ///
    /// asyncio: `StreamReader.read(n)`. Cancel-safe.
    pub async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        poll_fn(|cx| Pin::new(&mut *self).poll_read(cx, buf)).await
    }
}

impl<R: AsyncRead + Unpin> AsyncRead for BufReader<R> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        out: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let this = &mut *self;
        // Nothing buffered and a large request: skip the copy through our buffer.
        if this.pos == this.filled && out.len() >= this.buf.len() {
            return Pin::new(&mut this.inner).poll_read(cx, out);
        }
        let available = ready!(this.poll_fill_buf_inner(cx))?;
        let n = available.len().min(out.len());
        out[..n].copy_from_slice(&available[..n]);
        this.consume_to(this.pos + n);
        Poll::Ready(Ok(n))
    }
}

impl<R: AsyncRead + Unpin> BufReader<R> {
    fn poll_fill_buf_inner(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        if self.pos == self.filled {
            ready!(self.poll_fill_more(cx))?;
        }
        Poll::Ready(Ok(&self.buf[self.pos..self.filled]))
    }
}

impl<R: AsyncRead + Unpin> AsyncBufRead for BufReader<R> {
    fn poll_fill_buf(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<&[u8]>> {
        self.get_mut().poll_fill_buf_inner(cx)
    }

    fn consume(mut self: Pin<&mut Self>, amt: usize) {
        let end = (self.pos + amt).min(self.filled);
        self.consume_to(end);
    }
}

/// Writes pass straight through to the inner stream, so a `BufReader<TcpStream>` can
/// still answer.
impl<R: AsyncWrite + Unpin> AsyncWrite for BufReader<R> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_close(cx)
    }
}

impl<R: fmt::Debug> fmt::Debug for BufReader<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BufReader")
            .field("buffered", &(self.filled - self.pos))
            .field("capacity", &self.buf.len())
            .field("inner", &self.inner)
            .finish()
    }
}
