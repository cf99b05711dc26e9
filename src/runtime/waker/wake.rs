//! The two paths a wake-up takes back to its loop (see `waker.rs` for the whole story): a
//! [`TaskWaker`] woken through its `Waker`, and a [`WakeRef`] held by one of the loop's own
//! structures. Both ask the thread-local context which loop runs here, and schedule on it:
//! they name `Core`, so they sit above `core.rs`, while the types they act on stay below it.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::Waker;

use futures_task::ArcWake;

use super::{OwnKey, Remote, TaskWaker, WakeRef};
use crate::runtime::context;
use crate::runtime::core::{Core, LOOPS};

impl ArcWake for TaskWaker {
    fn wake_by_ref(arc_self: &Arc<Self>) {
        arc_self.wake_task();
    }
}

impl TaskWaker {
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

impl WakeRef {
    /// How to hold `waker`, judged against the loop running on this thread.
    #[inline]
    pub(crate) fn of(waker: &Waker) -> WakeRef {
        match context::try_with_core(|core| core.own_key(waker)).flatten() {
            Some(own) => WakeRef::Own(own),
            None => WakeRef::Other(waker.clone()),
        }
    }

    /// The key under which a structure may hold `waker` ([`WakeRef::Own`]), if it is the
    /// waker of the task this thread's loop is polling right now. One thread-local lookup:
    /// callers that compare and then store do it once, with [`WakeRef::holds`] and
    /// [`WakeRef::from_parts`].
    #[inline]
    pub(crate) fn own_key_of(waker: &Waker) -> Option<OwnKey> {
        context::try_with_core(|core| core.own_key(waker)).flatten()
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
