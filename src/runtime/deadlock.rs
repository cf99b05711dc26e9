//! Deadlock detection: how the loop knows it is stuck, the way Go reports "fatal error: all
//! goroutines are asleep - deadlock!". (asyncio has no such check: a stuck `asyncio.run`
//! simply hangs.)
//!
//! # The argument
//!
//! `run_once` asks the poller to block *with no timeout* only when `poll_timeout` found
//! nothing ready, nothing in the cross-thread channel and no timer armed. From that moment,
//! nothing inside the loop will ever run again by itself; only something outside can still
//! wake a task or the main future:
//!
//! | what could still wake the loop      | how the loop knows about it                    |
//! |-------------------------------------|------------------------------------------------|
//! | a socket a task waits on            | `Reactor::has_waiters`                         |
//! | a `to_thread` call in flight        | `Shared::thread_work`                          |
//! | a thread holding a `LoopHandle`     | `Shared::handles` (clones and drops count)     |
//! | a `ctrl_c()` future                 | the signal state's waiter count                |
//! | a thread holding a raw `Waker`      | it cannot: a `Waker` is an opaque `Arc`        |
//!
//! If one of the countable sources exists, the loop blocks as usual. If none does, only the
//! last row could still help, so the loop gives it a **grace period**: it blocks in the poller
//! for a while of real time (not virtual: under virtual time nothing is armed, so there is
//! nothing to jump to either). If nothing at all arrived by then (no I/O, no message from
//! another thread), the main future can never be woken: the loop stops and `block_on`
//! panics (or `try_block_on` returns `Err(Deadlock)`) with a report that names what the main
//! future waits on, follows the chain of tasks awaiting tasks, and includes the task dump.
//!
//! How long to wait depends on what the main future waits on. Following its chain (main
//! awaits task 2, which awaits task 5, which waits on `Event::wait`): when it ends at one of
//! the single-threaded `sync` primitives, only code on this loop could end the wait, so
//! [`GRACE`] (50 ms) is plenty. When it ends at a future the loop cannot name (a channel
//! from another crate, a hand-written future), a thread may hold its waker, so the loop
//! waits [`LONG_GRACE`] (1 s): long enough for a thread that was merely not scheduled on a
//! busy machine.
//!
//! # False alarms and misses
//!
//! * A thread that holds a raw waker (directly, or inside a cross-thread channel that is not
//!   tinyloop's) and wakes the loop later than the grace period would be reported wrongly.
//!   Such a thread should hold a `LoopHandle` while it may wake the loop (then the loop
//!   never calls it a deadlock), or the loop can be built with
//!   `on_deadlock(OnDeadlock::Ignore)`. The report says so.
//! * A `LoopHandle` kept alive anywhere (even inside the main future) or an armed timer that
//!   never matters (a `sleep(Duration::MAX)`) keeps the loop from calling it a deadlock: the
//!   check is conservative and only speaks when it is sure.
//!
//! # Cost
//!
//! Nothing on any hot path: the check runs only when the loop is about to sleep for ever.

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::core::Core;
use super::observe::{Stop, Waiting};

/// How long the loop waits before calling it a deadlock when the main future's wait ends at
/// a primitive only this loop can signal.
pub(crate) const GRACE: Duration = Duration::from_millis(50);
/// ... and when it ends at a future the loop cannot name, which a thread might wake.
pub(crate) const LONG_GRACE: Duration = Duration::from_secs(1);

/// Why `block_on` stopped before its future finished.
#[derive(Debug)]
pub(crate) enum Stopped {
    /// Nothing can ever wake the main future; the report says what it waits on.
    Deadlock(String),
    /// Ctrl-C under `run`.
    Interrupted,
}

impl Core {
    /// Called by `run_once` when the poller would block with no timeout. Returns `None` (do
    /// block for ever) when something outside the loop can still wake it; otherwise waits out
    /// the grace period itself, marks a deadlock if nothing came, and lets the turn go on.
    pub(super) fn deadlock_grace(&self) -> Option<Duration> {
        if !self.config.detect_deadlocks || self.outside_can_wake() {
            return None;
        }
        let grace = self.grace();
        let until = Instant::now() + grace;
        loop {
            // The poller may return early with nothing new: a stale wake-up of the
            // cross-thread waker, or a signal. Only the whole grace period counts.
            let left = until.saturating_duration_since(Instant::now());
            if left.is_zero() || self.observe.stop.get() != Stop::No || !self.nothing_can_wake() {
                break;
            }
            self.poll_io(Some(left));
        }
        if self.observe.stop.get() == Stop::No && self.nothing_can_wake() {
            self.observe.stop.set(Stop::Deadlock {
                main_polls: self.main_polls(),
            });
            self.observe.grace.set(grace);
        }
        Some(Duration::ZERO)
    }

    /// [`GRACE`] when the main future's chain of waits ends at a loop-local primitive,
    /// [`LONG_GRACE`] otherwise.
    fn grace(&self) -> Duration {
        let mut wait = self.main_wait();
        let mut steps = 0;
        loop {
            match wait {
                Some(Waiting::Prim(p, _)) if p.is_loop_local() => return GRACE,
                Some(Waiting::Task(index)) if steps < 64 => {
                    let Some(key) = self.awaited_key(index) else {
                        return LONG_GRACE;
                    };
                    wait = self.wait_of(key);
                    steps += 1;
                }
                _ => return LONG_GRACE,
            }
        }
    }

    /// Whether anything the loop can count may still wake it from outside its turn.
    fn outside_can_wake(&self) -> bool {
        self.shared
            .thread_work
            .load(std::sync::atomic::Ordering::Acquire)
            > 0
            || self.shared.handles.load(Ordering::Acquire) > 0
            || self.reactor.borrow().has_waiters()
            || self.signal_waiters() > 0
    }

    fn nothing_can_wake(&self) -> bool {
        self.ready.borrow().is_empty()
            && self.remote.is_empty()
            && self.timers.borrow().next_expiration().is_none()
            && !self.outside_can_wake()
    }

    /// After each turn `block_on` asks whether to stop: one load and a branch.
    #[inline]
    pub(crate) fn should_stop(&self) -> bool {
        self.observe.stop.get() != Stop::No
    }

    /// Why to stop, once `should_stop` said so. A deadlock marked by the grace period is
    /// confirmed once more (the main future has not run since, and still nothing can wake
    /// the loop) before it is reported.
    #[cold]
    pub(crate) fn take_stop(&self) -> Option<Stopped> {
        match self.observe.stop.replace(Stop::No) {
            Stop::No => None,
            Stop::Interrupted => Some(Stopped::Interrupted),
            Stop::Deadlock { main_polls } => (main_polls == self.main_polls()
                && self.nothing_can_wake())
            .then(|| Stopped::Deadlock(self.deadlock_report(self.observe.grace.get()))),
        }
    }

    fn deadlock_report(&self, grace: Duration) -> String {
        format!(
            "deadlock: the main future is waiting and nothing can ever wake it.\n\
             No task is ready, no timer is armed, no task waits on I/O, no `to_thread` call is \
             in flight, no `ctrl_c()` is waiting and no `LoopHandle` is alive outside the loop \
             (Go would say: all goroutines are asleep).\n\
             {}.\n\n\
             {}\n\
             Something the waiting tasks need can never happen: an Event nobody will set, a \
             Queue nobody will feed, a Lock nobody will release, or tasks awaiting each other. \
             If a thread you started wakes the loop through a raw Waker (or a cross-thread \
             channel from another crate), keep a LoopHandle alive in that thread while it may \
             do so (the loop waited {grace:?} for such threads), or build the loop with \
             `.on_deadlock(OnDeadlock::Ignore)`.",
            capitalise(&self.wait_chain()),
            self.dump()
        )
    }

    /// "the main future waits on task #2 'worker', which waits on Event::wait".
    fn wait_chain(&self) -> String {
        let mut out = String::from("the main future");
        let mut wait = self.main_wait();
        let mut seen: Vec<u64> = Vec::new();
        loop {
            let Some(w) = wait else {
                out.push_str(
                    " waits on something that is not a tinyloop primitive \
                     (a future the loop cannot name, such as `std::future::pending()`)",
                );
                return out;
            };
            out.push_str(" waits on ");
            out.push_str(&self.describe_wait(w));
            let Waiting::Task(index) = w else {
                return out;
            };
            let Some(key) = self.awaited_key(index) else {
                return out;
            };
            if seen.contains(&key) {
                out.push_str(", which closes a cycle: these tasks wait for each other");
                return out;
            }
            seen.push(key);
            if self.is_done(key) {
                return out;
            }
            out.push_str(", which");
            wait = self.wait_of(key);
        }
    }
}

fn capitalise(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
