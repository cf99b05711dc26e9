//! `sleep` and `sleep_until`: asyncio's `asyncio.sleep`.

use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use crate::runtime::clock::{deadline_after, NEVER_TICK};
use crate::runtime::context;
use crate::runtime::core::{Core, TimerEntry};
use crate::runtime::observe::WaitOn;
use crate::runtime::wheel::TimerKey;

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

pub(crate) fn sleep_on(core: Rc<Core>, d: Duration) -> Sleep {
    let deadline = deadline_after(core.clock.now(), d);
    let mut sleep = Sleep::new(core, deadline);
    if d.is_zero() {
        sleep.state = SleepState::YieldOnce;
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
    deadline: Instant,
    state: SleepState,
}

#[derive(Debug, Clone, Copy)]
enum SleepState {
    /// Not polled yet.
    New,
    /// `sleep(ZERO)`: yield once, like `asyncio.sleep(0)`, without touching the wheel.
    YieldOnce,
    /// Yielded once; done at the next poll.
    Yielded,
    /// Armed in the wheel.
    Armed(TimerKey),
    /// The deadline is decades away (a saturated duration): never armed, never fires.
    Never,
    Done,
}

impl Sleep {
    pub(crate) fn new(core: Rc<Core>, deadline: Instant) -> Sleep {
        Sleep {
            core,
            deadline,
            state: SleepState::New,
        }
    }

    /// When it fires.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }

    /// Whether it has fired.
    pub fn is_elapsed(&self) -> bool {
        matches!(self.state, SleepState::Done)
    }

    /// Moves the deadline (asyncio's `Timeout.reschedule`); a fired `Sleep` becomes pending again.
    pub fn reset(&mut self, deadline: Instant) {
        self.disarm();
        self.deadline = deadline;
        self.state = SleepState::New;
    }

    fn disarm(&mut self) {
        if let SleepState::Armed(key) = self.state {
            let entry = self.core.timers.borrow_mut().remove(key);
            drop(entry);
            self.state = SleepState::New;
        }
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = &mut *self;
        match this.state {
            SleepState::Done => Poll::Ready(()),
            SleepState::Never => {
                this.core.note_wait(WaitOn::Timer(u64::MAX));
                Poll::Pending
            }
            SleepState::Yielded => {
                this.state = SleepState::Done;
                Poll::Ready(())
            }
            SleepState::YieldOnce => {
                this.state = SleepState::Yielded;
                cx.waker().wake_by_ref();
                Poll::Pending
            }
            SleepState::New => {
                // No clock read here: a deadline already in the past maps to a tick the wheel
                // has passed, and the wheel fires such an entry at its next advance.
                let tick = this.core.clock.tick_for(this.deadline);
                if tick >= NEVER_TICK {
                    // A saturated deadline: it never fires, so nothing to arm.
                    this.state = SleepState::Never;
                    this.core.note_wait(WaitOn::Timer(u64::MAX));
                    return Poll::Pending;
                }
                let entry = TimerEntry::Wake(Some(cx.waker().clone()));
                let key = this.core.timers.borrow_mut().insert(tick, entry);
                this.state = SleepState::Armed(key);
                this.core.note_wait(WaitOn::Timer(tick));
                Poll::Pending
            }
            SleepState::Armed(key) => {
                let mut timers = this.core.timers.borrow_mut();
                match timers.get_mut(key) {
                    // Fired: the wheel gave the entry up when it woke us.
                    None => {
                        drop(timers);
                        this.state = SleepState::Done;
                        Poll::Ready(())
                    }
                    Some(TimerEntry::Wake(waker)) => {
                        let stale = match waker {
                            Some(w) if w.will_wake(cx.waker()) => None,
                            _ => waker.replace(cx.waker().clone()),
                        };
                        let tick = timers.deadline(key);
                        drop(timers);
                        drop(stale);
                        if let Some(tick) = tick {
                            this.core.note_wait(WaitOn::Timer(tick));
                        }
                        Poll::Pending
                    }
                    Some(TimerEntry::Callback(_)) => unreachable!("a Sleep's key names a waker"),
                }
            }
        }
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        self.disarm();
    }
}

impl std::fmt::Debug for Sleep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let now = self.core.clock.now();
        let left = self.deadline.saturating_duration_since(now);
        f.debug_struct("Sleep")
            .field("remaining", &left)
            .field("state", &self.state)
            .finish()
    }
}
