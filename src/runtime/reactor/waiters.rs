//! The parked wakers of one direction of one source ([`Waiters`]), oldest first.
//!
//! A socket is almost always waited on by one task at a time, so the first waker lives
//! inline and the list allocates only when several tasks wait at once (tasks sharing a
//! listener or a UDP socket through `&self`). An idle connection then costs its task, its
//! stream and one small `ScheduledIo`, and no list allocation (the bench's idle-tcp row).

use crate::runtime::waker::WakeRef;

/// A parked future's ticket id; 0 marks a waker parked without a ticket (a `futures_io`
/// poll method, which has nowhere to keep one).
pub(crate) type Id = u32;

/// Parked wakers with their ticket ids, in the order they parked.
pub(super) struct Waiters {
    /// The ticket id of `first`.
    first_id: Id,
    /// The last ticket id handed out ([`new_id`](Self::new_id)).
    last_id: Id,
    /// The oldest parked waker, or [`WakeRef::NOBODY`] when nobody waits.
    first: WakeRef,
    /// The others, oldest first: only allocated once two wait at the same time. Boxed, so
    /// that every source pays 8 bytes for this rare list, not a `Vec`'s 24.
    #[allow(clippy::box_collection)]
    more: Option<Box<Vec<(Id, WakeRef)>>>,
}

impl Default for Waiters {
    fn default() -> Waiters {
        Waiters {
            first_id: 0,
            last_id: 0,
            first: WakeRef::NOBODY,
            more: None,
        }
    }
}

impl Waiters {
    /// How many wakers are parked.
    #[inline]
    pub(super) fn len(&self) -> usize {
        usize::from(!self.first.is_nobody()) + self.more.as_ref().map_or(0, |more| more.len())
    }

    #[inline]
    pub(super) fn is_empty(&self) -> bool {
        self.first.is_nobody()
    }

    /// A ticket id that no parked waker has: ids count up and wrap, skipping 0 and any id
    /// still parked (a waiter can outlast four billion others), so `remove` never takes
    /// someone else's waker.
    #[inline]
    pub(super) fn new_id(&mut self) -> Id {
        loop {
            self.last_id = self.last_id.wrapping_add(1);
            let id = self.last_id;
            if id != 0 && self.find(|i, _| i == id).is_none() {
                return id;
            }
        }
    }

    /// Parks `waker` under `id`, behind those already parked.
    #[inline]
    pub(super) fn push(&mut self, id: Id, waker: WakeRef) {
        if self.first.is_nobody() {
            self.first_id = id;
            self.first = waker;
        } else {
            self.more.get_or_insert_with(Box::default).push((id, waker));
        }
    }

    /// The first parked waker (oldest first) for which `matches(id, waker)` holds.
    pub(super) fn find(&mut self, matches: impl Fn(Id, &WakeRef) -> bool) -> Option<&mut WakeRef> {
        if self.first.is_nobody() {
            return None; // `more` is empty whenever `first` is
        }
        if matches(self.first_id, &self.first) {
            return Some(&mut self.first);
        }
        let more = self.more.as_mut()?;
        more.iter_mut()
            .find(|(id, waker)| matches(*id, waker))
            .map(|(_, waker)| waker)
    }

    /// Takes out the waker parked under ticket `id` (never 0), if it is still here. The
    /// caller drops it after its borrow ends: a `Waker`'s destructor is foreign code.
    #[inline]
    pub(super) fn remove(&mut self, id: Id) -> Option<WakeRef> {
        if self.first.is_nobody() {
            return None;
        }
        if self.first_id == id {
            // The next oldest moves up, so `first` stays the oldest.
            let next = match self.more.as_mut() {
                Some(more) if !more.is_empty() => more.remove(0),
                _ => (0, WakeRef::NOBODY),
            };
            self.first_id = next.0;
            return Some(std::mem::replace(&mut self.first, next.1));
        }
        let more = self.more.as_mut()?;
        let at = more.iter().position(|&(i, _)| i == id)?;
        Some(more.remove(at).1)
    }

    /// Moves every parked waker into `out`, oldest first.
    #[inline]
    pub(super) fn drain_into(&mut self, out: &mut Vec<WakeRef>) {
        if self.first.is_nobody() {
            return;
        }
        out.push(std::mem::replace(&mut self.first, WakeRef::NOBODY));
        if let Some(more) = self.more.as_mut() {
            out.extend(more.drain(..).map(|(_, waker)| waker));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::task_key::TaskKey;
    use crate::runtime::waker::OwnKey;
    use proptest::prelude::*;

    /// A distinct waker per number (an own key: no `Waker` needed to tell them apart).
    fn waker(n: u32) -> WakeRef {
        WakeRef::Own(OwnKey::new(1, TaskKey::new(n, 0)))
    }

    fn number(waker: &WakeRef) -> u32 {
        match waker {
            WakeRef::Own(key) => key.index(),
            WakeRef::Other(_) => unreachable!("the tests park own keys only"),
        }
    }

    #[test]
    fn one_waiter_needs_no_allocation() {
        let mut waiters = Waiters::default();
        let id = waiters.new_id();
        waiters.push(id, waker(7));
        assert!(waiters.more.is_none());
        assert_eq!(waiters.remove(id).map(|w| number(&w)), Some(7));
        assert!(waiters.is_empty());
    }

    #[test]
    fn ids_skip_zero_and_the_ones_still_parked() {
        let mut waiters = Waiters::default();
        waiters.push(1, waker(1));
        waiters.push(3, waker(3));
        waiters.last_id = Id::MAX - 1;
        let ids: Vec<Id> = (0..3).map(|_| waiters.new_id()).collect();
        assert_eq!(ids, [Id::MAX, 2, 4], "wraps past 0, skips 1 and 3 (parked)");
    }

    #[derive(Clone, Debug)]
    enum Op {
        /// Park a new waker under a fresh ticket (or, if `untracked`, under id 0).
        Push { untracked: bool },
        /// Remove the waker of the `n`-th ticket handed out (perhaps gone already).
        Remove(prop::sample::Index),
        /// An event: everything parked goes out, oldest first.
        Drain,
        /// Look up the waker of the `n`-th ticket.
        Find(prop::sample::Index),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => any::<bool>().prop_map(|untracked| Op::Push { untracked }),
            3 => any::<prop::sample::Index>().prop_map(Op::Remove),
            1 => Just(Op::Drain),
            2 => any::<prop::sample::Index>().prop_map(Op::Find),
        ]
    }

    proptest! {
        /// `Waiters` against a `Vec` of (id, waker number) in parking order.
        #[test]
        fn matches_a_vec_model(ops in prop::collection::vec(op(), 1..200)) {
            let mut waiters = Waiters::default();
            let mut model: Vec<(Id, u32)> = Vec::new();
            let mut tickets: Vec<Id> = Vec::new();
            let mut next_waker = 0;
            for op in ops {
                match op {
                    Op::Push { untracked } => {
                        let id = if untracked { 0 } else { waiters.new_id() };
                        prop_assert!(untracked || !model.iter().any(|&(i, _)| i == id));
                        next_waker += 1;
                        waiters.push(id, waker(next_waker));
                        model.push((id, next_waker));
                        if !untracked {
                            tickets.push(id);
                        }
                    }
                    Op::Remove(pick) if !tickets.is_empty() => {
                        let id = tickets[pick.index(tickets.len())];
                        let expected = model.iter().position(|&(i, _)| i == id).map(|at| model.remove(at).1);
                        prop_assert_eq!(waiters.remove(id).map(|w| number(&w)), expected);
                    }
                    Op::Drain => {
                        let mut out = Vec::new();
                        waiters.drain_into(&mut out);
                        let got: Vec<u32> = out.iter().map(number).collect();
                        let expected: Vec<u32> = model.drain(..).map(|(_, n)| n).collect();
                        prop_assert_eq!(got, expected, "oldest first");
                    }
                    Op::Find(pick) if !tickets.is_empty() => {
                        let id = tickets[pick.index(tickets.len())];
                        let expected = model.iter().find(|&&(i, _)| i == id).map(|&(_, n)| n);
                        prop_assert_eq!(waiters.find(|i, _| i == id).map(|w| number(w)), expected);
                    }
                    _ => {}
                }
                prop_assert_eq!(waiters.len(), model.len());
                prop_assert_eq!(waiters.is_empty(), model.is_empty());
            }
        }
    }
}
