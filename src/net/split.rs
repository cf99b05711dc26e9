//! Split halves of a stream: asyncio's separate `StreamReader` and `StreamWriter`.
//!
//! asyncio's `open_connection` hands out a reader and a writer that different tasks use
//! freely. A Rust stream's methods take `&mut self`, so a stream is split to get the same
//! freedom:
//!
//! | call                  | halves                           | use                         |
//! |-----------------------|----------------------------------|-----------------------------|
//! | `stream.split()`      | `ReadHalf<'_>`, `WriteHalf<'_>`  | both in one task (`gather!`) |
//! | `stream.into_split()` | `OwnedReadHalf`, `OwnedWriteHalf` | in two spawned tasks        |
//!
//! Both kinds point at one engine, `Registered<Stream<dyn ByteStream>>` (borrowed, or shared
//! through an `Rc`), whichever stream type it came from (TCP or Unix). The reactor keeps
//! read and write waiters apart, so a reader parked on "readable" and a writer parked on
//! "writable" never disturb each other.

use std::fmt;
use std::net::Shutdown;
use std::rc::Rc;

use super::registered::Registered;
use super::stream::{
    impl_async_read, impl_async_write, stream_read_methods, stream_write_methods, ByteStream,
    Stream,
};

type Engine = Registered<Stream<dyn ByteStream>>;

/// The reading half of a stream, borrowed by [`TcpStream::split`](super::TcpStream::split)
/// (or `UnixStream::split`).
///
/// asyncio: `StreamReader`.
///
/// Like the stream's, its inherent methods take precedence over `AsyncReadExt` /
/// `AsyncWriteExt` methods of the same name and behave the same
/// ([details](crate::net#inherent-methods-and-asyncreadext--asyncwriteext)).
#[doc(alias = "StreamReader")]
pub struct ReadHalf<'a> {
    io: &'a Engine,
}

/// The writing half of a stream, borrowed by [`TcpStream::split`](super::TcpStream::split)
/// (or `UnixStream::split`).
///
/// asyncio: `StreamWriter`.
///
/// Like the stream's, its inherent methods take precedence over `AsyncReadExt` /
/// `AsyncWriteExt` methods of the same name and behave the same
/// ([details](crate::net#inherent-methods-and-asyncreadext--asyncwriteext)).
#[doc(alias = "StreamWriter")]
pub struct WriteHalf<'a> {
    io: &'a Engine,
}

impl<'a> ReadHalf<'a> {
    pub(crate) fn pair(io: &'a Engine) -> (ReadHalf<'a>, WriteHalf<'a>) {
        (ReadHalf { io }, WriteHalf { io })
    }

    fn io(&self) -> &Engine {
        self.io
    }

    stream_read_methods!();
}

impl WriteHalf<'_> {
    fn io(&self) -> &Engine {
        self.io
    }

    stream_write_methods!();
}

/// The reading half of a stream, owned, from
/// [`TcpStream::into_split`](super::TcpStream::into_split) (or `UnixStream::into_split`).
///
/// asyncio: `StreamReader`, handed to its own task.
///
/// Like the stream's, its inherent methods take precedence over `AsyncReadExt` /
/// `AsyncWriteExt` methods of the same name and behave the same
/// ([details](crate::net#inherent-methods-and-asyncreadext--asyncwriteext)).
#[doc(alias = "StreamReader")]
pub struct OwnedReadHalf {
    io: Rc<Engine>,
}

/// The writing half of a stream, owned, from
/// [`TcpStream::into_split`](super::TcpStream::into_split) (or `UnixStream::into_split`).
///
/// Dropping it shuts down the sending direction (the peer reads end of stream), as
/// asyncio's `writer.close()` would, even while the read half lives on.
///
/// asyncio: `StreamWriter`, handed to its own task.
///
/// Like the stream's, its inherent methods take precedence over `AsyncReadExt` /
/// `AsyncWriteExt` methods of the same name and behave the same
/// ([details](crate::net#inherent-methods-and-asyncreadext--asyncwriteext)).
#[doc(alias = "StreamWriter")]
pub struct OwnedWriteHalf {
    io: Rc<Engine>,
}

impl OwnedReadHalf {
    pub(crate) fn pair(io: Rc<Engine>) -> (OwnedReadHalf, OwnedWriteHalf) {
        (OwnedReadHalf { io: Rc::clone(&io) }, OwnedWriteHalf { io })
    }

    fn io(&self) -> &Engine {
        &self.io
    }

    stream_read_methods!();
}

impl OwnedWriteHalf {
    fn io(&self) -> &Engine {
        &self.io
    }

    stream_write_methods!();
}

impl Drop for OwnedWriteHalf {
    fn drop(&mut self) {
        let _ = self.io.shutdown(Shutdown::Write);
    }
}

impl_async_read!(ReadHalf<'_>);
impl_async_write!(WriteHalf<'_>);
impl_async_read!(OwnedReadHalf);
impl_async_write!(OwnedWriteHalf);

macro_rules! debug_half {
    ($($ty:ty => $name:literal),*) => {$(
        impl fmt::Debug for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_struct($name).field("io", &self.io).finish()
            }
        }
    )*};
}

debug_half!(ReadHalf<'_> => "ReadHalf", WriteHalf<'_> => "WriteHalf",
            OwnedReadHalf => "OwnedReadHalf", OwnedWriteHalf => "OwnedWriteHalf");
