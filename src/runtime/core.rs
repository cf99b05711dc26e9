//! The loop itself: its state and one turn, `run_once`, which mirrors asyncio's
//! `BaseEventLoop._run_once` (`base_events.py`).
//!
//! A turn, in order (each step says why it sits where it does):
//!
//! 1. **Work out how long the poller may block**: not at all if anything is ready, else until
//!    the next timer, else for ever. (asyncio: the `timeout` computed from `_ready` and
//!    `_scheduled[0]`.) Under virtual time, an idle loop jumps its clock to the next timer
//!    instead of sleeping.
//! 2. **Poll for I/O** with that timeout, and wake the tasks whose sources became ready.
//!    (asyncio: `self._selector.select(timeout)` then `_process_events`.)
//! 3. **Take in what other threads sent**: wake-ups and `call_soon_threadsafe` callbacks.
//!    (asyncio appends those to `_ready` directly under a lock and writes to its self-pipe.)
//! 4. **Move expired timers to ready**: advance the wheel to the current tick; every timer due
//!    wakes its task or queues its callback. (asyncio: pops `_scheduled` while `when < end_time`.)
//! 5. **Run what was ready when the turn began**, and only that: the length of the ready queue
//!    is read first, so a task that wakes itself (or a callback that schedules another) runs
//!    on the *next* turn, after I/O has had a look. This is what keeps one busy task from
//!    starving the poller. (asyncio: `ntodo = len(self._ready)`.)
//!    Under a seed, that batch is first put in the seed's order (`runtime/schedule.rs`).
//! 6. **Give back what a burst took**: a ready queue that grew to a million entries and has
//!    drained is shrunk (`shrink_ready`), so memory follows the load.
//!
//! "This is the only place where callbacks are actually *called*", as CPython says; in
//! tinyloop it is also the only place where task futures are polled.

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe, Location};
use std::rc::{self, Rc};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use crossbeam_channel::Receiver;

use super::clock::Clock;
use super::config::Config;
use super::join_error::JoinError;
use super::observe::trace::{By, Outcome, MAIN};
use super::observe::Observe;
use super::reactor::{Reactor, WAKE_TOKEN};
use super::schedule::Schedule;
use super::signals::SignalState;
use super::tasks::{Body, BoxedCell, MetaView, Origin, Slot, SlotInit, State, TaskKey, TaskSlab};
use super::timers::{Callback, TimerEntry, Timers};
use super::waker::{kept_by_someone, OwnKey, Remote, Shared, TaskWaker, WakeRef, NO_TAG};

/// How many turns with ready work may pass before the loop polls for I/O anyway (tokio's
/// `event_interval` is 61 for the same reason): a turn with ready tasks skips the poller's
/// syscall, but I/O must not starve behind tasks that keep waking each other.
const IO_POLL_INTERVAL: u32 = 61;

/// Ready-queue entries (8 bytes each) the loop keeps room for after a burst: a million
/// spawns grow the queue to 8 MB, and once it has drained the loop gives that back, keeping
/// this much (8 KB) so that ordinary turns never reallocate.
const READY_KEEP: usize = 1024;

/// Whether the loop should stop driving the main future, and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stop {
    /// Carry on.
    No,
    /// The check proved that nothing can ever wake the loop (`runtime/observe/deadlock.rs`).
    Deadlock { main_polls: u32 },
    /// Ctrl-C under `run`: cancel the main future (`runtime/signals.rs`).
    Interrupted,
}

/// Why `block_on` stopped before its future finished.
#[derive(Debug)]
pub(crate) enum Stopped {
    /// Nothing can ever wake the main future; the report says what it waits on.
    Deadlock(String),
    /// Ctrl-C under `run`.
    Interrupted,
}

/// The loop's state. It lives in an `Rc` shared by the `Loop`, the thread-local context and
/// the handles that need to find their way back (`Task`, `Sleep`, I/O sources).
pub(crate) struct Core {
    pub(crate) tasks: RefCell<TaskSlab>,
    /// asyncio's `_ready`: task keys, `TaskKey::MAIN` and `TaskKey::CALLBACK` markers.
    pub(super) ready: RefCell<VecDeque<TaskKey>>,
    callbacks: RefCell<VecDeque<Rc<Callback>>>,
    pub(crate) timers: RefCell<Timers>,
    pub(crate) clock: Clock,
    pub(crate) reactor: RefCell<Reactor>,
    pub(crate) shared: Arc<Shared>,
    pub(super) remote: Receiver<Remote>,
    /// The task being polled right now.
    current: Cell<Option<TaskKey>>,
    /// The waker of the task or main future being polled right now, moved out of its slot
    /// for the poll (`WakeRef::of` compares against it).
    pub(super) current_waker: Cell<*const ()>,
    /// The key of that task (`TaskKey::MAIN` for the main future).
    current_key: Cell<TaskKey>,
    /// The main future's waker while `block_on` runs (out of here while it is polled).
    pub(super) main_waker: RefCell<Option<Arc<TaskWaker>>>,
    /// The waker lent to every task that has none of its own (`runtime/waker.rs`): nobody
    /// else holds it while it sits here. Out of here while it is lent; made anew when the
    /// last one was kept by the task it was lent to.
    spare_waker: Cell<Option<Arc<TaskWaker>>>,
    /// This loop's tag in its thread's loop registry (`runtime/waker.rs`, `OwnKey`).
    tag: Cell<u16>,
    pub(super) main_scheduled: Cell<bool>,
    next_number: Cell<u64>,
    turns_since_io: Cell<u32>,
    /// Virtual time held still this turn because `to_thread` work was in flight.
    waiting_on_threads: Cell<bool>,
    closing: Cell<bool>,
    pub(crate) config: Config,
    wake_buf: RefCell<Vec<WakeRef>>,
    timer_buf: RefCell<Vec<WakeRef>>,
    /// Debug mode, the task dump, deadlock detection and the trace (`runtime/observe/mod.rs`).
    pub(crate) observe: Observe,
    /// Set by the deadlock check or by Ctrl-C; `block_on` looks after every turn.
    pub(crate) stop: Cell<Stop>,
    /// Ctrl-C, once something asked for it (`runtime/signals.rs`).
    pub(crate) signals: SignalState,
    /// FIFO, or the seed's order (`runtime/schedule.rs`).
    pub(crate) schedule: Schedule,
}

impl std::fmt::Debug for Core {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Loop")
            .field("tasks", &self.tasks.try_borrow().map_or(0, |t| t.len()))
            .field("ready", &self.ready.try_borrow().map_or(0, |r| r.len()))
            .field("timers", &self.timers.try_borrow().map_or(0, |t| t.len()))
            .field("virtual_time", &self.clock.is_virtual())
            .finish()
    }
}

thread_local! {
    /// This thread's loops, by tag (a `Loop` never leaves the thread that built it). A wake
    /// fired while another loop runs (a primitive shared by two loops used one after the
    /// other) finds its own loop here.
    pub(super) static LOOPS: RefCell<Vec<rc::Weak<Core>>> = const { RefCell::new(Vec::new()) };
}

/// Gives a new loop its tag on this thread: a free place in the registry, or [`NO_TAG`].
pub(crate) fn register_loop(core: &Rc<Core>) -> u16 {
    LOOPS
        .try_with(|loops| {
            let mut loops = loops.borrow_mut();
            let weak = Rc::downgrade(core);
            if let Some(free) = loops.iter().position(|w| w.strong_count() == 0) {
                loops[free] = weak;
                return free as u16;
            }
            if loops.len() >= usize::from(NO_TAG) {
                return NO_TAG;
            }
            loops.push(weak);
            (loops.len() - 1) as u16
        })
        .unwrap_or(NO_TAG)
}

impl Core {
    pub(crate) fn new(config: Config) -> std::io::Result<Rc<Core>> {
        let reactor = Reactor::new()?;
        let mio_waker = mio::Waker::new(reactor.registry(), WAKE_TOKEN)?;
        let (tx, rx) = crossbeam_channel::unbounded();
        let shared = Arc::new(Shared {
            remote: tx,
            mio_waker,
            parked: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            thread_work: AtomicUsize::new(0),
            handles: AtomicUsize::new(0),
            sent: AtomicBool::new(false),
        });
        let clock = Clock::new(config.virtual_time);
        let observe = Observe::new(&config, clock.now());
        let core = Rc::new(Core {
            tasks: RefCell::new(TaskSlab::default()),
            ready: RefCell::new(VecDeque::new()),
            callbacks: RefCell::new(VecDeque::new()),
            timers: RefCell::new(Timers::new()),
            clock,
            reactor: RefCell::new(reactor),
            shared,
            remote: rx,
            current: Cell::new(None),
            current_waker: Cell::new(std::ptr::null()),
            current_key: Cell::new(TaskKey::MAIN),
            main_waker: RefCell::new(None),
            spare_waker: Cell::new(None),
            tag: Cell::new(NO_TAG),
            main_scheduled: Cell::new(false),
            next_number: Cell::new(1),
            turns_since_io: Cell::new(0),
            waiting_on_threads: Cell::new(false),
            closing: Cell::new(false),
            observe,
            stop: Cell::new(Stop::No),
            signals: SignalState::default(),
            schedule: Schedule::new(config.seed),
            config,
            wake_buf: RefCell::new(Vec::new()),
            timer_buf: RefCell::new(Vec::new()),
        });
        core.tag.set(register_loop(&core));
        Ok(core)
    }

    // ----- the interface the rest of the crate uses -------------------------------------

    /// Puts a task on the ready queue unless it is already there (or finished, or gone).
    pub(crate) fn schedule(&self, key: TaskKey) {
        if key == TaskKey::MAIN {
            if !self.main_scheduled.replace(true) {
                self.observe.woke(&self.clock, MAIN);
                self.ready.borrow_mut().push_back(TaskKey::MAIN);
            }
            return;
        }
        let mut tasks = self.tasks.borrow_mut();
        let Some(slot) = tasks.get_mut(key) else {
            return;
        };
        if self.wake(slot) {
            drop(tasks);
            self.ready.borrow_mut().push_back(key);
        }
    }

    /// A wake-up reaches a task's slot (`State`'s diagram, 3c): an `Idle` task becomes
    /// `Scheduled` and the caller must push it on the ready queue (true); a `Running` one
    /// is marked `RunningWoken`, to go back on the queue when its poll returns; in any other
    /// state the wake changes nothing, so a task is never queued twice.
    #[inline]
    fn wake(&self, slot: &mut Slot) -> bool {
        match slot.state {
            State::Idle => {
                slot.state = State::Scheduled;
                self.observe.woke(&self.clock, slot.meta.number());
                true
            }
            State::Running => {
                slot.state = State::RunningWoken;
                self.observe.woke(&self.clock, slot.meta.number());
                false
            }
            State::Scheduled | State::RunningWoken | State::Done => false,
        }
    }

    /// Adds a task (asyncio's `create_task`). It first runs on a later turn, in FIFO order.
    pub(crate) fn spawn(
        &self,
        future: BoxedCell,
        name: Option<Box<str>>,
        spawned_at: &'static Location<'static>,
    ) -> TaskKey {
        let number = self.next_number.get();
        self.next_number.set(number + 1);
        self.observe
            .spawned(&self.clock, number, name.as_deref(), spawned_at);
        let origin = Origin { number, spawned_at };
        if self.closing.get() {
            // The loop is shutting down (a destructor spawned): the task is cancelled at once.
            let key = self.tasks.borrow_mut().insert(|_| SlotInit {
                state: State::Done,
                body: Body::from_result(Err(JoinError::Cancelled)),
                waker: None,
                origin,
                name,
            });
            drop(future);
            return key;
        }
        // No waker yet: it borrows the loop's spare when it runs (`run_task`).
        let key = self.tasks.borrow_mut().insert(|_| SlotInit {
            state: State::Scheduled,
            body: Body::future(future),
            waker: None,
            origin,
            name,
        });
        self.ready.borrow_mut().push_back(key);
        key
    }

    /// Asks for a task to be cancelled; its future is dropped on its next turn (or right
    /// after its current poll, if it is cancelling itself). False if it already finished.
    pub(crate) fn cancel(&self, key: TaskKey) -> bool {
        let mut tasks = self.tasks.borrow_mut();
        let Some(slot) = tasks.get_mut(key) else {
            return false;
        };
        if slot.state == State::Done {
            return false;
        }
        slot.cancel_requested = true;
        self.observe.cancelled(&self.clock, slot.meta.number());
        drop(tasks);
        self.schedule(key);
        true
    }

    pub(crate) fn is_done(&self, key: TaskKey) -> bool {
        self.tasks
            .borrow()
            .get(key)
            .is_none_or(|slot| slot.state == State::Done)
    }

    /// `Task<T>::poll`: the result once the task is done, else remembers who to wake.
    pub(crate) fn poll_join(
        &self,
        key: TaskKey,
        cx: &mut Context<'_>,
    ) -> Poll<Result<BoxedCell, JoinError>> {
        let mut tasks = self.tasks.borrow_mut();
        let Some(slot) = tasks.get_mut(key) else {
            return Poll::Ready(Err(JoinError::Cancelled));
        };
        if slot.state == State::Done {
            let result = slot.body.take_result().unwrap_or(Err(JoinError::Cancelled));
            return Poll::Ready(result);
        }
        let (waiter, stale) = match tasks.take_join_waiter(key) {
            Some(mut waiter) => {
                let stale = waiter.update_on(self, cx.waker());
                (waiter, stale)
            }
            None => (WakeRef::on(self, cx.waker()), None),
        };
        tasks.put_join_waiter(key, waiter);
        drop(tasks);
        drop(stale);
        Poll::Pending
    }

    /// Runs `f` on a finished task's result without taking it (for `wait`).
    pub(crate) fn with_result<R>(
        &self,
        key: TaskKey,
        f: impl FnOnce(Result<&dyn std::any::Any, &JoinError>) -> R,
    ) -> Option<R> {
        let tasks = self.tasks.borrow();
        let slot = tasks.get(key)?;
        if slot.state != State::Done {
            return None;
        }
        slot.body.result().map(f)
    }

    /// The `Task<T>` handle is gone: a finished task is freed, a running one detaches. A
    /// panic nobody took out of the handle is reported now, as a detached task's would be.
    pub(crate) fn release_handle(&self, key: TaskKey) {
        let mut tasks = self.tasks.borrow_mut();
        let Some(slot) = tasks.get_mut(key) else {
            return;
        };
        if slot.state == State::Done {
            if let Some(Err(JoinError::Panicked(_))) = slot.body.result() {
                report_unobserved_panic_of(&tasks, key);
            }
            let slot = tasks.remove(key);
            drop(tasks);
            drop(slot);
        } else {
            slot.has_handle = false;
            // Nobody can poll the handle again: whoever waited on it waits no more.
            let waiter = tasks.take_join_waiter(key);
            drop(tasks);
            drop(waiter);
        }
    }

    pub(crate) fn with_meta<R>(
        &self,
        key: TaskKey,
        f: impl FnOnce(&MetaView<'_>, State, u32) -> R,
    ) -> Option<R> {
        let tasks = self.tasks.borrow();
        let slot = tasks.get(key)?;
        Some(f(&tasks.meta(key)?, slot.state, slot.polls))
    }

    /// The packed key of the task (or main future) this loop is polling right now, if
    /// `waker` is that task's waker: see [`WakeRef`].
    #[inline]
    pub(crate) fn own_key(&self, waker: &Waker) -> Option<OwnKey> {
        let current = self.current_waker.get();
        let tag = self.tag.get();
        (!current.is_null() && std::ptr::eq(current, waker.data()) && tag != NO_TAG)
            .then(|| OwnKey::new(tag, self.current_key.get()))
    }

    /// Whether `waker` is the waker of the task (or main future) being polled right now, and
    /// that task has already been woken during this poll: the loop then polls it again next
    /// turn, whatever it waits on. (`timeout` uses it to put off arming its timer.)
    ///
    /// A wake from another thread is only seen once the loop takes it in, so it may answer
    /// false for a task that will in fact run again: never true for one that will not.
    #[inline]
    pub(crate) fn will_poll_again(&self, waker: &Waker) -> bool {
        let current = self.current_waker.get();
        if current.is_null() || !std::ptr::eq(current, waker.data()) {
            return false; // not the polled task's own waker (a `gather` child's, say)
        }
        let key = self.current_key.get();
        if key == TaskKey::MAIN {
            return self.main_scheduled.get();
        }
        let Ok(tasks) = self.tasks.try_borrow() else {
            return false;
        };
        tasks
            .get(key)
            .is_some_and(|slot| slot.state == State::RunningWoken)
    }

    /// This loop's tag among the loops of its thread (`WakeRef`).
    pub(crate) fn tag(&self) -> u16 {
        self.tag.get()
    }

    /// Wakes the task an [`OwnKey`] names, if it still lives (a stale key may wake a newer
    /// task in the same slot: a spurious wake, which futures tolerate).
    pub(crate) fn schedule_own(&self, own: OwnKey) {
        if own.index() == u32::MAX {
            return self.schedule(TaskKey::MAIN);
        }
        let mut tasks = self.tasks.borrow_mut();
        let Some((key, slot)) = tasks.slot_at_mut(own.index()) else {
            return;
        };
        if key.generation() as u16 != own.generation16() {
            return;
        }
        if self.wake(slot) {
            drop(tasks);
            self.ready.borrow_mut().push_back(key);
        }
    }

    /// Polls with `task`'s waker (lent, not cloned) as the current one (see
    /// [`Core::own_key`]), within a fresh cooperative budget (`runtime/coop.rs`).
    #[inline]
    pub(crate) fn poll_with<R>(
        &self,
        task: &Arc<TaskWaker>,
        poll: impl FnOnce(&mut Context<'_>) -> R,
    ) -> R {
        self.current_waker.set(Arc::as_ptr(task).cast());
        self.current_key.set(task.key());
        let waker = futures_task::waker_ref(task);
        super::coop::start();
        let out = poll(&mut Context::from_waker(&waker));
        super::coop::unlimited();
        self.current_waker.set(std::ptr::null());
        out
    }

    /// Installs (or, with `None`, removes) the main future's waker for `block_on`.
    pub(crate) fn set_main_waker(&self, waker: Option<Arc<TaskWaker>>) {
        let old = self.main_waker.replace(waker);
        drop(old);
    }

    /// Polls the main future with its waker as the current one.
    pub(crate) fn poll_main<R>(&self, poll: impl FnOnce(&mut Context<'_>) -> R) -> R {
        let main = self.main_waker.borrow();
        let task = main.as_ref().expect("block_on installed the main waker");
        self.poll_with(task, poll)
    }

    /// The key of the task being polled, if a task (not the main future) is running.
    pub(crate) fn current_task(&self) -> Option<TaskKey> {
        self.current.get()
    }

    pub(crate) fn push_callback(&self, callback: Rc<Callback>) {
        self.callbacks.borrow_mut().push_back(callback);
        self.ready.borrow_mut().push_back(TaskKey::CALLBACK);
    }

    /// After each turn `block_on` asks whether to stop: one load and a branch.
    #[inline]
    pub(crate) fn should_stop(&self) -> bool {
        self.stop.get() != Stop::No
    }

    /// Why to stop, once `should_stop` said so. A deadlock is confirmed once more before it
    /// is reported (`runtime/observe/deadlock.rs`).
    #[cold]
    pub(crate) fn take_stop(&self) -> Option<Stopped> {
        match self.stop.replace(Stop::No) {
            Stop::No => None,
            Stop::Interrupted => Some(Stopped::Interrupted),
            Stop::Deadlock { main_polls } => {
                self.confirm_deadlock(main_polls).map(Stopped::Deadlock)
            }
        }
    }

    // ----- one turn ---------------------------------------------------------------------

    /// One turn of the loop (see the module docs). `main` polls the future given to
    /// `block_on` when it is due.
    pub(crate) fn run_once(&self, main: &mut dyn FnMut()) {
        // 1. How long may the poller block? If for ever, first make sure something outside
        //    the loop can still wake it at all (`runtime/observe/deadlock.rs`).
        let timeout = self.poll_timeout().or_else(|| self.deadlock_check());

        // 2. Poll for I/O: always when we may block, else every IO_POLL_INTERVAL turns if a
        //    socket is registered, and at once when a Ctrl-C came. Otherwise a poll can bring
        //    nothing: a wake from a thread also comes through the channel (step 3).
        let turns = self.turns_since_io.get().saturating_add(1);
        if timeout != Some(Duration::ZERO)
            || (turns >= IO_POLL_INTERVAL && self.reactor.borrow().has_sources())
            || self.signals.take_raised()
        {
            self.turns_since_io.set(0);
            self.poll_io(timeout);
        } else {
            self.turns_since_io.set(turns);
        }

        // 3. Take in wake-ups and callbacks from other threads.
        self.drain_remote();

        // 4. Move expired timers to the ready queue. Unless the poller may have blocked, a
        //    clock reading taken since the last timer step is recent enough (`clock.rs`).
        self.fire_timers(timeout == Some(Duration::ZERO));

        // 5. Run what was ready when the turn began.
        let ntodo = self.ready.borrow().len();
        self.schedule.order(&self.ready, &self.callbacks, ntodo);
        for _ in 0..ntodo {
            let Some(item) = self.ready.borrow_mut().pop_front() else {
                break;
            };
            match item {
                TaskKey::MAIN => {
                    self.main_scheduled.set(false);
                    main();
                }
                TaskKey::CALLBACK => {
                    let cb = self.callbacks.borrow_mut().pop_front();
                    if let Some(cb) = cb {
                        self.run_callback(&cb);
                    }
                }
                key => self.run_task(key),
            }
        }

        // 6. After a burst, hand back most of the ready queue's buffer.
        self.shrink_ready();
    }

    /// Shrinks the ready queue once it holds less than a quarter of its room, down to twice
    /// what it holds (never below [`READY_KEEP`]): memory follows the load, and the halving
    /// keeps a queue that refills from reallocating every turn.
    #[inline]
    fn shrink_ready(&self) {
        let mut ready = self.ready.borrow_mut();
        if ready.capacity() > READY_KEEP && ready.len() < ready.capacity() / 4 {
            let keep = (ready.len() * 2).max(READY_KEEP);
            ready.shrink_to(keep);
        }
    }

    fn poll_timeout(&self) -> Option<Duration> {
        // Read the thread-work count *before* looking at the channel: a worker sends its
        // wake-up before it decrements, so a zero here means its message is visible below.
        let thread_work = self.shared.thread_work.load(Ordering::Acquire);
        if !self.ready.borrow().is_empty() || !self.remote.is_empty() {
            return Some(Duration::ZERO);
        }
        let next_tick = self.timers.borrow().next_expiration()?;
        let deadline = self.clock.instant_of(next_tick);
        if self.clock.is_virtual() {
            self.waiting_on_threads.set(thread_work > 0);
            let outside_work = thread_work > 0 || self.reactor.borrow().has_waiters();
            if !outside_work {
                // Nothing can happen before the next timer: jump straight to it.
                self.clock.advance_to(deadline);
                return Some(Duration::ZERO);
            }
        }
        Some(deadline.saturating_duration_since(self.clock.now()))
    }

    /// Step 2, and the only place the loop polls for I/O.
    fn poll_io(&self, mut timeout: Option<Duration>) {
        let mut wakers = std::mem::take(&mut *self.wake_buf.borrow_mut());
        let may_block = timeout != Some(Duration::ZERO);
        if may_block {
            // Announce that we are about to sleep, then look at the channel once more: a
            // thread that sent before seeing `parked` is caught here, one that sent after
            // will write to the mio waker. (Pairs with `Shared::send`.)
            self.shared.parked.store(true, Ordering::SeqCst);
            let threads_finished = self.waiting_on_threads.replace(false)
                && self.shared.thread_work.load(Ordering::SeqCst) == 0;
            if !self.remote.is_empty() || threads_finished {
                timeout = Some(Duration::ZERO);
            }
        }
        let blocked_since = (may_block && self.clock.is_virtual()).then(Instant::now);
        let result = self.reactor.borrow_mut().poll(timeout, &mut wakers);
        if may_block {
            self.shared.parked.store(false, Ordering::SeqCst);
        }
        if let Some(since) = blocked_since {
            self.clock.advance_by(since.elapsed());
        }
        if let Err(e) = result {
            // The poller itself failed (not EINTR, which the reactor treats as an empty
            // turn). Nothing sensible can continue without it.
            panic!("tinyloop: the OS poller failed: {e}");
        }
        self.observe.io_ready(&self.clock, wakers.len());
        for waker in wakers.drain(..) {
            waker.wake();
        }
        *self.wake_buf.borrow_mut() = wakers;
    }

    fn drain_remote(&self) {
        // Clear the flag *before* draining: a message whose flag lands after this swap sets
        // it again and is taken next turn; one whose flag came before is in the channel now.
        // (The plain load keeps the common case, no traffic, free of a read-modify-write.)
        if !self.shared.sent.load(Ordering::Relaxed)
            || !self.shared.sent.swap(false, Ordering::Acquire)
        {
            return;
        }
        self.observe.set_by(By::Thread);
        while let Ok(msg) = self.remote.try_recv() {
            match msg {
                Remote::Wake(waker) => {
                    waker.remote_queued.store(false, Ordering::Release);
                    self.schedule(waker.key());
                }
                Remote::Call(f, scheduled_at) => self.push_callback(Rc::new(Callback {
                    f: Cell::new(Some(f)),
                    timer: Cell::new(None),
                    scheduled_at,
                })),
            }
        }
    }

    fn fire_timers(&self, may_reuse_reading: bool) {
        let Some(bound) = self.timers.borrow().due_bound() else {
            return; // no timers: no need to read the clock
        };
        let now = self.clock.reading_for_timers(may_reuse_reading);
        if !self.clock.reached(bound, now) {
            return; // the usual case: one comparison of instants
        }
        let now = self.clock.tick_of(now);
        let mut wakers = std::mem::take(&mut *self.timer_buf.borrow_mut());
        self.timers.borrow_mut().advance(now, |entry| match entry {
            TimerEntry::Wake(waker) => wakers.push(waker),
            TimerEntry::Callback(cb) => {
                cb.timer.set(None);
                self.push_callback(cb);
            }
        });
        self.observe.timers_fired(&self.clock, wakers.len());
        // Wake outside the wheel's borrow: a woken waker may be user code that arms a timer.
        for waker in wakers.drain(..) {
            waker.wake();
        }
        *self.timer_buf.borrow_mut() = wakers;
    }

    /// asyncio's `Task.__step`: one poll of one task.
    fn run_task(&self, key: TaskKey) {
        let (mut future, waker) = {
            let mut tasks = self.tasks.borrow_mut();
            let Some(slot) = tasks.get_mut(key) else {
                return;
            };
            if slot.state != State::Scheduled {
                return;
            }
            let body = slot.body.take();
            if slot.cancel_requested {
                drop(tasks);
                self.finish(key, cancelled(body));
                return;
            }
            slot.state = State::Running;
            slot.polls = slot.polls.saturating_add(1);
            slot.wait_kind = 0; // what it waits on is noted afresh in each poll
            let Some(future) = body else {
                unreachable!("a scheduled task has its future")
            };
            (future, slot.waker.take())
        };
        self.current.set(Some(key));
        let watch = self.observe_poll_start(key);
        let mut poll = |waker: &Arc<TaskWaker>| {
            self.poll_with(waker, |cx| {
                catch_unwind(AssertUnwindSafe(|| match future.as_mut().poll_task(cx) {
                    Poll::Ready(Some(done)) => {
                        // A `Bare` cell's output comes in a box of its own, which takes the
                        // cell's place; the old box, the finished future, is dropped here,
                        // where a panic in its drop is caught like one in its poll.
                        drop(std::mem::replace(&mut future, done));
                        Poll::Ready(())
                    }
                    Poll::Ready(None) => Poll::Ready(()),
                    Poll::Pending => Poll::Pending,
                }))
            })
        };
        // Its own waker if someone once kept a clone of it, else the spare, pointed at it,
        // which stays the loop's unless someone kept a clone of it.
        let (polled, waker) = match waker {
            Some(own) => (poll(&own), Some(own)),
            None => {
                let spare = self.lend_spare(key);
                (poll(&spare), self.keep_or_return(spare))
            }
        };
        self.current.set(None);
        self.observe_poll_end(key, watch, &polled);

        match polled {
            Ok(Poll::Pending) => {
                let mut tasks = self.tasks.borrow_mut();
                let slot = tasks.get_mut(key).expect("a running task keeps its slot");
                slot.waker = waker;
                // What the poll noted waits in the loop (`Core::note_wait`): into the slot.
                if let Some(note) = self.observe.take_poll_note() {
                    slot.wait_kind = note.kind;
                    slot.wait_arg = note.arg;
                }
                if slot.cancel_requested {
                    drop(tasks);
                    self.finish(key, cancelled(future));
                } else {
                    slot.body.put_back(future);
                    if slot.state == State::RunningWoken {
                        slot.state = State::Scheduled;
                        drop(tasks);
                        self.ready.borrow_mut().push_back(key);
                    } else {
                        slot.state = State::Idle;
                    }
                }
            }
            Ok(Poll::Ready(())) => {
                // The next poll starts with nothing noted.
                self.observe.take_poll_note();
                // `future` is now the finished cell, holding the output.
                let cancelled_meanwhile = self
                    .tasks
                    .borrow()
                    .get(key)
                    .is_some_and(|slot| slot.cancel_requested);
                if cancelled_meanwhile {
                    // It cancelled itself and then returned in the same poll: as in asyncio's
                    // `Task.__step` (`_must_cancel`), the cancellation wins over the value.
                    self.finish(key, cancelled(future));
                } else {
                    self.finish(key, Ok(future));
                }
            }
            Err(payload) => {
                // The next poll starts with nothing noted.
                self.observe.take_poll_note();
                let msg = panic_message(&*payload);
                // Its destructors may panic again while it unwinds; the first message stands.
                let _ = catch_unwind(AssertUnwindSafe(|| drop(future)));
                self.finish(key, Err(JoinError::Panicked(msg)));
            }
        }
    }

    /// The spare waker, pointed at `key`, to poll a task that has no waker of its own.
    #[inline]
    fn lend_spare(&self, key: TaskKey) -> Arc<TaskWaker> {
        match self.spare_waker.take() {
            Some(spare) => {
                TaskWaker::rekey(&spare, key);
                spare
            }
            None => TaskWaker::new(key, &self.shared),
        }
    }

    /// After a poll with the spare `waker`: it goes back to the loop if nobody else holds
    /// it, and the task keeps nothing; if someone kept a clone, it is the
    /// task's own from now on (`Some`), its key fixed for good. A task's own waker stays its
    /// own even once its clones are gone (a future that keeps a clone, a channel of another
    /// crate say, usually drops it on each wake and clones it again on the next wait: handing
    /// it back and forth would allocate every time).
    #[inline]
    fn keep_or_return(&self, waker: Arc<TaskWaker>) -> Option<Arc<TaskWaker>> {
        if kept_by_someone(&waker) {
            return Some(waker);
        }
        // Not in the channel (that would be a clone), so no wake of it is pending: a spare
        // never carries a stale `remote_queued` into the next task it is lent to.
        debug_assert!(!waker.remote_queued.load(Ordering::Relaxed));
        let old = self.spare_waker.replace(Some(waker));
        drop(old);
        None
    }

    /// Records a task's result: for its `Task` handle to collect, or dropped at once when the
    /// task is detached (a panic is then reported on stderr, since nobody else will see it).
    fn finish(&self, key: TaskKey, result: Result<BoxedCell, JoinError>) {
        let mut tasks = self.tasks.borrow_mut();
        let Some(slot) = tasks.get_mut(key) else {
            return;
        };
        slot.state = State::Done;
        self.observe
            .done(&self.clock, slot.meta.number(), Outcome::of_result(&result));
        let waker = slot.waker.take();
        if slot.has_handle {
            slot.body = Body::from_result(result);
            let join_waker = tasks.take_join_waiter(key);
            drop(tasks);
            drop(waker);
            if let Some(w) = join_waker {
                w.wake();
            }
        } else {
            if let Err(JoinError::Panicked(msg)) = &result {
                if let Some(meta) = tasks.meta(key) {
                    report_unobserved_panic(&meta, msg);
                }
            }
            let slot = tasks.remove(key);
            drop(tasks);
            drop((slot, waker, result));
        }
    }

    // ----- shutdown ---------------------------------------------------------------------

    /// Drops every task still alive (their destructors run here, on the loop's thread),
    /// every pending callback and timer. Destructors may spawn, wake or cancel: spawns made
    /// now are cancelled at once, wakes and cancels of finished tasks do nothing.
    pub(crate) fn shutdown(&self) {
        self.closing.set(true);
        self.shared.closed.store(true, Ordering::Release);
        let mut join_wakers = Vec::new();
        loop {
            let mut doomed = Vec::new();
            {
                let mut tasks = self.tasks.borrow_mut();
                let keys: Vec<TaskKey> = tasks
                    .iter()
                    .filter(|(_, s)| s.state != State::Done)
                    .map(|(k, _)| k)
                    .collect();
                for key in keys {
                    let slot = tasks.get_mut(key).expect("key just listed");
                    slot.state = State::Done;
                    self.observe
                        .done(&self.clock, slot.meta.number(), Outcome::Cancelled);
                    doomed.push(slot.body.take());
                    let waker = slot.waker.take();
                    if slot.has_handle {
                        slot.body = Body::from_result(Err(JoinError::Cancelled));
                        // Someone (maybe on another loop) awaits it: tell them, after the borrow.
                        join_wakers.extend(tasks.take_join_waiter(key));
                        drop(waker);
                    } else {
                        let slot = tasks.remove(key);
                        drop((slot, waker));
                    }
                }
            }
            if doomed.is_empty() {
                break;
            }
            for body in doomed {
                if let Err(e) = cancelled(body) {
                    if e.is_panic() {
                        eprintln!(
                            "tinyloop: a task's destructor panicked while the loop shut down: \
                             {e}\n  (the loop reports it and carries on dropping the others)"
                        );
                    }
                }
            }
            for waker in join_wakers.drain(..) {
                waker.wake();
            }
        }
        let ready = std::mem::take(&mut *self.ready.borrow_mut());
        drop(ready);
        let callbacks = std::mem::take(&mut *self.callbacks.borrow_mut());
        drop(callbacks);
        let timers = std::mem::replace(&mut *self.timers.borrow_mut(), Timers::new());
        drop(timers);
        while let Ok(msg) = self.remote.try_recv() {
            drop(msg);
        }
    }
}

/// Drops a cancelled task's future (running its destructors) and gives the task's result:
/// `Cancelled`, or `Panicked` if a destructor panicked (the loop itself carries on).
fn cancelled<T>(future: T) -> Result<BoxedCell, JoinError> {
    match catch_unwind(AssertUnwindSafe(|| drop(future))) {
        Ok(()) => Err(JoinError::Cancelled),
        Err(payload) => Err(JoinError::Panicked(panic_message(&*payload))),
    }
}

impl Callback {
    /// Calls the function (once: a second call, or one after `cancel`, does nothing), and
    /// reports a panic on stderr so that the loop carries on.
    pub(super) fn call(&self) {
        if let Some(f) = self.f.take() {
            if let Err(payload) = catch_unwind(AssertUnwindSafe(f)) {
                eprintln!(
                    "tinyloop: a callback panicked: {}\n  (the loop reports it and carries on)",
                    panic_message(&*payload)
                );
            }
        }
    }
}

/// Reports a task's panic that no `Task` handle will ever return: the task was detached, or
/// its handle was dropped without being awaited. Once per task: its result goes with it.
fn report_unobserved_panic(meta: &MetaView<'_>, msg: &str) {
    eprintln!(
        "tinyloop: task '{}' (spawned at {}) panicked: {msg}\n  \
         (nobody awaited its Task handle, so the loop reports it here and carries on)",
        display_name(meta),
        meta.spawned_at
    );
}

/// [`report_unobserved_panic`] for the finished task `key`, whose result is a panic.
#[cold]
fn report_unobserved_panic_of(tasks: &TaskSlab, key: TaskKey) {
    let msg = tasks.get(key).and_then(|slot| match slot.body.result() {
        Some(Err(JoinError::Panicked(msg))) => Some(msg),
        _ => None,
    });
    if let (Some(msg), Some(meta)) = (msg, tasks.meta(key)) {
        report_unobserved_panic(&meta, msg);
    }
}

/// "Task-<n>" unless the task was named.
pub(crate) fn display_name(meta: &MetaView<'_>) -> String {
    match &meta.name {
        Some(name) => name.to_string(),
        None => format!("Task-{}", meta.number),
    }
}

/// The message a panic carried, if it was a string.
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(a panic payload that is not a string)".to_string()
    }
}
