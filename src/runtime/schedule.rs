//! The seeded schedule: who goes first when several things are ready at once.
//!
//! asyncio runs its ready queue in FIFO order, and so does tinyloop by default. A program
//! whose correctness depends on that order passes every test and fails the day a reply
//! arrives a millisecond earlier. With `LoopBuilder::seed(s)` (or `TINYLOOP_SEED=s`) the loop
//! instead lets a small seeded PRNG decide the order of everything that is ready in the same
//! turn, so one seed is one schedule, and many seeds are many schedules (`crate::sim`).
//!
//! # Where the seed enters the turn
//!
//! At exactly one place: step 5 of `Core::run_once`, after I/O, cross-thread messages and
//! expired timers have all been moved to the ready queue, and after `ntodo` (the batch this
//! turn runs) has been read. [`Schedule::order`] shuffles those `ntodo` entries in place
//! (Fisher-Yates), and the callbacks their markers stand for. So one shuffle covers tasks
//! made ready by the previous turn, timers due in the same tick, callbacks, and the wake-ups
//! of one I/O poll alike. What is woken *during* the batch still goes to the next turn, as in
//! FIFO mode: the seed changes the order within a turn, never the turn structure.
//!
//! # Only among ready things
//!
//! The shuffle permutes *whole polls* of *different* ready things. It never splits a poll and
//! never runs a task's later step before its earlier one: a task is in the ready queue at most
//! once, and what it does between two `.await`s happens in one poll. Every schedule a seed
//! produces is one the FIFO loop could also have produced had the outside world timed things
//! differently (a timer registered a moment earlier, a packet that arrived first), so a
//! failure under a seed is a real bug, not an artefact of the tool.
//!
//! # The PRNG
//!
//! SplitMix64 (Steele, Lea and Flood, 2014): one `u64` of state, a handful of arithmetic
//! operations per number, and good enough statistics for picking among a few ready things.
//! A number in `0..n` comes from the high bits of a 64x64 -> 128 multiplication (Lemire's
//! method without the rejection step: a bias of at most n / 2^64, irrelevant here, and no
//! loop, so the count of numbers drawn per turn is fixed by the batch size).
//!
//! # Cost when unseeded
//!
//! [`Schedule::order`] is one `Option` test per turn, always false without a seed; the
//! shuffle itself is out of line (`#[cold]`).

use std::cell::{Cell, RefCell};
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};

use super::task_key::TaskKey;

/// The environment variable `run` and `Loop::builder()` read a seed from.
pub(crate) const SEED_ENV: &str = "TINYLOOP_SEED";

/// The loop's schedule: FIFO, or seeded.
#[derive(Debug)]
pub(crate) struct Schedule {
    seed: Option<u64>,
    /// SplitMix64's state; `None` in FIFO mode.
    rng: Option<Cell<u64>>,
}

impl Schedule {
    pub(crate) fn new(seed: Option<u64>) -> Schedule {
        Schedule {
            seed,
            rng: seed.map(Cell::new),
        }
    }

    /// Puts the first `n` entries of the ready queue (this turn's batch) in the seed's order;
    /// does nothing in FIFO mode.
    #[inline]
    pub(crate) fn order<C>(
        &self,
        ready: &RefCell<VecDeque<TaskKey>>,
        callbacks: &RefCell<VecDeque<C>>,
        n: usize,
    ) {
        if let Some(rng) = &self.rng {
            shuffle_batch(rng, ready, callbacks, n);
        }
    }

    /// A seeded loop just used something outside the seed's reach (`what`: "a real socket",
    /// "to_thread"): say so on stderr, once per process.
    pub(crate) fn note_outside_world(&self, what: &str) {
        if let Some(seed) = self.seed {
            warn_once(seed, what);
        }
    }
}

#[cold]
#[inline(never)]
fn warn_once(seed: u64, what: &str) {
    static WARNED: AtomicBool = AtomicBool::new(false);
    if !WARNED.swap(true, Ordering::Relaxed) {
        eprintln!(
            "tinyloop: this loop runs under seed {seed}, but the program used {what}; real \
             sockets, threads (to_thread, LoopHandle) and the OS clock are outside the seed's \
             reach, so the same seed may not replay the same run (said once per process)"
        );
    }
}

#[cold]
#[inline(never)]
fn shuffle_batch<C>(
    rng: &Cell<u64>,
    ready: &RefCell<VecDeque<TaskKey>>,
    callbacks: &RefCell<VecDeque<C>>,
    n: usize,
) {
    let mut ready = ready.borrow_mut();
    let n = n.min(ready.len());
    if n < 2 {
        return;
    }
    let batch = &mut ready.make_contiguous()[..n];
    shuffle(rng, batch);
    // The batch's callback markers stand for the first callbacks in their queue, in order:
    // shuffling the markers moves callbacks among tasks, this moves them among themselves.
    let markers = batch.iter().filter(|&&k| k == TaskKey::CALLBACK).count();
    if markers > 1 {
        let mut callbacks = callbacks.borrow_mut();
        let m = markers.min(callbacks.len());
        shuffle(rng, &mut callbacks.make_contiguous()[..m]);
    }
}

/// Fisher-Yates: every permutation of `items` equally likely (up to the PRNG).
fn shuffle<T>(rng: &Cell<u64>, items: &mut [T]) {
    for i in (1..items.len()).rev() {
        let j = below(rng, i as u64 + 1) as usize;
        items.swap(i, j);
    }
}

/// SplitMix64's next number.
fn next(rng: &Cell<u64>) -> u64 {
    let state = rng.get().wrapping_add(0x9e37_79b9_7f4a_7c15);
    rng.set(state);
    let mut z = state;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A number in `0..n` (`n > 0`).
fn below(rng: &Cell<u64>, n: u64) -> u64 {
    ((u128::from(next(rng)) * u128::from(n)) >> 64) as u64
}

/// Parses `TINYLOOP_SEED`: `None` when unset or empty.
///
/// # Panics
/// When it is set to something that is not a whole number.
pub(crate) fn seed_from_env() -> Option<u64> {
    let value = std::env::var_os(SEED_ENV)?;
    let text = value.to_string_lossy();
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    match text.parse::<u64>() {
        Ok(seed) => Some(seed),
        Err(_) => panic!(
            "{SEED_ENV}={text:?} is not a seed: set it to a whole number between 0 and \
             2^64 - 1 (as printed by a tinyloop::sim failure), or unset it for FIFO order"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splitmix64_matches_its_reference_output() {
        // Seed 1234567: the first outputs of the reference C implementation.
        let rng = Cell::new(1_234_567);
        let got: Vec<u64> = (0..3).map(|_| next(&rng)).collect();
        assert_eq!(
            got,
            [
                6_457_827_717_110_365_317,
                3_203_168_211_198_807_973,
                9_817_491_932_198_370_423
            ]
        );
    }

    #[test]
    fn a_shuffle_is_a_permutation_and_depends_on_the_seed() {
        let run = |seed: u64| {
            let rng = Cell::new(seed);
            let mut v: Vec<u32> = (0..20).collect();
            shuffle(&rng, &mut v);
            v
        };
        let a = run(1);
        let mut sorted = a.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..20).collect::<Vec<_>>());
        assert_eq!(a, run(1));
        assert_ne!(a, run(2));
    }

    #[test]
    fn below_stays_below() {
        let rng = Cell::new(7);
        for n in 1..200 {
            assert!(below(&rng, n) < n);
        }
    }
}
