//! One level of the timing wheel: 64 slots and the bitmap that says which are occupied.
//!
//! Level `L` cuts time into slots `64^L` ticks wide; one turn of the level covers
//! `64^(L+1)` ticks. A deadline's slot on level `L` is simply its base-64 digit number `L`:
//! `(when >> 6L) & 63`. The level itself does not know the entries; it keeps the head and
//! tail of each slot's list (slab indices, linked through the entries in `mod.rs`) and a
//! `u64` with one bit per non-empty slot, so "which slot is due next?" is a rotate and a
//! `trailing_zeros`, never a scan of 64 slots.

/// log2 of the number of slots per level.
pub(super) const SLOT_BITS: u32 = 6;
/// Slots per level: one bit each in a `u64` bitmap.
pub(super) const SLOTS: usize = 1 << SLOT_BITS;
/// Number of levels; together they cover `64^6` ticks (about 2.2 years of milliseconds).
pub(super) const LEVELS: usize = 6;
/// The top level, where deadlines beyond the wheel's range are parked.
pub(super) const TOP: usize = LEVELS - 1;
/// Marks "no entry" in the `u32` links (slot heads and tails, entry `prev`/`next`).
pub(super) const NIL: u32 = u32::MAX;

/// Ticks covered by one slot of `level`: `64^level`.
pub(super) const fn slot_range(level: usize) -> u64 {
    1 << (SLOT_BITS as usize * level)
}

/// Ticks covered by one full turn of `level`: `64^(level + 1)`.
pub(super) const fn level_range(level: usize) -> u64 {
    1 << (SLOT_BITS as usize * (level + 1))
}

/// The slot of `level` that holds tick `when`: its base-64 digit number `level`.
pub(super) const fn slot_for(when: u64, level: usize) -> usize {
    ((when >> (SLOT_BITS as usize * level)) as usize) & (SLOTS - 1)
}

/// The level where a deadline `when > elapsed` belongs: the base-64 digit of the highest bit
/// in which `when` and `elapsed` differ. Below that digit `when` still has a whole slot's
/// worth of ticks to go, above it they agree, so that level's current turn contains `when`.
///
/// May return `LEVELS` or more: `when` is then beyond the wheel's current range.
pub(super) const fn level_for(elapsed: u64, when: u64) -> usize {
    // `| (SLOTS - 1)` makes deadlines that differ only in the lowest digit land on level 0
    // (and keeps the `leading_zeros` argument non-zero).
    let masked = (elapsed ^ when) | (SLOTS as u64 - 1);
    let significant = 63 - masked.leading_zeros() as usize;
    significant / SLOT_BITS as usize
}

/// Head and tail of one slot's intrusive list of entries.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(super) struct Slot {
    pub(super) head: u32,
    pub(super) tail: u32,
}

impl Slot {
    pub(super) const EMPTY: Slot = Slot {
        head: NIL,
        tail: NIL,
    };
}

/// One level: 64 slot lists and their occupancy bitmap (bit `s` set iff slot `s` is non-empty).
pub(super) struct Level {
    pub(super) occupied: u64,
    pub(super) slots: [Slot; SLOTS],
}

impl std::fmt::Debug for Level {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Level")
            .field("occupied", &format_args!("{:#066b}", self.occupied))
            .finish_non_exhaustive()
    }
}

impl Level {
    pub(super) const fn new() -> Self {
        Level {
            occupied: 0,
            slots: [Slot::EMPTY; SLOTS],
        }
    }

    /// The first occupied slot of `level` to come due after `elapsed`, and the tick at which
    /// its time starts. O(1): a rotate and a `trailing_zeros` on the bitmap.
    ///
    /// A slot stands for the next stretch of time with its digit: on level 0 the slot of
    /// `elapsed` itself is still pending (deadlines equal to `elapsed`, or already past, wait
    /// there for the next `advance`); on higher levels the slot of `elapsed` has begun, so a
    /// set bit there, or at any lower digit, means the level's *next* turn. Only the top
    /// level holds entries of its next turn (see `Wheel::slot_beyond_range`).
    pub(super) fn next_occupied(&self, level: usize, elapsed: u64) -> Option<(usize, u64)> {
        if self.occupied == 0 {
            return None;
        }
        let now_slot = slot_for(elapsed, level);
        let first = if level == 0 { now_slot } else { now_slot + 1 };
        let skip = self.occupied.rotate_right(first as u32).trailing_zeros() as usize;
        let slot = (first + skip) % SLOTS;

        let turn_start = elapsed & !(level_range(level) - 1);
        let mut start = turn_start + slot as u64 * slot_range(level);
        if slot < first {
            // Next turn. Saturating because the very last turn of the u64 range has no next
            // turn; nothing is ever parked there (`level_for` < LEVELS for every deadline).
            start = start.saturating_add(level_range(level));
        }
        Some((slot, start))
    }

    /// Number of non-empty slots, for `Debug`.
    pub(super) fn occupied_slots(&self) -> u32 {
        self.occupied.count_ones()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_are_powers_of_64() {
        assert_eq!(slot_range(0), 1);
        assert_eq!(level_range(0), 64);
        assert_eq!(slot_range(1), 64);
        assert_eq!(level_range(1), 4096);
        assert_eq!(slot_range(5), 64u64.pow(5));
        assert_eq!(level_range(TOP), 64u64.pow(6));
    }

    #[test]
    fn slot_is_the_base64_digit() {
        assert_eq!(slot_for(0, 0), 0);
        assert_eq!(slot_for(63, 0), 63);
        assert_eq!(slot_for(64, 0), 0);
        assert_eq!(slot_for(64, 1), 1);
        assert_eq!(slot_for(4095, 1), 63);
        assert_eq!(slot_for(4096, 1), 0);
        assert_eq!(slot_for(4096, 2), 1);
        assert_eq!(slot_for(u64::MAX, 5), 63);
        assert_eq!(slot_for(u64::MAX, 0), 63);
    }

    #[test]
    fn level_for_boundaries() {
        // From elapsed 0, level k holds [64^k, 64^(k+1)).
        assert_eq!(level_for(0, 1), 0);
        assert_eq!(level_for(0, 63), 0);
        assert_eq!(level_for(0, 64), 1);
        assert_eq!(level_for(0, 4095), 1);
        assert_eq!(level_for(0, 4096), 2);
        for k in 1..LEVELS {
            assert_eq!(level_for(0, slot_range(k) - 1), k - 1, "64^{k} - 1");
            assert_eq!(level_for(0, slot_range(k)), k, "64^{k}");
            assert_eq!(level_for(0, slot_range(k) + 1), k, "64^{k} + 1");
        }
        assert_eq!(level_for(0, level_range(TOP)), LEVELS);
        assert_eq!(level_for(0, u64::MAX), 10);
        // It is digits that count, not distance: 63 -> 64 crosses a level-1 boundary.
        assert_eq!(level_for(63, 64), 1);
        assert_eq!(level_for(64, 127), 0);
        assert_eq!(level_for(100, 100), 0);
    }

    fn level_with(slots: &[usize]) -> Level {
        let mut level = Level::new();
        for &s in slots {
            level.occupied |= 1 << s;
        }
        level
    }

    #[test]
    fn next_occupied_on_level_0_includes_the_current_slot() {
        let level = level_with(&[5, 10]);
        assert_eq!(level.next_occupied(0, 5), Some((5, 5)));
        assert_eq!(level.next_occupied(0, 64 + 3), Some((5, 64 + 5)));
        assert_eq!(level.next_occupied(0, 6), Some((10, 10)));
        assert_eq!(Level::new().next_occupied(0, 0), None);
    }

    #[test]
    fn next_occupied_on_higher_levels_skips_the_current_slot() {
        let level = level_with(&[3, 9]);
        // elapsed in slot 3 of level 1: slot 3 has begun, slot 9 starts at 9 * 64.
        assert_eq!(level.next_occupied(1, 3 * 64 + 7), Some((9, 9 * 64)));
        // elapsed in slot 9: slot 3 is the next turn's.
        assert_eq!(level.next_occupied(1, 9 * 64 + 1), Some((3, 4096 + 3 * 64)));
        // Slot 63 current: every slot is next turn's.
        let level = level_with(&[0]);
        assert_eq!(level.next_occupied(1, 63 * 64), Some((0, 4096)));
    }

    #[test]
    fn next_occupied_top_level_saturates_at_the_end_of_time() {
        let level = level_with(&[0]);
        assert_eq!(level.next_occupied(TOP, u64::MAX), Some((0, u64::MAX)));
    }
}
