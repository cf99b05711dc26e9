//! Sockets on the loop: asyncio's `selector_events.py` (the transports and `sock_*`
//! methods) and the socket half of `streams.py`.
//!
//! | tinyloop                              | asyncio                                          |
//! |---------------------------------------|--------------------------------------------------|
//! | [`TcpListener::bind`] + `accept`      | `asyncio.start_server` / `loop.sock_accept`      |
//! | [`TcpStream::connect`]                | `asyncio.open_connection`                        |
//! | `stream.read` / `read_exact`          | `StreamReader.read` / `readexactly`              |
//! | `stream.write_all`                    | `writer.write(data); await writer.drain()`       |
//! | `stream.shutdown(Shutdown::Write)`    | `writer.write_eof()`                             |
//! | [`TcpStream::split`] / `into_split`   | the separate `StreamReader` / `StreamWriter`     |
//! | [`UdpSocket`]                         | `loop.create_datagram_endpoint`                  |
//! | [`UnixListener`] / [`UnixStream`]     | `start_unix_server` / `open_unix_connection`     |
//! | `crate::io::BufReader::read_line`     | `StreamReader.readline`                          |
//!
//! # How a read works
//!
//! ```text
//!   stream.read(buf).await
//!     ├─ a byte kept from the last read? ──▶ it goes first     net/stream.rs
//!     └─ Registered::transfer(Read, readv)          net/registered.rs
//!          ├─ readiness says readable? ── no ──▶ park waker in the reactor, Pending
//!          └─ yes: readv(2) into buf + a one-byte spare
//!               ├─ fewer bytes than asked ──▶ clear "readable" (drained), Ready
//!               ├─ all, spare included ──▶ keep the spare byte, Ready
//!               ├─ EOF / error ──▶ Ready
//!               └─ WouldBlock ──▶ clear "readable", loop back (and park)
//!   ... later, Reactor::poll sees the fd readable, sets "readable", hands the waker
//!   to the loop, the task runs again and retries readv(2).
//! ```
//!
//! This is asyncio's `sock_recv` → `_sock_recv` → `add_reader` dance, with the reactor's
//! readiness state standing in for the "is a reader callback installed" bookkeeping. The
//! spare byte tells a read that filled its buffer whether more is waiting, which saves the
//! `WouldBlock` call asyncio makes after each message (`net/stream.rs`). The
//! reactor itself (tokens, generations, edge-triggered rules) is documented in
//! `runtime/reactor.rs`.
//!
//! # Inherent methods and `AsyncReadExt` / `AsyncWriteExt`
//!
//! The stream types ([`TcpStream`], [`UnixStream`] and the split halves) have inherent async
//! `read`, `read_exact`, `write`, `write_all` and `flush` methods, and also implement
//! `futures_io::AsyncRead` / `AsyncWrite`, whose extension traits (`AsyncReadExt`,
//! `AsyncWriteExt` in `futures` and `futures-lite`) have methods of the same names. Rust picks
//! an inherent method over a trait method, so `stream.read(&mut buf)` runs tinyloop's even
//! with `AsyncReadExt` in scope; write `AsyncReadExt::read(&mut stream, &mut buf)` to call the
//! trait's. Both behave the same: they go through the same readiness engine
//! (`net/stream.rs`), so they read and write the same bytes, fail with the same
//! `io::ErrorKind`s (`UnexpectedEof` when the stream ends inside `read_exact`, `WriteZero`
//! when the socket takes no bytes in `write_all`; only the message text differs) and have the
//! same cancel-safety (`read` and `write` lose nothing when dropped; `read_exact` and
//! `write_all` may have moved part of the buffer). The inherent ones need no import.
//!
//! Errors from the OS come back as `io::Error`, unchanged; nothing here panics on them.
//! Every socket type must be created and used inside the loop that runs it.

mod addr;
mod registered;
mod split;
mod stream;
mod tcp;
mod udp;
mod unix;

pub use addr::ToSocketAddrs;
pub use split::{OwnedReadHalf, OwnedWriteHalf, ReadHalf, WriteHalf};
pub use tcp::{TcpListener, TcpStream};
pub use udp::UdpSocket;
pub use unix::{UnixListener, UnixStream};

#[cfg(test)]
mod tests;
