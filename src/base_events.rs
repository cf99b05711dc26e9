//! Running a loop: asyncio's `base_events.py` (`BaseEventLoop`, `run_until_complete`) and
//! `runners.py` (`asyncio.run`).

use std::future::Future;
use std::panic::Location;
use std::pin::pin;
use std::rc::Rc;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use crate::runtime::context;
use crate::runtime::core::{Config, Core, MAIN_KEY};
use crate::runtime::waker::{Remote, Shared, TaskWaker};
use crate::task::{spawn_on, Task};

/// Runs `fut` to completion on a new loop, then cancels every task still alive (running
/// their destructors) and returns `fut`'s output: asyncio's `asyncio.run`.
///
/// # Panics
/// When a loop is already running on this thread (`.await` the future instead, or `spawn`
/// it), if the OS refuses a poller, or when `fut` panics (the panic propagates).
#[doc(alias = "asyncio.run")]
#[track_caller]
pub fn run<F: Future>(fut: F) -> F::Output {
    refuse_nested("tinyloop::run");
    let event_loop = Loop::new();
    event_loop.block_on(fut)
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
#[doc(alias = "AbstractEventLoop")]
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

    /// Settings for a new loop.
    pub fn builder() -> LoopBuilder {
        LoopBuilder {
            config: Config {
                debug: false,
                slow_poll_threshold: Duration::from_millis(100),
                virtual_time: false,
            },
        }
    }

    /// Runs the loop until `fut` completes and returns its output: asyncio's
    /// `loop.run_until_complete`. Other tasks keep their state between calls.
    ///
    /// # Panics
    /// When a loop is already running on this thread, or when `fut` panics.
    #[doc(alias = "run_until_complete")]
    #[track_caller]
    pub fn block_on<F: Future>(&self, fut: F) -> F::Output {
        refuse_nested("Loop::block_on");
        let _running = context::enter(&self.core);
        let mut fut = pin!(fut);
        let waker = Waker::from(Arc::new(TaskWaker {
            key: MAIN_KEY,
            shared: Arc::clone(&self.core.shared),
            remote_queued: AtomicBool::new(false),
        }));
        let mut output = None;
        self.core.schedule(MAIN_KEY);
        loop {
            self.core.run_once(&mut || {
                if let Poll::Ready(v) = fut.as_mut().poll(&mut Context::from_waker(&waker)) {
                    output = Some(v);
                }
            });
            if let Some(v) = output.take() {
                return v;
            }
        }
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
    pub fn handle(&self) -> LoopHandle {
        LoopHandle {
            shared: Arc::clone(&self.core.shared),
        }
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
#[derive(Debug, Clone)]
pub struct LoopBuilder {
    config: Config,
}

impl LoopBuilder {
    /// asyncio's debug mode: a task poll that runs longer than
    /// [`slow_poll_threshold`](Self::slow_poll_threshold) is reported on stderr with the
    /// task's name and spawn location.
    #[doc(alias = "set_debug")]
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

    /// Creates the loop; fails only if the OS refuses a poller.
    pub fn build(self) -> std::io::Result<Loop> {
        Ok(Loop {
            core: Core::new(self.config)?,
        })
    }
}

/// A `Send + Sync` handle to a loop, for other threads (asyncio's loop object as used with
/// `call_soon_threadsafe`).
#[derive(Clone, Debug)]
pub struct LoopHandle {
    shared: Arc<Shared>,
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
    pub fn call_soon_threadsafe(
        &self,
        f: impl FnOnce() + Send + 'static,
    ) -> Result<(), LoopClosed> {
        self.shared
            .send(Remote::Call(Box::new(f)))
            .map_err(|_| LoopClosed)
    }

    /// Whether the loop is gone.
    pub fn is_closed(&self) -> bool {
        self.shared
            .closed
            .load(std::sync::atomic::Ordering::Acquire)
    }
}
