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
//!   consumed space either (one line longer than the buffer), the buffer doubles, but a
//!   line search never grows it past `limit + 1` bytes. So a request is always satisfied
//!   from one contiguous slice.
//! - `pos` only moves when a request completes. That is what makes `read_line`,
//!   `read_until` and `read_exact` cancel-safe, as asyncio's are: a dropped request leaves
//!   every byte it saw in the buffer for the next one.
//!
//! # The line limit
//!
//! asyncio's `StreamReader(limit=64 KiB)`: a line (not counting its delimiter) may be at
//! most `limit` bytes. As soon as more than `limit` bytes have arrived without the
//! delimiter, or the delimiter turns up past `limit`, the request fails with `InvalidData`
//! (asyncio raises at the same point). The over-long line is then discarded up to and
//! including its delimiter: what is buffered at once, the rest by the next read of any
//! kind, which drops bytes as they arrive (`skip_to` remembers the delimiter). So memory
//! stays within the buffer's size even against an endless line, the line is gone as a
//! whole (no tail of it is ever handed out as a line of its own, which asyncio's
//! `readline` does), and the reader stays usable. Skipping records its progress in `self`
//! at every step, so it is cancel-safe too. `read_exact` is not limited (asyncio's
//! `readexactly` is not either): the caller chose its size.

use std::fmt;
use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};

use futures_io::{AsyncBufRead, AsyncRead, AsyncWrite};

use super::DEFAULT_CAPACITY;

/// Default line limit, asyncio's `_DEFAULT_LIMIT` (64 KiB).
const DEFAULT_LIMIT: usize = 64 * 1024;

/// Adds a buffer to a reader, with line and exact reads.
///
/// asyncio: `StreamReader` (`readline`, `readuntil`, `readexactly`).
///
/// Lines are bounded, as asyncio's are: a line longer than the limit (64 KiB unless set
/// with [`with_limit`](Self::with_limit)) fails [`read_line`](Self::read_line) and
/// [`read_until`](Self::read_until) with [`io::ErrorKind::InvalidData`], is discarded up
/// to its delimiter, and the next line reads normally. A peer sending an endless line
/// cannot make the buffer grow past the limit.
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
    /// Longest line accepted, not counting its delimiter.
    limit: usize,
    /// After an over-long line whose delimiter has not arrived yet: that delimiter. Every
    /// read first drops incoming bytes up to and including it.
    skip_to: Option<u8>,
}

impl<R> BufReader<R> {
    /// Wraps `inner` with an 8 KiB buffer and the default line limit of 64 KiB.
    ///
    /// asyncio: `StreamReader()`.
    pub fn new(inner: R) -> BufReader<R> {
        BufReader::with_capacity(DEFAULT_CAPACITY, inner)
    }

    /// Wraps `inner` with a buffer of `capacity` bytes (at least 1; it grows when a
    /// request needs more) and the default line limit of 64 KiB.
    pub fn with_capacity(capacity: usize, inner: R) -> BufReader<R> {
        BufReader {
            inner,
            buf: vec![0; capacity.max(1)],
            pos: 0,
            filled: 0,
            limit: DEFAULT_LIMIT,
            skip_to: None,
        }
    }

    /// Wraps `inner` with a line limit of `limit` bytes (not counting the delimiter):
    /// [`read_line`](Self::read_line) and [`read_until`](Self::read_until) fail with
    /// [`io::ErrorKind::InvalidData`] on a longer line and discard it up to its
    /// delimiter. The buffer starts at 8 KiB and a line search never grows it past
    /// `limit + 1` bytes.
    ///
    /// asyncio: `StreamReader(limit=limit)` / `open_connection(..., limit=limit)`.
    ///
    /// # Panics
    ///
    /// If `limit` is 0 (only empty lines could be read); asyncio refuses it too.
    #[doc(alias = "limit")]
    #[track_caller]
    pub fn with_limit(limit: usize, inner: R) -> BufReader<R> {
        assert!(
            limit > 0,
            "BufReader::with_limit(0, ..): a limit of 0 bytes would refuse every non-empty \
             line; pass the longest line length you accept (the default is 64 KiB)"
        );
        BufReader {
            limit,
            ..BufReader::new(inner)
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

    /// The error for a line longer than the limit (its bytes are already dropped).
    fn over_limit(&self, delimiter: u8) -> io::Error {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "a line longer than this BufReader's limit of {} bytes was discarded up to \
                 its delimiter (b'{}'); to accept longer lines, create the reader with \
                 BufReader::with_limit(limit, reader)",
                self.limit,
                std::ascii::escape_default(delimiter)
            ),
        )
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
    /// module docs); growing doubles the buffer, but not past `max_len` (unless the
    /// buffer is already that full, then by one byte). `Ok(0)` means end of stream.
    fn poll_fill_more(&mut self, cx: &mut Context<'_>, max_len: usize) -> Poll<io::Result<usize>> {
        if self.filled == self.buf.len() {
            if self.pos > 0 {
                self.buf.copy_within(self.pos..self.filled, 0);
                self.filled -= self.pos;
                self.pos = 0;
            } else {
                let len = self.buf.len();
                self.buf.resize((len * 2).min(max_len).max(len + 1), 0);
            }
        }
        let n = ready!(Pin::new(&mut self.inner).poll_read(cx, &mut self.buf[self.filled..]))?;
        self.filled += n;
        Poll::Ready(Ok(n))
    }

    /// Drops incoming bytes up to and including the delimiter of an over-long line, if
    /// one is being skipped (module docs, "The line limit"). Each step is recorded in
    /// `self` before the next wait, so dropping the caller loses no progress.
    fn poll_skip(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while let Some(byte) = self.skip_to {
            let unread = &self.buf[self.pos..self.filled];
            if let Some(i) = unread.iter().position(|&b| b == byte) {
                self.consume_to(self.pos + i + 1);
                self.skip_to = None;
                break;
            }
            // Nothing of the line is kept: read into the whole (empty) buffer, never
            // growing it.
            self.consume_to(self.filled);
            let n = ready!(Pin::new(&mut self.inner).poll_read(cx, &mut self.buf[..]))?;
            if n == 0 {
                self.skip_to = None; // the stream ended the line
            }
            self.filled = n;
        }
        Poll::Ready(Ok(()))
    }

    /// Waits until the unread bytes contain `byte` or the stream ends; returns the end
    /// (exclusive) of the chunk to hand out, without consuming it. A chunk longer than the
    /// limit is an error, and is dropped (now, or by `poll_skip` as the rest arrives).
    async fn find(&mut self, byte: u8) -> io::Result<usize> {
        let mut scanned = 0; // unread bytes already searched (stable across compaction)
        poll_fn(|cx| {
            // Skipping leaves `scanned` at 0: no byte of the new line was looked at yet.
            ready!(self.poll_skip(cx))?;
            loop {
                let unread = &self.buf[self.pos..self.filled];
                if let Some(i) = unread[scanned..].iter().position(|&b| b == byte) {
                    let end = self.pos + scanned + i + 1;
                    if scanned + i > self.limit {
                        self.consume_to(end);
                        return Poll::Ready(Err(self.over_limit(byte)));
                    }
                    return Poll::Ready(Ok(end));
                }
                scanned = unread.len();
                if scanned > self.limit {
                    self.consume_to(self.filled);
                    self.skip_to = Some(byte);
                    return Poll::Ready(Err(self.over_limit(byte)));
                }
                // `scanned <= limit` here, so the buffer need not exceed `limit + 1` bytes
                // to tell whether the line is too long.
                let max_len = self.limit.saturating_add(1);
                if ready!(self.poll_fill_more(cx, max_len))? == 0 {
                    return Poll::Ready(Ok(self.filled));
                }
            }
        })
        .await
    }

    /// Waits until at least `n` unread bytes are buffered; `false` if the stream ended
    /// first.
    async fn fill_to(&mut self, n: usize) -> io::Result<bool> {
        poll_fn(|cx| {
            ready!(self.poll_skip(cx))?;
            while self.filled - self.pos < n {
                if ready!(self.poll_fill_more(cx, usize::MAX))? == 0 {
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
    /// A chunk longer than the limit (not counting `byte`) is an
    /// [`io::ErrorKind::InvalidData`] error; it is discarded up to and including `byte`,
    /// and the next call reads the chunk after it (see [`with_limit`](Self::with_limit)).
    ///
    /// asyncio: `StreamReader.readuntil(separator)`, except that the end of the stream
    /// hands over the partial chunk instead of raising `IncompleteReadError`, and an
    /// over-long chunk is discarded instead of left buffered. Cancel-safe.
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
    /// A line longer than the limit (64 KiB by default, not counting the `\n`) is an
    /// `InvalidData` error whose message names the limit; the line is discarded up to and
    /// including its `\n`, and the next call reads the line after it (see
    /// [`with_limit`](Self::with_limit)).
    ///
    /// asyncio: `StreamReader.readline()` (which raises `ValueError` for the over-long
    /// line). Cancel-safe.
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
        if out.is_empty() {
            return Poll::Ready(Ok(0)); // as std: a zero-byte read completes at once
        }
        ready!(this.poll_skip(cx))?;
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
        ready!(self.poll_skip(cx))?;
        if self.pos == self.filled {
            ready!(self.poll_fill_more(cx, usize::MAX))?;
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
            .field("limit", &self.limit)
            .field("inner", &self.inner)
            .finish()
    }
}
