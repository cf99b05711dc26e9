//! hyper on tinyloop: the three adapters hyper 1.x asks of a runtime (cargo feature `hyper`).
//!
//! hyper does not bring a runtime; it asks for three things, and this module gives them:
//!
//! | hyper asks for            | tinyloop gives     | built on                                  |
//! |---------------------------|--------------------|-------------------------------------------|
//! | `hyper::rt::Read + Write` | [`HyperIo<T>`]     | any `futures_io::AsyncRead + AsyncWrite`  |
//! | `hyper::rt::Timer`        | [`HyperTimer`]     | [`sleep_until`](crate::sleep_until), [`now`](crate::now) |
//! | `hyper::rt::Executor<F>`  | [`HyperExecutor`]  | [`spawn`](crate::spawn)                   |
//!
//! Python's analogue is aiohttp's use of `loop.create_connection` and `loop.call_later`: the
//! HTTP library brings the protocol, the loop brings sockets, timers and tasks.
//!
//! ```no_run
//! use http_body_util::Empty;
//! use hyper::body::Bytes;
//! use tinyloop::compat::{HyperExecutor, HyperIo, HyperTimer};
//!
//! tinyloop::run(async {
//!     let tcp = tinyloop::TcpStream::connect("example.com:80").await?;
//!     let (mut sender, conn) = hyper::client::conn::http1::handshake(HyperIo::new(tcp)).await?;
//!     drop(tinyloop::spawn(conn)); // the connection's I/O: a task of its own, detached
//!     let req = hyper::Request::get("/").header("host", "example.com").body(Empty::<Bytes>::new())?;
//!     println!("{}", sender.send_request(req).await?.status());
//!     # let _ = (HyperExecutor::new(), HyperTimer::new());
//!     Ok::<_, Box<dyn std::error::Error>>(())
//! })
//! .unwrap();
//! ```
//!
//! # Implementation
//!
//! **I/O.** `HyperIo` forwards hyper's reads and writes to the wrapped futures-io stream (a
//! [`TcpStream`](crate::TcpStream), a `futures_rustls` TLS stream, ...). hyper's read buffer
//! may be uninitialised memory, and filling it in place takes `unsafe`; tinyloop has none,
//! so each read lands in a scratch buffer owned by the `HyperIo` and is copied into hyper's
//! with `put_slice`. The copy costs a `memcpy` per read, small next to the `read(2)` itself.
//!
//! **Timers.** hyper requires its sleeps to be `Send + Sync` (its connection futures may move
//! between threads on other runtimes). A [`Sleep`](crate::Sleep) holds the loop's `Rc` and is
//! neither, so a hyper sleep is split in two:
//!
//! ```text
//!   hyper's side (Send + Sync)            loop side (a small task on the loop that made it)
//!   HyperSleep ──Arc<Mutex<Shared>>──────── Arm { tinyloop::Sleep }
//!     poll: fired? else park waker          poll: dropped? end (timer disarmed)
//!     drop: dropped = true, wake Arm              elapsed?  fired = true, wake HyperSleep
//! ```
//!
//! Only the `Arm` task touches the loop, and only on the loop's thread. The `HyperSleep`
//! touches nothing but the shared `Mutex`, so polling or dropping it on another thread is
//! sound: dropping wakes the `Arm` task through its waker (wakers are thread-safe), and the
//! loop drops the `Arm` (and disarms its timer) on its next turn. The timer is the loop's,
//! so virtual time (`Loop::builder().virtual_time(true)`) is honoured, and
//! [`HyperTimer::now`](hyper::rt::Timer::now) reads the loop's clock, which is what hyper
//! adds its timeouts to. A sleep made from a loop that has since shut down never fires.
//!
//! **Tasks.** `HyperExecutor` spawns on the current loop. hyper's futures need not be `Send`
//! there, since the loop never moves them: HTTP/2 connections, which hyper runs as
//! background tasks through the executor, work with `!Send` bodies too.
//!
//! `HyperTimer::sleep` and `HyperExecutor::execute` must run on the loop's thread (hyper
//! calls them from inside the connection futures the loop polls), and panic elsewhere with
//! tinyloop's "no loop is running" message.

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use futures_io::{AsyncRead, AsyncWrite};

/// How much one read may hand hyper at a time (see "I/O" in the module docs).
const SCRATCH: usize = 16 * 1024;

/// A futures-io stream that hyper can read and write: `hyper::rt::Read + hyper::rt::Write`.
///
/// asyncio has no such glue: aiohttp brings its own transports. Wrap a
/// [`TcpStream`](crate::TcpStream), a [`UnixStream`](crate::UnixStream) or a
/// `futures_rustls` TLS stream and hand it to hyper's `handshake` or `serve_connection`. The
/// futures-io traits pass through, so the wrapper can still be used as a plain stream.
#[doc(alias = "Transport")]
#[doc(alias = "create_connection")]
pub struct HyperIo<T> {
    io: T,
    /// Where reads land before being copied into hyper's buffer; allocated on first read.
    scratch: Vec<u8>,
}

impl<T> HyperIo<T> {
    /// Wraps `io`.
    pub fn new(io: T) -> Self {
        HyperIo {
            io,
            scratch: Vec::new(),
        }
    }

    /// The stream back.
    pub fn into_inner(self) -> T {
        self.io
    }

    /// The wrapped stream.
    pub fn get_ref(&self) -> &T {
        &self.io
    }

    /// The wrapped stream, mutably.
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.io
    }
}

impl<T> fmt::Debug for HyperIo<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HyperIo")
            .field("io", &std::any::type_name::<T>())
            .finish()
    }
}

impl<T: AsyncRead + Unpin> hyper::rt::Read for HyperIo<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        mut buf: hyper::rt::ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let want = buf.remaining().min(SCRATCH);
        if want == 0 {
            return Poll::Ready(Ok(()));
        }
        if this.scratch.len() < want {
            this.scratch.resize(want, 0);
        }
        let n = match Pin::new(&mut this.io).poll_read(cx, &mut this.scratch[..want]) {
            Poll::Ready(Ok(n)) => n,
            Poll::Ready(Err(e)) => return Poll::Ready(Err(e)),
            Poll::Pending => return Poll::Pending,
        };
        buf.put_slice(&this.scratch[..n]);
        Poll::Ready(Ok(()))
    }
}

impl<T: AsyncWrite + Unpin> hyper::rt::Write for HyperIo<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_close(cx)
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for HyperIo<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for HyperIo<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_close(cx)
    }
}

/// hyper's `Timer` on the current loop: what `header_read_timeout`, keep-alive timeouts and
/// HTTP/2 pings sleep on.
///
/// asyncio's counterpart is `loop.call_later`, which aiohttp uses for its timeouts. Without a
/// timer hyper has no header timeout at all, so give servers one:
/// `http1::Builder::new().timer(HyperTimer::new()).header_read_timeout(d)`.
///
/// Its sleeps are `Send + Sync` as hyper requires, are cancelled when dropped (from any
/// thread), and run on the loop's clock, virtual time included. See "Timers" in the
/// [module docs](self).
#[doc(alias = "call_later")]
#[derive(Clone, Copy, Debug, Default)]
pub struct HyperTimer;

impl HyperTimer {
    /// The timer of whichever loop is running when hyper asks for a sleep.
    pub fn new() -> Self {
        HyperTimer
    }
}

impl hyper::rt::Timer for HyperTimer {
    fn sleep(&self, duration: Duration) -> Pin<Box<dyn hyper::rt::Sleep>> {
        self.sleep_until(crate::runtime::clock::deadline_after(
            crate::now(),
            duration,
        ))
    }

    fn sleep_until(&self, deadline: Instant) -> Pin<Box<dyn hyper::rt::Sleep>> {
        Box::pin(HyperSleep::new(deadline))
    }

    fn now(&self) -> Instant {
        crate::now()
    }
}

/// What a [`HyperSleep`] and its [`Arm`] task share.
#[derive(Default)]
struct Shared {
    /// The deadline has passed (set by `Arm`, on the loop's thread).
    fired: bool,
    /// The `HyperSleep` is gone (set by its `Drop`, on any thread): `Arm` should stop.
    dropped: bool,
    /// Who polled the `HyperSleep` last: woken when it fires.
    sleeper: Option<Waker>,
    /// The `Arm` task: woken when the `HyperSleep` is dropped.
    arm: Option<Waker>,
}

fn lock(shared: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    // Nothing panics while holding the lock; recover rather than poison hyper's side.
    shared
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// hyper's side of a sleep: `Send + Sync`, touches only the shared state.
struct HyperSleep {
    shared: Arc<Mutex<Shared>>,
}

impl HyperSleep {
    /// Arms a timer on the current loop (panics with tinyloop's message if none runs).
    fn new(deadline: Instant) -> HyperSleep {
        let shared = Arc::new(Mutex::new(Shared::default()));
        let arm = Arm {
            sleep: crate::sleep_until(deadline),
            shared: Arc::clone(&shared),
        };
        drop(crate::spawn(arm)); // detached: it ends when the timer fires or we are dropped
        HyperSleep { shared }
    }
}

impl Future for HyperSleep {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let mut shared = lock(&self.shared);
        if shared.fired {
            return Poll::Ready(());
        }
        match &shared.sleeper {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => shared.sleeper = Some(cx.waker().clone()),
        }
        Poll::Pending
    }
}

impl hyper::rt::Sleep for HyperSleep {}

impl Drop for HyperSleep {
    fn drop(&mut self) {
        let arm = {
            let mut shared = lock(&self.shared);
            shared.dropped = true;
            shared.sleeper = None;
            shared.arm.take()
        };
        // Wake outside the lock; from another thread this queues the wake for the loop.
        if let Some(arm) = arm {
            arm.wake();
        }
    }
}

impl fmt::Debug for HyperSleep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HyperSleep")
            .field("fired", &lock(&self.shared).fired)
            .finish()
    }
}

/// The loop's side of a sleep: a task holding the real timer.
struct Arm {
    sleep: crate::Sleep,
    shared: Arc<Mutex<Shared>>,
}

impl Future for Arm {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        {
            let mut shared = lock(&self.shared);
            if shared.dropped {
                shared.arm = None;
                return Poll::Ready(()); // dropping `self.sleep` disarms the timer
            }
            match &shared.arm {
                Some(w) if w.will_wake(cx.waker()) => {}
                _ => shared.arm = Some(cx.waker().clone()),
            }
        }
        if Pin::new(&mut self.sleep).poll(cx).is_pending() {
            return Poll::Pending;
        }
        let sleeper = {
            let mut shared = lock(&self.shared);
            shared.fired = true;
            shared.arm = None;
            shared.sleeper.take()
        };
        if let Some(sleeper) = sleeper {
            sleeper.wake();
        }
        Poll::Ready(())
    }
}

impl Drop for Arm {
    fn drop(&mut self) {
        // Our own waker in the shared state would keep this task's cell alive (a cycle).
        lock(&self.shared).arm = None;
    }
}

/// hyper's `Executor`: spawns hyper's background futures (HTTP/2 connection and stream
/// tasks) on the current loop, like [`spawn`](crate::spawn).
///
/// asyncio's counterpart is `asyncio.create_task`. The futures need not be `Send`.
#[doc(alias = "create_task")]
#[derive(Clone, Copy, Debug, Default)]
pub struct HyperExecutor;

impl HyperExecutor {
    /// The executor of whichever loop is running when hyper spawns.
    pub fn new() -> Self {
        HyperExecutor
    }
}

impl<F> hyper::rt::Executor<F> for HyperExecutor
where
    F: Future + 'static,
{
    fn execute(&self, fut: F) {
        drop(crate::spawn(fut)); // detached, as hyper expects: the loop owns it
    }
}
