//! The loop's timer table: what a timer does when it fires ([`TimerEntry`]), and where the
//! loop keeps its timers ([`Timers`]): the hierarchical wheel (`wheel/`), whose entries are
//! packed into 8 bytes, plus a side table for the few that do not fit. asyncio keeps
//! `TimerHandle`s in a heap (`_scheduled`); this is that heap's place in tinyloop.
//!
//! Below the core: it names only the wheel, the waker types and the task keys.

use std::cell::Cell;
use std::num::NonZeroU64;
use std::panic::Location;
use std::rc::Rc;

use super::task_key::TaskKey;
use super::waker::{OwnKey, WakeRef, NO_TAG};
use super::wheel::{TimerKey, Wheel};

/// What a timer does when it fires.
pub(crate) enum TimerEntry {
    /// Wake a task (a `Sleep`).
    Wake(WakeRef),
    /// Queue a callback (`call_later`, `call_at`).
    Callback(Rc<Callback>),
}

impl std::fmt::Debug for TimerEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TimerEntry::Wake(_) => f.write_str("Wake"),
            TimerEntry::Callback(_) => f.write_str("Callback"),
        }
    }
}

/// The loop's timers: the wheel, plus a side table for the timers that do not fit in it.
///
/// A wheel entry is 32 bytes because its value is 8 ([`TimerTarget`]). Nearly every timer is
/// a `Sleep` polled by its own task, whose [`WakeRef::Own`] key is 8 bytes and goes into the
/// wheel as it is. The others (a waker of another kind, a callback) wait in `side`, and the
/// wheel holds their index there. (A `TimerEntry` in the wheel itself would be 24 bytes, and
/// each wheel entry 48: what one sleeping task pays.)
pub(crate) struct Timers {
    wheel: Wheel<TimerTarget>,
    side: SideTable,
    /// How many of `side`'s entries are far waiters ([`Timers::park_far`]).
    far: usize,
}

/// A slab of the timer entries that are not packed into the wheel; vacant places form a
/// free list through the slab itself, so that a grown table never allocates again.
struct SideTable {
    places: Vec<Place>,
    /// The first vacant place (`u32::MAX`: none).
    free: u32,
}

enum Place {
    Taken(TimerEntry),
    Vacant { next_free: u32 },
}

impl SideTable {
    fn put(&mut self, entry: TimerEntry) -> u32 {
        let index = self.free;
        if let Some(place) = self.places.get_mut(index as usize) {
            let Place::Vacant { next_free } = *place else {
                unreachable!("the free list names a vacant place")
            };
            self.free = next_free;
            *place = Place::Taken(entry);
            return index;
        }
        let index = u32::try_from(self.places.len()).unwrap_or(u32::MAX);
        self.places.push(Place::Taken(entry));
        index
    }

    fn take(&mut self, index: usize) -> TimerEntry {
        let vacant = Place::Vacant {
            next_free: self.free,
        };
        let Place::Taken(entry) = std::mem::replace(&mut self.places[index], vacant) else {
            unreachable!("a side-table target names a taken place")
        };
        self.free = index as u32;
        entry
    }

    fn get_mut(&mut self, index: usize) -> &mut TimerEntry {
        match &mut self.places[index] {
            Place::Taken(entry) => entry,
            Place::Vacant { .. } => unreachable!("a side-table target names a taken place"),
        }
    }
}

/// A [`TimerEntry`] packed into 8 bytes: an [`OwnKey`] as it is, or the index of a place in
/// `Timers::side`, marked by the loop tag [`NO_TAG`], which no `OwnKey` carries (a loop without
/// a tag never hands one out). Stored inverted, so that it is never zero and `Option` of it
/// is 8 bytes too (the all-ones value, which it would need, is an index never used).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TimerTarget(NonZeroU64);

const _: () = assert!(std::mem::size_of::<Option<TimerTarget>>() == 8);

enum Unpacked {
    Own(OwnKey),
    Side(usize),
}

impl TimerTarget {
    #[inline]
    fn pack(tag: u16, generation: u16, index: u32) -> TimerTarget {
        let raw = u64::from(index) | u64::from(generation) << 32 | u64::from(tag) << 48;
        TimerTarget(NonZeroU64::new(!raw).expect("no target packs to all ones"))
    }

    /// (`key` must not carry `NO_TAG`; it then stands for itself: `unpack` gives it back.)
    #[inline]
    fn own(key: OwnKey) -> TimerTarget {
        let target = TimerTarget::pack(key.tag(), key.generation16(), key.index());
        debug_assert!(matches!(target.unpack(), Unpacked::Own(k) if k == key));
        target
    }

    fn side(index: u32) -> TimerTarget {
        assert!(
            index != u32::MAX,
            "more than 4 294 967 294 timers are armed at once"
        );
        TimerTarget::pack(NO_TAG, 0, index)
    }

    #[inline]
    fn unpack(self) -> Unpacked {
        let raw = !self.0.get();
        let (tag, generation, index) = ((raw >> 48) as u16, (raw >> 32) as u16, raw as u32);
        if tag == NO_TAG {
            Unpacked::Side(index as usize)
        } else {
            let task = TaskKey::new(index, u32::from(generation));
            Unpacked::Own(OwnKey::new(tag, task))
        }
    }
}

impl Timers {
    pub(crate) fn new() -> Timers {
        Timers {
            wheel: Wheel::new(),
            side: SideTable {
                places: Vec::new(),
                free: u32::MAX,
            },
            far: 0,
        }
    }

    /// Keeps the waiter of a `Sleep` whose deadline is decades away (it never fires, so it
    /// is not armed) in the side table, where a `reset` to a nearer deadline finds it again.
    /// The key has no generation: only the `Sleep` that holds it ever takes the entry out.
    pub(crate) fn park_far(&mut self, waiter: WakeRef) -> TimerKey {
        let index = self.side.put(TimerEntry::Wake(waiter));
        assert!(
            index != u32::MAX,
            "more than 4 294 967 294 far sleeps wait at once"
        );
        self.far += 1;
        TimerKey::without_generation(index)
    }

    /// Takes a far waiter back out ([`Timers::park_far`]).
    pub(crate) fn unpark_far(&mut self, key: TimerKey) -> WakeRef {
        self.far -= 1;
        match self.side.take(key.index() as usize) {
            TimerEntry::Wake(waiter) => waiter,
            TimerEntry::Callback(_) => unreachable!("a far key names a waiter"),
        }
    }

    /// The far waiter `key` names, to update.
    pub(crate) fn far_waiter(&mut self, key: TimerKey) -> &mut WakeRef {
        match self.side.get_mut(key.index() as usize) {
            TimerEntry::Wake(waiter) => waiter,
            TimerEntry::Callback(_) => unreachable!("a far key names a waiter"),
        }
    }

    /// How many far sleeps wait: they never fire, but while one waits its task is not
    /// deadlocked (`runtime/observe/deadlock.rs`).
    pub(crate) fn far_len(&self) -> usize {
        self.far
    }

    /// Number of timers armed.
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.wheel.len()
    }

    /// See [`Wheel::next_expiration`].
    #[inline]
    pub(crate) fn next_expiration(&self) -> Option<u64> {
        self.wheel.next_expiration()
    }

    /// See [`Wheel::due_bound`]: O(1), where `next_expiration` looks at the levels.
    #[inline]
    pub(crate) fn due_bound(&self) -> Option<u64> {
        self.wheel.due_bound()
    }

    /// The tick a timer still armed fires at.
    #[inline]
    pub(crate) fn deadline(&self, key: TimerKey) -> Option<u64> {
        self.wheel.deadline(key)
    }

    /// Arms a timer for tick `when`: see [`Wheel::insert`].
    #[inline]
    pub(crate) fn insert(&mut self, when: u64, entry: TimerEntry) -> TimerKey {
        let target = self.pack(entry);
        self.wheel.insert(when, target)
    }

    /// Disarms a timer and hands its entry back; `None` if it fired or was removed already.
    #[inline]
    pub(crate) fn remove(&mut self, key: TimerKey) -> Option<TimerEntry> {
        let target = self.wheel.remove(key)?;
        Some(unpack(&mut self.side, target))
    }

    /// Lets `update` change the waker of an armed wake-up timer (`None`: it fired, or was
    /// removed). The waker may change kind, and so move into or out of the side table.
    pub(crate) fn update_waker<R>(
        &mut self,
        key: TimerKey,
        update: impl FnOnce(&mut WakeRef) -> R,
    ) -> Option<R> {
        let target = *self.wheel.get_mut(key)?;
        // Updated in place, so that a panicking `update` (a waker's `clone`) loses nothing.
        let (out, waiter) = match target.unpack() {
            Unpacked::Own(own) => {
                let mut waiter = WakeRef::Own(own);
                (update(&mut waiter), waiter)
            }
            Unpacked::Side(index) => {
                let TimerEntry::Wake(waiter) = self.side.get_mut(index) else {
                    unreachable!("a Sleep's key names a waker")
                };
                let out = update(waiter);
                let TimerEntry::Wake(waiter) = self.side.take(index) else {
                    unreachable!("just updated")
                };
                (out, waiter)
            }
        };
        let target = self.pack(TimerEntry::Wake(waiter));
        *self.wheel.get_mut(key).expect("still armed") = target;
        Some(out)
    }

    /// Fires every timer due at tick `now`, in deadline order: see [`Wheel::advance`].
    pub(crate) fn advance(&mut self, now: u64, mut fire: impl FnMut(TimerEntry)) {
        let side = &mut self.side;
        self.wheel
            .advance(now, |_, target| fire(unpack(side, target)));
    }

    #[inline]
    fn pack(&mut self, entry: TimerEntry) -> TimerTarget {
        if let TimerEntry::Wake(WakeRef::Own(key)) = entry {
            if key.tag() != NO_TAG {
                return TimerTarget::own(key);
            }
        }
        self.pack_in_side(entry)
    }

    fn pack_in_side(&mut self, entry: TimerEntry) -> TimerTarget {
        TimerTarget::side(self.side.put(entry))
    }
}

/// The entry a target stands for, taken out of the side table if it lives there.
#[inline]
fn unpack(side: &mut SideTable, target: TimerTarget) -> TimerEntry {
    match target.unpack() {
        Unpacked::Own(key) => TimerEntry::Wake(WakeRef::Own(key)),
        Unpacked::Side(index) => side.take(index),
    }
}

/// A callback from `call_soon`/`call_later`/`call_at`, shared with its `CallbackHandle`.
pub(crate) struct Callback {
    pub(crate) f: Cell<Option<Box<dyn FnOnce()>>>,
    pub(crate) timer: Cell<Option<TimerKey>>,
    /// The `call_soon`/`call_later`/... call that made it, for debug mode's slow report.
    pub(crate) scheduled_at: &'static Location<'static>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::task::Waker;

    fn own(tag: u16, index: u32, generation: u32) -> OwnKey {
        OwnKey::new(tag, TaskKey::new(index, generation))
    }

    #[test]
    fn a_wheel_entry_of_the_loop_is_32_bytes() {
        assert_eq!(std::mem::size_of::<TimerTarget>(), 8);
        assert_eq!(std::mem::size_of::<Option<TimerTarget>>(), 8);
    }

    #[test]
    fn own_keys_pack_as_themselves() {
        for key in [
            own(0, 0, 0),
            own(1, 42, 7),
            own(NO_TAG - 1, u32::MAX, 0xffff),
            OwnKey::new(3, TaskKey::MAIN),
        ] {
            assert!(matches!(TimerTarget::own(key).unpack(), Unpacked::Own(k) if k == key));
        }
        for index in [0, 1, u32::MAX - 1] {
            let target = TimerTarget::side(index);
            assert!(matches!(target.unpack(), Unpacked::Side(i) if i == index as usize));
        }
    }

    fn wake(waker: &Waker) -> TimerEntry {
        TimerEntry::Wake(WakeRef::Other(waker.clone()))
    }

    #[test]
    fn other_entries_live_in_the_side_table_and_leave_it() {
        let mut timers = Timers::new();
        let a = timers.insert(5, TimerEntry::Wake(WakeRef::Own(own(0, 1, 1))));
        let b = timers.insert(5, wake(Waker::noop()));
        let c = timers.insert(6, wake(Waker::noop()));
        assert_eq!(timers.side.places.len(), 2);
        assert!(matches!(
            timers.remove(b),
            Some(TimerEntry::Wake(WakeRef::Other(_)))
        ));
        assert_eq!(timers.side.free, 0);
        let d = timers.insert(7, wake(Waker::noop()));
        assert_eq!(timers.side.places.len(), 2, "a vacant place is reused");

        // A waker that changes kind moves out of the side table, and back in.
        let new_own = own(0, 9, 9);
        timers.update_waker(c, |w| *w = WakeRef::Own(new_own));
        assert!(matches!(timers.side.places[1], Place::Vacant { .. }));
        timers.update_waker(a, |w| *w = WakeRef::Other(Waker::noop().clone()));
        assert_eq!(timers.deadline(a), Some(5));

        let mut fired = Vec::new();
        timers.advance(10, |entry| {
            fired.push(match entry {
                TimerEntry::Wake(WakeRef::Own(key)) => Some(key),
                TimerEntry::Wake(WakeRef::Other(_)) => None,
                TimerEntry::Callback(_) => unreachable!(),
            })
        });
        assert_eq!(fired, vec![None, Some(new_own), None]);
        assert_eq!(timers.len(), 0);
        let vacant = |p: &Place| matches!(p, Place::Vacant { .. });
        assert!(timers.side.places.iter().all(vacant));
        assert!(timers.remove(d).is_none());
        assert_eq!(timers.update_waker(a, |_| ()), None);
    }
}
