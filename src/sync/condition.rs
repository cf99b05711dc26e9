//! `asyncio.Condition` (from `locks.py`), paired with a [`Lock`] through its guard.
//!
//! asyncio's `Condition` owns a lock; here the lock is whichever [`Lock`] the caller holds:
//! [`Condition::wait`] takes the [`LockGuard`], and gives back a new guard of the same lock.
//! `wait` does, in order:
//!
//! 1. queue on the condition's [`WaitList`] (before unlocking, so no `notify` can slip
//!    between the unlock and the wait);
//! 2. unlock, by dropping the guard;
//! 3. wait to be notified;
//! 4. lock again (queuing behind other lockers, FIFO) and return the new guard.
//!
//! `notify(n)` grants the `n` longest waiters; a notification with nobody waiting is lost, as
//! in asyncio. Cancellation follows asyncio 3.13: a `wait` dropped after it was notified (in
//! step 3 or 4) passes one notification on to the next waiter, so a notification is never
//! swallowed by a task that gave up. That may wake a task for nothing; condition waiters must
//! re-check their predicate anyway, which [`Condition::wait_while`] does. Dropped in step 4,
//! the lock future hands the lock on too, so the lock is never leaked.

use crate::runtime::waker::WakeRef;
use crate::runtime::{note_wait, WaitOn};
use std::cell::RefCell;
use std::fmt;
use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use super::lock::{Lock, LockGuard};
use super::waiters::{Polled, Removed, WaitKey, WaitList};

/// Lets tasks wait for a [`Lock`]-protected value to change: asyncio's `Condition`.
///
/// A task holding the lock calls [`wait`](Condition::wait) (or
/// [`wait_while`](Condition::wait_while)), which unlocks, waits for a
/// [`notify`](Condition::notify), and locks again. Use one `Condition` with one `Lock`. The
/// handle is a cheap `Clone`.
///
/// ```
/// use tinyloop::{spawn, Condition, Lock};
///
/// tinyloop::run(async {
///     let items = Lock::new(Vec::new());
///     let changed = Condition::new();
///     let consumer = spawn({
///         let (items, changed) = (items.clone(), changed.clone());
///         async move {
///             let guard = items.lock().await;
///             let mut guard = changed.wait_while(guard, |items| items.is_empty()).await;
///             guard.pop()
///         }
///     });
///     tinyloop::yield_now().await; // let the consumer start waiting
///     items.lock().await.push("job");
///     changed.notify_one();
///     assert_eq!(consumer.await.unwrap(), Some("job"));
/// });
/// ```
#[doc(alias = "asyncio.Condition")]
#[derive(Clone, Default)]
pub struct Condition {
    waiters: Rc<RefCell<WaitList<()>>>,
}

impl Condition {
    /// Creates a condition with no waiters. asyncio: `Condition(lock)`; here the lock comes
    /// with each `wait`.
    #[doc(alias = "asyncio.Condition")]
    pub fn new() -> Self {
        Condition::default()
    }

    /// Unlocks `guard`'s lock, waits for a notification, then locks it again and returns the
    /// new guard. asyncio: `await cond.wait()`.
    ///
    /// Wake-ups may be spurious (a cancelled waiter passes its notification on, as in
    /// asyncio): check the condition again after `wait` returns, or use
    /// [`wait_while`](Condition::wait_while).
    ///
    /// Cancel-safe: dropped while waiting it leaves the queue; dropped after being notified it
    /// passes the notification on; dropped while locking again it passes the lock on.
    #[doc(alias = "asyncio.Condition.wait")]
    pub async fn wait<'a, T>(&self, guard: LockGuard<'a, T>) -> LockGuard<'a, T> {
        let lock: &'a Lock<T> = guard.lock();
        let mut waiter = Waiter {
            waiters: &self.waiters,
            step: Step::Unqueued,
        };
        // Queue before unlocking: a notify sent as soon as the lock is free must find us.
        poll_fn(|cx| {
            waiter.queue(cx.waker());
            Poll::Ready(())
        })
        .await;
        drop(guard);
        (&mut waiter).await;
        let guard = lock.lock().await;
        waiter.step = Step::Done;
        guard
    }

    /// Waits while `condition` returns `true` for the guarded value, then returns the guard
    /// (locked, with `condition` false). Checks first, so it may not wait at all. asyncio:
    /// `await cond.wait_for(predicate)`, with the predicate negated.
    #[doc(alias = "asyncio.Condition.wait_for")]
    #[doc(alias = "wait_for")]
    pub async fn wait_while<'a, T>(
        &self,
        mut guard: LockGuard<'a, T>,
        mut condition: impl FnMut(&mut T) -> bool,
    ) -> LockGuard<'a, T> {
        while condition(&mut guard) {
            guard = self.wait(guard).await;
        }
        guard
    }

    /// Wakes up to `n` waiting tasks, longest-waiting first. With nobody waiting it does
    /// nothing. asyncio: `cond.notify(n)`.
    #[doc(alias = "asyncio.Condition.notify")]
    pub fn notify(&self, n: usize) {
        let wakers = self.waiters.borrow_mut().grant_first(n, || ());
        wakers.into_iter().for_each(WakeRef::wake);
    }

    /// Wakes the longest-waiting task, if any. asyncio: `cond.notify()`.
    #[doc(alias = "asyncio.Condition.notify")]
    pub fn notify_one(&self) {
        notify_one(&self.waiters);
    }

    /// Wakes every waiting task. asyncio: `cond.notify_all()`.
    #[doc(alias = "asyncio.Condition.notify_all")]
    pub fn notify_all(&self) {
        let wakers = self.waiters.borrow_mut().grant_all(|| ());
        wakers.into_iter().for_each(WakeRef::wake);
    }
}

fn notify_one(waiters: &RefCell<WaitList<()>>) {
    let next = waiters.borrow_mut().grant_front(());
    if let Ok(waker) = next {
        waker.wake();
    }
}

impl fmt::Debug for Condition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Condition")
            .field("waiters", &self.waiters.borrow().len())
            .finish()
    }
}

/// One `wait` call's place in the condition's queue.
struct Waiter<'a> {
    waiters: &'a RefCell<WaitList<()>>,
    step: Step,
}

enum Step {
    Unqueued,
    Queued(WaitKey),
    /// Took a notification; owes it to the next waiter if dropped before `wait` returns.
    Notified,
    Done,
}

impl Waiter<'_> {
    fn queue(&mut self, waker: &Waker) {
        self.step = Step::Queued(self.waiters.borrow_mut().push_back(waker));
    }
}

impl Future for Waiter<'_> {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if !crate::runtime::coop::proceed(cx) {
            return Poll::Pending; // budget spent: nothing taken, the task is woken (coop.rs)
        }
        let this = self.get_mut();
        let Step::Queued(key) = std::mem::replace(&mut this.step, Step::Done) else {
            unreachable!("Condition::wait polls its waiter only while queued");
        };
        let polled = this.waiters.borrow_mut().poll(key, cx.waker());
        match polled {
            Polled::Granted(()) => {
                this.step = Step::Notified;
                Poll::Ready(())
            }
            Polled::Waiting(key, stale) => {
                this.step = Step::Queued(key);
                drop(stale);
                note_wait(WaitOn::Label("Condition::wait"));
                Poll::Pending
            }
        }
    }
}

impl Drop for Waiter<'_> {
    fn drop(&mut self) {
        match std::mem::replace(&mut self.step, Step::Done) {
            Step::Queued(key) => {
                let removed = self.waiters.borrow_mut().remove(key);
                if let Removed::Granted(()) = removed {
                    notify_one(self.waiters);
                }
            }
            Step::Notified => notify_one(self.waiters),
            Step::Unqueued | Step::Done => {}
        }
    }
}
