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
//!     └─ Registered::async_io(Read, recv)          net/registered.rs
//!          ├─ readiness says readable? ── no ──▶ park waker in the reactor, Pending
//!          └─ yes: recv(2)
//!               ├─ got bytes / EOF / error ──▶ Ready
//!               └─ WouldBlock ──▶ clear "readable", loop back (and park)
//!   ... later, Reactor::poll sees the fd readable, sets "readable", hands the waker
//!   to the loop, the task runs again and retries recv(2).
//! ```
//!
//! This is asyncio's `sock_recv` → `_sock_recv` → `add_reader` dance, with the reactor's
//! readiness state standing in for the "is a reader callback installed" bookkeeping. The
//! reactor itself (tokens, generations, edge-triggered rules) is documented in
//! `runtime/reactor.rs`.
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
