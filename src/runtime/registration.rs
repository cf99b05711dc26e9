//! A socket's registration with the loop's reactor: the handle `net::Registered` keeps next
//! to its mio source. It finds the loop through a `Weak` reference, so it sits above both
//! the reactor (`reactor.rs`, the poller and its per-source state) and the loop
//! (`core.rs`), and neither of them imports it.

use std::fmt;
use std::io;
use std::rc::{Rc, Weak};
use std::task::{Context, Poll};

use mio::event::Source;
use mio::{Interest, Token};

use super::context;
use super::core::Core;
use super::reactor::{Direction, ReadyEvent, ScheduledIo, WaiterId, READABLE, WRITABLE};
use super::waker::WakeRef;

/// A source's place in the reactor, as seen by the socket that owns the source.
///
/// The owner keeps the mio source next to it and must call [`Registration::deregister`]
/// before closing the fd (`net::Registered` does this in its `Drop`).
pub(crate) struct Registration {
    core: Weak<Core>,
    token: Token,
    io: Rc<ScheduledIo>,
}

impl Registration {
    /// Registers `source` with `core`'s reactor for `interest`.
    pub(crate) fn new(
        core: &Rc<Core>,
        source: &mut (impl Source + ?Sized),
        interest: Interest,
    ) -> io::Result<Registration> {
        core.schedule.note_outside_world("a real socket");
        let (token, io) = core.reactor.borrow_mut().register(source, interest)?;
        Ok(Registration {
            core: Rc::downgrade(core),
            token,
            io,
        })
    }

    /// Ready when `dir` may make progress; otherwise parks the task's waker until an event.
    ///
    /// `ticket`: a future that can run code when dropped passes the same `&mut WaiterId` on
    /// every poll and hands it to [`forget`](Self::forget) on drop. `futures_io` poll
    /// methods have nowhere to keep one and pass `None`: their waker stays parked until
    /// the next event or until the source closes.
    #[inline]
    pub(crate) fn poll_ready(
        &self,
        cx: &mut Context<'_>,
        dir: Direction,
        ticket: Option<&mut WaiterId>,
    ) -> Poll<ReadyEvent> {
        let poll = self.io.poll_ready(cx, dir, ticket, WakeRef::own_key_of);
        if poll.is_pending() {
            self.check_loop();
        }
        poll
    }

    /// Clears readiness after an operation answered `WouldBlock` (rule 3): all of the
    /// direction's bits, closed included, since the OS just said no progress is possible.
    pub(crate) fn clear_readiness(&self, ev: ReadyEvent) {
        self.io.clear_readiness(ev, ev.dir.mask());
    }

    /// Clears readiness after a short transfer. Only the plain readable/writable bit goes:
    /// a "closed" edge may have come in the same event as the data just read (data then
    /// FIN), and it will never come again, so it must stay for the next read to see EOF.
    fn clear_drained(&self, ev: ReadyEvent) {
        let plain = match ev.dir {
            Direction::Read => READABLE,
            Direction::Write => WRITABLE,
        };
        self.io.clear_readiness(ev, plain);
    }

    /// Runs `op` until it completes or the OS says `WouldBlock` (then parks and returns
    /// Pending). This is the edge-triggered retry loop every socket operation goes through.
    ///
    /// `drained` may say that a successful result proves the socket drained in this
    /// direction (a read that got fewer bytes than it asked for, a write that the send
    /// buffer cut short): readiness is then cleared at once, which saves the system call
    /// that would only have answered `WouldBlock`. The tick rule applies as for that answer.
    ///
    /// Inlined into each socket future's poll: every operation runs it, and as a call of
    /// its own it paid a large prologue each time.
    #[inline]
    pub(crate) fn poll_io<R>(
        &self,
        cx: &mut Context<'_>,
        dir: Direction,
        mut ticket: Option<&mut WaiterId>,
        mut op: impl FnMut() -> io::Result<R>,
        drained: impl Fn(&R) -> bool,
    ) -> Poll<io::Result<R>> {
        loop {
            let ev = match self.poll_ready(cx, dir, ticket.as_deref_mut()) {
                Poll::Ready(ev) => ev,
                Poll::Pending => return Poll::Pending,
            };
            match op() {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.clear_readiness(ev),
                Ok(done) => {
                    if drained(&done) {
                        self.clear_drained(ev);
                    }
                    return Poll::Ready(Ok(done));
                }
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }

    /// Takes back the waker a dropped future parked under `id`. Inlined: most futures
    /// never parked, and their drop then costs one test, no call.
    #[inline]
    pub(crate) fn forget(&self, dir: Direction, id: WaiterId) {
        if let Some(id) = id {
            self.io.forget(dir, id);
        }
    }

    /// Removes `source` from the poller and frees the slot. Call before closing the fd.
    pub(crate) fn deregister(&self, source: &mut (impl Source + ?Sized)) {
        self.io.forget_all();
        let Some(core) = self.core.upgrade() else {
            return; // the loop and its poller are gone: nothing is registered any more
        };
        // The reactor is only borrowed mutably inside `Reactor::poll`, which runs no user
        // code; `try_` keeps a Drop from ever panicking all the same.
        if let Ok(mut reactor) = core.reactor.try_borrow_mut() {
            reactor.deregister(source, self.token);
        };
    }

    /// A task is about to wait for this source: make sure the loop that will deliver the
    /// event is the one running, else the task would sleep forever. Out of line: only
    /// waits pay for it, not the ready path of `poll_ready`.
    #[inline(never)]
    fn check_loop(&self) {
        let same = context::try_with_core(|running| Rc::as_ptr(running) == self.core.as_ptr());
        match same {
            Some(true) => {}
            Some(false) | None => panic!(
                "a tinyloop socket was used on a loop other than the one it was created on \
                 (or outside any loop); sockets belong to their loop: create them inside \
                 the `run`/`block_on` call that uses them"
            ),
        }
    }
}

impl fmt::Debug for Registration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Registration")
            .field("token", &self.token.0)
            .field("io", &self.io)
            .finish()
    }
}
