//! `call_soon`, `call_later`, `call_at`: asyncio's loop callbacks (`events.Handle` and
//! `TimerHandle` in `events.py`).
//!
//! A callback is a plain closure the loop calls once, in a turn, between task polls. A panic
//! inside one is reported on stderr and the loop carries on.

use std::cell::Cell;
use std::panic::Location;
use std::rc::Rc;
use std::time::{Duration, Instant};

use crate::runtime::clock::{deadline_after, NEVER_TICK};
use crate::runtime::context;
use crate::runtime::core::Core;
use crate::runtime::timers::{Callback, TimerEntry};

/// A scheduled callback; cancel it before it runs with [`CallbackHandle::cancel`]
/// (asyncio's `Handle`/`TimerHandle`). Dropping the handle does *not* cancel.
///
/// ```
/// use std::time::Duration;
///
/// tinyloop::run(async {
///     let handle = tinyloop::call_later(Duration::from_secs(3600), || println!("never"));
///     assert!(handle.is_pending());
///     assert!(handle.cancel()); // it will not run
///     assert!(!handle.is_pending());
/// });
/// ```
///
#[doc(alias = "TimerHandle")]
#[doc(alias = "asyncio.Handle")]
pub struct CallbackHandle {
    core: Rc<Core>,
    cb: Rc<Callback>,
}

impl CallbackHandle {
    /// Stops the callback from running; `false` if it already ran or was cancelled.
    #[doc(alias = "Handle.cancel")]
    pub fn cancel(&self) -> bool {
        let f = self.cb.f.take();
        if let Some(key) = self.cb.timer.take() {
            // Leave the wheel at once rather than firing into nothing later.
            let entry = self.core.timers.borrow_mut().remove(key);
            drop(entry);
        }
        let cancelled = f.is_some();
        drop(f);
        cancelled
    }

    /// Whether it is still waiting to run.
    pub fn is_pending(&self) -> bool {
        let f = self.cb.f.take();
        let pending = f.is_some();
        self.cb.f.set(f);
        pending
    }
}

impl std::fmt::Debug for CallbackHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallbackHandle")
            .field("pending", &self.is_pending())
            .finish()
    }
}

#[track_caller]
fn new_callback(f: impl FnOnce() + 'static) -> Rc<Callback> {
    Rc::new(Callback {
        f: Cell::new(Some(Box::new(f))),
        timer: Cell::new(None),
        scheduled_at: Location::caller(),
    })
}

/// Runs `f` on the loop's next turn, after the callbacks and tasks already ready
/// (asyncio's `loop.call_soon`).
///
/// ```
/// use std::cell::Cell;
/// use std::rc::Rc;
///
/// tinyloop::run(async {
///     let ran = Rc::new(Cell::new(false));
///     let flag = Rc::clone(&ran);
///     tinyloop::call_soon(move || flag.set(true));
///     assert!(!ran.get()); // not yet: on the loop's next turn
///     tinyloop::yield_now().await;
///     assert!(ran.get());
/// });
/// ```
///
/// # Panics
/// When no loop is running on this thread.
#[doc(alias = "loop.call_soon")]
#[track_caller]
pub fn call_soon(f: impl FnOnce() + 'static) -> CallbackHandle {
    let core = context::current("tinyloop::call_soon");
    let cb = new_callback(f);
    core.push_callback(Rc::clone(&cb));
    CallbackHandle { core, cb }
}

/// Runs `f` once `d` has passed (asyncio's `loop.call_later`).
///
/// ```
/// use std::cell::RefCell;
/// use std::rc::Rc;
/// use std::time::Duration;
///
/// tinyloop::Loop::builder().virtual_time(true).run(async {
///     let log = Rc::new(RefCell::new(Vec::new()));
///     for (ms, word) in [(20, "world"), (10, "hello")] {
///         let log = Rc::clone(&log);
///         tinyloop::call_later(Duration::from_millis(ms), move || log.borrow_mut().push(word));
///     }
///     tinyloop::sleep(Duration::from_millis(30)).await;
///     assert_eq!(*log.borrow(), ["hello", "world"]);
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// # Panics
/// When no loop is running on this thread.
#[doc(alias = "loop.call_later")]
#[track_caller]
pub fn call_later(d: Duration, f: impl FnOnce() + 'static) -> CallbackHandle {
    let core = context::current("tinyloop::call_later");
    let when = deadline_after(core.clock.now(), d);
    schedule_at(core, when, f)
}

/// Runs `f` at `when`, on the loop's clock (asyncio's `loop.call_at`).
///
/// ```
/// use std::cell::Cell;
/// use std::rc::Rc;
/// use std::time::Duration;
///
/// tinyloop::Loop::builder().virtual_time(true).run(async {
///     let fired_at = Rc::new(Cell::new(None));
///     let when = tinyloop::now() + Duration::from_secs(2);
///     let slot = Rc::clone(&fired_at);
///     tinyloop::call_at(when, move || slot.set(Some(tinyloop::now())));
///     tinyloop::sleep(Duration::from_secs(3)).await;
///     assert_eq!(fired_at.get(), Some(when));
/// })?;
/// # Ok::<(), std::io::Error>(())
/// ```
///
/// # Panics
/// When no loop is running on this thread.
#[doc(alias = "loop.call_at")]
#[track_caller]
pub fn call_at(when: Instant, f: impl FnOnce() + 'static) -> CallbackHandle {
    schedule_at(context::current("tinyloop::call_at"), when, f)
}

#[track_caller]
fn schedule_at(core: Rc<Core>, when: Instant, f: impl FnOnce() + 'static) -> CallbackHandle {
    let cb = new_callback(f);
    if when <= core.clock.now() {
        core.push_callback(Rc::clone(&cb));
    } else if core.clock.tick_for(when) < NEVER_TICK {
        // (A saturated deadline is never armed: the callback simply never runs.)
        let tick = core.clock.tick_for(when);
        let key = core
            .timers
            .borrow_mut()
            .insert(tick, TimerEntry::Callback(Rc::clone(&cb)));
        cb.timer.set(Some(key));
    }
    CallbackHandle { core, cb }
}
