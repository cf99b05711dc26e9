//! TEMPORARY stand-in with the wheel's interface (replaced by the real wheel before commit).
#![allow(dead_code)]
use std::collections::BTreeMap;

#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub(crate) struct TimerKey {
    when: u64,
    seq: u64,
}

#[derive(Debug)]
pub(crate) struct Wheel<T> {
    map: BTreeMap<(u64, u64), T>,
    seq: u64,
    elapsed: u64,
}

impl<T> Wheel<T> {
    pub(crate) fn new() -> Self {
        Wheel {
            map: BTreeMap::new(),
            seq: 0,
            elapsed: 0,
        }
    }
    pub(crate) fn elapsed(&self) -> u64 {
        self.elapsed
    }
    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }
    pub(crate) fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
    pub(crate) fn insert(&mut self, when: u64, value: T) -> TimerKey {
        self.seq += 1;
        self.map.insert((when, self.seq), value);
        TimerKey {
            when,
            seq: self.seq,
        }
    }
    pub(crate) fn remove(&mut self, key: TimerKey) -> Option<T> {
        self.map.remove(&(key.when, key.seq))
    }
    pub(crate) fn get_mut(&mut self, key: TimerKey) -> Option<&mut T> {
        self.map.get_mut(&(key.when, key.seq))
    }
    pub(crate) fn deadline(&self, key: TimerKey) -> Option<u64> {
        self.map
            .contains_key(&(key.when, key.seq))
            .then_some(key.when)
    }
    pub(crate) fn next_expiration(&self) -> Option<u64> {
        self.map.keys().next().map(|k| k.0.max(self.elapsed))
    }
    pub(crate) fn advance(&mut self, now: u64, mut fire: impl FnMut(TimerKey, T)) {
        while let Some(e) = self.map.first_entry() {
            if e.key().0 > now {
                break;
            }
            let (k, v) = e.remove_entry();
            fire(
                TimerKey {
                    when: k.0,
                    seq: k.1,
                },
                v,
            );
        }
        self.elapsed = self.elapsed.max(now);
    }
}
