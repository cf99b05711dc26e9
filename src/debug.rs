//! Seeing inside a running loop: the task dump and deadlock reports. asyncio's counterparts
//! are debug mode (`loop.set_debug`), `asyncio.all_tasks()` with the tasks' reprs, and
//! `Task.print_stack`; Go's is the runtime's "all goroutines are asleep - deadlock!" report.
//!
//! * [`dump_tasks`] lists every task of the running loop: id, name, state, poll count, what it
//!   waits on (when it waits on a tinyloop primitive) and where it was spawned.
//! * Deadlock detection: when the future given to `run`/`block_on` waits and nothing can
//!   ever wake it, the loop stops and panics with the dump ([`OnDeadlock`], [`Deadlock`]).
//!   How the loop knows is explained in `runtime/observe/deadlock.rs`.
//! * Debug mode (`LoopBuilder::debug`) reports polls slower than
//!   `LoopBuilder::slow_poll_threshold` on stderr.
//! * The event trace and its timeline are in [`crate::trace`].
//!
//! ```
//! use std::time::Duration;
//!
//! let event_loop = tinyloop::Loop::builder().virtual_time(true).build().unwrap();
//! event_loop.block_on(async {
//!     let _worker = tinyloop::spawn_named("worker", async {
//!         tinyloop::sleep(Duration::from_secs(5)).await;
//!     });
//!     tinyloop::yield_now().await; // let the worker start and reach its sleep
//!     let dump = tinyloop::dump_tasks();
//!     assert!(dump.contains("worker"));
//!     assert!(dump.contains("sleep until +5 s"));
//! });
//! ```

use crate::runtime::context;

/// A text table of the running loop's tasks, for people: id, name, state, polls, what each
/// waits on, where it was spawned; then the main future and the loop's own counters.
/// (asyncio: `for t in asyncio.all_tasks(): print(t)`; the same data, as values, is
/// [`all_tasks`](crate::all_tasks).)
///
/// "Waiting on" is filled in when a task waits on a tinyloop primitive (`sleep`, a `Task`,
/// `to_thread`, the queues, locks, events, sockets ...): the loop cannot see inside other
/// futures.
///
/// Outside a running loop it says so.
///
/// ```
/// use std::time::Duration;
///
/// tinyloop::run(async {
///     let worker = tinyloop::spawn_named("worker", tinyloop::sleep(Duration::from_secs(60)));
///     tinyloop::yield_now().await;
///     let dump = tinyloop::dump_tasks();
///     assert!(dump.contains("worker"));
///     println!("{dump}");
///     worker.cancel();
/// });
/// ```
///
#[doc(alias = "all_tasks")]
pub fn dump_tasks() -> String {
    context::try_with_core(|core| core.dump())
        .unwrap_or_else(|| "tinyloop: no loop is running on this thread\n".to_string())
}

/// What a loop does when it finds itself deadlocked (see [`LoopBuilder::on_deadlock`]).
///
/// [`LoopBuilder::on_deadlock`]: crate::LoopBuilder::on_deadlock
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OnDeadlock {
    /// Stop: `run` and `block_on` panic with the report, `try_block_on` returns
    /// `Err(Deadlock)`. The default.
    #[default]
    Panic,
    /// Keep waiting for ever, as if there were no check. The check never mistakes a live
    /// program for a deadlock (a waker held outside the loop keeps it quiet, see
    /// [`LoopBuilder::on_deadlock`]); this is for programs that want a stuck loop to hang.
    ///
    /// [`LoopBuilder::on_deadlock`]: crate::LoopBuilder::on_deadlock
    Ignore,
}

/// The loop stopped because its main future was waiting and nothing could ever wake it.
///
/// Returned by [`Loop::try_block_on`](crate::Loop::try_block_on); `run` and `block_on` panic
/// with the same text. It reads like Go's deadlock report: what the main future waits on,
/// the chain of tasks it waits for, and the task dump.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{report}")]
pub struct Deadlock {
    report: String,
}

impl Deadlock {
    pub(crate) fn new(report: String) -> Deadlock {
        Deadlock { report }
    }

    /// The full report (the same as `Display`).
    pub fn report(&self) -> &str {
        &self.report
    }
}
