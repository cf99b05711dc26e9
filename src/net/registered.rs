//! A mio source registered with the running loop: what asyncio's `_SelectorTransport`
//! does with `loop.add_reader` / `loop.remove_reader`, as one owned value.
//!
//! [`Registered<S>`] pairs a mio source with its [`Registration`]. Its `Drop` deregisters
//! the source *before* the source's fd is closed (fields drop after `Drop::drop` runs), so
//! the poller never holds a closed fd that the OS could hand to the next socket.
//!
//! Every socket operation in `tinyloop::net` is one of two shapes:
//!
//! - [`Registered::poll_transfer`] for `futures_io` poll methods: try, and on `WouldBlock`
//!   clear readiness and park the task's waker until the next event.
//! - [`Registered::async_io`] (and `transfer` for byte counts) for the inherent `async fn`s:
//!   the same loop, but the future keeps a ticket for its parked waker and takes it back if
//!   it is dropped mid-wait (cancelled, timed out), so an abandoned wait leaves nothing in
//!   the reactor.

use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use mio::event::Source;
use mio::Interest;

use crate::runtime::core::Core;
use crate::runtime::reactor::{Direction, WaiterId};
use crate::runtime::registration::Registration;
use crate::runtime::{note_wait, WaitOn};

/// A mio source and its place in the reactor. `S` is last so that `Registered<TcpStream>`
/// coerces to `Registered<dyn ByteStream>` (how split halves share one engine).
pub(crate) struct Registered<S: Source + ?Sized> {
    reg: Registration,
    io: S,
}

impl<S: Source> Registered<S> {
    /// Registers `io` with `core`'s reactor for `interest`.
    pub(crate) fn new(core: &Rc<Core>, mut io: S, interest: Interest) -> io::Result<Self> {
        let reg = Registration::new(core, &mut io, interest)?;
        Ok(Registered { reg, io })
    }
}

impl<S: Source + ?Sized> Registered<S> {
    /// The mio source, for calls that need no readiness (addresses, options).
    pub(crate) fn get_ref(&self) -> &S {
        &self.io
    }
}

impl<S: Source + WaitLabel + ?Sized> Registered<S> {
    /// Runs `op` in direction `dir` until it completes, waiting for readiness as needed.
    pub(crate) fn async_io<R, Op>(
        &self,
        dir: Direction,
        op: Op,
    ) -> IoFuture<'_, S, Op, impl Fn(&R) -> bool>
    where
        Op: FnMut(&S) -> io::Result<R>,
    {
        IoFuture {
            io: self,
            dir,
            ticket: None,
            op,
            drained: never_drained::<R>,
        }
    }

    /// One poll of a byte transfer: as `async_io`'s poll, and a transfer that proves the
    /// socket drained ([`Moved::drained`]) clears readiness at once.
    pub(crate) fn poll_transfer(
        &self,
        cx: &mut Context<'_>,
        dir: Direction,
        mut op: impl FnMut(&S) -> io::Result<Moved>,
    ) -> Poll<io::Result<Moved>> {
        if !crate::runtime::coop::proceed(cx) {
            return Poll::Pending; // budget spent: nothing taken, the task is woken (coop.rs)
        }
        let polled = self
            .reg
            .poll_io(cx, dir, None, || op(&self.io), Moved::drained);
        if polled.is_pending() {
            note_wait(WaitOn::Label(self.io.wait_label(dir)));
        }
        polled
    }

    /// A byte transfer: as `async_io`, with `poll_transfer`'s shortcut.
    pub(crate) fn transfer<Op>(
        &self,
        dir: Direction,
        op: Op,
    ) -> IoFuture<'_, S, Op, impl Fn(&Moved) -> bool>
    where
        Op: FnMut(&S) -> io::Result<Moved>,
    {
        IoFuture {
            io: self,
            dir,
            ticket: None,
            op,
            drained: Moved::drained,
        }
    }
}

/// What one byte transfer moved, and whether it proved the socket drained in its direction.
///
/// A read that got fewer bytes than it asked the kernel for emptied the receive queue; a
/// write that the send buffer cut short filled it. Either way the next try could only
/// answer `WouldBlock`, so readiness is cleared at once and that system call is saved
/// (with edge-triggered polling, the next arrival or drain brings a fresh event). A full
/// transfer proves nothing: readiness stays, and the next call goes to the kernel.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Moved {
    /// Bytes moved to or from the caller's buffer.
    pub(crate) n: usize,
    /// Whether the socket is now known to be drained (empty for reads, full for writes).
    pub(crate) drained: bool,
}

impl Moved {
    /// The drained rule `IoFuture` is built with: a function item, so that it takes no
    /// room in the future (a pending read is 40 bytes).
    fn drained(&self) -> bool {
        self.drained
    }
}

fn never_drained<R>(_: &R) -> bool {
    false
}

/// The future of one socket operation: `op` retried until done, parking in between.
///
/// It keeps the ticket of its parked waker and takes the waker back out when dropped
/// mid-wait (cancelled, timed out), so an abandoned wait leaves nothing in the reactor.
/// One flat struct rather than nested `async fn`s keeps a pending read small (it lives in
/// every idle connection's task).
pub(crate) struct IoFuture<'a, S: Source + ?Sized, Op, D> {
    io: &'a Registered<S>,
    dir: Direction,
    ticket: WaiterId,
    op: Op,
    drained: D,
}

impl<S, R, Op, D> Future for IoFuture<'_, S, Op, D>
where
    S: Source + WaitLabel + ?Sized,
    Op: FnMut(&S) -> io::Result<R> + Unpin,
    D: Fn(&R) -> bool + Unpin,
{
    type Output = io::Result<R>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<R>> {
        if !crate::runtime::coop::proceed(cx) {
            return Poll::Pending; // budget spent: nothing taken, the task is woken (coop.rs)
        }
        let this = self.get_mut();
        let (io, op) = (this.io, &mut this.op);
        let ticket = Some(&mut this.ticket);
        let polled = io
            .reg
            .poll_io(cx, this.dir, ticket, || op(&io.io), &this.drained);
        if polled.is_pending() {
            note_wait(WaitOn::Label(io.io.wait_label(this.dir)));
        }
        polled
    }
}

/// How a mio source names a task's wait on it in the task dump (`"TcpStream read"`).
///
/// Each type states its labels, so a wait costs no more than picking one of two literals.
/// A method rather than a constant so that it also answers through `dyn ByteStream` (the
/// engine split halves share), where the concrete type is known only at run time.
pub(crate) trait WaitLabel {
    /// The label of a wait in direction `dir` (only looked at on the way to `Pending`).
    fn wait_label(&self, dir: Direction) -> &'static str;
}

/// `impl WaitLabel` for a mio type, from its read-side and write-side labels.
macro_rules! wait_labels {
    ($($ty:ty => $read:literal, $write:literal;)*) => {$(
        impl WaitLabel for $ty {
            #[inline]
            fn wait_label(&self, dir: Direction) -> &'static str {
                match dir {
                    Direction::Read => $read,
                    Direction::Write => $write,
                }
            }
        }
    )*};
}

wait_labels! {
    mio::net::TcpStream => "TcpStream read", "TcpStream write";
    mio::net::TcpListener => "TcpListener accept", "TcpListener accept";
    mio::net::UdpSocket => "UdpSocket recv", "UdpSocket send";
    mio::net::UnixStream => "UnixStream read", "UnixStream write";
    mio::net::UnixListener => "UnixListener accept", "UnixListener accept";
}

impl<S: Source + ?Sized, Op, D> Drop for IoFuture<'_, S, Op, D> {
    fn drop(&mut self) {
        self.io.reg.forget(self.dir, self.ticket);
    }
}

impl<S: Source + ?Sized> Drop for Registered<S> {
    fn drop(&mut self) {
        self.reg.deregister(&mut self.io);
    }
}

impl<S: Source + ?Sized> fmt::Debug for Registered<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.reg, f)
    }
}
