//! Which loop is running on this thread: asyncio's `events._get_running_loop()`.
//!
//! `block_on` installs its loop here for the duration of the call and removes it again on
//! the way out, even when the future panics. Free functions such as `spawn` and `sleep`
//! find their loop through it, and a waker uses it to tell whether it is being woken on its
//! own loop's thread (the fast path) or somewhere else (the channel path).

use std::cell::RefCell;
use std::rc::Rc;

use super::core::Core;

thread_local! {
    static CURRENT: RefCell<Option<Rc<Core>>> = const { RefCell::new(None) };
}

/// Runs `f` with the running loop, or panics with a message naming `caller` and the fix.
#[track_caller]
pub(crate) fn with_core<R>(caller: &'static str, f: impl FnOnce(&Rc<Core>) -> R) -> R {
    match try_with_core(f) {
        Some(r) => r,
        None => panic!(
            "`{caller}` was called outside a running tinyloop loop; \
             call it from inside `tinyloop::run(async {{ ... }})` or `Loop::block_on`"
        ),
    }
}

/// Runs `f` with the running loop, if there is one.
pub(crate) fn try_with_core<R>(f: impl FnOnce(&Rc<Core>) -> R) -> Option<R> {
    CURRENT
        .try_with(|current| {
            let current = current.try_borrow().ok()?;
            current.as_ref().map(f)
        })
        .ok()
        .flatten()
}

/// The running loop, cloned out of the thread-local.
#[track_caller]
pub(crate) fn current(caller: &'static str) -> Rc<Core> {
    with_core(caller, Rc::clone)
}

pub(crate) fn is_running() -> bool {
    try_with_core(|_| ()).is_some()
}

/// Marks `core` as the running loop until the guard drops (also during a panic).
pub(crate) fn enter(core: &Rc<Core>) -> EnterGuard {
    CURRENT.with(|current| *current.borrow_mut() = Some(Rc::clone(core)));
    EnterGuard {
        _not_send: std::marker::PhantomData,
    }
}

pub(crate) struct EnterGuard {
    _not_send: std::marker::PhantomData<*const ()>,
}

impl Drop for EnterGuard {
    fn drop(&mut self) {
        let _ = CURRENT.try_with(|current| current.borrow_mut().take());
    }
}
