//! `asyncio.Lock` (from `locks.py`), guarding a value as Rust locks do.
//!
//! A lock is a semaphore with one permit: the same [`SemState`] engine, so it inherits its
//! FIFO fairness (an unlock hands the lock straight to the longest waiter; `try_lock` never
//! barges) and its cancel-safety (a `lock()` future dropped after being handed the lock
//! passes it on). Holding the permit is what entitles the holder to the value, kept in a
//! `RefCell` beside it: the guard borrows the value mutably only after the permit is its own,
//! so that borrow can never fail.
//!
//! The guard's fields drop in order: first the `RefMut` on the value, then the permit (which
//! wakes the next holder), so the value is always free before anyone else may take it.

use std::cell::{RefCell, RefMut};
use std::fmt;
use std::future::Future;
use std::ops::{Deref, DerefMut};
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use super::semaphore::{release, Acquire, SemState};

/// A mutual-exclusion lock for tasks, guarding a value of type `T`: asyncio's `Lock`, with the
/// data it protects inside it.
///
/// [`lock`](Lock::lock) waits (behind every task already waiting) and returns a
/// [`LockGuard`] that dereferences to the value; dropping the guard unlocks. Use `Lock<()>`
/// for a plain asyncio-style lock. The handle is a cheap `Clone`; all clones share the value.
///
/// ```
/// use tinyloop::{spawn, yield_now, Lock};
///
/// tinyloop::run(async {
///     let total = Lock::new(0);
///     let tasks: Vec<_> = (0..3)
///         .map(|_| {
///             let total = total.clone();
///             spawn(async move {
///                 let mut sum = total.lock().await;
///                 let read = *sum;
///                 yield_now().await; // other tasks run, but cannot touch the value
///                 *sum = read + 1;
///             })
///         })
///         .collect();
///     for task in tasks {
///         task.await.unwrap();
///     }
///     assert_eq!(*total.lock().await, 3);
/// });
/// ```
#[doc(alias = "asyncio.Lock")]
pub struct Lock<T> {
    inner: Rc<LockInner<T>>,
}

struct LockInner<T> {
    /// One permit: free when the lock is unlocked.
    state: RefCell<SemState>,
    value: RefCell<T>,
}

impl<T> Lock<T> {
    /// Creates an unlocked lock guarding `value`. asyncio: `Lock()`.
    #[doc(alias = "asyncio.Lock")]
    pub fn new(value: T) -> Self {
        let inner = LockInner {
            state: RefCell::new(SemState::new(1)),
            value: RefCell::new(value),
        };
        Lock {
            inner: Rc::new(inner),
        }
    }

    /// Waits until the lock is free and this task's turn has come, then locks it. asyncio:
    /// `await lock.acquire()`, or entering `async with lock:`; the guard's drop is the exit.
    ///
    /// Cancel-safe: dropping the future while it waits, or after the lock was handed to it but
    /// before it returned, passes the lock to the next waiter.
    #[doc(alias = "async with lock")]
    #[doc(alias = "asyncio.Lock.acquire")]
    pub fn lock(&self) -> impl Future<Output = LockGuard<'_, T>> {
        LockFuture {
            lock: self,
            acquire: Acquire::new(&self.inner.state, "Lock::lock"),
        }
    }

    /// Locks if the lock is free and nobody is queued for it; never barges ahead of a waiting
    /// task. asyncio: `if not lock.locked(): await lock.acquire()`.
    #[doc(alias = "asyncio.Lock.acquire")]
    pub fn try_lock(&self) -> Option<LockGuard<'_, T>> {
        let acquired = self.inner.state.borrow_mut().try_acquire();
        acquired.then(|| self.guard())
    }

    /// Whether the lock is held, or handed to a waiter that has not run yet. asyncio:
    /// `lock.locked()`.
    #[doc(alias = "asyncio.Lock.locked")]
    pub fn is_locked(&self) -> bool {
        self.inner.state.borrow().permits() == 0
    }

    /// Builds the guard once the permit is ours.
    fn guard(&self) -> LockGuard<'_, T> {
        let value = self.inner.value.borrow_mut();
        LockGuard {
            value,
            held: Held { lock: self },
        }
    }
}

impl<T> Clone for Lock<T> {
    fn clone(&self) -> Self {
        Lock {
            inner: Rc::clone(&self.inner),
        }
    }
}

impl<T: Default> Default for Lock<T> {
    fn default() -> Self {
        Lock::new(T::default())
    }
}

impl<T> fmt::Debug for Lock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.inner.state.borrow();
        f.debug_struct("Lock")
            .field("locked", &(state.permits() == 0))
            .field("waiters", &state.waiters())
            .finish()
    }
}

/// [`Lock::lock`]'s future: [`Acquire`] on the lock's single permit, then the guard.
struct LockFuture<'a, T> {
    lock: &'a Lock<T>,
    acquire: Acquire<'a>,
}

impl<'a, T> Future for LockFuture<'a, T> {
    type Output = LockGuard<'a, T>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<LockGuard<'a, T>> {
        match Pin::new(&mut self.acquire).poll(cx) {
            Poll::Ready(()) => Poll::Ready(self.lock.guard()),
            Poll::Pending => Poll::Pending,
        }
    }
}

/// Exclusive access to a [`Lock`]'s value; dropping it unlocks. The body of asyncio's
/// `async with lock:` block.
#[doc(alias = "async with lock")]
#[must_use = "the lock is released as soon as the guard is dropped"]
pub struct LockGuard<'a, T> {
    // Field order matters: the value's borrow ends before the permit is released.
    value: RefMut<'a, T>,
    held: Held<'a, T>,
}

/// The permit part of a [`LockGuard`]: unlocks on drop.
struct Held<'a, T> {
    lock: &'a Lock<T>,
}

impl<T> Drop for Held<'_, T> {
    fn drop(&mut self) {
        release(&self.lock.inner.state);
    }
}

impl<'a, T> LockGuard<'a, T> {
    /// The lock this guard holds, for `Condition::wait` to lock again.
    pub(crate) fn lock(&self) -> &'a Lock<T> {
        self.held.lock
    }
}

impl<T> Deref for LockGuard<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T> DerefMut for LockGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.value
    }
}

impl<T: fmt::Debug> fmt::Debug for LockGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("LockGuard").field(&*self.value).finish()
    }
}
