//! Buffered streams: asyncio's `StreamReader` line and exact reads, and a write buffer.
//!
//! asyncio's `StreamReader` keeps every byte the transport delivered in one growing
//! buffer; `readline`, `readuntil` and `readexactly` wait until the buffer holds what they
//! need, then cut it off the front. [`BufReader`] works the same way over any
//! `futures_io::AsyncRead` (a `TcpStream`, a split half, a `UnixStream`, ...), which also
//! makes its reads cancel-safe: nothing is taken from the buffer until a request is
//! complete, so a `read_line` dropped by a `timeout` loses no bytes.
//!
//! [`BufWriter`] collects small writes and hands them to the socket in large pieces, which
//! saves system calls; asyncio's transport does this internally (its write buffer) and
//! `drain()` waits for it to empty, which is [`BufWriter::flush`] here.
//!
//! | tinyloop                         | asyncio                                   |
//! |----------------------------------|-------------------------------------------|
//! | `BufReader::read_line`           | `StreamReader.readline()`                 |
//! | `BufReader::read_until(b, ..)`   | `StreamReader.readuntil(separator)`       |
//! | `BufReader::read_exact`          | `StreamReader.readexactly(n)`             |
//! | `BufReader::read`                | `StreamReader.read(n)`                    |
//! | `BufReader::with_limit(limit, r)` | `StreamReader(limit=limit)` (64 KiB default) |
//! | `BufWriter::write_all` + `flush` | `writer.write(data)` + `await writer.drain()` |

mod buf_reader;
mod buf_writer;

pub use buf_reader::BufReader;
pub use buf_writer::BufWriter;

/// Default buffer size of [`BufReader`] and [`BufWriter`] (8 KiB, as std's).
const DEFAULT_CAPACITY: usize = 8 * 1024;
