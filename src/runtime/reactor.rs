//! The I/O reactor: asyncio's `selectors` module plus the reader/writer bookkeeping of
//! `selector_events.py`, built on one `mio::Poll`.
//!
//! asyncio's selector loop keeps, per file descriptor, a reader callback and a writer
//! callback (`loop.add_reader(fd, cb)`), and `_run_once` asks the selector which fds are
//! ready and schedules their callbacks. Here the callbacks are task wakers, and the fd
//! bookkeeping is a slab of [`ScheduledIo`] entries, one per registered source.
//!
//! # Tokens and generations
//!
//! A source is registered with mio under a [`mio::Token`] that packs two numbers:
//!
//! ```text
//!   token = generation << INDEX_BITS | slab index
//! ```
//!
//! The slab index finds the entry in O(1). The generation grows each time a slab slot is
//! freed, so an event that was already queued in the kernel for an old source (same slot,
//! perhaps the same fd number) carries the old generation and is dropped instead of waking
//! the new source. The top bit of the generation is never set, so no source token can equal
//! [`WAKE_TOKEN`] (`usize::MAX`), which the loop uses for its cross-thread waker.
//!
//! # Edge-triggered readiness
//!
//! mio is edge-triggered: the OS reports a source once when it *becomes* readable, not
//! again while it stays readable. So each source remembers its readiness bits, and the rules
//! are:
//!
//! 1. An event ORs bits into the readiness and bumps the source's `tick`.
//! 2. An operation runs while the readiness says "ready"; it is retried until the OS answers
//!    `WouldBlock`. Only that answer clears the bits (nothing else knows the socket drained).
//! 3. The clearing carries the `tick` seen *before* the failed operation started, and only
//!    clears if no event arrived since (tokio issue #6133: clearing unconditionally could
//!    erase an edge that arrived between the `WouldBlock` and the clear, and the edge never
//!    comes again). In this single-threaded loop the reactor cannot run inside one
//!    operation, so the tick is belt and braces; it keeps the rule local and checkable.
//! 4. New sources start optimistic (readable and writable): the first operation just tries,
//!    which saves a loop turn when data is already there.
//!
//! # Waiters
//!
//! Each direction (read, write) of a source has a small list of parked wakers
//! (`reactor/waiters.rs`). Usually it holds zero or one, so the first is kept inline and the
//! list allocates only when several tasks share a listener or a UDP socket through `&self`.
//! An event drains the matching list into the loop's wake-up buffer. A future that parks gets a [`WaiterId`]; when it is dropped before its event
//! comes, it takes its waker back out, so an abandoned wait leaves nothing behind and
//! [`Reactor::has_waiters`] stays exact (virtual time relies on it: the clock only jumps
//! when no task waits on the outside world).
//!
//! # Life cycle of a registration
//!
//! ```text
//!   Registration::new ──register()──▶ slab slot + mio registration
//!   poll_ready / clear_readiness ...  (any number of times)
//!   Registration::deregister ───────▶ mio deregister, slot freed, generation + 1
//!   then the owner closes the fd      (deregister always comes first)
//! ```
//!
//! A registration holds a `Weak` reference to the loop core: after the loop is gone its
//! poller is closed too and there is nothing left to deregister from, so dropping a socket
//! then is harmless.

use std::cell::{Cell, RefCell};
use std::fmt;
use std::io;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use mio::event::Source;
use mio::{Interest, Token};

use super::waker::{OwnKey, WakeRef};

/// The token of the loop's cross-thread `mio::Waker` (`call_soon_threadsafe`, remote wakes).
pub(crate) const WAKE_TOKEN: Token = Token(usize::MAX);

/// The token of the loop's SIGINT self-pipe (`runtime/signals.rs`, [`Reactor::register_signals`]).
pub(crate) const SIGNAL_TOKEN: Token = Token(usize::MAX - 1);

/// How many events one `epoll_wait` may return.
const EVENTS_CAPACITY: usize = 1024;

/// Low half of a token: the slab index.
const INDEX_BITS: u32 = usize::BITS / 2;
const INDEX_MASK: usize = (1 << INDEX_BITS) - 1;
/// High half minus its top bit: the generation (so a token is never `usize::MAX`).
const GENERATION_MASK: usize = (1 << (usize::BITS - INDEX_BITS - 1)) - 1;

// Readiness bits of a source.
pub(crate) const READABLE: u8 = 0b0001;
pub(crate) const WRITABLE: u8 = 0b0010;
const READ_CLOSED: u8 = 0b0100;
const WRITE_CLOSED: u8 = 0b1000;

/// Which half of a source an operation uses: asyncio's reader or writer callback.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Direction {
    Read,
    Write,
}

impl Direction {
    /// The readiness bits that let an operation in this direction make progress.
    pub(super) fn mask(self) -> u8 {
        match self {
            Direction::Read => READABLE | READ_CLOSED,
            Direction::Write => WRITABLE | WRITE_CLOSED,
        }
    }

    fn index(self) -> usize {
        match self {
            Direction::Read => 0,
            Direction::Write => 1,
        }
    }
}

/// What [`ScheduledIo::poll_ready`] saw: the direction and the tick at that moment.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ReadyEvent {
    tick: u32,
    pub(super) dir: Direction,
}

mod waiters;

use waiters::Waiters;

/// A parked future's ticket (`None` until it first parks), so that it can take its waker
/// back out when it is dropped. Ids start at 1; id 0 marks untracked wakers.
pub(crate) type WaiterId = Option<waiters::Id>;

/// The reactor's state for one registered source: readiness and parked wakers.
///
/// Shared (`Rc`) between the reactor's slab, which updates it on events, and the socket's
/// [`Registration`], which reads it on every operation without touching the reactor.
pub(crate) struct ScheduledIo {
    readiness: Cell<u8>,
    /// Number of events delivered so far (wrapping); see rule 3 in the module docs.
    tick: Cell<u32>,
    /// The parked wakers, indexed by [`Direction::index`]. The waker of a task of this loop
    /// is held by key, as in every other structure of the loop ([`WakeRef`]): no `Arc`
    /// clone, and none of the task's own. (One `RefCell` for both: 8 bytes fewer per source.)
    waiters: RefCell<[Waiters; 2]>,
    /// The reactor's count of parked wakers over all sources.
    parked: Rc<Cell<usize>>,
}

impl ScheduledIo {
    fn new(parked: Rc<Cell<usize>>) -> ScheduledIo {
        ScheduledIo {
            readiness: Cell::new(READABLE | WRITABLE),
            tick: Cell::new(0),
            waiters: Default::default(),
            parked,
        }
    }

    /// Records an event and hands the wakers it concerns to the loop.
    fn set_ready(&self, bits: u8, wakers: &mut Vec<WakeRef>) {
        self.readiness.set(self.readiness.get() | bits);
        self.tick.set(self.tick.get().wrapping_add(1));
        let mut waiters = self.waiters.borrow_mut();
        for dir in [Direction::Read, Direction::Write] {
            let waiters = &mut waiters[dir.index()];
            // An event often reports both directions while only one has a waiter.
            if bits & dir.mask() != 0 && !waiters.is_empty() {
                self.parked.set(self.parked.get() - waiters.len());
                waiters.drain_into(wakers);
            }
        }
    }

    /// Ready if the readiness allows `dir`, else parks the task's waker and returns Pending.
    ///
    /// With a `ticket`, the waker is filed under the ticket's id (allocated on first park)
    /// so that [`forget`](Self::forget) can take it back. Without one it is filed under id
    /// 0, once per task, until the next event.
    ///
    /// `own_key_of` tells whether the waker is the polled task's own (then it is held by key,
    /// [`WakeRef`]); the reactor sits below the loop and cannot ask it, so the caller does,
    /// and only when the task parks.
    ///
    /// Inlined, with the parking out of line: most calls find the source ready, and then
    /// cost a load, a test and no call.
    #[inline]
    pub(super) fn poll_ready(
        &self,
        cx: &mut Context<'_>,
        dir: Direction,
        ticket: Option<&mut WaiterId>,
        own_key_of: impl FnOnce(&Waker) -> Option<OwnKey>,
    ) -> Poll<ReadyEvent> {
        if self.readiness.get() & dir.mask() != 0 {
            return Poll::Ready(ReadyEvent {
                tick: self.tick.get(),
                dir,
            });
        }
        self.park(cx, dir, ticket, own_key_of);
        Poll::Pending
    }

    /// [`poll_ready`](Self::poll_ready)'s slow half: files the task's waker.
    #[inline(never)]
    fn park(
        &self,
        cx: &mut Context<'_>,
        dir: Direction,
        ticket: Option<&mut WaiterId>,
        own_key_of: impl FnOnce(&Waker) -> Option<OwnKey>,
    ) {
        let waker = cx.waker();
        let own = own_key_of(waker);
        let mut all = self.waiters.borrow_mut();
        let waiters = &mut all[dir.index()];
        let entry = match &ticket {
            Some(Some(id)) => waiters.find(|i, _| i == *id),
            Some(None) => None,
            None => waiters.find(|i, w| i == 0 && w.holds(own, waker)),
        };
        let mut replaced = None;
        match entry {
            // Parked already (a spurious or early poll): keep the entry, refresh the waker.
            Some(parked) => {
                if !parked.holds(own, waker) {
                    replaced = Some(std::mem::replace(parked, WakeRef::from_parts(own, waker)));
                }
            }
            None => {
                let id = match ticket {
                    Some(slot) => *slot.insert(waiters.new_id()),
                    None => 0,
                };
                waiters.push(id, WakeRef::from_parts(own, waker));
                self.parked.set(self.parked.get() + 1);
            }
        }
        // A replaced waker is dropped outside the borrow: its destructor is foreign code.
        drop(all);
        drop(replaced);
    }

    /// Clears `bits` unless an event arrived after `ev` was taken (rule 3).
    pub(super) fn clear_readiness(&self, ev: ReadyEvent, bits: u8) {
        if self.tick.get() == ev.tick {
            self.readiness.set(self.readiness.get() & !bits);
        }
    }

    /// Takes back the waker parked under `id`, if the reactor has not already taken it.
    pub(super) fn forget(&self, dir: Direction, id: waiters::Id) {
        let taken = self.waiters.borrow_mut()[dir.index()].remove(id);
        if taken.is_some() {
            self.parked.set(self.parked.get() - 1);
        }
        drop(taken); // after the borrow: a `Waker`'s destructor is foreign code
    }

    /// Drops every parked waker (the source is going away).
    pub(super) fn forget_all(&self) {
        let mut taken = Vec::new();
        for waiters in self.waiters.borrow_mut().iter_mut() {
            waiters.drain_into(&mut taken);
        }
        self.parked.set(self.parked.get() - taken.len());
        drop(taken); // after the borrow, as in `forget`
    }
}

impl fmt::Debug for ScheduledIo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let r = self.readiness.get();
        f.debug_struct("ScheduledIo")
            .field("readable", &(r & (READABLE | READ_CLOSED) != 0))
            .field("writable", &(r & (WRITABLE | WRITE_CLOSED) != 0))
            .field("read_waiters", &self.waiters.borrow()[0].len())
            .field("write_waiters", &self.waiters.borrow()[1].len())
            .finish()
    }
}

/// One slab slot.
struct Slot {
    generation: usize,
    io: Option<Rc<ScheduledIo>>,
}

/// The loop's poller and its registered sources (see the module docs).
pub(crate) struct Reactor {
    poll: mio::Poll,
    events: mio::Events,
    slots: Vec<Slot>,
    /// Indexes of free slots, reused last-in first-out.
    free: Vec<usize>,
    len: usize,
    parked: Rc<Cell<usize>>,
    /// Woken when [`SIGNAL_TOKEN`] fires, once Ctrl-C is listened for.
    signal_waker: Option<Waker>,
}

impl Reactor {
    pub(crate) fn new() -> io::Result<Reactor> {
        Ok(Reactor {
            poll: mio::Poll::new()?,
            events: mio::Events::with_capacity(EVENTS_CAPACITY),
            slots: Vec::new(),
            free: Vec::new(),
            len: 0,
            parked: Rc::new(Cell::new(0)),
            signal_waker: None,
        })
    }

    /// Registers the SIGINT self-pipe under [`SIGNAL_TOKEN`]; `waker` is handed back from
    /// `poll` whenever it becomes readable.
    pub(crate) fn register_signals(
        &mut self,
        source: &mut (impl Source + ?Sized),
        waker: Waker,
    ) -> io::Result<()> {
        self.poll
            .registry()
            .register(source, SIGNAL_TOKEN, Interest::READABLE)?;
        self.signal_waker = Some(waker);
        Ok(())
    }

    /// The core builds its cross-thread `mio::Waker` on this, under [`WAKE_TOKEN`].
    pub(crate) fn registry(&self) -> &mio::Registry {
        self.poll.registry()
    }

    /// One wait for readiness, at most `timeout` (`None` = until something happens).
    ///
    /// Pushes the wakers of sources that became ready into `wakers`; the core wakes them
    /// after it has released its borrow of the reactor. Returns whether [`WAKE_TOKEN`]
    /// fired. A signal interrupting the wait (EINTR) is an empty turn, not an error.
    pub(crate) fn poll(
        &mut self,
        timeout: Option<Duration>,
        wakers: &mut Vec<WakeRef>,
    ) -> io::Result<bool> {
        match self.poll.poll(&mut self.events, timeout) {
            Ok(()) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return Ok(false),
            Err(e) => return Err(e),
        }
        let mut woken = false;
        for event in self.events.iter() {
            let token = event.token();
            if token == WAKE_TOKEN {
                woken = true;
                continue;
            }
            if token == SIGNAL_TOKEN {
                // Ctrl-C: the loop takes it in when it wakes this waker (`runtime/signals.rs`).
                wakers.extend(self.signal_waker.clone().map(WakeRef::Other));
                continue;
            }
            let (index, generation) = unpack(token);
            let Some(Slot {
                generation: current,
                io: Some(io),
            }) = self.slots.get(index)
            else {
                continue;
            };
            if *current != generation {
                continue; // queued for a source that has since been deregistered
            }
            io.set_ready(readiness_of(event), wakers);
        }
        Ok(woken)
    }

    /// Whether any task waits on I/O (some source has a parked read or write waker).
    pub(crate) fn has_waiters(&self) -> bool {
        self.parked.get() > 0
    }

    /// Number of registered sources.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Whether a socket (any registered source) is there for a busy loop to poll. The other
    /// two events a poll can bring need no polling while the loop is busy: a wake from
    /// another thread is also sent down the loop's channel, which the loop reads every turn,
    /// and a SIGINT also raises a flag the loop looks at every turn (`SignalState::raised`).
    #[inline]
    pub(crate) fn has_sources(&self) -> bool {
        self.len > 0
    }

    /// Registers `source` for `interest` under a fresh token.
    pub(super) fn register(
        &mut self,
        source: &mut (impl Source + ?Sized),
        interest: Interest,
    ) -> io::Result<(Token, Rc<ScheduledIo>)> {
        let index = match self.free.pop() {
            Some(index) => index,
            None => {
                if self.slots.len() > INDEX_MASK {
                    return Err(io::Error::other(
                        "tinyloop: too many registered I/O sources",
                    ));
                }
                self.slots.push(Slot {
                    generation: 0,
                    io: None,
                });
                self.slots.len() - 1
            }
        };
        let slot = &mut self.slots[index];
        let token = pack(index, slot.generation);
        if let Err(e) = self.poll.registry().register(source, token, interest) {
            self.free.push(index);
            return Err(e);
        }
        let io = Rc::new(ScheduledIo::new(Rc::clone(&self.parked)));
        slot.io = Some(Rc::clone(&io));
        self.len += 1;
        Ok((token, io))
    }

    /// Deregisters `source` and frees its slot; later events for `token` are stale.
    pub(super) fn deregister(&mut self, source: &mut (impl Source + ?Sized), token: Token) {
        // An error here means the fd is already gone from the poller: nothing to undo.
        let _ = self.poll.registry().deregister(source);
        let (index, generation) = unpack(token);
        if let Some(slot) = self.slots.get_mut(index) {
            if slot.generation == generation {
                if let Some(io) = slot.io.take() {
                    io.forget_all();
                    self.len -= 1;
                }
                slot.generation = (slot.generation + 1) & GENERATION_MASK;
                self.free.push(index);
            }
        }
    }
}

impl fmt::Debug for Reactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Reactor")
            .field("sources", &self.len())
            .field("waiters", &self.parked.get())
            .finish()
    }
}

fn pack(index: usize, generation: usize) -> Token {
    Token((generation << INDEX_BITS) | index)
}

fn unpack(token: Token) -> (usize, usize) {
    (token.0 & INDEX_MASK, token.0 >> INDEX_BITS)
}

/// Translates a mio event into readiness bits. An error wakes both directions: the next
/// operation will fetch the error from the socket and return it.
fn readiness_of(event: &mio::event::Event) -> u8 {
    let mut bits = 0;
    if event.is_readable() {
        bits |= READABLE;
    }
    if event.is_writable() {
        bits |= WRITABLE;
    }
    if event.is_read_closed() {
        bits |= READ_CLOSED;
    }
    if event.is_write_closed() {
        bits |= WRITE_CLOSED;
    }
    if event.is_error() {
        bits |= READABLE | WRITABLE;
    }
    bits
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::task::Wake;

    struct CountWake(std::sync::atomic::AtomicUsize);
    impl Wake for CountWake {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        }
    }

    fn udp() -> mio::net::UdpSocket {
        mio::net::UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap()
    }

    #[test]
    fn a_source_stays_small() {
        // Every registered socket costs one of these behind an `Rc` (16 bytes more): at 88
        // bytes the allocation is 112 with malloc's header, the bench's idle-tcp row.
        assert!(
            std::mem::size_of::<ScheduledIo>() <= 88,
            "{}",
            std::mem::size_of::<ScheduledIo>()
        );
    }

    #[test]
    fn tokens_never_collide_with_the_wake_token() {
        assert_ne!(pack(INDEX_MASK, GENERATION_MASK), WAKE_TOKEN);
        assert_eq!(unpack(pack(7, 3)), (7, 3));
        assert_eq!(
            unpack(pack(INDEX_MASK, GENERATION_MASK)),
            (INDEX_MASK, GENERATION_MASK)
        );
    }

    #[test]
    fn a_reused_slot_gets_a_new_generation() {
        let mut reactor = Reactor::new().unwrap();
        let mut a = udp();
        let (ta, _) = reactor.register(&mut a, Interest::READABLE).unwrap();
        assert_eq!(reactor.len(), 1);
        reactor.deregister(&mut a, ta);
        assert_eq!(reactor.len(), 0);
        let mut b = udp();
        let (tb, io_b) = reactor.register(&mut b, Interest::READABLE).unwrap();
        assert_eq!(unpack(ta).0, unpack(tb).0, "the slot is reused");
        assert_ne!(ta, tb, "but under a new generation");
        // Deregistering with the stale token must not free b's slot.
        reactor.deregister(&mut udp(), ta);
        assert_eq!(reactor.len(), 1);
        drop(io_b);
    }

    #[test]
    fn an_event_between_wouldblock_and_clear_is_not_lost() {
        let parked = Rc::new(Cell::new(0));
        let io = ScheduledIo::new(Rc::clone(&parked));
        let waker = Waker::from(Arc::new(CountWake(0.into())));
        let mut cx = Context::from_waker(&waker);
        // Readable at first (optimistic); an operation starts under this tick ...
        let Poll::Ready(ev) = io.poll_ready(&mut cx, Direction::Read, None, |_| None) else {
            panic!("new sources start ready")
        };
        // ... an edge arrives before the operation's WouldBlock is acted on ...
        let mut wakers = Vec::new();
        io.set_ready(READABLE, &mut wakers);
        // ... so the clear must keep the readiness that edge reported.
        io.clear_readiness(ev, ev.dir.mask());
        assert!(io
            .poll_ready(&mut cx, Direction::Read, None, |_| None)
            .is_ready());

        // Without an intervening event the clear takes effect and the task parks.
        let Poll::Ready(ev) = io.poll_ready(&mut cx, Direction::Read, None, |_| None) else {
            panic!()
        };
        io.clear_readiness(ev, ev.dir.mask());
        assert!(io
            .poll_ready(&mut cx, Direction::Read, None, |_| None)
            .is_pending());
        assert_eq!(parked.get(), 1);
        io.set_ready(READABLE, &mut wakers);
        assert_eq!((wakers.len(), parked.get()), (1, 0));
    }

    #[test]
    fn tickets_park_once_and_forget_only_their_own_waker() {
        let parked = Rc::new(Cell::new(0));
        let io = ScheduledIo::new(Rc::clone(&parked));
        let waker = Waker::from(Arc::new(CountWake(0.into())));
        let mut cx = Context::from_waker(&waker);
        let ev = ScheduledIo::poll_ready(&io, &mut cx, Direction::Write, None, |_| None);
        let Poll::Ready(ev) = ev else { panic!() };
        io.clear_readiness(ev, ev.dir.mask());
        let (mut first, mut second) = (None, None);
        assert!(io
            .poll_ready(&mut cx, Direction::Write, Some(&mut first), |_| None)
            .is_pending());
        assert!(io
            .poll_ready(&mut cx, Direction::Write, Some(&mut first), |_| None)
            .is_pending());
        assert!(io
            .poll_ready(&mut cx, Direction::Write, Some(&mut second), |_| None)
            .is_pending());
        assert_eq!(
            parked.get(),
            2,
            "a re-poll under the same ticket does not park twice"
        );
        io.forget(Direction::Write, first.unwrap());
        assert_eq!(parked.get(), 1);
        let mut wakers = Vec::new();
        io.set_ready(WRITABLE, &mut wakers);
        assert_eq!((wakers.len(), parked.get()), (1, 0));
        io.forget(Direction::Write, second.unwrap()); // already woken: nothing to take back
        assert_eq!(parked.get(), 0);
    }

    #[test]
    fn a_short_read_keeps_the_closed_edge() {
        let io = ScheduledIo::new(Rc::new(Cell::new(0)));
        let waker = Waker::from(Arc::new(CountWake(0.into())));
        let mut cx = Context::from_waker(&waker);
        // Data and FIN arrive in one event.
        io.set_ready(READABLE | READ_CLOSED, &mut Vec::new());
        let Poll::Ready(ev) = io.poll_ready(&mut cx, Direction::Read, None, |_| None) else {
            panic!()
        };
        // A short read clears only the plain bit (what `Registration::clear_drained` does) ...
        io.clear_readiness(ev, READABLE);
        // ... so the next read still runs, and sees EOF instead of waiting forever.
        assert!(io
            .poll_ready(&mut cx, Direction::Read, None, |_| None)
            .is_ready());
    }
}
