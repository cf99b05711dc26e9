//! `asyncio.Semaphore` (from `locks.py`), and the permit engine that [`Lock`](super::Lock)
//! shares.
//!
//! The state is a count of free permits plus a [`WaitList`] of tasks waiting for one.
//! Invariant: **`permits > 0` only when nobody waits.** Releasing a permit while someone
//! waits hands it straight to the longest waiter ([`WaitList::grant_front`]) instead of
//! returning it to the pool, so:
//!
//! * `try_acquire` can never barge ahead of a queued waiter: while there are waiters the pool
//!   is empty;
//! * a task that releases and at once acquires again queues behind everybody already waiting
//!   (asyncio gets the same fairness from its `_wakeup_next` bookkeeping);
//! * a waiter dropped after being granted gives its permit back through `release`, which
//!   passes it to the next waiter, so a permit is never lost to cancellation.
//!
//! The uncontended path (`permits > 0`) is one `RefCell` borrow and a decrement; it never
//! touches the waiter list.

use crate::runtime::waker::WakeRef;
use crate::runtime::{note_wait, WaitOn};
use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use super::waiters::{Polled, Removed, WaitKey, WaitList};

/// Free permits and the tasks waiting for one; shared by [`Semaphore`] and `Lock`.
pub(crate) struct SemState {
    permits: usize,
    waiters: WaitList<()>,
}

impl SemState {
    pub(crate) const fn new(permits: usize) -> Self {
        SemState {
            permits,
            waiters: WaitList::new(),
        }
    }

    pub(crate) fn permits(&self) -> usize {
        self.permits
    }

    pub(crate) fn waiters(&self) -> usize {
        self.waiters.len()
    }

    /// Takes a permit from the pool if there is one.
    pub(crate) fn try_acquire(&mut self) -> bool {
        debug_assert!(self.permits == 0 || self.waiters.is_empty());
        if self.permits > 0 {
            self.permits -= 1;
            true
        } else {
            false
        }
    }

    /// Gives one permit back: to the longest waiter if there is one (its waker is returned, to
    /// be woken after the borrow ends), else to the pool.
    pub(crate) fn release(&mut self) -> Option<WakeRef> {
        match self.waiters.grant_front(()) {
            Ok(waker) => Some(waker),
            Err(()) => {
                self.permits += 1;
                None
            }
        }
    }
}

/// Releases one permit of `state` and wakes whoever received it.
pub(crate) fn release(state: &RefCell<SemState>) {
    let next = state.borrow_mut().release();
    // The borrow has ended: the woken task's waker may call back into the semaphore.
    if let Some(waker) = next {
        waker.wake();
    }
}

/// Waits for one permit of a `SemState`: the heart of `Semaphore::acquire` and `Lock::lock`.
///
/// On its first poll it takes a free permit or queues; later polls collect the granted permit.
/// Dropped while queued it leaves the queue; dropped after being granted it passes the permit
/// on.
pub(crate) struct Acquire<'a> {
    state: &'a RefCell<SemState>,
    key: Option<WaitKey>,
    /// The wait label this declares (`Semaphore::acquire` or `Lock::lock`).
    what: &'static str,
}

impl<'a> Acquire<'a> {
    pub(crate) fn new(state: &'a RefCell<SemState>, what: &'static str) -> Self {
        Acquire {
            state,
            key: None,
            what,
        }
    }
}

impl Future for Acquire<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if !crate::runtime::coop::proceed(cx) {
            return Poll::Pending; // budget spent: nothing taken, the task is woken (coop.rs)
        }
        let this = self.get_mut();
        let mut state = this.state.borrow_mut();
        let Some(key) = this.key.take() else {
            if state.try_acquire() {
                return Poll::Ready(());
            }
            this.key = Some(state.waiters.push_back(cx.waker()));
            note_wait(WaitOn::Label(this.what));
            return Poll::Pending;
        };
        match state.waiters.poll(key, cx.waker()) {
            Polled::Granted(()) => Poll::Ready(()),
            Polled::Waiting(key, stale) => {
                this.key = Some(key);
                drop(state);
                drop(stale);
                note_wait(WaitOn::Label(this.what));
                Poll::Pending
            }
        }
    }
}

impl Drop for Acquire<'_> {
    fn drop(&mut self) {
        let Some(key) = self.key.take() else { return };
        let mut state = self.state.borrow_mut();
        let (stale, next) = match state.waiters.remove(key) {
            Removed::Waiting(waker) => (Some(waker), None),
            // Granted a permit it will never use: pass it on.
            Removed::Granted(()) => (None, state.release()),
        };
        drop(state);
        drop(stale);
        if let Some(waker) = next {
            waker.wake();
        }
    }
}

/// A counter of permits that tasks wait for: asyncio's `Semaphore`.
///
/// [`acquire`](Semaphore::acquire) waits for a permit and returns it as a
/// [`SemaphorePermit`]; dropping the permit releases it (asyncio's `async with sem:` block).
/// Waiters are served strictly in arrival order, and dropping a waiting `acquire` future never
/// loses a permit. The handle is a cheap `Clone`; all clones share the same permits.
///
/// ```
/// use tinyloop::{spawn, Semaphore};
///
/// tinyloop::run(async {
///     let sem = Semaphore::new(2);
///     let tasks: Vec<_> = (0..5)
///         .map(|i| {
///             let sem = sem.clone();
///             spawn(async move {
///                 let _permit = sem.acquire().await; // at most two tasks in here at once
///                 i * 10
///             })
///         })
///         .collect();
///     for task in tasks {
///         task.await.unwrap();
///     }
///     assert_eq!(sem.available_permits(), 2);
/// });
/// ```
#[doc(alias = "asyncio.Semaphore")]
#[derive(Clone)]
pub struct Semaphore {
    state: Rc<RefCell<SemState>>,
}

impl Semaphore {
    /// Creates a semaphore with `permits` free permits; `0` is valid (every `acquire` waits
    /// until [`add_permits`](Semaphore::add_permits)). asyncio: `Semaphore(value)`.
    #[doc(alias = "asyncio.Semaphore")]
    pub fn new(permits: usize) -> Self {
        Semaphore {
            state: Rc::new(RefCell::new(SemState::new(permits))),
        }
    }

    /// Waits for a permit, behind every task already waiting. asyncio: `await sem.acquire()`,
    /// or entering `async with sem:`; the permit's drop is the block's exit.
    ///
    /// Cancel-safe: dropping the future while it waits, or after it was granted a permit but
    /// before it returned, hands the permit to the next waiter.
    #[doc(alias = "async with sem")]
    #[doc(alias = "asyncio.Semaphore.acquire")]
    pub fn acquire(&self) -> impl Future<Output = SemaphorePermit> + '_ {
        AcquirePermit {
            sem: self,
            acquire: Acquire::new(&self.state, "Semaphore::acquire"),
        }
    }

    /// Takes a permit if one is free and nobody is queued for it. Never barges ahead of a
    /// waiting task. asyncio: `if not sem.locked(): await sem.acquire()`.
    #[doc(alias = "asyncio.Semaphore.acquire")]
    pub fn try_acquire(&self) -> Option<SemaphorePermit> {
        let acquired = self.state.borrow_mut().try_acquire();
        acquired.then(|| SemaphorePermit {
            sem: Some(self.clone()),
        })
    }

    /// Number of permits free right now (asyncio: `sem._value`). Permits already handed to a
    /// waiter that has not run yet are not counted.
    #[doc(alias = "_value")]
    pub fn available_permits(&self) -> usize {
        self.state.borrow().permits()
    }

    /// Adds `n` permits, waking up to `n` waiters in arrival order: asyncio's `release()`
    /// called without a matching `acquire()`.
    ///
    /// # Panics
    ///
    /// If the number of free permits would exceed `usize::MAX`.
    #[doc(alias = "asyncio.Semaphore.release")]
    pub fn add_permits(&self, n: usize) {
        let wakers = {
            let mut state = self.state.borrow_mut();
            let granted = n.min(state.waiters.len());
            let Some(permits) = state.permits.checked_add(n - granted) else {
                panic!(
                    "Semaphore::add_permits({n}) would raise the free permits past usize::MAX \
                     ({} are free already); add fewer permits (a dropped SemaphorePermit already \
                     gives its permit back, so it must not be added again)",
                    state.permits
                );
            };
            state.permits = permits;
            state.waiters.grant_first(granted, || ())
        };
        wakers.into_iter().for_each(WakeRef::wake);
    }
}

impl Default for Semaphore {
    /// A semaphore with one permit, as asyncio's `Semaphore()`.
    fn default() -> Self {
        Semaphore::new(1)
    }
}

impl fmt::Debug for Semaphore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state.borrow();
        f.debug_struct("Semaphore")
            .field("permits", &state.permits())
            .field("waiters", &state.waiters())
            .finish()
    }
}

/// [`Semaphore::acquire`]'s future: [`Acquire`] plus the permit it yields.
struct AcquirePermit<'a> {
    sem: &'a Semaphore,
    acquire: Acquire<'a>,
}

impl Future for AcquirePermit<'_> {
    type Output = SemaphorePermit;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<SemaphorePermit> {
        match Pin::new(&mut self.acquire).poll(cx) {
            Poll::Ready(()) => Poll::Ready(SemaphorePermit {
                sem: Some(self.sem.clone()),
            }),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// One permit of a [`Semaphore`], released when dropped: the body of asyncio's
/// `async with sem:` block.
#[doc(alias = "async with sem")]
#[must_use = "the permit is released as soon as it is dropped"]
pub struct SemaphorePermit {
    /// `None` once forgotten.
    sem: Option<Semaphore>,
}

impl SemaphorePermit {
    /// Keeps the permit out of the semaphore for good, shrinking it by one. asyncio has no
    /// direct equivalent: it is an `acquire()` never followed by `release()`.
    #[doc(alias = "acquire without release")]
    pub fn forget(mut self) {
        self.sem = None;
    }
}

impl Drop for SemaphorePermit {
    fn drop(&mut self) {
        if let Some(sem) = &self.sem {
            release(&sem.state);
        }
    }
}

impl fmt::Debug for SemaphorePermit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SemaphorePermit").finish_non_exhaustive()
    }
}
