//! Deadlock detection: how the loop knows it is stuck, the way Go reports "fatal error: all
//! goroutines are asleep - deadlock!". (asyncio has no such check: a stuck `asyncio.run`
//! simply hangs.)
//!
//! The check is a proof, not a timeout: the loop reports a deadlock only when it can show
//! that no code will ever run on it again, and then it reports at once (no grace period).
//! When it cannot show that, it says nothing, however long the wait.
//!
//! # The argument
//!
//! `run_once` asks the poller to block *with no timeout* only when `poll_timeout` found
//! nothing ready, nothing in the cross-thread channel and no timer armed. From then on,
//! nothing inside the loop runs by itself. Code can only run again if some task (or the main
//! future) is scheduled, and the only ways to schedule one are:
//!
//! | what could still schedule a task    | how the loop knows about it                      |
//! |-------------------------------------|--------------------------------------------------|
//! | a timer, however far away           | the wheel; `Timers::far_len` for decades-away ones |
//! | a socket a task waits on            | `Reactor::has_waiters`                           |
//! | a `to_thread` call in flight        | `Shared::thread_work`                            |
//! | a thread holding a `LoopHandle`     | `Shared::handles` (clones and drops count)       |
//! | a `ctrl_c()` future                 | the signal state's waiter count                  |
//! | a wake already sent from a thread   | the cross-thread channel is not empty            |
//! | anyone holding a task's `Waker`     | strong count > 1 of the task's own `TaskWaker`   |
//! | code running on the loop            | impossible: nothing is ready                     |
//!
//! The last-but-one row is the heart of it. A task is polled with a `TaskWaker` `Arc` that
//! the loop lends through `futures_task::waker_ref`, without cloning it: the task's own, if
//! it has one (kept in its slot), else the loop's spare, re-keyed to the task just before
//! (`runtime/waker.rs`). The main future always uses its own, in `Core::main_waker`. Every
//! `Waker` clone anyone makes (a `futures::channel::oneshot`, `async_channel`, the
//! `futures-timer` thread, a `gather` child waker, a hand-written future) is one more strong
//! reference, and clones can only be made from the lent waker during a poll, or from other
//! clones. Right after each poll with the spare the loop reads its count: above one, the
//! `Arc` becomes the task's own for good, and its key never changes again; exactly one,
//! nobody anywhere holds a clone, nor can make one, so the `Arc` stays the spare and the task
//! owns none. Hence the loop holds exactly one strong reference to each task's own `Arc`, and
//! a task with no own `Arc` has no `Waker` naming it anywhere. The loop's *own* waits never
//! take one: the timer wheel, the waiter lists of
//! every `sync` primitive, a `Task`'s and a `TaskGroup`'s join waiter, a far `Sleep` and the
//! reactor's parked readers and writers keep
//! the task's *key*
//! ([`WakeRef::Own`](super::waker::WakeRef), packed with a tag naming the loop) whenever the
//! waker they are handed is the waker of the task the loop is polling right now, which they
//! find out by comparing the waker's data pointer with that task's `Arc` (`Core::own_key`).
//! A key can only wake the task when code on this loop's thread fires the structure holding
//! it (a timer firing, an `Event::set`, a task finishing; all these structures are `!Send`),
//! and such code cannot run unless something was scheduled first. So: if no unfinished task
//! owns an `Arc` with a strong count above one, the main future's count is one, and no other
//! row applies, no code anywhere can ever schedule anything on this loop, and the main
//! future will never be polled again. That is a deadlock, reported at once.
//!
//! Races with other threads: a thread wakes through its `Waker` clone. `TaskWaker` sends a
//! clone of its `Arc` down the channel *before* the thread's own clone can be dropped, so at
//! every instant either the count is above one or the message is in the channel. The check
//! reads the counts, then issues an `Acquire` fence (which synchronises with the `Release`
//! decrement of a dropped `Arc`), then looks at the channel, so it sees one or the other.
//! The deadlock is confirmed once more before it is reported (`take_stop`).
//!
//! When the proof fails only because of a count (a `Waker` clone or a `LoopHandle` exists),
//! the holder may drop it without ever waking the loop. The loop then blocks for at most
//! [`RECHECK`] at a time and looks again, so a program whose last outside holder went away
//! is still caught.
//!
//! # Misses (never false alarms)
//!
//! The check errs towards silence. It does not report:
//!
//! * a task waiting through `gather`, `try_gather`, `wait`, `wait_timeout` or `as_completed`
//!   (their child wakers hold clones of the parent's waker; `select` and `timeout` poll with
//!   the task's own waker and are seen through), or through any combinator or
//!   future from another crate that clones the waker (`FuturesUnordered`, a hand-written
//!   future keeping a `Waker` in an `Rc`): the loop cannot tell such a clone from one held by
//!   another thread;
//! * a loop with a `LoopHandle` alive, a far `sleep(Duration::MAX)` pending, or a task
//!   waiting on a socket, even if no one will ever use them.
//!
//! A waker built by hand from our `TaskWaker` pointer with another vtable would need
//! `unsafe` code in the user's program; we do not guard against it.
//!
//! # Cost
//!
//! Nothing on any hot path: the check runs only when the loop is about to sleep for ever;
//! it walks the task slab once (O(tasks)), and only after the cheap counters said nothing
//! else can wake the loop. The key holds are smaller than the `Waker` clones they replace, and
//! cost no atomic operations.

use std::sync::atomic::{fence, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::Waiting;
use crate::runtime::core::Core;
use crate::runtime::core::Stop;
use crate::runtime::tasks::State;
use crate::runtime::tasks::TaskKey;

/// How long the loop blocks before it looks again, when only a reference count (a waker
/// clone, a `LoopHandle`) keeps it from calling the program deadlocked.
pub(crate) const RECHECK: Duration = Duration::from_secs(1);

/// What the check found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Verdict {
    /// Something the loop tracks will wake it (a timer, I/O, a thread, a signal).
    Alive,
    /// Only a count keeps it alive: someone outside holds a waker or a `LoopHandle`.
    Held,
    /// Nothing can ever run again.
    Stuck,
}

impl Core {
    /// Called by `run_once` when the poller would block with no timeout: `None` to block for
    /// ever, [`RECHECK`] to look again later, or zero after marking a deadlock.
    pub(in crate::runtime) fn deadlock_check(&self) -> Option<Duration> {
        if !self.config.detect_deadlocks {
            return None;
        }
        match self.verdict() {
            Verdict::Alive => None,
            Verdict::Held => Some(RECHECK),
            Verdict::Stuck => {
                self.stop.set(Stop::Deadlock {
                    main_polls: self.main_polls(),
                });
                Some(Duration::ZERO)
            }
        }
    }

    fn verdict(&self) -> Verdict {
        if !self.ready.borrow().is_empty()
            || self.timers.borrow().next_expiration().is_some()
            || self.timers.borrow().far_len() > 0
            || self.shared.thread_work.load(Ordering::Acquire) > 0
            || self.reactor.borrow().has_waiters()
            || self.signal_waiters() > 0
        {
            return Verdict::Alive;
        }
        if self.shared.handles.load(Ordering::Acquire) > 0 || self.waker_held_outside() {
            return Verdict::Held;
        }
        // Pairs with the `Release` decrement of a dropped `Arc`: a thread that sent its wake
        // and then dropped its waker has its message visible in the channel now.
        fence(Ordering::Acquire);
        if !self.remote.is_empty() {
            return Verdict::Alive;
        }
        Verdict::Stuck
    }

    /// Whether any unfinished task's (or the main future's) waker has a strong reference
    /// besides the loop's own one. A task not idle counts as held (it is about to run).
    fn waker_held_outside(&self) -> bool {
        let held = |w: &Arc<_>| Arc::strong_count(w) > 1;
        if self.main_waker.borrow().as_ref().is_none_or(held) {
            return true;
        }
        let tasks = self.tasks.borrow();
        let held = tasks.iter().any(|(_, slot)| match slot.state {
            State::Done => false,
            // No waker of its own: nobody kept a clone of the one it was polled with.
            State::Idle => slot.waker.as_ref().is_some_and(held),
            State::Scheduled | State::Running | State::RunningWoken => true,
        });
        held
    }

    /// The report of a deadlock marked `main_polls` polls of the main future ago, if it
    /// still holds: the main future has not run since, and still nothing can wake the loop.
    #[cold]
    pub(crate) fn confirm_deadlock(&self, main_polls: u32) -> Option<String> {
        (main_polls == self.main_polls() && self.verdict() == Verdict::Stuck)
            .then(|| self.deadlock_report())
    }

    fn deadlock_report(&self) -> String {
        format!(
            "deadlock: the main future is waiting and nothing can ever wake it.\n\
             No task is ready, no timer is armed, no task waits on I/O, no `to_thread` call is \
             in flight, no `ctrl_c()` is waiting, no `LoopHandle` is alive outside the loop, \
             and no waker of a waiting task is held by anything but the loop itself \
             (Go would say: all goroutines are asleep).\n\
             {}.\n\n\
             {}\n\
             Something the waiting tasks need can never happen: an Event nobody will set, a \
             Queue nobody will feed, a Lock nobody will release, or tasks awaiting each other. \
             (The loop only says this when it can prove it: a waker held by a thread, a \
             channel or a timer from another crate keeps it quiet. To switch the check off, \
             build the loop with `.on_deadlock(OnDeadlock::Ignore)`.)",
            capitalise(&self.wait_chain()),
            self.dump()
        )
    }

    /// "the main future waits on task #2 'worker', which waits on Event::wait".
    fn wait_chain(&self) -> String {
        let mut out = String::from("the main future");
        let mut wait = self.main_wait();
        let mut seen: Vec<TaskKey> = Vec::new();
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

#[cfg(test)]
mod tests {
    use std::future::poll_fn;
    use std::task::Poll;

    use crate::runtime::context;
    use crate::runtime::reactor::Direction;
    use crate::runtime::registration::Registration;

    /// The reactor is one of the loop's own structures: it holds a waiting task by key, so a
    /// task waiting on a socket does not look held from outside (and owns no `Waker` clone).
    #[test]
    fn a_task_parked_on_a_socket_is_held_by_key() {
        crate::Loop::new().block_on(async {
            let core = context::current("test");
            let mut socket = mio::net::UdpSocket::bind("127.0.0.1:0".parse().unwrap()).unwrap();
            let registration =
                Registration::new(&core, &mut socket, mio::Interest::READABLE).unwrap();
            let mut ticket = None;
            // A new source starts out ready; clear that, as a read that hit WouldBlock does.
            poll_fn(|cx| {
                if let Poll::Ready(ev) =
                    registration.poll_ready(cx, Direction::Read, Some(&mut ticket))
                {
                    registration.clear_readiness(ev);
                }
                Poll::Ready(())
            })
            .await;
            poll_fn(|cx| {
                let parked = registration.poll_ready(cx, Direction::Read, Some(&mut ticket));
                assert!(parked.is_pending(), "nothing was sent: the read waits");
                assert!(core.reactor.borrow().has_waiters());
                assert!(
                    !core.waker_held_outside(),
                    "the reactor took a Waker clone instead of the task's key"
                );
                Poll::Ready(())
            })
            .await;
            registration.forget(Direction::Read, ticket);
            registration.deregister(&mut socket);
        });
    }
}
