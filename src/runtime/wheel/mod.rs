//! The loop's timers: a hierarchical timing wheel (Varghese & Lauck, 1987).
//!
//! # asyncio's way: a heap
//!
//! asyncio keeps its timers in `BaseEventLoop._scheduled`, a binary heap of `TimerHandle`s
//! ordered by deadline (`base_events.py`). `call_at` is a `heapq.heappush`, O(log n);
//! `TimerHandle.cancel` only marks the handle, and `_run_once` pops cancelled handles lazily,
//! rebuilding the whole heap when more than half of it is cancelled. Each turn `_run_once`
//! pops every handle whose deadline has passed and moves it to the ready queue.
//!
//! # Why a wheel
//!
//! Most timers never fire: a `timeout` around a read that succeeds, a `sleep` whose task is
//! cancelled. What matters is that arming and disarming are cheap, and a wheel makes both
//! O(1): insert computes a slot from the deadline's bits and links the entry in; remove
//! unlinks it. The cost moves to expiry, where an entry moves down a level at most five
//! times (a "cascade"), each move O(1). Time is whole ticks of 1 ms; the wheel has no clock,
//! the loop tells it the time by calling [`Wheel::advance`].
//!
//! # Layout
//!
//! Six levels of 64 slots (see `level.rs`). On level `L` a slot is `64^L` ticks wide, so a
//! deadline's slot on level `L` is its base-64 digit number `L`, and the level where it goes
//! is the highest digit in which it differs from `elapsed` (the tick processed so far):
//!
//! | level | slot width            | level range (one turn)      |
//! |-------|-----------------------|-----------------------------|
//! | 0     | 1 ms                  | 64 ms                       |
//! | 1     | 64 ms                 | 4.096 s                     |
//! | 2     | 4.096 s               | ≈ 4.4 min (262 144 ms)      |
//! | 3     | ≈ 4.4 min             | ≈ 4.7 h (16 777 216 ms)     |
//! | 4     | ≈ 4.7 h               | ≈ 12.4 days (64^5 ms)       |
//! | 5     | ≈ 12.4 days           | ≈ 2.2 years (64^6 ms)       |
//!
//! Each level keeps a `u64` bitmap of its non-empty slots: the next slot to come due is a
//! rotate and a `trailing_zeros`, never a scan. Entries live in a slab (a `Vec` plus a free
//! list, so a grown wheel never allocates again); a slot is an intrusive doubly linked list
//! of slab indices (`u32` `prev`/`next` in the entry). A [`TimerKey`] is a slab index plus a
//! generation counter, bumped whenever an entry is freed, so a key that outlived its timer
//! finds nothing instead of someone else's timer.
//!
//! # Invariants
//!
//! 1. Every occupied slot stands for a fixed tick, its *start*, later than `elapsed`; level
//!    0's slot for `elapsed` itself is the one exception: it holds the entries that are due
//!    now (deadline `<= elapsed`), sorted by deadline, for the next `advance` to fire.
//! 2. An entry's slot starts at or before its deadline, so nothing fires early; on level 0
//!    the start *is* the deadline.
//! 3. Every entry on level `L` lies in the level's current turn, so all of level `L` comes
//!    due before any slot of level `L + 1`: the first non-empty level holds the next expiry.
//!    The one exception is the top level, whose already-begun slots stand for its next turn.
//! 4. `elapsed` only moves forward, and never past the start of an occupied slot without
//!    processing it (firing level 0, cascading the others).
//!
//! Deadlines beyond the wheel's range (more than one top-level turn ahead) are *parked* in
//! the last top-level slot that does not start after them. When a top-level slot comes due
//! the whole top level is taken out and placed again (parked once more, or lower), so
//! parked entries never fire early, and `elapsed` may jump straight to the earliest of them:
//! `advance(u64::MAX)` takes a handful of steps, not one per 2.2-year turn. `u64::MAX` works
//! like any other deadline.
//!
//! # Costs
//!
//! `insert` and `remove` are O(1) and allocation-free once the slab has grown (one
//! exception: a deadline already in the past, older than others already waiting, walks back
//! to keep level 0's due slot sorted). `advance` with nothing due and `next_expiration` look
//! at six bitmaps at most. Each entry cascades at most five times before it fires.

mod level;

use std::fmt;
use std::num::NonZeroU32;

use level::{level_for, level_range, slot_for, slot_range, Level, Slot, LEVELS, NIL, SLOTS, TOP};

/// Names one timer in a [`Wheel`]: a slab index and the generation it was inserted under.
/// It goes stale when the timer fires or is removed; stale keys find nothing.
///
/// Generations start at 1 and skip 0 when they wrap, so the key has a value it never takes:
/// an enum with a `TimerKey` variant and one more (a `Sleep`'s state) fits in the key's 8
/// bytes.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct TimerKey {
    index: u32,
    generation: NonZeroU32,
}

impl TimerKey {
    /// A key for a table other than a wheel (`Timers`' far table), which has no generations:
    /// its entries are only ever removed through their one key.
    pub(crate) fn without_generation(index: u32) -> TimerKey {
        TimerKey {
            index,
            generation: NonZeroU32::MIN,
        }
    }

    /// The index the key names.
    pub(crate) fn index(self) -> u32 {
        self.index
    }
}

/// A slab entry. While vacant, `value` is `None` and `next` links the free list.
struct Entry<T> {
    when: u64,
    prev: u32,
    next: u32,
    generation: NonZeroU32,
    /// `level * SLOTS + slot` of the list this entry is linked into, so `remove` can fix the
    /// slot's head or tail without searching (the slot cannot be recomputed for parked entries).
    slot: u16,
    value: Option<T>,
}

impl<T> fmt::Debug for Entry<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Entry")
            .field("when", &self.when)
            .field("generation", &self.generation)
            .field("vacant", &self.value.is_none())
            .finish_non_exhaustive()
    }
}

/// A hierarchical timing wheel holding values of type `T`, each with a deadline in ticks.
pub(crate) struct Wheel<T> {
    /// Every deadline `<= elapsed` has been fired, except entries inserted since then.
    elapsed: u64,
    len: usize,
    /// At or before `next_expiration()` (exactly it after an `advance`, maybe earlier after an
    /// `insert` or a `remove`), so the loop can tell "nothing is due yet" without looking at
    /// the levels.
    due_bound: u64,
    levels: Box<[Level; LEVELS]>,
    entries: Vec<Entry<T>>,
    /// Head of the free list of vacant entries (`NIL` when none).
    free: u32,
}

impl<T> Wheel<T> {
    /// An empty wheel at tick 0.
    pub(crate) fn new() -> Self {
        const EMPTY: Level = Level::new();
        Wheel {
            elapsed: 0,
            len: 0,
            due_bound: u64::MAX,
            levels: Box::new([EMPTY; LEVELS]),
            entries: Vec::new(),
            free: NIL,
        }
    }

    /// The tick processed so far: every timer with a deadline up to it has fired (except
    /// those inserted since, with deadlines already past).
    #[allow(dead_code)] // part of the interface; the loop does not need it yet
    pub(crate) fn elapsed(&self) -> u64 {
        self.elapsed
    }

    /// Number of timers in the wheel.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Whether the wheel holds no timers.
    #[allow(dead_code)] // part of the interface; the loop does not need it yet
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Arms a timer for tick `when`. A deadline `<= elapsed` fires at the next `advance`
    /// (never lost). O(1) and, once the slab has grown, allocation-free. (A past deadline
    /// earlier than others waiting in the due slot walks back to its sorted place.)
    #[inline]
    pub(crate) fn insert(&mut self, when: u64, value: T) -> TimerKey {
        let index = self.allocate(when, value);
        self.place(index);
        // Cheaper than the slot's start, and early enough: every slot after `elapsed` starts
        // at `elapsed + 1` or later. (So the loop advances at most once per tick for nothing.)
        let due = if when <= self.elapsed {
            when
        } else {
            self.elapsed + 1
        };
        self.due_bound = self.due_bound.min(due);
        TimerKey {
            index,
            generation: self.entries[index as usize].generation,
        }
    }

    /// Disarms a timer and hands its value back; `None` if the key is stale (the timer
    /// fired or was removed). O(1).
    #[inline]
    pub(crate) fn remove(&mut self, key: TimerKey) -> Option<T> {
        let index = self.live(key)?;
        self.unlink(index);
        if self.len == 1 {
            self.due_bound = u64::MAX; // else it stays, early at worst
        }
        Some(self.release(index))
    }

    /// The value of a timer still in the wheel.
    #[inline]
    pub(crate) fn get_mut(&mut self, key: TimerKey) -> Option<&mut T> {
        let index = self.live(key)?;
        self.entries[index as usize].value.as_mut()
    }

    /// The deadline of a timer still in the wheel.
    #[allow(dead_code)] // part of the interface; the loop does not need it yet
    pub(crate) fn deadline(&self, key: TimerKey) -> Option<u64> {
        let index = self.live(key)?;
        Some(self.entries[index as usize].when)
    }

    /// The earliest tick at which `advance` has work: the exact deadline when the first
    /// occupied slot is on level 0 (it may be `<= elapsed`: already due), else the start of
    /// the first occupied higher-level slot (a lower bound; advancing to it cascades).
    /// `None` when empty. O(levels).
    pub(crate) fn next_expiration(&self) -> Option<u64> {
        self.next_due().map(|(_, _, due)| due)
    }

    /// A tick at or before [`Wheel::next_expiration`], in O(1): when it has not come, neither
    /// has any work for `advance`. (It may be early after an `insert` or a `remove`; the next
    /// `advance` makes it exact again.) `None` when empty.
    #[inline]
    pub(crate) fn due_bound(&self) -> Option<u64> {
        (self.len > 0).then_some(self.due_bound)
    }

    /// Fires every timer with a deadline `<= now`, in non-decreasing deadline order (timers
    /// with equal deadlines in insertion order), cascading as needed; afterwards
    /// `elapsed() == max(elapsed(), now)`. Each timer leaves the wheel before `fire` gets
    /// its key and value, so a panicking `fire` leaves the wheel consistent.
    ///
    /// When nothing is due this is a few bit operations: the loop calls it every turn.
    pub(crate) fn advance(&mut self, now: u64, mut fire: impl FnMut(TimerKey, T)) {
        let mut next = u64::MAX;
        while let Some((level, slot, due)) = self.next_due() {
            if due > now {
                next = due;
                break;
            }
            if level == 0 {
                self.fire_slot(slot, now, &mut fire);
            } else {
                self.cascade(level, slot, now);
            }
        }
        // Safe to jump: every remaining slot starts after `now` (invariant 4), and keeps its
        // start, so `next` stays the next expiration.
        self.elapsed = self.elapsed.max(now);
        self.due_bound = next;
    }

    /// The next slot to process: `(level, slot, due)`, where `due` is the level-0 head's
    /// deadline or a higher slot's start. By invariant 3 the first non-empty level has it.
    fn next_due(&self) -> Option<(usize, usize, u64)> {
        for (number, level) in self.levels.iter().enumerate() {
            if let Some((slot, start)) = level.next_occupied(number, self.elapsed) {
                let due = if number == 0 {
                    // Level-0 slots are one tick wide, so the head's deadline is exact; in
                    // the current slot, where past deadlines wait sorted, it is the earliest.
                    self.entries[level.slots[slot].head as usize].when
                } else {
                    start
                };
                return Some((number, slot, due));
            }
        }
        None
    }

    /// Fires the head of level-0 `slot` while its deadline is `<= now`.
    fn fire_slot(&mut self, slot: usize, now: u64, fire: &mut impl FnMut(TimerKey, T)) {
        loop {
            let index = self.levels[0].slots[slot].head;
            if index == NIL {
                return;
            }
            let entry = &self.entries[index as usize];
            // Only the current slot can hold a deadline > now (a past one inserted late,
            // then `advance` called with `now < elapsed`): it waits for a later advance.
            if entry.when > now {
                return;
            }
            let key = TimerKey {
                index,
                generation: entry.generation,
            };
            self.elapsed = self.elapsed.max(entry.when);
            self.unlink(index);
            let value = self.release(index);
            fire(key, value);
        }
    }

    /// Empties a due slot on level > 0 and places its entries again, lower down, relative
    /// to the new `elapsed`.
    fn cascade(&mut self, level: usize, slot: usize, now: u64) {
        let mut list = self.detach(level, slot);
        if level == TOP {
            // Take the whole top level (the lower ones are empty, they come due first). A
            // parked entry otherwise re-parks one top-level turn (2.2 years) further each time
            // its slot comes due, and two parked slots would hold each other to single turns.
            // With the wheel empty, `elapsed` can jump straight to the earliest deadline, so
            // `advance(u64::MAX)` crosses any distance in a few steps (not 2^28).
            while let Some((slot, _)) = self.levels[TOP].next_occupied(TOP, self.elapsed) {
                let more = self.detach(TOP, slot);
                // Slots in start order, each in list order: equal deadlines keep their order.
                self.entries[list.tail as usize].next = more.head;
                self.entries[more.head as usize].prev = list.tail;
                list.tail = more.tail;
            }
        }

        // `elapsed` moves to at least the slot's start, and further if that is safe: up to
        // `now`, not past any deadline taken out, and short of the next occupied slot (a
        // slot's start only means something while `elapsed` is before it).
        let mut earliest = u64::MAX;
        let mut index = list.head;
        while index != NIL {
            let entry = &self.entries[index as usize];
            earliest = earliest.min(entry.when);
            index = entry.next;
        }
        let before_next = self.next_due().map_or(u64::MAX, |(_, _, due)| due - 1);
        self.elapsed = now.min(earliest).min(before_next);

        // Head to tail, each appended at its new slot's tail: equal deadlines keep their order.
        let mut index = list.head;
        while index != NIL {
            let next = self.entries[index as usize].next;
            self.place(index);
            index = next;
        }
    }

    /// Empties `slot` of `level`, returning its list (the entries keep their links).
    fn detach(&mut self, level: usize, slot: usize) -> Slot {
        self.levels[level].occupied &= !(1 << slot);
        std::mem::replace(&mut self.levels[level].slots[slot], Slot::EMPTY)
    }

    /// Links the (unlinked) entry `index` into the slot its deadline calls for.
    fn place(&mut self, index: u32) {
        let when = self.entries[index as usize].when;
        if when <= self.elapsed {
            // Due now: level 0's current slot, kept sorted so `advance` fires in deadline
            // order. Walking back from the tail is O(1) in the usual case (`when == elapsed`).
            let slot = slot_for(self.elapsed, 0);
            let mut after = self.levels[0].slots[slot].tail;
            while after != NIL && self.entries[after as usize].when > when {
                after = self.entries[after as usize].prev;
            }
            self.link_after(index, 0, slot, after);
            return;
        }
        let level = level_for(self.elapsed, when);
        let (level, slot) = if level < LEVELS {
            (level, slot_for(when, level))
        } else {
            (TOP, self.slot_beyond_range(when))
        };
        let tail = self.levels[level].slots[slot].tail;
        self.link_after(index, level, slot, tail);
    }

    /// The top-level slot for a deadline in a later turn of the top level. The top level's
    /// already-begun slots (digits `<= now_slot`) stand for its next turn (invariant 3): a
    /// deadline that falls in one of those goes there; one further away is parked in the
    /// last of them (`now_slot`), which starts before it and re-examines it when due.
    fn slot_beyond_range(&self, when: u64) -> usize {
        let now_slot = slot_for(self.elapsed, TOP);
        // No overflow: `when` is in a later top-level turn, so this turn is not the last.
        let next_turn = (self.elapsed & !(level_range(TOP) - 1)) + level_range(TOP);
        if when - next_turn < (now_slot as u64 + 1) * slot_range(TOP) {
            slot_for(when, TOP)
        } else {
            now_slot
        }
    }

    /// Links entry `index` into `slot` of `level` right after entry `after` (`NIL`: at the head).
    fn link_after(&mut self, index: u32, level: usize, slot: usize, after: u32) {
        let list = &mut self.levels[level].slots[slot];
        let next = if after == NIL {
            std::mem::replace(&mut list.head, index)
        } else {
            std::mem::replace(&mut self.entries[after as usize].next, index)
        };
        if next == NIL {
            list.tail = index;
        } else {
            self.entries[next as usize].prev = index;
        }
        self.levels[level].occupied |= 1 << slot;

        let entry = &mut self.entries[index as usize];
        entry.prev = after;
        entry.next = next;
        entry.slot = (level * SLOTS + slot) as u16;
    }

    /// Unlinks entry `index` from its slot, clearing the slot's bit if it empties.
    fn unlink(&mut self, index: u32) {
        let Entry {
            prev, next, slot, ..
        } = self.entries[index as usize];
        let (level, slot) = (slot as usize / SLOTS, slot as usize % SLOTS);
        let list = &mut self.levels[level].slots[slot];
        if prev == NIL {
            list.head = next;
        } else {
            self.entries[prev as usize].next = next;
        }
        if next == NIL {
            list.tail = prev;
        } else {
            self.entries[next as usize].prev = prev;
        }
        if list.head == NIL {
            self.levels[level].occupied &= !(1 << slot);
        }
    }

    /// Takes a vacant entry from the free list, or grows the slab.
    fn allocate(&mut self, when: u64, value: T) -> u32 {
        self.len += 1;
        if self.free != NIL {
            let index = self.free;
            let entry = &mut self.entries[index as usize];
            self.free = entry.next;
            entry.when = when;
            entry.value = Some(value);
            return index;
        }
        let index = u32::try_from(self.entries.len())
            .ok()
            .filter(|&index| index != NIL)
            .expect("timer wheel is full: more than 4 294 967 294 timers are armed at once");
        self.entries.push(Entry {
            when,
            prev: NIL,
            next: NIL,
            generation: NonZeroU32::MIN,
            slot: 0,
            value: Some(value),
        });
        index
    }

    /// Frees an unlinked entry: its value is taken, its generation bumped (staling keys).
    fn release(&mut self, index: u32) -> T {
        self.len -= 1;
        let entry = &mut self.entries[index as usize];
        entry.generation = entry.generation.checked_add(1).unwrap_or(NonZeroU32::MIN);
        entry.next = self.free;
        self.free = index;
        entry.value.take().expect("released a vacant timer entry")
    }

    /// The slab index of `key`'s entry if the key is not stale.
    #[inline]
    fn live(&self, key: TimerKey) -> Option<u32> {
        let entry = self.entries.get(key.index as usize)?;
        (entry.generation == key.generation && entry.value.is_some()).then_some(key.index)
    }
}

impl<T> fmt::Debug for Wheel<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let occupied: [u32; LEVELS] = std::array::from_fn(|l| self.levels[l].occupied_slots());
        f.debug_struct("Wheel")
            .field("elapsed", &self.elapsed)
            .field("len", &self.len)
            .field("next_expiration", &self.next_expiration())
            .field("occupied_slots_per_level", &occupied)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    use proptest::prelude::*;

    /// Advances to `now` and returns the fired values.
    fn fire(wheel: &mut Wheel<u64>, now: u64) -> Vec<u64> {
        let mut fired = Vec::new();
        wheel.advance(now, |_, value| fired.push(value));
        fired
    }

    /// A wheel whose `elapsed` is `at`.
    fn wheel_at(at: u64) -> Wheel<u64> {
        let mut wheel = Wheel::new();
        assert!(fire(&mut wheel, at).is_empty());
        assert_eq!(wheel.elapsed(), at);
        wheel
    }

    const ELAPSED: [u64; 14] = [
        0,
        1,
        37,
        63,
        64,
        65,
        4095,
        4097,
        100_000,
        5 * 262_144 + 12_345,
        3 * 1_073_741_824 + 999,
        (1 << 40) + 7,
        (1 << 36) - 1,
        (1 << 36) + 1,
    ];

    /// 0, 1, 2, then 64^k - 1, 64^k, 64^k + 1 for k = 1..=7 (level 7 is beyond the wheel).
    fn boundary_deltas() -> Vec<u64> {
        let mut deltas = vec![0, 1, 2];
        for k in 1..=7 {
            let p = 64u64.pow(k);
            deltas.extend([p - 1, p, p + 1]);
        }
        deltas
    }

    /// Jumping straight to `when - 1` fires nothing; `when` fires exactly it.
    fn assert_fires_at_jump(mut wheel: Wheel<u64>, when: u64) {
        if when > wheel.elapsed() {
            let next = wheel.next_expiration().unwrap();
            assert!(next <= when, "next_expiration {next} after deadline {when}");
            assert!(fire(&mut wheel, when - 1).is_empty(), "{when} fired early");
            assert_eq!(wheel.elapsed(), when - 1);
        }
        assert_eq!(fire(&mut wheel, when), vec![when]);
        assert!(wheel.is_empty());
        assert_eq!(wheel.next_expiration(), None);
    }

    /// Stepping by `next_expiration` (as a virtual-time loop does) reaches `when` exactly.
    fn assert_fires_at_steps(mut wheel: Wheel<u64>, when: u64) {
        for _ in 0..200 {
            let next = wheel.next_expiration().unwrap();
            assert!(next <= when, "next_expiration {next} after deadline {when}");
            let fired = fire(&mut wheel, next);
            if !fired.is_empty() {
                assert_eq!(fired, vec![when]);
                assert!(
                    next == when || when < next,
                    "fired at {next}, deadline {when}"
                );
                assert!(wheel.is_empty());
                return;
            }
        }
        panic!("{when} did not fire within 200 steps");
    }

    #[test]
    fn boundaries_relative_to_elapsed() {
        for &at in &ELAPSED {
            for &delta in &boundary_deltas() {
                let when = at + delta;
                for stepwise in [false, true] {
                    let mut wheel = wheel_at(at);
                    let key = wheel.insert(when, when);
                    assert_eq!(wheel.deadline(key), Some(when));
                    assert_eq!(wheel.len(), 1);
                    if stepwise {
                        assert_fires_at_steps(wheel, when);
                    } else {
                        assert_fires_at_jump(wheel, when);
                    }
                }
            }
        }
    }

    #[test]
    fn absolute_boundaries_from_non_aligned_elapsed() {
        for k in 1..=7 {
            let p = 64u64.pow(k);
            for when in [p - 1, p, p + 1] {
                for at in [1, 7, 63, 65, when / 2 + 3, when - 2, when - 1] {
                    if at > when {
                        continue;
                    }
                    assert_fires_at_jump(
                        {
                            let mut w = wheel_at(at);
                            w.insert(when, when);
                            w
                        },
                        when,
                    );
                    assert_fires_at_steps(
                        {
                            let mut w = wheel_at(at);
                            w.insert(when, when);
                            w
                        },
                        when,
                    );
                }
            }
        }
    }

    #[test]
    fn many_deadlines_fire_in_order() {
        let mut wheel = wheel_at(12_345);
        let mut expected = Vec::new();
        for &delta in boundary_deltas().iter().rev() {
            let when = 12_345 + delta;
            wheel.insert(when, when);
            expected.push(when);
        }
        expected.sort_unstable();
        let mut fired = Vec::new();
        let (mut now, mut step) = (12_345u64, 1u64);
        while !wheel.is_empty() {
            // Odd, growing strides that cross boundaries mid-slot.
            now = now.saturating_add(step);
            step = step * 3 / 2 + 997;
            wheel.advance(now, |_, when| {
                assert!(when <= now, "{when} fired at {now}");
                fired.push(when);
            });
        }
        assert_eq!(fired, expected);
    }

    #[test]
    fn far_deadlines_never_fire_early() {
        let range = 64u64.pow(6);
        let deadlines = [
            range - 1,
            range,
            range + 1,
            3 * range + 17,
            1 << 50,
            u64::MAX - 1,
            u64::MAX,
        ];
        for &when in &deadlines {
            assert_fires_at_jump(
                {
                    let mut w = wheel_at(5);
                    w.insert(when, when);
                    w
                },
                when,
            );
        }
        // All at once, advancing in big strides, then to the end of time.
        let mut wheel = wheel_at(5);
        for &when in &deadlines {
            wheel.insert(when, when);
        }
        let mut fired = Vec::new();
        for now in [
            range - 2,
            range,
            1 << 40,
            (1 << 50) - 1,
            1 << 50,
            u64::MAX - 2,
        ] {
            wheel.advance(now, |_, when| {
                assert!(when <= now, "{when} fired at {now}");
                fired.push(when);
            });
        }
        assert_eq!(wheel.len(), 2);
        assert!(wheel.next_expiration().unwrap() < u64::MAX);
        assert_eq!(fire(&mut wheel, u64::MAX), vec![u64::MAX - 1, u64::MAX]);
        assert_eq!(fired, deadlines[..5]);
        assert_eq!(wheel.elapsed(), u64::MAX);
    }

    #[test]
    fn end_of_time() {
        let mut wheel = wheel_at(u64::MAX);
        wheel.insert(u64::MAX, 1);
        wheel.insert(3, 0);
        assert_eq!(wheel.next_expiration(), Some(3));
        assert_eq!(fire(&mut wheel, u64::MAX), vec![0, 1]);
        assert!(wheel.is_empty());

        let mut wheel = wheel_at(u64::MAX - 1);
        wheel.insert(u64::MAX, 7);
        assert_eq!(wheel.next_expiration(), Some(u64::MAX));
        assert!(fire(&mut wheel, u64::MAX - 1).is_empty());
        assert_eq!(fire(&mut wheel, u64::MAX), vec![7]);
    }

    #[test]
    fn jumping_past_parked_entries_is_quick() {
        // Without the cascade's jump this would walk 2^28 top-level turns.
        let mut wheel = wheel_at(0);
        wheel.insert(u64::MAX, 1);
        wheel.insert(1 << 62, 0);
        assert_eq!(fire(&mut wheel, u64::MAX), vec![0, 1]);
    }

    #[test]
    fn parked_entries_in_different_slots_do_not_hold_each_other_back() {
        let mut wheel = wheel_at(0);
        wheel.insert(u64::MAX, 1); // parked in top slot 0
        assert!(fire(&mut wheel, 3 * 64u64.pow(5) + 5).is_empty());
        wheel.insert(1 << 62, 0); // parked in top slot 3
        assert_eq!(fire(&mut wheel, u64::MAX), vec![0, 1]);
    }

    #[test]
    fn past_deadlines_fire_at_next_advance_in_order() {
        let mut wheel = wheel_at(100);
        wheel.insert(50, 50);
        wheel.insert(100, 100);
        wheel.insert(20, 20);
        wheel.insert(100, 101);
        wheel.insert(101, 102);
        assert_eq!(wheel.next_expiration(), Some(20));
        assert_eq!(fire(&mut wheel, 100), vec![20, 50, 100, 101]);
        assert_eq!(wheel.next_expiration(), Some(101));
        assert_eq!(fire(&mut wheel, 101), vec![102]);
    }

    #[test]
    fn advance_to_an_earlier_time_fires_only_what_is_due() {
        let mut wheel = wheel_at(100);
        wheel.insert(90, 90);
        wheel.insert(20, 20);
        assert_eq!(fire(&mut wheel, 50), vec![20]);
        assert_eq!(wheel.elapsed(), 100);
        assert_eq!(fire(&mut wheel, 100), vec![90]);
    }

    #[test]
    fn remove_and_stale_keys() {
        let mut wheel = wheel_at(10);
        let a = wheel.insert(20, 1);
        let b = wheel.insert(20, 2);
        let c = wheel.insert(20, 3);
        let far = wheel.insert(1 << 45, 4);
        assert_eq!(wheel.remove(b), Some(2)); // middle of a slot list
        assert_eq!(wheel.remove(b), None);
        assert_eq!(wheel.get_mut(b), None);
        assert_eq!(wheel.deadline(b), None);
        assert_eq!(wheel.remove(a), Some(1)); // head
        assert_eq!(wheel.remove(far), Some(4));
        *wheel.get_mut(c).unwrap() += 10;

        // Freed entries are reused; the old keys stay stale.
        let d = wheel.insert(30, 5);
        assert_ne!(d, a);
        assert_ne!(d, b);
        assert_eq!(wheel.remove(a), None);
        assert_eq!(wheel.entries.len(), 4);

        let mut fired = Vec::new();
        wheel.advance(30, |key, value| fired.push((key, value)));
        assert_eq!(fired, vec![(c, 13), (d, 5)]);
        assert_eq!(wheel.remove(c), None); // fired keys are stale
        assert!(wheel.is_empty());
        assert_eq!(wheel.next_expiration(), None);
    }

    #[test]
    fn removing_everything_clears_the_bitmaps() {
        let mut wheel = wheel_at(77);
        let keys: Vec<_> = boundary_deltas()
            .iter()
            .map(|&d| wheel.insert(77 + d, d))
            .collect();
        for key in keys.into_iter().rev() {
            assert!(wheel.remove(key).is_some());
        }
        assert!(wheel.levels.iter().all(|level| level.occupied == 0));
        assert_eq!(wheel.next_expiration(), None);
        assert!(fire(&mut wheel, u64::MAX).is_empty());
    }

    #[test]
    fn entries_stay_small() {
        // deadline, prev, next, generation, slot, and a u32 task id with its Option tag.
        assert_eq!(std::mem::size_of::<Entry<u32>>(), 32);
        // The loop's own value type (`timers::TimerTarget`) is an 8-byte non-zero integer.
        assert_eq!(std::mem::size_of::<Entry<std::num::NonZeroU64>>(), 32);
    }

    #[test]
    fn debug_shows_state() {
        let mut wheel = wheel_at(3);
        wheel.insert(10, 0);
        let shown = format!("{wheel:?}");
        assert!(shown.contains("elapsed: 3"), "{shown}");
        assert!(shown.contains("len: 1"), "{shown}");
        assert!(shown.contains("next_expiration: Some(10)"), "{shown}");
    }

    #[derive(Debug, Clone)]
    enum Op {
        /// Insert at `now - delta` (past) or `now + delta`, saturating.
        Insert { past: bool, delta: u64 },
        /// Remove the key picked among every key ever issued (often stale).
        Remove(prop::sample::Index),
        /// Advance to `elapsed + delta`, saturating.
        Advance(u64),
    }

    fn insert_delta() -> impl Strategy<Value = u64> {
        prop_oneof![
            0..3u64,
            0..70u64,
            0..5_000u64,
            0..300_000u64,
            0..20_000_000u64,
            0..(1u64 << 40),
            Just(u64::MAX),
            (u64::MAX - 100)..=u64::MAX,
        ]
    }

    fn advance_delta() -> impl Strategy<Value = u64> {
        prop_oneof![
            4 => 0..3u64,
            4 => 0..70u64,
            3 => 0..5_000u64,
            2 => 0..300_000u64,
            2 => 0..20_000_000u64,
            1 => 0..(1u64 << 40),
            1 => Just(u64::MAX),
        ]
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (prop::bool::weighted(0.1), insert_delta())
                .prop_map(|(past, delta)| Op::Insert { past, delta }),
            2 => any::<prop::sample::Index>().prop_map(Op::Remove),
            3 => advance_delta().prop_map(Op::Advance),
        ]
    }

    proptest! {
        #[test]
        fn matches_a_btreemap_model(ops in prop::collection::vec(op(), 1..200)) {
            let mut wheel: Wheel<u64> = Wheel::new();
            // (when, seq) -> key: iteration order is deadline order, ties by insertion.
            let mut model: BTreeMap<(u64, u64), TimerKey> = BTreeMap::new();
            let mut issued: Vec<(TimerKey, u64, u64)> = Vec::new();
            for op in ops {
                match op {
                    Op::Insert { past, delta } => {
                        let now = wheel.elapsed();
                        let when = if past { now.saturating_sub(delta) } else { now.saturating_add(delta) };
                        let seq = issued.len() as u64;
                        let key = wheel.insert(when, seq);
                        model.insert((when, seq), key);
                        issued.push((key, when, seq));
                    }
                    Op::Remove(pick) => {
                        if issued.is_empty() {
                            continue;
                        }
                        let (key, when, seq) = issued[pick.index(issued.len())];
                        let expected = model.remove(&(when, seq)).map(|_| seq);
                        prop_assert_eq!(wheel.remove(key), expected);
                    }
                    Op::Advance(delta) => {
                        let before = wheel.elapsed();
                        let now = before.saturating_add(delta);
                        let mut fired = Vec::new();
                        wheel.advance(now, |key, seq| fired.push((key, seq)));
                        let due: Vec<(u64, u64)> = model.range(..=(now, u64::MAX)).map(|(&k, _)| k).collect();
                        let mut expected = Vec::new();
                        for k in due {
                            let key = model.remove(&k).unwrap();
                            expected.push((key, k.1));
                        }
                        // Exactly the due entries, in deadline order, equal deadlines FIFO.
                        prop_assert_eq!(fired, expected);
                        prop_assert_eq!(wheel.elapsed(), before.max(now));
                    }
                }
                prop_assert_eq!(wheel.len(), model.len());
                let next = wheel.next_expiration();
                match (wheel.due_bound(), next) {
                    (Some(bound), Some(next)) => prop_assert!(bound <= next, "bound {} > next {}", bound, next),
                    (bound, next) => prop_assert_eq!(bound, next), // both None
                }
                match model.keys().next() {
                    None => prop_assert_eq!(wheel.next_expiration(), None),
                    Some(&(earliest, _)) => {
                        let next = wheel.next_expiration();
                        prop_assert!(next.is_some());
                        prop_assert!(next.unwrap() <= earliest, "next {:?} > earliest {}", next, earliest);
                    }
                }
                for (&(when, _), &key) in model.iter().take(3) {
                    prop_assert_eq!(wheel.deadline(key), Some(when));
                }
            }
        }
    }
}
