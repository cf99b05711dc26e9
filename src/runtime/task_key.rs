//! How the loop names a task: a [`TaskKey`]. Its own file so that the wakers (`waker.rs`)
//! and the slab (`tasks.rs`) both depend on it without depending on each other.

/// What names a task inside the loop: the slot index in the low 32 bits, the slot's
/// generation in the high 32. The ready queue, wakers and `Task<T>` handles hold these.
/// Freeing a slot bumps its generation, so a stale key finds nothing.
#[derive(Copy, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct TaskKey(u64);

impl std::fmt::Debug for TaskKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            TaskKey::MAIN => f.write_str("TaskKey::MAIN"),
            TaskKey::CALLBACK => f.write_str("TaskKey::CALLBACK"),
            key => write!(f, "TaskKey({}v{})", key.index(), key.generation()),
        }
    }
}

impl TaskKey {
    /// The future given to `block_on`: polled like a task, but it lives on the caller's
    /// stack, not in the slab. (The slab stops short of the two highest keys.)
    pub(crate) const MAIN: TaskKey = TaskKey(u64::MAX);
    /// In the ready queue: "the next callback in `Core::callbacks`". Callbacks wait in their
    /// own queue, in the same order, behind these markers, so a ready-queue entry stays
    /// 8 bytes (a million ready tasks cost 8 MB, not 16).
    pub(crate) const CALLBACK: TaskKey = TaskKey(u64::MAX - 1);

    pub(crate) fn new(index: u32, generation: u32) -> TaskKey {
        TaskKey((u64::from(generation) << 32) | u64::from(index))
    }

    /// The slot it names.
    pub(crate) fn index(self) -> u32 {
        self.0 as u32
    }

    pub(crate) fn generation(self) -> u32 {
        (self.0 >> 32) as u32
    }

    /// The key as one number (for a waker that keeps it in an atomic).
    pub(crate) fn to_bits(self) -> u64 {
        self.0
    }

    /// The key [`TaskKey::to_bits`] gave.
    pub(crate) fn from_bits(bits: u64) -> TaskKey {
        TaskKey(bits)
    }
}
