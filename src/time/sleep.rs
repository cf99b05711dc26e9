//! `sleep` and `sleep_until`: asyncio's `asyncio.sleep`.

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use crate::runtime::clock::{Clock, NEVER_TICK};
use crate::runtime::context;
use crate::runtime::core::Core;
use crate::runtime::timers::TimerEntry;
use crate::runtime::waker::WakeRef;
use crate::runtime::wheel::TimerKey;
use crate::runtime::WaitOn;

/// Waits for `d` to pass: asyncio's `asyncio.sleep(d)`.
///
/// `sleep(Duration::ZERO)` gives other tasks one turn, like `asyncio.sleep(0)`. Huge
/// durations saturate: `sleep(Duration::MAX)` never fires and never panics.
///
/// ```
/// use std::time::Duration;
///
/// tinyloop::run(async {
///     let start = tinyloop::now();
///     tinyloop::sleep(Duration::from_millis(5)).await;
///     assert!(tinyloop::now() - start >= Duration::from_millis(5)); // never early
/// });
/// ```
///
/// # Panics
/// When no loop is running on this thread.
#[doc(alias = "asyncio.sleep")]
pub fn sleep(d: Duration) -> Sleep {
    sleep_on(context::current("tinyloop::sleep"), d)
}

/// A `timeout`'s `Sleep`: lazy, and its clock not started until it first waits
/// ([`Unarmed::LazyFor`]). A zero or saturated duration takes the plain lazy path.
pub(crate) fn timeout_sleep(core: Rc<Core>, d: Duration) -> Sleep {
    match i64::try_from(d.as_nanos()) {
        Ok(nanos) if nanos > 0 => Sleep {
            core,
            deadline: nanos,
            state: SleepState::Unarmed(Unarmed::LazyFor),
        },
        _ => sleep_on(core, d).lazy(),
    }
}

pub(crate) fn sleep_on(core: Rc<Core>, d: Duration) -> Sleep {
    let deadline = core.clock.nanos_after(core.clock.now(), d);
    let mut sleep = Sleep {
        core,
        deadline,
        state: SleepState::Unarmed(Unarmed::New),
    };
    if d.is_zero() {
        sleep.state = SleepState::Unarmed(Unarmed::YieldOnce);
    }
    sleep
}

/// Waits until `deadline` (on the loop's clock, see [`now`](crate::now)).
///
/// ```
/// use std::time::Duration;
///
/// tinyloop::run(async {
///     let deadline = tinyloop::now() + Duration::from_millis(5);
///     tinyloop::sleep_until(deadline).await;
///     assert!(tinyloop::now() >= deadline);
/// });
/// ```
///
/// # Panics
/// When no loop is running on this thread.
pub fn sleep_until(deadline: Instant) -> Sleep {
    Sleep::new(context::current("tinyloop::sleep_until"), deadline)
}

/// The future returned by [`sleep`] and [`sleep_until`].
///
/// It arms its timer on its first poll and disarms it when dropped, so a `Sleep` that is
/// dropped early (a lost `select`, a cancelled task) leaves the wheel at once.
#[must_use = "futures do nothing unless awaited"]
pub struct Sleep {
    core: Rc<Core>,
    /// Nanoseconds since the loop's origin (`Clock::nanos_of`): half the size of an `Instant`.
    deadline: i64,
    state: SleepState,
}

/// Where a `Sleep` is, in 8 bytes: a [`TimerKey`]'s generation is never 0, and that one spare
/// value tells `Unarmed` apart, so a `Sleep` is 24 bytes (the loop, the deadline, this). A
/// flat enum would need a tag beside the key, and every sleeping task would pay 8 bytes
/// more (DESIGN.md, "Memory per task").
#[derive(Debug)]
enum SleepState {
    /// Armed in the wheel. Or, when the deadline is decades away (a saturated duration, see
    /// [`Sleep::is_far`]), never armed, since it never fires: the waiting task is parked in
    /// the timers' far table instead ([`Timers::park_far`]), so that a `reset` to a nearer
    /// deadline can arm the timer for it, and the loop counts it there so that it is never
    /// taken for a deadlock.
    ///
    /// [`Timers::park_far`]: crate::runtime::timers::Timers::park_far
    Armed(TimerKey),
    Unarmed(Unarmed),
}

#[derive(Debug, Clone, Copy)]
enum Unarmed {
    /// Not polled yet (or reset before it was armed).
    New,
    /// Not polled yet, and a `timeout`'s: a poll that finds its task already woken during
    /// this poll (the inner future woke itself, say) leaves the timer unarmed, since the loop
    /// polls the task again next turn anyway; most guarded futures finish before the timer
    /// is ever armed. It cannot be missed: a poll that finds the task not woken arms it (a
    /// deadline already passed then fires at the wheel's next advance, as for any timer armed
    /// late), and a second put-off in a row reads the clock and fires if the deadline has
    /// passed. Only the first put-off skips that read, since the next poll, a turn later, arms
    /// or checks: the timeout fires at most one turn later than if armed at once, never early.
    Lazy,
    /// A lazy `Sleep` put off once: the next poll arms it, or checks the deadline.
    PutOff,
    /// A `timeout`'s ([`timeout_sleep`]): lazy like `Lazy`, and its clock not started
    /// yet: `deadline` holds the duration, not a point in time. The first poll that needs the
    /// deadline (to arm the timer, or a second put-off) reads the clock and fixes it that long
    /// from then ([`Sleep::start_clock`]), as asyncio's `wait_for` starts its clock when it
    /// first runs, not when it is made. Later than its creation, never earlier: the timeout
    /// never fires early, and at most a turn late (when the first poll put it off). A timeout
    /// whose future finishes before that never reads the clock, which on a virtual machine
    /// costs tens of nanoseconds: a third of such a timeout.
    LazyFor,
    /// `LazyFor` put off once: its clock still not started.
    PutOffFor,
    /// `sleep(ZERO)`: yield once, like `asyncio.sleep(0)`, without touching the wheel.
    YieldOnce,
    /// Yielded once; done at the next poll.
    Yielded,
    /// Fired, or yielded: every later poll is `Ready`.
    Done,
}

impl Sleep {
    pub(crate) fn new(core: Rc<Core>, deadline: Instant) -> Sleep {
        Sleep {
            deadline: core.clock.nanos_of(deadline),
            core,
            state: SleepState::Unarmed(Unarmed::New),
        }
    }

    /// When it fires. (For a `timeout` that has not waited yet, whose clock has not
    /// started: its duration from now.)
    pub fn deadline(&self) -> Instant {
        self.core.clock.instant_at(self.deadline_nanos())
    }

    /// The deadline, from the loop's origin; see [`Sleep::deadline`].
    #[inline]
    fn deadline_nanos(&self) -> i64 {
        match self.state {
            SleepState::Unarmed(Unarmed::LazyFor | Unarmed::PutOffFor) => {
                // `deadline` holds the duration (positive nanoseconds): from now. Past
                // `i64::MAX` it saturates, decades away, where a deadline never fires.
                let now = self.core.clock.nanos_of(self.core.clock.now());
                now.saturating_add(self.deadline)
            }
            _ => self.deadline,
        }
    }

    /// Fixes the deadline of a `Sleep` whose clock has not started ([`Unarmed::LazyFor`]):
    /// its duration from now. The state becomes the same step with the clock started.
    #[inline]
    fn start_clock(&mut self) {
        let started = match self.state {
            SleepState::Unarmed(Unarmed::LazyFor) => Unarmed::Lazy,
            SleepState::Unarmed(Unarmed::PutOffFor) => Unarmed::PutOff,
            _ => return,
        };
        self.deadline = self.deadline_nanos();
        self.state = SleepState::Unarmed(started);
    }

    /// Whether it has fired.
    pub fn is_elapsed(&self) -> bool {
        matches!(self.state, SleepState::Unarmed(Unarmed::Done))
    }

    /// Moves the deadline (asyncio's `Timeout.reschedule`); a fired `Sleep` becomes pending again.
    ///
    /// A task already waiting on this `Sleep` keeps waiting and is woken at the new deadline,
    /// also when `reset` is called from another task or a callback.
    pub fn reset(&mut self, deadline: Instant) {
        let waiter = self.disarm();
        self.deadline = self.core.clock.nanos_of(deadline);
        self.state = SleepState::Unarmed(Unarmed::New);
        if let Some(waiter) = waiter {
            self.arm(waiter);
        }
    }

    /// Takes the timer out of the wheel (or the far table) and returns who waited on it.
    fn disarm(&mut self) -> Option<WakeRef> {
        let SleepState::Armed(key) = self.state else {
            return None;
        };
        self.state = SleepState::Unarmed(Unarmed::New);
        let mut timers = self.core.timers.borrow_mut();
        if self.is_far() {
            return Some(timers.unpark_far(key));
        }
        match timers.remove(key) {
            Some(TimerEntry::Wake(waiter)) => Some(waiter),
            Some(TimerEntry::Callback(_)) => unreachable!("a Sleep's key names a waker"),
            None => None,
        }
    }

    /// Whether the deadline is decades away (a saturated duration): such a `Sleep` never
    /// fires, so it is never put in the wheel ([`SleepState::Armed`]).
    fn is_far(&self) -> bool {
        Clock::tick_at_nanos(self.deadline) >= NEVER_TICK
    }

    /// Makes a new `Sleep` put off arming its timer while its task is already woken (see
    /// [`Unarmed::Lazy`]). For `timeout`, which polls its `Sleep` only after the inner
    /// future returned `Pending`.
    #[inline]
    pub(crate) fn lazy(mut self) -> Sleep {
        // (`timeout_sleep` makes the other lazy kind, whose clock has not started.)
        if matches!(self.state, SleepState::Unarmed(Unarmed::New)) {
            self.state = SleepState::Unarmed(Unarmed::Lazy);
        }
        self
    }

    /// A poll of a lazy `Sleep` whose task is already woken: the loop polls the task again next
    /// turn anyway, so the timer need not be armed yet. A put-off that follows another checks
    /// the deadline itself (see [`Unarmed::Lazy`] for why the first need not).
    fn put_off_arming(&mut self) -> Poll<()> {
        match self.state {
            SleepState::Unarmed(Unarmed::LazyFor) => {
                self.state = SleepState::Unarmed(Unarmed::PutOffFor);
                return Poll::Pending;
            }
            // The second put-off: the clock starts now, so the deadline has not passed.
            SleepState::Unarmed(Unarmed::PutOffFor) => {
                self.start_clock();
                return Poll::Pending;
            }
            _ => {}
        }
        if matches!(self.state, SleepState::Unarmed(Unarmed::PutOff)) && self.has_passed() {
            self.state = SleepState::Unarmed(Unarmed::Done);
            return Poll::Ready(());
        }
        self.state = SleepState::Unarmed(Unarmed::PutOff);
        Poll::Pending
    }

    /// Whether the clock has reached the deadline (a clock read).
    fn has_passed(&self) -> bool {
        self.core.clock.nanos_of(self.core.clock.now()) >= self.deadline
    }

    /// Arms the timer for `waiter` at `self.deadline` and notes the wait.
    fn arm(&mut self, waiter: WakeRef) {
        if self.is_far() {
            // It never fires, so nothing to arm; but its waiter is kept, and counted.
            let key = self.core.timers.borrow_mut().park_far(waiter);
            self.state = SleepState::Armed(key);
            self.core.note_wait(WaitOn::Timer(u64::MAX));
            return;
        }
        // No clock read here: a deadline already in the past maps to a tick the wheel
        // has passed, and the wheel fires such an entry at its next advance.
        let tick = Clock::tick_at_nanos(self.deadline);
        let entry = TimerEntry::Wake(waiter);
        let key = self.core.timers.borrow_mut().insert(tick, entry);
        self.state = SleepState::Armed(key);
        self.core.note_wait(WaitOn::Timer(tick));
    }

    /// A poll of a far `Sleep` (see [`Sleep::is_far`]): it stays pending for ever, or until
    /// a `reset`; its waiter is brought up to date.
    fn poll_far(&self, key: TimerKey, cx: &Context<'_>) -> Poll<()> {
        let stale = self
            .core
            .timers
            .borrow_mut()
            .far_waiter(key)
            .update_on(&self.core, cx.waker());
        drop(stale);
        self.core.note_wait(WaitOn::Timer(u64::MAX));
        Poll::Pending
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        match &mut this.state {
            SleepState::Unarmed(Unarmed::Done) => Poll::Ready(()),
            SleepState::Unarmed(Unarmed::Yielded) => {
                this.state = SleepState::Unarmed(Unarmed::Done);
                Poll::Ready(())
            }
            SleepState::Unarmed(Unarmed::YieldOnce) => {
                this.state = SleepState::Unarmed(Unarmed::Yielded);
                cx.waker().wake_by_ref();
                Poll::Pending
            }
            SleepState::Unarmed(
                Unarmed::Lazy | Unarmed::PutOff | Unarmed::LazyFor | Unarmed::PutOffFor,
            ) if this.core.will_poll_again(cx.waker()) => this.put_off_arming(),
            SleepState::Unarmed(
                Unarmed::New
                | Unarmed::Lazy
                | Unarmed::PutOff
                | Unarmed::LazyFor
                | Unarmed::PutOffFor,
            ) => {
                this.start_clock();
                let waiter = WakeRef::on(&this.core, cx.waker());
                this.arm(waiter);
                Poll::Pending
            }
            SleepState::Armed(key) => {
                let key = *key;
                if this.is_far() {
                    return this.poll_far(key, cx);
                }
                let mut timers = this.core.timers.borrow_mut();
                let core = &this.core;
                match timers.update_waker(key, |waiter| waiter.update_on(core, cx.waker())) {
                    // Fired: the wheel gave the entry up when it woke us.
                    None => {
                        drop(timers);
                        this.state = SleepState::Unarmed(Unarmed::Done);
                        Poll::Ready(())
                    }
                    Some(stale) => {
                        let tick = timers.deadline(key);
                        drop(timers);
                        drop(stale);
                        if let Some(tick) = tick {
                            this.core.note_wait(WaitOn::Timer(tick));
                        }
                        Poll::Pending
                    }
                }
            }
        }
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        // Most `timeout`s end unarmed (see `Unarmed::Lazy`): they have nothing to give back.
        if matches!(self.state, SleepState::Armed(_)) {
            let waiter = self.disarm();
            drop(waiter);
        }
    }
}

impl std::fmt::Debug for Sleep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let now = self.core.clock.now();
        let left = self.deadline().saturating_duration_since(now);
        f.debug_struct("Sleep")
            .field("remaining", &left)
            .field("state", &self.state)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sleep_stays_small() {
        // The loop, the deadline in nanoseconds, and the state (a wheel key at most, with
        // the unarmed states in the key's spare value).
        assert_eq!(std::mem::size_of::<Sleep>(), 24);
    }
}
