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

use std::cell::RefCell;
use std::panic::Location;
use std::rc::{self, Rc};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::Waker;

use crossbeam_channel::Sender;
use futures_task::ArcWake;

use super::context;
use super::core::Core;
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

impl ArcWake for TaskWaker {
    fn wake_by_ref(arc_self: &Arc<Self>) {
        arc_self.wake_task();
    }
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

    fn wake_task(self: &Arc<Self>) {
        let on_own_loop = context::try_with_core(|core| {
            let mine = Arc::ptr_eq(&core.shared, &self.shared);
            if mine {
                core.schedule(self.key());
            }
            mine
        });
        if on_own_loop == Some(true) {
            return;
        }
        if !self.remote_queued.swap(true, Ordering::AcqRel) {
            // An error means the loop is gone: waking it is then a harmless no-op.
            let _ = self.shared.send(Remote::Wake(Arc::clone(self)));
        }
    }

    /// The `Waker` of this task. Each call clones the `Arc`: the loop itself polls through
    /// `futures_task::waker_ref`, which does not.
    #[allow(dead_code)]
    pub(crate) fn waker(self: &Arc<Self>) -> Waker {
        futures_task::waker(Arc::clone(self))
    }
}

/// How the loop's own structures hold on to a waiting task: the timer wheel, the waiter
/// lists of `sync`, a task's join waiter, a far `Sleep`.
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

thread_local! {
    /// This thread's loops, by tag (a `Loop` never leaves the thread that built it). A wake
    /// fired while another loop runs (a primitive shared by two loops used one after the
    /// other) finds its own loop here.
    static LOOPS: RefCell<Vec<rc::Weak<Core>>> = const { RefCell::new(Vec::new()) };
}

/// Gives a new loop its tag on this thread: a free place in the registry, or [`NO_TAG`].
pub(crate) fn register_loop(core: &Rc<Core>) -> u16 {
    LOOPS
        .try_with(|loops| {
            let mut loops = loops.borrow_mut();
            let weak = Rc::downgrade(core);
            if let Some(free) = loops.iter().position(|w| w.strong_count() == 0) {
                loops[free] = weak;
                return free as u16;
            }
            if loops.len() >= usize::from(NO_TAG) {
                return NO_TAG;
            }
            loops.push(weak);
            (loops.len() - 1) as u16
        })
        .unwrap_or(NO_TAG)
}

fn wake_own(own: OwnKey) {
    let done = context::try_with_core(|core| {
        let mine = core.tag() == own.tag();
        if mine {
            core.schedule_own(own);
        }
        mine
    });
    if done == Some(true) {
        return;
    }
    // Another loop (or none) is running: find ours.
    let owner = LOOPS
        .try_with(|loops| loops.borrow().get(usize::from(own.tag()))?.upgrade())
        .ok()
        .flatten();
    if let Some(core) = owner {
        core.schedule_own(own);
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

impl WakeRef {
    /// How to hold `waker`, judged against the loop running on this thread.
    #[inline]
    pub(crate) fn of(waker: &Waker) -> WakeRef {
        match context::try_with_core(|core| core.own_key(waker)).flatten() {
            Some(own) => WakeRef::Own(own),
            None => WakeRef::Other(waker.clone()),
        }
    }

    /// [`WakeRef::of`], judged against `core` (for callers that hold their loop already).
    pub(crate) fn on(core: &Core, waker: &Waker) -> WakeRef {
        match core.own_key(waker) {
            Some(own) => WakeRef::Own(own),
            None => WakeRef::Other(waker.clone()),
        }
    }

    /// Replaces `self` with a hold on `waker` unless it already wakes the same task; returns
    /// the old one, to be dropped after the caller's borrow ends.
    pub(crate) fn update(&mut self, waker: &Waker) -> Option<WakeRef> {
        if matches!(self, WakeRef::Other(w) if w.will_wake(waker)) {
            return None;
        }
        let new = WakeRef::of(waker);
        self.replace_with(new, waker)
    }

    /// [`WakeRef::update`], judged against `core`.
    pub(crate) fn update_on(&mut self, core: &Core, waker: &Waker) -> Option<WakeRef> {
        if matches!(self, WakeRef::Other(w) if w.will_wake(waker)) {
            return None;
        }
        let new = WakeRef::on(core, waker);
        self.replace_with(new, waker)
    }

    fn replace_with(&mut self, new: WakeRef, waker: &Waker) -> Option<WakeRef> {
        let same = match (&*self, &new) {
            (WakeRef::Own(a), WakeRef::Own(b)) => a == b,
            (WakeRef::Other(a), WakeRef::Other(_)) => a.will_wake(waker),
            _ => false,
        };
        if same {
            None
        } else {
            Some(std::mem::replace(self, new))
        }
    }

    #[inline]
    pub(crate) fn wake(self) {
        match self {
            WakeRef::Own(own) => wake_own(own),
            WakeRef::Other(w) => w.wake(),
        }
    }

    #[allow(dead_code)]
    pub(crate) fn wake_by_ref(&self) {
        match self {
            WakeRef::Own(own) => wake_own(*own),
            WakeRef::Other(w) => w.wake_by_ref(),
        }
    }
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
