//! `asyncio.Event` (from `locks.py`).
//!
//! A flag plus a [`WaitList`]. [`Event::set`] raises the flag and grants every queued waiter at
//! once, so each of them completes even if the flag is cleared again before it gets to run, as
//! in asyncio, where `set()` resolves the waiters' futures and `clear()` cannot take that back.
//! A waiter that is dropped after being granted has nothing to pass on: every waiter was
//! woken anyway.

use crate::runtime::waker::WakeRef;
use crate::runtime::{note_wait, WaitOn};
use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use super::waiters::{Polled, WaitKey, WaitList};

/// A flag that tasks can wait for: asyncio's `Event`.
///
/// [`wait`](Event::wait) returns at once while the flag is set, and otherwise waits until
/// [`set`](Event::set) is called. The handle is a cheap `Clone`; all clones share the flag.
///
/// ```
/// use tinyloop::{spawn, Event};
///
/// tinyloop::run(async {
///     let ready = Event::new();
///     let waiter = spawn({
///         let ready = ready.clone();
///         async move { ready.wait().await; "woken" }
///     });
///     ready.set();
///     assert_eq!(waiter.await.unwrap(), "woken");
/// });
/// ```
#[doc(alias = "asyncio.Event")]
#[derive(Clone, Default)]
pub struct Event {
    state: Rc<RefCell<EventState>>,
}

#[derive(Default)]
struct EventState {
    set: bool,
    waiters: WaitList<()>,
}

impl Event {
    /// Creates an event whose flag is clear. asyncio: `Event()`.
    #[doc(alias = "asyncio.Event")]
    pub fn new() -> Self {
        Event::default()
    }

    /// Sets the flag and wakes every waiting task; later `wait`s return at once until
    /// [`clear`](Event::clear). asyncio: `event.set()`.
    #[doc(alias = "asyncio.Event.set")]
    pub fn set(&self) {
        let wakers = {
            let mut state = self.state.borrow_mut();
            if state.set {
                return;
            }
            state.set = true;
            state.waiters.grant_all(|| ())
        };
        wakers.into_iter().for_each(WakeRef::wake);
    }

    /// Clears the flag, so later `wait`s block again. Tasks already woken by `set` still
    /// complete. asyncio: `event.clear()`.
    #[doc(alias = "asyncio.Event.clear")]
    pub fn clear(&self) {
        self.state.borrow_mut().set = false;
    }

    /// Whether the flag is set. asyncio: `event.is_set()`.
    #[doc(alias = "asyncio.Event.is_set")]
    pub fn is_set(&self) -> bool {
        self.state.borrow().set
    }

    /// Waits until the flag is set; returns at once if it already is. asyncio:
    /// `await event.wait()`. Dropping the future simply stops waiting.
    #[doc(alias = "asyncio.Event.wait")]
    pub fn wait(&self) -> impl Future<Output = ()> + '_ {
        EventWait {
            state: &self.state,
            key: None,
        }
    }
}

impl fmt::Debug for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state.borrow();
        f.debug_struct("Event")
            .field("set", &state.set)
            .field("waiters", &state.waiters.len())
            .finish()
    }
}

/// [`Event::wait`]'s future.
struct EventWait<'a> {
    state: &'a RefCell<EventState>,
    key: Option<WaitKey>,
}

impl Future for EventWait<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if !crate::runtime::coop::proceed(cx) {
            return Poll::Pending; // budget spent: nothing taken, the task is woken (coop.rs)
        }
        let this = self.get_mut();
        let mut state = this.state.borrow_mut();
        let Some(key) = this.key.take() else {
            if state.set {
                return Poll::Ready(());
            }
            this.key = Some(state.waiters.push_back(cx.waker()));
            note_wait(WaitOn::Label("Event::wait"));
            return Poll::Pending;
        };
        match state.waiters.poll(key, cx.waker()) {
            Polled::Granted(()) => Poll::Ready(()),
            Polled::Waiting(key, stale) => {
                this.key = Some(key);
                drop(state);
                drop(stale);
                note_wait(WaitOn::Label("Event::wait"));
                Poll::Pending
            }
        }
    }
}

impl Drop for EventWait<'_> {
    fn drop(&mut self) {
        let Some(key) = self.key.take() else { return };
        let removed = self.state.borrow_mut().waiters.remove(key);
        // Dropped after the borrow: a waiting slot's waker. A granted slot passes nothing on.
        drop(removed);
    }
}
