//! `asyncio.Barrier` (from `locks.py`).
//!
//! The state is the number of parties and a [`WaitList`] of the tasks that have arrived; the
//! count of arrivals is simply the list's length. The last task to arrive does not queue: it
//! grants everyone queued, empties the list for the next round, and returns at once as the
//! leader. So the barrier is cyclic, as asyncio's is; a task that arrives while the previous
//! round's tasks are still waking up simply starts the next round.
//!
//! Cancellation follows asyncio: a task dropped while waiting has not passed the barrier, so
//! it leaves the list and no longer counts as arrived. A task dropped after the barrier
//! tripped has nothing to hand on. asyncio's `abort()`/`reset()` and the `BrokenBarrierError`
//! they cause are not provided: dropping a waiting future already undoes its arrival.

use crate::runtime::waker::WakeRef;
use crate::runtime::{note_wait, WaitOn};
use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll};

use super::waiters::{Polled, WaitKey, WaitList};

/// Makes a fixed number of tasks wait for each other: asyncio's `Barrier`.
///
/// Each task calls [`wait`](Barrier::wait); the first `parties - 1` wait, and the arrival of the
/// last releases them all. The barrier then starts over for the next round. The handle is a
/// cheap `Clone`.
///
/// ```
/// use tinyloop::{spawn, Barrier};
///
/// tinyloop::run(async {
///     let barrier = Barrier::new(3);
///     let tasks: Vec<_> = (0..3)
///         .map(|_| {
///             let barrier = barrier.clone();
///             spawn(async move { barrier.wait().await.is_leader() })
///         })
///         .collect();
///     let mut leaders = 0;
///     for task in tasks {
///         leaders += task.await.unwrap() as usize;
///     }
///     assert_eq!(leaders, 1);
/// });
/// ```
#[doc(alias = "asyncio.Barrier")]
#[derive(Clone)]
pub struct Barrier {
    state: Rc<RefCell<BarrierState>>,
}

struct BarrierState {
    parties: usize,
    /// The tasks of this round that have arrived, except the last, which never queues.
    arrived: WaitList<()>,
}

impl Barrier {
    /// Creates a barrier for `parties` tasks. asyncio: `Barrier(parties)`.
    ///
    /// # Panics
    ///
    /// If `parties` is 0: no number of arrivals could ever release such a barrier.
    #[doc(alias = "asyncio.Barrier")]
    pub fn new(parties: usize) -> Self {
        assert!(
            parties > 0,
            "Barrier::new(0): a barrier needs at least one party, since it releases its tasks \
             when `parties` of them have arrived; pass the number of tasks that will call wait()"
        );
        let state = BarrierState {
            parties,
            arrived: WaitList::new(),
        };
        Barrier {
            state: Rc::new(RefCell::new(state)),
        }
    }

    /// Waits until `parties` tasks (this one included) have called `wait`. The last to
    /// arrive returns at once and is the [leader](BarrierWaitResult::is_leader). asyncio:
    /// `await barrier.wait()`.
    ///
    /// Cancel-safe: dropping the future before the barrier trips withdraws this task's
    /// arrival.
    #[doc(alias = "asyncio.Barrier.wait")]
    pub fn wait(&self) -> impl Future<Output = BarrierWaitResult> + '_ {
        BarrierWait {
            state: &self.state,
            key: None,
        }
    }

    /// How many tasks must arrive to release the barrier. asyncio: `barrier.parties`.
    #[doc(alias = "asyncio.Barrier.parties")]
    pub fn parties(&self) -> usize {
        self.state.borrow().parties
    }

    /// How many tasks are waiting in the current round. asyncio: `barrier.n_waiting`.
    #[doc(alias = "asyncio.Barrier.n_waiting")]
    pub fn n_waiting(&self) -> usize {
        self.state.borrow().arrived.len()
    }
}

impl fmt::Debug for Barrier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = self.state.borrow();
        f.debug_struct("Barrier")
            .field("parties", &state.parties)
            .field("waiting", &state.arrived.len())
            .finish()
    }
}

/// What [`Barrier::wait`] returns.
#[doc(alias = "asyncio.Barrier.wait")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BarrierWaitResult {
    leader: bool,
}

impl BarrierWaitResult {
    /// `true` for exactly one task per round: the one whose arrival released the others.
    /// asyncio numbers the arrivals instead; this is `wait()`'s result being the last index.
    #[doc(alias = "asyncio.Barrier.wait")]
    pub fn is_leader(&self) -> bool {
        self.leader
    }
}

/// [`Barrier::wait`]'s future.
struct BarrierWait<'a> {
    state: &'a RefCell<BarrierState>,
    key: Option<WaitKey>,
}

impl Future for BarrierWait<'_> {
    type Output = BarrierWaitResult;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<BarrierWaitResult> {
        if !crate::runtime::coop::proceed(cx) {
            return Poll::Pending; // budget spent: nothing taken, the task is woken (coop.rs)
        }
        let this = self.get_mut();
        let mut state = this.state.borrow_mut();
        let Some(key) = this.key.take() else {
            if state.arrived.len() + 1 < state.parties {
                this.key = Some(state.arrived.push_back(cx.waker()));
                note_wait(WaitOn::Label("Barrier::wait"));
                return Poll::Pending;
            }
            // The last arrival: release the round.
            let wakers = state.arrived.grant_all(|| ());
            drop(state);
            wakers.into_iter().for_each(WakeRef::wake);
            return Poll::Ready(BarrierWaitResult { leader: true });
        };
        match state.arrived.poll(key, cx.waker()) {
            Polled::Granted(()) => Poll::Ready(BarrierWaitResult { leader: false }),
            Polled::Waiting(key, stale) => {
                this.key = Some(key);
                drop(state);
                drop(stale);
                note_wait(WaitOn::Label("Barrier::wait"));
                Poll::Pending
            }
        }
    }
}

impl Drop for BarrierWait<'_> {
    fn drop(&mut self) {
        let Some(key) = self.key.take() else { return };
        // Waiting: the arrival is withdrawn. Granted: the round is over, nothing to pass on.
        let removed = self.state.borrow_mut().arrived.remove(key);
        drop(removed);
    }
}
