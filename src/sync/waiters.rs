//! The waiter list that every primitive in [`sync`](super) is built on.
//!
//! asyncio gives each primitive a `collections.deque` of futures (`self._waiters`), wakes one
//! with `fut.set_result(...)`, and when a waiting coroutine is cancelled it removes its future
//! with `deque.remove(fut)`, an O(n) scan. [`WaitList`] is that deque made cheap for Rust:
//!
//! * **Slots in a slab.** Every waiting future owns one slot in `slots`, found by its index (a
//!   [`WaitKey`]). Freed slots go on a free stack and are reused, so after warm-up a wait
//!   allocates nothing.
//! * **A FIFO threaded through the slab.** Waiting slots are linked by `prev`/`next` indices
//!   (no pointers, no `unsafe`), so `push_back`, `grant_front` and removing a cancelled waiter
//!   from the middle are all O(1).
//! * **Grants live in the slot.** asyncio's `set_result(value)` becomes [`grant_front`]: the
//!   slot leaves the queue and holds the grant `G` (a permit, a queue item, a notification)
//!   until its future is polled and takes it, or is dropped and hands it back to the
//!   primitive to pass on. That is what makes every primitive cancel-safe.
//!
//! Slot life cycle (each arrow names the method that causes it):
//!
//! ```text
//!            push_back               grant_front / grant_all
//!   Free ---------------> Waiting ---------------------------> Granted(G)
//!    ^                       |                                     |
//!    |        remove         |             poll / remove           |
//!    +-----------------------+-------------------------------------+
//! ```
//!
//! Invariants:
//! * exactly the `Waiting` slots are linked, in arrival order, from `head` to `tail`;
//! * `len` counts the `Waiting` slots; `Granted` slots are in no list;
//! * a slot is freed only through its [`WaitKey`], which `poll` and `remove` consume. Only the
//!   future that was given the key holds it, so a slot is never freed twice and needs no
//!   generation counter to guard against reuse.
//!
//! `WaitList` never wakes anyone itself: it hands wakers back to the caller, which must wake
//! (and drop) them after releasing its `RefCell` borrow, because a waker may call straight
//! back into the primitive.
//!
//! [`grant_front`]: WaitList::grant_front

use std::mem;
use std::task::Waker;

use crate::runtime::waker::WakeRef;

/// Index meaning "no slot": the end of a list.
const NIL: u32 = u32::MAX;

/// A FIFO of waiting futures; see the [module docs](self).
pub(crate) struct WaitList<G> {
    slots: Vec<Slot<G>>,
    /// Oldest waiting slot, served first.
    head: u32,
    /// Newest waiting slot.
    tail: u32,
    /// Top of the stack of free slots, linked through `next`.
    free: u32,
    /// Number of `Waiting` slots.
    len: usize,
}

struct Slot<G> {
    state: State<G>,
    prev: u32,
    next: u32,
}

enum State<G> {
    /// Who to wake: a task key when it is a task of the running loop (`WakeRef`), so
    /// that a waiting task's waker is not counted as held outside the loop.
    Waiting(WakeRef),
    Granted(G),
    Free,
}

/// A waiting future's claim on its slot. Not `Clone`: `poll` and `remove` consume it.
#[derive(Debug)]
#[must_use = "a WaitKey leaks its slot unless it is given back to poll or remove"]
pub(crate) struct WaitKey(u32);

/// What [`WaitList::poll`] found.
pub(crate) enum Polled<G> {
    /// The grant; the slot is free again.
    Granted(G),
    /// Still waiting: the key back, and the waker it replaced, if the task's waker changed.
    /// Drop that waker only after releasing the primitive's borrow.
    Waiting(WaitKey, Option<WakeRef>),
}

/// What [`WaitList::remove`] took out of a slot.
pub(crate) enum Removed<G> {
    /// It was still waiting; here is its waker, to drop after releasing the borrow.
    Waiting(WakeRef),
    /// It had been granted `G` but never took it: the caller must pass it on.
    Granted(G),
}

impl<G> WaitList<G> {
    pub(crate) const fn new() -> Self {
        WaitList {
            slots: Vec::new(),
            head: NIL,
            tail: NIL,
            free: NIL,
            len: 0,
        }
    }

    /// Number of futures still waiting (granted ones are not counted).
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.head == NIL
    }

    /// Queues a new waiter at the back and returns its key.
    #[inline]
    pub(crate) fn push_back(&mut self, waker: &Waker) -> WaitKey {
        let slot = Slot {
            state: State::Waiting(WakeRef::of(waker)),
            prev: self.tail,
            next: NIL,
        };
        let index = if self.free != NIL {
            let index = self.free;
            self.free = self.slots[index as usize].next;
            self.slots[index as usize] = slot;
            index
        } else {
            let index = u32::try_from(self.slots.len())
                .ok()
                .filter(|&index| index != NIL)
                .expect("more than 4 billion futures waiting on one primitive");
            self.slots.push(slot);
            index
        };
        match self.tail {
            NIL => self.head = index,
            tail => self.slots[tail as usize].next = index,
        }
        self.tail = index;
        self.len += 1;
        WaitKey(index)
    }

    /// Every grant given and not yet taken (in slot order, not grant order).
    pub(crate) fn granted_iter_mut(&mut self) -> impl Iterator<Item = &mut G> {
        self.slots
            .iter_mut()
            .filter_map(|slot| match &mut slot.state {
                State::Granted(grant) => Some(grant),
                _ => None,
            })
    }

    /// Gives `grant` to the longest-waiting future and returns its waker, to be woken once the
    /// caller's borrow is released. With nobody waiting, `grant` comes back as the error.
    #[inline]
    pub(crate) fn grant_front(&mut self, grant: G) -> Result<WakeRef, G> {
        let index = self.head;
        if index == NIL {
            return Err(grant);
        }
        self.unlink(index);
        match mem::replace(&mut self.slots[index as usize].state, State::Granted(grant)) {
            State::Waiting(waker) => Ok(waker),
            _ => unreachable!("only waiting slots are linked"),
        }
    }

    /// Grants the `n` longest-waiting futures (all of them, if fewer wait) and returns their
    /// wakers in arrival order.
    pub(crate) fn grant_first(&mut self, n: usize, mut grant: impl FnMut() -> G) -> Vec<WakeRef> {
        let n = n.min(self.len);
        let mut wakers = Vec::with_capacity(n);
        for _ in 0..n {
            wakers.extend(self.grant_front(grant()).ok());
        }
        wakers
    }

    /// Grants every waiting future (`Event.set`, `notify_all`, a full barrier, shutdown).
    pub(crate) fn grant_all(&mut self, grant: impl FnMut() -> G) -> Vec<WakeRef> {
        self.grant_first(usize::MAX, grant)
    }

    /// Checks a waiting future's slot: takes its grant if it has one, otherwise records the
    /// task's current waker.
    #[inline]
    pub(crate) fn poll(&mut self, key: WaitKey, waker: &Waker) -> Polled<G> {
        let index = key.0;
        match &mut self.slots[index as usize].state {
            State::Waiting(current) => {
                let stale = current.update(waker);
                Polled::Waiting(key, stale)
            }
            State::Granted(_) => match self.free_slot(index) {
                State::Granted(grant) => Polled::Granted(grant),
                _ => unreachable!(),
            },
            State::Free => unreachable!("a WaitKey always names a live slot"),
        }
    }

    /// Takes a future's slot back when the future is dropped, whatever state it is in.
    pub(crate) fn remove(&mut self, key: WaitKey) -> Removed<G> {
        let index = key.0;
        if let State::Waiting(_) = self.slots[index as usize].state {
            self.unlink(index);
        }
        match self.free_slot(index) {
            State::Waiting(waker) => Removed::Waiting(waker),
            State::Granted(grant) => Removed::Granted(grant),
            State::Free => unreachable!("a WaitKey always names a live slot"),
        }
    }

    fn unlink(&mut self, index: u32) {
        let Slot { prev, next, .. } = self.slots[index as usize];
        match prev {
            NIL => self.head = next,
            prev => self.slots[prev as usize].next = next,
        }
        match next {
            NIL => self.tail = prev,
            next => self.slots[next as usize].prev = prev,
        }
        self.len -= 1;
    }

    /// Pushes an unlinked slot on the free stack and returns what it held.
    fn free_slot(&mut self, index: u32) -> State<G> {
        let slot = &mut self.slots[index as usize];
        slot.next = self.free;
        self.free = index;
        mem::replace(&mut slot.state, State::Free)
    }
}

impl<G> Default for WaitList<G> {
    fn default() -> Self {
        WaitList::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::VecDeque;

    fn waker() -> Waker {
        futures_task::noop_waker()
    }

    #[derive(Debug, Clone)]
    enum Op {
        Push,
        GrantFront,
        /// Remove the n-th live key (modulo the number of keys).
        Remove(usize),
        /// Poll the n-th live key.
        Poll(usize),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            3 => Just(Op::Push),
            2 => Just(Op::GrantFront),
            1 => any::<usize>().prop_map(Op::Remove),
            1 => any::<usize>().prop_map(Op::Poll),
        ]
    }

    proptest! {
        /// The list against a trivially correct model: a `VecDeque` of waiting ids plus the set
        /// of granted ids. Each waiter is identified by the grant value it will receive.
        #[test]
        fn matches_vecdeque_model(ops in proptest::collection::vec(op(), 0..200)) {
            let mut list = WaitList::<u32>::new();
            let mut keys: Vec<(u32, WaitKey)> = Vec::new();
            let mut waiting: VecDeque<u32> = VecDeque::new();
            let mut granted: Vec<u32> = Vec::new();
            let mut next_id = 0;
            for op in ops {
                match op {
                    Op::Push => {
                        keys.push((next_id, list.push_back(&waker())));
                        waiting.push_back(next_id);
                        next_id += 1;
                    }
                    Op::GrantFront => {
                        // Grant each waiter its own id, so a later poll can check who got it.
                        let expected = waiting.pop_front();
                        match list.grant_front(expected.unwrap_or(u32::MAX)) {
                            Ok(_) => granted.push(expected.unwrap()),
                            Err(_) => prop_assert!(expected.is_none()),
                        }
                    }
                    Op::Remove(n) | Op::Poll(n) if !keys.is_empty() => {
                        let (id, key) = keys.remove(n % keys.len());
                        let was_granted = granted.contains(&id);
                        if let Op::Remove(_) = op {
                            match list.remove(key) {
                                Removed::Granted(g) => prop_assert_eq!(g, id),
                                Removed::Waiting(_) => prop_assert!(!was_granted),
                            }
                            waiting.retain(|&w| w != id);
                            granted.retain(|&g| g != id);
                        } else {
                            match list.poll(key, &waker()) {
                                Polled::Granted(g) => {
                                    prop_assert_eq!(g, id);
                                    granted.retain(|&g| g != id);
                                }
                                Polled::Waiting(key, stale) => {
                                    prop_assert!(!was_granted);
                                    prop_assert!(stale.is_none(), "same waker: nothing replaced");
                                    keys.push((id, key));
                                }
                            }
                        }
                    }
                    Op::Remove(_) | Op::Poll(_) => {}
                }
                prop_assert_eq!(list.len(), waiting.len());
                prop_assert_eq!(list.is_empty(), waiting.is_empty());
                // Slots are reused: never more than the live keys.
                prop_assert!(list.slots.len() <= next_id as usize);
            }
        }
    }

    #[test]
    fn slots_are_reused() {
        let mut list = WaitList::<()>::new();
        for _ in 0..100 {
            let key = list.push_back(&waker());
            assert!(matches!(list.remove(key), Removed::Waiting(_)));
        }
        assert_eq!(list.slots.len(), 1);
    }

    #[test]
    fn poll_replaces_a_changed_waker() {
        use std::sync::Arc;
        use std::task::Wake;
        struct Flag;
        impl Wake for Flag {
            fn wake(self: Arc<Self>) {}
        }
        let mut list = WaitList::<()>::new();
        let key = list.push_back(&waker());
        let other = Waker::from(Arc::new(Flag));
        let Polled::Waiting(key, stale) = list.poll(key, &other) else {
            panic!("not granted")
        };
        assert!(stale.is_some());
        let Ok(woken) = list.grant_front(()) else {
            panic!("one waiter")
        };
        assert!(matches!(&woken, WakeRef::Other(w) if w.will_wake(&other)));
        assert!(matches!(list.poll(key, &other), Polled::Granted(())));
    }
}
