//! How a wake-up finds its way back to the loop: asyncio's `Task.__wakeup` and
//! `loop.call_soon_threadsafe`.
//!
//! Every task owns one [`TaskWaker`], made when the task is spawned and reused for every
//! poll. It holds only the task's key and a handle to the loop's [`Shared`] half, never the
//! future, so a waker that travels to another thread can never poll or drop the future there.
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

use std::panic::Location;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::Wake;

use crossbeam_channel::Sender;

use super::context;

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
    /// loop is never declared deadlocked (`runtime/deadlock.rs`).
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
            Remote::Wake(w) => write!(f, "Wake({:#x})", w.key),
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
        // Pairs with the SeqCst store in `Core::park`: either the loop sees our message when it
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

/// The waker of one task (or of the future given to `block_on`).
#[derive(Debug)]
pub(crate) struct TaskWaker {
    pub(crate) key: u64,
    pub(crate) shared: Arc<Shared>,
    /// Set while a `Remote::Wake` for this waker sits in the channel.
    pub(crate) remote_queued: AtomicBool,
}

impl Wake for TaskWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        let on_own_loop = context::try_with_core(|core| {
            let mine = Arc::ptr_eq(&core.shared, &self.shared);
            if mine {
                core.schedule(self.key);
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
}
