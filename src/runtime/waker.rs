//! How a wake-up finds its way back to the loop: asyncio's `Task.__wakeup` and
//! `loop.call_soon_threadsafe`.
//!
//! A [`TaskWaker`] holds only a task's key and a handle to the loop's [`Shared`] half, never
//! the future, so a waker that travels to another thread can never poll or drop the future
//! there.
//!
//! A task gets a `TaskWaker` of its own only when it needs one. The loop keeps one *spare*
//! `Arc<TaskWaker>` and lends it (`futures_task::waker_ref`, no clone) to each task that has
//! none, writing that task's key into it first. After the poll, a strong count of one means
//! nobody kept a clone: the `Arc` stays the spare, and the task owns nothing. A count above
//! one means a clone is out there, naming this task: the `Arc` becomes the task's own for the
//! rest of its life (kept in its slot, its key never written again), and a fresh spare is
//! made when next needed. Most tasks wait only on the loop's own structures, which
//! keep keys, not clones ([`WakeRef`]), so most tasks never own a waker: spawning allocates
//! one box (the future) instead of two, and an idle task costs 48 bytes less.
//!
//! Two paths lead back:
//!
//! * **Same thread** (the common case: a timer, a queue, a lock, a sibling task). The waker
//!   sees that its own loop is the one running on this thread and pushes the key straight onto
//!   the ready queue. No lock, no atomic read-modify-write, no syscall.
//! * **Another thread** (`to_thread` results, `LoopHandle`, user threads). The waker sends
//!   itself down a crossbeam channel and, only if the loop is blocked in the poller, writes to
//!   the `mio::Waker` so the poll returns. A flag in the waker keeps a task that is woken a
//!   million times from another thread from filling the channel with a million messages.
//!
//! Either way the task is queued at most once: the task slab remembers whether a task is
//! already scheduled. Waking a finished task, or waking after the loop is gone, does nothing.
//!
//! This file holds what a wake-up carries (the loop's [`Shared`] half, [`TaskWaker`],
//! [`WakeRef`]); the task slab and the core hold these, so it names nothing above them. The
//! two paths themselves must find the loop running on this thread (`context.rs`) and call
//! into it, so they sit above the core, in `waker/wake.rs`.

/// The two paths back to the loop: `ArcWake for TaskWaker`, and `WakeRef`'s methods.
mod wake;

use std::panic::Location;
use std::sync::atomic::{fence, AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::Waker;

use crossbeam_channel::Sender;

use super::task_key::TaskKey;

/// The half of a loop that other threads may touch.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) remote: Sender<Remote>,
    pub(crate) mio_waker: mio::Waker,
    /// True while the loop is blocked in the poller (or about to be).
    pub(crate) parked: AtomicBool,
    /// True once the `Loop` has been dropped.
    pub(crate) closed: AtomicBool,
    /// `to_thread` jobs still running on worker threads (virtual time waits for them).
    pub(crate) thread_work: AtomicUsize,
    /// Live `LoopHandle`s: while any exists, another thread may still wake the loop, so the
    /// loop is never declared deadlocked (`runtime/observe/deadlock.rs`).
    pub(crate) handles: AtomicUsize,
    /// Set after every message sent: the loop's turn reads this one flag instead of asking
    /// the channel, so a turn with no cross-thread traffic costs a load, not a `try_recv`.
    pub(crate) sent: AtomicBool,
}

/// A message from another thread to the loop.
pub(crate) enum Remote {
    /// Schedule this task.
    Wake(Arc<TaskWaker>),
    /// Run this callback on the loop (`call_soon_threadsafe`), made at this call.
    Call(Box<dyn FnOnce() + Send>, &'static Location<'static>),
}

impl std::fmt::Debug for Remote {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Remote::Wake(w) => write!(f, "Wake({:?})", w.key()),
            Remote::Call(_, at) => write!(f, "Call(scheduled at {at})"),
        }
    }
}

impl Shared {
    /// Sends `msg` to the loop and makes sure a parked loop notices. Fails once the loop is gone.
    pub(crate) fn send(&self, msg: Remote) -> Result<(), Remote> {
        if self.closed.load(Ordering::Acquire) {
            return Err(msg);
        }
        self.remote.send(msg).map_err(|e| e.into_inner())?;
        // After the message: a loop that sees the flag finds the message in the channel.
        self.sent.store(true, Ordering::Release);
        // Pairs with the SeqCst store in `Core::poll_io`: either the loop sees our message when it
        // re-checks the channel after parking, or we see `parked` and wake the poller.
        if self.parked.load(Ordering::SeqCst) {
            let _ = self.mio_waker.wake();
        }
        Ok(())
    }
}

impl Shared {
    /// A `to_thread` job finished. Under virtual time the loop may be blocked waiting for
    /// exactly this (its clock holds still while thread work is in flight), so interrupt it.
    pub(crate) fn thread_work_done(&self) {
        self.thread_work.fetch_sub(1, Ordering::SeqCst);
        if self.parked.load(Ordering::SeqCst) {
            let _ = self.mio_waker.wake();
        }
    }
}

/// The waker of one task (or of the future given to `block_on`), or the loop's spare.
#[derive(Debug)]
pub(crate) struct TaskWaker {
    /// The task it wakes ([`TaskKey::to_bits`]). Written only by the loop's thread, and only
    /// while nobody else holds this `Arc` (the spare, before it is lent): every clone ever
    /// made sees one key for as long as it lives. Atomic only so that the `Arc` may be shared
    /// with other threads at all; every access is `Relaxed`.
    key: AtomicU64,
    pub(crate) shared: Arc<Shared>,
    /// Set while a `Remote::Wake` for this waker sits in the channel.
    pub(crate) remote_queued: AtomicBool,
}

impl TaskWaker {
    /// A waker for `key` on the loop whose shared half is `shared`.
    pub(crate) fn new(key: TaskKey, shared: &Arc<Shared>) -> Arc<TaskWaker> {
        Arc::new(TaskWaker {
            key: AtomicU64::new(key.to_bits()),
            shared: Arc::clone(shared),
            remote_queued: AtomicBool::new(false),
        })
    }

    /// The task this waker wakes.
    #[inline]
    pub(crate) fn key(&self) -> TaskKey {
        TaskKey::from_bits(self.key.load(Ordering::Relaxed))
    }

    /// Points the loop's spare at the task about to be polled with it. `spare` must be the
    /// only reference (the caller checked), so no holder can see the key change.
    #[inline]
    pub(crate) fn rekey(spare: &Arc<TaskWaker>, key: TaskKey) {
        debug_assert_eq!(
            Arc::strong_count(spare),
            1,
            "only an unshared spare is re-keyed"
        );
        spare.key.store(key.to_bits(), Ordering::Relaxed);
    }
}

/// How the loop's own structures hold on to a waiting task: the timer wheel, the waiter
/// lists of `sync`, a task's join waiter, a far `Sleep`, the reactor's parked readers and
/// writers.
///
/// When the waker handed in is the waker of the task (or main future) being polled right
/// now on this thread's loop, the structure keeps the task's *key* (packed with a tag naming
/// the loop, [`OwnKey`]) instead of a `Waker` clone. A key is no reference at all, so the
/// strong count of a task's `Arc<TaskWaker>` counts exactly the holders that are *not* the
/// loop's own structures (plus the loop's one reference in the task's slot). That is what lets
/// the deadlock check prove that nobody outside can wake a task (`runtime/observe/deadlock.rs`). It
/// is also cheaper (no atomic reference counting on the way in or out) and smaller (8 bytes,
/// where a `Waker` is 16).
///
/// Any other waker (a `gather` child's, a waker from another crate or another loop) is kept
/// as a `Waker` clone, as before.
///
/// Only structures that the loop's thread alone can fire may hold a `WakeRef::Own`: a
/// structure reachable from another thread would hide a holder from the count. All of them
/// are `!Send`.
pub(crate) enum WakeRef {
    Own(OwnKey),
    Other(Waker),
}

/// A task key packed with its loop: slab index (32 bits), the low 16 bits of the slot's
/// generation, and the loop's tag in this thread's loop registry (16 bits). A stale key
/// (the slot reused 65 536 times over, or the loop dropped and its tag reused) can only cause
/// a spurious wake, which every future tolerates; it never takes a wake from anyone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct OwnKey(u64);

/// The tag of a loop that could not get one (65 536 live loops on one thread): it never hands
/// out `Own` keys.
pub(crate) const NO_TAG: u16 = u16::MAX;

impl OwnKey {
    /// A key no loop hands out (its tag is [`NO_TAG`]): "nobody", where a hold is optional.
    pub(crate) const NOBODY: OwnKey = OwnKey(u64::MAX);

    pub(crate) fn new(tag: u16, key: TaskKey) -> OwnKey {
        let index = u64::from(key.index());
        let generation = u64::from(key.generation() & 0xffff);
        OwnKey(index | (generation << 32) | (u64::from(tag) << 48))
    }

    pub(crate) fn tag(self) -> u16 {
        (self.0 >> 48) as u16
    }

    pub(crate) fn index(self) -> u32 {
        self.0 as u32
    }

    pub(crate) fn generation16(self) -> u16 {
        (self.0 >> 32) as u16
    }
}

/// What needs no loop: comparing a hold with a waker, and making one from a key the caller
/// already looked up (the reactor gets it from the socket's `Registration`, above the core).
impl WakeRef {
    /// A hold on nobody ([`OwnKey::NOBODY`]), never woken: marks an empty place where an
    /// `Option<WakeRef>` would need 24 bytes instead of 16 (a `WakeRef` has no spare bit
    /// pattern for `None`).
    pub(crate) const NOBODY: WakeRef = WakeRef::Own(OwnKey::NOBODY);

    /// Whether this is [`WakeRef::NOBODY`].
    #[inline]
    pub(crate) fn is_nobody(&self) -> bool {
        matches!(self, WakeRef::Own(own) if *own == OwnKey::NOBODY)
    }

    /// The hold on `waker`, given its own key ([`WakeRef::own_key_of`], if it is the waker of
    /// the task being polled).
    #[inline]
    pub(crate) fn from_parts(own: Option<OwnKey>, waker: &Waker) -> WakeRef {
        match own {
            Some(own) => WakeRef::Own(own),
            None => WakeRef::Other(waker.clone()),
        }
    }

    /// Whether this hold wakes the same task as `waker`, whose own key is `own`.
    #[inline]
    pub(crate) fn holds(&self, own: Option<OwnKey>, waker: &Waker) -> bool {
        match self {
            WakeRef::Own(key) => own == Some(*key),
            WakeRef::Other(w) => w.will_wake(waker),
        }
    }
}

impl std::fmt::Debug for WakeRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WakeRef::Own(_) => f.write_str("WakeRef::Own"),
            WakeRef::Other(_) => f.write_str("WakeRef::Other"),
        }
    }
}

/// Whether anyone besides the caller holds a clone of `spare`, a waker the caller lent out
/// for one poll (through `futures_task::waker_ref`, no clone): then a clone names the
/// borrower, and the borrower keeps it as its own. The loop lends its spare `TaskWaker` to
/// tasks this way (`Core::keep_or_return`), and `gather`'s ready set its spare child waker
/// (`task/ready_set.rs`). When nobody does, this also acquires whatever the holder of the last
/// clone (maybe on another thread) did before dropping it, so the caller may point the spare
/// at someone else.
#[inline]
pub(crate) fn kept_by_someone<T>(spare: &Arc<T>) -> bool {
    if Arc::strong_count(spare) > 1 {
        return true;
    }
    // Pairs with the `Release` decrement of the last clone another thread dropped: its reads
    // of whom the waker names happen before the caller re-points it.
    fence(Ordering::Acquire);
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wake_ref_is_no_bigger_than_a_waker() {
        assert_eq!(std::mem::size_of::<WakeRef>(), std::mem::size_of::<Waker>());
    }

    #[test]
    fn own_keys_pack_index_generation_and_tag() {
        let key = TaskKey::new(42, 7);
        let own = OwnKey::new(3, key);
        assert_eq!((own.tag(), own.index(), own.generation16()), (3, 42, 7));
        let main = OwnKey::new(1, TaskKey::MAIN);
        assert_eq!(main.index(), u32::MAX);
    }
}
