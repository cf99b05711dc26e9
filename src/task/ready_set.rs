//! The engine under `gather`, `try_gather`, `as_completed` and `wait`: which children woke up?
//!
//! asyncio never has to ask this question. There every awaited thing is a `Task` or `Future`
//! object, and finishing it calls `add_done_callback` callbacks, so `gather` learns about each
//! child through its own `_done_callback`. In Rust a combinator drives its children *inside* the
//! calling task, and a plain combinator that polls all N children on every wake-up does O(N)
//! work to find the one child that can move: a gather of 100,000 timers becomes quadratic.
//!
//! # Design
//!
//! Each child gets its own waker, a [`ChildWaker`] that knows the child's index. Waking it
//! pushes that index onto a shared ready list and wakes the parent task. When the parent is
//! polled it takes the list and polls only those children, so each wake-up costs O(1):
//!
//! ```text
//!   child 7 wakes ──► queued[7]: false → true ──► ready.push(7) ──► (list was empty?) wake parent
//!                                                      │
//!   parent polled ──► register parent waker, take the ready list ──► for i in batch:
//!                                                                      queued[i] = false; poll child i
//! ```
//!
//! Invariants:
//!
//! * An index is in the ready list (or in the parent's current batch) at most once: the
//!   per-child `queued` flag is set by the wake that pushes it and cleared just before the
//!   parent polls that child. A child woken a thousand times before the parent runs is
//!   polled once.
//! * Only the wake that makes the list non-empty wakes the parent. Any later wake finds a
//!   non-empty list, which the parent has not taken yet, so it will see that index too.
//! * The parent registers its waker in the same critical section in which it takes the list,
//!   so a wake that finds the list empty always wakes the newest parent waker.
//! * One parent poll takes the shared list once, at its start, and polls each child in it at
//!   most once. A child that wakes itself while it is being polled (a `yield_now` inside the
//!   child) lands in the shared list and is polled on the *next* parent poll, so the parent
//!   cannot spin inside one poll and starve the loop.
//!
//! A child gets a waker of its own only when it keeps one, the way the loop treats its tasks
//! (`runtime/waker.rs`): the set keeps one *spare* `ChildWaker` and lends it (no clone) to each
//! child that has none, its index written in first. After the poll, a strong count of one
//! means the child kept no clone (it finished, or woke itself and returned, as `yield_now`
//! does, or it waits on something that keeps keys): the spare stays the spare. Above one, a
//! clone is out there naming this child: the `Arc` becomes the child's own for good, and a
//! fresh spare is made when next needed. So a child that never keeps its waker costs no
//! allocation for it, and one that does costs the one it would have cost anyway. Apart from
//! that, polling allocates nothing (the ready list and the parent's batch are two `Vec`s that
//! swap places and keep their capacity). The wakers are `Send + Sync`: a child woken from
//! another thread takes the mutex, pushes its index and wakes the parent through the parent's
//! own (thread-safe) waker.

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Waker};

use futures_task::{waker_ref, ArcWake};

use crate::runtime::waker::kept_by_someone;

/// The half shared between the parent and every child waker.
struct Shared {
    /// `queued[i]` is true while index `i` sits in the ready list or the parent's batch.
    queued: Box<[AtomicBool]>,
    list: Mutex<ReadyList>,
}

struct ReadyList {
    ready: Vec<usize>,
    parent: Option<Waker>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, ReadyList> {
        // Nothing panics while the lock is held, but a poisoned list is still a valid list.
        self.list
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// The waker of child `index`. (`index` is written only while the set holds the sole
/// reference, when it lends the spare to another child: an atomic only because the type must
/// be `Sync`, never raced.)
struct ChildWaker {
    index: AtomicUsize,
    shared: Arc<Shared>,
}

impl ArcWake for ChildWaker {
    fn wake_by_ref(this: &Arc<Self>) {
        let index = this.index.load(Ordering::Relaxed);
        // Already queued: the parent will poll this child anyway.
        if this.shared.queued[index].swap(true, Ordering::AcqRel) {
            return;
        }
        let parent = {
            let mut list = this.shared.lock();
            let was_empty = list.ready.is_empty();
            list.ready.push(index);
            if was_empty {
                list.parent.clone()
            } else {
                None
            }
        };
        // Wake outside the lock: the parent's waker may run arbitrary code.
        if let Some(parent) = parent {
            parent.wake();
        }
    }
}

/// A fixed set of `len` children, each with its own waker, and the list of those woken.
///
/// Every child starts out queued, so the first poll polls them all once, in index order.
pub(crate) struct ReadySet {
    shared: Arc<Shared>,
    /// Each child's own waker, once it kept a clone of the one it was lent.
    wakers: Box<[Option<Arc<ChildWaker>>]>,
    /// Lent to the children that have no waker of their own; `None` after it became one's.
    spare: Option<Arc<ChildWaker>>,
    /// The indices taken from the shared list and not yet polled.
    batch: Vec<usize>,
    /// How far into `batch` the parent has got.
    cursor: usize,
}

impl ReadySet {
    /// Builds the wakers for `len` children, all of them queued for a first poll.
    pub(crate) fn new(len: usize) -> ReadySet {
        let shared = Arc::new(Shared {
            queued: (0..len).map(|_| AtomicBool::new(true)).collect(),
            list: Mutex::new(ReadyList {
                ready: Vec::with_capacity(len),
                parent: None,
            }),
        });
        ReadySet {
            shared,
            wakers: (0..len).map(|_| None).collect(),
            spare: None,
            batch: (0..len).collect(),
            cursor: 0,
        }
    }

    /// Polls the children that were woken, in the order they woke, until `poll_child` returns
    /// `Some` (then the rest wait for the next call) or none are left (then `None`).
    ///
    /// `poll_child(i, cx)` must poll child `i` with `cx`, whose waker is child `i`'s own.
    /// Every call registers `cx`'s waker first, so after a call that returns `None` the
    /// parent will be woken as soon as any child is.
    pub(crate) fn poll_woken<R>(
        &mut self,
        cx: &mut Context<'_>,
        mut poll_child: impl FnMut(usize, &mut Context<'_>) -> Option<R>,
    ) -> Option<R> {
        self.take_woken(cx.waker());
        while let Some(&index) = self.batch.get(self.cursor) {
            self.cursor += 1;
            // Cleared before the poll, so a wake-up during the poll queues the child again
            // (for the next parent poll). The swap, unlike a store, acquires whatever the
            // waking thread wrote before it woke us.
            self.shared.queued[index].swap(false, Ordering::AcqRel);
            // Its own waker, or the spare lent to it.
            let lent = match self.wakers[index] {
                Some(_) => None,
                None => Some(self.lend_spare(index)),
            };
            let out = {
                let waker = lent.as_ref().or(self.wakers[index].as_ref());
                let waker = waker_ref(waker.expect("a child has its own waker or the spare"));
                poll_child(index, &mut Context::from_waker(&waker))
            };
            if let Some(spare) = lent {
                self.keep_or_return(index, spare);
            }
            if out.is_some() {
                return out;
            }
        }
        None
    }

    /// After child `index` was polled with the spare: a clone of it out there names this
    /// child, which keeps it as its own; else it goes back to being the spare.
    #[inline]
    fn keep_or_return(&mut self, index: usize, spare: Arc<ChildWaker>) {
        if kept_by_someone(&spare) {
            self.wakers[index] = Some(spare);
        } else {
            self.spare = Some(spare);
        }
    }

    /// The spare waker, pointed at child `index` (made afresh if the last became a child's).
    #[inline]
    fn lend_spare(&mut self, index: usize) -> Arc<ChildWaker> {
        match self.spare.take() {
            Some(spare) => {
                // Nobody else holds it (a clone would have made it a child's own).
                spare.index.store(index, Ordering::Relaxed);
                spare
            }
            None => self.new_waker(index),
        }
    }

    fn new_waker(&self, index: usize) -> Arc<ChildWaker> {
        Arc::new(ChildWaker {
            index: AtomicUsize::new(index),
            shared: Arc::clone(&self.shared),
        })
    }

    /// Child `index`'s own waker, made now if it has none (for the tests, which wake children
    /// by hand).
    #[cfg(test)]
    fn waker(&mut self, index: usize) -> Waker {
        if self.wakers[index].is_none() {
            self.wakers[index] = Some(self.new_waker(index));
        }
        futures_task::waker(Arc::clone(self.wakers[index].as_ref().unwrap()))
    }

    /// Registers the parent's waker and moves the shared ready list onto the end of `batch`.
    fn take_woken(&mut self, parent: &Waker) {
        if self.cursor == self.batch.len() {
            self.batch.clear();
            self.cursor = 0;
        }
        let mut list = self.shared.lock();
        match &list.parent {
            Some(old) if old.will_wake(parent) => {}
            _ => list.parent = Some(parent.clone()),
        }
        if self.batch.is_empty() {
            // The common case: swap the buffers, so neither side ever reallocates.
            std::mem::swap(&mut list.ready, &mut self.batch);
        } else {
            // Left over from a call that stopped early (`as_completed` hands out one result
            // at a time): the earlier wakes keep their place in front.
            self.batch.append(&mut list.ready);
        }
    }

    /// How many children the set was built for.
    pub(crate) fn len(&self) -> usize {
        self.wakers.len()
    }
}

impl fmt::Debug for ReadySet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let queued = self.batch.len() - self.cursor + self.shared.lock().ready.len();
        f.debug_struct("ReadySet")
            .field("children", &self.len())
            .field("woken", &queued)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::task::Wake;

    struct CountWaker(AtomicUsize);

    impl Wake for CountWaker {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn polled(set: &mut ReadySet, cx: &mut Context<'_>) -> Vec<usize> {
        let mut seen = Vec::new();
        let none: Option<()> = set.poll_woken(cx, |i, _| {
            seen.push(i);
            None
        });
        assert!(none.is_none());
        seen
    }

    #[test]
    fn first_poll_polls_every_child_then_only_the_woken() {
        let parent = Arc::new(CountWaker(AtomicUsize::new(0)));
        let waker = Waker::from(Arc::clone(&parent));
        let mut cx = Context::from_waker(&waker);
        let mut set = ReadySet::new(4);
        assert_eq!(polled(&mut set, &mut cx), vec![0, 1, 2, 3]);
        assert_eq!(polled(&mut set, &mut cx), Vec::<usize>::new());

        set.waker(2).wake_by_ref();
        set.waker(2).wake_by_ref(); // queued once
        set.waker(0).wake_by_ref();
        // Only the wake that made the list non-empty woke the parent.
        assert_eq!(parent.0.load(Ordering::SeqCst), 1);
        assert_eq!(polled(&mut set, &mut cx), vec![2, 0]);
    }

    #[test]
    fn a_child_waking_itself_waits_for_the_next_parent_poll() {
        // Polled once per parent poll, however often it wakes itself.
        let waker = Waker::from(Arc::new(CountWaker(AtomicUsize::new(0))));
        let mut cx = Context::from_waker(&waker);
        let mut set = ReadySet::new(2);
        let mut polls = 0;
        let none: Option<()> = set.poll_woken(&mut cx, |_, child_cx| {
            polls += 1;
            child_cx.waker().wake_by_ref();
            None
        });
        assert!(none.is_none());
        assert_eq!(polls, 2);
        assert_eq!(polled(&mut set, &mut cx), vec![0, 1]);
    }

    #[test]
    fn stopping_early_keeps_the_rest_of_the_batch() {
        let waker = Waker::from(Arc::new(CountWaker(AtomicUsize::new(0))));
        let mut cx = Context::from_waker(&waker);
        let mut set = ReadySet::new(3);
        assert_eq!(
            set.poll_woken(&mut cx, |i, _| (i == 1).then_some(i)),
            Some(1)
        );
        assert_eq!(polled(&mut set, &mut cx), vec![2]);
    }

    #[test]
    fn later_wakes_queue_up_behind_the_rest_of_the_batch() {
        let waker = Waker::from(Arc::new(CountWaker(AtomicUsize::new(0))));
        let mut cx = Context::from_waker(&waker);
        let mut set = ReadySet::new(3);
        assert_eq!(set.poll_woken(&mut cx, |i, _| Some(i)), Some(0));
        set.waker(0).wake_by_ref();
        set.waker(2).wake_by_ref(); // still in the batch: not listed twice
        assert_eq!(polled(&mut set, &mut cx), vec![1, 2, 0]);
    }

    #[test]
    fn only_a_child_that_keeps_its_waker_gets_one_and_its_clone_stays_its_own() {
        let waker = Waker::from(Arc::new(CountWaker(AtomicUsize::new(0))));
        let mut cx = Context::from_waker(&waker);
        let mut set = ReadySet::new(4);
        let mut kept = None;
        let none: Option<()> = set.poll_woken(&mut cx, |i, child_cx| {
            if i == 1 {
                kept = Some(child_cx.waker().clone()); // child 1 keeps a clone
            }
            None
        });
        assert!(none.is_none());
        let owners: Vec<bool> = set.wakers.iter().map(Option::is_some).collect();
        assert_eq!(
            owners,
            [false, true, false, false],
            "one waker made, for child 1"
        );
        // The spare was lent to children 2 and 3 after child 1 kept the first one: the clone
        // still names child 1.
        kept.unwrap().wake();
        assert_eq!(polled(&mut set, &mut cx), vec![1]);
        // And later lends of the spare do not touch it.
        let (a, b) = (set.waker(0), set.waker(3));
        a.wake_by_ref();
        b.wake_by_ref();
        assert_eq!(polled(&mut set, &mut cx), vec![0, 3]);
    }

    #[test]
    fn wakes_from_another_thread() {
        let parent = Arc::new(CountWaker(AtomicUsize::new(0)));
        let waker = Waker::from(Arc::clone(&parent));
        let mut cx = Context::from_waker(&waker);
        let mut set = ReadySet::new(3);
        polled(&mut set, &mut cx);
        let child = set.waker(1);
        std::thread::spawn(move || child.wake()).join().unwrap();
        assert_eq!(parent.0.load(Ordering::SeqCst), 1);
        assert_eq!(polled(&mut set, &mut cx), vec![1]);
    }
}
