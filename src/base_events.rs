//! Running a loop: asyncio's `base_events.py` (`BaseEventLoop`, `run_until_complete`) and
//! `runners.py` (`asyncio.run`).

use std::future::Future;
use std::panic::Location;
use std::pin::pin;
use std::rc::Rc;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::Poll;
use std::time::Duration;

use crate::debug::{Deadlock, OnDeadlock};
use crate::runtime::config::Config;
use crate::runtime::context;
use crate::runtime::core::{Core, Stopped};
use crate::runtime::schedule::seed_from_env;
use crate::runtime::tasks::TaskKey;
use crate::runtime::waker::{Remote, Shared, TaskWaker};
use crate::task::{spawn_on, Task};
use crate::trace::Trace;

/// Runs `fut` to completion on a new loop, then cancels every task still alive (running
/// their destructors) and returns `fut`'s output: asyncio's `asyncio.run`.
///
/// **Ctrl-C.** Called on the process's main thread, `run` handles Ctrl-C (SIGINT) the way
/// `asyncio.run` does: the first Ctrl-C that no [`ctrl_c()`](crate::signal::ctrl_c) future
/// takes cancels `fut` (it is dropped, its destructors run), every task is dropped, and
/// `run` panics with "interrupted by Ctrl-C" (asyncio raises `KeyboardInterrupt`). A second
/// Ctrl-C before the loop got to handle the first ends the process at once with status 130.
/// On other threads, and in [`Loop::block_on`], SIGINT is left alone (see
/// [`crate::signal`]).
///
/// **Seed.** With `TINYLOOP_SEED=N` in the environment the loop runs the seeded schedule
/// `N` (see [`LoopBuilder::seed`] and [`crate::sim`]): the line a simulation failure prints
/// replays its schedule on any program.
///
/// **Debug mode without code changes.** With the environment variable `TINYLOOP_DEBUG=1`
/// (asyncio's `PYTHONASYNCIODEBUG=1`), the loop runs in [debug mode](LoopBuilder::debug).
/// For other settings, [`Loop::builder()`](Loop::builder)`....run(fut)` is `run` with options.
///
/// ```
/// use std::time::Duration;
///
/// let answer = tinyloop::run(async {
///     tinyloop::sleep(Duration::from_millis(1)).await;
///     42
/// });
/// assert_eq!(answer, 42);
/// ```
///
/// # Panics
/// When a loop is already running on this thread (`.await` the future instead, or `spawn`
/// it), if the OS refuses a poller, when `fut` panics (the panic propagates), when the loop
/// finds itself deadlocked (see [`LoopBuilder::on_deadlock`]), on Ctrl-C (above), and when
/// `TINYLOOP_SEED` is set to something that is not a whole number.
#[doc(alias = "asyncio.run")]
#[track_caller]
pub fn run<F: Future>(fut: F) -> F::Output {
    refuse_nested("tinyloop::run");
    let event_loop = Loop::builder()
        .build()
        .unwrap_or_else(|e| panic!("tinyloop could not create its OS poller: {e}"));
    event_loop.run_to_end(fut, Location::caller())
}

impl Loop {
    /// `run`'s body, shared with [`LoopBuilder::run`]: Ctrl-C on the main thread, `fut` to
    /// completion, then the loop (and every task still alive) is dropped.
    fn run_to_end<F: Future>(self, fut: F, at: &'static Location<'static>) -> F::Output {
        if std::thread::current().name() == Some("main") {
            // Like asyncio's Runner: only the main thread takes over Ctrl-C. Failing to install
            // the handler leaves Ctrl-C with its default effect, no reason to refuse to run.
            let _ = self.core.interrupt_main_on_sigint();
        }
        match self.drive(fut, at) {
            Ok(output) => output,
            Err(Stopped::Deadlock(report)) => panic!("{report}"),
            Err(Stopped::Interrupted) => {
                drop(self);
                panic!(
                    "interrupted by Ctrl-C: `tinyloop::run` cancelled its future and dropped \
                     every task (asyncio's KeyboardInterrupt); await `tinyloop::signal::ctrl_c()` \
                     to handle Ctrl-C yourself"
                )
            }
        }
    }
}

/// Whether `TINYLOOP_DEBUG` asks for debug mode (asyncio's `PYTHONASYNCIODEBUG`): set to
/// anything but empty or `0`.
fn debug_from_env() -> bool {
    std::env::var_os("TINYLOOP_DEBUG").is_some_and(|v| !v.is_empty() && v != "0")
}

#[track_caller]
fn refuse_nested(what: &str) {
    if context::is_running() {
        panic!(
            "`{what}` was called while a tinyloop loop is already running on this thread; \
             inside async code, `.await` the future instead, or `tinyloop::spawn` it"
        );
    }
}

/// An event loop: asyncio's `AbstractEventLoop`.
///
/// One thread, one loop: a ready queue of tasks, a timer wheel, an I/O poller and a channel
/// for wake-ups from other threads. Dropping the loop drops every task still alive.
///
/// Most programs never name a `Loop`: [`run`] makes one, runs a future and drops it. Keep a
/// `Loop` to run several futures on the same tasks (asyncio's `loop.run_until_complete`).
///
/// ```
/// use tinyloop::Loop;
///
/// let lp = Loop::new();
/// let sum = lp.spawn(async { 1 + 1 }); // spawned before the loop runs
/// assert_eq!(lp.block_on(sum), Ok(2));
/// assert_eq!(lp.block_on(async { "again" }), "again");
/// ```
///
#[doc(alias = "AbstractEventLoop")]
#[doc(alias = "asyncio.Runner")]
#[doc(alias = "get_event_loop")]
#[doc(alias = "new_event_loop")]
pub struct Loop {
    core: Rc<Core>,
}

impl Loop {
    /// A loop with the default settings.
    ///
    /// # Panics
    /// Only if the OS refuses to create a poller (see [`LoopBuilder::build`] for a `Result`).
    pub fn new() -> Loop {
        Loop::builder()
            .build()
            .unwrap_or_else(|e| panic!("tinyloop could not create its OS poller: {e}"))
    }

    /// Settings for a new loop, to change with the builder's methods; finish with
    /// [`run`](LoopBuilder::run) (like [`run`](crate::run)) or [`build`](LoopBuilder::build).
    /// Debug mode starts on when the environment has `TINYLOOP_DEBUG=1` (as every asyncio loop
    /// reads `PYTHONASYNCIODEBUG`); [`debug(false)`](LoopBuilder::debug) turns it off anyway.
    /// A seed in the `TINYLOOP_SEED` environment variable is taken up as
    /// [`LoopBuilder::seed`] (so [`run`] and [`Loop::new`] honour it too).
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let lp = tinyloop::Loop::builder().virtual_time(true).build().unwrap();
    /// let start = lp.block_on(async { tinyloop::now() });
    /// lp.block_on(async { tinyloop::sleep(Duration::from_secs(3600)).await }); // at once
    /// assert_eq!(lp.block_on(async { tinyloop::now() }) - start, Duration::from_secs(3600));
    /// ```
    ///
    /// # Panics
    /// When `TINYLOOP_SEED` is set to something that is not a whole number.
    pub fn builder() -> LoopBuilder {
        LoopBuilder {
            config: Config {
                debug: debug_from_env(),
                slow_poll_threshold: Duration::from_millis(100),
                virtual_time: false,
                trace: false,
                detect_deadlocks: true,
                seed: seed_from_env(),
            },
        }
    }

    /// Runs the loop until `fut` completes and returns its output: asyncio's
    /// `loop.run_until_complete`. Other tasks keep their state between calls.
    ///
    /// # Panics
    /// When a loop is already running on this thread, when `fut` panics, or when the loop
    /// finds itself deadlocked: `fut` is waiting and nothing can ever wake it (the panic
    /// message says what it waits on and lists the tasks; see [`LoopBuilder::on_deadlock`]
    /// and [`Loop::try_block_on`]).
    ///
    /// ```
    /// let lp = tinyloop::Loop::new();
    /// let task = lp.spawn(async { "kept between calls" });
    /// lp.block_on(async { tinyloop::yield_now().await }); // the task runs here
    /// assert!(task.is_done());
    /// assert_eq!(lp.block_on(task), Ok("kept between calls"));
    /// ```
    ///
    #[doc(alias = "run_until_complete")]
    #[track_caller]
    pub fn block_on<F: Future>(&self, fut: F) -> F::Output {
        refuse_nested("Loop::block_on");
        match self.drive(fut, Location::caller()) {
            Ok(output) => output,
            Err(Stopped::Deadlock(report)) => panic!("{report}"),
            Err(Stopped::Interrupted) => unreachable!("only `run` stops on Ctrl-C"),
        }
    }

    /// [`block_on`](Self::block_on), but a deadlock is returned as `Err(Deadlock)` instead of
    /// a panic. `fut` has been dropped by then; the loop's tasks are left as they are (drop
    /// the loop to drop them). With `on_deadlock(OnDeadlock::Ignore)` this never returns `Err`.
    ///
    /// # Panics
    /// When a loop is already running on this thread, or when `fut` panics.
    #[track_caller]
    pub fn try_block_on<F: Future>(&self, fut: F) -> Result<F::Output, Deadlock> {
        refuse_nested("Loop::try_block_on");
        match self.drive(fut, Location::caller()) {
            Ok(output) => Ok(output),
            Err(Stopped::Deadlock(report)) => Err(Deadlock::new(report)),
            Err(Stopped::Interrupted) => unreachable!("only `run` stops on Ctrl-C"),
        }
    }

    /// The loop's turns around the main future, until it completes or the loop stops it
    /// (deadlock, Ctrl-C under `run`). `fut` is dropped before this returns, with the loop
    /// still installed, so its destructors may use it.
    fn drive<F: Future>(
        &self,
        fut: F,
        at: &'static Location<'static>,
    ) -> Result<F::Output, Stopped> {
        let core = &*self.core;
        let _running = context::enter(&self.core);
        let _main = core.main_begins(at);
        let mut fut = pin!(fut);
        core.set_main_waker(Some(TaskWaker::new(TaskKey::MAIN, &core.shared)));
        let mut output = None;
        core.schedule(TaskKey::MAIN);
        loop {
            core.run_once(&mut || {
                let watch = core.main_poll_start();
                let polled = core.poll_main(|cx| fut.as_mut().poll(cx));
                core.main_poll_end(watch, polled.is_ready());
                if let Poll::Ready(v) = polled {
                    output = Some(v);
                }
            });
            if let Some(v) = output.take() {
                return Ok(v);
            }
            if core.should_stop() {
                if let Some(stopped) = core.take_stop() {
                    return Err(stopped);
                }
            }
        }
    }

    /// A copy of the loop's event trace so far (`None` unless built with
    /// [`LoopBuilder::trace`]). Use it after `block_on` returns; inside the loop,
    /// [`trace::timeline`](crate::trace::timeline) and friends read the running loop's trace.
    pub fn trace_snapshot(&self) -> Option<Trace> {
        Trace::of(&self.core)
    }

    /// Spawns a task on this loop, also before `block_on` runs it (asyncio's
    /// `loop.create_task`).
    #[doc(alias = "loop.create_task")]
    #[track_caller]
    pub fn spawn<F>(&self, fut: F) -> Task<F::Output>
    where
        F: Future + 'static,
        F::Output: 'static,
    {
        spawn_on(&self.core, None, fut, Location::caller())
    }

    /// A handle that other threads can use to reach this loop.
    ///
    /// While any `LoopHandle` is alive the loop never reports a deadlock, since the thread
    /// holding it may still wake the loop. (A thread holding a task's `Waker` needs no
    /// handle: the loop counts those too.)
    pub fn handle(&self) -> LoopHandle {
        self.core
            .schedule
            .note_outside_world("a LoopHandle (other threads)");
        LoopHandle::new(Arc::clone(&self.core.shared))
    }
}

impl Default for Loop {
    fn default() -> Loop {
        Loop::new()
    }
}

impl Drop for Loop {
    fn drop(&mut self) {
        // Let destructors that call `spawn`, `sleep` or `call_soon` find this loop (spawns are
        // cancelled at once), unless another loop is running here: then stay out of its way.
        let _running = (!context::is_running()).then(|| context::enter(&self.core));
        self.core.shutdown();
    }
}

impl std::fmt::Debug for Loop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.core.fmt(f)
    }
}

/// Settings for a new [`Loop`].
///
/// Start from [`Loop::builder`], set what you need, and finish with [`run`](Self::run) (the
/// usual way: `run` with options) or [`build`](Self::build) (a [`Loop`] to keep).
///
/// ```
/// use std::time::Duration;
///
/// let out = tinyloop::Loop::builder()
///     .debug(true)                                       // asyncio's debug=True
///     .slow_poll_threshold(Duration::from_millis(50))    // slow_callback_duration
///     .virtual_time(true)                                // timers without waiting
///     .run(async {
///         tinyloop::sleep(Duration::from_secs(10)).await;
///         "ten virtual seconds later"
///     })?;
/// assert_eq!(out, "ten virtual seconds later");
/// # Ok::<(), std::io::Error>(())
/// ```
///
#[derive(Debug, Clone)]
pub struct LoopBuilder {
    config: Config,
}

impl LoopBuilder {
    /// asyncio's debug mode: a poll that runs longer than
    /// [`slow_poll_threshold`](Self::slow_poll_threshold) is reported on stderr with what ran
    /// (the task's name and spawn location, the main future and its `block_on` call, or a
    /// callback and the call that scheduled it) and how long it took. It costs two clock
    /// reads per poll, cheap enough to leave on in tests. Off by default, unless the
    /// environment has `TINYLOOP_DEBUG=1` (asyncio's `PYTHONASYNCIODEBUG`).
    ///
    /// ```
    /// let lp = tinyloop::Loop::builder().debug(true).build()?;
    /// lp.block_on(async { /* a poll over 100 ms would be reported on stderr */ });
    /// # Ok::<(), std::io::Error>(())
    /// ```
    #[doc(alias = "set_debug")]
    #[doc(alias = "PYTHONASYNCIODEBUG")]
    pub fn debug(mut self, on: bool) -> Self {
        self.config.debug = on;
        self
    }

    /// How long one poll may run before debug mode reports it (default 100 ms, as asyncio's
    /// `loop.slow_callback_duration`).
    #[doc(alias = "slow_callback_duration")]
    pub fn slow_poll_threshold(mut self, d: Duration) -> Self {
        self.config.slow_poll_threshold = d;
        self
    }

    /// Virtual time: the loop never sleeps in the OS for timers. Whenever no task is ready
    /// and no I/O or thread work is in flight, the clock jumps to the next timer, so
    /// `sleep(3600 s)` completes at once and `now()` reads an hour later. Made for tests.
    pub fn virtual_time(mut self, on: bool) -> Self {
        self.config.virtual_time = on;
        self
    }

    /// Records the loop's event trace: spawns, polls, wakes (and by whom), timers, I/O,
    /// cancellations and completions, with the loop's timestamps, in a ring of the latest
    /// 65 536 events. Read it with [`trace::timeline`](crate::trace::timeline) and
    /// [`trace::chrome_json`](crate::trace::chrome_json) inside the loop, or
    /// [`Loop::trace_snapshot`] after `block_on`. Off by default; off, it costs one branch
    /// per hook.
    pub fn trace(mut self, on: bool) -> Self {
        self.config.trace = on;
        self
    }

    /// What the loop does when the main future is waiting and nothing can ever wake it
    /// (no task ready, no timer, no I/O waiter, no `to_thread` work, no `ctrl_c()` future,
    /// no `LoopHandle` alive, and no waker of a waiting task held by anything but the loop's
    /// own primitives): [`OnDeadlock::Panic`] by default, like Go's "all goroutines are
    /// asleep"; `try_block_on` then returns `Err(Deadlock)` instead of panicking.
    /// The check is a proof, not a timeout: a waker held by a thread, a channel or a timer
    /// from another crate keeps it quiet however late it fires, and a true deadlock among
    /// tinyloop's own primitives is reported at once. [`OnDeadlock::Ignore`] switches it off.
    pub fn on_deadlock(mut self, action: OnDeadlock) -> Self {
        self.config.detect_deadlocks = action == OnDeadlock::Panic;
        self
    }

    /// Seeded schedule, for deterministic simulation (see [`crate::sim`]): whenever several
    /// things are ready at once (tasks in the ready queue, timers due in the same tick,
    /// callbacks, the wake-ups of one I/O poll), a PRNG seeded with `seed` picks their order,
    /// where the loop otherwise runs them first-in, first-out as asyncio does. The same
    /// program with the same seed runs the same schedule; combine with
    /// [`virtual_time`](Self::virtual_time) for the same timings too. The seed only ever
    /// reorders whole polls of different ready things, never the steps of one task.
    ///
    /// `Loop::builder()` starts from the `TINYLOOP_SEED` environment variable, if set; this
    /// overrides it. asyncio has no counterpart (its ready queue is always FIFO).
    ///
    /// ```
    /// use std::{cell::RefCell, rc::Rc};
    ///
    /// // The order in which five tasks, all ready in the same turn, first run.
    /// let start_order = |seed: u64| {
    ///     let event_loop = tinyloop::Loop::builder().seed(seed).build().unwrap();
    ///     event_loop.block_on(async {
    ///         let order = Rc::new(RefCell::new(Vec::new()));
    ///         let tasks: Vec<_> = (0..5)
    ///             .map(|i| {
    ///                 let order = Rc::clone(&order);
    ///                 tinyloop::spawn(async move { order.borrow_mut().push(i) })
    ///             })
    ///             .collect();
    ///         for task in tasks {
    ///             task.await.unwrap();
    ///         }
    ///         order.take()
    ///     })
    /// };
    /// assert_eq!(start_order(7), start_order(7)); // one seed, one schedule
    /// ```
    #[doc(alias = "TINYLOOP_SEED")]
    #[doc(alias = "rng_seed")]
    pub fn seed(mut self, seed: u64) -> Self {
        self.config.seed = Some(seed);
        self
    }

    /// Creates the loop; fails only if the OS refuses a poller.
    pub fn build(self) -> std::io::Result<Loop> {
        Ok(Loop {
            core: Core::new(self.config)?,
        })
    }

    /// [`tinyloop::run`](crate::run) with these settings: asyncio's `asyncio.run(main(),
    /// debug=True)`. Runs `fut` to completion on a new loop, handles Ctrl-C on the main thread
    /// and drops every task still alive afterwards, exactly as `run` does. `Err` only if the
    /// OS refuses a poller.
    ///
    /// ```
    /// use std::time::Duration;
    /// use tinyloop::Loop;
    ///
    /// let waited = Loop::builder()
    ///     .debug(true)
    ///     .virtual_time(true)
    ///     .run(async {
    ///         let start = tinyloop::now();
    ///         tinyloop::sleep(Duration::from_secs(60)).await;
    ///         tinyloop::now() - start
    ///     })?;
    /// assert_eq!(waited, Duration::from_secs(60));
    /// # Ok::<(), std::io::Error>(())
    /// ```
    ///
    /// # Panics
    /// As [`run`](crate::run): when a loop is already running on this thread, when `fut`
    /// panics, on a deadlock, and on Ctrl-C.
    #[doc(alias = "asyncio.run")]
    #[track_caller]
    pub fn run<F: Future>(self, fut: F) -> std::io::Result<F::Output> {
        refuse_nested("LoopBuilder::run");
        let at = Location::caller();
        Ok(self.build()?.run_to_end(fut, at))
    }
}

/// A `Send + Sync` handle to a loop, for other threads (asyncio's loop object as used with
/// `call_soon_threadsafe`).
///
/// The loop counts its live handles: while one exists, it never reports a deadlock.
///
/// ```
/// use std::sync::atomic::{AtomicBool, Ordering};
/// use std::sync::Arc;
/// use std::time::Duration;
///
/// let lp = tinyloop::Loop::new();
/// let handle = lp.handle();
/// let done = Arc::new(AtomicBool::new(false));
/// let flag = Arc::clone(&done);
/// let worker = std::thread::spawn(move || {
///     // ... blocking work on this thread, then hand over to the loop's thread:
///     handle.call_soon_threadsafe(move || flag.store(true, Ordering::SeqCst)).unwrap();
/// });
/// lp.block_on(async {
///     while !done.load(Ordering::SeqCst) {
///         tinyloop::sleep(Duration::from_millis(1)).await;
///     }
/// });
/// worker.join().unwrap();
/// ```
///
#[derive(Debug)]
pub struct LoopHandle {
    shared: Arc<Shared>,
}

impl LoopHandle {
    fn new(shared: Arc<Shared>) -> LoopHandle {
        shared.handles.fetch_add(1, Ordering::AcqRel);
        LoopHandle { shared }
    }
}

impl Clone for LoopHandle {
    fn clone(&self) -> LoopHandle {
        LoopHandle::new(Arc::clone(&self.shared))
    }
}

impl Drop for LoopHandle {
    fn drop(&mut self) {
        self.shared.handles.fetch_sub(1, Ordering::AcqRel);
    }
}

/// The loop a [`LoopHandle`] points at has been dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the event loop is closed (it was dropped), so it can no longer run callbacks")]
pub struct LoopClosed;

impl LoopHandle {
    /// Runs `f` on the loop's thread in one of its next turns, waking it if it is blocked
    /// (asyncio's `loop.call_soon_threadsafe`). `Err(LoopClosed)` once the loop is dropped;
    /// `f` is then dropped unrun.
    #[doc(alias = "loop.call_soon_threadsafe")]
    #[track_caller]
    pub fn call_soon_threadsafe(
        &self,
        f: impl FnOnce() + Send + 'static,
    ) -> Result<(), LoopClosed> {
        self.shared
            .send(Remote::Call(Box::new(f), Location::caller()))
            .map_err(|_| LoopClosed)
    }

    /// Whether the loop is gone.
    pub fn is_closed(&self) -> bool {
        self.shared.closed.load(Ordering::Acquire)
    }
}
