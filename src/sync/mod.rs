//! Synchronisation primitives for tasks: asyncio's `locks.py` and `queues.py`.
//!
//! | asyncio                              | tinyloop                                   |
//! |--------------------------------------|--------------------------------------------|
//! | `Lock()`, `async with lock:`         | [`Lock::new(value)`], [`Lock::lock`] → [`LockGuard`] |
//! | `Semaphore(n)`, `async with sem:`    | [`Semaphore::new(n)`], [`Semaphore::acquire`] → [`SemaphorePermit`] |
//! | `sem.release()` without acquire      | [`Semaphore::add_permits`]                  |
//! | `Event()`                            | [`Event`]                                  |
//! | `Condition(lock)`, `cond.wait()`     | [`Condition`], [`Condition::wait(guard)`]  |
//! | `cond.wait_for(pred)`                | [`Condition::wait_while(guard, !pred)`]    |
//! | `Barrier(n)`                         | [`Barrier`], [`BarrierWaitResult::is_leader`] |
//! | `Queue`, `LifoQueue`, `PriorityQueue` | [`Queue`], [`LifoQueue`], [`PriorityQueue`] |
//! | `put_nowait` / `get_nowait`          | `try_put` / `try_get`                      |
//! | `QueueFull`, `QueueEmpty`, `QueueShutDown` | [`TryPutError`], [`TryGetError`], [`QueueShutDown`] |
//!
//! Every primitive is a cheap `Clone` handle to `Rc<RefCell<..>>` state (single-threaded, as
//! asyncio's are), and reaches the loop only through `std::task::Waker`.
//!
//! # One waiting mechanism
//!
//! All of them queue waiting tasks on the same structure, `WaitList` (in `waiters.rs`): a FIFO of
//! slots in a slab. Waking a task means *granting* its slot something (a permit, an item, a
//! notification), which the task collects when it runs. From that come the guarantees that
//! hold for every primitive here:
//!
//! * **FIFO-fair.** Waiters are served in arrival order, and a freed resource goes straight to
//!   the first waiter, so `try_acquire`/`try_lock`/`try_get` never barge past the queue.
//! * **Cancel-safe.** Dropping a waiting future (cancelling it, in asyncio terms) at any
//!   moment, even after it was granted something and before it ran, passes the grant to the
//!   next waiter. Nothing is lost.
//! * **Re-entrant.** Wakers are woken and dropped only after the primitive's `RefCell` borrow
//!   has ended, so a waker that calls back into the primitive is fine.
//! * **Lean.** The uncontended paths touch no waiter list, and waiting reuses slab slots
//!   instead of allocating.
//!
//! [`Lock::new(value)`]: Lock::new
//! [`Semaphore::new(n)`]: Semaphore::new
//! [`Condition::wait(guard)`]: Condition::wait
//! [`Condition::wait_while(guard, !pred)`]: Condition::wait_while

mod barrier;
mod condition;
mod event;
mod lock;
mod queue;
mod semaphore;
mod waiters;

pub use barrier::{Barrier, BarrierWaitResult};
pub use condition::Condition;
pub use event::Event;
pub use lock::{Lock, LockGuard};
pub use queue::{
    LifoQueue, PriorityQueue, Queue, QueueShutDown, TaskDoneError, TryGetError, TryPutError,
};
pub use semaphore::{Semaphore, SemaphorePermit};
